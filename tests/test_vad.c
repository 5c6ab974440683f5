/*
 * The VAD tree: lookups, conflicts and free-range searches give exactly the expected
 * answers, including at the edges of the 32-bit space, and after every change the tree
 * is a sorted, non-overlapping AVL tree whose parent links, balances and count are right.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/syspte.h"
#include "mm/vad.h"
#include "tests/ktest.h"

#define GRANULE MM_ALLOCATION_GRANULARITY
#define NONE (-1)

/* ---- node storage: system PTEs backed by fresh pages, all given back ---- */

struct node_storage {
    vaddr_t va;
    uint32_t pages;
    uint32_t mapped;
};

static void storage_release(struct node_storage *storage)
{
    for (uint32_t i = 0; i < storage->mapped; i++) {
        vaddr_t va = storage->va + i * PAGE_SIZE;
        paddr_t physical;
        bool mapped = MmGetPhysicalAddress(va, &physical);
        KASSERT(mapped);
        MiUnmapRange(va, PAGE_SIZE);
        MiInsertPageInFreeList(paddr_to_pfn(physical));
    }
    if (storage->va)
        MiReleaseSystemPtes(storage->va, storage->pages);
    storage->va = 0;
    storage->mapped = 0;
}

/* bytes of mapped, writable kernel memory, or NULL (and a failed case) when none is left. */
static void *storage_get(struct ktest *t, struct node_storage *storage, uint32_t bytes)
{
    storage->pages = ALIGN_UP(bytes, (uint32_t)PAGE_SIZE) / PAGE_SIZE;
    storage->mapped = 0;
    storage->va = MiReserveSystemPtes(storage->pages);
    if (!KT_EXPECT(t, storage->va != 0))
        return NULL;
    while (storage->mapped < storage->pages) {
        vaddr_t va = storage->va + storage->mapped * PAGE_SIZE;
        pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
        if (!KT_EXPECT(t, pfn != PFN_INVALID))
            break;
        if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MiMapRange(va, pfn_to_paddr(pfn), PAGE_SIZE,
                                                        pte_make_kernel(0, true)))) {
            MiInsertPageInFreeList(pfn);
            break;
        }
        storage->mapped++;
    }
    if (storage->mapped < storage->pages) {
        storage_release(storage);
        return NULL;
    }
    return (void *)storage->va;
}

/* What a case takes from physical memory, to check that it all comes back. */
struct page_count {
    uint32_t available;
    uint32_t page_tables;
};

static struct page_count page_count_now(void)
{
    return (struct page_count){MmAvailablePages(), MiPagesInUse[MI_USE_PAGE_TABLE]};
}

/* System space keeps the page tables it makes, so those are not counted as lost. */
static void expect_pages_back(struct ktest *t, struct page_count before)
{
    struct page_count now = page_count_now();
    KT_EXPECT_EQ(t, before.available, now.available + (now.page_tables - before.page_tables));
}

/* ---- the invariant checker ---- */

struct tree_walk {
    struct ktest *t;
    const struct mmvad *previous;
    uint32_t nodes;
};

/*
 * The height of node's subtree after checking it, or -1 at the first broken rule. The
 * depth cap keeps a broken (degenerate) tree from overflowing the kernel stack.
 */
static int check_subtree(struct tree_walk *walk, const struct mmvad *node,
                         const struct mmvad *parent, unsigned depth)
{
    struct ktest *t = walk->t;

    if (!node)
        return 0;
    if (!KT_EXPECT(t, depth <= 64) || !KT_EXPECT(t, node->parent == parent))
        return -1;
    int left = check_subtree(walk, node->left, node, depth + 1);
    if (left < 0)
        return -1;
    if (!KT_EXPECT(t, node->start <= node->end) ||
        !KT_EXPECT(t, node->start % PAGE_SIZE == 0 && (node->end + 1) % PAGE_SIZE == 0) ||
        !KT_EXPECT(t, !walk->previous || walk->previous->end < node->start)) {
        ktest_diag(t, "at VAD %08x-%08x", node->start, node->end);
        return -1;
    }
    walk->previous = node;
    walk->nodes++;
    int right = check_subtree(walk, node->right, node, depth + 1);
    if (right < 0)
        return -1;
    if (!KT_EXPECT_EQ(t, right - left, node->balance) ||
        !KT_EXPECT(t, node->balance >= -1 && node->balance <= 1)) {
        ktest_diag(t, "at VAD %08x-%08x", node->start, node->end);
        return -1;
    }
    return 1 + MAX(left, right);
}

/* Checks every invariant of the tree; false (with a failed case) at the first broken one. */
static bool tree_is_valid(struct ktest *t, struct mm_avl_table *table)
{
    struct tree_walk walk = {t, NULL, 0};
    int height = check_subtree(&walk, table->root, NULL, 1);

    if (height < 0 || !KT_EXPECT_EQ(t, table->count, walk.nodes) ||
        !KT_EXPECT_EQ(t, height, MiVadTreeHeight(table)))
        return false;
    /* The hint, if any, is a node of this tree: its parent links lead to the root. */
    const struct mmvad *top = table->hint;
    for (unsigned depth = 0; top && top->parent && depth < 64; depth++)
        top = top->parent;
    return KT_EXPECT(t, top == table->root || !table->hint);
}

/*
 * Checks the tree after change number step of a series: after every change while the
 * tree is small or the series young, then every 500th, so that a broken rotation is
 * caught next to the change that broke it without making a big case quadratic.
 */
static bool tree_checkpoint(struct ktest *t, struct mm_avl_table *table, uint32_t step)
{
    if (table->count > 1000 && step >= 50 && step % 500 != 0)
        return true;
    return tree_is_valid(t, table);
}

/*
 * The greatest height an AVL tree of n nodes can have: the largest h whose sparsest
 * tree, of F(h + 2) - 1 nodes, is no bigger than n. Below 1.4405 * log2(n + 2).
 */
static unsigned avl_height_limit(uint32_t n)
{
    uint32_t sparsest = 1, previous = 0;    /* sparsest trees of height h + 1 and h */
    unsigned h = 0;

    while (sparsest <= n) {
        uint32_t next = sparsest + previous + 1;
        previous = sparsest;
        sparsest = next;
        h++;
    }
    return h;
}

/* ---- helpers ---- */

struct range {
    vaddr_t start, end;
};

static void vad_set(struct mmvad *vad, vaddr_t start, vaddr_t end)
{
    *vad = (struct mmvad){.start = start, .end = end, .type = MI_VAD_PRIVATE};
}

/* Inserts the ranges, in the order given, into nodes and table. */
static void insert_ranges(struct mm_avl_table *table, struct mmvad *nodes,
                          const struct range *ranges, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        vad_set(&nodes[i], ranges[i].start, ranges[i].end);
        MiInsertVad(table, &nodes[i]);
    }
}

/* The index of vad in nodes, or NONE for NULL. */
static int node_index(const struct mmvad *nodes, const struct mmvad *vad)
{
    return vad ? (int)(vad - nodes) : NONE;
}

static uint32_t lcg_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;     /* the low bits of a power-of-two LCG have short periods */
}

/* Fills order with 0..count-1 in a scrambled order fixed by seed (Fisher-Yates). */
static void scramble(uint32_t *order, uint32_t count, uint32_t seed)
{
    for (uint32_t i = 0; i < count; i++)
        order[i] = i;
    for (uint32_t i = count - 1; i > 0; i--) {
        uint32_t j = lcg_next(&seed) % (i + 1);
        uint32_t swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
}

/* ---- the cases ---- */

static const struct range small_ranges[] = {
    {0x00400000, 0x0040FFFF},
    {0x00010000, 0x0001FFFF},
    {0x7FFE0000, 0x7FFEFFFF},
    {0x00030000, 0x0003FFFF},
    {0x00040000, 0x0007FFFF},   /* adjacent to the one before */
    {0x00100000, 0x00100FFF},   /* a single page */
};

static void insert_lookup_small(struct ktest *t)
{
    static const struct {
        vaddr_t va;
        int expected;
    } lookups[] = {
        {0x00000000, NONE}, {0x0000FFFF, NONE}, {0x00010000, 1}, {0x00015432, 1},
        {0x0001FFFF, 1}, {0x00020000, NONE}, {0x0002FFFF, NONE}, {0x00030000, 3},
        {0x0003FFFF, 3}, {0x00040000, 4}, {0x0007FFFF, 4}, {0x00080000, NONE},
        {0x000FFFFF, NONE}, {0x00100000, 5}, {0x00100FFF, 5}, {0x00101000, NONE},
        {0x00400000, 0}, {0x0040FFFF, 0}, {0x00410000, NONE}, {0x7FFDFFFF, NONE},
        {0x7FFE0000, 2}, {0x7FFEFFFF, 2}, {0x7FFF0000, NONE}, {0xFFFFFFFF, NONE},
    };
    struct mmvad nodes[ARRAY_SIZE(small_ranges)];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    KT_EXPECT(t, MiLocateVad(&table, 0x10000) == NULL);
    KT_EXPECT_EQ(t, 0, MiVadTreeHeight(&table));
    for (unsigned i = 0; i < ARRAY_SIZE(small_ranges); i++) {
        insert_ranges(&table, &nodes[i], &small_ranges[i], 1);
        KT_ASSERT(t, tree_is_valid(t, &table));
    }
    KT_EXPECT_EQ(t, ARRAY_SIZE(small_ranges), table.count);
    for (unsigned pass = 0; pass < 2; pass++) {     /* the second with the hint set */
        for (unsigned i = 0; i < ARRAY_SIZE(lookups); i++) {
            int found = node_index(nodes, MiLocateVad(&table, lookups[i].va));
            if (!KT_EXPECT_EQ(t, lookups[i].expected, found))
                ktest_diag(t, "lookup of %08x", lookups[i].va);
        }
    }
    KT_EXPECT(t, MiLocateVad(&table, 0x00015432) == &nodes[1]);
    KT_EXPECT(t, table.hint == &nodes[1]);
}

static void conflict_detection(struct ktest *t)
{
    static const struct range ranges[] = {
        {0x00100000, 0x0013FFFF},
        {0x00200000, 0x0020FFFF},
    };
    static const struct {
        const char *what;
        vaddr_t start, end;
        int expected;
    } queries[] = {
        {"equal", 0x00100000, 0x0013FFFF, 0},
        {"inside", 0x00110000, 0x00110FFF, 0},
        {"covering", 0x000F0000, 0x0014FFFF, 0},
        {"straddling the start", 0x000FF000, 0x00100FFF, 0},
        {"straddling the end", 0x0013F000, 0x00140FFF, 0},
        {"first byte", 0x00100000, 0x00100000, 0},
        {"last byte", 0x0013FFFF, 0x0013FFFF, 0},
        {"adjacent below", 0x000F0000, 0x000FFFFF, NONE},
        {"adjacent above", 0x00140000, 0x0014FFFF, NONE},
        {"one page apart below", 0x000E0000, 0x000FEFFF, NONE},
        {"one page apart above", 0x00141000, 0x0015FFFF, NONE},
        {"the whole gap between", 0x00140000, 0x001FFFFF, NONE},
        {"gap and the second", 0x00140000, 0x00200000, 1},
        {"both: the lower one", 0x0013F000, 0x00200FFF, 0},
        {"all of 4 GB", 0x00000000, 0xFFFFFFFF, 0},
        {"above both", 0x00210000, 0xFFFFFFFF, NONE},
        {"below both", 0x00000000, 0x000FFFFF, NONE},
    };
    struct mmvad nodes[ARRAY_SIZE(ranges)];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    KT_EXPECT(t, MiCheckForConflictingVad(&table, 0, 0xFFFFFFFF) == NULL);
    insert_ranges(&table, nodes, ranges, ARRAY_SIZE(ranges));
    KT_ASSERT(t, tree_is_valid(t, &table));
    for (unsigned i = 0; i < ARRAY_SIZE(queries); i++) {
        struct mmvad *vad = MiCheckForConflictingVad(&table, queries[i].start, queries[i].end);
        if (!KT_EXPECT_EQ(t, queries[i].expected, node_index(nodes, vad)))
            ktest_diag(t, "%s: %08x-%08x", queries[i].what, queries[i].start, queries[i].end);
    }
}

#define MANY 10000u
#define MANY_BASE 0x00010000u
#define MANY_STRIDE (2 * GRANULE)   /* each range is followed by a gap of the same size */

/* Every node's start, end and following gap look up as they should. */
static bool many_lookups_right(struct ktest *t, struct mm_avl_table *table,
                               struct mmvad *nodes)
{
    for (uint32_t i = 0; i < MANY; i++) {
        vaddr_t start = MANY_BASE + i * MANY_STRIDE;
        struct mmvad *expected = nodes[i].flags ? &nodes[i] : NULL;
        if (!KT_EXPECT(t, MiLocateVad(table, start) == expected) ||
            !KT_EXPECT(t, MiLocateVad(table, start + GRANULE - 1) == expected) ||
            !KT_EXPECT(t, MiLocateVad(table, start + GRANULE) == NULL) ||
            !KT_EXPECT(t, MiLocateVad(table, start + MANY_STRIDE - 1) == NULL)) {
            ktest_diag(t, "range %u at %08x", i, start);
            return false;
        }
    }
    return true;
}

static void ten_thousand_reservations(struct ktest *t)
{
    struct page_count before = page_count_now();
    struct node_storage storage;
    struct mm_avl_table table;
    uint32_t bytes = MANY * (sizeof(struct mmvad) + sizeof(uint32_t));
    struct mmvad *nodes = storage_get(t, &storage, bytes);

    KT_ASSERT(t, nodes != NULL);
    uint32_t *order = (uint32_t *)&nodes[MANY];
    MiInitializeVadTable(&table);

    scramble(order, MANY, 0x5EED0001);
    for (uint32_t i = 0; i < MANY; i++) {
        struct mmvad *vad = &nodes[order[i]];
        vaddr_t start = MANY_BASE + order[i] * MANY_STRIDE;
        vad_set(vad, start, start + GRANULE - 1);
        vad->flags = 1;     /* in the table */
        MiInsertVad(&table, vad);
        if (!tree_checkpoint(t, &table, i))
            goto out;
    }
    KT_EXPECT_EQ(t, MANY, table.count);
    if (!tree_is_valid(t, &table) || !many_lookups_right(t, &table, nodes))
        goto out;
    unsigned height = MiVadTreeHeight(&table);
    ktest_diag(t, "%u VADs: height %u, AVL limit %u", MANY, height, avl_height_limit(MANY));
    KT_EXPECT(t, height <= avl_height_limit(MANY));
    KT_EXPECT_EQ(t, 18, avl_height_limit(MANY));    /* 1.44 * log2(n + 2) allows 19 */

    scramble(order, MANY, 0xC0FFEE02);
    for (uint32_t i = 0; i < MANY / 2; i++) {
        MiRemoveVad(&table, &nodes[order[i]]);
        nodes[order[i]].flags = 0;
        if (!tree_checkpoint(t, &table, i))
            goto out;
    }
    KT_EXPECT_EQ(t, MANY / 2, table.count);
    if (!tree_is_valid(t, &table) || !many_lookups_right(t, &table, nodes))
        goto out;
    ktest_diag(t, "%u VADs: height %u, AVL limit %u", MANY / 2, MiVadTreeHeight(&table),
               avl_height_limit(MANY / 2));
    KT_EXPECT(t, MiVadTreeHeight(&table) <= avl_height_limit(MANY / 2));

    for (uint32_t i = MANY / 2; i < MANY; i++) {
        MiRemoveVad(&table, &nodes[order[i]]);
        if (!tree_checkpoint(t, &table, i - MANY / 2))
            goto out;
    }
    KT_EXPECT_EQ(t, 0, table.count);
    KT_EXPECT(t, table.root == NULL);
    KT_EXPECT(t, MiFirstVad(&table) == NULL);
out:
    storage_release(&storage);
    expect_pages_back(t, before);
}

/*
 * The layout the free-range cases search, between 0x10000 and 0x7FFEFFFF. Free gaps:
 * 0x30000-0x4FFFF (128 KB), 0x51000-0x5FFFF (60 KB, no 64 KB boundary in it),
 * 0xA0000-0xFFFFF (384 KB) and 0x200000-0x7FFEFFFF.
 */
static const struct range gap_layout[] = {
    {0x00060000, 0x0009FFFF},
    {0x00010000, 0x0002FFFF},
    {0x00100000, 0x001FFFFF},
    {0x00050000, 0x00050FFF},
};

#define NO_FIT 0xFFFFFFFFu      /* no query here fits a range at the last byte of 4 GB */

/* A free-range search and the base each direction should find, or NO_FIT for both. */
struct gap_query {
    uint32_t size, alignment;
    vaddr_t lowest, highest;
    vaddr_t bottom_up, top_down;
};

static void run_gap_queries(struct ktest *t, struct mm_avl_table *table,
                            const struct gap_query *queries, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        const struct gap_query *q = &queries[i];
        for (unsigned top_down = 0; top_down < 2; top_down++) {
            vaddr_t expected = top_down ? q->top_down : q->bottom_up;
            vaddr_t base = NO_FIT;
            bool found = MiFindEmptyAddressRange(table, q->size, q->alignment, q->lowest,
                                                 q->highest, top_down, &base);
            bool right = KT_EXPECT_EQ(t, expected != NO_FIT, found) &&
                         KT_EXPECT_EQ(t, expected, base);
            if (found && right) {
                vaddr_t last = base + (q->size - 1);
                right = KT_EXPECT(t, base % q->alignment == 0) &&
                        KT_EXPECT(t, base >= q->lowest && last <= q->highest) &&
                        KT_EXPECT(t, MiCheckForConflictingVad(table, base, last) == NULL);
            }
            if (!right)
                ktest_diag(t, "query %u (%s): size %x alignment %x in %08x-%08x", i,
                           top_down ? "top down" : "bottom up", q->size, q->alignment,
                           q->lowest, q->highest);
        }
    }
}

/* Searches whose bottom-up answer is the point (the top-down one is checked as well). */
static void find_gap_bottom_up(struct ktest *t)
{
    static const struct gap_query queries[] = {
        {0x10000, GRANULE, 0x10000, 0x7FFEFFFF, 0x30000, 0x7FFE0000},
        {0x20000, GRANULE, 0x10000, 0x7FFEFFFF, 0x30000, 0x7FFD0000},
        {0x30000, GRANULE, 0x10000, 0x7FFEFFFF, 0xA0000, 0x7FFC0000},
        {0x60000, GRANULE, 0x10000, 0x7FFEFFFF, 0xA0000, 0x7FF90000},   /* an exact fit */
        {0x70000, GRANULE, 0x10000, 0x7FFEFFFF, 0x200000, 0x7FF80000},
        {0x01000, PAGE_SIZE, 0x10000, 0x7FFEFFFF, 0x30000, 0x7FFEF000},
        {0x01000, PAGE_SIZE, 0x50000, 0x7FFEFFFF, 0x51000, 0x7FFEF000}, /* the unaligned gap */
        {0x0F000, PAGE_SIZE, 0x50000, 0x7FFEFFFF, 0x51000, 0x7FFE1000},
        {0x10000, PAGE_SIZE, 0x50000, 0x7FFEFFFF, 0xA0000, 0x7FFE0000},
        {0x01000, GRANULE, 0x41000, 0x7FFEFFFF, 0xA0000, 0x7FFE0000},   /* skips both gaps */
        {0x01000, PAGE_SIZE, 0x41000, 0x7FFEFFFF, 0x41000, 0x7FFEF000}, /* lowest in a gap */
        {0x10000, GRANULE, 0x60000, 0x7FFEFFFF, 0xA0000, 0x7FFE0000},   /* lowest in a VAD */
        {0x10000, GRANULE, 0x10000, 0x3FFFF, 0x30000, 0x30000},         /* highest at its end */
        {0x10000, GRANULE, 0x10000, 0x3FFFE, NO_FIT, NO_FIT},           /* one byte short */
        {0x100000, GRANULE, 0x200000, 0x2FFFFF, 0x200000, 0x200000},
        {0x100001, GRANULE, 0x200000, 0x2FFFFF, NO_FIT, NO_FIT},
        {0x7FDF0000, GRANULE, 0x10000, 0x7FFEFFFF, 0x200000, 0x200000}, /* all the last gap */
        {0x7FDF0001, PAGE_SIZE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},
        {0x80000000, GRANULE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},
        {0x10000, GRANULE, 0x7FFF0000, 0x7FFEFFFF, NO_FIT, NO_FIT},     /* highest < lowest */
        {0, GRANULE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},              /* size 0 */
    };
    struct mmvad nodes[ARRAY_SIZE(gap_layout)];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    insert_ranges(&table, nodes, gap_layout, ARRAY_SIZE(gap_layout));
    KT_ASSERT(t, tree_is_valid(t, &table));
    run_gap_queries(t, &table, queries, ARRAY_SIZE(queries));
}

/* Searches whose top-down answer is the point (the bottom-up one is checked as well). */
static void find_gap_top_down(struct ktest *t)
{
    static const struct gap_query queries[] = {
        {0x10000, GRANULE, 0x10000, 0x7FFEFFFE, 0x30000, 0x7FFD0000},   /* one byte short */
        {0x10000, GRANULE, 0x10000, 0x1FFFFF, 0x30000, 0xF0000},        /* highest in a VAD */
        {0x60000, GRANULE, 0x10000, 0x1FFFFF, 0xA0000, 0xA0000},        /* an exact fit */
        {0x70000, GRANULE, 0x10000, 0x1FFFFF, NO_FIT, NO_FIT},
        {0x01000, PAGE_SIZE, 0x10000, 0x5FFFF, 0x30000, 0x5F000},
        {0x0F000, PAGE_SIZE, 0x10000, 0x5FFFF, 0x30000, 0x51000},
        {0x01000, GRANULE, 0x10000, 0x5FFFF, 0x30000, 0x40000},         /* skips the 60 KB */
        {0x20000, GRANULE, 0x10000, 0x5FFFF, 0x30000, 0x30000},
        {0x10000, GRANULE, 0x40000, 0x4FFFF, 0x40000, 0x40000},         /* lowest in a gap */
        {0x20000, GRANULE, 0x40000, 0x4FFFF, NO_FIT, NO_FIT},
        {0x10000, GRANULE, 0x10000, 0x2FFFF, NO_FIT, NO_FIT},           /* all in a VAD */
        {0x7FDE0000, GRANULE, 0x10000, 0x7FFEFFFF, 0x200000, 0x210000},
        {0x7FDF0000, GRANULE, 0x10000, 0x7FFEFFFF, 0x200000, 0x200000},
        {0x7FDF0001, PAGE_SIZE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},
    };
    struct mmvad nodes[ARRAY_SIZE(gap_layout)];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    insert_ranges(&table, nodes, gap_layout, ARRAY_SIZE(gap_layout));
    KT_ASSERT(t, tree_is_valid(t, &table));
    run_gap_queries(t, &table, queries, ARRAY_SIZE(queries));
}

static void find_gap_edges(struct ktest *t)
{
    static const struct gap_query empty[] = {
        {0x10000, GRANULE, 0x10000, 0x7FFEFFFF, 0x10000, 0x7FFE0000},
        {0x7FFE0000, GRANULE, 0x10000, 0x7FFEFFFF, 0x10000, 0x10000},   /* all of the bounds */
        {0x7FFE0001, PAGE_SIZE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},
        {0xFFFFFFFF, 1, 0, 0xFFFFFFFF, 0, 1},
        {0xFFFFFFFF, 1, 1, 0xFFFFFFFF, 1, 1},
        {0xFFFFFFFF, 2, 1, 0xFFFFFFFF, NO_FIT, NO_FIT},
        {0xFFFFF000, PAGE_SIZE, 0, 0xFFFFFFFF, 0, 0x1000},
        {0x1000, GRANULE, 0xFFFF1000, 0xFFFFFFFF, NO_FIT, NO_FIT},      /* rounds up past 4 GB */
        {0x1000, 0x80000000, 0x80001000, 0xFFFFFFFF, NO_FIT, NO_FIT},
        {0x1000, PAGE_SIZE, 0xFFFF0001, 0xFFFFFFFF, 0xFFFF1000, 0xFFFFF000},
        {0x2000, PAGE_SIZE, 0xFFFFF000, 0xFFFFFFFF, NO_FIT, NO_FIT},
        {0x1000, PAGE_SIZE, 0, 0xFFF, 0, 0},
        {0x2000, PAGE_SIZE, 0, 0xFFF, NO_FIT, NO_FIT},                  /* would start below 0 */
        {1, 1, 0x5000, 0x5000, 0x5000, 0x5000},
        {0x20000, GRANULE, 0x10000, 0x1FFFF, NO_FIT, NO_FIT},           /* bigger than bounds */
        {0x1000, PAGE_SIZE, 1, 0, NO_FIT, NO_FIT},
    };
    /* VADs at the very bottom and the very top of the bounds, then of the 4 GB space. */
    static const struct range user_edges[] = {
        {0x00010000, 0x0001FFFF},
        {0x7FFE0000, 0x7FFEFFFF},
    };
    static const struct gap_query user_queries[] = {
        {0x10000, GRANULE, 0x10000, 0x7FFEFFFF, 0x20000, 0x7FFD0000},
        {0x7FFC0000, GRANULE, 0x10000, 0x7FFEFFFF, 0x20000, 0x20000},
        {0x7FFC0001, PAGE_SIZE, 0x10000, 0x7FFEFFFF, NO_FIT, NO_FIT},
    };
    static const struct range space_edges[] = {
        {0x00000000, 0x0000FFFF},
        {0xFFFF0000, 0xFFFFFFFF},
    };
    static const struct gap_query space_queries[] = {
        {0x10000, GRANULE, 0, 0xFFFFFFFF, 0x10000, 0xFFFE0000},
        {0xFFFE0000, GRANULE, 0, 0xFFFFFFFF, 0x10000, 0x10000},
        {0xFFFE0001, PAGE_SIZE, 0, 0xFFFFFFFF, NO_FIT, NO_FIT},
        {0x1000, PAGE_SIZE, 0xFFFF0000, 0xFFFFFFFF, NO_FIT, NO_FIT},    /* in the top VAD */
        {0x1000, PAGE_SIZE, 0, 0xFFFF, NO_FIT, NO_FIT},                 /* in the bottom VAD */
        {0x1000, GRANULE, 0xFFFE1000, 0xFFFFFFFF, NO_FIT, NO_FIT},      /* rounds up into it */
    };
    struct mmvad nodes[2];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    run_gap_queries(t, &table, empty, ARRAY_SIZE(empty));

    insert_ranges(&table, nodes, user_edges, ARRAY_SIZE(user_edges));
    KT_ASSERT(t, tree_is_valid(t, &table));
    run_gap_queries(t, &table, user_queries, ARRAY_SIZE(user_queries));
    MiRemoveVad(&table, &nodes[0]);
    MiRemoveVad(&table, &nodes[1]);

    insert_ranges(&table, nodes, space_edges, ARRAY_SIZE(space_edges));
    KT_ASSERT(t, tree_is_valid(t, &table));
    run_gap_queries(t, &table, space_queries, ARRAY_SIZE(space_queries));
    KT_EXPECT(t, MiLocateVad(&table, 0) == &nodes[0]);
    KT_EXPECT(t, MiLocateVad(&table, 0xFFFFFFFF) == &nodes[1]);
    KT_EXPECT(t, MiLocateVad(&table, 0xFFFEFFFF) == NULL);
    KT_EXPECT(t, MiCheckForConflictingVad(&table, 0xFFFFF000, 0xFFFFFFFF) == &nodes[1]);
    KT_EXPECT(t, MiCheckForConflictingVad(&table, 0x10000, 0xFFFEFFFF) == NULL);
    KT_EXPECT(t, MiNextVad(&nodes[1]) == NULL);
}

static void hint_does_not_go_stale(struct ktest *t)
{
    static const struct range ranges[] = {
        {0x00100000, 0x0010FFFF},
        {0x00200000, 0x0020FFFF},
        {0x00300000, 0x0030FFFF},
        {0x00400000, 0x0040FFFF},
        {0x00500000, 0x0050FFFF},
    };
    struct mmvad nodes[ARRAY_SIZE(ranges)];
    struct mm_avl_table table;

    MiInitializeVadTable(&table);
    insert_ranges(&table, nodes, ranges, ARRAY_SIZE(ranges));
    KT_EXPECT(t, MiLocateVad(&table, 0x00208000) == &nodes[1]);
    KT_EXPECT(t, table.hint == &nodes[1]);

    MiRemoveVad(&table, &nodes[1]);
    KT_EXPECT(t, table.hint != &nodes[1]);
    KT_ASSERT(t, tree_is_valid(t, &table));
    KT_EXPECT(t, MiLocateVad(&table, 0x00208000) == NULL);
    KT_EXPECT(t, MiLocateVad(&table, 0x00200000) == NULL);
    KT_EXPECT(t, MiLocateVad(&table, 0x0010FFFF) == &nodes[0]);

    /* The same node back at another place: the old place must not find it. */
    vad_set(&nodes[1], 0x00600000, 0x0060FFFF);
    MiInsertVad(&table, &nodes[1]);
    KT_EXPECT(t, MiLocateVad(&table, 0x00208000) == NULL);
    KT_EXPECT(t, MiLocateVad(&table, 0x00600000) == &nodes[1]);

    /* A hinted node with two children goes, then whichever node is the root. */
    KT_EXPECT(t, MiLocateVad(&table, 0x00300000) == &nodes[2]);
    KT_EXPECT(t, nodes[2].left && nodes[2].right);
    MiRemoveVad(&table, &nodes[2]);
    KT_EXPECT(t, MiLocateVad(&table, 0x00300000) == NULL);
    struct mmvad *root = table.root;
    KT_EXPECT(t, MiLocateVad(&table, root->start) == root);
    MiRemoveVad(&table, root);
    KT_EXPECT(t, MiLocateVad(&table, root->start) == NULL);
    KT_ASSERT(t, tree_is_valid(t, &table));
    KT_EXPECT_EQ(t, 3, table.count);

    /* A new VAD in the old place of the hinted one is found, not the old one. */
    vad_set(&nodes[2], 0x00300000, 0x00300FFF);
    MiInsertVad(&table, &nodes[2]);
    KT_EXPECT(t, MiLocateVad(&table, 0x00300000) == &nodes[2]);
    KT_EXPECT(t, MiLocateVad(&table, 0x00301000) == NULL);
}

static void traversal_in_order(struct ktest *t)
{
    enum { COUNT = 1000 };
    struct page_count before = page_count_now();
    struct node_storage storage;
    struct mm_avl_table table;
    struct mmvad *nodes = storage_get(t, &storage, COUNT * (sizeof(struct mmvad) + 4));

    KT_ASSERT(t, nodes != NULL);
    uint32_t *order = (uint32_t *)&nodes[COUNT];
    MiInitializeVadTable(&table);
    KT_EXPECT(t, MiFirstVad(&table) == NULL);

    /* Ranges of 1 to 16 pages, packed with and without gaps, inserted scrambled. */
    vaddr_t start = 0x00010000;
    for (uint32_t i = 0; i < COUNT; i++) {
        uint32_t pages = 1 + (i * 7) % 16;
        vad_set(&nodes[i], start, start + pages * PAGE_SIZE - 1);
        start += (pages + i % 3) * PAGE_SIZE;
    }
    scramble(order, COUNT, 0x0DDBA11);
    for (uint32_t i = 0; i < COUNT; i++) {
        MiInsertVad(&table, &nodes[order[i]]);
        if (!tree_checkpoint(t, &table, i))
            goto out;
    }

    uint32_t visited = 0;
    for (struct mmvad *vad = MiFirstVad(&table); vad; vad = MiNextVad(vad)) {
        if (!KT_EXPECT(t, visited < COUNT) || !KT_EXPECT(t, vad == &nodes[visited]))
            break;
        visited++;
    }
    KT_EXPECT_EQ(t, COUNT, visited);
out:
    storage_release(&storage);
    expect_pages_back(t, before);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(insert_lookup_small),
    KTEST_CASE(conflict_detection),
    KTEST_CASE(ten_thousand_reservations),
    KTEST_CASE(find_gap_bottom_up),
    KTEST_CASE(find_gap_top_down),
    KTEST_CASE(find_gap_edges),
    KTEST_CASE(hint_does_not_go_stale),
    KTEST_CASE(traversal_in_order),
};

KTEST_SUITE(vad_suite, "vad", cases);
