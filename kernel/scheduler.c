/*
 * Round-robin scheduling of one processor. The dispatcher lock guards all scheduler
 * state; a switch between threads of different processes loads the new address space
 * (MmSwitchAddressSpace), one between threads of the same process does not.
 */
#include "arch/context.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/pit.h"
#include "arch/spinlock.h"
#include "ke/dpc.h"
#include "ke/event.h"
#include "ke/ipi.h"
#include "lib/panic.h"
#include "kernel/process.h"
#include "kernel/shared_data.h"
#include "lib/string.h"
#include "kernel/thread.h"
#include "mm/mm.h"
#include "mm/pool.h"

#define QUANTUM_TICKS       10      /* 10 ms at PIT_HZ = 1000 */
#define KERNEL_STACK_PAGES  4
/* What a thread costs in memory that is never paged: its stack, and a page for its block. */
#define THREAD_CHARGE_PAGES (KERNEL_STACK_PAGES + 1)
#define TAG_THREAD          0x64726854  /* 'Thrd' */

volatile uint64_t scheduler_ticks;

static struct thread boot_thread;

/*
 * The dispatcher lock: the last lock in the order (nothing is taken while it is held).
 * It guards the ready queue, the sleepers, the dead threads, every thread's state and
 * wait links, and the thread lists of the processes.
 */
static struct lock_class dispatcher_lock_class = LOCK_CLASS_SPIN("dispatcher");
static struct kspin_lock dispatcher_lock = KSPIN_LOCK_INIT(dispatcher_lock_class);
static struct list_entry ready_queue;
static struct list_entry sleepers;          /* waiting with a timeout */
static uint64_t next_wake_tick = UINT64_MAX;    /* the earliest of the sleepers' */
/* Queued by the clock when next_wake_tick has come (NT's timer expiration DPC). */
static struct kdpc timer_expiration_dpc;
static struct list_entry dead_threads;
/* Threads taken off dead_threads whose freeing (on some processor) is not over yet. */
static uint32_t reaps_in_progress;
/*
 * The reaper (NT's PspReaper): a system thread that frees ended threads when no lock
 * release at PASSIVE_LEVEL comes to do it first -- a processor kept busy by threads that
 * are only ever preempted never releases the dispatcher lock there.
 */
static struct wait_queue reaper_queue;
static uint32_t next_thread_id = 1;

static void KiDispatchInterrupt(void);
static void processor_clock(void);
static void expire_timeouts_dpc(struct kdpc *dpc, void *context, void *argument1,
                                void *argument2);
static void __attribute__((noinline)) reap_dead_threads_now(void);
static ntstatus_t wait_locked(struct wait_queue *queue, uint64_t timeout_ticks);

KIRQL KiAcquireDispatcherLock(void)
{
    return KeAcquireSpinLock(&dispatcher_lock);
}

/*
 * Lets the dispatcher lock go. Back at PASSIVE_LEVEL (so holding no lock at all: a
 * guarded mutex's holder runs at APC_LEVEL), the threads that ended are freed: that
 * takes other locks (a process's working set, the pools, the PFN lock), which the
 * dispatcher lock, the last in the order, may not be held across.
 */
static inline __attribute__((always_inline)) void release_dispatcher_lock(KIRQL old)
{
    KeReleaseSpinLock(&dispatcher_lock, old);
    if (__builtin_expect(!list_is_empty(&dead_threads), 0) && old == PASSIVE_LEVEL)
        reap_dead_threads_now();
}

void KiReleaseDispatcherLock(KIRQL old)
{
    release_dispatcher_lock(old);
}

struct kprcb_statistics scheduler_statistics(void)
{
    struct kprcb_statistics sum = {0};

    for (unsigned i = 0; i < KeNumberProcessors; i++) {
        const struct kprcb_statistics *one = &KiProcessorBlock[i]->statistics;
        sum.context_switches += one->context_switches;
        sum.preemptions += one->preemptions;
        sum.kernel_preemptions += one->kernel_preemptions;
        sum.interrupts += one->interrupts;
        sum.deferred_interrupts += one->deferred_interrupts;
        sum.dispatch_interrupts += one->dispatch_interrupts;
        sum.dpcs_queued += one->dpcs_queued;
        sum.dpcs_run += one->dpcs_run;
        sum.tlb_flushes_posted += one->tlb_flushes_posted;
        sum.tlb_pages_flushed += one->tlb_pages_flushed;
        sum.tlb_entire_flushes += one->tlb_entire_flushes;
        sum.tlb_shootdowns += one->tlb_shootdowns;
        sum.ipis_sent += one->ipis_sent;
        sum.ipis_received += one->ipis_received;
        sum.cr3_loads += one->cr3_loads;
        sum.invlpgs += one->invlpgs;
        sum.full_flushes += one->full_flushes;
    }
    return sum;
}

void wait_queue_init(struct wait_queue *queue)
{
    list_init(&queue->threads);
}

/*
 * The processors running their idle thread (NT's KiIdleSummary): one of them is
 * interrupted when a thread becomes ready, rather than left halted until its clock.
 */
static uint32_t idle_processors;

/* With the dispatcher lock held, like every function below that says "locked". */
static void make_ready(struct thread *thread)
{
    thread->state = THREAD_READY;
    if (thread->idle)
        return;
    list_insert_tail(&ready_queue, &thread->queue_link);
    if (__builtin_expect(idle_processors == 0, 1))
        return;
    uint32_t others = idle_processors & thread->affinity & ~KeGetCurrentPrcb()->set_member;
    if (others) {
        /* One processor woken per thread: the next one made ready wakes another. */
        idle_processors &= ~(others & -others);
        KiIpiSend(others & -others, IPI_RESCHEDULE);
    }
}

/* Locked: the first ready thread this processor may run (its affinity names it), or NULL. */
static inline struct thread *first_ready_here(struct kprcb *prcb)
{
    for (struct list_entry *e = ready_queue.next; e != &ready_queue; e = e->next) {
        struct thread *thread = CONTAINING_RECORD(e, struct thread, queue_link);
        if (thread->affinity & prcb->set_member)
            return thread;
    }
    return NULL;
}

/* Locked: takes the next thread for this processor off the ready queue, or its idle thread. */
static struct thread *pick_next(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct thread *next = first_ready_here(prcb);

    if (!next)
        return prcb->idle_thread;
    list_remove(&next->queue_link);
    return next;
}

static struct mm_address_space *address_space_of(struct thread *thread)
{
    return &(thread->attached ? thread->attached : thread->process)->space;
}

/*
 * At PASSIVE_LEVEL: frees what threads that have ended left behind. A thread on the
 * dead list has switched away for good, so its stack is no longer in use.
 */
static void reap_dead_threads_now(void)
{
    for (;;) {
        KIRQL old = KeAcquireSpinLock(&dispatcher_lock);
        struct list_entry *entry = list_remove_head(&dead_threads);
        if (entry)
            __atomic_add_fetch(&reaps_in_progress, 1, __ATOMIC_RELAXED);
        KeReleaseSpinLock(&dispatcher_lock, old);
        if (!entry)
            break;
        struct thread *dead = CONTAINING_RECORD(entry, struct thread, queue_link);
        struct process *process = dead->process;
        KASSERT(dead->stack_pages != 0);    /* the boot thread never ends */
        MmDeleteKernelStack(dead->stack_base, dead->stack_pages);
        ExFreePoolWithTag(dead, TAG_THREAD);
        MmReturnNonPagedMemory(THREAD_CHARGE_PAGES);
        process_thread_reaped(process);
        __atomic_sub_fetch(&reaps_in_progress, 1, __ATOMIC_RELEASE);
    }
}

void KeWaitForEndedThreads(void)
{
    for (;;) {
        reap_dead_threads_now();
        if (list_is_empty(&dead_threads) &&
            __atomic_load_n(&reaps_in_progress, __ATOMIC_ACQUIRE) == 0)
            return;
        scheduler_yield();
        cpu_relax();
    }
}

/*
 * Locked, at DISPATCH_LEVEL: runs next in place of the current thread. A thread always
 * switches out here and comes back here, at DISPATCH_LEVEL, and then lowers the IRQL to
 * what it had before it took the dispatcher lock; a new thread lowers it to PASSIVE_LEVEL
 * in ke_thread_startup.
 */
static void switch_to(struct thread *next)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct thread *previous = prcb->current_thread;

    next->state = THREAD_RUNNING;
    next->quantum = QUANTUM_TICKS;
    prcb->quantum_end = false;              /* a new quantum, whoever runs it */
    if (next == previous)
        return;
    next->processor = prcb->number;
    if (next->idle)
        idle_processors |= prcb->set_member;
    else if (previous->idle)
        idle_processors &= ~prcb->set_member;
    prcb->current_thread = next;
    MmSwitchAddressSpace(address_space_of(next));
    arch_set_kernel_stack(next->stack_top);
    prcb->statistics.context_switches++;
    arch_context_switch(&previous->saved_esp, next->saved_esp);
}

void ke_thread_startup(void)
{
    struct thread *self = thread_current();

    /* The dispatcher lock was taken by the thread that switched here: let it go. */
    ke_spin_unlock_word(&dispatcher_lock);
    KeLowerIrql(PASSIVE_LEVEL);
    cpu_enable_interrupts();
    if (!list_is_empty(&dead_threads) && !self->idle)
        reap_dead_threads_now();
    if (self->start_routine) {
        self->start_routine(self->start_context);
        process_exit_current_thread();
    }
    /*
     * A user thread: trap_exit takes it to ring 3 with the frame on its stack -- unless its
     * process was terminated before it first ran.
     */
    cpu_disable_interrupts();
    if (self->process->terminating)
        process_exit_current_thread();
}

ntstatus_t thread_create(struct process *process, void (*routine)(void *), void *context,
                         vaddr_t user_eip, vaddr_t user_esp, vaddr_t user_stack,
                         bool suspended, struct thread **result)
{
    ntstatus_t status = MmChargeNonPagedMemory(THREAD_CHARGE_PAGES);

    if (!NT_SUCCESS(status))
        return status;
    struct thread *thread = ExAllocatePoolWithTag(NonPagedPool, sizeof(*thread), TAG_THREAD);
    if (!thread)
        goto uncharge;
    memset(thread, 0, sizeof(*thread));
    if (!MmCreateKernelStack(KERNEL_STACK_PAGES, &thread->stack_base, &thread->stack_top))
        goto free_thread;
    thread->stack_pages = KERNEL_STACK_PAGES;
    thread->process = process;
    thread->start_routine = routine;
    thread->start_context = context;
    thread->user_stack = user_stack;
    thread->saved_esp = arch_prepare_thread_stack(thread->stack_top, user_eip, user_esp);
    list_init(&thread->sleep_link);
    list_init(&thread->queue_link);

    KIRQL old = KiAcquireDispatcherLock();
    thread->affinity = process->affinity;       /* under the lock process_set_affinity takes */
    thread->id = next_thread_id++;
    process_thread_created(process, thread);
    if (suspended) {
        /* Waiting on nothing, as a user wait: a termination of its process ends it. */
        thread->state = THREAD_WAITING;
        thread->suspended = thread->user_wait = true;
    } else {
        make_ready(thread);
    }
    release_dispatcher_lock(old);
    if (result)
        *result = thread;
    return STATUS_SUCCESS;

free_thread:
    ExFreePoolWithTag(thread, TAG_THREAD);
uncharge:
    MmReturnNonPagedMemory(THREAD_CHARGE_PAGES);
    return STATUS_INSUFFICIENT_RESOURCES;
}

/*
 * A processor's idle thread: runs whatever becomes ready; otherwise, on the boot
 * processor, zeroes a free page ahead of need (NT's zero page thread), and with none
 * left, halts until an interrupt. Anything
 * made ready while it runs takes the processor at once (KiDispatchInterrupt).
 */
static void idle_loop(void *unused)
{
    (void)unused;
    for (;;) {
        /*
         * The lock is let go without reaping: freeing a thread may wait (for an address
         * space's working-set lock), and the idle thread never waits. The reaper does it.
         */
        KIRQL old = KiAcquireDispatcherLock();
        struct kprcb *prcb = KeGetCurrentPrcb();
        struct thread *next = first_ready_here(prcb);
        if (next) {
            list_remove(&next->queue_link);
            switch_to(next);
            KeReleaseSpinLock(&dispatcher_lock, old);
            continue;
        }
        idle_processors |= prcb->set_member;    /* an IPI that found nothing cleared it */
        KeReleaseSpinLock(&dispatcher_lock, old);
        /* One processor zeroes, as NT has one zero page thread: the others halt. */
        if (KeGetCurrentPrcb()->number == 0 && MmZeroPageAhead())
            continue;
        /*
         * A thread made ready after the look above comes with an interrupt: make_ready's
         * IPI from another processor, this processor's own dispatch request. One taken
         * before the cli has run its dispatch already (at PASSIVE_LEVEL nothing holds it
         * back) or left its bit pending; one after it ends the halt. Nothing is waited
         * for with interrupts off: a processor that holds a lock and waits for this one's
         * TLB flush gets it.
         */
        cpu_disable_interrupts();
        if (KeGetCurrentPrcb()->pending_interrupts == 0)
            /* sti takes effect after the next instruction: no wake-up slips in between. */
            __asm__ volatile("sti; hlt" ::: "memory");
        else
            cpu_enable_interrupts();
    }
}

void scheduler_adopt_boot_code(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    prcb->current_thread = &boot_thread;
}

static void reaper_loop(void *unused)
{
    (void)unused;
    for (;;) {
        reap_dead_threads_now();
        KIRQL old = KiAcquireDispatcherLock();
        if (list_is_empty(&dead_threads))
            wait_locked(&reaper_queue, WAIT_FOREVER);
        release_dispatcher_lock(old);
    }
}

void scheduler_init(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    hal_set_dispatch_handler(KiDispatchInterrupt);
    KeInitializeDpc(&timer_expiration_dpc, expire_timeouts_dpc, NULL);
    list_init(&ready_queue);
    list_init(&sleepers);
    list_init(&dead_threads);
    boot_thread.process = &system_process;
    boot_thread.affinity = KE_ALL_PROCESSORS;
    boot_thread.state = THREAD_RUNNING;
    boot_thread.quantum = QUANTUM_TICKS;
    boot_thread.id = next_thread_id++;
    list_init(&boot_thread.sleep_link);
    process_thread_created(&system_process, &boot_thread);

    wait_queue_init(&reaper_queue);
    struct thread *idle;
    if (!NT_SUCCESS(thread_create(&system_process, idle_loop, NULL, 0, 0, 0, false, &idle)) ||
        !NT_SUCCESS(thread_create(&system_process, reaper_loop, NULL, 0, 0, 0, false, NULL)))
        panic("cannot create the idle thread and the reaper");
    KIRQL old = KiAcquireDispatcherLock();
    list_remove(&idle->queue_link);
    idle->idle = true;
    prcb->idle_thread = idle;
    release_dispatcher_lock(old);
    hal_set_processor_handlers(KiIpiService, processor_clock);
}

struct thread *KiCreateIdleThread(void)
{
    struct thread *idle;

    /* Created suspended, so that no processor but its own ever runs it. */
    if (!NT_SUCCESS(thread_create(&system_process, idle_loop, NULL, 0, 0, 0, true, &idle)))
        return NULL;
    KIRQL old = KiAcquireDispatcherLock();
    idle->suspended = idle->user_wait = false;
    idle->idle = true;
    idle->state = THREAD_RUNNING;
    release_dispatcher_lock(old);
    return idle;
}

NORETURN void KiIdleProcessor(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    KASSERT(KeGetCurrentIrql() == DISPATCH_LEVEL && prcb->current_thread == prcb->idle_thread);
    ke_spin_lock_word(&dispatcher_lock);
    idle_processors |= prcb->set_member;
    ke_spin_unlock_word(&dispatcher_lock);
    KeLowerIrql(PASSIVE_LEVEL);
    cpu_enable_interrupts();
    idle_loop(NULL);
    panic("an idle thread returned");
}

void scheduler_yield(void)
{
    KIRQL old = KiAcquireDispatcherLock();
    struct thread *next = first_ready_here(KeGetCurrentPrcb());

    if (next) {
        list_remove(&next->queue_link);
        make_ready(thread_current());
        switch_to(next);
    }
    release_dispatcher_lock(old);
}

/*
 * Locked: thread may now run only on the processors in affinity. The running thread
 * leaves this processor at once if it is not among them; one running elsewhere is told
 * to give its processor up (its quantum ends there at once).
 */
void KiSetAffinityThreadLocked(struct thread *thread, uint32_t affinity)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    thread->affinity = affinity;
    if (thread->state != THREAD_RUNNING || (affinity & (1u << thread->processor)))
        return;
    if (thread == prcb->current_thread) {
        make_ready(thread);
        switch_to(pick_next());
    } else {
        struct kprcb *other = KiProcessorBlock[thread->processor];
        other->quantum_end = true;
        KiIpiSend(other->set_member, IPI_RESCHEDULE);
    }
}

uint32_t KeSetAffinityThread(uint32_t affinity)
{
    KIRQL old = KiAcquireDispatcherLock();
    uint32_t previous = thread_current()->affinity;

    KASSERT(affinity & KeActiveProcessors);
    KiSetAffinityThreadLocked(thread_current(), affinity);
    release_dispatcher_lock(old);
    return previous;
}

void KeSetThreadAffinity(struct thread *thread, uint32_t affinity)
{
    KIRQL old = KiAcquireDispatcherLock();

    KASSERT(affinity & KeActiveProcessors);
    KiSetAffinityThreadLocked(thread, affinity);
    release_dispatcher_lock(old);
}

/* Locked: blocks the current thread on queue; returns the status it is woken with. */
static ntstatus_t wait_locked(struct wait_queue *queue, uint64_t timeout_ticks)
{
    struct thread *self = thread_current();

    self->state = THREAD_WAITING;
    self->wait_status = STATUS_SUCCESS;
    list_insert_tail(&queue->threads, &self->queue_link);
    if (timeout_ticks != WAIT_FOREVER) {
        self->wake_tick = scheduler_ticks + timeout_ticks;
        list_insert_tail(&sleepers, &self->sleep_link);
        next_wake_tick = MIN(next_wake_tick, self->wake_tick);
    }
    switch_to(pick_next());
    return self->wait_status;
}

ntstatus_t scheduler_wait(struct wait_queue *queue, uint64_t timeout_ticks)
{
    KIRQL old = KeGetCurrentIrql();

    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_wait(old, (vaddr_t)__builtin_return_address(0));
    old = KiAcquireDispatcherLock();
    ntstatus_t status = wait_locked(queue, timeout_ticks);
    release_dispatcher_lock(old);
    return status;
}

ntstatus_t scheduler_wait_user(struct wait_queue *queue, uint64_t timeout_ticks,
                               const volatile bool *done)
{
    KIRQL old = KeGetCurrentIrql();

    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_wait(old, (vaddr_t)__builtin_return_address(0));
    struct thread *self = thread_current();
    ntstatus_t status = STATUS_PROCESS_IS_TERMINATING;
    old = KiAcquireDispatcherLock();
    if (done && *done) {
        status = STATUS_SUCCESS;
    } else if (done && timeout_ticks == 0) {
        status = STATUS_TIMEOUT;
    } else if (!self->process->terminating) {
        self->user_wait = true;
        status = wait_locked(queue, timeout_ticks);
        self->user_wait = false;
    }
    release_dispatcher_lock(old);
    return status;
}

/* Locked: takes a waiting thread off its queue and makes it ready. */
static void release_waiter(struct thread *thread, ntstatus_t status)
{
    list_remove(&thread->queue_link);
    list_remove(&thread->sleep_link);
    thread->wait_status = status;
    make_ready(thread);
}

void scheduler_wake_all(struct wait_queue *queue, ntstatus_t status, volatile bool *done)
{
    KIRQL old = KiAcquireDispatcherLock();

    if (done)
        *done = true;
    while (!list_is_empty(&queue->threads))
        release_waiter(CONTAINING_RECORD(queue->threads.next, struct thread, queue_link), status);
    release_dispatcher_lock(old);
}

void KeInitializeEvent(struct kevent *event, bool signaled)
{
    event->signaled = signaled;
    wait_queue_init(&event->waiters);
}

void KeSetEvent(struct kevent *event)
{
    scheduler_wake_all(&event->waiters, STATUS_SUCCESS, &event->signaled);
}

void KeSetEventBoost(struct kevent *event)
{
    KIRQL old = KiAcquireDispatcherLock();
    struct kprcb *prcb = KeGetCurrentPrcb();    /* read at DISPATCH_LEVEL: it stays ours */
    bool released = false;

    event->signaled = true;
    while (!list_is_empty(&event->waiters.threads)) {
        struct thread *thread =
            CONTAINING_RECORD(event->waiters.threads.next, struct thread, queue_link);
        release_waiter(thread, STATUS_SUCCESS);
        list_remove(&thread->queue_link);       /* to the front: it runs next */
        list_insert_head(&ready_queue, &thread->queue_link);
        released = true;
    }
    /* The running thread gives way at the next dispatch: its quantum ends there. */
    if (released && prcb->current_thread != prcb->idle_thread) {
        prcb->quantum_end = true;
        HalRequestSoftwareInterrupt(DISPATCH_LEVEL);
    }
    release_dispatcher_lock(old);
}

void KeClearEvent(struct kevent *event)
{
    event->signaled = false;
}

ntstatus_t KeWaitForEvent(struct kevent *event, uint64_t timeout_ticks)
{
    KIRQL old = KeGetCurrentIrql();

    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_wait(old, (vaddr_t)__builtin_return_address(0));
    ntstatus_t status = STATUS_SUCCESS;
    old = KiAcquireDispatcherLock();
    if (!event->signaled)
        status = timeout_ticks == 0 ? STATUS_TIMEOUT : wait_locked(&event->waiters, timeout_ticks);
    release_dispatcher_lock(old);
    return status;
}

void KiWakeThreadLocked(struct thread *thread, ntstatus_t status)
{
    if (thread->state == THREAD_WAITING)
        release_waiter(thread, status);
}

void KiResumeThreadLocked(struct thread *thread)
{
    if (thread->suspended && thread->state == THREAD_WAITING) {
        thread->suspended = thread->user_wait = false;
        release_waiter(thread, STATUS_SUCCESS);
    }
}

void scheduler_wake_thread(struct thread *thread, ntstatus_t status)
{
    KIRQL old = KiAcquireDispatcherLock();
    KiWakeThreadLocked(thread, status);
    release_dispatcher_lock(old);
}

/*
 * Every processor's clock, at CLOCK_LEVEL: counts the running thread's quantum, and
 * leaves the end of one to KiDispatchInterrupt. The idle thread has no quantum: it looks
 * at the ready queue itself.
 */
static void processor_clock(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct thread *running = prcb->current_thread;

    if (running != prcb->idle_thread && running->quantum && --running->quantum == 0) {
        prcb->quantum_end = true;
        HalRequestSoftwareInterrupt(DISPATCH_LEVEL);
    }
}

/*
 * The boot processor's clock (the PIT's), at CLOCK_LEVEL: counts time, then the quantum.
 * A timeout reached it leaves to the timer expiration DPC.
 */
void scheduler_tick(void)
{
    scheduler_ticks++;
    shared_data_update_time(scheduler_ticks);
    /* Until the DPC has run, a later tick finds it queued and the insert changes nothing. */
    if (next_wake_tick <= scheduler_ticks)
        KeInsertQueueDpc(&timer_expiration_dpc, NULL, NULL);
    processor_clock();
}

/* Locked: wakes the sleepers whose time is up (with STATUS_TIMEOUT). */
static void expire_timeouts(void)
{
    uint64_t now = scheduler_ticks, earliest = UINT64_MAX;

    for (struct list_entry *e = sleepers.next; e != &sleepers;) {
        struct thread *thread = CONTAINING_RECORD(e, struct thread, sleep_link);
        e = e->next;
        if (thread->wake_tick <= now)
            release_waiter(thread, STATUS_TIMEOUT);
        else
            earliest = MIN(earliest, thread->wake_tick);
    }
    next_wake_tick = earliest;
}

/* The timer expiration DPC, at DISPATCH_LEVEL. */
static void expire_timeouts_dpc(struct kdpc *dpc, void *context, void *argument1,
                                void *argument2)
{
    (void)dpc, (void)context, (void)argument1, (void)argument2;
    KIRQL old = KiAcquireDispatcherLock();
    expire_timeouts();
    release_dispatcher_lock(old);
}

/*
 * Locked: the running thread's quantum is over. It goes to the back of the ready queue
 * if anyone else is ready; otherwise it gets a new quantum.
 */
static void end_quantum(struct kprcb *prcb)
{
    struct thread *self = prcb->current_thread;

    prcb->quantum_end = false;
    /* A thread whose affinity no longer names this processor leaves it even for idle. */
    if (!first_ready_here(prcb) && (self->affinity & prcb->set_member)) {
        self->quantum = QUANTUM_TICKS;
        return;
    }
    prcb->statistics.preemptions++;
    make_ready(self);
    switch_to(pick_next());
}

/*
 * The DISPATCH_LEVEL software interrupt: runs once the IRQL falls below DISPATCH_LEVEL
 * after the clock or a queued DPC asked for it -- so never while the interrupted code
 * holds a spinlock, but in kernel mode as in user mode otherwise: the kernel is
 * preemptible (a guarded mutex's holder too; whoever wants the mutex waits for it). It
 * runs the queued DPCs first (the timer's among them, which makes sleepers ready), then
 * ends the running thread's quantum, and gives the processor away when the idle thread
 * has it and someone is ready.
 */
static void KiDispatchInterrupt(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();

    /* Read without the lock: a DPC queued after this look asks for another interrupt. */
    if (!list_is_empty(&prcb->dpc_list))
        KiRetireDpcList(prcb);
    KIRQL old = KiAcquireDispatcherLock();
    if (prcb->current_thread == prcb->idle_thread) {
        if (first_ready_here(prcb))
            switch_to(pick_next());
    } else if (prcb->quantum_end) {
        end_quantum(prcb);
    }
    release_dispatcher_lock(old);
}

NORETURN void scheduler_exit_thread(void)
{
    KiAcquireDispatcherLock();
    struct thread *self = thread_current();
    self->state = THREAD_TERMINATED;
    list_insert_tail(&dead_threads, &self->queue_link);
    if (!list_is_empty(&reaper_queue.threads))
        release_waiter(CONTAINING_RECORD(reaper_queue.threads.next, struct thread, queue_link),
                       STATUS_SUCCESS);
    switch_to(pick_next());
    panic("a terminated thread ran again");
}

/* ---- guarded mutexes (ke/mutex.h) ---- */

void KeInitializeGuardedMutex(struct kguarded_mutex *mutex, struct lock_class *class)
{
    *mutex = (struct kguarded_mutex){.class = class};
    wait_queue_init(&mutex->waiters);
}

/* Takes a free mutex for self; false when someone holds it. */
static bool take_free_mutex(struct kguarded_mutex *mutex, struct thread *self)
{
    uintptr_t free = 0;

    return __atomic_compare_exchange_n(&mutex->owner_word, &free, (uintptr_t)self, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Locked: waits until the mutex is handed over, or takes it if it was let go meanwhile. */
static void wait_for_mutex(struct kguarded_mutex *mutex, struct thread *self)
{
    for (;;) {
        uintptr_t word = __atomic_load_n(&mutex->owner_word, __ATOMIC_RELAXED);
        if (word == 0) {
            if (take_free_mutex(mutex, self))
                return;
        } else if (__atomic_compare_exchange_n(&mutex->owner_word, &word,
                                               word | KGUARDED_MUTEX_CONTENDED, false,
                                               __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            mutex->contentions++;
            wait_locked(&mutex->waiters, WAIT_FOREVER);     /* woken as the new owner */
            KASSERT(KeGuardedMutexOwner(mutex) == self);
            return;
        }
    }
}

void KiWaitForGuardedMutex(struct kguarded_mutex *mutex)
{
    KIRQL dispatcher = KiAcquireDispatcherLock();
    wait_for_mutex(mutex, thread_current());
    release_dispatcher_lock(dispatcher);
}

bool KeTryToAcquireGuardedMutex(struct kguarded_mutex *mutex)
{
    KIRQL old = KeGetCurrentIrql();

    if (!take_free_mutex(mutex, thread_current()))
        return false;
    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_acquire(mutex->class, mutex, old, true, (vaddr_t)__builtin_return_address(0));
    if (old < APC_LEVEL)
        KeRaiseIrql(APC_LEVEL);
    mutex->owner_irql = old;
    return true;
}

/* Someone waits: the first waiter gets the mutex, under the dispatcher lock. */
void KiHandOverGuardedMutex(struct kguarded_mutex *mutex)
{
    KASSERT(KeGuardedMutexOwner(mutex) == thread_current());
    KIRQL dispatcher = KiAcquireDispatcherLock();
    struct thread *next = CONTAINING_RECORD(mutex->waiters.threads.next, struct thread,
                                            queue_link);
    bool more = next->queue_link.next != &mutex->waiters.threads;
    __atomic_store_n(&mutex->owner_word, (uintptr_t)next | (more ? KGUARDED_MUTEX_CONTENDED : 0),
                     __ATOMIC_RELEASE);
    release_waiter(next, STATUS_SUCCESS);
    release_dispatcher_lock(dispatcher);
}
