/*
 * The pagefile: where pages go when memory is short. It is a disk on the ATA
 * controller, or the first part of one, named on the command line:
 *
 *     pagefile=hd0            the whole of the first disk (hd0..hd3: primary master,
 *     pagefile=hd1:64M        primary slave, secondary master, secondary slave), or
 *                             its first 64 MB
 *
 * A disk is only ever written if its first sector carries the pagefile signature that
 * scripts/mkpagefile.py writes, so a mistyped option cannot overwrite anyone's data.
 * That first page is slot 0; slots 1.. hold one page each, tracked in a bitmap. Every
 * slot in use belongs to exactly one owner: an in-pagefile PTE, or a page in memory
 * whose copy it holds (struct mmpfn.pagefile_slot).
 *
 * All I/O is synchronous (the driver polls): the memory manager runs it with
 * interrupts off, and nothing else can touch a page while its transfer is under way.
 */
#include "arch/ata.h"
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
#define SECTORS_PER_PAGE    (PAGE_SIZE / ATA_SECTOR_SIZE)
#define PAGEFILE_SIGNATURE  "NTMM-PAGEFILE-1"   /* sector 0, bytes 0-15 (NUL included) */
#define PAGEFILE_MIN_SLOTS  16

struct mi_pagefile MiPagefile;
struct mi_fault_injection MiPagefileInjection;

static struct bitmap slots;
static uint32_t slot_hint = 1;
static vaddr_t io_window;           /* MI_PAGEFILE_BATCH system PTEs for transfers */
static uint32_t unreadable_slot;    /* a slot whose reads fail, as a bad sector's (tests) */

/* ---- the command line ---- */

/*
 * Parses "hdN" or "hdN:SIZE" (SIZE in MB, an optional M) into a disk index and a size
 * in bytes (0: the whole disk); false, with a message, when it is not well formed.
 */
static bool parse_pagefile_option(const char *value, unsigned *disk, uint64_t *bytes,
                                  char *why, size_t why_size)
{
    *bytes = 0;
    if ((value[0] != 'h' && value[0] != 'H') || (value[1] != 'd' && value[1] != 'D') ||
        value[2] < '0' || value[2] > '3' || (value[3] != '\0' && value[3] != ':')) {
        ksnprintf(why, why_size, "the disk must be hd0, hd1, hd2 or hd3");
        return false;
    }
    *disk = value[2] - '0';
    if (value[3] == '\0')
        return true;
    const char *p = value + 4;
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
        if (entry->location == MI_PAGE_ACTIVE && MiIsPageableUse(entry->use) &&
            entry->pagefile_slot) {
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

/*
 * Moves count pages between frames and the slots from first_slot on, through the I/O
 * window: one disk command for the run.
 */
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
    for (uint32_t i = 0; i < count; i++)
        MiWritePte(pte_of(io_window + i * PAGE_SIZE), pte_make_kernel_local(frames[i]));
    uint64_t lba = MiPagefile.first_sector + (uint64_t)first_slot * SECTORS_PER_PAGE;
    ntstatus_t status =
        write ? ata_write(MiPagefile.disk, lba, count * SECTORS_PER_PAGE, (void *)io_window)
              : ata_read(MiPagefile.disk, lba, count * SECTORS_PER_PAGE, (void *)io_window);
    for (uint32_t i = 0; i < count; i++)
        MiWritePte(pte_of(io_window + i * PAGE_SIZE), pte_zero());
    return status;
}

ntstatus_t MiReadPagefileSlot(uint32_t slot, pfn_t pfn)
{
    ntstatus_t status = transfer(slot, &pfn, 1, false);

    if (NT_SUCCESS(status)) {
        MiPagefile.pages_read++;
    } else {
        MiPagefile.read_errors++;
        kprintf("pagefile: reading slot %u failed (status 0x%08x)\n", slot, status);
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

ntstatus_t MiBringPageBack(mmpte_t pte, enum mi_page_use use, pfn_t *result)
{
    pfn_t pfn;

    if (MiIsTransitionPte(pte)) {
        pfn = pte_pfn(pte);
        MiRemoveTransitionPageLocked(pfn, use);
        MmStatistics.transition_faults++;
    } else {
        KASSERT(MiIsPagefilePte(pte));
        uint32_t slot = MiPagefilePteSlot(pte);
        pfn = MiRemoveAnyPageLocked(use);
        if (pfn == PFN_INVALID)
            return STATUS_NO_MEMORY;
        if (!NT_SUCCESS(MiReadPagefileSlot(slot, pfn))) {
            MiInsertPageInFreeListLocked(pfn);
            MmStatistics.in_page_errors++;
            return STATUS_IN_PAGE_ERROR;
        }
        MiGetPfnEntry(pfn)->pagefile_slot = slot;   /* the copy stays good until a write */
        MmStatistics.pagefile_read_faults++;
    }
    *result = pfn;
    return STATUS_SUCCESS;
}

/* ---- setting it up ---- */

/* True when the disk's first sector carries the signature; reads it through the window. */
static bool has_signature(const struct ata_disk *disk)
{
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    bool found = false;

    if (pfn == PFN_INVALID)
        return false;
    MiWritePte(pte_of(io_window), pte_make_kernel_local(pfn));
    if (NT_SUCCESS(ata_read(disk, 0, 1, (void *)io_window)))
        found = memcmp((const void *)io_window, PAGEFILE_SIGNATURE,
                       sizeof(PAGEFILE_SIGNATURE)) == 0;
    MiWritePte(pte_of(io_window), pte_zero());
    MiInsertPageInFreeList(pfn);
    return found;
}

void MmInitializePagefile(const char *command_line)
{
    struct cmdline_word word;
    char value[32], why[80];

    if (!cmdline_find(command_line, "pagefile", &word)) {
        kprintf("pagefile: none; commit is limited to RAM (%u KB)\n",
               MmTotalCommitLimit * (PAGE_SIZE / 1024));
        return;
    }
    if (!word.has_value || word.value_length == 0 || word.value_length >= sizeof(value)) {
        kprintf("warning: %.*s ignored: give pagefile=hdN or pagefile=hdN:SIZE; "
               "running without a pagefile\n", (int)MIN(word.length, (size_t)64), word.text);
        return;
    }
    memcpy(value, word.value, word.value_length);
    value[word.value_length] = '\0';
    unsigned index;
    uint64_t bytes;
    if (!parse_pagefile_option(value, &index, &bytes, why, sizeof(why))) {
        kprintf("warning: pagefile=%s ignored: %s; running without a pagefile\n", value, why);
        return;
    }
    const struct ata_disk *disk = ata_disk(index);
    if (!disk) {
        kprintf("warning: pagefile=%s ignored: no disk hd%u; running without a pagefile\n",
               value, index);
        return;
    }
    uint64_t disk_bytes = disk->sector_count * ATA_SECTOR_SIZE;
    if (bytes == 0 || bytes > disk_bytes)
        bytes = disk_bytes;
    uint64_t slot_count = MIN(bytes / PAGE_SIZE, (uint64_t)MI_PAGEFILE_MAX_SLOTS);
    io_window = MiReserveSystemPtes(MI_PAGEFILE_BATCH);
    if (!io_window || !MiGetPte(io_window, true) ||
        !MiGetPte(io_window + (MI_PAGEFILE_BATCH - 1) * PAGE_SIZE, true))
        panic("pagefile: no system PTEs for its I/O window");
    if (slot_count < PAGEFILE_MIN_SLOTS) {
        kprintf("warning: pagefile=%s ignored: hd%u is too small (%u KB); "
               "running without a pagefile\n", value, index, (uint32_t)(disk_bytes / 1024));
        goto refused;
    }
    if (!has_signature(disk)) {
        kprintf("warning: pagefile=%s ignored: hd%u has no pagefile signature, so it is "
               "left untouched (scripts/mkpagefile.py prepares one); running without a "
               "pagefile\n", value, index);
        goto refused;
    }
    slots.size = (uint32_t)slot_count;
    slots.words = ExAllocatePoolWithTag(NonPagedPool, ALIGN_UP(slots.size, 32) / 8,
                                        TAG_PAGEFILE);
    if (!slots.words)
        panic("pagefile: no pool for a bitmap of %u slots", slots.size);
    memset(slots.words, 0, ALIGN_UP(slots.size, 32) / 8);
    bitmap_set_range(&slots, 0, 1);         /* slot 0: the signature page */
    MiPagefile.disk = disk;
    MiPagefile.disk_index = index;
    MiPagefile.first_sector = 0;
    MiPagefile.slot_count = slots.size;
    MiPagefile.present = true;
    MmTotalCommitLimit += slots.size - 1;
    kprintf("pagefile: hd%u, %u KB (%u slots); commit limit now %u KB\n", index,
           slots.size * (PAGE_SIZE / 1024), slots.size - 1,
           MmTotalCommitLimit * (PAGE_SIZE / 1024));
    return;

refused:
    MiReleaseSystemPtes(io_window, MI_PAGEFILE_BATCH);
    io_window = 0;
}
