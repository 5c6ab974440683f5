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
#include "kernel/panic.h"
#include "mm/mi.h"
#include "mm/pool.h"

#define TAG_WORKING_SET 0x6c736b57  /* 'Wksl' */

/* ---- the list ---- */

bool MiInitializeWorkingSet(struct mm_working_set *working_set)
{
    *working_set = (struct mm_working_set){
        .minimum = MI_DEFAULT_WORKING_SET_MINIMUM,
        .maximum = MI_DEFAULT_WORKING_SET_MAXIMUM,
        .capacity = MI_DEFAULT_WORKING_SET_MAXIMUM + 1,
    };
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

/* Room for one more entry; false when the pool cannot give a bigger list. */
static bool grow(struct mm_working_set *working_set)
{
    if (working_set->count < working_set->capacity)
        return true;
    uint32_t capacity = MAX(working_set->capacity * 2, 16u);
    vaddr_t *entries = ExAllocatePoolWithTag(NonPagedPool, capacity * sizeof(vaddr_t),
                                             TAG_WORKING_SET);
    if (!entries)
        return false;
    memcpy(entries, working_set->entries, working_set->count * sizeof(vaddr_t));
    MiDeleteWorkingSet(working_set);
    working_set->entries = entries;
    working_set->capacity = capacity;
    return true;
}

void MiInsertWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va)
{
    uint32_t count = working_set->count;

    /* Without room the page stays resident, untracked: it cannot leave, nothing is lost. */
    if (!grow(working_set))
        return;
    working_set->entries[working_set->count++] = va;
    working_set->peak = MAX(working_set->peak, count + 1);
}

void MiRemoveWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va)
{
    /* Present pages are at most a few hundred, and only they are ever looked up. */
    for (uint32_t i = 0; i < working_set->count; i++) {
        if (working_set->entries[i] != va)
            continue;
        working_set->entries[i] = working_set->entries[--working_set->count];
        if (working_set->hand > working_set->count)
            working_set->hand = 0;
        return;
    }
}

/* ---- trimming ---- */

/* Takes the present page at va out of the current process: its frame goes in transition. */
static void evict_user_page(vaddr_t va)
{
    mmpte_t pte = *pte_of(va);
    pfn_t pfn = pte_pfn(pte);
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    if (entry->use == MI_USE_SECTION) {
        /* The view's PTE goes back to "ask the prototype"; the last one out moves it. */
        MiWriteUserPte(va, pte_zero());
        MiReleasePageReference(pfn);
    } else {
        MiWriteUserPte(va, MiMakeTransitionPte(pfn, MiPteProtection(pte)));
        MiInsertTransitionPage(pfn);
    }
    MmStatistics.pages_trimmed++;
}

/*
 * The clock: takes pages out of working_set with evict (which also removes the entry)
 * until it holds at most target.
 */
static uint32_t trim(struct mm_working_set *working_set, uint32_t target, bool age,
                     void (*evict)(vaddr_t va))
{
    uint32_t removed = 0;
    /* Two sweeps at most: the first clears every accessed bit it passes over. */
    uint32_t steps = 2 * working_set->count + 1;

    while (working_set->count > target && steps-- > 0) {
        if (working_set->hand >= working_set->count)
            working_set->hand = 0;
        vaddr_t va = working_set->entries[working_set->hand];
        mmpte_t *pte = pte_of(va);
        if (age && pte_is_valid(*pte) && (pte->value & PTE_ACCESSED)) {
            pte->value &= ~PTE_ACCESSED;
            cpu_invlpg(va);
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
    return trim(&MmCurrentAddressSpace()->working_set, target, age, evict_user_page);
}

uint32_t MiTrimSystemWorkingSet(uint32_t target, bool age)
{
    return trim(&MiSystemWorkingSet, target, age, MiEvictPagedPoolPage);
}

/* ---- the balance of memory ---- */

/* Below this many reusable pages the working sets are trimmed. */
static uint32_t low_pages(void)
{
    return CLAMP(MmNumberOfPhysicalPages / 64, 32u, 1024u);
}

/* Trimming stops once this many pages are reusable or on their way (modified). */
static uint32_t target_pages(void)
{
    return 2 * low_pages();
}

/* Above this many modified pages the writer runs even when memory is not short. */
static uint32_t modified_high_pages(void)
{
    return CLAMP(MmNumberOfPhysicalPages / 16, 64u, 2048u);
}

static bool enough_pages(void)
{
    return MiReusablePages() + MmModifiedPageListHead.count >= target_pages();
}

/*
 * Trims every working set, its pages not used lately first, towards its minimum, then
 * (only if that was not enough) towards nothing but what is in use.
 */
static void trim_working_sets(void)
{
    struct mm_address_space *current = MmCurrentAddressSpace();

    for (unsigned pass = 0; pass < 3 && !enough_pages(); pass++) {
        for (struct list_entry *e = MiAddressSpaces.next;
             e != &MiAddressSpaces && !enough_pages(); e = e->next) {
            struct mm_address_space *space = CONTAINING_RECORD(e, struct mm_address_space, link);
            if (space->working_set.count == 0)
                continue;
            uint32_t target = pass < 2 ? space->working_set.minimum : 0;
            MmSwitchAddressSpace(space);
            MiTrimWorkingSet(target, pass == 0);
        }
        if (!enough_pages())
            MiTrimSystemWorkingSet(pass < 2 ? MiSystemWorkingSet.minimum : 0, pass == 0);
    }
    MmSwitchAddressSpace(current);
}

uint32_t MiWriteModifiedPages(uint32_t max)
{
    pfn_t frames[MI_PAGEFILE_BATCH];
    uint32_t written = 0;

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
        if (!NT_SUCCESS(MiWritePagefileSlots(first, frames, count))) {
            for (uint32_t i = 0; i < count; i++)
                MiReleasePagefileSlot(first + i);
            break;      /* the pages stay modified; the next run tries again */
        }
        for (uint32_t i = 0; i < count; i++) {
            struct mmpfn *entry = MiGetPfnEntry(frames[i]);
            MiUnlinkPage(frames[i]);
            entry->pagefile_slot = first + i;
            entry->flags &= ~MI_PFN_MODIFIED;
            MiInsertTransitionPage(frames[i]);      /* clean, with a copy: standby */
        }
        written += count;
    }
    return written;
}

void MiMakeRoomForFault(bool system)
{
    struct mm_working_set *working_set =
        system ? &MiSystemWorkingSet : &MmCurrentAddressSpace()->working_set;

    if (working_set->count >= working_set->maximum) {
        if (system)
            MiTrimSystemWorkingSet(working_set->maximum - 1, true);
        else
            MiTrimWorkingSet(working_set->maximum - 1, true);
    }
    if (!MiPagefile.present)
        return;     /* nowhere to put what trimming would take out */
    if (MiReusablePages() < low_pages())
        trim_working_sets();
    if (MiReusablePages() < target_pages() ||
        MmModifiedPageListHead.count > modified_high_pages())
        MiWriteModifiedPages(MmModifiedPageListHead.count);
}
