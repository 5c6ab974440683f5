/* The object services: NtDuplicateObject (NtClose is with the process services). */
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"

/*
 * The object behind source_handle in source's table, referenced, with its access. As on
 * Windows the handle means what it means in the source process: NT_CURRENT_PROCESS is the
 * source process itself, with every right. A source that has ended has no handles left:
 * STATUS_PROCESS_IS_TERMINATING.
 */
static ntstatus_t reference_source(struct process *source, nt_handle_t source_handle,
                                   struct object_header **object, uint32_t *access)
{
    if (source->exited)
        return STATUS_PROCESS_IS_TERMINATING;
    if (source_handle == NT_CURRENT_PROCESS) {
        *object = &source->header;
        *access = PROCESS_ALL_ACCESS;
        object_reference(*object);
        return STATUS_SUCCESS;
    }
    return handle_lookup(&source->handles, source_handle, object, access);
}

/* The access the new handle gets: the source's, or what is asked for, mapped. */
static ntstatus_t duplicate_access(const struct object_header *object, uint32_t source_access,
                                   uint32_t desired, uint32_t options, uint32_t *granted)
{
    if (options & DUPLICATE_SAME_ACCESS) {
        *granted = source_access;
        return STATUS_SUCCESS;
    }
    if (object->type == OBJECT_PROCESS)
        return process_grant_access((const struct process *)object, desired, granted);
    return object_grant_access(object->type, desired, granted);
}

/* Makes a handle to object in target's table (one that has ended takes none). */
static ntstatus_t duplicate_into(struct process *target, struct object_header *object,
                                 uint32_t source_access, const uint32_t *arguments,
                                 nt_handle_t *handle)
{
    uint32_t granted;
    ntstatus_t status = duplicate_access(object, source_access, arguments[4], arguments[6],
                                         &granted);

    if (NT_SUCCESS(status) && target->exited)
        status = STATUS_PROCESS_IS_TERMINATING;
    if (NT_SUCCESS(status))
        status = handle_insert(&target->handles, object, granted, handle);
    return status;
}

/*
 * NtDuplicateObject(SourceProcess, SourceHandle, TargetProcess, TargetHandle, Access,
 * HandleAttributes, Options), as Windows: both process handles need PROCESS_DUP_HANDLE;
 * without a target process the call only closes the source (DUPLICATE_CLOSE_SOURCE);
 * DUPLICATE_CLOSE_SOURCE closes a real source handle whatever else fails, a target
 * process handle that is refused included. *TargetHandle, if given, receives the new
 * handle, or 0. HandleAttributes are not kept (nothing here inherits handles).
 */
ntstatus_t NtDuplicateObject(const uint32_t *arguments)
{
    nt_handle_t source_handle = arguments[1], handle = 0;
    vaddr_t target_out = arguments[3];
    struct process *source, *target = NULL;
    struct object_header *object;
    uint32_t access;

    ntstatus_t status = target_out ? syscall_probe_for_write(target_out) : STATUS_SUCCESS;
    if (!NT_SUCCESS(status))
        return status;
    if (target_out)
        user_copy_to(target_out, &handle, sizeof(handle));     /* 0 until there is one */
    status = process_reference_by_handle(arguments[0], PROCESS_DUP_HANDLE, &source);
    if (!NT_SUCCESS(status))
        return status;
    ntstatus_t target_status = STATUS_SUCCESS;
    if (arguments[2])
        target_status = process_reference_by_handle(arguments[2], PROCESS_DUP_HANDLE, &target);
    status = reference_source(source, source_handle, &object, &access);
    bool referenced = NT_SUCCESS(status);
    /* Without a target process, closing the source is all there is to do. */
    if (referenced && !arguments[2] && !(arguments[6] & DUPLICATE_CLOSE_SOURCE))
        status = STATUS_INVALID_PARAMETER;
    /* Closed first, so that a duplicate into the same table takes the slot it frees. */
    if (arguments[6] & DUPLICATE_CLOSE_SOURCE && source_handle != NT_CURRENT_PROCESS &&
        !source->exited)
        handle_close(&source->handles, source_handle);
    if (NT_SUCCESS(status) && target)
        status = duplicate_into(target, object, access, arguments, &handle);
    if (referenced)
        object_dereference(object);
    if (target)
        object_dereference(&target->header);
    object_dereference(&source->header);
    if (target_out)
        user_copy_to(target_out, &handle, sizeof(handle));
    return NT_SUCCESS(target_status) ? status : target_status;
}
