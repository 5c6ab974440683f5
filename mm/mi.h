#pragma once
/*
 * The memory manager's internals, shared by the files of mm/ and by the in-kernel
 * tests. Nothing outside mm/ and tests/ includes this header.
 */
#include "arch/mmu.h"
#include "boot/boot_info.h"
#include "kernel/ntabi.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/mm.h"

/* ---- the split (split.c) ---- */

struct mi_split {
    vaddr_t system_range_start;
    vaddr_t highest_user_address;
    vaddr_t user_probe_address;
};

#define MI_SPLIT_WARNING_LENGTH 400

/*
 * Computes the split a command line asks for. Never fails: a bad value leaves one
 * warning in warning (empty when none) and the nearest valid setting in split.
 */
void MiParseSplit(const char *command_line, struct mi_split *split, char *warning,
                  size_t warning_size);

/* ---- physical memory runs (memmap.c) ---- */

#define MI_MAX_PHYSICAL_RUNS 32

struct mi_physical_run {
    pfn_t base_page;
    uint32_t page_count;
};

/* RAM below 4 GB as sorted, disjoint runs of whole pages. */
struct mi_physical_memory {
    unsigned run_count;
    struct mi_physical_run runs[MI_MAX_PHYSICAL_RUNS];
    uint32_t total_pages;
    uint32_t runs_dropped;      /* runs beyond MI_MAX_PHYSICAL_RUNS, not used */
    uint64_t bytes_above_4gb;   /* RAM reported above 4 GB, counted and left unused */
};

/* Turns a firmware memory map into usable runs (see memmap.c for the rules). */
void MiBuildPhysicalMemory(const struct boot_memory_entry *entries, unsigned count,
                           struct mi_physical_memory *memory);

/* ---- fault injection (tests) ---- */

/*
 * Makes the countdown-th allocation of one kind from now fail, as if memory had run
 * out: frames (MiFrameInjection, every list allocation), pool blocks (MiPoolInjection,
 * either pool), or the countdown-th pagefile transfer fail as a disk error would
 * (MiPagefileInjection, pagefile.c); then, with a period, every period-th after it.
 * countdown 0: off. fired counts the failures made.
 */
struct mi_fault_injection {
    uint32_t countdown;
    uint32_t fired;
    uint32_t period;
};
extern struct mi_fault_injection MiFrameInjection, MiPoolInjection;

static inline bool MiInjectedFailure(struct mi_fault_injection *injection)
{
    if (injection->countdown == 0 || --injection->countdown != 0)
        return false;
    injection->fired++;
    injection->countdown = injection->period;
    return true;
}

/* ---- the PFN database (pfn.c) ---- */

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

/*
 * One physical page. A pageable page (a process's private page, a section's page)
 * knows the one PTE that owns it, as the frame holding that PTE and its index there:
 * the process PTE of a private page, the prototype of a section page. That is how a
 * page taken from the standby list tells its owner where its contents went.
 */
struct mmpfn {
    pfn_t flink;            /* next page on the same list */
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
extern pfn_t MmHighestPhysicalPage;         /* highest RAM page below 4 GB */
extern uint32_t MmNumberOfPhysicalPages;    /* RAM pages below 4 GB */
extern struct mi_page_list MmZeroedPageListHead;
extern struct mi_page_list MmFreePageListHead;
extern struct mi_page_list MmStandbyPageListHead;
extern struct mi_page_list MmModifiedPageListHead;
extern uint32_t MiPagesInUse[MI_USE_COUNT];

static inline struct mmpfn *MiGetPfnEntry(pfn_t pfn)
{
    return &MmPfnDatabase[pfn];
}

/* Free pages: the zeroed and free lists together. */
static inline uint32_t MmAvailablePages(void)
{
    return MmZeroedPageListHead.count + MmFreePageListHead.count;
}

/* Pages that can be had without writing anything: free, zeroed and standby. */
static inline uint32_t MiReusablePages(void)
{
    return MmAvailablePages() + MmStandbyPageListHead.count;
}

/* Builds the database over memory; everything the boot still uses stays in use. */
void MiInitializePfnDatabase(const struct mi_physical_memory *memory,
                             const struct boot_info *boot);

/*
 * A free page for use, contents undefined; when the free and zeroed lists are empty the
 * oldest standby page is taken (its owner's PTE then names its pagefile slot).
 * PFN_INVALID when none is left.
 */
pfn_t MiRemoveAnyPage(enum mi_page_use use);
/* A free page for use, filled with zeros; PFN_INVALID when none is left. */
pfn_t MiRemoveZeroPage(enum mi_page_use use);
/* Gives an active page back (and its pagefile slot); it must have no mappings left. */
void MiInsertPageInFreeList(pfn_t pfn);

/* Adds a reference (a mapping) to an active page. */
void MiAddPageReference(pfn_t pfn);
/*
 * Drops a reference. The last one frees the page, except for a section page, which goes
 * into transition (its prototype keeps it, see MiInsertTransitionPage).
 */
void MiReleasePageReference(pfn_t pfn);

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
/* Takes a page in transition back for use, one reference, contents as they were. */
void MiRemoveTransitionPage(pfn_t pfn, enum mi_page_use use);
/* A page in transition that nobody will ask for again: freed, with its slot. */
void MiFreeTransitionPage(pfn_t pfn);
/*
 * Frees up to max standby pages, oldest first, as if others had needed them: their
 * owners' PTEs then name their pagefile slots. Returns how many.
 */
uint32_t MiPurgeStandbyPages(uint32_t max);
/* Takes the page off whatever list it is on (modified, standby), left active. */
void MiUnlinkPage(pfn_t pfn);
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
 * the idle thread prepared.
 */
pfn_t MiAllocatePageTablePage(enum mi_page_use use, bool *zeroed);

/* ---- the pagefile (pagefile.c) ---- */

#define MI_PAGEFILE_BATCH       16          /* pages in one write: 64 KB, one command */
#define MI_PAGEFILE_MAX_SLOTS   0x100000    /* 4 GB: what bits 12-31 of a PTE can name */

struct ata_disk;

struct mi_pagefile {
    bool present;
    const struct ata_disk *disk;
    unsigned disk_index;
    uint64_t first_sector;
    uint32_t slot_count;        /* slot 0 (the signature page) included */
    uint32_t slots_in_use;      /* slot 0 not counted */
    uint32_t peak_slots_in_use;
    uint32_t pages_written;
    uint32_t write_transfers;   /* disk commands: pages_written / write_transfers per batch */
    uint32_t pages_read;
    uint32_t write_errors;
    uint32_t read_errors;
    uint32_t injected_failures;
};
extern struct mi_pagefile MiPagefile;

/* count consecutive free slots, taken; 0 when there is no such run (or no pagefile). */
uint32_t MiAllocatePagefileSlots(uint32_t count);
void MiReleasePagefileSlot(uint32_t slot);
/* Gives up the pagefile copies of pages still in memory (they become dirty); how many. */
uint32_t MiReclaimPagefileSlots(void);
/* Reads slot into frame pfn; a failure is counted and reported. */
ntstatus_t MiReadPagefileSlot(uint32_t slot, pfn_t pfn);
/* Writes count frames to the slots from first_slot on, in one transfer. */
ntstatus_t MiWritePagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count);
/*
 * The frame behind a transition or in-pagefile PTE, back in use for use with one
 * reference: taken off its list, or read from the pagefile into a new frame (which
 * keeps the slot as its clean copy). STATUS_IN_PAGE_ERROR when the read fails,
 * STATUS_NO_MEMORY when no frame is left; the PTE's owner changes nothing either way.
 */
ntstatus_t MiBringPageBack(mmpte_t pte, enum mi_page_use use, pfn_t *pfn);
/* True when slot is allocated (in use by a PTE or a page). */
bool MiIsPagefileSlotInUse(uint32_t slot);
/* Pagefile transfers made to fail with STATUS_IO_DEVICE_ERROR (tests; see above). */
extern struct mi_fault_injection MiPagefileInjection;
/* Makes every read of slot fail, as on a bad sector, until called with 0 (tests). */
void MiMakePagefileSlotUnreadable(uint32_t slot);

/* ---- working sets and the balance of memory (workset.c) ---- */

/* The working set limits of a new process, in pages (Windows' defaults). */
#define MI_DEFAULT_WORKING_SET_MINIMUM  50
#define MI_DEFAULT_WORKING_SET_MAXIMUM  345

/* Sets up space's working set (empty, default limits); false when pool runs out. */
bool MiInitializeWorkingSet(struct mm_working_set *working_set);
void MiDeleteWorkingSet(struct mm_working_set *working_set);
/* MiInsertWorkingSetEntry's slow path: the list must grow first. */
void MiGrowWorkingSetAndInsert(struct mm_working_set *working_set, vaddr_t va);

/* The page at va became present (inline: the fault path's common case is one store). */
static inline void MiInsertWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va)
{
    if (working_set->count == working_set->capacity) {
        MiGrowWorkingSetAndInsert(working_set, va);
        return;
    }
    working_set->entries[working_set->count++] = va;
    if (working_set->count > working_set->peak)
        working_set->peak = working_set->count;
}

/* The page at va stopped being present (a lock on it goes too). */
void MiRemoveWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va);
/*
 * An entry's low bit (entries are page addresses): the page is locked in the working
 * set (NtLockVirtualMemory) and the trimmer passes it over.
 */
#define MI_WORKING_SET_LOCKED 0x1u
/* Locks or unlocks va's entry; false when va has none (it is not present). */
bool MiLockWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va, bool lock);
bool MiIsWorkingSetEntryLocked(const struct mm_working_set *working_set, vaddr_t va);
/* MEM_WRITE_WATCH: page va, whose dirty bit is going, counts as written in its VAD. */
void MiCaptureWriteWatch(struct mm_address_space *space, vaddr_t va);
/*
 * Takes pages out of the current space's working set, by the clock, until it holds at
 * most target; with age, a page whose accessed bit is set loses the bit and stays this
 * time round. Returns the pages removed.
 */
uint32_t MiTrimWorkingSet(uint32_t target, bool age);
/* The same for the system working set (paged pool). */
uint32_t MiTrimSystemWorkingSet(uint32_t target, bool age);
/* The balance's marks, in pages, set from RAM at boot (workset.c). */
extern uint32_t MiLowReusablePages;     /* below this many reusable pages: trim */
extern uint32_t MiHighModifiedPages;    /* above this many modified pages: write */

/* Sets the marks from the amount of RAM. */
void MiInitializeBalance(void);
/* The slow path of MiMakeRoomForFault. */
void MiBalanceForFault(vaddr_t page);

/*
 * Before a fault on page takes a frame: makes room in the current working set (the
 * system's for paged pool) when it is at its maximum and, when few pages are reusable,
 * trims working sets and writes modified pages. page itself is never taken out. Inline
 * for the fault path's sake: usually there is nothing to do.
 */
static inline void MiMakeRoomForFault(vaddr_t page)
{
    const struct mm_working_set *working_set = &MmCurrentAddressSpace()->working_set;

    if (working_set->count < working_set->maximum && !MmIsPagedPoolAddress(page) &&
        (!MiPagefile.present || (MiReusablePages() >= 2 * MiLowReusablePages &&
                                 MmModifiedPageListHead.count <= MiHighModifiedPages)))
        return;
    MiBalanceForFault(page);
}

/* ---- paged pool (pagedpool.c) ---- */

/* The pages of paged pool in memory. */
extern struct mm_working_set MiSystemWorkingSet;

/* Sets up the paged pool's address range, after the nonpaged pool works. */
void MiInitializePagedPool(void);
/*
 * count pages of paged pool, committed and charged, no frame taken (each is demand
 * zero until touched); 0 when the range or the commit limit is exhausted.
 */
vaddr_t MiAllocatePagedPoolPages(uint32_t count);
/* Gives back pages MiAllocatePagedPoolPages handed out: frames, slots, charge. */
void MiFreePagedPoolPages(vaddr_t va, uint32_t count);
/* True for an allocated page of paged pool. */
bool MiIsPagedPoolPageAllocated(vaddr_t va);
/* Resolves a fault on a paged pool address (kernel mode, interrupts were on). */
ntstatus_t MiPagedPoolFault(vaddr_t va);
/* Takes the present paged pool page at va out of memory (the system trimmer's). */
void MiEvictPagedPoolPage(vaddr_t va);
/*
 * The last resort before a frame is refused: every working set emptied (but for keep,
 * the page being faulted on) and every modified page written.
 */
void MiReclaimMemory(vaddr_t keep);
/* Writes up to max modified pages to the pagefile (oldest first); the number written. */
uint32_t MiWriteModifiedPages(uint32_t max);

/* ---- the isolation audit (audit.c) ---- */

struct mi_audit {
    uint32_t spaces;
    uint32_t ptes_checked;          /* non-zero user PTEs */
    uint32_t frames_checked;        /* present ones, checked against the PFN database */
    uint32_t shared_mappings;       /* of section pages */
    uint32_t violations;            /* the first few are printed */
};

/* Checks every address space's user mappings (see audit.c); interrupts off meanwhile. */
void MiAuditAddressSpaces(struct mi_audit *audit);

/* ---- prototypes of section pages (section.c) ---- */

/* A section page's last mapping went: its prototype becomes a transition PTE. */
void MiSectionPageUnmapped(pfn_t pfn);
/* Gives section page index its first contents, frame pfn (one reference, now dropped). */
void MiSectionPageArrived(struct mm_section *section, uint32_t index, pfn_t pfn);


/* ---- page tables (pagetable.c): the two primitives ---- */

/*
 * The PTE of va. When its page table is missing: NULL, or (create) a new, empty,
 * table; NULL too when no page is left for it.
 */
mmpte_t *MiGetPte(vaddr_t va, bool create);

/*
 * Maps [va, va + length) to physical [physical, physical + length) with the attributes
 * of pte_template (whose frame bits are zero). Either everything is mapped, or nothing
 * is and the status says why. The range must be unmapped.
 */
ntstatus_t MiMapRange(vaddr_t va, paddr_t physical, size_t length, mmpte_t pte_template);

/* Unmaps [va, va + length) and drops the stale translations; frames are the caller's. */
void MiUnmapRange(vaddr_t va, size_t length);

/* ---- PTE formats ----
 *
 * Valid (P = 1): the hardware format of arch/mmu.h. A user page keeps its PAGE_*
 * protection as an index in the three software bits 9-11, since the R/W bit alone
 * cannot tell PAGE_READONLY from PAGE_EXECUTE_READ.
 *
 * Not valid (P = 0), the memory manager's own formats. Each keeps the page's PAGE_*
 * protection (PAGE_GUARD included) in bits 1-9, so a page's protection survives every
 * trip in and out of memory; bits 10 and 11 and the upper 20 bits tell them apart:
 *
 *   format             bit 10  bit 11  bits 12-31   meaning
 *   empty (all zero)     -       -       -          reserved or free (its VAD says),
 *                                                   or, in a view, "prototype": ask
 *                                                   the section's prototype PTE
 *   demand zero          0       0       0          committed, never touched: the
 *                                                   first touch takes a zeroed frame
 *   resident, no access  1       0     frame        committed and in memory, but the
 *                                                   protection forbids every access
 *   transition           0       1     frame        the frame is on the standby or
 *                                                   modified list: a fault takes it
 *                                                   back without any I/O
 *   view page            1       1       0          a page of a view whose protection
 *                                                   differs from the view's: the
 *                                                   section's prototype says where the
 *                                                   page is, this PTE how it may be used
 *   in pagefile          0       0     slot (> 0)   the contents are in that pagefile
 *                                                   slot: a fault reads them back
 *
 * A section's prototype PTEs use the same formats: valid (the frame is mapped in some
 * view; the protection bits are unused), transition, in pagefile, zero (never touched:
 * demand zero), or the view-page format with no protection: not committed yet (a page
 * of a SEC_RESERVE section).
 */
#define MI_PTE_PROTECTION_SHIFT 1
#define MI_PTE_PROTECTION_MASK  0x7F
#define MI_PTE_RESIDENT         0x400u
#define MI_PTE_TRANSITION       0x800u
#define MI_PTE_KIND_MASK        (MI_PTE_RESIDENT | MI_PTE_TRANSITION)
#define MI_PTE_VIEW_PAGE        MI_PTE_KIND_MASK

/* The eight base protections (PAGE_NOACCESS ... PAGE_EXECUTE_WRITECOPY), modifiers aside. */
#define MI_PROTECTION_BASE_MASK 0xFFu
#define MI_PROTECTION_CACHE_MASK (PAGE_NOCACHE | PAGE_WRITECOMBINE)

/*
 * A PAGE_* protection as the seven bits a PTE that is not valid keeps (NT's 5-bit
 * protection mask, with one more bit so that 0 means none and one so that a guard page
 * of a cached allocation keeps its cache attribute): bits 0-3 which base protection (1 to
 * 8, its bit number plus one), bits 4-5 the cache attribute (none, PAGE_NOCACHE,
 * PAGE_WRITECOMBINE), bit 6 PAGE_GUARD.
 */
static inline uint32_t mi_pte_protection_bits(uint32_t protection)
{
    uint32_t code;

    if (!protection)
        return 0;
    code = (uint32_t)__builtin_ctz(protection & MI_PROTECTION_BASE_MASK) + 1;
    code |= protection & PAGE_NOCACHE        ? 1u << 4
            : protection & PAGE_WRITECOMBINE ? 2u << 4
                                             : 0;
    if (protection & PAGE_GUARD)
        code |= 1u << 6;
    return code << MI_PTE_PROTECTION_SHIFT;
}

/* The PAGE_* protection mi_pte_protection_bits encoded in pte (0 for none). */
static inline uint32_t mi_pte_protection_of(mmpte_t pte)
{
    static const uint32_t caches[4] = {0, PAGE_NOCACHE, PAGE_WRITECOMBINE, 0};
    uint32_t code = (pte.value >> MI_PTE_PROTECTION_SHIFT) & MI_PTE_PROTECTION_MASK;

    if (!(code & 0xF))
        return 0;
    return (1u << ((code & 0xF) - 1)) | caches[(code >> 4) & 3] |
           (code & (1u << 6) ? PAGE_GUARD : 0);
}

static inline mmpte_t MiMakeDemandZeroPte(uint32_t protection)
{
    return (mmpte_t){mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakeResidentPte(pfn_t pfn, uint32_t protection)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | MI_PTE_RESIDENT | mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakeTransitionPte(pfn_t pfn, uint32_t protection)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | MI_PTE_TRANSITION |
                     mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakePagefilePte(uint32_t slot, uint32_t protection)
{
    return (mmpte_t){(slot << PAGE_SHIFT) | mi_pte_protection_bits(protection)};
}

/* A view's page with protection of its own (protection 0: an uncommitted prototype). */
static inline mmpte_t MiMakeViewPagePte(uint32_t protection)
{
    return (mmpte_t){MI_PTE_VIEW_PAGE | mi_pte_protection_bits(protection)};
}

static inline bool MiIsDemandZeroPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && pte.value != 0 &&
           (pte.value & ~(MI_PTE_PROTECTION_MASK << MI_PTE_PROTECTION_SHIFT)) == 0;
}

static inline bool MiIsResidentPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_RESIDENT;
}

static inline bool MiIsTransitionPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_TRANSITION;
}

static inline bool MiIsViewPagePte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_VIEW_PAGE;
}

static inline bool MiIsPagefilePte(mmpte_t pte)
{
    return !pte_is_valid(pte) && !(pte.value & MI_PTE_KIND_MASK) &&
           pte.value >> PAGE_SHIFT != 0;
}

/* The pagefile slot of an in-pagefile PTE. */
static inline uint32_t MiPagefilePteSlot(mmpte_t pte)
{
    return pte.value >> PAGE_SHIFT;
}

/* A PTE whose frame is in memory and mapped (valid, or resident without access). */
static inline bool MiIsPresentPte(mmpte_t pte)
{
    return pte_is_valid(pte) || MiIsResidentPte(pte);
}

/* MiDeletePteContents for a PTE that holds a frame or a slot. */
void MiDeletePteFrameOrSlot(mmpte_t pte);

/*
 * Releases whatever a PTE held: a mapping, a page in transition, a pagefile slot
 * (nothing for a demand-zero or empty one: inline, as decommitting is mostly those).
 */
static inline void MiDeletePteContents(mmpte_t pte)
{
    if (pte.value & ~(MI_PTE_PROTECTION_MASK << MI_PTE_PROTECTION_SHIFT))
        MiDeletePteFrameOrSlot(pte);
}

/* A valid user PTE for frame pfn with protection (which must allow access). */
mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection);

/* The PAGE_* protection of a committed page's PTE (any format); 0 for an empty PTE. */
uint32_t MiPteProtection(mmpte_t pte);

/* True when a PAGE_* protection lets user mode write. */
bool MiProtectionIsWritable(uint32_t protection);

/* ---- address spaces (addrspace.c) ---- */

/* Every address space, the system's included (struct mm_address_space.link). */
extern struct list_entry MiAddressSpaces;

/* Sets up the system address space and KUSER_SHARED_DATA; needs system PTEs. */
void MiInitializeAddressSpaces(void);
/* Writes a user PTE of the current space, keeping its table's used-entry count; the
   table is freed when its last entry becomes zero. Flushes a valid old translation. */
void MiWriteUserPte(vaddr_t va, mmpte_t value);

/*
 * Charges pages of commitment to an account (a space's commit_charge, a section's);
 * false (nothing charged) past the commit limit.
 */
bool MiChargeCommitment(uint32_t *account, uint32_t pages);
void MiReturnCommitment(uint32_t *account, uint32_t pages);

/*
 * Unlinks and frees a VAD (its pages must be gone already, or go with the space); a
 * view's section loses the view's reference.
 */
void MiDeleteVad(struct mm_address_space *space, struct mmvad *vad);
/*
 * Takes [start, end) (whole pages) out of private reservation vad: the VAD goes, shrinks,
 * or splits in two around the hole, each part a reservation of its own (as NT's
 * NtFreeVirtualMemory leaves it). Its pages must be decommitted already, or be so right
 * after. False, nothing changed, when the pool has no room for a second VAD.
 */
bool MiReleaseVadRange(struct mm_address_space *space, struct mmvad *vad, vaddr_t start,
                       vaddr_t end);
/* Gives a new private reservation its write-watch bits (all clear); false without pool. */
bool MiStartWriteWatch(struct mm_address_space *space, struct mmvad *vad);
/* The bytes of vad's write-watch bitmap, a bit per page from write_watch_base to its end. */
uint32_t MiWriteWatchBytes(const struct mmvad *vad);

/* ---- sections (section.c) ---- */

/* A section object for pages pages, prototypes empty, charged (see section.c). */
ntstatus_t MiAllocateSection(uint32_t pages, uint32_t protection, bool image, bool reserve,
                             struct mm_section **section);
/* The protection page va of view vad maps its section page with, unless its PTE says. */
uint32_t MiSectionPageProtection(const struct mmvad *vad, vaddr_t va);
/* True when a section made with section_protection allows protection for its pages. */
bool MiSectionAllowsProtection(uint32_t section_protection, uint32_t protection);
/* Whether page va of view vad is committed (a SEC_RESERVE section's may not be). */
bool MiIsViewPageCommitted(const struct mmvad *vad, vaddr_t va);
/*
 * The PTE that gives page va of view vad protection while its frame is not mapped there:
 * zero when that is the view's own protection for the page, a view-page PTE otherwise.
 */
mmpte_t MiMakeViewPte(const struct mmvad *vad, vaddr_t va, uint32_t protection);
/*
 * Commits the uncommitted pages among count from first of a SEC_RESERVE section (demand
 * zero, charged to the section); false, nothing changed, past the commit limit.
 */
bool MiCommitSectionPages(struct mm_section *section, uint32_t first, uint32_t count);
/* True for PAGE_WRITECOPY and PAGE_EXECUTE_WRITECOPY. */
bool MiIsCopyOnWriteProtection(uint32_t protection);
/* Unmaps a view of the current space: its pages, its charge, its VAD. */
void MiDeleteView(struct mm_address_space *space, struct mmvad *vad);
/*
 * Maps the section page behind va (a page of view vad, PTE zero or a view-page PTE) into
 * the current space with protection, which must allow access.
 */
ntstatus_t MiSectionFault(struct mmvad *vad, vaddr_t va, uint32_t protection);
/* Gives va (valid, read-only, copy-on-write) a private copy of its page, writable. */
ntstatus_t MiCopyOnWrite(vaddr_t va, uint32_t protection);
/* Enters a new system page table's PDE into every page directory. */
void MiInsertSystemPde(vaddr_t va, mmpte_t pde);

/* ---- hyperspace (hyperspace.c) ---- */

/* Maps one physical page at a free hyperspace slot; undo with MiUnmapPageInHyperSpace. */
void *MiMapPageInHyperSpace(pfn_t pfn);
void MiUnmapPageInHyperSpace(const void *va);
void MiZeroPhysicalPage(pfn_t pfn);

/* ---- system PTEs (syspte.c) ---- */

/* count pages of free system address space, or 0 when there is no run that long. */
vaddr_t MiReserveSystemPtes(uint32_t count);
void MiReleaseSystemPtes(vaddr_t va, uint32_t count);
uint32_t MiFreeSystemPtes(void);
void MiInitializeSystemPtes(void);

/* ---- the map of system space (init.c) ---- */

struct mi_system_region {
    const char *name;
    vaddr_t base;
    vaddr_t end;            /* one past the last byte; 0 means 4 GB */
    bool system_ptes;       /* the region's pages are handed out by MiReserveSystemPtes */
};

#define MI_MAX_SYSTEM_REGIONS 8
extern struct mi_system_region MiSystemRegions[MI_MAX_SYSTEM_REGIONS];
extern unsigned MiSystemRegionCount;

/* Kernel image bounds from the linker script. */
extern char _kernel_start[], _kernel_readonly_end[], _kernel_end[];
extern char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];
extern mmpte_t boot_page_directory[], boot_page_table[];

static inline paddr_t MiKernelImagePhysical(const void *kernel_va)
{
    return (vaddr_t)kernel_va - KERNEL_WINDOW;
}
