#pragma once
/*
 * The memory manager's PTE formats: the software encodings of an entry that is not
 * valid, with their constructors and tests. Inline only; the valid format is
 * arch/mmu.h's.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/types.h"

/*
 * Valid (P = 1): the hardware format of arch/mmu.h. A user page keeps its PAGE_*
 * protection as an index in the three software bits 9-11, since the R/W bit alone
 * cannot tell PAGE_READONLY from PAGE_EXECUTE_READ.
 *
 * Not valid (P = 0), the memory manager's own formats. Each keeps the page's PAGE_*
 * protection (PAGE_GUARD included) in bits 1-9, so a page's protection survives every
 * trip in and out of memory; bits 10 and 11 and the upper 20 bits tell them apart:
 *
 *   format             bit 10  bit 11  bits 12-31   meaning
 *   empty (all zero)     -       -       -          reserved or free (its VAD says),
 *                                                   or, in a view, "prototype": ask
 *                                                   the section's prototype PTE
 *   demand zero          0       0       0          committed, never touched: the
 *                                                   first touch takes a zeroed frame
 *   resident, no access  1       0     frame        committed and in memory, but the
 *                                                   protection forbids every access
 *   transition           0       1     frame        the frame is on the standby or
 *                                                   modified list: a fault takes it
 *                                                   back without any I/O
 *   view page            1       1       0          a page of a view whose protection
 *                                                   differs from the view's: the
 *                                                   section's prototype says where the
 *                                                   page is, this PTE how it may be used
 *   in pagefile          0       0     slot (> 0)   the contents are in that pagefile
 *                                                   slot: a fault reads them back
 *
 * A section's prototype PTEs use the same formats: valid (the frame is mapped in some
 * view; the protection bits are unused), transition, in pagefile, zero (never touched:
 * demand zero), or the view-page format with no protection: not committed yet (a page
 * of a SEC_RESERVE section).
 */
#define MI_PTE_PROTECTION_SHIFT 1
#define MI_PTE_PROTECTION_MASK  0x7F
#define MI_PTE_RESIDENT         0x400u
#define MI_PTE_TRANSITION       0x800u
#define MI_PTE_KIND_MASK        (MI_PTE_RESIDENT | MI_PTE_TRANSITION)
#define MI_PTE_VIEW_PAGE        MI_PTE_KIND_MASK

/* The eight base protections (PAGE_NOACCESS ... PAGE_EXECUTE_WRITECOPY), modifiers aside. */
#define MI_PROTECTION_BASE_MASK 0xFFu
#define MI_PROTECTION_CACHE_MASK (PAGE_NOCACHE | PAGE_WRITECOMBINE)

/*
 * A PAGE_* protection as the seven bits a PTE that is not valid keeps (NT's 5-bit
 * protection mask, with one more bit so that 0 means none and one so that a guard page
 * of a cached allocation keeps its cache attribute): bits 0-3 which base protection (1 to
 * 8, its bit number plus one), bits 4-5 the cache attribute (none, PAGE_NOCACHE,
 * PAGE_WRITECOMBINE), bit 6 PAGE_GUARD.
 */
static inline uint32_t mi_pte_protection_bits(uint32_t protection)
{
    uint32_t code;

    if (!protection)
        return 0;
    code = (uint32_t)__builtin_ctz(protection & MI_PROTECTION_BASE_MASK) + 1;
    code |= protection & PAGE_NOCACHE        ? 1u << 4
            : protection & PAGE_WRITECOMBINE ? 2u << 4
                                             : 0;
    if (protection & PAGE_GUARD)
        code |= 1u << 6;
    return code << MI_PTE_PROTECTION_SHIFT;
}

/* The PAGE_* protection mi_pte_protection_bits encoded in pte (0 for none). */
static inline uint32_t mi_pte_protection_of(mmpte_t pte)
{
    static const uint32_t caches[4] = {0, PAGE_NOCACHE, PAGE_WRITECOMBINE, 0};
    uint32_t code = (pte.value >> MI_PTE_PROTECTION_SHIFT) & MI_PTE_PROTECTION_MASK;

    if (!(code & 0xF))
        return 0;
    return (1u << ((code & 0xF) - 1)) | caches[(code >> 4) & 3] |
           (code & (1u << 6) ? PAGE_GUARD : 0);
}

static inline mmpte_t MiMakeDemandZeroPte(uint32_t protection)
{
    return (mmpte_t){mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakeResidentPte(pfn_t pfn, uint32_t protection)
{
    return (mmpte_t){pte_frame_bits(pfn) | MI_PTE_RESIDENT | mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakeTransitionPte(pfn_t pfn, uint32_t protection)
{
    return (mmpte_t){pte_frame_bits(pfn) | MI_PTE_TRANSITION |
                     mi_pte_protection_bits(protection)};
}

static inline mmpte_t MiMakePagefilePte(uint32_t slot, uint32_t protection)
{
    return (mmpte_t){((ptebits_t)slot << PAGE_SHIFT) | mi_pte_protection_bits(protection)};
}

/* A view's page with protection of its own (protection 0: an uncommitted prototype). */
static inline mmpte_t MiMakeViewPagePte(uint32_t protection)
{
    return (mmpte_t){MI_PTE_VIEW_PAGE | mi_pte_protection_bits(protection)};
}

static inline bool MiIsDemandZeroPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && pte.value != 0 &&
           (pte.value & ~((ptebits_t)MI_PTE_PROTECTION_MASK << MI_PTE_PROTECTION_SHIFT)) == 0;
}

static inline bool MiIsResidentPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_RESIDENT;
}

static inline bool MiIsTransitionPte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_TRANSITION;
}

static inline bool MiIsViewPagePte(mmpte_t pte)
{
    return !pte_is_valid(pte) && (pte.value & MI_PTE_KIND_MASK) == MI_PTE_VIEW_PAGE;
}

static inline bool MiIsPagefilePte(mmpte_t pte)
{
    return !pte_is_valid(pte) && !(pte.value & MI_PTE_KIND_MASK) &&
           pte.value >> PAGE_SHIFT != 0;
}

/* The pagefile slot of an in-pagefile PTE. */
static inline uint32_t MiPagefilePteSlot(mmpte_t pte)
{
    return pte.value >> PAGE_SHIFT;
}

/* A PTE whose frame is in memory and mapped (valid, or resident without access). */
static inline bool MiIsPresentPte(mmpte_t pte)
{
    return pte_is_valid(pte) || MiIsResidentPte(pte);
}
