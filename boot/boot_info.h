#pragma once
/*
 * What the boot loader told us about the machine, copied out of the loader's own
 * structures (which live in memory the kernel will reuse) into one description.
 */
#include "arch/acpi.h"
#include "lib/types.h"

/*
 * A physical address in the loader's information: 32 bits in both multiboot protocols
 * (modules, the information itself, the command line; the memory map's entries, which
 * reach past 4 GB, are 64-bit), so that an address and a length that wrap are caught.
 */
typedef uint32_t boot_paddr_t;

#define BOOT_COMMAND_LINE_MAX   8192    /* an 8 KB line is kept whole */
#define BOOT_MEMORY_MAP_MAX     128
#define BOOT_MODULES_MAX        32
#define BOOT_NAME_MAX           128
#define BOOT_RESERVED_MAX       (8 + 2 * BOOT_MODULES_MAX)
#define BOOT_WARNINGS_MAX       8
#define BOOT_WARNING_LENGTH     120

/* Memory-map entry types (Multiboot 0.6.96 section 3.3; the same values as E820). */
#define BOOT_MEMORY_AVAILABLE   1

/* Framebuffer types: the same values in Multiboot 0.6.96 3.3 and Multiboot2 2.0 3.6.12. */
#define BOOT_FRAMEBUFFER_INDEXED    0
#define BOOT_FRAMEBUFFER_RGB        1
#define BOOT_FRAMEBUFFER_EGA_TEXT   2

struct boot_memory_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
};

enum boot_memory_source {
    BOOT_MEMORY_NONE,       /* the loader gave no memory information at all */
    BOOT_MEMORY_MAP,        /* a full memory map */
    BOOT_MEMORY_BASIC,      /* only mem_lower/mem_upper: the map was synthesised */
};

struct boot_module {
    boot_paddr_t start;
    boot_paddr_t end;            /* one past the last byte */
    char name[BOOT_NAME_MAX];
};

/* The screen the loader left us, as either Multiboot version describes it. */
struct boot_framebuffer {
    uint64_t address;
    uint32_t pitch, width, height;  /* bytes a line; pixels, or characters for EGA text */
    uint8_t bpp;
    uint8_t type;                   /* BOOT_FRAMEBUFFER_* */
    /* Where each colour sits in a pixel, in bits; BOOT_FRAMEBUFFER_RGB only. */
    uint8_t red_position, red_size, green_position, green_size, blue_position, blue_size;
    bool present;                   /* false: the loader said nothing usable about it */
};

/* Physical memory the loader's data occupies; never handed out as free. */
struct boot_range {
    boot_paddr_t base;
    boot_paddr_t end;            /* one past the last byte */
};

struct boot_info {
    unsigned protocol;      /* 1 or 2: the Multiboot version this boot came through */
    char command_line[BOOT_COMMAND_LINE_MAX];
    char loader_name[BOOT_NAME_MAX];

    enum boot_memory_source memory_source;
    unsigned memory_map_count;
    struct boot_memory_entry memory_map[BOOT_MEMORY_MAP_MAX];

    unsigned module_count;
    struct boot_module modules[BOOT_MODULES_MAX];

    unsigned reserved_count;
    struct boot_range reserved[BOOT_RESERVED_MAX];

    struct boot_framebuffer framebuffer;
    bool vga_text;          /* the screen is in VGA text mode at 0xB8000 */

    /* The loader's copy of the ACPI RSDP (multiboot 2 tags 14, 15), unchecked; length 0: none. */
    uint8_t acpi_rsdp[ACPI_RSDP_MAX_LENGTH];
    size_t acpi_rsdp_length;

    unsigned warning_count; /* how many; only the first BOOT_WARNINGS_MAX are kept */
    char warnings[BOOT_WARNINGS_MAX][BOOT_WARNING_LENGTH];
};

/* This boot's information, filled in by kernel_main before anything else uses it. */
extern struct boot_info kernel_boot_info;

/*
 * Reads length bytes at physical address address into buffer; false when that memory
 * cannot be read. The kernel reads real physical memory; tests read crafted images.
 */
typedef bool (*boot_reader_t)(void *context, boot_paddr_t address, void *buffer, size_t length);

/*
 * Fills info from the Multiboot 1 information at info_address. Never fails: whatever
 * is missing or malformed is left out and described in info->warnings.
 */
void boot_info_parse_multiboot1(struct boot_info *info, boot_reader_t read, void *context,
                                boot_paddr_t info_address);

/*
 * Fills info from the Multiboot 2 information at info_address (EBX at entry), with the
 * same guarantees as boot_info_parse_multiboot1.
 */
void boot_info_parse_multiboot2(struct boot_info *info, boot_reader_t read, void *context,
                                boot_paddr_t info_address);

/*
 * Parses a Multiboot 1 memory-map buffer (entries of the form size, base, length,
 * type, each size + 4 bytes long) into info->memory_map.
 */
void boot_info_parse_memory_map(struct boot_info *info, const uint8_t *buffer, size_t length);

/*
 * Drops, with a warning, each module that overlaps [start, end): the kernel's own image,
 * which a loader must never have put a module over (what lies there is the kernel).
 */
void boot_info_drop_modules_over(struct boot_info *info, boot_paddr_t start, boot_paddr_t end);

/* Records a warning about the boot information. */
void boot_info_warn(struct boot_info *info, const char *fmt, ...) PRINTF_LIKE(2, 3);
