#pragma once
/*
 * The memory manager's interface to the rest of the kernel. Names follow NT: Mm* is
 * public, Mi* (mm/mi.h) is internal to mm/ and its tests.
 */
#include "kernel/ntstatus.h"
#include "kernel/types.h"

struct boot_info;

/*
 * The split chosen on the command line (MEMORY-MODEL.md section 1). Set once by
 * MmInitializeSplit, read-only afterwards.
 */
extern vaddr_t MmSystemRangeStart;      /* first system-space address */
extern vaddr_t MmHighestUserAddress;    /* last address user mode may use */
extern vaddr_t MmUserProbeAddress;      /* MmHighestUserAddress + 1 */

/*
 * Maps the boot address space's hyperspace, so that MmCopyFromPhysical works. The first
 * thing kernel_main calls: it needs no memory.
 */
void MmInitializeBootMappings(void);

/* Chooses the split from the boot command line, warning about bad options. */
void MmInitializeSplit(const char *command_line);

/*
 * Brings up physical memory and system space: the PFN database, system PTEs, the final
 * kernel mappings (no identity map left). Needs the split.
 */
void MmInitSystem(const struct boot_info *boot);

/* Prints the split, the map of system space and the memory totals. */
void MmPrintBootReport(void);

/*
 * Copies length bytes of physical memory at source to destination (a kernel address),
 * through a temporary mapping. Usable from the first instruction of kernel_main.
 */
void MmCopyFromPhysical(void *destination, paddr_t source, size_t length);

/* Maps device memory into system space, uncached; NULL when system PTEs run out. */
void *MmMapIoSpace(paddr_t address, size_t length);
void MmUnmapIoSpace(void *address, size_t length);

/* The physical address that va translates to in the current address space. */
bool MmGetPhysicalAddress(vaddr_t va, paddr_t *physical);

enum mm_access {
    MM_ACCESS_READ,
    MM_ACCESS_WRITE,
    MM_ACCESS_EXECUTE,
};

/*
 * Resolves a page fault at address. STATUS_SUCCESS means the access may be retried;
 * any other status is what the faulting code gets (the caller decides what a failed
 * kernel access means).
 */
ntstatus_t MmAccessFault(vaddr_t address, enum mm_access access, bool user_mode);
