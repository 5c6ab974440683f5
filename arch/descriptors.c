#include "arch/descriptors.h"
#include "arch/layout.h"
#include "arch/pcr.h"
#include "arch/pic.h"
#include "arch/spinlock.h"
#include "arch/trap.h"
#include "lib/ntabi.h"

struct segment_descriptor {
    uint16_t limit_low;
    uint16_t base_low;
    uint8_t base_mid;
    uint8_t access;
    uint8_t flags_limit_high;
    uint8_t base_high;
} __attribute__((packed));

struct gate_descriptor {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type;
    uint16_t offset_high;
} __attribute__((packed));

struct descriptor_pointer {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

/* Access bytes (SDM vol. 3A, 3.4.5). */
#define SEG_CODE_RING0      0x9A    /* present, DPL 0, code, readable */
#define SEG_DATA_RING0      0x92    /* present, DPL 0, data, writable */
#define SEG_CODE_RING3      0xFA
#define SEG_DATA_RING3      0xF2
#define SEG_TSS_AVAILABLE   0x89
#define SEG_FLAT_4K_32BIT   0xCF    /* G = 1, D/B = 1, limit 19:16 = 0xF */
#define SEG_BYTES_32BIT     0x40    /* G = 0 (the limit counts bytes), D/B = 1 */

/* Gate types (SDM vol. 3A, 6.11). */
#define GATE_INTERRUPT      0x8E    /* present, DPL 0, 32-bit interrupt gate */
#define GATE_INTERRUPT_USER 0xEE    /* the same, DPL 3: `int n` from ring 3 allowed */
#define GATE_TASK           0x85    /* present, DPL 0, task gate */

#define DOUBLE_FAULT_VECTOR 8

_Static_assert(USER_CODE_SELECTOR == NT_USER_CODE_SELECTOR &&
               USER_DATA_SELECTOR == NT_USER_DATA_SELECTOR, "lib/ntabi.h tells ring 3 these");

_Static_assert(GDT_PCR == 0x30, "trap_entry.S loads FS with 0x30");

static struct gate_descriptor idt[256];

struct kprcb pcr_boot_processor = {
    .self = &pcr_boot_processor,
    .irql = 0,
    .set_member = 1,
    .dpc_list = {&pcr_boot_processor.dpc_list, &pcr_boot_processor.dpc_list},
};
struct kprcb *KiProcessorBlock[KE_MAX_PROCESSORS] = {&pcr_boot_processor};
volatile uint32_t KeActiveProcessors = 1;
volatile unsigned KeNumberProcessors = 1;
static struct processor_descriptors boot_processor_descriptors;

_Static_assert(sizeof(struct segment_descriptor) == sizeof(uint64_t), "a GDT entry");

static struct segment_descriptor segment(uint32_t base, uint32_t limit, uint8_t access,
                                         uint8_t flags)
{
    return (struct segment_descriptor){
        .limit_low = limit & 0xFFFF,
        .base_low = base & 0xFFFF,
        .base_mid = (base >> 16) & 0xFF,
        .access = access,
        .flags_limit_high = (flags & 0xF0) | ((limit >> 16) & 0x0F),
        .base_high = base >> 24,
    };
}

static struct gate_descriptor gate(uint32_t offset, uint16_t selector, uint8_t type)
{
    return (struct gate_descriptor){offset & 0xFFFF, selector, 0, type, offset >> 16};
}

/*
 * A double fault usually means the kernel stack is gone, so it is handled as a task
 * switch onto a stack of its own (SDM vol. 3A, 6.15, interrupt 8), with the kernel's
 * own page directory: system space is the same in every address space. The task's FS
 * is this processor's GDT_PCR, so the handler finds the region of the processor that
 * faulted.
 */
static void double_fault_tss_init(struct processor_descriptors *tables)
{
    extern char boot_cr3_table[];   /* boot/entry.S: the boot directory, or its PDPT */
    struct tss *tss = &tables->double_fault_tss;

    tss->cr3 = (uint32_t)boot_cr3_table - KERNEL_WINDOW;
    tss->eip = (uint32_t)trap_double_fault_task;
    tss->eflags = 0x2;              /* bit 1 is always set; interrupts off */
    tss->esp = (uint32_t)(tables->double_fault_stack + DOUBLE_FAULT_STACK - 16);
    tss->cs = GDT_KERNEL_CODE;
    tss->ss = tss->ds = tss->es = GDT_KERNEL_DATA;
    tss->fs = GDT_PCR;
    tss->gs = GDT_KERNEL_DATA;
    tss->io_map_base = sizeof(struct tss);
}

static void set_entry(struct processor_descriptors *tables, unsigned selector,
                      struct segment_descriptor descriptor)
{
    __builtin_memcpy(&tables->gdt[selector / 8], &descriptor, sizeof(descriptor));
}

void descriptors_init_processor(struct kprcb *prcb, struct processor_descriptors *tables)
{
    set_entry(tables, GDT_KERNEL_CODE, segment(0, 0xFFFFF, SEG_CODE_RING0, SEG_FLAT_4K_32BIT));
    set_entry(tables, GDT_KERNEL_DATA, segment(0, 0xFFFFF, SEG_DATA_RING0, SEG_FLAT_4K_32BIT));
    set_entry(tables, GDT_USER_CODE, segment(0, 0xFFFFF, SEG_CODE_RING3, SEG_FLAT_4K_32BIT));
    set_entry(tables, GDT_USER_DATA, segment(0, 0xFFFFF, SEG_DATA_RING3, SEG_FLAT_4K_32BIT));

    prcb->tss.ss0 = GDT_KERNEL_DATA;
    prcb->tss.io_map_base = sizeof(struct tss);     /* no I/O permission bitmap */
    double_fault_tss_init(tables);
    set_entry(tables, GDT_TSS, segment((uint32_t)&prcb->tss, sizeof(struct tss) - 1,
                                       SEG_TSS_AVAILABLE, 0));
    set_entry(tables, GDT_DOUBLE_FAULT_TSS, segment((uint32_t)&tables->double_fault_tss,
                                                    sizeof(struct tss) - 1, SEG_TSS_AVAILABLE, 0));
    /* Byte-granular, exactly the region: FS reaches nothing else. */
    set_entry(tables, GDT_PCR, segment((uint32_t)prcb, sizeof(struct kprcb) - 1,
                                       SEG_DATA_RING0, SEG_BYTES_32BIT));

    struct descriptor_pointer gdtr = {sizeof(tables->gdt) - 1, (uint32_t)tables->gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\tmov %2, %%ds\n\t"
                     "mov %2, %%es\n\t"
                     "mov %2, %%gs\n\t"
                     "mov %2, %%ss\n\t"
                     "mov %3, %%fs"
                     : : "m"(gdtr), "i"(GDT_KERNEL_CODE), "r"(GDT_KERNEL_DATA),
                       "r"(GDT_PCR) : "memory");
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
    /*
     * No LDT: with a null selector in LDTR, any selector with TI = 1 raises #GP (SDM vol.
     * 3A, 3.5.1). Left as the CPU has it, LDTR still describes linear address 0, and ring 3
     * loading an LDT selector makes the CPU read a descriptor there, with supervisor rights.
     */
    __asm__ volatile("lldt %w0" : : "r"(0));

    struct descriptor_pointer idtr = {sizeof(idt) - 1, (uint32_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void descriptors_init(void)
{
    for (unsigned v = 0; v < TRAP_EXCEPTION_COUNT; v++)
        idt[v] = gate(trap_stubs[v], GDT_KERNEL_CODE, GATE_INTERRUPT);
    for (unsigned v = TRAP_IRQ_BASE; v < TRAP_IRQ_BASE + PIC_IRQ_COUNT; v++)
        idt[v] = gate(trap_stubs[v], GDT_KERNEL_CODE, GATE_INTERRUPT);
    for (unsigned i = 0; i < TRAP_APIC_VECTOR_COUNT; i++)
        idt[trap_apic_vectors[i]] = gate(trap_apic_stubs[i], GDT_KERNEL_CODE, GATE_INTERRUPT);
    idt[DOUBLE_FAULT_VECTOR] = gate(0, GDT_DOUBLE_FAULT_TSS, GATE_TASK);
    /* User mode may raise these itself; any other `int n` from ring 3 is a #GP. */
    idt[TRAP_BREAKPOINT] = gate(trap_stubs[TRAP_BREAKPOINT], GDT_KERNEL_CODE, GATE_INTERRUPT_USER);
    idt[TRAP_OVERFLOW] = gate(trap_stubs[TRAP_OVERFLOW], GDT_KERNEL_CODE, GATE_INTERRUPT_USER);
    idt[TRAP_SYSCALL] = gate(trap_stubs[TRAP_SYSCALL], GDT_KERNEL_CODE, GATE_INTERRUPT_USER);
    idt[TRAP_NULL_INTERRUPT] = gate((uint32_t)trap_null_interrupt, GDT_KERNEL_CODE,
                                    GATE_INTERRUPT_USER);
    descriptors_init_processor(&pcr_boot_processor, &boot_processor_descriptors);
}
