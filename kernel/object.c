#include "arch/spinlock.h"
#include "kernel/object.h"
#include "kernel/usercopy.h"
#include "lib/panic.h"

#define HANDLE_STEP 4

/* A type's GENERIC_MAPPING and the rights it has at all (its ValidAccessMask). */
struct object_access {
    uint32_t generic_read, generic_write, generic_execute, generic_all;
    uint32_t valid;
};

/* As Windows 10's process and section object types define them (observed with generic rights). */
static const struct object_access type_access[] = {
    [OBJECT_PROCESS] = {
        .generic_read = READ_CONTROL | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
        .generic_write = READ_CONTROL | PROCESS_CREATE_THREAD | PROCESS_VM_OPERATION |
                         PROCESS_VM_WRITE | PROCESS_DUP_HANDLE | PROCESS_CREATE_PROCESS |
                         PROCESS_SET_QUOTA | PROCESS_SET_INFORMATION |
                         PROCESS_SUSPEND_RESUME,
        .generic_execute = READ_CONTROL | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION |
                           PROCESS_TERMINATE,
        .generic_all = PROCESS_ALL_ACCESS,
        .valid = PROCESS_ALL_ACCESS,
    },
    [OBJECT_SECTION] = {
        .generic_read = READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ,
        .generic_write = READ_CONTROL | SECTION_MAP_WRITE,
        .generic_execute = READ_CONTROL | SECTION_MAP_EXECUTE,
        .generic_all = SECTION_ALL_ACCESS,
        .valid = SECTION_ALL_ACCESS | SYNCHRONIZE,
    },
};

/*
 * The rights Windows 10 (8.1 on) grants with others on a process: the limited query and
 * set rights with the full ones, and the limited query right with VM_OPERATION and
 * VM_WRITE together.
 */
static uint32_t process_implied_access(uint32_t access)
{
    if (access & PROCESS_QUERY_INFORMATION)
        access |= PROCESS_QUERY_LIMITED_INFORMATION;
    if (access & PROCESS_SET_INFORMATION)
        access |= PROCESS_SET_LIMITED_INFORMATION;
    if ((access & (PROCESS_VM_OPERATION | PROCESS_VM_WRITE)) ==
        (PROCESS_VM_OPERATION | PROCESS_VM_WRITE))
        access |= PROCESS_QUERY_LIMITED_INFORMATION;
    return access;
}

ntstatus_t object_grant_access(enum object_type type, uint32_t desired, uint32_t *granted)
{
    const struct object_access *access = &type_access[type];
    uint32_t mapped = desired;

    /* Bits no right has are refused first, as Windows refuses them before it looks. */
    if (desired & ACCESS_RESERVED_BITS)
        return STATUS_ACCESS_DENIED;
    if (desired & ACCESS_SYSTEM_SECURITY)
        return STATUS_PRIVILEGE_NOT_HELD;       /* SeSecurityPrivilege: nobody holds it */
    if (desired & GENERIC_READ)
        mapped |= access->generic_read;
    if (desired & GENERIC_WRITE)
        mapped |= access->generic_write;
    if (desired & GENERIC_EXECUTE)
        mapped |= access->generic_execute;
    if (desired & (GENERIC_ALL | MAXIMUM_ALLOWED))
        mapped |= access->generic_all;
    if (type == OBJECT_PROCESS)
        mapped = process_implied_access(mapped);
    *granted = mapped & access->valid;
    return STATUS_SUCCESS;
}

static struct lock_class handle_table_lock_class = LOCK_CLASS_SPIN("handle table");

void handle_table_init(struct handle_table *table)
{
    *table = (struct handle_table){.lock = KSPIN_LOCK_INIT(handle_table_lock_class)};
}

/* The slot of handle, if it is one a table can hold. */
static bool handle_index(nt_handle_t handle, unsigned *index)
{
    if (handle == 0 || handle % HANDLE_STEP || handle / HANDLE_STEP > HANDLE_TABLE_SIZE)
        return false;
    *index = handle / HANDLE_STEP - 1;
    return true;
}

/* The slot a new handle takes, if any is free. */
static bool handle_free_slot(const struct handle_table *table, unsigned *index)
{
    if (table->last_closed && !table->entries[table->last_closed - 1].object) {
        *index = table->last_closed - 1;
        return true;
    }
    for (unsigned i = 0; i < HANDLE_TABLE_SIZE; i++) {
        if (!table->entries[i].object) {
            *index = i;
            return true;
        }
    }
    return false;
}

ntstatus_t handle_insert(struct handle_table *table, struct object_header *object,
                         uint32_t granted_access, nt_handle_t *handle)
{
    unsigned index;
    KIRQL old = KeAcquireSpinLock(&table->lock);

    if (!handle_free_slot(table, &index)) {
        KeReleaseSpinLock(&table->lock, old);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    object_reference(object);
    table->entries[index] = (struct handle_entry){object, granted_access};
    table->last_closed = 0;
    KeReleaseSpinLock(&table->lock, old);
    *handle = (index + 1) * HANDLE_STEP;
    return STATUS_SUCCESS;
}

ntstatus_t handle_lookup(struct handle_table *table, nt_handle_t handle,
                         struct object_header **object, uint32_t *granted_access)
{
    unsigned index;

    if (!handle_index(handle, &index))
        return STATUS_INVALID_HANDLE;
    KIRQL old = KeAcquireSpinLock(&table->lock);
    struct handle_entry entry = table->entries[index];
    if (entry.object)
        object_reference(entry.object);
    KeReleaseSpinLock(&table->lock, old);
    if (!entry.object)
        return STATUS_INVALID_HANDLE;
    *object = entry.object;
    *granted_access = entry.granted_access;
    return STATUS_SUCCESS;
}

ntstatus_t handle_reference(struct handle_table *table, nt_handle_t handle,
                            enum object_type type, uint32_t desired_access,
                            struct object_header **object)
{
    struct object_header *found;
    uint32_t granted;

    if (handle == NT_CURRENT_PROCESS)   /* a process, here where another type is wanted */
        return STATUS_OBJECT_TYPE_MISMATCH;
    ntstatus_t status = handle_lookup(table, handle, &found, &granted);
    if (!NT_SUCCESS(status))
        return status;
    if (found->type != type)
        status = STATUS_OBJECT_TYPE_MISMATCH;
    else if (desired_access & ~granted)
        status = STATUS_ACCESS_DENIED;
    if (!NT_SUCCESS(status)) {
        object_dereference(found);
        return status;
    }
    *object = found;
    return STATUS_SUCCESS;
}

ntstatus_t handle_close(struct handle_table *table, nt_handle_t handle)
{
    unsigned index;

    if (!handle_index(handle, &index))
        return STATUS_INVALID_HANDLE;
    KIRQL old = KeAcquireSpinLock(&table->lock);
    struct object_header *object = table->entries[index].object;
    if (object) {
        table->entries[index] = (struct handle_entry){NULL, 0};
        table->last_closed = index + 1;
    }
    KeReleaseSpinLock(&table->lock, old);
    if (!object)
        return STATUS_INVALID_HANDLE;
    object_dereference(object);
    return STATUS_SUCCESS;
}

ntstatus_t handle_insert_for_user(struct handle_table *table, struct object_header *object,
                                  uint32_t granted_access, vaddr_t out)
{
    nt_handle_t handle;
    ntstatus_t status = handle_insert(table, object, granted_access, &handle);

    object_dereference(object);
    if (!NT_SUCCESS(status))
        return status;
    status = user_copy_to(out, &handle, sizeof(handle));
    if (!NT_SUCCESS(status))
        handle_close(table, handle);
    return status;
}

void handle_table_close_all(struct handle_table *table)
{
    for (unsigned i = 0; i < HANDLE_TABLE_SIZE; i++)
        if (table->entries[i].object)
            handle_close(table, (i + 1) * HANDLE_STEP);
}
