#pragma once
/*
 * Processes: an address space, a handle table and threads. A process ends when its last
 * thread does (or when it is terminated); its address space is freed then, and the
 * process object itself when the last handle to it is closed.
 */
#include "lib/list.h"
#include "lib/ntabi.h"
#include "kernel/object.h"
#include "kernel/thread.h"
#include "mm/mm.h"

#define PROCESS_NAME_MAX 32

struct process {
    struct object_header header;    /* first: a process is an object */
    uint32_t id;
    uint32_t parent_id;
    char name[PROCESS_NAME_MAX];
    struct mm_address_space space;
    struct handle_table handles;
    struct list_entry threads;
    uint32_t thread_count;          /* threads not yet reaped */
    bool terminating;               /* no thread of it returns to user mode again */
    bool exited;                    /* all its threads have ended */
    bool space_deleted;             /* it is over: its waiters wait for this (process_wait) */
    ntstatus_t exit_status;         /* STATUS_PENDING until it exits */
    uint32_t execute_flags;         /* MEM_EXECUTE_OPTION_*: its no-execute (DEP) setting */
    uint32_t affinity;              /* the processors its threads may run on; new ones inherit it */
    struct nt_process_exception_information exception;
    vaddr_t exception_dispatcher;   /* NtSetExceptionHandler's, or 0 */
    struct wait_queue exit_waiters;
    struct list_entry link;         /* on the list of processes, for lookups by id */
};

/* The kernel's own process (PID 4): the boot thread, the idle thread, kernel threads. */
extern struct process system_process;

void process_init(void);

/*
 * An empty process (an address space with KUSER_SHARED_DATA, no thread yet); the
 * caller gets one reference.
 */
ntstatus_t process_create(const char *name, bool large_address_aware, struct process **result);

/*
 * Limits every thread of process, and those it will have, to the processors in affinity
 * (some of them running); NT's KeSetAffinityProcess.
 */
void process_set_affinity(struct process *process, uint32_t affinity);

/* Lets the threads of process that were created suspended run. */
void process_resume(struct process *process);

/* Undoes process_create for a process that never got a thread. */
void process_discard(struct process *process);

/*
 * Ends every thread of process with status: each running, ready or waiting thread ends
 * on its way back to user mode, a waiting one woken for it; the current thread does not
 * come back if it belongs to it. Terminating a process that is ending already changes
 * nothing else.
 */
void process_terminate(struct process *process, ntstatus_t status);

/*
 * Gives process (a new one, attached to) the no-execute setting the boot's policy gives
 * an image that is, or is not, marked NX-compatible.
 */
void process_apply_execute_policy(struct process *process, bool nx_compat);

/*
 * NtSetInformationProcess(ProcessExecuteFlags) for the current process: MEM_EXECUTE_OPTION_*
 * bits, kept as given; no-execute is on exactly when _DISABLE is among them, _PERMANENT
 * makes the setting final.
 */
ntstatus_t process_set_execute_flags(uint32_t flags);

/*
 * Records why the current process faulted (access: EXCEPTION_*_FAULT), prints it, and
 * terminates the process with the exception's status; does not return.
 */
NORETURN void process_raise_fatal_exception(ntstatus_t status, vaddr_t eip, bool has_address,
                                            uint32_t access, vaddr_t address);

/* Waits until process has exited, or for timeout ticks (WAIT_FOREVER for no limit). */
ntstatus_t process_wait(struct process *process, uint64_t timeout_ticks);

/*
 * For a service acting on the memory of the process behind handle, which must grant
 * access: references it into *process and attaches to it unless it is the current one;
 * process_leave undoes both. An ending or ended process has no address space left to act
 * on (its page directory may be freed already): STATUS_PROCESS_IS_TERMINATING, and
 * nothing is held.
 */
ntstatus_t process_enter(nt_handle_t handle, uint32_t access, struct process **process,
                         bool *attached);
void process_leave(struct process *process, bool attached);

/* Runs the current thread in process's address space until process_detach. */
void process_attach(struct process *process);
void process_detach(void);

struct process *process_current(void);

/*
 * The process behind a handle of the current process, referenced, if the handle grants
 * every right in access (STATUS_ACCESS_DENIED otherwise). NT_CURRENT_PROCESS grants
 * PROCESS_ALL_ACCESS.
 */
ntstatus_t process_reference_by_handle(nt_handle_t handle, uint32_t access,
                                       struct process **process);

/*
 * The process whose id is id (its low two bits ignored, as in NT's client-id table),
 * referenced, while its object lives: an ended process is found as long as a handle
 * holds it. STATUS_INVALID_CID when there is none.
 */
ntstatus_t process_lookup_by_id(uint32_t id, struct process **process);

/*
 * The access a new handle to process gets for desired (object_grant_access, then
 * MAXIMUM_ALLOWED as all the process allows). Any process allows every right but the
 * System process, which, protected on Windows, may only be waited for and queried:
 * more is STATUS_ACCESS_DENIED.
 */
ntstatus_t process_grant_access(const struct process *process, uint32_t desired,
                                uint32_t *granted);

/* The scheduler's hooks: a thread joined the process; one was freed; the current one ends. */
void process_thread_created(struct process *process, struct thread *thread);
void process_thread_reaped(struct process *process);
NORETURN void process_exit_current_thread(void);

/*
 * On the way back to user mode (a hot path: inline): a thread of a terminating process
 * ends here -- checked last, since its process may have been terminated while it waited
 * to run. An ended quantum needs no look here: the clock's DISPATCH_LEVEL interrupt ends
 * it as soon as the IRQL falls below DISPATCH_LEVEL, in kernel mode as in user mode.
 */
static inline void process_return_to_user(void)
{
    if (thread_current()->process->terminating)
        process_exit_current_thread();
}
