/*
 * int arch_copy_checked(void *destination, const void *source, size_t length);
 *   (arch/copy_checked.h)
 * Copies like memcpy (words, then the odd bytes), but a fault on either side ends the
 * copy and returns -1 instead of stopping the kernel; 0 when every byte was copied.
 * The exception table entries below tell trap_dispatch where to resume when one of
 * the two rep movs instructions faults.
 */
    .text
    .globl arch_copy_checked
arch_copy_checked:
    pushl   %esi
    pushl   %edi
    movl    12(%esp), %edi
    movl    16(%esp), %esi
    movl    20(%esp), %ecx
    movl    %ecx, %edx
    shrl    $2, %ecx
.Lcopy_words:
    rep movsl
    movl    %edx, %ecx
    andl    $3, %ecx
.Lcopy_bytes:
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
    .long   .Lcopy_words, .Lfault
    .long   .Lcopy_bytes, .Lfault
