/*
 * The soak: process churn for a fixed number of iterations. Each iteration starts
 * pagestress.exe twice (private and views, sizes drawn from a seeded generator, together
 * often more than a small machine's RAM) and hello.exe, waits for all three, and checks
 * they ended well. Every SOAK_HEARTBEAT iterations a heartbeat line gives the tick, and
 * the isolation audit runs; at the end every frame, pool block, page of commit and
 * pagefile slot must be back, and the longest gap between heartbeats is reported.
 *
 * It runs only when soak=N is on the command line (N iterations): `make test` runs a
 * short soak in a boot of its own, `make soak` a long one.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/pit.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/format.h"
#include "kernel/thread.h"
#include "mm/mi.h"
#include "tests/program_harness.h"

#define SOAK_HEARTBEAT  4
#define SOAK_MAX_PAGES  3000    /* the most one pagestress.exe stamps */
#define SOAK_MIN_PAGES  64

/* N of soak=N on the command line; 0 when it is missing or not a number. */
static uint32_t soak_iterations(void)
{
    struct cmdline_word word;
    uint32_t n = 0;

    if (!cmdline_find(kernel_boot_info.command_line, "soak", &word) || !word.has_value)
        return 0;
    for (size_t i = 0; i < word.value_length; i++) {
        if (word.value[i] < '0' || word.value[i] > '9' || n >= 10000000)
            return 0;
        n = n * 10 + (uint32_t)(word.value[i] - '0');
    }
    return n;
}

/*
 * Milliseconds since boot: by the TSC where there is one (the timer does not tick while
 * paging I/O runs with interrupts off), else by the timer's ticks.
 */
static uint64_t now_ms(void)
{
    if (cpu_features.tsc_hz)
        return cpu_read_tsc() / (cpu_features.tsc_hz / 1000);
    return scheduler_ticks * 1000 / PIT_HZ;
}

/* xorshift32: the sizes, reproducible from the seed printed. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static void process_churn(struct ktest *t)
{
    enum { SEED = 0x50A4C0DE };
    uint32_t iterations = soak_iterations(), random = SEED, failures = 0, violations = 0;
    uint64_t stamped = 0, last_beat = now_ms(), longest_gap = 0;
    struct resources before;

    if (iterations == 0)
        KT_SKIP(t, "no soak=N on the command line");
    if (!have_module(t, "pagestress.exe") || !have_module(t, "hello.exe"))
        KT_SKIP(t, "pagestress.exe or hello.exe not loaded");
    ktest_diag(t, "soak: %u iterations, seed 0x%08x", iterations, SEED);
    take_snapshot(&before);
    uint32_t written = MiPagefile.pages_written, read = MiPagefile.pages_read;
    for (uint32_t i = 1; i <= iterations; i++) {
        struct program_run runs[3] = {{.program = "pagestress.exe"},
                                      {.program = "pagestress.exe"},
                                      {.program = "hello.exe"}};
        uint32_t a = SOAK_MIN_PAGES + next_random(&random) % (SOAK_MAX_PAGES - SOAK_MIN_PAGES);
        uint32_t b = SOAK_MIN_PAGES + next_random(&random) % (SOAK_MAX_PAGES / 3);
        ksnprintf(runs[0].arguments, sizeof(runs[0].arguments), "%u %u 2 private", 2 * i, a);
        ksnprintf(runs[1].arguments, sizeof(runs[1].arguments), "%u %u 2 views", 2 * i + 1, b);
        runs[2].arguments[0] = '\0';
        unsigned bad = run_programs(runs, 3);
        failures += bad;
        for (unsigned r = 0; r < 3 && bad; r++)
            if (runs[r].status != STATUS_SUCCESS)
                ktest_diag(t, "soak: iteration %u: %s %s ended with 0x%08x", i,
                           runs[r].program, runs[r].arguments, (uint32_t)runs[r].status);
        stamped += 2 * (uint64_t)a + 2 * (uint64_t)b * 3;
        if (i % SOAK_HEARTBEAT == 0 || i == iterations) {
            struct mi_audit audit;
            MiAuditAddressSpaces(&audit);
            violations += audit.violations;
            uint64_t now = now_ms();
            longest_gap = MAX(longest_gap, now - last_beat);
            last_beat = now;
            ktest_diag(t, "soak: heartbeat: iteration %u of %u at %llu ms; %u free pages, "
                       "%u standby, %u modified, pagefile %u slots in use", i, iterations,
                       (unsigned long long)now, MmAvailablePages(), MmStandbyPageListHead.count,
                       MmModifiedPageListHead.count, MiPagefile.slots_in_use);
        }
    }
    KT_EXPECT_EQ(t, 0, failures);
    KT_EXPECT_EQ(t, 0, violations);
    expect_nothing_leaked(t, &before);
    ktest_diag(t, "soak: %u iterations, %u processes, about %llu page stamps; %u pages "
               "written to the pagefile, %u read; audit violations %u; longest heartbeat "
               "gap %llu ms; leaks checked at the end", iterations, 3 * iterations,
               (unsigned long long)stamped, MiPagefile.pages_written - written,
               MiPagefile.pages_read - read, violations, (unsigned long long)longest_gap);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(process_churn),
};

KTEST_SUITE(soak_suite, "soak", cases);
