/*
 * Paging, page by page: the PTE formats, working sets and their trimming, the standby
 * and modified lists, the modified-page writer, reads back from the pagefile, and what
 * an I/O error does. Each case works in a scratch process of its own and drives the
 * memory manager's steps one at a time (trim, write, reuse standby pages), so that it
 * can check every state a page passes through. The cases that need the pagefile skip
 * on a boot without one; the whole-system workload is in tests/test_pagestress.c.
 */
#include "io/block.h"
#include "arch/copy_checked.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "kernel/process.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/inject.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pagefile.h"
#include "mm/hyperspace.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte_format.h"
#include "mm/virtual.h"
#include "mm/workset.h"
#include "tests/page_stamp.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"

static vaddr_t allocate(struct ktest *t, uint32_t pages, uint32_t protection)
{
    vaddr_t base = 0;
    uint32_t size = pages * PAGE_SIZE;

    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                 MEM_RESERVE | MEM_COMMIT, protection, 0));
    return base;
}

/* Pages of [va, va + pages) whose PTE is in the format is_format tells. */
static uint32_t count_ptes(vaddr_t va, uint32_t pages, bool (*is_format)(mmpte_t))
{
    uint32_t count = 0;

    for (uint32_t p = 0; p < pages; p++) {
        mmpte_t *pte = MiGetPte(va + p * PAGE_SIZE, false);
        count += pte && is_format(*pte);
    }
    return count;
}

static bool is_valid(mmpte_t pte)
{
    return pte_is_valid(pte);
}

/* ---- the formats ---- */

static void pte_formats_are_distinct_and_keep_their_fields(struct ktest *t)
{
    static const uint32_t protections[] = {PAGE_READONLY, PAGE_READWRITE | PAGE_GUARD,
                                           PAGE_EXECUTE_READWRITE, PAGE_NOACCESS};
    for (unsigned i = 0; i < ARRAY_SIZE(protections); i++) {
        uint32_t protection = protections[i];
        mmpte_t formats[] = {
            MiMakeDemandZeroPte(protection),
            MiMakeResidentPte(0xABCDE, protection),
            MiMakeTransitionPte(0xABCDE, protection),
            MiMakePagefilePte(0xFFFFF, protection),
            MiMakePagefilePte(1, protection),
        };
        for (unsigned f = 0; f < ARRAY_SIZE(formats); f++) {
            mmpte_t pte = formats[f];
            unsigned kinds = MiIsDemandZeroPte(pte) + MiIsResidentPte(pte) +
                             MiIsTransitionPte(pte) + MiIsPagefilePte(pte) + pte_is_valid(pte);
            KT_EXPECT_EQ(t, 1, kinds);
            KT_EXPECT_EQ(t, protection, MiPteProtection(pte));
        }
        KT_EXPECT(t, MiIsDemandZeroPte(formats[0]));
        KT_EXPECT(t, MiIsResidentPte(formats[1]));
        KT_EXPECT_EQ(t, 0xABCDE, pte_pfn(formats[1]));
        KT_EXPECT(t, MiIsTransitionPte(formats[2]));
        KT_EXPECT_EQ(t, 0xABCDE, pte_pfn(formats[2]));
        KT_EXPECT(t, MiIsPagefilePte(formats[3]));
        KT_EXPECT_EQ(t, 0xFFFFF, MiPagefilePteSlot(formats[3]));
        KT_EXPECT_EQ(t, 1, MiPagefilePteSlot(formats[4]));
    }
    KT_EXPECT(t, !MiIsDemandZeroPte(pte_zero()) && !MiIsPagefilePte(pte_zero()) &&
                 !MiIsTransitionPte(pte_zero()) && !MiIsResidentPte(pte_zero()));
}

/* ---- working sets ---- */

/* A working set's list grows past its first capacity and keeps every entry it had. */
static void working_set_list_grows_and_keeps_its_entries(struct ktest *t)
{
    enum { ENTRIES = 1000 };
    struct mm_working_set working_set;

    KT_ASSERT(t, MiInitializeWorkingSet(&working_set));
    uint32_t first_capacity = working_set.capacity;
    for (uint32_t i = 0; i < ENTRIES; i++)
        MiInsertWorkingSetEntry(&working_set, 0x10000 + i * PAGE_SIZE);
    KT_EXPECT(t, working_set.capacity > first_capacity);
    KT_EXPECT_EQ(t, ENTRIES, working_set.count);
    KT_EXPECT_EQ(t, ENTRIES, working_set.peak);
    uint32_t misplaced = 0;
    for (uint32_t i = 0; i < ENTRIES; i++)
        misplaced += working_set.entries[i] != 0x10000 + i * PAGE_SIZE;
    KT_EXPECT_EQ(t, 0, misplaced);
    MiRemoveWorkingSetEntry(&working_set, 0x10000);
    KT_EXPECT_EQ(t, ENTRIES - 1, working_set.count);
    MiDeleteWorkingSet(&working_set);
}

/* A process touching three times its maximum never holds more than the maximum. */
static void working_set_stays_within_its_maximum(struct ktest *t)
{
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    const struct mm_working_set *working_set = &s.process->space.working_set;
    uint32_t pages = 3 * working_set->maximum;
    KT_EXPECT_EQ(t, MI_DEFAULT_WORKING_SET_MINIMUM, working_set->minimum);
    KT_EXPECT_EQ(t, MI_DEFAULT_WORKING_SET_MAXIMUM, working_set->maximum);
    uint32_t trimmed = MmStatistics.pages_trimmed;
    vaddr_t va = allocate(t, pages, PAGE_READWRITE);
    stamp(va, pages, 1);
    KT_EXPECT(t, working_set->peak <= working_set->maximum);
    KT_EXPECT(t, working_set->count <= working_set->maximum);
    KT_EXPECT(t, MmStatistics.pages_trimmed - trimmed >= pages - working_set->maximum);
    KT_EXPECT_EQ(t, 0, mismatches(va, pages, 1));
    ktest_diag(t, "%u pages touched: working set peak %u, %u pages trimmed", pages,
               working_set->peak, MmStatistics.pages_trimmed - trimmed);
    scratch_end(t, &s);
}

/* Requests started on every disk since boot. */
static uint32_t disk_requests(void)
{
    uint32_t requests = 0;

    for (unsigned i = 0; block_device_at(i); i++)
        requests += block_device_at(i)->queue->statistics.reads +
                    block_device_at(i)->queue->statistics.writes;
    return requests;
}

/* A trimmed page waits in transition; touching it takes it back without any I/O. */
static void transition_fault_needs_no_io(struct ktest *t)
{
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    vaddr_t va = allocate(t, 8, PAGE_READWRITE);
    stamp(va, 8, 7);
    uint32_t modified = MmModifiedPageListHead.count;
    KT_EXPECT_EQ(t, 8, MiTrimWorkingSet(0, false));
    KT_EXPECT_EQ(t, 8, count_ptes(va, 8, MiIsTransitionPte));
    KT_EXPECT_EQ(t, modified + 8, MmModifiedPageListHead.count);
    KT_EXPECT_EQ(t, 0, s.process->space.working_set.count);

    uint32_t transitions = MmStatistics.transition_faults;
    uint32_t requests = disk_requests();
    KT_EXPECT_EQ(t, 0, mismatches(va, 8, 7));
    KT_EXPECT_EQ(t, transitions + 8, MmStatistics.transition_faults);
    KT_EXPECT_EQ(t, requests, disk_requests());
    KT_EXPECT_EQ(t, 8, count_ptes(va, 8, is_valid));
    KT_EXPECT_EQ(t, modified, MmModifiedPageListHead.count);
    KT_EXPECT_EQ(t, 8, s.process->space.working_set.count);
    scratch_end(t, &s);
}

/* Protections survive the trip out and back: a guard page is still a guard page. */
static void protection_survives_transition(struct ktest *t)
{
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    vaddr_t va = allocate(t, 2, PAGE_READWRITE);
    stamp(va, 2, 3);
    uint32_t old;
    vaddr_t base = va;
    uint32_t size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmProtectVirtualMemory(&base, &size,
                 PAGE_READONLY | PAGE_GUARD, &old));
    MiTrimWorkingSet(0, false);
    KT_EXPECT_EQ(t, 2, count_ptes(va, 2, MiIsTransitionPte));
    KT_EXPECT_EQ(t, PAGE_READONLY | PAGE_GUARD, MiPteProtection(*MiGetPte(va, false)));
    uint32_t value;
    KT_EXPECT(t, arch_copy_checked(&value, (void *)va, 4) != 0);     /* the guard, once */
    KT_EXPECT(t, arch_copy_checked(&value, (void *)va, 4) == 0);
    KT_EXPECT_EQ(t, stamp_word(va, 3, 0), value);
    KT_EXPECT(t, arch_copy_checked((void *)va, &value, 4) != 0);     /* read-only */
    KT_EXPECT_EQ(t, 0, mismatches(va, 2, 3));
    scratch_end(t, &s);
}

/* ---- the pagefile ---- */

/* Ends the case as skipped on a boot without a pagefile (a macro: it must return). */
#define skip_without_pagefile(t)                                                        \
    do {                                                                                \
        if (!MiPagefile.present)                                                        \
            KT_SKIP(t, "no pagefile on this boot");                                     \
    } while (0)

static void commit_limit_counts_the_pagefile(struct ktest *t)
{
    skip_without_pagefile(t);
    KT_EXPECT(t, MiPagefile.slot_count > 16);
    KT_EXPECT(t, MmTotalCommitLimit > MiPagefile.slot_count - 1);
    /* Commit passes RAM when the pagefile outweighs what RAM keeps back (an eighth). */
    if (MiPagefile.slot_count - 1 > MmNumberOfPhysicalPages / 4)
        KT_EXPECT(t, MmTotalCommitLimit > MmNumberOfPhysicalPages);
    ktest_diag(t, "pagefile %s: %u slots; commit limit %u pages, RAM %u pages",
               MiPagefile.disk->name, MiPagefile.slot_count - 1, MmTotalCommitLimit,
               MmNumberOfPhysicalPages);
}

static void slots_are_allocated_and_released(struct ktest *t)
{
    skip_without_pagefile(t);
    uint32_t in_use = MiPagefile.slots_in_use;
    uint32_t first = MiAllocatePagefileSlots(MI_PAGEFILE_BATCH);
    KT_ASSERT(t, first != 0);
    uint32_t second = MiAllocatePagefileSlots(1);
    KT_EXPECT(t, second != 0 && (second < first || second >= first + MI_PAGEFILE_BATCH));
    KT_EXPECT_EQ(t, in_use + MI_PAGEFILE_BATCH + 1, MiPagefile.slots_in_use);
    for (uint32_t i = 0; i < MI_PAGEFILE_BATCH; i++)
        MiReleasePagefileSlot(first + i);
    MiReleasePagefileSlot(second);
    KT_EXPECT_EQ(t, in_use, MiPagefile.slots_in_use);
    KT_EXPECT_EQ(t, 0, MiAllocatePagefileSlots(MiPagefile.slot_count));
}

/*
 * Out through every step and back: trimmed (modified list), written (standby), the
 * frame reused (in pagefile), read back on the touch, bit for bit; then a clean page
 * goes straight to standby and a dirty one to modified again.
 */
static void private_pages_go_out_and_come_back(struct ktest *t)
{
    enum { PAGES = 40 };
    skip_without_pagefile(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    vaddr_t va = allocate(t, PAGES, PAGE_READWRITE);
    stamp(va, PAGES, 11);
    uint32_t written = MiPagefile.pages_written, read = MiPagefile.pages_read;
    uint32_t transfers = MiPagefile.write_transfers;

    KT_EXPECT_EQ(t, PAGES, MiTrimWorkingSet(0, false));
    KT_EXPECT(t, MiWriteModifiedPages(MmModifiedPageListHead.count) >= PAGES);
    KT_EXPECT_EQ(t, PAGES, count_ptes(va, PAGES, MiIsTransitionPte));
    KT_EXPECT(t, MiPagefile.pages_written - written >= PAGES);
    KT_EXPECT(t, MiPagefile.write_transfers - transfers < PAGES);    /* in batches */
    for (uint32_t p = 0; p < PAGES; p++) {
        struct mmpfn *entry = MiGetPfnEntry(pte_pfn(*MiGetPte(va + p * PAGE_SIZE, false)));
        KT_EXPECT_EQ(t, MI_STANDBY_PAGE_LIST, entry->location);
        KT_EXPECT(t, entry->pagefile_slot != 0);
    }
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    KT_EXPECT_EQ(t, PAGES, count_ptes(va, PAGES, MiIsPagefilePte));

    uint32_t reads = MmStatistics.pagefile_read_faults;
    uint32_t read_transfers = MiPagefile.read_transfers, ahead = MmStatistics.pages_read_ahead;
    KT_EXPECT_EQ(t, 0, mismatches(va, PAGES, 11));
    KT_EXPECT_EQ(t, reads + PAGES, MmStatistics.pagefile_read_faults);
    KT_EXPECT_EQ(t, read + PAGES, MiPagefile.pages_read);
    /* Written in clusters to contiguous slots, read back in clusters (MI_READ_CLUSTER). */
    KT_EXPECT(t, MiPagefile.read_transfers - read_transfers <= PAGES / 2);
    KT_EXPECT_EQ(t, PAGES - (MiPagefile.read_transfers - read_transfers),
                 MmStatistics.pages_read_ahead - ahead);

    /* Read, not written since: clean, straight to standby with no write. */
    uint32_t standby = MmStandbyPageListHead.count;
    written = MiPagefile.pages_written;
    KT_EXPECT_EQ(t, PAGES, MiTrimWorkingSet(0, false));
    KT_EXPECT_EQ(t, standby + PAGES, MmStandbyPageListHead.count);
    KT_EXPECT_EQ(t, written, MiPagefile.pages_written);
    /* Written to: its copy is stale, so it goes to the modified list. */
    stamp(va, 1, 12);
    uint32_t modified = MmModifiedPageListHead.count;
    MiTrimWorkingSet(0, false);
    KT_EXPECT_EQ(t, modified + 1, MmModifiedPageListHead.count);
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 12));
    KT_EXPECT_EQ(t, 0, mismatches(va + PAGE_SIZE, PAGES - 1, 11));
    ktest_diag(t, "%u pages out in %u transfers, %u read back in %u", PAGES,
               MiPagefile.write_transfers - transfers, MiPagefile.pages_read - read,
               MiPagefile.read_transfers - read_transfers);
    scratch_end(t, &s);
}

/*
 * With RAM above 4 GB (PAE), a process's pages come from there first, and go to the disk
 * and back through the queue's bounce pages below 4 GB, whole.
 */
static void frames_above_4gb_go_out_and_come_back(struct ktest *t)
{
    enum { PAGES = 24 };
    skip_without_pagefile(t);
    if (!MmHasMemoryAbove4Gb())
        KT_SKIP(t, "no RAM above 4 GB on this boot");
    const struct block_statistics *disk =
        &CONTAINING_RECORD(MiPagefile.disk, struct block_device, paging)->queue->statistics;
    struct scratch s;
    if (!scratch_begin(t, &s, "high-frames"))
        return;
    vaddr_t va = allocate(t, PAGES, PAGE_READWRITE);
    stamp(va, PAGES, 21);
    uint32_t high = 0, bounced = disk->bounced;
    for (uint32_t p = 0; p < PAGES; p++)
        high += pte_pfn(*MiGetPte(va + p * PAGE_SIZE, false)) >= MI_FIRST_HIGH_PAGE;
    KT_EXPECT_EQ(t, PAGES, high);

    KT_EXPECT_EQ(t, PAGES, MiTrimWorkingSet(0, false));
    KT_EXPECT(t, MiWriteModifiedPages(MmModifiedPageListHead.count) >= PAGES);
    KT_EXPECT(t, disk->bounced - bounced >= PAGES);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    KT_EXPECT_EQ(t, PAGES, count_ptes(va, PAGES, MiIsPagefilePte));
    bounced = disk->bounced;
    KT_EXPECT_EQ(t, 0, mismatches(va, PAGES, 21));
    KT_EXPECT(t, disk->bounced - bounced >= PAGES);
    high = 0;
    for (uint32_t p = 0; p < PAGES; p++)
        high += pte_pfn(*MiGetPte(va + p * PAGE_SIZE, false)) >= MI_FIRST_HIGH_PAGE;
    KT_EXPECT_EQ(t, PAGES, high);
    scratch_end(t, &s);
}

/* The word at index i of frame pfn's stamp. */
static uint32_t frame_stamp(pfn_t pfn, uint32_t i)
{
    return pfn * 0x9E3779B1u ^ i * 0x85EBCA6Bu;
}

/*
 * Frames spread evenly over all of RAM -- above 4 GB too, with PAE -- stamped, written to
 * the pagefile, overwritten and read back: every one comes back whole, those above 4 GB
 * through the queue's bounce pages.
 */
static void stamps_spread_over_all_ram_survive_the_pagefile(struct ktest *t)
{
    enum { FRAMES = 64, BATCH = 16 };
    skip_without_pagefile(t);
    pfn_t frames[FRAMES];
    uint32_t count = 0, high = 0, bad = 0;
    pfn_t step = (MmHighestPhysicalPage + 1) / FRAMES;

    for (pfn_t at = 0; at <= MmHighestPhysicalPage && count < FRAMES; at += step) {
        /* The first free frame from at on, within the step. */
        for (pfn_t pfn = at; pfn < at + step && pfn <= MmHighestPhysicalPage; pfn++)
            if ((frames[count] = MiTakeFreePage(pfn, MI_USE_PROCESS_PRIVATE)) != PFN_INVALID) {
                high += pfn >= MI_FIRST_HIGH_PAGE;
                count++;
                break;
            }
    }
    KT_EXPECT(t, count >= FRAMES / 2);
    KT_EXPECT(t, !MmHasMemoryAbove4Gb() || high > 0);
    uint32_t first_slot = MiAllocatePagefileSlots(count);
    KT_ASSERT(t, first_slot != 0);
    for (uint32_t f = 0; f < count; f++) {
        uint32_t *va = MiMapPageInHyperSpace(frames[f]);
        for (uint32_t i = 0; i < PAGE_SIZE / 4; i++)
            va[i] = frame_stamp(frames[f], i);
        MiUnmapPageInHyperSpace(va);
    }
    for (uint32_t f = 0; f < count; f += BATCH)
        KT_EXPECT_EQ(t, STATUS_SUCCESS,
                     MiWritePagefileSlots(first_slot + f, frames + f, MIN(BATCH, count - f)));
    for (uint32_t f = 0; f < count; f++)
        MiZeroPhysicalPage(frames[f]);
    for (uint32_t f = 0; f < count; f += BATCH)
        KT_EXPECT_EQ(t, STATUS_SUCCESS,
                     MiReadPagefileSlots(first_slot + f, frames + f, MIN(BATCH, count - f)));
    for (uint32_t f = 0; f < count; f++) {
        uint32_t *va = MiMapPageInHyperSpace(frames[f]);
        for (uint32_t i = 0; i < PAGE_SIZE / 4; i++)
            if (va[i] != frame_stamp(frames[f], i)) {
                bad++;
                break;
            }
        MiUnmapPageInHyperSpace(va);
        MiReleasePagefileSlot(first_slot + f);
        MiInsertPageInFreeList(frames[f]);
    }
    KT_EXPECT_EQ(t, 0, bad);
    ktest_diag(t, "%u frames from 0x%x to 0x%x, %u of them above 4 GB", count, frames[0],
               frames[count - 1], high);
}

/* Takes every free and zeroed frame of a zone (high: above 4 GB), chained through flink. */
static pfn_t take_zone(bool high, uint32_t *count)
{
    struct mi_page_list *free = high ? &MiHighFreePageListHead : &MmFreePageListHead;
    struct mi_page_list *zeroed = high ? &MiHighZeroedPageListHead : &MmZeroedPageListHead;
    pfn_t chain = PFN_INVALID;

    /* A process's page takes the frames above 4 GB first, the kernel's those below. */
    while (free->count + zeroed->count) {
        pfn_t pfn = MiRemoveAnyPage(high ? MI_USE_PROCESS_PRIVATE : MI_USE_SYSTEM);
        if (pfn == PFN_INVALID)
            break;
        MiGetPfnEntry(pfn)->flink = chain;   /* a field an active page leaves unused */
        chain = pfn;
        (*count)++;
    }
    return chain;
}

static void give_back(pfn_t chain)
{
    while (chain != PFN_INVALID) {
        pfn_t next = MiGetPfnEntry(chain)->flink;
        MiInsertPageInFreeList(chain);
        chain = next;
    }
}

/*
 * With the frames below 4 GB all taken, the kernel's own allocation (which must lie below
 * 4 GB) takes a standby page below 4 GB, looking past an older one above 4 GB, which stays.
 */
static void low_allocation_takes_a_low_standby_page(struct ktest *t)
{
    skip_without_pagefile(t);
    if (!MmHasMemoryAbove4Gb())
        KT_SKIP(t, "no RAM above 4 GB on this boot");
    struct scratch s;
    if (!scratch_begin(t, &s, "low-standby"))
        return;
    vaddr_t va = allocate(t, 2, PAGE_READWRITE);
    uint32_t high_taken = 0, low_taken = 0;

    /* Page A, above 4 GB, goes to the standby list first, which held nothing else. */
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    stamp(va, 1, 31);
    pfn_t a = pte_pfn(*MiGetPte(va, false));
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    /* With no free frame above 4 GB left, page B gets one below, and goes after A. */
    pfn_t high = take_zone(true, &high_taken);
    stamp(va + PAGE_SIZE, 1, 32);
    pfn_t b = pte_pfn(*MiGetPte(va + PAGE_SIZE, false));
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    KT_EXPECT(t, a >= MI_FIRST_HIGH_PAGE && b < MI_FIRST_HIGH_PAGE);
    KT_EXPECT_EQ(t, MI_STANDBY_PAGE_LIST, MiGetPfnEntry(a)->location);
    KT_EXPECT_EQ(t, MI_STANDBY_PAGE_LIST, MiGetPfnEntry(b)->location);
    KT_EXPECT(t, MmStandbyPageListHead.tail != b);

    /* Now every free frame below 4 GB goes too; the next kernel page is B's frame. */
    pfn_t low = take_zone(false, &low_taken);
    pfn_t next = MiRemoveAnyPage(MI_USE_SYSTEM);
    KT_EXPECT_EQ(t, b, next);
    KT_EXPECT_EQ(t, MI_STANDBY_PAGE_LIST, MiGetPfnEntry(a)->location);
    if (next != PFN_INVALID)
        MiInsertPageInFreeList(next);
    give_back(low);
    give_back(high);
    /* B's contents come back from the pagefile, A's from the standby list. */
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 31));
    KT_EXPECT_EQ(t, 0, mismatches(va + PAGE_SIZE, 1, 32));
    ktest_diag(t, "%u frames above 4 GB and %u below taken for the test", high_taken,
               low_taken);
    scratch_end(t, &s);
}

/* A failed write leaves the pages modified, in memory; the next run writes them. */
static void failed_write_is_retried(struct ktest *t)
{
    enum { PAGES = 6 };
    skip_without_pagefile(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    MiWriteModifiedPages(MmModifiedPageListHead.count);     /* start from an empty list */
    vaddr_t va = allocate(t, PAGES, PAGE_READWRITE);
    stamp(va, PAGES, 21);
    MiTrimWorkingSet(0, false);
    uint32_t errors = MiPagefile.write_errors, in_use = MiPagefile.slots_in_use;
    MiPagefileInjection = (struct mi_fault_injection){1, 0, 0};
    KT_EXPECT_EQ(t, 0, MiWriteModifiedPages(PAGES));
    KT_EXPECT_EQ(t, errors + 1, MiPagefile.write_errors);
    KT_EXPECT_EQ(t, in_use, MiPagefile.slots_in_use);
    KT_EXPECT_EQ(t, PAGES, MmModifiedPageListHead.count);
    KT_EXPECT_EQ(t, PAGES, MiWriteModifiedPages(PAGES));
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    KT_EXPECT_EQ(t, PAGES, count_ptes(va, PAGES, MiIsPagefilePte));
    KT_EXPECT_EQ(t, 0, mismatches(va, PAGES, 21));
    scratch_end(t, &s);
}

/*
 * A failed read is STATUS_IN_PAGE_ERROR for the access, nothing else: the PTE still
 * names its slot, and a later touch reads the page.
 */
static void failed_read_is_in_page_error(struct ktest *t)
{
    skip_without_pagefile(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    vaddr_t va = allocate(t, 1, PAGE_READWRITE);
    stamp(va, 1, 31);
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    mmpte_t before = *MiGetPte(va, false);
    KT_ASSERT(t, MiIsPagefilePte(before));
    uint32_t available = MmAvailablePages();
    MiPagefileInjection = (struct mi_fault_injection){1, 0, 0};
    KT_EXPECT_EQ(t, STATUS_IN_PAGE_ERROR, MmAccessFault(va, MM_ACCESS_READ, false));
    KT_EXPECT_EQ(t, before.value, MiGetPte(va, false)->value);
    KT_EXPECT_EQ(t, available, MmAvailablePages());
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 31));
    scratch_end(t, &s);
}

/*
 * A process whose page cannot be read back ends with STATUS_IN_PAGE_ERROR, and only it:
 * fault.exe is started (it has not run yet: the kernel is not preemptive), given a page
 * at FAULT_PAGE that is then paged out to a slot made unreadable, and the read it makes
 * fails; a second process beside it ends normally, and everything comes back.
 */
static void failed_read_ends_only_that_process(struct ktest *t)
{
    enum { FAULT_PAGE = 0x30000000 };
    struct process *victim, *bystander;
    struct resources before;

    skip_without_pagefile(t);
    if (!have_module(t, "fault.exe") || !have_module(t, "hello.exe"))
        KT_SKIP(t, "fault.exe or hello.exe not loaded");
    take_snapshot(&before);
    /* Held until their pages are set up: the victim must find its page in the pagefile. */
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 start_program_suspended("fault.exe", "read 0x30000000", &victim));
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program_suspended("hello.exe", "", &bystander));

    process_attach(victim);
    vaddr_t base = FAULT_PAGE;
    uint32_t size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0));
    stamp(FAULT_PAGE, 1, 61);
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    mmpte_t pte = *MiGetPte(FAULT_PAGE, false);
    KT_EXPECT(t, MiIsPagefilePte(pte));
    process_detach();

    /* Only that slot fails: both programs' own pages come back from the pagefile too. */
    uint32_t errors = MmStatistics.in_page_errors;
    MiMakePagefileSlotUnreadable(MiPagefilePteSlot(pte));
    process_resume(victim);
    process_resume(bystander);
    process_wait(victim, WAIT_FOREVER);
    process_wait(bystander, WAIT_FOREVER);
    MiMakePagefileSlotUnreadable(0);
    KT_EXPECT_EQ(t, (uint32_t)STATUS_IN_PAGE_ERROR, (uint32_t)victim->exit_status);
    KT_EXPECT_EQ(t, (uint32_t)STATUS_SUCCESS, (uint32_t)bystander->exit_status);
    KT_EXPECT_EQ(t, errors + 1, MmStatistics.in_page_errors);
    object_dereference(&victim->header);
    object_dereference(&bystander->header);
    expect_nothing_leaked(t, &before);
}

/*
 * Section pages leave memory once no view maps them, through their prototypes, and
 * come back to every view; copy-on-write copies go out and in as private pages.
 */
static void section_pages_go_out_and_come_back(struct ktest *t)
{
    enum { PAGES = 16 };
    skip_without_pagefile(t);
    struct scratch s;
    if (!scratch_begin(t, &s, "paging-test"))
        return;
    struct mm_section *section;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 MmCreateSection(PAGES * PAGE_SIZE, PAGE_READWRITE, SEC_COMMIT, &section));
    vaddr_t shared = 0, copy = 0;
    uint32_t size = 0;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmMapViewOfSection(section, 0, &shared, &size, 0,
                                                       PAGE_READWRITE, 0, 0));
    size = 0;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmMapViewOfSection(section, 0, &copy, &size, 0,
                                                       PAGE_WRITECOPY, 0, 0));
    stamp(shared, PAGES, 41);
    stamp(copy, PAGES / 2, 42);         /* private copies of the first half */
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    uint32_t outside = 0;
    for (uint32_t i = 0; i < PAGES; i++)
        outside += MiIsPagefilePte(section->prototypes[i]);
    KT_EXPECT_EQ(t, PAGES, outside);
    KT_EXPECT_EQ(t, PAGES / 2, count_ptes(copy, PAGES / 2, MiIsPagefilePte));

    KT_EXPECT_EQ(t, 0, mismatches(copy, PAGES / 2, 42));
    uint32_t read = MiPagefile.pages_read, transfers = MiPagefile.read_transfers;
    KT_EXPECT_EQ(t, 0, mismatches(shared, PAGES, 41));
    /* The section's pages come back in clusters, as private pages do. */
    KT_EXPECT_EQ(t, PAGES, MiPagefile.pages_read - read);
    KT_EXPECT(t, MiPagefile.read_transfers - transfers <= PAGES / 2);
    KT_EXPECT_EQ(t, 0, mismatches_as(copy + PAGES / 2 * PAGE_SIZE,
                                     shared + PAGES / 2 * PAGE_SIZE, PAGES / 2, 41));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmUnmapViewOfSection(shared));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmUnmapViewOfSection(copy));
    object_dereference(&section->header);
    scratch_end(t, &s);
}

/*
 * Paged pool leaves memory through the system working set and comes back on a touch in
 * kernel mode, bit for bit; nonpaged pool never leaves.
 */
static void paged_pool_goes_out_and_comes_back(struct ktest *t)
{
    enum { LARGE_BYTES = 3 * PAGE_SIZE, SMALL_BYTES = 200, TAG = 0x74736554 /* 'Test' */ };
    struct pool_statistics paged_before, paged_during, paged_after;
    uint32_t slots = MiPagefile.slots_in_use, committed = MmTotalCommittedPages;

    ExQueryPoolStatistics(PagedPool, &paged_before);
    uint32_t *large = ExAllocatePoolWithTag(PagedPool, LARGE_BYTES, TAG);
    uint8_t *small = ExAllocatePoolWithTag(PagedPool, SMALL_BYTES, TAG);
    uint32_t *resident = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    KT_ASSERT(t, large && small && resident);
    KT_EXPECT(t, MmIsPagedPoolAddress((vaddr_t)large) && MmIsPagedPoolAddress((vaddr_t)small));
    KT_EXPECT(t, !MmIsPagedPoolAddress((vaddr_t)resident));
    ExQueryPoolStatistics(PagedPool, &paged_during);
    KT_EXPECT_EQ(t, paged_before.allocations + 2, paged_during.allocations);
    for (uint32_t i = 0; i < LARGE_BYTES / 4; i++)
        large[i] = stamp_word(0x6000, 52, i);
    for (uint32_t i = 0; i < SMALL_BYTES; i++)
        small[i] = (uint8_t)(i * 13 + 7);
    resident[0] = 0x600DF00D;

    MiWriteModifiedPages(MmModifiedPageListHead.count);     /* the pool's pages alone next */
    uint32_t trimmed = MiTrimSystemWorkingSet(0, false);
    KT_EXPECT(t, trimmed >= 4);
    KT_EXPECT_EQ(t, 0, MiSystemWorkingSet.count);
    KT_EXPECT(t, MiIsTransitionPte(*pte_of((vaddr_t)large)));
    KT_EXPECT(t, pte_is_valid(*pte_of((vaddr_t)resident)));
    uint32_t reads = MmStatistics.pagefile_read_faults, ahead = MmStatistics.pages_read_ahead;
    if (MiPagefile.present) {
        MiWriteModifiedPages(MmModifiedPageListHead.count);
        MiPurgeStandbyPages(MmStandbyPageListHead.count);
        KT_EXPECT(t, MiIsPagefilePte(*pte_of((vaddr_t)large)));
        KT_EXPECT(t, MiIsPagefilePte(*pte_of((vaddr_t)small)));
    }
    uint32_t bad = 0;
    for (uint32_t i = 0; i < LARGE_BYTES / 4; i++)
        bad += large[i] != stamp_word(0x6000, 52, i);
    for (uint32_t i = 0; i < SMALL_BYTES; i++)
        bad += small[i] != (uint8_t)(i * 13 + 7);
    KT_EXPECT_EQ(t, 0, bad);
    KT_EXPECT_EQ(t, 0x600DF00D, resident[0]);
    if (MiPagefile.present)
        KT_EXPECT(t, MmStatistics.pagefile_read_faults - reads >= 4);
    /* The large block's three pages left in one cluster, in order: one read brings all. */
    if (MiPagefile.present && trimmed <= MI_PAGEFILE_BATCH)
        KT_EXPECT(t, MmStatistics.pages_read_ahead - ahead >= 2);
    ktest_diag(t, "%u paged pool pages trimmed, %u read back from the pagefile", trimmed,
               MmStatistics.pagefile_read_faults - reads);
    ExFreePoolWithTag(large, TAG);
    ExFreePoolWithTag(small, TAG);
    ExFreePoolWithTag(resident, TAG);
    ExQueryPoolStatistics(PagedPool, &paged_after);
    KT_EXPECT_EQ(t, paged_before.allocations, paged_after.allocations);
    KT_EXPECT_EQ(t, paged_before.pages, paged_after.pages);
    KT_EXPECT_EQ(t, committed, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, slots, MiPagefile.slots_in_use);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(pte_formats_are_distinct_and_keep_their_fields),
    KTEST_CASE(working_set_list_grows_and_keeps_its_entries),
    KTEST_CASE(working_set_stays_within_its_maximum),
    KTEST_CASE(transition_fault_needs_no_io),
    KTEST_CASE(protection_survives_transition),
    KTEST_CASE(commit_limit_counts_the_pagefile),
    KTEST_CASE(slots_are_allocated_and_released),
    KTEST_CASE(private_pages_go_out_and_come_back),
    KTEST_CASE(frames_above_4gb_go_out_and_come_back),
    KTEST_CASE(stamps_spread_over_all_ram_survive_the_pagefile),
    KTEST_CASE(low_allocation_takes_a_low_standby_page),
    KTEST_CASE(failed_write_is_retried),
    KTEST_CASE(failed_read_is_in_page_error),
    KTEST_CASE(failed_read_ends_only_that_process),
    KTEST_CASE(section_pages_go_out_and_come_back),
    KTEST_CASE(paged_pool_goes_out_and_comes_back),
};

KTEST_SUITE(pagefile_suite, "pagefile", cases);
