#pragma once
/*
 * The processor control region: what belongs to one processor rather than to the
 * machine (NT's KPCR and its PRCB in one structure). Every entry into the kernel loads
 * FS with GDT_PCR, whose base is this processor's region, so a field is one instruction
 * away (`mov %fs:offset`) and no processor ever reads another's by mistake. There is one
 * region today; a second processor adds one more and a GDT entry for it, nothing else.
 */
#include <stddef.h>
#include "lib/list.h"
#include "lib/types.h"

struct thread;
struct mm_address_space;

/* Events counted per processor (summed over processors where the machine's are shown). */
struct kprcb_statistics {
    uint64_t context_switches;
    uint64_t preemptions;           /* switches that took the processor from a runnable thread */
    uint64_t kernel_preemptions;    /* of those, from a thread in kernel mode */
    uint64_t interrupts;            /* device interrupts taken */
    uint64_t deferred_interrupts;   /* ... that came at or below the IRQL and waited for it */
    uint64_t dispatch_interrupts;   /* DISPATCH_LEVEL software interrupts run */
    uint32_t cr3_loads;
};

struct kprcb {
    struct kprcb *self;                 /* the region's own address: KeGetCurrentPrcb */
    /*
     * The dispatcher's lock guards both threads. The current one's block begins with
     * its arch part (arch/kthread.h): its recovered-fault record and its held locks.
     */
    struct thread *current_thread;
    struct thread *idle_thread;
    struct mm_address_space *current_space; /* whose user half CR3 maps */
    uint8_t irql;                       /* the IRQL this processor runs at (arch/irql.h) */
    uint8_t number;                     /* 0 for the boot processor */
    bool quantum_end;                   /* the clock ended the running thread's quantum */
    bool timer_expired;                 /* the clock found a waiter whose time is up */
    /*
     * Interrupts requested but held back by the IRQL: bit L set means one of IRQL L
     * waits. Software interrupts (APC_LEVEL, DISPATCH_LEVEL) are requested here; a device
     * interrupt that arrives at or below the IRQL is masked at its controller and noted
     * here, and runs when the IRQL falls below its level (NT's lazy IRQL).
     */
    uint32_t pending_interrupts;
    /* Hyperspace slots this processor has mapped (mm/hyperspace.c): its own, no lock. */
    uint32_t hyperspace_slots;
    uint8_t hyperspace_irql;            /* the IRQL from before the first of them */
    struct kprcb_statistics statistics;
};

/* This processor's region. */
static inline struct kprcb *KeGetCurrentPrcb(void)
{
    struct kprcb *prcb;

    __asm__ volatile("movl %%fs:%c1, %0" : "=r"(prcb) : "i"(offsetof(struct kprcb, self)));
    return prcb;
}

/* The thread running on this processor. */
static inline struct thread *KeGetCurrentThread(void)
{
    struct thread *thread;

    __asm__ volatile("movl %%fs:%c1, %0"
                     : "=r"(thread) : "i"(offsetof(struct kprcb, current_thread)));
    return thread;
}

/* The boot processor's region, which descriptors_init makes FS reach. */
extern struct kprcb pcr_boot_processor;
