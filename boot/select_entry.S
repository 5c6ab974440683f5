/*
 * The kernel file's entry point (linker.ld, the -e of its link): the boot stub's stack,
 * then boot/select.c's choice of build, then a jump to that build's _start with EAX (the
 * loader's magic) and EBX (its information's address) as the loader left them. Paging is
 * off; the stub runs at its physical address.
 */
    .text
    .globl select_start
select_start:
    cli
    cld
    mov     $stack_top, %esp
    push    %ebx
    push    %eax
    push    %ebx
    push    %eax
    call    select_kernel
    add     $8, %esp
    mov     %eax, %edx
    pop     %eax
    pop     %ebx
    jmp     *%edx

    .bss
    .align 16
    .skip 4096
stack_top:

    .section .note.GNU-stack, "", @progbits
