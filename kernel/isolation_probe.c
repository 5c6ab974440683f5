/*
 * The boot's check of the processor under the kernel. Some emulators (QEMU's TCG, at
 * least up to 7.2) perform the stack pushes of a ring-3 far call with supervisor rights:
 * a ring-3 `lcall` with ESP pointing into system space then writes kernel memory, and no
 * kernel can stop it, as no fault ever comes. The kernel cannot mend that; it finds it
 * out and says so.
 */
#include "arch/cpu.h"
#include "kernel/console.h"
#include "kernel/isolation_probe.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "kernel/usercopy.h"
#include "mm/pool.h"

#define TAG_PROBE           0x626f7250  /* 'Prob' */
#define PROBE_TARGET_BYTES  64
#define PROBE_TIMEOUT_TICKS 2000
/* The probe's exit status when the call went through (a customer NTSTATUS). */
#define PROBE_PUSHES_WENT_THROUGH ((ntstatus_t)0xE0000100)

enum isolation_probe_result isolation_far_call_result;

/*
 * The probe's code, at base (one page, its stack at the top):
 *     mov  esp, TARGET            ; into the supervisor block
 *     lcall 0x1B:base+12          ; pushes CS and EIP there, lands on the next line
 *     mov  esp, base+0x1000       ; back on its own stack
 *     push PROBE_PUSHES_WENT_THROUGH
 *     push -1                     ; NtTerminateProcess(NtCurrentProcess, status)
 *     mov  edx, esp
 *     xor  eax, eax
 *     int  0x2E
 */
static size_t write_probe_code(uint8_t *code, vaddr_t base, vaddr_t target_esp)
{
    size_t n = 0;

#define EMIT(byte) (code[n++] = (uint8_t)(byte))
#define EMIT32(value) (memcpy(code + n, &(uint32_t){(value)}, 4), n += 4)
    EMIT(0xBC); EMIT32(target_esp);
    EMIT(0x9A); EMIT32(base + 12); EMIT(0x1B); EMIT(0x00);
    EMIT(0xBC); EMIT32(base + PAGE_SIZE);
    EMIT(0x68); EMIT32((uint32_t)PROBE_PUSHES_WENT_THROUGH);
    EMIT(0x6A); EMIT(0xFF);
    EMIT(0x89); EMIT(0xE2);
    EMIT(0x31); EMIT(0xC0);
    EMIT(0xCD); EMIT(0x2E);
    EMIT(0xEB); EMIT(0xFE);
#undef EMIT
#undef EMIT32
    return n;
}

/* Starts the probe process; its exit status, or an error status if it could not run. */
static ntstatus_t run_probe(uint8_t *target)
{
    struct process *process;
    uint8_t code[32];
    vaddr_t base = 0;
    uint32_t size = PAGE_SIZE;
    ntstatus_t status = process_create("isolation-probe", false, &process);

    if (!NT_SUCCESS(status))
        return status;
    process_attach(process);
    status = MmAllocateVirtualMemory(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_EXECUTE_READWRITE, 0);
    if (NT_SUCCESS(status)) {
        size_t length = write_probe_code(code, base, (vaddr_t)target + PROBE_TARGET_BYTES / 2);
        status = user_copy_to(base, code, length);
    }
    process_detach();
    if (NT_SUCCESS(status))
        status = thread_create(process, NULL, NULL, base, base + PAGE_SIZE, NULL);
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

enum isolation_probe_result isolation_probe_far_call(void)
{
    static const uint8_t zero[PROBE_TARGET_BYTES];
    uint8_t *target = ExAllocatePoolWithTag(NonPagedPool, PROBE_TARGET_BYTES, TAG_PROBE);
    enum isolation_probe_result result = ISOLATION_PROBE_FAILED;

    if (!target) {
        kprintf("isolation: warning: no memory to probe the processor's far calls\n");
        return result;
    }
    memset(target, 0, PROBE_TARGET_BYTES);
    ntstatus_t status = run_probe(target);
    bool written = memcmp(target, zero, PROBE_TARGET_BYTES) != 0;
    ExFreePoolWithTag(target, TAG_PROBE);

    if (status == STATUS_ACCESS_VIOLATION && !written) {
        result = ISOLATION_PROBE_HELD;
        kprintf("isolation: a ring-3 far call cannot push onto a supervisor page, as on a "
                "real processor\n");
    } else if (status == PROBE_PUSHES_WENT_THROUGH || written) {
        result = ISOLATION_PROBE_BROKEN;
        kprintf("isolation: WARNING: this processor made a ring-3 far call's pushes onto a "
                "supervisor page: any program can write kernel memory this way. It is an "
                "emulator's defect (QEMU's TCG does this); run on KVM, Bochs or real "
                "hardware where isolation matters (README, Security)\n");
    } else {
        kprintf("isolation: warning: the far-call probe ended with status 0x%08X; "
                "nothing is known\n", (uint32_t)status);
    }
    return result;
}
