/*
 * System PTEs and the map of system space: the regions follow the split, do not
 * overlap, and the allocator hands out disjoint runs inside its own regions only.
 */
#include "arch/layout.h"
#include "lib/string.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

static uint64_t region_end(const struct mi_system_region *r)
{
    return r->end ? r->end : 0x100000000ull;
}

static bool in_system_pte_region(vaddr_t va, uint32_t pages)
{
    for (unsigned i = 0; i < MiSystemRegionCount; i++) {
        const struct mi_system_region *r = &MiSystemRegions[i];
        if (r->system_ptes && va >= r->base && va + (uint64_t)pages * PAGE_SIZE <= region_end(r))
            return true;
    }
    return false;
}

/* The regions tile system space from MmSystemRangeStart to 4 GB, in order. */
static void regions_tile_system_space(struct ktest *t)
{
    uint64_t expected_base = MmSystemRangeStart;

    KT_ASSERT(t, MiSystemRegionCount > 0);
    for (unsigned i = 0; i < MiSystemRegionCount; i++) {
        const struct mi_system_region *r = &MiSystemRegions[i];
        KT_EXPECT_EQ(t, expected_base, r->base);
        KT_EXPECT(t, region_end(r) > r->base);
        KT_EXPECT(t, r->base % PAGE_SIZE == 0);
        expected_base = region_end(r);
    }
    KT_EXPECT_EQ(t, 0x100000000ull, expected_base);
}

/* The fixed places of docs/memory-model.md 1.3 are where NT has them, in every split. */
static void fixed_regions_in_place(struct ktest *t)
{
    static const struct {
        const char *name;
        vaddr_t base, end;
    } fixed[] = {
        {"PTE self-map", PTE_BASE, HYPER_SPACE},
        {"hyperspace", HYPER_SPACE, HYPER_SPACE_END},
        {"kernel image", KERNEL_WINDOW, KERNEL_WINDOW_END},
    };

    for (unsigned f = 0; f < ARRAY_SIZE(fixed); f++) {
        bool found = false;
        for (unsigned i = 0; i < MiSystemRegionCount; i++) {
            const struct mi_system_region *r = &MiSystemRegions[i];
            if (strcmp(r->name, fixed[f].name) == 0) {
                found = true;
                KT_EXPECT_EQ(t, fixed[f].base, r->base);
                KT_EXPECT_EQ(t, fixed[f].end, r->end);
                KT_EXPECT(t, !r->system_ptes);
            }
        }
        KT_EXPECT(t, found);
    }
    KT_EXPECT_EQ(t, 0xC0000000, PTE_BASE);
    KT_EXPECT_EQ(t, MM_PAE ? 0xC0600000 : 0xC0300000, PDE_BASE);
    KT_EXPECT(t, (vaddr_t)_kernel_start >= 0xC0000000);
}

/* System PTEs get all of [MmSystemRangeStart, 0xC0000000): system space follows the split. */
static void system_pte_space_follows_split(struct ktest *t)
{
    uint64_t pages = 0;

    for (unsigned i = 0; i < MiSystemRegionCount; i++)
        if (MiSystemRegions[i].system_ptes)
            pages += (region_end(&MiSystemRegions[i]) - MiSystemRegions[i].base) / PAGE_SIZE;
    uint64_t low_pages = (PTE_BASE - MmSystemRangeStart) / PAGE_SIZE;
    KT_EXPECT(t, pages > low_pages);
    KT_EXPECT(t, in_system_pte_region(MmSystemRangeStart, low_pages) || low_pages == 0);
    ktest_diag(t, "%llu system PTE pages, %llu of them below 0xC0000000",
               (unsigned long long)pages, (unsigned long long)low_pages);
}

static void reserve_release_counts(struct ktest *t)
{
    uint32_t free_before = MiFreeSystemPtes();
    vaddr_t a = MiReserveSystemPtes(1), b = MiReserveSystemPtes(17), c = MiReserveSystemPtes(1024);

    KT_ASSERT(t, a && b && c);
    KT_EXPECT_EQ(t, free_before - 1 - 17 - 1024, MiFreeSystemPtes());
    KT_EXPECT(t, in_system_pte_region(a, 1));
    KT_EXPECT(t, in_system_pte_region(b, 17));
    KT_EXPECT(t, in_system_pte_region(c, 1024));
    KT_EXPECT(t, a + PAGE_SIZE <= b || b + 17 * PAGE_SIZE <= a);
    KT_EXPECT(t, b + 17 * PAGE_SIZE <= c || c + 1024 * PAGE_SIZE <= b);
    KT_EXPECT(t, a + PAGE_SIZE <= c || c + 1024 * PAGE_SIZE <= a);
    MiReleaseSystemPtes(b, 17);
    MiReleaseSystemPtes(a, 1);
    MiReleaseSystemPtes(c, 1024);
    KT_EXPECT_EQ(t, free_before, MiFreeSystemPtes());
}

/*
 * Takes all of system PTE space (big runs, then single pages), checks that nothing is
 * left, then frees one page in the middle: the next request must find exactly that
 * page, wherever the search left off. Everything is given back at the end.
 */
static void exhaustion_and_reuse(struct ktest *t)
{
    enum { BIG = 1024, MAX_BIG = 0x80000000u / (BIG * PAGE_SIZE), MAX_SMALL = 2 * BIG };
    static vaddr_t big[MAX_BIG], small[MAX_SMALL];
    uint32_t free_before = MiFreeSystemPtes();
    unsigned big_count = 0, small_count = 0;

    while (big_count < MAX_BIG && (big[big_count] = MiReserveSystemPtes(BIG)) != 0)
        big_count++;
    while (small_count < MAX_SMALL && (small[small_count] = MiReserveSystemPtes(1)) != 0)
        small_count++;
    KT_EXPECT_EQ(t, 0, MiFreeSystemPtes());
    KT_EXPECT_EQ(t, free_before, big_count * BIG + small_count);
    KT_EXPECT_EQ(t, 0, MiReserveSystemPtes(1));

    if (KT_EXPECT(t, big_count > 1)) {
        vaddr_t hole = big[big_count / 2] + 100 * PAGE_SIZE;
        MiReleaseSystemPtes(hole, 1);
        KT_EXPECT_EQ(t, 1, MiFreeSystemPtes());
        KT_EXPECT_EQ(t, hole, MiReserveSystemPtes(1));
    }
    for (unsigned i = 0; i < big_count; i++)
        MiReleaseSystemPtes(big[i], BIG);
    for (unsigned i = 0; i < small_count; i++)
        MiReleaseSystemPtes(small[i], 1);
    KT_EXPECT_EQ(t, free_before, MiFreeSystemPtes());
}

/* A request larger than all free space fails cleanly and takes nothing. */
static void oversized_request_fails(struct ktest *t)
{
    uint32_t free_before = MiFreeSystemPtes();

    KT_EXPECT_EQ(t, 0, MiReserveSystemPtes(free_before + 1));
    KT_EXPECT_EQ(t, 0, MiReserveSystemPtes(0));
    KT_EXPECT_EQ(t, free_before, MiFreeSystemPtes());
}

static const struct ktest_case cases[] = {
    KTEST_CASE(regions_tile_system_space),
    KTEST_CASE(fixed_regions_in_place),
    KTEST_CASE(system_pte_space_follows_split),
    KTEST_CASE(reserve_release_counts),
    KTEST_CASE(exhaustion_and_reuse),
    KTEST_CASE(oversized_request_fails),
};

KTEST_SUITE(syspte_suite, "syspte", cases);
