/*
 * The Multiboot 2 parser on crafted boot information: the builder of
 * tests/multiboot2_builder.h writes the block a loader would leave, well-formed or not,
 * into the fake physical memory, and the parser reads it through read_fake. Its
 * framebuffer tag is tested in tests/test_multiboot_fb.c.
 */
#include "boot/boot_info.h"
#include "lib/string.h"
#include "tests/fake_memory.h"
#include "tests/ktest.h"
#include "tests/multiboot2_builder.h"

static void expect_basic_memory(struct ktest *t, uint32_t lower_kb, uint32_t upper_kb)
{
    KT_EXPECT_EQ(t, BOOT_MEMORY_BASIC, parsed.memory_source);
    KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
    expect_entry(t, 0, 0, (uint64_t)lower_kb * 1024, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, (uint64_t)upper_kb * 1024, BOOT_MEMORY_AVAILABLE);
}

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
    boot_paddr_t command_line_at = string_tag_add(TAG_COMMAND_LINE, command_line);
    boot_paddr_t loader_name_at = string_tag_add(TAG_LOADER_NAME, loader_name);
    boot_paddr_t name0_at = module_add(0x00400000, 0x00412345, name0);
    boot_paddr_t name1_at = module_add(0x00413000, 0x00413001, name1);
    basic_memory_add(639, 130048);
    map_add(MAP_ENTRY_SIZE, map, ARRAY_SIZE(map));
    framebuffer_add(&rgb32);
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT_EQ(t, 2, parsed.protocol);
    KT_EXPECT_STREQ(t, command_line, parsed.command_line);
    KT_EXPECT_STREQ(t, loader_name, parsed.loader_name);

    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
    KT_EXPECT_EQ(t, ARRAY_SIZE(map), parsed.memory_map_count);
    for (unsigned i = 0; i < MIN(parsed.memory_map_count, ARRAY_SIZE(map)); i++)
        expect_entry(t, i, map[i].base, map[i].length, map[i].type);

    KT_EXPECT(t, !parsed.vga_text);
    expect_framebuffer(t, &rgb32);

    KT_ASSERT_EQ(t, 2, parsed.module_count);
    KT_EXPECT_EQ(t, 0x00400000, parsed.modules[0].start);
    KT_EXPECT_EQ(t, 0x00412345, parsed.modules[0].end);
    KT_EXPECT_STREQ(t, name0, parsed.modules[0].name);
    KT_EXPECT_EQ(t, 0x00413000, parsed.modules[1].start);
    KT_EXPECT_EQ(t, 0x00413001, parsed.modules[1].end);
    KT_EXPECT_STREQ(t, name1, parsed.modules[1].name);

    boot_paddr_t block_at = fake_address(block_start);
    KT_EXPECT(t, covered(&parsed, block_at, block_at + (block_cursor - block_start)));
    KT_EXPECT(t, covered(&parsed, command_line_at, command_line_at + sizeof(command_line)));
    KT_EXPECT(t, covered(&parsed, loader_name_at, loader_name_at + sizeof(loader_name)));
    KT_EXPECT(t, covered(&parsed, name0_at, name0_at + sizeof(name0)));
    KT_EXPECT(t, covered(&parsed, name1_at, name1_at + sizeof(name1)));
    KT_EXPECT(t, covered(&parsed, 0x00400000, 0x00412345));
    KT_EXPECT(t, covered(&parsed, 0x00413000, 0x00413001));
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
    KT_EXPECT_STREQ(t, "quiet", parsed.command_line);
    KT_EXPECT_STREQ(t, "loader", parsed.loader_name);
    expect_good_map(t);
    KT_EXPECT(t, parsed.vga_text);
    KT_EXPECT(t, !parsed.framebuffer.present);
}

/* The ACPI RSDP copies (tags 14 and 15) are kept as they are, the ACPI 2.0 one first. */
static void acpi_rsdp_copies_kept(struct ktest *t)
{
    block_begin();
    uint8_t *old = tag_add(TAG_ACPI_OLD, 8 + 20);
    memcpy(old + 8, "RSD PTR old", 11);
    uint8_t *new = tag_add(TAG_ACPI_NEW, 8 + 36);
    memcpy(new + 8, "RSD PTR new", 11);
    good_map_add();
    block_end();
    parse_block();
    KT_EXPECT_EQ(t, 36, parsed.acpi_rsdp_length);
    KT_EXPECT(t, memcmp(parsed.acpi_rsdp, "RSD PTR new", 11) == 0);

    /* Only the old one, its tag longer than an RSDP: the RSDP's bytes, no more. */
    block_begin();
    old = tag_add(TAG_ACPI_OLD, 8 + 60);
    memcpy(old + 8, "RSD PTR old", 11);
    good_map_add();
    block_end();
    parse_block();
    KT_EXPECT_EQ(t, 36, parsed.acpi_rsdp_length);
    KT_EXPECT(t, memcmp(parsed.acpi_rsdp, "RSD PTR old", 11) == 0);
    expect_warnings(t, 0);
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
    KT_EXPECT(t, warning_contains(&parsed, "no memory information"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
    KT_EXPECT_EQ(t, 0, parsed.memory_map_count);
    KT_EXPECT_EQ(t, 0, parsed.module_count);
    KT_EXPECT_STREQ(t, "test", parsed.command_line);
    KT_EXPECT_STREQ(t, "", parsed.loader_name);
    KT_EXPECT(t, parsed.vga_text);
    KT_EXPECT(t, !parsed.framebuffer.present);
    KT_EXPECT(t, covered(&parsed, fake_address(block_start), fake_address(block_cursor)));
}

/* ---- malformed memory maps ---- */

static void map_entry_size_too_small(struct ktest *t)
{
    /* 0 would divide by zero, 20 is Multiboot 1's size, 23 one short. */
    static const uint32_t sizes[] = {0, 8, 20, 23};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        block_begin();
        map_add(MAP_ENTRY_SIZE, good_map, ARRAY_SIZE(good_map));
        put32(fake_memory + INFO_AT + 8 + 8, sizes[i]);
        basic_memory_add(639, 130048);
        block_end();
        parse_block();

        expect_warnings(t, 2);
        KT_EXPECT(t, warning_contains(&parsed, "entry_size"));
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
    KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
}

static void map_ending_inside_an_entry(struct ktest *t)
{
    const uint32_t size = MAP_TAG_SIZE + 2 * MAP_ENTRY_SIZE + 10;

    block_begin();
    uint32_t tag_at = block_cursor;
    good_map_add();
    put32(fake_memory + tag_at + 4, size);
    block_cursor = tag_at + ALIGN_UP(size, 8);
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
    KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
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
        KT_EXPECT(t, warning_contains(&parsed, "size"));
        KT_EXPECT_STREQ(t, "", parsed.command_line);
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
        uint8_t *tag = fake_memory + block_cursor;
        string_tag_add(TAG_COMMAND_LINE, "cut short");
        block_end();
        uint32_t room = block_start + (block_cursor - block_start) - (tag - fake_memory);
        put32(tag + 4, room + extra[i]);
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&parsed, "past"));
        KT_EXPECT_STREQ(t, "", parsed.command_line);
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
        KT_EXPECT(t, warning_contains(&parsed, "claims"));
        KT_EXPECT_EQ(t, 2, parsed.protocol);
        KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
        KT_EXPECT_EQ(t, 0, parsed.memory_map_count);
        KT_EXPECT_EQ(t, 0, parsed.reserved_count);
        KT_EXPECT(t, parsed.vga_text);
    }
}

static void missing_end_tag(struct ktest *t)
{
    /* Ending right after the last tag, and inside the last tag's padding. */
    for (unsigned padded = 0; padded < 2; padded++) {
        block_begin();
        good_map_add();
        uint8_t *tag = fake_memory + block_cursor;
        string_tag_add(TAG_COMMAND_LINE, "no end");     /* 15 bytes: 1 of padding */
        block_set_total(padded ? block_cursor - block_start
                               : (uint32_t)(tag - fake_memory) + 15 - block_start);
        parse_block();

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&parsed, "end tag"));
        KT_EXPECT_STREQ(t, "no end", parsed.command_line);
        expect_good_map(t);
    }
}

static void header_only_block(struct ktest *t)
{
    block_begin();
    block_set_total(8);
    parse_block();

    expect_warnings(t, 2);
    KT_EXPECT(t, warning_contains(&parsed, "end tag"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
    KT_EXPECT(t, covered(&parsed, fake_address(block_start), fake_address(block_start + 8)));
}

static void info_unreadable(struct ktest *t)
{
    /* Below the fake memory, straddling its end, and where address + size wraps. */
    static const boot_paddr_t addresses[] = {
        OUTSIDE_FAKE,
        FAKE_BASE + sizeof(fake_memory) - 2,
        0xFFFFFFFE,
    };

    for (unsigned i = 0; i < ARRAY_SIZE(addresses); i++) {
        block_begin();
        good_map_add();
        block_end();
        parse_block_at(addresses[i]);

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&parsed, "unreadable"));
        KT_EXPECT_EQ(t, 2, parsed.protocol);
        KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
        KT_EXPECT_EQ(t, 0, parsed.memory_map_count);
        KT_EXPECT_EQ(t, 0, parsed.module_count);
        KT_EXPECT_EQ(t, 0, parsed.reserved_count);
        KT_EXPECT_STREQ(t, "", parsed.command_line);
        KT_EXPECT(t, parsed.vga_text);
    }
}

static void info_running_off_readable_memory(struct ktest *t)
{
    /* total_size is readable and sane, but the tags it claims are not there. */
    block_begin_at(sizeof(fake_memory) - 8);
    block_set_total(64);
    parse_block();

    expect_warnings(t, 2);
    KT_EXPECT(t, warning_contains(&parsed, "unreadable"));
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
}

static void info_not_8_byte_aligned(struct ktest *t)
{
    block_begin_at(INFO_AT + 4);
    string_tag_add(TAG_COMMAND_LINE, "crooked");
    good_map_add();
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "aligned"));
    KT_EXPECT_STREQ(t, "crooked", parsed.command_line);
    expect_good_map(t);
}

/* ---- strings and modules ---- */

/* 10,000 bytes of options, 10 apart: cut before the first that does not fit whole. */
static void long_command_line_truncated(struct ktest *t)
{
    const unsigned length = 10000;

    block_begin();
    good_map_add();
    uint8_t *tag = tag_add(TAG_COMMAND_LINE, TAG_HEADER_SIZE + length + 1);
    char *text = (char *)tag + TAG_HEADER_SIZE;
    for (unsigned i = 0; i < length; i++)
        text[i] = i % 10 == 9 ? ' ' : i % 10 < 4 ? "opt="[i % 10] : 'v';
    block_end();
    parse_block();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "truncated"));
    size_t kept = strlen(parsed.command_line);
    KT_EXPECT(t, kept < BOOT_COMMAND_LINE_MAX && kept >= BOOT_COMMAND_LINE_MAX - 11);
    KT_EXPECT_EQ(t, 9, kept % 10);          /* ends with a whole option */
    KT_EXPECT_EQ(t, 0, memcmp(parsed.command_line, text, kept));
    boot_paddr_t text_at = fake_address(tag + TAG_HEADER_SIZE - fake_memory);
    KT_EXPECT(t, covered(&parsed, text_at, text_at + length + 1));
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
    KT_EXPECT_EQ(t, length, strlen(parsed.command_line));
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
    KT_EXPECT(t, warning_contains(&parsed, "inside its tag"));
    KT_EXPECT_STREQ(t, "GRUB 2", parsed.loader_name);
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
    KT_EXPECT(t, warning_contains(&parsed, "module"));
    KT_ASSERT_EQ(t, 1, parsed.module_count);
    KT_EXPECT_EQ(t, 0x00400000, parsed.modules[0].start);
    KT_EXPECT_EQ(t, 0x00401000, parsed.modules[0].end);
    KT_EXPECT_STREQ(t, "good", parsed.modules[0].name);
    KT_EXPECT(t, covered(&parsed, 0x00400000, 0x00401000));
    KT_EXPECT(t, !covered(&parsed, 0x004FF000, 0x00500000));
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
    KT_ASSERT_EQ(t, 1, parsed.module_count);
    KT_EXPECT_STREQ(t, "good", parsed.modules[0].name);
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
    KT_EXPECT(t, warning_contains(&parsed, "modules"));
    KT_ASSERT_EQ(t, BOOT_MODULES_MAX, parsed.module_count);
    for (unsigned i = 0; i < BOOT_MODULES_MAX; i++) {
        KT_EXPECT_EQ(t, 0x01000000 + i * 0x10000, parsed.modules[i].start);
        KT_EXPECT_EQ(t, 0x01001000 + i * 0x10000 + i, parsed.modules[i].end);
        KT_EXPECT(t, covered(&parsed, parsed.modules[i].start, parsed.modules[i].end));
    }
}

static const struct ktest_case cases[] = {
    KTEST_CASE(info_full),
    KTEST_CASE(map_larger_entry_size),
    KTEST_CASE(unknown_tags_skipped),
    KTEST_CASE(acpi_rsdp_copies_kept),
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
};

KTEST_SUITE(multiboot2_suite, "multiboot2", cases);
