/*
 * Round-robin scheduling of one CPU. All scheduler state changes with interrupts off;
 * a switch between threads of different processes loads the new address space
 * (MmSwitchAddressSpace), one between threads of the same process does not.
 */
#include "arch/context.h"
#include "arch/cpu.h"
#include "arch/pit.h"
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
struct scheduler_statistics scheduler_statistics;

static struct thread boot_thread;
struct thread *scheduler_running = &boot_thread;
static struct thread *idle_thread;
static struct list_entry ready_queue;
static struct list_entry sleepers;
static struct list_entry dead_threads;
bool scheduler_need_reschedule;
static uint32_t next_thread_id = 1;

void wait_queue_init(struct wait_queue *queue)
{
    list_init(&queue->threads);
}

static void make_ready(struct thread *thread)
{
    thread->state = THREAD_READY;
    if (thread != idle_thread)
        list_insert_tail(&ready_queue, &thread->queue_link);
}

static struct thread *pick_next(void)
{
    struct list_entry *next = list_remove_head(&ready_queue);

    return next ? CONTAINING_RECORD(next, struct thread, queue_link) : idle_thread;
}

static struct mm_address_space *address_space_of(struct thread *thread)
{
    return &(thread->attached ? thread->attached : thread->process)->space;
}

/* Frees what threads that have ended left behind; never the running thread's stack. */
static void reap_dead_threads_now(void)
{
    struct list_entry *entry;

    while ((entry = list_remove_head(&dead_threads)) != NULL) {
        struct thread *dead = CONTAINING_RECORD(entry, struct thread, queue_link);
        struct process *process = dead->process;
        KASSERT(dead->stack_pages != 0);    /* the boot thread never ends */
        MmDeleteKernelStack(dead->stack_base, dead->stack_pages);
        ExFreePoolWithTag(dead, TAG_THREAD);
        MmReturnNonPagedMemory(THREAD_CHARGE_PAGES);
        process_thread_reaped(process);
    }
}

/* The common case, on every switch, is that no thread has ended: no call for it. */
static inline void reap_dead_threads(void)
{
    if (!list_is_empty(&dead_threads))
        reap_dead_threads_now();
}

/* With interrupts off: runs next in place of the current thread. */
static void switch_to(struct thread *next)
{
    struct thread *previous = scheduler_running;

    next->state = THREAD_RUNNING;
    next->quantum = QUANTUM_TICKS;
    scheduler_need_reschedule = false;      /* a new quantum, whoever runs it */
    if (next == previous)
        return;
    scheduler_running = next;
    MmSwitchAddressSpace(address_space_of(next));
    arch_set_kernel_stack(next->stack_top);
    scheduler_statistics.switches++;
    arch_context_switch(&previous->saved_esp, next->saved_esp);
    reap_dead_threads();
}

void ke_thread_startup(void)
{
    reap_dead_threads();
    if (scheduler_running->start_routine) {
        cpu_enable_interrupts();
        scheduler_running->start_routine(scheduler_running->start_context);
        process_exit_current_thread();
    }
    /*
     * A user thread: trap_exit takes it to ring 3 with the frame on its stack -- unless its
     * process was terminated before it first ran.
     */
    if (scheduler_running->process->terminating)
        process_exit_current_thread();
}

ntstatus_t thread_create(struct process *process, void (*routine)(void *), void *context,
                         vaddr_t user_eip, vaddr_t user_esp, struct thread **result)
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
    thread->saved_esp = arch_prepare_thread_stack(thread->stack_top, user_eip, user_esp);
    list_init(&thread->sleep_link);

    uint32_t flags = cpu_save_disable_interrupts();
    thread->id = next_thread_id++;
    process_thread_created(process, thread);
    make_ready(thread);
    cpu_restore_interrupts(flags);
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
 * The idle thread: runs whatever becomes ready; otherwise zeroes a free page ahead of
 * need (NT's zero page thread), and with none left, halts until an interrupt.
 */
static void idle_loop(void *unused)
{
    (void)unused;
    for (;;) {
        cpu_disable_interrupts();
        if (!list_is_empty(&ready_queue)) {
            switch_to(pick_next());
            cpu_enable_interrupts();
        } else if (MmZeroPageAhead()) {
            cpu_enable_interrupts();
        } else {
            /* sti takes effect after the next instruction: no wake-up slips in between. */
            __asm__ volatile("sti; hlt" ::: "memory");
        }
    }
}

void scheduler_init(void)
{
    list_init(&ready_queue);
    list_init(&sleepers);
    list_init(&dead_threads);
    boot_thread.process = &system_process;
    boot_thread.state = THREAD_RUNNING;
    boot_thread.quantum = QUANTUM_TICKS;
    boot_thread.id = next_thread_id++;
    list_init(&boot_thread.sleep_link);
    process_thread_created(&system_process, &boot_thread);

    struct thread *idle;
    if (!NT_SUCCESS(thread_create(&system_process, idle_loop, NULL, 0, 0, &idle)))
        panic("cannot create the idle thread");
    uint32_t flags = cpu_save_disable_interrupts();
    list_remove(&idle->queue_link);
    idle_thread = idle;
    cpu_restore_interrupts(flags);
}

void scheduler_yield(void)
{
    uint32_t flags = cpu_save_disable_interrupts();

    if (!list_is_empty(&ready_queue)) {
        make_ready(scheduler_running);
        switch_to(pick_next());
    }
    cpu_restore_interrupts(flags);
}

ntstatus_t scheduler_wait(struct wait_queue *queue, uint64_t timeout_ticks)
{
    uint32_t flags = cpu_save_disable_interrupts();

    scheduler_running->state = THREAD_WAITING;
    scheduler_running->wait_status = STATUS_SUCCESS;
    list_insert_tail(&queue->threads, &scheduler_running->queue_link);
    if (timeout_ticks != WAIT_FOREVER) {
        scheduler_running->wake_tick = scheduler_ticks + timeout_ticks;
        list_insert_tail(&sleepers, &scheduler_running->sleep_link);
    }
    switch_to(pick_next());
    ntstatus_t status = scheduler_running->wait_status;
    cpu_restore_interrupts(flags);
    return status;
}

ntstatus_t scheduler_wait_user(struct wait_queue *queue, uint64_t timeout_ticks)
{
    uint32_t flags = cpu_save_disable_interrupts();
    ntstatus_t status = STATUS_PROCESS_IS_TERMINATING;

    if (!scheduler_running->process->terminating) {
        scheduler_running->user_wait = true;
        status = scheduler_wait(queue, timeout_ticks);
        scheduler_running->user_wait = false;
    }
    cpu_restore_interrupts(flags);
    return status;
}

/* With interrupts off: takes a waiting thread off its queue and makes it ready. */
static void release_waiter(struct thread *thread, ntstatus_t status)
{
    list_remove(&thread->queue_link);
    list_remove(&thread->sleep_link);
    thread->wait_status = status;
    make_ready(thread);
}

void scheduler_wake_all(struct wait_queue *queue, ntstatus_t status)
{
    uint32_t flags = cpu_save_disable_interrupts();

    while (!list_is_empty(&queue->threads))
        release_waiter(CONTAINING_RECORD(queue->threads.next, struct thread, queue_link), status);
    cpu_restore_interrupts(flags);
}

void scheduler_wake_thread(struct thread *thread, ntstatus_t status)
{
    uint32_t flags = cpu_save_disable_interrupts();
    if (thread->state == THREAD_WAITING)
        release_waiter(thread, status);
    cpu_restore_interrupts(flags);
}

void scheduler_tick(void)
{
    scheduler_ticks++;
    shared_data_update_time(scheduler_ticks);
    for (struct list_entry *e = sleepers.next; e != &sleepers;) {
        struct thread *thread = CONTAINING_RECORD(e, struct thread, sleep_link);
        e = e->next;
        if (thread->wake_tick <= scheduler_ticks)
            release_waiter(thread, STATUS_TIMEOUT);
    }
    /* The idle thread has no quantum: it looks at the ready queue itself. */
    if (scheduler_running != idle_thread && scheduler_running->quantum &&
        --scheduler_running->quantum == 0)
        scheduler_need_reschedule = true;
}

void scheduler_preempt_now(void)
{
    scheduler_need_reschedule = false;
    if (list_is_empty(&ready_queue)) {
        scheduler_running->quantum = QUANTUM_TICKS;     /* nobody else: a new quantum */
        return;
    }
    scheduler_statistics.preemptions++;
    make_ready(scheduler_running);
    switch_to(pick_next());
}

NORETURN void scheduler_exit_thread(void)
{
    cpu_disable_interrupts();
    scheduler_running->state = THREAD_TERMINATED;
    list_insert_tail(&dead_threads, &scheduler_running->queue_link);
    switch_to(pick_next());
    panic("a terminated thread ran again");
}
