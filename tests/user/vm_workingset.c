/*
 * vm_workingset.exe: the working set and its limits, as a process sees them through
 * NtQueryInformationProcess / NtSetInformationProcess (ProcessQuotaLimits) and the
 * paging information of NtQuerySystemInformation:
 *   - a new process has Windows' default limits, 50 and 345 pages;
 *   - new limits read back as set; a process touching three times its new maximum never
 *     holds more than that maximum, and every page keeps what was written to it;
 *   - limits that make no sense (a minimum under 20 pages or above the maximum, a
 *     maximum beyond RAM) are refused with STATUS_BAD_WORKING_SET_LIMIT and change
 *     nothing; a wrong length, class or pointer gets its own status;
 *   - both sizes 0xFFFFFFFF empty the working set (only what the return itself touches
 *     comes back), limits unchanged.
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number.
 */
#include "tests/user/runtime/rt.h"

#define PAGE            0x1000u
#define NEW_MINIMUM     30
#define NEW_MAXIMUM     120
#define TOUCHED_PAGES   (3 * NEW_MAXIMUM)

static ntstatus_t set_limits(uint32_t minimum_bytes, uint32_t maximum_bytes)
{
    struct nt_quota_limits quota = {0};

    quota.minimum_working_set_size = minimum_bytes;
    quota.maximum_working_set_size = maximum_bytes;
    return NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                   sizeof(quota));
}

static struct nt_quota_limits get_limits(void)
{
    struct nt_quota_limits quota = {0};
    unsigned int length = 0;

    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS,
                                           &quota, sizeof(quota), &length), STATUS_SUCCESS);
    RT_EXPECT_EQ(length, sizeof(quota));
    return quota;
}

static struct nt_system_paging_information paging(void)
{
    struct nt_system_paging_information info = {0};

    RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_PAGING_INFORMATION, &info, sizeof(info),
                                          NULL), STATUS_SUCCESS);
    return info;
}

static void expect_limits(uint32_t minimum_pages, uint32_t maximum_pages)
{
    struct nt_quota_limits quota = get_limits();

    RT_EXPECT_EQ(quota.minimum_working_set_size, minimum_pages * PAGE);
    RT_EXPECT_EQ(quota.maximum_working_set_size, maximum_pages * PAGE);
}

static void bad_limits_are_refused(void)
{
    struct nt_system_basic_information basic;
    struct nt_quota_limits quota = {0};

    RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &basic, sizeof(basic),
                                          NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(set_limits(19 * PAGE, NEW_MAXIMUM * PAGE), STATUS_BAD_WORKING_SET_LIMIT);
    RT_EXPECT_EQ(set_limits(NEW_MAXIMUM * PAGE, NEW_MINIMUM * PAGE),
                 STATUS_BAD_WORKING_SET_LIMIT);
    /* A maximum of all RAM is refused; past 4 GB of RAM no 32-bit size reaches it. */
    if ((uint64_t)basic.number_of_physical_pages * PAGE <= 0xFFFFF000u)
        RT_EXPECT_EQ(set_limits(NEW_MINIMUM * PAGE, basic.number_of_physical_pages * PAGE),
                     STATUS_BAD_WORKING_SET_LIMIT);
    RT_EXPECT_EQ(set_limits(0, 0), STATUS_BAD_WORKING_SET_LIMIT);
    RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                         sizeof(quota) - 1), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, 0x7777, &quota, sizeof(quota)),
                 STATUS_INVALID_INFO_CLASS);
    RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS,
                                         (void *)0x1000, sizeof(quota)),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtSetInformationProcess((nt_handle_t)0x7777, NT_PROCESS_QUOTA_LIMITS,
                                         &quota, sizeof(quota)), STATUS_INVALID_HANDLE);
    expect_limits(NEW_MINIMUM, NEW_MAXIMUM);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uint32_t base = 0, size = TOUCHED_PAGES * PAGE;

    expect_limits(50, 345);
    RT_EXPECT_EQ(set_limits(NEW_MINIMUM * PAGE, NEW_MAXIMUM * PAGE), STATUS_SUCCESS);
    expect_limits(NEW_MINIMUM, NEW_MAXIMUM);
    bad_limits_are_refused();

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                      STATUS_SUCCESS))
        return (int)rt_failure_count();
    uint32_t most = 0;
    for (uint32_t round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < TOUCHED_PAGES; i++) {
            volatile uint32_t *word = (volatile uint32_t *)(base + i * PAGE + (i % 1000) * 4);
            if (round == 0)
                *word = i ^ 0x5A5A0000u;
            else
                RT_EXPECT_EQ(*word, i ^ 0x5A5A0000u);
            if (i % 16 == 0) {
                struct nt_system_paging_information info = paging();
                most = info.working_set_size > most ? info.working_set_size : most;
            }
        }
    }
    RT_EXPECT_MSG(most <= NEW_MAXIMUM, "working set reached %u pages, maximum %u", most,
                  NEW_MAXIMUM);
    RT_EXPECT_MSG(most >= NEW_MAXIMUM / 2, "working set only reached %u pages", most);

    RT_EXPECT_EQ(set_limits(0xFFFFFFFFu, 0xFFFFFFFFu), STATUS_SUCCESS);
    uint32_t after = paging().working_set_size;
    RT_EXPECT_MSG(after < 16, "%u pages left after emptying the working set", after);
    expect_limits(NEW_MINIMUM, NEW_MAXIMUM);
    for (uint32_t i = 0; i < TOUCHED_PAGES; i++)
        RT_EXPECT_EQ(*(volatile uint32_t *)(base + i * PAGE + (i % 1000) * 4), i ^ 0x5A5A0000u);
    rt_printf("vm_workingset.exe: working set at most %u pages (maximum %u) over %u touched; "
              "%u after emptying it\n", most, NEW_MAXIMUM, TOUCHED_PAGES, after);
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    return (int)rt_failure_count();
}
