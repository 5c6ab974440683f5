/*
 * Security: what a ring-3 program does to stop the kernel, escape its process or keep
 * memory that is not its own. Each attack is attack.exe (tests/user/attack.c) in a
 * process of its own, which must end with the status Windows gives it (or finish)
 * while the kernel goes on and gets back every frame, page of commit, pool block and
 * system PTE. Without attack.exe the cases are skipped, not passed.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/trap.h"
#include "kernel/isolation_probe.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "tests/program_harness.h"
#include "tests/user/status.h"

#define ATTACK_TIMEOUT_TICKS    (30 * 1000)     /* PIT_HZ = 1000 */
#define VICTIM_BASE             0x20000000u     /* attack.c's */
#define VICTIM_MAX_PAGES        32768u          /* 128 MB: room at VICTIM_BASE, and quick */

static void sleep_ticks(uint64_t ticks)
{
    struct wait_queue nobody;

    wait_queue_init(&nobody);
    scheduler_wait(&nobody, ticks);
}

/*
 * Waits for process to end, at most ATTACK_TIMEOUT_TICKS; a process still running then is
 * a failure (a thread the kernel lost track of), and is ended so that the case can go on.
 */
static ntstatus_t wait_for_end(struct ktest *t, struct process *process)
{
    if (process_wait(process, ATTACK_TIMEOUT_TICKS) != STATUS_SUCCESS) {
        ktest_diag(t, "%s (%u) did not end in %u s", process->name, process->id,
                   ATTACK_TIMEOUT_TICKS / 1000);
        KT_EXPECT(t, process->exited);
        process_terminate(process, STATUS_TIMEOUT);
        process_wait(process, WAIT_FOREVER);
    }
    ntstatus_t status = process->exit_status;
    object_dereference(&process->header);
    return status;
}

/*
 * Runs "attack.exe arguments" and checks it ends with expected, nothing leaked; how it
 * faulted goes to *exception if that is not NULL.
 */
static bool expect_attack_faulting(struct ktest *t, const char *arguments, ntstatus_t expected,
                                   struct nt_process_exception_information *exception)
{
    struct resources before;
    struct process *process;

    take_snapshot(&before);
    ntstatus_t status = start_program("attack.exe", arguments, &process);
    if (NT_SUCCESS(status)) {
        if (exception) {
            object_reference(&process->header);
            status = wait_for_end(t, process);
            *exception = process->exception;
            object_dereference(&process->header);
        } else {
            status = wait_for_end(t, process);
        }
    }
    bool ok = KT_EXPECT_EQ(t, expected, status);
    if (!ok)
        ktest_diag(t, "attack.exe %s", arguments);
    expect_nothing_leaked(t, &before);
    return ok;
}

static bool expect_attack(struct ktest *t, const char *arguments, ntstatus_t expected)
{
    return expect_attack_faulting(t, arguments, expected, NULL);
}

#define NEEDS_ATTACK_EXE(t)                                                             \
    do {                                                                                \
        if (!have_module((t), "attack.exe"))                                            \
            KT_SKIP((t), "attack.exe not loaded");                                      \
    } while (0)

/* ---- segments, stacks and iret frames ---- */

/*
 * The kernel has no LDT (LDTR holds the null selector): every LDT selector is a #GP in
 * the program, not a kernel stop.
 */
static void ldt_selectors_end_only_the_process(struct ktest *t)
{
    static const char *const segments[] = {"ds", "es", "fs", "gs", "ss"};
    char arguments[16];

    uint16_t ldtr;
    __asm__ volatile("sldt %0" : "=r"(ldtr));
    KT_EXPECT_EQ(t, 0, ldtr);               /* the null selector: no LDT at all */
    NEEDS_ATTACK_EXE(t);
    for (unsigned i = 0; i < ARRAY_SIZE(segments); i++) {
        ksnprintf(arguments, sizeof(arguments), "ldt %s", segments[i]);
        expect_attack(t, arguments, STATUS_ACCESS_VIOLATION);
    }
}

/*
 * Far returns, far calls and iret with the stack in the null region, unmapped, read-only
 * or on a guard page: a fault of the program (whose trapped CS is ring 3, whatever the
 * page fault's U/S bit says), never of the kernel.
 */
static void bad_stacks_for_far_transfers_end_only_the_process(struct ktest *t)
{
    static const char *const kinds[] = {"far-return", "far-call", "iret"};
    static const char *const places[] = {"null", "unmapped", "readonly", "guard"};
    char arguments[32];

    NEEDS_ATTACK_EXE(t);
    for (unsigned k = 0; k < ARRAY_SIZE(kinds); k++) {
        for (unsigned p = 0; p < ARRAY_SIZE(places); p++) {
            bool guard = p == ARRAY_SIZE(places) - 1;
            ksnprintf(arguments, sizeof(arguments), "%s %s", kinds[k], places[p]);
            expect_attack(t, arguments,
                          guard ? STATUS_GUARD_PAGE_VIOLATION : STATUS_ACCESS_VIOLATION);
        }
    }
    /*
     * Popping from the page that is never mapped: the read is refused there, also where
     * an emulator reads with supervisor rights (a present supervisor page is the probes'
     * business, below).
     */
    static const char *const reads[] = {"far-return system", "iret system"};
    for (unsigned r = 0; r < ARRAY_SIZE(reads); r++) {
        struct nt_process_exception_information exception = {0};
        expect_attack_faulting(t, reads[r], STATUS_ACCESS_VIOLATION, &exception);
        /* At one of the words popped: which one first differs (Bochs reads CS first). */
        KT_EXPECT(t, exception.faulting_address - 0xFFFFF800 < 12);
        KT_EXPECT_EQ(t, 0, exception.access);
    }
}

/* iret to the kernel's CS, into virtual-8086 mode, with IOPL 3, and with NT set. */
static void crafted_iret_frames_end_only_the_process(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "iret-kernel-cs", STATUS_ACCESS_VIOLATION);
    uint32_t before = trap_virtual_8086_count;
    expect_attack(t, "iret-vm86", STATUS_ACCESS_VIOLATION);
    if (trap_virtual_8086_count != before)
        ktest_diag(t, "the emulator entered virtual-8086 mode from ring 3; the kernel ended "
                      "the process there");
    expect_attack(t, "iret-iopl", STATUS_PRIVILEGED_INSTRUCTION);
    expect_attack(t, "nested-task", STATUS_ACCESS_VIOLATION);
}

/*
 * NtContinue keeps nothing of a context that ring 3 could not set itself; a stack pointer
 * it hands back that points nowhere good is the program's fault at its next pop.
 */
static void continue_sanitizes_the_context(struct ktest *t)
{
    static const char *const places[] = {"null", "unmapped", "readonly", "system", "guard"};
    char arguments[32];

    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "continue-sanitize", STATUS_SUCCESS);
    for (unsigned p = 0; p < ARRAY_SIZE(places); p++) {
        bool guard = p == ARRAY_SIZE(places) - 1;
        ksnprintf(arguments, sizeof(arguments), "continue-stack %s", places[p]);
        expect_attack(t, arguments, guard ? STATUS_GUARD_PAGE_VIOLATION : STATUS_ACCESS_VIOLATION);
    }
}

/* ---- exceptions ---- */

/* A single step is STATUS_SINGLE_STEP, and the dispatcher does not step itself. */
static void single_step_as_windows_delivers_it(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "single-step", STATUS_SINGLE_STEP);
    expect_attack(t, "single-step-handled", STATUS_SUCCESS);
    expect_attack(t, "step-into-kernel", STATUS_SINGLE_STEP);
}

/* Each thread has its own turn in the dispatcher. */
static void second_thread_fault_is_dispatched(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "two-threads-fault", STATUS_SUCCESS);
}

/* rdpmc is privileged (CR4.PCE is clear); sgdt is too where the kernel turned UMIP on. */
static void privileged_instructions(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "rdpmc", STATUS_PRIVILEGED_INSTRUCTION);
    bool umip = cpu_read_cr4() & CR4_UMIP;
    expect_attack(t, "sgdt", umip ? STATUS_PRIVILEGED_INSTRUCTION : STATUS_SUCCESS);
}

/* SMEP and UMIP are on exactly where CPUID reports them. */
static void smep_and_umip_follow_the_processor(struct ktest *t)
{
    uint32_t cr4 = cpu_read_cr4();

    KT_EXPECT_EQ(t, cpu_features.smep, (cr4 & CR4_SMEP) != 0);
    KT_EXPECT_EQ(t, cpu_features.umip, (cr4 & CR4_UMIP) != 0);
    ktest_diag(t, "SMEP %s, UMIP %s", cpu_features.smep ? "on" : "absent from this processor",
               cpu_features.umip ? "on" : "absent from this processor");
}

/* ---- threads and termination ---- */

/* Several threads terminating their own process at once: one exit, no double release. */
static void termination_from_many_threads_at_once(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    for (unsigned round = 0; round < 3; round++)
        expect_attack(t, "terminate-race 8", (ntstatus_t)USER_STATUS_TERMINATED);
}

static volatile uint32_t calls_after_termination;

/* Counts the system calls that threads of a terminating process begin: there must be none. */
static void watch_calls_after_termination(uint32_t number, bool returning, ntstatus_t status)
{
    (void)number;
    (void)status;
    if (!returning && process_current()->terminating)
        calls_after_termination++;
}

/*
 * Threads that never ran, and threads asleep for an hour, end with their process: none
 * reaches ring 3 again, so none makes another system call.
 */
static void termination_ends_ready_and_waiting_threads(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    calls_after_termination = 0;
    syscall_observer = watch_calls_after_termination;
    expect_attack(t, "terminate-ready 16", (ntstatus_t)USER_STATUS_TERMINATED);
    expect_attack(t, "terminate-waiting 8", (ntstatus_t)USER_STATUS_TERMINATED);
    syscall_observer = NULL;
    KT_EXPECT_EQ(t, 0, calls_after_termination);
}

static struct process *watched_process;
static volatile bool thread_refused;
static volatile ntstatus_t thread_refused_with;

static void watch_thread_creation(uint32_t number, bool returning, ntstatus_t status)
{
    if (number == NT_SERVICE_CREATE_THREAD && returning && !NT_SUCCESS(status) &&
        process_current() == watched_process && !thread_refused) {
        thread_refused_with = status;
        thread_refused = true;
    }
}

/*
 * A process makes threads until the kernel refuses one, while another holds committed
 * memory it has not touched yet: every thread's stack and block is charged, so the
 * refusal comes first, and the other process then finds a frame for every page it was
 * promised (with a pagefile, by paging). Both end, and everything comes back.
 */
static void threads_cannot_take_memory_committed_to_others(struct ktest *t)
{
    struct resources before;
    struct process *victim, *attacker;
    char arguments[32];

    NEEDS_ATTACK_EXE(t);
    uint32_t room = MIN(MmTotalCommitLimit - MmTotalCommittedPages, MmResidentAvailablePages);
    uint32_t margin = MIN(room / 3, 2500u);
    uint32_t victim_pages = MIN(room - margin, VICTIM_MAX_PAGES);
    take_snapshot(&before);

    ksnprintf(arguments, sizeof(arguments), "victim %u", victim_pages);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program("attack.exe", arguments, &victim));
    for (unsigned i = 0; i < 1000 && !victim->exited &&
                         victim->space.commit_charge < victim_pages; i++)
        sleep_ticks(10);
    KT_EXPECT(t, victim->space.commit_charge >= victim_pages);

    thread_refused = false;
    watched_process = NULL;
    syscall_observer = watch_thread_creation;
    ntstatus_t status = start_program("attack.exe", "threads", &attacker);
    if (NT_SUCCESS(status)) {
        watched_process = attacker;
        for (unsigned i = 0; i < ATTACK_TIMEOUT_TICKS / 10 && !thread_refused &&
                             !attacker->exited; i++)
            sleep_ticks(10);
    }
    syscall_observer = NULL;
    KT_EXPECT(t, thread_refused);
    KT_EXPECT(t, thread_refused_with == STATUS_COMMITMENT_LIMIT ||
                 thread_refused_with == STATUS_INSUFFICIENT_RESOURCES ||
                 thread_refused_with == STATUS_NO_MEMORY);
    if (NT_SUCCESS(status))
        ktest_diag(t, "%u pages committed by the victim; the attacker had %u threads when "
                      "one was refused with 0x%08X", victim_pages, attacker->thread_count,
                   (uint32_t)thread_refused_with);

    /* Now the victim touches everything it was promised. */
    uint32_t go = 1;
    if (!victim->exited) {
        process_attach(victim);
        KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(VICTIM_BASE, &go, sizeof(go)));
        process_detach();
    }
    KT_EXPECT_EQ(t, STATUS_SUCCESS, wait_for_end(t, victim));
    if (NT_SUCCESS(status)) {
        process_terminate(attacker, STATUS_SUCCESS);
        KT_EXPECT_EQ(t, STATUS_SUCCESS, wait_for_end(t, attacker));
    }
    watched_process = NULL;
    expect_nothing_leaked(t, &before);
}

/* ---- the verdict ---- */

/*
 * A program prints lines that look like the kernel's verdict (a failed case, a wrong
 * split, a stop, a process's exit). The kernel marks every line a program writes, so the
 * host's judge passes over them: were the mark missing, this very boot would fail.
 */
static void printed_lines_cannot_forge_the_verdict(struct ktest *t)
{
    NEEDS_ATTACK_EXE(t);
    expect_attack(t, "forge", STATUS_SUCCESS);
    ktest_diag(t, "the lines above that start with a process id and '|' are the program's");
}

/* ---- the emulator ---- */

/*
 * Runs a probe of kernel/isolation_probe.c again: it must find what the boot's found.
 * Where the processor let ring 3 through (an emulator's defect), nothing the kernel does
 * can hold isolation, and the case says so as a skip with why, never as a pass.
 */
static void expect_probe_held(struct ktest *t, enum isolation_probe_result (*probe)(void),
                              enum isolation_probe_result at_boot, const char *if_broken)
{
    enum isolation_probe_result result = probe();

    KT_EXPECT_EQ(t, at_boot, result);
    KT_ASSERT(t, result != ISOLATION_PROBE_FAILED && result != ISOLATION_PROBE_NOT_RUN);
    if (result == ISOLATION_PROBE_BROKEN)
        KT_SKIP(t, if_broken);
}

/* A ring-3 far call's pushes onto a supervisor page must fault. */
static void far_call_pushes_onto_supervisor_pages_fault(struct ktest *t)
{
    expect_probe_held(t, isolation_probe_far_call, isolation_far_call_result,
                      "this processor (an emulator: QEMU's TCG) makes a ring-3 far call's "
                      "pushes with supervisor rights, so ring 3 can write kernel memory; "
                      "see README, Security");
}

/* So must a ring-3 far return's pops from one. */
static void far_return_pops_from_supervisor_pages_fault(struct ktest *t)
{
    expect_probe_held(t, isolation_probe_far_return, isolation_far_return_result,
                      "this processor (an emulator: QEMU's TCG) makes a ring-3 far return's "
                      "pops with supervisor rights, so ring 3 can read kernel memory; see "
                      "README, Security");
}

/* And a ring-3 iret must not enter virtual-8086 mode. */
static void iret_cannot_enter_virtual_8086_mode(struct ktest *t)
{
    expect_probe_held(t, isolation_probe_virtual_8086, isolation_virtual_8086_result,
                      "this processor (an emulator: QEMU's TCG) lets a ring-3 iret enter "
                      "virtual-8086 mode, where a program can keep interrupts out and hang "
                      "the machine; see README, Security");
}

static const struct ktest_case cases[] = {
    KTEST_CASE(ldt_selectors_end_only_the_process),
    KTEST_CASE(bad_stacks_for_far_transfers_end_only_the_process),
    KTEST_CASE(crafted_iret_frames_end_only_the_process),
    KTEST_CASE(continue_sanitizes_the_context),
    KTEST_CASE(single_step_as_windows_delivers_it),
    KTEST_CASE(second_thread_fault_is_dispatched),
    KTEST_CASE(privileged_instructions),
    KTEST_CASE(smep_and_umip_follow_the_processor),
    KTEST_CASE(termination_from_many_threads_at_once),
    KTEST_CASE(termination_ends_ready_and_waiting_threads),
    KTEST_CASE(threads_cannot_take_memory_committed_to_others),
    KTEST_CASE(printed_lines_cannot_forge_the_verdict),
    KTEST_CASE(far_call_pushes_onto_supervisor_pages_fault),
    KTEST_CASE(far_return_pops_from_supervisor_pages_fault),
    KTEST_CASE(iret_cannot_enter_virtual_8086_mode),
};

KTEST_SUITE(security_suite, "security", cases);
