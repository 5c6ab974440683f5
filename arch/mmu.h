#pragma once
/*
 * The i386 page tables, in the format this build was made for (arch/layout.h): 32-bit
 * paging (Intel SDM vol. 3A, 4.3) or PAE (4.4). The hardware PTE format, named
 * constructors for the entries the kernel makes, and the helpers that reach any PTE or
 * PDE through the self-map at PTE_BASE.
 *
 * The two formats have the same bits 0-11 in a PTE and a PDE; PAE widens the frame number
 * (bits 12-51, of which the CPU uses MAXPHYADDR - 12) and adds the execute-disable bit 63,
 * which the CPU honours once EFER.NXE is on and otherwise treats as reserved.
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
#if MM_PAE
typedef uint64_t ptebits_t;
#else
typedef uint32_t ptebits_t;
#endif

typedef struct mmpte {
    const ptebits_t value;
} mmpte_t;

_Static_assert(sizeof(mmpte_t) == PTE_SIZE, "an entry is PTE_SIZE bytes (arch/layout.h)");
_Static_assert(PTES_PER_TABLE * PTE_SIZE == PAGE_SIZE, "a table is one page of entries");

/*
 * Bits of a present PTE or PDE (SDM vol. 3A, tables 4-5, 4-6, 4-10 and 4-11), of the
 * entry's own width so that ~PTE_WRITE clears one bit of an 8-byte entry, not its upper
 * half too.
 */
#define PTE_VALID           ((ptebits_t)0x001)  /* P */
#define PTE_WRITE           ((ptebits_t)0x002)  /* R/W */
#define PTE_USER            ((ptebits_t)0x004)  /* U/S: 0 = supervisor only */
#define PTE_WRITE_THROUGH   ((ptebits_t)0x008)  /* PWT */
#define PTE_CACHE_DISABLE   ((ptebits_t)0x010)  /* PCD */
#define PTE_ACCESSED        ((ptebits_t)0x020)  /* A */
#define PTE_DIRTY           ((ptebits_t)0x040)  /* D (PTE only) */
#define PTE_GLOBAL          ((ptebits_t)0x100)  /* G (PTE only, needs CR4.PGE) */
#define PTE_SOFTWARE_SHIFT  9                   /* bits 9-11: ignored by the CPU, free for software */
#define PTE_SOFTWARE_MASK   ((ptebits_t)0xE00)
#if MM_PAE
#define PTE_NO_EXECUTE      ((ptebits_t)1 << 63)  /* XD: no instruction fetch (EFER.NXE) */
#define PTE_FRAME_MASK      ((ptebits_t)0x000FFFFFFFFFF000ull)
#else
#define PTE_NO_EXECUTE      ((ptebits_t)0)        /* the format has no such bit */
#define PTE_FRAME_MASK      ((ptebits_t)0xFFFFF000u)
#endif

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

/*
 * PTE_NO_EXECUTE once EFER.NXE is on (cpu_enable_no_execute), 0 otherwise: without NXE the
 * bit is reserved and a PTE with it set faults on every access (SDM vol. 3A, 4.4.2).
 */
extern ptebits_t arch_no_execute_pte_bit;

static inline mmpte_t pte_zero(void) { return (mmpte_t){0}; }
static inline bool pte_is_valid(mmpte_t pte) { return pte.value & PTE_VALID; }
static inline bool pte_is_writable(mmpte_t pte) { return pte.value & PTE_WRITE; }
static inline bool pte_is_user(mmpte_t pte) { return pte.value & PTE_USER; }
static inline bool pte_is_global(mmpte_t pte) { return pte.value & PTE_GLOBAL; }
static inline bool pte_is_no_execute(mmpte_t pte) { return pte.value & PTE_NO_EXECUTE; }
static inline pfn_t pte_pfn(mmpte_t pte) { return (pte.value & PTE_FRAME_MASK) >> PAGE_SHIFT; }

/* The frame bits of an entry naming pfn. */
static inline ptebits_t pte_frame_bits(pfn_t pfn) { return (ptebits_t)pfn << PAGE_SHIFT; }

/*
 * A system-space page: supervisor-only, global where the CPU allows, and not executable
 * where the CPU can refuse execution: only the kernel's code is (pte_make_kernel_code).
 */
static inline mmpte_t pte_make_kernel(pfn_t pfn, bool writable)
{
    return (mmpte_t){pte_frame_bits(pfn) | PTE_VALID | (writable ? PTE_WRITE : 0) |
                     arch_global_pte_bit | arch_no_execute_pte_bit};
}

/* A page of the kernel's code: read-only, global where the CPU allows, executable. */
static inline mmpte_t pte_make_kernel_code(pfn_t pfn)
{
    return (mmpte_t){pte_frame_bits(pfn) | PTE_VALID | arch_global_pte_bit};
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
    return (mmpte_t){pte_frame_bits(pfn) | PTE_VALID | PTE_WRITE | arch_no_execute_pte_bit};
}

/* A user-space page: user-accessible, never global. */
static inline mmpte_t pte_make_user(pfn_t pfn, bool writable)
{
    return (mmpte_t){pte_frame_bits(pfn) | PTE_VALID | PTE_USER | (writable ? PTE_WRITE : 0)};
}

/*
 * A page-directory entry for a page table. Permissions are the most generous here;
 * each PTE narrows them (SDM 4.6: the stricter of PDE and PTE wins).
 */
static inline mmpte_t pde_make_table(pfn_t table_pfn, bool user)
{
    return (mmpte_t){pte_frame_bits(table_pfn) | PTE_VALID | PTE_WRITE | (user ? PTE_USER : 0)};
}

/* pte without write permission (the same entry, read-only). */
static inline mmpte_t pte_make_read_only(mmpte_t pte)
{
    return (mmpte_t){pte.value & ~PTE_WRITE};
}

#if MM_PAE
/*
 * An entry of a page-directory-pointer table (SDM vol. 3A, table 4-8): the directory's
 * frame and P, nothing else: bits 1, 2, 5-8 and 63 are reserved there, and a CR3 load
 * with one set faults.
 */
static inline mmpte_t pdpte_make(pfn_t directory_pfn)
{
    return (mmpte_t){pte_frame_bits(directory_pfn) | PTE_VALID};
}
#endif

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

static inline paddr_t pfn_to_paddr(pfn_t pfn) { return (paddr_t)pfn << PAGE_SHIFT; }
static inline pfn_t paddr_to_pfn(paddr_t pa) { return pa >> PAGE_SHIFT; }
