/*
 * void arch_context_switch(uint32_t *save_esp, uint32_t next_esp);   (arch/context.h)
 *   Saves the callee-saved registers and EFLAGS on the current stack, stores the stack
 *   pointer in *save_esp, switches to next_esp and restores what was saved there.
 *   Returns in the other thread; returns here when something switches back, with the
 *   interrupt flag this thread left with (a switch may come from code that has
 *   interrupts off, to a thread that had them on).
 *
 * arch_thread_entry: where a new thread's first switch returns to (see context.c).
 *   It calls void ke_thread_startup(void), which finishes the switch and, for a kernel
 *   thread, runs it and never returns; for a user thread it returns and the trap frame
 *   prepared below is left through the common trap exit, into ring 3.
 */
    .text
    .globl arch_context_switch
arch_context_switch:
    movl    4(%esp), %eax
    movl    8(%esp), %edx
    pushl   %ebp
    pushl   %ebx
    pushl   %esi
    pushl   %edi
    pushfl
    movl    %esp, (%eax)
    movl    %edx, %esp
    popfl
    popl    %edi
    popl    %esi
    popl    %ebx
    popl    %ebp
    ret

    .globl arch_thread_entry
arch_thread_entry:
    call    ke_thread_startup
    jmp     trap_exit
