/*
 * User exception dispatch, after NT's KiUserExceptionDispatcher: the record and the
 * registers at the fault are written below the faulting stack pointer, and the thread
 * resumes in its process's dispatcher, which answers with NtContinue or ends the
 * process. Each thread has its own turn: a fault of a thread inside the dispatcher before
 * it answers is fatal (no nesting), while another thread's fault is delivered as usual.
 */
#include "arch/descriptors.h"
#include "kernel/exception.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "lib/console.h"
#include "lib/ntabi.h"
#include "mm/mm.h"

static struct nt_context context_of(const struct trap_frame *frame)
{
    return (struct nt_context){
        .edi = frame->edi, .esi = frame->esi, .ebx = frame->ebx, .edx = frame->edx,
        .ecx = frame->ecx, .eax = frame->eax, .ebp = frame->ebp,
        .eip = frame->eip, .eflags = frame->eflags, .esp = frame->user_esp,
    };
}

void exception_dispatch(struct trap_frame *frame, ntstatus_t status, bool has_address,
                        uint32_t access, vaddr_t address)
{
    struct process *process = process_current();
    struct thread *thread = thread_current();

    if (process->exception_dispatcher && !thread->in_exception_dispatcher) {
        vaddr_t at = ALIGN_DOWN(frame->user_esp - sizeof(struct nt_exception_frame), 16u);
        struct nt_exception_frame record = {
            .return_address = 0,
            .record = (struct nt_exception_record *)(at +
                      offsetof(struct nt_exception_frame, record_storage)),
            .context = (struct nt_context *)(at +
                       offsetof(struct nt_exception_frame, context_storage)),
            .record_storage = {status, 0, frame->eip, has_address ? 2 : 0, access,
                               has_address ? address : 0},
            .context_storage = context_of(frame),
        };
        if (frame->user_esp > sizeof(record) &&
            NT_SUCCESS(user_copy_to(at, &record, sizeof(record)))) {
            thread->in_exception_dispatcher = true;
            frame->eip = process->exception_dispatcher;
            frame->user_esp = at;
            frame->eflags &= ~EFLAGS_TF;    /* the dispatcher is not single-stepped */
            return;
        }
    }
    process_raise_fatal_exception(status, frame->eip, has_address, access, address);
}

ntstatus_t NtSetExceptionHandler(const uint32_t *arguments)
{
    struct process *process = process_current();
    vaddr_t dispatcher = arguments[0];

    if (dispatcher && !NT_SUCCESS(user_probe(dispatcher, 1)))
        return STATUS_ACCESS_VIOLATION;
    process->exception_dispatcher = dispatcher;
    return STATUS_SUCCESS;
}

/*
 * Loads the caller's registers from a context: the return to user mode resumes there.
 * Returns the context's EAX, which the system-call exit puts back in EAX. Nothing in the
 * context can leave ring 3 or its flat segments: CS and SS are the user selectors, and
 * EFLAGS keeps only what ring 3 may change itself (no IOPL, NT or VM), with IF on.
 */
ntstatus_t NtContinue(const uint32_t *arguments)
{
    /* A trap from ring 3 leaves its frame at the very top of the thread's kernel stack. */
    struct trap_frame *frame = (struct trap_frame *)(thread_current()->stack_top -
                                                     sizeof(struct trap_frame));
    struct nt_context context;
    ntstatus_t status = user_copy_from(&context, arguments[0], sizeof(context));

    if (!NT_SUCCESS(status))
        return status;
    frame->edi = context.edi;
    frame->esi = context.esi;
    frame->ebx = context.ebx;
    frame->edx = context.edx;
    frame->ecx = context.ecx;
    frame->ebp = context.ebp;
    frame->eip = context.eip;
    frame->user_esp = context.esp;
    frame->eflags = (context.eflags & EFLAGS_USER_CHANGEABLE) | EFLAGS_IF | EFLAGS_ALWAYS_1;
    frame->cs = USER_CODE_SELECTOR;
    frame->user_ss = USER_DATA_SELECTOR;
    thread_current()->in_exception_dispatcher = false;
    return (ntstatus_t)context.eax;
}

static __attribute__((noinline)) void return_to_user_slow(void)
{
    process_return_to_user();
}

/*
 * arch/trap.c calls this after every trap from user mode: the common case (nothing to
 * do) is tested first with no call made, so that it costs no stack frame.
 */
static void return_to_user(void)
{
    if (thread_current()->process->terminating)
        return_to_user_slow();
}

/* The process of a frame in virtual-8086 mode ends (arch/trap.c says why). */
static NORETURN void end_virtual_8086_process(const struct trap_frame *frame)
{
    struct process *process = process_current();

    kprintf("process %s (%u): in virtual-8086 mode at %04x:%04x, which an iret from ring 3 "
            "cannot enter on a real processor (the emulator let it)\n", process->name,
            process->id, frame->cs & 0xFFFF, frame->eip & 0xFFFF);
    process_raise_fatal_exception(STATUS_ACCESS_VIOLATION, frame->eip, false,
                                  EXCEPTION_READ_FAULT, 0);
}

static vaddr_t current_highest_user_address(void)
{
    return MmCurrentAddressSpace()->highest_user_address;
}

void exception_init(void)
{
    static const struct trap_handlers handlers = {
        .system_service = syscall_trap,
        .return_to_user = return_to_user,
        .user_exception = exception_dispatch,
        .virtual_8086 = end_virtual_8086_process,
        .highest_user_address = current_highest_user_address,
    };

    trap_set_handlers(&handlers);
}
