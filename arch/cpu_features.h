#pragma once
/* What the CPU can do, found once at boot (CPUID, where the CPU has it). */
#include "lib/types.h"

struct cpu_features {
    bool cpuid;             /* 486s before the DX4 and some clones lack CPUID */
    bool pse;               /* 4 MB pages */
    bool tsc;               /* RDTSC */
    bool pge;               /* global pages */
    bool pat;               /* page attribute table: PWT alone selects write-combining */
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
};

/* Turns raw CPUID values into features; pure, so tests can feed any CPU. */
void cpu_features_decode(const struct cpuid_result *raw, struct cpu_features *features);

/* Detects the CPU's features and turns on those the kernel uses (CR4.PGE, SMEP, UMIP). */
void cpu_features_init(void);

/* Prints the CPU and the features found. */
void cpu_features_print(void);

/* Flushes every TLB entry, global ones included. */
void cpu_flush_tlb_all(void);

/* Flushes every TLB entry but the global ones (system space's), with a CR3 reload. */
void cpu_flush_tlb_non_global(void);
