/*
 * Faults that wait for a page read (mm/pagefile.h, NT's in-page support): the reading
 * thread sleeps with no lock held while others run and fault; a second fault on the page
 * -- another thread of the process, or another process through a shared section --
 * waits for the same read, and no second read is made; a failed read wakes every waiter
 * with STATUS_IN_PAGE_ERROR; a page freed while it is read is freed once the read ends.
 * MiPagefileReadDelay holds each read back a few ticks (a slow disk), so that the other
 * faults surely come while it is under way.
 */
#include "io/block.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/pit.h"
#include "kernel/process.h"
#include "kernel/thread.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/section.h"
#include "mm/virtual.h"
#include "mm/workset.h"
#include "tests/ktest.h"
#include "tests/page_stamp.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"

#define READ_DELAY      20      /* ticks each read waits before its transfer */
#define SHORT_TIMEOUT   30      /* ticks: the disk's timeout where an end is lost */
#define WAIT_TICKS      2000    /* the longest a case waits for its threads */

#define skip_without_pagefile(t)                                                        \
    do {                                                                                \
        if (!MiPagefile.present)                                                        \
            KT_SKIP(t, "no pagefile on this boot");                                     \
    } while (0)

/* A thread that touches a page of a process, as kernel code on its behalf would. */
struct toucher {
    struct process *process;
    vaddr_t va;
    ntstatus_t status;
    uint64_t finished_tick;
    volatile bool done;
};

static void touch(void *context)
{
    struct toucher *toucher = context;

    process_attach(toucher->process);
    toucher->status = MmAccessFault(toucher->va, MM_ACCESS_READ, false);
    process_detach();
    toucher->finished_tick = scheduler_ticks;
    toucher->done = true;
}

static bool start_toucher(struct ktest *t, struct toucher *toucher, struct process *process,
                          vaddr_t va)
{
    *toucher = (struct toucher){.process = process, .va = va};
    return KT_EXPECT_EQ(t, STATUS_SUCCESS, thread_create(&system_process, touch, toucher, 0, 0,
                                                         0, false, NULL));
}

static bool is_done(void *context)
{
    return ((struct toucher *)context)->done;
}

/* Whether toucher is done within WAIT_TICKS. */
static bool wait_for(struct toucher *toucher)
{
    return sleep_until(is_done, toucher, WAIT_TICKS);
}

/* pages committed in the attached process, stamped with generation, sent to the pagefile. */
static vaddr_t page_out_new(struct ktest *t, uint32_t pages, uint32_t generation)
{
    vaddr_t base = 0;
    uint32_t size = pages * PAGE_SIZE;

    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                                                                 MEM_RESERVE | MEM_COMMIT,
                                                                 PAGE_READWRITE, 0)))
        return 0;
    stamp(base, pages, generation);
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    for (uint32_t i = 0; i < pages; i++)
        if (!KT_EXPECT(t, MiIsPagefilePte(*MiGetPte(base + i * PAGE_SIZE, false))))
            return 0;
    return base;
}

/*
 * Two threads fault the same paged-out page at once: the first reads it, the second
 * finds the read under way and waits for it; one transfer serves both, and both see the
 * page as it was written.
 */
static void collided_fault_one_read_serves_both(struct ktest *t)
{
    skip_without_pagefile(t);
    uint32_t threads = kernel_threads_now();
    struct scratch s;
    if (!scratch_begin(t, &s, "collided"))
        return;
    vaddr_t va = page_out_new(t, 1, 71);
    uint32_t reads = MiPagefile.pages_read, collided = MmStatistics.collided_faults;
    struct toucher first, second;
    MiPagefileReadDelay = READ_DELAY;
    bool started = start_toucher(t, &first, s.process, va) &&
                   start_toucher(t, &second, s.process, va);
    KT_EXPECT(t, started && wait_for(&first) && wait_for(&second));
    MiPagefileReadDelay = 0;

    KT_EXPECT_EQ(t, STATUS_SUCCESS, first.status);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, second.status);
    KT_EXPECT_EQ(t, reads + 1, MiPagefile.pages_read);
    KT_EXPECT_EQ(t, collided + 1, MmStatistics.collided_faults);
    KT_EXPECT(t, pte_is_valid(*MiGetPte(va, false)));
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 71));
    wait_for_kernel_threads(threads);
    scratch_end(t, &s);
}

/*
 * While one thread's read is under way, another thread of the same process faults a
 * different page and is done long before: the reader let go of its working-set lock.
 */
static void reader_holds_no_lock_while_it_waits(struct ktest *t)
{
    skip_without_pagefile(t);
    uint32_t threads = kernel_threads_now();
    struct scratch s;
    if (!scratch_begin(t, &s, "unlocked"))
        return;
    vaddr_t out = page_out_new(t, 1, 72);
    vaddr_t fresh = 0;
    uint32_t size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&fresh, &size,
                 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0));
    struct toucher reader, other;
    MiPagefileReadDelay = READ_DELAY;
    bool started = start_toucher(t, &reader, s.process, out) &&
                   start_toucher(t, &other, s.process, fresh);
    KT_EXPECT(t, started && wait_for(&reader) && wait_for(&other));
    MiPagefileReadDelay = 0;

    KT_EXPECT_EQ(t, STATUS_SUCCESS, reader.status);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, other.status);
    ktest_diag(t, "the other fault ended %d ticks before the read",
               (int)(reader.finished_tick - other.finished_tick));
    KT_EXPECT(t, other.finished_tick + READ_DELAY / 2 <= reader.finished_tick);
    KT_EXPECT_EQ(t, 0, mismatches(out, 1, 72));
    wait_for_kernel_threads(threads);
    scratch_end(t, &s);
}

/*
 * A section page in the pagefile, faulted at once through views in two processes: both
 * wait for the one read its prototype names.
 */
static void collided_fault_across_processes_through_a_section(struct ktest *t)
{
    enum { PAGES = 2 };
    skip_without_pagefile(t);
    uint32_t threads = kernel_threads_now();
    struct scratch s;
    if (!scratch_begin(t, &s, "section-a"))
        return;
    struct process *other = NULL;
    struct mm_section *section = NULL;
    vaddr_t here = 0, there = 0;
    uint32_t size = 0;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(PAGES * PAGE_SIZE, PAGE_READWRITE,
                                                    SEC_COMMIT, &section));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmMapViewOfSection(section, 0, &here, &size, 0,
                                                       PAGE_READWRITE, 0, 0));
    stamp(here, PAGES, 73);
    process_detach();                   /* process_create attaches to the new process */
    KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create("section-b", true, &other));
    process_attach(s.process);
    if (other) {
        process_detach();
        process_attach(other);
        size = 0;
        KT_EXPECT_EQ(t, STATUS_SUCCESS, MmMapViewOfSection(section, 0, &there, &size, 0,
                                                           PAGE_READONLY, 0, 0));
        process_detach();
        process_attach(s.process);
    }
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    KT_EXPECT(t, MiIsPagefilePte(section->prototypes[1]));

    uint32_t reads = MiPagefile.pages_read, collided = MmStatistics.collided_faults;
    struct toucher a, b;
    MiPagefileReadDelay = READ_DELAY;
    bool started = other && there && start_toucher(t, &a, s.process, here + PAGE_SIZE) &&
                   start_toucher(t, &b, other, there + PAGE_SIZE);
    KT_EXPECT(t, started && wait_for(&a) && wait_for(&b));
    MiPagefileReadDelay = 0;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, a.status);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, b.status);
    KT_EXPECT_EQ(t, reads + 1, MiPagefile.pages_read);
    KT_EXPECT_EQ(t, collided + 1, MmStatistics.collided_faults);
    KT_EXPECT(t, pte_is_valid(section->prototypes[1]));
    KT_EXPECT_EQ(t, 0, mismatches_as(here + PAGE_SIZE, here + PAGE_SIZE, 1, 73));

    if (other) {
        process_detach();
        process_attach(other);
        KT_EXPECT_EQ(t, 0, mismatches_as(there + PAGE_SIZE, here + PAGE_SIZE, 1, 73));
        if (there)
            KT_EXPECT_EQ(t, STATUS_SUCCESS, MmUnmapViewOfSection(there));
        process_detach();
        process_discard(other);         /* it attaches to the process itself */
        process_attach(s.process);
    }
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmUnmapViewOfSection(here));
    object_dereference(&section->header);
    wait_for_kernel_threads(threads);
    scratch_end(t, &s);
}

/*
 * The read fails (a bad sector): both the reader and the thread that waited for it get
 * STATUS_IN_PAGE_ERROR, the PTE names its slot again, no frame is lost, and a later
 * touch reads the page.
 */
static void failed_read_wakes_every_waiter_with_in_page_error(struct ktest *t)
{
    skip_without_pagefile(t);
    uint32_t threads = kernel_threads_now();
    struct scratch s;
    if (!scratch_begin(t, &s, "in-page-error"))
        return;
    vaddr_t va = page_out_new(t, 1, 74);
    mmpte_t before = *MiGetPte(va, false);
    uint32_t available = MmAvailablePages(), errors = MmStatistics.in_page_errors;
    struct toucher first, second;
    MiMakePagefileSlotUnreadable(MiPagefilePteSlot(before));
    MiPagefileReadDelay = READ_DELAY;
    bool started = start_toucher(t, &first, s.process, va) &&
                   start_toucher(t, &second, s.process, va);
    KT_EXPECT(t, started && wait_for(&first) && wait_for(&second));
    MiPagefileReadDelay = 0;
    MiMakePagefileSlotUnreadable(0);

    KT_EXPECT_EQ(t, STATUS_IN_PAGE_ERROR, first.status);
    KT_EXPECT_EQ(t, STATUS_IN_PAGE_ERROR, second.status);
    KT_EXPECT_EQ(t, errors + 1, MmStatistics.in_page_errors);
    KT_EXPECT_EQ(t, before.value, MiGetPte(va, false)->value);
    KT_EXPECT_EQ(t, available, MmAvailablePages());
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 74));
    wait_for_kernel_threads(threads);
    scratch_end(t, &s);
}

/*
 * The page is decommitted while its read is under way: the frame is freed when the read
 * ends (not before: the transfer still writes it), the fault looks again and finds the
 * page reserved only, and nothing leaks.
 */
static void page_freed_while_it_is_read(struct ktest *t)
{
    skip_without_pagefile(t);
    uint32_t threads = kernel_threads_now();
    struct scratch s;
    if (!scratch_begin(t, &s, "freed-in-read"))
        return;
    vaddr_t va = page_out_new(t, 1, 75);
    struct toucher reader;
    MiPagefileReadDelay = READ_DELAY;
    KT_ASSERT(t, start_toucher(t, &reader, s.process, va));
    for (unsigned i = 0; i < WAIT_TICKS && !MiIsTransitionPte(*MiGetPte(va, false)); i++)
        scheduler_yield();
    mmpte_t reading = *MiGetPte(va, false);
    KT_EXPECT(t, MiIsTransitionPte(reading) &&
                 (MiGetPfnEntry(pte_pfn(reading))->flags & MI_PFN_READ_IN_PROGRESS));
    vaddr_t base = va;
    uint32_t size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmFreeVirtualMemory(&base, &size, MEM_DECOMMIT));
    KT_EXPECT(t, MiGetPfnEntry(pte_pfn(reading))->flags & MI_PFN_DELETED);
    KT_EXPECT(t, wait_for(&reader));
    MiPagefileReadDelay = 0;
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, reader.status);
    KT_EXPECT(t, !(MiGetPfnEntry(pte_pfn(reading))->flags &
                   (MI_PFN_READ_IN_PROGRESS | MI_PFN_DELETED)));
    wait_for_kernel_threads(threads);
    scratch_end(t, &s);
}

/*
 * The pagefile's disk never answers a read: the fault ends with STATUS_IN_PAGE_ERROR
 * after the disk's timeout, having slept meanwhile (a CPU-bound thread counted on), and
 * the page reads normally afterwards.
 */
static void lost_disk_interrupt_ends_the_fault_with_in_page_error(struct ktest *t)
{
    skip_without_pagefile(t);
    struct block_queue *queue =
        CONTAINING_RECORD(MiPagefile.disk, struct block_device, paging)->queue;
    if (!queue->has_interrupt)
        KT_SKIP(t, "the pagefile's disk moves data by polled PIO");
    struct scratch s;
    if (!scratch_begin(t, &s, "lost-interrupt"))
        return;
    vaddr_t va = page_out_new(t, 1, 76);
    mmpte_t before = *MiGetPte(va, false);
    struct spinner spinner;
    KT_ASSERT(t, start_spinner(t, &spinner));
    uint32_t saved_timeout = queue->timeout_ticks, timeouts = queue->statistics.timeouts;
    queue->timeout_ticks = SHORT_TIMEOUT;
    uint32_t counted = spinner.count;
    uint64_t start = scheduler_ticks;
    block_inject_lost_interrupt(queue);
    KT_EXPECT_EQ(t, STATUS_IN_PAGE_ERROR, MmAccessFault(va, MM_ACCESS_READ, false));
    uint64_t waited = scheduler_ticks - start;
    uint32_t spun = spinner.count - counted;
    queue->timeout_ticks = saved_timeout;
    ktest_diag(t, "the fault failed after %u ticks; a CPU-bound thread counted %u meanwhile",
               (uint32_t)waited, spun);
    KT_EXPECT(t, waited >= SHORT_TIMEOUT);
    KT_EXPECT(t, spun > 0);
    KT_EXPECT_EQ(t, timeouts + 1, queue->statistics.timeouts);
    KT_EXPECT_EQ(t, before.value, MiGetPte(va, false)->value);
    KT_EXPECT_EQ(t, 0, mismatches(va, 1, 76));
    stop_spinner(&spinner);
    scratch_end(t, &s);
}

/*
 * A CPU-bound process keeps running while another pages heavily: counter.exe counts on
 * while this thread faults hundreds of pages back from the pagefile (each fault asleep
 * while its read is under way), and the clock loses no ticks meanwhile -- the ticks
 * counted match the time the TSC measured, as they could not if paging held interrupts
 * off for its transfers. The margin is wide: under an emulator sharing a loaded host, a
 * stall of the whole virtual machine loses ticks too (a few percent when the host is
 * quiet, a fifth seen when two test boots share two cores).
 */
static void cpu_bound_process_runs_while_another_pages(struct ktest *t)
{
    enum { PAGES = 1024 };
    struct watched_counter w;
    struct resources before;
    struct process *pager;
    skip_without_pagefile(t);
    if (!have_module(t, "counter.exe"))
        KT_SKIP(t, "counter.exe not loaded");
    if (!cpu_features.tsc_hz)
        KT_SKIP(t, "no TSC to measure the time by");
    take_snapshot(&before);
    KT_ASSERT(t, start_watched_counter(t, &w));
    if (KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create("heavy-paging", true, &pager))) {
        process_attach(pager);
        vaddr_t va = page_out_new(t, PAGES, 77);
        uint32_t reads = MiPagefile.pages_read, counted = w.page->count;
        uint64_t ticks = scheduler_ticks, tsc = cpu_read_tsc();
        KT_EXPECT_EQ(t, 0, va ? mismatches(va, PAGES, 77) : PAGES);
        uint64_t elapsed_tsc = cpu_read_tsc() - tsc;
        uint32_t ticks_counted = (uint32_t)(scheduler_ticks - ticks);
        uint32_t ticks_expected = (uint32_t)(elapsed_tsc * PIT_HZ / cpu_features.tsc_hz);
        uint32_t progress = w.page->count - counted;
        ktest_diag(t, "%u pages read in %u ms (TSC): %u clock ticks counted of %u; "
                   "counter.exe counted %u meanwhile", MiPagefile.pages_read - reads,
                   (uint32_t)(elapsed_tsc * 1000 / cpu_features.tsc_hz), ticks_counted,
                   ticks_expected, progress);
        KT_EXPECT(t, MiPagefile.pages_read - reads >= PAGES);
        KT_EXPECT(t, progress > 0);
        KT_EXPECT(t, ticks_counted * 2 >= ticks_expected);
        process_detach();
        process_discard(pager);
    }
    stop_watched_counter(t, &w);
    expect_nothing_leaked(t, &before);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(collided_fault_one_read_serves_both),
    KTEST_CASE(reader_holds_no_lock_while_it_waits),
    KTEST_CASE(collided_fault_across_processes_through_a_section),
    KTEST_CASE(failed_read_wakes_every_waiter_with_in_page_error),
    KTEST_CASE(page_freed_while_it_is_read),
    KTEST_CASE(lost_disk_interrupt_ends_the_fault_with_in_page_error),
    KTEST_CASE(cpu_bound_process_runs_while_another_pages),
};

KTEST_SUITE(inpage_suite, "inpage", cases);
