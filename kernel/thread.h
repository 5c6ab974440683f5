#pragma once
/*
 * Threads and the scheduler. The kernel itself is not preempted: a thread in kernel
 * mode runs until it blocks or yields; the timer only marks that the running thread's
 * quantum is over, and the switch happens on its way back to user mode. So kernel data
 * needs protection only from interrupt handlers (interrupts off), never from other
 * threads.
 */
#include "lib/list.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

struct process;
struct trap_frame;

enum thread_state {
    THREAD_READY,
    THREAD_RUNNING,
    THREAD_WAITING,
    THREAD_TERMINATED,
};

/* Threads waiting for something; scheduler_wake_all releases them. */
struct wait_queue {
    struct list_entry threads;
};

struct thread {
    uint32_t saved_esp;             /* while switched out: its switch frame */
    vaddr_t stack_base;             /* lowest byte of the kernel stack (guard page below) */
    vaddr_t stack_top;
    uint32_t stack_pages;           /* 0 for the boot thread, whose stack is in the image */
    struct process *process;
    struct process *attached;       /* an address space borrowed with process_attach */
    vaddr_t user_stack;             /* a stack NtCreateThread made, freed when the thread ends */
    ntstatus_t exit_status;         /* NtTerminateThread's: the process's if it is the last */
    enum thread_state state;
    uint32_t id;
    uint32_t quantum;               /* ticks left */
    bool in_exception_dispatcher;   /* an exception delivered, not yet answered (NtContinue) */
    bool user_wait;                 /* waiting for a user-mode call: termination ends it */
    struct list_entry queue_link;   /* the ready queue, a wait queue, or the dead list */
    struct list_entry process_link; /* the process's threads */
    struct list_entry sleep_link;   /* waiting with a timeout */
    uint64_t wake_tick;
    ntstatus_t wait_status;
    void (*start_routine)(void *context);   /* a kernel thread's work */
    void *start_context;
};

#define WAIT_FOREVER UINT64_MAX

extern volatile uint64_t scheduler_ticks;

struct scheduler_statistics {
    uint64_t switches;
    uint64_t preemptions;
};
extern struct scheduler_statistics scheduler_statistics;

/* Makes the boot code the first thread of the system process and starts the idle thread. */
void scheduler_init(void);

/* The running thread; set only by the scheduler. */
extern struct thread *scheduler_running;
/* The running thread's quantum is over: switch on the way back to user mode. */
extern bool scheduler_need_reschedule;

static inline struct thread *thread_current(void)
{
    return scheduler_running;
}

/*
 * A new thread of process, ready to run: a kernel thread running routine(context), or
 * (routine NULL) a user thread entering ring 3 at user_eip with ESP user_esp.
 */
ntstatus_t thread_create(struct process *process, void (*routine)(void *), void *context,
                         vaddr_t user_eip, vaddr_t user_esp, struct thread **thread);

/* Lets another ready thread run, if there is one. */
void scheduler_yield(void);

/*
 * Blocks the current thread on queue until scheduler_wake_all or, after timeout ticks,
 * the clock; returns the waker's status or STATUS_TIMEOUT.
 */
ntstatus_t scheduler_wait(struct wait_queue *queue, uint64_t timeout_ticks);
/*
 * The same for a user-mode call (NT's UserMode wait): a thread whose process is being
 * terminated does not begin one (STATUS_PROCESS_IS_TERMINATING), and process_terminate
 * ends one under way.
 */
ntstatus_t scheduler_wait_user(struct wait_queue *queue, uint64_t timeout_ticks);
void scheduler_wake_all(struct wait_queue *queue, ntstatus_t status);
/* Wakes thread with status if it is waiting; otherwise does nothing. */
void scheduler_wake_thread(struct thread *thread, ntstatus_t status);
void wait_queue_init(struct wait_queue *queue);

/* The timer interrupt's part: time, sleepers, quanta. */
void scheduler_tick(void);

/* On the way back to user mode, once the quantum has run out: switches if anyone waits. */
void scheduler_preempt_now(void);

/* Ends the current thread; the next thread to run frees its stack. */
NORETURN void scheduler_exit_thread(void);

/* Called once by every new thread, on its own stack (see arch/switch.S). */
void ke_thread_startup(void);
