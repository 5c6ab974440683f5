/*
 * The racer. In `race` mode a second thread of fuzz.exe keeps changing the memory that
 * the calls' P_RACE_IN and P_RACE_OUT pointers point into (tests/user/fuzz_race.h):
 * it decommits and recommits pages, reprotects them (no access, read-only, guard, read-
 * write again), and maps and unmaps a view of its own section in the view window. It
 * never reads or writes those pages itself, so nothing it does can fault in user mode,
 * and a committed input page can only hold zeros (or the ones the kernel's side of the
 * test puts there).
 *
 * This kernel does not preempt a thread inside a call, so the racer's changes land
 * between the main thread's calls, a few at each quantum; the fuzz suite's hook
 * (tests/test_fuzz.c) lands the same changes inside the calls, between a probe and its
 * copy, where a thread on another processor could. Either way each status must still be
 * one the service documents. The run no longer repeats from its seed, which is why the
 * race is a mode of its own.
 */
#include "tests/user/fuzz.h"

#define BURST           4           /* changes between yields */
#define RACER_SEED      0x7ACE7ACEu
#define VIEW_SIZE       (FUZZ_RACE_END - FUZZ_RACE_VIEW)

bool racing;
nt_handle_t race_section;

static struct {
    volatile bool stop;             /* set by the main thread */
    volatile bool stopped;          /* set by the racer as its last act */
    volatile uint32_t stack;        /* an address on the racer's stack */
    bool view_mapped;
    uint32_t random_state;
    uint32_t decommits, commits, protections, maps, unmaps, refused;
} racer;

static uint32_t racer_random(void)
{
    racer.random_state ^= racer.random_state << 13;
    racer.random_state ^= racer.random_state >> 17;
    racer.random_state ^= racer.random_state << 5;
    return racer.random_state;
}

static void count(ntstatus_t status, uint32_t *done)
{
    if (status == STATUS_SUCCESS)
        (*done)++;
    else
        racer.refused++;
}

static ntstatus_t map_view(void)
{
    uint32_t base = FUZZ_RACE_VIEW, size = 0;
    int64_t offset = 0;

    return rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, race_section, NT_CURRENT_PROCESS, &base,
                      0, 0, &offset, &size, VIEW_SHARE, 0, PAGE_READWRITE);
}

/*
 * One change to one or two pages of the racer's reservation, or to its view. The view is
 * unmapped only when this thread mapped it: the calls may have mapped something of
 * their own in the window while it was free.
 */
static void change_something(void)
{
    static const uint32_t protections[] = {PAGE_NOACCESS, PAGE_READONLY,
                                           PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE};
    uint32_t base = FUZZ_RACE_IN + racer_random() % (2 * FUZZ_RACE_PAGES) * PAGE;
    uint32_t size = (1 + racer_random() % 2) * PAGE, old;

    switch (racer_random() % 8) {
    case 0:
    case 1:
        count(rt_vm_free(&base, &size, MEM_DECOMMIT), &racer.decommits);
        break;
    case 2:
    case 3:
        count(rt_vm_allocate(&base, &size, MEM_COMMIT, PAGE_READWRITE), &racer.commits);
        break;
    case 4:
    case 5:
        count(rt_vm_protect(&base, &size, protections[racer_random() % COUNT_OF(protections)],
                            &old),
              &racer.protections);
        break;
    default:
        if (!racer.view_mapped) {
            ntstatus_t status = map_view();
            racer.view_mapped = status == STATUS_SUCCESS;
            count(status, &racer.maps);
        } else {
            count(rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS,
                             FUZZ_RACE_VIEW),
                  &racer.unmaps);
            racer.view_mapped = false;
        }
        break;
    }
}

static void racer_main(void *argument)
{
    (void)argument;
    racer.stack = (uint32_t)(uintptr_t)&argument;
    while (!racer.stop) {
        for (int i = 0; i < BURST; i++)
            change_something();
        NtYieldExecution();
    }
    if (racer.view_mapped)
        rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, FUZZ_RACE_VIEW);
    racer.stopped = true;
    for (;;)
        NtTerminateThread(NT_CURRENT_THREAD, STATUS_SUCCESS);
}

bool race_start(void)
{
    uint32_t base = FUZZ_RACE_IN, size = FUZZ_RACE_VIEW - FUZZ_RACE_IN;
    int64_t section_size = VIEW_SIZE;

    racer.random_state = RACER_SEED;
    if (rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) !=
        STATUS_SUCCESS)
        return false;
    if (rt_syscall(NT_SERVICE_CREATE_SECTION, &race_section, SECTION_ALL_ACCESS, NULL,
                   &section_size, PAGE_READWRITE, SEC_COMMIT, 0) != STATUS_SUCCESS)
        return false;
    if (NtCreateThread(racer_main, NULL) != STATUS_SUCCESS)
        return false;
    /* Its stack must be there before the books are opened: wait for it to run. */
    while (!racer.stack)
        NtYieldExecution();
    return true;
}

void race_stop(void)
{
    struct nt_memory_basic_information info;

    racer.stop = true;
    while (!racer.stopped)
        NtYieldExecution();
    while (rt_vm_query(racer.stack, &info) == STATUS_SUCCESS && info.state != MEM_FREE)
        NtYieldExecution();
    if (racer.decommits + racer.commits + racer.protections + racer.maps == 0)
        report("the racer changed nothing");
    if (NtClose(race_section) != STATUS_SUCCESS)
        report("closing the racer's section 0x%x failed", race_section);
    if (rt_vm_release(FUZZ_RACE_IN) != STATUS_SUCCESS)
        report("releasing the racer's pages at 0x%08x failed", FUZZ_RACE_IN);
    rt_printf("    # fuzz: racer: %u decommits, %u commits, %u protections, %u views mapped, "
              "%u unmapped, %u refused\n",
              racer.decommits, racer.commits, racer.protections, racer.maps, racer.unmaps,
              racer.refused);
}

static volatile bool ending;
static volatile ntstatus_t ending_status;

static void end_with_the_others(void *argument)
{
    (void)argument;
    while (!ending)
        ;                                   /* spin: the timer preempts it here */
    NtTerminateProcess(NT_CURRENT_PROCESS, ending_status);
    for (;;)
        NtTerminateThread(NT_CURRENT_THREAD, STATUS_SUCCESS);
}

void race_end_process(ntstatus_t status)
{
    unsigned made = 0;

    ending_status = status;
    for (unsigned i = 0; i < 3; i++)
        made += NtCreateThread(end_with_the_others, NULL) == STATUS_SUCCESS;
    if (made == 0)
        return;
    NtYieldExecution();                     /* let some of them start spinning */
    ending = true;
    NtTerminateProcess(NT_CURRENT_PROCESS, status);
}
