#pragma once
/* RAM below a limit, from the firmware's memory map, as runs of whole pages (memmap.c). */
#include "boot/boot_info.h"
#include "lib/types.h"

#define MI_MAX_PHYSICAL_RUNS 32

struct mi_physical_run {
    pfn_t base_page;
    uint32_t page_count;
};

/* RAM below the limit as sorted, disjoint runs of whole pages. */
struct mi_physical_memory {
    unsigned run_count;
    struct mi_physical_run runs[MI_MAX_PHYSICAL_RUNS];
    uint32_t total_pages;
    uint32_t runs_dropped;      /* runs beyond MI_MAX_PHYSICAL_RUNS, not used */
    uint64_t bytes_above_limit; /* RAM reported above the limit, counted and left unused */
};

/*
 * Turns a firmware memory map into usable runs below limit, a page-aligned physical
 * address (see memmap.c for the rules).
 */
void MiBuildPhysicalMemory(const struct boot_memory_entry *entries, unsigned count,
                           uint64_t limit, struct mi_physical_memory *memory);
