/*
 * The benchmark boot (`make bench`). The kernel measures the floors that need ring 0 --
 * a CR3 load with the register save and restore of a switch, and zeroing one page --
 * with interrupts off, in batches (so the timing is outside what it times), and paging
 * when the boot has a pagefile; then runs bench.exe, which measures everything user mode
 * does, and leaves QEMU with its result.
 * Under QEMU's -icount, the TSC counts guest instructions.
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/machine.h"
#include "ke/ipi.h"
#include "kernel/bench.h"
#include "kernel/loader.h"
#include "kernel/process.h"
#include "lib/console.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/syspte.h"
#include "mm/workset.h"

#define BATCH   100
#define SAMPLES 31
#define WARMUP  3

static void sort(uint32_t *values, unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        uint32_t v = values[i];
        unsigned j = i;
        for (; j > 0 && values[j - 1] > v; j--)
            values[j] = values[j - 1];
        values[j] = v;
    }
}

/* Times op over SAMPLES batches of BATCH calls and prints median and minimum per call. */
static void measure(const char *name, void (*op)(void *context), void *context)
{
    uint32_t per_call[SAMPLES];
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);       /* no interrupt handler runs in between */

    for (unsigned sample = 0; sample < WARMUP + SAMPLES; sample++) {
        uint64_t start = cpu_read_tsc();
        for (unsigned i = 0; i < BATCH; i++)
            op(context);
        uint64_t ticks = cpu_read_tsc() - start;
        if (sample >= WARMUP)
            per_call[sample - WARMUP] = (uint32_t)(ticks / BATCH);
    }
    KeLowerIrql(old);
    sort(per_call, SAMPLES);
    kprintf("bench-floor: %s iterations=%u median=%u min=%u\n", name, SAMPLES * BATCH,
            per_call[SAMPLES / 2], per_call[0]);
}

/* What a switch between processes cannot do without: save and restore, load CR3. */
static void cr3_switch(void *unused)
{
    (void)unused;
    __asm__ volatile("pushal\n\t"
                     "popal\n\t"
                     "mov %%cr3, %%eax\n\t"
                     "mov %%eax, %%cr3" : : : "eax", "memory");
}

static void zero_page(void *page)
{
    memset(page, 0, PAGE_SIZE);
}

static void print_samples(const char *name, uint32_t *samples, unsigned count,
                          unsigned per_sample)
{
    sort(samples, count);
    kprintf("bench: %s iterations=%u median=%u min=%u\n", name, count * per_sample,
            samples[count / 2], samples[0]);
}

/*
 * Paging, in a scratch process: PAGING_PAGES dirty pages trimmed and written out in the
 * writer's batches (page-out, per page), then their frames reused and each page faulted
 * back from the pagefile by a read (page-in, per page, the fault's entry and exit
 * included). Interrupts stay on: the pages fault.
 */
static void measure_paging(void)
{
    enum { PAGING_PAGES = 4 * MI_PAGEFILE_BATCH, PAGING_SAMPLES = 15 };
    uint32_t out[PAGING_SAMPLES], in[PAGING_SAMPLES];
    struct process *process;
    vaddr_t base = 0;
    uint32_t size = PAGING_PAGES * PAGE_SIZE;

    if (!MiPagefile.present || !NT_SUCCESS(process_create("bench-paging", true, &process)))
        return;
    process_attach(process);
    if (!NT_SUCCESS(MmAllocateVirtualMemory(&base, &size, MEM_RESERVE | MEM_COMMIT,
                                            PAGE_READWRITE, 0)))
        goto out;
    for (unsigned sample = 0; sample < WARMUP + PAGING_SAMPLES; sample++) {
        for (uint32_t i = 0; i < PAGING_PAGES; i++)
            *(volatile uint32_t *)(base + i * PAGE_SIZE) = sample + i;
        MiWriteModifiedPages(MmModifiedPageListHead.count);     /* others' first */
        uint64_t start = cpu_read_tsc();
        MiTrimWorkingSet(0, false);
        MiWriteModifiedPages(MmModifiedPageListHead.count);
        uint64_t written = cpu_read_tsc();
        MiPurgeStandbyPages(MmStandbyPageListHead.count);
        uint64_t purged = cpu_read_tsc();
        for (uint32_t i = 0; i < PAGING_PAGES; i++)
            (void)*(volatile uint32_t *)(base + i * PAGE_SIZE);
        uint64_t read = cpu_read_tsc();
        if (sample >= WARMUP) {
            out[sample - WARMUP] = (uint32_t)((written - start) / PAGING_PAGES);
            in[sample - WARMUP] = (uint32_t)((read - purged) / PAGING_PAGES);
        }
    }
    print_samples("page-out", out, PAGING_SAMPLES, PAGING_PAGES);
    print_samples("page-in", in, PAGING_SAMPLES, PAGING_PAGES);
out:
    process_detach();
    process_discard(process);
}

/* ---- several processors: the IPI and the shootdown ---- */

static void nothing(void *unused)
{
    (void)unused;
}

/*
 * What the other processors cost: an IPI and its answer (a generic call of nothing),
 * and a system page (one, then sixteen: 64 KB) pointed at another frame, which shoots
 * the other processor down and waits for it. At DISPATCH_LEVEL, where the shootdown is
 * made; the other processor runs its idle thread, halted until the interrupt.
 */
static void measure_processors(void)
{
    enum { PAGES = 16, SMP_SAMPLES = 31, SMP_BATCH = 20 };
    uint32_t ipi[SMP_SAMPLES], one[SMP_SAMPLES], range[SMP_SAMPLES];
    pfn_t frames[2];
    vaddr_t va;

    if (KeNumberProcessors < 2)
        return;
    frames[0] = MiRemoveAnyPage(MI_USE_SYSTEM);
    frames[1] = MiRemoveAnyPage(MI_USE_SYSTEM);
    va = MiReserveSystemPtes(PAGES);
    if (frames[0] == PFN_INVALID || frames[1] == PFN_INVALID || !va)
        return;
    for (unsigned i = 0; i < PAGES; i++)
        MiMapRange(va + i * PAGE_SIZE, pfn_to_paddr(frames[0]), PAGE_SIZE,
                   pte_make_kernel(0, true));
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    for (unsigned sample = 0; sample < WARMUP + SMP_SAMPLES; sample++) {
        uint64_t start = cpu_read_tsc();
        for (unsigned i = 0; i < SMP_BATCH; i++)
            KeIpiGenericCall(nothing, NULL);
        uint64_t called = cpu_read_tsc();
        for (unsigned i = 0; i < SMP_BATCH; i++)
            MiWritePte(pte_of(va), pte_make_kernel(frames[(i + 1) % 2], true));
        uint64_t shot = cpu_read_tsc();
        for (unsigned i = 0; i < SMP_BATCH; i++) {
            struct mi_tlb_batch batch;
            MiInitializeTlbBatch(&batch);
            for (unsigned p = 0; p < PAGES; p++)
                MiWritePteBatched(pte_of(va + p * PAGE_SIZE),
                                  pte_make_kernel(frames[(i + 1) % 2], true), &batch);
            MiFlushTlbBatch(&batch);
        }
        uint64_t ranged = cpu_read_tsc();
        if (sample >= WARMUP) {
            ipi[sample - WARMUP] = (uint32_t)((called - start) / SMP_BATCH);
            one[sample - WARMUP] = (uint32_t)((shot - called) / SMP_BATCH);
            range[sample - WARMUP] = (uint32_t)((ranged - shot) / SMP_BATCH);
        }
    }
    KeLowerIrql(old);
    sort(ipi, SMP_SAMPLES);
    kprintf("bench-floor: ipi-round-trip iterations=%u median=%u min=%u\n",
            SMP_SAMPLES * SMP_BATCH, ipi[SMP_SAMPLES / 2], ipi[0]);
    print_samples("shootdown-page", one, SMP_SAMPLES, SMP_BATCH);
    print_samples("shootdown-64k", range, SMP_SAMPLES, SMP_BATCH);
    MiUnmapRange(va, PAGES * PAGE_SIZE);
    MiReleaseSystemPtes(va, PAGES);
    MiInsertPageInFreeList(frames[0]);
    MiInsertPageInFreeList(frames[1]);
}

NORETURN void bench_run(void)
{
    struct process *process;

    /*
     * With several processors the boot measures what they cost, and nothing else: the
     * other rows are defined on one processor (its switches are between its threads).
     */
    if (KeNumberProcessors > 1) {
        measure_processors();
        kprintf("bench: done\n");
        machine_exit(MACHINE_EXIT_SUCCESS);
    }
    measure("cr3-switch-floor", cr3_switch, NULL);
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    if (pfn != PFN_INVALID) {
        void *page = MiMapPageInHyperSpace(pfn);
        measure("zero-page", zero_page, page);
        MiUnmapPageInHyperSpace(page);
        MiInsertPageInFreeList(pfn);
    }
    measure_paging();
    ntstatus_t status = loader_start_module("bench.exe", 9, "bench.exe", 9, &process);
    if (!NT_SUCCESS(status)) {
        kprintf("bench: cannot start bench.exe: status 0x%08X (is it a boot module?)\n",
                (uint32_t)status);
        machine_exit(MACHINE_EXIT_FAILURE);
    }
    process_wait(process, WAIT_FOREVER);
    kprintf("bench: bench.exe exited with status 0x%08X\n", (uint32_t)process->exit_status);
    machine_exit(process->exit_status == STATUS_SUCCESS ? MACHINE_EXIT_SUCCESS
                                                        : MACHINE_EXIT_FAILURE);
}
