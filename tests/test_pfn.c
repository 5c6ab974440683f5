/*
 * The PFN database and the page lists: the counts add up, the lists are well formed,
 * pages come and go in O(1), nothing the boot still uses is ever free, and every free
 * page can be handed out exactly once.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "boot/boot_info.h"
#include "lib/bitmap.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "tests/ktest.h"

static uint32_t walk_list(struct ktest *t, const struct mi_page_list *list)
{
    uint32_t count = 0;
    pfn_t previous = PFN_INVALID;

    for (pfn_t pfn = list->head; pfn != PFN_INVALID && count <= MmNumberOfPhysicalPages;
         pfn = MiGetPfnEntry(pfn)->flink) {
        const struct mmpfn *entry = MiGetPfnEntry(pfn);
        if (!KT_EXPECT(t, pfn <= MmHighestPhysicalPage) ||
            !KT_EXPECT_EQ(t, list->location, entry->location) ||
            !KT_EXPECT_EQ(t, previous, entry->blink))
            break;
        previous = pfn;
        count++;
    }
    return count;
}

static void lists_are_well_formed(struct ktest *t)
{
    KT_EXPECT_EQ(t, MmFreePageListHead.count, walk_list(t, &MmFreePageListHead));
    KT_EXPECT_EQ(t, MmZeroedPageListHead.count, walk_list(t, &MmZeroedPageListHead));
    KT_EXPECT_EQ(t, MiHighFreePageListHead.count, walk_list(t, &MiHighFreePageListHead));
    KT_EXPECT_EQ(t, MiHighZeroedPageListHead.count, walk_list(t, &MiHighZeroedPageListHead));
}

/* Every RAM page is on exactly one list or in use, and holes are not RAM. */
static void counts_add_up(struct ktest *t)
{
    uint32_t by_location[MI_PAGE_ACTIVE + 1] = {0};
    uint32_t by_use[MI_USE_COUNT] = {0};

    for (pfn_t pfn = 0; pfn <= MmHighestPhysicalPage; pfn++) {
        const struct mmpfn *entry = MiGetPfnEntry(pfn);
        if (!KT_EXPECT(t, entry->location <= MI_PAGE_ACTIVE))
            return;
        by_location[entry->location]++;
        if (entry->location == MI_PAGE_ACTIVE)
            by_use[entry->use]++;
    }
    KT_EXPECT_EQ(t, MmNumberOfPhysicalPages,
                 MmHighestPhysicalPage + 1 - by_location[MI_PAGE_NOT_RAM]);
    KT_EXPECT_EQ(t, MmFreePageListHead.count + MiHighFreePageListHead.count,
                 by_location[MI_FREE_PAGE_LIST]);
    KT_EXPECT_EQ(t, MmZeroedPageListHead.count + MiHighZeroedPageListHead.count,
                 by_location[MI_ZEROED_PAGE_LIST]);
    for (unsigned use = 0; use < MI_USE_COUNT; use++)
        KT_EXPECT_EQ(t, MiPagesInUse[use], by_use[use]);
    KT_EXPECT(t, MiPagesInUse[MI_USE_KERNEL_IMAGE] > 0);
    KT_EXPECT(t, MiPagesInUse[MI_USE_PFN_DATABASE] > 0);
    KT_EXPECT(t, MiPagesInUse[MI_USE_PAGE_TABLE] > 0);
}

static void kernel_image_pages_in_use(struct ktest *t)
{
    pfn_t first = paddr_to_pfn(MiKernelImagePhysical(_kernel_start));
    pfn_t last = paddr_to_pfn(MiKernelImagePhysical(_kernel_end) - 1);

    for (pfn_t pfn = first; pfn <= last; pfn++) {
        const struct mmpfn *entry = MiGetPfnEntry(pfn);
        if (!KT_EXPECT_EQ(t, MI_PAGE_ACTIVE, entry->location) ||
            !KT_EXPECT_EQ(t, MI_USE_KERNEL_IMAGE, entry->use))
            return;
    }
    KT_EXPECT_EQ(t, last - first + 1, MiPagesInUse[MI_USE_KERNEL_IMAGE]);
}

/*
 * The boot loader's data (its information structure, the memory map, the command line,
 * every module and module name) stays in use: none of it is ever free.
 */
static void boot_data_pages_in_use(struct ktest *t)
{
    const struct boot_info *boot = &kernel_boot_info;
    unsigned pages = 0;

    KT_EXPECT(t, boot->reserved_count > 0);
    for (unsigned i = 0; i < boot->reserved_count; i++) {
        const struct boot_range *r = &boot->reserved[i];
        for (pfn_t pfn = paddr_to_pfn(r->base); pfn <= paddr_to_pfn(r->end - 1); pfn++) {
            const struct mmpfn *entry = MiGetPfnEntry(pfn);
            if (pfn > MmHighestPhysicalPage || entry->location == MI_PAGE_NOT_RAM)
                continue;   /* not RAM: nothing to protect */
            pages++;
            if (!KT_EXPECT_EQ(t, MI_PAGE_ACTIVE, entry->location)) {
                ktest_diag(t, "boot data 0x%08x-0x%08x, page 0x%05x", r->base, r->end, pfn);
                return;
            }
        }
    }
    for (unsigned i = 0; i < boot->module_count; i++) {
        const struct boot_module *m = &boot->modules[i];
        for (paddr_t a = m->start; a < m->end; a += PAGE_SIZE)
            KT_EXPECT_EQ(t, MI_PAGE_ACTIVE, MiGetPfnEntry(paddr_to_pfn(a))->location);
    }
    ktest_diag(t, "%u boot data pages, %u modules", pages, boot->module_count);
}

/*
 * A page that no available range of the boot map touches (a hole the firmware left, or
 * one a loader cut, as GRUB's cutmem does in the grub-crafted-map boot) is never RAM.
 */
static void pages_in_no_available_range_are_not_ram(struct ktest *t)
{
    const struct boot_info *boot = &kernel_boot_info;
    unsigned holes = 0;

    for (pfn_t pfn = 0; pfn <= MmHighestPhysicalPage; pfn++) {
        uint64_t base = (uint64_t)pfn << PAGE_SHIFT;
        bool touched = false;
        for (unsigned i = 0; i < boot->memory_map_count && !touched; i++) {
            const struct boot_memory_entry *e = &boot->memory_map[i];
            touched = e->type == BOOT_MEMORY_AVAILABLE && e->base < base + PAGE_SIZE &&
                      base < e->base + e->length;
        }
        if (touched)
            continue;
        holes++;
        if (!KT_EXPECT_EQ(t, MI_PAGE_NOT_RAM, MiGetPfnEntry(pfn)->location)) {
            ktest_diag(t, "page 0x%05x is in no available range", pfn);
            return;
        }
    }
    ktest_diag(t, "%u pages up to the highest are in no available range; none is RAM", holes);
}

/* The PFN database maps its own pages: each is in use as the database. */
static void pfn_database_pages_in_use(struct ktest *t)
{
    uint32_t bytes = (MmHighestPhysicalPage + 1) * sizeof(struct mmpfn);

    for (vaddr_t va = MM_PFN_DATABASE; va < MM_PFN_DATABASE + bytes; va += PAGE_SIZE) {
        paddr_t physical;
        if (!KT_EXPECT(t, MmGetPhysicalAddress(va, &physical)))
            return;
        const struct mmpfn *entry = MiGetPfnEntry(paddr_to_pfn(physical));
        if (!KT_EXPECT_EQ(t, MI_USE_PFN_DATABASE, entry->use))
            return;
    }
}

static void remove_and_insert_restore_counts(struct ktest *t)
{
    uint32_t available = MmAvailablePages();
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, pfn != PFN_INVALID);
    KT_EXPECT_EQ(t, available - 1, MmAvailablePages());
    KT_EXPECT_EQ(t, MI_PAGE_ACTIVE, MiGetPfnEntry(pfn)->location);
    KT_EXPECT_EQ(t, MI_USE_SYSTEM, MiGetPfnEntry(pfn)->use);
    KT_EXPECT_EQ(t, 1, MiGetPfnEntry(pfn)->reference_count);
    MiInsertPageInFreeList(pfn);
    KT_EXPECT_EQ(t, available, MmAvailablePages());
    KT_EXPECT_EQ(t, MI_FREE_PAGE_LIST, MiGetPfnEntry(pfn)->location);
}

static bool page_is_filled(pfn_t pfn, uint8_t value)
{
    const uint8_t *va = MiMapPageInHyperSpace(pfn);
    bool filled = true;

    for (unsigned i = 0; i < PAGE_SIZE && filled; i++)
        filled = va[i] == value;
    MiUnmapPageInHyperSpace((void *)va);
    return filled;
}

/*
 * A page with stale data comes back zeroed when a zeroed page is asked for and none is
 * ready (the zeroed list is emptied first; the idle thread may have filled it).
 */
static void zero_page_is_zeroed(struct ktest *t)
{
    pfn_t ready = PFN_INVALID;

    while (MmZeroedPageListHead.count) {
        pfn_t pfn = MiRemoveZeroPage(MI_USE_SYSTEM);
        MiGetPfnEntry(pfn)->flink = ready;  /* chained through a field active pages leave */
        ready = pfn;
    }
    pfn_t dirty = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, dirty != PFN_INVALID);
    uint8_t *va = MiMapPageInHyperSpace(dirty);
    memset(va, 0xA5, PAGE_SIZE);
    MiUnmapPageInHyperSpace(va);
    KT_EXPECT(t, page_is_filled(dirty, 0xA5));
    MiInsertPageInFreeList(dirty);

    pfn_t zeroed = MiRemoveZeroPage(MI_USE_SYSTEM);
    KT_ASSERT(t, zeroed != PFN_INVALID);
    KT_EXPECT_EQ(t, dirty, zeroed);     /* the free list hands back its last page first */
    KT_EXPECT(t, page_is_filled(zeroed, 0));
    MiInsertPageInFreeList(zeroed);
    while (ready != PFN_INVALID) {
        pfn_t next = MiGetPfnEntry(ready)->flink;
        MiInsertPageInFreeList(ready);
        ready = next;
    }
}

/* The idle thread's work: a free page moves to the zeroed list, filled with zeros. */
static void zero_page_ahead(struct ktest *t)
{
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, pfn != PFN_INVALID);
    uint8_t *va = MiMapPageInHyperSpace(pfn);
    memset(va, 0x77, PAGE_SIZE);
    MiUnmapPageInHyperSpace(va);
    MiInsertPageInFreeList(pfn);        /* now the head of the free list */
    uint32_t zeroed = MmZeroedPageListHead.count, available = MmAvailablePages();
    KT_EXPECT(t, MmZeroPageAhead());
    KT_EXPECT_EQ(t, zeroed + 1, MmZeroedPageListHead.count);
    KT_EXPECT_EQ(t, available, MmAvailablePages());
    KT_EXPECT_EQ(t, MI_ZEROED_PAGE_LIST, MiGetPfnEntry(pfn)->location);
    KT_EXPECT(t, page_is_filled(pfn, 0));
}

/*
 * Takes every available page, chaining them through their own first word, checks that
 * none is a page the boot still uses and that no page came twice (each is stamped with
 * its own number), then gives them all back.
 */
/*
 * Every free page handed out, exactly once: a bitmap of the frames taken shows no frame
 * twice, their number is what was available, and none is left after. Every 64th page is
 * written and read back (mapping each of a large machine's million pages would cost
 * seconds a boot, under ptecheck a TLB flush each). Then all go back.
 */
static void every_free_page_once(struct ktest *t)
{
    enum { WRITE_EVERY = 64, TAG = 0x6E667054 /* 'Tpfn' */ };
    struct bitmap taken_frames = {.size = MmHighestPhysicalPage + 1};
    uint32_t bytes = ALIGN_UP(taken_frames.size, 32) / 8;

    taken_frames.words = ExAllocatePoolWithTag(NonPagedPool, bytes, TAG);
    KT_ASSERT(t, taken_frames.words != NULL);
    memset(taken_frames.words, 0, bytes);
    uint32_t available = MmAvailablePages();
    uint32_t in_use[MI_USE_COUNT];
    uint32_t taken = 0, twice = 0, bad = 0;

    memcpy(in_use, MiPagesInUse, sizeof(in_use));
    /*
     * First as the kernel's own memory, which must lie below 4 GB, then as a process's,
     * which takes what is left: the frames above 4 GB (PAE).
     */
    uint32_t low = MmFreePageListHead.count + MmZeroedPageListHead.count, misplaced = 0;
    for (unsigned pass = 0; pass < 2; pass++) {
        enum mi_page_use use = pass == 0 ? MI_USE_SYSTEM : MI_USE_PROCESS_PRIVATE;
        for (;;) {
            pfn_t pfn = MiRemoveAnyPage(use);
            if (pfn == PFN_INVALID)
                break;
            misplaced += (pass == 0) != (pfn < MI_FIRST_HIGH_PAGE);
            twice += bitmap_test(&taken_frames, pfn);
            bitmap_set_range(&taken_frames, pfn, 1);
            if (taken++ % WRITE_EVERY == 0) {
                volatile uint32_t *va = MiMapPageInHyperSpace(pfn);
                va[0] = pfn;
                va[PAGE_SIZE / 4 - 1] = ~pfn;
                bad += va[0] != pfn || va[PAGE_SIZE / 4 - 1] != ~pfn;
                MiUnmapPageInHyperSpace((void *)va);
            }
        }
        if (pass == 0)
            KT_EXPECT_EQ(t, low, taken);
    }
    KT_EXPECT_EQ(t, 0, misplaced);
    KT_EXPECT_EQ(t, available, taken);
    KT_EXPECT_EQ(t, 0, twice);
    KT_EXPECT_EQ(t, 0, bad);
    KT_EXPECT_EQ(t, 0, MmAvailablePages());
    KT_EXPECT_EQ(t, PFN_INVALID, MiRemoveZeroPage(MI_USE_SYSTEM));

    for (pfn_t pfn = 0; pfn < taken_frames.size; pfn++)
        if (bitmap_test(&taken_frames, pfn))
            MiInsertPageInFreeList(pfn);
    KT_EXPECT_EQ(t, available, MmAvailablePages());
    for (unsigned use = 0; use < MI_USE_COUNT; use++)
        KT_EXPECT_EQ(t, in_use[use], MiPagesInUse[use]);
    ExFreePoolWithTag(taken_frames.words, TAG);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(lists_are_well_formed),
    KTEST_CASE(counts_add_up),
    KTEST_CASE(kernel_image_pages_in_use),
    KTEST_CASE(boot_data_pages_in_use),
    KTEST_CASE(pages_in_no_available_range_are_not_ram),
    KTEST_CASE(pfn_database_pages_in_use),
    KTEST_CASE(remove_and_insert_restore_counts),
    KTEST_CASE(zero_page_is_zeroed),
    KTEST_CASE(zero_page_ahead),
    KTEST_CASE(every_free_page_once),
};

KTEST_SUITE(pfn_suite, "pfn", cases);
