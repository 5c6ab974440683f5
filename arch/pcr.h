#pragma once
/*
 * The processor control region: what belongs to one processor rather than to the
 * machine (NT's KPCR and its PRCB in one structure). Every entry into the kernel loads
 * FS with GDT_PCR, whose base is this processor's region, so a field is one instruction
 * away (`mov %fs:offset`) and no processor ever reads another's by mistake: each has its
 * own GDT, whose PCR entry names its own region (arch/descriptors.h).
 */
#include <stddef.h>
#include "lib/list.h"
#include "lib/types.h"

struct thread;
struct mm_address_space;

/* Processors this build can run: hyperspace gives each 32 slots of one table (PAE: 512). */
#define KE_MAX_PROCESSORS 16
#define KE_ALL_PROCESSORS ((1u << KE_MAX_PROCESSORS) - 1)   /* an affinity naming every one */

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
    uint64_t tlb_pages_flushed;     /* ... pages this processor dropped for them */
    uint64_t tlb_entire_flushes;    /* ... and times it dropped everything instead */
    uint64_t tlb_shootdowns;        /* flushes this processor asked of others and waited for */
    uint64_t ipis_sent;             /* interprocessor interrupts this processor sent */
    uint64_t ipis_received;         /* ... and took */
    uint32_t cr3_loads;
    uint32_t invlpgs;               /* single-page invalidations (cpu_invlpg) */
    uint32_t full_flushes;          /* whole-TLB flushes (arch/cpu_features.c) */
};

/* Pages a pending-flush list names one by one; past that it flushes everything. */
#define KPRCB_TLB_FLUSH_PAGES 16

/*
 * The TLB work other processors have asked of this one (ke/tlbflush.c): a processor that
 * changes an entry another one may cache posts the page here and sends the owner the
 * interprocessor interrupt, whose handler drains the list with invlpg (NT's IPI packet
 * in the PRCB). Each post counts in posted; a drain sets retired to the count it
 * finished, so a poster waits for retired to reach its own post's number and knows the
 * translation is gone. Posted to at any IRQL, so changed only with interrupts off,
 * under the lock.
 */
struct kprcb_tlb_flush {
    volatile uint32_t lock;         /* a bare word: ke_acquire_list_lock, arch/spinlock.h */
    uint32_t count;                 /* pages in va[] */
    bool flush_all;                 /* more were posted than va[] holds: drop everything */
    bool global;                    /* some were system space (global): drop those too */
    vaddr_t va[KPRCB_TLB_FLUSH_PAGES];
    uint32_t posted;                /* posts so far */
    volatile uint32_t retired;      /* posts whose pages are gone from this TLB */
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
    uint32_t set_member;                /* 1 << number: its bit in processor masks */
    uint32_t apic_id;                   /* its local APIC's id, where IPIs are sent */
    /* What other processors ask of this one by interprocessor interrupt (ke/ipi.h). */
    volatile uint32_t ipi_requests;
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
    /* Its TSS: ESP0 is the running thread's stack top (arch/context.h). */
    struct tss tss;
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
 * another processor: a TLB shootdown posts to each one's pending flushes. Filled in as
 * application processors start (arch/processors.c); KeActiveProcessors has the bit of
 * each running one, KeNumberProcessors counts them.
 */
extern struct kprcb *KiProcessorBlock[KE_MAX_PROCESSORS];
extern volatile uint32_t KeActiveProcessors;
extern volatile unsigned KeNumberProcessors;
