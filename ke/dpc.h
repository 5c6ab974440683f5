#pragma once
/*
 * Deferred procedure calls, as NT has them: work an interrupt handler (or any code, at
 * any IRQL) hands to DISPATCH_LEVEL, where it may take spinlocks and make threads ready
 * but never wait. A DPC is queued to the processor that queues it (its region's
 * dpc_list, arch/pcr.h) and run there by KiRetireDpcList, first thing in the
 * DISPATCH_LEVEL software interrupt, once the IRQL falls below DISPATCH_LEVEL.
 *
 * Each drain runs the DPCs that were queued when it began, oldest first, each at
 * DISPATCH_LEVEL with interrupts enabled, taken off the queue before its routine runs.
 * A DPC queued meanwhile -- by a routine that queues itself again, or by an interrupt --
 * asks for the software interrupt again and runs in the next drain, after the
 * dispatcher has had its turn (timeouts, the end of a quantum): a routine that always
 * queues itself again cannot hold one drain for ever. NT drains its queue until it is
 * empty and relies on a watchdog to stop such a routine; this kernel bounds the drain
 * instead.
 */
#include "arch/pcr.h"
#include "lib/list.h"
#include "lib/types.h"

struct kdpc;

/* What a DPC runs, at DISPATCH_LEVEL: its context and the arguments of the insert. */
typedef void kdeferred_routine_t(struct kdpc *dpc, void *context, void *argument1,
                                 void *argument2);

struct kdpc {
    struct list_entry link;         /* in queued_on's dpc_list, under its dpc_lock */
    kdeferred_routine_t *routine;
    void *context;
    void *argument1;                /* NT's SystemArgument1 and 2: given by each insert */
    void *argument2;
    struct kprcb *queued_on;        /* whose queue holds it; NULL when it is on none */
};

/* Makes dpc, on no queue, run routine with context. */
void KeInitializeDpc(struct kdpc *dpc, kdeferred_routine_t *routine, void *context);

/*
 * At any IRQL: queues dpc on this processor with the two arguments and asks for the
 * DISPATCH_LEVEL software interrupt. False, and nothing changed, when dpc is already
 * queued (it then runs once, with the arguments of the insert that queued it).
 */
bool KeInsertQueueDpc(struct kdpc *dpc, void *argument1, void *argument2);

/* At any IRQL: takes dpc off its queue; false when it was on none (run, or never queued). */
bool KeRemoveQueueDpc(struct kdpc *dpc);

/* At DISPATCH_LEVEL, interrupts enabled: runs the DPCs queued on prcb, this processor. */
void KiRetireDpcList(struct kprcb *prcb);
