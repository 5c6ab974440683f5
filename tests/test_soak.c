/*
 * The soak: process churn for a fixed number of iterations. Each iteration starts
 * pagestress.exe twice (private and views, sizes drawn from a seeded generator, together
 * often more than a small machine's RAM) and hello.exe, runs the isolation audit every
 * AUDIT_TICKS while they run, and checks they ended well. Each iteration's end is a
 * heartbeat (a line every HEARTBEAT_LINE_EVERY); at the end every frame, pool block,
 * page of commit and pagefile slot must be back, and the longest gap between heartbeats
 * is reported.
 *
 * It runs only when soak=N is on the command line (N iterations): `make test` runs a
 * short soak in a boot of its own, `make soak` a long one.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/pit.h"
#include "boot/boot_info.h"
#include "kernel/thread.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "mm/audit.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "tests/program_harness.h"

#define SOAK_PROCESSES  3
#define AUDIT_TICKS     20      /* between two audits while an iteration runs */
#define HEARTBEAT_LINE_EVERY 4  /* iterations between two heartbeat lines */
/*
 * The private pagestress.exe stamps 2,000 to 8,000 pages, the views one 500 to 2,500
 * (and commits 2.5 times that): together, as often as not, more than 32 MB of RAM holds.
 */
#define PRIVATE_MIN_PAGES 2000
#define PRIVATE_SPREAD    6000
#define VIEWS_MIN_PAGES   500
#define VIEWS_SPREAD      2000

/* N of soak=N on the command line; 0 when it is missing or not a number. */
static uint32_t soak_iterations(void)
{
    struct cmdline_word word;
    uint32_t n;

    if (!cmdline_find(kernel_boot_info.command_line, "soak", &word) ||
        !cmdline_value_u32(&word, &n))
        return 0;
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
    uint32_t audits = 0;
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
        static const char *const programs[SOAK_PROCESSES] = {"pagestress.exe",
                                                             "pagestress.exe", "hello.exe"};
        char arguments[SOAK_PROCESSES][48] = {{0}};
        struct process *running[SOAK_PROCESSES];
        uint32_t a = PRIVATE_MIN_PAGES + next_random(&random) % PRIVATE_SPREAD;
        uint32_t b = VIEWS_MIN_PAGES + next_random(&random) % VIEWS_SPREAD;
        ksnprintf(arguments[0], sizeof(arguments[0]), "%u %u 2 private", 2 * i, a);
        ksnprintf(arguments[1], sizeof(arguments[1]), "%u %u 2 views", 2 * i + 1, b);
        for (unsigned r = 0; r < SOAK_PROCESSES; r++) {
            ntstatus_t status = start_program(programs[r], arguments[r], &running[r]);
            if (!NT_SUCCESS(status)) {
                running[r] = NULL;
                failures++;
                ktest_diag(t, "soak: iteration %u: %s %s did not start: 0x%08x", i,
                           programs[r], arguments[r], (uint32_t)status);
            }
        }
        /* Audits while the processes run, between their steps (the kernel waits here). */
        for (unsigned r = 0; r < SOAK_PROCESSES; r++) {
            if (!running[r])
                continue;
            while (process_wait(running[r], AUDIT_TICKS) == STATUS_TIMEOUT) {
                struct mi_audit audit;
                MiAuditAddressSpaces(&audit);
                violations += audit.violations;
                audits++;
            }
            if (running[r]->exit_status != STATUS_SUCCESS) {
                failures++;
                ktest_diag(t, "soak: iteration %u: %s %s ended with 0x%08x", i, programs[r],
                           arguments[r], (uint32_t)running[r]->exit_status);
            }
            object_dereference(&running[r]->header);
        }
        stamped += 2 * (uint64_t)a + 2 * (uint64_t)b * 3;
        uint64_t now = now_ms();
        longest_gap = MAX(longest_gap, now - last_beat);
        last_beat = now;
        if (i % HEARTBEAT_LINE_EVERY == 0 || i == iterations)
            ktest_diag(t, "soak: heartbeat: iteration %u of %u at %llu ms; %u audits so far; "
                       "%u free pages, %u standby, %u modified, pagefile %u slots in use; "
                       "%u faults retried", i, iterations, (unsigned long long)now, audits,
                       MmAvailablePages(), MmStandbyPageListHead.count,
                       MmModifiedPageListHead.count, MiPagefile.slots_in_use,
                       MmStatistics.fault_retries);
    }
    KT_EXPECT_EQ(t, 0, failures);
    KT_EXPECT_EQ(t, 0, violations);
    expect_nothing_leaked(t, &before);
    ktest_diag(t, "soak: %u iterations, %u processes, about %llu page stamps; %u pages "
               "written to the pagefile, %u read; %u audits, violations %u; longest "
               "heartbeat gap (one iteration) %llu ms; leaks checked at the end", iterations,
               SOAK_PROCESSES * iterations, (unsigned long long)stamped,
               MiPagefile.pages_written - written, MiPagefile.pages_read - read, audits,
               violations, (unsigned long long)longest_gap);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(process_churn),
};

KTEST_SUITE(soak_suite, "soak", cases);
