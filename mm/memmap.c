/*
 * From the firmware's memory map to the runs of usable physical pages.
 *
 * Firmware maps may be unsorted, may overlap, may hold zero-length or unaligned
 * entries and entries above 4 GB. The rule here: a byte is usable RAM when some
 * available entry covers it and no other entry does; a page is usable when all of its
 * bytes are. The result is sorted, does not overlap, and lies below the limit the caller
 * gives (4 GB, where a 4-byte PTE cannot name more); RAM above it is counted but not used.
 */
#include "arch/layout.h"
#include "boot/boot_info.h"
#include "lib/string.h"
#include "mm/memmap.h"

/* The end of an entry, clipped so that base + length cannot wrap. */
static uint64_t entry_end(const struct boot_memory_entry *e)
{
    return e->length > UINT64_MAX - e->base ? UINT64_MAX : e->base + e->length;
}

static bool covered(const struct boot_memory_entry *entries, unsigned count, uint64_t at,
                    bool available)
{
    for (unsigned i = 0; i < count; i++)
        if ((entries[i].type == BOOT_MEMORY_AVAILABLE) == available &&
            entries[i].base <= at && at < entry_end(&entries[i]))
            return true;
    return false;
}

static void sort_points(uint64_t *points, unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        uint64_t p = points[i];
        unsigned j = i;
        for (; j > 0 && points[j - 1] > p; j--)
            points[j] = points[j - 1];
        points[j] = p;
    }
}

static void add_run(struct mi_physical_memory *memory, uint64_t base, uint64_t end,
                    uint64_t limit)
{
    if (end > limit) {
        uint64_t high_base = MAX(base, limit);
        memory->bytes_above_limit += end - high_base;
        end = limit;
    }
    uint64_t first = (base + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint64_t last = end >> PAGE_SHIFT;  /* one past the last whole page */
    if (base >= end || first >= last)
        return;
    if (memory->run_count == MI_MAX_PHYSICAL_RUNS) {
        memory->runs_dropped++;
        return;
    }
    memory->runs[memory->run_count++] =
        (struct mi_physical_run){(pfn_t)first, (uint32_t)(last - first)};
    memory->total_pages += last - first;
}

void MiBuildPhysicalMemory(const struct boot_memory_entry *entries, unsigned count,
                           uint64_t limit, struct mi_physical_memory *memory)
{
    uint64_t points[2 * BOOT_MEMORY_MAP_MAX];
    unsigned point_count = 0;

    memset(memory, 0, sizeof(*memory));
    count = MIN(count, BOOT_MEMORY_MAP_MAX);
    for (unsigned i = 0; i < count; i++) {
        if (entries[i].length == 0)
            continue;
        points[point_count++] = entries[i].base;
        points[point_count++] = entry_end(&entries[i]);
    }
    sort_points(points, point_count);

    /*
     * Between two neighbouring boundaries nothing changes, so one probe decides each
     * elementary interval; neighbouring usable intervals are joined before pages are
     * cut, so that RAM split over two unaligned entries still yields whole pages.
     */
    bool open = false;
    uint64_t run_base = 0;
    for (unsigned i = 0; i + 1 < point_count; i++) {
        uint64_t at = points[i];
        if (at == points[i + 1])
            continue;
        bool usable = covered(entries, count, at, true) && !covered(entries, count, at, false);
        if (usable && !open) {
            run_base = at;
            open = true;
        } else if (!usable && open) {
            add_run(memory, run_base, at, limit);
            open = false;
        }
    }
    if (open)
        add_run(memory, run_base, points[point_count - 1], limit);
}
