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
    .if vector != 0x2E                  /* trap_system_service below */
    trap_stub %vector
    .endif
    .set vector, vector + 1
.endr

/* The local APIC's vectors (arch/trap.h: TRAP_APIC_CLOCK, _IPI, _SPURIOUS). */
    trap_stub 0xD1
    trap_stub 0xE1
    trap_stub 0xFF

/* The frame every trap leaves (struct trap_frame), with the kernel's segments loaded. */
.macro save_frame
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
.endm

trap_common:
    save_frame
trap_dispatch_frame:
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

/*
 * int 0x2E, a system service: the same frame as any trap, then straight to the service
 * handler the kernel registered (trap_system_service_handler, arch/trap.c), with the
 * number from EAX and the arguments' address from EDX; its status goes back in EAX. The
 * hot path of every program skips trap_dispatch. A frame in virtual-8086 mode, which
 * only an emulator's defect lets ring 3 make, goes the common way (trap.c ends it).
 */
#define FRAME_EDX       36
#define FRAME_EAX       44
#define FRAME_EFLAGS    64
#define EFLAGS_VM       0x20000

    .align 8
trap_system_service:
    pushl   $0
    pushl   $0x2E
    save_frame
    testl   $EFLAGS_VM, FRAME_EFLAGS(%esp)
    jnz     trap_dispatch_frame
    pushl   FRAME_EDX(%esp)
    pushl   FRAME_EAX + 4(%esp)
    call    *trap_system_service_handler
    addl    $8, %esp
    movl    %eax, FRAME_EAX(%esp)
    jmp     trap_exit

/* int 0x2D from ring 3: straight back, the floor system calls are measured against. */
    .globl trap_null_interrupt
trap_null_interrupt:
    iret

    .section .rodata
    .globl trap_apic_vectors, trap_apic_stubs
trap_apic_vectors:
    .byte 0xD1, 0xE1, 0xFF
    .align 4
trap_apic_stubs:
    .long trap_stub_0xD1, trap_stub_0xE1, trap_stub_0xFF

    .text
.macro stub_address vector
    .if \vector == 0x2E
    .long trap_system_service
    .else
    .long trap_stub_\vector
    .endif
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
