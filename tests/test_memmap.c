/*
 * MiBuildPhysicalMemory: firmware memory maps, well-formed and not, into sorted runs of
 * whole pages below 4 GB.
 */
#include "arch/layout.h"
#include "boot/boot_info.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "tests/ktest.h"

#define RESERVED        2
#define ACPI_RECLAIM    3
#define ACPI_NVS        4
#define BAD_MEMORY      5

#define FOUR_GB 0x100000000ull

/*
 * Checks run_count, every run and total_pages against expected; each mismatch is
 * reported with its run index, since one failing line would not say which run differs.
 */
static void expect_runs(struct ktest *t, const struct mi_physical_memory *memory,
                        const struct mi_physical_run *expected, unsigned count)
{
    uint32_t total = 0;

    for (unsigned i = 0; i < count; i++)
        total += expected[i].page_count;
    if (memory->run_count != count) {
        t->failed = true;
        ktest_diag(t, "run_count is %u, expected %u", memory->run_count, count);
    }
    for (unsigned i = 0; i < MIN(count, memory->run_count); i++) {
        const struct mi_physical_run *run = &memory->runs[i];
        if (run->base_page != expected[i].base_page ||
            run->page_count != expected[i].page_count) {
            t->failed = true;
            ktest_diag(t, "run %u is [0x%x, +0x%x pages), expected [0x%x, +0x%x pages)", i,
                       run->base_page, run->page_count, expected[i].base_page,
                       expected[i].page_count);
        }
    }
    for (unsigned i = count; i < memory->run_count && i < MI_MAX_PHYSICAL_RUNS; i++)
        ktest_diag(t, "extra run %u is [0x%x, +0x%x pages)", i, memory->runs[i].base_page,
                   memory->runs[i].page_count);
    if (memory->total_pages != total) {
        t->failed = true;
        ktest_diag(t, "total_pages is 0x%x, expected 0x%x", memory->total_pages, total);
    }
}

/* Builds the runs of map and checks them all; RAM above 4 GB must be above_4gb bytes. */
static void check_map(struct ktest *t, const struct boot_memory_entry *map, unsigned map_count,
                      const struct mi_physical_run *expected, unsigned count, uint64_t above_4gb)
{
    struct mi_physical_memory memory;

    MiBuildPhysicalMemory(map, map_count, FOUR_GB, &memory);
    expect_runs(t, &memory, expected, count);
    KT_EXPECT_EQ(t, above_4gb, memory.bytes_above_limit);
    KT_EXPECT_EQ(t, 0, memory.runs_dropped);
}

static const struct boot_memory_entry typical_pc_map[] = {
    {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
    {0x0009FC00, 0x00000400, RESERVED},
    {0x000F0000, 0x00010000, RESERVED},
    {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
    {0xFFFC0000, 0x00040000, RESERVED},
};

static const struct mi_physical_run typical_pc_runs[] = {
    {0x000, 0x9F},
    {0x100, 0x7EE0},
};

static void sorted_map(struct ktest *t)
{
    check_map(t, typical_pc_map, ARRAY_SIZE(typical_pc_map), typical_pc_runs, ARRAY_SIZE(typical_pc_runs), 0);
}

static void unsorted_map(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0xFFFC0000, 0x00040000, RESERVED},
        {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
        {0x0009FC00, 0x00000400, RESERVED},
        {0x000F0000, 0x00010000, RESERVED},
        {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
    };
    check_map(t, map, ARRAY_SIZE(map), typical_pc_runs, ARRAY_SIZE(typical_pc_runs), 0);
}

static void overlapping_reserved_wins(struct ktest *t)
{
    /* The reserved range touches pages 0x150 and 0x151 without covering either whole. */
    static const struct boot_memory_entry map[] = {
        {0x00100000, 0x00100000, BOOT_MEMORY_AVAILABLE},
        {0x00150800, 0x00001000, RESERVED},
    };
    static const struct mi_physical_run expected[] = {
        {0x100, 0x50},
        {0x152, 0xAE},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void overlapping_available_entries_merge(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x00180000, 0x00100000, BOOT_MEMORY_AVAILABLE},
        {0x00100000, 0x00100000, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {0x100, 0x180},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void zero_length_entries_ignored(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x00100000, 0x00100000, BOOT_MEMORY_AVAILABLE},
        {0x00180000, 0, RESERVED},
        {0x00180800, 0, RESERVED},
        {0x00400000, 0, BOOT_MEMORY_AVAILABLE},
        {0x00000000, 0, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {0x100, 0x100},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void unaligned_entries_rounded_inward(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x1800, 0x4000, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {2, 3},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void adjacent_unaligned_entries_join(struct ktest *t)
{
    /* Rounded one by one, neither entry would hold a whole page 1. */
    static const struct boot_memory_entry map[] = {
        {0x1000, 0x0800, BOOT_MEMORY_AVAILABLE},
        {0x1800, 0x1800, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {1, 2},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void reserved_byte_excludes_page(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x00100000, 0x00010000, BOOT_MEMORY_AVAILABLE},
        {0x00104123, 1, RESERVED},
    };
    static const struct mi_physical_run expected[] = {
        {0x100, 4},
        {0x105, 0xB},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void above_4gb_counted_not_used(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x000000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
        {0x100000000, 0x40000000, BOOT_MEMORY_AVAILABLE},
        {0x000100000, 0x03F00000, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {0x000, 0x9F},
        {0x100, 0x3F00},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0x40000000);
}

static void entry_crossing_4gb(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0xC0000000, 0x80000000, BOOT_MEMORY_AVAILABLE},
    };
    static const struct mi_physical_run expected[] = {
        {0xC0000, 0x40000},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0x40000000);
}

static void wrapping_length(struct ktest *t)
{
    /* base + length wraps past 2^64; the entry must read as "to the end", not as tiny. */
    static const struct boot_memory_entry map[] = {
        {0x00100000, UINT64_MAX, BOOT_MEMORY_AVAILABLE},
    };
    struct mi_physical_memory memory;

    MiBuildPhysicalMemory(map, ARRAY_SIZE(map), FOUR_GB, &memory);
    KT_ASSERT_EQ(t, 1, memory.run_count);
    KT_EXPECT_EQ(t, 0x100, memory.runs[0].base_page);
    KT_EXPECT_EQ(t, 0xFFF00, memory.runs[0].page_count);
    KT_EXPECT_EQ(t, 0xFFF00, memory.total_pages);
    KT_EXPECT(t, memory.bytes_above_limit >= UINT64_MAX - FOUR_GB);
}

/* With PAE's limit (16 GB here) RAM above 4 GB is used up to it, and counted past it. */
static void higher_limit_keeps_ram_above_4gb(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x00000000, 0x0009F000, BOOT_MEMORY_AVAILABLE},
        {0x00100000, 0xBFF00000, BOOT_MEMORY_AVAILABLE},
        {0x100000000ull, 0x340000000ull, BOOT_MEMORY_AVAILABLE},    /* 4 GB to 17 GB */
    };
    struct mi_physical_memory memory;

    MiBuildPhysicalMemory(map, ARRAY_SIZE(map), 16 * 0x40000000ull, &memory);
    KT_ASSERT_EQ(t, 3, memory.run_count);
    KT_EXPECT_EQ(t, 0x100000, memory.runs[2].base_page);
    KT_EXPECT_EQ(t, 0x300000, memory.runs[2].page_count);      /* 12 GB, to 16 GB */
    KT_EXPECT_EQ(t, 0x40000000ull, memory.bytes_above_limit);   /* the 17th GB */
}

static void empty_map(struct ktest *t)
{
    /* A count of 0 must be obeyed even when the array holds an entry. */
    static const struct boot_memory_entry map[] = {
        {0x00100000, 0x00100000, BOOT_MEMORY_AVAILABLE},
    };
    struct mi_physical_memory memory;

    memset(&memory, 0xA5, sizeof(memory));
    MiBuildPhysicalMemory(map, 0, FOUR_GB, &memory);
    KT_EXPECT_EQ(t, 0, memory.run_count);
    KT_EXPECT_EQ(t, 0, memory.total_pages);
    KT_EXPECT_EQ(t, 0, memory.bytes_above_limit);
    KT_EXPECT_EQ(t, 0, memory.runs_dropped);
}

static void only_reserved(struct ktest *t)
{
    static const struct boot_memory_entry map[] = {
        {0x00000000, 0x000A0000, RESERVED},
        {0x00100000, 0x07F00000, RESERVED},
        {0x100000000, 0x10000000, RESERVED},
    };
    struct mi_physical_memory memory;

    MiBuildPhysicalMemory(map, ARRAY_SIZE(map), FOUR_GB, &memory);
    KT_EXPECT_EQ(t, 0, memory.run_count);
    KT_EXPECT_EQ(t, 0, memory.total_pages);
    KT_EXPECT_EQ(t, 0, memory.bytes_above_limit);
    KT_EXPECT_EQ(t, 0, memory.runs_dropped);
}

static void reserved_type_values(struct ktest *t)
{
    /* Multiboot 0.6.96 section 3.3: only type 1 is RAM; every other value is not. */
    static const struct boot_memory_entry map[] = {
        {0x00100000, 0x00100000, BOOT_MEMORY_AVAILABLE},
        {0x00300000, 0x00100000, RESERVED},
        {0x00400000, 0x00100000, ACPI_RECLAIM},
        {0x00500000, 0x00100000, ACPI_NVS},
        {0x00600000, 0x00100000, BAD_MEMORY},
        {0x00700000, 0x00100000, 7},
        {0x00800000, 0x00100000, 0},
        {0x100000000, 0x00100000, ACPI_NVS},
    };
    static const struct mi_physical_run expected[] = {
        {0x100, 0x100},
    };
    check_map(t, map, ARRAY_SIZE(map), expected, ARRAY_SIZE(expected), 0);
}

static void many_runs_truncated(struct ktest *t)
{
    static struct boot_memory_entry map[40];
    static struct mi_physical_run expected[MI_MAX_PHYSICAL_RUNS];
    struct mi_physical_memory memory;

    for (unsigned i = 0; i < ARRAY_SIZE(map); i++)
        map[i] = (struct boot_memory_entry){(0x100 + 2 * i) * PAGE_SIZE, PAGE_SIZE,
                                            BOOT_MEMORY_AVAILABLE};
    for (unsigned i = 0; i < ARRAY_SIZE(expected); i++)
        expected[i] = (struct mi_physical_run){0x100 + 2 * i, 1};

    MiBuildPhysicalMemory(map, ARRAY_SIZE(map), FOUR_GB, &memory);
    expect_runs(t, &memory, expected, ARRAY_SIZE(expected));
    KT_EXPECT_EQ(t, ARRAY_SIZE(map) - MI_MAX_PHYSICAL_RUNS, memory.runs_dropped);
    KT_EXPECT_EQ(t, 0, memory.bytes_above_limit);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(sorted_map),
    KTEST_CASE(unsorted_map),
    KTEST_CASE(overlapping_reserved_wins),
    KTEST_CASE(overlapping_available_entries_merge),
    KTEST_CASE(zero_length_entries_ignored),
    KTEST_CASE(unaligned_entries_rounded_inward),
    KTEST_CASE(adjacent_unaligned_entries_join),
    KTEST_CASE(reserved_byte_excludes_page),
    KTEST_CASE(above_4gb_counted_not_used),
    KTEST_CASE(entry_crossing_4gb),
    KTEST_CASE(wrapping_length),
    KTEST_CASE(higher_limit_keeps_ram_above_4gb),
    KTEST_CASE(empty_map),
    KTEST_CASE(only_reserved),
    KTEST_CASE(reserved_type_values),
    KTEST_CASE(many_runs_truncated),
};

KTEST_SUITE(memmap_suite, "memmap", cases);
