/* The section services: create a section, map and unmap its views, in any process. */
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "mm/mm.h"

ntstatus_t NtCreateSection(const uint32_t *arguments)
{
    vaddr_t handle_out = arguments[0], maximum_size = arguments[3];
    uint64_t size;
    struct mm_section *section;

    ntstatus_t status = user_probe(handle_out, sizeof(nt_handle_t));
    if (NT_SUCCESS(status))
        status = user_copy_from(&size, maximum_size, sizeof(size));
    if (!NT_SUCCESS(status))
        return status;
    if (arguments[2] != 0 || arguments[6] != 0)
        return STATUS_INVALID_PARAMETER;    /* no object names, no file-backed sections */
    if (arguments[5] != SEC_COMMIT)
        return STATUS_INVALID_PARAMETER;
    if (maximum_size == 0 || size == 0 || size > UINT32_MAX)
        return STATUS_INVALID_PARAMETER;
    status = MmCreateSection((uint32_t)size, arguments[4], &section);
    if (!NT_SUCCESS(status))
        return status;
    return handle_insert_for_user(&process_current()->handles, &section->header, handle_out);
}

ntstatus_t NtMapViewOfSection(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[2], offset_in = arguments[5], view_size = arguments[6];
    uint32_t base, size;
    uint64_t offset = 0;
    struct mm_section *section;
    struct process *process;

    ntstatus_t status = user_probe(base_address, sizeof(base));
    if (NT_SUCCESS(status))
        status = user_probe(view_size, sizeof(size));
    if (NT_SUCCESS(status))
        status = user_copy_from(&base, base_address, sizeof(base));
    if (NT_SUCCESS(status))
        status = user_copy_from(&size, view_size, sizeof(size));
    if (NT_SUCCESS(status) && offset_in)
        status = user_copy_from(&offset, offset_in, sizeof(offset));
    if (!NT_SUCCESS(status))
        return status;
    if (arguments[3] != 0 || offset > UINT32_MAX)
        return STATUS_INVALID_PARAMETER;
    status = handle_reference(&process_current()->handles, arguments[0], OBJECT_SECTION,
                              (struct object_header **)&section);
    if (!NT_SUCCESS(status))
        return status;
    bool attached;
    status = process_enter(arguments[1], &process, &attached);
    if (!NT_SUCCESS(status)) {
        object_dereference(&section->header);
        return status;
    }
    status = MmMapViewOfSection(section, (uint32_t)offset, &base, &size, arguments[8],
                                arguments[9]);
    process_leave(process, attached);
    object_dereference(&section->header);
    if (NT_SUCCESS(status)) {
        user_copy_to(base_address, &base, sizeof(base));
        user_copy_to(view_size, &size, sizeof(size));
    }
    return status;
}

ntstatus_t NtUnmapViewOfSection(const uint32_t *arguments)
{
    struct process *process;
    bool attached;
    ntstatus_t status = process_enter(arguments[0], &process, &attached);

    if (!NT_SUCCESS(status))
        return status;
    status = MmUnmapViewOfSection(arguments[1]);
    process_leave(process, attached);
    return status;
}
