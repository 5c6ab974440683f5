#pragma once
/*
 * The memory manager's interface to the rest of the kernel. Names follow NT: Mm* is
 * public, Mi* (the other headers of mm/, one per module) is internal to mm/
 * and its tests.
 */
#include <stddef.h>
#include "arch/pcr.h"
#include "ke/mutex.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "lib/list.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/object_header.h"
#include "lib/types.h"
#include "mm/vad.h"

struct boot_info;

/*
 * The split chosen on the command line (docs/memory-model.md, 1.1). Set once by
 * MmInitializeSplit, read-only afterwards.
 */
extern vaddr_t MmSystemRangeStart;      /* first system-space address */
extern vaddr_t MmHighestUserAddress;    /* last address user mode may use */
extern vaddr_t MmUserProbeAddress;      /* MmHighestUserAddress + 1 */

/*
 * Maps the boot address space's hyperspace, so that MmCopyFromPhysical works. The first
 * thing kernel_main calls: it needs no memory.
 */
void MmInitializeBootMappings(void);

/* Chooses the split from the boot command line, warning about bad options. */
void MmInitializeSplit(const char *command_line);

/*
 * Brings up physical memory and system space: the PFN database, system PTEs, the final
 * kernel mappings (no identity map left). Needs the split.
 */
void MmInitSystem(const struct boot_info *boot);

/*
 * Opens the pagefile the command line names (pagefile=DISK[:SIZE], see mm/pagefile.c)
 * on one of the disks disk_at lists (mm/pagefile.h), once they are found, and raises the
 * commit limit by its size.
 */
struct mm_paging_disk;
void MmInitializePagefile(const char *command_line,
                          const struct mm_paging_disk *(*disk_at)(unsigned index));

/* Writes length bytes of source to physical memory at destination (MmCopyFromPhysical's twin). */
void MmCopyToPhysical(paddr_t destination, const void *source, size_t length);

/* Prints the split, the map of system space and the memory totals. */
void MmPrintBootReport(void);

/* The physical range [*start, *end) that the kernel's image occupies. */
void MmGetKernelImageRange(paddr_t *start, paddr_t *end);

/*
 * Copies length bytes of physical memory at source to destination (a kernel address),
 * through a temporary mapping. Usable from the first instruction of kernel_main.
 */
void MmCopyFromPhysical(void *destination, paddr_t source, size_t length);
/* Copies length bytes between physical addresses (two hyperspace mappings at a time). */
void MmCopyPhysical(paddr_t destination, paddr_t source, size_t length);

/* True when the machine's RAM in use reaches above 4 GB (PAE only). */
bool MmHasMemoryAbove4Gb(void);
/*
 * A zeroed frame below 4 GB, for good, for a device that takes 32-bit bus addresses;
 * false when none is left.
 */
bool MmAllocateDmaFrame(paddr_t *physical);

/* Maps device memory into system space, uncached; NULL when system PTEs run out. */
void *MmMapIoSpace(paddr_t address, size_t length);
void MmUnmapIoSpace(void *address, size_t length);
/* Maps RAM (a boot module, say) read-only and cached; undo with MmUnmapIoSpace. */
void *MmMapPhysicalMemory(paddr_t address, size_t length);

/* The physical address that va translates to in the current address space. */
bool MmGetPhysicalAddress(vaddr_t va, paddr_t *physical);

/*
 * A working set: the pageable pages of an address space that are in memory, by virtual
 * address, in the order the trimmer's clock hand visits them.
 */
struct mm_working_set {
    /*
     * The working-set lock (NT's working-set mutex): a guarded mutex, taken once: a
     * service takes it (MI_WORKING_SET_GUARD) and what it calls under it is MiXxxLocked;
     * its holder taking it again stops the machine. A process's guards the whole user
     * half of its address space: the VAD tree, the user page tables and this list; the
     * system working set's guards the paged pool's pages and PTEs. The order: a
     * process's, then the system's, then the pools, the PFN lock and the spinlocks after
     * it. The trimmer takes another process's only by attempt (MiTryLockWorkingSet).
     */
    struct kguarded_mutex lock;
    vaddr_t *entries;
    uint32_t count;
    uint32_t capacity;
    uint32_t minimum;               /* the trimmer leaves this many when it can */
    uint32_t maximum;               /* a fault beyond this replaces one of its own */
    uint32_t hand;                  /* the clock hand: the next entry to look at */
    uint32_t peak;
    uint32_t locked;                /* entries locked in (NtLockVirtualMemory) */
};

/*
 * An address space: a page directory whose system half is shared with every other
 * (PDEs for system space are written into all directories at once), and a private
 * user half described by VADs.
 */
struct mm_address_space {
    paddr_t cr3;                    /* what CR3 holds while it is current: the address of
                                       the directory, or (PAE) of the PDPT */
    pfn_t directory_pfns[DIRECTORY_PAGES];
    mmpte_t *directory;             /* the directory pages, mapped side by side in system
                                       space: PDE_COUNT entries, one per PDE_SPAN */
#if MM_PAE
    mmpte_t *pdpt;                  /* its page-directory-pointer table, in nonpaged pool */
    void *pdpt_block;               /* the pool block pdpt lies in, 32-byte aligned */
#endif
    pfn_t hyperspace_pfn;           /* its hyperspace page table */
    /*
     * The processors whose CR3 holds it (their set_member bits), which a change to its
     * user entries must reach (mm/pte.c). Set before CR3 is loaded, cleared after.
     */
    volatile uint32_t active_processors;
    ptebits_t no_execute_bit;       /* what its pages without an execute protection get:
                                       PTE_NO_EXECUTE with DEP on and NX on, else 0 */
    vaddr_t highest_user_address;   /* this space's own limit (large-address-awareness) */
    uint32_t commit_charge;         /* pages charged against the commit limit */
    uint32_t write_watch_vads;      /* reservations made with MEM_WRITE_WATCH */
    struct mm_working_set working_set;
    struct mm_avl_table vads;
    struct list_entry link;         /* on the list of all address spaces */
};

/* VAD flags (struct mmvad.flags). */
#define MI_VAD_FLAG_STACK 0x0001    /* a thread's stack: its guard page moves down */
#define MI_VAD_FLAG_FIXED 0x0002    /* KUSER_SHARED_DATA: one page for everyone, unchangeable */

/* The system process's address space: the boot page directory. */
extern struct mm_address_space *MmSystemAddressSpace;

/* Moves the system address space into storage (the system process's), for good. */
void MmAdoptSystemAddressSpace(struct mm_address_space *storage);

/*
 * A new address space: system space shared, user space empty. Its user limit is
 * MmHighestUserAddress for a large-address-aware image, otherwise at most 0x7FFEFFFF.
 */
ntstatus_t MmCreateAddressSpace(struct mm_address_space *space, bool large_address_aware);
/*
 * Turns no-execute (DEP) on or off for the current address space: from now on its pages
 * without an execute protection are refused execution (where the CPU can: NX on) or not,
 * and every valid PTE it has is changed to match.
 */
void MmSetExecuteDisable(bool disable);

/*
 * Maps KUSER_SHARED_DATA read-only at its fixed user address in the current space (a
 * new process's, attached to: the thread that does it may be switched out meanwhile,
 * and comes back in the space the dispatcher knows it is in).
 */
ntstatus_t MmMapSharedUserData(void);

/* Frees every user page, page table, VAD and the directory. space must not be in use. */
void MmDeleteAddressSpace(struct mm_address_space *space);

/*
 * The address space whose directory this processor's CR3 holds (its region keeps it);
 * set only through MmSwitchAddressSpace.
 */
static inline struct mm_address_space *MmCurrentAddressSpace(void)
{
    struct mm_address_space *space;

    __asm__ volatile("movl %%fs:%c1, %0"
                     : "=r"(space) : "i"(offsetof(struct kprcb, current_space)));
    return space;
}

/*
 * The application processors' start-up page (arch/processors.c): maps the page at
 * physical, below 1 MB, at the same address in the current address space (the system
 * process's, whose user half is otherwise empty), executable, so that the processor
 * turning paging on there finds its next instruction. Unmapped, with its page table,
 * once every processor has started.
 */
bool MmMapStartupPage(paddr_t physical);
void MmUnmapStartupPage(paddr_t physical);

/* Loads space's directory into CR3 (MmSwitchAddressSpace's slow path). */
void MiLoadAddressSpace(struct mm_address_space *space);

/* Makes space the current one (loads CR3 if it is not already: inline, for switches). */
static inline void MmSwitchAddressSpace(struct mm_address_space *space)
{
    if (space != MmCurrentAddressSpace())
        MiLoadAddressSpace(space);
}

/*
 * Reserves [*base, *base + size) in the current address space as one VAD: at *base
 * (page-aligned; the services want 64 KB) when it is not 0, else the lowest free 64 KB-
 * aligned range. Nothing is committed.
 * flags: MI_VAD_FLAG_* (above).
 */
ntstatus_t MmReserveUserRange(vaddr_t *base, uint32_t size, uint8_t type, uint16_t flags,
                              uint32_t protection);

/*
 * Commits [va, va + size) inside a reservation of the current space: each page becomes
 * demand-zero with protection (PAGE_GUARD allowed); no frame is taken before a touch.
 */
ntstatus_t MmCommitUserRange(vaddr_t va, uint32_t size, uint32_t protection);

/* Maps frame pfn at va (in a reservation of the current space), taking over its reference. */
ntstatus_t MmMapUserPage(vaddr_t va, pfn_t pfn, uint32_t protection);

/* A section: pagefile-backed memory to share as views (mm/section.c). An object. */
struct mm_section {
    struct object_header header;
    uint32_t page_count;
    uint32_t committed_pages;       /* charged to the commit limit (all, but for SEC_RESERVE) */
    uint32_t protection;            /* the section's PAGE_* protection */
    bool reserve;                   /* SEC_RESERVE: pages are committed through views */
    uint32_t cache;                 /* SEC_NOCACHE, SEC_WRITECOMBINE: every view's pages'
                                       PAGE_NOCACHE or PAGE_WRITECOMBINE; else 0 */
    mmpte_t *prototypes;            /* one prototype PTE per page (formats: mm/pte_format.h) */
    /* An image section: the image laid out at image_base, each page's own protection. */
    vaddr_t image_base;
    uint16_t *page_protection;
    uint32_t copy_on_write_pages;
    struct mm_section **cache_slot; /* cleared when the section goes (a weak cache entry) */
};

/*
 * A section of size bytes (page-rounded), one reference. attributes SEC_COMMIT: every
 * page committed and charged now; SEC_RESERVE: none, until a view commits them.
 */
ntstatus_t MmCreateSection(uint32_t size, uint32_t protection, uint32_t attributes,
                           struct mm_section **section);

/*
 * Maps size bytes of section from offset (size 0: to the end) into the current address
 * space at *base or, for 0, anywhere below highest (0: the space's limit), with the
 * view's protection, which the section's must allow. Base and offset must be 64 KB-
 * aligned, or with AT_ROUND_TO_PAGE in type are rounded down to a page; type may also
 * hold MEM_TOP_DOWN. Of a SEC_RESERVE section, the view's first commit_size bytes are
 * committed. Writes back base and size. The arguments NT checks before it looks at the
 * section (the protection's value, ZeroBits, ...) are the caller's to check.
 */
ntstatus_t MmMapViewOfSection(struct mm_section *section, uint32_t offset, vaddr_t *base,
                              uint32_t *size, uint32_t type, uint32_t protection,
                              vaddr_t highest, uint32_t commit_size);

/* Unmaps the view containing base from the current address space. */
ntstatus_t MmUnmapViewOfSection(vaddr_t base);

struct ldr_image_info;

/*
 * Maps a PE image (checked by LdrParseImage) into the current address space: at its
 * preferred base when that range is free and inside the space's limit, otherwise, if it
 * can be relocated, at the lowest free range. Each page gets its section's protection.
 * Returns the base; on failure nothing is left behind.
 */
ntstatus_t MmMapImage(const void *file, const struct ldr_image_info *info, vaddr_t *base);

/*
 * An image section: the image laid out once at its preferred base, to be mapped into
 * every process that can have it there, sharing its pages; writable ones become
 * copy-on-write. One reference for the caller.
 */
ntstatus_t MmCreateImageSection(const void *file, const struct ldr_image_info *info,
                                struct mm_section **section);

/*
 * Maps an image section into the current address space at its base; fails (and the
 * caller maps a private, relocated copy instead) when that range is taken or beyond the
 * space's limit.
 */
ntstatus_t MmMapImageSection(struct mm_section *section, vaddr_t *base);

/* True when a PAGE_* protection (PAGE_GUARD aside) is one of the defined values. */
bool MmIsValidProtection(uint32_t protection);

/*
 * The virtual memory services on the current address space, with NT's rules (see
 * mm/virtual.c); each validates everything before it changes anything and writes back
 * the rounded base and size.
 */
/*
 * NtAllocateVirtualMemory's first checks, in Windows' order, before it reads its in-out
 * arguments: the type (STATUS_INVALID_PARAMETER, or _5), then the protection.
 */
ntstatus_t MmCheckAllocationType(uint32_t type, uint32_t protection);
/*
 * The range checks the services make: a base above highest (bad_base), a size of 0 or one
 * running past it (bad_size). Before they look at the process, against every user space
 * (MmHighestUserAddress); inside it, against its own limit.
 */
static inline ntstatus_t MmCheckRange(vaddr_t base, uint32_t size, vaddr_t highest,
                                      ntstatus_t bad_base, ntstatus_t bad_size)
{
    if (base > highest)
        return bad_base;
    if (size == 0 || size > highest + 1 - base)
        return bad_size;
    return STATUS_SUCCESS;
}
/* highest: the last address the allocation may use (ZeroBits); 0 for the space's limit. */
ntstatus_t MmAllocateVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type,
                                   uint32_t protection, vaddr_t highest);
ntstatus_t MmFreeVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type);
ntstatus_t MmProtectVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t protection,
                                  uint32_t *old_protection);
ntstatus_t MmQueryVirtualMemory(vaddr_t address, struct nt_memory_basic_information *info);
/*
 * MemoryRegionInformation of the allocation holding address: its base, protection, size
 * and committed bytes (STATUS_INVALID_ADDRESS when address is free).
 */
ntstatus_t MmQueryRegionInformation(vaddr_t address,
                                    struct nt_memory_region_information *info);
/*
 * MemoryWorkingSetInformation: up to capacity entries (PSAPI_WORKING_SET_BLOCK) of the
 * current space's working set into blocks, the first from index first; the number of
 * entries the working set holds in all.
 */
uint32_t MmQueryWorkingSet(uint32_t *blocks, uint32_t first, uint32_t capacity);

/*
 * NtLockVirtualMemory (MAP_PROCESS): the committed, accessible pages of [*base, *base +
 * *size) are brought in and locked in the working set, never trimmed while locked; at
 * most the working-set minimum less a few pages may be locked (STATUS_WORKING_SET_QUOTA).
 * A guard page loses its guard and the call fails with STATUS_GUARD_PAGE_VIOLATION.
 */
ntstatus_t MmLockVirtualMemory(vaddr_t *base, uint32_t *size);
/* Unlocks them; every page must be locked (STATUS_NOT_LOCKED, nothing changed, if not). */
ntstatus_t MmUnlockVirtualMemory(vaddr_t *base, uint32_t *size);

/*
 * NtGetWriteWatch over [base, base + size), a range of one MEM_WRITE_WATCH reservation:
 * from page *cursor on, up to capacity addresses of pages written since their last reset
 * into addresses (with reset, those pages are reset); *cursor moves past the last page
 * looked at. The number found, or a status through *status.
 */
uint32_t MmGetWriteWatch(vaddr_t base, uint32_t size, bool reset, vaddr_t *cursor,
                         vaddr_t *addresses, uint32_t capacity, ntstatus_t *status);
/* NtResetWriteWatch: every page of the range counts as not written from now on. */
ntstatus_t MmResetWriteWatch(vaddr_t base, uint32_t size);

/*
 * Sets the current space's working set limits, in bytes (rounded down to pages): the
 * minimum at least MM_MINIMUM_WORKING_SET pages, the maximum no less than the minimum and
 * no more than RAM allows, else STATUS_BAD_WORKING_SET_LIMIT. Both 0xFFFFFFFF: empties
 * the working set, limits unchanged. A working set above its new maximum is trimmed.
 */
ntstatus_t MmAdjustWorkingSetSize(uint32_t minimum_bytes, uint32_t maximum_bytes);
#define MM_MINIMUM_WORKING_SET 20

/* The commit charge, in pages: what is committed, the most that may be, the peak. */
extern uint32_t MmTotalCommittedPages;
extern uint32_t MmTotalCommitLimit;
extern uint32_t MmPeakCommitment;

/*
 * A thread's user stack in the current address space: a 1 MB reservation, its top
 * commit bytes (at least a page) committed, a guard page below that moves down as the
 * stack grows. *base is the reservation, *top one past its end.
 */
ntstatus_t MmCreateUserStack(uint32_t commit, vaddr_t *base, vaddr_t *top);

/* Frees a user stack MmCreateUserStack made (its pages, its charge, its VAD). */
void MmDeleteUserStack(vaddr_t base);

/* A kernel stack of pages pages with an unmapped guard page below; false when out of memory. */
bool MmCreateKernelStack(uint32_t pages, vaddr_t *base, vaddr_t *top);
void MmDeleteKernelStack(vaddr_t base, uint32_t pages);

/*
 * Kernel memory that is never paged and that user mode makes the kernel take (a thread's
 * stack and block), charged as NT charges a kernel stack: against the commit limit, and
 * against MmResidentAvailablePages, the frames such memory may hold at once. So it can
 * neither leave anyone's committed memory without a frame nor, with a pagefile, take the
 * frames paging needs. Returns STATUS_COMMITMENT_LIMIT or STATUS_INSUFFICIENT_RESOURCES
 * when either is used up, having charged nothing.
 */
ntstatus_t MmChargeNonPagedMemory(uint32_t pages);
void MmReturnNonPagedMemory(uint32_t pages);
extern uint32_t MmResidentAvailablePages;

/* The page KUSER_SHARED_DATA lives in, seen by the kernel (writable). */
extern volatile uint8_t *MmSharedUserData;

/*
 * Moves one page from the free list to the zeroed list, zeroing it, so demand-zero
 * faults find zeroed pages ready (the idle thread's work); false if none is left.
 */
bool MmZeroPageAhead(void);

/* Counters of the memory manager's events, for tests and benchmarks. */
struct mm_statistics {
    uint32_t cr3_loads;
    uint32_t demand_zero_faults;
    uint32_t stack_extensions;
    uint32_t system_pde_updates;
    uint32_t section_faults;
    uint32_t copy_on_write_faults;
    uint32_t transition_faults;     /* a page taken back from standby or modified, no I/O */
    uint32_t pagefile_read_faults;  /* pages read back from the pagefile by faults */
    uint32_t pages_read_ahead;      /* of those, read with the faulting page (clustered) */
    uint32_t pages_trimmed;         /* pages taken out of working sets */
    uint32_t standby_pages_reused;  /* standby pages given to someone else */
    uint32_t in_page_errors;        /* faults that failed because a read failed */
    uint32_t collided_faults;       /* faults that waited for a read another fault made */
    uint32_t fault_retries;         /* faults tried again after finding no frame */
};
extern struct mm_statistics MmStatistics;

/* The same values as arch/'s page-fault facts, so that a fault's access passes unchanged. */
enum mm_access {
    MM_ACCESS_READ = TRAP_ACCESS_READ,
    MM_ACCESS_WRITE = TRAP_ACCESS_WRITE,
    MM_ACCESS_EXECUTE = TRAP_ACCESS_EXECUTE,
};

/* The paged pool's range: [MmPagedPoolStart, MmPagedPoolEnd); empty before boot sets it. */
extern vaddr_t MmPagedPoolStart, MmPagedPoolEnd;

/* True for an address in the paged pool's range (allocated or not). */
static inline bool MmIsPagedPoolAddress(vaddr_t address)
{
    return address - MmPagedPoolStart < MmPagedPoolEnd - MmPagedPoolStart;
}

/*
 * True when a kernel store to va would change a page-table entry without the writer:
 * va is a view of a page table and the check (`ptecheck`) made it read-only (mm/pte.c).
 * MmInitSystem registers it with arch/trap.c, whose stop report names such a store.
 */
bool MmIsPageTableView(vaddr_t va);

/*
 * Resolves a page fault at address. STATUS_SUCCESS means the access may be retried;
 * any other status is what the faulting code gets (the caller decides what a failed
 * kernel access means).
 */
ntstatus_t MmAccessFault(vaddr_t address, enum mm_access access, bool user_mode);
/* A user-mode fault at a user address, the current space's working-set lock held. */
ntstatus_t MiAccessFaultLocked(vaddr_t address, enum mm_access access);
/* The page-fault handler MmInitSystem registers with arch/trap.c. */
trap_page_fault_handler_t MmTrapPageFault;
