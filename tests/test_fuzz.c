/*
 * The system services under a stream of seeded hostile calls: fuzz.exe (tests/user/)
 * checks that each status is one its service returns and exits with the number that
 * were not. Around it: a process the fuzzers cannot reach keeps its memory word for
 * word, and afterwards every frame, pool block and page of commit charge is back. One
 * seed run twice makes the same calls, so a failure can be replayed from its seed. Two
 * more runs race the calls for their buffers, and make allocations fail under them.
 * Without the program (a boot module) the cases are skipped, not passed.
 */
#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "boot/boot_info.h"
#include "kernel/usercopy.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/inject.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "tests/program_harness.h"
#include "tests/user/fuzz_race.h"

#define FUZZ_PROGRAM    "fuzz.exe"
#define FUZZ_CALLS      10000       /* one fuzzer alone (fuzzcalls=N sets it) */
#define FUZZ_CALLS_MAX  10000000

#define REPEAT_CALLS    2000        /* each of two runs of one seed */
#define CANARY_SIZE     0x10000
#define CANARY_SEED     0xCA9A7E55u

/*
 * The calls of the lone fuzzer (each of the pair makes half): fuzzcalls=N on the command
 * line, FUZZ_CALLS without it. The main pagefile boot of `make test` asks for 100,000.
 */
static unsigned fuzz_calls(void)
{
    struct cmdline_word word;
    uint32_t n;

    if (!cmdline_find(kernel_boot_info.command_line, "fuzzcalls", &word) ||
        !cmdline_value_u32(&word, &n) || n < 2 || n > FUZZ_CALLS_MAX)
        return FUZZ_CALLS;
    return n;
}

/* A process with no thread and a 64 KB pattern that nothing may change. */
struct canary {
    struct process *process;
    vaddr_t base;
    uint32_t checksum;
};

static uint32_t pattern_next(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Writes the pattern into the canary (fill) or reads it back; a checksum of what is there. */
static uint32_t canary_pass(struct canary *canary, bool fill)
{
    uint32_t words[64], state = CANARY_SEED, checksum = 0;

    process_attach(canary->process);
    for (vaddr_t at = canary->base; at < canary->base + CANARY_SIZE; at += sizeof(words)) {
        for (unsigned i = 0; fill && i < ARRAY_SIZE(words); i++)
            words[i] = pattern_next(&state);
        ntstatus_t status = fill ? user_copy_to(at, words, sizeof(words))
                                 : user_copy_from(words, at, sizeof(words));
        if (!NT_SUCCESS(status))
            memset(words, 0, sizeof(words));
        for (unsigned i = 0; i < ARRAY_SIZE(words); i++)
            checksum = ((checksum << 5) | (checksum >> 27)) ^ words[i];
    }
    process_detach();
    return checksum;
}

static bool canary_plant(struct ktest *t, struct canary *canary)
{
    uint32_t size = CANARY_SIZE;

    canary->base = 0;
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create("canary", false, &canary->process)))
        return false;
    process_attach(canary->process);
    ntstatus_t status = MmAllocateVirtualMemory(&canary->base, &size, MEM_RESERVE | MEM_COMMIT,
                                                PAGE_READWRITE, 0);
    process_detach();
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, status)) {
        process_discard(canary->process);
        return false;
    }
    canary->checksum = canary_pass(canary, true);
    KT_EXPECT_EQ(t, canary->checksum, canary_pass(canary, false));
    return true;
}

/* The canary is as it was planted; then it goes. */
static void canary_check_and_discard(struct ktest *t, struct canary *canary)
{
    if (!KT_EXPECT_EQ(t, canary->checksum, canary_pass(canary, false)))
        ktest_diag(t, "the canary's 64 KB at 0x%08x changed", canary->base);
    process_discard(canary->process);
}

/* "SEED CALLS MODE", fuzz.exe's arguments. */
static void fuzzer_arguments(char *text, size_t size, uint32_t seed, unsigned calls,
                             const char *mode)
{
    ksnprintf(text, size, "0x%08x %u %s", seed, calls, mode);
}

static void expect_no_unexpected_status(struct ktest *t, uint32_t seed, ntstatus_t status)
{
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, status))
        ktest_diag(t, "fuzz.exe 0x%08x ended with 0x%08x: a count of unexpected statuses, or "
                   "how it failed; the seed replays it", seed, (uint32_t)status);
}

/* Runs fuzzers, one per seed, all at once, beside a canary; nothing may leak. */
static void fuzz_beside_canary(struct ktest *t, const uint32_t *seeds, unsigned count,
                               unsigned calls, const char *mode)
{
    struct program_run fuzzers[2];
    struct resources before;
    struct canary canary;

    if (!have_module(t, FUZZ_PROGRAM))
        KT_SKIP(t, FUZZ_PROGRAM " not loaded");
    KT_ASSERT(t, count <= ARRAY_SIZE(fuzzers));
    take_snapshot(&before);
    if (!canary_plant(t, &canary))
        return;
    for (unsigned i = 0; i < count; i++) {
        fuzzers[i].program = FUZZ_PROGRAM;
        fuzzer_arguments(fuzzers[i].arguments, sizeof(fuzzers[i].arguments), seeds[i], calls,
                         mode);
    }
    run_programs(fuzzers, count);
    for (unsigned i = 0; i < count; i++)
        expect_no_unexpected_status(t, seeds[i], fuzzers[i].status);
    canary_check_and_discard(t, &canary);
    expect_nothing_leaked(t, &before);
}

/*
 * The fuzzer again while every 61st frame and every 53rd pool allocation fails: the
 * services must still answer with statuses they document, and a fault that finds no
 * frame must reclaim memory and go through (as on NT), so that the fuzzer runs its
 * whole length; nothing leaks. Whether a failed frame falls inside a fault depends on
 * the stream: short runs go on with the next seeds until one does (four at most).
 */
static void hostile_calls_with_allocations_failing(struct ktest *t)
{
    enum { SEED = 0x5EED0005, SEEDS = 4, FRAME_PERIOD = 61, POOL_PERIOD = 53 };
    struct resources before;
    struct canary canary;
    char arguments[48];
    uint32_t frames = 0, pool = 0, retries = MmStatistics.fault_retries;

    if (!have_module(t, FUZZ_PROGRAM))
        KT_SKIP(t, FUZZ_PROGRAM " not loaded");
    take_snapshot(&before);
    if (!canary_plant(t, &canary))
        return;
    for (uint32_t seed = SEED; seed < SEED + SEEDS && retries == MmStatistics.fault_retries;
         seed++) {
        fuzzer_arguments(arguments, sizeof(arguments), seed, fuzz_calls() / 4, "");
        MiFrameInjection = (struct mi_fault_injection){FRAME_PERIOD, 0, FRAME_PERIOD};
        MiPoolInjection = (struct mi_fault_injection){POOL_PERIOD, 0, POOL_PERIOD};
        ntstatus_t status = run_program(FUZZ_PROGRAM, arguments, NULL);
        frames += MiFrameInjection.fired;
        pool += MiPoolInjection.fired;
        MiFrameInjection = MiPoolInjection = (struct mi_fault_injection){0, 0, 0};
        expect_no_unexpected_status(t, seed, status);
        ktest_diag(t, "fuzz 0x%08x with failures: fuzz.exe ended with 0x%08x", seed,
                   (uint32_t)status);
    }
    retries = MmStatistics.fault_retries - retries;
    ktest_diag(t, "fuzz with failures: %u frame and %u pool allocations failed, %u faults "
               "were tried again and went through", frames, pool, retries);
    KT_EXPECT(t, frames > 0 && pool > 0 && retries > 0);
    canary_check_and_discard(t, &canary);
    expect_nothing_leaked(t, &before);
}

static void hostile_calls_get_documented_statuses(struct ktest *t)
{
    static const uint32_t seeds[] = {0x5EED0001};

    fuzz_beside_canary(t, seeds, ARRAY_SIZE(seeds), fuzz_calls(), "");
}

static void two_fuzzers_at_once(struct ktest *t)
{
    static const uint32_t seeds[] = {0x5EED0002, 0x5EED0003};

    fuzz_beside_canary(t, seeds, ARRAY_SIZE(seeds), fuzz_calls() / 2, "");
}

/*
 * The race inside the calls. The racer thread of fuzz.exe (tests/user/fuzz_race.c)
 * changes its pages inside another thread's call only when the clock preempts that
 * thread there, which is rare. A thread on another processor could change them at any
 * moment, the worst
 * being between a service's probe of a buffer and its copy, or between two reads of
 * one input. race_inside_copy, run there by every user copy, plays that thread: when a
 * copy touches a fuzzer's racer pages it changes one of the pages under it, one time
 * in two, as the racer would: an input page from zeros to ones or back (the only
 * values the fuzzer lets the kernel read there), a decommit, no access, a guard, read-
 * only, or its view unmapped.
 */
static struct {
    uint32_t random_state;
    uint32_t copies;            /* copies that touched the racer's pages */
    uint32_t flips, decommits, protections, unmaps;
} race;

static uint32_t race_next(void)
{
    return pattern_next(&race.random_state);
}

/* Turns the input page at page from all zeros to all ones or back, if it can be written. */
static bool race_flip(vaddr_t page)
{
    uint32_t words[64], value;

    if (arch_copy_checked(&value, (const void *)page, sizeof(value)) != 0)
        return false;
    memset(words, value ? 0 : 0xFF, sizeof(words));
    for (vaddr_t at = page; at < page + PAGE_SIZE; at += sizeof(words))
        if (arch_copy_checked((void *)at, words, sizeof(words)) != 0)
            return false;
    return true;
}

static void race_inside_copy(vaddr_t address, size_t length)
{
    static const uint32_t protections[] = {PAGE_NOACCESS, PAGE_READWRITE | PAGE_GUARD,
                                           PAGE_READONLY};
    vaddr_t last = address + length - 1;

    /* Only a process's own racer pages; not while attached, nor with interrupts off. */
    if (last < FUZZ_RACE_IN || address >= FUZZ_RACE_END || !cpu_interrupts_enabled() ||
        KeGetCurrentIrql() >= DISPATCH_LEVEL ||
        MmCurrentAddressSpace() != &process_current()->space)
        return;
    race.copies++;
    if (race_next() % 2)
        return;
    vaddr_t first = MAX(address, FUZZ_RACE_IN), end = MIN(last, FUZZ_RACE_END - 1);
    vaddr_t page = (first + race_next() % (end - first + 1)) & ~(vaddr_t)(PAGE_SIZE - 1);
    uint32_t size = PAGE_SIZE, old;
    vaddr_t base = page;

    switch (race_next() % 3) {
    case 0:
        if (page < FUZZ_RACE_OUT)
            race.flips += race_flip(page);
        else if (page >= FUZZ_RACE_VIEW)
            race.unmaps += NT_SUCCESS(MmUnmapViewOfSection(FUZZ_RACE_VIEW));
        break;
    case 1:
        if (page < FUZZ_RACE_VIEW)
            race.decommits += NT_SUCCESS(MmFreeVirtualMemory(&base, &size, MEM_DECOMMIT));
        break;
    default:
        race.protections += NT_SUCCESS(MmProtectVirtualMemory(
            &base, &size, protections[race_next() % ARRAY_SIZE(protections)], &old));
        break;
    }
}

/*
 * Two fuzzers, each with its racer thread, and the race inside their calls: statuses
 * as documented, the canary untouched, nothing leaked, and the race really run.
 */
static void fuzzers_race_for_their_buffers(struct ktest *t)
{
    static const uint32_t seeds[] = {0x5EED0006, 0x5EED0007};

    if (!have_module(t, FUZZ_PROGRAM))
        KT_SKIP(t, FUZZ_PROGRAM " not loaded");
    race = (typeof(race)){.random_state = 0x7ACE0001};
    user_copy_race = race_inside_copy;
    fuzz_beside_canary(t, seeds, ARRAY_SIZE(seeds), fuzz_calls() / 4, "race");
    user_copy_race = NULL;
    ktest_diag(t, "race inside the calls: %u copies touched racer pages; %u inputs flipped, "
               "%u pages decommitted, %u reprotected, %u views unmapped under them",
               race.copies, race.flips, race.decommits, race.protections, race.unmaps);
    KT_EXPECT(t, race.flips > 0 && race.decommits > 0 && race.protections > 0);
}

/* With `report` the exit status counts the calls that succeeded: one seed, one count. */
static void same_seed_makes_same_calls(struct ktest *t)
{
    const uint32_t seed = 0x5EED0004;
    struct resources before;
    char arguments[48];

    if (!have_module(t, FUZZ_PROGRAM))
        KT_SKIP(t, FUZZ_PROGRAM " not loaded");
    take_snapshot(&before);
    fuzzer_arguments(arguments, sizeof(arguments), seed, REPEAT_CALLS, "report");
    ntstatus_t first = run_program(FUZZ_PROGRAM, arguments, NULL);
    ntstatus_t second = run_program(FUZZ_PROGRAM, arguments, NULL);
    if (!KT_EXPECT(t, first > 0 && first <= 0xFFFF))
        ktest_diag(t, "fuzz.exe %s ended with 0x%08x", arguments, (uint32_t)first);
    KT_EXPECT_EQ(t, first, second);
    expect_nothing_leaked(t, &before);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(hostile_calls_get_documented_statuses),
    KTEST_CASE(two_fuzzers_at_once),
    KTEST_CASE(same_seed_makes_same_calls),
    KTEST_CASE(fuzzers_race_for_their_buffers),
    KTEST_CASE(hostile_calls_with_allocations_failing),
};

KTEST_SUITE(fuzz_suite, "fuzz", cases);
