/* The exception dispatcher of lib/ntabi.h, which hands each fault to a C handler. */
#include "tests/user/runtime/rt.h"

/* jump.S stores the registers at these offsets. */
_Static_assert(offsetof(struct rt_jump_buffer, ebx) == 0, "rt_setjmp stores EBX at 0");
_Static_assert(offsetof(struct rt_jump_buffer, esi) == 4, "rt_setjmp stores ESI at 4");
_Static_assert(offsetof(struct rt_jump_buffer, edi) == 8, "rt_setjmp stores EDI at 8");
_Static_assert(offsetof(struct rt_jump_buffer, ebp) == 12, "rt_setjmp stores EBP at 12");
_Static_assert(offsetof(struct rt_jump_buffer, esp) == 16, "rt_setjmp stores ESP at 16");
_Static_assert(offsetof(struct rt_jump_buffer, eip) == 20, "rt_setjmp stores EIP at 20");

static rt_exception_handler *current_handler;

/*
 * Entered by the kernel as a cdecl call whose return address is 0, on the faulting
 * thread's stack below the frame that holds record and context: it must not return.
 */
static _Noreturn void dispatch(struct nt_exception_record *record, struct nt_context *context)
{
    rt_exception_handler *handler = current_handler;

    if (handler && handler(record, context)) {
        ntstatus_t status = NtContinue(context, 0);
        rt_printf("    # user: %s: NtContinue refused the context: 0x%08x\n",
                  rt_program_name, (unsigned int)status);
        rt_exit(status);
    }
    rt_exit(record->code);
}

ntstatus_t rt_set_exception_handler(rt_exception_handler *handler)
{
    current_handler = handler;
    return NtSetExceptionHandler(handler ? dispatch : NULL);
}

void rt_context_jump(struct nt_context *context, const struct rt_jump_buffer *jump, int value)
{
    context->ebx = jump->ebx;
    context->esi = jump->esi;
    context->edi = jump->edi;
    context->ebp = jump->ebp;
    context->esp = jump->esp;
    context->eip = jump->eip;
    context->eax = (uint32_t)(value ? value : 1);
    /* The fault may have come in the middle of a backwards string operation; C wants DF clear. */
    context->eflags &= ~EFLAGS_DF;
}
