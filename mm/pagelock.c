/*
 * Locking pages in the working set (NtLockVirtualMemory, NtUnlockVirtualMemory): a
 * locked page is marked in its working-set entry (MI_WORKING_SET_LOCKED) and no trim
 * takes it out until it is unlocked or its range is freed. As on NT, a working set keeps
 * a few pages of its minimum that cannot be locked.
 */
#include "arch/layout.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

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
        uint32_t protection = vad ? MiPageProtection(vad, va) : 0;
        if ((protection & MI_PROTECTION_BASE_MASK) == 0 ||
            (protection & MI_PROTECTION_BASE_MASK) == PAGE_NOACCESS)
            return STATUS_ACCESS_VIOLATION;
        if (protection & PAGE_GUARD) {
            ntstatus_t status = MiAccessFaultLocked(va, MM_ACCESS_READ);
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
        ntstatus_t status = MiAccessFaultLocked(va, MM_ACCESS_READ);
        if (!NT_SUCCESS(status))
            return status;
    }
}

ntstatus_t MmLockVirtualMemory(vaddr_t *base, uint32_t *size)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start, end;

    if (!MiPageRange(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
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

    if (!MiPageRange(*base, *size, &start, &end) || end - 1 > space->highest_user_address)
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
