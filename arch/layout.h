#pragma once
/*
 * The 4 GB virtual address space, for every split the boot command line can choose.
 * This header is the only place these addresses are written; linker.ld and the
 * assembly include it.
 *
 *  default (2 GB / 2 GB)          /3GB (3 GB / 1 GB)         /3GB /USERVA=2560
 *  FFFFFFFF +----------------+    +----------------+        +----------------+
 *           | system PTEs    |    | system PTEs    |        | system PTEs    |
 *           | (rest of space)|    | (rest of space)|        |                |
 *           +----------------+    +----------------+        +----------------+
 *           | PFN database   |    | PFN database   |        | PFN database   |
 *  C0C00000 +----------------+    +----------------+        +----------------+
 *           | kernel image   |    | kernel image   |        | kernel image   |
 *  C0800000 +----------------+    +----------------+        +----------------+
 *           | hyperspace     |    | hyperspace     |        | hyperspace     |
 *  C0400000 +----------------+    +----------------+        +----------------+
 *           | PTE self-map   |    | PTE self-map   |        | PTE self-map   |
 *  C0000000 +----------------+    +================+ start  +----------------+
 *           | system PTEs    |    | unmapped 64 KB |        | system PTEs    |
 *  80000000 +================+    | BFFF0000 probe |        +================+ A0000000
 *           | unmapped 64 KB |    |                |        | unmapped 64 KB |
 *  7FFF0000 +- - - - - - - - +    | user space     |        +- - - - - - - - + 9FFF0000
 *           | shared data    |    | (large-address-|        |                |
 *  7FFE0000 +- - - - - - - - +    |  aware images  |        | user space     |
 *           | user space     |    |  above 2 GB)   |        |                |
 *  00010000 +----------------+    +----------------+        +----------------+
 *           | no access      |    | no access      |        | no access      |
 *  00000000 +----------------+    +----------------+        +----------------+
 *
 * '====' marks MmSystemRangeStart; everything above it is system space, supervisor-only
 * and the same in every process except the self-map and hyperspace. Everything from
 * 0xC0000000 up sits above every possible split, so those places are fixed; what lies
 * between MmSystemRangeStart and 0xC0000000 is given to system PTEs at boot, which is why
 * system space shrinks with /3GB (docs/memory-model.md, 1.3).
 *
 * Constants here are plain hexadecimal with no C suffixes, so that the linker script
 * and assembly can use them as they are.
 *
 * The header lives in arch/ because this layout is the i386 one: the entry format, the
 * self-map's place and the window the first page tables build follow from the MMU, and
 * boot/ and arch/ need them before the memory manager exists (NT keeps these addresses in
 * its i386 headers too). mm/ reads them from here and knows no other MMU fact.
 */

#define PAGE_SHIFT              12
#define PAGE_SIZE               0x1000

/*
 * The page-table entry format, i386 without PAE: the one definition everything that
 * knows an entry's size, a table's length, how an address splits into indexes and where
 * the self-map puts the directory is derived from (C, the assembly and linker.ld alike).
 * The bit positions inside an entry are arch/mmu.h's constructors' and accessors' alone.
 */
#define PTE_SIZE                4           /* bytes in a page-table or directory entry */
#define PTE_INDEX_BITS          10          /* a table is one page of entries */
#define PTES_PER_TABLE          (1 << PTE_INDEX_BITS)
#define PDE_SHIFT               (PAGE_SHIFT + PTE_INDEX_BITS)   /* a PDE maps 4 MB */
#define PDE_SPAN                (1 << PDE_SHIFT)

/* User space (docs/memory-model.md, 1.1 and 1.2). */
#define MM_LOWEST_USER_ADDRESS  0x00010000  /* [0, 64 KB) is never mapped */
#define MM_SHARED_USER_DATA     0x7FFE0000  /* KUSER_SHARED_DATA */
#define MM_NO_ACCESS_GAP        0x00010000  /* 64 KB below the system range, never mapped */
#define MM_ALLOCATION_GRANULARITY 0x00010000
#define MM_LEGACY_USER_LIMIT    0x7FFEFFFF  /* highest address of a non-LAA process */

/* The splits the command line can choose, in megabytes. */
#define MM_SPLIT_DEFAULT_MB     2048
#define MM_SPLIT_3GB_MB         3072
#define MM_SPLIT_MIN_MB         2048
#define MM_SPLIT_MAX_MB         3072

/* Fixed system space (NT x86 without PAE). */
#define PTE_BASE                0xC0000000  /* the PTE self-map: its PDE -> the directory */
#define PTE_SELF_MAP_INDEX      (PTE_BASE >> PDE_SHIFT)                     /* 0x300 */
#define PDE_BASE                (PTE_BASE + (PTE_BASE >> PAGE_SHIFT) * PTE_SIZE)
                                            /* 0xC0300000: the directory, self-mapped */
#define HYPER_SPACE             0xC0400000  /* per-process temporary mappings */
#define HYPER_SPACE_END         0xC0800000

/*
 * The kernel image window: while booting, physical address P appears at
 * KERNEL_WINDOW + P for the first 4 MB, so an image loaded at physical 1 MB runs at
 * 0xC0900000. After boot only the image itself remains mapped in the window.
 */
#define KERNEL_WINDOW           0xC0800000
#define KERNEL_WINDOW_END       0xC0C00000
#define KERNEL_PHYS_BASE        0x00100000
#define KERNEL_VIRT_BASE        (KERNEL_WINDOW + KERNEL_PHYS_BASE)

/* The PFN database: one entry per physical page below 4 GB, sized from RAM at boot. */
#define MM_PFN_DATABASE         0xC0C00000

/*
 * The last page of the address space is never mapped, so that arithmetic which wraps
 * past 0xFFFFFFFF lands on a fault, not on data.
 */
#define MM_SYSTEM_SPACE_TOP     0xFFFFF000
