/*
 * NtQueryVirtualMemory's classes: the basic information of a region (pages of one VAD
 * with the same state and protection), the region information of a whole VAD, and the
 * working-set list with each page's protection mask and share count.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/section.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

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
uint32_t MiPageProtection(const struct mmvad *vad, vaddr_t va)
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
    uint32_t protection = MiPageProtection(vad, page);
    vaddr_t va = page + PAGE_SIZE;
    while (va - 1 < vad->end && MiPageProtection(vad, va) == protection)
        va += PAGE_SIZE;
    info->allocation_base = vad->start;
    info->allocation_protect = vad->protection;
    info->region_size = va - page;
    info->state = protection ? MEM_COMMIT : MEM_RESERVE;
    info->protect = protection;
    info->type = vad_memory_type(vad);
    return STATUS_SUCCESS;
}


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
        if (MiPageProtection(vad, va))
            info->commit_size += PAGE_SIZE;
    return STATUS_SUCCESS;
}

/* A PAGE_* protection as NT's 5-bit protection mask (MEMORY_WORKING_SET_INFORMATION). */
static uint32_t nt_protection_mask(uint32_t protection)
{
    uint32_t mask = MiProtectionIndex(protection);

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
