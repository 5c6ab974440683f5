/*
 * Bringing up the memory manager: physical memory, the PFN database, the final kernel
 * mappings and the map of system space, laid out from what the split leaves.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "arch/machine.h"
#include "arch/mmu.h"
#include "boot/boot_info.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/panic.h"
#include "mm/addrspace.h"
#include "mm/init.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/syspte.h"
#include "mm/workset.h"

struct mi_system_region MiSystemRegions[MI_MAX_SYSTEM_REGIONS];
unsigned MiSystemRegionCount;

static struct mi_physical_memory physical_memory;

static void add_region(const char *name, vaddr_t base, vaddr_t end, bool system_ptes)
{
    if (base == end)
        return;
    KASSERT(MiSystemRegionCount < MI_MAX_SYSTEM_REGIONS);
    MiSystemRegions[MiSystemRegionCount++] = (struct mi_system_region){name, base, end,
                                                                       system_ptes};
}

/*
 * The fixed places come first; everything else in system space goes to system PTEs, so
 * the pool is as big as the split allows (docs/memory-model.md, 1.3).
 */
static void MiBuildSystemRegions(void)
{
    uint32_t pfn_bytes = (MmHighestPhysicalPage + 1) * sizeof(struct mmpfn);
    vaddr_t pfn_end = MM_PFN_DATABASE + ALIGN_UP(pfn_bytes, (uint32_t)PDE_SPAN);

    add_region("system PTEs", MmSystemRangeStart, PTE_BASE, true);
    add_region("PTE self-map", PTE_BASE, HYPER_SPACE, false);
    add_region("hyperspace", HYPER_SPACE, HYPER_SPACE_END, false);
    add_region("system PTEs", HYPER_SPACE_END, KERNEL_WINDOW, true);
    add_region("kernel image", KERNEL_WINDOW, KERNEL_WINDOW_END, false);
    add_region("PFN database", MM_PFN_DATABASE, pfn_end, false);
    add_region("system PTEs", pfn_end, MM_SYSTEM_SPACE_TOP, true);
    add_region("never mapped", MM_SYSTEM_SPACE_TOP, 0, false);
}

bool MiIsKernelCode(vaddr_t va)
{
    return va >= ALIGN_DOWN((vaddr_t)__text_begin, (vaddr_t)PAGE_SIZE) &&
           va < ALIGN_UP((vaddr_t)__text_end, (vaddr_t)PAGE_SIZE);
}

/*
 * Rewrites the kernel window: the image read-only up to its writable data, global,
 * supervisor-only, executable only where it holds code (when the CPU can refuse execution); the boot stack's guard page and everything else in the window
 * unmapped. Then drops the identity map the entry code needed for its jump.
 */
static void MiFinalizeKernelMappings(void)
{
    struct mi_tlb_batch batch;

    MiInitializeTlbBatch(&batch);
    for (vaddr_t va = KERNEL_WINDOW; va < KERNEL_WINDOW_END; va += PAGE_SIZE) {
        pfn_t pfn = paddr_to_pfn(MiKernelImagePhysical((void *)va));
        bool in_image = va >= (vaddr_t)_kernel_start && va < (vaddr_t)_kernel_end;
        mmpte_t pte = MiIsKernelCode(va) ? pte_make_kernel_code(pfn)
                                         : pte_make_kernel(pfn, va >= (vaddr_t)_kernel_readonly_end);

        MiWritePteBatched(pte_of(va), in_image && va != (vaddr_t)boot_stack_guard
                                          ? MiProtectTableView(pte, pfn)
                                          : pte_zero(),
                          &batch);
    }
    /* The identity map's translations go with the whole TLB: the batch is over full. */
    for (unsigned i = 0; i < BOOT_TABLES; i++)
        MiWritePteBatched(pde_of(i * PDE_SPAN), pte_zero(), &batch);
    KASSERT(batch.count > MI_TLB_BATCH_PAGES);
    MiFlushTlbBatch(&batch);
}

/*
 * The kernel needs this much free memory once it has booted: its own processes, stacks,
 * pool and page tables, and the test programs, run in it.
 */
#define MM_MINIMUM_FREE_KB 2048

/*
 * A machine with less RAM gets a clear message and the failure exit code, not a crash
 * somewhere later.
 */
static void MiCheckMinimumMemory(void)
{
    uint32_t free_kb = MmAvailablePages() * (PAGE_SIZE / 1024);
    uint32_t total_kb = MmNumberOfPhysicalPages * (PAGE_SIZE / 1024);

    if (free_kb >= MM_MINIMUM_FREE_KB)
        return;
    kprintf("not enough memory: %u KB, need %u KB\n", total_kb,
            total_kb - free_kb + MM_MINIMUM_FREE_KB);
    machine_exit(MACHINE_EXIT_FAILURE);
}

/*
 * Without a pagefile the commit limit is the RAM that is free once the kernel is up,
 * less a reserve for what the kernel itself will take (pool, page tables): an eighth, at
 * least 256 pages. So a touch of committed memory finds a frame. Kernel stacks and thread
 * blocks are charged against it too, and against the resident pages, which a pagefile
 * does not add to: however many threads there are, the reserve stays for pool and page
 * tables and, with a pagefile, the rest can still be paged.
 */
static void MiInitializeCommitLimit(void)
{
    uint32_t available = MmAvailablePages();
    uint32_t reserve = MIN(available, MAX(available / 8, 256u));

    MmTotalCommitLimit = available - reserve;
    MmResidentAvailablePages = available - reserve;
}

#define GB (1ull << 30)

/*
 * The physical address below which RAM is used. Two-level: 4 GB, the most a 4-byte entry
 * names. PAE: what the processor addresses (MAXPHYADDR), at most 64 GB, as 32-bit Windows
 * has it, and 16 GB when system space is smaller than 2 GB (/3GB, increaseuserva), as
 * Windows caps it there: the PFN database of more RAM would crowd out the rest of system
 * space. MiMemoryCap says which cap, if any, applied.
 */
static const char *MiMemoryCap;

static uint64_t MiPhysicalMemoryLimit(void)
{
    if (!MM_PAE)
        return 4 * GB;
    unsigned bits = MAX(cpu_features.physical_address_bits, 32u);
    uint64_t limit = bits >= 36 ? 64 * GB : 1ull << bits;
    MiMemoryCap = bits >= 36 ? "64 GB, as 32-bit Windows" : "what the processor addresses";
    if (MmSystemRangeStart > 0x80000000u && limit > 16 * GB) {
        limit = 16 * GB;
        MiMemoryCap = "16 GB, as Windows does when system space is smaller than 2 GB";
    }
    return limit;
}

void MmInitSystem(const struct boot_info *boot)
{
    trap_set_page_fault_handler(MmTrapPageFault);
    trap_set_page_table_view_test(MmIsPageTableView);
    MiBuildPhysicalMemory(boot->memory_map, boot->memory_map_count, MiPhysicalMemoryLimit(),
                          &physical_memory);
    if (physical_memory.runs_dropped)
        kprintf("mm: warning: memory map has more than %u separate RAM runs; %u ignored\n",
                MI_MAX_PHYSICAL_RUNS, physical_memory.runs_dropped);
    if (physical_memory.total_pages == 0)
        panic("no usable RAM in the memory map");

    MiInitializePfnDatabase(&physical_memory, boot);
    MiCheckMinimumMemory();
    if (cmdline_find(boot->command_line, "ptecheck", &(struct cmdline_word){0}))
        MiEnablePteCheck();
    MiFinalizeKernelMappings();
    MiBuildSystemRegions();
    MiInitializeSystemPtes();
    MiInitializeAddressSpaces();
    MiInitializeCommitLimit();
    MiInitializePagedPool();
    MiInitializeBalance();
}

static void print_size(uint64_t bytes)
{
    if (bytes < 0x100000)
        kprintf("%6u KB ", (unsigned)(bytes >> 10));
    else if (bytes % 0x100000 == 0)
        kprintf("%6u MB ", (unsigned)(bytes >> 20));
    else
        kprintf("%6u.%u MB", (unsigned)(bytes >> 20), (unsigned)((bytes & 0xFFFFF) * 10 >> 20));
}

void MmPrintBootReport(void)
{
    kprintf("split: MmSystemRangeStart=0x%08X MmHighestUserAddress=0x%08X "
            "MmUserProbeAddress=0x%08X\n",
            MmSystemRangeStart, MmHighestUserAddress, MmUserProbeAddress);
    kprintf("split: %u MB user space, %u MB system space\n",
            MmSystemRangeStart >> 20, (0u - MmSystemRangeStart) >> 20);
    kprintf("system space:\n");
    for (unsigned i = 0; i < MiSystemRegionCount; i++) {
        const struct mi_system_region *r = &MiSystemRegions[i];
        kprintf("  0x%08X-0x%08X ", r->base, r->end - 1);
        print_size((uint64_t)(r->end ? r->end : 0x100000000ull) - r->base);
        kprintf(" %s\n", r->name);
    }
    uint32_t high_pages = 0;
    for (unsigned i = 0; i < physical_memory.run_count; i++) {
        const struct mi_physical_run *run = &physical_memory.runs[i];
        if (run->base_page + run->page_count > MI_FIRST_HIGH_PAGE)
            high_pages += run->base_page + run->page_count -
                          MAX(run->base_page, MI_FIRST_HIGH_PAGE);
    }
    kprintf("memory: %u KB of RAM below 4 GB in %u runs, highest page 0x%05X\n",
            (MmNumberOfPhysicalPages - high_pages) * (PAGE_SIZE / 1024),
            physical_memory.run_count, MmHighestPhysicalPage);
    if (high_pages)
        kprintf("memory: %u KB of RAM above 4 GB in use (PAE)\n",
                high_pages * (PAGE_SIZE / 1024));
    if (physical_memory.bytes_above_limit && !MM_PAE)
        kprintf("memory: %u KB above 4 GB, not usable without PAE, left unused\n",
                (unsigned)(physical_memory.bytes_above_limit >> 10));
    else if (physical_memory.bytes_above_limit)
        kprintf("memory: %u KB above %u GB left unused: RAM is capped at %s\n",
                (unsigned)(physical_memory.bytes_above_limit >> 10),
                (unsigned)(MiPhysicalMemoryLimit() / GB), MiMemoryCap);
    kprintf("memory: commit limit %u KB (no pagefile)\n",
            MmTotalCommitLimit * (PAGE_SIZE / 1024));
    kprintf("memory: %u KB free; in use: kernel image %u KB, boot data %u KB, "
            "PFN database %u KB, page tables %u KB\n",
            MmAvailablePages() * (PAGE_SIZE / 1024),
            MiPagesInUse[MI_USE_KERNEL_IMAGE] * (PAGE_SIZE / 1024),
            MiPagesInUse[MI_USE_BOOT_DATA] * (PAGE_SIZE / 1024),
            MiPagesInUse[MI_USE_PFN_DATABASE] * (PAGE_SIZE / 1024),
            MiPagesInUse[MI_USE_PAGE_TABLE] * (PAGE_SIZE / 1024));
}

void MmGetKernelImageRange(paddr_t *start, paddr_t *end)
{
    *start = MiKernelImagePhysical(_kernel_start);
    *end = MiKernelImagePhysical(_kernel_end);
}
