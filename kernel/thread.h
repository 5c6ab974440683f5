#pragma once
/*
 * Threads and the scheduler (NT's dispatcher). The dispatcher's state -- the ready
 * queue, the waiters and their timeouts, each thread's state -- is guarded by the
 * dispatcher lock (KiAcquireDispatcherLock: DISPATCH_LEVEL, the last lock in the order);
 * threads switch only at DISPATCH_LEVEL, in the dispatcher. The clock interrupt touches
 * none of it: it requests a DISPATCH_LEVEL software interrupt, which expires timeouts and
 * ends quanta once the IRQL falls below DISPATCH_LEVEL.
 */
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/kthread.h"
#include "arch/trap.h"
#include "arch/lockcheck.h"
#include "ke/mutex.h"
#include "lib/list.h"
#include "lib/ntstatus.h"
#include <stddef.h>
#include "lib/types.h"

struct process;
struct trap_frame;

enum thread_state {
    THREAD_READY,
    THREAD_RUNNING,
    THREAD_WAITING,
    THREAD_TERMINATED,
};


struct thread {
    struct kthread arch;            /* first: the processor's current thread reaches it */
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
    bool suspended;                 /* created suspended, not yet resumed (a user wait too) */
    bool idle;                      /* a processor's idle thread: never on the ready queue */
    uint32_t affinity;              /* the processors it may run on (their set_member bits) */
    uint8_t processor;              /* the one it runs or last ran on */
    struct list_entry queue_link;   /* the ready queue, a wait queue, or the dead list */
    struct list_entry process_link; /* the process's threads */
    struct list_entry sleep_link;   /* waiting with a timeout */
    uint64_t wake_tick;
    ntstatus_t wait_status;
    void (*start_routine)(void *context);   /* a kernel thread's work */
    void *start_context;
};

_Static_assert(offsetof(struct thread, arch) == 0, "arch/kthread.h: the arch part comes first");


extern volatile uint64_t scheduler_ticks;

/* The processors' statistics summed (arch/pcr.h). */
struct kprcb_statistics scheduler_statistics(void);

/*
 * Gives the boot code a thread block of its own (its fault record, its held locks), so
 * that whatever runs before the scheduler has a thread to account to. Called first.
 */
void scheduler_adopt_boot_code(void);
/* Makes the boot code the first thread of the system process and starts the idle thread. */
void scheduler_init(void);

static inline struct thread *thread_current(void)
{
    return KeGetCurrentThread();
}

/*
 * A new thread of process, ready to run (or, suspended, held until process_resume or its
 * process's termination): a kernel thread running routine(context), or (routine NULL) a
 * user thread entering ring 3 at user_eip with ESP user_esp, on the user stack made for
 * it at user_stack (freed when it ends; 0 for none).
 */
ntstatus_t thread_create(struct process *process, void (*routine)(void *), void *context,
                         vaddr_t user_eip, vaddr_t user_esp, vaddr_t user_stack,
                         bool suspended, struct thread **thread);
/* Lets a thread created suspended run; does nothing to any other. Dispatcher lock held. */
void KiResumeThreadLocked(struct thread *thread);

/*
 * An application processor's idle thread, with its stack, not yet running: the
 * processor starts on that stack (arch/processors.c). NULL when out of memory.
 */
struct thread *KiCreateIdleThread(void);
/*
 * The last step of an application processor's start, on its idle thread at
 * DISPATCH_LEVEL: from here it runs the ready threads like any other.
 */
NORETURN void KiIdleProcessor(void);

/*
 * Limits the current thread to the processors in affinity (some of them running),
 * moving it at once if this one is not among them; returns the limit it had (NT's
 * KeSetSystemAffinityThread). KE_ALL_PROCESSORS lifts it.
 */
uint32_t KeSetAffinityThread(uint32_t affinity);
/* The same for any thread: one running where it may no longer run gives that processor up. */
void KeSetThreadAffinity(struct thread *thread, uint32_t affinity);
/* KeSetThreadAffinity with the dispatcher lock held (the current thread may switch away). */
void KiSetAffinityThreadLocked(struct thread *thread, uint32_t affinity);

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
 * ends one under way. A wait for something that done says has happened (tested under
 * the dispatcher lock) returns STATUS_SUCCESS at once; with done, a timeout of 0 only tests it.
 */
ntstatus_t scheduler_wait_user(struct wait_queue *queue, uint64_t timeout_ticks,
                               const volatile bool *done);
/*
 * Wakes every thread waiting on queue with status; with done, sets *done first, in the
 * same step: a waiter that passes done to scheduler_wait_user then never misses it.
 */
void scheduler_wake_all(struct wait_queue *queue, ntstatus_t status, volatile bool *done);

/* The dispatcher lock, for the process code that changes a process's thread list. */
KIRQL KiAcquireDispatcherLock(void);
void KiReleaseDispatcherLock(KIRQL old);
/* scheduler_wake_thread with the dispatcher lock held. */
void KiWakeThreadLocked(struct thread *thread, ntstatus_t status);
/* Wakes thread with status if it is waiting; otherwise does nothing. */
void scheduler_wake_thread(struct thread *thread, ntstatus_t status);
void wait_queue_init(struct wait_queue *queue);

/* The timer interrupt's part: time, sleepers, quanta. */
void scheduler_tick(void);


/*
 * At PASSIVE_LEVEL: returns once every thread that has ended is freed, with what it let
 * go of (its process too, when it was the last): the books tests keep are then settled,
 * whichever processor did the freeing.
 */
void KeWaitForEndedThreads(void);

/* Ends the current thread; the next thread to run frees its stack. */
NORETURN void scheduler_exit_thread(void);

/* Called once by every new thread, on its own stack (see arch/switch.S). */
void ke_thread_startup(void);
