#pragma once
/* The GDT, the TSSs and the IDT (Intel SDM vol. 3A, chapters 3, 6 and 7). */
#include "arch/pcr.h"
#include "lib/types.h"

#define GDT_KERNEL_CODE     0x08
#define GDT_KERNEL_DATA     0x10
#define GDT_USER_CODE       0x18
#define GDT_USER_DATA       0x20
#define GDT_TSS             0x28
#define GDT_PCR             0x30    /* the processor's region (arch/pcr.h), in FS: NT's KGDT_R0_PCR */
#define GDT_DOUBLE_FAULT_TSS 0x50   /* NT's KGDT_DF_TSS */
#define GDT_ENTRIES         11

/* The selectors ring 3 runs with: RPL 3. */
#define USER_CODE_SELECTOR  (GDT_USER_CODE | 3)
#define USER_DATA_SELECTOR  (GDT_USER_DATA | 3)

#define DOUBLE_FAULT_STACK  (2 * 4096)

/*
 * What each processor has of its own besides its region (NT allocates the same per
 * processor): a GDT, whose TSS entry names the TSS in the region and whose PCR entry
 * the region itself, and the task a double fault switches to, with its stack. The IDT
 * is one for all.
 */
struct processor_descriptors {
    uint64_t gdt[GDT_ENTRIES];
    struct tss double_fault_tss;
    uint8_t double_fault_stack[DOUBLE_FAULT_STACK] __attribute__((aligned(16)));
};

/*
 * Builds the IDT and the boot processor's tables and loads them, making FS reach the
 * boot processor's region (arch/pcr.h); traps work from here on.
 */
void descriptors_init(void);

/*
 * On an application processor, first thing in its C code: builds its GDT and double
 * fault task in tables, for its region prcb, and loads them with the IDT.
 */
void descriptors_init_processor(struct kprcb *prcb, struct processor_descriptors *tables);
