/*
 * Hyperspace: a page table at HYPER_SPACE whose entries map single physical pages for
 * a moment, so the kernel can touch any frame without a direct map of physical memory.
 * Its PTEs are never global: hyperspace belongs to one address space.
 *
 * The boot address space's hyperspace table is part of the kernel image, so it works
 * before any page can be allocated: the boot information is read through it.
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pte.h"

#define HYPERSPACE_SLOTS 32     /* per processor: one bit each in its hyperspace_slots */

static mmpte_t boot_hyperspace_table[PTES_PER_TABLE] __attribute__((aligned(PAGE_SIZE)));

void MmInitializeBootMappings(void)
{
    pfn_t table = paddr_to_pfn(MiKernelImagePhysical(boot_hyperspace_table));
    MiWritePte(pde_of(HYPER_SPACE), pde_make_table(table, false));
}

/*
 * A mapping is held at DISPATCH_LEVEL, as NT holds hyperspace: its thread cannot be
 * switched out (or, with several processors, moved to another) while it uses the slot,
 * so each processor keeps its own slots in its region and needs no lock for them.
 * Maps a frame at a free slot with pte, which names it.
 */
static void *map_slot(mmpte_t pte)
{
    KIRQL old = KeGetCurrentIrql();

    if (old < DISPATCH_LEVEL)
        KeRaiseIrql(DISPATCH_LEVEL);
    struct kprcb *prcb = KeGetCurrentPrcb();
    unsigned slot = __builtin_ctzll(~(uint64_t)prcb->hyperspace_slots);
    if (slot == HYPERSPACE_SLOTS)
        panic("hyperspace: all %u slots in use", HYPERSPACE_SLOTS);
    if (prcb->hyperspace_slots == 0)
        prcb->hyperspace_irql = old;
    prcb->hyperspace_slots |= 1u << slot;

    vaddr_t va = HYPER_SPACE + (prcb->number * HYPERSPACE_SLOTS + slot) * PAGE_SIZE;
    MiWritePte(pte_of(va), pte);
    return (void *)va;
}

void *MiMapPageInHyperSpace(pfn_t pfn)
{
    return map_slot(MiProtectTableView(pte_make_kernel_local(pfn), pfn));
}

void MiUnmapPageInHyperSpace(const void *address)
{
    vaddr_t va = (vaddr_t)address;
    struct kprcb *prcb = KeGetCurrentPrcb();
    unsigned slot = (va - HYPER_SPACE) / PAGE_SIZE - prcb->number * HYPERSPACE_SLOTS;

    KASSERT(slot < HYPERSPACE_SLOTS && (prcb->hyperspace_slots & (1u << slot)));
    MiWritePte(pte_of(va), pte_zero());
    prcb->hyperspace_slots &= ~(1u << slot);
    if (prcb->hyperspace_slots == 0)
        KeLowerIrql(prcb->hyperspace_irql);
}

/*
 * Writable even for a frame that is to be a page table: zeroed before any directory
 * names it, no processor walks it yet.
 */
void MiZeroPhysicalPage(pfn_t pfn)
{
    void *va = map_slot(pte_make_kernel_local(pfn));
    memset(va, 0, PAGE_SIZE);
    MiUnmapPageInHyperSpace(va);
}

void MmCopyFromPhysical(void *destination, paddr_t source, size_t length)
{
    uint8_t *out = destination;

    while (length) {
        uint32_t offset = source & (PAGE_SIZE - 1);
        size_t chunk = MIN(length, (size_t)(PAGE_SIZE - offset));
        uint8_t *va = MiMapPageInHyperSpace(paddr_to_pfn(source));
        memcpy(out, va + offset, chunk);
        MiUnmapPageInHyperSpace(va);
        out += chunk;
        source += chunk;
        length -= chunk;
    }
}

void MmCopyToPhysical(paddr_t destination, const void *source, size_t length)
{
    const uint8_t *in = source;

    while (length) {
        uint32_t offset = destination & (PAGE_SIZE - 1);
        size_t chunk = MIN(length, (size_t)(PAGE_SIZE - offset));
        uint8_t *va = MiMapPageInHyperSpace(paddr_to_pfn(destination));
        memcpy(va + offset, in, chunk);
        MiUnmapPageInHyperSpace(va);
        in += chunk;
        destination += chunk;
        length -= chunk;
    }
}

void MmCopyPhysical(paddr_t destination, paddr_t source, size_t length)
{
    while (length) {
        uint32_t offset = source & (PAGE_SIZE - 1);
        size_t chunk = MIN(length, (size_t)(PAGE_SIZE - offset));
        const uint8_t *va = MiMapPageInHyperSpace(paddr_to_pfn(source));
        MmCopyToPhysical(destination, va + offset, chunk);
        MiUnmapPageInHyperSpace(va);
        source += chunk;
        destination += chunk;
        length -= chunk;
    }
}
