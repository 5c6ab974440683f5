/*
 * The isolation audit: walks every address space's user page tables and checks that
 * what they say agrees with the PFN database and with each space's limit.
 *
 *   - no user-accessible PTE lies above its space's own limit;
 *   - a private page is mapped by exactly the PTE its PFN entry names as its owner, so
 *     it is mapped nowhere else, writable or not; a frame that a second PTE maps has
 *     another owner and is reported;
 *   - a section page is mapped only where its prototype says it lives, with a reference
 *     for every mapping counted; only section pages are shared;
 *   - KUSER_SHARED_DATA is read-only to user mode;
 *   - a transition PTE names a page it owns that is on the standby or modified list or
 *     being read or written, an in-pagefile PTE a slot that is in use.
 *
 * It runs with interrupts off, between two steps of anything else (the kernel is not
 * preemptive), so it sees every space at rest.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/console.h"
#include "lib/list.h"
#include "mm/addrspace.h"
#include "mm/audit.h"
#include "mm/hyperspace.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/workset.h"

#define REPORTED_AT_MOST 8

static void violation(struct mi_audit *audit, const char *what, vaddr_t va, mmpte_t pte)
{
    if (audit->violations++ < REPORTED_AT_MOST)
        kprintf("audit: %s: va 0x%08x, PTE 0x%0*llx\n", what, va, PTE_SIZE * 2,
                (unsigned long long)pte.value);
}

/* Whether PTE index of table table_pfn is the owner pfn's PFN entry names. */
static bool owns(pfn_t pfn, pfn_t table_pfn, unsigned index)
{
    const struct mmpfn *entry = MiGetPfnEntry(pfn);

    return entry->pte_frame == table_pfn && entry->pte_index == index;
}

static void audit_valid(struct mi_audit *audit, const struct mm_address_space *space,
                        vaddr_t va, mmpte_t pte, pfn_t table_pfn, unsigned index)
{
    pfn_t pfn = pte_pfn(pte);

    if (pte_is_user(pte) && va > space->highest_user_address)
        violation(audit, "user-accessible page above the space's limit", va, pte);
    if (pfn > MmHighestPhysicalPage) {
        violation(audit, "a frame beyond RAM", va, pte);
        return;
    }
    const struct mmpfn *entry = MiGetPfnEntry(pfn);
    audit->frames_checked++;
    if (entry->location != MI_PAGE_ACTIVE) {
        violation(audit, "a mapped frame that is not in use", va, pte);
        return;
    }
    switch (entry->use) {
    case MI_USE_PROCESS_PRIVATE:
        if (entry->reference_count != 1 || !owns(pfn, table_pfn, index))
            violation(audit, "a private frame mapped by a PTE that does not own it", va, pte);
        break;
    case MI_USE_SECTION: {
        audit->shared_mappings++;
        const mmpte_t *page = MiMapPageInHyperSpace(entry->pte_frame);
        mmpte_t prototype = page[entry->pte_index];
        MiUnmapPageInHyperSpace(page);
        if (!pte_is_valid(prototype) || pte_pfn(prototype) != pfn ||
            entry->reference_count == 0)
            violation(audit, "a section frame its prototype does not name", va, pte);
        break;
    }
    case MI_USE_SHARED_USER_DATA:
        if (pte_is_writable(pte))
            violation(audit, "KUSER_SHARED_DATA writable from user mode", va, pte);
        break;
    default:
        violation(audit, "a kernel frame mapped in user space", va, pte);
    }
}

static void audit_table(struct mi_audit *audit, const struct mm_address_space *space,
                        vaddr_t table_va, pfn_t table_pfn)
{
    const mmpte_t *table = MiMapPageInHyperSpace(table_pfn);

    for (unsigned i = 0; i < PTES_PER_TABLE; i++) {
        mmpte_t pte = table[i];
        vaddr_t va = table_va + i * PAGE_SIZE;
        if (pte.value == 0)
            continue;
        audit->ptes_checked++;
        if (MiIsPresentPte(pte)) {
            audit_valid(audit, space, va, pte, table_pfn, i);
        } else if (MiIsTransitionPte(pte)) {
            const struct mmpfn *entry = MiGetPfnEntry(pte_pfn(pte));
            bool in_flight = entry->location == MI_PAGE_ACTIVE &&
                             (entry->flags & (MI_PFN_READ_IN_PROGRESS |
                                              MI_PFN_WRITE_IN_PROGRESS));
            if ((entry->location != MI_STANDBY_PAGE_LIST &&
                 entry->location != MI_MODIFIED_PAGE_LIST && !in_flight) ||
                !owns(pte_pfn(pte), table_pfn, i))
                violation(audit, "a transition PTE whose page is not its own", va, pte);
        } else if (MiIsPagefilePte(pte)) {
            if (!MiIsPagefileSlotInUse(MiPagefilePteSlot(pte)))
                violation(audit, "an in-pagefile PTE naming a free slot", va, pte);
        }
    }
    MiUnmapPageInHyperSpace(table);
}

void MiAuditAddressSpaces(struct mi_audit *audit)
{
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);

    *audit = (struct mi_audit){0};
    for (struct list_entry *e = MiAddressSpaces.next; e != &MiAddressSpaces; e = e->next) {
        struct mm_address_space *space = CONTAINING_RECORD(e, struct mm_address_space, link);
        /*
         * A space whose working-set lock is held is in the middle of a change (a thread
         * switched out half-way through a service): it is left for the next audit. Its
         * PTEs and their frames are then stable under that lock and the PFN lock.
         */
        if (!MiTryLockWorkingSet(&space->working_set)) {
            audit->spaces_busy++;
            continue;
        }
        KIRQL pfn = MiAcquirePfnLock();
        audit->spaces++;
        for (unsigned pde = 0; pde < (MmSystemRangeStart >> PDE_SHIFT); pde++) {
            mmpte_t entry = space->directory[pde];
            if (pte_is_valid(entry))
                audit_table(audit, space, (vaddr_t)pde << PDE_SHIFT, pte_pfn(entry));
        }
        MiReleasePfnLock(pfn);
        MiUnlockWorkingSet(&space->working_set);
    }
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);
}
