#pragma once
/* The pagefile: its slots, and the transfers between them and frames (pagefile.c). */
#include "arch/mmu.h"
#include "ke/event.h"
#include "lib/ntstatus.h"
#include "lib/types.h"
#include "mm/inject.h"
#include "mm/pfn.h"

#define MI_PAGEFILE_BATCH       16          /* pages in one write: 64 KB, one command */
#define MI_PAGEFILE_MAX_SLOTS   0x100000    /* 4 GB: what bits 12-31 of a PTE can name */

#define MM_DISK_SECTOR_SIZE     512

/*
 * A disk as the memory manager sees one. The I/O layer above it (io/block.c) describes
 * each disk so, and the pagefile reads and writes only through transfer, as NT's memory
 * manager reaches its paging files only through the I/O manager's paging calls.
 */
struct mm_paging_disk {
    const char *name;               /* "ide0", "sata1" */
    const char *transfer_mode;      /* "bus-master DMA", "32-bit PIO", ... */
    uint64_t sector_count;          /* of MM_DISK_SECTOR_SIZE bytes */
    /*
     * Moves count (1 to MI_PAGEFILE_BATCH) whole frames to or from the sectors from lba
     * on, in one request: the device's status. Sleeps below DISPATCH_LEVEL with
     * interrupts on, polls otherwise.
     */
    ntstatus_t (*transfer)(const struct mm_paging_disk *disk, bool write, uint64_t lba,
                           const pfn_t *frames, uint32_t count);
};

/* The index-th disk (from 0), NULL past the last: how the pagefile finds its disk. */
typedef const struct mm_paging_disk *mm_disk_at_t(unsigned index);

struct mi_pagefile {
    bool present;
    const struct mm_paging_disk *disk;
    uint64_t first_sector;
    uint32_t slot_count;        /* slot 0 (the signature page) included */
    uint32_t slots_in_use;      /* slot 0 not counted */
    uint32_t peak_slots_in_use;
    uint32_t pages_written;
    uint32_t write_transfers;   /* disk commands: pages_written / write_transfers per batch */
    uint32_t pages_read;
    uint32_t read_transfers;    /* disk commands: pages_read / read_transfers per cluster */
    uint32_t write_errors;
    uint32_t read_errors;
    uint32_t injected_failures;
};
extern struct mi_pagefile MiPagefile;

/* count consecutive free slots, taken; 0 when there is no such run (or no pagefile). */
uint32_t MiAllocatePagefileSlots(uint32_t count);
void MiReleasePagefileSlot(uint32_t slot);
/* Gives up the pagefile copies of pages still in memory (they become dirty); how many. */
uint32_t MiReclaimPagefileSlots(void);
/*
 * Reads the slots from first_slot on into count frames, in one transfer; a failure is
 * counted and reported.
 */
ntstatus_t MiReadPagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count);
/* Writes count frames to the slots from first_slot on, in one transfer. */
ntstatus_t MiWritePagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count);
/*
 * A read of one page from the pagefile that faults wait for, as NT's in-page support
 * block: its frame is marked MI_PFN_READ_IN_PROGRESS and names the block, and the owner
 * PTE is a transition PTE naming the frame, so that a second fault on the page (by
 * another thread, or another process through a shared section) finds the read and
 * waits for it -- a collided fault -- instead of reading again. Fields under the PFN lock.
 */
#define MI_IN_PAGE_BLOCKS 32
/*
 * The most pages one fault reads: the faulting page and those after it whose PTEs (in
 * the same page table) name the slots that follow its own, as NT clusters its page
 * reads -- pages written together in a cluster come back together.
 */
#define MI_READ_CLUSTER 8

struct mi_in_page {
    struct kevent done;         /* set when the read has ended and status is final */
    ntstatus_t status;          /* STATUS_SUCCESS or STATUS_IN_PAGE_ERROR */
    uint32_t references;        /* the reader and each waiter; 0: the block is free */
    uint32_t count;             /* frames read: the faulting page's first */
    pfn_t pfns[MI_READ_CLUSTER];
    uint32_t slot;              /* the first frame's; the others' follow it */
};

/* What a fault holds, no lock held, while it waits for a page: the read, and whose it is. */
struct mi_in_page_wait {
    struct mi_in_page *block;
    bool reader;                /* this fault started it, and makes the transfer */
};

/*
 * The frame behind a transition or in-pagefile PTE (pte), back in use for use, PFN lock
 * held:
 *   - a page in transition comes off its list with one reference: STATUS_SUCCESS;
 *   - a page whose read another fault started: STATUS_PENDING, *wait names the read
 *     (wait must not be NULL: only a caller that can wait finds one);
 *   - a page in the pagefile, with wait not NULL: a new frame, marked read in progress,
 *     in *pfn: STATUS_PENDING, *wait the read, this caller's to make. The caller makes
 *     its PTE a transition PTE naming *pfn (with the page's protection) before letting
 *     the PFN lock go;
 *   - the same with wait NULL (or no in-page block free): the read happens now, under
 *     the lock, polled: STATUS_SUCCESS, the frame with one reference and the slot as its
 *     clean copy.
 * STATUS_IN_PAGE_ERROR when the read fails, STATUS_NO_MEMORY when no frame is left; the
 * PTE's owner changes nothing either way.
 */
ntstatus_t MiBringPageBack(mmpte_t pte, enum mi_page_use use, pfn_t *pfn,
                           struct mi_in_page_wait *wait);
/*
 * PFN lock held, after MiBringPageBack started a read (wait->reader): adds the page pte
 * names to the read when it is an in-pagefile PTE whose slot follows the read's last
 * and a free frame can be had without going below MiReadAheadReserve free pages. True
 * with the frame in *pfn: the caller makes pte a transition PTE naming it, as the first.
 */
bool MiReadAheadLocked(struct mi_in_page_wait *wait, mmpte_t pte, enum mi_page_use use,
                       pfn_t *pfn);
/* Free pages read-ahead leaves to others. */
extern uint32_t MiReadAheadReserve;
/*
 * After MiBringPageBack's STATUS_PENDING, with no lock held, below DISPATCH_LEVEL: the
 * reader reads, the others wait. STATUS_SUCCESS once the page is in memory (in
 * transition, for the fault to take as any) or gone (freed meanwhile): the fault looks
 * at its PTE again. STATUS_IN_PAGE_ERROR, for every thread that waited, when the read
 * failed: the PTE names its slot again.
 */
ntstatus_t MiFinishPageWait(struct mi_in_page_wait *wait);
/* True when slot is allocated (in use by a PTE or a page). */
bool MiIsPagefileSlotInUse(uint32_t slot);
/* Pagefile transfers made to fail with STATUS_IO_DEVICE_ERROR (tests; see above). */
extern struct mi_fault_injection MiPagefileInjection;
/*
 * Tests: clock ticks a fault that reads a page waits before it starts the transfer, as
 * if the disk were slow, so that other faults on the page surely find the read; 0: none.
 */
extern uint32_t MiPagefileReadDelay;
/* Makes every read of slot fail, as on a bad sector, until called with 0 (tests). */
void MiMakePagefileSlotUnreadable(uint32_t slot);
