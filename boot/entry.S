/*
 * void _start(void) -- the entry point for Multiboot 1 (Multiboot 0.6.96, section 3.2)
 * and Multiboot 2 (Multiboot2 2.0, section 3.3) alike: the loader's magic (EAX) and its
 * information's address (EBX) go to kernel_main unchanged, which tells them apart. In
 * the kernel file the boot stub (boot/select.c) comes first and jumps here, into the
 * build of the entry format it chose, with the same two registers.
 *
 * Runs at its physical address with paging off, from the .boot.text section that
 * linker.ld places where it is loaded, after the headers of boot/multiboot_header.S.
 * Builds the first page tables, which map physical 0-4 MB twice (BOOT_TABLES tables:
 * one of 1024 entries, or two of 512 with PAE):
 *   PDE 0...           -> boot_page_table   (identity map, for the jump)
 *   PDE of KERNEL_WINDOW... -> boot_page_table (the same 4 MB where we are linked)
 *   PDE 0x300 (PAE: 0x600-0x603) -> the directory pages (the PTE self-map at PTE_BASE)
 * and with PAE the four entries of boot_pdpt, one per directory page. Turns paging on,
 * jumps to the high half and calls
 *   void kernel_main(uint32_t boot_magic, paddr_t boot_info);
 * The memory manager removes the identity map once it has copied the boot information.
 */
#include "arch/layout.h"

#define PHYS(symbol)        ((symbol) - KERNEL_WINDOW)
#define PDE_RW_PRESENT      0x3
#define CR4_PAE             0x20

    .section .boot.text, "ax"
    .globl _start
_start:
    cli
    cld
    mov     %eax, %esi                  /* boot magic */
    mov     %ebx, %edi                  /* physical address of the boot information */

    /* The tables' 1024 PTEs: physical 0-4 MB. */
    mov     $PHYS(boot_page_table), %edx
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $PAGE_SHIFT, %eax
    or      $PDE_RW_PRESENT, %eax
    mov     %eax, (%edx, %ecx, PTE_SIZE)
    inc     %ecx
    cmp     $BOOT_TABLES * PTES_PER_TABLE, %ecx
    jne     1b

    /* Their PDEs, at 0 and at KERNEL_WINDOW. */
    mov     $PHYS(boot_page_directory), %ebx
    xor     %ecx, %ecx
2:  lea     PDE_RW_PRESENT(%edx), %eax
    mov     %eax, (%ebx, %ecx, PTE_SIZE)
    mov     %eax, (KERNEL_WINDOW >> PDE_SHIFT) * PTE_SIZE(%ebx, %ecx, PTE_SIZE)
    add     $PAGE_SIZE, %edx
    inc     %ecx
    cmp     $BOOT_TABLES, %ecx
    jne     2b

    /* The self-map: the PDEs that map the window at PTE_BASE name the directory pages. */
    xor     %ecx, %ecx
3:  mov     %ecx, %eax
    shl     $PAGE_SHIFT, %eax
    lea     PDE_RW_PRESENT(%ebx, %eax), %eax
    mov     %eax, PTE_SELF_MAP_INDEX * PTE_SIZE(%ebx, %ecx, PTE_SIZE)
#if MM_PAE
    and     $~PDE_RW_PRESENT, %eax      /* a PDPT entry is the frame and P alone */
    inc     %eax
    mov     %eax, PHYS(boot_pdpt)(, %ecx, PTE_SIZE)
#endif
    inc     %ecx
    cmp     $DIRECTORY_PAGES, %ecx
    jne     3b

#if MM_PAE
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $PHYS(boot_pdpt), %ebx
#endif
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

/*
 * The first page directory (four pages with PAE) and the tables of the kernel window; the
 * kernel keeps using them after boot.
 */
    .bss
    .align PAGE_SIZE
    .globl boot_page_directory, boot_page_table
boot_page_directory:
    .skip DIRECTORY_PAGES * PAGE_SIZE
boot_page_table:
    .skip BOOT_TABLES * PAGE_SIZE
#if MM_PAE
    .globl boot_pdpt
    .align 32                           /* SDM vol. 3A, 4.4.1: CR3 names 32 aligned bytes */
boot_pdpt:
    .skip PDPT_ENTRIES * PTE_SIZE
    .globl boot_cr3_table               /* what CR3 names: the PDPT */
    .set boot_cr3_table, boot_pdpt
#else
    .globl boot_cr3_table               /* what CR3 names: the directory */
    .set boot_cr3_table, boot_page_directory
#endif
