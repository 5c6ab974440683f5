/*
 * The virtual memory services as user mode sees them: each case runs one of the vm_*
 * test programs (tests/user/), which check the services from ring 3 and exit with the
 * number of checks that failed (or end with the status a fault must give), and then
 * checks that every frame and pool block the process had is back. Without the programs
 * (boot modules) the cases are skipped, not passed.
 */
#include "arch/layout.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "tests/program_harness.h"

/* Runs program, which must exit with expected, and leave nothing behind. */
static void run_expecting(struct ktest *t, const char *program, const char *arguments,
                          ntstatus_t expected)
{
    struct resources before;

    take_snapshot(&before);
    ntstatus_t status = run_program(program, arguments, NULL);
    if (!KT_EXPECT_EQ(t, expected, status))
        ktest_diag(t, "%s%s%s ended with 0x%08x (a count below 0x100 is of failed checks)",
                   program, *arguments ? " " : "", arguments, (uint32_t)status);
    expect_nothing_leaked(t, &before);
}

/* ---- the argument rules and the walk ---- */

static void allocate_free_protect_query_rules(struct ktest *t)
{
    if (!have_module(t, "vm_rules.exe"))
        KT_SKIP(t, "vm_rules.exe not loaded");
    run_expecting(t, "vm_rules.exe", "", STATUS_SUCCESS);
}

static void query_walks_regions_image_shared_data_and_stack(struct ktest *t)
{
    if (!have_module(t, "vm_query.exe"))
        KT_SKIP(t, "vm_query.exe not loaded");
    run_expecting(t, "vm_query.exe", "", STATUS_SUCCESS);
}

/* ---- faults seen by the process's exception handler ---- */

static void fault_case(struct ktest *t, const char *kind, ntstatus_t expected)
{
    if (!have_module(t, "vm_fault.exe"))
        KT_SKIP(t, "vm_fault.exe not loaded");
    run_expecting(t, "vm_fault.exe", kind, expected);
}

static void guard_page_fires_once(struct ktest *t)
{
    fault_case(t, "guard", STATUS_SUCCESS);
}

static void decommitted_page_faults_at_its_address(struct ktest *t)
{
    fault_case(t, "decommit", STATUS_SUCCESS);
}

static void released_range_faults(struct ktest *t)
{
    fault_case(t, "release", STATUS_SUCCESS);
}

static void reserved_page_faults(struct ktest *t)
{
    fault_case(t, "reserved", STATUS_SUCCESS);
}

static void write_to_read_only_page_faults(struct ktest *t)
{
    fault_case(t, "readonly-write", STATUS_SUCCESS);
}

static void no_access_page_faults(struct ktest *t)
{
    fault_case(t, "noaccess", STATUS_SUCCESS);
}

/* 512 KB of recursion: the kernel moves the guard page down, the handler sees nothing. */
static void stack_grows_without_reaching_the_handler(struct ktest *t)
{
    uint32_t extensions = MmStatistics.stack_extensions;

    fault_case(t, "stack-growth", STATUS_SUCCESS);
    if (!t->skip_reason)
        KT_EXPECT(t, MmStatistics.stack_extensions - extensions >= 100);
}

static void endless_recursion_ends_in_stack_overflow(struct ktest *t)
{
    fault_case(t, "stack", STATUS_STACK_OVERFLOW);
}

/* No handler (one set and removed again): the kernel ends the process, and says where. */
static void fault_without_handler_ends_the_process(struct ktest *t)
{
    struct nt_process_exception_information exception;
    struct resources before;

    if (!have_module(t, "vm_fault.exe"))
        KT_SKIP(t, "vm_fault.exe not loaded");
    take_snapshot(&before);
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, run_program("vm_fault.exe", "unhandled", &exception));
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, exception.exception_code);
    KT_EXPECT_EQ(t, 0, exception.access);
    KT_EXPECT_EQ(t, 0x44, exception.faulting_address & 0xFFFF);
    expect_nothing_leaked(t, &before);
}

static void handler_giving_up_ends_the_process(struct ktest *t)
{
    fault_case(t, "give-up", STATUS_ACCESS_VIOLATION);
}

static void fault_inside_the_handler_ends_the_process(struct ktest *t)
{
    fault_case(t, "nested", STATUS_ACCESS_VIOLATION);
}

/* ---- commit, many reservations, the whole address space ---- */

static void commit_charge_and_limit(struct ktest *t)
{
    if (!have_module(t, "vm_commit.exe"))
        KT_SKIP(t, "vm_commit.exe not loaded");
    run_expecting(t, "vm_commit.exe", "", STATUS_SUCCESS);
}

static void working_set_limits(struct ktest *t)
{
    if (!have_module(t, "vm_workingset.exe"))
        KT_SKIP(t, "vm_workingset.exe not loaded");
    run_expecting(t, "vm_workingset.exe", "", STATUS_SUCCESS);
}

static void ten_thousand_reservations(struct ktest *t)
{
    if (!have_module(t, "vm_many.exe"))
        KT_SKIP(t, "vm_many.exe not loaded");
    run_expecting(t, "vm_many.exe", "", STATUS_SUCCESS);
}

/*
 * Reservations anywhere fill the caller's own user space and no more: all of it for the
 * large-address-aware image, at most 0x7FFEFFFF for the other, whatever the split.
 */
static void anywhere_stays_below_the_process_limit(struct ktest *t)
{
    char arguments[16];

    if (!have_module(t, "vm_anywhere.exe") || !have_module(t, "vm_anywhere_laa.exe"))
        KT_SKIP(t, "vm_anywhere.exe or vm_anywhere_laa.exe not loaded");
    ksnprintf(arguments, sizeof(arguments), "0x%x", MmHighestUserAddress);
    run_expecting(t, "vm_anywhere_laa.exe", arguments, STATUS_SUCCESS);
    ksnprintf(arguments, sizeof(arguments), "0x%x", MIN(MmHighestUserAddress,
                                                        (vaddr_t)MM_LEGACY_USER_LIMIT));
    run_expecting(t, "vm_anywhere.exe", arguments, STATUS_SUCCESS);
}

/*
 * The services aimed at another process through its handle, and one section shared by
 * two processes at different addresses, read-write and copy-on-write.
 */
static void another_process_and_a_shared_section(struct ktest *t)
{
    if (!have_module(t, "vm_remote.exe"))
        KT_SKIP(t, "vm_remote.exe not loaded");
    run_expecting(t, "vm_remote.exe", "parent", STATUS_SUCCESS);
}

/*
 * Sections, views and their pages' protections, MEM_COMMIT on views, SEC_RESERVE, cache
 * attributes and MEM_RESET, each rule as Windows has it.
 */
static void views_and_page_protections_as_windows(struct ktest *t)
{
    if (!have_module(t, "vm_views.exe"))
        KT_SKIP(t, "vm_views.exe not loaded");
    run_expecting(t, "vm_views.exe", "", STATUS_SUCCESS);
}

/*
 * Locking pages in the working set, write watches, and the working-set and region
 * classes of NtQueryVirtualMemory, each rule as Windows has it.
 */
static void lock_write_watch_and_query_classes_as_windows(struct ktest *t)
{
    if (!have_module(t, "vm_watch.exe"))
        KT_SKIP(t, "vm_watch.exe not loaded");
    run_expecting(t, "vm_watch.exe", "", STATUS_SUCCESS);
}

/*
 * Access rights on process and section handles, NtOpenProcess, NtDuplicateObject and
 * NtRead/WriteVirtualMemory, against a child that sleeps until it is terminated.
 */
static void access_rights_open_duplicate_and_copies(struct ktest *t)
{
    if (!have_module(t, "vm_access.exe"))
        KT_SKIP(t, "vm_access.exe not loaded");
    run_expecting(t, "vm_access.exe", "", STATUS_SUCCESS);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(allocate_free_protect_query_rules),
    KTEST_CASE(query_walks_regions_image_shared_data_and_stack),
    KTEST_CASE(guard_page_fires_once),
    KTEST_CASE(decommitted_page_faults_at_its_address),
    KTEST_CASE(released_range_faults),
    KTEST_CASE(reserved_page_faults),
    KTEST_CASE(write_to_read_only_page_faults),
    KTEST_CASE(no_access_page_faults),
    KTEST_CASE(stack_grows_without_reaching_the_handler),
    KTEST_CASE(endless_recursion_ends_in_stack_overflow),
    KTEST_CASE(fault_without_handler_ends_the_process),
    KTEST_CASE(handler_giving_up_ends_the_process),
    KTEST_CASE(fault_inside_the_handler_ends_the_process),
    KTEST_CASE(commit_charge_and_limit),
    KTEST_CASE(working_set_limits),
    KTEST_CASE(ten_thousand_reservations),
    KTEST_CASE(anywhere_stays_below_the_process_limit),
    KTEST_CASE(another_process_and_a_shared_section),
    KTEST_CASE(views_and_page_protections_as_windows),
    KTEST_CASE(lock_write_watch_and_query_classes_as_windows),
    KTEST_CASE(access_rights_open_duplicate_and_copies),
};

KTEST_SUITE(vm_suite, "vm", cases);
