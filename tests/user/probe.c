/*
 * probe.exe PROBE SYSTEM KERNEL (hex: MmUserProbeAddress, MmSystemRangeStart and the
 * address of some kernel code): system services given hostile arguments. A pointer to
 * anything not wholly below PROBE, or to memory that is not there, must give
 * STATUS_ACCESS_VIOLATION and change nothing the caller can see; unknown services,
 * handles and classes and wrong lengths give their own statuses, as on NT. Needs
 * exitcode.exe loaded as a module (a child to wait on). Prints a diagnostic for each
 * failed check; exits 0 if all held, else the number that failed.
 *
 * As on NT, a service checks every pointer argument over its whole length before it
 * looks at classes and lengths (ProbeForWrite comes first), so a real buffer with a
 * length that runs past PROBE is an access violation, not a length mismatch.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define SENTINEL      0xA5
#define SENTINEL_WORD 0xA5A5A5A5u

/* Real memory, filled with SENTINEL before each call that must not write it. */
static uint8_t buffer[256];

static uint32_t probe, system_start, kernel;

/* Fills buffer with SENTINEL; returns its address. */
static uint32_t fill_buffer(void)
{
    memset(buffer, SENTINEL, sizeof(buffer));
    return (uint32_t)(uintptr_t)buffer;
}

static bool buffer_untouched(void)
{
    for (size_t i = 0; i < sizeof(buffer); i++)
        if (buffer[i] != SENTINEL)
            return false;
    return true;
}

#define EXPECT_AV(call) RT_EXPECT_EQ(call, STATUS_ACCESS_VIOLATION)
#define EXPECT_UNTOUCHED() RT_EXPECT_MSG(buffer_untouched(), "a failed call wrote the buffer")

/* The length from buffer up to and including `past` bytes at or above PROBE. */
static uint32_t length_past_probe(uint32_t past)
{
    return probe - (uint32_t)(uintptr_t)buffer + past;
}

/* The length from buffer to `past` bytes beyond the top of the address space. */
static uint32_t length_wrapping(uint32_t past)
{
    return 0u - (uint32_t)(uintptr_t)buffer + past;
}

static void check_unknown_services_handles_and_classes(void)
{
    struct nt_system_basic_information info;
    struct nt_process_basic_information process;
    unsigned int length = 0;

    RT_EXPECT_EQ(rt_syscall(NT_SERVICE_COUNT), STATUS_INVALID_SYSTEM_SERVICE);
    RT_EXPECT_EQ(rt_syscall(0x1000), STATUS_INVALID_SYSTEM_SERVICE);
    RT_EXPECT_EQ(rt_syscall(0x80000000u), STATUS_INVALID_SYSTEM_SERVICE);
    RT_EXPECT_EQ(rt_syscall(0xFFFFFFFFu), STATUS_INVALID_SYSTEM_SERVICE);

    RT_EXPECT_EQ(NtClose(0x1234), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtClose(0), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtWaitForSingleObject(0x1234, 0, NULL), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtQueryInformationProcess(0x1234, NT_PROCESS_BASIC_INFORMATION, &process,
                                           sizeof(process), NULL), STATUS_INVALID_HANDLE);

    /* The good calls work, so that the failures below are not just a broken service. */
    RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info, sizeof(info),
                                          &length), STATUS_SUCCESS);
    RT_EXPECT_EQ(length, sizeof(info));
    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                           &process, sizeof(process), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(process.exit_status, STATUS_PENDING);

    RT_EXPECT_EQ(NtQuerySystemInformation(0x1234, &info, sizeof(info), NULL),
                 STATUS_INVALID_INFO_CLASS);
    RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info, sizeof(info) - 1,
                                          NULL), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, 0x1234, &process,
                                           sizeof(process), NULL), STATUS_INVALID_INFO_CLASS);
    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                           &process, sizeof(process) - 1, NULL),
                 STATUS_INFO_LENGTH_MISMATCH);
}

static ntstatus_t query_system(uint32_t address, uint32_t length, uint32_t return_length)
{
    return NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, (void *)address, length,
                                    (unsigned int *)return_length);
}

static void check_query_system_information(void)
{
    const uint32_t size = sizeof(struct nt_system_basic_information);
    /* Above everything the loader and the stacks take from the bottom, below PROBE. */
    const uint32_t unmapped = probe - 0x20000;

    EXPECT_AV(query_system(kernel & ~3u, size, 0));
    EXPECT_AV(query_system(system_start, size, 0));
    EXPECT_AV(query_system(probe - 4, size, 0));
    EXPECT_AV(query_system(0xFFFFFFF0u, size, 0));
    EXPECT_AV(query_system(0, size, 0));
    EXPECT_AV(query_system(unmapped, size, 0));

    EXPECT_AV(query_system(fill_buffer(), length_past_probe(4), 0));
    EXPECT_UNTOUCHED();
    EXPECT_AV(query_system(fill_buffer(), length_wrapping(16), 0));
    EXPECT_UNTOUCHED();

    /* A bad ReturnLength: the buffer may have been written by then, so only the status. */
    EXPECT_AV(query_system(fill_buffer(), size, kernel & ~3u));
    EXPECT_AV(query_system(fill_buffer(), size, probe));
    EXPECT_AV(query_system(fill_buffer(), size, system_start));
}

static ntstatus_t display(uint32_t text, unsigned short bytes)
{
    struct nt_unicode_string string = {
        .length = bytes, .maximum_length = bytes, .buffer = (unsigned short *)text };

    return NtDisplayString(&string);
}

static void check_display_string(void)
{
    EXPECT_AV(NtDisplayString((const struct nt_unicode_string *)kernel));
    EXPECT_AV(NtDisplayString((const struct nt_unicode_string *)system_start));
    EXPECT_AV(NtDisplayString((const struct nt_unicode_string *)(probe - 4)));
    EXPECT_AV(NtDisplayString(NULL));

    EXPECT_AV(display(kernel & ~1u, 16));
    EXPECT_AV(display(system_start, 2));
    EXPECT_AV(display(probe - 4, 16));
    EXPECT_AV(display(0xFFFFFFF0u, 32));
    EXPECT_AV(display(0, 16));
}

static ntstatus_t query_process(uint32_t address, uint32_t length, uint32_t return_length)
{
    return NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                     (void *)address, length, (unsigned int *)return_length);
}

static void check_query_information_process(void)
{
    const uint32_t size = sizeof(struct nt_process_basic_information);

    EXPECT_AV(query_process(kernel & ~3u, size, 0));
    EXPECT_AV(query_process(system_start, size, 0));
    EXPECT_AV(query_process(probe - 4, size, 0));
    EXPECT_AV(query_process(0, size, 0));
    EXPECT_AV(query_process(probe - 0x20000, size, 0));

    EXPECT_AV(query_process(fill_buffer(), length_past_probe(4), 0));
    EXPECT_UNTOUCHED();
    EXPECT_AV(query_process(fill_buffer(), size, kernel & ~3u));
}

/* NtCreateProcessFromModule into *child, which is filled with SENTINEL_WORD first. */
static ntstatus_t create(nt_handle_t *child, const struct nt_unicode_string *module,
                         const struct nt_unicode_string *command_line)
{
    *child = SENTINEL_WORD;
    return NtCreateProcessFromModule(child, module, command_line);
}

/* Waits for process with the timeout pointer timeout. */
static ntstatus_t wait_with_timeout(nt_handle_t process, uint32_t timeout)
{
    return NtWaitForSingleObject(process, 0, (const int64_t *)timeout);
}

static void check_processes_and_waits(void)
{
    unsigned short module_text[32], command_text[32];
    struct nt_unicode_string module, command_line, bad;
    nt_handle_t child;

    /* Should one of these start a process after all, it is one that ends at once. */
    rt_unicode_from_ascii(&module, module_text, 32, "exitcode.exe");
    rt_unicode_from_ascii(&command_line, command_text, 32, "exitcode.exe 0");

    EXPECT_AV(NtCreateProcessFromModule((nt_handle_t *)(kernel & ~3u), &module, &command_line));
    EXPECT_AV(NtCreateProcessFromModule((nt_handle_t *)system_start, &module, &command_line));
    EXPECT_AV(NtCreateProcessFromModule((nt_handle_t *)(probe - 2), &module, &command_line));
    EXPECT_AV(NtCreateProcessFromModule(NULL, &module, &command_line));

    EXPECT_AV(create(&child, (const struct nt_unicode_string *)kernel, &command_line));
    RT_EXPECT_EQ(child, SENTINEL_WORD);
    EXPECT_AV(create(&child, &module, (const struct nt_unicode_string *)(probe - 4)));
    RT_EXPECT_EQ(child, SENTINEL_WORD);
    bad = module;
    bad.buffer = (unsigned short *)(kernel & ~1u);
    EXPECT_AV(create(&child, &bad, &command_line));
    RT_EXPECT_EQ(child, SENTINEL_WORD);
    bad = command_line;
    bad.buffer = (unsigned short *)(probe - 4);
    EXPECT_AV(create(&child, &module, &bad));
    RT_EXPECT_EQ(child, SENTINEL_WORD);

    /* A child that has ended: a wait that wrongly took no timeout returns at once. */
    if (!RT_EXPECT_EQ(create(&child, &module, &command_line), STATUS_SUCCESS))
        return;
    RT_EXPECT_EQ(NtWaitForSingleObject(child, 0, NULL), STATUS_SUCCESS);
    EXPECT_AV(wait_with_timeout(child, kernel & ~7u));
    EXPECT_AV(wait_with_timeout(child, system_start));
    EXPECT_AV(wait_with_timeout(child, probe - 4));
    EXPECT_AV(wait_with_timeout(child, 0x10));
    EXPECT_AV(wait_with_timeout(child, probe - 0x20000));
    RT_EXPECT_EQ(NtClose(child), STATUS_SUCCESS);
}

int main(int argc, char **argv)
{
    if (argc != 4 || !rt_parse_hex(argv[1], &probe) || !rt_parse_hex(argv[2], &system_start) ||
        !rt_parse_hex(argv[3], &kernel) || probe < 0x20000 || probe > system_start) {
        rt_printf("usage: %s PROBE SYSTEM KERNEL (hex)\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    check_unknown_services_handles_and_classes();
    check_query_system_information();
    check_display_string();
    check_query_information_process();
    check_processes_and_waits();
    return (int)rt_failure_count();
}
