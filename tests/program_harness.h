#pragma once
/*
 * What the suites that run user-mode programs share: starting a program from its boot
 * module and waiting for it, and checking that everything it had came back.
 */
#include "kernel/process.h"
#include "mm/pool.h"
#include "tests/ktest.h"

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
