/*
 * Places a fault handler can point at (declared in rt.h):
 *     int rt_setjmp(struct rt_jump_buffer *jump);
 *     uint8_t rt_probe_read(uint32_t address);
 *     void rt_probe_write(uint32_t address, uint8_t value);
 * The offsets of struct rt_jump_buffer are checked in exception.c. cdecl; i686 PE symbols
 * of C functions carry a leading underscore.
 */

    .text

    .globl _rt_setjmp
    .p2align 4
_rt_setjmp:
    movl 4(%esp), %eax
    movl %ebx, 0(%eax)
    movl %esi, 4(%eax)
    movl %edi, 8(%eax)
    movl %ebp, 12(%eax)
    /* The second return resumes as this ret would: past the return address. */
    leal 4(%esp), %ecx
    movl %ecx, 16(%eax)
    movl (%esp), %ecx
    movl %ecx, 20(%eax)
    xorl %eax, %eax
    ret

    .globl _rt_probe_read, _rt_probe_read_instruction
    .p2align 4
_rt_probe_read:
    movl 4(%esp), %ecx
_rt_probe_read_instruction:
    movzbl (%ecx), %eax
    ret

    .globl _rt_probe_write, _rt_probe_write_instruction
    .p2align 4
_rt_probe_write:
    movl 4(%esp), %ecx
    movl 8(%esp), %eax
_rt_probe_write_instruction:
    movb %al, (%ecx)
    ret
