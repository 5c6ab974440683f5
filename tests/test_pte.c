/*
 * The PTE writer (mm/pte.c): the TLB work it decides, and, with `ptecheck` (every test
 * boot), that a page table is read-only to every store but its own. The stores planted
 * here go through arch_copy_checked, whose faults are recovered, so the suite goes on;
 * crash=pte-store (tests/crash.c) plants one that is not, and checks the stop report.
 */
#include "arch/copy_checked.h"
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "ke/tlbflush.h"
#include "lib/ntstatus.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

/* A fresh system page and frame, mapped; pte is its entry in the self-map. */
struct test_mapping {
    vaddr_t va;
    pfn_t pfn;
    mmpte_t *pte;
};

static bool map_test_page(struct ktest *t, struct test_mapping *m)
{
    m->va = MiReserveSystemPtes(1);
    m->pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    if (!KT_EXPECT(t, m->va != 0 && m->pfn != PFN_INVALID))
        return false;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 MiMapRange(m->va, pfn_to_paddr(m->pfn), PAGE_SIZE, pte_make_kernel(0, true)));
    m->pte = pte_of(m->va);
    return true;
}

static void unmap_test_page(struct test_mapping *m)
{
    MiUnmapRange(m->va, PAGE_SIZE);
    MiReleaseSystemPtes(m->va, 1);
    MiInsertPageInFreeList(m->pfn);
}

/* A store of value at va that may fault; true when it faulted. */
static bool store_faults(vaddr_t va, uint32_t value)
{
    return arch_copy_checked((void *)va, &value, sizeof(value)) != 0;
}

/* Replacing an entry that was not valid costs no flush; replacing a valid one, one. */
static void writer_flushes_only_what_was_valid(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();    /* the cases run on one processor */
    struct test_mapping m;

    if (!map_test_page(t, &m))
        return;
    uint32_t before = prcb->statistics.invlpgs;
    MiWritePte(m.pte, pte_make_kernel(m.pfn, false));
    KT_EXPECT_EQ(t, before + 1, prcb->statistics.invlpgs);
    KT_EXPECT(t, !pte_is_writable(*m.pte));
    MiWritePte(m.pte, pte_zero());
    KT_EXPECT_EQ(t, before + 2, prcb->statistics.invlpgs);
    MiWritePte(m.pte, pte_make_kernel(m.pfn, true));
    KT_EXPECT_EQ(t, before + 2, prcb->statistics.invlpgs);
    unmap_test_page(&m);
}

/* A batch drops each queued page once, or the whole TLB once it is over full. */
static void batch_flushes_each_page_or_everything(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();    /* the cases run on one processor */
    struct test_mapping m;
    struct mi_tlb_batch batch;

    if (!map_test_page(t, &m))
        return;
    MiInitializeTlbBatch(&batch);
    uint32_t invlpg = prcb->statistics.invlpgs, full = prcb->statistics.full_flushes;
    MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, false), &batch);
    MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, true), &batch);
    KT_EXPECT_EQ(t, 2, batch.count);
    KT_EXPECT(t, batch.system);
    KT_EXPECT_EQ(t, invlpg, prcb->statistics.invlpgs);
    MiFlushTlbBatch(&batch);
    KT_EXPECT_EQ(t, invlpg + 2, prcb->statistics.invlpgs);
    KT_EXPECT_EQ(t, 0, batch.count);

    for (unsigned i = 0; i <= MI_TLB_BATCH_PAGES; i++)
        MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, true), &batch);
    MiFlushTlbBatch(&batch);
    KT_EXPECT_EQ(t, invlpg + 2, prcb->statistics.invlpgs);
    KT_EXPECT_EQ(t, full + 1, prcb->statistics.full_flushes);
    *(volatile uint32_t *)m.va = 7;
    KT_EXPECT_EQ(t, 7, *(volatile uint32_t *)m.va);
    unmap_test_page(&m);
}

/* Clearing the accessed and dirty bits leaves the rest of the entry alone. */
static void clearing_bits_keeps_the_entry(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();    /* the cases run on one processor */
    struct test_mapping m;

    if (!map_test_page(t, &m))
        return;
    *(volatile uint32_t *)m.va = 1;
    KT_EXPECT(t, m.pte->value & PTE_DIRTY);
    KT_EXPECT(t, m.pte->value & PTE_ACCESSED);
    uint32_t before = prcb->statistics.invlpgs;
    MiClearPteBits(m.pte, PTE_DIRTY | PTE_ACCESSED);
    KT_EXPECT_EQ(t, before + 1, prcb->statistics.invlpgs);
    KT_EXPECT(t, !(m.pte->value & (PTE_DIRTY | PTE_ACCESSED)));
    KT_EXPECT(t, pte_is_valid(*m.pte) && pte_is_writable(*m.pte));
    KT_EXPECT_EQ(t, m.pfn, pte_pfn(*m.pte));
    *(volatile uint32_t *)m.va = 2;
    KT_EXPECT(t, m.pte->value & PTE_DIRTY);
    unmap_test_page(&m);
}

/* The self-map is read-only under the check: a store through it faults, the writer's not. */
static void self_map_store_outside_writer_faults(struct ktest *t)
{
    struct test_mapping m;

    if (!MiPteCheckEnabled)
        KT_SKIP(t, "ptecheck is off");
    KT_EXPECT(t, !pte_is_writable(*pde_of(PTE_BASE)));
    if (!map_test_page(t, &m))
        return;
    ptebits_t old = m.pte->value;
    KT_EXPECT(t, store_faults((vaddr_t)m.pte, 0));
    KT_EXPECT_EQ(t, (vaddr_t)m.pte, trap_last_recovered_fault()->address);
    KT_EXPECT_EQ(t, PF_PRESENT | PF_WRITE, trap_last_recovered_fault()->error_code);
    KT_EXPECT_EQ(t, old, m.pte->value);
    KT_EXPECT(t, MmIsPageTableView((vaddr_t)m.pte));
    KT_EXPECT(t, store_faults((vaddr_t)pde_of(m.va), 0));
    KT_EXPECT(t, !MmIsPageTableView(m.va));
    KT_EXPECT(t, !store_faults(m.va, 5));
    unmap_test_page(&m);
}

/* Directories seen in system space, and the boot's tables in the image, are read-only. */
static void directory_store_outside_writer_faults(struct ktest *t)
{
    if (!MiPteCheckEnabled)
        KT_SKIP(t, "ptecheck is off");
    mmpte_t *directory = MmCurrentAddressSpace()->directory;
    KT_EXPECT(t, MmIsPageTableView((vaddr_t)directory));
    KT_EXPECT(t, store_faults((vaddr_t)&directory[0], 0));
    KT_EXPECT(t, store_faults((vaddr_t)boot_page_table, 0));
    KT_EXPECT(t, store_faults((vaddr_t)boot_page_directory, 0));
}

/* A page table mapped through hyperspace is read-only; an ordinary frame is not. */
static void hyperspace_view_of_a_table_is_read_only(struct ktest *t)
{
    if (!MiPteCheckEnabled)
        KT_SKIP(t, "ptecheck is off");
    pfn_t table = pte_pfn(*pde_of(KERNEL_WINDOW));
    mmpte_t *view = MiMapPageInHyperSpace(table);
    KT_EXPECT(t, store_faults((vaddr_t)view, 0));
    KT_EXPECT(t, MmIsPageTableView((vaddr_t)view));
    MiUnmapPageInHyperSpace(view);

    pfn_t frame = MiRemoveAnyPage(MI_USE_SYSTEM);
    KT_ASSERT(t, frame != PFN_INVALID);
    void *data = MiMapPageInHyperSpace(frame);
    KT_EXPECT(t, !store_faults((vaddr_t)data, 0));
    KT_EXPECT(t, !MmIsPageTableView((vaddr_t)data));
    MiUnmapPageInHyperSpace(data);
    MiInsertPageInFreeList(frame);
}

/* ---- the pending flushes another processor posts (ke/tlbflush.c) ---- */

/*
 * A system page that reads 1 and a second frame that reads 2; then the page's entry is
 * pointed at the second frame without a flush (the flush is left in a batch that is
 * dropped), as another processor's writer leaves this processor's TLB. True when the
 * old translation is still cached: reading the page still gives 1.
 */
static bool make_stale_translation(struct ktest *t, struct test_mapping *m, pfn_t *second,
                                   bool global)
{
    if (!map_test_page(t, m))
        return false;
    *second = MiRemoveAnyPage(MI_USE_SYSTEM);
    if (!KT_EXPECT(t, *second != PFN_INVALID))
        return false;
    uint32_t *alias = MiMapPageInHyperSpace(*second);
    alias[0] = 2;
    MiUnmapPageInHyperSpace(alias);
    mmpte_t first = global ? pte_make_kernel(m->pfn, true) : pte_make_kernel_local(m->pfn);
    mmpte_t next = global ? pte_make_kernel(*second, true) : pte_make_kernel_local(*second);
    struct mi_tlb_batch batch;
    MiInitializeTlbBatch(&batch);
    MiWritePteBatched(m->pte, first, &batch);
    MiFlushTlbBatch(&batch);
    *(volatile uint32_t *)m->va = 1;
    KT_EXPECT_EQ(t, global && arch_global_pte_bit, pte_is_global(*m->pte));
    MiWritePteBatched(m->pte, next, &batch);
    return *(volatile uint32_t *)m->va == 1;
}

static void drop_stale_translation(struct test_mapping *m, pfn_t second)
{
    MiWritePte(m->pte, pte_make_kernel(m->pfn, true));
    unmap_test_page(m);
    MiInsertPageInFreeList(second);
}

/*
 * Whether a stale translation can be shown: with ptecheck the writer's window toggles
 * CR0.WP, which makes QEMU drop its whole TLB (a real processor keeps it), so the store
 * itself leaves nothing stale. Without the check it must be stale, or the test proves
 * nothing: the boot `tlb-without-ptecheck` runs these cases so.
 */
#define REQUIRE_STALE(t, stale, m, second)                                              \
    do {                                                                                \
        if (!(stale)) {                                                                 \
            drop_stale_translation((m), (second));                                      \
            if (MiPteCheckEnabled)                                                      \
                KT_SKIP(t, "ptecheck's store emptied the TLB: nothing stale to drop");  \
            KT_ASSERT(t, stale);                                                        \
        }                                                                               \
    } while (0)

/*
 * A page posted to this processor's list, exactly as another processor posts it, stays
 * stale until the list is drained; the drain drops it with one invlpg and empties the list.
 */
static void posted_page_is_dropped_by_the_drain(struct ktest *t)
{
    struct test_mapping m;
    struct kprcb *prcb = KeGetCurrentPrcb();
    pfn_t second = PFN_INVALID;
    uint64_t posted = prcb->statistics.tlb_flushes_posted;

    bool stale = make_stale_translation(t, &m, &second, true);
    if (second == PFN_INVALID)
        return;
    REQUIRE_STALE(t, stale, &m, second);
    /* HIGH_LEVEL: no other processor's shootdown interrupt drains the list meanwhile. */
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);
    KiPostTlbFlush(prcb, &m.va, 1, true);
    KT_EXPECT_EQ(t, 1, *(volatile uint32_t *)m.va);     /* posting alone flushes nothing */
    KT_EXPECT_EQ(t, 1, prcb->tlb_flush.count);
    KT_EXPECT_EQ(t, m.va, prcb->tlb_flush.va[0]);
    uint32_t invlpg = prcb->statistics.invlpgs, full = prcb->statistics.full_flushes;
    KiRetireTlbFlushList();
    KT_EXPECT_EQ(t, 2, *(volatile uint32_t *)m.va);
    KT_EXPECT_EQ(t, invlpg + 1, prcb->statistics.invlpgs);
    KT_EXPECT_EQ(t, full, prcb->statistics.full_flushes);
    KT_EXPECT_EQ(t, 0, prcb->tlb_flush.count);
    KT_EXPECT(t, !prcb->tlb_flush.flush_all && !prcb->tlb_flush.global);
    KT_EXPECT_EQ(t, posted + 1, prcb->statistics.tlb_flushes_posted);
    KeLowerIrql(old);
    drop_stale_translation(&m, second);
}

/* Posts more pages than the list holds (other addresses, not the stale one). */
static void overflow_flush_list(struct kprcb *prcb, bool global)
{
    vaddr_t others[KPRCB_TLB_FLUSH_PAGES / 2];

    for (unsigned i = 0; i < ARRAY_SIZE(others); i++)
        others[i] = KERNEL_WINDOW + i * PAGE_SIZE;
    KiPostTlbFlush(prcb, others, ARRAY_SIZE(others), false);
    KiPostTlbFlush(prcb, others, ARRAY_SIZE(others), global);
    KiPostTlbFlush(prcb, others, 1, false);
}

/*
 * More pages than the list holds make it flush everything, once and with no invlpg,
 * which drops the stale translation of a page that was never posted. A global page
 * among those posted makes the full flush drop global entries too (global: the stale
 * page is a global one); without, a CR3 reload drops what is not global, as hyperspace's
 * entries are not. (QEMU keeps no global entry across a CR3 load, so only a real
 * processor would keep the stale global page if the flag were lost.)
 */
static void overflow_drops_stale_translation(struct ktest *t, bool global)
{
    struct test_mapping m;
    struct kprcb *prcb = KeGetCurrentPrcb();
    pfn_t second = PFN_INVALID;

    bool stale = make_stale_translation(t, &m, &second, global);
    if (second == PFN_INVALID)
        return;
    REQUIRE_STALE(t, stale, &m, second);
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);          /* as above */
    overflow_flush_list(prcb, global);
    KT_EXPECT(t, prcb->tlb_flush.flush_all);
    KT_EXPECT_EQ(t, global, prcb->tlb_flush.global);
    KT_EXPECT_EQ(t, 1, *(volatile uint32_t *)m.va);
    uint32_t invlpg = prcb->statistics.invlpgs, full = prcb->statistics.full_flushes;
    KiRetireTlbFlushList();
    KT_EXPECT_EQ(t, 2, *(volatile uint32_t *)m.va);
    KT_EXPECT_EQ(t, invlpg, prcb->statistics.invlpgs);
    KT_EXPECT_EQ(t, full + 1, prcb->statistics.full_flushes);
    KT_EXPECT(t, !prcb->tlb_flush.flush_all && !prcb->tlb_flush.global);
    KT_EXPECT_EQ(t, 0, prcb->tlb_flush.count);
    KeLowerIrql(old);
    drop_stale_translation(&m, second);
}

static void overflowing_list_flushes_global_entries_too(struct ktest *t)
{
    overflow_drops_stale_translation(t, true);
}

static void overflowing_list_drops_what_is_not_global(struct ktest *t)
{
    overflow_drops_stale_translation(t, false);
}

/* An entire flush posted on its own, then pages after it: still one full flush. */
static void entire_flush_absorbs_later_pages(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    vaddr_t va = KERNEL_WINDOW;

    KIRQL old = KeRaiseIrql(HIGH_LEVEL);          /* as above */
    KiPostEntireTlbFlush(prcb, false);
    KiPostTlbFlush(prcb, &va, 1, false);
    KT_EXPECT(t, prcb->tlb_flush.flush_all);
    KT_EXPECT_EQ(t, 0, prcb->tlb_flush.count);
    uint32_t invlpg = prcb->statistics.invlpgs, full = prcb->statistics.full_flushes;
    KiRetireTlbFlushList();
    KT_EXPECT_EQ(t, invlpg, prcb->statistics.invlpgs);
    KT_EXPECT_EQ(t, full + 1, prcb->statistics.full_flushes);
    KT_EXPECT(t, !prcb->tlb_flush.flush_all);
    KeLowerIrql(old);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(writer_flushes_only_what_was_valid),
    KTEST_CASE(batch_flushes_each_page_or_everything),
    KTEST_CASE(clearing_bits_keeps_the_entry),
    KTEST_CASE(self_map_store_outside_writer_faults),
    KTEST_CASE(directory_store_outside_writer_faults),
    KTEST_CASE(hyperspace_view_of_a_table_is_read_only),
    KTEST_CASE(posted_page_is_dropped_by_the_drain),
    KTEST_CASE(overflowing_list_flushes_global_entries_too),
    KTEST_CASE(overflowing_list_drops_what_is_not_global),
    KTEST_CASE(entire_flush_absorbs_later_pages),
};

KTEST_SUITE(pte_suite, "pte", cases);
