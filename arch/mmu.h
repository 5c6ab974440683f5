#pragma once
/*
 * The i386 two-level page table (Intel SDM vol. 3A, 4.3 "32-bit paging"): the hardware
 * PTE format, named constructors for the entries the kernel makes, and the helpers
 * that reach any PTE or PDE through the self-map at PTE_BASE.
 *
 * Only the valid (present) format is defined here. A not-present entry (P = 0) is free
 * for software to use; its formats belong to the memory manager, which gives each its
 * own constructor.
 */
#include "arch/layout.h"
#include "lib/types.h"

/*
 * value is const: an entry is made by a constructor and stored only by the PTE writer
 * (mm/pte.c, the one file that casts the const away), so an assignment anywhere else
 * does not compile.
 */
typedef struct mmpte {
    const uint32_t value;
} mmpte_t;

_Static_assert(sizeof(mmpte_t) == PTE_SIZE, "an entry is PTE_SIZE bytes (arch/layout.h)");
_Static_assert(PTES_PER_TABLE * PTE_SIZE == PAGE_SIZE, "a table is one page of entries");

/* Bits of a present PTE or PDE (SDM vol. 3A, tables 4-5 and 4-6). */
#define PTE_VALID           0x001u  /* P */
#define PTE_WRITE           0x002u  /* R/W */
#define PTE_USER            0x004u  /* U/S: 0 = supervisor only */
#define PTE_WRITE_THROUGH   0x008u  /* PWT */
#define PTE_CACHE_DISABLE   0x010u  /* PCD */
#define PTE_ACCESSED        0x020u  /* A */
#define PTE_DIRTY           0x040u  /* D (PTE only) */
#define PTE_GLOBAL          0x100u  /* G (PTE only, needs CR4.PGE) */
#define PTE_SOFTWARE_SHIFT  9       /* bits 9-11: ignored by the CPU, free for software */
#define PTE_SOFTWARE_MASK   0xE00u
#define PTE_FRAME_MASK      0xFFFFF000u

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_PRESENT          0x1u    /* 0: not present, 1: protection violation */
#define PF_WRITE            0x2u
#define PF_USER             0x4u
#define PF_RESERVED_BIT     0x8u
#define PF_INSTRUCTION      0x10u   /* I/D: an instruction fetch; only with NX or SMEP on */

/*
 * PTE_GLOBAL when the CPU has PGE and it is on, 0 otherwise: CPUs before the P6 treat
 * bit 8 as reserved, so the kernel never sets it there.
 */
extern uint32_t arch_global_pte_bit;

static inline mmpte_t pte_zero(void) { return (mmpte_t){0}; }
static inline bool pte_is_valid(mmpte_t pte) { return pte.value & PTE_VALID; }
static inline bool pte_is_writable(mmpte_t pte) { return pte.value & PTE_WRITE; }
static inline bool pte_is_user(mmpte_t pte) { return pte.value & PTE_USER; }
static inline bool pte_is_global(mmpte_t pte) { return pte.value & PTE_GLOBAL; }
static inline pfn_t pte_pfn(mmpte_t pte) { return pte.value >> PAGE_SHIFT; }

/* A system-space page: supervisor-only, and global where the CPU allows. */
static inline mmpte_t pte_make_kernel(pfn_t pfn, bool writable)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | PTE_VALID | (writable ? PTE_WRITE : 0) |
                     arch_global_pte_bit};
}

/* A system-space page of device memory: as pte_make_kernel, uncached. */
static inline mmpte_t pte_make_device(pfn_t pfn)
{
    return (mmpte_t){pte_make_kernel(pfn, true).value | PTE_CACHE_DISABLE | PTE_WRITE_THROUGH};
}

/*
 * A system-space page that must not be global: it differs between address spaces
 * (hyperspace) so a CR3 load has to drop it.
 */
static inline mmpte_t pte_make_kernel_local(pfn_t pfn)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | PTE_VALID | PTE_WRITE};
}

/* A user-space page: user-accessible, never global. */
static inline mmpte_t pte_make_user(pfn_t pfn, bool writable)
{
    return (mmpte_t){(pfn << PAGE_SHIFT) | PTE_VALID | PTE_USER | (writable ? PTE_WRITE : 0)};
}

/*
 * A page-directory entry for a page table. Permissions are the most generous here;
 * each PTE narrows them (SDM 4.6: the stricter of PDE and PTE wins).
 */
static inline mmpte_t pde_make_table(pfn_t table_pfn, bool user)
{
    return (mmpte_t){(table_pfn << PAGE_SHIFT) | PTE_VALID | PTE_WRITE | (user ? PTE_USER : 0)};
}

/* pte without write permission (the same entry, read-only). */
static inline mmpte_t pte_make_read_only(mmpte_t pte)
{
    return (mmpte_t){pte.value & ~PTE_WRITE};
}

/* The PTE that maps va, seen through the self-map. Its page table must exist. */
static inline mmpte_t *pte_of(vaddr_t va)
{
    return (mmpte_t *)(PTE_BASE + (va >> PAGE_SHIFT) * sizeof(mmpte_t));
}

/* The PDE that maps va, seen through the self-map. */
static inline mmpte_t *pde_of(vaddr_t va)
{
    return (mmpte_t *)(PDE_BASE + (va >> PDE_SHIFT) * sizeof(mmpte_t));
}

/* The virtual address a PTE (reached through the self-map) translates. */
static inline vaddr_t va_of_pte(const mmpte_t *pte)
{
    return ((vaddr_t)pte - PTE_BASE) / sizeof(mmpte_t) << PAGE_SHIFT;
}

static inline paddr_t pfn_to_paddr(pfn_t pfn) { return pfn << PAGE_SHIFT; }
static inline pfn_t paddr_to_pfn(paddr_t pa) { return pa >> PAGE_SHIFT; }
