/*
 * The modified-page writer (mm/modwriter.c): a system thread that writes modified pages
 * in clusters when the list passes its mark, with no lock held; pages touched, dirtied
 * or freed while they are written end up where NT puts them; a fault short of pages
 * waits for the writer instead of writing. MiModifiedWriterDelay holds each write back
 * a few ticks, its pages already in flight, so that a case can reach them meanwhile.
 */
#include "kernel/process.h"
#include "kernel/thread.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/virtual.h"
#include "mm/workset.h"
#include "tests/ktest.h"
#include "tests/page_stamp.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"

#define WRITE_DELAY     20      /* ticks the writer holds each cluster in flight */
#define WAIT_TICKS      2000    /* the longest a case waits for the writer */

#define skip_without_writer(t)                                                          \
    do {                                                                                \
        if (!MiPagefile.present)                                                        \
            KT_SKIP(t, "no pagefile on this boot");                                     \
    } while (0)

static vaddr_t allocate(struct ktest *t, uint32_t pages)
{
    vaddr_t base = 0;
    uint32_t size = pages * PAGE_SIZE;

    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0));
    return base;
}

static uint32_t count_in_pagefile(vaddr_t va, uint32_t pages)
{
    uint32_t count = 0;

    for (uint32_t i = 0; i < pages; i++)
        count += MiIsPagefilePte(*MiGetPte(va + i * PAGE_SIZE, false));
    return count;
}

static bool modified_at_most_half_the_mark(void *unused)
{
    (void)unused;
    return MmModifiedPageListHead.count <= MiHighModifiedPages / 2;
}

static bool page_in_flight(void *context)
{
    mmpte_t pte = *MiGetPte(*(vaddr_t *)context, false);

    return MiIsTransitionPte(pte) &&
           (MiGetPfnEntry(pte_pfn(pte))->flags & MI_PFN_WRITE_IN_PROGRESS);
}

/*
 * More modified pages than the mark: the writer wakes by itself and writes them, in
 * clusters of several pages each, until half the mark is left; they come back intact.
 */
static void writer_cleans_the_list_past_its_mark(struct ktest *t)
{
    skip_without_writer(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "writer-mark"))
        return;
    MiWriteModifiedPages(MmModifiedPageListHead.count);     /* from an empty list */
    uint32_t pages = MiHighModifiedPages + 64;
    vaddr_t va = allocate(t, pages);
    stamp(va, pages, 81);
    struct mi_modified_writer_statistics before = MiModifiedWriterStatistics;
    uint32_t transfers = MiPagefile.write_transfers;
    MiTrimWorkingSet(0, false);
    KT_EXPECT(t, sleep_until(modified_at_most_half_the_mark, NULL, WAIT_TICKS));
    MiWaitForModifiedPageWriterIdle();

    struct mi_modified_writer_statistics after = MiModifiedWriterStatistics;
    uint32_t written = after.pages - before.pages, clusters = after.clusters - before.clusters;
    ktest_diag(t, "the writer woke %u times and wrote %u pages in %u clusters",
               after.wakes - before.wakes, written, clusters);
    KT_EXPECT(t, after.wakes > before.wakes);
    KT_EXPECT(t, written >= pages - MiHighModifiedPages / 2);
    KT_EXPECT(t, clusters > 0 && written / clusters >= MI_PAGEFILE_BATCH / 2);
    KT_EXPECT_EQ(t, transfers + clusters, MiPagefile.write_transfers);  /* no one else wrote */
    KT_EXPECT_EQ(t, 0, mismatches(va, pages, 81));
    scratch_end(t, &s);
}

/*
 * A page taken back and written to while its write is under way stays modified: the
 * copy just written is stale, so its slot is given up and the page is written again;
 * the others of the cluster keep their copies. Each page then comes back from the
 * pagefile as last written.
 */
static void page_dirtied_while_written_stays_modified(struct ktest *t)
{
    enum { PAGES = 8 };
    skip_without_writer(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "writer-redirty"))
        return;
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    vaddr_t va = allocate(t, PAGES);
    stamp(va, PAGES, 82);
    MiTrimWorkingSet(0, false);
    struct mi_modified_writer_statistics before = MiModifiedWriterStatistics;
    MiModifiedWriterDelay = WRITE_DELAY;
    MiAskWriterToWriteAll();
    bool in_flight = sleep_until(page_in_flight, &va, WAIT_TICKS);
    KT_EXPECT(t, in_flight);
    stamp(va, 1, 83);                   /* a transition fault on a page in flight, and a write */
    KT_EXPECT(t, pte_is_valid(*MiGetPte(va, false)));
    MiTrimWorkingSet(0, false);
    KT_EXPECT_EQ(t, MI_MODIFIED_PAGE_LIST,
                 MiGetPfnEntry(pte_pfn(*MiGetPte(va, false)))->location);
    MiWaitForModifiedPageWriterIdle();
    MiModifiedWriterDelay = 0;

    struct mi_modified_writer_statistics after = MiModifiedWriterStatistics;
    KT_EXPECT_EQ(t, before.redirtied + 1, after.redirtied);
    KT_EXPECT_EQ(t, PAGES + 1, after.pages - before.pages);     /* that one twice */
    for (uint32_t i = 0; i < PAGES; i++) {
        const struct mmpfn *entry = MiGetPfnEntry(pte_pfn(*MiGetPte(va + i * PAGE_SIZE, false)));
        if (!KT_EXPECT(t, entry->location == MI_STANDBY_PAGE_LIST && entry->pagefile_slot))
            ktest_diag(t, "page %u: location %u, slot %u", i, entry->location,
                       entry->pagefile_slot);
    }
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    KT_EXPECT_EQ(t, PAGES, count_in_pagefile(va, PAGES));
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 83));
    KT_EXPECT_EQ(t, 0, mismatches(va + PAGE_SIZE, PAGES - 1, 82));
    scratch_end(t, &s);
}

/*
 * Pages decommitted while they are written are freed when the write ends, not before:
 * nothing of them is left afterwards (frames, slots, commit).
 */
static void pages_freed_while_written_are_freed_after(struct ktest *t)
{
    enum { PAGES = 8 };
    skip_without_writer(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "writer-free"))
        return;
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    vaddr_t va = allocate(t, PAGES);
    stamp(va, PAGES, 84);
    MiTrimWorkingSet(0, false);
    MiModifiedWriterDelay = WRITE_DELAY;
    MiAskWriterToWriteAll();
    KT_EXPECT(t, sleep_until(page_in_flight, &va, WAIT_TICKS));
    pfn_t pfn = pte_pfn(*MiGetPte(va, false));
    vaddr_t base = va;
    uint32_t size = PAGES * PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmFreeVirtualMemory(&base, &size, MEM_DECOMMIT));
    KT_EXPECT(t, MiGetPfnEntry(pfn)->flags & MI_PFN_DELETED);
    KT_EXPECT_EQ(t, MI_PAGE_ACTIVE, MiGetPfnEntry(pfn)->location);
    MiWaitForModifiedPageWriterIdle();
    MiModifiedWriterDelay = 0;
    KT_EXPECT(t, !(MiGetPfnEntry(pfn)->flags & (MI_PFN_DELETED | MI_PFN_WRITE_IN_PROGRESS)));
    scratch_end(t, &s);
}

/*
 * A fault that finds reusable pages short (the mark raised for the case) wakes the
 * writer and waits for it rather than writing pages itself.
 */
static void fault_short_of_pages_waits_for_the_writer(struct ktest *t)
{
    enum { PAGES = 16 };
    skip_without_writer(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "writer-wait"))
        return;
    vaddr_t va = allocate(t, PAGES + 1);
    stamp(va, PAGES, 85);
    MiTrimWorkingSet(0, false);
    KT_EXPECT(t, MmModifiedPageListHead.count >= PAGES);
    struct mi_modified_writer_statistics before = MiModifiedWriterStatistics;
    uint32_t transfers = MiPagefile.write_transfers, saved_low = MiLowReusablePages;
    MiLowReusablePages = MiReusablePages() + MmModifiedPageListHead.count + 1;
    stamp(va + PAGES * PAGE_SIZE, 1, 86);       /* a demand-zero fault, short of pages */
    MiLowReusablePages = saved_low;
    MiWaitForModifiedPageWriterIdle();
    struct mi_modified_writer_statistics after = MiModifiedWriterStatistics;
    ktest_diag(t, "%u fault waits; the writer wrote %u pages in %u clusters meanwhile",
               after.fault_waits - before.fault_waits, after.pages - before.pages,
               after.clusters - before.clusters);
    KT_EXPECT(t, after.fault_waits > before.fault_waits);
    KT_EXPECT(t, after.pages > before.pages);
    KT_EXPECT_EQ(t, transfers + (after.clusters - before.clusters), MiPagefile.write_transfers);
    KT_EXPECT_EQ(t, 0, mismatches(va, PAGES, 85));
    KT_EXPECT_EQ(t, 0, mismatches(va + PAGES * PAGE_SIZE, 1, 86));
    scratch_end(t, &s);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(writer_cleans_the_list_past_its_mark),
    KTEST_CASE(page_dirtied_while_written_stays_modified),
    KTEST_CASE(pages_freed_while_written_are_freed_after),
    KTEST_CASE(fault_short_of_pages_waits_for_the_writer),
};

KTEST_SUITE(modwriter_suite, "modwriter", cases);
