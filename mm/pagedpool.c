/*
 * Paged pool: kernel memory that may leave RAM, as user memory does. Its pages lie in
 * one range of system space whose page tables are made at boot (so a PTE there can
 * always be written); an allocated page starts as a demand-zero PTE, gets a frame on
 * its first touch, and lives in the system working set from then on. The trimmer takes
 * pages out of it like out of a process's working set (transition PTE, standby or
 * modified list, pagefile), and a fault in kernel mode brings them back.
 *
 * The rule that keeps this safe: code that runs with interrupts off never touches paged
 * pool, since the fault that brings a page back may have to wait for the disk. The trap
 * handler stops the machine, naming the address, when the rule is broken; the nonpaged
 * pool stays the only pool for such code.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/bitmap.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/syspte.h"
#include "mm/virtual.h"
#include "mm/workset.h"

#define TAG_PAGED_POOL_MAP  0x6d506150  /* 'PaPm' */
#define PAGED_POOL_MAX_PAGES 8192       /* 32 MB of address space at most */

struct mm_working_set MiSystemWorkingSet;

vaddr_t MmPagedPoolStart, MmPagedPoolEnd;
static struct bitmap allocated;         /* one bit a page of the range */
static uint32_t paged_pool_commit;      /* pages charged for paged pool */

bool MiIsPagedPoolPageAllocated(vaddr_t va)
{
    return MmIsPagedPoolAddress(va) &&
           bitmap_test(&allocated, (va - MmPagedPoolStart) / PAGE_SIZE);
}

void MiInitializePagedPool(void)
{
    /* A quarter of RAM's worth of address space, so small machines keep their PTEs. */
    uint32_t pages = ALIGN_UP(CLAMP(MmNumberOfPhysicalPages / 4, 256u,
                                    (uint32_t)PAGED_POOL_MAX_PAGES), 32u);
    vaddr_t start = MiReserveSystemPtes(pages);

    allocated.size = pages;
    allocated.words = ExAllocatePoolWithTag(NonPagedPool, pages / 8, TAG_PAGED_POOL_MAP);
    if (!start || !allocated.words || !MiInitializeWorkingSet(&MiSystemWorkingSet))
        panic("no memory for paged pool (%u pages)", pages);
    memset(allocated.words, 0, pages / 8);
    for (vaddr_t va = start; va - start < pages * PAGE_SIZE;
         va = ALIGN_DOWN(va, (vaddr_t)PDE_SPAN) + PDE_SPAN)
        if (!MiGetPte(va, true))
            panic("no memory for paged pool's page tables");
    MiSystemWorkingSet.minimum = 0;
    MmPagedPoolStart = start;
    MmPagedPoolEnd = start + pages * PAGE_SIZE;
}

vaddr_t MiAllocatePagedPoolPages(uint32_t count)
{
    MI_WORKING_SET_GUARD(&MiSystemWorkingSet);     /* the bitmap and the pages' PTEs */
    uint32_t first = bitmap_find_clear_run(&allocated, count, 0);

    if (first == BITMAP_NONE || !MiChargeCommitment(&paged_pool_commit, count))
        return 0;
    bitmap_set_range(&allocated, first, count);
    vaddr_t va = MmPagedPoolStart + first * PAGE_SIZE;
    for (uint32_t i = 0; i < count; i++)
        MiWritePte(pte_of(va + i * PAGE_SIZE), MiMakeDemandZeroPte(PAGE_READWRITE));
    return va;
}

void MiFreePagedPoolPages(vaddr_t va, uint32_t count)
{
    MI_WORKING_SET_GUARD(&MiSystemWorkingSet);
    KIRQL old = MiAcquirePfnLock();
    for (uint32_t i = 0; i < count; i++) {
        vaddr_t page = va + i * PAGE_SIZE;
        mmpte_t pte = *pte_of(page);
        KASSERT(MiIsPagedPoolPageAllocated(page));
        MiWritePte(pte_of(page), pte_zero());
        if (pte_is_valid(pte)) {
            MiRemoveWorkingSetEntry(&MiSystemWorkingSet, page);
            MiInsertPageInFreeListLocked(pte_pfn(pte));
        } else {
            MiDeletePteContents(pte);   /* a page in transition, or a pagefile slot */
        }
    }
    MiReleasePfnLock(old);
    bitmap_clear_range(&allocated, (va - MmPagedPoolStart) / PAGE_SIZE, count);
    MiReturnCommitment(&paged_pool_commit, count);
}

void MiEvictPagedPoolPage(vaddr_t va)
{
    /* The PFN lock: the PTE and the frame's list change together. */
    KIRQL old = MiAcquirePfnLock();
    mmpte_t *pte = pte_of(va);
    pfn_t pfn = pte_pfn(*pte);

    if (MiWritePte(pte, MiMakeTransitionPte(pfn, PAGE_READWRITE)).value & PTE_DIRTY)
        MiGetPfnEntry(pfn)->flags |= MI_PFN_MODIFIED;
    MiRemoveWorkingSetEntry(&MiSystemWorkingSet, va);
    MiInsertTransitionPageLocked(pfn);
    MiReleasePfnLock(old);
    MmStatistics.pages_trimmed++;
}

/*
 * The pool's next pages whose slots follow join the read (mm/pagefile.h), up to the end
 * of the pool: they wait on the standby list for their own touch.
 */
static void read_ahead(mmpte_t *pte, struct mi_in_page_wait *wait)
{
    pfn_t pfn;

    for (mmpte_t *next = pte + 1; next < pte_of(MmPagedPoolEnd) &&
         MiReadAheadLocked(wait, *next, MI_USE_PAGED_POOL, &pfn); next++) {
        MiSetPteOwner(pfn, next);
        MiWritePte(next, MiMakeTransitionPte(pfn, PAGE_READWRITE));
    }
}

/*
 * The frame for paged pool page va, brought back or new; STATUS_NO_MEMORY if none, and
 * STATUS_PENDING when it must be read (or is being read) first, as for a user page.
 */
static ntstatus_t get_frame(mmpte_t *pte, pfn_t *pfn, struct mi_in_page_wait *wait)
{
    if (MiIsTransitionPte(*pte) || MiIsPagefilePte(*pte)) {
        ntstatus_t status = MiBringPageBack(*pte, MI_USE_PAGED_POOL, pfn, wait);
        if (status == STATUS_PENDING && wait->reader) {
            MiSetPteOwner(*pfn, pte);
            MiWritePte(pte, MiMakeTransitionPte(*pfn, PAGE_READWRITE));
            read_ahead(pte, wait);
        }
        return status;
    }
    KASSERT(MiIsDemandZeroPte(*pte));
    *pfn = MiRemoveZeroPageLocked(MI_USE_PAGED_POOL);
    if (*pfn == PFN_INVALID)
        return STATUS_NO_MEMORY;
    MmStatistics.demand_zero_faults++;
    return STATUS_SUCCESS;
}

/*
 * Kernel code cannot be told "no memory" for a touch of paged pool, so a fault that
 * finds no frame reclaims memory the hard way (every working set emptied, every
 * modified page written) and tries again; the commit charge the pool holds promises
 * the page a frame or a slot, so only a disk that cannot be read makes it fail.
 */
ntstatus_t MiPagedPoolFault(vaddr_t va)
{
    enum { ATTEMPTS = 3 };
    MI_WORKING_SET_GUARD(&MiSystemWorkingSet);
    pfn_t pfn = PFN_INVALID;
    unsigned attempt = 0;

    if (!MiIsPagedPoolPageAllocated(va))
        return STATUS_ACCESS_VIOLATION;
    for (;;) {
        struct mi_in_page_wait wait;
        MiMakeRoomForFault(va);
        mmpte_t *pte = pte_of(va);
        if (pte_is_valid(*pte))
            return STATUS_SUCCESS;
        /* The PFN lock from the look at the PTE to the new one (see MmAccessFault). */
        KIRQL old = MiAcquirePfnLock();
        ntstatus_t status = get_frame(pte, &pfn, &wait);
        if (status == STATUS_SUCCESS) {
            MiSetPteOwner(pfn, pte);
            MiWritePte(pte, pte_make_kernel(pfn, true));
            MiInsertWorkingSetEntry(&MiSystemWorkingSet, va);
        }
        MiReleasePfnLock(old);
        if (status == STATUS_PENDING) {
            /* The read with no lock held, as a user page's (mm/fault.c); then look again. */
            MiUnlockWorkingSet(&MiSystemWorkingSet);
            status = MiFinishPageWait(&wait);
            MiLockWorkingSet(&MiSystemWorkingSet);
            if (!NT_SUCCESS(status))
                return status;
            continue;
        }
        if (status != STATUS_NO_MEMORY || ++attempt == ATTEMPTS)
            return status;
        MiReclaimMemory(va);
    }
}
