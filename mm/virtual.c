/*
 * Virtual memory as a process sees it: reserve, commit, decommit, release, protect and
 * query, with NT's rules (docs/memory-model.md, section 4), on the current address space (a
 * service acting on another process attaches to it first).
 *
 * A page's state lives in two places: its VAD says whether it is reserved at all, its
 * PTE whether it is committed (any non-zero PTE) and with which protection. Each
 * operation checks everything, including the commit charge and the page tables it will
 * need, before it changes anything, so it cannot fail half-way.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/section.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

uint32_t MmTotalCommittedPages;
uint32_t MmTotalCommitLimit;
uint32_t MmPeakCommitment;

/* ---- protections in valid PTEs ---- */

/* The protections a valid user page can have, by the index kept in PTE bits 9-11. */
static const uint16_t protection_by_index[8] = {
    0, PAGE_READONLY, PAGE_EXECUTE, PAGE_EXECUTE_READ,
    PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
};

/*
 * The cache attributes of a valid user page, by modifier: PAGE_NOCACHE is PCD|PWT
 * (uncached); PAGE_WRITECOMBINE is PWT alone, the PAT entry made write-combining
 * (arch/cpu_features.c), or PCD alone, uncached, on a CPU without a PAT.
 */
static uint32_t cache_bits(uint32_t protection)
{
    if (protection & PAGE_NOCACHE)
        return PTE_CACHE_DISABLE | PTE_WRITE_THROUGH;
    if (protection & PAGE_WRITECOMBINE)
        return cpu_features.pat ? PTE_WRITE_THROUGH : PTE_CACHE_DISABLE;
    return 0;
}

/*
 * The index of each base protection in protection_by_index, by the protection's bit
 * number (PAGE_NOACCESS, bit 0, has none: it is never valid). It is also NT's 3-bit
 * protection mask, which MEMORY_WORKING_SET_INFORMATION reports.
 */
static const uint8_t index_by_bit[8] = {0, 1, 4, 5, 2, 3, 6, 7};

mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection)
{
    uint32_t base = protection & MI_PROTECTION_BASE_MASK;

    /* One base protection, and one that allows access. */
    KASSERT(base > PAGE_NOACCESS && (base & (base - 1)) == 0);
    uint32_t index = index_by_bit[__builtin_ctz(base)];
    /* Copy-on-write pages are read-only to the hardware: the first write copies them. */
    mmpte_t pte = pte_make_user(pfn, base == PAGE_READWRITE || base == PAGE_EXECUTE_READWRITE);
    return (mmpte_t){pte.value | index << PTE_SOFTWARE_SHIFT |
                     (protection & MI_PROTECTION_CACHE_MASK ? cache_bits(protection) : 0)};
}

uint32_t MiValidPteProtection(mmpte_t pte)
{
    uint32_t protection =
        protection_by_index[(pte.value & PTE_SOFTWARE_MASK) >> PTE_SOFTWARE_SHIFT];
    uint32_t cache = pte.value & (PTE_CACHE_DISABLE | PTE_WRITE_THROUGH);
    if (cache == (PTE_CACHE_DISABLE | PTE_WRITE_THROUGH))
        protection |= PAGE_NOCACHE;
    else if (cache)
        protection |= PAGE_WRITECOMBINE;
    return protection;
}

/* ---- commit charge ---- */

/* The commit charge: the machine's total and peak, and every account charged against it. */
static struct lock_class commit_lock_class = LOCK_CLASS_SPIN("commit charge");
static struct kspin_lock commit_lock = KSPIN_LOCK_INIT(commit_lock_class);

bool MiChargeCommitment(uint32_t *account, uint32_t pages)
{
    KIRQL old = KeAcquireSpinLock(&commit_lock);
    bool ok = pages <= MmTotalCommitLimit - MmTotalCommittedPages;

    if (ok) {
        MmTotalCommittedPages += pages;
        MmPeakCommitment = MAX(MmPeakCommitment, MmTotalCommittedPages);
        *account += pages;
    }
    KeReleaseSpinLock(&commit_lock, old);
    return ok;
}

void MiReturnCommitment(uint32_t *account, uint32_t pages)
{
    KIRQL old = KeAcquireSpinLock(&commit_lock);

    KASSERT(pages <= *account && pages <= MmTotalCommittedPages);
    MmTotalCommittedPages -= pages;
    *account -= pages;
    KeReleaseSpinLock(&commit_lock, old);
}

/* ---- user PTEs, with the count of used entries in each page table ---- */

static struct mmpfn *page_table_entry(vaddr_t va)
{
    return MiGetPfnEntry(pte_pfn(*pde_of(va)));
}

/*
 * Keeps the books on a pageable page as its PTE changes: the hardware's dirty bit goes
 * into the page's PFN entry before the PTE holding it is overwritten, a private page
 * learns which PTE owns it, and the working set gains or loses the page.
 */
static void account_page(vaddr_t va, mmpte_t old, mmpte_t value)
{
    bool was_present = MiIsPresentPte(old), present = MiIsPresentPte(value);

    if (pte_is_valid(old) && (old.value & PTE_DIRTY)) {
        MiGetPfnEntry(pte_pfn(old))->flags |= MI_PFN_MODIFIED;
        if (MmCurrentAddressSpace()->write_watch_vads)
            MiCaptureWriteWatch(MmCurrentAddressSpace(), va);
    }
    if (present && (!was_present || pte_pfn(old) != pte_pfn(value))) {
        pfn_t pfn = pte_pfn(value);
        enum mi_page_use use = MiGetPfnEntry(pfn)->use;
        if (use == MI_USE_PROCESS_PRIVATE)
            MiSetPteOwnerFrame(pfn, pte_pfn(*pde_of(va)), (va >> PAGE_SHIFT) % PTES_PER_TABLE);
        if (!was_present && MiIsPageableUse(use))
            MiInsertWorkingSetEntry(&MmCurrentAddressSpace()->working_set, va);
    } else if (was_present && !present && MiIsPageableUse(MiGetPfnEntry(pte_pfn(old))->use)) {
        MiRemoveWorkingSetEntry(&MmCurrentAddressSpace()->working_set, va);
    }
}

/* An entry of va's page table became zero: the table's last one takes the table with it. */
static void release_table_entry(vaddr_t va, bool was_used)
{
    struct mmpfn *table = page_table_entry(va);

    if (was_used)
        table->used_entries--;
    if (table->used_entries == 0) {
        /* The table's last entry is gone: the table goes too (and its self-map view). */
        pfn_t table_pfn = pte_pfn(*pde_of(va));
        MiWritePte(pde_of(va), pte_zero());
        MiReleasePageReference(table_pfn);
    }
}

void MiWriteUserPte(vaddr_t va, mmpte_t value)
{
    mmpte_t *pte = pte_of(va);
    mmpte_t old = *pte;

    MiWritePte(pte, value);
    if (MiIsPresentPte(old) || MiIsPresentPte(value))
        account_page(va, old, value);
    if (value.value == 0)
        release_table_entry(va, old.value != 0);
    else if (old.value == 0)
        page_table_entry(va)->used_entries++;
}

/*
 * Makes the committed pages of [start, end) uncommitted: their frames go, and their
 * charge comes back (once, for the whole range).
 */
static void decommit_pages(struct mm_address_space *space, vaddr_t start, vaddr_t end)
{
    uint32_t pages = 0;
    /* The PFN lock: a transition PTE's frame may not be taken for reuse meanwhile. */
    KIRQL old_irql = MiAcquirePfnLock();

    for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        if (!pte || pte->value == 0)
            continue;
        mmpte_t old = *pte;
        MiWriteUserPte(va, pte_zero());
        MiDeletePteContents(old);
        pages++;
    }
    MiReleasePfnLock(old_irql);
    MiReturnCommitment(&space->commit_charge, pages);
}

void MiDeletePteFrameOrSlot(mmpte_t pte)
{
    if (MiIsPresentPte(pte)) {
        if (pte_is_valid(pte) && (pte.value & PTE_DIRTY))
            MiGetPfnEntry(pte_pfn(pte))->flags |= MI_PFN_MODIFIED;
        MiReleasePageReference(pte_pfn(pte));
    } else if (MiIsTransitionPte(pte)) {
        MiFreeTransitionPage(pte_pfn(pte));
    } else if (MiIsPagefilePte(pte)) {
        MiReleasePagefileSlot(MiPagefilePteSlot(pte));
    }
}

/* Pages in [start, end) that are not committed yet. */
static uint32_t count_uncommitted(vaddr_t start, vaddr_t end)
{
    uint32_t count = 0;

    for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        count += !pte || pte->value == 0;
    }
    return count;
}

/*
 * Makes every page table [start, end) needs; false if a page for one cannot be had.
 * (A table made before the failure stays, empty, until its address space goes.)
 */
static bool make_page_tables(vaddr_t start, vaddr_t end)
{
    for (vaddr_t va = start; va < end;) {
        if (!MiGetPte(va, true))
            return false;
        vaddr_t next = ALIGN_DOWN(va, (vaddr_t)PDE_SPAN) + PDE_SPAN;
        if (next < va)
            break;
        va = next;
    }
    return true;
}

/* Commits the uncommitted pages of [start, end) as demand-zero with protection. */
static void commit_pages(vaddr_t start, vaddr_t end, uint32_t protection)
{
    mmpte_t demand_zero = MiMakeDemandZeroPte(protection);

    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        if (pte_of(va)->value == 0)
            MiWriteUserPte(va, demand_zero);
}

/* ---- the services ---- */

static uint32_t page_protection(const struct mmvad *vad, vaddr_t va);

/* True for the protections a private allocation may have (no copy-on-write). */
static bool private_protection_is_valid(uint32_t protection)
{
    return MmIsValidProtection(protection) && !MiIsCopyOnWriteProtection(protection);
}

/*
 * protection with the cache attribute of the allocation it is asked for in: on NT,
 * PAGE_NOCACHE and PAGE_WRITECOMBINE belong to the whole allocation (its VAD), given
 * when it is made; later requests neither add nor remove them.
 */
static uint32_t with_allocation_cache(const struct mmvad *vad, uint32_t protection)
{
    protection &= ~MI_PROTECTION_CACHE_MASK;
    if ((protection & MI_PROTECTION_BASE_MASK) == PAGE_NOACCESS)
        return protection;      /* a page nothing may touch has no cache attribute */
    return protection | (vad->protection & MI_PROTECTION_CACHE_MASK);
}

/* The page-aligned range [*start, *end) that [base, base + size) touches; false if it wraps. */
static bool page_range(vaddr_t base, uint32_t size, vaddr_t *start, vaddr_t *end)
{
    uint64_t last = (uint64_t)base + size;

    if (size == 0 || last > 0x100000000ull)
        return false;
    *start = ALIGN_DOWN(base, (vaddr_t)PAGE_SIZE);
    uint64_t rounded = (last + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (rounded > 0xFFFFF000ull)
        return false;
    *end = (vaddr_t)rounded;
    return true;
}

/* MEM_RESERVE (and MEM_COMMIT with it, or with no address): a new reservation. */
static ntstatus_t reserve(struct mm_address_space *space, vaddr_t *base, uint32_t *size,
                          uint32_t type, uint32_t protection, vaddr_t highest)
{
    vaddr_t start, end;

    if (*base == 0) {
        uint32_t bytes = ALIGN_UP(*size, (uint32_t)PAGE_SIZE);
        if (*size == 0 || bytes == 0)
            return STATUS_INVALID_PARAMETER;
        if (!MiFindEmptyAddressRange(&space->vads, bytes, MM_ALLOCATION_GRANULARITY,
                                     MM_LOWEST_USER_ADDRESS, highest, type & MEM_TOP_DOWN,
                                     &start))
            return STATUS_NO_MEMORY;
        end = start + bytes;
    } else {
        if (!page_range(*base, *size, &start, &end))
            return STATUS_INVALID_PARAMETER_4;
        start = ALIGN_DOWN(start, (vaddr_t)MM_ALLOCATION_GRANULARITY);
        if (start < MM_LOWEST_USER_ADDRESS || start > space->highest_user_address)
            return STATUS_INVALID_PARAMETER_2;
        if (end - 1 > space->highest_user_address)
            return STATUS_INVALID_PARAMETER_4;
        if (MiCheckForConflictingVad(&space->vads, start, end - 1))
            return STATUS_CONFLICTING_ADDRESSES;
    }
    bool commit = type & MEM_COMMIT;
    uint32_t pages = (end - start) / PAGE_SIZE;
    if (commit && !MiChargeCommitment(&space->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    vaddr_t placed = start;
    ntstatus_t status = MmReserveUserRange(&placed, end - start, MI_VAD_PRIVATE, 0, protection);
    if (NT_SUCCESS(status) &&
        ((commit && !make_page_tables(start, end)) ||
         (type & MEM_WRITE_WATCH &&
          !MiStartWriteWatch(space, MiLocateVad(&space->vads, start))))) {
        MiDeleteVad(space, MiLocateVad(&space->vads, start));
        status = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!NT_SUCCESS(status)) {
        if (commit)
            MiReturnCommitment(&space->commit_charge, pages);
        return status;
    }
    if (commit)
        commit_pages(start, end, protection);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

static ntstatus_t commit_view(struct mm_address_space *space, struct mmvad *vad,
                              vaddr_t start, vaddr_t end, uint32_t protection);
static void protect_pages(const struct mmvad *vad, vaddr_t start, vaddr_t end,
                          uint32_t protection);
static ntstatus_t reset(struct mm_address_space *space, vaddr_t *base, uint32_t *size,
                        uint32_t type);

/*
 * MEM_COMMIT alone at an address: pages of one existing private reservation, or of one
 * view (see commit_view).
 */
static ntstatus_t commit(struct mm_address_space *space, vaddr_t *base, uint32_t *size,
                         uint32_t protection)
{
    vaddr_t start, end;

    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_CONFLICTING_ADDRESSES;
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    if (!vad || end - 1 > vad->end || vad->flags & MI_VAD_FLAG_FIXED)
        return STATUS_CONFLICTING_ADDRESSES;
    protection = with_allocation_cache(vad, protection);
    if (vad->owner) {
        ntstatus_t status = commit_view(space, vad, start, end, protection);
        if (NT_SUCCESS(status)) {
            *base = start;
            *size = end - start;
        }
        return status;
    }
    if (vad->type != MI_VAD_PRIVATE)
        return STATUS_CONFLICTING_ADDRESSES;
    if (!private_protection_is_valid(protection))
        return STATUS_INVALID_PAGE_PROTECTION;
    uint32_t pages = count_uncommitted(start, end);
    if (!MiChargeCommitment(&space->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    if (!make_page_tables(start, end)) {
        MiReturnCommitment(&space->commit_charge, pages);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    /* Pages committed already get the new protection, as on NT; the others are new. */
    protect_pages(vad, start, end, protection);     /* leaves uncommitted pages alone */
    commit_pages(start, end, protection);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

/* A committed page out of memory loses its contents: demand zero again. */
static void drop_page(vaddr_t va)
{
    KIRQL old_irql = MiAcquirePfnLock();
    mmpte_t old = *pte_of(va);

    MiWriteUserPte(va, MiMakeDemandZeroPte(MiPteProtection(old)));
    MiDeletePteContents(old);
    MiReleasePfnLock(old_irql);
}

/*
 * MEM_RESET: the contents of the committed private pages of [base, base + size) are no
 * longer wanted. Pages in memory become clean and without a pagefile copy, so that,
 * trimmed, they are dropped instead of written; pages already out of memory are dropped
 * now (they read as zeros if touched). The protection stays, and pages only reserved,
 * or of a view, are left as they are. MEM_RESET_UNDO wants them again: pages still in
 * memory are kept from then on (the others were dropped: they read as zeros).
 */
static ntstatus_t reset(struct mm_address_space *space, vaddr_t *base, uint32_t *size,
                        uint32_t type)
{
    vaddr_t start, end;

    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_INVALID_PARAMETER_4;
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    if (!vad || end - 1 > vad->end)
        return STATUS_CONFLICTING_ADDRESSES;
    /* Only private memory: a view's pages are the section's, an image's its code. */
    for (vaddr_t va = start; va < end && vad->type == MI_VAD_PRIVATE; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        if (!pte || pte->value == 0)
            continue;
        if (type == MEM_RESET_UNDO)
            MiUndoResetPage(*pte);
        else if (MiIsPresentPte(*pte))
            MiResetPage(va);
        else if (MiIsTransitionPte(*pte) || MiIsPagefilePte(*pte))
            drop_page(va);
    }
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

#define ALLOCATION_TYPES (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | \
                          MEM_TOP_DOWN | MEM_WRITE_WATCH)

ntstatus_t MmCheckAllocationType(uint32_t type, uint32_t protection)
{
    uint32_t reset = type & (MEM_RESET | MEM_RESET_UNDO);

    if (!(type & (MEM_COMMIT | MEM_RESERVE)) && !reset)
        return STATUS_INVALID_PARAMETER;    /* Windows 10 and 11: not numbered */
    if (type & ~ALLOCATION_TYPES || (reset && type != reset) ||
        reset == (MEM_RESET | MEM_RESET_UNDO) ||
        (type & MEM_WRITE_WATCH && !(type & MEM_RESERVE)))
        return STATUS_INVALID_PARAMETER_5;
    /* The protection is checked even where it is not used (MEM_RESET). */
    if (!MmIsValidProtection(protection))
        return STATUS_INVALID_PAGE_PROTECTION;
    return STATUS_SUCCESS;
}


ntstatus_t MmAllocateVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type,
                                   uint32_t protection, vaddr_t highest)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    ntstatus_t status = MmCheckAllocationType(type, protection);

    if (NT_SUCCESS(status))
        status = MmCheckRange(*base, *size, space->highest_user_address, STATUS_INVALID_PARAMETER_2,
                              STATUS_INVALID_PARAMETER_4);
    if (!NT_SUCCESS(status))
        return status;
    if (highest == 0 || highest > space->highest_user_address)
        highest = space->highest_user_address;
    if (type & (MEM_RESET | MEM_RESET_UNDO))
        return reset(space, base, size, type);
    /* Since Windows 8, nothing may be reserved in the first 64 KB. */
    if (*base && *base < MM_LOWEST_USER_ADDRESS && type & MEM_RESERVE)
        return STATUS_INVALID_PARAMETER_2;
    /* With no address, a commit reserves as well (as VirtualAlloc documents). */
    if (type & MEM_RESERVE || *base == 0) {
        if (!private_protection_is_valid(protection))
            return STATUS_INVALID_PAGE_PROTECTION;
        return reserve(space, base, size, type, protection, highest);
    }
    return commit(space, base, size, protection);
}

ntstatus_t MmFreeVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (type != MEM_DECOMMIT && type != MEM_RELEASE)
        return STATUS_INVALID_PARAMETER_4;
    if (*base > space->highest_user_address)
        return STATUS_INVALID_PARAMETER_2;
    if (*size > space->highest_user_address + 1 - *base)
        return STATUS_INVALID_PARAMETER_3;
    struct mmvad *vad = MiLocateVad(&space->vads, *base);
    if (!vad)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (vad->type != MI_VAD_PRIVATE || vad->flags & (MI_VAD_FLAG_STACK | MI_VAD_FLAG_FIXED))
        return STATUS_UNABLE_TO_DELETE_SECTION;
    /*
     * Size 0 means the whole reservation, so base must be its base (NT's rule for both
     * kinds). Otherwise the range is every page [base, base + size) touches; it must
     * stay inside the reservation. Releasing part of a reservation splits it: what is
     * left on either side stays reserved, each side a reservation of its own.
     */
    if (*size == 0) {
        if (ALIGN_DOWN(*base, (vaddr_t)PAGE_SIZE) != vad->start)
            return STATUS_FREE_VM_NOT_AT_BASE;
        start = vad->start;
        end = vad->end + 1;
    } else {
        if (!page_range(*base, *size, &start, &end) || end - 1 > vad->end)
            return STATUS_UNABLE_TO_FREE_VM;
    }
    /* A part is taken out first: a split may find no pool for its second VAD. */
    bool whole = start == vad->start && end - 1 == vad->end;
    if (type == MEM_RELEASE && !whole && !MiReleaseVadRange(space, vad, start, end))
        return STATUS_INSUFFICIENT_RESOURCES;
    decommit_pages(space, start, end);
    if (type == MEM_RELEASE && whole)
        MiDeleteVad(space, vad);
    /* Windows 10 (since 1803) leaves a size of 0 as it was after a whole decommit. */
    bool keep_zero = *size == 0 && type == MEM_DECOMMIT;
    *base = start;
    *size = keep_zero ? 0 : end - start;
    return STATUS_SUCCESS;
}

/* The pages of a view (its VAD). */
static uint32_t vad_pages(const struct mmvad *vad)
{
    return (vad->end - vad->start + 1) / PAGE_SIZE;
}

/*
 * Whether page va of view vad is committed: every page of a SEC_COMMIT section is, a
 * page of a SEC_RESERVE section once some view committed it.
 */
bool MiIsViewPageCommitted(const struct mmvad *vad, vaddr_t va)
{
    const struct mm_section *section = vad->owner;

    return !MiIsViewPagePte(section->prototypes[vad->offset + (va - vad->start) / PAGE_SIZE]);
}

mmpte_t MiMakeViewPte(const struct mmvad *vad, vaddr_t va, uint32_t protection)
{
    return protection == MiSectionPageProtection(vad, va) ? pte_zero()
                                                           : MiMakeViewPagePte(protection);
}

/* The writable protections with their copy-on-write counterpart instead. */
static uint32_t copy_on_write_form(uint32_t protection)
{
    uint32_t base = protection & 0xFF;

    if (base == PAGE_READWRITE)
        return (protection & ~0xFFu) | PAGE_WRITECOPY;
    if (base == PAGE_EXECUTE_READWRITE)
        return (protection & ~0xFFu) | PAGE_EXECUTE_WRITECOPY;
    return protection;
}

/* The copy-on-write protections with their writable counterpart instead. */
static uint32_t private_form(uint32_t protection)
{
    uint32_t base = protection & 0xFF;

    if (base == PAGE_WRITECOPY)
        return (protection & ~0xFFu) | PAGE_READWRITE;
    if (base == PAGE_EXECUTE_WRITECOPY)
        return (protection & ~0xFFu) | PAGE_EXECUTE_READWRITE;
    return protection;
}

/*
 * The protection a view's pages get when protection is asked for: an image's shared
 * pages never become writable for everyone, only copy-on-write (as on NT, so that a
 * loader can write an image's imports).
 */
static uint32_t shared_page_protection(const struct mmvad *vad, uint32_t protection)
{
    return vad->type == MI_VAD_IMAGE ? copy_on_write_form(protection) : protection;
}

/* What a protection lets a page be used for: read, write, execute. */
enum { ACCESS_READ = 1, ACCESS_WRITE = 2, ACCESS_EXECUTE = 4 };

static unsigned protection_access(uint32_t protection)
{
    switch (protection & 0xFF) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        return ACCESS_READ;
    case PAGE_READWRITE:
        return ACCESS_READ | ACCESS_WRITE;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return ACCESS_READ | ACCESS_EXECUTE;
    case PAGE_EXECUTE_READWRITE:
        return ACCESS_READ | ACCESS_WRITE | ACCESS_EXECUTE;
    default:
        return 0;
    }
}

/*
 * Whether a page of view vad may have protection (after shared_page_protection): a view's
 * pages never get more access than the view was mapped with (a copy-on-write view's
 * pages, never read-write), and no access is always allowed.
 */
static bool view_allows(const struct mmvad *vad, uint32_t protection)
{
    unsigned asked = protection_access(protection);

    return (asked & protection_access(vad->protection)) == asked;
}

/* A present page's PTE with protection: valid when it allows access, resident otherwise. */
static mmpte_t present_pte(pfn_t pfn, uint32_t protection)
{
    bool accessible = (protection & 0xFF) != PAGE_NOACCESS && !(protection & PAGE_GUARD);

    return accessible ? MiMakeValidUserPte(pfn, protection) : MiMakeResidentPte(pfn, protection);
}

/*
 * The PTE that gives the committed page at va (of vad), whose PTE is pte, protection,
 * whatever state the page is in. Only a view's page not mapped here can come out zero.
 */
static mmpte_t protected_pte(const struct mmvad *vad, vaddr_t va, mmpte_t pte,
                             uint32_t protection)
{
    if (pte.value == 0 && !vad->owner)
        return pte;     /* private memory not committed: it stays so */
    if (vad->owner && (pte.value == 0 || MiIsViewPagePte(pte)))
        return MiMakeViewPte(vad, va, shared_page_protection(vad, protection));
    if (MiIsPresentPte(pte) && MiGetPfnEntry(pte_pfn(pte))->use == MI_USE_SECTION)
        return present_pte(pte_pfn(pte), shared_page_protection(vad, protection));
    /*
     * A private page: a view's private copy is simply writable when asked copy-on-write;
     * a page of an image laid out privately (relocated) is copy-on-write when asked
     * writable, as if it were the image section's (its first write copies it).
     */
    if (vad->owner)
        protection = private_form(protection);
    else if (vad->type == MI_VAD_IMAGE)
        protection = copy_on_write_form(protection);
    if (MiIsDemandZeroPte(pte))
        return MiMakeDemandZeroPte(protection);
    if (MiIsTransitionPte(pte))
        return MiMakeTransitionPte(pte_pfn(pte), protection);
    if (MiIsPagefilePte(pte))
        return MiMakePagefilePte(MiPagefilePteSlot(pte), protection);
    return present_pte(pte_pfn(pte), protection);
}

/*
 * Gives the committed pages of [start, end) (of vad) protection. The PTEs that stay or
 * become non-zero are written first, the zeros last: a page table whose last entry goes to
 * zero is freed, so no write may need it after that.
 */
static void protect_pages(const struct mmvad *vad, vaddr_t start, vaddr_t end,
                          uint32_t protection)
{
    for (int zeros = 0; zeros < 2; zeros++) {
        for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
            mmpte_t *pte = MiGetPte(va, false);
            mmpte_t old = pte ? *pte : pte_zero();
            mmpte_t new = protected_pte(vad, va, old, protection);
            if (new.value != old.value && (new.value == 0) == zeros)
                MiWriteUserPte(va, new);
        }
    }
}

/*
 * What giving [start, end) of view vad protection needs before anything changes: a
 * protection the section allows (else refused), committed pages (unless commit: then
 * the section's uncommitted pages are committed), page tables for the PTEs to be
 * written, and the charge for pages that may become private copies (the whole view,
 * once).
 */
static ntstatus_t prepare_view_protection(struct mm_address_space *space, struct mmvad *vad,
                                          vaddr_t start, vaddr_t end, uint32_t protection,
                                          bool commit, ntstatus_t refused)
{
    struct mm_section *section = vad->owner;
    uint32_t shared = shared_page_protection(vad, protection);
    uint32_t first = vad->offset + (start - vad->start) / PAGE_SIZE;
    uint32_t count = (end - start) / PAGE_SIZE, uncommitted = 0;

    if (!view_allows(vad, shared))
        return refused;
    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        uncommitted += !MiIsViewPageCommitted(vad, va);
    if (uncommitted && !commit)
        return STATUS_NOT_COMMITTED;
    if (!make_page_tables(start, end))
        return STATUS_INSUFFICIENT_RESOURCES;
    uint32_t copies = MiIsCopyOnWriteProtection(shared) ? vad_pages(vad) - vad->commit_charge
                                                        : 0;
    if (!MiChargeCommitment(&space->commit_charge, copies))
        return STATUS_COMMITMENT_LIMIT;
    if (uncommitted && !MiCommitSectionPages(section, first, count)) {
        MiReturnCommitment(&space->commit_charge, copies);
        return STATUS_COMMITMENT_LIMIT;
    }
    vad->commit_charge += copies;
    return STATUS_SUCCESS;
}

/*
 * MEM_COMMIT on pages of a view: the section's pages are committed (for a SEC_RESERVE
 * section, those not yet committed are now, for every view of it), and the pages here
 * get protection, which the section must allow.
 */
static ntstatus_t commit_view(struct mm_address_space *space, struct mmvad *vad,
                              vaddr_t start, vaddr_t end, uint32_t protection)
{
    if (vad->type == MI_VAD_IMAGE)
        return STATUS_CONFLICTING_ADDRESSES;
    ntstatus_t status = prepare_view_protection(space, vad, start, end, protection, true,
                                                STATUS_INVALID_PAGE_PROTECTION);
    if (!NT_SUCCESS(status))
        return status;
    protect_pages(vad, start, end, protection);
    return STATUS_SUCCESS;
}

ntstatus_t MmProtectVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t protection,
                                  uint32_t *old_protection)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;
    ntstatus_t status;

    if (!MmIsValidProtection(protection))
        return STATUS_INVALID_PAGE_PROTECTION;
    status = MmCheckRange(*base, *size, space->highest_user_address, STATUS_INVALID_PARAMETER_2,
                          STATUS_INVALID_PARAMETER_3);
    if (!NT_SUCCESS(status))
        return status;
    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_CONFLICTING_ADDRESSES;
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    if (!vad || end - 1 > vad->end)
        return STATUS_CONFLICTING_ADDRESSES;
    /* KUSER_SHARED_DATA is one page for everyone: read-only it stays. */
    if (vad->flags & MI_VAD_FLAG_FIXED)
        return STATUS_NOT_SUPPORTED;
    protection = with_allocation_cache(vad, protection);
    if (vad->owner) {
        status = prepare_view_protection(space, vad, start, end, protection, false,
                                         STATUS_SECTION_PROTECTION);
        if (!NT_SUCCESS(status))
            return status;
    } else {
        if (vad->type == MI_VAD_PRIVATE && MiIsCopyOnWriteProtection(protection))
            return STATUS_INVALID_PARAMETER_4;
        if (count_uncommitted(start, end))
            return STATUS_NOT_COMMITTED;
    }

    *old_protection = page_protection(vad, start);
    protect_pages(vad, start, end, protection);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

static uint32_t vad_memory_type(const struct mmvad *vad)
{
    return vad->type == MI_VAD_IMAGE ? MEM_IMAGE : vad->type == MI_VAD_MAPPED ? MEM_MAPPED
                                                                           : MEM_PRIVATE;
}

/*
 * The protection of page va of vad, 0 when it is only reserved. In a view, a page whose
 * PTE is still zero is committed with the view's protection (its prototype backs it),
 * unless the section's page is not committed yet.
 */
static uint32_t page_protection(const struct mmvad *vad, vaddr_t va)
{
    mmpte_t *pte = MiGetPte(va, false);

    if (vad->owner && !MiIsViewPageCommitted(vad, va))
        return 0;
    if (pte && pte->value != 0)
        return MiPteProtection(*pte);
    return vad->owner ? MiSectionPageProtection(vad, va) : 0;
}

ntstatus_t MmQueryVirtualMemory(vaddr_t address, struct nt_memory_basic_information *info)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t page = ALIGN_DOWN(address, (vaddr_t)PAGE_SIZE);

    if (address > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    memset(info, 0, sizeof(*info));
    info->base_address = page;
    struct mmvad *vad = MiLocateVad(&space->vads, page);
    if (!vad) {
        /* Free: up to the next reservation, or the end of the user range. */
        vaddr_t next = space->highest_user_address + 1;
        for (struct mmvad *v = MiFirstVad(&space->vads); v; v = MiNextVad(v)) {
            if (v->start > page) {
                next = v->start;
                break;
            }
        }
        info->region_size = next - page;
        info->state = MEM_FREE;
        info->protect = PAGE_NOACCESS;
        return STATUS_SUCCESS;
    }
    uint32_t protection = page_protection(vad, page);
    vaddr_t va = page + PAGE_SIZE;
    while (va - 1 < vad->end && page_protection(vad, va) == protection)
        va += PAGE_SIZE;
    info->allocation_base = vad->start;
    info->allocation_protect = vad->protection;
    info->region_size = va - page;
    info->state = protection ? MEM_COMMIT : MEM_RESERVE;
    info->protect = protection;
    info->type = vad_memory_type(vad);
    return STATUS_SUCCESS;
}

#define USER_STACK_RESERVE 0x100000     /* every thread gets 1 MB */

ntstatus_t MmCreateUserStack(uint32_t commit, vaddr_t *base, vaddr_t *top)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    ntstatus_t status;

    commit = ALIGN_UP(MAX(commit, (uint32_t)PAGE_SIZE), (uint32_t)PAGE_SIZE);
    commit = MIN(commit, (uint32_t)USER_STACK_RESERVE - 2 * PAGE_SIZE);
    *base = 0;
    status = MmReserveUserRange(base, USER_STACK_RESERVE, MI_VAD_PRIVATE, MI_VAD_FLAG_STACK,
                                PAGE_READWRITE);
    if (!NT_SUCCESS(status))
        return status;
    *top = *base + USER_STACK_RESERVE;
    status = MmCommitUserRange(*top - commit, commit, PAGE_READWRITE);
    if (NT_SUCCESS(status))
        status = MmCommitUserRange(*top - commit - PAGE_SIZE, PAGE_SIZE,
                                   PAGE_READWRITE | PAGE_GUARD);
    if (!NT_SUCCESS(status))
        MmDeleteUserStack(*base);
    return status;
}

void MmDeleteUserStack(vaddr_t base)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    struct mmvad *vad = MiLocateVad(&space->vads, base);

    KASSERT(vad && vad->start == base && vad->flags & MI_VAD_FLAG_STACK);
    decommit_pages(space, vad->start, vad->end + 1);
    MiDeleteVad(space, vad);
}

/* ---- locking pages in the working set ---- */

/* Of its minimum, a working set keeps this many pages that cannot be locked (as NT). */
#define LOCK_RESERVED_PAGES 8

/* Whether page va is present and locked in the current working set. */
static bool page_locked(struct mm_address_space *space, vaddr_t va)
{
    mmpte_t *pte = MiGetPte(va, false);

    return pte && MiIsPresentPte(*pte) && MiIsWorkingSetEntryLocked(&space->working_set, va);
}

/*
 * What locking [start, end) needs first: every page committed and accessible (a guard
 * page loses its guard, and the call fails as the touch would), and room under the
 * quota for the pages not locked yet.
 */
static ntstatus_t check_lockable(struct mm_address_space *space, vaddr_t start, vaddr_t end)
{
    const struct mm_working_set *working_set = &space->working_set;
    uint32_t wanted = 0;

    for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
        struct mmvad *vad = MiLocateVad(&space->vads, va);
        uint32_t protection = vad ? page_protection(vad, va) : 0;
        if ((protection & MI_PROTECTION_BASE_MASK) == 0 ||
            (protection & MI_PROTECTION_BASE_MASK) == PAGE_NOACCESS)
            return STATUS_ACCESS_VIOLATION;
        if (protection & PAGE_GUARD) {
            ntstatus_t status = MmAccessFault(va, MM_ACCESS_READ, true);
            if (!NT_SUCCESS(status) || status == STATUS_GUARD_PAGE_VIOLATION)
                return status;
        }
        wanted += !page_locked(space, va);
    }
    uint32_t quota = working_set->minimum - MIN(working_set->minimum,
                                                (uint32_t)LOCK_RESERVED_PAGES);
    if (working_set->locked + wanted > quota)
        return STATUS_WORKING_SET_QUOTA;
    return STATUS_SUCCESS;
}

/*
 * Brings page va in (as a read would) and locks it in the working set. The page may be
 * trimmed again between the fault and the lock, so both go round until they meet.
 */
static ntstatus_t lock_page(struct mm_address_space *space, vaddr_t va)
{
    for (;;) {
        KIRQL old = MiAcquirePfnLock();     /* no trim between the look and the lock */
        mmpte_t *pte = MiGetPte(va, false);
        bool present = pte && MiIsPresentPte(*pte);
        bool locked = present && MiLockWorkingSetEntry(&space->working_set, va, true);
        MiReleasePfnLock(old);
        if (locked)
            return STATUS_SUCCESS;
        if (present)
            return STATUS_WORKING_SET_QUOTA;    /* resident but untracked: no room */
        ntstatus_t status = MmAccessFault(va, MM_ACCESS_READ, true);
        if (!NT_SUCCESS(status))
            return status;
    }
}

ntstatus_t MmLockVirtualMemory(vaddr_t *base, uint32_t *size)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    ntstatus_t status = check_lockable(space, start, end);
    for (vaddr_t va = start; va < end && NT_SUCCESS(status); va += PAGE_SIZE)
        status = lock_page(space, va);
    if (!NT_SUCCESS(status))
        return status;
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

ntstatus_t MmUnlockVirtualMemory(vaddr_t *base, uint32_t *size)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        if (!page_locked(space, va))
            return STATUS_NOT_LOCKED;
    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        MiLockWorkingSetEntry(&space->working_set, va, false);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

/* ---- write watch ---- */

void MiCaptureWriteWatch(struct mm_address_space *space, vaddr_t va)
{
    struct mmvad *vad = MiLocateVad(&space->vads, va);

    if (vad && vad->write_watch) {
        uint32_t bit = (va - vad->write_watch_base) / PAGE_SIZE;
        vad->write_watch[bit / 32] |= 1u << (bit % 32);
    }
}

/*
 * Whether page va of write-watch reservation vad was written since its last reset: its
 * bit, or the dirty bit of its PTE; with reset, both are cleared (the dirty bit going
 * into the page's frame first, so that paging still knows it is modified).
 */
static bool page_written(struct mmvad *vad, vaddr_t va, bool reset)
{
    uint32_t bit = (va - vad->write_watch_base) / PAGE_SIZE;
    mmpte_t *pte = MiGetPte(va, false);
    KIRQL old = MiAcquirePfnLock();
    bool dirty = pte && pte_is_valid(*pte) && pte->value & PTE_DIRTY;
    bool written = dirty || vad->write_watch[bit / 32] & (1u << (bit % 32));

    if (reset) {
        vad->write_watch[bit / 32] &= ~(1u << (bit % 32));
        if (dirty) {
            MiGetPfnEntry(pte_pfn(*pte))->flags |= MI_PFN_MODIFIED;
            MiClearPteBits(pte, PTE_DIRTY);
        }
    }
    MiReleasePfnLock(old);
    return written;
}

/* The write-watch reservation [base, base + size) lies in; NULL (refused) if none. */
static struct mmvad *write_watch_vad(vaddr_t base, uint32_t size, vaddr_t *start,
                                     vaddr_t *end)
{
    struct mm_address_space *space = MmCurrentAddressSpace();
    struct mmvad *vad;

    if (base == 0 || !page_range(base, size, start, end) ||
        !(vad = MiLocateVad(&space->vads, *start)) || !vad->write_watch ||
        *end - 1 > vad->end)
        return NULL;
    return vad;
}

uint32_t MmGetWriteWatch(vaddr_t base, uint32_t size, bool reset, vaddr_t *cursor,
                         vaddr_t *addresses, uint32_t capacity, ntstatus_t *status)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    vaddr_t start, end;
    struct mmvad *vad = write_watch_vad(base, size, &start, &end);
    uint32_t found = 0;

    *status = vad ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    if (!vad)
        return 0;
    vaddr_t va = MAX(*cursor, start);
    for (; va < end && found < capacity; va += PAGE_SIZE)
        if (page_written(vad, va, reset))
            addresses[found++] = va;
    *cursor = va;
    return found;
}

ntstatus_t MmResetWriteWatch(vaddr_t base, uint32_t size)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    vaddr_t start, end;
    struct mmvad *vad = write_watch_vad(base, size, &start, &end);

    if (!vad)
        return STATUS_INVALID_PARAMETER;
    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        page_written(vad, va, true);
    return STATUS_SUCCESS;
}

/* ---- the other classes of NtQueryVirtualMemory ---- */

ntstatus_t MmQueryRegionInformation(vaddr_t address,
                                    struct nt_memory_region_information *info)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    struct mmvad *vad;

    if (address > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    if (!(vad = MiLocateVad(&space->vads, ALIGN_DOWN(address, (vaddr_t)PAGE_SIZE))))
        return STATUS_INVALID_ADDRESS;
    memset(info, 0, sizeof(*info));
    info->allocation_base = vad->start;
    info->allocation_protect = vad->protection;
    info->region_size = vad->end + 1 - vad->start;
    for (vaddr_t va = vad->start; va - 1 < vad->end; va += PAGE_SIZE)
        if (page_protection(vad, va))
            info->commit_size += PAGE_SIZE;
    return STATUS_SUCCESS;
}

/* A PAGE_* protection as NT's 5-bit protection mask (MEMORY_WORKING_SET_INFORMATION). */
static uint32_t nt_protection_mask(uint32_t protection)
{
    uint32_t base = protection & MI_PROTECTION_BASE_MASK;
    uint32_t mask = base ? index_by_bit[__builtin_ctz(base)] : 0;

    if (protection & PAGE_NOCACHE)
        mask |= 8;
    if (protection & PAGE_GUARD)
        mask |= 16;
    if (protection & PAGE_WRITECOMBINE)
        mask |= 24;
    return mask;
}

uint32_t MmQueryWorkingSet(uint32_t *blocks, uint32_t first, uint32_t capacity)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    const struct mm_working_set *working_set = &MmCurrentAddressSpace()->working_set;
    KIRQL old = MiAcquirePfnLock();
    uint32_t count = working_set->count;

    for (uint32_t i = 0; i < capacity && first + i < count; i++) {
        vaddr_t va = working_set->entries[first + i] & ~MI_WORKING_SET_LOCKED;
        mmpte_t pte = *pte_of(va);
        const struct mmpfn *entry = MiGetPfnEntry(pte_pfn(pte));
        uint32_t block = va | nt_protection_mask(MiPteProtection(pte));
        if (entry->use == MI_USE_SECTION)
            block |= NT_WORKING_SET_SHARED |
                     MIN(entry->reference_count, 7u) << NT_WORKING_SET_SHARE_COUNT_SHIFT;
        blocks[i] = block;
    }
    MiReleasePfnLock(old);
    return count;
}
