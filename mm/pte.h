#pragma once
/*
 * The one writer of page-table entries (mm/pte.c). Every store to a PTE or a PDE goes
 * through these functions: user and system PTEs through the self-map, entries of tables
 * reached another way (a directory mapped in system space, a table seen through
 * hyperspace), a section's prototype PTEs, and the boot's own tables once paging is on.
 * Each function also decides what the TLB needs, so that the one place a second
 * processor's shootdown and a second entry format's ordered stores go is mm/pte.c.
 *
 * The TLB never holds a translation from an entry that was not valid (Intel SDM vol. 3A,
 * 4.10.2.3), so replacing a not-valid entry needs no flush; replacing a valid one drops
 * the one translation it made (invlpg), or queues it in a batch that is flushed once.
 *
 * Every flush names its targets. This processor flushes its own TLB at once, as cheaply
 * as on a machine of one processor. Each other processor that may cache the pages --
 * all of them for system space, those whose current space is this one for user space --
 * gets them posted to the pending-flush list in its region (KiPostTlbFlush,
 * ke/tlbflush.h; past 16 pages a flush of everything), which it drains in the shootdown
 * interrupt that follows, and the writer waits until each has done so. With one
 * processor running, none of that costs more than a test.
 *
 * mmpte_t's raw value is const (arch/mmu.h): code outside mm/pte.c cannot assign an
 * entry, and scripts/check-pte-writers.py refuses the casts, memsets and copies that
 * would get round that. With `ptecheck` on the command line (every test boot), page
 * tables are also mapped read-only and only the writer opens them for its store, so a
 * store from anywhere else faults and stops the machine (MmIsPageTableView).
 */
#include "arch/mmu.h"
#include "lib/types.h"

/* Pages a batch flushes one at a time; a batch that queues more flushes the whole TLB. */
#define MI_TLB_BATCH_PAGES 16

/*
 * The translations a run of PTE changes has left to drop: MiFlushTlbBatch drops them
 * here and posts the same pages to the other processors' lists, the user pages to those
 * running the space, and to all of them when some page is system space (system).
 */
struct mi_tlb_batch {
    uint32_t count;             /* pages in va[]; above MI_TLB_BATCH_PAGES: everything */
    bool system;                /* some page is in system space, cached in every space */
    uint8_t scope;              /* which other processors may cache them (mm/pte.c) */
    vaddr_t va[MI_TLB_BATCH_PAGES];
};

static inline void MiInitializeTlbBatch(struct mi_tlb_batch *batch)
{
    batch->count = 0;
    batch->system = false;
    batch->scope = 0;
}

/* True once `ptecheck` made page tables read-only outside the writer (see above). */
extern bool MiPteCheckEnabled;

/*
 * The writer's own parts, called from nowhere else (scripts/check-pte-writers.py). The
 * stores are inline here because the fault path's common case is one store; the rest
 * of the writer is in mm/pte.c.
 *
 * MiPteStore is the only store of an entry. volatile: the compiler may neither tear
 * nor drop it. An 8-byte entry (PAE) is two 32-bit stores, ordered so that the processor,
 * which may walk the table between them, never sees a valid entry made of two halves
 * (SDM vol. 3A, 8.2.2: stores are seen in program order): the half with the valid bit
 * last when the entry becomes valid, first when it stops being valid. A valid entry
 * that stays valid changes in one store when its upper half is kept (the common case:
 * the frame is below 4 GB and the execute-disable bit stays), else in one locked
 * cmpxchg8b (MiPteExchange).
 */
#if MM_PAE
mmpte_t MiPteExchange(mmpte_t *entry, mmpte_t value);

static inline void MiPteStore(mmpte_t *entry, mmpte_t value)
{
    volatile uint32_t *half = (volatile uint32_t *)entry;
    uint32_t low = (uint32_t)value.value, high = (uint32_t)(value.value >> 32);

    if (!(low & PTE_VALID)) {
        half[0] = low;
        half[1] = high;
    } else if (!(half[0] & PTE_VALID)) {
        half[1] = high;
        half[0] = low;
    } else if (half[1] == high) {
        half[0] = low;
    } else {
        MiPteExchange(entry, value);
    }
}
#else
static inline void MiPteStore(mmpte_t *entry, mmpte_t value)
{
    *(volatile uint32_t *)&entry->value = value.value;
}
#endif
/* MiPteStore inside the check's write window (mm/pte.c). */
void MiPteStoreChecked(mmpte_t *entry, mmpte_t value);
/* Drops one page's translation here, and posts it to the other processors that cache it. */
void MiPteFlushPage(vaddr_t va);

static inline void MiPteWrite(mmpte_t *entry, mmpte_t value)
{
    if (__builtin_expect(MiPteCheckEnabled, 0))
        MiPteStoreChecked(entry, value);
    else
        MiPteStore(entry, value);
}

/*
 * Replaces a valid entry in one locked step (xchg; cmpxchg8b for 8-byte entries) and
 * returns it as it was at that instant: with the accessed and dirty bits any processor
 * set through it until then. A plain read before a plain store would lose a dirty bit
 * another processor sets between the two; after the exchange, a processor still writing
 * through its cached translation can only be one whose translation was dirty already,
 * which the returned entry says, until the flush that follows ends it.
 */
mmpte_t MiPteReplaceValid(mmpte_t *entry, mmpte_t value);

/*
 * Stores value into pte, an entry reached through the self-map (pte_of, or pde_of for a
 * PDE), and drops the translation the old entry made if it was valid, on every
 * processor that may cache it, before returning: for a PDE that is the self-map's view
 * of its table, so a valid PDE is replaced only once every PTE of its table is not valid
 * (or with a batch that flushes everything). Returns the entry it replaced (a valid one
 * with its final accessed and dirty bits: MiPteReplaceValid).
 */
static inline mmpte_t MiWritePte(mmpte_t *pte, mmpte_t value)
{
    /* Not valid, no processor sets a bit in it or caches it: one store does. */
    if (!pte_is_valid(*pte)) {
        mmpte_t old = *pte;
        MiPteWrite(pte, value);
        return old;
    }
    mmpte_t old = MiPteReplaceValid(pte, value);
    MiPteFlushPage(va_of_pte(pte));
    return old;
}

/* MiWritePte, with the flush left in batch for MiFlushTlbBatch. */
mmpte_t MiWritePteBatched(mmpte_t *pte, mmpte_t value, struct mi_tlb_batch *batch);
/*
 * Drops every translation batch holds (one invlpg each, or a full flush that keeps the
 * global entries when every page is user space), posts them to the other processors
 * that may cache them, and empties the batch.
 */
void MiFlushTlbBatch(struct mi_tlb_batch *batch);
/*
 * Clears bits the processor sets by itself (PTE_ACCESSED, PTE_DIRTY) in the valid
 * self-map entry pte, atomically, so a bit the processor sets meanwhile is not lost, and
 * drops its translation so that the next access sets them again.
 */
void MiClearPteBits(mmpte_t *pte, uint32_t bits);

/*
 * Stores value into entry, an entry no TLB holds a translation from: it is not valid now,
 * or belongs to a directory no processor has loaded yet. Used for entries not reached
 * through the current self-map: a directory mapped in system space, a table of another
 * address space seen through hyperspace.
 */
static inline void MiWriteTableEntry(mmpte_t *entry, mmpte_t value)
{
    MiPteWrite(entry, value);
}
/* Copies count entries into a directory no processor uses yet (a new address space's). */
void MiCopyTableEntries(mmpte_t *to, const mmpte_t *from, unsigned count);
/*
 * Stores value into a section's prototype PTE: no processor walks it, nothing to flush;
 * it lives in pool, which the check cannot make read-only.
 */
static inline void MiWritePrototypePte(mmpte_t *prototype, mmpte_t value)
{
    MiPteStore(prototype, value);
}
/* Fills the page table that maps va (seen through the self-map) with empty entries. */
void MiZeroPageTable(vaddr_t va);

/* The self-map PDE of a directory at frame directory_pfn (read-only under the check). */
mmpte_t MiMakeSelfMapPde(pfn_t directory_pfn);
/* True when frame pfn is a page table or a directory (the boot's own included). */
bool MiIsPageTableFrame(pfn_t pfn);
/*
 * pte, a kernel mapping of frame pfn (or a template for one), made read-only when the
 * frame holds page-table entries and the check is on: how hyperspace and system PTEs
 * show a table without letting anything but the writer store into it.
 */
static inline mmpte_t MiProtectTableView(mmpte_t pte, pfn_t pfn)
{
    return __builtin_expect(MiPteCheckEnabled, 0) && MiIsPageTableFrame(pfn)
               ? pte_make_read_only(pte)
               : pte;
}
/*
 * Turns the check on: from here every view of a page table is read-only and the writer
 * alone stores through them, with CR0.WP cleared around its store and interrupts off.
 * Called once at boot, after the PFN database exists and before the kernel's own
 * mappings are made final.
 */
void MiEnablePteCheck(void);
