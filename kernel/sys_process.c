/* The process services: start, open, wait, query, terminate, close, yield. */
#include "arch/pit.h"
#include "arch/layout.h"
#include "kernel/loader.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"

#define MODULE_NAME_MAX 128
#define COMMAND_LINE_MAX 1024

ntstatus_t NtTerminateProcess(const uint32_t *arguments)
{
    struct process *process;
    ntstatus_t status = process_reference_by_handle(arguments[0], PROCESS_TERMINATE, &process);

    if (!NT_SUCCESS(status))
        return status;
    bool self = process == process_current();
    if (self)
        object_dereference(&process->header);   /* the current process stays alive */
    process_terminate(process, (ntstatus_t)arguments[1]);
    object_dereference(&process->header);
    return STATUS_SUCCESS;
}

ntstatus_t NtYieldExecution(const uint32_t *arguments)
{
    (void)arguments;
    scheduler_yield();
    return STATUS_SUCCESS;
}

ntstatus_t NtCreateProcessFromModule(const uint32_t *arguments)
{
    vaddr_t handle_out = arguments[0];
    char name[MODULE_NAME_MAX], command_line[COMMAND_LINE_MAX];
    size_t name_length, command_line_length = 0;
    struct process *child;

    ntstatus_t status = user_probe(handle_out, sizeof(nt_handle_t));
    if (NT_SUCCESS(status))
        status = syscall_capture_string(arguments[1], name, sizeof(name), &name_length);
    if (NT_SUCCESS(status) && arguments[2])
        status = syscall_capture_string(arguments[2], command_line, sizeof(command_line),
                                        &command_line_length);
    if (!NT_SUCCESS(status))
        return status;
    status = loader_start_module(name, name_length, command_line, command_line_length, &child);
    if (!NT_SUCCESS(status))
        return status;
    return handle_insert_for_user(&process_current()->handles, &child->header,
                                  PROCESS_ALL_ACCESS, handle_out);
}

/* A relative NT timeout (negative, 100 ns units) in ticks; NULL means forever. */
static ntstatus_t capture_timeout(vaddr_t timeout, uint64_t *ticks)
{
    int64_t value;

    if (!timeout) {
        *ticks = WAIT_FOREVER;
        return STATUS_SUCCESS;
    }
    ntstatus_t status = user_copy_from(&value, timeout, sizeof(value));
    if (!NT_SUCCESS(status))
        return status;
    if (value > 0)
        return STATUS_INVALID_PARAMETER;    /* absolute times are not supported */
    uint64_t hundred_ns = 0 - (uint64_t)value;  /* well defined even for INT64_MIN */
    *ticks = (hundred_ns + 10000000 / PIT_HZ - 1) / (10000000 / PIT_HZ);
    return STATUS_SUCCESS;
}

ntstatus_t NtWaitForSingleObject(const uint32_t *arguments)
{
    struct process *process;
    uint64_t ticks;
    ntstatus_t status = capture_timeout(arguments[2], &ticks);

    if (!NT_SUCCESS(status))
        return status;
    /* arguments[1], Alertable: unused */
    status = process_reference_by_handle(arguments[0], SYNCHRONIZE, &process);
    if (!NT_SUCCESS(status))
        return status;
    if (process == process_current())
        status = STATUS_INVALID_PARAMETER;  /* it would wait for itself forever */
    else
        status = process_wait(process, ticks);
    object_dereference(&process->header);
    return status;
}

ntstatus_t NtQueryInformationProcess(const uint32_t *arguments)
{
    uint32_t class = arguments[1], length = arguments[3];
    vaddr_t buffer = arguments[2], return_length = arguments[4];
    union {
        struct nt_process_basic_information basic;
        struct nt_process_exception_information exception;
        struct nt_quota_limits quota;
    } info = {0};
    uint32_t size;
    struct process *process;

    ntstatus_t status = syscall_probe_information(buffer, length, return_length);
    if (!NT_SUCCESS(status))
        return status;
    if (class == NT_PROCESS_EXECUTE_FLAGS) {
        /* Any process's, with PROCESS_QUERY_INFORMATION, as GetProcessDEPPolicy asks it. */
        uint32_t flags;
        if (length != sizeof(flags))
            return STATUS_INFO_LENGTH_MISMATCH;
        status = process_reference_by_handle(arguments[0], PROCESS_QUERY_INFORMATION, &process);
        if (!NT_SUCCESS(status))
            return status;
        flags = process->execute_flags;
        object_dereference(&process->header);
        return syscall_return_information(buffer, &flags, sizeof(flags), return_length);
    }
    if (class == NT_PROCESS_BASIC_INFORMATION)
        size = sizeof(info.basic);
    else if (class == NT_PROCESS_EXCEPTION_INFORMATION)
        size = sizeof(info.exception);
    else if (class == NT_PROCESS_QUOTA_LIMITS)
        size = sizeof(info.quota);
    else
        return STATUS_INVALID_INFO_CLASS;
    if (length != size)
        return STATUS_INFO_LENGTH_MISMATCH;
    /* Each class here needs no more than the limited right, as on Windows since Vista. */
    status = process_reference_by_handle(arguments[0], PROCESS_QUERY_LIMITED_INFORMATION,
                                         &process);
    if (!NT_SUCCESS(status))
        return status;
    if (class == NT_PROCESS_BASIC_INFORMATION) {
        info.basic.exit_status = process->exit_status;
        info.basic.affinity_mask = process->affinity & KeActiveProcessors;
        info.basic.base_priority = 8;
        info.basic.unique_process_id = process->id;
        info.basic.inherited_from_unique_process_id = process->parent_id;
    } else if (class == NT_PROCESS_QUOTA_LIMITS) {
        info.quota.minimum_working_set_size = process->space.working_set.minimum * PAGE_SIZE;
        info.quota.maximum_working_set_size = process->space.working_set.maximum * PAGE_SIZE;
    } else {
        info.exception = process->exception;
    }
    object_dereference(&process->header);
    return syscall_return_information(buffer, &info, size, return_length);
}

ntstatus_t NtSetInformationProcess(const uint32_t *arguments)
{
    uint32_t class = arguments[1], length = arguments[3];
    struct nt_quota_limits quota;
    struct process *process;
    bool attached;

    if (class == NT_PROCESS_EXECUTE_FLAGS) {
        uint32_t flags;
        /* A process changes its own setting only, as on Windows (SetProcessDEPPolicy). */
        if (length != sizeof(flags))
            return STATUS_INFO_LENGTH_MISMATCH;
        if (arguments[0] != NT_CURRENT_PROCESS)
            return STATUS_INVALID_PARAMETER;
        ntstatus_t status = user_copy_from(&flags, arguments[2], sizeof(flags));
        return NT_SUCCESS(status) ? process_set_execute_flags(flags) : status;
    }
    if (class == NT_PROCESS_AFFINITY_MASK) {
        /*
         * SetProcessAffinityMask's: some of the running processors and no other, with
         * PROCESS_SET_INFORMATION; every thread of the process moves to them at once.
         */
        uint32_t mask;
        if (length != sizeof(mask))
            return STATUS_INFO_LENGTH_MISMATCH;
        ntstatus_t status = user_copy_from(&mask, arguments[2], sizeof(mask));
        if (!NT_SUCCESS(status))
            return status;
        if (mask == 0 || (mask & ~KeActiveProcessors))
            return STATUS_INVALID_PARAMETER;
        status = process_reference_by_handle(arguments[0], PROCESS_SET_INFORMATION, &process);
        if (!NT_SUCCESS(status))
            return status;
        if (process == &system_process)
            status = STATUS_ACCESS_DENIED;      /* its threads are the kernel's */
        else
            process_set_affinity(process, mask);
        object_dereference(&process->header);
        return status;
    }
    if (class != NT_PROCESS_QUOTA_LIMITS)
        return STATUS_INVALID_INFO_CLASS;
    if (length != sizeof(quota))
        return STATUS_INFO_LENGTH_MISMATCH;
    ntstatus_t status = user_copy_from(&quota, arguments[2], sizeof(quota));
    if (!NT_SUCCESS(status))
        return status;
    status = process_enter(arguments[0], PROCESS_SET_QUOTA, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmAdjustWorkingSetSize(quota.minimum_working_set_size,
                                    quota.maximum_working_set_size);
    process_leave(process, attached);
    return status;
}

ntstatus_t NtClose(const uint32_t *arguments)
{
    return handle_close(&process_current()->handles, arguments[0]);
}

ntstatus_t NtTestAlert(const uint32_t *arguments)
{
    (void)arguments;
    return STATUS_SUCCESS;      /* no APCs here: nothing to deliver */
}

ntstatus_t NtCreateThread(const uint32_t *arguments)
{
    vaddr_t start = arguments[0], stack_base, stack_top;
    uint32_t frame[2] = {0, arguments[1]};  /* return address 0, then the argument */

    if (start == 0 || !NT_SUCCESS(user_probe(start, 1)))
        return STATUS_INVALID_PARAMETER;
    ntstatus_t status = MmCreateUserStack(PAGE_SIZE, &stack_base, &stack_top);
    if (!NT_SUCCESS(status))
        return status;
    status = user_copy_to(stack_top - sizeof(frame), frame, sizeof(frame));
    if (NT_SUCCESS(status))
        status = thread_create(process_current(), NULL, NULL, start,
                               stack_top - sizeof(frame), stack_base, false, NULL);
    if (!NT_SUCCESS(status))
        MmDeleteUserStack(stack_base);
    return status;
}

ntstatus_t NtTerminateThread(const uint32_t *arguments)
{
    if (arguments[0] != NT_CURRENT_THREAD)
        return STATUS_INVALID_HANDLE;   /* threads have no handles here */
    thread_current()->exit_status = (ntstatus_t)arguments[1];
    process_exit_current_thread();
}

ntstatus_t NtDelayExecution(const uint32_t *arguments)
{
    struct wait_queue nobody;
    uint64_t ticks;
    ntstatus_t status = capture_timeout(arguments[1], &ticks);

    if (!NT_SUCCESS(status))
        return status;
    if (ticks == WAIT_FOREVER)
        return STATUS_INVALID_PARAMETER;    /* the interval is not optional */
    wait_queue_init(&nobody);
    status = scheduler_wait_user(&nobody, ticks, NULL);
    return status == STATUS_TIMEOUT ? STATUS_SUCCESS : status;
}

/* An open that failed once its handle pointer was probed: the handle reads 0, as on Windows. */
static ntstatus_t fail_open(vaddr_t handle_out, ntstatus_t status)
{
    nt_handle_t none = 0;

    user_copy_to(handle_out, &none, sizeof(none));
    return status;
}

/*
 * NtOpenProcess, by process id: ObjectAttributes must be readable (it is not optional)
 * and name nothing when a ClientId is given, and one of the two must say which process
 * (else STATUS_INVALID_PARAMETER_MIX). There is no object namespace, so a name finds
 * nothing, and no thread is opened by id. The new handle gets the access asked for.
 */
ntstatus_t NtOpenProcess(const uint32_t *arguments)
{
    vaddr_t handle_out = arguments[0], attributes_in = arguments[2], client_id_in = arguments[3];
    struct nt_object_attributes attributes;
    struct nt_client_id client_id = {0};
    struct process *process;
    uint32_t access;

    ntstatus_t status = syscall_probe_for_write(handle_out);
    if (NT_SUCCESS(status) && client_id_in)
        status = user_copy_from(&client_id, client_id_in, sizeof(client_id));
    if (NT_SUCCESS(status))
        status = user_copy_from(&attributes, attributes_in, sizeof(attributes));
    if (!NT_SUCCESS(status))
        return status;
    if (client_id_in && attributes.object_name)
        return STATUS_INVALID_PARAMETER_MIX;
    if (attributes.object_name)
        return STATUS_OBJECT_NAME_NOT_FOUND;    /* no namespace to find it in */
    if (!client_id_in)
        return STATUS_INVALID_PARAMETER_MIX;
    status = client_id.unique_thread ? STATUS_INVALID_CID
                                     : process_lookup_by_id(client_id.unique_process, &process);
    if (!NT_SUCCESS(status))
        return fail_open(handle_out, status);
    status = process_grant_access(process, arguments[1], &access);
    if (NT_SUCCESS(status) && access == 0)
        status = STATUS_ACCESS_DENIED;      /* an open must ask for something */
    if (!NT_SUCCESS(status)) {
        object_dereference(&process->header);
        return fail_open(handle_out, status);
    }
    return handle_insert_for_user(&process_current()->handles, &process->header, access,
                                  handle_out);
}
