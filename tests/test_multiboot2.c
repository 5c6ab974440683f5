/*
 * The Multiboot 2 parser on crafted boot information: a fake physical memory holds the
 * block a loader would leave, well-formed or not, and the parser reads it through
 * read_fake. The last cases check that the Multiboot 1 parser describes a framebuffer
 * the same way.
 */
#include "boot/boot_info.h"
#include "kernel/string.h"
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
#define TAG_LOAD_BASE           21
#define TAG_HEADER_SIZE         8
#define MODULE_TAG_SIZE         16      /* then the string */
#define MAP_TAG_SIZE            16      /* then the entries */
#define MAP_ENTRY_SIZE          24
#define FRAMEBUFFER_COMMON_SIZE 32      /* then the colour information */
#define FRAMEBUFFER_RGB_SIZE    (FRAMEBUFFER_COMMON_SIZE + 6)

#define RESERVED                2

/* The Multiboot 1 fields the framebuffer cases set (Multiboot 0.6.96 section 3.3). */
#define MB1_FLAGS               0
#define MB1_MMAP_LENGTH         44
#define MB1_MMAP_ADDR           48
#define MB1_FRAMEBUFFER_ADDR    88
#define MB1_FRAMEBUFFER_PITCH   96
#define MB1_FRAMEBUFFER_WIDTH   100
#define MB1_FRAMEBUFFER_HEIGHT  104
#define MB1_FRAMEBUFFER_BPP     108
#define MB1_FRAMEBUFFER_TYPE    109
#define MB1_FIXED_SIZE          110     /* the part every loader writes */
#define MB1_COLOR_INFO          112     /* where GRUB puts it (see boot/multiboot.c) */
#define MB1_INFO_SIZE           118
#define MB1_FLAG_MMAP           (1u << 6)
#define MB1_FLAG_FRAMEBUFFER    (1u << 12)

/* The fake physical memory. */
#define FAKE_BASE               0x00200000u
#define INFO_AT                 0x0000
#define MB1_MAP_AT              0x0400
#define OUTSIDE_FAKE            0x00100000u

static uint8_t image[64 * 1024];
static struct boot_info info;       /* too large for the kernel stack */
static uint32_t info_at;            /* where the block being built starts in image */
static uint32_t cursor;             /* where its next tag goes */

static bool read_fake(void *context, paddr_t address, void *buffer, size_t length)
{
    (void)context;
    if (address < FAKE_BASE || address - FAKE_BASE > sizeof(image) ||
        length > sizeof(image) - (address - FAKE_BASE))
        return false;
    memcpy(buffer, image + (address - FAKE_BASE), length);
    return true;
}

static paddr_t fake_address(uint32_t offset)
{
    return FAKE_BASE + offset;
}

static void put32(uint8_t *at, uint32_t value)
{
    memcpy(at, &value, sizeof(value));
}

static void put64(uint8_t *at, uint64_t value)
{
    memcpy(at, &value, sizeof(value));
}

/* ---- building a block ---- */

static void block_begin_at(uint32_t offset)
{
    memset(image, 0, sizeof(image));
    info_at = offset;
    cursor = offset + 8;        /* past total_size and reserved */
}

static void block_begin(void)
{
    block_begin_at(INFO_AT);
}

/* Adds a tag of size bytes at the cursor; returns it, for the caller to fill in. */
static uint8_t *tag_add(uint32_t type, uint32_t size)
{
    uint8_t *tag = image + cursor;

    put32(tag, type);
    put32(tag + 4, size);
    cursor += ALIGN_UP(size, 8);
    return tag;
}

static void block_set_total(uint32_t total_size)
{
    put32(image + info_at, total_size);
}

/* Ends the block with the end tag and sets total_size to cover it. */
static void block_end(void)
{
    tag_add(TAG_END, TAG_HEADER_SIZE);
    block_set_total(cursor - info_at);
}

static paddr_t string_tag_add(uint32_t type, const char *text)
{
    uint8_t *tag = tag_add(type, TAG_HEADER_SIZE + strlen(text) + 1);

    memcpy(tag + TAG_HEADER_SIZE, text, strlen(text) + 1);
    return fake_address(tag + TAG_HEADER_SIZE - image);
}

static paddr_t module_add(paddr_t start, paddr_t end, const char *text)
{
    uint8_t *tag = tag_add(TAG_MODULE, MODULE_TAG_SIZE + strlen(text) + 1);

    put32(tag + 8, start);
    put32(tag + 12, end);
    memcpy(tag + MODULE_TAG_SIZE, text, strlen(text) + 1);
    return fake_address(tag + MODULE_TAG_SIZE - image);
}

static void basic_memory_add(uint32_t lower_kb, uint32_t upper_kb)
{
    uint8_t *tag = tag_add(TAG_BASIC_MEMORY, 16);

    put32(tag + 8, lower_kb);
    put32(tag + 12, upper_kb);
}

struct map_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
};

static const struct map_entry good_map[] = {
    {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
    {0x000F0000, 0x00010000, RESERVED},
    {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
};

/* Entries of entry_size bytes; what lies past the 24 defined bytes is 0xEE. */
static void map_add(uint32_t entry_size, const struct map_entry *entries, unsigned count)
{
    uint8_t *tag = tag_add(TAG_MEMORY_MAP, MAP_TAG_SIZE + count * entry_size);

    put32(tag + 8, entry_size);
    put32(tag + 12, 0);
    for (unsigned i = 0; i < count; i++) {
        uint8_t *entry = tag + MAP_TAG_SIZE + i * entry_size;
        memset(entry, 0xEE, entry_size);
        put64(entry, entries[i].base);
        put64(entry + 8, entries[i].length);
        put32(entry + 16, entries[i].type);
        put32(entry + 20, 0);
    }
}

static void good_map_add(void)
{
    map_add(MAP_ENTRY_SIZE, good_map, ARRAY_SIZE(good_map));
}

struct framebuffer_spec {
    uint64_t address;
    uint32_t pitch, width, height;
    uint8_t bpp, type;
    uint8_t color[6];
};

/* A framebuffer tag of size bytes; below FRAMEBUFFER_RGB_SIZE, its fields are cut there. */
static void framebuffer_add_sized(const struct framebuffer_spec *fb, uint32_t size)
{
    uint8_t whole[FRAMEBUFFER_RGB_SIZE] = {0};
    uint8_t *tag = tag_add(TAG_FRAMEBUFFER, size);

    put64(whole + 8, fb->address);
    put32(whole + 16, fb->pitch);
    put32(whole + 20, fb->width);
    put32(whole + 24, fb->height);
    whole[28] = fb->bpp;
    whole[29] = fb->type;
    memcpy(whole + FRAMEBUFFER_COMMON_SIZE, fb->color, sizeof(fb->color));
    memcpy(tag + TAG_HEADER_SIZE, whole + TAG_HEADER_SIZE,
           MIN(size, sizeof(whole)) - TAG_HEADER_SIZE);
}

static void framebuffer_add(const struct framebuffer_spec *fb)
{
    framebuffer_add_sized(fb, fb->type == BOOT_FRAMEBUFFER_RGB ? FRAMEBUFFER_RGB_SIZE
                                                               : FRAMEBUFFER_COMMON_SIZE);
}

static void parse_block_at(paddr_t address)
{
    /* Garbage first: the parser must set every field, not rely on a zeroed structure. */
    memset(&info, 0xA5, sizeof(info));
    boot_info_parse_multiboot2(&info, read_fake, NULL, address);
}

static void parse_block(void)
{
    parse_block_at(fake_address(info_at));
}

/* ---- checking the result ---- */

static bool warning_contains(const struct boot_info *boot, const char *word)
{
    for (unsigned i = 0; i < MIN(boot->warning_count, BOOT_WARNINGS_MAX); i++)
        if (ktest_text_contains(boot->warnings[i], word))
            return true;
    return false;
}

/* Some reserved range holds all of [base, end). */
static bool covered(const struct boot_info *boot, paddr_t base, paddr_t end)
{
    for (unsigned i = 0; i < boot->reserved_count; i++)
        if (boot->reserved[i].base <= base && end <= boot->reserved[i].end)
            return true;
    return false;
}

/* Checks the number of warnings; on a mismatch the warnings themselves say what went wrong. */
static void expect_warnings(struct ktest *t, unsigned count)
{
    if (info.warning_count == count)
        return;
    t->failed = true;
    ktest_diag(t, "%u warnings, expected %u", info.warning_count, count);
    for (unsigned i = 0; i < MIN(info.warning_count, BOOT_WARNINGS_MAX); i++)
        ktest_diag(t, "warning: %s", info.warnings[i]);
}

static void expect_entry(struct ktest *t, unsigned index, uint64_t base, uint64_t length,
                         uint32_t type)
{
    const struct boot_memory_entry *e = &info.memory_map[index];

    if (e->base != base || e->length != length || e->type != type) {
        t->failed = true;
        ktest_diag(t, "entry %u is {0x%llx, 0x%llx, %u}, expected {0x%llx, 0x%llx, %u}",
                   index, (unsigned long long)e->base, (unsigned long long)e->length, e->type,
                   (unsigned long long)base, (unsigned long long)length, type);
    }
}

static void expect_good_map(struct ktest *t)
{
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, info.memory_source);
    KT_ASSERT_EQ(t, ARRAY_SIZE(good_map), info.memory_map_count);
    for (unsigned i = 0; i < ARRAY_SIZE(good_map); i++)
        expect_entry(t, i, good_map[i].base, good_map[i].length, good_map[i].type);
}

static void expect_basic_memory(struct ktest *t, uint32_t lower_kb, uint32_t upper_kb)
{
    KT_EXPECT_EQ(t, BOOT_MEMORY_BASIC, info.memory_source);
    KT_ASSERT_EQ(t, 2, info.memory_map_count);
    expect_entry(t, 0, 0, (uint64_t)lower_kb * 1024, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, (uint64_t)upper_kb * 1024, BOOT_MEMORY_AVAILABLE);
}

static void expect_framebuffer(struct ktest *t, const struct framebuffer_spec *fb)
{
    const struct boot_framebuffer *got = &info.framebuffer;

    KT_ASSERT(t, got->present);
    KT_EXPECT_EQ(t, fb->address, got->address);
    KT_EXPECT_EQ(t, fb->pitch, got->pitch);
    KT_EXPECT_EQ(t, fb->width, got->width);
    KT_EXPECT_EQ(t, fb->height, got->height);
    KT_EXPECT_EQ(t, fb->bpp, got->bpp);
    KT_EXPECT_EQ(t, fb->type, got->type);
    if (fb->type != BOOT_FRAMEBUFFER_RGB)
        return;
    KT_EXPECT_EQ(t, fb->color[0], got->red_position);
    KT_EXPECT_EQ(t, fb->color[1], got->red_size);
    KT_EXPECT_EQ(t, fb->color[2], got->green_position);
    KT_EXPECT_EQ(t, fb->color[3], got->green_size);
    KT_EXPECT_EQ(t, fb->color[4], got->blue_position);
    KT_EXPECT_EQ(t, fb->color[5], got->blue_size);
}

static const struct framebuffer_spec rgb32 = {
    0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8},
};

/* ---- well-formed blocks ---- */

static void info_full(struct ktest *t)
{
    static const char command_line[] = "/boot/kernel.elf test=multiboot2";
    static const char loader_name[] = "GRUB 2.06-13+deb12u2";
    static const char name0[] = "/boot/user/hello.exe hello.exe";
    static const char name1[] = "spawn.exe";
    static const struct map_entry map[] = {
        {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
        {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
        {0xFFFC0000, 0x00040000, RESERVED},
        {0x100000000, 0x40000000, BOOT_MEMORY_AVAILABLE},
    };

    block_begin();
    paddr_t command_line_at = string_tag_add(TAG_COMMAND_LINE, command_line);
    paddr_t loader_name_at = string_tag_add(TAG_LOADER_NAME, loader_name);
    paddr_t name0_at = module_add(0x00400000, 0x00412345, name0);
    paddr_t name1_at = module_add(0x00413000, 0x00413001, name1);
    basic_memory_add(639, 130048);
    map_add(MAP_ENTRY_SIZE, map, ARRAY_SIZE(map));
    framebuffer_add(&rgb32);
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT_EQ(t, 2, info.protocol);
    KT_EXPECT_STREQ(t, command_line, info.command_line);
    KT_EXPECT_STREQ(t, loader_name, info.loader_name);

    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, info.memory_source);
    KT_EXPECT_EQ(t, ARRAY_SIZE(map), info.memory_map_count);
    for (unsigned i = 0; i < MIN(info.memory_map_count, ARRAY_SIZE(map)); i++)
        expect_entry(t, i, map[i].base, map[i].length, map[i].type);

    KT_EXPECT(t, !info.vga_text);
    expect_framebuffer(t, &rgb32);

    KT_ASSERT_EQ(t, 2, info.module_count);
    KT_EXPECT_EQ(t, 0x00400000, info.modules[0].start);
    KT_EXPECT_EQ(t, 0x00412345, info.modules[0].end);
    KT_EXPECT_STREQ(t, name0, info.modules[0].name);
    KT_EXPECT_EQ(t, 0x00413000, info.modules[1].start);
    KT_EXPECT_EQ(t, 0x00413001, info.modules[1].end);
    KT_EXPECT_STREQ(t, name1, info.modules[1].name);

    paddr_t block_at = fake_address(info_at);
    KT_EXPECT(t, covered(&info, block_at, block_at + (cursor - info_at)));
    KT_EXPECT(t, covered(&info, command_line_at, command_line_at + sizeof(command_line)));
    KT_EXPECT(t, covered(&info, loader_name_at, loader_name_at + sizeof(loader_name)));
    KT_EXPECT(t, covered(&info, name0_at, name0_at + sizeof(name0)));
    KT_EXPECT(t, covered(&info, name1_at, name1_at + sizeof(name1)));
    KT_EXPECT(t, covered(&info, 0x00400000, 0x00412345));
    KT_EXPECT(t, covered(&info, 0x00413000, 0x00413001));
}

static void map_larger_entry_size(struct ktest *t)
{
    /* The 0xEE padding would read as a base or type if the parser stepped by 24. */
    block_begin();
    map_add(32, good_map, ARRAY_SIZE(good_map));
    block_end();
    parse_block();

    expect_warnings(t, 0);
    expect_good_map(t);
}

static void unknown_tags_skipped(struct ktest *t)
{
    block_begin();
    /* Odd sizes, so that the next tag is found only by rounding up to 8 bytes. */
    uint8_t *boot_device = tag_add(TAG_BOOT_DEVICE, 20);
    put32(boot_device + 8, TAG_COMMAND_LINE);       /* looks like a tag; is not one */
    put32(boot_device + 12, 0xFFFFFFFF);
    string_tag_add(TAG_COMMAND_LINE, "quiet");
    tag_add(TAG_ACPI_OLD, 8 + 20);
    tag_add(0x7FFFFFFF, 13);
    good_map_add();
    tag_add(TAG_LOAD_BASE, 12);
    string_tag_add(TAG_LOADER_NAME, "loader");
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT_STREQ(t, "quiet", info.command_line);
    KT_EXPECT_STREQ(t, "loader", info.loader_name);
    expect_good_map(t);
    KT_EXPECT(t, info.vga_text);
    KT_EXPECT(t, !info.framebuffer.present);
}

static void no_map_falls_back_to_basic(struct ktest *t)
{
    block_begin();
    basic_memory_add(639, 130048);
    block_end();
    parse_block();

    expect_warnings(t, 1);
    expect_basic_memory(t, 639, 130048);
}

static void no_memory_information(struct ktest *t)
{
    block_begin();
    string_tag_add(TAG_COMMAND_LINE, "test");
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "no memory information"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, info.memory_source);
    KT_EXPECT_EQ(t, 0, info.memory_map_count);
    KT_EXPECT_EQ(t, 0, info.module_count);
    KT_EXPECT_STREQ(t, "test", info.command_line);
    KT_EXPECT_STREQ(t, "", info.loader_name);
    KT_EXPECT(t, info.vga_text);
    KT_EXPECT(t, !info.framebuffer.present);
    KT_EXPECT(t, covered(&info, fake_address(info_at), fake_address(cursor)));
}

/* ---- malformed memory maps ---- */

static void map_entry_size_too_small(struct ktest *t)
{
    /* 0 would divide by zero, 20 is Multiboot 1's size, 23 one short. */
    static const uint32_t sizes[] = {0, 8, 20, 23};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        block_begin();
        map_add(MAP_ENTRY_SIZE, good_map, ARRAY_SIZE(good_map));
        put32(image + INFO_AT + 8 + 8, sizes[i]);
        basic_memory_add(639, 130048);
        block_end();
        parse_block();

        expect_warnings(t, 2);
        KT_EXPECT(t, warning_contains(&info, "entry_size"));
        expect_basic_memory(t, 639, 130048);
    }
}

static void map_zero_length_entries_dropped(struct ktest *t)
{
    static const struct map_entry map[] = {
        {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
        {0x0009FC00, 0, RESERVED},
        {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
        {0xFFFC0000, 0, RESERVED},
    };

    block_begin();
    map_add(MAP_ENTRY_SIZE, map, ARRAY_SIZE(map));
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_ASSERT_EQ(t, 2, info.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
}

static void map_ending_inside_an_entry(struct ktest *t)
{
    const uint32_t size = MAP_TAG_SIZE + 2 * MAP_ENTRY_SIZE + 10;

    block_begin();
    uint32_t tag_at = cursor;
    good_map_add();
    put32(image + tag_at + 4, size);
    cursor = tag_at + ALIGN_UP(size, 8);
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, info.memory_source);
    KT_ASSERT_EQ(t, 2, info.memory_map_count);
    expect_entry(t, 1, good_map[1].base, good_map[1].length, good_map[1].type);
}

static void second_map_ignored(struct ktest *t)
{
    static const struct map_entry other[] = {{0, 0x1000, BOOT_MEMORY_AVAILABLE}};

    block_begin();
    good_map_add();
    map_add(MAP_ENTRY_SIZE, other, ARRAY_SIZE(other));
    block_end();
    parse_block();

    expect_warnings(t, 1);
    expect_good_map(t);
}

/* ---- malformed blocks ---- */

static void tag_size_below_8_stops_walk(struct ktest *t)
{
    /* A size of 0 would loop forever on a careless parser. */
    static const uint32_t sizes[] = {0, 1, 4, 7};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        block_begin();
        good_map_add();
        uint8_t *bad = tag_add(0x1234, TAG_HEADER_SIZE);
        put32(bad + 4, sizes[i]);
        string_tag_add(TAG_COMMAND_LINE, "after the bad tag");
        block_end();
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&info, "size"));
        KT_EXPECT_STREQ(t, "", info.command_line);
        expect_good_map(t);
    }
}

static void tag_running_past_total_size(struct ktest *t)
{
    /* Just past the end, well past it, and so far that offset + size would wrap. */
    static const uint32_t extra[] = {1, 0x1000, 0xFFFFFF00};

    for (unsigned i = 0; i < ARRAY_SIZE(extra); i++) {
        block_begin();
        good_map_add();
        uint8_t *tag = image + cursor;
        string_tag_add(TAG_COMMAND_LINE, "cut short");
        block_end();
        uint32_t room = info_at + (cursor - info_at) - (tag - image);
        put32(tag + 4, room + extra[i]);
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&info, "past"));
        KT_EXPECT_STREQ(t, "", info.command_line);
        expect_good_map(t);
    }
}

static void total_size_insane(struct ktest *t)
{
    static const uint32_t sizes[] = {0, 4, 7, 0x100001, 0x7FFFFFFF, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        block_begin();
        good_map_add();
        block_end();
        block_set_total(sizes[i]);
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&info, "claims"));
        KT_EXPECT_EQ(t, 2, info.protocol);
        KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, info.memory_source);
        KT_EXPECT_EQ(t, 0, info.memory_map_count);
        KT_EXPECT_EQ(t, 0, info.reserved_count);
        KT_EXPECT(t, info.vga_text);
    }
}

static void missing_end_tag(struct ktest *t)
{
    /* Ending right after the last tag, and inside the last tag's padding. */
    for (unsigned padded = 0; padded < 2; padded++) {
        block_begin();
        good_map_add();
        uint8_t *tag = image + cursor;
        string_tag_add(TAG_COMMAND_LINE, "no end");     /* 15 bytes: 1 of padding */
        block_set_total(padded ? cursor - info_at : (uint32_t)(tag - image) + 15 - info_at);
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&info, "end tag"));
        KT_EXPECT_STREQ(t, "no end", info.command_line);
        expect_good_map(t);
    }
}

static void header_only_block(struct ktest *t)
{
    block_begin();
    block_set_total(8);
    parse_block();

    expect_warnings(t, 2);
    KT_EXPECT(t, warning_contains(&info, "end tag"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, info.memory_source);
    KT_EXPECT(t, covered(&info, fake_address(info_at), fake_address(info_at + 8)));
}

static void info_unreadable(struct ktest *t)
{
    /* Below the fake memory, straddling its end, and where address + size wraps. */
    static const paddr_t addresses[] = {
        OUTSIDE_FAKE,
        FAKE_BASE + sizeof(image) - 2,
        0xFFFFFFFE,
    };

    for (unsigned i = 0; i < ARRAY_SIZE(addresses); i++) {
        block_begin();
        good_map_add();
        block_end();
        parse_block_at(addresses[i]);

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&info, "unreadable"));
        KT_EXPECT_EQ(t, 2, info.protocol);
        KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, info.memory_source);
        KT_EXPECT_EQ(t, 0, info.memory_map_count);
        KT_EXPECT_EQ(t, 0, info.module_count);
        KT_EXPECT_EQ(t, 0, info.reserved_count);
        KT_EXPECT_STREQ(t, "", info.command_line);
        KT_EXPECT(t, info.vga_text);
    }
}

static void info_running_off_readable_memory(struct ktest *t)
{
    /* total_size is readable and sane, but the tags it claims are not there. */
    block_begin_at(sizeof(image) - 8);
    block_set_total(64);
    parse_block();

    expect_warnings(t, 2);
    KT_EXPECT(t, warning_contains(&info, "unreadable"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, info.memory_source);
}

static void info_not_8_byte_aligned(struct ktest *t)
{
    block_begin_at(INFO_AT + 4);
    string_tag_add(TAG_COMMAND_LINE, "crooked");
    good_map_add();
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "aligned"));
    KT_EXPECT_STREQ(t, "crooked", info.command_line);
    expect_good_map(t);
}

/* ---- strings and modules ---- */

static void long_command_line_truncated(struct ktest *t)
{
    const unsigned length = 8192;

    block_begin();
    good_map_add();
    uint8_t *tag = tag_add(TAG_COMMAND_LINE, TAG_HEADER_SIZE + length + 1);
    memset(tag + TAG_HEADER_SIZE, 'a', length);
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "truncated"));
    KT_ASSERT_EQ(t, BOOT_COMMAND_LINE_MAX - 1, strlen(info.command_line));
    KT_EXPECT_EQ(t, 'a', info.command_line[0]);
    KT_EXPECT_EQ(t, 'a', info.command_line[BOOT_COMMAND_LINE_MAX - 2]);
    paddr_t text_at = fake_address(tag + TAG_HEADER_SIZE - image);
    KT_EXPECT(t, covered(&info, text_at, text_at + length + 1));
    expect_good_map(t);
}

static void command_line_of_exactly_max_length(struct ktest *t)
{
    const unsigned length = BOOT_COMMAND_LINE_MAX - 1;

    block_begin();
    good_map_add();
    uint8_t *tag = tag_add(TAG_COMMAND_LINE, TAG_HEADER_SIZE + length + 1);
    memset(tag + TAG_HEADER_SIZE, 'b', length);
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT_EQ(t, length, strlen(info.command_line));
}

static void string_not_ending_in_its_tag(struct ktest *t)
{
    block_begin();
    uint8_t *tag = tag_add(TAG_LOADER_NAME, TAG_HEADER_SIZE + 6);
    memcpy(tag + TAG_HEADER_SIZE, "GRUB 2", 6);
    memset(tag + TAG_HEADER_SIZE + 6, 'A', 2);      /* padding that is not a NUL */
    good_map_add();
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "inside its tag"));
    KT_EXPECT_STREQ(t, "GRUB 2", info.loader_name);
    expect_good_map(t);
}

static void module_ending_before_start_ignored(struct ktest *t)
{
    /* The bad module comes first, so the good one must still land in slot 0. */
    block_begin();
    good_map_add();
    module_add(0x00500000, 0x004FF000, "bad");
    module_add(0x00400000, 0x00401000, "good");
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "module"));
    KT_ASSERT_EQ(t, 1, info.module_count);
    KT_EXPECT_EQ(t, 0x00400000, info.modules[0].start);
    KT_EXPECT_EQ(t, 0x00401000, info.modules[0].end);
    KT_EXPECT_STREQ(t, "good", info.modules[0].name);
    KT_EXPECT(t, covered(&info, 0x00400000, 0x00401000));
    KT_EXPECT(t, !covered(&info, 0x004FF000, 0x00500000));
}

static void module_tag_too_short(struct ktest *t)
{
    block_begin();
    good_map_add();
    tag_add(TAG_MODULE, 12);
    module_add(0x00400000, 0x00401000, "good");
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_ASSERT_EQ(t, 1, info.module_count);
    KT_EXPECT_STREQ(t, "good", info.modules[0].name);
}

static void too_many_modules(struct ktest *t)
{
    const unsigned count = BOOT_MODULES_MAX + 3;

    block_begin();
    good_map_add();
    for (unsigned i = 0; i < count; i++)
        module_add(0x01000000 + i * 0x10000, 0x01001000 + i * 0x10000 + i, "m");
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "modules"));
    KT_ASSERT_EQ(t, BOOT_MODULES_MAX, info.module_count);
    for (unsigned i = 0; i < BOOT_MODULES_MAX; i++) {
        KT_EXPECT_EQ(t, 0x01000000 + i * 0x10000, info.modules[i].start);
        KT_EXPECT_EQ(t, 0x01001000 + i * 0x10000 + i, info.modules[i].end);
        KT_EXPECT(t, covered(&info, info.modules[i].start, info.modules[i].end));
    }
}

/* ---- framebuffers ---- */

static void parse_framebuffer_block(const struct framebuffer_spec *fb, uint32_t size)
{
    block_begin();
    good_map_add();
    framebuffer_add_sized(fb, size);
    block_end();
    parse_block();
}

static void framebuffer_ega_text(struct ktest *t)
{
    static const struct framebuffer_spec text = {
        0xB8000, 160, 80, 25, 16, BOOT_FRAMEBUFFER_EGA_TEXT, {0},
    };

    parse_framebuffer_block(&text, FRAMEBUFFER_COMMON_SIZE);
    expect_warnings(t, 0);
    KT_EXPECT(t, info.vga_text);
    expect_framebuffer(t, &text);
}

static void framebuffer_rgb_16_and_24_bpp(struct ktest *t)
{
    static const struct framebuffer_spec modes[] = {
        {0xE0000000, 2048, 1024, 768, 16, BOOT_FRAMEBUFFER_RGB, {11, 5, 5, 6, 0, 5}},
        {0xE0000000, 3072, 1024, 768, 24, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}},
        {0x100000000, 2560, 640, 480, 32, BOOT_FRAMEBUFFER_RGB, {0, 8, 8, 8, 16, 8}},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
        parse_framebuffer_block(&modes[i], FRAMEBUFFER_RGB_SIZE);
        expect_warnings(t, 0);
        KT_EXPECT(t, !info.vga_text);
        expect_framebuffer(t, &modes[i]);
    }
}

static void framebuffer_indexed(struct ktest *t)
{
    static const struct framebuffer_spec indexed = {
        0xA0000, 320, 320, 200, 8, BOOT_FRAMEBUFFER_INDEXED, {0},
    };

    /* The palette: a count of 2 and two colours of 3 bytes. */
    block_begin();
    good_map_add();
    uint8_t *tag = image + cursor;
    framebuffer_add_sized(&indexed, FRAMEBUFFER_COMMON_SIZE + 2 + 2 * 3);
    tag[FRAMEBUFFER_COMMON_SIZE] = 2;
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT(t, !info.vga_text);
    expect_framebuffer(t, &indexed);
}

static void framebuffer_malformed_ignored(struct ktest *t)
{
    static const struct {
        struct framebuffer_spec fb;
        uint32_t size;
    } bad[] = {
        {{0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 24},
        {{0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 32},
        {{0xFD000000, 4095, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 4096, 1024, 768, 0, BOOT_FRAMEBUFFER_RGB, {0, 0, 0, 0, 0, 0}}, 38},
        {{0xFD000000, 4096, 1024, 768, 48, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 4096, 0, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 2048, 1024, 768, 16, BOOT_FRAMEBUFFER_RGB, {11, 5, 5, 6, 12, 5}}, 38},
        {{0xFD000000, 4096, 1024, 768, 32, 3, {0}}, 32},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        parse_framebuffer_block(&bad[i].fb, bad[i].size);
        if (info.warning_count != 1 || info.framebuffer.present || info.vga_text) {
            t->failed = true;
            ktest_diag(t, "bad framebuffer %u: %u warnings, present %d, vga_text %d", i,
                       info.warning_count, info.framebuffer.present, info.vga_text);
        }
        expect_good_map(t);
    }
}

/* ---- the Multiboot 1 parser's framebuffer ---- */

static void mb1_begin(uint32_t info_offset, uint32_t flags)
{
    memset(image, 0, sizeof(image));
    info_at = info_offset;
    uint8_t *mb = image + info_at;
    put32(mb + MB1_FLAGS, flags | MB1_FLAG_MMAP);
    /* One map entry (size 20, base, length, type), so the map raises no warning. */
    put32(image + MB1_MAP_AT, 20);
    put64(image + MB1_MAP_AT + 4, 0x00100000);
    put64(image + MB1_MAP_AT + 12, 0x07EE0000);
    put32(image + MB1_MAP_AT + 20, BOOT_MEMORY_AVAILABLE);
    put32(mb + MB1_MMAP_LENGTH, 24);
    put32(mb + MB1_MMAP_ADDR, fake_address(MB1_MAP_AT));
}

static void mb1_framebuffer_set(const struct framebuffer_spec *fb)
{
    uint8_t *mb = image + info_at;

    put64(mb + MB1_FRAMEBUFFER_ADDR, fb->address);
    put32(mb + MB1_FRAMEBUFFER_PITCH, fb->pitch);
    put32(mb + MB1_FRAMEBUFFER_WIDTH, fb->width);
    put32(mb + MB1_FRAMEBUFFER_HEIGHT, fb->height);
    mb[MB1_FRAMEBUFFER_BPP] = fb->bpp;
    mb[MB1_FRAMEBUFFER_TYPE] = fb->type;
    if (info_at + MB1_INFO_SIZE <= sizeof(image))
        memcpy(mb + MB1_COLOR_INFO, fb->color, sizeof(fb->color));
}

static void mb1_parse(void)
{
    memset(&info, 0xA5, sizeof(info));
    boot_info_parse_multiboot1(&info, read_fake, NULL, fake_address(info_at));
}

static void mb1_framebuffer_rgb(struct ktest *t)
{
    mb1_begin(INFO_AT, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();

    expect_warnings(t, 0);
    KT_EXPECT_EQ(t, 1, info.protocol);
    KT_EXPECT(t, !info.vga_text);
    expect_framebuffer(t, &rgb32);
    /* The fixed part, then the alignment bytes and the colour information. */
    KT_EXPECT(t, covered(&info, fake_address(INFO_AT), fake_address(INFO_AT + MB1_FIXED_SIZE)));
    KT_EXPECT(t, covered(&info, fake_address(INFO_AT + MB1_FIXED_SIZE),
                         fake_address(INFO_AT + MB1_INFO_SIZE)));
}

static void mb1_framebuffer_text_and_absent(struct ktest *t)
{
    static const struct framebuffer_spec text = {
        0xB8000, 160, 80, 25, 16, BOOT_FRAMEBUFFER_EGA_TEXT, {0},
    };

    mb1_begin(INFO_AT, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&text);
    mb1_parse();
    expect_warnings(t, 0);
    KT_EXPECT(t, info.vga_text);
    expect_framebuffer(t, &text);

    /* Without bit 12 the fields are left over from anything and must be ignored. */
    mb1_begin(INFO_AT, 0);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();
    expect_warnings(t, 0);
    KT_EXPECT(t, info.vga_text);
    KT_EXPECT(t, !info.framebuffer.present);
}

static void mb1_framebuffer_colors_unreadable(struct ktest *t)
{
    /* The 112 bytes before the colour information are the last readable ones. */
    mb1_begin(sizeof(image) - MB1_COLOR_INFO, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&info, "unreadable"));
    KT_EXPECT(t, !info.vga_text);
    KT_EXPECT(t, !info.framebuffer.present);
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, info.memory_source);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(info_full),
    KTEST_CASE(map_larger_entry_size),
    KTEST_CASE(unknown_tags_skipped),
    KTEST_CASE(no_map_falls_back_to_basic),
    KTEST_CASE(no_memory_information),
    KTEST_CASE(map_entry_size_too_small),
    KTEST_CASE(map_zero_length_entries_dropped),
    KTEST_CASE(map_ending_inside_an_entry),
    KTEST_CASE(second_map_ignored),
    KTEST_CASE(tag_size_below_8_stops_walk),
    KTEST_CASE(tag_running_past_total_size),
    KTEST_CASE(total_size_insane),
    KTEST_CASE(missing_end_tag),
    KTEST_CASE(header_only_block),
    KTEST_CASE(info_unreadable),
    KTEST_CASE(info_running_off_readable_memory),
    KTEST_CASE(info_not_8_byte_aligned),
    KTEST_CASE(long_command_line_truncated),
    KTEST_CASE(command_line_of_exactly_max_length),
    KTEST_CASE(string_not_ending_in_its_tag),
    KTEST_CASE(module_ending_before_start_ignored),
    KTEST_CASE(module_tag_too_short),
    KTEST_CASE(too_many_modules),
    KTEST_CASE(framebuffer_ega_text),
    KTEST_CASE(framebuffer_rgb_16_and_24_bpp),
    KTEST_CASE(framebuffer_indexed),
    KTEST_CASE(framebuffer_malformed_ignored),
    KTEST_CASE(mb1_framebuffer_rgb),
    KTEST_CASE(mb1_framebuffer_text_and_absent),
    KTEST_CASE(mb1_framebuffer_colors_unreadable),
};

KTEST_SUITE(multiboot2_suite, "multiboot2", cases);
