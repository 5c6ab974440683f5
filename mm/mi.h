#pragma once
/*
 * The memory manager's internals, shared by the files of mm/ and by the in-kernel
 * tests. Nothing outside mm/ and tests/ includes this header.
 */
#include "arch/mmu.h"
#include "boot/boot_info.h"
#include "kernel/ntabi.h"
#include "kernel/string.h"
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

/* ---- the PFN database (pfn.c) ---- */

/* Where a physical page is: NT's page lists, plus the states a dense database needs. */
enum mi_page_location {
    MI_PAGE_NOT_RAM,        /* a hole in the physical address space */
    MI_ZEROED_PAGE_LIST,    /* free, known to hold zeros */
    MI_FREE_PAGE_LIST,      /* free, contents stale */
    MI_PAGE_ACTIVE,         /* in use */
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
    MI_USE_COUNT
};

struct mmpfn {
    pfn_t flink;            /* next page on the same list */
    pfn_t blink;            /* previous page on the same list */
    uint16_t reference_count;
    uint8_t location;       /* enum mi_page_location */
    uint8_t use;            /* enum mi_page_use */
    uint16_t used_entries;  /* a user page table: how many of its PTEs are not zero */
};

struct mi_page_list {
    pfn_t head;
    uint32_t count;
    enum mi_page_location location;
};

#define MmPfnDatabase ((struct mmpfn *)MM_PFN_DATABASE)
extern pfn_t MmHighestPhysicalPage;         /* highest RAM page below 4 GB */
extern uint32_t MmNumberOfPhysicalPages;    /* RAM pages below 4 GB */
extern struct mi_page_list MmZeroedPageListHead;
extern struct mi_page_list MmFreePageListHead;
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

/* Builds the database over memory; everything the boot still uses stays in use. */
void MiInitializePfnDatabase(const struct mi_physical_memory *memory,
                             const struct boot_info *boot);

/* A free page for use, contents undefined; PFN_INVALID when none is left. */
pfn_t MiRemoveAnyPage(enum mi_page_use use);
/* A free page for use, filled with zeros; PFN_INVALID when none is left. */
pfn_t MiRemoveZeroPage(enum mi_page_use use);
/* Gives an active page back; it must have no mappings left. */
void MiInsertPageInFreeList(pfn_t pfn);

/* Adds a reference (a mapping) to an active page. */
void MiAddPageReference(pfn_t pfn);
/* Drops a reference; the last one frees the page. */
void MiReleasePageReference(pfn_t pfn);

/*
 * A page for a new page table: from the boot allocator until the database exists
 * (contents undefined: *zeroed false), then a zeroed page (*zeroed true), ideally one
 * the idle thread prepared.
 */
pfn_t MiAllocatePageTablePage(enum mi_page_use use, bool *zeroed);

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
 * Not valid (P = 0), the memory manager's own formats:
 *   0                    nothing: the page is reserved or free (its VAD, or none, says)
 *   demand zero          bits 1-9: the PAGE_* protection (PAGE_GUARD included); bit 10
 *                        clear; bits 12-31 zero. Committed, no frame yet: the first
 *                        touch takes a zeroed frame.
 *   resident, no access  bits 1-9: a protection that forbids access (PAGE_NOACCESS, or
 *                        any with PAGE_GUARD); bit 10 set; bits 12-31: the frame.
 *                        Committed and in memory, but every access faults.
 */
#define MI_PTE_PROTECTION_SHIFT 1
#define MI_PTE_PROTECTION_MASK  0x1FF
#define MI_PTE_RESIDENT         0x400u

static inline mmpte_t MiMakeDemandZeroPte(uint32_t protection)
{
    return (mmpte_t){(protection & MI_PTE_PROTECTION_MASK) << MI_PTE_PROTECTION_SHIFT};
}

static inline mmpte_t MiMakeResidentPte(pfn_t pfn, uint32_t protection)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | MI_PTE_RESIDENT |
                     (protection & MI_PTE_PROTECTION_MASK) << MI_PTE_PROTECTION_SHIFT};
}

static inline bool MiIsDemandZeroPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && pte.value != 0 &&
           (pte.value & ~(MI_PTE_PROTECTION_MASK << MI_PTE_PROTECTION_SHIFT)) == 0;
}

static inline bool MiIsResidentPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_RESIDENT);
}

/* A valid user PTE for frame pfn with protection (which must allow access). */
mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection);

/* The PAGE_* protection of a committed page's PTE (any format); 0 for an empty PTE. */
uint32_t MiPteProtection(mmpte_t pte);

/* True when a PAGE_* protection lets user mode write. */
bool MiProtectionIsWritable(uint32_t protection);
/* True when a PAGE_* protection (PAGE_GUARD aside) is one of the defined values. */
bool MiProtectionIsValid(uint32_t protection);

/* ---- address spaces (addrspace.c) ---- */

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

/* ---- sections (section.c) ---- */

/* A section object for pages pages, prototypes empty, charged (see section.c). */
ntstatus_t MiAllocateSection(uint32_t pages, uint32_t protection, bool image,
                             struct mm_section **section);
/* The protection page va of view vad maps its section page with. */
uint32_t MiSectionPageProtection(const struct mmvad *vad, vaddr_t va);
/* The pages a view charged to its process when mapped: those it may copy. */
uint32_t MiViewCopyOnWriteCharge(const struct mmvad *vad);
/* Unmaps a view of the current space: its pages, its charge, its VAD. */
void MiDeleteView(struct mm_address_space *space, struct mmvad *vad);
/* Maps the section page behind va (a page of view vad, PTE zero) into the current space. */
ntstatus_t MiSectionFault(struct mmvad *vad, vaddr_t va);
/* Gives va (valid, read-only, copy-on-write) a private copy of its page, writable. */
ntstatus_t MiCopyOnWrite(vaddr_t va, uint32_t protection);
/* Enters a new system page table's PDE into every page directory. */
void MiInsertSystemPde(vaddr_t va, mmpte_t pde);

/* ---- hyperspace (hyperspace.c) ---- */

/* Maps one physical page at a free hyperspace slot; undo with MiUnmapPageInHyperSpace. */
void *MiMapPageInHyperSpace(pfn_t pfn);
void MiUnmapPageInHyperSpace(void *va);
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
