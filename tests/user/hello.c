/*
 * hello.exe [WORDS...]: greets, shows its command line as it came and as argv, and prints
 * SYSTEM_BASIC_INFORMATION. Exits 0, or with the status of a failed query.
 */
#include "tests/user/runtime/rt.h"

int main(int argc, char **argv)
{
    struct nt_system_basic_information info;
    ntstatus_t status;

    rt_printf("hello from user mode: %s\n", rt_program_name);
    rt_printf("%s: command line (%u bytes): \"%s\"\n", rt_program_name,
              rt_parameters->command_line_length, rt_parameters->command_line);
    for (int i = 0; i < argc; i++)
        rt_printf("%s: argv[%d] = \"%s\"\n", rt_program_name, i, argv[i]);

    status = NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info, sizeof(info), NULL);
    if (!NT_SUCCESS(status)) {
        rt_printf("%s: NtQuerySystemInformation failed: 0x%08x\n", rt_program_name,
                  (unsigned int)status);
        return status;
    }
    rt_printf("%s: page size %u, allocation granularity 0x%x\n", rt_program_name,
              info.page_size, info.allocation_granularity);
    rt_printf("%s: user addresses 0x%08x-0x%08x\n", rt_program_name,
              info.minimum_user_mode_address, info.maximum_user_mode_address);
    rt_printf("%s: physical pages %u (page numbers 0x%x-0x%x)\n", rt_program_name,
              info.number_of_physical_pages, info.lowest_physical_page_number,
              info.highest_physical_page_number);
    rt_printf("%s: timer resolution %u00 ns, %d processor(s), affinity 0x%x\n",
              rt_program_name, info.timer_resolution, info.number_of_processors,
              info.active_processors_affinity_mask);
    return 0;
}
