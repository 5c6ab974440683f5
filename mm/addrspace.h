#pragma once
/* Address spaces: the list of them, their VADs, system PDEs (addrspace.c). */
#include "arch/spinlock.h"
#include "arch/mmu.h"
#include "lib/list.h"
#include "lib/types.h"
#include "mm/mm.h"
#include "mm/vad.h"

/* The base protections that allow a write (copy-on-write ones included). */
#define MI_WRITABLE_PROTECTIONS \
    (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

/* The base protections that allow execution. */
#define MI_EXECUTABLE_PROTECTIONS \
    (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

static inline bool MiProtectionIsExecutable(uint32_t protection)
{
    return (protection & MI_EXECUTABLE_PROTECTIONS) != 0;
}

/* True when protection, a valid one (one base protection), allows a write. */
static inline bool MiProtectionIsWritable(uint32_t protection)
{
    return (protection & MI_WRITABLE_PROTECTIONS) != 0;
}

/* Every address space, the system's included (struct mm_address_space.link). */
extern struct list_entry MiAddressSpaces;
extern struct kspin_lock MiAddressSpaceListLock;   /* guards it (addrspace.c) */

/* Sets up the system address space and KUSER_SHARED_DATA; needs system PTEs. */
void MiInitializeAddressSpaces(void);

/*
 * MmReserveUserRange, MmCommitUserRange and MmMapUserPage for a caller that holds the
 * current space's working-set lock (a service that calls them).
 */
ntstatus_t MiReserveUserRangeLocked(vaddr_t *base, uint32_t size, uint8_t type,
                                    uint16_t flags, uint32_t protection);
ntstatus_t MiCommitUserRangeLocked(vaddr_t va, uint32_t size, uint32_t protection);
ntstatus_t MiMapUserPageLocked(vaddr_t va, pfn_t pfn, uint32_t protection);

/*
 * Unlinks and frees a VAD (its pages must be gone already, or go with the space); a
 * view's section loses the view's reference.
 */
void MiDeleteVad(struct mm_address_space *space, struct mmvad *vad);
/*
 * Takes [start, end) (whole pages) out of private reservation vad: the VAD goes, shrinks,
 * or splits in two around the hole, each part a reservation of its own (as NT's
 * NtFreeVirtualMemory leaves it). Its pages must be decommitted already, or be so right
 * after. False, nothing changed, when the pool has no room for a second VAD.
 */
bool MiReleaseVadRange(struct mm_address_space *space, struct mmvad *vad, vaddr_t start,
                       vaddr_t end);
/* Gives a new private reservation its write-watch bits (all clear); false without pool. */
bool MiStartWriteWatch(struct mm_address_space *space, struct mmvad *vad);
/* The bytes of vad's write-watch bitmap, a bit per page from write_watch_base to its end. */
uint32_t MiWriteWatchBytes(const struct mmvad *vad);

/* Enters a new system page table's PDE into every page directory. */
void MiInsertSystemPde(vaddr_t va, mmpte_t pde);
