#pragma once
/*
 * Multiboot 2 boot information built in the fake memory of tests/fake_memory.h as a
 * loader leaves it: block_begin, then the tags, each 8-aligned after the one before,
 * then block_end, which adds the end tag and sets total_size; parse_block hands the
 * block to boot_info_parse_multiboot2. A case that wants a malformed block changes its
 * bytes between these steps. Shared by tests/test_multiboot2.c and test_multiboot_fb.c.
 */
#include "boot/boot_info.h"
#include "tests/fake_memory.h"
#include "tests/ktest.h"

/* Tag types and layouts (Multiboot2 2.0 section 3.6). */
#define TAG_END                 0
#define TAG_COMMAND_LINE        1
#define TAG_LOADER_NAME         2
#define TAG_MODULE              3
#define TAG_BASIC_MEMORY        4
#define TAG_BOOT_DEVICE         5
#define TAG_MEMORY_MAP          6
#define TAG_FRAMEBUFFER         8
#define TAG_ACPI_OLD            14
#define TAG_ACPI_NEW            15
#define TAG_LOAD_BASE           21
#define TAG_HEADER_SIZE         8
#define MODULE_TAG_SIZE         16      /* then the string */
#define MAP_TAG_SIZE            16      /* then the entries */
#define MAP_ENTRY_SIZE          24
#define FRAMEBUFFER_COMMON_SIZE 32      /* then the colour information */
#define FRAMEBUFFER_RGB_SIZE    (FRAMEBUFFER_COMMON_SIZE + 6)

#define INFO_AT                 0x0000  /* where block_begin puts the block */

extern uint32_t block_start;        /* where the block being built starts in fake_memory */
extern uint32_t block_cursor;       /* where its next tag goes */

/* Clears the fake memory and starts a block at offset in it (block_begin: at INFO_AT). */
void block_begin_at(uint32_t offset);
void block_begin(void);

/* Adds a tag of size bytes at the cursor; returns it, for the caller to fill in. */
uint8_t *tag_add(uint32_t type, uint32_t size);

/* Sets the block's total_size field to total_size, whatever its tags add up to. */
void block_set_total(uint32_t total_size);

/* Ends the block with the end tag and sets total_size to cover it. */
void block_end(void);

/* Adds a tag holding the string text; returns the string's address. */
boot_paddr_t string_tag_add(uint32_t type, const char *text);

/* Adds a module tag for [start, end) named text; returns the name's address. */
boot_paddr_t module_add(boot_paddr_t start, boot_paddr_t end, const char *text);

/* Adds the basic memory information tag (KB below 1 MB and above it). */
void basic_memory_add(uint32_t lower_kb, uint32_t upper_kb);

struct map_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
};

/* A well-formed three-entry map, so that cases about other tags expect no warning. */
extern const struct map_entry good_map[3];

/* Adds a memory map of count entries of entry_size bytes, 0xEE past the 24 defined. */
void map_add(uint32_t entry_size, const struct map_entry *entries, unsigned count);

/* Adds good_map with entries of the standard size. */
void good_map_add(void);

/* Checks that parsed's memory map is good_map, taken from a memory map. */
void expect_good_map(struct ktest *t);

struct framebuffer_spec {
    uint64_t address;
    uint32_t pitch, width, height;
    uint8_t bpp, type;
    uint8_t color[6];
};

/* A 1024x768 framebuffer of 32-bit pixels, as GRUB hands over under UEFI. */
extern const struct framebuffer_spec rgb32;

/* A framebuffer tag of size bytes; below FRAMEBUFFER_RGB_SIZE, its fields are cut there. */
void framebuffer_add_sized(const struct framebuffer_spec *fb, uint32_t size);

/* A framebuffer tag of the size fb's type calls for. */
void framebuffer_add(const struct framebuffer_spec *fb);

/* Checks that parsed describes the framebuffer fb, its colours too if it is RGB. */
void expect_framebuffer(struct ktest *t, const struct framebuffer_spec *fb);

/* Parses the block at address into parsed, garbage first (parse_block: the one built). */
void parse_block_at(boot_paddr_t address);
void parse_block(void);
