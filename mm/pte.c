/*
 * The one writer of page-table entries, with mm/pte.h (contract and the inline stores
 * there). Everything that stores an entry, and everything that decides what the TLB
 * must forget afterwards, is in these two files:
 *
 *  - MiPteStore (mm/pte.h) is the only store, with the atomic AND of MiClearPteBits; a
 *    format with 8-byte entries changes these two.
 *  - MiPteFlushPage and MiFlushTlbBatch are the only flushes. Each drops the pages on
 *    this processor itself, then names the other processors that may cache them (all
 *    of them for system space, those running the address space for user space) and
 *    posts the pages to each one's pending-flush list (ke/tlbflush.h), where the
 *    shootdown interrupt that will follow the post has its place.
 *  - MiPteStoreChecked opens the write window of the check: with `ptecheck`, every view
 *    of a page table is read-only, and the store runs with CR0.WP clear (Intel SDM vol.
 *    3A, 2.5: supervisor writes then ignore read-only pages) and interrupts off, so that
 *    nothing else runs while the window is open.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/pcr.h"
#include "arch/spinlock.h"
#include "ke/ipi.h"
#include "ke/tlbflush.h"
#include "lib/panic.h"
#include "lib/types.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "mm/pte.h"

bool MiPteCheckEnabled;

/*
 * The end of the self-map's window of entries: one entry per page of the 4 GB space, so
 * 4 MB of 4-byte entries here (8 MB with 8-byte ones).
 */
#define SELF_MAP_END PTE_WINDOW_END
_Static_assert(SELF_MAP_END == HYPER_SPACE, "hyperspace follows the self-map's window");

/*
 * The frames of the boot's own tables, which the PFN database counts as kernel image: its
 * directory pages, the kernel window's tables and the boot hyperspace table.
 */
static pfn_t boot_table_frames[DIRECTORY_PAGES + BOOT_TABLES + 1];

static inline uint32_t open_write_window(void)
{
    uint32_t flags = cpu_save_disable_interrupts();

    cpu_write_cr0(cpu_read_cr0() & ~CR0_WP);
    return flags;
}

static inline void close_write_window(uint32_t flags)
{
    cpu_write_cr0(cpu_read_cr0() | CR0_WP);
    cpu_restore_interrupts(flags);
}

/* Opens the window for a run of stores when the check is on; 0 when it is off. */
static inline uint32_t begin_stores(void)
{
    return __builtin_expect(MiPteCheckEnabled, 0) ? open_write_window() : 0;
}

static inline void end_stores(uint32_t flags)
{
    if (__builtin_expect(MiPteCheckEnabled, 0))
        close_write_window(flags);
}

#if MM_PAE
mmpte_t MiPteExchange(mmpte_t *entry, mmpte_t value)
{
    uint64_t old = entry->value;

    /*
     * cmpxchg8b, which every PAE processor has: the whole entry in one locked store. A
     * miss (the processor set A or D meanwhile) reloads EDX:EAX and tries again.
     */
    __asm__ volatile("1: lock cmpxchg8b %0\n\t"
                     "jnz 1b"
                     : "+m"(*(uint64_t *)&entry->value), "+A"(old)
                     : "b"((uint32_t)value.value), "c"((uint32_t)(value.value >> 32))
                     : "memory", "cc");
    return (mmpte_t){old};
}
#endif

static inline mmpte_t exchange(mmpte_t *entry, mmpte_t value)
{
#if MM_PAE
    return MiPteExchange(entry, value);
#else
    return (mmpte_t){__atomic_exchange_n((ptebits_t *)&entry->value, value.value,
                                         __ATOMIC_SEQ_CST)};
#endif
}

mmpte_t MiPteReplaceValid(mmpte_t *entry, mmpte_t value)
{
    uint32_t flags = begin_stores();
    mmpte_t old = exchange(entry, value);

    end_stores(flags);
    return old;
}

void MiPteStoreChecked(mmpte_t *entry, mmpte_t value)
{
    uint32_t flags = open_write_window();

    MiPteStore(entry, value);
    close_write_window(flags);
}

/*
 * Which processors may cache a page's translation besides this one: for a user page,
 * and for the self-map's view of a user page table, those running the current space;
 * for hyperspace, none (each processor has slots of its own there, used at
 * DISPATCH_LEVEL); for the rest of system space, every one.
 */
enum flush_scope { FLUSH_HERE, FLUSH_SPACE, FLUSH_ALL };

static inline enum flush_scope scope_of(vaddr_t va)
{
    if (va < MmSystemRangeStart || (va >= PTE_BASE && va < (vaddr_t)pte_of(MmSystemRangeStart)))
        return FLUSH_SPACE;
    if (va >= HYPER_SPACE && va < HYPER_SPACE_END)
        return FLUSH_HERE;
    return FLUSH_ALL;
}

/*
 * The shootdown: posts the pages (count past MI_TLB_BATCH_PAGES: everything) to every
 * other processor the scope names, interrupts them, and waits until each has dropped
 * them. Called at DISPATCH_LEVEL (the thread stays on this processor, whose own TLB
 * was flushed first) after the entries were stored.
 */
static void shoot_down(const vaddr_t *va, uint32_t count, enum flush_scope scope)
{
    struct kprcb *self = KeGetCurrentPrcb();
    uint32_t number[KE_MAX_PROCESSORS];

    /*
     * Never above, and never under an interrupt spinlock: a processor spinning with
     * interrupts off for one this one holds would never answer (arch/lockcheck.c allows
     * that spin).
     */
    KASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL);

    /* The entries' stores come before the mask's load (x86 may otherwise swap them). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t targets = scope == FLUSH_ALL ? KeActiveProcessors
                                          : MmCurrentAddressSpace()->active_processors;
    targets &= ~self->set_member;
    if (!targets)
        return;
    for_each_processor(i, targets)
        number[i] = count > MI_TLB_BATCH_PAGES
                        ? KiPostEntireTlbFlush(KiProcessorBlock[i], scope == FLUSH_ALL)
                        : KiPostTlbFlush(KiProcessorBlock[i], va, count, scope == FLUSH_ALL);
    KiIpiSend(targets, IPI_TLB_FLUSH);
    self->statistics.tlb_shootdowns++;
    for_each_processor(i, targets)
        KiWaitForTlbFlush(KiProcessorBlock[i], number[i]);
}

/*
 * What a flush needs beyond this processor's own: with other processors running, the
 * IRQL raised to DISPATCH_LEVEL (the thread stays here) and a shootdown. The count is
 * read once, so that a processor starting meanwhile cannot make the two disagree.
 */
struct flush_context {
    bool several;
    KIRQL old;
};

static inline struct flush_context begin_flush(void)
{
    struct flush_context c = {KeNumberProcessors > 1, KeGetCurrentIrql()};

    if (__builtin_expect(c.several, 0) && c.old < DISPATCH_LEVEL)
        KeRaiseIrql(DISPATCH_LEVEL);
    return c;
}

static inline void end_flush(struct flush_context c)
{
    if (__builtin_expect(c.several, 0) && c.old < DISPATCH_LEVEL)
        KeLowerIrql(c.old);
}

void MiPteFlushPage(vaddr_t va)
{
    struct flush_context c = begin_flush();

    cpu_invlpg(va);
    if (__builtin_expect(c.several, 0) && scope_of(va) != FLUSH_HERE)
        shoot_down(&va, 1, scope_of(va));
    end_flush(c);
}

static inline bool is_self_map_entry(const mmpte_t *pte)
{
    return (vaddr_t)pte >= PTE_BASE && (vaddr_t)pte < SELF_MAP_END;
}

mmpte_t MiWritePteBatched(mmpte_t *pte, mmpte_t value, struct mi_tlb_batch *batch)
{
    KASSERT(is_self_map_entry(pte));
    if (!pte_is_valid(*pte)) {
        mmpte_t old = *pte;
        MiPteWrite(pte, value);
        return old;
    }
    mmpte_t old = MiPteReplaceValid(pte, value);
    vaddr_t va = va_of_pte(pte);
    if (batch->count < MI_TLB_BATCH_PAGES)
        batch->va[batch->count] = va;
    if (batch->count <= MI_TLB_BATCH_PAGES)
        batch->count++;
    batch->system |= va >= MmSystemRangeStart;
    batch->scope = MAX(batch->scope, (uint8_t)scope_of(va));
    return old;
}

void MiFlushTlbBatch(struct mi_tlb_batch *batch)
{
    struct flush_context c = begin_flush();

    /* User pages are never global: a user batch keeps the kernel's global entries. */
    if (batch->count > MI_TLB_BATCH_PAGES && batch->system)
        cpu_flush_tlb_all();
    else if (batch->count > MI_TLB_BATCH_PAGES)
        cpu_flush_tlb_non_global();
    else
        for (uint32_t i = 0; i < batch->count; i++)
            cpu_invlpg(batch->va[i]);
    if (__builtin_expect(c.several, 0) && batch->count)
        shoot_down(batch->va, batch->count, batch->scope);
    end_flush(c);
    MiInitializeTlbBatch(batch);
}

void MiClearPteBits(mmpte_t *pte, uint32_t bits)
{
    KASSERT(is_self_map_entry(pte) && pte_is_valid(*pte));
    uint32_t flags = begin_stores();
    __atomic_fetch_and((uint32_t *)&pte->value, ~bits, __ATOMIC_SEQ_CST);
    end_stores(flags);
    MiPteFlushPage(va_of_pte(pte));
}

/*
 * Both below fill whole tables that no processor walks yet, so no entry can be seen half
 * written and the order of the stores does not matter: one string instruction does it,
 * a word at a time, whatever the entry size (an empty entry, pte_zero, is all zeros).
 */
_Static_assert(sizeof(mmpte_t) % 4 == 0, "entries are copied as 32-bit words");

void MiCopyTableEntries(mmpte_t *to, const mmpte_t *from, unsigned count)
{
    uint32_t flags = begin_stores();
    uint32_t words = count * (sizeof(mmpte_t) / 4);

    __asm__ volatile("rep movsl" : "+D"(to), "+S"(from), "+c"(words) : : "memory");
    end_stores(flags);
}

void MiZeroPageTable(vaddr_t va)
{
    mmpte_t *table = pte_of(ALIGN_DOWN(va, (vaddr_t)PDE_SPAN));
    uint32_t flags = begin_stores();
    uint32_t words = PTES_PER_TABLE * (sizeof(mmpte_t) / 4);

    __asm__ volatile("rep stosl" : "+D"(table), "+c"(words) : "a"(0) : "memory");
    end_stores(flags);
}

/* ---- the check ---- */

bool MiIsPageTableFrame(pfn_t pfn)
{
    if (pfn > MmHighestPhysicalPage)
        return false;
    for (unsigned i = 0; i < ARRAY_SIZE(boot_table_frames); i++)
        if (pfn == boot_table_frames[i])
            return true;
    enum mi_page_use use = MiGetPfnEntry(pfn)->use;
    return use == MI_USE_PAGE_TABLE || use == MI_USE_USER_PAGE_TABLE ||
           use == MI_USE_PAGE_DIRECTORY;
}

mmpte_t MiMakeSelfMapPde(pfn_t directory_pfn)
{
    mmpte_t pde = pde_make_table(directory_pfn, false);

    return MiPteCheckEnabled ? pte_make_read_only(pde) : pde;
}

void MiEnablePteCheck(void)
{
    pfn_t directory = paddr_to_pfn(MiKernelImagePhysical(boot_page_directory));
    pfn_t tables = paddr_to_pfn(MiKernelImagePhysical(boot_page_table));
    unsigned n = 0;

    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        boot_table_frames[n++] = directory + i;
    for (unsigned i = 0; i < BOOT_TABLES; i++)
        boot_table_frames[n++] = tables + i;
    boot_table_frames[n++] = pte_pfn(*pde_of(HYPER_SPACE));
    MiPteCheckEnabled = true;
    /* The self-map PDEs govern every store through the window at PTE_BASE (SDM 4.6). */
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        MiPteWrite(pde_of(PTE_BASE + i * PDE_SPAN), MiMakeSelfMapPde(directory + i));
    cpu_flush_tlb_all();
}

bool MmIsPageTableView(vaddr_t va)
{
    paddr_t physical;

    if (!MiPteCheckEnabled)
        return false;
    if (va >= PTE_BASE && va < SELF_MAP_END)
        return true;
    return MmGetPhysicalAddress(va, &physical) && MiIsPageTableFrame(paddr_to_pfn(physical));
}
