/*
 * Many processors: that the ones the firmware lists are running, that they answer one
 * another's interrupts, and that a translation one processor drops is gone from every
 * other one that could use it before the change that dropped it returns (the TLB
 * shootdown). The cases run on the boot processor (tests/ktest.c); the threads they
 * start are kept to others. On a machine of one processor the cases that need a second
 * one say so and skip.
 */
#include "arch/acpi.h"
#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/pcr.h"
#include "boot/boot_info.h"
#include "ke/ipi.h"
#include "kernel/process.h"
#include "kernel/processors.h"
#include "kernel/thread.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/syspte.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "tests/ktest.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"

extern struct boot_info kernel_boot_info;

#define NEEDS_TWO_PROCESSORS(t)                                                          \
    do {                                                                                 \
        if (KeNumberProcessors < 2)                                                      \
            KT_SKIP(t, "one processor on this boot");                                    \
    } while (0)

/* How long a case waits for another processor's thread before it gives up: 10 s. */
#define WAIT_TICKS 10000

/* A processor other than this one (the highest running). */
static unsigned other_processor(void)
{
    return 31 - (unsigned)__builtin_clz(KeActiveProcessors & ~KeGetCurrentPrcb()->set_member);
}

/* Starts routine(context) in a system thread kept to processor number; false if not. */
static bool start_thread_on(struct ktest *t, unsigned number, void (*routine)(void *),
                            void *context)
{
    struct thread *thread;

    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, thread_create(&system_process, routine, context, 0, 0,
                                                       0, true, &thread)))
        return false;
    KeSetThreadAffinity(thread, 1u << number);
    KIRQL old = KiAcquireDispatcherLock();
    KiResumeThreadLocked(thread);
    KiReleaseDispatcherLock(old);
    return true;
}

/* Yields until *flag is set, for at most WAIT_TICKS; whether it was. */
static bool wait_for(volatile bool *flag)
{
    uint64_t end = scheduler_ticks + WAIT_TICKS;

    while (!*flag && scheduler_ticks < end)
        scheduler_yield();
    return *flag;
}

/* ---- the processors ---- */

/*
 * As many run as the MADT lists enabled, less what the command line and the build
 * allow; each has its number, its bit, its own APIC id from the MADT and an idle thread.
 */
static void processors_are_those_the_firmware_lists(struct ktest *t)
{
    const struct acpi_info *acpi = &kernel_acpi;
    unsigned listed = acpi->madt_found ? acpi_enabled_processors(acpi) : 1;
    uint32_t limit = processors_limit_from_command_line(kernel_boot_info.command_line, NULL, 0);
    unsigned expected = MIN(listed, (unsigned)KE_MAX_PROCESSORS);

    if (limit)
        expected = MIN(expected, limit);
    ktest_diag(t, "%u listed, %u running", listed, KeNumberProcessors);
    KT_EXPECT_EQ(t, expected, KeNumberProcessors);
    KT_EXPECT_EQ(t, (1u << KeNumberProcessors) - 1, KeActiveProcessors);
    for (unsigned i = 0; i < KeNumberProcessors; i++) {
        struct kprcb *prcb = KiProcessorBlock[i];
        KT_ASSERT(t, prcb != NULL);
        KT_EXPECT_EQ(t, i, prcb->number);
        KT_EXPECT_EQ(t, 1u << i, prcb->set_member);
        KT_EXPECT(t, prcb->self == prcb);
        KT_EXPECT(t, prcb->idle_thread != NULL && prcb->idle_thread->idle);
        if (KeNumberProcessors == 1)
            continue;
        bool in_madt = false;
        for (unsigned j = 0; j < acpi->processor_count; j++)
            in_madt |= acpi->processors[j].enabled && acpi->processors[j].apic_id == prcb->apic_id;
        KT_EXPECT(t, in_madt);
        for (unsigned j = 0; j < i; j++)
            KT_EXPECT(t, KiProcessorBlock[j]->apic_id != prcb->apic_id);
    }
    for (unsigned i = KeNumberProcessors; i < KE_MAX_PROCESSORS; i++)
        KT_EXPECT(t, KiProcessorBlock[i] == NULL);
}

/* /NUMPROC=N and numproc=N (Windows) and maxcpus=N: the last one counts; 0 is refused. */
static void processor_limit_options(struct ktest *t)
{
    char warning[128];

    KT_EXPECT_EQ(t, 0, processors_limit_from_command_line("test /3GB", NULL, 0));
    KT_EXPECT_EQ(t, 2, processors_limit_from_command_line("maxcpus=2", NULL, 0));
    KT_EXPECT_EQ(t, 3, processors_limit_from_command_line("x /NUMPROC=3", NULL, 0));
    KT_EXPECT_EQ(t, 4, processors_limit_from_command_line("numproc=1 maxcpus=4", NULL, 0));
    KT_EXPECT_EQ(t, 1, processors_limit_from_command_line("/numproc=1", NULL, 0));
    warning[0] = 0;
    KT_EXPECT_EQ(t, 2, processors_limit_from_command_line("maxcpus=2 maxcpus=0", warning,
                                                          sizeof(warning)));
    KT_EXPECT(t, ktest_text_contains(warning, "maxcpus=0 ignored"));
    warning[0] = 0;
    KT_EXPECT_EQ(t, 0, processors_limit_from_command_line("/NUMPROC=two", warning,
                                                          sizeof(warning)));
    KT_EXPECT(t, ktest_text_contains(warning, "/NUMPROC=two ignored"));
    warning[0] = 0;
    KT_EXPECT_EQ(t, 0, processors_limit_from_command_line("maxcpus=99999999999", warning,
                                                          sizeof(warning)));
    KT_EXPECT(t, ktest_text_contains(warning, "ignored"));
}

static volatile uint32_t called_on;
static volatile uint32_t called_at_ipi_level;

static void note_processor(void *context)
{
    (void)context;
    __atomic_fetch_or(&called_on, KeGetCurrentPrcb()->set_member, __ATOMIC_SEQ_CST);
    if (KeGetCurrentIrql() == IPI_LEVEL && !cpu_interrupts_enabled())
        __atomic_fetch_or(&called_at_ipi_level, KeGetCurrentPrcb()->set_member,
                          __ATOMIC_SEQ_CST);
}

/* The generic call runs once on every other processor, at IPI_LEVEL, before it returns. */
static void generic_call_reaches_every_other_processor(struct ktest *t)
{
    uint32_t others = KeActiveProcessors & ~KeGetCurrentPrcb()->set_member;
    uint64_t received = 0;

    for (unsigned i = 0; i < KeNumberProcessors; i++)
        received += KiProcessorBlock[i]->statistics.ipis_received;
    called_on = called_at_ipi_level = 0;
    KeIpiGenericCall(note_processor, NULL);
    KT_EXPECT_EQ(t, others, called_on);
    KT_EXPECT_EQ(t, others, called_at_ipi_level);
    uint64_t now = 0;
    for (unsigned i = 0; i < KeNumberProcessors; i++)
        now += KiProcessorBlock[i]->statistics.ipis_received;
    KT_EXPECT(t, now - received >= (uint64_t)__builtin_popcount(others));
}

/*
 * A program sees the processors as Windows shows them, and moves itself from one to the
 * next with SetProcessAffinityMask's call (tests/user/affinity.c).
 */
static void programs_see_the_processors_and_set_affinity(struct ktest *t)
{
    char arguments[16];

    if (!have_module(t, "affinity.exe"))
        KT_SKIP(t, "affinity.exe not loaded");
    ksnprintf(arguments, sizeof(arguments), "%u", KeNumberProcessors);
    ntstatus_t status = run_program("affinity.exe", arguments, NULL);
    if (!KT_EXPECT_EQ(t, 0, status))
        ktest_diag(t, "affinity.exe %s ended with 0x%08x", arguments, (uint32_t)status);
    KT_EXPECT_EQ(t, KeNumberProcessors,
                 *(volatile uint32_t *)(MmSharedUserData + NT_SHARED_ACTIVE_PROCESSOR_COUNT));
}

/* ---- system space: every processor ---- */

/* Readers of one system page, one per other processor, each reading in a loop. */
static struct system_readers {
    volatile vaddr_t va;
    volatile bool changed;          /* set once the change returned */
    volatile bool stop;
    volatile uint32_t reads[KE_MAX_PROCESSORS];
    volatile uint32_t stale[KE_MAX_PROCESSORS];  /* old stamps read after the change */
    volatile uint32_t fresh[KE_MAX_PROCESSORS];  /* new ones */
    volatile uint32_t running;
} readers;

#define OLD_STAMP 0xAAAA0001u
#define NEW_STAMP 0xBBBB0002u

static void read_system_page(void *unused)
{
    unsigned me = KeGetCurrentPrcb()->number;

    (void)unused;
    __atomic_fetch_add(&readers.running, 1, __ATOMIC_SEQ_CST);
    while (!readers.stop) {
        bool after = readers.changed;
        uint32_t value = *(volatile uint32_t *)readers.va;
        readers.reads[me]++;
        if (after && value == OLD_STAMP)
            readers.stale[me]++;
        else if (value == NEW_STAMP)
            readers.fresh[me]++;
    }
}

static pfn_t stamped_frame(uint32_t stamp)
{
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);

    if (pfn != PFN_INVALID) {
        uint32_t *va = MiMapPageInHyperSpace(pfn);
        for (unsigned i = 0; i < PAGE_SIZE / 4; i++)
            va[i] = stamp;
        MiUnmapPageInHyperSpace(va);
    }
    return pfn;
}

/*
 * A system page that a thread on every other processor reads in a loop (so each caches
 * it) is pointed at another frame: once the store returns, no reader reads the old
 * frame again -- each had dropped the translation before the writer went on.
 */
static void system_space_change_reaches_every_processor(struct ktest *t)
{
    NEEDS_TWO_PROCESSORS(t);
    uint32_t threads = kernel_threads_now();
    pfn_t a = stamped_frame(OLD_STAMP), b = stamped_frame(NEW_STAMP);
    vaddr_t va = MiReserveSystemPtes(1);
    KT_ASSERT(t, a != PFN_INVALID && b != PFN_INVALID && va);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MiMapRange(va, pfn_to_paddr(a), PAGE_SIZE,
                                                 pte_make_kernel(0, true)));
    memset((void *)&readers, 0, sizeof(readers));
    readers.va = va;
    unsigned others = KeNumberProcessors - 1;
    for (unsigned i = 1; i < KeNumberProcessors; i++)
        if (!start_thread_on(t, i, read_system_page, NULL))
            others--;
    uint64_t end = scheduler_ticks + WAIT_TICKS;
    bool all_reading = false;
    while (!all_reading && scheduler_ticks < end) {
        all_reading = readers.running == others;
        for (unsigned i = 1; i < KeNumberProcessors; i++)
            all_reading &= readers.reads[i] >= 1000;
        scheduler_yield();
    }
    KT_EXPECT(t, all_reading);
    uint64_t shootdowns = KeGetCurrentPrcb()->statistics.tlb_shootdowns;

    MiWritePte(pte_of(va), pte_make_kernel(b, true));      /* a valid entry replaced */
    readers.changed = true;
    uint32_t reads_then[KE_MAX_PROCESSORS];
    for (unsigned i = 1; i < KeNumberProcessors; i++)
        reads_then[i] = readers.reads[i];
    end = scheduler_ticks + WAIT_TICKS;
    bool all_read_again = false;
    while (!all_read_again && scheduler_ticks < end) {
        all_read_again = true;
        for (unsigned i = 1; i < KeNumberProcessors; i++)
            all_read_again &= readers.reads[i] >= reads_then[i] + 1000;
        scheduler_yield();
    }
    readers.stop = true;
    wait_for_kernel_threads(threads);
    KT_EXPECT(t, all_read_again);
    for (unsigned i = 1; i < KeNumberProcessors; i++) {
        if (!KT_EXPECT_EQ(t, 0, readers.stale[i]))
            ktest_diag(t, "processor %u read the old frame %u times after the change", i,
                       readers.stale[i]);
        KT_EXPECT(t, readers.fresh[i] > 0);
    }
    KT_EXPECT(t, KeGetCurrentPrcb()->statistics.tlb_shootdowns > shootdowns);

    MiUnmapRange(va, PAGE_SIZE);
    MiReleaseSystemPtes(va, 1);
    MiInsertPageInFreeList(a);
    MiInsertPageInFreeList(b);
}

/* ---- user space: the processors running the address space ---- */

#define USER_STAMP 0x5EED0000u

/* A thread of another processor that reads (or writes) one page of a process in a loop. */
static struct toucher {
    struct process *process;
    vaddr_t va;
    bool write;
    volatile bool running;          /* it is attached and touching */
    volatile bool changed;          /* set by the case once its change returned */
    volatile bool done;
    uint32_t touches;
    uint32_t touches_after_change;  /* that succeeded although they began after it */
    uint32_t wrong_values;          /* reads of anything but the page's own stamp */
    bool faulted;
    bool active_while_attached;     /* its bit was in the space's active_processors */
} toucher;

static void touch_in_a_loop(void *context)
{
    struct toucher *w = context;

    process_attach(w->process);
    w->active_while_attached = MmCurrentAddressSpace()->active_processors &
                               KeGetCurrentPrcb()->set_member;
    w->running = true;
    for (uint32_t i = 0; i < 10000000 && !w->faulted; i++) {
        bool after = w->changed;
        uint32_t value = USER_STAMP;
        int failed = w->write ? arch_copy_checked((void *)w->va, &value, sizeof(value))
                              : arch_copy_checked(&value, (const void *)w->va, sizeof(value));
        if (failed) {
            w->faulted = true;
            break;
        }
        w->touches++;
        w->touches_after_change += after;
        w->wrong_values += value != USER_STAMP;
        if (after && w->touches_after_change > 100)
            break;                  /* the change did not reach it: no need to go on */
    }
    process_detach();
    w->done = true;
}

/* Commits one page of the scratch process, stamped; 0 if not. */
static vaddr_t stamped_user_page(struct ktest *t)
{
    vaddr_t base = 0;
    uint32_t size = PAGE_SIZE;

    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                                                                 MEM_RESERVE | MEM_COMMIT,
                                                                 PAGE_READWRITE, 0)))
        return 0;
    *(volatile uint32_t *)base = USER_STAMP;
    return base;
}

/* Frames freed by a change go to another use at once: a stale reader would see this. */
static void reuse_frames(unsigned count)
{
    pfn_t frames[64];

    count = MIN(count, (unsigned)ARRAY_SIZE(frames));
    for (unsigned i = 0; i < count; i++)
        frames[i] = stamped_frame(0xDEAD0000 + i);
    for (unsigned i = 0; i < count; i++)
        if (frames[i] != PFN_INVALID)
            MiInsertPageInFreeList(frames[i]);
}

/*
 * The toucher runs on another processor in the scratch process while this thread, in
 * the same process, changes the page with change(va): every touch that begins after the
 * change returned faults, and no read sees anything but the page's stamp.
 */
static void change_under_a_toucher(struct ktest *t, bool write, ntstatus_t (*change)(vaddr_t),
                                   const char *what)
{
    struct scratch s;

    NEEDS_TWO_PROCESSORS(t);
    if (!scratch_begin(t, &s, "smp-touch"))
        return;
    vaddr_t va = stamped_user_page(t);
    if (!va) {
        scratch_end(t, &s);
        return;
    }
    uint32_t threads = kernel_threads_now();
    toucher = (struct toucher){.process = s.process, .va = va, .write = write};
    uint64_t shootdowns = KeGetCurrentPrcb()->statistics.tlb_shootdowns;
    if (start_thread_on(t, other_processor(), touch_in_a_loop, &toucher) &&
        KT_EXPECT(t, wait_for(&toucher.running))) {
        while (toucher.touches < 1000 && !toucher.done)
            cpu_relax();            /* its TLB holds the page by now */
        KT_EXPECT_EQ(t, STATUS_SUCCESS, change(va));
        toucher.changed = true;
        reuse_frames(64);
        KT_EXPECT(t, wait_for(&toucher.done));
        ktest_diag(t, "%s: %u touches on processor %u before the fault", what,
                   toucher.touches, other_processor());
        KT_EXPECT(t, toucher.active_while_attached);
        KT_EXPECT(t, toucher.faulted);
        KT_EXPECT_EQ(t, 0, toucher.touches_after_change);
        KT_EXPECT_EQ(t, 0, toucher.wrong_values);
        KT_EXPECT(t, KeGetCurrentPrcb()->statistics.tlb_shootdowns > shootdowns);
        KT_EXPECT_EQ(t, 0, MmCurrentAddressSpace()->active_processors &
                           KiProcessorBlock[other_processor()]->set_member);
    }
    wait_for_kernel_threads(threads);
    KeWaitForEndedThreads();
    scratch_end(t, &s);
}

static ntstatus_t decommit(vaddr_t va)
{
    uint32_t size = PAGE_SIZE;

    return MmFreeVirtualMemory(&va, &size, MEM_DECOMMIT);
}

static ntstatus_t make_read_only(vaddr_t va)
{
    uint32_t size = PAGE_SIZE, old;

    return MmProtectVirtualMemory(&va, &size, PAGE_READONLY, &old);
}

static ntstatus_t make_no_access(vaddr_t va)
{
    uint32_t size = PAGE_SIZE, old;

    return MmProtectVirtualMemory(&va, &size, PAGE_NOACCESS, &old);
}

static void decommit_under_a_reader_on_another_processor(struct ktest *t)
{
    change_under_a_toucher(t, false, decommit, "decommit");
}

static void read_only_under_a_writer_on_another_processor(struct ktest *t)
{
    change_under_a_toucher(t, true, make_read_only, "read-only");
}

static void no_access_under_a_reader_on_another_processor(struct ktest *t)
{
    change_under_a_toucher(t, false, make_no_access, "no access");
}

/* ---- a shootdown storm ---- */

#define STORM_ROUNDS 300

static struct storm {
    paddr_t physical;           /* a frame stamped STORM_STAMP */
    volatile bool go, done;
    uint32_t rounds, failures;
} storm;

#define STORM_STAMP 0x57041234u

/*
 * Maps the frame in system space, reads it and unmaps it, again and again: each unmap
 * shoots down every other processor, the other storming one among them.
 */
static uint32_t map_and_unmap(struct storm *s, uint32_t *rounds)
{
    uint32_t failures = 0;

    for (unsigned i = 0; i < STORM_ROUNDS; i++) {
        volatile uint32_t *va = MmMapIoSpace(s->physical, PAGE_SIZE);
        if (!va) {
            failures++;
            continue;
        }
        failures += *va != STORM_STAMP;
        MmUnmapIoSpace((void *)va, PAGE_SIZE);
        (*rounds)++;
    }
    return failures;
}

static void storm_thread(void *context)
{
    struct storm *s = context;

    while (!s->go)
        cpu_relax();
    s->failures += map_and_unmap(s, &s->rounds);
    s->done = true;
}

/*
 * Two processors change system space at once, hundreds of times: each waits for the
 * other's answer while the other waits for its own, and neither stops.
 */
static void two_processors_shoot_each_other_down(struct ktest *t)
{
    NEEDS_TWO_PROCESSORS(t);
    uint32_t threads = kernel_threads_now();
    pfn_t frame = stamped_frame(STORM_STAMP);
    KT_ASSERT(t, frame != PFN_INVALID);
    storm = (struct storm){.physical = pfn_to_paddr(frame)};
    uint64_t shootdowns = 0;
    for (unsigned i = 0; i < KeNumberProcessors; i++)
        shootdowns += KiProcessorBlock[i]->statistics.tlb_shootdowns;
    if (start_thread_on(t, other_processor(), storm_thread, &storm)) {
        uint32_t rounds = 0;
        storm.go = true;
        uint32_t failures = map_and_unmap(&storm, &rounds);
        KT_EXPECT(t, wait_for(&storm.done));
        KT_EXPECT_EQ(t, 0, failures + storm.failures);
        KT_EXPECT_EQ(t, STORM_ROUNDS, rounds);
        KT_EXPECT_EQ(t, STORM_ROUNDS, storm.rounds);
        uint64_t now = 0;
        for (unsigned i = 0; i < KeNumberProcessors; i++)
            now += KiProcessorBlock[i]->statistics.tlb_shootdowns;
        ktest_diag(t, "%u rounds on each of two processors, %u shootdowns",
                   STORM_ROUNDS, (uint32_t)(now - shootdowns));
        KT_EXPECT(t, now - shootdowns >= 2 * STORM_ROUNDS);
    }
    wait_for_kernel_threads(threads);
    MiInsertPageInFreeList(frame);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(processors_are_those_the_firmware_lists),
    KTEST_CASE(processor_limit_options),
    KTEST_CASE(generic_call_reaches_every_other_processor),
    KTEST_CASE(programs_see_the_processors_and_set_affinity),
    KTEST_CASE(system_space_change_reaches_every_processor),
    KTEST_CASE(decommit_under_a_reader_on_another_processor),
    KTEST_CASE(read_only_under_a_writer_on_another_processor),
    KTEST_CASE(no_access_under_a_reader_on_another_processor),
    KTEST_CASE(two_processors_shoot_each_other_down),
};

KTEST_SUITE(smp_suite, "smp", cases);
