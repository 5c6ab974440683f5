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

uint32_t KiPostTlbFlush(struct kprcb *prcb, const vaddr_t *va, uint32_t count, bool global)
{
    struct kprcb_tlb_flush *list = &prcb->tlb_flush;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    if (list->count + count > KPRCB_TLB_FLUSH_PAGES)
        list->flush_all = true;
    if (!list->flush_all)
        for (uint32_t i = 0; i < count; i++)
            list->va[list->count++] = va[i];
    list->global |= global;
    uint32_t number = ++list->posted;
    prcb->statistics.tlb_flushes_posted++;
    ke_release_list_lock(&list->lock, flags);
    return number;
}

uint32_t KiPostEntireTlbFlush(struct kprcb *prcb, bool global)
{
    struct kprcb_tlb_flush *list = &prcb->tlb_flush;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    list->flush_all = true;
    list->global |= global;
    uint32_t number = ++list->posted;
    prcb->statistics.tlb_flushes_posted++;
    ke_release_list_lock(&list->lock, flags);
    return number;
}

void KiRetireTlbFlushList(void)
{
    KASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct kprcb_tlb_flush *list = &prcb->tlb_flush;
    /* Unlocked: a post after this look comes with an interrupt of its own. */
    if (__atomic_load_n(&list->posted, __ATOMIC_ACQUIRE) == list->retired)
        return;
    uint32_t flags = ke_acquire_list_lock(&list->lock);

    /* invlpg drops a global entry too (Intel SDM vol. 3A, 4.10.4.1): only a full flush asks. */
    if (list->flush_all && list->global)
        cpu_flush_tlb_all();
    else if (list->flush_all)
        cpu_flush_tlb_non_global();
    else
        for (uint32_t i = 0; i < list->count; i++)
            cpu_invlpg(list->va[i]);
    if (list->flush_all)
        prcb->statistics.tlb_entire_flushes++;
    else
        prcb->statistics.tlb_pages_flushed += list->count;
    list->count = 0;
    list->flush_all = list->global = false;
    __atomic_store_n(&list->retired, list->posted, __ATOMIC_RELEASE);
    ke_release_list_lock(&list->lock, flags);
}

void KiWaitForTlbFlush(struct kprcb *prcb, uint32_t number)
{
    while ((int32_t)(__atomic_load_n(&prcb->tlb_flush.retired, __ATOMIC_ACQUIRE) - number) < 0) {
        /* The other may be waiting for this one meanwhile: its request is served here. */
        KiRetireTlbFlushList();
        cpu_relax();
    }
}
