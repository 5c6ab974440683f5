/*
 * Kernel stacks: a run of system PTEs whose lowest page is left unmapped, so that a
 * stack overflow faults on the guard page (and ends in the double-fault report)
 * instead of running over whatever lies below. And the charge for such memory.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/syspte.h"
#include "mm/virtual.h"

uint32_t MmResidentAvailablePages;
static uint32_t nonpaged_commit;     /* the commit account of what is charged here */

/* MmResidentAvailablePages and the nonpaged commit account; taken before the commit lock. */
static struct lock_class resident_lock_class = LOCK_CLASS_SPIN("resident available pages");
static struct kspin_lock resident_lock = KSPIN_LOCK_INIT(resident_lock_class);

ntstatus_t MmChargeNonPagedMemory(uint32_t pages)
{
    KIRQL old = KeAcquireSpinLock(&resident_lock);
    ntstatus_t status = STATUS_INSUFFICIENT_RESOURCES;

    if (pages <= MmResidentAvailablePages) {
        status = STATUS_COMMITMENT_LIMIT;
        if (MiChargeCommitment(&nonpaged_commit, pages)) {
            MmResidentAvailablePages -= pages;
            status = STATUS_SUCCESS;
        }
    }
    KeReleaseSpinLock(&resident_lock, old);
    return status;
}

void MmReturnNonPagedMemory(uint32_t pages)
{
    KIRQL old = KeAcquireSpinLock(&resident_lock);

    MiReturnCommitment(&nonpaged_commit, pages);
    MmResidentAvailablePages += pages;
    KeReleaseSpinLock(&resident_lock, old);
}

/* Unmaps and frees the frames of stack pages [0, mapped) of the stack at base. */
static void free_stack_pages(vaddr_t base, uint32_t mapped)
{
    for (uint32_t i = 0; i < mapped; i++) {
        vaddr_t va = base + i * PAGE_SIZE;
        paddr_t physical;
        if (MmGetPhysicalAddress(va, &physical)) {
            MiUnmapRange(va, PAGE_SIZE);
            MiInsertPageInFreeList(paddr_to_pfn(physical));
        }
    }
}

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
            free_stack_pages(stack, i);
            MiReleaseSystemPtes(guard, pages + 1);
            return false;
        }
    }
    *base = stack;
    *top = stack + pages * PAGE_SIZE;
    return true;
}

void MmDeleteKernelStack(vaddr_t base, uint32_t pages)
{
    free_stack_pages(base, pages);
    MiReleaseSystemPtes(base - PAGE_SIZE, pages + 1);
}
