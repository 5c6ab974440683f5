#pragma once
/* What the CPU can do, found once at boot (CPUID, where the CPU has it). */
#include "arch/cpu.h"
#include "lib/types.h"

/* CPUID bits the boot stub needs too (Intel SDM vol. 2A, CPUID, tables 3-11 and 3-8). */
#define CPUID_EDX_PAE       (1u << 6)   /* leaf 1 */
#define CPUID_EXTENDED      0x80000000u /* leaf: the highest extended leaf, in EAX */
#define CPUID_EXT_EDX_NX    (1u << 20)  /* leaf 0x80000001: execute disable */

struct cpu_features {
    bool cpuid;             /* 486s before the DX4 and some clones lack CPUID */
    bool pse;               /* 4 MB pages */
    bool pae;               /* 64-bit entries (the PAE format) */
    bool nx;                /* the execute-disable bit (with PAE and EFER.NXE) */
    unsigned physical_address_bits; /* MAXPHYADDR: 32 without PAE, else CPUID's or 36 */
    bool tsc;               /* RDTSC */
    bool pge;               /* global pages */
    bool pat;               /* page attribute table: PWT alone selects write-combining */
    bool apic;              /* a local APIC (CPUID.1:EDX bit 9) */
    bool smep;              /* supervisor-mode execution prevention */
    bool umip;              /* user-mode instruction prevention */
    char vendor[13];
    uint32_t family, model, stepping;
    uint64_t tsc_hz;        /* measured against the PIT; 0 without a TSC */
};

extern struct cpu_features cpu_features;

/* What CPUID reported, raw: the input of cpu_features_decode. */
struct cpuid_result {
    bool present;           /* EFLAGS.ID could be toggled */
    uint32_t max_leaf;
    uint32_t vendor[3];     /* EBX, EDX, ECX of leaf 0 */
    uint32_t leaf1_eax, leaf1_edx;
    uint32_t leaf7_ebx, leaf7_ecx;  /* subleaf 0, where max_leaf reaches 7 */
    uint32_t extended1_edx;         /* leaf 0x80000001, 0 where the CPU has none */
    uint32_t extended8_eax;         /* leaf 0x80000008 (address sizes), 0 where none */
};

/* CPUID exists exactly when software can flip EFLAGS.ID (SDM vol. 1, 19.1). */
static inline bool cpu_has_cpuid(void)
{
    uint32_t before = cpu_read_eflags();

    cpu_write_eflags(before ^ EFLAGS_ID);
    uint32_t after = cpu_read_eflags();
    cpu_write_eflags(before);
    return (before ^ after) & EFLAGS_ID;
}

/* The highest extended leaf, or 0 where the CPU has none. */
static inline uint32_t cpu_max_extended_leaf(void)
{
    uint32_t max = 0, unused;

    cpu_cpuid(CPUID_EXTENDED, &max, &unused, &unused, &unused);
    /* Older CPUs answer an unknown leaf with the highest basic leaf's values. */
    return max > CPUID_EXTENDED && max <= CPUID_EXTENDED + 0xFFFF ? max : 0;
}

/* Leaf 0x80000001's EDX, or 0 where the CPU has no such leaf. */
static inline uint32_t cpu_extended1_edx(void)
{
    uint32_t edx = 0, unused;

    if (cpu_max_extended_leaf() >= CPUID_EXTENDED + 1)
        cpu_cpuid(CPUID_EXTENDED + 1, &unused, &unused, &unused, &edx);
    return edx;
}

/* Turns raw CPUID values into features; pure, so tests can feed any CPU. */
void cpu_features_decode(const struct cpuid_result *raw, struct cpu_features *features);

/* Detects the CPU's features and turns on those the kernel uses (CR4.PGE, SMEP, UMIP). */
void cpu_features_init(void);
/* The same on an application processor: the PAT and CR0 as the boot processor has them. */
void cpu_features_init_processor(void);

/*
 * Turns on EFER.NXE (the CPU must have NX; the PAE build only): from here the PTE
 * constructors mark every system page but the kernel's code not executable.
 */
void cpu_enable_no_execute(void);

/* Prints the CPU and the features found. */
void cpu_features_print(void);

/* Flushes every TLB entry, global ones included. */
void cpu_flush_tlb_all(void);

/* Flushes every TLB entry but the global ones (system space's), with a CR3 reload. */
void cpu_flush_tlb_non_global(void);
