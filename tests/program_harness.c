#include "kernel/loader.h"
#include "kernel/modules.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/syspte.h"
#include "tests/program_harness.h"

void take_snapshot(struct resources *r)
{
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
