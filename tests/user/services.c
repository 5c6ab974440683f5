/*
 * services.exe: every system service called the way a program calls it, each in a
 * working order (memory, sections, threads, a child, handles and copies, exceptions, the
 * queries), so that the inject suite (tests/test_inject.c) can make the 1st, 2nd, 3rd, ...
 * frame or pool allocation inside one of these calls fail and see what the call makes of
 * it.
 *
 * A call may succeed or fail for want of memory (STATUS_NO_MEMORY,
 * STATUS_INSUFFICIENT_RESOURCES, STATUS_COMMITMENT_LIMIT); what depends on a call that
 * failed is left out. Any other status is printed. Exit status: the number of those;
 * `services.exe child` exits 0 at once (it is the child it starts).
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define PAGES           16
#define TEXT_CHARS      32
#define PATIENCE        100000      /* yields before a thread that never ends counts */

static unsigned unexpected;
static volatile uint32_t thread_stack;

/* Whether status is success; prints it if it is neither that nor want of memory. */
static bool check(const char *call, ntstatus_t status)
{
    if (status == STATUS_SUCCESS)
        return true;
    if (status != STATUS_NO_MEMORY && status != STATUS_INSUFFICIENT_RESOURCES &&
        status != STATUS_COMMITMENT_LIMIT) {
        unexpected++;
        rt_printf("    # services: %s: status 0x%08x\n", call, (uint32_t)status);
    }
    return false;
}

static void touch(uint32_t base, uint32_t pages)
{
    for (uint32_t i = 0; i < pages; i++)
        *(volatile uint32_t *)(base + i * PAGE) = i;
}

static void private_memory(void)
{
    struct nt_memory_basic_information info;
    uint32_t base = 0, size = PAGES * PAGE, old;

    if (!check("NtAllocateVirtualMemory", rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                                         PAGE_READWRITE)))
        return;
    touch(base, PAGES);
    check("NtProtectVirtualMemory", rt_vm_protect(&base, &size, PAGE_READONLY, &old));
    check("NtQueryVirtualMemory", rt_vm_query(base, &info));
    size = PAGE;
    check("NtFreeVirtualMemory (decommit)", rt_vm_free(&base, &size, MEM_DECOMMIT));
    check("NtFreeVirtualMemory (release)", rt_vm_release(base));
}

/* Locking, write watches, MEM_RESET and the other query classes, on one reservation. */
static void watched_memory(void)
{
    uint32_t base = 0, size = PAGES * PAGE, count = PAGES, granularity, at, bytes;
    uint32_t addresses[PAGES], working_set[8];
    struct nt_memory_region_information region;

    if (!check("NtAllocateVirtualMemory (write watch)",
               rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                              PAGE_READWRITE)))
        return;
    touch(base, PAGES);
    at = base, bytes = PAGE;
    check("NtLockVirtualMemory", rt_syscall(NT_SERVICE_LOCK_VIRTUAL_MEMORY, NT_CURRENT_PROCESS,
                                            &at, &bytes, MAP_PROCESS));
    check("NtUnlockVirtualMemory", rt_syscall(NT_SERVICE_UNLOCK_VIRTUAL_MEMORY,
                                              NT_CURRENT_PROCESS, &at, &bytes, MAP_PROCESS));
    check("NtGetWriteWatch", rt_syscall(NT_SERVICE_GET_WRITE_WATCH, NT_CURRENT_PROCESS,
                                        WRITE_WATCH_FLAG_RESET, base, size, addresses, &count,
                                        &granularity));
    check("NtResetWriteWatch", rt_syscall(NT_SERVICE_RESET_WRITE_WATCH, NT_CURRENT_PROCESS,
                                          base, size));
    at = base, bytes = size;
    check("NtAllocateVirtualMemory (reset)", rt_vm_allocate(&at, &bytes, MEM_RESET,
                                                            PAGE_READWRITE));
    check("NtQueryVirtualMemory (region)",
          NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)base, NT_MEMORY_REGION_INFORMATION,
                               &region, sizeof(region), NULL));
    ntstatus_t status = NtQueryVirtualMemory(NT_CURRENT_PROCESS, NULL,
                                             NT_MEMORY_WORKING_SET_INFORMATION, working_set,
                                             sizeof(working_set), NULL);
    if (status != STATUS_INFO_LENGTH_MISMATCH)
        check("NtQueryVirtualMemory (working set)", status);
    check("NtFreeVirtualMemory (release)", rt_vm_free(&base, &bytes, MEM_RELEASE));
}

static void section_view(void)
{
    int64_t maximum_size = PAGES * PAGE, offset = 0;
    uint32_t base = 0, size = 0;
    nt_handle_t section;

    if (!check("NtCreateSection", rt_syscall(NT_SERVICE_CREATE_SECTION, &section,
                                             SECTION_ALL_ACCESS, NULL, &maximum_size,
                                             PAGE_READWRITE, SEC_RESERVE, 0)))
        return;
    if (check("NtMapViewOfSection",
              rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, NT_CURRENT_PROCESS, &base, 0,
                         PAGE, &offset, &size, VIEW_SHARE, 0, PAGE_READWRITE))) {
        uint32_t at = base, bytes = size, old;
        if (check("NtAllocateVirtualMemory (commit in a view)",
                  rt_vm_allocate(&at, &bytes, MEM_COMMIT, PAGE_READWRITE))) {
            touch(base, PAGES);
            check("NtProtectVirtualMemory (view)",
                  rt_vm_protect(&at, &bytes, PAGE_WRITECOPY, &old));
            touch(base, PAGES);
        }
        check("NtUnmapViewOfSection",
              rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, base));
    }
    check("NtClose (section)", NtClose(section));
}

static void thread_main(void *argument)
{
    thread_stack = (uint32_t)(uintptr_t)&argument;
    for (;;)
        NtTerminateThread(NT_CURRENT_THREAD, STATUS_SUCCESS);
}

/* A thread that ends at once; waits for its stack to go. */
static void thread(void)
{
    struct nt_memory_basic_information info;
    unsigned i = 0;

    if (!check("NtCreateThread", NtCreateThread(thread_main, NULL)))
        return;
    while (!thread_stack && i++ < PATIENCE)
        NtYieldExecution();
    while (thread_stack && rt_vm_query(thread_stack, &info) == STATUS_SUCCESS &&
           info.state != MEM_FREE && i++ < PATIENCE)
        NtYieldExecution();
    if (i >= PATIENCE) {
        unexpected++;
        rt_printf("    # services: the thread did not end\n");
    }
}

static void child(void)
{
    unsigned short module_text[TEXT_CHARS], command_text[TEXT_CHARS];
    struct nt_unicode_string module, command;
    struct nt_process_basic_information info;
    int64_t timeout = -50000000LL;      /* 5 s */
    nt_handle_t process;

    rt_unicode_from_ascii(&module, module_text, TEXT_CHARS, "services.exe");
    rt_unicode_from_ascii(&command, command_text, TEXT_CHARS, "services.exe child");
    if (!check("NtCreateProcessFromModule", NtCreateProcessFromModule(&process, &module,
                                                                       &command)))
        return;
    check("NtWaitForSingleObject", NtWaitForSingleObject(process, 0, &timeout));
    check("NtQueryInformationProcess",
          NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, &info, sizeof(info),
                                    NULL));
    check("NtTerminateProcess (ended child)", NtTerminateProcess(process, 1));
    check("NtClose (process)", NtClose(process));
}

/*
 * A handle to this process by id and by duplication, with less access; memory copied
 * through them. A copy that found no frame reports it as Windows does, as a partial copy.
 */
static void handles_and_copies(void)
{
    struct nt_object_attributes attributes = {sizeof(attributes), 0, NULL, 0, NULL, NULL};
    struct nt_process_basic_information basic;
    struct nt_client_id id = {0, 0};
    nt_handle_t opened, duplicate;
    uint32_t word = 0x5E41CE5u, copy = 0;
    size_t done;

    if (!check("NtQueryInformationProcess (id)",
               NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                         &basic, sizeof(basic), NULL)))
        return;
    id.unique_process = basic.unique_process_id;
    if (check("NtOpenProcess", NtOpenProcess(&opened, PROCESS_VM_READ | PROCESS_VM_WRITE,
                                             &attributes, &id))) {
        ntstatus_t status = NtReadVirtualMemory(opened, &word, &copy, sizeof(copy), &done);
        if (status != STATUS_PARTIAL_COPY)
            check("NtReadVirtualMemory", status);
        status = NtWriteVirtualMemory(opened, &copy, &word, sizeof(word), &done);
        if (status != STATUS_PARTIAL_COPY)
            check("NtWriteVirtualMemory", status);
        check("NtClose (opened process)", NtClose(opened));
    }
    if (check("NtDuplicateObject", NtDuplicateObject(NT_CURRENT_PROCESS, NT_CURRENT_PROCESS,
                                                     NT_CURRENT_PROCESS, &duplicate,
                                                     SYNCHRONIZE, 0, 0)))
        check("NtClose (duplicate)", NtClose(duplicate));
}

static struct rt_jump_buffer resume_point;

static bool resume(struct nt_exception_record *record, struct nt_context *context)
{
    (void)record;
    rt_context_jump(context, &resume_point, 1);
    return true;
}

/* An exception (int3) handed to a handler, which goes on through NtContinue. */
static void exception(void)
{
    if (!check("NtSetExceptionHandler", rt_set_exception_handler(resume)))
        return;
    if (rt_setjmp(&resume_point) == 0)
        __asm__ volatile("int3");
    check("NtSetExceptionHandler (none)", rt_set_exception_handler(NULL));
}

static void the_rest(void)
{
    struct nt_system_basic_information basic;
    struct nt_quota_limits quota;
    struct nt_unicode_string empty = {0, 0, NULL};
    int64_t no_time = 0;

    check("NtQuerySystemInformation",
          NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &basic, sizeof(basic), NULL));
    if (check("NtQueryInformationProcess (quota)",
              NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                        sizeof(quota), NULL)))
        check("NtSetInformationProcess",
              NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                      sizeof(quota)));
    check("NtDisplayString", NtDisplayString(&empty));
    check("NtDelayExecution", NtDelayExecution(0, &no_time));
    check("NtYieldExecution", NtYieldExecution());
    check("NtTestAlert", NtTestAlert());
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return 0;
    private_memory();
    watched_memory();
    section_view();
    thread();
    child();
    handles_and_copies();
    exception();
    the_rest();
    return (int)unexpected;
}
