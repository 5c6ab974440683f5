/*
 * The pagestress workload (tests/user/pagestress.c): processes that stamp every page they
 * own, generation after generation, and check each stamp when they come back to it, all
 * at once, so that a page the memory manager loses, mixes up or leaves stale (evicting
 * it, paging it out and in) ends a program with a mismatch. Each case sizes a workload
 * from the commit limit and runs it with run_workload; a boot with a pagefile can add
 * cases that commit more than RAM the same way. Afterwards every frame, pool block and
 * page of commit charge must be back. Without the program (a boot module) the cases are
 * skipped, not passed.
 */
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/virtual.h"
#include "tests/program_harness.h"

#define PAGESTRESS_PROGRAM  "pagestress.exe"
#define PRIVATE_WORKERS     4           /* and one in views mode */
#define WORKLOAD_WORKERS    (PRIVATE_WORKERS + 1)
#define WORKLOAD_GENERATIONS 4
/*
 * The most a workload commits on a boot without a pagefile: the emulator is slow and the
 * kernel zeroes every page, so big-RAM boots stamp this much, not half their RAM.
 */
#define WORKLOAD_MAX_PAGES  8192
/* What the refused process may still commit to start (image, stack) before it asks. */
#define BEYOND_HEADROOM     1024
#define BEYOND_EXCESS       16
/* Three times RAM is stamped on boots with at most this much RAM (32 MB). */
#define THREE_TIMES_RAM_MAX_PAGES 8192
#define THREE_TIMES_RAM_GENERATIONS 3

/* The page stamps one worker writes and checks, counted as pagestress.c does. */
struct stamp_counts {
    uint64_t written, checked;
};

static void count_private(struct stamp_counts *c, uint32_t pages, uint32_t generations)
{
    c->written += (uint64_t)pages * generations;
    c->checked += (uint64_t)pages * generations;
}

/* A views worker: A writes and checks, B and C check every generation, C writes once. */
static void count_views(struct stamp_counts *c, uint32_t pages, uint32_t generations)
{
    uint32_t even = (pages + 1) / 2;

    c->written += (uint64_t)pages * generations + even;
    c->checked += (uint64_t)pages * generations + 2 * (uint64_t)pages * (generations + 1) + even;
    count_private(c, pages / 2, generations);
}

/*
 * Runs PRIVATE_WORKERS pagestress processes in private mode and one in views mode at
 * once, committing about commit_pages between them (each an equal share; a views worker
 * commits 2.5 times its size: the section, its copy-on-write view, half of it private),
 * each stamping generations generations. Every one must exit 0 (or, if may_be_refused,
 * STATUS_COMMITMENT_LIMIT), and nothing may leak. Returns how many were refused.
 */
static unsigned run_workload(struct ktest *t, uint32_t commit_pages, uint32_t generations,
                             bool may_be_refused)
{
    unsigned refused = 0;
    struct program_run runs[WORKLOAD_WORKERS];
    struct stamp_counts counts = {0, 0};
    struct resources before;
    uint32_t share = MAX(commit_pages / WORKLOAD_WORKERS, 2u);
    uint32_t private_pages = share, view_pages = MAX(share * 2 / 5, 2u);

    take_snapshot(&before);
    for (unsigned i = 0; i < WORKLOAD_WORKERS; i++) {
        bool views = i == PRIVATE_WORKERS;
        runs[i].program = PAGESTRESS_PROGRAM;
        ksnprintf(runs[i].arguments, sizeof(runs[i].arguments), "%u %u %u %s", i + 1,
                  views ? view_pages : private_pages, generations, views ? "views" : "private");
    }
    ktest_diag(t, "%u x %u private pages and %u in views, %u generations; commit %u of %u "
               "pages before", PRIVATE_WORKERS, private_pages, view_pages, generations,
               MmTotalCommittedPages, MmTotalCommitLimit);
    run_programs(runs, WORKLOAD_WORKERS);
    for (unsigned i = 0; i < WORKLOAD_WORKERS; i++) {
        if (may_be_refused && runs[i].status == STATUS_COMMITMENT_LIMIT) {
            refused++;
            continue;
        }
        if (i == PRIVATE_WORKERS)
            count_views(&counts, view_pages, generations);
        else
            count_private(&counts, private_pages, generations);
        if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, (uint32_t)runs[i].status))
            ktest_diag(t, "pagestress.exe %s ended with 0x%08x", runs[i].arguments,
                       (uint32_t)runs[i].status);
    }
    if (refused)
        ktest_diag(t, "%u of %u processes refused with STATUS_COMMITMENT_LIMIT", refused,
                   WORKLOAD_WORKERS);
    ktest_diag(t, "%llu page stamps written, %llu checked", (unsigned long long)counts.written,
               (unsigned long long)counts.checked);
    expect_nothing_leaked(t, &before);
    return refused;
}

/* About half the commit limit, so that it all fits in RAM without a pagefile. */
static void workload_within_ram(struct ktest *t)
{
    if (!have_module(t, PAGESTRESS_PROGRAM))
        KT_SKIP(t, PAGESTRESS_PROGRAM " not loaded");
    run_workload(t, MIN(MmTotalCommitLimit / 2, (uint32_t)WORKLOAD_MAX_PAGES),
                 WORKLOAD_GENERATIONS, false);
}

/*
 * Three times RAM, committed and stamped at once: with a pagefile every page must come
 * back from it intact (page-outs and page-ins counted and reported); without one the
 * same workload is refused with STATUS_COMMITMENT_LIMIT, cleanly, by the processes
 * that would pass the limit.
 */
static void workload_three_times_ram(struct ktest *t)
{
    if (!have_module(t, PAGESTRESS_PROGRAM))
        KT_SKIP(t, PAGESTRESS_PROGRAM " not loaded");
    if (MmNumberOfPhysicalPages > THREE_TIMES_RAM_MAX_PAGES)
        KT_SKIP(t, "RAM too big to stamp three times over in the emulator");
    uint32_t written = MiPagefile.pages_written, read = MiPagefile.pages_read;
    uint32_t transitions = MmStatistics.transition_faults;
    uint32_t reads = MmStatistics.pagefile_read_faults;
    unsigned refused = run_workload(t, 3 * MmNumberOfPhysicalPages, THREE_TIMES_RAM_GENERATIONS,
                                    !MiPagefile.present);
    ktest_diag(t, "pages written to the pagefile %u, read back %u; faults: %u transition, "
               "%u from the pagefile; pagefile peak %u of %u slots",
               MiPagefile.pages_written - written, MiPagefile.pages_read - read,
               MmStatistics.transition_faults - transitions,
               MmStatistics.pagefile_read_faults - reads, MiPagefile.peak_slots_in_use,
               MiPagefile.present ? MiPagefile.slot_count - 1 : 0);
    if (MiPagefile.present) {
        KT_EXPECT(t, MiPagefile.pages_written - written > 0);
        KT_EXPECT(t, MiPagefile.pages_read - read > 0);
        KT_EXPECT(t, MmStatistics.transition_faults - transitions > 0);
    } else {
        KT_EXPECT(t, refused > 0);
    }
}

/*
 * One process asking for 16 pages more than the commit left gets STATUS_COMMITMENT_LIMIT
 * and ends with it, leaving nothing behind. The case holds all but BEYOND_HEADROOM pages
 * of what is left itself, so that on a big-RAM boot the commit limit, not the size of a
 * user address space, is what refuses.
 */
static void workload_beyond_commit_limit_refused(struct ktest *t)
{
    struct resources before;
    uint32_t held = 0;
    char arguments[48];

    if (!have_module(t, PAGESTRESS_PROGRAM))
        KT_SKIP(t, PAGESTRESS_PROGRAM " not loaded");
    take_snapshot(&before);
    uint32_t left = MmTotalCommitLimit - MmTotalCommittedPages;
    if (left > BEYOND_HEADROOM)
        KT_ASSERT(t, MiChargeCommitment(&held, left - BEYOND_HEADROOM));
    left = MmTotalCommitLimit - MmTotalCommittedPages;
    ksnprintf(arguments, sizeof(arguments), "%u %u 1 private", WORKLOAD_WORKERS + 1,
              left + BEYOND_EXCESS);
    ntstatus_t status = run_program(PAGESTRESS_PROGRAM, arguments, NULL);
    if (!KT_EXPECT_EQ(t, STATUS_COMMITMENT_LIMIT, status))
        ktest_diag(t, "pagestress.exe %s ended with 0x%08x", arguments, (uint32_t)status);
    if (held)
        MiReturnCommitment(&held, held);
    expect_nothing_leaked(t, &before);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(workload_within_ram),
    KTEST_CASE(workload_beyond_commit_limit_refused),
    KTEST_CASE(workload_three_times_ram),
};

KTEST_SUITE(pagestress_suite, "pagestress", cases);
