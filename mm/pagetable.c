/*
 * The two page-table primitives. Every other piece of the kernel that reads or writes
 * page tables goes through these, and they reach the tables only through the self-map:
 * no physical address of a page table is ever dereferenced. Their stores, and the TLB
 * work after them, are the PTE writer's (mm/pte.c).
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/pte_format.h"

mmpte_t *MiGetPteWithoutTable(vaddr_t va, bool create, bool locked)
{
    mmpte_t *pde = pde_of(va);

    if (pte_is_valid(*pde))
        return pte_of(va);
    if (!create)
        return NULL;
    bool user = va < MmSystemRangeStart, zeroed;
    pfn_t pfn = MiAllocatePageTablePage(user ? MI_USE_USER_PAGE_TABLE : MI_USE_PAGE_TABLE,
                                        locked, &zeroed);
    if (pfn == PFN_INVALID)
        return NULL;
    if (user)
        MiWritePte(pde, pde_make_table(pfn, true));
    else
        MiInsertSystemPde(va, pde_make_table(pfn, false));
    /*
     * No stale view of an earlier table can be left in the self-map: freeing a table
     * (MiWriteUserPte) flushes its window. A boot page is cleared here.
     */
    if (!zeroed)
        MiZeroPageTable(va);
    return pte_of(va);
}

ntstatus_t MiMapRange(vaddr_t va, paddr_t physical, size_t length, mmpte_t pte_template)
{
    KASSERT(va % PAGE_SIZE == 0 && physical % PAGE_SIZE == 0 && length % PAGE_SIZE == 0);
    KASSERT((pte_template.value & PTE_FRAME_MASK) == 0);
    if (length == 0)
        return STATUS_SUCCESS;
    if (va + length - 1 < va || physical + length - 1 < physical)
        return STATUS_INVALID_PARAMETER;

    /* Decode: every page table exists and every PTE is free, or nothing changes. */
    for (size_t offset = 0; offset < length; offset += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va + offset, true);
        if (!pte)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (pte_is_valid(*pte))
            return STATUS_CONFLICTING_ADDRESSES;
    }
    /*
     * Perform. The PTEs were not present, and the TLB never holds a translation for a
     * not-present entry (SDM vol. 3A, 4.10.2.3), so nothing needs flushing.
     */
    for (size_t offset = 0; offset < length; offset += PAGE_SIZE)
        MiWritePte(pte_of(va + offset), (mmpte_t){pte_template.value |
                                                  pfn_to_paddr(paddr_to_pfn(physical + offset))});
    return STATUS_SUCCESS;
}

void MiUnmapRange(vaddr_t va, size_t length)
{
    KASSERT(va % PAGE_SIZE == 0 && length % PAGE_SIZE == 0);
    for (size_t offset = 0; offset < length; offset += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va + offset, false);
        if (pte && pte_is_valid(*pte))
            MiWritePte(pte, pte_zero());
    }
}

bool MmGetPhysicalAddress(vaddr_t va, paddr_t *physical)
{
    mmpte_t *pte = MiGetPte(va, false);

    if (!pte || !pte_is_valid(*pte))
        return false;
    *physical = pfn_to_paddr(pte_pfn(*pte)) | (va & (PAGE_SIZE - 1));
    return true;
}

bool MmMapStartupPage(paddr_t physical)
{
    /* Executable (no XD), supervisor (so SMEP lets ring 0 run it), read-only. */
    mmpte_t executable = {PTE_VALID};

    KASSERT(physical < 0x100000 && physical % PAGE_SIZE == 0);
    return NT_SUCCESS(MiMapRange((vaddr_t)physical, physical, PAGE_SIZE, executable));
}

void MmUnmapStartupPage(paddr_t physical)
{
    vaddr_t va = (vaddr_t)physical;

    MiUnmapRange(va, PAGE_SIZE);
    /* Its table held nothing else (the system process has no user pages): it goes too. */
    mmpte_t *pde = pde_of(va);
    if (pte_is_valid(*pde)) {
        pfn_t table = pte_pfn(*pde);
        MiWritePte(pde, pte_zero());
        MiReleasePageReference(table);
    }
}
