/* The system services: console output and system information. */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/pit.h"
#include "arch/trap.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "lib/console.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"

#define DISPLAY_MAX 1024

ntstatus_t NtDisplayString(const uint32_t *arguments)
{
    char text[DISPLAY_MAX + 1];
    size_t length;
    ntstatus_t status = syscall_capture_string(arguments[0], text, sizeof(text), &length);

    if (NT_SUCCESS(status))
        console_write_user(process_current()->id, text, length);
    return status;
}

/* The commit charge and free memory (buffer and return_length already probed). */
static ntstatus_t query_memory_information(vaddr_t buffer, uint32_t length,
                                           vaddr_t return_length)
{
    struct nt_system_memory_information info = {
        .commit_total = MmTotalCommittedPages,
        .commit_limit = MmTotalCommitLimit,
        .commit_peak = MmPeakCommitment,
        .available_pages = MmAvailablePages(),
        .process_commit = MmCurrentAddressSpace()->commit_charge,
    };
    if (length != sizeof(info))
        return STATUS_INFO_LENGTH_MISMATCH;
    return syscall_return_information(buffer, &info, sizeof(info), return_length);
}

/* The pagefile, the lists and the caller's working set (buffer already probed). */
static ntstatus_t query_paging_information(vaddr_t buffer, uint32_t length,
                                           vaddr_t return_length)
{
    const struct mm_working_set *working_set = &MmCurrentAddressSpace()->working_set;
    struct nt_system_paging_information info = {
        .pagefile_pages = MiPagefile.present ? MiPagefile.slot_count - 1 : 0,
        .pagefile_in_use = MiPagefile.slots_in_use,
        .pagefile_peak = MiPagefile.peak_slots_in_use,
        .pages_written = MiPagefile.pages_written,
        .pages_read = MiPagefile.pages_read,
        .transition_faults = MmStatistics.transition_faults,
        .pagefile_read_faults = MmStatistics.pagefile_read_faults,
        .standby_pages = MmStandbyPageListHead.count,
        .modified_pages = MmModifiedPageListHead.count,
        .working_set_size = working_set->count,
        .working_set_peak = working_set->peak,
        .working_set_minimum = working_set->minimum,
        .working_set_maximum = working_set->maximum,
    };

    if (length != sizeof(info))
        return STATUS_INFO_LENGTH_MISMATCH;
    return syscall_return_information(buffer, &info, sizeof(info), return_length);
}

/* The kernel's event counters (buffer and return_length already probed). */
static ntstatus_t query_counter_information(vaddr_t buffer, uint32_t length,
                                            vaddr_t return_length)
{
    struct kprcb_statistics processors = scheduler_statistics();
    struct nt_system_counter_information info = {
        .system_calls = syscall_count,
        .context_switches = (uint32_t)processors.context_switches,
        .cr3_loads = MmStatistics.cr3_loads,
        .invlpg = processors.invlpgs,
        .full_tlb_flushes = processors.full_flushes,
        .page_faults = trap_page_fault_count,
        .demand_zero_faults = MmStatistics.demand_zero_faults,
        .copy_on_write_faults = MmStatistics.copy_on_write_faults,
        .section_faults = MmStatistics.section_faults,
        .stack_extensions = MmStatistics.stack_extensions,
        .ipis_sent = (uint32_t)processors.ipis_sent,
        .tlb_shootdowns = (uint32_t)processors.tlb_shootdowns,
        .tlb_pages_shot_down = (uint32_t)processors.tlb_pages_flushed,
        .tlb_entire_shootdowns = (uint32_t)processors.tlb_entire_flushes,
    };

    if (length != sizeof(info))
        return STATUS_INFO_LENGTH_MISMATCH;
    return syscall_return_information(buffer, &info, sizeof(info), return_length);
}

ntstatus_t NtQuerySystemInformation(const uint32_t *arguments)
{
    uint32_t class = arguments[0], length = arguments[2];
    vaddr_t buffer = arguments[1], return_length = arguments[3];
    struct nt_system_basic_information info = {0};

    ntstatus_t status = syscall_probe_information(buffer, length, return_length);
    if (!NT_SUCCESS(status))
        return status;
    if (class == NT_SYSTEM_MEMORY_INFORMATION)
        return query_memory_information(buffer, length, return_length);
    if (class == NT_SYSTEM_COUNTER_INFORMATION)
        return query_counter_information(buffer, length, return_length);
    if (class == NT_SYSTEM_PAGING_INFORMATION)
        return query_paging_information(buffer, length, return_length);
    if (class != NT_SYSTEM_BASIC_INFORMATION)
        return STATUS_INVALID_INFO_CLASS;
    if (length != sizeof(info))
        return STATUS_INFO_LENGTH_MISMATCH;

    info.timer_resolution = 10000000 / PIT_HZ;
    info.page_size = PAGE_SIZE;
    info.number_of_physical_pages = MmNumberOfPhysicalPages;
    info.lowest_physical_page_number = 1;
    info.highest_physical_page_number = MmHighestPhysicalPage;
    info.allocation_granularity = MM_ALLOCATION_GRANULARITY;
    info.minimum_user_mode_address = MM_LOWEST_USER_ADDRESS;
    info.maximum_user_mode_address = MmCurrentAddressSpace()->highest_user_address;
    info.active_processors_affinity_mask = KeActiveProcessors;
    info.number_of_processors = (char)KeNumberProcessors;
    return syscall_return_information(buffer, &info, sizeof(info), return_length);
}
