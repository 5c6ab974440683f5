/*
 * vm_remote.exe parent | child | threads
 *
 * The virtual memory and section services aimed at another process. The parent starts
 * itself as the child, then through the child's handle allocates, queries, protects and
 * frees memory there (while its own address space stays untouched), creates a section
 * and maps it into itself and into the child at different addresses, read-write, and
 * once more into the child copy-on-write. The child waits for the view to appear, reads
 * what the parent wrote, answers through the shared page, and checks that its writes
 * to the copy-on-write view stay its own. Exit status: the number of failed checks.
 *
 * `threads`: a second thread sleeps for a minute while the first ends the process with
 * 0x1234; the process must end at once, the sleeper with it.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define REMOTE_ALLOCATION   0x40000000u
#define PARENT_VIEW         0x20000000u
#define CHILD_VIEW          0x30000000u
#define CHILD_COPY_VIEW     0x31000000u
#define SECTION_SIZE        0x10000u
#define MAGIC               0x5EC71011u
#define ANSWER              0xA5A5F00Du
#define CHILD_PRIVATE       0xC0C0C0C0u
#define MAX_YIELDS          200000

static ntstatus_t create_section(nt_handle_t *section)
{
    int64_t size = SECTION_SIZE;
    return rt_syscall(NT_SERVICE_CREATE_SECTION, section, SECTION_ALL_ACCESS, NULL, &size,
                      PAGE_READWRITE, SEC_COMMIT, 0);
}

static ntstatus_t map_view(nt_handle_t section, nt_handle_t process, uint32_t base,
                           unsigned int protection)
{
    uint32_t size = 0;
    int64_t offset = 0;
    ntstatus_t status = rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, process, &base, 0,
                                   0, &offset, &size, 1, 0, protection);
    if (NT_SUCCESS(status))
        RT_EXPECT_EQ(size, SECTION_SIZE);
    return status;
}

/* Yields until the word at address reads value (or the patience runs out). */
static bool wait_for_word(volatile uint32_t *address, uint32_t value)
{
    for (unsigned i = 0; i < MAX_YIELDS; i++) {
        if (*address == value)
            return true;
        NtYieldExecution();
    }
    return false;
}

static int child(void)
{
    struct nt_memory_basic_information info = {0};
    unsigned i;

    /* The parent maps the views after starting us: wait until they are there. */
    for (i = 0; i < MAX_YIELDS; i++) {
        if (NT_SUCCESS(rt_vm_query(CHILD_COPY_VIEW, &info)) && info.state == MEM_COMMIT)
            break;
        NtYieldExecution();
    }
    if (!RT_EXPECT_MSG(i < MAX_YIELDS, "the views never appeared"))
        return (int)rt_failure_count();
    RT_EXPECT_EQ(info.type, MEM_MAPPED);
    RT_EXPECT_EQ(info.protect, PAGE_WRITECOPY);
    volatile uint32_t *view = (volatile uint32_t *)CHILD_VIEW;
    volatile uint32_t *copy = (volatile uint32_t *)CHILD_COPY_VIEW;

    if (!RT_EXPECT_MSG(wait_for_word(&view[0], MAGIC), "the parent's word never came"))
        return (int)rt_failure_count();
    RT_EXPECT_EQ(copy[0], MAGIC);       /* copy-on-write shares until written */
    copy[2] = CHILD_PRIVATE;
    RT_EXPECT_EQ(copy[2], CHILD_PRIVATE);
    RT_EXPECT(view[2] != CHILD_PRIVATE);
    view[1] = ANSWER;
    return (int)rt_failure_count();
}

/* Allocates, queries, protects and frees in the child; the parent's space is untouched. */
static void remote_virtual_memory(nt_handle_t process)
{
    uint32_t base = REMOTE_ALLOCATION, size = 0x10000, old = 0;
    struct nt_memory_basic_information info;

    RT_EXPECT_EQ(NtAllocateVirtualMemory(process, (void **)&base, 0, (size_t *)&size,
                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(base, REMOTE_ALLOCATION);
    RT_EXPECT_EQ(NtQueryVirtualMemory(process, (void *)REMOTE_ALLOCATION, 0, &info,
                                      sizeof(info), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(info.state, MEM_COMMIT);
    RT_EXPECT_EQ(info.type, MEM_PRIVATE);
    RT_EXPECT_EQ(rt_vm_query(REMOTE_ALLOCATION, &info), STATUS_SUCCESS);
    RT_EXPECT_EQ(info.state, MEM_FREE);         /* not here: in the child */
    size = 0x1000;
    RT_EXPECT_EQ(NtProtectVirtualMemory(process, (void **)&base, (size_t *)&size,
                                        PAGE_READONLY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(old, PAGE_READWRITE);
    RT_EXPECT_EQ(NtQueryVirtualMemory(process, (void *)REMOTE_ALLOCATION, 0, &info,
                                      sizeof(info), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(info.protect, PAGE_READONLY);
    base = REMOTE_ALLOCATION;
    size = 0;
    RT_EXPECT_EQ(NtFreeVirtualMemory(process, (void **)&base, (size_t *)&size, MEM_RELEASE),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(NtQueryVirtualMemory(process, (void *)REMOTE_ALLOCATION, 0, &info,
                                      sizeof(info), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(info.state, MEM_FREE);
}

static int parent(void)
{
    struct nt_unicode_string module, command_line;
    unsigned short module_text[32], command_text[32];
    nt_handle_t process, section;
    struct nt_process_basic_information basic;

    rt_unicode_from_ascii(&module, module_text, 32, "vm_remote.exe");
    rt_unicode_from_ascii(&command_line, command_text, 32, "vm_remote.exe child");
    if (!RT_EXPECT_EQ(NtCreateProcessFromModule(&process, &module, &command_line),
                      STATUS_SUCCESS))
        return (int)rt_failure_count();
    remote_virtual_memory(process);

    if (RT_EXPECT_EQ(create_section(&section), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(map_view(section, NT_CURRENT_PROCESS, PARENT_VIEW, PAGE_READWRITE),
                     STATUS_SUCCESS);
        RT_EXPECT_EQ(map_view(section, process, CHILD_VIEW, PAGE_READWRITE), STATUS_SUCCESS);
        RT_EXPECT_EQ(map_view(section, process, CHILD_COPY_VIEW, PAGE_WRITECOPY),
                     STATUS_SUCCESS);
        volatile uint32_t *view = (volatile uint32_t *)PARENT_VIEW;
        view[0] = MAGIC;
        RT_EXPECT_MSG(wait_for_word(&view[1], ANSWER), "the child never answered");
    }
    RT_EXPECT_EQ(NtWaitForSingleObject(process, 0, NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtQueryInformationProcess(process, NT_PROCESS_BASIC_INFORMATION, &basic,
                                           sizeof(basic), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(basic.exit_status, 0);
    volatile uint32_t *view = (volatile uint32_t *)PARENT_VIEW;
    RT_EXPECT(view[2] != CHILD_PRIVATE);        /* the child's copy stayed its own */
    RT_EXPECT_EQ(view[1], ANSWER);
    RT_EXPECT_EQ(rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, PARENT_VIEW),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(section), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtClose(process), STATUS_SUCCESS);
    return (int)rt_failure_count();
}

#define THREADS_EXIT_STATUS 0x1234

static void sleeper(void *unused)
{
    const int64_t one_minute = -600000000LL;

    (void)unused;
    NtDelayExecution(0, &one_minute);
    NtTerminateThread(NT_CURRENT_THREAD, 0);
}

static int threads(void)
{
    if (!RT_EXPECT_EQ(NtCreateThread(sleeper, NULL), STATUS_SUCCESS))
        return (int)rt_failure_count();
    NtYieldExecution();         /* let the sleeper start its sleep */
    NtTerminateProcess(NT_CURRENT_PROCESS, THREADS_EXIT_STATUS);
    return -1;                  /* not reached */
}

int main(int argc, char **argv)
{
    if (argc == 2 && rt_streq(argv[1], "parent"))
        return parent();
    if (argc == 2 && rt_streq(argv[1], "child"))
        return child();
    if (argc == 2 && rt_streq(argv[1], "threads"))
        return threads();
    rt_printf("usage: %s parent|child|threads\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
