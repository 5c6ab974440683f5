/*
 * The pagefile: where pages go when memory is short. It is a disk, or the first part
 * of one, named on the command line by the name the I/O layer gives it (io/block.h):
 *
 *     pagefile=ide0           the whole of the primary IDE channel's master disk, or
 *     pagefile=sata1:64M      the first 64 MB of the second disk on an AHCI controller
 *
 * (hd0..hd3, the names of earlier versions, still mean ide0..ide3.)
 *
 * A disk is only ever written if its first sector carries the pagefile signature that
 * scripts/mkpagefile.py writes, so a mistyped option cannot overwrite anyone's data.
 * That first page is slot 0; slots 1.. hold one page each, tracked in a bitmap. Every
 * slot in use belongs to exactly one owner: an in-pagefile PTE, or a page in memory
 * whose copy it holds (struct mmpfn.pagefile_slot).
 *
 * A transfer names the frames themselves, so no mapping is made for it. A fault reads
 * with no lock held, asleep while the disk works (see MiFinishPageWait); the writes,
 * made with the PFN lock held, poll.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/bitmap.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/inject.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/syspte.h"

#define TAG_PAGEFILE        0x66676150  /* 'Pagf' */
#define SECTORS_PER_PAGE    (PAGE_SIZE / MM_DISK_SECTOR_SIZE)
#define PAGEFILE_SIGNATURE  "NTMM-PAGEFILE-1"   /* sector 0, bytes 0-15 (NUL included) */
#define PAGEFILE_MIN_SLOTS  16

struct mi_pagefile MiPagefile;
struct mi_fault_injection MiPagefileInjection;

static struct bitmap slots;
static uint32_t slot_hint = 1;
static uint32_t unreadable_slot;    /* a slot whose reads fail, as a bad sector's (tests) */
uint32_t MiPagefileReadDelay;
uint32_t MiReadAheadReserve = 64;

/* ---- the command line ---- */

/*
 * Parses "NAME" or "NAME:SIZE" (SIZE in MB, an optional M) into the disk's name and a size
 * in bytes (0: the whole disk); false, with a message, when it is not well formed.
 */
static bool parse_pagefile_option(const char *value, size_t *name_length, uint64_t *bytes,
                                  char *why, size_t why_size)
{
    const char *colon = value;

    while (*colon && *colon != ':')
        colon++;
    if (!*colon)
        colon = NULL;
    *bytes = 0;
    *name_length = colon ? (size_t)(colon - value) : strlen(value);
    if (*name_length == 0 || *name_length >= 16) {
        ksnprintf(why, why_size, "a disk name such as ide0 or sata0 comes first");
        return false;
    }
    if (!colon)
        return true;
    const char *p = colon + 1;
    uint64_t megabytes = 0;
    if (*p < '0' || *p > '9') {
        ksnprintf(why, why_size, "the size must be a number of megabytes");
        return false;
    }
    while (*p >= '0' && *p <= '9' && megabytes <= 0x100000)
        megabytes = megabytes * 10 + (uint64_t)(*p++ - '0');
    if (*p == 'M' || *p == 'm')
        p++;
    if (*p != '\0' || megabytes == 0 || megabytes > 0x100000) {
        ksnprintf(why, why_size, "the size must be 1 to 1048576 MB");
        return false;
    }
    *bytes = megabytes << 20;
    return true;
}

/* The disk called name (length given) among disk_at's, or hd0-hd3 for ide0-ide3. */
static const struct mm_paging_disk *find_disk(mm_disk_at_t *disk_at, const char *name,
                                             size_t length)
{
    char ide[5] = {'i', 'd', 'e', name[length - 1], '\0'};

    if (length == 3 && (name[0] == 'h' || name[0] == 'H') && (name[1] == 'd' || name[1] == 'D') &&
        name[2] >= '0' && name[2] <= '3') {
        name = ide;
        length = 4;
    }
    for (unsigned i = 0; disk_at(i); i++)
        if (strlen(disk_at(i)->name) == length && memcmp(disk_at(i)->name, name, length) == 0)
            return disk_at(i);
    return NULL;
}

/* ---- slots ---- */

/* The pagefile's slot bitmap and its counts: taken inside the PFN lock. */
static struct lock_class slot_lock_class = LOCK_CLASS_SPIN("pagefile slots");
static struct kspin_lock slot_lock = KSPIN_LOCK_INIT(slot_lock_class);

uint32_t MiAllocatePagefileSlots(uint32_t count)
{
    if (!MiPagefile.present || count == 0)
        return 0;
    KIRQL old = KeAcquireSpinLock(&slot_lock);
    uint32_t first = bitmap_find_clear_run(&slots, count, slot_hint);
    if (first != BITMAP_NONE) {
        bitmap_set_range(&slots, first, count);
        MiPagefile.slots_in_use += count;
        MiPagefile.peak_slots_in_use = MAX(MiPagefile.peak_slots_in_use,
                                           MiPagefile.slots_in_use);
        slot_hint = first + count < MiPagefile.slot_count ? first + count : 1;
    }
    KeReleaseSpinLock(&slot_lock, old);
    return first == BITMAP_NONE ? 0 : first;
}

void MiReleasePagefileSlot(uint32_t slot)
{
    KIRQL old = KeAcquireSpinLock(&slot_lock);

    KASSERT(MiPagefile.present && slot > 0 && slot < MiPagefile.slot_count &&
            bitmap_test(&slots, slot));
    bitmap_clear_range(&slots, slot, 1);
    MiPagefile.slots_in_use--;
    KeReleaseSpinLock(&slot_lock, old);
}

bool MiIsPagefileSlotInUse(uint32_t slot)
{
    return MiPagefile.present && slot > 0 && slot < MiPagefile.slot_count &&
           bitmap_test(&slots, slot);
}

uint32_t MiReclaimPagefileSlots(void)
{
    uint32_t reclaimed = 0;

    for (pfn_t pfn = 0; pfn <= MmHighestPhysicalPage; pfn++) {
        struct mmpfn *entry = MiGetPfnEntry(pfn);
        /* A page being read keeps its slot: the transfer reads it. */
        if (entry->location == MI_PAGE_ACTIVE && MiIsPageableUse(entry->use) &&
            entry->pagefile_slot && !(entry->flags & MI_PFN_READ_IN_PROGRESS)) {
            MiReleasePagefileSlot(entry->pagefile_slot);
            entry->pagefile_slot = 0;
            entry->flags |= MI_PFN_MODIFIED;
            reclaimed++;
        }
    }
    return reclaimed;
}

/* ---- transfers ---- */

void MiMakePagefileSlotUnreadable(uint32_t slot)
{
    unreadable_slot = slot;
}

/* Moves count pages between frames and the slots from first_slot on: one request. */
static ntstatus_t transfer(uint32_t first_slot, const pfn_t *frames, uint32_t count,
                           bool write)
{
    KASSERT(count > 0 && count <= MI_PAGEFILE_BATCH &&
            first_slot + count <= MiPagefile.slot_count);
    bool bad_sector = !write && unreadable_slot && unreadable_slot - first_slot < count;
    if (bad_sector || MiInjectedFailure(&MiPagefileInjection)) {
        MiPagefile.injected_failures++;
        return STATUS_IO_DEVICE_ERROR;
    }
    uint64_t lba = MiPagefile.first_sector + (uint64_t)first_slot * SECTORS_PER_PAGE;
    return MiPagefile.disk->transfer(MiPagefile.disk, write, lba, frames, count);
}

ntstatus_t MiReadPagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count)
{
    ntstatus_t status = transfer(first_slot, frames, count, false);

    if (NT_SUCCESS(status)) {
        MiPagefile.pages_read += count;
        MiPagefile.read_transfers++;
    } else {
        MiPagefile.read_errors++;
        kprintf("pagefile: reading %u pages at slot %u failed (status 0x%08x)\n", count,
                first_slot, status);
    }
    return status;
}

ntstatus_t MiWritePagefileSlots(uint32_t first_slot, const pfn_t *frames, uint32_t count)
{
    ntstatus_t status = transfer(first_slot, frames, count, true);

    if (NT_SUCCESS(status)) {
        MiPagefile.pages_written += count;
        MiPagefile.write_transfers++;
    } else {
        MiPagefile.write_errors++;
        kprintf("pagefile: writing %u pages at slot %u failed (status 0x%08x); "
               "they stay on the modified list and will be written again\n",
               count, first_slot, status);
    }
    return status;
}

/* ---- reads that threads wait for ---- */

/*
 * The in-page blocks, taken and given back under the PFN lock. A fault that finds none
 * free (more reads in flight than blocks) reads synchronously instead.
 */
static struct mi_in_page in_page_blocks[MI_IN_PAGE_BLOCKS];

static struct mi_in_page *allocate_in_page_block(void)
{
    for (unsigned i = 0; i < MI_IN_PAGE_BLOCKS; i++)
        if (in_page_blocks[i].references == 0)
            return &in_page_blocks[i];
    return NULL;
}

/* PFN lock held: the waiter's or reader's reference to block is dropped. */
static void release_in_page_block(struct mi_in_page *block)
{
    KASSERT(block->references > 0);
    block->references--;
}

/*
 * PFN lock held: the read of block's pages ended with status. Each frame becomes a clean
 * page on the standby list, its owner's transition PTE naming it, which the fault that
 * waited then takes back as any page in transition. A read that failed gives each owner
 * its slot back and the frames to the free list; a page whose owner went meanwhile only
 * frees its frame. Every thread waiting for the read is released.
 */
static void end_in_page_locked(struct mi_in_page *block, ntstatus_t status)
{
    for (uint32_t i = 0; i < block->count; i++) {
        pfn_t pfn = block->pfns[i];
        struct mmpfn *entry = MiGetPfnEntry(pfn);
        KASSERT(entry->flags & MI_PFN_READ_IN_PROGRESS && entry->in_page == block);
        entry->flink = PFN_INVALID;
        entry->flags &= ~MI_PFN_READ_IN_PROGRESS;
        if (entry->flags & MI_PFN_DELETED) {
            entry->flags &= ~MI_PFN_DELETED;
            MiInsertPageInFreeListLocked(pfn);
        } else if (NT_SUCCESS(status)) {
            MmStatistics.pagefile_read_faults++;
            MiInsertTransitionPageLocked(pfn);
        } else {
            MiPointOwnerAtSlotLocked(pfn, block->slot + i);
            entry->pagefile_slot = 0;
            MiInsertPageInFreeListLocked(pfn);
        }
    }
    if (!NT_SUCCESS(status)) {
        MmStatistics.in_page_errors++;
        status = STATUS_IN_PAGE_ERROR;
    }
    block->status = status;
    KeSetEvent(&block->done);
}

/* PFN lock held: makes pfn, just taken for use, the next frame block reads (slot's). */
static void join_read(struct mi_in_page *block, pfn_t pfn, uint32_t slot)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);

    entry->pagefile_slot = slot;        /* the copy stays good until a write */
    entry->in_page = block;
    entry->flags |= MI_PFN_READ_IN_PROGRESS;
    entry->reference_count = 0;
    block->pfns[block->count++] = pfn;
}

ntstatus_t MiBringPageBack(mmpte_t pte, enum mi_page_use use, pfn_t *result,
                           struct mi_in_page_wait *wait)
{
    MiAssertPfnLockHeld();
    if (MiIsTransitionPte(pte)) {
        pfn_t pfn = pte_pfn(pte);
        struct mmpfn *entry = MiGetPfnEntry(pfn);
        if (entry->flags & MI_PFN_READ_IN_PROGRESS) {
            /* A collided fault: another thread's read brings this page; wait for it. */
            KASSERT(wait != NULL);
            entry->in_page->references++;
            *wait = (struct mi_in_page_wait){entry->in_page, false};
            MmStatistics.collided_faults++;
            return STATUS_PENDING;
        }
        MiRemoveTransitionPageLocked(pfn, use);
        MmStatistics.transition_faults++;
        *result = pfn;
        return STATUS_SUCCESS;
    }

    KASSERT(MiIsPagefilePte(pte));
    uint32_t slot = MiPagefilePteSlot(pte);
    pfn_t pfn = MiRemoveAnyPageLocked(use);
    if (pfn == PFN_INVALID)
        return STATUS_NO_MEMORY;
    struct mmpfn *entry = MiGetPfnEntry(pfn);
    entry->pagefile_slot = slot;        /* the copy stays good until a write */
    struct mi_in_page *block = wait ? allocate_in_page_block() : NULL;
    if (block) {
        /* The caller makes its PTE a transition PTE naming pfn, then reads, unlocked. */
        block->references = 1;
        block->count = 0;
        block->slot = slot;
        block->status = STATUS_PENDING;
        KeInitializeEvent(&block->done, false);
        join_read(block, pfn, slot);
        *wait = (struct mi_in_page_wait){block, true};
        *result = pfn;
        return STATUS_PENDING;
    }
    /* No waiting here (or no block): the read happens now, under the lock, polled. */
    if (!NT_SUCCESS(MiReadPagefileSlots(slot, &pfn, 1))) {
        entry->pagefile_slot = 0;       /* the PTE keeps the slot */
        MiInsertPageInFreeListLocked(pfn);
        MmStatistics.in_page_errors++;
        return STATUS_IN_PAGE_ERROR;
    }
    MmStatistics.pagefile_read_faults++;
    *result = pfn;
    return STATUS_SUCCESS;
}

bool MiReadAheadLocked(struct mi_in_page_wait *wait, mmpte_t pte, enum mi_page_use use,
                       pfn_t *result)
{
    struct mi_in_page *block = wait->block;

    MiAssertPfnLockHeld();
    /* Only a free frame: read-ahead never takes a page another may want back. */
    if (!wait->reader || block->count == MI_READ_CLUSTER || !MiIsPagefilePte(pte) ||
        MiPagefilePteSlot(pte) != block->slot + block->count ||
        MmAvailablePages() <= MiReadAheadReserve)
        return false;
    pfn_t pfn = MiRemoveAnyPageLocked(use);
    if (pfn == PFN_INVALID)
        return false;
    join_read(block, pfn, block->slot + block->count);
    MmStatistics.pages_read_ahead++;
    *result = pfn;
    return true;
}

ntstatus_t MiFinishPageWait(struct mi_in_page_wait *wait)
{
    struct mi_in_page *block = wait->block;

    KASSERT(KeGetCurrentIrql() < DISPATCH_LEVEL);
    if (wait->reader) {
        if (MiPagefileReadDelay) {
            struct kevent never;
            KeInitializeEvent(&never, false);
            KeWaitForEvent(&never, MiPagefileReadDelay);
        }
        ntstatus_t status = MiReadPagefileSlots(block->slot, block->pfns, block->count);
        KIRQL old = MiAcquirePfnLock();
        end_in_page_locked(block, status);
        MiReleasePfnLock(old);
    } else {
        KeWaitForEvent(&block->done, WAIT_FOREVER);     /* the read is bounded by the disk's */
    }
    KIRQL old = MiAcquirePfnLock();
    ntstatus_t status = block->status;
    release_in_page_block(block);
    MiReleasePfnLock(old);
    return status;
}

/* ---- setting it up ---- */

/* True when the disk's first sector carries the signature. */
static bool has_signature(const struct mm_paging_disk *disk)
{
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    char first[sizeof(PAGEFILE_SIGNATURE)];

    if (pfn == PFN_INVALID)
        return false;
    bool found = NT_SUCCESS(disk->transfer(disk, false, 0, &pfn, 1));
    if (found) {
        MmCopyFromPhysical(first, pfn_to_paddr(pfn), sizeof(first));
        found = memcmp(first, PAGEFILE_SIGNATURE, sizeof(PAGEFILE_SIGNATURE)) == 0;
    }
    MiInsertPageInFreeList(pfn);
    return found;
}

/* "ide0, sata0": the disks there are, for a message; "none" when there are none. */
static void list_disks(mm_disk_at_t *disk_at, char *list, size_t size)
{
    size_t used = 0;

    list[0] = '\0';
    for (unsigned i = 0; disk_at(i) && used + 1 < size; i++)
        used += ksnprintf(list + used, size - used, "%s%s", i ? ", " : "", disk_at(i)->name);
    if (!disk_at(0))
        ksnprintf(list, size, "none");
}

void MmInitializePagefile(const char *command_line, mm_disk_at_t *disk_at)
{
    struct cmdline_word word;
    char value[32], why[80], disks[64];

    if (!cmdline_find(command_line, "pagefile", &word)) {
        kprintf("pagefile: none; commit is limited to RAM (%u KB)\n",
               MmTotalCommitLimit * (PAGE_SIZE / 1024));
        return;
    }
    if (!word.has_value || word.value_length == 0 || word.value_length >= sizeof(value)) {
        kprintf("warning: %.*s ignored: give pagefile=DISK or pagefile=DISK:SIZE (DISK as "
                "ide0 or sata0); running without a pagefile\n",
                (int)MIN(word.length, (size_t)64), word.text);
        return;
    }
    memcpy(value, word.value, word.value_length);
    value[word.value_length] = '\0';
    size_t name_length;
    uint64_t bytes;
    if (!parse_pagefile_option(value, &name_length, &bytes, why, sizeof(why))) {
        kprintf("warning: pagefile=%s ignored: %s; running without a pagefile\n", value, why);
        return;
    }
    const struct mm_paging_disk *disk = find_disk(disk_at, value, name_length);
    if (!disk) {
        list_disks(disk_at, disks, sizeof(disks));
        kprintf("warning: pagefile=%s ignored: no disk %.*s (the disks found: %s); running "
                "without a pagefile\n", value, (int)name_length, value, disks);
        return;
    }
    uint64_t disk_bytes = disk->sector_count * MM_DISK_SECTOR_SIZE;
    if (bytes == 0 || bytes > disk_bytes)
        bytes = disk_bytes;
    uint64_t slot_count = MIN(bytes / PAGE_SIZE, (uint64_t)MI_PAGEFILE_MAX_SLOTS);
    if (slot_count < PAGEFILE_MIN_SLOTS) {
        kprintf("warning: pagefile=%s ignored: %s is too small (%u KB); "
               "running without a pagefile\n", value, disk->name,
               (uint32_t)(disk_bytes / 1024));
        return;
    }
    if (!has_signature(disk)) {
        kprintf("warning: pagefile=%s ignored: %s has no pagefile signature, so it is "
               "left untouched (scripts/mkpagefile.py prepares one); running without a "
               "pagefile\n", value, disk->name);
        return;
    }
    slots.size = (uint32_t)slot_count;
    slots.words = ExAllocatePoolWithTag(NonPagedPool, ALIGN_UP(slots.size, 32) / 8,
                                        TAG_PAGEFILE);
    if (!slots.words)
        panic("pagefile: no pool for a bitmap of %u slots", slots.size);
    memset(slots.words, 0, ALIGN_UP(slots.size, 32) / 8);
    bitmap_set_range(&slots, 0, 1);         /* slot 0: the signature page */
    MiPagefile.disk = disk;
    MiPagefile.first_sector = 0;
    MiPagefile.slot_count = slots.size;
    MiPagefile.present = true;
    MmTotalCommitLimit += slots.size - 1;
    kprintf("pagefile: %s, %u KB (%u slots) by %s; commit limit now %u KB\n", disk->name,
           slots.size * (PAGE_SIZE / 1024), slots.size - 1, disk->transfer_mode,
           MmTotalCommitLimit * (PAGE_SIZE / 1024));
}
