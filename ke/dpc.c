/*
 * Deferred procedure calls (contract in ke/dpc.h). A processor's queue is changed only
 * under ke_acquire_list_lock, interrupts off: an interrupt handler on the same processor
 * may queue while the drain or a removal is half-way.
 */
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/spinlock.h"
#include "ke/dpc.h"
#include "lib/list.h"
#include "lib/panic.h"

void KeInitializeDpc(struct kdpc *dpc, kdeferred_routine_t *routine, void *context)
{
    *dpc = (struct kdpc){.routine = routine, .context = context};
    list_init(&dpc->link);
}

bool KeInsertQueueDpc(struct kdpc *dpc, void *argument1, void *argument2)
{
    /* HIGH_LEVEL first: no switch may take the thread to another processor's queue. */
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct kprcb *none = NULL;
    uint32_t flags = ke_acquire_list_lock(&prcb->dpc_lock);

    /* Another processor may be queueing the same DPC on its own queue, under its lock. */
    bool inserted = __atomic_compare_exchange_n(&dpc->queued_on, &none, prcb, false,
                                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    if (inserted) {
        dpc->argument1 = argument1;
        dpc->argument2 = argument2;
        list_insert_tail(&prcb->dpc_list, &dpc->link);
        prcb->dpc_queue_depth++;
        prcb->statistics.dpcs_queued++;
        HalRequestSoftwareInterrupt(DISPATCH_LEVEL);
    }
    ke_release_list_lock(&prcb->dpc_lock, flags);
    KeLowerIrql(old);                   /* below DISPATCH_LEVEL: the DPC runs now */
    return inserted;
}

bool KeRemoveQueueDpc(struct kdpc *dpc)
{
    struct kprcb *prcb = __atomic_load_n(&dpc->queued_on, __ATOMIC_ACQUIRE);
    bool removed = false;

    if (!prcb)
        return false;
    uint32_t flags = ke_acquire_list_lock(&prcb->dpc_lock);
    /* Looked at again under the lock: the drain may have taken it meanwhile. */
    if (dpc->queued_on == prcb) {
        list_remove(&dpc->link);
        prcb->dpc_queue_depth--;
        __atomic_store_n(&dpc->queued_on, NULL, __ATOMIC_RELEASE);
        removed = true;
    }
    ke_release_list_lock(&prcb->dpc_lock, flags);
    return removed;
}

void KiRetireDpcList(struct kprcb *prcb)
{
    uint32_t flags = ke_acquire_list_lock(&prcb->dpc_lock);

    KASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL && prcb == KeGetCurrentPrcb());
    /* Those queued now, no more: one queued meanwhile has asked for the next drain. */
    for (uint32_t left = prcb->dpc_queue_depth; left && !list_is_empty(&prcb->dpc_list);
         left--) {
        struct kdpc *dpc = CONTAINING_RECORD(list_remove_head(&prcb->dpc_list), struct kdpc,
                                             link);
        kdeferred_routine_t *routine = dpc->routine;
        void *context = dpc->context, *argument1 = dpc->argument1, *argument2 = dpc->argument2;
        prcb->dpc_queue_depth--;
        prcb->statistics.dpcs_run++;
        /* Off the queue before it runs, so that its routine may queue it again. */
        __atomic_store_n(&dpc->queued_on, NULL, __ATOMIC_RELEASE);
        ke_release_list_lock(&prcb->dpc_lock, flags);
        routine(dpc, context, argument1, argument2);
        KASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);
        flags = ke_acquire_list_lock(&prcb->dpc_lock);
    }
    ke_release_list_lock(&prcb->dpc_lock, flags);
}
