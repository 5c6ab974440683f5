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
#include "kernel/panic.h"
#include "mm/mi.h"

uint32_t MmTotalCommittedPages;
uint32_t MmTotalCommitLimit;
uint32_t MmPeakCommitment;

/* ---- protections in valid PTEs ---- */

/* The protections a valid user page can have, by the index kept in PTE bits 9-11. */
static const uint16_t protection_by_index[8] = {
    0, PAGE_READONLY, PAGE_EXECUTE, PAGE_EXECUTE_READ,
    PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
};

mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection)
{
    uint32_t index = 0;

    while (index < 8 && protection_by_index[index] != protection)
        index++;
    KASSERT(index > 0 && index < 8);
    /* Copy-on-write pages are read-only to the hardware: the first write copies them. */
    mmpte_t pte = pte_make_user(pfn, protection == PAGE_READWRITE ||
                                     protection == PAGE_EXECUTE_READWRITE);
    pte.value |= index << PTE_SOFTWARE_SHIFT;
    return pte;
}

uint32_t MiPteProtection(mmpte_t pte)
{
    if (pte_is_valid(pte))
        return protection_by_index[(pte.value & PTE_SOFTWARE_MASK) >> PTE_SOFTWARE_SHIFT];
    return (pte.value >> MI_PTE_PROTECTION_SHIFT) & MI_PTE_PROTECTION_MASK;
}

/* ---- commit charge ---- */

bool MiChargeCommitment(uint32_t *account, uint32_t pages)
{
    uint32_t flags = cpu_save_disable_interrupts();
    bool ok = pages <= MmTotalCommitLimit - MmTotalCommittedPages;

    if (ok) {
        MmTotalCommittedPages += pages;
        MmPeakCommitment = MAX(MmPeakCommitment, MmTotalCommittedPages);
        *account += pages;
    }
    cpu_restore_interrupts(flags);
    return ok;
}

void MiReturnCommitment(uint32_t *account, uint32_t pages)
{
    uint32_t flags = cpu_save_disable_interrupts();

    KASSERT(pages <= *account && pages <= MmTotalCommittedPages);
    MmTotalCommittedPages -= pages;
    *account -= pages;
    cpu_restore_interrupts(flags);
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

    if (pte_is_valid(old) && (old.value & PTE_DIRTY))
        MiGetPfnEntry(pte_pfn(old))->flags |= MI_PFN_MODIFIED;
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

void MiWriteUserPte(vaddr_t va, mmpte_t value)
{
    mmpte_t *pte = pte_of(va);
    struct mmpfn *table = page_table_entry(va);
    bool was_used = pte->value != 0, used = value.value != 0;
    bool was_valid = pte_is_valid(*pte);
    mmpte_t old = *pte;

    *pte = value;
    if (was_valid)
        cpu_invlpg(va);
    if (MiIsPresentPte(old) || MiIsPresentPte(value))
        account_page(va, old, value);
    if (used && !was_used)
        table->used_entries++;
    else if (!used && was_used)
        table->used_entries--;
    if (table->used_entries == 0 && !used) {
        /* The table's last entry is gone: the table goes too (and its self-map view). */
        pfn_t table_pfn = pte_pfn(*pde_of(va));
        *pde_of(va) = pte_zero();
        cpu_invlpg(ALIGN_DOWN((vaddr_t)pte, (vaddr_t)PAGE_SIZE));
        MiReleasePageReference(table_pfn);
    }
}

/*
 * Makes the committed pages of [start, end) uncommitted: their frames go, and their
 * charge comes back (once, for the whole range).
 */
static void decommit_pages(struct mm_address_space *space, vaddr_t start, vaddr_t end)
{
    uint32_t pages = 0;

    for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        if (!pte || pte->value == 0)
            continue;
        mmpte_t old = *pte;
        MiWriteUserPte(va, pte_zero());
        MiDeletePteContents(old);
        pages++;
    }
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
    for (vaddr_t va = start; va < end; va += PAGE_SIZE)
        if (pte_of(va)->value == 0)
            MiWriteUserPte(va, MiMakeDemandZeroPte(protection));
}

/* ---- the services ---- */

/* True for the protections a private allocation may have (no copy-on-write). */
static bool private_protection_is_valid(uint32_t protection)
{
    uint32_t base = protection & ~PAGE_GUARD;

    return MiProtectionIsValid(protection) && base != PAGE_WRITECOPY &&
           base != PAGE_EXECUTE_WRITECOPY && !(base == PAGE_NOACCESS && protection & PAGE_GUARD);
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
            return STATUS_INVALID_PARAMETER;
        start = ALIGN_DOWN(start, (vaddr_t)MM_ALLOCATION_GRANULARITY);
        if (start < MM_LOWEST_USER_ADDRESS || end - 1 > highest)
            return STATUS_INVALID_PARAMETER;
        if (MiCheckForConflictingVad(&space->vads, start, end - 1))
            return STATUS_CONFLICTING_ADDRESSES;
    }
    bool commit = type & MEM_COMMIT;
    uint32_t pages = (end - start) / PAGE_SIZE;
    if (commit && !MiChargeCommitment(&space->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    vaddr_t placed = start;
    ntstatus_t status = MmReserveUserRange(&placed, end - start, MI_VAD_PRIVATE, 0, protection);
    if (NT_SUCCESS(status) && commit && !make_page_tables(start, end)) {
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

/* MEM_COMMIT alone at an address: pages of one existing private reservation. */
static ntstatus_t commit(struct mm_address_space *space, vaddr_t *base, uint32_t *size,
                         uint32_t protection)
{
    vaddr_t start, end;

    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    if (!vad || end - 1 > vad->end || vad->type != MI_VAD_PRIVATE)
        return STATUS_CONFLICTING_ADDRESSES;
    uint32_t pages = count_uncommitted(start, end);
    if (!MiChargeCommitment(&space->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    if (!make_page_tables(start, end)) {
        MiReturnCommitment(&space->commit_charge, pages);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    commit_pages(start, end, protection);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

ntstatus_t MmAllocateVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type,
                                   uint32_t protection, vaddr_t highest)
{
    struct mm_address_space *space = MmCurrentAddressSpace();

    if (highest == 0 || highest > space->highest_user_address)
        highest = space->highest_user_address;
    if ((type & ~(MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN)) ||
        !(type & (MEM_COMMIT | MEM_RESERVE)))
        return STATUS_INVALID_PARAMETER;
    if (!private_protection_is_valid(protection))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (*size == 0)
        return STATUS_INVALID_PARAMETER;
    /* With no address, a commit reserves as well (as VirtualAlloc documents). */
    if (type & MEM_RESERVE || *base == 0)
        return reserve(space, base, size, type, protection, highest);
    return commit(space, base, size, protection);
}

ntstatus_t MmFreeVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t type)
{
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (type != MEM_DECOMMIT && type != MEM_RELEASE)
        return STATUS_INVALID_PARAMETER;
    if (*base > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    struct mmvad *vad = MiLocateVad(&space->vads, *base);
    if (!vad)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (vad->type != MI_VAD_PRIVATE || vad->flags & MI_VAD_FLAG_STACK ||
        vad->start == MM_SHARED_USER_DATA)
        return STATUS_UNABLE_TO_DELETE_SECTION;
    /*
     * Size 0 means the whole reservation, so base must be its base (NT's rule for both
     * kinds). Otherwise the range is every page [base, base + size) touches; it must
     * stay inside the reservation, and a release must cover exactly all of it.
     */
    if (*size == 0) {
        if (ALIGN_DOWN(*base, (vaddr_t)PAGE_SIZE) != vad->start)
            return STATUS_FREE_VM_NOT_AT_BASE;
        start = vad->start;
        end = vad->end + 1;
    } else {
        if (!page_range(*base, *size, &start, &end))
            return STATUS_INVALID_PARAMETER;
        if (end - 1 > vad->end)
            return STATUS_UNABLE_TO_FREE_VM;
        if (type == MEM_RELEASE && start != vad->start)
            return STATUS_FREE_VM_NOT_AT_BASE;
        if (type == MEM_RELEASE && end - 1 != vad->end)
            return STATUS_INVALID_PARAMETER;    /* no splitting a reservation */
    }
    decommit_pages(space, start, end);
    if (type == MEM_RELEASE)
        MiDeleteVad(space, vad);
    *base = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

ntstatus_t MmProtectVirtualMemory(vaddr_t *base, uint32_t *size, uint32_t protection,
                                  uint32_t *old_protection)
{
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (!MiProtectionIsValid(protection) ||
        ((protection & ~PAGE_GUARD) == PAGE_NOACCESS && protection & PAGE_GUARD))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (!page_range(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
        return STATUS_INVALID_PARAMETER;
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    if (!vad || end - 1 > vad->end)
        return STATUS_CONFLICTING_ADDRESSES;
    /* Section-backed pages, and KUSER_SHARED_DATA (one page for everyone), keep theirs. */
    if (vad->owner || vad->start == MM_SHARED_USER_DATA)
        return STATUS_NOT_SUPPORTED;
    uint32_t base_protection = protection & ~PAGE_GUARD;
    if (vad->type == MI_VAD_PRIVATE && (base_protection == PAGE_WRITECOPY ||
                                        base_protection == PAGE_EXECUTE_WRITECOPY))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (count_uncommitted(start, end))
        return STATUS_NOT_COMMITTED;

    *old_protection = MiPteProtection(*pte_of(start));
    bool accessible = base_protection != PAGE_NOACCESS && !(protection & PAGE_GUARD);
    for (vaddr_t va = start; va < end; va += PAGE_SIZE) {
        mmpte_t pte = *pte_of(va);
        if (MiIsDemandZeroPte(pte))
            MiWriteUserPte(va, MiMakeDemandZeroPte(protection));
        else if (MiIsTransitionPte(pte))
            MiWriteUserPte(va, MiMakeTransitionPte(pte_pfn(pte), protection));
        else if (MiIsPagefilePte(pte))
            MiWriteUserPte(va, MiMakePagefilePte(MiPagefilePteSlot(pte), protection));
        else if (accessible)
            MiWriteUserPte(va, MiMakeValidUserPte(pte_pfn(pte), protection));
        else
            MiWriteUserPte(va, MiMakeResidentPte(pte_pfn(pte), protection));
    }
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
 * PTE is still zero is committed with the view's protection (its prototype backs it).
 */
static uint32_t page_protection(const struct mmvad *vad, vaddr_t va)
{
    mmpte_t *pte = MiGetPte(va, false);

    if (pte && pte->value != 0)
        return MiPteProtection(*pte);
    return vad->owner ? MiSectionPageProtection(vad, va) : 0;
}

ntstatus_t MmQueryVirtualMemory(vaddr_t address, struct nt_memory_basic_information *info)
{
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
    struct mm_address_space *space = MmCurrentAddressSpace();
    struct mmvad *vad = MiLocateVad(&space->vads, base);

    KASSERT(vad && vad->start == base && vad->flags & MI_VAD_FLAG_STACK);
    decommit_pages(space, vad->start, vad->end + 1);
    MiDeleteVad(space, vad);
}
