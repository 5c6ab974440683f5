#pragma once
/*
 * What the virtual memory services share with the rest of mm/: a PTE's contents
 * and protection, commit charge, write watch, the user-PTE writer (virtual.c).
 */
#include "arch/mmu.h"
#include "lib/types.h"
#include "mm/mm.h"
#include "mm/pte_format.h"
#include "mm/vad.h"

/* MEM_WRITE_WATCH: page va, whose dirty bit is going, counts as written in its VAD. */
void MiCaptureWriteWatch(struct mm_address_space *space, vaddr_t va);

/* MiDeletePteContents for a PTE that holds a frame or a slot. */
void MiDeletePteFrameOrSlot(mmpte_t pte);

/*
 * Releases whatever a PTE held: a mapping, a page in transition, a pagefile slot
 * (nothing for a demand-zero or empty one: inline, as decommitting is mostly those).
 * With the PFN lock held.
 */
static inline void MiDeletePteContents(mmpte_t pte)
{
    if (pte.value & ~(MI_PTE_PROTECTION_MASK << MI_PTE_PROTECTION_SHIFT))
        MiDeletePteFrameOrSlot(pte);
}

/*
 * NT's 3-bit protection mask of a base protection (0 for PAGE_NOACCESS or none); it is
 * also the index valid user PTEs keep in their software bits.
 */
extern const uint8_t MiProtectionIndexByBit[8];
static inline uint32_t MiProtectionIndex(uint32_t protection)
{
    uint32_t base = protection & MI_PROTECTION_BASE_MASK;

    return base ? MiProtectionIndexByBit[__builtin_ctz(base)] : 0;
}

/*
 * The pages [start, end) that base and size cover, rounded out to whole pages; false for
 * an empty range or one that wraps or reaches the last page of the address space.
 */
bool MiPageRange(vaddr_t base, uint32_t size, vaddr_t *start, vaddr_t *end);

/*
 * The protection of page va of vad, 0 when it is only reserved (vmquery.c): a view's page
 * whose PTE is still zero has the view's protection, if the section's page is committed.
 */
uint32_t MiPageProtection(const struct mmvad *vad, vaddr_t va);

/* A valid user PTE for frame pfn with protection (which must allow access). */
mmpte_t MiMakeValidUserPte(pfn_t pfn, uint32_t protection);

/* MiPteProtection of a valid PTE (virtual.c). */
uint32_t MiValidPteProtection(mmpte_t pte);

/* The PAGE_* protection of a committed page's PTE (any format); 0 for an empty PTE. */
static inline uint32_t MiPteProtection(mmpte_t pte)
{
    return pte_is_valid(pte) ? MiValidPteProtection(pte) : mi_pte_protection_of(pte);
}

/*
 * Writes a user PTE of the current space, keeping its table's used-entry count; the
 * table is freed when its last entry becomes zero, so a zero is written with the PFN
 * lock held. Flushes a valid old translation.
 */
mmpte_t MiWriteUserPte(vaddr_t va, mmpte_t value);

/*
 * Charges pages of commitment to an account (a space's commit_charge, a section's);
 * false (nothing charged) past the commit limit.
 */
bool MiChargeCommitment(uint32_t *account, uint32_t pages);
void MiReturnCommitment(uint32_t *account, uint32_t pages);

/* Whether page va of view vad is committed (a SEC_RESERVE section's may not be). */
bool MiIsViewPageCommitted(const struct mmvad *vad, vaddr_t va);
/*
 * The PTE that gives page va of view vad protection while its frame is not mapped there:
 * zero when that is the view's own protection for the page, a view-page PTE otherwise.
 */
mmpte_t MiMakeViewPte(const struct mmvad *vad, vaddr_t va, uint32_t protection);
