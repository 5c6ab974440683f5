#pragma once
/* Thread contexts: the first frames on a new kernel stack, and switching between them. */
#include <stddef.h>
#include "arch/pcr.h"
#include "lib/types.h"

/*
 * Saves the current thread's callee-saved registers and stack pointer in *save_esp and
 * resumes the thread whose stack pointer is next_esp (arch/switch.S).
 */
void arch_context_switch(uint32_t *save_esp, uint32_t next_esp);

/*
 * Prepares a kernel stack (ending at stack_top) so that switching to the returned stack
 * pointer runs ke_thread_startup; for a user thread (user_eip != 0) its return then
 * leaves through the trap exit into ring 3 at user_eip with ESP = user_esp and
 * interrupts on.
 */
uint32_t arch_prepare_thread_stack(vaddr_t stack_top, vaddr_t user_eip, vaddr_t user_esp);

/* Where the CPU switches stacks on a trap from ring 3: the running thread's stack top. */
static inline void arch_set_kernel_stack(vaddr_t stack_top)
{
    __asm__ volatile("movl %0, %%fs:%c1"
                     : : "r"(stack_top), "i"(offsetof(struct kprcb, tss.esp0)) : "memory");
}
