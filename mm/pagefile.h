#pragma once
/* The pagefile: its slots, and the transfers between them and frames (pagefile.c). */
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/types.h"
#include "mm/inject.h"
#include "mm/pfn.h"

#define MI_PAGEFILE_BATCH       16          /* pages in one write: 64 KB, one command */
#define MI_PAGEFILE_MAX_SLOTS   0x100000    /* 4 GB: what bits 12-31 of a PTE can name */

struct ata_disk;

struct mi_pagefile {
    bool present;
    const struct ata_disk *disk;
    unsigned disk_index;
    uint64_t first_sector;
    uint32_t slot_count;        /* slot 0 (the signature page) included */
    uint32_t slots_in_use;      /* slot 0 not counted */
    uint32_t peak_slots_in_use;
    uint32_t pages_written;
    uint32_t write_transfers;   /* disk commands: pages_written / write_transfers per batch */
    uint32_t pages_read;
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
/* Reads slot into frame pfn; a failure is counted and reported. */
ntstatus_t MiReadPagefileSlot(uint32_t slot, pfn_t pfn);
/* Writes count frames to the slots from first_slot on, in one transfer. */
ntstatus_t MiWritePagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count);
/*
 * The frame behind a transition or in-pagefile PTE, back in use for use with one
 * reference: taken off its list, or read from the pagefile into a new frame (which
 * keeps the slot as its clean copy). STATUS_IN_PAGE_ERROR when the read fails,
 * STATUS_NO_MEMORY when no frame is left; the PTE's owner changes nothing either way.
 * With the PFN lock held (the read, polled, happens under it).
 */
ntstatus_t MiBringPageBack(mmpte_t pte, enum mi_page_use use, pfn_t *pfn);
/* True when slot is allocated (in use by a PTE or a page). */
bool MiIsPagefileSlotInUse(uint32_t slot);
/* Pagefile transfers made to fail with STATUS_IO_DEVICE_ERROR (tests; see above). */
extern struct mi_fault_injection MiPagefileInjection;
/* Makes every read of slot fail, as on a bad sector, until called with 0 (tests). */
void MiMakePagefileSlotUnreadable(uint32_t slot);
