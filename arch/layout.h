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
 *  C1000000 +----------------+    +----------------+        +----------------+
 *           | kernel image   |    | kernel image   |        | kernel image   |
 *  C0C00000 +----------------+    +----------------+        +----------------+
 *           | hyperspace     |    | hyperspace     |        | hyperspace     |
 *  C0400000*+----------------+    +----------------+        +----------------+
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
 *  (* C0800000 with PAE, whose self-map is twice as large)
 *
 * The two entry formats differ only in the self-map's size and what follows it:
 *
 *                   two-level (4-byte entries)       PAE (8-byte entries)
 *   PTE self-map    C0000000-C03FFFFF, 4 MB          C0000000-C07FFFFF, 8 MB
 *   directories     C0300000, one page               C0600000, four pages (one per GB)
 *   hyperspace      C0400000-C07FFFFF (one PDE)      C0800000-C09FFFFF (one PDE)
 *   unused          C0800000-C0BFFFFF                C0A00000-C0BFFFFF
 *   kernel image    C0C00000-C0FFFFFF                the same
 *   PFN database    C1000000 up                      the same
 *
 * so the kernel image and the PFN database sit where both formats leave room, and the
 * kernel has one link address whichever format it runs.
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
 * The page-table entry format: the one definition everything that knows an entry's
 * size, a table's length, how an address splits into indexes and where the self-map
 * puts the directories is derived from (C, the assembly and linker.ld alike). The bit
 * positions inside an entry are arch/mmu.h's constructors' and accessors' alone.
 *
 * The kernel is built twice from the same sources, once for each format (MM_PAE 0 and
 * 1), and both builds travel in one kernel file whose boot stub picks one before paging
 * is on (boot/select.c), as NT's loader picked ntoskrnl.exe or ntkrnlpa.exe. Each build
 * knows its format at compile time, so no PTE access tests which format it is in.
 *
 *   two-level (Intel SDM vol. 3A, 4.3): 4-byte entries, 1024 to a table; a PDE maps
 *       4 MB; one page directory of 1024 PDEs, CR3 names it.
 *   PAE (SDM 4.4): 8-byte entries, 512 to a table; a PDE maps 2 MB; four page
 *       directories, one per GB, named by the four entries of a page-directory-pointer
 *       table (PDPT) that CR3 names. The four directories are seen as one array of 2048
 *       PDEs, which is all the rest of the kernel knows of them.
 */
#ifndef MM_PAE
#define MM_PAE                  0
#endif
#if MM_PAE
#define PTE_SIZE                8           /* bytes in a page-table or directory entry */
#define PTE_INDEX_BITS          9           /* a table is one page of entries */
#else
#define PTE_SIZE                4
#define PTE_INDEX_BITS          10
#endif
#define PTES_PER_TABLE          (1 << PTE_INDEX_BITS)
#define PDE_SHIFT               (PAGE_SHIFT + PTE_INDEX_BITS)   /* a PDE maps 4 MB or 2 MB */
#define PDE_SPAN                (1 << PDE_SHIFT)
#define PDE_COUNT               (1 << (32 - PDE_SHIFT))         /* PDEs over 4 GB */
#define DIRECTORY_PAGES         (PDE_COUNT / PTES_PER_TABLE)    /* 1, or 4 with PAE */
#define PDPT_ENTRIES            4           /* PAE: one per page directory */
#define BOOT_TABLES             (0x400000 / PDE_SPAN)   /* the boot's tables: 4 MB */

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

/*
 * Fixed system space, as NT x86 lays it out in each format. The self-map's window holds
 * one entry per page of the 4 GB space; the directories' entries fall inside it at
 * PDE_BASE, and the PDEs that map the window itself (DIRECTORY_PAGES of them, from
 * PTE_SELF_MAP_INDEX) name the directories.
 */
#define PTE_BASE                0xC0000000  /* the PTE self-map */
#define PTE_WINDOW_END          (PTE_BASE + (1 << (32 - PAGE_SHIFT)) * PTE_SIZE)
                                            /* 0xC0400000, PAE 0xC0800000 */
#define PTE_SELF_MAP_INDEX      (PTE_BASE >> PDE_SHIFT)         /* 0x300, PAE 0x600 */
#define PDE_BASE                (PTE_BASE + (PTE_BASE >> PAGE_SHIFT) * PTE_SIZE)
                                            /* 0xC0300000, PAE 0xC0600000 */
#define HYPER_SPACE             PTE_WINDOW_END  /* per-process temporary mappings, one PDE */
#define HYPER_SPACE_END         (HYPER_SPACE + PDE_SPAN)

/*
 * The kernel image window: while booting, physical address P appears at
 * KERNEL_WINDOW + P for the first 4 MB, so an image loaded at physical 1 MB runs at
 * 0xC0D00000. After boot only the image itself remains mapped in the window.
 */
#define KERNEL_WINDOW           0xC0C00000
#define KERNEL_WINDOW_END       0xC1000000
#define KERNEL_PHYS_BASE        0x00100000
#define KERNEL_VIRT_BASE        (KERNEL_WINDOW + KERNEL_PHYS_BASE)

/* The PFN database: one entry per physical page, sized from RAM at boot. */
#define MM_PFN_DATABASE         0xC1000000

/*
 * The last page of the address space is never mapped, so that arithmetic which wraps
 * past 0xFFFFFFFF lands on a fault, not on data.
 */
#define MM_SYSTEM_SPACE_TOP     0xFFFFF000
