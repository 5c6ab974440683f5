#pragma once
/*
 * What the Multiboot 1 and Multiboot 2 parsers share, so that both handoffs describe
 * the machine by the same rules. Defined in boot/multiboot.c; only boot/ includes this.
 */
#include "boot/boot_info.h"

/* Empties info for a parse of Multiboot version protocol: nothing known, VGA text assumed. */
void boot_info_begin(struct boot_info *info, unsigned protocol);

/*
 * For a string longer than its buffer (what names it), cut to the buffer: warns, and
 * takes the command line back to its last blank, so that no option is read cut in half
 * (pagefile=hd0:64M as pagefile=hd0:6).
 */
void boot_info_string_truncated(struct boot_info *info, char *text, const char *what);

/* Keeps [base, base + length) from ever being handed out; warns when the table is full. */
void boot_info_reserve(struct boot_info *info, boot_paddr_t base, uint32_t length);

/*
 * Appends one memory-map entry, dropping a zero-length one. Returns false, with a
 * warning, when the map is already full.
 */
bool boot_info_add_memory_entry(struct boot_info *info, uint64_t base, uint64_t length,
                                uint32_t type);

/* For a loader with no usable map: warns, then builds the map from mem_lower/mem_upper. */
void boot_info_use_basic_memory(struct boot_info *info, uint32_t lower_kb, uint32_t upper_kb);

/*
 * Records the loader's framebuffer and whether the screen is VGA text. A framebuffer
 * whose geometry cannot be right is left out (present stays false) with a warning.
 */
void boot_info_set_framebuffer(struct boot_info *info, const struct boot_framebuffer *framebuffer);
