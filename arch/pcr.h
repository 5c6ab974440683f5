#pragma once
/*
 * The processor control region: what belongs to one processor rather than to the
 * machine (NT's KPCR and its PRCB in one structure). Every entry into the kernel loads
 * FS with GDT_PCR, whose base is this processor's region, so a field is one instruction
 * away (`mov %fs:offset`) and no processor ever reads another's by mistake. There is one
 * region today; a second processor adds one more, a GDT entry for it and its place in
 * KiProcessorBlock, nothing else.
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
    uint64_t dpcs_queued;           /* DPCs put on this processor's queue (ke/dpc.c) */
    uint64_t dpcs_run;              /* ... and taken off it and run */
    uint64_t tlb_flushes_posted;    /* requests other processors left in tlb_flush */
    uint32_t cr3_loads;
};

/* Pages a pending-flush list names one by one; past that it flushes everything. */
#define KPRCB_TLB_FLUSH_PAGES 16

/*
 * The TLB work other processors have asked of this one (ke/tlbflush.c): a processor that
 * changes an entry another one may cache posts the page here and, once there are
 * several processors, sends the owner a shootdown interrupt, whose handler drains the
 * list with invlpg (NT's IPI packet in the PRCB). Posted to at any IRQL, so changed only
 * with interrupts off, under lock once other processors post here.
 */
struct kprcb_tlb_flush {
    volatile uint32_t lock;         /* a bare word: ke_acquire_list_lock, arch/spinlock.h */
    uint32_t count;                 /* pages in va[] */
    bool flush_all;                 /* more were posted than va[] holds: drop everything */
    bool global;                    /* some were system space (global): drop those too */
    vaddr_t va[KPRCB_TLB_FLUSH_PAGES];
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
    /*
     * Deferred procedure calls queued to this processor (ke/dpc.h), oldest first, and how
     * many. Queued at any IRQL, an interrupt handler's included, and run at
     * DISPATCH_LEVEL: so the queue is changed only with interrupts off, and under
     * dpc_lock (a bare lock word) once other processors can queue here.
     */
    struct list_entry dpc_list;
    uint32_t dpc_queue_depth;
    volatile uint32_t dpc_lock;
    struct kprcb_tlb_flush tlb_flush;
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

/*
 * Every processor's region by number (NT's KiProcessorBlock), for code that must reach
 * another processor: a TLB shootdown posts to each one's pending flushes. The boot
 * processor's alone until application processors are started.
 */
extern struct kprcb *KiProcessorBlock[];
extern unsigned KeNumberProcessors;
