/*
 * Fault injection: each path the kernel takes for a process (making an address space,
 * committing and touching memory, sections and copy-on-write, starting a program,
 * paging out and in) and each system service (services.exe calling every one) is run
 * again and again with its 1st, 2nd, 3rd, ... frame or pool allocation made to fail
 * (and, for paging on a boot with a pagefile, its disk transfers), until a run makes
 * no more than that. Every run must end in an error status (or a process ending with
 * one) or in success, with no panic, and with every frame, pool block, page of commit
 * and pagefile slot back where it was.
 */
#include "arch/copy_checked.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/trap.h"
#include "kernel/syscall.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/inject.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/workset.h"
#include "tests/program_harness.h"

#define MAX_STEPS 400       /* more allocations than any path here makes */

enum injected { FRAMES, POOL, DISK };

static const char *const injected_names[] = {"frame", "pool", "disk"};

/* ---- the paths ---- */

/* A process's address space, made and unmade. */
static ntstatus_t path_address_space(void)
{
    struct process *process;
    ntstatus_t status = process_create("inject", true, &process);

    if (NT_SUCCESS(status))
        process_discard(process);
    return status;
}

/* Writes one word to each of pages pages at va in the current space; the first failure. */
static ntstatus_t touch(vaddr_t va, uint32_t pages)
{
    for (uint32_t i = 0; i < pages; i++) {
        uint32_t value = i;
        if (arch_copy_checked((void *)(va + i * PAGE_SIZE), &value, sizeof(value)) != 0)
            return STATUS_NO_MEMORY;
    }
    return STATUS_SUCCESS;
}

/* pages pages reserved and committed in the current space, each touched; *base: where. */
static ntstatus_t allocate_touched(uint32_t pages, vaddr_t *base)
{
    uint32_t size = pages * PAGE_SIZE;
    ntstatus_t status;

    *base = 0;
    status = MmAllocateVirtualMemory(base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0);
    return NT_SUCCESS(status) ? touch(*base, pages) : status;
}

static void release(vaddr_t base)
{
    uint32_t size = 0;

    if (base)
        MmFreeVirtualMemory(&base, &size, MEM_RELEASE);
}

/* Runs body in a fresh process, attached; the process goes whatever body did. */
static ntstatus_t in_process(ntstatus_t (*body)(void))
{
    struct process *process;
    ntstatus_t status = process_create("inject", true, &process);

    if (!NT_SUCCESS(status))
        return status;
    process_attach(process);
    status = body();
    process_detach();
    process_discard(process);
    return status;
}

/* 64 KB reserved and committed, every page touched (a page table and 16 faults), freed. */
static ntstatus_t commit_touch_free(void)
{
    vaddr_t base;
    ntstatus_t status = allocate_touched(16, &base);

    release(base);
    return status;
}

static ntstatus_t path_commit_touch_free(void)
{
    return in_process(commit_touch_free);
}

/* A section, a shared view and a copy-on-write view, both written, both unmapped. */
static ntstatus_t section_views(void)
{
    struct mm_section *section;
    vaddr_t shared = 0, copy = 0;
    uint32_t size = 0;
    ntstatus_t status = MmCreateSection(4 * PAGE_SIZE, PAGE_READWRITE, SEC_COMMIT, &section);

    if (!NT_SUCCESS(status))
        return status;
    status = MmMapViewOfSection(section, 0, &shared, &size, 0, PAGE_READWRITE, 0, 0);
    if (NT_SUCCESS(status)) {
        size = 0;
        status = MmMapViewOfSection(section, 0, &copy, &size, 0, PAGE_WRITECOPY, 0, 0);
    }
    if (NT_SUCCESS(status))
        status = touch(shared, 4);
    if (NT_SUCCESS(status))
        status = touch(copy, 4);     /* each write copies the page */
    if (copy)
        MmUnmapViewOfSection(copy);
    if (shared)
        MmUnmapViewOfSection(shared);
    object_dereference(&section->header);
    return status;
}

static ntstatus_t path_section_views(void)
{
    return in_process(section_views);
}

/* hello.exe started and run to its end: a failure ends it, or keeps it from starting. */
static ntstatus_t path_start_program(void)
{
    return run_program("hello.exe", "", NULL);
}

/* Eight pages out to the pagefile and back in (a boot with a pagefile only). */
static ntstatus_t page_out_and_in(void)
{
    vaddr_t base;
    ntstatus_t status = allocate_touched(8, &base);

    if (!base)
        return status;
    MiTrimWorkingSet(0, false);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
    MiPurgeStandbyPages(MmStandbyPageListHead.count);
    for (uint32_t i = 0; i < 8 && NT_SUCCESS(status); i++) {
        uint32_t value;
        if (arch_copy_checked(&value, (const void *)(base + i * PAGE_SIZE), 4) != 0)
            status = STATUS_IN_PAGE_ERROR;
        else if (value != i)
            status = STATUS_DATA_ERROR;     /* a page came back wrong: the case fails */
    }
    release(base);
    return status;
}

static ntstatus_t path_page_out_and_in(void)
{
    return in_process(page_out_and_in);
}

/*
 * A fault that finds no frame is tried again (reclaiming memory first only when it is
 * short, which it is not here): one failure is
 * survived, with the page there; when no frame can be had at all, the fault fails with
 * STATUS_NO_MEMORY after its one retry, and nothing is left half done.
 */
static void fault_without_frame_is_retried(struct ktest *t)
{
    struct resources before;
    struct process *process;
    vaddr_t base;

    take_snapshot(&before);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("inject", true, &process));
    process_attach(process);
    uint32_t size = 3 * PAGE_SIZE, value = 0x5A5A5A5A;
    base = 0;
    ntstatus_t status = MmAllocateVirtualMemory(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                                PAGE_READWRITE, 0);
    if (NT_SUCCESS(status))
        status = touch(base, 1);            /* its page table comes now */
    uint32_t retries = MmStatistics.fault_retries;
    MiFrameInjection = (struct mi_fault_injection){1, 0, 0};
    if (NT_SUCCESS(status))
        status = touch(base + PAGE_SIZE, 1);
    uint32_t fired = MiFrameInjection.fired;
    MiFrameInjection = (struct mi_fault_injection){1, 0, 1};    /* every one, from now */
    bool failed = arch_copy_checked((void *)(base + 2 * PAGE_SIZE), &value, 4) != 0;
    ntstatus_t exhausted = trap_last_recovered_fault()->status;
    MiFrameInjection = (struct mi_fault_injection){0, 0, 0};
    release(base);
    process_detach();
    process_discard(process);
    expect_nothing_leaked(t, &before);

    KT_EXPECT_EQ(t, STATUS_SUCCESS, status);
    KT_EXPECT_EQ(t, 1, fired);
    KT_EXPECT(t, failed);
    KT_EXPECT_EQ(t, STATUS_NO_MEMORY, exhausted);
    KT_EXPECT_EQ(t, 2, MmStatistics.fault_retries - retries);
}

/* ---- stepping through the allocations ---- */

static struct mi_fault_injection *const injections[] = {
    [FRAMES] = &MiFrameInjection, [POOL] = &MiPoolInjection, [DISK] = &MiPagefileInjection,
};

static void arm(enum injected what, uint32_t step)
{
    *injections[what] = (struct mi_fault_injection){step, 0, 0};
}

/* Turns injection off; whether a failure was made. */
static bool disarm(enum injected what)
{
    bool fired = injections[what]->fired;

    *injections[what] = (struct mi_fault_injection){0, 0, 0};
    return fired;
}

/*
 * Runs path with its step-th allocation (or disk transfer) of what failing, for
 * step = 1, 2, ... until a run completes with no failure made. Every run: a status,
 * nothing leaked.
 */
static void step_through(struct ktest *t, const char *name, ntstatus_t (*path)(void),
                         enum injected what)
{
    uint32_t failures = 0, errors = 0;
    ntstatus_t clean = STATUS_UNSUCCESSFUL;

    for (uint32_t step = 1; step <= MAX_STEPS; step++) {
        struct resources before;
        take_snapshot(&before);
        arm(what, step);
        ntstatus_t status = path();
        bool fired = disarm(what);
        expect_nothing_leaked(t, &before);
        if (!KT_EXPECT(t, status != STATUS_DATA_ERROR))
            ktest_diag(t, "%s: a page came back wrong with failure %u", name, step);
        if (!fired) {
            clean = status;
            break;
        }
        failures++;
        errors += !NT_SUCCESS(status);
    }
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, (uint32_t)clean))
        ktest_diag(t, "%s without injected failures ended with 0x%08x", name,
                   (uint32_t)clean);
    ktest_diag(t, "%s: %u %s failures injected one by one, %u ended in an error status, "
               "the rest recovered; nothing leaked", name, failures, injected_names[what],
               errors);
}

static void address_space_survives_failures(struct ktest *t)
{
    step_through(t, "address space", path_address_space, FRAMES);
    step_through(t, "address space", path_address_space, POOL);
}

static void commit_and_touch_survive_failures(struct ktest *t)
{
    step_through(t, "commit, touch, free", path_commit_touch_free, FRAMES);
    step_through(t, "commit, touch, free", path_commit_touch_free, POOL);
}

static void sections_survive_failures(struct ktest *t)
{
    step_through(t, "section views", path_section_views, FRAMES);
    step_through(t, "section views", path_section_views, POOL);
}

static void program_start_survives_failures(struct ktest *t)
{
    if (!have_module(t, "hello.exe"))
        KT_SKIP(t, "hello.exe not loaded");
    step_through(t, "start hello.exe", path_start_program, FRAMES);
    step_through(t, "start hello.exe", path_start_program, POOL);
}

static void paging_survives_failures(struct ktest *t)
{
    if (!MiPagefile.present)
        KT_SKIP(t, "no pagefile on this boot");
    step_through(t, "page out and in", path_page_out_and_in, FRAMES);
    step_through(t, "page out and in", path_page_out_and_in, POOL);
    step_through(t, "page out and in", path_page_out_and_in, DISK);
}

/* ---- every system service ---- */

/*
 * services.exe (tests/user/) calls every service in a working order, and ends. The
 * observer counts the calls its process makes, arms the injection as the n-th begins,
 * and disarms it as that call returns or, for a call that ends its thread, as the next
 * call of anyone begins. A call that blocks (a wait) keeps it armed while others run:
 * what fails for them then is theirs to survive too.
 */
_Static_assert(NT_SERVICE_COUNT <= 32, "a service is a bit of services_called");

static struct {
    uint32_t call;              /* the call to fail in, counting from 1 */
    enum injected what;
    uint32_t step;
    struct process *program;    /* the first caller of the run: services.exe itself */
    uint32_t calls;             /* the calls it has made */
    uint32_t service;           /* the service of the n-th */
    uint32_t services_called;   /* BIT(service) of every service it called */
    bool armed, fired, returned;
    ntstatus_t status;          /* what the n-th call returned */
} singled;

static void disarm_singled(void)
{
    singled.fired = disarm(singled.what);
    singled.armed = false;
}

static void observe_call(uint32_t number, bool returning, ntstatus_t status)
{
    if (!singled.program)
        singled.program = process_current();
    if (!returning && singled.armed)
        disarm_singled();           /* the armed call ended its thread */
    if (process_current() != singled.program)
        return;
    if (!returning)
        singled.services_called |= 1u << number;
    if (!returning && ++singled.calls == singled.call) {
        singled.service = number;
        singled.armed = true;
        arm(singled.what, singled.step);
    } else if (returning && singled.armed) {
        disarm_singled();
        singled.returned = true;
        singled.status = status;
    }
}

static const char *const service_names[NT_SERVICE_COUNT] = {
    [NT_SERVICE_TERMINATE_PROCESS] = "NtTerminateProcess",
    [NT_SERVICE_YIELD_EXECUTION] = "NtYieldExecution",
    [NT_SERVICE_DISPLAY_STRING] = "NtDisplayString",
    [NT_SERVICE_QUERY_SYSTEM_INFORMATION] = "NtQuerySystemInformation",
    [NT_SERVICE_CREATE_PROCESS_FROM_MODULE] = "NtCreateProcessFromModule",
    [NT_SERVICE_WAIT_FOR_SINGLE_OBJECT] = "NtWaitForSingleObject",
    [NT_SERVICE_QUERY_INFORMATION_PROCESS] = "NtQueryInformationProcess",
    [NT_SERVICE_SET_INFORMATION_PROCESS] = "NtSetInformationProcess",
    [NT_SERVICE_CLOSE] = "NtClose",
    [NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY] = "NtAllocateVirtualMemory",
    [NT_SERVICE_FREE_VIRTUAL_MEMORY] = "NtFreeVirtualMemory",
    [NT_SERVICE_PROTECT_VIRTUAL_MEMORY] = "NtProtectVirtualMemory",
    [NT_SERVICE_QUERY_VIRTUAL_MEMORY] = "NtQueryVirtualMemory",
    [NT_SERVICE_SET_EXCEPTION_HANDLER] = "NtSetExceptionHandler",
    [NT_SERVICE_CONTINUE] = "NtContinue",
    [NT_SERVICE_CREATE_SECTION] = "NtCreateSection",
    [NT_SERVICE_MAP_VIEW_OF_SECTION] = "NtMapViewOfSection",
    [NT_SERVICE_UNMAP_VIEW_OF_SECTION] = "NtUnmapViewOfSection",
    [NT_SERVICE_TEST_ALERT] = "NtTestAlert",
    [NT_SERVICE_CREATE_THREAD] = "NtCreateThread",
    [NT_SERVICE_TERMINATE_THREAD] = "NtTerminateThread",
    [NT_SERVICE_DELAY_EXECUTION] = "NtDelayExecution",
    [NT_SERVICE_OPEN_PROCESS] = "NtOpenProcess",
    [NT_SERVICE_DUPLICATE_OBJECT] = "NtDuplicateObject",
    [NT_SERVICE_READ_VIRTUAL_MEMORY] = "NtReadVirtualMemory",
    [NT_SERVICE_WRITE_VIRTUAL_MEMORY] = "NtWriteVirtualMemory",
    [NT_SERVICE_LOCK_VIRTUAL_MEMORY] = "NtLockVirtualMemory",
    [NT_SERVICE_UNLOCK_VIRTUAL_MEMORY] = "NtUnlockVirtualMemory",
    [NT_SERVICE_GET_WRITE_WATCH] = "NtGetWriteWatch",
    [NT_SERVICE_RESET_WRITE_WATCH] = "NtResetWriteWatch",
};

/* What the stepping made, by service. */
struct service_tally {
    uint32_t failures[NT_SERVICE_COUNT][2];     /* [service][FRAMES or POOL] */
    uint32_t errors;                            /* failures answered with an error status */
    uint32_t services_called;                   /* BIT(service) of those called in any run */
};

/*
 * Runs services.exe with the step-th allocation of what inside its call-th call
 * failing, for step = 1, 2, ... until a run makes no failure. Every run: services.exe
 * sees only success or want of memory (its exit status 0), and nothing leaks. False
 * when the program made fewer than call calls: there is no such call.
 */
static bool step_through_call(struct ktest *t, uint32_t call, enum injected what,
                              struct service_tally *tally)
{
    for (uint32_t step = 1; step <= MAX_STEPS; step++) {
        struct resources before;
        take_snapshot(&before);
        singled = (typeof(singled)){.call = call, .what = what, .step = step};
        syscall_observer = observe_call;
        ntstatus_t status = run_program("services.exe", "", NULL);
        syscall_observer = NULL;
        if (singled.armed)
            disarm_singled();
        expect_nothing_leaked(t, &before);
        tally->services_called |= singled.services_called;
        if (singled.calls < call)
            return false;
        if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, status))
            ktest_diag(t, "call %u (%s), %s failure %u: services.exe ended with 0x%08x", call,
                       service_names[singled.service], injected_names[what], step,
                       (uint32_t)status);
        if (!singled.fired)
            break;
        tally->failures[singled.service][what]++;
        tally->errors += singled.returned && !NT_SUCCESS(singled.status);
    }
    return true;
}

static void every_service_survives_failures(struct ktest *t)
{
    enum { MAX_CALLS = 200 };
    struct service_tally tally = {0};
    uint32_t frames = 0, pool = 0, calls = 0, services = 0, allocating = 0;

    if (!have_module(t, "services.exe"))
        KT_SKIP(t, "services.exe not loaded");
    for (uint32_t call = 1; call <= MAX_CALLS; call++) {
        if (!step_through_call(t, call, FRAMES, &tally))
            break;
        step_through_call(t, call, POOL, &tally);
        calls++;
    }
    for (uint32_t service = 0; service < NT_SERVICE_COUNT; service++) {
        if (!service_names[service])
            continue;       /* a number no service has yet */
        const uint32_t *failed = tally.failures[service];
        bool called = tally.services_called >> service & 1;
        services += called;
        allocating += failed[FRAMES] + failed[POOL] > 0;
        frames += failed[FRAMES];
        pool += failed[POOL];
        if (failed[FRAMES] + failed[POOL])
            ktest_diag(t, "%s: %u frame and %u pool failures", service_names[service],
                       failed[FRAMES], failed[POOL]);
        if (!KT_EXPECT(t, called))
            ktest_diag(t, "services.exe never called %s", service_names[service]);
    }
    ktest_diag(t, "every service: %u calls to %u services stepped, %u of them allocate; %u "
               "frame and %u pool failures injected one by one, %u answered with an error "
               "status, the rest recovered; nothing leaked", calls, services, allocating,
               frames, pool, tally.errors);
    KT_EXPECT(t, calls < MAX_CALLS && frames > 0 && pool > 0);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(fault_without_frame_is_retried),
    KTEST_CASE(address_space_survives_failures),
    KTEST_CASE(commit_and_touch_survive_failures),
    KTEST_CASE(sections_survive_failures),
    KTEST_CASE(program_start_survives_failures),
    KTEST_CASE(paging_survives_failures),
    KTEST_CASE(every_service_survives_failures),
};

KTEST_SUITE(inject_suite, "inject", cases);
