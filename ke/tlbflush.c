/*
 * Pending TLB flushes (contract in ke/tlbflush.h). The list is changed under
 * ke_acquire_list_lock: posters may be interrupt handlers, and the drain, like the
 * shootdown interrupt that will run it, must not see a half-posted request.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/spinlock.h"
#include "ke/tlbflush.h"
#include "lib/panic.h"

void KiPostTlbFlush(struct kprcb *prcb, const vaddr_t *va, uint32_t count, bool global)
{
    struct kprcb_tlb_flush *list = &prcb->tlb_flush;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    if (list->count + count > KPRCB_TLB_FLUSH_PAGES)
        list->flush_all = true;
    if (!list->flush_all)
        for (uint32_t i = 0; i < count; i++)
            list->va[list->count++] = va[i];
    list->global |= global;
    prcb->statistics.tlb_flushes_posted++;
    ke_release_list_lock(&list->lock, flags);
}

void KiPostEntireTlbFlush(struct kprcb *prcb, bool global)
{
    struct kprcb_tlb_flush *list = &prcb->tlb_flush;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    list->flush_all = true;
    list->global |= global;
    prcb->statistics.tlb_flushes_posted++;
    ke_release_list_lock(&list->lock, flags);
}

void KiRetireTlbFlushList(void)
{
    KASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    struct kprcb_tlb_flush *list = &KeGetCurrentPrcb()->tlb_flush;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    /* invlpg drops a global entry too (Intel SDM vol. 3A, 4.10.4.1): only a full flush asks. */
    if (list->flush_all && list->global)
        cpu_flush_tlb_all();
    else if (list->flush_all)
        cpu_flush_tlb_non_global();
    else
        for (uint32_t i = 0; i < list->count; i++)
            cpu_invlpg(list->va[i]);
    list->count = 0;
    list->flush_all = list->global = false;
    ke_release_list_lock(&list->lock, flags);
}
