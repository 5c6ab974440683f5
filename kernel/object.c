#include "arch/cpu.h"
#include "kernel/object.h"
#include "kernel/panic.h"
#include "kernel/usercopy.h"

#define HANDLE_STEP 4

void object_reference(struct object_header *object)
{
    uint32_t flags = cpu_save_disable_interrupts();
    object->references++;
    cpu_restore_interrupts(flags);
}

void object_dereference(struct object_header *object)
{
    uint32_t flags = cpu_save_disable_interrupts();
    KASSERT(object->references > 0);
    bool last = --object->references == 0;
    cpu_restore_interrupts(flags);
    if (last)
        object->destroy(object);
}

static bool handle_index(nt_handle_t handle, unsigned *index)
{
    if (handle == 0 || handle % HANDLE_STEP || handle / HANDLE_STEP > HANDLE_TABLE_SIZE)
        return false;
    *index = handle / HANDLE_STEP - 1;
    return true;
}

ntstatus_t handle_insert(struct handle_table *table, struct object_header *object,
                         nt_handle_t *handle)
{
    for (unsigned i = 0; i < HANDLE_TABLE_SIZE; i++) {
        if (!table->entries[i]) {
            object_reference(object);
            table->entries[i] = object;
            *handle = (i + 1) * HANDLE_STEP;
            return STATUS_SUCCESS;
        }
    }
    return STATUS_INSUFFICIENT_RESOURCES;
}

ntstatus_t handle_reference(struct handle_table *table, nt_handle_t handle,
                            enum object_type type, struct object_header **object)
{
    unsigned index;

    if (handle == NT_CURRENT_PROCESS)   /* a process, here where another type is wanted */
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (!handle_index(handle, &index) || !table->entries[index])
        return STATUS_INVALID_HANDLE;
    if (table->entries[index]->type != type)
        return STATUS_OBJECT_TYPE_MISMATCH;
    *object = table->entries[index];
    object_reference(*object);
    return STATUS_SUCCESS;
}

ntstatus_t handle_close(struct handle_table *table, nt_handle_t handle)
{
    unsigned index;

    if (!handle_index(handle, &index) || !table->entries[index])
        return STATUS_INVALID_HANDLE;
    struct object_header *object = table->entries[index];
    table->entries[index] = NULL;
    object_dereference(object);
    return STATUS_SUCCESS;
}

ntstatus_t handle_insert_for_user(struct handle_table *table, struct object_header *object,
                                  vaddr_t out)
{
    nt_handle_t handle;
    ntstatus_t status = handle_insert(table, object, &handle);

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
        if (table->entries[i])
            handle_close(table, (i + 1) * HANDLE_STEP);
}
