/*
 * affinity.exe: what a program learns of the processors, and the affinity it may set,
 * checked against Windows' rules: SYSTEM_BASIC_INFORMATION's NumberOfProcessors and
 * ActiveProcessorsAffinityMask, KUSER_SHARED_DATA.ActiveProcessorCount, the process's
 * affinity in PROCESS_BASIC_INFORMATION, and NtSetInformationProcess(ProcessAffinityMask)
 * as SetProcessAffinityMask calls it: a non-empty subset of the active processors, or
 * STATUS_INVALID_PARAMETER. Between the changes it spins a while, so that its thread
 * really is moved. Argument: the number of processors the kernel runs. Exit status: the
 * number of failed checks.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define SHARED_DATA 0x7FFE0000u

static uint32_t process_affinity(void)
{
    struct nt_process_basic_information basic = {0};

    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                           &basic, sizeof(basic), NULL), STATUS_SUCCESS);
    return basic.affinity_mask;
}

static ntstatus_t set_affinity(uint32_t mask, uint32_t length)
{
    return NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_AFFINITY_MASK, &mask, length);
}

static void spin(void)
{
    for (volatile uint32_t i = 0; i < 200000; i++)
        ;
}

int main(int argc, char **argv)
{
    struct nt_system_basic_information info;
    uint32_t expected = 0;

    RT_EXPECT(argc > 1 && rt_parse_u32(argv[1], &expected));

    RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info, sizeof(info),
                                          NULL), STATUS_SUCCESS);
    uint32_t count = (uint8_t)info.number_of_processors;
    uint32_t all = info.active_processors_affinity_mask;
    RT_EXPECT_EQ(count, expected);
    RT_EXPECT_EQ(all, count >= 32 ? 0xFFFFFFFFu : (1u << count) - 1);
    RT_EXPECT_EQ(*(volatile uint32_t *)(SHARED_DATA + NT_SHARED_ACTIVE_PROCESSOR_COUNT), count);
    RT_EXPECT_EQ(process_affinity(), all);

    /* Each processor alone, then all of them again. */
    for (uint32_t i = 0; i < count; i++) {
        RT_EXPECT_EQ(set_affinity(1u << i, sizeof(uint32_t)), STATUS_SUCCESS);
        RT_EXPECT_EQ(process_affinity(), 1u << i);
        spin();
    }
    RT_EXPECT_EQ(set_affinity(all, sizeof(uint32_t)), STATUS_SUCCESS);
    RT_EXPECT_EQ(process_affinity(), all);

    /* What Windows refuses: no processor, one that does not run, a wrong length. */
    RT_EXPECT_EQ(set_affinity(0, sizeof(uint32_t)), STATUS_INVALID_PARAMETER);
    if (count < 32)
        RT_EXPECT_EQ(set_affinity(all | (1u << count), sizeof(uint32_t)),
                     STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(set_affinity(1, 2), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_AFFINITY_MASK,
                                         (void *)0x10, sizeof(uint32_t)),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(process_affinity(), all);
    return (int)rt_failure_count();
}
