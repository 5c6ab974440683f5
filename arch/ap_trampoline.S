/*
 * The application processors' first instructions (Intel SDM vol. 3A, 9.4.4 and 10.9.1).
 * A STARTUP message starts a processor in real mode at a page below 1 MB, CS = page >> 4
 * and IP = 0; arch/processors.c copies these bytes there, fills in the block at their end,
 * and maps the page at its own address in the address space whose CR3 the block names.
 * The code is position-independent: it learns its page from CS, enters protected mode
 * with a flat GDT of its own, loads CR4 (PAE first), EFER.NXE where no-execute is on
 * (the entries' XD bits would otherwise be reserved bits), CR3 and CR0 as the boot
 * processor has them, and jumps to the kernel with the block's stack and argument.
 */
#define FLAT_CODE   0x08
#define FLAT_DATA   0x10
#define MSR_EFER    0xC0000080
#define EFER_NXE    0x800

#define AT(symbol)  ((symbol) - ap_trampoline)

    .section .rodata
    .code16
    .globl ap_trampoline, ap_trampoline_end, ap_trampoline_block
    .globl ap_trampoline_gdt_base, ap_trampoline_jump_offset, ap_trampoline_protected
    .align 16
ap_trampoline:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    movzwl  %ax, %ebx
    shl     $4, %ebx                    /* EBX: the page's physical address */
    lgdtl   AT(gdt_pointer)
    mov     %cr0, %eax
    or      $1, %eax                    /* PE */
    mov     %eax, %cr0
    ljmpl   *AT(far_jump)

    .code32
ap_trampoline_protected:
    mov     $FLAT_DATA, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs
    mov     AT(ap_trampoline_block) + 0(%ebx), %eax     /* CR4 */
    mov     %eax, %cr4
    testl   $1, AT(ap_trampoline_block) + 4(%ebx)       /* no-execute on */
    jz      1f
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_NXE, %eax
    wrmsr
1:  mov     AT(ap_trampoline_block) + 8(%ebx), %eax     /* CR3 */
    mov     %eax, %cr3
    mov     AT(ap_trampoline_block) + 12(%ebx), %eax    /* CR0: paging on */
    mov     %eax, %cr0
    mov     AT(ap_trampoline_block) + 16(%ebx), %esp    /* the idle thread's stack */
    pushl   AT(ap_trampoline_block) + 24(%ebx)          /* the argument */
    pushl   $0                                          /* no return */
    jmp     *AT(ap_trampoline_block) + 20(%ebx)         /* the entry, in system space */

    .align 8
gdt:
    .quad   0
    .quad   0x00CF9A000000FFFF          /* FLAT_CODE: base 0, 4 GB, ring 0, 32-bit */
    .quad   0x00CF92000000FFFF          /* FLAT_DATA */
gdt_pointer:
    .word   3 * 8 - 1
ap_trampoline_gdt_base:
    .long   0                           /* the page + AT(gdt) */
far_jump:
ap_trampoline_jump_offset:
    .long   0                           /* the page + AT(ap_trampoline_protected) */
    .word   FLAT_CODE
    .align 4
ap_trampoline_block:
    .skip   7 * 4                       /* struct trampoline_block, arch/processors.c */
ap_trampoline_end:

    .globl ap_trampoline_gdt
    .set ap_trampoline_gdt, gdt
