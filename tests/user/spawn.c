/*
 * spawn.exe: starts other programs from the boot modules and checks what the process
 * services say about them:
 *   - exitcode.exe 1234: waited for without a timeout, its exit status is 1234, it stays
 *     signalled, it did not fault; its handle closes once, after which closing, waiting
 *     and querying give STATUS_INVALID_HANDLE;
 *   - nosuch.exe: STATUS_OBJECT_NAME_NOT_FOUND, no handle written;
 *   - fault.exe read 0: ends with STATUS_ACCESS_VIOLATION, a read of address 0;
 *   - isolation.exe: a wait with a zero timeout while it runs gives STATUS_TIMEOUT.
 * Needs exitcode.exe, fault.exe and isolation.exe loaded as modules. Prints a diagnostic
 * for each failed check; exits 0 if all held, else the number that failed.
 */
#include "tests/user/runtime/rt.h"

#define SENTINEL_HANDLE 0xA5A5A5A5u
#define TEXT_CHARS 64

static ntstatus_t start(nt_handle_t *process, const char *module, const char *command_line)
{
    unsigned short module_text[TEXT_CHARS], command_text[TEXT_CHARS];
    struct nt_unicode_string module_string, command_string;

    rt_unicode_from_ascii(&module_string, module_text, TEXT_CHARS, module);
    rt_unicode_from_ascii(&command_string, command_text, TEXT_CHARS, command_line);
    *process = SENTINEL_HANDLE;
    return NtCreateProcessFromModule(process, &module_string, &command_string);
}

static ntstatus_t query_basic(nt_handle_t process, struct nt_process_basic_information *info)
{
    return NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, info, sizeof(*info),
                                     NULL);
}

static ntstatus_t query_exception(nt_handle_t process,
                                  struct nt_process_exception_information *info)
{
    return NtQueryInformationProcess(process, NT_PROCESS_EXCEPTION_INFORMATION, info,
                                     sizeof(*info), NULL);
}

static void check_exit_status(const struct nt_process_basic_information *self)
{
    struct nt_process_basic_information info;
    struct nt_process_exception_information exception;
    nt_handle_t child;

    if (!RT_EXPECT_EQ(start(&child, "exitcode.exe", "exitcode.exe 1234"), STATUS_SUCCESS))
        return;
    RT_EXPECT(child != SENTINEL_HANDLE && child != NT_CURRENT_PROCESS);
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(query_basic(child, &info), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(info.exit_status, 1234);
        RT_EXPECT(info.unique_process_id != self->unique_process_id);
        RT_EXPECT_EQ(info.inherited_from_unique_process_id, self->unique_process_id);
    }
    if (RT_EXPECT_EQ(query_exception(child, &exception), STATUS_SUCCESS))
        RT_EXPECT_EQ(exception.exception_code, 0);
    /* An ended process stays signalled. */
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);

    RT_EXPECT_EQ(NtClose(child), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(child), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(query_basic(child, &info), STATUS_INVALID_HANDLE);
}

static void check_missing_module(void)
{
    nt_handle_t child;

    RT_EXPECT_EQ(start(&child, "nosuch.exe", "nosuch.exe"), STATUS_OBJECT_NAME_NOT_FOUND);
    RT_EXPECT_EQ(child, SENTINEL_HANDLE);
}

static void check_fault_report(void)
{
    struct nt_process_basic_information info;
    struct nt_process_exception_information exception;
    nt_handle_t child;

    if (!RT_EXPECT_EQ(start(&child, "fault.exe", "fault.exe read 0"), STATUS_SUCCESS))
        return;
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(query_basic(child, &info), STATUS_SUCCESS))
        RT_EXPECT_EQ(info.exit_status, STATUS_ACCESS_VIOLATION);
    if (RT_EXPECT_EQ(query_exception(child, &exception), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(exception.exception_code, STATUS_ACCESS_VIOLATION);
        RT_EXPECT_EQ(exception.access, 0);
        RT_EXPECT_EQ(exception.faulting_address, 0);
        RT_EXPECT(exception.exception_address != 0);
    }
    RT_EXPECT_EQ(NtClose(child), STATUS_SUCCESS);
}

static void check_timeout(void)
{
    struct nt_process_basic_information info;
    const int64_t no_time = 0;
    nt_handle_t child;

    /* Still running when polled at once: alone, it spins through dozens of timer ticks. */
    if (!RT_EXPECT_EQ(start(&child, "isolation.exe", "isolation.exe 77 40"), STATUS_SUCCESS))
        return;
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, &no_time), STATUS_TIMEOUT);
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(query_basic(child, &info), STATUS_SUCCESS))
        RT_EXPECT_EQ(info.exit_status, 0);
    RT_EXPECT_EQ(NtClose(child), STATUS_SUCCESS);
}

int main(int argc, char **argv)
{
    struct nt_process_basic_information self = { 0 };

    (void)argc, (void)argv;
    if (RT_EXPECT_EQ(query_basic(NT_CURRENT_PROCESS, &self), STATUS_SUCCESS))
        RT_EXPECT_EQ(self.exit_status, STATUS_PENDING);
    check_exit_status(&self);
    check_missing_module();
    check_fault_report();
    check_timeout();
    return (int)rt_failure_count();
}
