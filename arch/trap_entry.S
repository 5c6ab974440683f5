/*
 * Trap entry: const uint32_t trap_stubs[TRAP_STUB_COUNT], one per vector 0-0x3F (the
 * exceptions, int 0x2E for system services, IRQs at 0x30-0x3F), the common path into
 *   void trap_dispatch(struct trap_frame *frame);   (arch/trap.h)
 * and trap_exit, the way back out, also taken by a new thread's first run.
 * Each stub makes the stack uniform (a zero where the CPU pushes no error code, SDM
 * vol. 3A table 6-1), pushes its vector and joins the common path.
 */
#define GDT_KERNEL_DATA 0x10
#define GDT_PCR         0x30    /* arch/descriptors.h */

    .text
.macro trap_stub vector
    .align 8
trap_stub_\vector:
    /* Vectors 8, 10-14, 17 and 21 push an error code; the others do not. */
    .if !((\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21))
    pushl   $0
    .endif
    pushl   $\vector
    jmp     trap_common
.endm

.altmacro
.set vector, 0
.rept 64
    trap_stub %vector
    .set vector, vector + 1
.endr

trap_common:
    pushal
    pushl   %ds
    pushl   %es
    pushl   %fs
    pushl   %gs
    mov     $GDT_KERNEL_DATA, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     $GDT_PCR, %ax
    mov     %ax, %fs
    cld
    movl    %esp, %eax                  /* the frame: trap_dispatch takes it in EAX */
    call    trap_dispatch
    .globl trap_exit
trap_exit:
    popl    %gs
    popl    %fs
    popl    %es
    popl    %ds
    popal
    addl    $8, %esp                    /* vector and error code */
    iret

/* int 0x2D from ring 3: straight back, the floor system calls are measured against. */
    .globl trap_null_interrupt
trap_null_interrupt:
    iret

.macro stub_address vector
    .long trap_stub_\vector
.endm

    .section .rodata
    .globl trap_stubs
    .align 4
trap_stubs:
.set vector, 0
.rept 64
    stub_address %vector
    .set vector, vector + 1
.endr
