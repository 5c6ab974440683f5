/*
 * No-execute: what each process gets under the boot's policy, and what it sees. The
 * expected setting of each image comes from Windows' rules (OptIn: DEP for images marked
 * NX-compatible; OptOut: for all; AlwaysOn, AlwaysOff: for all or none, for good; an
 * NX-compatible image's DEP is permanent, as since Vista), not from the kernel's own
 * function; dep.exe (tests/user/dep.c) then checks from inside that execution is refused
 * exactly where it must be, with the exception Windows raises.
 */
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "boot/paging_mode.h"
#include "kernel/process.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "mm/mm.h"
#include "tests/program_harness.h"

/* ProcessExecuteFlags a new process starts with: by policy, then NX-compatible or not. */
static uint32_t windows_execute_flags(enum nx_policy policy, bool nx_compat)
{
    static const uint32_t flags[4][2] = {
        [NX_POLICY_ALWAYS_OFF] = {MEM_EXECUTE_OPTION_ENABLE | MEM_EXECUTE_OPTION_PERMANENT,
                                  MEM_EXECUTE_OPTION_ENABLE | MEM_EXECUTE_OPTION_PERMANENT},
        [NX_POLICY_ALWAYS_ON] = {MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT,
                                 MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT},
        [NX_POLICY_OPT_IN] = {MEM_EXECUTE_OPTION_ENABLE,
                              MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT},
        [NX_POLICY_OPT_OUT] = {MEM_EXECUTE_OPTION_DISABLE,
                               MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT},
    };
    return flags[policy][nx_compat];
}

/*
 * A process made without an image (as the kernel's tests make them) is a legacy one: its
 * pages, KUSER_SHARED_DATA's first, carry the execute-disable bit exactly when its
 * setting refuses execution and the processor can.
 */
static void new_process_follows_the_policy(struct ktest *t)
{
    struct process *process;
    uint32_t expected = windows_execute_flags(boot_paging_mode.policy, false);

    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("nx-policy", false, &process));
    KT_EXPECT_EQ(t, expected, process->execute_flags);
    process_attach(process);
    mmpte_t pte = *pte_of(MM_SHARED_USER_DATA);
    process_detach();
    KT_EXPECT(t, pte_is_valid(pte));
    KT_EXPECT_EQ(t, boot_paging_mode.nx && (expected & MEM_EXECUTE_OPTION_DISABLE),
                 pte_is_no_execute(pte));
    process_discard(process);
}

static void run_dep(struct ktest *t, const char *program, bool nx_compat)
{
    char arguments[48];
    struct nt_process_exception_information exception;

    if (!have_module(t, program))
        return;
    /* The processor reports fetches in the fault's error code with NX or SMEP on. */
    bool fetch_reported = boot_paging_mode.nx || cpu_features.smep;
    ksnprintf(arguments, sizeof(arguments), "%u %u %u %u %u",
              windows_execute_flags(boot_paging_mode.policy, nx_compat),
              (unsigned)boot_paging_mode.policy, boot_paging_mode.nx, MM_PAE, fetch_reported);
    ntstatus_t status = run_program(program, arguments, &exception);
    if (!KT_EXPECT_EQ(t, 0, status))
        ktest_diag(t, "%s %s ended with 0x%08x", program, arguments, (uint32_t)status);
}

/* An image marked IMAGE_DLLCHARACTERISTICS_NX_COMPAT, and one that is not. */
static void nx_compatible_image(struct ktest *t)
{
    run_dep(t, "dep.exe", true);
}

static void legacy_image(struct ktest *t)
{
    run_dep(t, "dep_legacy.exe", false);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(new_process_follows_the_policy),
    KTEST_CASE(nx_compatible_image),
    KTEST_CASE(legacy_image),
};

KTEST_SUITE(nx_suite, "nx", cases);
