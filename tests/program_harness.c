#include <stddef.h>

#include "arch/copy_checked.h"
#include "ke/event.h"
#include "kernel/loader.h"
#include "kernel/modules.h"
#include "kernel/thread.h"
#include "lib/ntabi.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/syspte.h"
#include "tests/program_harness.h"

void take_snapshot(struct resources *r)
{
    MiWaitForModifiedPageWriterIdle();     /* pages freed in flight go when written */
    KeWaitForEndedThreads();                /* and those of threads another processor frees */
    r->available_pages = MmAvailablePages();
    r->system_page_tables = MiPagesInUse[MI_USE_PAGE_TABLE];
    r->committed_pages = MmTotalCommittedPages;
    r->pagefile_slots = MiPagefile.slots_in_use;
    r->free_system_ptes = MiFreeSystemPtes();
    r->resident_available = MmResidentAvailablePages;
    ExQueryPoolStatistics(NonPagedPool, &r->pool);
}

void expect_nothing_leaked(struct ktest *t, const struct resources *before)
{
    struct resources after;

    take_snapshot(&after);
    KT_EXPECT_EQ(t, before->available_pages,
                 after.available_pages + (after.system_page_tables - before->system_page_tables));
    KT_EXPECT_EQ(t, before->committed_pages, after.committed_pages);
    KT_EXPECT_EQ(t, before->pagefile_slots, after.pagefile_slots);
    KT_EXPECT_EQ(t, before->free_system_ptes, after.free_system_ptes);
    KT_EXPECT_EQ(t, before->resident_available, after.resident_available);
    KT_EXPECT_EQ(t, before->pool.allocations, after.pool.allocations);
    KT_EXPECT_EQ(t, before->pool.pages, after.pool.pages);
}

bool have_module(struct ktest *t, const char *name)
{
    if (module_find(name, strlen(name)))
        return true;
    ktest_diag(t, "module %s is not loaded", name);
    return false;
}

ntstatus_t start_program(const char *program, const char *arguments, struct process **process)
{
    char command_line[160];
    size_t length = ksnprintf(command_line, sizeof(command_line), "%s %s", program, arguments);

    return loader_start_module(program, strlen(program), command_line, length, process);
}

ntstatus_t start_program_suspended(const char *program, const char *arguments,
                                   struct process **process)
{
    char command_line[160];
    size_t length = ksnprintf(command_line, sizeof(command_line), "%s %s", program, arguments);

    return loader_start_module_suspended(program, strlen(program), command_line, length,
                                         process);
}

ntstatus_t run_program(const char *program, const char *arguments,
                       struct nt_process_exception_information *exception)
{
    struct process *process;
    ntstatus_t status = start_program(program, arguments, &process);

    if (!NT_SUCCESS(status))
        return status;
    process_wait(process, WAIT_FOREVER);
    status = process->exit_status;
    if (exception)
        *exception = process->exception;
    object_dereference(&process->header);
    return status;
}

unsigned run_programs(struct program_run *runs, unsigned count)
{
    unsigned failed = 0;

    for (unsigned i = 0; i < count; i++) {
        runs[i].status = start_program(runs[i].program, runs[i].arguments, &runs[i].process);
        if (!NT_SUCCESS(runs[i].status))
            runs[i].process = NULL;
    }
    for (unsigned i = 0; i < count; i++) {
        if (runs[i].process) {
            process_wait(runs[i].process, WAIT_FOREVER);
            runs[i].status = runs[i].process->exit_status;
            object_dereference(&runs[i].process->header);
            runs[i].process = NULL;
        }
        failed += runs[i].status != STATUS_SUCCESS;
    }
    return failed;
}

/* Locks the counter's page in its working set and maps it here. */
static ntstatus_t watch_counter(struct watched_counter *w)
{
    vaddr_t base = COUNTER_ADDRESS;
    uint32_t size = PAGE_SIZE;
    ntstatus_t status;

    process_attach(w->process);
    status = MmLockVirtualMemory(&base, &size);
    if (NT_SUCCESS(status) && !MmGetPhysicalAddress(COUNTER_ADDRESS, &w->physical))
        status = STATUS_UNSUCCESSFUL;
    process_detach();
    if (NT_SUCCESS(status))
        w->page = MmMapPhysicalMemory(w->physical, PAGE_SIZE);
    return w->page ? status : STATUS_INSUFFICIENT_RESOURCES;
}

bool start_watched_counter(struct ktest *t, struct watched_counter *w)
{
    *w = (struct watched_counter){0};
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, start_program("counter.exe", "", &w->process)))
        return false;
    for (unsigned i = 0; i < 100000 && !(w->process->exited) && !w->page; i++) {
        scheduler_yield();
        struct nt_memory_basic_information info;
        process_attach(w->process);
        bool committed = NT_SUCCESS(MmQueryVirtualMemory(COUNTER_ADDRESS, &info)) &&
                         info.state == MEM_COMMIT;
        process_detach();
        if (committed && !NT_SUCCESS(watch_counter(w)))
            break;
    }
    return KT_EXPECT(t, w->page != NULL);
}

void stop_watched_counter(struct ktest *t, struct watched_counter *w)
{
    uint32_t stop = 1;

    MmUnmapIoSpace((void *)w->page, PAGE_SIZE);
    process_attach(w->process);
    arch_copy_checked((void *)(COUNTER_ADDRESS + offsetof(struct counter_page, stop)), &stop,
                      sizeof(stop));
    process_detach();
    KT_EXPECT_EQ(t, STATUS_SUCCESS, process_wait(w->process, WAIT_FOREVER));
    KT_EXPECT_EQ(t, 0, w->process->exit_status);
    object_dereference(&w->process->header);
}

static void spin(void *context)
{
    struct spinner *spinner = context;

    while (!spinner->stop)
        spinner->count++;
    spinner->done = true;
}

bool sleep_until(bool (*done)(void *context), void *context, unsigned max_ticks)
{
    struct kevent never;

    KeInitializeEvent(&never, false);
    for (unsigned tick = 0; tick < max_ticks && !done(context); tick++)
        KeWaitForEvent(&never, 1);
    return done(context);
}

uint32_t kernel_threads_now(void)
{
    return __atomic_load_n(&system_process.thread_count, __ATOMIC_ACQUIRE);
}

void wait_for_kernel_threads(uint32_t count)
{
    while (kernel_threads_now() > count)
        scheduler_yield();
}

bool start_spinner(struct ktest *t, struct spinner *spinner)
{
    *spinner = (struct spinner){.threads_before = kernel_threads_now()};
    return KT_EXPECT_EQ(t, STATUS_SUCCESS, thread_create(&system_process, spin, spinner, 0, 0,
                                                         0, false, NULL));
}

void stop_spinner(struct spinner *spinner)
{
    spinner->stop = true;
    wait_for_kernel_threads(spinner->threads_before);
}
