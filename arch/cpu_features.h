#pragma once
/* What the CPU can do, found once at boot (CPUID, where the CPU has it). */
#include "kernel/types.h"

struct cpu_features {
    bool cpuid;             /* 486s before the DX4 and some clones lack CPUID */
    bool pse;               /* 4 MB pages */
    bool tsc;               /* RDTSC */
    bool pge;               /* global pages */
    char vendor[13];
    uint32_t family, model, stepping;
};

extern struct cpu_features cpu_features;

/* Detects the CPU's features and turns on those the kernel uses (CR4.PGE). */
void cpu_features_init(void);

/* Prints the CPU and the features found. */
void cpu_features_print(void);

/* Flushes every TLB entry, global ones included. */
void cpu_flush_tlb_all(void);
