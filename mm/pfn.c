/*
 * The PFN database: one struct mmpfn per physical page from 0 to the highest RAM page
 * below 4 GB, mapped at MM_PFN_DATABASE. Free pages sit on the zeroed or the free list
 * (doubly linked through flink/blink, so a page can be taken off either in O(1)).
 *
 * Until the database exists, pages come from a boot allocator that walks RAM from the
 * top down, stepping over the kernel image and the boot loader's data; the pages it
 * handed out are recorded and marked in use when the database is built.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "boot/boot_info.h"
#include "lib/list.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/inject.h"
#include "mm/memmap.h"
#include "mm/modwriter.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/section.h"
#include "mm/virtual.h"

pfn_t MmHighestPhysicalPage;
uint32_t MmNumberOfPhysicalPages;
struct mi_page_list MmZeroedPageListHead = {PFN_INVALID, PFN_INVALID, 0, MI_ZEROED_PAGE_LIST};
struct mi_page_list MmFreePageListHead = {PFN_INVALID, PFN_INVALID, 0, MI_FREE_PAGE_LIST};
struct mi_page_list MiHighZeroedPageListHead = {PFN_INVALID, PFN_INVALID, 0, MI_ZEROED_PAGE_LIST};
struct mi_page_list MiHighFreePageListHead = {PFN_INVALID, PFN_INVALID, 0, MI_FREE_PAGE_LIST};
struct mi_page_list MmStandbyPageListHead = {PFN_INVALID, PFN_INVALID, 0, MI_STANDBY_PAGE_LIST};
struct mi_page_list MmModifiedPageListHead = {PFN_INVALID, PFN_INVALID, 0,
                                              MI_MODIFIED_PAGE_LIST};
uint32_t MiPagesInUse[MI_USE_COUNT];
struct mi_fault_injection MiFrameInjection;

static bool pfn_database_ready;

static struct lock_class pfn_lock_class = LOCK_CLASS_SPIN("PFN database");
struct kspin_lock MiPfnLock = KSPIN_LOCK_INIT(pfn_lock_class);
struct thread *MiPfnLockOwner;

NORETURN void MiPfnLockMisused(bool held, vaddr_t caller)
{
    if (held)
        panic("the PFN lock taken again by the processor that holds it (EIP 0x%08x): a "
              "caller that holds it calls the ...Locked function", caller);
    panic("a function that needs the PFN lock called without it (EIP 0x%08x)", caller);
}

/* ---- the boot allocator ---- */

#define BOOT_ALLOCATION_RUNS 16

struct boot_allocation {
    pfn_t first;            /* the lowest page; runs grow downwards */
    uint32_t count;
    enum mi_page_use use;
};

/* Where the boot allocator takes pages from: downwards from the top of a zone. */
struct boot_cursor {
    unsigned run;           /* the run being handed out, counting down */
    pfn_t next;             /* the next page to try in it, counting down */
    pfn_t floor;            /* the zone's lowest page */
    bool exhausted;
};

static struct {
    const struct mi_physical_memory *memory;
    const struct boot_info *boot;
    struct boot_cursor high, low;   /* above 4 GB (MiMayUseHighMemory), below it */
    unsigned allocation_count;
    struct boot_allocation allocations[BOOT_ALLOCATION_RUNS];
} boot_allocator;

static bool page_overlaps(pfn_t pfn, paddr_t base, paddr_t end)
{
    paddr_t page = pfn_to_paddr(pfn);
    return base < end && base < page + PAGE_SIZE && page < end;
}

static bool page_is_kernel_image(pfn_t pfn)
{
    return page_overlaps(pfn, MiKernelImagePhysical(_kernel_start),
                         MiKernelImagePhysical(_kernel_end));
}

static bool page_is_boot_data(const struct boot_info *boot, pfn_t pfn)
{
    for (unsigned i = 0; i < boot->reserved_count; i++)
        if (page_overlaps(pfn, boot->reserved[i].base, boot->reserved[i].end))
            return true;
    return false;
}

static void boot_allocator_start(const struct mi_physical_memory *memory,
                                 const struct boot_info *boot)
{
    const struct mi_physical_run *top = &memory->runs[memory->run_count - 1];
    pfn_t highest = top->base_page + top->page_count - 1;

    boot_allocator.memory = memory;
    boot_allocator.boot = boot;
    boot_allocator.high = (struct boot_cursor){memory->run_count - 1, highest,
                                               MI_FIRST_HIGH_PAGE,
                                               highest < MI_FIRST_HIGH_PAGE};
    boot_allocator.low = (struct boot_cursor){memory->run_count - 1,
                                              MIN(highest, MI_FIRST_HIGH_PAGE - 1), 0, false};
}

static void boot_allocator_record(pfn_t pfn, enum mi_page_use use)
{
    if (boot_allocator.allocation_count) {
        struct boot_allocation *last =
            &boot_allocator.allocations[boot_allocator.allocation_count - 1];
        if (last->use == use && last->first == pfn + 1) {
            last->first = pfn;
            last->count++;
            return;
        }
    }
    if (boot_allocator.allocation_count == BOOT_ALLOCATION_RUNS)
        panic("boot page allocator: more than %u separate allocations", BOOT_ALLOCATION_RUNS);
    boot_allocator.allocations[boot_allocator.allocation_count++] =
        (struct boot_allocation){pfn, 1, use};
}

static pfn_t boot_cursor_take(struct boot_cursor *cursor, enum mi_page_use use)
{
    const struct mi_physical_memory *memory = boot_allocator.memory;

    while (!cursor->exhausted) {
        const struct mi_physical_run *run = &memory->runs[cursor->run];
        pfn_t pfn = cursor->next;

        if (pfn == PFN_INVALID || pfn < cursor->floor) {     /* past page 0, or its zone */
            cursor->exhausted = true;
            break;
        }
        if (pfn < run->base_page || pfn >= run->base_page + run->page_count) {
            if (pfn >= run->base_page + run->page_count) {
                cursor->next = run->base_page + run->page_count - 1;    /* a lower run */
                continue;
            }
            if (cursor->run == 0) {
                cursor->exhausted = true;
                break;
            }
            run = &memory->runs[--cursor->run];
            cursor->next = MIN(cursor->next, run->base_page + run->page_count - 1);
            continue;
        }
        cursor->next--;
        if (page_is_kernel_image(pfn) || page_is_boot_data(boot_allocator.boot, pfn))
            continue;
        boot_allocator_record(pfn, use);
        return pfn;
    }
    return PFN_INVALID;
}

/*
 * A page for the boot, from the top of RAM: above 4 GB for a use that may lie there
 * (the PFN database), else from below it, as the page lists give them later.
 */
static pfn_t boot_allocate_page(enum mi_page_use use)
{
    pfn_t pfn = PFN_INVALID;

    if (MiMayUseHighMemory(use))
        pfn = boot_cursor_take(&boot_allocator.high, use);
    return pfn != PFN_INVALID ? pfn : boot_cursor_take(&boot_allocator.low, use);
}

/* ---- the lists ---- */

static void list_push(struct mi_page_list *list, pfn_t pfn)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    entry->location = list->location;
    entry->blink = PFN_INVALID;
    entry->flink = list->head;
    if (list->head != PFN_INVALID)
        MiGetPfnEntry(list->head)->blink = pfn;
    else
        list->tail = pfn;
    list->head = pfn;
    list->count++;
}

static inline bool is_high(pfn_t pfn)
{
    return MM_PAE && pfn >= MI_FIRST_HIGH_PAGE;
}

/* The free or zeroed list of pfn's zone. */
static struct mi_page_list *free_list_of(pfn_t pfn, bool zeroed)
{
    if (is_high(pfn))
        return zeroed ? &MiHighZeroedPageListHead : &MiHighFreePageListHead;
    return zeroed ? &MmZeroedPageListHead : &MmFreePageListHead;
}

static struct mi_page_list *list_of(const struct mmpfn *entry)
{
    switch (entry->location) {
    case MI_ZEROED_PAGE_LIST:
    case MI_FREE_PAGE_LIST:
        return free_list_of((pfn_t)(entry - MmPfnDatabase),
                            entry->location == MI_ZEROED_PAGE_LIST);
    case MI_STANDBY_PAGE_LIST:
        return &MmStandbyPageListHead;
    case MI_MODIFIED_PAGE_LIST:
        return &MmModifiedPageListHead;
    default:
        panic("a page on no list (location %u)", entry->location);
    }
}

/* Takes pfn out of list, the list it is on. */
static void unlink_from(struct mi_page_list *list, struct mmpfn *entry)
{
    if (entry->blink != PFN_INVALID)
        MiGetPfnEntry(entry->blink)->flink = entry->flink;
    else
        list->head = entry->flink;
    if (entry->flink != PFN_INVALID)
        MiGetPfnEntry(entry->flink)->blink = entry->blink;
    else
        list->tail = entry->blink;
    list->count--;
}

static void list_unlink(pfn_t pfn)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    unlink_from(list_of(entry), entry);
}

static void mark_active(pfn_t pfn, enum mi_page_use use)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    entry->location = MI_PAGE_ACTIVE;
    entry->flink = entry->blink = PFN_INVALID;
    entry->pte_frame = PFN_INVALID;
    entry->pagefile_slot = 0;      /* and used_entries */
    entry->flags = 0;
    entry->reference_count = 1;
    entry->use = use;
    MiPagesInUse[use]++;
}

/* Takes a page that is still free out of its list for use; pages in use are left. */
static void claim_page(pfn_t pfn, enum mi_page_use use)
{
    if (pfn > MmHighestPhysicalPage)
        return;
    struct mmpfn *entry = MiGetPfnEntry(pfn);
    if (entry->location != MI_FREE_PAGE_LIST && entry->location != MI_ZEROED_PAGE_LIST)
        return;
    list_unlink(pfn);
    mark_active(pfn, use);
}

static void claim_range(paddr_t base, paddr_t end, enum mi_page_use use)
{
    if (base >= end)
        return;
    for (pfn_t pfn = paddr_to_pfn(base); pfn <= paddr_to_pfn(end - 1); pfn++)
        claim_page(pfn, use);
}

/*
 * A standby page, taken for reuse (the oldest, normally): its owner's PTE, which names it as a page
 * in transition, is rewritten to name its pagefile slot, and the slot becomes the PTE's.
 */
static pfn_t take_standby_page(pfn_t pfn)
{
    if (pfn == PFN_INVALID)
        return PFN_INVALID;
    struct mmpfn *entry = MiGetPfnEntry(pfn);
    list_unlink(pfn);
    KASSERT(entry->pagefile_slot != 0 || entry->flags & MI_PFN_RESET);
    MiPointOwnerAtSlotLocked(pfn, entry->pagefile_slot);
    entry->pagefile_slot = 0;
    MmStatistics.standby_pages_reused++;
    return pfn;
}

/* Where pfn's owner PTE is, as one number that orders owners as their addresses do. */
static uint64_t owner_position(pfn_t pfn)
{
    const struct mmpfn *entry = MiGetPfnEntry(pfn);

    return (uint64_t)entry->pte_frame * PTES_PER_TABLE + entry->pte_index;
}

void MiSortPagesByOwner(pfn_t *frames, uint32_t count)
{
    for (uint32_t i = 1; i < count; i++) {
        pfn_t pfn = frames[i];
        uint64_t position = owner_position(pfn);
        uint32_t j = i;
        for (; j > 0 && owner_position(frames[j - 1]) > position; j--)
            frames[j] = frames[j - 1];
        frames[j] = pfn;
    }
}

void MiPointOwnerAtSlotLocked(pfn_t pfn, uint32_t slot)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->pte_frame != PFN_INVALID);
    mmpte_t *table = MiMapPageInHyperSpace(entry->pte_frame);
    mmpte_t *owner = &table[entry->pte_index];
    KASSERT(MiIsTransitionPte(*owner) && pte_pfn(*owner) == pfn);
    MiWriteTableEntry(owner, MiMakePagefilePte(slot, MiPteProtection(*owner)));
    MiUnmapPageInHyperSpace(table);
}

/*
 * With the PFN lock held: a zeroed page, else a free one (or the other way round:
 * zeroed_first), else a standby page; zeroed says which it was. A use that may lie above
 * 4 GB takes from there while there is any, to leave the frames below 4 GB to what can
 * live nowhere else; one that may not takes a standby page below 4 GB, looking at most
 * MI_LOW_STANDBY_SEARCH pages from the oldest. (Without PAE there is one zone, and this
 * is the two lists and the standby list alone.)
 */
#define MI_LOW_STANDBY_SEARCH 1024
static inline __attribute__((always_inline)) pfn_t
take_page_locked(bool zeroed_first, enum mi_page_use use, bool *zeroed)
{
    struct mi_page_list *zeroed_list = &MmZeroedPageListHead, *free_list = &MmFreePageListHead;
    pfn_t pfn;

    if (MiInjectedFailure(&MiFrameInjection))
        return PFN_INVALID;
    if (MM_PAE && MiMayUseHighMemory(use) &&
        MiHighZeroedPageListHead.count + MiHighFreePageListHead.count) {
        zeroed_list = &MiHighZeroedPageListHead;
        free_list = &MiHighFreePageListHead;
    }
    struct mi_page_list *first = zeroed_first ? zeroed_list : free_list;
    struct mi_page_list *list = first->count ? first : zeroed_first ? free_list : zeroed_list;
    *zeroed = list == zeroed_list;
    pfn = list->head;
    if (pfn != PFN_INVALID) {
        unlink_from(list, MiGetPfnEntry(pfn));
    } else {
        *zeroed = false;
        pfn = MmStandbyPageListHead.tail;
        /* A use that must stay below 4 GB takes the oldest standby page there. */
        for (unsigned looked = 0; pfn != PFN_INVALID && is_high(pfn) && !MiMayUseHighMemory(use);
             looked++)
            pfn = looked < MI_LOW_STANDBY_SEARCH ? MiGetPfnEntry(pfn)->blink : PFN_INVALID;
        pfn = take_standby_page(pfn);
    }
    if (pfn != PFN_INVALID)
        mark_active(pfn, use);
    return pfn;
}

pfn_t MiRemoveAnyPageLocked(enum mi_page_use use)
{
    bool zeroed;

    MiAssertPfnLockHeld();
    return take_page_locked(false, use, &zeroed);
}

pfn_t MiRemoveAnyPage(enum mi_page_use use)
{
    KIRQL old_irql = MiAcquirePfnLock();
    pfn_t pfn = MiRemoveAnyPageLocked(use);

    MiReleasePfnLock(old_irql);
    return pfn;
}

pfn_t MiRemoveZeroPageLocked(enum mi_page_use use)
{
    bool zeroed = false;

    MiAssertPfnLockHeld();
    pfn_t pfn = take_page_locked(true, use, &zeroed);

    if (pfn != PFN_INVALID && !zeroed)
        MiZeroPhysicalPage(pfn);
    return pfn;
}

pfn_t MiRemoveZeroPage(enum mi_page_use use)
{
    bool zeroed = false;
    KIRQL old_irql = MiAcquirePfnLock();
    pfn_t pfn = take_page_locked(true, use, &zeroed);

    MiReleasePfnLock(old_irql);
    /* A free page is zeroed after the lock is let go: zeroing is long work. */
    if (pfn != PFN_INVALID && !zeroed)
        MiZeroPhysicalPage(pfn);
    return pfn;
}

pfn_t MiTakeFreePage(pfn_t pfn, enum mi_page_use use)
{
    KIRQL old_irql = MiAcquirePfnLock();
    struct mmpfn *entry = pfn <= MmHighestPhysicalPage ? MiGetPfnEntry(pfn) : NULL;

    if (entry && (entry->location == MI_FREE_PAGE_LIST ||
                  entry->location == MI_ZEROED_PAGE_LIST)) {
        list_unlink(pfn);
        mark_active(pfn, use);
    } else {
        pfn = PFN_INVALID;
    }
    MiReleasePfnLock(old_irql);
    return pfn;
}

void MiInsertPageInFreeListLocked(pfn_t pfn)
{
    MiAssertPfnLockHeld();
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(pfn <= MmHighestPhysicalPage && entry->location == MI_PAGE_ACTIVE);
    KASSERT(entry->reference_count <= 1);
    if (MiIsPageableUse(entry->use) && entry->pagefile_slot)
        MiReleasePagefileSlot(entry->pagefile_slot);
    entry->pagefile_slot = 0;
    if (entry->flags & MI_PFN_WRITE_IN_PROGRESS) {
        /* The disk still reads it: it is freed when the write ends (mm/modwriter.c). */
        entry->flags |= MI_PFN_DELETED;
        entry->reference_count = 0;
        return;
    }
    entry->pte_frame = PFN_INVALID;
    entry->flags = 0;
    MiPagesInUse[entry->use]--;
    entry->reference_count = 0;
    entry->use = MI_USE_NONE;
    list_push(free_list_of(pfn, false), pfn);
}

void MiInsertPageInFreeList(pfn_t pfn)
{
    KIRQL old_irql = MiAcquirePfnLock();

    MiInsertPageInFreeListLocked(pfn);
    MiReleasePfnLock(old_irql);
}

void MiAddPageReferenceLocked(pfn_t pfn)
{
    MiAssertPfnLockHeld();
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->location == MI_PAGE_ACTIVE && entry->reference_count < UINT16_MAX);
    entry->reference_count++;
}

void MiAddPageReference(pfn_t pfn)
{
    KIRQL old_irql = MiAcquirePfnLock();

    MiAddPageReferenceLocked(pfn);
    MiReleasePfnLock(old_irql);
}

void MiReleasePageReferenceLocked(pfn_t pfn)
{
    MiAssertPfnLockHeld();
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->location == MI_PAGE_ACTIVE && entry->reference_count > 0);
    if (entry->reference_count > 1)
        entry->reference_count--;
    else if (entry->use == MI_USE_SECTION)
        MiSectionPageUnmapped(pfn);
    else
        MiInsertPageInFreeListLocked(pfn);
}

void MiReleasePageReference(pfn_t pfn)
{
    KIRQL old_irql = MiAcquirePfnLock();

    MiReleasePageReferenceLocked(pfn);
    MiReleasePfnLock(old_irql);
}

uint32_t MiPurgeStandbyPages(uint32_t max)
{
    uint32_t purged = 0;

    while (purged < max) {
        KIRQL old_irql = MiAcquirePfnLock();
        pfn_t pfn = take_standby_page(MmStandbyPageListHead.tail);
        if (pfn != PFN_INVALID) {
            mark_active(pfn, MI_USE_SYSTEM);
            MiInsertPageInFreeListLocked(pfn);
        }
        MiReleasePfnLock(old_irql);
        if (pfn == PFN_INVALID)
            break;
        purged++;
    }
    return purged;
}

void MiSetPteOwner(pfn_t pfn, const mmpte_t *pte)
{
    paddr_t physical;
    bool mapped = MmGetPhysicalAddress((vaddr_t)pte, &physical);

    KASSERT(mapped);
    MiSetPteOwnerFrame(pfn, paddr_to_pfn(physical), (physical % PAGE_SIZE) / sizeof(mmpte_t));
}

void MiInsertTransitionPageLocked(pfn_t pfn)
{
    MiAssertPfnLockHeld();
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->location == MI_PAGE_ACTIVE && entry->pte_frame != PFN_INVALID);
    entry->reference_count = 0;
    if (entry->flags & MI_PFN_MODIFIED ||
        (!entry->pagefile_slot && !(entry->flags & MI_PFN_RESET))) {
        /* The copy in the pagefile, if any, is stale: the slot is free for others. */
        if (entry->pagefile_slot)
            MiReleasePagefileSlot(entry->pagefile_slot);
        entry->pagefile_slot = 0;
        entry->flags = (entry->flags | MI_PFN_MODIFIED) & ~MI_PFN_RESET;
        list_push(&MmModifiedPageListHead, pfn);
        MiModifiedPageAdded();
    } else {
        /* A good copy in the pagefile, or contents nobody wants (MEM_RESET). */
        list_push(&MmStandbyPageListHead, pfn);
    }
}

void MiInsertTransitionPage(pfn_t pfn)
{
    KIRQL old_irql = MiAcquirePfnLock();

    MiInsertTransitionPageLocked(pfn);
    MiReleasePfnLock(old_irql);
}

void MiUnlinkPageLocked(pfn_t pfn)
{
    MiAssertPfnLockHeld();
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->location == MI_STANDBY_PAGE_LIST ||
            entry->location == MI_MODIFIED_PAGE_LIST);
    list_unlink(pfn);
    entry->location = MI_PAGE_ACTIVE;
    entry->flink = entry->blink = PFN_INVALID;
}

void MiUnlinkPage(pfn_t pfn)
{
    KIRQL old_irql = MiAcquirePfnLock();

    MiUnlinkPageLocked(pfn);
    MiReleasePfnLock(old_irql);
}

void MiRemoveTransitionPageLocked(pfn_t pfn, enum mi_page_use use)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    KASSERT(entry->use == use && !(entry->flags & MI_PFN_READ_IN_PROGRESS));
    if (entry->location != MI_PAGE_ACTIVE)      /* else its write is in flight, on no list */
        MiUnlinkPageLocked(pfn);
    KASSERT(entry->reference_count == 0);
    entry->reference_count = 1;
}

void MiFreeTransitionPageLocked(pfn_t pfn)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    if (entry->flags & MI_PFN_READ_IN_PROGRESS) {
        /* The transfer still writes the frame: it is freed when the read ends. */
        if (entry->pagefile_slot)
            MiReleasePagefileSlot(entry->pagefile_slot);
        entry->pagefile_slot = 0;
        entry->flags |= MI_PFN_DELETED;
        return;
    }
    if (entry->location != MI_PAGE_ACTIVE)      /* else its write is in flight, on no list */
        MiUnlinkPageLocked(pfn);
    MiInsertPageInFreeListLocked(pfn);
}

bool MmZeroPageAhead(void)
{
    KIRQL old_irql = MiAcquirePfnLock();
    bool zeroed = false;
    pfn_t pfn = MmFreePageListHead.count ? MmFreePageListHead.head : MiHighFreePageListHead.head;

    if (pfn != PFN_INVALID) {
        list_unlink(pfn);
        MiZeroPhysicalPage(pfn);
        list_push(free_list_of(pfn, true), pfn);
        zeroed = true;
    }
    MiReleasePfnLock(old_irql);
    return zeroed;
}

pfn_t MiAllocatePageTablePage(enum mi_page_use use, bool locked, bool *zeroed)
{
    *zeroed = pfn_database_ready;
    if (!pfn_database_ready)
        return boot_allocate_page(use);
    return locked ? MiRemoveZeroPageLocked(use) : MiRemoveZeroPage(use);
}

void MiInitializePfnDatabase(const struct mi_physical_memory *memory,
                             const struct boot_info *boot)
{
    const struct mi_physical_run *top = &memory->runs[memory->run_count - 1];

    MmHighestPhysicalPage = top->base_page + top->page_count - 1;
    MmNumberOfPhysicalPages = memory->total_pages;
    boot_allocator_start(memory, boot);

    uint32_t bytes = (MmHighestPhysicalPage + 1) * sizeof(struct mmpfn);
    uint32_t pages = ALIGN_UP(bytes, (uint32_t)PAGE_SIZE) / PAGE_SIZE;
    /*
     * The database's page tables first, then its pages: two runs of the boot allocator
     * however much RAM there is (taken in turn, each table would start a run of its own).
     */
    for (vaddr_t va = MM_PFN_DATABASE; va < MM_PFN_DATABASE + pages * PAGE_SIZE; va += PDE_SPAN)
        if (!MiGetPte(va, true))
            panic("not enough memory for the PFN database's page tables");
    for (uint32_t i = 0; i < pages; i++) {
        pfn_t pfn = boot_allocate_page(MI_USE_PFN_DATABASE);
        if (pfn == PFN_INVALID ||
            !NT_SUCCESS(MiMapRange(MM_PFN_DATABASE + i * PAGE_SIZE, pfn_to_paddr(pfn),
                                   PAGE_SIZE, pte_make_kernel(0, true))))
            panic("not enough memory for the PFN database: %u KB of RAM, need more than %u KB",
                  MmNumberOfPhysicalPages * (PAGE_SIZE / 1024), pages * (PAGE_SIZE / 1024));
    }
    /* Every entry starts as MI_PAGE_NOT_RAM (0); RAM pages then go on the free list. */
    memset(MmPfnDatabase, 0, pages * PAGE_SIZE);
    for (unsigned r = 0; r < memory->run_count; r++)
        for (uint32_t i = 0; i < memory->runs[r].page_count; i++)
            list_push(free_list_of(memory->runs[r].base_page + i, false),
                      memory->runs[r].base_page + i);

    claim_range(MiKernelImagePhysical(_kernel_start), MiKernelImagePhysical(_kernel_end),
                MI_USE_KERNEL_IMAGE);
    for (unsigned i = 0; i < boot->reserved_count; i++)
        claim_range(boot->reserved[i].base, boot->reserved[i].end, MI_USE_BOOT_DATA);
    for (unsigned i = 0; i < boot_allocator.allocation_count; i++) {
        const struct boot_allocation *a = &boot_allocator.allocations[i];
        for (uint32_t j = 0; j < a->count; j++)
            claim_page(a->first + j, a->use);
    }
    pfn_database_ready = true;
}

void MiResetPage(vaddr_t va)
{
    mmpte_t *pte = pte_of(va);
    struct mmpfn *entry = MiGetPfnEntry(pte_pfn(*pte));

    if (entry->use != MI_USE_PROCESS_PRIVATE)
        return;
    KIRQL old_irql = MiAcquirePfnLock();
    if (pte_is_valid(*pte) && pte->value & PTE_DIRTY) {
        if (MmCurrentAddressSpace()->write_watch_vads)
            MiCaptureWriteWatch(MmCurrentAddressSpace(), va);
        MiClearPteBits(pte, PTE_DIRTY);
    }
    if (entry->pagefile_slot)
        MiReleasePagefileSlot(entry->pagefile_slot);
    entry->pagefile_slot = 0;
    entry->flags = (entry->flags & ~MI_PFN_MODIFIED) | MI_PFN_RESET;
    MiReleasePfnLock(old_irql);
}

void MiUndoResetPage(mmpte_t pte)
{
    if (!MiIsPresentPte(pte) && !MiIsTransitionPte(pte))
        return;
    pfn_t pfn = pte_pfn(pte);
    struct mmpfn *entry = MiGetPfnEntry(pfn);
    if (!(entry->flags & MI_PFN_RESET))
        return;
    KIRQL old_irql = MiAcquirePfnLock();
    bool on_standby = entry->location == MI_STANDBY_PAGE_LIST;
    if (on_standby)
        MiUnlinkPageLocked(pfn);
    entry->flags = (entry->flags & ~MI_PFN_RESET) | MI_PFN_MODIFIED;
    if (on_standby)
        MiInsertTransitionPageLocked(pfn);    /* to the modified list: its contents count again */
    MiReleasePfnLock(old_irql);
}

bool MmHasMemoryAbove4Gb(void)
{
    return MmHighestPhysicalPage >= MI_FIRST_HIGH_PAGE;
}

bool MmAllocateDmaFrame(paddr_t *physical)
{
    /* MI_USE_SYSTEM may not lie above 4 GB (MiMayUseHighMemory). */
    pfn_t pfn = MiRemoveZeroPage(MI_USE_SYSTEM);

    *physical = pfn_to_paddr(pfn);
    return pfn != PFN_INVALID;
}
