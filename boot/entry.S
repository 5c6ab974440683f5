/*
 * void _start(void) -- the entry point for Multiboot 1 (Multiboot 0.6.96, section 3.2)
 * and Multiboot 2 (Multiboot2 2.0, section 3.3) alike: the loader's magic (EAX) and its
 * information's address (EBX) go to kernel_main unchanged, which tells them apart.
 *
 * Runs at its physical address with paging off, from the .boot.text section that
 * linker.ld places where it is loaded, after the headers of boot/multiboot_header.S.
 * Builds the first page directory:
 *   PDE 0      -> boot_page_table   (identity map of physical 0-4 MB, for the jump)
 *   PDE 0x302  -> boot_page_table   (the same 4 MB at KERNEL_WINDOW, where we are linked)
 *   PDE 0x300  -> the directory     (the PTE self-map at PTE_BASE)
 * turns paging on, jumps to the high half and calls
 *   void kernel_main(uint32_t boot_magic, paddr_t boot_info);
 * The memory manager removes the identity map once it has copied the boot information.
 */
#include "arch/layout.h"

#define PHYS(symbol)        ((symbol) - KERNEL_WINDOW)
#define PDE_RW_PRESENT      0x3

    .section .boot.text, "ax"
    .globl _start
_start:
    cli
    cld
    mov     %eax, %esi                  /* boot magic */
    mov     %ebx, %edi                  /* physical address of the boot information */

    mov     $PHYS(boot_page_table), %edx
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $PAGE_SHIFT, %eax
    or      $PDE_RW_PRESENT, %eax
    mov     %eax, (%edx, %ecx, PTE_SIZE)
    inc     %ecx
    cmp     $PTES_PER_TABLE, %ecx
    jne     1b

    mov     $PHYS(boot_page_directory), %ebx
    lea     PDE_RW_PRESENT(%edx), %eax
    mov     %eax, (%ebx)
    mov     %eax, (KERNEL_WINDOW >> PDE_SHIFT) * PTE_SIZE(%ebx)
    lea     PDE_RW_PRESENT(%ebx), %eax
    mov     %eax, PTE_SELF_MAP_INDEX * PTE_SIZE(%ebx)

    mov     %ebx, %cr3
    mov     %cr0, %eax
    or      $0x80010000, %eax           /* CR0.PG | CR0.WP */
    mov     %eax, %cr0
    mov     $high_half_start, %eax
    jmp     *%eax

    .text
high_half_start:
    mov     $boot_stack_top, %esp
    xor     %ebp, %ebp
    push    %edi
    push    %esi
    call    kernel_main
2:  cli
    hlt
    jmp     2b

/* The first page directory and page table; the kernel keeps using both after boot. */
    .bss
    .align PAGE_SIZE
    .globl boot_page_directory, boot_page_table
boot_page_directory:
    .skip PAGE_SIZE
boot_page_table:
    .skip PAGE_SIZE
