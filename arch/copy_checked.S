/*
 * int arch_copy_checked(void *destination, const void *source, size_t length);
 *   (arch/copy_checked.h)
 * Copies like memcpy, but a fault on either side ends the copy and returns -1 instead
 * of stopping the kernel; 0 when every byte was copied. The exception table entry
 * below tells trap_dispatch where to resume when the rep movsb faults.
 */
    .text
    .globl arch_copy_checked
arch_copy_checked:
    pushl   %esi
    pushl   %edi
    movl    12(%esp), %edi
    movl    16(%esp), %esi
    movl    20(%esp), %ecx
.Lcopy:
    rep movsb
    xorl    %eax, %eax
.Ldone:
    popl    %edi
    popl    %esi
    ret
.Lfault:
    movl    $-1, %eax
    jmp     .Ldone

    .section .exception_table, "a"
    .long   .Lcopy, .Lfault
