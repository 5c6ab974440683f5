#pragma once
/* The GDT, the TSSs and the IDT (Intel SDM vol. 3A, chapters 3, 6 and 7). */
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

/* A 32-bit TSS (SDM vol. 3A, figure 7-2). */
struct tss {
    uint32_t previous_task;
    uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs;
    uint32_t ldt;
    uint16_t trap;
    uint16_t io_map_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "TSS layout");

/* The TSS the CPU saves into when a double fault switches tasks. */
extern struct tss kernel_tss;

/*
 * Loads the GDT, the task register and the IDT, and makes FS reach the boot processor's
 * region (arch/pcr.h); traps work from here on.
 */
void descriptors_init(void);
