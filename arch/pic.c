/*
 * The 8259A pair (Intel 8259A datasheet; the PC wiring: the slave on the master's
 * line 2, command/data ports 0x20/0x21 and 0xA0/0xA1).
 */
#include "arch/cpu.h"
#include "arch/pic.h"

#define MASTER_COMMAND  0x20
#define MASTER_DATA     0x21
#define SLAVE_COMMAND   0xA0
#define SLAVE_DATA      0xA1

#define ICW1_INIT_ICW4  0x11    /* edge-triggered, cascade, ICW4 follows */
#define ICW4_8086       0x01
#define OCW2_EOI        0x20
#define OCW3_READ_ISR   0x0B
#define CASCADE_IRQ     2

static uint16_t masked = 0xFFFF;

static void write_masks(void)
{
    io_out8(MASTER_DATA, masked & 0xFF);
    io_out8(SLAVE_DATA, masked >> 8);
}

void pic_init(void)
{
    io_out8(MASTER_COMMAND, ICW1_INIT_ICW4);
    io_out8(SLAVE_COMMAND, ICW1_INIT_ICW4);
    io_out8(MASTER_DATA, PIC_VECTOR_BASE);
    io_out8(SLAVE_DATA, PIC_VECTOR_BASE + 8);
    io_out8(MASTER_DATA, 1 << CASCADE_IRQ);     /* ICW3: the slave hangs off line 2 */
    io_out8(SLAVE_DATA, CASCADE_IRQ);           /* ICW3: the slave's cascade identity */
    io_out8(MASTER_DATA, ICW4_8086);
    io_out8(SLAVE_DATA, ICW4_8086);
    masked = 0xFFFF & ~(1u << CASCADE_IRQ);
    write_masks();
}

void pic_unmask(unsigned irq)
{
    uint32_t flags = cpu_save_disable_interrupts();
    masked &= ~(1u << irq);
    write_masks();
    cpu_restore_interrupts(flags);
}

void pic_mask(unsigned irq)
{
    masked |= 1u << irq;
    write_masks();
}

static bool in_service(uint16_t command_port, unsigned line)
{
    io_out8(command_port, OCW3_READ_ISR);
    return io_in8(command_port) & (1u << line);
}

bool pic_acknowledge(unsigned irq)
{
    /*
     * A line dropped before the CPU took it shows as IRQ 7 (or 15) with nothing in
     * service. Such a spurious interrupt gets no EOI from its own controller; one on
     * the slave still needs an EOI on the master, which did see the cascade line.
     */
    if (irq == 7 && !in_service(MASTER_COMMAND, 7))
        return false;
    if (irq == 15 && !in_service(SLAVE_COMMAND, 7)) {
        io_out8(MASTER_COMMAND, OCW2_EOI);
        return false;
    }
    if (irq >= 8)
        io_out8(SLAVE_COMMAND, OCW2_EOI);
    io_out8(MASTER_COMMAND, OCW2_EOI);
    return true;
}
