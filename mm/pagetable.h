#pragma once
/* The two primitives every page-table change goes through (pagetable.c). */
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

/* MiGetPte when va's page table is missing (pagetable.c); locked: the caller holds the PFN lock. */
mmpte_t *MiGetPteWithoutTable(vaddr_t va, bool create, bool locked);

/*
 * The PTE of va. When its page table is missing: NULL, or (create) a new, empty,
 * table; NULL too when no page is left for it. Inline: every fault and service asks,
 * and the table is almost always there.
 */
static inline mmpte_t *MiGetPte(vaddr_t va, bool create)
{
    if (__builtin_expect(pte_is_valid(*pde_of(va)), 1))
        return pte_of(va);
    return MiGetPteWithoutTable(va, create, false);
}

/* MiGetPte(va, true) for a caller that holds the PFN lock (a fault's resolution). */
static inline mmpte_t *MiGetPteLocked(vaddr_t va)
{
    if (__builtin_expect(pte_is_valid(*pde_of(va)), 1))
        return pte_of(va);
    return MiGetPteWithoutTable(va, true, true);
}

/*
 * Maps [va, va + length) to physical [physical, physical + length) with the attributes
 * of pte_template (whose frame bits are zero). Either everything is mapped, or nothing
 * is and the status says why. The range must be unmapped.
 */
ntstatus_t MiMapRange(vaddr_t va, paddr_t physical, size_t length, mmpte_t pte_template);

/* Unmaps [va, va + length) and drops the stale translations; frames are the caller's. */
void MiUnmapRange(vaddr_t va, size_t length);
