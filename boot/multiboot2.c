/*
 * Multiboot 2 (Multiboot2 Specification 2.0, section 3.6 "Boot information"): a block
 * that opens with its total size and holds a list of tags, each 8-byte aligned and
 * starting with its type and size, ended by a tag of type 0. As with Multiboot 1, every
 * byte is read through a boot_reader_t and every size is checked before it is used:
 * the walk stays inside the block, always moves forward and stops at the first tag it
 * cannot trust.
 */
#include <stddef.h>

#include "boot/boot_parse.h"
#include "lib/string.h"

/* Tag types (section 3.6.2 and the sections it lists). */
#define MB2_TAG_END             0
#define MB2_TAG_COMMAND_LINE    1       /* 3.6.5 */
#define MB2_TAG_LOADER_NAME     2       /* 3.6.9 */
#define MB2_TAG_MODULE          3       /* 3.6.6 */
#define MB2_TAG_BASIC_MEMORY    4       /* 3.6.3 */
#define MB2_TAG_MEMORY_MAP      6       /* 3.6.8 */
#define MB2_TAG_FRAMEBUFFER     8       /* 3.6.12 */
#define MB2_TAG_ACPI_OLD        14      /* 3.6.15: a copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW        15      /* 3.6.16: a copy of the ACPI 2.0 RSDP */

#define MB2_TAG_ALIGN           8       /* tags and the block itself (3.6.2) */

/*
 * GRUB's block is a few kilobytes; anything past a megabyte is a corrupt size field, and
 * the bound keeps the walk (at least 8 bytes a step) short.
 */
#define MB2_INFO_MAX_SIZE       0x100000

/* The tags that may appear once; a second one is ignored. */
#define MB2_UNIQUE_TAGS ((1u << MB2_TAG_COMMAND_LINE) | (1u << MB2_TAG_LOADER_NAME) |     \
                         (1u << MB2_TAG_BASIC_MEMORY) | (1u << MB2_TAG_MEMORY_MAP) |      \
                         (1u << MB2_TAG_FRAMEBUFFER))

struct mb2_tag {
    uint32_t type;
    uint32_t size;          /* with this header, without the padding to the next tag */
};

struct mb2_module_tag {
    struct mb2_tag tag;
    uint32_t start;
    uint32_t end;           /* one past the last byte, as in Multiboot 1 */
    /* then the module's string, NUL-terminated */
};

struct mb2_basic_memory_tag {
    struct mb2_tag tag;
    uint32_t lower_kb;
    uint32_t upper_kb;
};

struct mb2_memory_map_tag {
    struct mb2_tag tag;
    uint32_t entry_size;    /* a multiple of 8; entries may grow in later versions */
    uint32_t entry_version;
};

struct mb2_memory_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;          /* the Multiboot 1 (E820) values */
    uint32_t reserved;
};

/*
 * The spec's table shows one reserved byte after framebuffer_type, but GRUB, its
 * reference loader, and the spec's own multiboot2.h have two, which puts the colour
 * information at offset 32.
 */
struct mb2_framebuffer_tag {
    struct mb2_tag tag;
    uint64_t address;
    uint32_t pitch;
    uint32_t width;
    uint32_t height;
    uint8_t bpp;
    uint8_t type;
    uint16_t reserved;
    /* BOOT_FRAMEBUFFER_RGB only: position and size of red, green and blue, in bits */
    uint8_t color_info[6];
} __attribute__((packed));

#define MB2_FRAMEBUFFER_COMMON_SIZE offsetof(struct mb2_framebuffer_tag, color_info)
_Static_assert(offsetof(struct mb2_framebuffer_tag, address) == 8, "multiboot 2 layout");
_Static_assert(MB2_FRAMEBUFFER_COMMON_SIZE == 32, "multiboot 2 framebuffer layout");
_Static_assert(sizeof(struct mb2_memory_entry) == 24, "multiboot 2 memory map layout");

struct mb2_walk {
    struct boot_info *info;
    boot_reader_t read;
    void *context;
    uint32_t seen;              /* MB2_UNIQUE_TAGS met so far */
    unsigned module_tags;
    bool have_basic_memory;
    struct mb2_basic_memory_tag basic_memory;
};

/* Reads the first length bytes of the tag at address; warns when that is impossible. */
static bool read_tag(struct mb2_walk *walk, boot_paddr_t address, uint32_t tag_size, void *buffer,
                     size_t length, const char *what)
{
    if (tag_size < length) {
        boot_info_warn(walk->info, "%s tag of %u bytes is too short; ignored", what, tag_size);
        return false;
    }
    if (!walk->read(walk->context, address, buffer, length)) {
        boot_info_warn(walk->info, "%s tag at 0x%08x is unreadable", what, address);
        return false;
    }
    return true;
}

/*
 * Copies the string of length bytes at address (the rest of a tag) into buffer. The
 * string must end inside its tag; the block it lies in is already reserved.
 */
static void copy_string(struct mb2_walk *walk, boot_paddr_t address, uint32_t length, char *buffer,
                        size_t size, const char *what)
{
    uint32_t want = MIN(length, (uint32_t)size - 1);
    char next;

    if (!walk->read(walk->context, address, buffer, want)) {
        boot_info_warn(walk->info, "%s at 0x%08x is unreadable", what, address);
        buffer[0] = '\0';
        return;
    }
    buffer[want] = '\0';
    if (strlen(buffer) < want)
        return;
    if (want == length)
        boot_info_warn(walk->info, "%s does not end inside its tag", what);
    else if (!walk->read(walk->context, address + want, &next, 1) || next != '\0')
        boot_info_string_truncated(walk->info, buffer, what);
}

static void parse_module(struct mb2_walk *walk, boot_paddr_t address, uint32_t size)
{
    struct boot_info *info = walk->info;
    struct mb2_module_tag m;
    unsigned index = walk->module_tags++;

    if (!read_tag(walk, address, size, &m, sizeof(m), "module"))
        return;
    if (m.end < m.start) {
        boot_info_warn(info, "module %u ends (0x%08x) before it starts (0x%08x); ignored",
                       index, m.end, m.start);
        return;
    }
    if (info->module_count == BOOT_MODULES_MAX)
        return;     /* counted, and reported once the walk is over */
    struct boot_module *module = &info->modules[info->module_count++];
    module->start = m.start;
    module->end = m.end;
    boot_info_reserve(info, m.start, m.end - m.start);
    copy_string(walk, address + sizeof(m), size - sizeof(m), module->name, sizeof(module->name),
                "module string");
}

static void parse_memory_map(struct mb2_walk *walk, boot_paddr_t address, uint32_t size)
{
    struct boot_info *info = walk->info;
    struct mb2_memory_map_tag map;

    if (!read_tag(walk, address, size, &map, sizeof(map), "memory map"))
        return;
    if (map.entry_size < sizeof(struct mb2_memory_entry)) {
        boot_info_warn(info, "memory map entry_size %u is below %u; map ignored",
                       map.entry_size, (unsigned)sizeof(struct mb2_memory_entry));
        return;
    }
    /* size and entry_size were checked: neither the count nor an offset can wrap. */
    uint32_t count = (size - sizeof(map)) / map.entry_size;
    if ((size - sizeof(map)) % map.entry_size)
        boot_info_warn(info, "memory map tag ends inside an entry; that entry ignored");
    info->memory_map_count = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct mb2_memory_entry entry;
        boot_paddr_t at = address + sizeof(map) + i * map.entry_size;
        if (!walk->read(walk->context, at, &entry, sizeof(entry))) {
            boot_info_warn(info, "memory map entry at 0x%08x is unreadable; map cut there", at);
            break;
        }
        if (!boot_info_add_memory_entry(info, entry.base, entry.length, entry.type))
            break;
    }
    if (info->memory_map_count)
        info->memory_source = BOOT_MEMORY_MAP;
    else
        boot_info_warn(info, "memory map holds no entries");
}

static void parse_framebuffer(struct mb2_walk *walk, boot_paddr_t address, uint32_t size)
{
    struct mb2_framebuffer_tag tag;

    /* Whatever the tag says, the loader has chosen the mode: it is no longer plain text. */
    walk->info->vga_text = false;
    if (!read_tag(walk, address, size, &tag, MB2_FRAMEBUFFER_COMMON_SIZE, "framebuffer"))
        return;
    struct boot_framebuffer fb = {
        .address = tag.address,
        .pitch = tag.pitch,
        .width = tag.width,
        .height = tag.height,
        .bpp = tag.bpp,
        .type = tag.type,
    };
    if (fb.type == BOOT_FRAMEBUFFER_RGB) {
        if (!read_tag(walk, address, size, &tag, sizeof(tag), "RGB framebuffer"))
            return;
        fb.red_position = tag.color_info[0];
        fb.red_size = tag.color_info[1];
        fb.green_position = tag.color_info[2];
        fb.green_size = tag.color_info[3];
        fb.blue_position = tag.color_info[4];
        fb.blue_size = tag.color_info[5];
    }
    boot_info_set_framebuffer(walk->info, &fb);
}

static void parse_tag(struct mb2_walk *walk, const struct mb2_tag *tag, boot_paddr_t address)
{
    struct boot_info *info = walk->info;

    if (tag->type < 32 && (MB2_UNIQUE_TAGS & (1u << tag->type))) {
        if (walk->seen & (1u << tag->type)) {
            boot_info_warn(info, "second tag of type %u ignored", tag->type);
            return;
        }
        walk->seen |= 1u << tag->type;
    }
    switch (tag->type) {
    case MB2_TAG_COMMAND_LINE:
        copy_string(walk, address + sizeof(*tag), tag->size - sizeof(*tag), info->command_line,
                    sizeof(info->command_line), "command line");
        break;
    case MB2_TAG_LOADER_NAME:
        copy_string(walk, address + sizeof(*tag), tag->size - sizeof(*tag), info->loader_name,
                    sizeof(info->loader_name), "boot loader name");
        break;
    case MB2_TAG_MODULE:
        parse_module(walk, address, tag->size);
        break;
    case MB2_TAG_BASIC_MEMORY:
        walk->have_basic_memory = read_tag(walk, address, tag->size, &walk->basic_memory,
                                           sizeof(walk->basic_memory), "basic memory");
        break;
    case MB2_TAG_MEMORY_MAP:
        parse_memory_map(walk, address, tag->size);
        break;
    case MB2_TAG_FRAMEBUFFER:
        parse_framebuffer(walk, address, tag->size);
        break;
    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW: {
        /* The RSDP as the tag holds it, checked later (arch/acpi.c); the newer one wins. */
        size_t length = MIN(tag->size - sizeof(*tag), sizeof(info->acpi_rsdp));
        if ((tag->type == MB2_TAG_ACPI_NEW || !info->acpi_rsdp_length) && length &&
            walk->read(walk->context, address + sizeof(*tag), info->acpi_rsdp, length))
            info->acpi_rsdp_length = length;
        break;
    }
    default:
        break;      /* the rest (boot device, EFI, ...) the kernel does not use */
    }
}

/*
 * Visits every tag of the block [info_address, info_address + total_size). Returns when
 * it meets the end tag or the first tag that does not fit.
 */
static void walk_tags(struct mb2_walk *walk, boot_paddr_t info_address, uint32_t total_size)
{
    /* The first tag follows total_size and reserved. */
    uint32_t offset = 2 * sizeof(uint32_t);

    for (;;) {
        struct mb2_tag tag;
        boot_paddr_t address = info_address + offset;

        if (offset > total_size || total_size - offset < sizeof(tag)) {
            boot_info_warn(walk->info, "multiboot 2 information has no end tag");
            return;
        }
        if (!walk->read(walk->context, address, &tag, sizeof(tag))) {
            boot_info_warn(walk->info, "multiboot 2 tag at 0x%08x is unreadable; the rest "
                           "ignored", address);
            return;
        }
        if (tag.size < sizeof(tag)) {
            boot_info_warn(walk->info, "multiboot 2 tag at 0x%08x has size %u; the rest "
                           "ignored", address, tag.size);
            return;
        }
        if (tag.size > total_size - offset) {
            boot_info_warn(walk->info, "multiboot 2 tag at 0x%08x runs past the information; "
                           "the rest ignored", address);
            return;
        }
        if (tag.type == MB2_TAG_END)
            return;
        parse_tag(walk, &tag, address);
        /* tag.size <= total_size <= MB2_INFO_MAX_SIZE: the sum cannot wrap. */
        offset += ALIGN_UP(tag.size, MB2_TAG_ALIGN);
    }
}

void boot_info_parse_multiboot2(struct boot_info *info, boot_reader_t read, void *context,
                                boot_paddr_t info_address)
{
    struct mb2_walk walk = {.info = info, .read = read, .context = context};
    uint32_t total_size;

    boot_info_begin(info, 2);
    if (!read(context, info_address, &total_size, sizeof(total_size))) {
        boot_info_warn(info, "multiboot 2 information at 0x%08x is unreadable", info_address);
        return;
    }
    if (total_size < 2 * sizeof(uint32_t) || total_size > MB2_INFO_MAX_SIZE ||
        total_size - 1 > 0xFFFFFFFF - info_address) {
        boot_info_warn(info, "multiboot 2 information at 0x%08x claims %u bytes; ignored",
                       info_address, total_size);
        return;
    }
    if (info_address & (MB2_TAG_ALIGN - 1))
        boot_info_warn(info, "multiboot 2 information at 0x%08x is not 8-byte aligned",
                       info_address);
    boot_info_reserve(info, info_address, total_size);

    walk_tags(&walk, info_address, total_size);

    if (walk.module_tags > BOOT_MODULES_MAX)
        boot_info_warn(info, "%u modules; only the first %u are used", walk.module_tags,
                       BOOT_MODULES_MAX);
    if (info->memory_source == BOOT_MEMORY_MAP)
        return;
    if (walk.have_basic_memory) {
        boot_info_use_basic_memory(info, walk.basic_memory.lower_kb,
                                   walk.basic_memory.upper_kb);
        return;
    }
    boot_info_warn(info, "the boot loader gave no memory information");
}
