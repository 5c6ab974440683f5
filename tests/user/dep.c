/*
 * No-execute (DEP) from inside a process: dep.exe is marked NX-compatible, dep_legacy.exe
 * (the same source) is not. Run as
 *     dep.exe FLAGS POLICY NX PAE FETCH
 * with what the kernel's test expects from Windows' rules for this boot and this image:
 * FLAGS the ProcessExecuteFlags the process starts with, POLICY the NX_SUPPORT_POLICY_*
 * of KUSER_SHARED_DATA, NX and PAE its ProcessorFeatures (1 or 0), FETCH 1 when the
 * processor tells an instruction fetch from a read in its page-fault error code (NX or
 * SMEP on, Intel SDM vol. 3A, 4.7), all in decimal. It
 * checks them, then executes a `ret` placed in a data page, on the stack, in a heap page,
 * in a PAGE_EXECUTE_READWRITE page and in a PAGE_EXECUTE_READ one, and from a guard
 * page, and changes its own setting where it may. Exit status 0 when everything was as
 * expected; each difference is reported.
 */
#include "tests/user/runtime/rt.h"

#define RET 0xC3

static uint8_t data_page[4096] __attribute__((aligned(4096))) = {RET};

static struct rt_jump_buffer recovery;
static volatile struct nt_exception_record last;    /* the last fault, code 0: none */

static bool recover(struct nt_exception_record *record, struct nt_context *context)
{
    last = *record;
    rt_context_jump(context, &recovery, 1);
    return true;
}

/* Calls the `ret` at code; the fault it raised (code 0 when it ran). */
static struct nt_exception_record execute(uint32_t code)
{
    last = (struct nt_exception_record){0};
    if (rt_setjmp(&recovery) == 0)
        ((void (*)(void))code)();
    return last;
}

/*
 * Executes at code, which refused says the processor must refuse: an access violation
 * with ExceptionInformation {8, code} (EXCEPTION_EXECUTE_FAULT), or a plain return.
 */
static void expect_execution(const char *what, uint32_t code, bool refused)
{
    struct nt_exception_record fault = execute(code);

    if (refused) {
        RT_EXPECT_MSG(fault.code == STATUS_ACCESS_VIOLATION && fault.parameter_count == 2 &&
                          fault.access == EXCEPTION_EXECUTE_FAULT &&
                          fault.faulting_address == code && fault.exception_address == code,
                      "%s at 0x%08x: expected an execute access violation, got 0x%08x "
                      "(access %u, address 0x%08x, EIP 0x%08x)", what, (unsigned)code,
                      (unsigned)fault.code, fault.access, fault.faulting_address,
                      fault.exception_address);
    } else {
        RT_EXPECT_MSG(fault.code == 0, "%s at 0x%08x: expected to run, got 0x%08x (access %u)",
                      what, (unsigned)code, (unsigned)fault.code, fault.access);
    }
}

static uint32_t allocate(unsigned int protection)
{
    uint32_t base = 0, size = 4096;

    if (!RT_EXPECT(NT_SUCCESS(rt_vm_allocate(&base, &size, MEM_COMMIT | MEM_RESERVE,
                                             protection))))
        return 0;
    *(volatile uint8_t *)base = RET;
    return base;
}

static uint32_t query_flags(void)
{
    uint32_t flags = 0xFFFFFFFF;

    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_EXECUTE_FLAGS,
                                           &flags, sizeof(flags), NULL), STATUS_SUCCESS);
    return flags;
}

static ntstatus_t set_flags(uint32_t flags)
{
    return NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_EXECUTE_FLAGS, &flags,
                                   sizeof(flags));
}

/* Data, stack, heap: refused exactly when DEP is on and the processor can refuse. */
static void execute_everywhere(bool refused, uint32_t heap, uint32_t rwx, uint32_t rx)
{
    volatile uint8_t stack_code[16] = {RET};

    expect_execution("data page", (uint32_t)data_page, refused);
    expect_execution("stack", (uint32_t)stack_code, refused);
    if (heap)
        expect_execution("heap page", heap, refused);
    if (rwx)
        expect_execution("PAGE_EXECUTE_READWRITE page", rwx, false);
    if (rx)
        expect_execution("PAGE_EXECUTE_READ page", rx, false);
}

int main(int argc, char **argv)
{
    uint32_t flags, policy, nx, pae, fetch;
    const volatile uint8_t *shared = (const volatile uint8_t *)NT_SHARED_USER_DATA_ADDRESS;

    if (argc != 6 || !rt_parse_u32(argv[1], &flags) || !rt_parse_u32(argv[2], &policy) ||
        !rt_parse_u32(argv[3], &nx) || !rt_parse_u32(argv[4], &pae) ||
        !rt_parse_u32(argv[5], &fetch)) {
        rt_printf("usage: dep.exe FLAGS POLICY NX PAE FETCH\n");
        return 2;
    }
    RT_EXPECT_EQ(shared[NT_SHARED_NX_SUPPORT_POLICY], policy);
    RT_EXPECT_EQ(shared[NT_SHARED_PROCESSOR_FEATURES + PF_NX_ENABLED], nx);
    RT_EXPECT_EQ(shared[NT_SHARED_PROCESSOR_FEATURES + PF_PAE_ENABLED], pae);
    RT_EXPECT_EQ(query_flags(), flags);
    rt_set_exception_handler(recover);

    uint32_t heap = allocate(PAGE_READWRITE);
    uint32_t rwx = allocate(PAGE_EXECUTE_READWRITE);
    uint32_t rx = allocate(PAGE_EXECUTE_READWRITE);
    unsigned int old;
    uint32_t rx_base = rx, rx_size = 4096;
    if (rx)
        RT_EXPECT(NT_SUCCESS(rt_vm_protect(&rx_base, &rx_size, PAGE_EXECUTE_READ, &old)));
    bool dep = flags & MEM_EXECUTE_OPTION_DISABLE;
    execute_everywhere(dep && nx, heap, rwx, rx);

    /*
     * A guard page goes first: STATUS_GUARD_PAGE_VIOLATION, whose access is a fetch where
     * the processor reports fetches, a read where it cannot tell them apart.
     */
    uint32_t guarded = allocate(PAGE_READWRITE);
    uint32_t guard_base = guarded, guard_size = 4096;
    if (guarded &&
        RT_EXPECT(NT_SUCCESS(rt_vm_protect(&guard_base, &guard_size,
                                           PAGE_READWRITE | PAGE_GUARD, &old)))) {
        struct nt_exception_record fault = execute(guarded);
        RT_EXPECT_EQ(fault.code, STATUS_GUARD_PAGE_VIOLATION);
        RT_EXPECT_EQ(fault.access, fetch ? EXCEPTION_EXECUTE_FAULT : EXCEPTION_READ_FAULT);
        RT_EXPECT_EQ(fault.faulting_address, guarded);
        expect_execution("guard page, guard gone", guarded, dep && nx);
    }

    /*
     * The class's own rules: a ULONG; any process's may be read through a handle with
     * PROCESS_QUERY_INFORMATION (GetProcessDEPPolicy), only the process itself sets its own
     * (SetProcessDEPPolicy has no handle), and no bit outside MEM_EXECUTE_OPTION_VALID_FLAGS.
     */
    struct nt_process_basic_information basic;
    struct nt_object_attributes attributes = {.length = sizeof(attributes)};
    struct nt_client_id id = {0};
    nt_handle_t self = 0;
    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION,
                                           &basic, sizeof(basic), NULL), STATUS_SUCCESS);
    id.unique_process = basic.unique_process_id;
    if (RT_EXPECT_EQ(NtOpenProcess(&self, PROCESS_QUERY_INFORMATION, &attributes, &id),
                     STATUS_SUCCESS)) {
        uint32_t through_handle = 0;
        RT_EXPECT_EQ(NtQueryInformationProcess(self, NT_PROCESS_EXECUTE_FLAGS, &through_handle,
                                               sizeof(through_handle), NULL), STATUS_SUCCESS);
        RT_EXPECT_EQ(through_handle, flags);
        uint32_t value = flags;
        RT_EXPECT_EQ(NtSetInformationProcess(self, NT_PROCESS_EXECUTE_FLAGS, &value,
                                             sizeof(value)), STATUS_INVALID_PARAMETER);
        NtClose(self);
    }
    RT_EXPECT_EQ(NtQueryInformationProcess((nt_handle_t)0x44, NT_PROCESS_EXECUTE_FLAGS, &old,
                                           sizeof(old), NULL), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_EXECUTE_FLAGS, &old,
                                           2, NULL), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_DISABLE | 0x40), STATUS_INVALID_PARAMETER);

    bool fixed = (flags & MEM_EXECUTE_OPTION_PERMANENT) ||
                 policy == NX_SUPPORT_POLICY_ALWAYSON || policy == NX_SUPPORT_POLICY_ALWAYSOFF;
    if (fixed) {
        RT_EXPECT_EQ(set_flags(dep ? MEM_EXECUTE_OPTION_ENABLE : MEM_EXECUTE_OPTION_DISABLE),
                     STATUS_ACCESS_DENIED);
        RT_EXPECT_EQ(query_flags(), flags);
        execute_everywhere(dep && nx, heap, 0, 0);
    } else {
        /*
         * Its own choice, both ways, then for good. The flags are kept as given: DEP is on
         * exactly when MEM_EXECUTE_OPTION_DISABLE is among them.
         */
        RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_DISABLE), STATUS_SUCCESS);
        RT_EXPECT_EQ(query_flags(), MEM_EXECUTE_OPTION_DISABLE);
        execute_everywhere(nx, heap, rwx, rx);
        RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_ENABLE), STATUS_SUCCESS);
        execute_everywhere(false, heap, rwx, rx);
        RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_ENABLE),
                     STATUS_SUCCESS);
        RT_EXPECT_EQ(query_flags(), MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_ENABLE);
        execute_everywhere(nx, heap, 0, 0);
        RT_EXPECT_EQ(set_flags(0), STATUS_SUCCESS);
        RT_EXPECT_EQ(query_flags(), 0);
        execute_everywhere(false, heap, 0, 0);
        RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT),
                     STATUS_SUCCESS);
        execute_everywhere(nx, heap, 0, 0);
        RT_EXPECT_EQ(set_flags(MEM_EXECUTE_OPTION_ENABLE), STATUS_ACCESS_DENIED);
        RT_EXPECT_EQ(query_flags(), MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT);
    }
    rt_set_exception_handler(NULL);
    return (int)rt_failure_count();
}
