/*
 * bench.exe [partner N | exit]
 *
 * The user-mode half of `make bench` (scripts/bench.py; the kernel's `bench` boot option
 * starts it after measuring its own floors). Without arguments it times each operation
 * from ring 3 with RDTSC, in batches: a sample is the ticks of a batch of operations
 * divided by their number, so the timing code stays outside what it times. Warm-up
 * batches come first, then SAMPLES samples. Around each timed batch (outside the ticks)
 * it reads the kernel's event counters, and prints per operation, counters times 100:
 *     bench: NAME iterations=N median=M min=X cr3=C invlpg=I flush=F faults=P
 * then "bench: done". A benchmark that fails prints "bench: error: NAME: ..." instead of
 * its line. Exit status: the number of benchmarks that failed.
 *
 * "partner N" yields N times, then exits 0: the other process of switch-process.
 * "exit" exits 0 at once: the process that process-start starts.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define WARMUP_BATCHES  3
#define SAMPLES         31          /* odd: the median is one of them */

#define PAGE_BYTES          0x1000u
#define REGION_BYTES        0x10000u            /* 64 KB: 16 pages */
#define DEMAND_ZERO_BYTES   0x100000u           /* 1 MB: 256 pages */

/* Operations per batch: enough that two RDTSC and the loop are noise beside them. */
#define BATCH_INTERRUPT     100
#define BATCH_YIELDS        100     /* each yield is two switches: there and back */
#define BATCH_DEMAND_ZERO   (DEMAND_ZERO_BYTES / PAGE_BYTES)
#define BATCH_ALLOCATE      50
#define BATCH_ALLOCATE_TOUCH 20
#define BATCH_MAP_VIEW      50
#define BATCH_PROCESS_START 5

/* The partner outlasts every yield of ours, with a batch to spare for timer preemption. */
#define PARTNER_YIELDS      ((WARMUP_BATCHES + SAMPLES + 1) * BATCH_YIELDS)
/* Yields to wait for the partner thread's end: it needs at most its own count. */
#define THREAD_WAIT_YIELDS  (4 * PARTNER_YIELDS)

#define TEXT_CHARS          64

/* The counters that go with each operation, summed over the timed batches. */
struct events {
    uint32_t cr3_loads, invlpg, full_flushes, page_faults;
};

struct measurement {
    const char *name;
    bool per_switch;                    /* the operation is a context switch, counted */
    unsigned int batches;               /* run so far, warm-up included */
    uint32_t per_operation[SAMPLES];    /* ticks per operation, one per sample */
    uint32_t operations;                /* in the samples, warm-up excluded */
    struct events events;
    const char *failure;                /* what failed first, or NULL */
    ntstatus_t failed_status;           /* its status; STATUS_SUCCESS if it has none */
};

/* A batch being timed: the counters just before it and the TSC at its start. */
struct window {
    struct nt_system_counter_information counters;
    uint64_t start;
};

struct benchmark {
    const char *name;
    void (*run)(struct measurement *m);
    bool per_switch;
};

/* Ring 3 may read the TSC: the kernel leaves CR4.TSD clear. Under icount it counts
 * guest instructions. */
static inline uint64_t read_tsc(void)
{
    uint32_t low, high;

    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (uint64_t)high << 32 | low;
}

static void fail(struct measurement *m, const char *what, ntstatus_t status)
{
    if (!m->failure) {
        m->failure = what;
        m->failed_status = status;
    }
}

/* Records call's failure unless status is a success; for a batch, status is the OR of
 * its calls' statuses, which is negative if any of them was. */
static void check(struct measurement *m, const char *call, ntstatus_t status)
{
    if (!NT_SUCCESS(status))
        fail(m, call, status);
}

/* Whether to run another batch. */
static bool measuring(const struct measurement *m)
{
    return !m->failure && m->batches < WARMUP_BATCHES + SAMPLES;
}

static void read_counters(struct measurement *m, struct nt_system_counter_information *counters)
{
    check(m, "NtQuerySystemInformation(counters)",
          NtQuerySystemInformation(NT_SYSTEM_COUNTER_INFORMATION, counters,
                                   sizeof(*counters), NULL));
}

/*
 * Gives the machine a moment of idle time, untimed, as a real one has between bursts
 * of work: the idle thread zeroes free pages ahead of need then, which is the page a
 * demand-zero fault (or a new page table) is meant to find.
 */
static void idle_pause(void)
{
    const int64_t two_milliseconds = -20000;
    NtDelayExecution(0, &two_milliseconds);
}

static void window_open(struct measurement *m, struct window *w)
{
    if (!m->per_switch)
        idle_pause();
    read_counters(m, &w->counters);
    w->start = read_tsc();
}

/*
 * Ends the batch w began, of operations operations (for a per-switch measurement, the
 * context switches counted instead), and keeps it as a sample unless it warmed up.
 */
static void window_close(struct measurement *m, const struct window *w, uint32_t operations)
{
    uint64_t ticks = read_tsc() - w->start;
    struct nt_system_counter_information after;

    read_counters(m, &after);
    if (m->failure)
        return;
    const struct nt_system_counter_information *before = &w->counters;
    uint32_t switches = after.context_switches - before->context_switches;
    if (m->per_switch)
        operations = switches;
    if (operations == 0) {
        fail(m, "a batch without context switches", STATUS_SUCCESS);
        return;
    }
    if (m->batches++ < WARMUP_BATCHES)
        return;
    uint64_t per_operation = (ticks + operations / 2) / operations;
    m->per_operation[m->batches - 1 - WARMUP_BATCHES] =
        per_operation > UINT32_MAX ? UINT32_MAX : (uint32_t)per_operation;
    m->operations += operations;
    m->events.cr3_loads += after.cr3_loads - before->cr3_loads;
    m->events.invlpg += after.invlpg - before->invlpg;
    m->events.full_flushes += after.full_tlb_flushes - before->full_tlb_flushes;
    m->events.page_faults += after.page_faults - before->page_faults;
}

static void sort(uint32_t *values, unsigned int count)
{
    for (unsigned int i = 1; i < count; i++) {
        uint32_t v = values[i];
        unsigned int j = i;
        for (; j > 0 && values[j - 1] > v; j--)
            values[j] = values[j - 1];
        values[j] = v;
    }
}

/* count per operation, times 100, rounded. */
static uint32_t hundredths(uint32_t count, uint32_t operations)
{
    return (uint32_t)(((uint64_t)count * 100 + operations / 2) / operations);
}

/* Prints m's line, or its failure; returns whether it ran. */
static bool report(struct measurement *m)
{
    if (m->failure && m->failed_status == STATUS_SUCCESS) {
        rt_printf("bench: error: %s: %s\n", m->name, m->failure);
        return false;
    }
    if (m->failure) {
        rt_printf("bench: error: %s: %s failed with status 0x%08x\n", m->name, m->failure,
                  (unsigned int)m->failed_status);
        return false;
    }
    sort(m->per_operation, SAMPLES);
    rt_printf("bench: %s iterations=%u median=%u min=%u cr3=%u invlpg=%u flush=%u faults=%u\n",
              m->name, m->operations, m->per_operation[SAMPLES / 2], m->per_operation[0],
              hundredths(m->events.cr3_loads, m->operations),
              hundredths(m->events.invlpg, m->operations),
              hundredths(m->events.full_flushes, m->operations),
              hundredths(m->events.page_faults, m->operations));
    return true;
}

/* --- The benchmarks --- */

/*
 * The floor and the null service are timed as the same one-instruction loop body, so
 * that their difference is the kernel's system-service path alone (a stub's call and
 * argument set-up would add to one and not the other).
 */
static void bench_interrupt_floor(struct measurement *m)
{
    struct window w;

    while (measuring(m)) {
        window_open(m, &w);
        for (unsigned int i = 0; i < BATCH_INTERRUPT; i++)
            __asm__ volatile("int %[vector]" : : [vector] "i"(NT_NULL_INTERRUPT_VECTOR)
                             : "memory");
        window_close(m, &w, BATCH_INTERRUPT);
    }
}

static void bench_null_syscall(struct measurement *m)
{
    struct window w;

    while (measuring(m)) {
        ntstatus_t failed = STATUS_SUCCESS;
        window_open(m, &w);
        for (unsigned int i = 0; i < BATCH_INTERRUPT; i++) {
            ntstatus_t status;
            /* NtTestAlert takes no arguments, so EDX (the argument pointer) is not read. */
            __asm__ volatile("int %[vector]"
                             : "=a"(status)
                             : [vector] "i"(NT_SYSCALL_VECTOR), "a"(NT_SERVICE_TEST_ALERT)
                             : "memory");
            failed |= status;
        }
        window_close(m, &w, BATCH_INTERRUPT);
        check(m, "NtTestAlert", failed);
    }
}

/* Yields in timed batches; each batch's operations are the context switches counted. */
static void yield_batches(struct measurement *m)
{
    struct window w;

    while (measuring(m)) {
        ntstatus_t failed = STATUS_SUCCESS;
        window_open(m, &w);
        for (unsigned int i = 0; i < BATCH_YIELDS; i++)
            failed |= NtYieldExecution();
        window_close(m, &w, 0);
        check(m, "NtYieldExecution", failed);
    }
}

/* Starts this program's module with command line "NAME arguments". */
static ntstatus_t start_self(nt_handle_t *process, const char *arguments)
{
    unsigned short module_text[TEXT_CHARS], command_text[TEXT_CHARS];
    struct nt_unicode_string module, command_line;
    char line[TEXT_CHARS];

    rt_snprintf(line, sizeof(line), "%s %s", rt_program_name, arguments);
    rt_unicode_from_ascii(&module, module_text, TEXT_CHARS, rt_program_name);
    rt_unicode_from_ascii(&command_line, command_text, TEXT_CHARS, line);
    return NtCreateProcessFromModule(process, &module, &command_line);
}

/* Waits for process, checks that it exited 0, and closes its handle. */
static void finish_child(struct measurement *m, nt_handle_t process)
{
    struct nt_process_basic_information info;

    check(m, "NtWaitForSingleObject(child)", NtWaitForSingleObject(process, 0, NULL));
    ntstatus_t status = NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, &info,
                                                  sizeof(info), NULL);
    check(m, "NtQueryInformationProcess(child)", status);
    if (NT_SUCCESS(status) && info.exit_status != STATUS_SUCCESS)
        fail(m, "the child", info.exit_status);
    check(m, "NtClose(child)", NtClose(process));
}

static void bench_switch_process(struct measurement *m)
{
    char arguments[TEXT_CHARS];
    nt_handle_t partner;

    rt_snprintf(arguments, sizeof(arguments), "partner %u", PARTNER_YIELDS);
    ntstatus_t status = start_self(&partner, arguments);
    if (!NT_SUCCESS(status)) {
        fail(m, "NtCreateProcessFromModule(partner)", status);
        return;
    }
    yield_batches(m);
    finish_child(m, partner);
}

struct partner_thread {
    uint32_t yields;
    volatile bool done;
};

static void partner_thread_start(void *argument)
{
    struct partner_thread *partner = argument;

    for (uint32_t i = 0; i < partner->yields; i++)
        NtYieldExecution();
    partner->done = true;
    for (;;)
        NtTerminateThread(NT_CURRENT_THREAD, STATUS_SUCCESS);
}

static void bench_switch_thread(struct measurement *m)
{
    static struct partner_thread partner = {.yields = PARTNER_YIELDS};

    ntstatus_t status = NtCreateThread(partner_thread_start, &partner);
    if (!NT_SUCCESS(status)) {
        fail(m, "NtCreateThread", status);
        return;
    }
    yield_batches(m);
    unsigned int waited = 0;
    while (!partner.done && waited++ < THREAD_WAIT_YIELDS)
        NtYieldExecution();
    if (!partner.done)
        fail(m, "the partner thread never finished", STATUS_SUCCESS);
    /* Once more, should a timer tick have come between its flag and its end. */
    NtYieldExecution();
}

static void bench_demand_zero(struct measurement *m)
{
    struct window w;

    while (measuring(m)) {
        uint32_t base = 0, size = DEMAND_ZERO_BYTES;
        ntstatus_t status = rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                           PAGE_READWRITE);
        if (!NT_SUCCESS(status)) {
            fail(m, "NtAllocateVirtualMemory(1 MB)", status);
            return;
        }
        volatile uint8_t *region = (volatile uint8_t *)base;
        window_open(m, &w);
        for (uint32_t i = 0; i < BATCH_DEMAND_ZERO; i++)
            region[i * PAGE_BYTES] = 1;
        window_close(m, &w, BATCH_DEMAND_ZERO);
        check(m, "NtFreeVirtualMemory(1 MB)", rt_vm_release(base));
    }
}

/* Reserve and commit 64 KB anywhere, write to its first touch_pages pages, release. */
static inline void allocate_batches(struct measurement *m, uint32_t batch, uint32_t touch_pages)
{
    struct window w;

    while (measuring(m)) {
        ntstatus_t failed = STATUS_SUCCESS;
        window_open(m, &w);
        for (uint32_t i = 0; i < batch; i++) {
            void *base = NULL;
            size_t size = REGION_BYTES;
            ntstatus_t status = NtAllocateVirtualMemory(NT_CURRENT_PROCESS, &base, 0, &size,
                                                        MEM_RESERVE | MEM_COMMIT,
                                                        PAGE_READWRITE);
            if (!NT_SUCCESS(status)) {
                failed = status;
                break;
            }
            for (uint32_t page = 0; page < touch_pages; page++)
                ((volatile uint8_t *)base)[page * PAGE_BYTES] = 1;
            size = 0;
            failed |= NtFreeVirtualMemory(NT_CURRENT_PROCESS, &base, &size, MEM_RELEASE);
        }
        window_close(m, &w, batch);
        check(m, "NtAllocateVirtualMemory or NtFreeVirtualMemory", failed);
    }
}

static void bench_allocate(struct measurement *m)
{
    allocate_batches(m, BATCH_ALLOCATE, 0);
}

static void bench_allocate_touch(struct measurement *m)
{
    allocate_batches(m, BATCH_ALLOCATE_TOUCH, REGION_BYTES / PAGE_BYTES);
}

static void bench_map_view(struct measurement *m)
{
    int64_t maximum_size = REGION_BYTES;
    nt_handle_t section;
    struct window w;

    ntstatus_t status = rt_syscall(NT_SERVICE_CREATE_SECTION, &section, SECTION_ALL_ACCESS, NULL,
                                   &maximum_size, PAGE_READWRITE, SEC_COMMIT, 0);
    if (!NT_SUCCESS(status)) {
        fail(m, "NtCreateSection", status);
        return;
    }
    while (measuring(m)) {
        ntstatus_t failed = STATUS_SUCCESS;
        window_open(m, &w);
        for (uint32_t i = 0; i < BATCH_MAP_VIEW; i++) {
            uint32_t base = 0, view_size = 0;
            int64_t offset = 0;
            failed |= rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, NT_CURRENT_PROCESS,
                                 &base, 0, 0, &offset, &view_size, VIEW_SHARE, 0,
                                 PAGE_READWRITE);
            failed |= rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, base);
        }
        window_close(m, &w, BATCH_MAP_VIEW);
        check(m, "NtMapViewOfSection or NtUnmapViewOfSection", failed);
    }
    check(m, "NtClose(section)", NtClose(section));
}

static void bench_process_start(struct measurement *m)
{
    unsigned short module_text[TEXT_CHARS], command_text[TEXT_CHARS];
    struct nt_unicode_string module, command_line;
    char line[TEXT_CHARS];
    nt_handle_t child;
    struct window w;

    /* Once untimed, to check that the child really runs and exits 0. */
    ntstatus_t status = start_self(&child, "exit");
    if (!NT_SUCCESS(status)) {
        fail(m, "NtCreateProcessFromModule", status);
        return;
    }
    finish_child(m, child);

    rt_snprintf(line, sizeof(line), "%s exit", rt_program_name);
    rt_unicode_from_ascii(&module, module_text, TEXT_CHARS, rt_program_name);
    rt_unicode_from_ascii(&command_line, command_text, TEXT_CHARS, line);
    while (measuring(m)) {
        ntstatus_t failed = STATUS_SUCCESS;
        window_open(m, &w);
        for (uint32_t i = 0; i < BATCH_PROCESS_START; i++) {
            failed |= NtCreateProcessFromModule(&child, &module, &command_line);
            failed |= NtWaitForSingleObject(child, 0, NULL);
            failed |= NtClose(child);
        }
        window_close(m, &w, BATCH_PROCESS_START);
        check(m, "NtCreateProcessFromModule, NtWaitForSingleObject or NtClose", failed);
    }
}

static const struct benchmark benchmarks[] = {
    {"int-iret-floor", bench_interrupt_floor, false},
    {"null-syscall", bench_null_syscall, false},
    {"switch-process", bench_switch_process, true},
    {"switch-thread", bench_switch_thread, true},
    {"demand-zero", bench_demand_zero, false},
    {"alloc-64k", bench_allocate, false},
    {"alloc-64k-touch", bench_allocate_touch, false},
    {"map-view-64k", bench_map_view, false},
    {"process-start", bench_process_start, false},
};

static int run_benchmarks(void)
{
    int failures = 0;

    for (size_t i = 0; i < sizeof(benchmarks) / sizeof(benchmarks[0]); i++) {
        struct measurement m = {
            .name = benchmarks[i].name,
            .per_switch = benchmarks[i].per_switch,
        };
        benchmarks[i].run(&m);
        if (!report(&m))
            failures++;
    }
    rt_printf("bench: done\n");
    return failures;
}

static int run_partner(const char *count)
{
    uint32_t yields;

    if (!rt_parse_u32(count, &yields))
        return (int)USER_STATUS_USAGE;
    for (uint32_t i = 0; i < yields; i++)
        NtYieldExecution();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return run_benchmarks();
    if (argc == 3 && rt_streq(argv[1], "partner"))
        return run_partner(argv[2]);
    if (argc == 2 && rt_streq(argv[1], "exit"))
        return 0;
    rt_printf("usage: %s [partner N | exit]\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
