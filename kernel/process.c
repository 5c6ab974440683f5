#include "arch/cpu.h"
#include "arch/spinlock.h"
#include "boot/paging_mode.h"
#include "lib/console.h"
#include "lib/panic.h"
#include "kernel/process.h"
#include "lib/string.h"
#include "mm/pool.h"

#define TAG_PROCESS 0x636f7250  /* 'Proc' */
#define SYSTEM_PROCESS_ID 4

struct process system_process;
static uint32_t next_process_id = SYSTEM_PROCESS_ID + 4;
/* Every process whose object lives; walked and changed with interrupts off, as references are. */
/* Every process (system_process first); PspProcessListLock, a spinlock, guards it. */
static struct lock_class process_list_lock_class = LOCK_CLASS_SPIN("process list");
static struct kspin_lock process_list_lock = KSPIN_LOCK_INIT(process_list_lock_class);
static struct list_entry process_list;

static void process_destroy(struct object_header *object)
{
    struct process *process = (struct process *)object;

    KASSERT(process != &system_process && process->space_deleted);
    KIRQL old = KeAcquireSpinLock(&process_list_lock);
    list_remove(&process->link);
    KeReleaseSpinLock(&process_list_lock, old);
    ExFreePoolWithTag(process, TAG_PROCESS);
}

/* Puts a new process on the list of processes. */
static void process_list_insert(struct process *process)
{
    KIRQL old = KeAcquireSpinLock(&process_list_lock);
    list_insert_tail(&process_list, &process->link);
    KeReleaseSpinLock(&process_list_lock, old);
}

void process_init(void)
{
    system_process.header = (struct object_header){OBJECT_PROCESS, 1, process_destroy};
    system_process.id = SYSTEM_PROCESS_ID;
    system_process.affinity = KE_ALL_PROCESSORS;
    strlcpy(system_process.name, "System", sizeof(system_process.name));
    MmAdoptSystemAddressSpace(&system_process.space);
    system_process.exit_status = STATUS_PENDING;
    list_init(&system_process.threads);
    handle_table_init(&system_process.handles);
    wait_queue_init(&system_process.exit_waiters);
    list_init(&process_list);
    process_list_insert(&system_process);
}

struct process *process_current(void)
{
    return thread_current()->process;
}

ntstatus_t process_reference_by_handle(nt_handle_t handle, uint32_t access,
                                       struct process **process)
{
    if (handle == NT_CURRENT_PROCESS) {
        if (access & ~PROCESS_ALL_ACCESS)
            return STATUS_ACCESS_DENIED;
        *process = process_current();
        object_reference(&(*process)->header);
        return STATUS_SUCCESS;
    }
    return handle_reference(&process_current()->handles, handle, OBJECT_PROCESS, access,
                            (struct object_header **)process);
}

ntstatus_t process_lookup_by_id(uint32_t id, struct process **process)
{
    ntstatus_t status = STATUS_INVALID_CID;
    KIRQL old = KeAcquireSpinLock(&process_list_lock);

    for (struct list_entry *e = process_list.next; e != &process_list; e = e->next) {
        struct process *candidate = CONTAINING_RECORD(e, struct process, link);
        if (candidate->id == (id & ~3u) && candidate->header.references > 0) {
            object_reference(&candidate->header);
            *process = candidate;
            status = STATUS_SUCCESS;
            break;
        }
    }
    KeReleaseSpinLock(&process_list_lock, old);
    return status;
}

ntstatus_t process_grant_access(const struct process *process, uint32_t desired,
                                uint32_t *granted)
{
    uint32_t limit = process == &system_process
                         ? SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION
                         : PROCESS_ALL_ACCESS;
    ntstatus_t status = object_grant_access(OBJECT_PROCESS, desired & ~MAXIMUM_ALLOWED,
                                            granted);

    if (!NT_SUCCESS(status))
        return status;
    if (*granted & ~limit)
        return STATUS_ACCESS_DENIED;
    if (desired & MAXIMUM_ALLOWED)
        *granted = limit;
    return STATUS_SUCCESS;
}

/*
 * The no-execute setting a new process starts with, from the boot's policy (Windows'
 * rules; NX off means AlwaysOff, boot/paging_mode.c): AlwaysOn and AlwaysOff for every
 * process, for good; OptIn refuses execution only to an image marked NX-compatible,
 * OptOut to every one; an NX-compatible image has it for good, as since Windows Vista.
 */
static uint32_t initial_execute_flags(bool nx_compat)
{
    uint32_t permanent = nx_compat ? MEM_EXECUTE_OPTION_PERMANENT : 0;

    switch (boot_paging_mode.policy) {
    case NX_POLICY_ALWAYS_ON:
        return MEM_EXECUTE_OPTION_DISABLE | MEM_EXECUTE_OPTION_PERMANENT;
    case NX_POLICY_ALWAYS_OFF:
        return MEM_EXECUTE_OPTION_ENABLE | MEM_EXECUTE_OPTION_PERMANENT;
    case NX_POLICY_OPT_OUT:
        return MEM_EXECUTE_OPTION_DISABLE | permanent;
    case NX_POLICY_OPT_IN:
    default:
        return nx_compat ? MEM_EXECUTE_OPTION_DISABLE | permanent : MEM_EXECUTE_OPTION_ENABLE;
    }
}

void process_apply_execute_policy(struct process *process, bool nx_compat)
{
    KASSERT(MmCurrentAddressSpace() == &process->space);
    process->execute_flags = initial_execute_flags(nx_compat);
    MmSetExecuteDisable(process->execute_flags & MEM_EXECUTE_OPTION_DISABLE);
}

ntstatus_t process_set_execute_flags(uint32_t flags)
{
    struct process *process = process_current();

    /* As NT's MmSetExecuteOptions: the flags are kept as given, bits outside them refused. */
    if (flags & ~MEM_EXECUTE_OPTION_VALID_FLAGS)
        return STATUS_INVALID_PARAMETER;
    /* A permanent setting, or a policy that is the same for all, is not the process's. */
    if ((process->execute_flags & MEM_EXECUTE_OPTION_PERMANENT) ||
        boot_paging_mode.policy == NX_POLICY_ALWAYS_ON ||
        boot_paging_mode.policy == NX_POLICY_ALWAYS_OFF)
        return STATUS_ACCESS_DENIED;
    process->execute_flags = flags;
    MmSetExecuteDisable(flags & MEM_EXECUTE_OPTION_DISABLE);
    return STATUS_SUCCESS;
}

ntstatus_t process_create(const char *name, bool large_address_aware, struct process **result)
{
    struct process *process = ExAllocatePoolWithTag(NonPagedPool, sizeof(*process), TAG_PROCESS);

    if (!process)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(process, 0, sizeof(*process));
    handle_table_init(&process->handles);
    ntstatus_t status = MmCreateAddressSpace(&process->space, large_address_aware);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(process, TAG_PROCESS);
        return status;
    }
    /* One reference for the caller, one held while the process has an address space. */
    process->header = (struct object_header){OBJECT_PROCESS, 2, process_destroy};
    process->id = __atomic_fetch_add(&next_process_id, 4, __ATOMIC_RELAXED);
    process->affinity = KE_ALL_PROCESSORS;
    process->parent_id = process_current()->id;
    strlcpy(process->name, name, sizeof(process->name));
    process->exit_status = STATUS_PENDING;
    list_init(&process->threads);
    wait_queue_init(&process->exit_waiters);
    process_list_insert(process);
    process_attach(process);
    process_apply_execute_policy(process, false);    /* before its first page: the shared data's */
    status = MmMapSharedUserData();
    process_detach();
    if (!NT_SUCCESS(status)) {
        process_discard(process);
        return status;
    }
    *result = process;
    return STATUS_SUCCESS;
}

void process_discard(struct process *process)
{
    KASSERT(process->thread_count == 0 && process != process_current());
    /*
     * Over before it began: nothing may attach to it or give it a handle from now on, and
     * any handle it was given (NtDuplicateObject) goes with it.
     */
    process->terminating = process->exited = true;
    handle_table_close_all(&process->handles);
    MmDeleteAddressSpace(&process->space);
    scheduler_wake_all(&process->exit_waiters, STATUS_SUCCESS, &process->space_deleted);
    object_dereference(&process->header);   /* the address space's reference */
    object_dereference(&process->header);   /* the creator's */
}

void process_thread_created(struct process *process, struct thread *thread)
{
    list_insert_tail(&process->threads, &thread->process_link);
    process->thread_count++;
}

/*
 * The last thread is ending: the process has its exit status and lets its handles go.
 * Its waiters are woken once the thread is reaped (process_thread_reaped).
 */
static void process_finish(struct process *process)
{
    process->exited = true;
    if (process->exit_status == STATUS_PENDING)
        process->exit_status = STATUS_SUCCESS;
    handle_table_close_all(&process->handles);
}

NORETURN void process_exit_current_thread(void)
{
    struct thread *thread = thread_current();
    struct process *process = thread->process;

    KASSERT(process != &system_process || thread->stack_pages != 0);
    /*
     * From the way back to user mode, interrupts are off: the ending takes spinlocks,
     * and a processor waiting for one must take the shootdown interrupts of the holder.
     */
    cpu_enable_interrupts();
    if (thread->attached)
        process_detach();
    if (thread->user_stack)
        MmDeleteUserStack(thread->user_stack);
    KIRQL old = KiAcquireDispatcherLock();
    list_remove(&thread->process_link);
    bool last = list_is_empty(&process->threads);
    KiReleaseDispatcherLock(old);
    if (last && process->exit_status == STATUS_PENDING)
        process->exit_status = thread->exit_status;
    if (last && process != &system_process)
        process_finish(process);
    scheduler_exit_thread();
}

/*
 * Runs on another thread's stack after a thread of process was freed: once the last
 * one is gone, nothing uses the address space any more and it can go. Only then is the
 * process over for those who wait for it: what it held is given back by then.
 */
void process_thread_reaped(struct process *process)
{
    if (__atomic_sub_fetch(&process->thread_count, 1, __ATOMIC_ACQ_REL) != 0 ||
        process == &system_process)
        return;
    MmDeleteAddressSpace(&process->space);
    scheduler_wake_all(&process->exit_waiters, STATUS_SUCCESS, &process->space_deleted);
    object_dereference(&process->header);
}

void process_set_affinity(struct process *process, uint32_t affinity)
{
    KASSERT(affinity & KeActiveProcessors);
    KIRQL old = KiAcquireDispatcherLock();
    process->affinity = affinity;
    for (struct list_entry *e = process->threads.next; e != &process->threads; e = e->next) {
        struct thread *thread = CONTAINING_RECORD(e, struct thread, process_link);
        if (!thread->idle)                      /* a processor's own, never moved */
            KiSetAffinityThreadLocked(thread, affinity);
    }
    KiReleaseDispatcherLock(old);
}

void process_resume(struct process *process)
{
    KIRQL old = KiAcquireDispatcherLock();

    for (struct list_entry *e = process->threads.next; e != &process->threads; e = e->next)
        KiResumeThreadLocked(CONTAINING_RECORD(e, struct thread, process_link));
    KiReleaseDispatcherLock(old);
}

void process_terminate(struct process *process, ntstatus_t status)
{
    if (process == &system_process)
        return;
    /*
     * The first caller's status is the process's: the test and the mark are one step
     * under the dispatcher lock, since the kernel may be preempted between two others.
     */
    KIRQL old = KiAcquireDispatcherLock();
    if (!process->terminating && !process->exited) {
        process->terminating = true;
        process->exit_status = status;
        /*
         * Its other threads are ready, or waiting in a user-mode call: each ends when it
         * next heads back to user mode (or first runs). Waiting ones are woken for that --
         * before the caller ends, if it is one of them, or they would wait on for good --
         * and none begins a new wait (scheduler_wait_user).
         */
        for (struct list_entry *e = process->threads.next; e != &process->threads;
             e = e->next) {
            struct thread *thread = CONTAINING_RECORD(e, struct thread, process_link);
            if (thread->user_wait)
                KiWakeThreadLocked(thread, STATUS_PROCESS_IS_TERMINATING);
        }
    }
    KiReleaseDispatcherLock(old);
    /* A second thread terminating its own process ends too, even when it was not first. */
    if (process == process_current())
        process_exit_current_thread();
}

static const char *status_name(ntstatus_t status)
{
    switch (status) {
    case STATUS_ACCESS_VIOLATION: return "STATUS_ACCESS_VIOLATION";
    case STATUS_STACK_OVERFLOW: return "STATUS_STACK_OVERFLOW";
    case STATUS_INTEGER_DIVIDE_BY_ZERO: return "STATUS_INTEGER_DIVIDE_BY_ZERO";
    case STATUS_ILLEGAL_INSTRUCTION: return "STATUS_ILLEGAL_INSTRUCTION";
    case STATUS_PRIVILEGED_INSTRUCTION: return "STATUS_PRIVILEGED_INSTRUCTION";
    case STATUS_BREAKPOINT: return "STATUS_BREAKPOINT";
    case STATUS_INTEGER_OVERFLOW: return "STATUS_INTEGER_OVERFLOW";
    case STATUS_ARRAY_BOUNDS_EXCEEDED: return "STATUS_ARRAY_BOUNDS_EXCEEDED";
    case STATUS_DATATYPE_MISALIGNMENT: return "STATUS_DATATYPE_MISALIGNMENT";
    case STATUS_GUARD_PAGE_VIOLATION: return "STATUS_GUARD_PAGE_VIOLATION";
    case STATUS_IN_PAGE_ERROR: return "STATUS_IN_PAGE_ERROR";
    default: return "exception";
    }
}

NORETURN void process_raise_fatal_exception(ntstatus_t status, vaddr_t eip, bool has_address,
                                            uint32_t access, vaddr_t address)
{
    struct process *process = process_current();

    process->exception = (struct nt_process_exception_information){
        status, eip, access, has_address ? address : 0};
    kprintf("process %s (%u): %s (0x%08X) at EIP 0x%08x", process->name, process->id,
            status_name(status), (uint32_t)status, eip);
    if (has_address)
        kprintf(", %s 0x%08x",
                access == EXCEPTION_WRITE_FAULT     ? "writing"
                : access == EXCEPTION_EXECUTE_FAULT ? "executing"
                                                    : "reading",
                address);
    kprintf("; process terminated\n");
    process_terminate(process, status);
    panic("process_terminate returned for the current process");
}

ntstatus_t process_wait(struct process *process, uint64_t timeout_ticks)
{
    return scheduler_wait_user(&process->exit_waiters, timeout_ticks, &process->space_deleted);
}

ntstatus_t process_enter(nt_handle_t handle, uint32_t access, struct process **process,
                         bool *attached)
{
    *attached = false;
    ntstatus_t status = process_reference_by_handle(handle, access, process);
    if (!NT_SUCCESS(status) || *process == process_current())
        return status;
    if ((*process)->terminating || (*process)->exited) {
        object_dereference(&(*process)->header);
        return STATUS_PROCESS_IS_TERMINATING;
    }
    process_attach(*process);
    *attached = true;
    return STATUS_SUCCESS;
}

void process_leave(struct process *process, bool attached)
{
    if (attached)
        process_detach();
    object_dereference(&process->header);
}

void process_attach(struct process *process)
{
    struct thread *thread = thread_current();

    KASSERT(thread->attached == NULL);
    KIRQL old = KiAcquireDispatcherLock();     /* no switch between the two */
    thread->attached = process;
    MmSwitchAddressSpace(&process->space);
    KiReleaseDispatcherLock(old);
}

void process_detach(void)
{
    struct thread *thread = thread_current();

    KASSERT(thread->attached != NULL);
    KIRQL old = KiAcquireDispatcherLock();
    thread->attached = NULL;
    MmSwitchAddressSpace(&thread->process->space);
    KiReleaseDispatcherLock(old);
}
