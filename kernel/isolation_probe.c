/*
 * The boot's check of the processor under the kernel. Some emulators (QEMU's TCG, at
 * least up to 7.2) break isolation where a processor never does: they perform the stack
 * accesses of a ring-3 far call, far return or iret with supervisor rights (so a ring-3
 * `lcall` with ESP in system space writes kernel memory and a `retf` reads it, and no
 * fault ever comes), and they let a ring-3 `iret` enter virtual-8086 mode. No kernel can mend that; this one finds it out and
 * says so. Each probe is a few bytes of code run in a process of its own.
 */
#include "arch/cpu.h"
#include "arch/trap.h"
#include "kernel/isolation_probe.h"
#include "kernel/process.h"
#include "kernel/usercopy.h"
#include "lib/console.h"
#include "lib/string.h"
#include "mm/pool.h"

#define TAG_PROBE           0x626f7250  /* 'Prob' */
#define PROBE_TARGET_BYTES  64
#define PROBE_CODE_MAX      48
#define PROBE_TIMEOUT_TICKS 2000
/* The exit statuses of a probe whose access went through (customer NTSTATUS values). */
#define PROBE_PUSHES_WENT_THROUGH ((ntstatus_t)0xE0000100)
#define PROBE_POPS_WENT_THROUGH   ((ntstatus_t)0xE0000101)

enum isolation_probe_result isolation_far_call_result;
enum isolation_probe_result isolation_far_return_result;
enum isolation_probe_result isolation_virtual_8086_result;

struct probe_code {
    uint8_t bytes[PROBE_CODE_MAX];
    size_t length;
};

static void emit(struct probe_code *code, uint8_t byte)
{
    code->bytes[code->length++] = byte;
}

static void emit32(struct probe_code *code, uint32_t value)
{
    memcpy(code->bytes + code->length, &value, sizeof(value));
    code->length += sizeof(value);
}

/*
 *     mov  esp, base+0x1000        ; back on its own stack
 *     push status
 *     push -1                      ; NtTerminateProcess(NtCurrentProcess, status)
 *     mov  edx, esp
 *     xor  eax, eax
 *     int  0x2E
 */
static void write_exit(struct probe_code *code, vaddr_t base, ntstatus_t status)
{
    emit(code, 0xBC); emit32(code, base + PAGE_SIZE);
    emit(code, 0x68); emit32(code, (uint32_t)status);
    emit(code, 0x6A); emit(code, 0xFF);
    emit(code, 0x89); emit(code, 0xE2);
    emit(code, 0x31); emit(code, 0xC0);
    emit(code, 0xCD); emit(code, 0x2E);
    emit(code, 0xEB); emit(code, 0xFE);
}

/*
 * At base (one page, its stack at the top):
 *     mov  esp, target_esp         ; into the supervisor block
 *     lcall 0x1B:base+12           ; pushes CS and EIP there, lands on the next line
 *     (exit with PROBE_PUSHES_WENT_THROUGH)
 */
static void write_far_call(struct probe_code *code, vaddr_t base, vaddr_t target_esp)
{
    emit(code, 0xBC); emit32(code, target_esp);
    emit(code, 0x9A); emit32(code, base + 12); emit(code, 0x1B); emit(code, 0x00);
    write_exit(code, base, PROBE_PUSHES_WENT_THROUGH);
}

/*
 *     mov  esp, target_esp         ; the supervisor block, holding base+6 and 0x1B
 *     retf                         ; pops them: lands on the next line
 *     (exit with PROBE_POPS_WENT_THROUGH)
 */
static void write_far_return(struct probe_code *code, vaddr_t base, vaddr_t target_esp)
{
    emit(code, 0xBC); emit32(code, target_esp);
    emit(code, 0xCB);
    write_exit(code, base, PROBE_POPS_WENT_THROUGH);
}

/*
 * An iret through a virtual-8086 frame (GS FS DS ES SS = 0, SP 0x1000, EFLAGS VM | IF,
 * CS 0x1B, IP 0). A processor ignores VM here and jumps to EIP 0 in the null region;
 * virtual-8086 mode would fetch at linear 0x1B0, in the null region too. Either way a
 * fault ends the process; what differs is the mode the kernel sees it in.
 */
static void write_virtual_8086_iret(struct probe_code *code)
{
    for (unsigned i = 0; i < 5; i++) {
        emit(code, 0x6A); emit(code, 0x00);             /* push 0: GS FS DS ES SS */
    }
    emit(code, 0x68); emit32(code, 0x1000);             /* SP */
    emit(code, 0x68); emit32(code, EFLAGS_VM | EFLAGS_IF | EFLAGS_ALWAYS_1);
    emit(code, 0x6A); emit(code, 0x1B);                 /* CS */
    emit(code, 0x6A); emit(code, 0x00);                 /* IP */
    emit(code, 0xCF);                                   /* iret */
}

/*
 * Starts a process that runs code at base, one page of its own with the stack at the
 * top; its exit status, or an error status if it could not run. write puts the code in.
 */
static ntstatus_t run_probe(const char *name, void (*write)(struct probe_code *, vaddr_t,
                                                            vaddr_t), vaddr_t argument)
{
    struct process *process;
    struct probe_code code = {.length = 0};
    vaddr_t base = 0;
    uint32_t size = PAGE_SIZE;
    ntstatus_t status = process_create(name, false, &process);

    if (!NT_SUCCESS(status))
        return status;
    process_attach(process);
    status = MmAllocateVirtualMemory(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_EXECUTE_READWRITE, 0);
    if (NT_SUCCESS(status)) {
        write(&code, base, argument);
        status = user_copy_to(base, code.bytes, code.length);
    }
    process_detach();
    if (NT_SUCCESS(status))
        status = thread_create(process, NULL, NULL, base, base + PAGE_SIZE, 0, false, NULL);
    if (!NT_SUCCESS(status)) {
        process_discard(process);
        return status;
    }
    if (process_wait(process, PROBE_TIMEOUT_TICKS) != STATUS_SUCCESS) {
        process_terminate(process, STATUS_TIMEOUT);
        process_wait(process, WAIT_FOREVER);
    }
    status = process->exit_status;
    object_dereference(&process->header);
    return status;
}

static void write_far_call_probe(struct probe_code *code, vaddr_t base, vaddr_t target)
{
    write_far_call(code, base, target + PROBE_TARGET_BYTES / 2);
}

/* The block holds the far pointer the probe's retf would pop: its next line, CS 0x1B. */
static void write_far_return_probe(struct probe_code *code, vaddr_t base, vaddr_t target)
{
    uint32_t *far_pointer = (uint32_t *)(target + PROBE_TARGET_BYTES / 2);

    far_pointer[0] = base + 6;
    far_pointer[1] = 0x1B;
    write_far_return(code, base, (vaddr_t)far_pointer);
}

enum isolation_probe_result isolation_probe_far_call(void)
{
    static const uint8_t zero[PROBE_TARGET_BYTES];
    uint8_t *target = ExAllocatePoolWithTag(NonPagedPool, PROBE_TARGET_BYTES, TAG_PROBE);

    if (!target) {
        kprintf("isolation: warning: no memory to probe the processor's far calls\n");
        return ISOLATION_PROBE_FAILED;
    }
    memset(target, 0, PROBE_TARGET_BYTES);
    ntstatus_t status = run_probe("isolation-probe", write_far_call_probe, (vaddr_t)target);
    bool written = memcmp(target, zero, PROBE_TARGET_BYTES) != 0;
    ExFreePoolWithTag(target, TAG_PROBE);

    if (status == STATUS_ACCESS_VIOLATION && !written) {
        kprintf("isolation: a ring-3 far call cannot push onto a supervisor page, as on a "
                "real processor\n");
        return ISOLATION_PROBE_HELD;
    }
    if (status == PROBE_PUSHES_WENT_THROUGH || written) {
        kprintf("isolation: WARNING: this processor made a ring-3 far call's pushes onto a "
                "supervisor page: any program can write kernel memory this way. It is an "
                "emulator's defect (QEMU's TCG does this); run on KVM, Bochs or real "
                "hardware where isolation matters (README, Security)\n");
        return ISOLATION_PROBE_BROKEN;
    }
    kprintf("isolation: warning: the far-call probe ended with status 0x%08X; nothing is "
            "known\n", (uint32_t)status);
    return ISOLATION_PROBE_FAILED;
}

enum isolation_probe_result isolation_probe_far_return(void)
{
    uint8_t *target = ExAllocatePoolWithTag(NonPagedPool, PROBE_TARGET_BYTES, TAG_PROBE);

    if (!target) {
        kprintf("isolation: warning: no memory to probe the processor's far returns\n");
        return ISOLATION_PROBE_FAILED;
    }
    memset(target, 0, PROBE_TARGET_BYTES);
    ntstatus_t status = run_probe("isolation-probe", write_far_return_probe,
                                  (vaddr_t)target);
    ExFreePoolWithTag(target, TAG_PROBE);

    if (status == STATUS_ACCESS_VIOLATION) {
        kprintf("isolation: a ring-3 far return cannot pop from a supervisor page, as on a "
                "real processor\n");
        return ISOLATION_PROBE_HELD;
    }
    if (status == PROBE_POPS_WENT_THROUGH) {
        kprintf("isolation: WARNING: this processor let a ring-3 far return pop from a "
                "supervisor page: a program can read kernel memory this way (what it pops "
                "becomes its CS:EIP). It is an emulator's defect (QEMU's TCG does this); "
                "run on KVM, Bochs or real hardware where isolation matters (README, "
                "Security)\n");
        return ISOLATION_PROBE_BROKEN;
    }
    kprintf("isolation: warning: the far-return probe ended with status 0x%08X; nothing is "
            "known\n", (uint32_t)status);
    return ISOLATION_PROBE_FAILED;
}

static void write_virtual_8086_probe(struct probe_code *code, vaddr_t base, vaddr_t unused)
{
    (void)base;
    (void)unused;
    write_virtual_8086_iret(code);
}

enum isolation_probe_result isolation_probe_virtual_8086(void)
{
    uint32_t traps = trap_virtual_8086_count;
    ntstatus_t status = run_probe("isolation-probe", write_virtual_8086_probe, 0);

    if (status != STATUS_ACCESS_VIOLATION) {
        kprintf("isolation: warning: the virtual-8086 probe ended with status 0x%08X; "
                "nothing is known\n", (uint32_t)status);
        return ISOLATION_PROBE_FAILED;
    }
    if (trap_virtual_8086_count == traps) {
        kprintf("isolation: a ring-3 iret cannot enter virtual-8086 mode, as on a real "
                "processor\n");
        return ISOLATION_PROBE_HELD;
    }
    kprintf("isolation: WARNING: this processor let a ring-3 iret enter virtual-8086 mode; "
            "the kernel ends such a process at its first trap, but one that keeps "
            "interrupts out there hangs the machine. It is an emulator's defect (QEMU's "
            "TCG does this); run on KVM, Bochs or real hardware where isolation matters "
            "(README, Security)\n");
    return ISOLATION_PROBE_BROKEN;
}

void isolation_probe_all(void)
{
    isolation_far_call_result = isolation_probe_far_call();
    isolation_far_return_result = isolation_probe_far_return();
    isolation_virtual_8086_result = isolation_probe_virtual_8086();
}
