/*
 * The kernel's two Multiboot headers, Multiboot 1 (Multiboot 0.6.96, section 3.1) and
 * Multiboot 2 (Multiboot2 2.0, section 3.1): data only, no code and no C prototype.
 * linker.ld puts the .multiboot section first in .boot, at the very start of the loaded
 * image, so that a loader finds either header; the entry point they lead to is _start in
 * boot/entry.S.
 */
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
