/*
 * The PTE writer (mm/pte.c): the TLB work it decides, and, with `ptecheck` (every test
 * boot), that a page table is read-only to every store but its own. The stores planted
 * here go through arch_copy_checked, whose faults are recovered, so the suite goes on;
 * crash=pte-store (tests/crash.c) plants one that is not, and checks the stop report.
 */
#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
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
    struct test_mapping m;

    if (!map_test_page(t, &m))
        return;
    uint32_t before = cpu_invlpg_count;
    MiWritePte(m.pte, pte_make_kernel(m.pfn, false));
    KT_EXPECT_EQ(t, before + 1, cpu_invlpg_count);
    KT_EXPECT(t, !pte_is_writable(*m.pte));
    MiWritePte(m.pte, pte_zero());
    KT_EXPECT_EQ(t, before + 2, cpu_invlpg_count);
    MiWritePte(m.pte, pte_make_kernel(m.pfn, true));
    KT_EXPECT_EQ(t, before + 2, cpu_invlpg_count);
    unmap_test_page(&m);
}

/* A batch drops each queued page once, or the whole TLB once it is over full. */
static void batch_flushes_each_page_or_everything(struct ktest *t)
{
    struct test_mapping m;
    struct mi_tlb_batch batch;

    if (!map_test_page(t, &m))
        return;
    MiInitializeTlbBatch(&batch);
    uint32_t invlpg = cpu_invlpg_count, full = cpu_full_flush_count;
    MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, false), &batch);
    MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, true), &batch);
    KT_EXPECT_EQ(t, 2, batch.count);
    KT_EXPECT(t, batch.system);
    KT_EXPECT_EQ(t, invlpg, cpu_invlpg_count);
    MiFlushTlbBatch(&batch);
    KT_EXPECT_EQ(t, invlpg + 2, cpu_invlpg_count);
    KT_EXPECT_EQ(t, 0, batch.count);

    for (unsigned i = 0; i <= MI_TLB_BATCH_PAGES; i++)
        MiWritePteBatched(m.pte, pte_make_kernel(m.pfn, true), &batch);
    MiFlushTlbBatch(&batch);
    KT_EXPECT_EQ(t, invlpg + 2, cpu_invlpg_count);
    KT_EXPECT_EQ(t, full + 1, cpu_full_flush_count);
    *(volatile uint32_t *)m.va = 7;
    KT_EXPECT_EQ(t, 7, *(volatile uint32_t *)m.va);
    unmap_test_page(&m);
}

/* Clearing the accessed and dirty bits leaves the rest of the entry alone. */
static void clearing_bits_keeps_the_entry(struct ktest *t)
{
    struct test_mapping m;

    if (!map_test_page(t, &m))
        return;
    *(volatile uint32_t *)m.va = 1;
    KT_EXPECT(t, m.pte->value & PTE_DIRTY);
    KT_EXPECT(t, m.pte->value & PTE_ACCESSED);
    uint32_t before = cpu_invlpg_count;
    MiClearPteBits(m.pte, PTE_DIRTY | PTE_ACCESSED);
    KT_EXPECT_EQ(t, before + 1, cpu_invlpg_count);
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
    uint32_t old = m.pte->value;
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

static const struct ktest_case cases[] = {
    KTEST_CASE(writer_flushes_only_what_was_valid),
    KTEST_CASE(batch_flushes_each_page_or_everything),
    KTEST_CASE(clearing_bits_keeps_the_entry),
    KTEST_CASE(self_map_store_outside_writer_faults),
    KTEST_CASE(directory_store_outside_writer_faults),
    KTEST_CASE(hyperspace_view_of_a_table_is_read_only),
};

KTEST_SUITE(pte_suite, "pte", cases);
