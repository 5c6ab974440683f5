/*
 * attack.exe KIND [ARGUMENT]: one attack of a ring-3 program on the kernel. The security
 * suite (tests/test_security.c) runs each in a process of its own: the kernel must end
 * the process with the status named here, or let it finish, and go on.
 *
 * Segments, stacks and iret frames (SDM vol. 3A, 5.8 and 6.12; vol. 2, IRET):
 *   ldt SEG               loads an LDT selector into SEG (ds es fs gs ss): the kernel has
 *                         no LDT, so #GP                               ACCESS_VIOLATION
 *   far-return WHERE      retf with ESP at WHERE
 *   far-call WHERE        lcall with ESP at WHERE
 *   iret WHERE            iret with ESP at WHERE
 *       WHERE: null (0x1000), unmapped (reserved, never committed), readonly: ACCESS_VIOLATION;
 *              guard: GUARD_PAGE_VIOLATION
 *   iret-kernel-cs        iret to CS 0x08, the kernel's                ACCESS_VIOLATION
 *   iret-vm86             iret with EFLAGS.VM set and EIP 0: a CPU ignores VM below CPL 0
 *                         and jumps to 0; an emulator that enters virtual-8086 mode is
 *                         ended there by the kernel                    ACCESS_VIOLATION
 *   iret-iopl             iret with IOPL 3, then cli: IOPL stays 0     PRIVILEGED_INSTRUCTION
 *   nested-task           EFLAGS.NT set, then iret: a task return with no task to return
 *                         to, #TS                                      ACCESS_VIOLATION
 *   continue-stack WHERE  the handler resumes with ESP at WHERE (the places above, or system:
 *                         0xFFFFF800): the next push faults and the process ends as above
 *                         (system: ACCESS_VIOLATION)
 *   continue-sanitize     the handler hands NtContinue EFLAGS with IOPL 3, NT, VM, VIF and
 *                         VIP: the thread resumes in ring 3 with none of them, CS 0x1B   0
 * Exceptions as Windows delivers them:
 *   single-step           TF set, no handler                           SINGLE_STEP
 *   step-into-kernel      TF set, then `pop ss` and `int 0x2E`: the step is held back past
 *                         the int and lands in ring 0; the kernel drops it there, and the
 *                         program's own TF steps its next instruction      SINGLE_STEP
 *   single-step-handled   TF set: the handler sees STATUS_SINGLE_STEP once, after the
 *                         stepped instruction, with TF clear           0
 *   two-threads-fault     a thread faults while another is in the dispatcher: both are
 *                         handled                                      0
 *   rdpmc                 with CR4.PCE clear                           PRIVILEGED_INSTRUCTION
 *   sgdt                  survives (0) unless the kernel turned UMIP on (PRIVILEGED_INSTRUCTION)
 * Threads and termination:
 *   terminate-race N      N threads spinning in ring 3 and the main thread all call
 *                         NtTerminateProcess(self) at once             USER_STATUS_TERMINATED
 *   terminate-ready N     N threads made, none run yet; then NtTerminateProcess(self)
 *   terminate-waiting N   N threads asleep for an hour; then NtTerminateProcess(self)
 *   threads               makes threads that sleep for an hour until NtCreateThread fails,
 *                         prints how many and why, then sleeps itself (the suite ends it)
 *   victim PAGES          commits PAGES at VICTIM_BASE, waits until the suite writes a
 *                         nonzero word at VICTIM_BASE, then writes every page: 0
 * The verdict:
 *   forge                 prints lines that look like the kernel's own verdict lines  0
 * Bad arguments give USER_STATUS_USAGE.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE                0x1000u
#define REGION              0x10000u        /* one allocation granule */
#define VICTIM_BASE         0x20000000u
#define KERNEL_CODE_SELECTOR 0x08u
#define LDT_SELECTOR        0x07u           /* index 0, TI = 1 (the LDT), RPL 3 */
#define EFLAGS_RESERVED     0x00000002u
#define MAX_THREADS         64
#define STEP_WAIT_MS        1

static const int64_t one_hour = -36000000000LL;     /* relative, 100 ns units */

static void sleep_ms(uint32_t ms)
{
    int64_t interval = -(int64_t)ms * 10000;
    NtDelayExecution(0, &interval);
}

static _Noreturn void sleep_forever(void)
{
    for (;;)
        NtDelayExecution(0, &one_hour);
}

static _Noreturn void sleeper(void *unused)
{
    (void)unused;
    sleep_forever();
}

/* ---- segments, stacks, iret frames ---- */

static int load_ldt_selector(const char *segment)
{
    uint16_t selector = LDT_SELECTOR;

    if (rt_streq(segment, "ds"))
        __asm__ volatile("movw %0, %%ds" : : "r"(selector));
    else if (rt_streq(segment, "es"))
        __asm__ volatile("movw %0, %%es" : : "r"(selector));
    else if (rt_streq(segment, "fs"))
        __asm__ volatile("movw %0, %%fs" : : "r"(selector));
    else if (rt_streq(segment, "gs"))
        __asm__ volatile("movw %0, %%gs" : : "r"(selector));
    else if (rt_streq(segment, "ss"))
        __asm__ volatile("movw %0, %%ss" : : "r"(selector));
    else
        return (int)USER_STATUS_USAGE;
    return (int)USER_STATUS_FAULT_SURVIVED;
}

/* A stack pointer in the middle of a fresh region of the kind where names; 0 if unknown. */
static uint32_t bad_stack(const char *where)
{
    uint32_t base = 0, size = REGION;

    if (rt_streq(where, "null"))
        return 0x1000;
    if (rt_streq(where, "system"))
        return 0xFFFFF800;                      /* the top page: never mapped, any split */
    if (rt_streq(where, "unmapped"))
        rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_READWRITE);
    else if (rt_streq(where, "readonly"))
        rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
    else if (rt_streq(where, "guard"))
        rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    return base ? base + REGION / 2 : 0;
}

static int with_bad_stack(const char *kind, const char *where)
{
    /* No far call into system space: its pushes would write kernel memory on QEMU. */
    uint32_t esp = rt_streq(kind, "far-call") && rt_streq(where, "system") ? 0
                                                                            : bad_stack(where);

    if (!esp)
        return (int)USER_STATUS_USAGE;
    if (rt_streq(kind, "far-return"))
        __asm__ volatile("movl %0, %%esp\n\tlret" : : "r"(esp) : "memory");
    else if (rt_streq(kind, "far-call"))
        __asm__ volatile("movl %0, %%esp\n\tlcall $0x1b, $1f\n1:" : : "r"(esp) : "memory");
    else if (rt_streq(kind, "iret"))
        __asm__ volatile("movl %0, %%esp\n\tiret" : : "r"(esp) : "memory");
    return (int)USER_STATUS_USAGE;
}

/* iret through a frame of EIP, CS, EFLAGS (and, for a virtual-8086 return, five more). */
static void iret_through(const uint32_t *frame)
{
    __asm__ volatile("movl %0, %%esp\n\tiret" : : "r"(frame) : "memory");
}

static int crafted_iret(const char *kind)
{
    static uint32_t frame[9];

    if (rt_streq(kind, "iret-kernel-cs")) {
        frame[0] = (uint32_t)sleep_forever;
        frame[1] = KERNEL_CODE_SELECTOR;
        frame[2] = EFLAGS_IF | EFLAGS_RESERVED;
    } else if (rt_streq(kind, "iret-vm86")) {
        /* EIP 0 in either reading: CS:IP 001B:0000 is linear 0x1B0, in the null region. */
        frame[0] = 0;
        frame[1] = NT_USER_CODE_SELECTOR;
        frame[2] = EFLAGS_VM | EFLAGS_IF | EFLAGS_RESERVED;
        frame[3] = 0x1000;                      /* SP; SS, ES, DS, FS, GS all 0 */
    } else {
        return (int)USER_STATUS_USAGE;
    }
    iret_through(frame);
    return (int)USER_STATUS_FAULT_SURVIVED;
}

/* iret asking for IOPL 3, then cli: ring 3 cannot raise its IOPL, so cli faults. */
static int iret_with_iopl(void)
{
    __asm__ volatile("pushfl\n\t"
                     "orl %0, (%%esp)\n\t"
                     "pushl %1\n\t"
                     "pushl $1f\n\t"
                     "iret\n"
                     "1:\tcli\n\t"
                     "ud2"                      /* had cli run, end without leaving IF clear */
                     : : "i"(EFLAGS_IOPL), "i"(NT_USER_CODE_SELECTOR) : "memory");
    return (int)USER_STATUS_FAULT_SURVIVED;
}

static int nested_task(void)
{
    __asm__ volatile("pushfl\n\t"
                     "orl %0, (%%esp)\n\t"
                     "popfl\n\t"
                     "pushfl\n\t"
                     "pushl %1\n\t"
                     "pushl $1f\n\t"
                     "iret\n"
                     "1:"
                     : : "i"(EFLAGS_NT), "i"(NT_USER_CODE_SELECTOR) : "memory", "cc");
    return (int)USER_STATUS_FAULT_SURVIVED;
}

/* ---- exceptions ---- */

static struct rt_jump_buffer recovery;
static volatile unsigned int handler_calls;
static struct nt_exception_record last_record;
static struct nt_context last_context;

static uint32_t read_eflags(void)
{
    uint32_t eflags;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(eflags));
    return eflags;
}

static bool tamper_with_flags(struct nt_exception_record *record, struct nt_context *context)
{
    (void)record;
    handler_calls++;
    rt_context_jump(context, &recovery, 1);
    context->eflags |= EFLAGS_IOPL | EFLAGS_NT | EFLAGS_VM | EFLAGS_VIF | EFLAGS_VIP;
    return true;
}

static uint32_t resume_stack;

/* Where the bad stack is resumed: a push onto it, then (had that worked) ud2. */
extern const char push_onto_stack[];
__asm__(".text\n"
        "_push_onto_stack:\n\t"
        "pushl %eax\n\t"
        "ud2");

/* Resumes once at push_onto_stack with ESP at resume_stack; the next fault ends it all. */
static bool resume_on_bad_stack(struct nt_exception_record *record, struct nt_context *context)
{
    (void)record;
    if (handler_calls++)
        return false;
    context->eip = (uint32_t)push_onto_stack;
    context->esp = resume_stack;
    return true;
}

static int continue_with_stack(const char *where)
{
    resume_stack = bad_stack(where);
    if (!resume_stack)
        return (int)USER_STATUS_USAGE;
    rt_set_exception_handler(resume_on_bad_stack);
    rt_probe_read(0);
    return (int)USER_STATUS_FAULT_SURVIVED;
}

static int continue_sanitized(void)
{
    uint16_t cs;

    rt_set_exception_handler(tamper_with_flags);
    if (rt_setjmp(&recovery) == 0)
        rt_probe_read(0);
    uint32_t eflags = read_eflags();
    __asm__ volatile("movw %%cs, %0" : "=r"(cs));
    RT_EXPECT_EQ(handler_calls, 1);
    RT_EXPECT_EQ(eflags & (EFLAGS_IOPL | EFLAGS_NT | EFLAGS_VM | EFLAGS_VIF | EFLAGS_VIP), 0);
    RT_EXPECT_EQ(eflags & EFLAGS_IF, EFLAGS_IF);
    RT_EXPECT_EQ(cs, NT_USER_CODE_SELECTOR);
    return (int)rt_failure_count();
}

/* Sets TF; the instruction after popfl runs, then #DB. Returns that instruction's end. */
static uint32_t step_once(void)
{
    uint32_t after;

    __asm__ volatile("pushfl\n\t"
                     "orl %1, (%%esp)\n\t"
                     "popfl\n\t"
                     "movl $1f, %0\n"           /* the stepped instruction */
                     "1:"
                     : "=r"(after) : "i"(EFLAGS_TF) : "memory", "cc");
    return after;
}

static int step_into_kernel(void)
{
    uint32_t service = NT_SERVICE_TEST_ALERT;

    __asm__ volatile("pushl %%ss\n\t"
                     "pushfl\n\t"
                     "orl %1, (%%esp)\n\t"
                     "popfl\n\t"
                     "popl %%ss\n\t"          /* holds the step back past the next one */
                     "int %2\n\t"
                     "nop"
                     : "+a"(service)
                     : "i"(EFLAGS_TF), "i"(NT_SYSCALL_VECTOR), "d"(0)
                     : "memory", "cc");
    return (int)USER_STATUS_FAULT_SURVIVED;
}

static bool record_step(struct nt_exception_record *record, struct nt_context *context)
{
    handler_calls++;
    last_record = *record;
    last_context = *context;
    return true;                                /* resume where the step ended */
}

static int single_step(bool handled)
{
    if (!handled) {
        step_once();
        return (int)USER_STATUS_FAULT_SURVIVED;
    }
    rt_set_exception_handler(record_step);
    uint32_t after = step_once();
    __asm__ volatile("nop; nop");               /* not stepped any more */
    RT_EXPECT_EQ(handler_calls, 1);
    RT_EXPECT_EQ(last_record.code, STATUS_SINGLE_STEP);
    RT_EXPECT_EQ(last_record.exception_address, after);
    RT_EXPECT_EQ(last_context.eip, after);
    RT_EXPECT_EQ(last_context.eflags & EFLAGS_TF, 0);
    RT_EXPECT_EQ(read_eflags() & EFLAGS_TF, 0);
    return (int)rt_failure_count();
}

/* Two threads in the dispatcher at once: A (main) waits there until B's fault is handled. */
#define FAULT_A 0x100u
#define FAULT_B 0x200u
static struct rt_jump_buffer recovery_b;
static volatile bool a_in_dispatcher, b_handled, b_done;

static bool handle_either(struct nt_exception_record *record, struct nt_context *context)
{
    if (record->faulting_address == FAULT_A) {
        a_in_dispatcher = true;
        for (unsigned i = 0; i < 5000 && !b_handled; i++)
            sleep_ms(STEP_WAIT_MS);
        rt_context_jump(context, &recovery, 1);
        return b_handled;
    }
    if (record->faulting_address == FAULT_B && a_in_dispatcher) {
        b_handled = true;
        rt_context_jump(context, &recovery_b, 1);
        return true;
    }
    return false;
}

static _Noreturn void fault_b(void *unused)
{
    (void)unused;
    while (!a_in_dispatcher)
        NtYieldExecution();
    if (rt_setjmp(&recovery_b) == 0)
        rt_probe_read(FAULT_B);
    b_done = true;
    NtTerminateThread(NT_CURRENT_THREAD, 0);
    sleep_forever();
}

static int two_threads_fault(void)
{
    rt_set_exception_handler(handle_either);
    if (!RT_EXPECT_EQ(NtCreateThread(fault_b, NULL), STATUS_SUCCESS))
        return (int)rt_failure_count();
    if (rt_setjmp(&recovery) == 0)
        rt_probe_read(FAULT_A);
    for (unsigned i = 0; i < 5000 && !b_done; i++)
        sleep_ms(STEP_WAIT_MS);
    RT_EXPECT(b_handled);
    RT_EXPECT(b_done);
    return (int)rt_failure_count();
}

static int privileged(const char *kind)
{
    if (rt_streq(kind, "rdpmc")) {
        uint32_t low, high;
        __asm__ volatile("rdpmc" : "=a"(low), "=d"(high) : "c"(0));
    } else {
        struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr;
        __asm__ volatile("sgdt %0" : "=m"(gdtr));
        return 0;                               /* no UMIP: sgdt is allowed */
    }
    return (int)USER_STATUS_FAULT_SURVIVED;
}

/* ---- threads and termination ---- */

static volatile bool go;
static volatile uint32_t started;

static _Noreturn void terminate_when_told(void *unused)
{
    (void)unused;
    while (!go)
        ;                                       /* spin: the timer preempts it here */
    NtTerminateProcess(NT_CURRENT_PROCESS, (ntstatus_t)USER_STATUS_TERMINATED);
    sleep_forever();
}

static _Noreturn void start_then_sleep(void *unused)
{
    (void)unused;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    sleep_forever();
}

static int terminate(const char *kind, uint32_t count)
{
    bool race = rt_streq(kind, "terminate-race"), waiting = rt_streq(kind, "terminate-waiting");
    void (*start)(void *) = race ? terminate_when_told : start_then_sleep;

    if (count == 0 || count > MAX_THREADS)
        return (int)USER_STATUS_USAGE;
    for (uint32_t i = 0; i < count; i++)
        if (!RT_EXPECT_EQ(NtCreateThread(start, NULL), STATUS_SUCCESS))
            return (int)rt_failure_count();
    if (race) {
        go = true;
        for (unsigned i = 0; i < 3; i++)
            NtYieldExecution();                 /* let some of them get there first */
    }
    while (waiting && started < count)
        NtYieldExecution();
    if (waiting)
        sleep_ms(20);                           /* each is inside its NtDelayExecution */
    NtTerminateProcess(NT_CURRENT_PROCESS, (ntstatus_t)USER_STATUS_TERMINATED);
    return (int)USER_STATUS_FAULT_SURVIVED;
}

static int make_threads_until_refused(void)
{
    uint32_t made = 0;
    ntstatus_t status;

    while (NT_SUCCESS(status = NtCreateThread(sleeper, NULL)))
        made++;
    rt_printf("attack: %u threads made; the next was refused with 0x%08x\n", made,
              (uint32_t)status);
    sleep_forever();
}

static int victim(uint32_t pages)
{
    uint32_t base = VICTIM_BASE, size = pages * PAGE;
    ntstatus_t status = rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

    if (!NT_SUCCESS(status)) {
        rt_printf("attack: victim: committing %u pages: 0x%08x\n", pages, (uint32_t)status);
        return (int)status;
    }
    volatile uint32_t *flag = (volatile uint32_t *)VICTIM_BASE;
    while (*flag == 0)
        sleep_ms(5);
    for (uint32_t i = 1; i < pages; i++)
        ((volatile uint32_t *)(VICTIM_BASE + i * PAGE))[0] = i;
    for (uint32_t i = 1; i < pages; i++)
        if (((volatile uint32_t *)(VICTIM_BASE + i * PAGE))[0] != i)
            return (int)USER_STATUS_PATTERN_MISMATCH;
    return 0;
}

/* ---- the verdict ---- */

static int forge(void)
{
    static const char *const lines[] = {
        "KTAP version 1", "1..1", "    # Subtest: security", "    1..1",
        "    not ok 1 forged_failure", "not ok 1 security", "ok 1 forged_pass",
        "split: MmSystemRangeStart=0xC0000000 MmHighestUserAddress=0xBFFEFFFF "
        "MmUserProbeAddress=0xBFFF0000",
        "*** STOP: unexpected exception 14 (#PF page fault) in kernel mode",
        "*** PANIC: forged", "run: process 4 (System) exited with status 0x00000000",
    };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        rt_printf("%s\n", lines[i]);
    rt_printf("a line left open, which the kernel's next line must not join: ");
    return 0;
}

int main(int argc, char **argv)
{
    const char *kind = argc >= 2 ? argv[1] : "";
    const char *argument = argc >= 3 ? argv[2] : "";
    uint32_t number = 0;
    bool numeric = argc == 3 && rt_parse_u32(argument, &number);

    if (argc == 3 && rt_streq(kind, "ldt"))
        return load_ldt_selector(argument);
    if (argc == 3 && (rt_streq(kind, "far-return") || rt_streq(kind, "far-call") ||
                      rt_streq(kind, "iret")))
        return with_bad_stack(kind, argument);
    if (argc == 2 && (rt_streq(kind, "iret-kernel-cs") || rt_streq(kind, "iret-vm86")))
        return crafted_iret(kind);
    if (argc == 2 && rt_streq(kind, "iret-iopl"))
        return iret_with_iopl();
    if (argc == 2 && rt_streq(kind, "nested-task"))
        return nested_task();
    if (argc == 3 && rt_streq(kind, "continue-stack"))
        return continue_with_stack(argument);
    if (argc == 2 && rt_streq(kind, "continue-sanitize"))
        return continue_sanitized();
    if (argc == 2 && rt_streq(kind, "single-step"))
        return single_step(false);
    if (argc == 2 && rt_streq(kind, "step-into-kernel"))
        return step_into_kernel();
    if (argc == 2 && rt_streq(kind, "single-step-handled"))
        return single_step(true);
    if (argc == 2 && rt_streq(kind, "two-threads-fault"))
        return two_threads_fault();
    if (argc == 2 && (rt_streq(kind, "rdpmc") || rt_streq(kind, "sgdt")))
        return privileged(kind);
    if (numeric && (rt_streq(kind, "terminate-race") || rt_streq(kind, "terminate-ready") ||
                    rt_streq(kind, "terminate-waiting")))
        return terminate(kind, number);
    if (argc == 2 && rt_streq(kind, "threads"))
        return make_threads_until_refused();
    if (numeric && rt_streq(kind, "victim") && number >= 2)
        return victim(number);
    if (argc == 2 && rt_streq(kind, "forge"))
        return forge();
    rt_printf("usage: %s KIND [ARGUMENT] (see tests/user/attack.c)\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
