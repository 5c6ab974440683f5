/*
 * The nonpaged pool: blocks of every size are usable end to end, aligned and disjoint; the
 * statistics count exactly; empty pages go back to the memory manager at once; running
 * out of memory gives NULL and changes nothing. Every case leaves the pool and the free
 * frames as it found them.
 */
#include "arch/layout.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

#define TAG_TEST    0x74736554  /* 'Test' */
#define SMALL_LIMIT 1016        /* the largest request served from a size class */

struct snapshot {
    uint32_t frames;
    struct pool_statistics pool;
};

/*
 * Frames that only page tables hold count as free: a page table made for a new 4 MB of
 * system space stays for good, and is not the pool's to give back.
 */
static void take_snapshot(struct snapshot *s)
{
    s->frames = MmAvailablePages() + MiPagesInUse[MI_USE_PAGE_TABLE];
    ExQueryPoolStatistics(NonPagedPool, &s->pool);
}

/* The pool holds extra_pages more than at before, and they are the only frames missing. */
static void expect_extra_pages(struct ktest *t, const struct snapshot *before,
                               uint32_t extra_pages)
{
    struct snapshot now;

    take_snapshot(&now);
    KT_EXPECT_EQ(t, before->pool.pages + extra_pages, now.pool.pages);
    KT_EXPECT_EQ(t, before->frames - extra_pages, now.frames);
}

static void expect_unchanged(struct ktest *t, const struct snapshot *before)
{
    struct snapshot now;

    take_snapshot(&now);
    KT_EXPECT_EQ(t, before->frames, now.frames);
    KT_EXPECT_EQ(t, before->pool.pages, now.pool.pages);
    KT_EXPECT_EQ(t, before->pool.allocations, now.pool.allocations);
    KT_EXPECT_EQ(t, before->pool.bytes_requested, now.pool.bytes_requested);
}

/*
 * After one small block: exactly one new page in an idle pool; none or one when other
 * blocks are live, as their class may have a page with room.
 */
static void expect_small_block_pages(struct ktest *t, const struct snapshot *before)
{
    struct pool_statistics now;

    ExQueryPoolStatistics(NonPagedPool, &now);
    if (before->pool.allocations == 0)
        KT_EXPECT_EQ(t, before->pool.pages + 1, now.pages);
    else
        KT_EXPECT(t, now.pages - before->pool.pages <= 1);
}

/* Distinct per block, so that two blocks sharing bytes would not hold the same values. */
static uint8_t pattern(uint32_t index, uint32_t offset)
{
    return (uint8_t)((offset + 1) * (2 * index + 1) + (index >> 7));
}

static void fill(void *block, size_t bytes, uint32_t index)
{
    uint8_t *p = block;

    for (size_t i = 0; i < bytes; i++)
        p[i] = pattern(index, i);
}

static bool holds_pattern(const void *block, size_t bytes, uint32_t index)
{
    const uint8_t *p = block;

    for (size_t i = 0; i < bytes; i++)
        if (p[i] != pattern(index, i))
            return false;
    return true;
}

/* One block of each size class (the 8-byte header included), their edges and sizes between. */
static void alloc_free_each_class(struct ktest *t)
{
    static const uint32_t sizes[] = {0, 1, 8, 9, 24, 25, 56, 57, 100, 120, 248, 300, 504,
                                     505, 1000, SMALL_LIMIT};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        struct snapshot before;
        take_snapshot(&before);

        void *block = ExAllocatePoolWithTag(NonPagedPool, sizes[i], TAG_TEST);
        if (!KT_EXPECT(t, block != NULL))
            return;
        struct pool_statistics during;
        ExQueryPoolStatistics(NonPagedPool, &during);
        KT_EXPECT_EQ(t, before.pool.allocations + 1, during.allocations);
        KT_EXPECT_EQ(t, before.pool.bytes_requested + sizes[i], during.bytes_requested);
        expect_small_block_pages(t, &before);

        fill(block, sizes[i], i);
        if (!KT_EXPECT(t, holds_pattern(block, sizes[i], i)))
            ktest_diag(t, "%u-byte block at %p", sizes[i], block);
        ExFreePoolWithTag(block, TAG_TEST);
        expect_unchanged(t, &before);
    }
}

/*
 * 1000 blocks of mixed sizes, most small, some of whole pages, each filled with its own
 * pattern; all must be intact after the others were written. Freed in a scrambled order.
 */
static void blocks_do_not_overlap(struct ktest *t)
{
    enum { COUNT = 1000, STRIDE = 617 };    /* 617 is prime to 1000: a permutation */
    static void *blocks[COUNT];
    static uint32_t sizes[COUNT];
    struct snapshot before;
    unsigned allocated = 0, damaged = 0;
    uint32_t bytes = 0;

    take_snapshot(&before);
    for (; allocated < COUNT; allocated++) {
        uint32_t i = allocated;
        sizes[i] = i % 100 == 99 ? 5000 + i : i * 37 % 1100;
        blocks[i] = ExAllocatePoolWithTag(NonPagedPool, sizes[i], TAG_TEST);
        if (!KT_EXPECT(t, blocks[i] != NULL))
            break;
        fill(blocks[i], sizes[i], i);
        bytes += sizes[i];
    }
    if (allocated == COUNT) {
        struct pool_statistics during;
        ExQueryPoolStatistics(NonPagedPool, &during);
        KT_EXPECT_EQ(t, before.pool.allocations + COUNT, during.allocations);
        KT_EXPECT_EQ(t, before.pool.bytes_requested + bytes, during.bytes_requested);
    }
    for (unsigned i = 0; i < allocated; i++)
        if (!holds_pattern(blocks[i], sizes[i], i) && damaged++ == 0)
            ktest_diag(t, "block %u (%u bytes at %p) overwritten", i, sizes[i], blocks[i]);
    KT_EXPECT_EQ(t, 0, damaged);

    for (unsigned n = 0; n < COUNT; n++) {
        unsigned i = n * STRIDE % COUNT;
        if (i < allocated)
            ExFreePoolWithTag(blocks[i], TAG_TEST);
    }
    expect_unchanged(t, &before);
}

/*
 * Fills the 64-byte class past one fresh page. A page holds PAGE_SIZE / 64 - 1 blocks (its
 * header takes the room of one); freeing all the blocks of a page gives the page back at
 * once, frame included, while the other page stays.
 */
static void empty_page_returned(struct ktest *t)
{
    enum { SIZE = 56, PER_PAGE = PAGE_SIZE / 64 - 1, MAX_BLOCKS = 3 * PER_PAGE };
    static void *blocks[MAX_BLOCKS];
    unsigned count = 0, first_new = MAX_BLOCKS, second_new = MAX_BLOCKS;
    struct snapshot before;

    take_snapshot(&before);
    /* Until a second new page has been started; a page of this class with room comes first. */
    while (count < MAX_BLOCKS && second_new == MAX_BLOCKS) {
        struct pool_statistics before_block, after_block;
        ExQueryPoolStatistics(NonPagedPool, &before_block);
        blocks[count] = ExAllocatePoolWithTag(NonPagedPool, SIZE, TAG_TEST);
        if (!KT_EXPECT(t, blocks[count] != NULL))
            break;
        ExQueryPoolStatistics(NonPagedPool, &after_block);
        if (after_block.pages != before_block.pages) {
            KT_EXPECT_EQ(t, before_block.pages + 1, after_block.pages);
            if (first_new == MAX_BLOCKS)
                first_new = count;
            else
                second_new = count;
        }
        count++;
    }
    if (second_new < MAX_BLOCKS) {
        KT_EXPECT_EQ(t, PER_PAGE, second_new - first_new);
        if (before.pool.allocations == 0)
            KT_EXPECT_EQ(t, 0, first_new);
        expect_extra_pages(t, &before, 2);

        for (unsigned i = first_new; i < second_new; i++)
            ExFreePoolWithTag(blocks[i], TAG_TEST);
        expect_extra_pages(t, &before, 1);
        for (unsigned i = first_new; i < second_new; i++)
            blocks[i] = NULL;
    }
    for (unsigned i = 0; i < count; i++)
        if (blocks[i])
            ExFreePoolWithTag(blocks[i], TAG_TEST);
    expect_unchanged(t, &before);
}

/*
 * Large blocks take whole pages, their header included. The sizes are chosen so that the
 * page count does not depend on the header's size (up to 288 bytes).
 */
static void large_allocation_whole_pages(struct ktest *t)
{
    static const struct {
        uint32_t bytes;
        uint32_t pages;
    } cases[] = {
        {SMALL_LIMIT + 1, 1}, {3000, 1}, {5000, 2}, {8192, 3}, {12000, 3}, {65536, 17},
        {1024 * 1024, 257},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        struct snapshot before;
        take_snapshot(&before);

        uint8_t *block = ExAllocatePoolWithTag(NonPagedPool, cases[i].bytes, TAG_TEST);
        if (!KT_EXPECT(t, block != NULL))
            return;
        expect_extra_pages(t, &before, cases[i].pages);
        fill(block, cases[i].bytes, i);
        if (!KT_EXPECT(t, holds_pattern(block, cases[i].bytes, i)))
            ktest_diag(t, "%u-byte block at %p", cases[i].bytes, (void *)block);
        /* The block ends inside its last page: the header is all that comes before it. */
        vaddr_t first = (vaddr_t)block / PAGE_SIZE;
        vaddr_t last = ((vaddr_t)block + cases[i].bytes - 1) / PAGE_SIZE;
        KT_EXPECT_EQ(t, cases[i].pages - 1, last - first);
        ExFreePoolWithTag(block, TAG_TEST);
        expect_unchanged(t, &before);
    }
}

/* Every size from 0 to past the small limit, and a few large ones: 8-byte aligned, distinct. */
static void alignment(struct ktest *t)
{
    enum { COUNT = SMALL_LIMIT + 40 };
    static void *blocks[COUNT];
    struct snapshot before;
    unsigned misaligned = 0, allocated = 0;

    take_snapshot(&before);
    for (; allocated < COUNT; allocated++) {
        blocks[allocated] = ExAllocatePoolWithTag(NonPagedPool, allocated, TAG_TEST);
        if (!KT_EXPECT(t, blocks[allocated] != NULL))
            break;
        if ((vaddr_t)blocks[allocated] % 8 != 0 && misaligned++ == 0)
            ktest_diag(t, "%u bytes at %p", allocated, blocks[allocated]);
    }
    KT_EXPECT_EQ(t, 0, misaligned);
    if (allocated > 1)
        KT_EXPECT(t, blocks[0] != blocks[1]);
    for (unsigned i = 0; i < allocated; i++)
        ExFreePoolWithTag(blocks[i], TAG_TEST);
    expect_unchanged(t, &before);
}

static void expect_statistics(struct ktest *t, const struct snapshot *before,
                              uint32_t allocations, uint32_t bytes)
{
    struct pool_statistics now;

    ExQueryPoolStatistics(NonPagedPool, &now);
    KT_EXPECT_EQ(t, before->pool.allocations + allocations, now.allocations);
    KT_EXPECT_EQ(t, before->pool.bytes_requested + bytes, now.bytes_requested);
}

static void statistics_track_allocations(struct ktest *t)
{
    struct snapshot before, small_done;

    take_snapshot(&before);
    void *a = ExAllocatePoolWithTag(NonPagedPool, 100, TAG_TEST);
    void *b = ExAllocatePoolWithTag(NonPagedPool, 0, TAG_TEST);
    void *c = ExAllocatePoolWithTag(NonPagedPool, SMALL_LIMIT, TAG_TEST);
    KT_ASSERT(t, a && b && c);
    expect_statistics(t, &before, 3, 100 + 0 + SMALL_LIMIT);
    if (before.pool.allocations == 0)
        expect_extra_pages(t, &before, 3);     /* one page for each of three classes */

    take_snapshot(&small_done);
    void *d = ExAllocatePoolWithTag(NonPagedPool, 5000, TAG_TEST);
    void *e = ExAllocatePoolWithTag(NonPagedPool, SMALL_LIMIT + 1, TAG_TEST);
    KT_ASSERT(t, d && e);
    expect_statistics(t, &before, 5, 100 + SMALL_LIMIT + 5000 + SMALL_LIMIT + 1);
    expect_extra_pages(t, &small_done, 2 + 1);

    ExFreePoolWithTag(d, TAG_TEST);
    expect_statistics(t, &before, 4, 100 + SMALL_LIMIT + SMALL_LIMIT + 1);
    expect_extra_pages(t, &small_done, 1);
    ExFreePoolWithTag(e, TAG_TEST);
    expect_statistics(t, &before, 3, 100 + SMALL_LIMIT);
    expect_extra_pages(t, &small_done, 0);
    ExFreePoolWithTag(b, TAG_TEST);
    expect_statistics(t, &before, 2, 100 + SMALL_LIMIT);
    ExFreePoolWithTag(a, TAG_TEST);
    expect_statistics(t, &before, 1, SMALL_LIMIT);
    ExFreePoolWithTag(c, TAG_TEST);
    expect_unchanged(t, &before);
}

/*
 * 64 KB blocks, chained through their first word, until the pool says NULL: that happens
 * only when fewer frames are left than a block and a page table need, or, on a machine
 * with more RAM than system space, when no run of system PTEs is left for a block. A
 * failed request changes nothing; freeing the chain gives everything back.
 */
static void exhaustion_returns_null(struct ktest *t)
{
    enum { BYTES = 64 * 1024, PAGES = BYTES / PAGE_SIZE + 1 };
    uint32_t limit = MmNumberOfPhysicalPages / PAGES + 1;   /* in case NULL never comes */
    struct snapshot before, exhausted, after_failure;
    void **chain = NULL;
    uint32_t count = 0;

    take_snapshot(&before);
    while (count < limit) {
        void **block = ExAllocatePoolWithTag(NonPagedPool, BYTES, TAG_TEST);
        if (!block)
            break;
        *block = chain;
        chain = block;
        count++;
    }
    KT_EXPECT(t, count < limit);
    KT_EXPECT(t, count > 0);
    vaddr_t run = MiReserveSystemPtes(PAGES);
    if (run)
        MiReleaseSystemPtes(run, PAGES);
    KT_EXPECT(t, MmAvailablePages() < PAGES + 1 || run == 0);
    ktest_diag(t, "%u blocks of 64 KB before NULL, %u frames left", count, MmAvailablePages());

    take_snapshot(&exhausted);
    KT_EXPECT_EQ(t, before.pool.allocations + count, exhausted.pool.allocations);
    KT_EXPECT_EQ(t, before.pool.pages + count * PAGES, exhausted.pool.pages);
    KT_EXPECT(t, ExAllocatePoolWithTag(NonPagedPool, BYTES, TAG_TEST) == NULL);
    take_snapshot(&after_failure);
    KT_EXPECT_EQ(t, exhausted.frames, after_failure.frames);
    KT_EXPECT_EQ(t, exhausted.pool.pages, after_failure.pool.pages);
    KT_EXPECT_EQ(t, exhausted.pool.allocations, after_failure.pool.allocations);

    while (chain) {
        void **next = *chain;
        ExFreePoolWithTag(chain, TAG_TEST);
        chain = next;
    }
    expect_unchanged(t, &before);
}

/*
 * Requests that cannot be met: more bytes than system space holds, and more pages than
 * there are free frames (taken one by one, then all given back). NULL, nothing changed.
 */
static void huge_request_returns_null(struct ktest *t)
{
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - PAGE_SIZE, 0x80000000u};
    struct snapshot before;

    take_snapshot(&before);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        KT_EXPECT(t, ExAllocatePoolWithTag(NonPagedPool, sizes[i], TAG_TEST) == NULL);
    /* Capped at 2 GB, so that the product cannot wrap on a machine with 4 GB of RAM. */
    size_t beyond_free = MIN(MmAvailablePages() + 1, 0x80000000u / PAGE_SIZE) * PAGE_SIZE;
    KT_EXPECT(t, ExAllocatePoolWithTag(NonPagedPool, beyond_free, TAG_TEST) == NULL);
    expect_unchanged(t, &before);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(alloc_free_each_class),
    KTEST_CASE(blocks_do_not_overlap),
    KTEST_CASE(empty_page_returned),
    KTEST_CASE(large_allocation_whole_pages),
    KTEST_CASE(alignment),
    KTEST_CASE(statistics_track_allocations),
    KTEST_CASE(exhaustion_returns_null),
    KTEST_CASE(huge_request_returns_null),
};

KTEST_SUITE(pool_suite, "pool", cases);
