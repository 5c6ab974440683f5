/*
 * Kernel stacks: a run of system PTEs whose lowest page is left unmapped, so that a
 * stack overflow faults on the guard page (and ends in the double-fault report)
 * instead of running over whatever lies below.
 */
#include "mm/mi.h"

bool MmCreateKernelStack(uint32_t pages, vaddr_t *base, vaddr_t *top)
{
    vaddr_t guard = MiReserveSystemPtes(pages + 1);

    if (!guard)
        return false;
    vaddr_t stack = guard + PAGE_SIZE;
    for (uint32_t i = 0; i < pages; i++) {
        pfn_t pfn = MiRemoveAnyPage(MI_USE_KERNEL_STACK);
        if (pfn == PFN_INVALID ||
            !NT_SUCCESS(MiMapRange(stack + i * PAGE_SIZE, pfn_to_paddr(pfn), PAGE_SIZE,
                                   pte_make_kernel(0, true)))) {
            if (pfn != PFN_INVALID)
                MiInsertPageInFreeList(pfn);
            MmDeleteKernelStack(stack, i);
            return false;
        }
    }
    *base = stack;
    *top = stack + pages * PAGE_SIZE;
    return true;
}

void MmDeleteKernelStack(vaddr_t base, uint32_t pages)
{
    for (uint32_t i = 0; i < pages; i++) {
        vaddr_t va = base + i * PAGE_SIZE;
        paddr_t physical;
        if (MmGetPhysicalAddress(va, &physical)) {
            MiUnmapRange(va, PAGE_SIZE);
            MiInsertPageInFreeList(paddr_to_pfn(physical));
        }
    }
    MiReleaseSystemPtes(base - PAGE_SIZE, pages + 1);
}
