/*
 * Hyperspace: a page table at HYPER_SPACE whose entries map single physical pages for
 * a moment, so the kernel can touch any frame without a direct map of physical memory.
 * Its PTEs are never global: hyperspace belongs to one address space.
 *
 * The boot address space's hyperspace table is part of the kernel image, so it works
 * before any page can be allocated: the boot information is read through it.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pte.h"

#define HYPERSPACE_SLOTS 32     /* one bit each in slots_in_use */

static mmpte_t boot_hyperspace_table[PTES_PER_TABLE] __attribute__((aligned(PAGE_SIZE)));
static uint32_t slots_in_use;

void MmInitializeBootMappings(void)
{
    pfn_t table = paddr_to_pfn(MiKernelImagePhysical(boot_hyperspace_table));
    MiWritePte(pde_of(HYPER_SPACE), pde_make_table(table, false));
}

/* Maps pfn at a free slot with pte, which names it. */
static void *map_slot(mmpte_t pte)
{
    uint32_t flags = cpu_save_disable_interrupts();
    unsigned slot = __builtin_ctzll(~(uint64_t)slots_in_use);

    if (slot == HYPERSPACE_SLOTS)
        panic("hyperspace: all %u slots in use", HYPERSPACE_SLOTS);
    slots_in_use |= 1u << slot;
    cpu_restore_interrupts(flags);

    vaddr_t va = HYPER_SPACE + slot * PAGE_SIZE;
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
    unsigned slot = (va - HYPER_SPACE) / PAGE_SIZE;

    KASSERT(slot < HYPERSPACE_SLOTS && (slots_in_use & (1u << slot)));
    MiWritePte(pte_of(va), pte_zero());
    uint32_t flags = cpu_save_disable_interrupts();
    slots_in_use &= ~(1u << slot);
    cpu_restore_interrupts(flags);
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
