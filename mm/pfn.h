#pragma once
/* The PFN database: one entry per physical page, and NT's page lists (pfn.c). */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "boot/boot_info.h"
#include "lib/types.h"
#include "mm/inject.h"
#include "mm/memmap.h"

extern struct mi_fault_injection MiFrameInjection;

/*
 * Where a physical page is: NT's page lists, plus the states a dense database needs.
 * A page on the standby or modified list is "in transition": its owner's PTE (a process
 * PTE or a section's prototype) still names it, so a fault takes it back without I/O.
 */
enum mi_page_location {
    MI_PAGE_NOT_RAM,        /* a hole in the physical address space */
    MI_ZEROED_PAGE_LIST,    /* free, known to hold zeros */
    MI_FREE_PAGE_LIST,      /* free, contents stale */
    MI_STANDBY_PAGE_LIST,   /* in transition, clean: its pagefile slot holds a copy */
    MI_MODIFIED_PAGE_LIST,  /* in transition, dirty: must be written before reuse */
    MI_PAGE_ACTIVE,         /* in use (mapped, or held by the kernel) */
};

/* What an active page is used for; kept so tests and the boot report can account. */
enum mi_page_use {
    MI_USE_NONE,
    MI_USE_KERNEL_IMAGE,
    MI_USE_BOOT_DATA,       /* multiboot information, command line, modules */
    MI_USE_PFN_DATABASE,
    MI_USE_PAGE_TABLE,      /* a page table of system space (shared, kept for good) */
    MI_USE_USER_PAGE_TABLE, /* a page table of one process's user space */
    MI_USE_SYSTEM,          /* other kernel allocations */
    MI_USE_NONPAGED_POOL,
    MI_USE_KERNEL_STACK,
    MI_USE_PAGE_DIRECTORY,
    MI_USE_PROCESS_PRIVATE, /* a page of a process's user space */
    MI_USE_SHARED_USER_DATA,
    MI_USE_SECTION,         /* a page of a section, shared by its views */
    MI_USE_PAGED_POOL,      /* a page of paged pool */
    MI_USE_COUNT
};

/* struct mmpfn.flags */
#define MI_PFN_MODIFIED     0x01    /* differs from its pagefile copy (or has none) */
#define MI_PFN_RESET        0x02    /* MEM_RESET: clean, no copy, contents not wanted */
#define MI_PFN_READ_IN_PROGRESS 0x04 /* its contents are being read in (struct mi_in_page) */
#define MI_PFN_WRITE_IN_PROGRESS 0x08 /* being written by the modified-page writer */
#define MI_PFN_DELETED      0x10    /* freed while read or written: goes to the free list
                                       when the transfer ends */

/*
 * One physical page. A pageable page (a process's private page, a section's page)
 * knows the one PTE that owns it, as the frame holding that PTE and its index there:
 * the process PTE of a private page, the prototype of a section page. That is how a
 * page taken from the standby list tells its owner where its contents went.
 */
struct mi_in_page;

struct mmpfn {
    union {
        pfn_t flink;        /* next page on the same list */
        struct mi_in_page *in_page; /* MI_PFN_READ_IN_PROGRESS: the read (on no list) */
    };
    pfn_t blink;            /* previous page on the same list */
    pfn_t pte_frame;        /* the frame of the owning PTE; PFN_INVALID: none */
    union {
        uint32_t pagefile_slot; /* a pageable page: the slot holding a copy; 0: none */
        uint32_t used_entries;  /* a user page table: how many of its PTEs are not zero */
    };
    uint16_t reference_count; /* mappings (or kernel holds) of an active page */
    uint16_t pte_index;     /* the owning PTE's index in pte_frame */
    uint8_t location;       /* enum mi_page_location */
    uint8_t use;            /* enum mi_page_use */
    uint8_t flags;          /* MI_PFN_* */
};

/* The pages that may leave memory: a process's own, a section's, paged pool. */
static inline bool MiIsPageableUse(enum mi_page_use use)
{
    return use == MI_USE_PROCESS_PRIVATE || use == MI_USE_SECTION || use == MI_USE_PAGED_POOL;
}

struct mi_page_list {
    pfn_t head;             /* the newest page */
    pfn_t tail;             /* the oldest page: the next to be reused or written */
    uint32_t count;
    enum mi_page_location location;
};

#define MmPfnDatabase ((struct mmpfn *)MM_PFN_DATABASE)
extern pfn_t MmHighestPhysicalPage;         /* highest RAM page in use */
extern uint32_t MmNumberOfPhysicalPages;    /* RAM pages in use */
/*
 * Free pages are kept by zone: below 4 GB (the lists NT names) and, with PAE, above it,
 * where a frame serves only pageable pages and the PFN database (MiMayUseHighMemory).
 * Everything else the kernel allocates is taken below 4 GB: nonpaged pool, which holds
 * the devices' DMA descriptors and the PDPTs, must be reachable by a 32-bit address; page
 * tables and directories could lie anywhere on a processor, but QEMU 7.2's 32-bit
 * emulator (qemu-system-i386) cannot walk a table above 4 GB (a page there it maps), so
 * they stay below too.
 */
#define MI_FIRST_HIGH_PAGE  0x100000u       /* the first frame at 4 GB */
extern struct mi_page_list MmZeroedPageListHead;
extern struct mi_page_list MmFreePageListHead;
extern struct mi_page_list MiHighZeroedPageListHead;
extern struct mi_page_list MiHighFreePageListHead;
extern struct mi_page_list MmStandbyPageListHead;
extern struct mi_page_list MmModifiedPageListHead;
extern uint32_t MiPagesInUse[MI_USE_COUNT];

/*
 * The PFN lock (NT's): a spinlock, DISPATCH_LEVEL, guarding the PFN database and its page
 * lists, the prototype PTEs of sections, and the changes to a page's PTE that must agree
 * with its PFN entry (dirty bits, transition, reset). Order: after the working-set
 * locks, before the pagefile slots, the system PTEs, hyperspace and the dispatcher.
 * As NT's, it is taken once: a function that needs it either takes it (MiXxx) or is
 * called with it held (MiXxxLocked); taking it again while holding it stops the machine.
 */
extern struct kspin_lock MiPfnLock;
/*
 * The thread holding it, for the checks: a thread, not a processor, since one that is
 * about to take the lock may still move to another processor before it raises the IRQL.
 */
extern struct thread *MiPfnLockOwner;

/* Stops the machine: the PFN lock taken twice, or a ...Locked function called without it. */
NORETURN void MiPfnLockMisused(bool held, vaddr_t caller);

static inline KIRQL MiAcquirePfnLock(void)
{
    struct thread *self = KeGetCurrentThread();

    if (__builtin_expect(MiPfnLockOwner == self, 0))
        MiPfnLockMisused(true, (vaddr_t)__builtin_return_address(0));
    KIRQL old = KeAcquireSpinLock(&MiPfnLock);
    MiPfnLockOwner = self;
    return old;
}

static inline void MiReleasePfnLock(KIRQL old)
{
    MiPfnLockOwner = NULL;
    KeReleaseSpinLock(&MiPfnLock, old);
}

/* True when this thread holds the PFN lock. */
static inline bool MiPfnLockHeld(void)
{
    return MiPfnLockOwner == KeGetCurrentThread();
}

/* What each ...Locked function checks first, in test boots (the lock checker on). */
static inline void MiAssertPfnLockHeld(void)
{
    if (__builtin_expect(lockcheck_enabled, 0) && !MiPfnLockHeld())
        MiPfnLockMisused(false, (vaddr_t)__builtin_return_address(0));
}

static inline struct mmpfn *MiGetPfnEntry(pfn_t pfn)
{
    return &MmPfnDatabase[pfn];
}

/* Free pages: the zeroed and free lists together, of both zones. */
static inline uint32_t MmAvailablePages(void)
{
    return MmZeroedPageListHead.count + MmFreePageListHead.count +
           MiHighZeroedPageListHead.count + MiHighFreePageListHead.count;
}

/* Whether a page of use may lie above 4 GB (see MI_FIRST_HIGH_PAGE). */
static inline bool MiMayUseHighMemory(enum mi_page_use use)
{
    return MiIsPageableUse(use) || use == MI_USE_PFN_DATABASE;
}

/* Pages that can be had without writing anything: free, zeroed and standby. */
static inline uint32_t MiReusablePages(void)
{
    return MmAvailablePages() + MmStandbyPageListHead.count;
}

/* Takes frame pfn for use if it is free or zeroed; PFN_INVALID if it is not. */
pfn_t MiTakeFreePage(pfn_t pfn, enum mi_page_use use);

/* Builds the database over memory; everything the boot still uses stays in use. */
void MiInitializePfnDatabase(const struct mi_physical_memory *memory,
                             const struct boot_info *boot);

/*
 * A free page for use, contents undefined; when the free and zeroed lists are empty the
 * oldest standby page is taken (its owner's PTE then names its pagefile slot).
 * PFN_INVALID when none is left.
 */
pfn_t MiRemoveAnyPage(enum mi_page_use use);
pfn_t MiRemoveAnyPageLocked(enum mi_page_use use);
/* A free page for use, filled with zeros; PFN_INVALID when none is left. */
pfn_t MiRemoveZeroPage(enum mi_page_use use);
/* MiRemoveZeroPage for a caller that holds the PFN lock (the fault path). */
pfn_t MiRemoveZeroPageLocked(enum mi_page_use use);
/* Gives an active page back (and its pagefile slot); it must have no mappings left. */
void MiInsertPageInFreeList(pfn_t pfn);
void MiInsertPageInFreeListLocked(pfn_t pfn);

/* Adds a reference (a mapping) to an active page. */
void MiAddPageReference(pfn_t pfn);
void MiAddPageReferenceLocked(pfn_t pfn);
/*
 * Drops a reference. The last one frees the page, except for a section page, which goes
 * into transition (its prototype keeps it, see MiInsertTransitionPage).
 */
void MiReleasePageReference(pfn_t pfn);
void MiReleasePageReferenceLocked(pfn_t pfn);

/* Records the PTE at pte (a kernel address of a mapped PTE) as pfn's owner. */
void MiSetPteOwner(pfn_t pfn, const mmpte_t *pte);
/* Records the PTE at index of page table frame table_pfn as pfn's owner. */
static inline void MiSetPteOwnerFrame(pfn_t pfn, pfn_t table_pfn, unsigned index)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    entry->pte_frame = table_pfn;
    entry->pte_index = index;
}

/*
 * An active page with no references left whose owner PTE now says "transition": it goes
 * to the modified list when dirty, to the standby list when its pagefile copy is good.
 */
void MiInsertTransitionPage(pfn_t pfn);
void MiInsertTransitionPageLocked(pfn_t pfn);
/*
 * PFN lock held: takes a page in transition back for use, one reference, contents as
 * they were: off its list, or, while the modified-page writer writes it, left to its
 * write (which then finds it in use).
 */
void MiRemoveTransitionPageLocked(pfn_t pfn, enum mi_page_use use);
/*
 * PFN lock held: a page in transition that nobody will ask for again, freed with its
 * slot; one still being read is marked MI_PFN_DELETED and freed when its read ends.
 */
void MiFreeTransitionPageLocked(pfn_t pfn);
/*
 * PFN lock held: orders count pages by where their owner PTEs are (a page table's
 * entries in address order), so that a cluster written to contiguous slots puts
 * neighbouring pages in neighbouring slots, and a fault can read them back together.
 */
void MiSortPagesByOwner(pfn_t *frames, uint32_t count);
/*
 * PFN lock held: the owner PTE of pfn, a transition PTE naming it, is made to name slot
 * instead (keeping its protection), as when the page is taken for reuse.
 */
void MiPointOwnerAtSlotLocked(pfn_t pfn, uint32_t slot);
/*
 * Frees up to max standby pages, oldest first, as if others had needed them: their
 * owners' PTEs then name their pagefile slots. Returns how many.
 */
uint32_t MiPurgeStandbyPages(uint32_t max);
/* Takes the page off whatever list it is on (modified, standby), left active. */
void MiUnlinkPage(pfn_t pfn);
void MiUnlinkPageLocked(pfn_t pfn);
/*
 * MEM_RESET of the private page present at va: clean (its PTE's dirty bit cleared), its
 * pagefile copy given up, so that once trimmed it goes to the standby list and, reused,
 * leaves its owner a demand-zero PTE. Not a private frame: nothing happens.
 */
void MiResetPage(vaddr_t va);
/* MEM_RESET_UNDO of a reset page (present or in transition, pte names it): kept again. */
void MiUndoResetPage(mmpte_t pte);

/*
 * A page for a new page table: from the boot allocator until the database exists
 * (contents undefined: *zeroed false), then a zeroed page (*zeroed true), ideally one
 * the idle thread prepared. locked: the caller holds the PFN lock.
 */
pfn_t MiAllocatePageTablePage(enum mi_page_use use, bool locked, bool *zeroed);
