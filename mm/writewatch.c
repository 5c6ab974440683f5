/*
 * Write watch (MEM_WRITE_WATCH regions, NtGetWriteWatch, NtResetWriteWatch): a page of
 * such a VAD counts as written when its PTE is dirty now, or when a dirty PTE of it was
 * replaced since the last reset (MiCaptureWriteWatch, called by MiWriteUserPte's books).
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

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

    if (base == 0 || !MiPageRange(base, size, start, end) ||
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
