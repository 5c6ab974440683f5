/*
 * The modified-page writer, as NT's MiModifiedPageWriter: a system thread that writes
 * modified pages to the pagefile in clusters -- up to MI_PAGEFILE_BATCH pages into as
 * many contiguous slots, one disk request each -- after which they are standby pages,
 * reusable without any I/O. It sleeps until the modified list passes its high mark or a
 * fault finds reusable pages short, then writes until the list is down to half the mark
 * and reusable pages are back above their target.
 *
 * It writes with no lock held. The pages of a cluster are taken off the modified list
 * and marked MI_PFN_WRITE_IN_PROGRESS, their modified flag cleared, their owners' PTEs
 * left in transition. Meanwhile a fault may take a page back (it stays in flight, now in
 * use), a trim may put it back on a list, and it may be freed (MI_PFN_DELETED: it goes to
 * the free list when the write ends, the disk reading it until then). When the write
 * ends, a page not dirtied again keeps its slot as its clean copy -- on the standby list,
 * or in use -- and a page dirtied again (its modified flag set anew) gives the slot up
 * and stays modified, to be written again later.
 *
 * A fault that needs reusable pages wakes the writer and waits for it (a bounded while)
 * instead of writing pages itself; where it cannot wait (interrupts off), or before the
 * writer runs, it writes a few clusters itself as before (mm/workset.c).
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "ke/event.h"
#include "lib/panic.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/workset.h"

/* How long a fault waits for the writer's progress before it goes on regardless. */
#define FAULT_WAIT_TICKS 20

struct mi_modified_writer_statistics MiModifiedWriterStatistics;
uint32_t MiModifiedWriterDelay;

static struct kevent wake_event;        /* set to wake the writer */
static struct kevent progress_event;    /* set each time the writer has finished a cluster */
static volatile bool writer_running;
static volatile bool busy;                  /* awake, in a round of writes */
static volatile bool write_all;             /* MiAskWriterToWriteAll: every page, once */

void MiWakeModifiedPageWriter(void)
{
    if (writer_running && !wake_event.signaled)
        KeSetEvent(&wake_event);
}

void MiModifiedPageAdded(void)
{
    if (MmModifiedPageListHead.count == MiHighModifiedPages + 1)
        MiWakeModifiedPageWriter();
}

/*
 * Modified pages to write: past half the mark, or any while reusable pages are short or
 * all were asked for.
 */
static bool has_work(void)
{
    uint32_t modified = MmModifiedPageListHead.count;

    if (modified == 0)
        write_all = false;
    return MiPagefile.present && modified > 0 &&
           (modified > MiHighModifiedPages / 2 || MiReusablePages() < 2 * MiLowReusablePages ||
            write_all);
}

void MiAskWriterToWriteAll(void)
{
    write_all = true;
    MiWakeModifiedPageWriter();
}

/*
 * PFN lock held: the write of pfn to slot ended with status. The page keeps the slot as
 * its clean copy if nothing changed it meanwhile; otherwise the slot is given up.
 */
static void end_write(pfn_t pfn, uint32_t slot, ntstatus_t status)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    if (!(entry->flags & MI_PFN_WRITE_IN_PROGRESS)) {
        /* Written meanwhile by a synchronous write and reused: not this write's any more. */
        MiReleasePagefileSlot(slot);
        return;
    }
    entry->flags &= ~MI_PFN_WRITE_IN_PROGRESS;
    if (entry->flags & MI_PFN_DELETED) {
        entry->flags &= ~MI_PFN_DELETED;
        MiReleasePagefileSlot(slot);
        MiInsertPageInFreeListLocked(pfn);
        MiModifiedWriterStatistics.redirtied++;
        return;
    }
    bool kept = NT_SUCCESS(status) && entry->pagefile_slot == 0 &&
                !(entry->flags & (MI_PFN_MODIFIED | MI_PFN_RESET));
    if (kept) {
        entry->pagefile_slot = slot;
    } else {
        MiReleasePagefileSlot(slot);
        if (!NT_SUCCESS(status) && !(entry->flags & MI_PFN_RESET))
            entry->flags |= MI_PFN_MODIFIED;
        else if (NT_SUCCESS(status))
            MiModifiedWriterStatistics.redirtied++;
    }
    /* Still on no list and unused: back onto one, standby with its copy or modified. */
    if (entry->location == MI_PAGE_ACTIVE && entry->reference_count == 0)
        MiInsertTransitionPageLocked(pfn);
}

/*
 * Writes the oldest modified pages, up to a cluster, into contiguous slots: how many;
 * 0 when there was nothing to write, no slot, or the disk failed.
 */
static uint32_t write_cluster(void)
{
    pfn_t frames[MI_PAGEFILE_BATCH];

    KIRQL old = MiAcquirePfnLock();
    uint32_t count = MIN((uint32_t)MI_PAGEFILE_BATCH, MmModifiedPageListHead.count);
    uint32_t first = count ? MiAllocatePagefileSlots(count) : 0;
    if (count && !first) {
        count = 1;
        first = MiAllocatePagefileSlots(1);
        if (!first && MiReclaimPagefileSlots())
            first = MiAllocatePagefileSlots(1);
    }
    if (!first) {
        MiReleasePfnLock(old);
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        pfn_t pfn = MmModifiedPageListHead.tail;
        struct mmpfn *entry = MiGetPfnEntry(pfn);
        KASSERT(!(entry->flags & MI_PFN_WRITE_IN_PROGRESS) && entry->pagefile_slot == 0);
        MiUnlinkPageLocked(pfn);
        entry->flags = (entry->flags & ~MI_PFN_MODIFIED) | MI_PFN_WRITE_IN_PROGRESS;
        frames[i] = pfn;
    }
    MiSortPagesByOwner(frames, count);
    MiReleasePfnLock(old);

    if (MiModifiedWriterDelay) {
        struct kevent never;
        KeInitializeEvent(&never, false);
        KeWaitForEvent(&never, MiModifiedWriterDelay);
    }
    ntstatus_t status = MiWritePagefileSlots(first, frames, count);

    old = MiAcquirePfnLock();
    for (uint32_t i = 0; i < count; i++)
        end_write(frames[i], first + i, status);
    MiReleasePfnLock(old);
    MiModifiedWriterStatistics.clusters++;
    if (!NT_SUCCESS(status)) {
        MiModifiedWriterStatistics.failures++;
        return 0;
    }
    MiModifiedWriterStatistics.pages += count;
    return count;
}

void MmModifiedPageWriter(void *context)
{
    (void)context;
    if (!MiPagefile.present)
        return;
    KeInitializeEvent(&wake_event, false);
    KeInitializeEvent(&progress_event, false);
    writer_running = true;
    for (;;) {
        KeWaitForEvent(&wake_event, WAIT_FOREVER);
        KeClearEvent(&wake_event);
        busy = true;
        if (has_work())
            MiModifiedWriterStatistics.wakes++;
        /* A failed cluster ends the round: the pages wait for the next wake. */
        while (has_work() && write_cluster() > 0)
            KeSetEvent(&progress_event);
        busy = false;
        KeSetEvent(&progress_event);
    }
}

bool MiCanWaitForModifiedPageWriter(void)
{
    return writer_running && KeGetCurrentIrql() < DISPATCH_LEVEL && cpu_interrupts_enabled();
}

void MiWaitForModifiedPageWriter(void)
{
    KeClearEvent(&progress_event);
    MiWakeModifiedPageWriter();
    MiModifiedWriterStatistics.fault_waits++;
    KeWaitForEvent(&progress_event, FAULT_WAIT_TICKS);
}

void MiWaitForModifiedPageWriterIdle(void)
{
    struct kevent never;

    KeInitializeEvent(&never, false);
    while (busy || wake_event.signaled)
        KeWaitForEvent(&never, 1);
}
