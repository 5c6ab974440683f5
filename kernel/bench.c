/*
 * The benchmark boot (`make bench`). The kernel measures the floors that need ring 0 --
 * a CR3 load with the register save and restore of a switch, and zeroing one page --
 * with interrupts off, in batches (so the timing is outside what it times), then runs
 * bench.exe, which measures everything user mode does, and leaves QEMU with its result.
 * Under QEMU's -icount, the TSC counts guest instructions.
 */
#include "arch/cpu.h"
#include "arch/machine.h"
#include "kernel/bench.h"
#include "kernel/console.h"
#include "kernel/loader.h"
#include "kernel/string.h"
#include "mm/mi.h"

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
    uint32_t flags = cpu_save_disable_interrupts();

    for (unsigned sample = 0; sample < WARMUP + SAMPLES; sample++) {
        uint64_t start = cpu_read_tsc();
        for (unsigned i = 0; i < BATCH; i++)
            op(context);
        uint64_t ticks = cpu_read_tsc() - start;
        if (sample >= WARMUP)
            per_call[sample - WARMUP] = (uint32_t)(ticks / BATCH);
    }
    cpu_restore_interrupts(flags);
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

NORETURN void bench_run(void)
{
    struct process *process;

    measure("cr3-switch-floor", cr3_switch, NULL);
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    if (pfn != PFN_INVALID) {
        void *page = MiMapPageInHyperSpace(pfn);
        measure("zero-page", zero_page, page);
        MiUnmapPageInHyperSpace(page);
        MiInsertPageInFreeList(pfn);
    }
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
