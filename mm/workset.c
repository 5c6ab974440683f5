/*
 * Working sets and the balance of memory.
 *
 * A process's working set is the list of its pageable pages that are in memory (private
 * pages and the section pages it maps), kept by MiWriteUserPte as PTEs become present
 * or stop being present. It has a minimum and a maximum (50 and 345 pages, Windows'
 * defaults). A fault that would take it past its maximum first gives up one of its own
 * pages; when the system runs short of reusable pages (free, zeroed, standby), every
 * working set is trimmed towards its minimum. Both pick pages by the clock: the hand
 * sweeps the list, a page whose accessed bit is set loses the bit and is passed over
 * this time, so the pages left are the ones used least recently.
 *
 * A page leaving a working set is not written anywhere yet: its PTE becomes a
 * transition PTE and the page goes to the modified list (dirty) or the standby list
 * (its pagefile copy is good). The modified-page writer then writes dirty pages to the
 * pagefile in batches of contiguous slots, moving them to standby; a standby page is
 * reused only when the free and zeroed lists are empty. Until then a touch takes the
 * page back with no I/O at all.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/list.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

#define TAG_WORKING_SET 0x6c736b57  /* 'Wksl' */

/* ---- the lock ---- */

struct lock_class MiProcessWorkingSetClass = LOCK_CLASS_BLOCKING("process working set");
struct lock_class MiSystemWorkingSetClass = LOCK_CLASS_BLOCKING("system working set");

NORETURN void MiWorkingSetLockMisused(const struct mm_working_set *working_set, bool held,
                                      vaddr_t caller)
{
    const char *which = working_set == &MiSystemWorkingSet ? " (the system working set's)" : "";

    if (held)
        panic("a working-set lock%s taken again by the thread that holds it (EIP 0x%08x): "
              "a caller that holds it calls the ...Locked function", which, caller);
    panic("a function that needs a working-set lock%s called without it (EIP 0x%08x)", which,
          caller);
}

bool MiTryLockWorkingSet(struct mm_working_set *working_set)
{
    if (MiWorkingSetLockHeld(working_set))
        MiWorkingSetLockMisused(working_set, true, (vaddr_t)__builtin_return_address(0));
    return KeTryToAcquireGuardedMutex(&working_set->lock);
}


/* ---- the list ---- */

bool MiInitializeWorkingSet(struct mm_working_set *working_set)
{
    struct lock_class *class = working_set == &MiSystemWorkingSet ? &MiSystemWorkingSetClass
                                                                  : &MiProcessWorkingSetClass;
    *working_set = (struct mm_working_set){
        .minimum = MI_DEFAULT_WORKING_SET_MINIMUM,
        .maximum = MI_DEFAULT_WORKING_SET_MAXIMUM,
        .capacity = MI_DEFAULT_WORKING_SET_MAXIMUM + 1,
    };
    KeInitializeGuardedMutex(&working_set->lock, class);
    working_set->entries = ExAllocatePoolWithTag(NonPagedPool,
                                                 working_set->capacity * sizeof(vaddr_t),
                                                 TAG_WORKING_SET);
    return working_set->entries != NULL;
}

void MiDeleteWorkingSet(struct mm_working_set *working_set)
{
    if (working_set->entries)
        ExFreePoolWithTag(working_set->entries, TAG_WORKING_SET);
    working_set->entries = NULL;
    working_set->count = working_set->capacity = 0;
}

/* A list of capacity entries holding the present ones; false when the pool has none. */
static bool reallocate(struct mm_working_set *working_set, uint32_t capacity)
{
    vaddr_t *entries = ExAllocatePoolWithTag(NonPagedPool, capacity * sizeof(vaddr_t),
                                             TAG_WORKING_SET);
    if (!entries)
        return false;
    if (working_set->entries) {
        memcpy(entries, working_set->entries, working_set->count * sizeof(vaddr_t));
        ExFreePoolWithTag(working_set->entries, TAG_WORKING_SET);
    }
    working_set->entries = entries;
    working_set->capacity = capacity;
    return true;
}

/* Doubles the list's room; false when pool runs out. */
static bool grow(struct mm_working_set *working_set)
{
    return reallocate(working_set, MAX(working_set->capacity * 2, 16u));
}

void MiGrowWorkingSetAndInsert(struct mm_working_set *working_set, vaddr_t va)
{
    /*
     * Without room the page stays resident, untracked: it cannot leave, nothing is lost.
     * Under the PFN lock the pool may not be asked (its pages come from the PFN lists):
     * a fault makes room before it takes the lock (MiBalanceForFault).
     */
    if (MiPfnLockHeld() || !grow(working_set))
        return;
    working_set->entries[working_set->count++] = va;
    working_set->peak = MAX(working_set->peak, working_set->count);
}

/* The index of va's entry, or working_set->count when it has none. */
static uint32_t find_entry(const struct mm_working_set *working_set, vaddr_t va)
{
    /* Present pages are at most a few hundred, and only they are ever looked up. */
    uint32_t i = 0;

    while (i < working_set->count && (working_set->entries[i] & ~MI_WORKING_SET_LOCKED) != va)
        i++;
    return i;
}

bool MiLockWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va, bool lock)
{
    uint32_t i = find_entry(working_set, va);

    if (i == working_set->count)
        return false;
    bool locked = working_set->entries[i] & MI_WORKING_SET_LOCKED;
    if (lock && !locked)
        working_set->locked++;
    else if (!lock && locked)
        working_set->locked--;
    working_set->entries[i] = va | (lock ? MI_WORKING_SET_LOCKED : 0);
    return true;
}

bool MiIsWorkingSetEntryLocked(const struct mm_working_set *working_set, vaddr_t va)
{
    uint32_t i = find_entry(working_set, va);

    return i < working_set->count && working_set->entries[i] & MI_WORKING_SET_LOCKED;
}

void MiRemoveWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va)
{
    uint32_t i = find_entry(working_set, va);

    if (i < working_set->count) {
        /* A locked page that leaves (decommitted, released) is unlocked with it. */
        if (working_set->entries[i] & MI_WORKING_SET_LOCKED)
            working_set->locked--;
        working_set->entries[i] = working_set->entries[--working_set->count];
        if (working_set->hand > working_set->count)
            working_set->hand = 0;
    }
}

/* ---- trimming ---- */

/* Takes the present page at va out of the current process: its frame goes in transition. */
static void evict_user_page(vaddr_t va)
{
    /* The PFN lock: the PTE and the frame's list change together. */
    KIRQL old = MiAcquirePfnLock();
    mmpte_t pte = *pte_of(va);
    pfn_t pfn = pte_pfn(pte);
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    if (entry->use == MI_USE_SECTION) {
        /*
         * The view's PTE goes back to "ask the prototype", keeping the page's protection
         * if it is not the view's own; the last mapping out moves the prototype.
         */
        const struct mmvad *vad = MiLocateVad(&MmCurrentAddressSpace()->vads, va);
        MiWriteUserPte(va, MiMakeViewPte(vad, va, MiPteProtection(pte)));
        MiReleasePageReferenceLocked(pfn);
    } else {
        MiWriteUserPte(va, MiMakeTransitionPte(pfn, MiPteProtection(pte)));
        MiInsertTransitionPageLocked(pfn);
    }
    MiReleasePfnLock(old);
    MmStatistics.pages_trimmed++;
}

/*
 * The clock: takes pages out of working_set with evict (which also removes the entry)
 * until it holds at most target. The page at keep stays: it is the one being faulted on,
 * and taking it out again would make the fault go round for ever (a write to a
 * copy-on-write page first maps the page, then faults again to copy it).
 */
static uint32_t trim(struct mm_working_set *working_set, uint32_t target, bool age,
                     vaddr_t keep, void (*evict)(vaddr_t va))
{
    uint32_t removed = 0;
    /* Two sweeps at most: the first clears every accessed bit it passes over. */
    uint32_t steps = 2 * working_set->count + 1;

    while (working_set->count > target && steps-- > 0) {
        if (working_set->hand >= working_set->count)
            working_set->hand = 0;
        vaddr_t va = working_set->entries[working_set->hand];
        mmpte_t *pte = pte_of(va);
        /* A locked page stays, as the page being faulted on does. */
        if (va == keep || va & MI_WORKING_SET_LOCKED) {
            working_set->hand++;
            continue;
        }
        if (age && pte_is_valid(*pte) && (pte->value & PTE_ACCESSED)) {
            MiClearPteBits(pte, PTE_ACCESSED);
            working_set->hand++;
            continue;
        }
        evict(va);          /* the last entry moves into the hand's place */
        removed++;
    }
    return removed;
}

uint32_t MiTrimWorkingSet(uint32_t target, bool age)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    return MiTrimWorkingSetLocked(target, age);
}

uint32_t MiTrimWorkingSetLocked(uint32_t target, bool age)
{
    MiAssertWorkingSetLockHeld(&MmCurrentAddressSpace()->working_set);
    return trim(&MmCurrentAddressSpace()->working_set, target, age, 0, evict_user_page);
}

ntstatus_t MmAdjustWorkingSetSize(uint32_t minimum_bytes, uint32_t maximum_bytes)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_working_set *working_set = &MmCurrentAddressSpace()->working_set;

    if (minimum_bytes == 0xFFFFFFFFu && maximum_bytes == 0xFFFFFFFFu) {
        MiTrimWorkingSetLocked(0, false);
        return STATUS_SUCCESS;
    }
    uint32_t minimum = minimum_bytes / PAGE_SIZE, maximum = maximum_bytes / PAGE_SIZE;
    /* What RAM allows: every working set at its minimum must still leave room to run. */
    uint32_t largest = MmNumberOfPhysicalPages - MmNumberOfPhysicalPages / 4;
    /* Nor may the maximum leave no room for the pages locked in the working set. */
    if (minimum < MM_MINIMUM_WORKING_SET || maximum < minimum || maximum > largest ||
        maximum < working_set->locked)
        return STATUS_BAD_WORKING_SET_LIMIT;
    /* One more entry than the maximum: a fault adds its page before trimming. */
    if (working_set->capacity <= maximum && !reallocate(working_set, maximum + 1))
        return STATUS_INSUFFICIENT_RESOURCES;
    working_set->minimum = minimum;
    working_set->maximum = maximum;
    if (working_set->count > maximum)
        MiTrimWorkingSetLocked(maximum, true);
    return STATUS_SUCCESS;
}

uint32_t MiTrimSystemWorkingSet(uint32_t target, bool age)
{
    MI_WORKING_SET_GUARD(&MiSystemWorkingSet);
    return trim(&MiSystemWorkingSet, target, age, 0, MiEvictPagedPoolPage);
}

/* ---- the balance of memory ---- */

/* The most pages a fault that cannot wait for the writer writes itself. */
#define WRITER_PAGES_PER_FAULT (4 * MI_PAGEFILE_BATCH)

uint32_t MiLowReusablePages = 32;
uint32_t MiHighModifiedPages = 64;

void MiInitializeBalance(void)
{
    MiLowReusablePages = CLAMP(MmNumberOfPhysicalPages / 64, 32u, 1024u);
    MiHighModifiedPages = CLAMP(MmNumberOfPhysicalPages / 16, 64u, 2048u);
}

/* Trimming stops once this many pages are reusable or on their way (modified). */
static uint32_t target_pages(void)
{
    return 2 * MiLowReusablePages;
}

static bool enough_pages(void)
{
    return MiReusablePages() + MmModifiedPageListHead.count >= target_pages();
}

/*
 * Takes working_set's lock by attempt for the trimmer, unless this thread holds it
 * already (the fault or service the trim is for): false when another thread holds it.
 * *taken: whether the trimmer took it, and so lets it go.
 */
static bool lock_for_trim(struct mm_working_set *working_set, bool *taken)
{
    *taken = false;
    if (MiWorkingSetLockHeld(working_set))
        return true;
    *taken = MiTryLockWorkingSet(working_set);
    return *taken;
}

/*
 * Trims every address space whose working-set lock can be had at once (held means in
 * use: it is left alone this time) towards target(space), the pages at keep excepted.
 * It runs at DISPATCH_LEVEL, with the list of address spaces held: each space is
 * trimmed in its own address space, and no thread switch may come between the CR3 load
 * and the switch back. Until enough pages are reusable, when until_enough.
 */
static void trim_address_spaces(uint32_t (*target)(const struct mm_working_set *, unsigned),
                                unsigned pass, vaddr_t keep, bool until_enough)
{
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);
    struct mm_address_space *current = MmCurrentAddressSpace();

    for (struct list_entry *e = MiAddressSpaces.next;
         e != &MiAddressSpaces && !(until_enough && enough_pages()); e = e->next) {
        struct mm_address_space *space = CONTAINING_RECORD(e, struct mm_address_space, link);
        bool taken;
        if (space->working_set.count == 0 || !lock_for_trim(&space->working_set, &taken))
            continue;
        MmSwitchAddressSpace(space);
        trim(&space->working_set, target(&space->working_set, pass), pass == 0,
             space == current ? keep : 0, evict_user_page);
        if (taken)
            MiUnlockWorkingSet(&space->working_set);
    }
    MmSwitchAddressSpace(current);
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);
}

/* The system working set likewise (its lock taken by attempt). */
static void trim_system_working_set(uint32_t target, bool age, vaddr_t keep)
{
    bool taken;

    if (!lock_for_trim(&MiSystemWorkingSet, &taken))
        return;
    trim(&MiSystemWorkingSet, target, age, keep, MiEvictPagedPoolPage);
    if (taken)
        MiUnlockWorkingSet(&MiSystemWorkingSet);
}

/* The first two passes leave a working set its minimum; the third, nothing unlocked. */
static uint32_t pass_target(const struct mm_working_set *working_set, unsigned pass)
{
    return pass < 2 ? working_set->minimum : 0;
}

static uint32_t nothing_left(const struct mm_working_set *working_set, unsigned pass)
{
    (void)working_set, (void)pass;
    return 0;
}

/*
 * Trims every working set, its pages not used lately first, towards its minimum, then
 * (only if that was not enough) towards nothing but what is in use.
 */
static void trim_working_sets(vaddr_t keep)
{
    for (unsigned pass = 0; pass < 3 && !enough_pages(); pass++) {
        trim_address_spaces(pass_target, pass, keep, true);
        if (!enough_pages())
            trim_system_working_set(pass_target(&MiSystemWorkingSet, pass), pass == 0, keep);
    }
}

void MiReclaimMemory(vaddr_t keep)
{
    trim_address_spaces(nothing_left, 1, keep, false);
    trim_system_working_set(0, false, keep);
    MiWriteModifiedPages(MmModifiedPageListHead.count);
}

uint32_t MiWriteModifiedPages(uint32_t max)
{
    pfn_t frames[MI_PAGEFILE_BATCH];
    uint32_t written = 0;

    /* The PFN lock throughout: the batch must stay on the modified list while it is written. */
    KIRQL old = MiAcquirePfnLock();
    while (written < max && MmModifiedPageListHead.count && MiPagefile.present) {
        uint32_t count = MIN(MIN((uint32_t)MI_PAGEFILE_BATCH, max - written),
                             MmModifiedPageListHead.count);
        uint32_t first = MiAllocatePagefileSlots(count);
        if (!first) {
            count = 1;
            first = MiAllocatePagefileSlots(1);
            if (!first && MiReclaimPagefileSlots())
                first = MiAllocatePagefileSlots(1);
            if (!first)
                break;
        }
        pfn_t pfn = MmModifiedPageListHead.tail;
        for (uint32_t i = 0; i < count; i++, pfn = MiGetPfnEntry(pfn)->blink)
            frames[i] = pfn;
        MiSortPagesByOwner(frames, count);
        if (!NT_SUCCESS(MiWritePagefileSlots(first, frames, count))) {
            for (uint32_t i = 0; i < count; i++)
                MiReleasePagefileSlot(first + i);
            break;      /* the pages stay modified; the next run tries again */
        }
        for (uint32_t i = 0; i < count; i++) {
            struct mmpfn *entry = MiGetPfnEntry(frames[i]);
            MiUnlinkPageLocked(frames[i]);
            entry->pagefile_slot = first + i;
            entry->flags &= ~MI_PFN_MODIFIED;
            MiInsertTransitionPageLocked(frames[i]); /* clean, with a copy: standby */
        }
        written += count;
    }
    MiReleasePfnLock(old);
    return written;
}

void MiBalanceForFault(vaddr_t page)
{
    bool system = MmIsPagedPoolAddress(page);
    struct mm_working_set *working_set =
        system ? &MiSystemWorkingSet : &MmCurrentAddressSpace()->working_set;

    /* Room in the list for the page, which goes in under the PFN lock (see above). */
    if (working_set->count == working_set->capacity)
        grow(working_set);
    if (working_set->count >= working_set->maximum)
        trim(working_set, working_set->maximum - 1, true, page,
             system ? MiEvictPagedPoolPage : evict_user_page);
    if (!MiPagefile.present)
        return;     /* nowhere to put what trimming would take out */
    if (MiReusablePages() < MiLowReusablePages)
        trim_working_sets(page);
    if (MiReusablePages() >= target_pages() &&
        MmModifiedPageListHead.count <= MiHighModifiedPages)
        return;
    /*
     * Modified pages to write: the writer's work (mm/modwriter.c). A fault that finds
     * reusable pages really short waits for its progress; one that cannot wait, or runs
     * before the writer does, writes a few clusters itself.
     */
    if (MiCanWaitForModifiedPageWriter()) {
        MiWakeModifiedPageWriter();
        if (MiReusablePages() < MiLowReusablePages && MmModifiedPageListHead.count)
            MiWaitForModifiedPageWriter();
    } else {
        MiWriteModifiedPages(WRITER_PAGES_PER_FAULT);
    }
}
