/*
 * void _start(void) -- the entry point for Multiboot 1 (Multiboot 0.6.96, section 3.2)
 * and Multiboot 2 (Multiboot2 2.0, section 3.3) alike: the loader's magic (EAX) and its
 * information's address (EBX) go to kernel_main unchanged, which tells them apart.
 *
 * Runs at its physical address with paging off, from the .boot.text section that
 * linker.ld places where it is loaded. Builds the first page directory:
 *   PDE 0      -> boot_page_table   (identity map of physical 0-4 MB, for the jump)
 *   PDE 0x302  -> boot_page_table   (the same 4 MB at KERNEL_WINDOW, where we are linked)
 *   PDE 0x300  -> the directory     (the PTE self-map at PTE_BASE)
 * turns paging on, jumps to the high half and calls
 *   void kernel_main(uint32_t boot_magic, paddr_t boot_info);
 * The memory manager removes the identity map once it has copied the boot information.
 */
#include "mm/layout.h"

#define MB1_HEADER_MAGIC    0x1BADB002
#define MB1_PAGE_ALIGN      (1 << 0)    /* modules on page boundaries */
#define MB1_MEMORY_INFO     (1 << 1)    /* mem_lower/mem_upper and the memory map */
#define MB1_FLAGS           (MB1_PAGE_ALIGN | MB1_MEMORY_INFO)

#define MB2_HEADER_MAGIC    0xE85250D6  /* Multiboot2 2.0, 3.1.2 */
#define MB2_ARCH_I386       0           /* 32-bit protected mode */
#define MB2_TAG_END         0           /* header tag types (3.1.3-3.1.11) */
#define MB2_TAG_FRAMEBUFFER 5
#define MB2_TAG_MODULE_ALIGN 6          /* modules on page boundaries */
#define MB2_TAG_OPTIONAL    1           /* tag flags bit 0 */

#define PHYS(symbol)        ((symbol) - KERNEL_WINDOW)
#define PDE_RW_PRESENT      0x3

/* Multiboot 1's header: in the file's first 8 KB, 4-aligned (0.6.96, 3.1). */
    .section .multiboot, "a"
    .align 4
    .long MB1_HEADER_MAGIC, MB1_FLAGS, -(MB1_HEADER_MAGIC + MB1_FLAGS)

/* Multiboot 2's: in the first 32 KB, it and each of its tags 8-aligned (2.0, 3.1). */
    .align 8
mb2_header:
    .long MB2_HEADER_MAGIC, MB2_ARCH_I386, mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* Optional and with no preferred mode: under UEFI, GRUB hands over the one it has. */
    .short MB2_TAG_FRAMEBUFFER, MB2_TAG_OPTIONAL
    .long 20, 0, 0, 0                   /* size; width, height, depth: any */
    .align 8
    .short MB2_TAG_MODULE_ALIGN, 0
    .long 8
    .short MB2_TAG_END, 0
    .long 8
mb2_header_end:

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
    mov     %eax, (%edx, %ecx, 4)
    inc     %ecx
    cmp     $PTES_PER_TABLE, %ecx
    jne     1b

    mov     $PHYS(boot_page_directory), %ebx
    lea     PDE_RW_PRESENT(%edx), %eax
    mov     %eax, (%ebx)
    mov     %eax, (KERNEL_WINDOW >> PDE_SHIFT) * 4(%ebx)
    lea     PDE_RW_PRESENT(%ebx), %eax
    mov     %eax, PTE_SELF_MAP_INDEX * 4(%ebx)

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
