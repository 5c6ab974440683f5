/*
 * The groundwork for several processors: the processor's region reached through FS,
 * the IRQL and its lazy masking, spinlocks, guarded mutexes, and the lock checker, which
 * each case here makes report a mistake planted on purpose.
 */
#include <stddef.h>

#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/descriptors.h"
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/lockcheck.h"
#include "ke/mutex.h"
#include "arch/spinlock.h"
#include "kernel/process.h"
#include "kernel/thread.h"
#include "mm/hyperspace.h"
#include "mm/mm.h"
#include "tests/ktest.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"
#include "tests/user/counter.h"

/* ---- the processor's region ---- */

static uint16_t read_fs(void)
{
    uint16_t fs;

    __asm__ volatile("mov %%fs, %0" : "=r"(fs));
    return fs;
}

static uint32_t segment_limit(uint16_t selector)
{
    uint32_t limit = 0;

    __asm__ volatile("lsl %1, %0" : "+r"(limit) : "r"((uint32_t)selector));
    return limit;
}

/* FS is NT's KGDT_R0_PCR and reaches exactly this processor's region. */
static void region_is_reached_through_fs(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    KT_EXPECT_EQ(t, GDT_PCR, read_fs());
    KT_EXPECT_EQ(t, 0x30, GDT_PCR);
    KT_EXPECT_EQ(t, sizeof(struct kprcb) - 1, segment_limit(GDT_PCR));
    KT_EXPECT(t, prcb == &pcr_boot_processor);
    KT_EXPECT_EQ(t, 0, prcb->number);
    KT_EXPECT(t, KeGetCurrentThread() == prcb->current_thread);
    KT_EXPECT(t, trap_last_recovered_fault() == &thread_current()->arch.recovered_fault);
    KT_EXPECT(t, KeGetCurrentKthread() == &thread_current()->arch);
    KT_EXPECT(t, prcb->current_space == MmCurrentAddressSpace());
}

static volatile struct kprcb_snapshot {
    struct thread *thread;
    struct trap_recovered_fault *recovered_fault;
} other_thread_saw;

static void look_at_region(void *done)
{
    other_thread_saw.thread = KeGetCurrentThread();
    other_thread_saw.recovered_fault = trap_last_recovered_fault();
    *(volatile bool *)done = true;
}

/* Each thread has its own fault record, reached through the running thread. */
static void each_thread_has_its_own_fault_record(struct ktest *t)
{
    volatile bool done = false;
    struct thread *other;

    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 thread_create(&system_process, look_at_region, (void *)&done, 0, 0, 0, false,
                               &other));
    for (unsigned i = 0; !done && i < 1000; i++)
        scheduler_yield();
    KT_ASSERT(t, done);
    KT_EXPECT(t, other_thread_saw.thread == other);
    KT_EXPECT(t, other_thread_saw.recovered_fault == &other->arch.recovered_fault);
    KT_EXPECT(t, trap_last_recovered_fault() == &thread_current()->arch.recovered_fault);
    scheduler_yield();          /* the ended thread is reaped */
}

/* ---- the IRQL ---- */

/*
 * Spins for milliseconds of TSC time, or until the clock ticks when until_tick: long
 * enough for several ticks at PIT_HZ (the emulator's TSC and PIT keep only rough step).
 */
static void spin_ms(uint32_t milliseconds, bool until_tick)
{
    uint64_t start = cpu_read_tsc(), ticks = scheduler_ticks;

    while (cpu_read_tsc() - start < cpu_features.tsc_hz / 1000 * milliseconds &&
           !(until_tick && scheduler_ticks != ticks))
        __builtin_ia32_pause();
}

/*
 * At CLOCK_LEVEL and above the clock's interrupt is held back, not lost: time stands
 * still, the line is masked, and it runs once the IRQL falls again (NT's lazy IRQL).
 */
static void clock_waits_above_its_level(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    if (!cpu_features.tsc_hz)
        KT_SKIP(t, "no TSC to time the wait by");
    KT_ASSERT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
    uint64_t deferred = prcb->statistics.deferred_interrupts;
    KIRQL old = KeRaiseIrql(CLOCK_LEVEL);
    uint64_t ticks = scheduler_ticks;
    spin_ms(20, false);
    KT_EXPECT_EQ(t, ticks, scheduler_ticks);
    KT_EXPECT(t, prcb->pending_interrupts & (1u << CLOCK_LEVEL));
    KT_EXPECT_EQ(t, deferred + 1, prcb->statistics.deferred_interrupts);
    KeLowerIrql(old);
    KT_EXPECT(t, scheduler_ticks > ticks);
    KT_EXPECT_EQ(t, 0, prcb->pending_interrupts & (1u << CLOCK_LEVEL));
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
}

/* At DISPATCH_LEVEL the clock still ticks (its level is higher); only the dispatcher waits. */
static void clock_runs_at_dispatch_level(struct ktest *t)
{
    if (!cpu_features.tsc_hz)
        KT_SKIP(t, "no TSC to time the wait by");
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    uint64_t ticks = scheduler_ticks;
    spin_ms(500, true);
    KT_EXPECT(t, scheduler_ticks > ticks);
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, KeGetCurrentIrql());
    KeLowerIrql(old);
}

/* The device levels follow NT's PIC HAL: the clock above every other line. */
static void lines_have_nt_device_levels(struct ktest *t)
{
    KT_EXPECT_EQ(t, CLOCK_LEVEL, hal_irql_of_line(0));
    KT_EXPECT_EQ(t, 26, hal_irql_of_line(1));
    KT_EXPECT_EQ(t, 12, hal_irql_of_line(15));
    for (unsigned irq = 0; irq < 16; irq++)
        KT_EXPECT(t, hal_irql_of_line(irq) > DISPATCH_LEVEL &&
                     hal_irql_of_line(irq) <= CLOCK_LEVEL);
}

/* A spinlock raises to DISPATCH_LEVEL and gives the old IRQL back; so does hyperspace. */
static void spinlocks_and_hyperspace_hold_dispatch_level(struct ktest *t)
{
    static struct lock_class class = LOCK_CLASS_SPIN("test spinlock");
    static struct kspin_lock lock = KSPIN_LOCK_INIT(class);

    KIRQL old = KeAcquireSpinLock(&lock);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, old);
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, KeGetCurrentIrql());
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());

    void *page = MiMapPageInHyperSpace(1);     /* any frame: nothing is written to it */
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, KeGetCurrentIrql());
    void *second = MiMapPageInHyperSpace(1);
    KT_EXPECT(t, second != page);
    MiUnmapPageInHyperSpace(second);
    KT_EXPECT_EQ(t, DISPATCH_LEVEL, KeGetCurrentIrql());
    MiUnmapPageInHyperSpace(page);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
}

/* ---- guarded mutexes ---- */

static struct lock_class test_mutex_class = LOCK_CLASS_BLOCKING("test mutex");
static struct kguarded_mutex test_mutex;
static volatile int waiter_state;

static void take_test_mutex(void *unused)
{
    (void)unused;
    waiter_state = 1;
    KeAcquireGuardedMutex(&test_mutex);
    waiter_state = 2;
    KeReleaseGuardedMutex(&test_mutex);
    waiter_state = 3;
}

/*
 * A thread that wants a held mutex waits -- the holder may run, even fault -- and gets it
 * when the holder lets go. The holder runs at APC_LEVEL meanwhile.
 */
static void mutex_waiter_gets_it_on_release(struct ktest *t)
{
    KeInitializeGuardedMutex(&test_mutex, &test_mutex_class);
    waiter_state = 0;
    KeAcquireGuardedMutex(&test_mutex);
    KT_EXPECT_EQ(t, APC_LEVEL, KeGetCurrentIrql());
    KT_EXPECT(t, KeIsGuardedMutexOwned(&test_mutex, thread_current()));
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 thread_create(&system_process, take_test_mutex, NULL, 0, 0, 0, false, NULL));
    /* On another processor the waiter gets there by itself; here only by yields. */
    for (unsigned i = 0; test_mutex.contentions == 0 && i < 100000; i++)
        scheduler_yield();
    KT_EXPECT_EQ(t, 1, waiter_state);            /* it waits */
    KT_EXPECT_EQ(t, 1, test_mutex.contentions);
    KT_EXPECT(t, !KeTryToAcquireGuardedMutex(&test_mutex));   /* held: an attempt fails */
    KeReleaseGuardedMutex(&test_mutex);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
    for (unsigned i = 0; waiter_state != 3 && i < 100000; i++)
        scheduler_yield();
    KT_EXPECT_EQ(t, 3, waiter_state);           /* it got the mutex, and let it go */
    KT_EXPECT(t, KeGuardedMutexOwner(&test_mutex) == NULL);
    KT_EXPECT(t, KeTryToAcquireGuardedMutex(&test_mutex));
    KeReleaseGuardedMutex(&test_mutex);
    scheduler_yield();
}

/* ---- a preemptible kernel ---- */

#define BUSY_REGIONS 10000

/*
 * The kernel is preemptible: this thread works inside the memory manager for a long
 * while -- ten thousand regions reserved and released in a process of its own, its
 * working-set lock taken and let go each time -- and never waits or yields; counter.exe,
 * kept to this thread's processor, and so running only when the processor is taken from
 * someone, counts on meanwhile.
 */
static void busy_kernel_thread_does_not_stop_other_processes(struct ktest *t)
{
    struct watched_counter w = {0};
    struct scratch s;

    if (!have_module(t, "counter.exe"))
        KT_SKIP(t, "counter.exe not loaded");
    KT_ASSERT(t, start_watched_counter(t, &w));
    process_set_affinity(w.process, KeGetCurrentPrcb()->set_member);

    uint64_t preemptions = scheduler_statistics().preemptions;
    uint32_t before = w.page->count;
    if (scratch_begin(t, &s, "busy")) {
        for (unsigned i = 0; i < BUSY_REGIONS; i++) {
            vaddr_t base = 0;
            uint32_t size = 0x10000;
            if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&base, &size,
                                                                         MEM_RESERVE,
                                                                         PAGE_READWRITE, 0)))
                break;
            size = 0;
            KT_EXPECT_EQ(t, STATUS_SUCCESS, MmFreeVirtualMemory(&base, &size, MEM_RELEASE));
        }
        scratch_end(t, &s);
    }
    uint32_t after = w.page->count;
    preemptions = scheduler_statistics().preemptions - preemptions;
    ktest_diag(t, "counter.exe counted %u while this thread was busy in the kernel; "
               "%u preemptions", after - before, (uint32_t)preemptions);
    KT_EXPECT(t, after > before);
    KT_EXPECT(t, preemptions > 0);
    stop_watched_counter(t, &w);
}

/* ---- the lock checker: each mistake, planted, and what it reports ---- */

static struct lock_class class_a = LOCK_CLASS_SPIN("test lock A");
static struct lock_class class_b = LOCK_CLASS_SPIN("test lock B");
static struct kspin_lock lock_a = KSPIN_LOCK_INIT(class_a);
static struct kspin_lock lock_b = KSPIN_LOCK_INIT(class_b);
static struct kspin_lock lock_a2 = KSPIN_LOCK_INIT(class_a);

static char report[256];
static uint32_t reports;
static bool was_enabled;

/* The checker on, its reports kept here instead of stopping the machine. */
static void capture_begin(void)
{
    was_enabled = lockcheck_enabled;
    lockcheck_enabled = true;
    report[0] = 0;
    reports = 0;
    lockcheck_capture_reports(report, sizeof(report), &reports);
}

/* Whether the captured report says words. */
static bool said(const char *words)
{
    return ktest_text_contains(report, words);
}

static void capture_end(struct ktest *t)
{
    lockcheck_capture_reports(NULL, 0, NULL);
    lockcheck_enabled = was_enabled;
    if (reports)
        ktest_diag(t, "the checker said: %s", report);
}

static void checker_accepts_a_consistent_order(struct ktest *t)
{
    capture_begin();
    lockcheck_forget_order(&class_a, &class_b);
    for (int i = 0; i < 2; i++) {
        KIRQL old = KeAcquireSpinLock(&lock_a);
        KIRQL inner = KeAcquireSpinLock(&lock_b);
        KeReleaseSpinLock(&lock_b, inner);
        KeReleaseSpinLock(&lock_a, old);
    }
    capture_end(t);
    KT_EXPECT_EQ(t, 0, reports);
}

static void checker_reports_an_order_inversion(struct ktest *t)
{
    capture_begin();
    lockcheck_forget_order(&class_a, &class_b);
    KIRQL old = KeAcquireSpinLock(&lock_a);
    KIRQL inner = KeAcquireSpinLock(&lock_b);
    KeReleaseSpinLock(&lock_b, inner);
    KeReleaseSpinLock(&lock_a, old);
    KT_EXPECT_EQ(t, 0, reports);
    old = KeAcquireSpinLock(&lock_b);
    inner = KeAcquireSpinLock(&lock_a);         /* the other order */
    KeReleaseSpinLock(&lock_a, inner);
    KeReleaseSpinLock(&lock_b, old);
    capture_end(t);
    lockcheck_forget_order(&class_a, &class_b);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("lock order inversion: test lock A taken while holding test lock B"));
}

static void checker_reports_a_lock_taken_twice(struct ktest *t)
{
    capture_begin();
    KIRQL old = KeAcquireSpinLock(&lock_a);
    KIRQL again = KeAcquireSpinLock(&lock_a);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("test lock A") && said("taken again by its holder"));
    KeReleaseSpinLock(&lock_a, again);
    KeReleaseSpinLock(&lock_a, old);
    /* Two locks of one class, neither taken by an attempt: a deadlock waiting to happen. */
    reports = 0;
    old = KeAcquireSpinLock(&lock_a);
    again = KeAcquireSpinLock(&lock_a2);
    KeReleaseSpinLock(&lock_a2, again);
    KeReleaseSpinLock(&lock_a, old);
    capture_end(t);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("two locks of class test lock A held at once"));
}

static void checker_reports_the_wrong_irql(struct ktest *t)
{
    capture_begin();
    /* A spinlock of DISPATCH_LEVEL taken at CLOCK_LEVEL would lower the IRQL. */
    KIRQL old = KeRaiseIrql(CLOCK_LEVEL);
    KIRQL inner = KeAcquireSpinLock(&lock_a);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("test lock A taken at IRQL 28"));
    KeReleaseSpinLock(&lock_a, inner);
    KeLowerIrql(old);
    /* A blocking lock taken while a spinlock is held (at DISPATCH_LEVEL). */
    reports = 0;
    KeInitializeGuardedMutex(&test_mutex, &test_mutex_class);
    old = KeAcquireSpinLock(&lock_b);
    KeAcquireGuardedMutex(&test_mutex);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("test mutex taken at IRQL 2") &&
                 said("a blocking lock is taken at IRQL 1 or below"));
    KeReleaseGuardedMutex(&test_mutex);
    KeReleaseSpinLock(&lock_b, old);
    capture_end(t);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
}

static void checker_reports_a_wait_at_dispatch_level(struct ktest *t)
{
    struct wait_queue nobody;

    wait_queue_init(&nobody);
    capture_begin();
    KIRQL old = KeAcquireSpinLock(&lock_a);
    KT_EXPECT_EQ(t, STATUS_TIMEOUT, scheduler_wait(&nobody, 1));
    KeReleaseSpinLock(&lock_a, old);
    capture_end(t);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("a blocking wait at IRQL 2"));
}

static void checker_reports_releases_that_do_not_match(struct ktest *t)
{
    capture_begin();
    /* A release of a lock that is not held. */
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    KeReleaseSpinLock(&lock_a, old);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("test lock A at") &&
                 said("released, but this thread does not hold it"));
    /* The outer lock released first, to PASSIVE_LEVEL, with the inner still held. */
    reports = 0;
    old = KeAcquireSpinLock(&lock_a);
    KIRQL inner = KeAcquireSpinLock(&lock_b);
    KeReleaseSpinLock(&lock_a, old);
    KT_EXPECT_EQ(t, 1, reports);
    KT_EXPECT(t, said("test lock A released to IRQL 0 while test lock B"));
    KeRaiseIrql(DISPATCH_LEVEL);
    KeReleaseSpinLock(&lock_b, PASSIVE_LEVEL);     /* b's IRQL to return to went with a */
    (void)inner;
    capture_end(t);
    KT_EXPECT_EQ(t, PASSIVE_LEVEL, KeGetCurrentIrql());
}

static const struct ktest_case cases[] = {
    KTEST_CASE(region_is_reached_through_fs),
    KTEST_CASE(each_thread_has_its_own_fault_record),
    KTEST_CASE(clock_waits_above_its_level),
    KTEST_CASE(clock_runs_at_dispatch_level),
    KTEST_CASE(lines_have_nt_device_levels),
    KTEST_CASE(spinlocks_and_hyperspace_hold_dispatch_level),
    KTEST_CASE(mutex_waiter_gets_it_on_release),
    KTEST_CASE(busy_kernel_thread_does_not_stop_other_processes),
    KTEST_CASE(checker_accepts_a_consistent_order),
    KTEST_CASE(checker_reports_an_order_inversion),
    KTEST_CASE(checker_reports_a_lock_taken_twice),
    KTEST_CASE(checker_reports_the_wrong_irql),
    KTEST_CASE(checker_reports_a_wait_at_dispatch_level),
    KTEST_CASE(checker_reports_releases_that_do_not_match),
};

KTEST_SUITE(sync_suite, "sync", cases);
