#pragma once
/*
 * What the suites that run user-mode programs share: starting a program from its boot
 * module and waiting for it, and checking that everything it had came back.
 */
#include "kernel/process.h"
#include "mm/pool.h"
#include "tests/ktest.h"
#include "tests/user/counter.h"

/* What must come back once the processes a case started have ended. */
struct resources {
    uint32_t available_pages;
    uint32_t system_page_tables;
    uint32_t pagefile_slots;
    uint32_t committed_pages;
    uint32_t free_system_ptes;
    uint32_t resident_available;    /* what kernel stacks and thread blocks may still take */
    struct pool_statistics pool;
};

void take_snapshot(struct resources *r);

/*
 * Every frame, pool block, system PTE, page of commit charge and resident page is back;
 * system page tables made meanwhile (system space is shared and keeps its tables) are the
 * only thing that may have moved.
 */
void expect_nothing_leaked(struct ktest *t, const struct resources *before);

/* True when the module is loaded; otherwise says so in a diagnostic. */
bool have_module(struct ktest *t, const char *name);

/* Starts "program arguments" from its module; the caller waits and dereferences. */
ntstatus_t start_program(const char *program, const char *arguments, struct process **process);
/* The same, its main thread held until process_resume (or its process's end). */
ntstatus_t start_program_suspended(const char *program, const char *arguments,
                                   struct process **process);

/*
 * Runs "program arguments" to its end: its exit status (and, if asked, how it faulted),
 * or the status that kept it from starting.
 */
ntstatus_t run_program(const char *program, const char *arguments,
                       struct nt_process_exception_information *exception);

/* One of several programs run_programs runs at once. */
struct program_run {
    const char *program;
    char arguments[48];
    ntstatus_t status;          /* set by run_programs: as run_program returns it */
    struct process *process;    /* run_programs' own, while the program runs */
};

/*
 * Starts all count programs, then waits until every one has ended; each run's status
 * is its exit status or the status that kept it from starting. Returns the number of
 * runs whose status is not STATUS_SUCCESS.
 */
unsigned run_programs(struct program_run *runs, unsigned count);

/*
 * counter.exe (tests/user/counter.c), running, its counting page locked in its working
 * set and mapped here read-only: a process that runs only when the processor is taken
 * from someone else, and shows how far it got.
 */
struct watched_counter {
    struct process *process;
    const volatile struct counter_page *page;
    paddr_t physical;
};

/* Starts counter.exe and waits until its page can be watched; false, with a check, if not. */
bool start_watched_counter(struct ktest *t, struct watched_counter *w);
/* Tells it to stop, waits for its end (exit status 0) and lets it go. */
void stop_watched_counter(struct ktest *t, struct watched_counter *w);

/*
 * Sleeps a clock tick at a time until done(context) says so, for at most max_ticks;
 * whether it did. Other threads (the ones a case waits for) run meanwhile.
 */
bool sleep_until(bool (*done)(void *context), void *context, unsigned max_ticks);

/* Threads of the system process not reaped yet (the kernel threads cases start). */
uint32_t kernel_threads_now(void);
/*
 * Yields until no more than count are left: a case's threads that said they were done
 * have ended and given back their stacks, so that the next case's books are not upset.
 */
void wait_for_kernel_threads(uint32_t count);

/* A kernel thread that counts as fast as it can: proof that a wait let others run. */
struct spinner {
    volatile bool stop;
    volatile uint32_t count;
    volatile bool done;
    uint32_t threads_before;    /* kernel_threads_now() before it started */
};

/* Starts spinner's thread (in the system process); false, with a check, if it cannot. */
bool start_spinner(struct ktest *t, struct spinner *spinner);
/* Stops it and waits until its thread has ended. */
void stop_spinner(struct spinner *spinner);
