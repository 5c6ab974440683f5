/*
 * The local APIC (contract in arch/apic.h). Register offsets are the xAPIC page's (SDM
 * vol. 3A, table 11-1); in x2APIC mode register R is MSR 0x800 + R / 16 and the ICR is
 * one 64-bit MSR whose high half is the destination's full id (11.12).
 */
#include "arch/apic.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/pit.h"
#include "arch/trap.h"
#include "arch/layout.h"

#define MSR_IA32_APIC_BASE  0x1B
#define APIC_BASE_X2APIC    (1u << 10)      /* EXTD: x2APIC mode */
#define APIC_BASE_ENABLE    (1u << 11)      /* the APIC is on (global enable) */
#define APIC_BASE_ADDRESS   0xFFFFFF000ull  /* bits 12-35 */
#define X2APIC_MSR_BASE     0x800

#define APIC_ID             0x020
#define APIC_TPR            0x080           /* task priority */
#define APIC_EOI            0x0B0
#define APIC_SVR            0x0F0           /* spurious vector */
#define APIC_ESR            0x280           /* error status */
#define APIC_ICR_LOW        0x300
#define APIC_ICR_HIGH       0x310
#define APIC_LVT_TIMER      0x320
#define APIC_LVT_LINT0      0x350
#define APIC_LVT_ERROR      0x370
#define APIC_TIMER_INITIAL  0x380
#define APIC_TIMER_CURRENT  0x390
#define APIC_TIMER_DIVIDE   0x3E0

#define SVR_ENABLE          (1u << 8)
#define LVT_MASKED          (1u << 16)
#define LVT_TIMER_PERIODIC  (1u << 17)
#define TIMER_DIVIDE_BY_16  0x3

#define ICR_FIXED           (0u << 8)
#define ICR_INIT            (5u << 8)
#define ICR_STARTUP         (6u << 8)
#define ICR_PENDING         (1u << 12)      /* delivery status (xAPIC only) */
#define ICR_ASSERT          (1u << 14)
#define ICR_SEND_SPINS      1000000

bool apic_present;
static bool x2apic;
static volatile uint32_t *registers;        /* the xAPIC page, mapped uncached */

static uint32_t apic_read(uint32_t offset)
{
    if (x2apic)
        return (uint32_t)cpu_read_msr(X2APIC_MSR_BASE + offset / 16);
    return registers[offset / 4];
}

static void apic_write(uint32_t offset, uint32_t value)
{
    if (x2apic)
        cpu_write_msr(X2APIC_MSR_BASE + offset / 16, value);
    else
        registers[offset / 4] = value;
}

bool apic_init(uint64_t physical, void *(*map)(paddr_t physical, size_t length))
{
    if (!cpu_features.apic)
        return false;
    uint64_t base = cpu_read_msr(MSR_IA32_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        return false;                       /* turned off by the firmware: leave it so */
    x2apic = base & APIC_BASE_X2APIC;
    if (!x2apic) {
        if (physical == 0)
            physical = base & APIC_BASE_ADDRESS;
        if (physical > UINT32_MAX - PAGE_SIZE)
            return false;
        registers = map((paddr_t)physical, PAGE_SIZE);
        if (!registers)
            return false;
    }
    apic_present = true;
    apic_init_processor(true);
    return true;
}

void apic_init_processor(bool boot_processor)
{
    /*
     * In the boot processor's mode (an application processor's may differ after INIT):
     * enabled first, x2APIC then, the only order the processor accepts (SDM vol. 3A,
     * 11.12.5).
     */
    uint64_t base = cpu_read_msr(MSR_IA32_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        cpu_write_msr(MSR_IA32_APIC_BASE, base |= APIC_BASE_ENABLE);
    if (x2apic && !(base & APIC_BASE_X2APIC))
        cpu_write_msr(MSR_IA32_APIC_BASE, base | APIC_BASE_X2APIC);
    apic_write(APIC_TPR, 0);
    apic_write(APIC_SVR, SVR_ENABLE | TRAP_APIC_SPURIOUS);
    /*
     * The boot processor keeps LINT0 as the firmware set it (virtual-wire mode: the
     * 8259's interrupts come in through it); the others never take them.
     */
    if (!boot_processor)
        apic_write(APIC_LVT_LINT0, LVT_MASKED);
    apic_write(APIC_LVT_ERROR, LVT_MASKED);
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_ESR, 0);                /* writes arm it; the read is then current */
    (void)apic_read(APIC_ESR);
}

uint32_t apic_id(void)
{
    uint32_t id = apic_read(APIC_ID);

    return x2apic ? id : id >> 24;
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

/* Writes the ICR (interrupts off: its two halves must not be split); false on a timeout. */
static bool send(uint32_t destination, uint32_t command)
{
    uint32_t flags = cpu_save_disable_interrupts();
    bool sent = true;

    if (x2apic) {
        /*
         * A write to an x2APIC MSR is not serializing (SDM vol. 3A, 11.12.3): the fence
         * makes the requests stored before it visible to the target before the interrupt.
         */
        __asm__ volatile("mfence; lfence" ::: "memory");
        cpu_write_msr(X2APIC_MSR_BASE + APIC_ICR_LOW / 16,
                      (uint64_t)destination << 32 | command);
    } else {
        apic_write(APIC_ICR_HIGH, destination << 24);
        apic_write(APIC_ICR_LOW, command);
        uint32_t spins = 0;
        while ((apic_read(APIC_ICR_LOW) & ICR_PENDING) && ++spins < ICR_SEND_SPINS)
            cpu_relax();
        sent = spins < ICR_SEND_SPINS;
    }
    cpu_restore_interrupts(flags);
    return sent;
}

void apic_send_ipi(uint32_t destination, uint8_t vector)
{
    send(destination, ICR_FIXED | ICR_ASSERT | vector);
}

bool apic_send_init(uint32_t destination)
{
    return send(destination, ICR_INIT | ICR_ASSERT);
}

bool apic_send_startup(uint32_t destination, uint8_t page)
{
    return send(destination, ICR_STARTUP | ICR_ASSERT | page);
}

/* The timer counts down; read so that it counts up, for pit_measure_rate. */
static uint64_t timer_elapsed(void)
{
    return UINT32_MAX - apic_read(APIC_TIMER_CURRENT);
}

uint64_t apic_timer_calibrate(void)
{
    apic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    apic_write(APIC_LVT_TIMER, LVT_MASKED);             /* one-shot, no interrupt */
    apic_write(APIC_TIMER_INITIAL, UINT32_MAX);
    uint64_t rate = pit_measure_rate(timer_elapsed);
    apic_write(APIC_TIMER_INITIAL, 0);
    return rate;
}

void apic_timer_start(uint8_t vector, uint32_t count)
{
    apic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    apic_write(APIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
    apic_write(APIC_TIMER_INITIAL, count);
}
