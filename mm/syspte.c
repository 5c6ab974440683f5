/*
 * System PTEs: the pool of system address space that the kernel hands out in page
 * runs, to map device memory, kernel stacks and any frames it needs to see. Which
 * addresses belong to it follows the split (MiSystemRegions in init.c): below
 * 0xC0000000 every page from MmSystemRangeStart up, plus what the fixed regions leave
 * above. One bit per page of system space, set when the page is taken.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/bitmap.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/syspte.h"

/* System space is at most 2 GB: 512 K pages. */
#define MAX_SYSTEM_PAGES (0x80000000u / PAGE_SIZE)

static uint32_t system_pte_words[MAX_SYSTEM_PAGES / 32];
static struct bitmap system_ptes = {system_pte_words, 0};
static uint32_t free_system_ptes;
/*
 * No page below this index is free. Searching from it finds the lowest free run
 * (first fit), so space given back is used again before new space is touched, and
 * system page tables stop being made once the kernel's working set of mappings is in
 * place.
 */
static uint32_t lowest_free;

static uint32_t index_of(vaddr_t va)
{
    return (va - MmSystemRangeStart) / PAGE_SIZE;
}

void MiInitializeSystemPtes(void)
{
    system_ptes.size = (0u - MmSystemRangeStart) / PAGE_SIZE;
    bitmap_set_range(&system_ptes, 0, system_ptes.size);
    for (unsigned i = 0; i < MiSystemRegionCount; i++) {
        const struct mi_system_region *r = &MiSystemRegions[i];
        if (!r->system_ptes)
            continue;
        uint32_t pages = (r->end - r->base) / PAGE_SIZE;
        bitmap_clear_range(&system_ptes, index_of(r->base), pages);
        free_system_ptes += pages;
    }
}

/* The bitmap of system PTEs and its counts. */
static struct lock_class system_pte_lock_class = LOCK_CLASS_SPIN("system PTEs");
static struct kspin_lock system_pte_lock = KSPIN_LOCK_INIT(system_pte_lock_class);

vaddr_t MiReserveSystemPtes(uint32_t count)
{
    KIRQL old = KeAcquireSpinLock(&system_pte_lock);
    vaddr_t va = 0;
    uint32_t index = bitmap_find_clear_run(&system_ptes, count, lowest_free);

    if (index != BITMAP_NONE) {
        bitmap_set_range(&system_ptes, index, count);
        free_system_ptes -= count;
        if (index == lowest_free)
            lowest_free += count;
        va = MmSystemRangeStart + index * PAGE_SIZE;
    }
    KeReleaseSpinLock(&system_pte_lock, old);
    return va;
}

void MiReleaseSystemPtes(vaddr_t va, uint32_t count)
{
    KIRQL old = KeAcquireSpinLock(&system_pte_lock);
    uint32_t index = index_of(va);

    KASSERT(va >= MmSystemRangeStart && index + count <= system_ptes.size);
    for (uint32_t i = 0; i < count; i++)
        KASSERT(bitmap_test(&system_ptes, index + i));
    bitmap_clear_range(&system_ptes, index, count);
    free_system_ptes += count;
    lowest_free = MIN(lowest_free, index);
    KeReleaseSpinLock(&system_pte_lock, old);
}

uint32_t MiFreeSystemPtes(void)
{
    return free_system_ptes;
}

static void *map_physical(paddr_t address, size_t length, mmpte_t pte_template)
{
    uint32_t offset = address & (PAGE_SIZE - 1);
    uint32_t pages = ALIGN_UP(offset + length, (size_t)PAGE_SIZE) / PAGE_SIZE;

    if (length == 0 || offset + length < length)
        return NULL;
    vaddr_t va = MiReserveSystemPtes(pages);
    if (!va)
        return NULL;
    if (!NT_SUCCESS(MiMapRange(va, address - offset, pages * PAGE_SIZE, pte_template))) {
        MiReleaseSystemPtes(va, pages);
        return NULL;
    }
    return (void *)(va + offset);
}

void *MmMapIoSpace(paddr_t address, size_t length)
{
    return map_physical(address, length, pte_make_device(0));
}

void *MmMapPhysicalMemory(paddr_t address, size_t length)
{
    return map_physical(address, length, pte_make_kernel(0, false));
}

void MmUnmapIoSpace(void *address, size_t length)
{
    vaddr_t va = ALIGN_DOWN((vaddr_t)address, (vaddr_t)PAGE_SIZE);
    uint32_t pages = ALIGN_UP((vaddr_t)address + length - va, (vaddr_t)PAGE_SIZE) / PAGE_SIZE;

    MiUnmapRange(va, pages * PAGE_SIZE);
    MiReleaseSystemPtes(va, pages);
}
