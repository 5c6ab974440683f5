/*
 * The Multiboot 1 parser on crafted boot information: a fake physical memory holds
 * the structures a loader would leave, well-formed or not, and the parser reads them
 * through read_fake (tests/fake_memory.h).
 */
#include "boot/boot_info.h"
#include "lib/string.h"
#include "arch/layout.h"
#include "tests/fake_memory.h"
#include "tests/ktest.h"

/*
 * Offsets of the fields in the boot information structure and its flag bits
 * (Multiboot 0.6.96 section 3.3 "Boot information format").
 */
#define MB_FLAGS                0
#define MB_MEM_LOWER            4
#define MB_MEM_UPPER            8
#define MB_CMDLINE              16
#define MB_MODS_COUNT           20
#define MB_MODS_ADDR            24
#define MB_MMAP_LENGTH          44
#define MB_MMAP_ADDR            48
#define MB_BOOT_LOADER_NAME     64
#define MB_FRAMEBUFFER_TYPE     109
#define MB_INFO_READ_SIZE       (MB_FRAMEBUFFER_TYPE + 1)

#define MB_FLAG_MEMORY          (1u << 0)
#define MB_FLAG_CMDLINE         (1u << 2)
#define MB_FLAG_MODS            (1u << 3)
#define MB_FLAG_MMAP            (1u << 6)
#define MB_FLAG_LOADER_NAME     (1u << 9)
#define MB_FLAG_FRAMEBUFFER     (1u << 12)

#define MB_FRAMEBUFFER_INDEXED  0
#define MB_FRAMEBUFFER_RGB      1
#define MB_FRAMEBUFFER_EGA_TEXT 2

/* A module table entry is start, end, string, reserved; a map entry is size + 4 bytes. */
#define MB_MODULE_SIZE          16
#define MB_MAP_ENTRY_SIZE       24

/* Where each case puts things in the fake physical memory. */
#define INFO_AT                 0x0000
#define MAP_AT                  0x0400
#define STRINGS_AT              0x0800
#define MODULE_TABLE_AT         0x0C00
#define LARGE_AT                0x1000

static uint8_t raw_map[(BOOT_MEMORY_MAP_MAX + 5) * MB_MAP_ENTRY_SIZE];

/* Writes one map entry at at; returns the bytes it takes (size + 4). */
static size_t put_map_entry(uint8_t *at, uint32_t size, uint64_t base, uint64_t length,
                            uint32_t type)
{
    put32(at, size);
    put64(at + 4, base);
    put64(at + 12, length);
    put32(at + 20, type);
    return sizeof(uint32_t) + size;
}

static boot_paddr_t put_string(uint32_t offset, const char *text)
{
    memcpy(fake_memory + offset, text, strlen(text) + 1);
    return fake_address(offset);
}

static void put_module(unsigned index, boot_paddr_t start, boot_paddr_t end, boot_paddr_t name)
{
    uint8_t *at = fake_memory + MODULE_TABLE_AT + index * MB_MODULE_SIZE;

    put32(at, start);
    put32(at + 4, end);
    put32(at + 8, name);
    put32(at + 12, 0);
}

static void info_begin(uint32_t flags)
{
    memset(fake_memory, 0, sizeof(fake_memory));
    put32(fake_memory + INFO_AT + MB_FLAGS, flags);
}

static void info_set(unsigned field, uint32_t value)
{
    put32(fake_memory + INFO_AT + field, value);
}

static void info_add_flags(uint32_t flags)
{
    uint32_t old;

    memcpy(&old, fake_memory + INFO_AT + MB_FLAGS, sizeof(old));
    info_set(MB_FLAGS, old | flags);
}

/* A well-formed three-entry map, so that cases about other fields expect no warning. */
static void info_add_good_map(void)
{
    uint8_t *at = fake_memory + MAP_AT;

    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 20, 0x000F0000, 0x00010000, RESERVED);
    at += put_map_entry(at, 20, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    info_set(MB_MMAP_LENGTH, at - (fake_memory + MAP_AT));
    info_set(MB_MMAP_ADDR, fake_address(MAP_AT));
    info_add_flags(MB_FLAG_MMAP);
}

static void parse_info_at(boot_paddr_t address)
{
    /* Garbage first: the parser must set every field, not rely on a zeroed structure. */
    memset(&parsed, 0xA5, sizeof(parsed));
    boot_info_parse_multiboot1(&parsed, read_fake, NULL, address);
}

static void parse_info(void)
{
    parse_info_at(fake_address(INFO_AT));
}

static void parse_raw_map(size_t length)
{
    memset(&parsed, 0, sizeof(parsed));
    boot_info_parse_memory_map(&parsed, raw_map, length);
}

/* ---- the memory-map buffer on its own ---- */

static void raw_map_standard_entries(struct ktest *t)
{
    uint8_t *at = raw_map;

    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 20, 0x000F0000, 0x00010000, RESERVED);
    at += put_map_entry(at, 20, 0x100000000, 0x40000000, BOOT_MEMORY_AVAILABLE);
    parse_raw_map(at - raw_map);
    expect_warnings(t, 0);
    KT_ASSERT_EQ(t, 3, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x000F0000, 0x00010000, RESERVED);
    expect_entry(t, 2, 0x100000000, 0x40000000, BOOT_MEMORY_AVAILABLE);
}

static void raw_map_larger_entry_size(struct ktest *t)
{
    uint8_t *at = raw_map;

    /* Padding that would read as a size or a type if the parser stepped by 20. */
    memset(raw_map, 0xEE, sizeof(raw_map));
    at += put_map_entry(at, 24, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 24, 0x000F0000, 0x00010000, RESERVED);
    at += put_map_entry(at, 24, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    parse_raw_map(at - raw_map);
    expect_warnings(t, 0);
    KT_ASSERT_EQ(t, 3, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x000F0000, 0x00010000, RESERVED);
    expect_entry(t, 2, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
}

static void raw_map_zero_size_stops(struct ktest *t)
{
    uint8_t *at = raw_map;

    /* Stepping by size + 4 over a size of 0 would loop forever on a careless parser. */
    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 0, 0x000F0000, 0x00010000, RESERVED);
    at += 20;   /* past the fields written after the zero size all the same */
    at += put_map_entry(at, 20, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    parse_raw_map(at - raw_map);
    expect_warnings(t, 1);
    KT_ASSERT_EQ(t, 1, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
}

/* Cuts the map after the first entry plus cut bytes of the second. */
static void expect_cut_map_keeps_first(struct ktest *t, unsigned first_cut, unsigned last_cut)
{
    uint8_t *at = raw_map;

    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    put_map_entry(at, 20, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    for (unsigned cut = first_cut; cut <= last_cut; cut++) {
        parse_raw_map(at - raw_map + cut);
        if (parsed.memory_map_count != 1 || parsed.warning_count != 1) {
            t->failed = true;
            ktest_diag(t, "map cut %u bytes into entry 1: %u entries, %u warnings", cut,
                       parsed.memory_map_count, parsed.warning_count);
        }
        if (parsed.memory_map_count >= 1)
            expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    }
}

static void raw_map_truncated_entry(struct ktest *t)
{
    expect_cut_map_keeps_first(t, 4, MB_MAP_ENTRY_SIZE - 1);
}

static void raw_map_truncated_size_field(struct ktest *t)
{
    /* Fewer bytes left than a size field holds is as malformed as any other cut. */
    expect_cut_map_keeps_first(t, 1, 3);
}

static void raw_map_huge_entry_size(struct ktest *t)
{
    uint8_t *at = raw_map;

    /* size + 4 wraps a 32-bit offset back into the map unless size is checked first. */
    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    put_map_entry(at, 20, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    put32(at, 0xFFFFFFF8);
    at += MB_MAP_ENTRY_SIZE;
    parse_raw_map(at - raw_map);
    expect_warnings(t, 1);
    KT_ASSERT_EQ(t, 1, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
}

static void raw_map_zero_length_entries_dropped(struct ktest *t)
{
    uint8_t *at = raw_map;

    at += put_map_entry(at, 20, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 20, 0x0009FC00, 0, RESERVED);
    at += put_map_entry(at, 20, 0x00100000, 0, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 20, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
    at += put_map_entry(at, 20, 0xFFFC0000, 0, RESERVED);
    parse_raw_map(at - raw_map);
    expect_warnings(t, 0);
    KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);
}

/* Fills raw_map with count one-page entries; returns its length. */
static size_t put_page_entries(unsigned count)
{
    uint8_t *at = raw_map;

    for (unsigned i = 0; i < count; i++)
        at += put_map_entry(at, 20, (uint64_t)i * PAGE_SIZE, PAGE_SIZE, BOOT_MEMORY_AVAILABLE);
    return at - raw_map;
}

static void raw_map_exactly_max_entries(struct ktest *t)
{
    parse_raw_map(put_page_entries(BOOT_MEMORY_MAP_MAX));
    expect_warnings(t, 0);
    KT_ASSERT_EQ(t, BOOT_MEMORY_MAP_MAX, parsed.memory_map_count);
    expect_entry(t, BOOT_MEMORY_MAP_MAX - 1, (uint64_t)(BOOT_MEMORY_MAP_MAX - 1) * PAGE_SIZE,
                 PAGE_SIZE, BOOT_MEMORY_AVAILABLE);
}

static void raw_map_too_many_entries(struct ktest *t)
{
    parse_raw_map(put_page_entries(BOOT_MEMORY_MAP_MAX + 5));
    expect_warnings(t, 1);
    KT_ASSERT_EQ(t, BOOT_MEMORY_MAP_MAX, parsed.memory_map_count);
    for (unsigned i = 0; i < BOOT_MEMORY_MAP_MAX; i++)
        expect_entry(t, i, (uint64_t)i * PAGE_SIZE, PAGE_SIZE, BOOT_MEMORY_AVAILABLE);
}

/* ---- the whole boot information ---- */

static void info_full(struct ktest *t)
{
    static const char command_line[] = "root=/dev/hd0 test=multiboot";
    static const char loader_name[] = "GRUB 2.06";
    static const char name0[] = "/boot/initrd.img ro";
    static const char name1[] = "/boot/drivers.tar";

    info_begin(MB_FLAG_MEMORY | MB_FLAG_CMDLINE | MB_FLAG_MODS | MB_FLAG_LOADER_NAME);
    info_set(MB_MEM_LOWER, 639);
    info_set(MB_MEM_UPPER, 130048);
    info_add_good_map();
    boot_paddr_t command_line_at = put_string(STRINGS_AT, command_line);
    boot_paddr_t loader_name_at = put_string(STRINGS_AT + 0x80, loader_name);
    boot_paddr_t name0_at = put_string(STRINGS_AT + 0x100, name0);
    boot_paddr_t name1_at = put_string(STRINGS_AT + 0x180, name1);
    put_module(0, 0x00400000, 0x00412345, name0_at);
    put_module(1, 0x00413000, 0x00413001, name1_at);
    info_set(MB_CMDLINE, command_line_at);
    info_set(MB_BOOT_LOADER_NAME, loader_name_at);
    info_set(MB_MODS_COUNT, 2);
    info_set(MB_MODS_ADDR, fake_address(MODULE_TABLE_AT));
    parse_info();

    expect_warnings(t, 0);
    KT_EXPECT_STREQ(t, command_line, parsed.command_line);
    KT_EXPECT_STREQ(t, loader_name, parsed.loader_name);
    KT_EXPECT(t, parsed.vga_text);

    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
    KT_EXPECT_EQ(t, 3, parsed.memory_map_count);
    expect_entry(t, 0, 0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x000F0000, 0x00010000, RESERVED);
    expect_entry(t, 2, 0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE);

    KT_ASSERT_EQ(t, 2, parsed.module_count);
    KT_EXPECT_EQ(t, 0x00400000, parsed.modules[0].start);
    KT_EXPECT_EQ(t, 0x00412345, parsed.modules[0].end);
    KT_EXPECT_STREQ(t, name0, parsed.modules[0].name);
    KT_EXPECT_EQ(t, 0x00413000, parsed.modules[1].start);
    KT_EXPECT_EQ(t, 0x00413001, parsed.modules[1].end);
    KT_EXPECT_STREQ(t, name1, parsed.modules[1].name);

    boot_paddr_t info_at = fake_address(INFO_AT);
    boot_paddr_t map_at = fake_address(MAP_AT);
    boot_paddr_t table_at = fake_address(MODULE_TABLE_AT);
    KT_EXPECT(t, covered(&parsed, info_at, info_at + MB_INFO_READ_SIZE));
    KT_EXPECT(t, covered(&parsed, map_at, map_at + 3 * MB_MAP_ENTRY_SIZE));
    KT_EXPECT(t, covered(&parsed, command_line_at, command_line_at + sizeof(command_line)));
    KT_EXPECT(t, covered(&parsed, loader_name_at, loader_name_at + sizeof(loader_name)));
    KT_EXPECT(t, covered(&parsed, table_at, table_at + 2 * MB_MODULE_SIZE));
    KT_EXPECT(t, covered(&parsed, 0x00400000, 0x00412345));
    KT_EXPECT(t, covered(&parsed, 0x00413000, 0x00413001));
    KT_EXPECT(t, covered(&parsed, name0_at, name0_at + sizeof(name0)));
    KT_EXPECT(t, covered(&parsed, name1_at, name1_at + sizeof(name1)));
}

static void info_no_map_falls_back_to_basic(struct ktest *t)
{
    info_begin(MB_FLAG_MEMORY);
    info_set(MB_MEM_LOWER, 639);
    info_set(MB_MEM_UPPER, 130048);
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT_EQ(t, BOOT_MEMORY_BASIC, parsed.memory_source);
    KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
    expect_entry(t, 0, 0, 639 * 1024, BOOT_MEMORY_AVAILABLE);
    expect_entry(t, 1, 0x00100000, 130048ull * 1024, BOOT_MEMORY_AVAILABLE);
}

static void info_map_flag_but_unreadable_map_falls_back(struct ktest *t)
{
    /* Wholly outside readable memory, and straddling its end. */
    static const boot_paddr_t map_addresses[] = {
        OUTSIDE_FAKE,
        FAKE_BASE + sizeof(fake_memory) - MB_MAP_ENTRY_SIZE,
    };

    for (unsigned i = 0; i < ARRAY_SIZE(map_addresses); i++) {
        info_begin(MB_FLAG_MEMORY | MB_FLAG_MMAP);
        info_set(MB_MEM_LOWER, 639);
        info_set(MB_MEM_UPPER, 130048);
        info_set(MB_MMAP_ADDR, map_addresses[i]);
        info_set(MB_MMAP_LENGTH, 2 * MB_MAP_ENTRY_SIZE);
        parse_info();

        expect_warnings(t, 2);
        KT_EXPECT(t, warning_contains(&parsed, "unreadable"));
        KT_EXPECT_EQ(t, BOOT_MEMORY_BASIC, parsed.memory_source);
        KT_ASSERT_EQ(t, 2, parsed.memory_map_count);
        expect_entry(t, 0, 0, 639 * 1024, BOOT_MEMORY_AVAILABLE);
        expect_entry(t, 1, 0x00100000, 130048ull * 1024, BOOT_MEMORY_AVAILABLE);
    }
}

static void info_empty_map_falls_back(struct ktest *t)
{
    info_begin(MB_FLAG_MEMORY | MB_FLAG_MMAP);
    info_set(MB_MEM_LOWER, 639);
    info_set(MB_MEM_UPPER, 130048);
    put_map_entry(fake_memory + MAP_AT, 20, 0x00100000, 0, BOOT_MEMORY_AVAILABLE);
    info_set(MB_MMAP_ADDR, fake_address(MAP_AT));
    info_set(MB_MMAP_LENGTH, MB_MAP_ENTRY_SIZE);
    parse_info();

    expect_warnings(t, 2);
    KT_EXPECT_EQ(t, BOOT_MEMORY_BASIC, parsed.memory_source);
    KT_EXPECT_EQ(t, 2, parsed.memory_map_count);
}

static void info_no_memory_information(struct ktest *t)
{
    info_begin(0);
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
    KT_EXPECT_EQ(t, 0, parsed.memory_map_count);
    KT_EXPECT_EQ(t, 0, parsed.module_count);
    KT_EXPECT_STREQ(t, "", parsed.command_line);
    KT_EXPECT_STREQ(t, "", parsed.loader_name);
    KT_EXPECT(t, parsed.vga_text);
    KT_EXPECT(t, covered(&parsed, fake_address(INFO_AT),
                         fake_address(INFO_AT) + MB_INFO_READ_SIZE));
}

static void info_unreadable(struct ktest *t)
{
    /* Below the fake memory, straddling its end, and where address + size wraps. */
    static const boot_paddr_t addresses[] = {
        OUTSIDE_FAKE,
        FAKE_BASE + sizeof(fake_memory) - 50,
        0xFFFFFFC0,
    };

    for (unsigned i = 0; i < ARRAY_SIZE(addresses); i++) {
        info_begin(MB_FLAG_MEMORY | MB_FLAG_CMDLINE);
        parse_info_at(addresses[i]);

        expect_warnings(t, 1);
        KT_EXPECT(t, warning_contains(&parsed, "unreadable"));
        KT_EXPECT_EQ(t, BOOT_MEMORY_NONE, parsed.memory_source);
        KT_EXPECT_EQ(t, 0, parsed.memory_map_count);
        KT_EXPECT_EQ(t, 0, parsed.module_count);
        KT_EXPECT_EQ(t, 0, parsed.reserved_count);
        KT_EXPECT_STREQ(t, "", parsed.command_line);
        KT_EXPECT(t, parsed.vga_text);
    }
}

/*
 * 10,000 bytes of options, 10 apart ("opt=vvvvv "): cut before the first that does not
 * fit whole, with a warning; the whole string still kept from reuse.
 */
static void long_command_line_truncated(struct ktest *t)
{
    const unsigned length = 10000;

    info_begin(MB_FLAG_CMDLINE);
    info_add_good_map();
    for (unsigned i = 0; i < length; i++)
        fake_memory[LARGE_AT + i] = i % 10 == 9 ? ' ' : i % 10 < 4 ? "opt="[i % 10] : 'v';
    fake_memory[LARGE_AT + length] = '\0';
    info_set(MB_CMDLINE, fake_address(LARGE_AT));
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "truncated"));
    size_t kept = strlen(parsed.command_line);
    KT_EXPECT(t, kept < BOOT_COMMAND_LINE_MAX && kept >= BOOT_COMMAND_LINE_MAX - 11);
    KT_EXPECT_EQ(t, 9, kept % 10);          /* ends with a whole option */
    KT_EXPECT_EQ(t, 0, memcmp(parsed.command_line, fake_memory + LARGE_AT, kept));
    KT_EXPECT(t, covered(&parsed, fake_address(LARGE_AT), fake_address(LARGE_AT) + length + 1));
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
}

/* One 9,000-byte word: no whole option fits, so none is kept. */
static void command_line_of_one_huge_option_dropped(struct ktest *t)
{
    const unsigned length = 9000;

    info_begin(MB_FLAG_CMDLINE);
    info_add_good_map();
    memset(fake_memory + LARGE_AT, 'a', length);
    fake_memory[LARGE_AT + length] = '\0';
    info_set(MB_CMDLINE, fake_address(LARGE_AT));
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT_STREQ(t, "", parsed.command_line);
    KT_EXPECT(t, covered(&parsed, fake_address(LARGE_AT), fake_address(LARGE_AT) + length + 1));
}

static void unterminated_string_at_end_of_memory(struct ktest *t)
{
    const unsigned length = 100;
    const uint32_t offset = sizeof(fake_memory) - length;

    info_begin(MB_FLAG_CMDLINE);
    info_add_good_map();
    memset(fake_memory + offset, 'x', length);
    info_set(MB_CMDLINE, fake_address(offset));
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT_STREQ(t, "", parsed.command_line);
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
}

static void module_ending_before_start_ignored(struct ktest *t)
{
    /* The bad module comes first, so the good one must still land in slot 0. */
    info_begin(MB_FLAG_MODS);
    info_add_good_map();
    boot_paddr_t bad_name = put_string(STRINGS_AT, "bad");
    boot_paddr_t good_name = put_string(STRINGS_AT + 0x10, "good");
    put_module(0, 0x00500000, 0x004FF000, bad_name);
    put_module(1, 0x00400000, 0x00401000, good_name);
    info_set(MB_MODS_COUNT, 2);
    info_set(MB_MODS_ADDR, fake_address(MODULE_TABLE_AT));
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "module"));
    KT_ASSERT_EQ(t, 1, parsed.module_count);
    KT_EXPECT_EQ(t, 0x00400000, parsed.modules[0].start);
    KT_EXPECT_EQ(t, 0x00401000, parsed.modules[0].end);
    KT_EXPECT_STREQ(t, "good", parsed.modules[0].name);
    KT_EXPECT(t, covered(&parsed, 0x00400000, 0x00401000));
    KT_EXPECT(t, !covered(&parsed, 0x004FF000, 0x00500000));
}

/*
 * A module over the kernel's image is dropped, with a warning; one over the boot
 * information itself is kept (the loader put both there), and all of it stays reserved.
 */
static void modules_over_the_kernel_or_the_information(struct ktest *t)
{
    const boot_paddr_t kernel_start = 0x00100000, kernel_end = 0x00180000;

    info_begin(MB_FLAG_MODS);
    info_add_good_map();
    put_module(0, 0x000FF000, 0x00101000, put_string(STRINGS_AT, "over-kernel-start"));
    put_module(1, fake_address(INFO_AT), fake_address(MODULE_TABLE_AT) + 0x100,
               put_string(STRINGS_AT + 0x20, "over-information"));
    put_module(2, 0x0017F000, 0x00200000, put_string(STRINGS_AT + 0x40, "over-kernel-end"));
    put_module(3, 0x00180000, 0x00181000, put_string(STRINGS_AT + 0x60, "after-kernel"));
    info_set(MB_MODS_COUNT, 4);
    info_set(MB_MODS_ADDR, fake_address(MODULE_TABLE_AT));
    parse_info();
    expect_warnings(t, 0);
    boot_info_drop_modules_over(&parsed, kernel_start, kernel_end);

    expect_warnings(t, 2);
    KT_EXPECT(t, warning_contains(&parsed, "overlaps the kernel image"));
    KT_ASSERT_EQ(t, 2, parsed.module_count);
    KT_EXPECT_STREQ(t, "over-information", parsed.modules[0].name);
    KT_EXPECT_STREQ(t, "after-kernel", parsed.modules[1].name);
    KT_EXPECT(t, covered(&parsed, fake_address(INFO_AT), fake_address(MODULE_TABLE_AT) + 0x100));
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
}

static void too_many_modules(struct ktest *t)
{
    const unsigned count = BOOT_MODULES_MAX + 3;

    info_begin(MB_FLAG_MODS);
    info_add_good_map();
    for (unsigned i = 0; i < count; i++)
        put_module(i, 0x01000000 + i * 0x10000, 0x01001000 + i * 0x10000 + i, 0);
    info_set(MB_MODS_COUNT, count);
    info_set(MB_MODS_ADDR, fake_address(MODULE_TABLE_AT));
    parse_info();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "modules"));
    KT_ASSERT_EQ(t, BOOT_MODULES_MAX, parsed.module_count);
    for (unsigned i = 0; i < BOOT_MODULES_MAX; i++) {
        KT_EXPECT_EQ(t, 0x01000000 + i * 0x10000, parsed.modules[i].start);
        KT_EXPECT_EQ(t, 0x01001000 + i * 0x10000 + i, parsed.modules[i].end);
        KT_EXPECT_STREQ(t, "", parsed.modules[i].name);
        KT_EXPECT(t, covered(&parsed, parsed.modules[i].start, parsed.modules[i].end));
    }
    boot_paddr_t table_at = fake_address(MODULE_TABLE_AT);
    KT_EXPECT(t, covered(&parsed, table_at, table_at + BOOT_MODULES_MAX * MB_MODULE_SIZE));
}

static bool vga_text_after(bool framebuffer_flag, uint8_t framebuffer_type)
{
    info_begin(framebuffer_flag ? MB_FLAG_FRAMEBUFFER : 0);
    info_add_good_map();
    fake_memory[INFO_AT + MB_FRAMEBUFFER_TYPE] = framebuffer_type;
    parse_info();
    return parsed.vga_text;
}

static void framebuffer_text_vs_graphics(struct ktest *t)
{
    KT_EXPECT(t, vga_text_after(true, MB_FRAMEBUFFER_EGA_TEXT));
    expect_warnings(t, 0);
    KT_EXPECT(t, !vga_text_after(true, MB_FRAMEBUFFER_RGB));
    KT_EXPECT(t, !vga_text_after(true, MB_FRAMEBUFFER_INDEXED));
    /* Without bit 12 the type byte is left over from anything and must be ignored. */
    KT_EXPECT(t, vga_text_after(false, MB_FRAMEBUFFER_RGB));
    expect_warnings(t, 0);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(raw_map_standard_entries),
    KTEST_CASE(raw_map_larger_entry_size),
    KTEST_CASE(raw_map_zero_size_stops),
    KTEST_CASE(raw_map_truncated_entry),
    KTEST_CASE(raw_map_truncated_size_field),
    KTEST_CASE(raw_map_huge_entry_size),
    KTEST_CASE(raw_map_zero_length_entries_dropped),
    KTEST_CASE(raw_map_exactly_max_entries),
    KTEST_CASE(raw_map_too_many_entries),
    KTEST_CASE(info_full),
    KTEST_CASE(info_no_map_falls_back_to_basic),
    KTEST_CASE(info_map_flag_but_unreadable_map_falls_back),
    KTEST_CASE(info_empty_map_falls_back),
    KTEST_CASE(info_no_memory_information),
    KTEST_CASE(info_unreadable),
    KTEST_CASE(long_command_line_truncated),
    KTEST_CASE(command_line_of_one_huge_option_dropped),
    KTEST_CASE(unterminated_string_at_end_of_memory),
    KTEST_CASE(module_ending_before_start_ignored),
    KTEST_CASE(modules_over_the_kernel_or_the_information),
    KTEST_CASE(too_many_modules),
    KTEST_CASE(framebuffer_text_vs_graphics),
};

KTEST_SUITE(multiboot_suite, "multiboot", cases);
