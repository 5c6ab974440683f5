/*
 * Virtual memory as a process sees it: reserve, commit, decommit, release and protect,
 * with NT's rules (docs/memory-model.md, section 4), on the current address space (a
 * service acting on another process attaches to it first). Queries are in vmquery.c,
 * locking pages in pagelock.c, write watch in writewatch.c.
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
const uint8_t MiProtectionIndexByBit[8] = {0, 1, 4, 5, 2, 3, 6, 7};

mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection)
{
    uint32_t base = protection & MI_PROTECTION_BASE_MASK;

    /* One base protection, and one that allows access. */
    KASSERT(base > PAGE_NOACCESS && (base & (base - 1)) == 0);
    uint32_t index = MiProtectionIndexByBit[__builtin_ctz(base)];
    /* Copy-on-write pages are read-only to the hardware: the first write copies them. */
    mmpte_t pte = pte_make_user(pfn, base == PAGE_READWRITE || base == PAGE_EXECUTE_READWRITE);
    /*
     * The PTE is the current space's: its DEP setting decides (MmSetExecuteDisable). The
     * two-level format has no execute-disable bit to give.
     */
    ptebits_t no_execute = MM_PAE && !MiProtectionIsExecutable(base)
                               ? MmCurrentAddressSpace()->no_execute_bit
                               : 0;
    return (mmpte_t){pte.value | index << PTE_SOFTWARE_SHIFT | no_execute |
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
        MiReleasePageReferenceLocked(table_pfn);
    }
}

mmpte_t MiWriteUserPte(vaddr_t va, mmpte_t value)
{
    mmpte_t *pte = pte_of(va);
    mmpte_t old = MiWritePte(pte, value);

    if (MiIsPresentPte(old) || MiIsPresentPte(value))
        account_page(va, old, value);
    if (value.value == 0)
        release_table_entry(va, old.value != 0);
    else if (old.value == 0)
        page_table_entry(va)->used_entries++;
    return old;
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
        MiDeletePteContents(MiWriteUserPte(va, pte_zero()));
        pages++;
    }
    MiReleasePfnLock(old_irql);
    MiReturnCommitment(&space->commit_charge, pages);
}

void MiDeletePteFrameOrSlot(mmpte_t pte)
{
    MiAssertPfnLockHeld();
    if (MiIsPresentPte(pte)) {
        if (pte_is_valid(pte) && (pte.value & PTE_DIRTY))
            MiGetPfnEntry(pte_pfn(pte))->flags |= MI_PFN_MODIFIED;
        MiReleasePageReferenceLocked(pte_pfn(pte));
    } else if (MiIsTransitionPte(pte)) {
        MiFreeTransitionPageLocked(pte_pfn(pte));
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
bool MiPageRange(vaddr_t base, uint32_t size, vaddr_t *start, vaddr_t *end)
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
        if (!MiPageRange(*base, *size, &start, &end))
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
    ntstatus_t status = MiReserveUserRangeLocked(&placed, end - start, MI_VAD_PRIVATE, 0,
                                                 protection);
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

    if (!MiPageRange(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
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

    MiDeletePteContents(MiWriteUserPte(va, MiMakeDemandZeroPte(MiPteProtection(old))));
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

    if (!MiPageRange(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
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
        if (!MiPageRange(*base, *size, &start, &end) || end - 1 > vad->end)
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
 * zero is freed, so no write may need it after that. The PFN lock throughout: a page in
 * transition may not be taken for reuse between the look at its PTE and the new one.
 */
static void protect_pages(const struct mmvad *vad, vaddr_t start, vaddr_t end,
                          uint32_t protection)
{
    KIRQL old_irql = MiAcquirePfnLock();

    for (int zeros = 0; zeros < 2; zeros++) {
        for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
            mmpte_t *pte = MiGetPte(va, false);
            mmpte_t old = pte ? *pte : pte_zero();
            mmpte_t new = protected_pte(vad, va, old, protection);
            if (new.value != old.value && (new.value == 0) == zeros)
                MiWriteUserPte(va, new);
        }
    }
    MiReleasePfnLock(old_irql);
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
    if (!MiPageRange(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
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

    *old_protection = MiPageProtection(vad, start);
    protect_pages(vad, start, end, protection);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

#define USER_STACK_RESERVE 0x100000     /* every thread gets 1 MB */

/* MmDeleteUserStack's work, space's working-set lock held. */
static void delete_user_stack(struct mm_address_space *space, vaddr_t base)
{
    struct mmvad *vad = MiLocateVad(&space->vads, base);

    KASSERT(vad && vad->start == base && vad->flags & MI_VAD_FLAG_STACK);
    decommit_pages(space, vad->start, vad->end + 1);
    MiDeleteVad(space, vad);
}

ntstatus_t MmCreateUserStack(uint32_t commit, vaddr_t *base, vaddr_t *top)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    ntstatus_t status;

    commit = ALIGN_UP(MAX(commit, (uint32_t)PAGE_SIZE), (uint32_t)PAGE_SIZE);
    commit = MIN(commit, (uint32_t)USER_STACK_RESERVE - 2 * PAGE_SIZE);
    *base = 0;
    status = MiReserveUserRangeLocked(base, USER_STACK_RESERVE, MI_VAD_PRIVATE,
                                      MI_VAD_FLAG_STACK, PAGE_READWRITE);
    if (!NT_SUCCESS(status))
        return status;
    *top = *base + USER_STACK_RESERVE;
    status = MiCommitUserRangeLocked(*top - commit, commit, PAGE_READWRITE);
    if (NT_SUCCESS(status))
        status = MiCommitUserRangeLocked(*top - commit - PAGE_SIZE, PAGE_SIZE,
                                         PAGE_READWRITE | PAGE_GUARD);
    if (!NT_SUCCESS(status))
        delete_user_stack(MmCurrentAddressSpace(), *base);
    return status;
}

void MmDeleteUserStack(vaddr_t base)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    delete_user_stack(MmCurrentAddressSpace(), base);
}
