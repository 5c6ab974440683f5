/*
 * Multiboot 1 (Multiboot Specification 0.6.96, section 3.3 "Boot information format").
 * Every field is read through a boot_reader_t and checked before it is trusted: the
 * loader, or firmware behind it, may hand over anything.
 */
#include <stdarg.h>
#include <stddef.h>

#include "arch/layout.h"
#include "boot/boot_parse.h"
#include "lib/format.h"
#include "lib/string.h"

#define MB1_INFO_MEMORY         (1u << 0)
#define MB1_INFO_COMMAND_LINE   (1u << 2)
#define MB1_INFO_MODULES        (1u << 3)
#define MB1_INFO_MEMORY_MAP     (1u << 6)
#define MB1_INFO_LOADER_NAME    (1u << 9)
#define MB1_INFO_FRAMEBUFFER    (1u << 12)

struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower;             /* KB from 0 */
    uint32_t mem_upper;             /* KB from 1 MB */
    uint32_t boot_device;
    uint32_t command_line;
    uint32_t module_count;
    uint32_t module_table;
    uint32_t symbols[4];
    uint32_t memory_map_length;
    uint32_t memory_map;
    uint32_t drives_length;
    uint32_t drives;
    uint32_t config_table;
    uint32_t loader_name;
    uint32_t apm_table;
    uint32_t vbe[4];
    uint64_t framebuffer_address;
    uint32_t framebuffer_pitch;
    uint32_t framebuffer_width;
    uint32_t framebuffer_height;
    uint8_t framebuffer_bpp;
    uint8_t framebuffer_type;
    /*
     * The specification's table puts the colour information at offset 110, but GRUB
     * (whose multiboot.h is the reference loaders follow) has it in a union with a
     * 32-bit palette address, aligned to 4: at 112. GRUB 2.06 under OVMF writes it there.
     */
    uint8_t alignment[2];
    /* For BOOT_FRAMEBUFFER_RGB: position and size of red, green and blue, in bits. */
    uint8_t color_info[6];
} __attribute__((packed));

/*
 * Older loaders stop at framebuffer_type or earlier, so the colour information is read
 * only when flag bit 12 says it is there.
 */
#define MB1_INFO_FIXED_SIZE     offsetof(struct mb1_info, alignment)
#define MB1_COLOR_INFO_OFFSET   offsetof(struct mb1_info, color_info)
_Static_assert(offsetof(struct mb1_info, framebuffer_address) == 88, "multiboot 1 layout");
_Static_assert(offsetof(struct mb1_info, framebuffer_type) == 109, "multiboot 1 layout");
_Static_assert(MB1_INFO_FIXED_SIZE == 110, "multiboot 1 information layout");
_Static_assert(MB1_COLOR_INFO_OFFSET == 112, "multiboot 1 information layout, as GRUB has it");

struct mb1_module {
    uint32_t start;
    uint32_t end;
    uint32_t name;
    uint32_t reserved;
};

/* The entry's size field is not counted in its own size (spec 3.3). */
struct mb1_memory_entry {
    uint32_t size;
    uint64_t base;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

#define MB1_MEMORY_ENTRY_MIN_SIZE 20    /* base, length, type */
#define MB1_MEMORY_MAP_MAX_BYTES  (BOOT_MEMORY_MAP_MAX * 64)

void boot_info_warn(struct boot_info *info, const char *fmt, ...)
{
    va_list args;

    if (info->warning_count < BOOT_WARNINGS_MAX) {
        va_start(args, fmt);
        kvsnprintf(info->warnings[info->warning_count], BOOT_WARNING_LENGTH, fmt, args);
        va_end(args);
    }
    info->warning_count++;
}

void boot_info_string_truncated(struct boot_info *info, char *text, const char *what)
{
    size_t kept = strlen(text);

    boot_info_warn(info, "%s longer than %u bytes; truncated", what, (unsigned)kept);
    if (text != info->command_line)
        return;
    while (kept > 0 && text[kept - 1] != ' ')
        kept--;
    while (kept > 0 && text[kept - 1] == ' ')
        kept--;
    text[kept] = '\0';
}

void boot_info_drop_modules_over(struct boot_info *info, boot_paddr_t start, boot_paddr_t end)
{
    unsigned kept = 0;

    for (unsigned i = 0; i < info->module_count; i++) {
        const struct boot_module *module = &info->modules[i];
        if (module->start < end && start < module->end) {
            boot_info_warn(info, "module %u at 0x%08x-0x%08x overlaps the kernel image; "
                           "ignored", i, module->start, module->end - 1);
            continue;
        }
        info->modules[kept++] = *module;
    }
    info->module_count = kept;
}

void boot_info_begin(struct boot_info *info, unsigned protocol)
{
    memset(info, 0, sizeof(*info));
    info->protocol = protocol;
    info->vga_text = true;
}

void boot_info_reserve(struct boot_info *info, boot_paddr_t base, uint32_t length)
{
    if (length == 0)
        return;
    if (info->reserved_count == BOOT_RESERVED_MAX) {
        boot_info_warn(info, "too many boot data ranges; one at 0x%08x not protected", base);
        return;
    }
    boot_paddr_t end = base + length < base ? 0xFFFFFFFF : base + length;
    info->reserved[info->reserved_count++] = (struct boot_range){base, end};
}

/*
 * Copies a NUL-terminated string at address into buffer, reading it in small pieces
 * so that a string at the very end of readable memory is still found. Returns the
 * number of bytes the string occupies (with its NUL), or 0 when it cannot be read.
 */
static uint32_t read_string(struct boot_info *info, boot_reader_t read, void *context,
                            boot_paddr_t address, char *buffer, size_t size, const char *what)
{
    size_t used = 0;

    while (used < size - 1) {
        char piece[16];
        size_t want = MIN(sizeof(piece), size - 1 - used);
        /* Do not read across a page boundary: the next page may not be readable. */
        size_t to_page_end = PAGE_SIZE - ((address + used) & (PAGE_SIZE - 1));
        want = MIN(want, to_page_end);
        if (!read(context, address + used, piece, want)) {
            boot_info_warn(info, "%s at 0x%08x is unreadable", what, address);
            buffer[0] = '\0';
            return 0;
        }
        for (size_t i = 0; i < want; i++) {
            buffer[used] = piece[i];
            if (piece[i] == '\0')
                return used + 1;
            used++;
        }
    }
    buffer[used] = '\0';
    boot_info_string_truncated(info, buffer, what);
    /* The reserved range must still cover the whole string: find its end. */
    for (uint32_t extra = 0; extra < 0x10000; extra++) {
        char c;
        if (!read(context, address + used + extra, &c, 1) || c == '\0')
            return used + extra + 1;
    }
    return used + 0x10000;
}

void boot_info_parse_memory_map(struct boot_info *info, const uint8_t *buffer, size_t length)
{
    size_t offset = 0;

    info->memory_map_count = 0;
    while (offset < length) {
        struct mb1_memory_entry entry;
        uint32_t size;

        if (length - offset < sizeof(size)) {
            boot_info_warn(info, "memory map ends inside an entry at offset %u; ignored",
                           (unsigned)offset);
            return;
        }
        memcpy(&size, buffer + offset, sizeof(size));
        if (size < MB1_MEMORY_ENTRY_MIN_SIZE) {
            boot_info_warn(info, "memory map entry at offset %u has size %u; map cut there",
                           (unsigned)offset, size);
            return;
        }
        /* Compared this way round, a huge size cannot wrap offset back into the map. */
        if (size > length - offset - sizeof(size)) {
            boot_info_warn(info, "memory map entry at offset %u runs past the map; ignored",
                           (unsigned)offset);
            return;
        }
        memcpy(&entry, buffer + offset, sizeof(entry));
        if (!boot_info_add_memory_entry(info, entry.base, entry.length, entry.type))
            return;
        offset += sizeof(size) + size;
    }
}

bool boot_info_add_memory_entry(struct boot_info *info, uint64_t base, uint64_t length,
                                uint32_t type)
{
    if (info->memory_map_count == BOOT_MEMORY_MAP_MAX) {
        boot_info_warn(info, "memory map has more than %u entries; the rest ignored",
                       BOOT_MEMORY_MAP_MAX);
        return false;
    }
    if (length != 0)
        info->memory_map[info->memory_map_count++] =
            (struct boot_memory_entry){base, length, type};
    return true;
}

void boot_info_use_basic_memory(struct boot_info *info, uint32_t lower_kb, uint32_t upper_kb)
{
    boot_info_warn(info, "no usable memory map; using mem_lower=%u KB mem_upper=%u KB",
                   lower_kb, upper_kb);
    info->memory_map[0] = (struct boot_memory_entry){0, (uint64_t)lower_kb * 1024,
                                                     BOOT_MEMORY_AVAILABLE};
    info->memory_map[1] = (struct boot_memory_entry){0x100000, (uint64_t)upper_kb * 1024,
                                                     BOOT_MEMORY_AVAILABLE};
    info->memory_map_count = 2;
    info->memory_source = BOOT_MEMORY_BASIC;
}

static void parse_memory(struct boot_info *info, boot_reader_t read, void *context,
                         const struct mb1_info *mb)
{
    static uint8_t map[MB1_MEMORY_MAP_MAX_BYTES];

    if (mb->flags & MB1_INFO_MEMORY_MAP) {
        uint32_t length = mb->memory_map_length;
        boot_info_reserve(info, mb->memory_map, length);
        if (length > sizeof(map)) {
            boot_info_warn(info, "memory map of %u bytes; only the first %u read", length,
                           (unsigned)sizeof(map));
            length = sizeof(map);
        }
        if (read(context, mb->memory_map, map, length)) {
            boot_info_parse_memory_map(info, map, length);
            if (info->memory_map_count) {
                info->memory_source = BOOT_MEMORY_MAP;
                return;
            }
            boot_info_warn(info, "memory map holds no entries");
        } else {
            boot_info_warn(info, "memory map at 0x%08x is unreadable", mb->memory_map);
        }
    }
    if (mb->flags & MB1_INFO_MEMORY) {
        boot_info_use_basic_memory(info, mb->mem_lower, mb->mem_upper);
        return;
    }
    boot_info_warn(info, "the boot loader gave no memory information");
    info->memory_source = BOOT_MEMORY_NONE;
}

static void parse_modules(struct boot_info *info, boot_reader_t read, void *context,
                          const struct mb1_info *mb)
{
    uint32_t count = mb->module_count;

    if (count > BOOT_MODULES_MAX) {
        boot_info_warn(info, "%u modules; only the first %u are used", count, BOOT_MODULES_MAX);
        count = BOOT_MODULES_MAX;
    }
    boot_info_reserve(info, mb->module_table, count * sizeof(struct mb1_module));
    for (uint32_t i = 0; i < count; i++) {
        struct mb1_module m;
        if (!read(context, mb->module_table + i * sizeof(m), &m, sizeof(m))) {
            boot_info_warn(info, "module table at 0x%08x is unreadable", mb->module_table);
            return;
        }
        if (m.end < m.start) {
            boot_info_warn(info, "module %u ends (0x%08x) before it starts (0x%08x); ignored",
                           i, m.end, m.start);
            continue;
        }
        struct boot_module *module = &info->modules[info->module_count++];
        module->start = m.start;
        module->end = m.end;
        module->name[0] = '\0';
        boot_info_reserve(info, m.start, m.end - m.start);
        if (m.name)
            boot_info_reserve(info, m.name,
                              read_string(info, read, context, m.name, module->name,
                                          sizeof(module->name), "module name"));
    }
}

/* Why a framebuffer cannot be what it claims, or NULL when nothing is wrong with it. */
static const char *framebuffer_problem(const struct boot_framebuffer *fb)
{
    /*
     * Text mode is the VGA screen at 0xB8000, which the console drives without these
     * fields; only a graphics mode would be drawn through them.
     */
    if (fb->type == BOOT_FRAMEBUFFER_EGA_TEXT)
        return NULL;
    if (fb->type != BOOT_FRAMEBUFFER_INDEXED && fb->type != BOOT_FRAMEBUFFER_RGB)
        return "unknown type";
    if (fb->width == 0 || fb->height == 0)
        return "no width or height";
    if (fb->bpp == 0 || fb->bpp > 32)
        return "bits per pixel out of range";
    if ((uint64_t)fb->width * fb->bpp > (uint64_t)fb->pitch * 8)
        return "pitch shorter than a line";
    if (fb->type == BOOT_FRAMEBUFFER_RGB &&
        (fb->red_position + fb->red_size > fb->bpp ||
         fb->green_position + fb->green_size > fb->bpp ||
         fb->blue_position + fb->blue_size > fb->bpp))
        return "a colour lies outside the pixel";
    return NULL;
}

void boot_info_set_framebuffer(struct boot_info *info, const struct boot_framebuffer *framebuffer)
{
    /*
     * A loader that sets up a graphics mode says so here; without this information the
     * machine was left in the text mode the BIOS started it in.
     */
    info->vga_text = framebuffer->type == BOOT_FRAMEBUFFER_EGA_TEXT;
    const char *problem = framebuffer_problem(framebuffer);
    if (problem) {
        boot_info_warn(info, "framebuffer %ux%u, %u bpp, type %u: %s; ignored",
                       framebuffer->width, framebuffer->height, framebuffer->bpp,
                       framebuffer->type, problem);
        return;
    }
    info->framebuffer = *framebuffer;
    info->framebuffer.present = true;
}

static void parse_framebuffer(struct boot_info *info, boot_reader_t read, void *context,
                              boot_paddr_t info_address, struct mb1_info *mb)
{
    struct boot_framebuffer fb = {
        .address = mb->framebuffer_address,
        .pitch = mb->framebuffer_pitch,
        .width = mb->framebuffer_width,
        .height = mb->framebuffer_height,
        .bpp = mb->framebuffer_bpp,
        .type = mb->framebuffer_type,
    };

    if (fb.type == BOOT_FRAMEBUFFER_RGB) {
        boot_paddr_t at = info_address + MB1_COLOR_INFO_OFFSET;
        if (!read(context, at, mb->color_info, sizeof(mb->color_info))) {
            boot_info_warn(info, "framebuffer colour information at 0x%08x is unreadable; "
                           "framebuffer ignored", at);
            info->vga_text = false;
            return;
        }
        boot_info_reserve(info, info_address + MB1_INFO_FIXED_SIZE,
                          MB1_COLOR_INFO_OFFSET - MB1_INFO_FIXED_SIZE + sizeof(mb->color_info));
        fb.red_position = mb->color_info[0];
        fb.red_size = mb->color_info[1];
        fb.green_position = mb->color_info[2];
        fb.green_size = mb->color_info[3];
        fb.blue_position = mb->color_info[4];
        fb.blue_size = mb->color_info[5];
    }
    boot_info_set_framebuffer(info, &fb);
}

void boot_info_parse_multiboot1(struct boot_info *info, boot_reader_t read, void *context,
                                boot_paddr_t info_address)
{
    struct mb1_info mb;

    boot_info_begin(info, 1);
    if (!read(context, info_address, &mb, MB1_INFO_FIXED_SIZE)) {
        boot_info_warn(info, "multiboot information at 0x%08x is unreadable", info_address);
        return;
    }
    boot_info_reserve(info, info_address, MB1_INFO_FIXED_SIZE);

    if (mb.flags & MB1_INFO_COMMAND_LINE)
        boot_info_reserve(info, mb.command_line,
                          read_string(info, read, context, mb.command_line, info->command_line,
                                      sizeof(info->command_line), "command line"));
    if (mb.flags & MB1_INFO_LOADER_NAME)
        boot_info_reserve(info, mb.loader_name,
                          read_string(info, read, context, mb.loader_name, info->loader_name,
                                      sizeof(info->loader_name), "boot loader name"));
    parse_memory(info, read, context, &mb);
    if (mb.flags & MB1_INFO_MODULES)
        parse_modules(info, read, context, &mb);
    if (mb.flags & MB1_INFO_FRAMEBUFFER)
        parse_framebuffer(info, read, context, info_address, &mb);
}
