/* The section services: create a section, map and unmap its views, in any process. */
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "mm/mm.h"

ntstatus_t NtCreateSection(const uint32_t *arguments)
{
    vaddr_t handle_out = arguments[0], maximum_size = arguments[3];
    uint64_t size;
    uint32_t access;
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
    status = object_grant_access(OBJECT_SECTION, arguments[1], &access);
    if (NT_SUCCESS(status))
        status = MmCreateSection((uint32_t)size, arguments[4], &section);
    if (!NT_SUCCESS(status))
        return status;
    return handle_insert_for_user(&process_current()->handles, &section->header, access,
                                  handle_out);
}

/*
 * The rights a section handle needs for a view of protection (Windows' MmMakeSectionAccess;
 * PAGE_GUARD changes nothing): SECTION_MAP_READ to read or copy on write, SECTION_MAP_WRITE
 * to write (which includes reading), SECTION_MAP_EXECUTE to execute. A protection that is
 * no protection needs nothing here: the memory manager refuses it.
 */
static uint32_t section_access_for_view(uint32_t protection)
{
    switch (protection & 0xFF) {
    case PAGE_NOACCESS:
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        return SECTION_MAP_READ;
    case PAGE_READWRITE:
        return SECTION_MAP_WRITE;
    case PAGE_EXECUTE:
        return SECTION_MAP_EXECUTE;
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return SECTION_MAP_EXECUTE | SECTION_MAP_READ;
    case PAGE_EXECUTE_READWRITE:
        return SECTION_MAP_EXECUTE | SECTION_MAP_WRITE;
    default:
        return 0;
    }
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
    /* The process first, then the section, as Windows references them. */
    bool attached;
    status = process_enter(arguments[1], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = handle_reference(&process_current()->handles, arguments[0], OBJECT_SECTION,
                              section_access_for_view(arguments[9]),
                              (struct object_header **)&section);
    if (!NT_SUCCESS(status)) {
        process_leave(process, attached);
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
    ntstatus_t status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);

    if (!NT_SUCCESS(status))
        return status;
    status = MmUnmapViewOfSection(arguments[1]);
    process_leave(process, attached);
    return status;
}
