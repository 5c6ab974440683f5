/* The section services: create a section, map and unmap its views, in any process. */
#include "arch/mmu.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "mm/mm.h"

#define MAX_ZERO_BITS 21
#define SEC_KNOWN (SEC_IMAGE | SEC_RESERVE | SEC_COMMIT | SEC_NOCACHE | SEC_WRITECOMBINE)

/*
 * Checks NtCreateSection's attributes and protection in NT's order: the attributes
 * first (STATUS_INVALID_PARAMETER_6), then the protection, then what only a file could
 * give (an image; a size taken from the file).
 */
static ntstatus_t check_section_arguments(uint32_t attributes, uint32_t protection,
                                          nt_handle_t file, bool have_size)
{
    uint32_t kind = attributes & (SEC_IMAGE | SEC_RESERVE | SEC_COMMIT);

    if (attributes & ~SEC_KNOWN || (kind != SEC_IMAGE && kind != SEC_RESERVE &&
                                    kind != SEC_COMMIT))
        return STATUS_INVALID_PARAMETER_6;
    if (kind == SEC_IMAGE && (attributes & (SEC_NOCACHE | SEC_WRITECOMBINE)))
        return STATUS_INVALID_PARAMETER_6;
    if ((attributes & (SEC_NOCACHE | SEC_WRITECOMBINE)) == (SEC_NOCACHE | SEC_WRITECOMBINE))
        return STATUS_INVALID_PARAMETER_6;
    if (protection & (PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE) ||
        !MmIsValidProtection(protection) || protection == PAGE_NOACCESS)
        return STATUS_INVALID_PAGE_PROTECTION;
    if (file != 0)
        return STATUS_INVALID_HANDLE;       /* there are no file objects here */
    if (kind == SEC_IMAGE)
        return STATUS_INVALID_FILE_FOR_SECTION;
    if (!have_size)
        return STATUS_INVALID_PARAMETER_4;
    return STATUS_SUCCESS;
}

ntstatus_t NtCreateSection(const uint32_t *arguments)
{
    vaddr_t handle_out = arguments[0], maximum_size = arguments[3];
    uint64_t size = 0;
    uint32_t access;
    struct mm_section *section;

    ntstatus_t status = user_probe(handle_out, sizeof(nt_handle_t));
    if (NT_SUCCESS(status) && maximum_size)
        status = user_copy_from(&size, maximum_size, sizeof(size));
    if (!NT_SUCCESS(status))
        return status;
    if (arguments[2] != 0)
        return STATUS_INVALID_PARAMETER_3;  /* no object names */
    status = check_section_arguments(arguments[5], arguments[4], arguments[6], size != 0);
    if (!NT_SUCCESS(status))
        return status;
    if (size > UINT32_MAX)
        return STATUS_SECTION_TOO_BIG;
    status = object_grant_access(OBJECT_SECTION, arguments[1], &access);
    if (NT_SUCCESS(status))
        status = MmCreateSection((uint32_t)size, arguments[4], arguments[5], &section);
    if (!NT_SUCCESS(status))
        return status;
    return handle_insert_for_user(&process_current()->handles, &section->header, access,
                                  handle_out);
}

/*
 * The rights a section handle needs for a view of protection (Windows' MmMakeSectionAccess;
 * PAGE_GUARD changes nothing): SECTION_MAP_READ to read or copy on write, SECTION_MAP_WRITE
 * to write (which includes reading), SECTION_MAP_EXECUTE to execute. A protection that is
 * no protection needs nothing here: it was refused before.
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

#define VIEW_TYPES (MEM_TOP_DOWN | MEM_RESERVE | AT_ROUND_TO_PAGE)

/*
 * NtMapViewOfSection's checks of the arguments alone, in NT's order: the inherit
 * disposition (8), the allocation type (9), the protection, then (after the probes) the
 * base (3) and ZeroBits (4), a given base included.
 */
static ntstatus_t check_view_arguments(const uint32_t *arguments)
{
    uint32_t zero_bits = arguments[3], inherit = arguments[7], protection = arguments[9];

    if (inherit != VIEW_SHARE && inherit != VIEW_UNMAP)
        return STATUS_INVALID_PARAMETER_8;
    if (arguments[8] & ~VIEW_TYPES)
        return STATUS_INVALID_PARAMETER_9;
    if (!MmIsValidProtection(protection) || protection & (PAGE_NOCACHE | PAGE_WRITECOMBINE))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (zero_bits > MAX_ZERO_BITS)
        return STATUS_INVALID_PARAMETER_4;
    return STATUS_SUCCESS;
}

ntstatus_t NtMapViewOfSection(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[2], offset_in = arguments[5], view_size = arguments[6];
    uint32_t zero_bits = arguments[3];
    uint32_t base, size;
    uint64_t offset = 0;
    struct mm_section *section;
    struct process *process;

    ntstatus_t status = check_view_arguments(arguments);
    if (NT_SUCCESS(status))
        status = user_probe(base_address, sizeof(base));
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
    vaddr_t highest = zero_bits ? 0xFFFFFFFFu >> zero_bits : MmHighestUserAddress;
    if (base > MmHighestUserAddress || size > MmHighestUserAddress + 1 - base)
        return STATUS_INVALID_PARAMETER_3;
    if (base && (base > highest || size > highest + 1 - base))
        return STATUS_INVALID_PARAMETER_4;
    if (offset > UINT32_MAX)
        return STATUS_INVALID_VIEW_SIZE;
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
                                arguments[9], zero_bits ? highest : 0, arguments[4]);
    process_leave(process, attached);
    object_dereference(&section->header);
    if (NT_SUCCESS(status)) {
        user_copy_to(base_address, &base, sizeof(base));
        user_copy_to(view_size, &size, sizeof(size));
        if (offset_in)
            user_copy_to(offset_in, &(uint64_t){offset & ~(uint64_t)(PAGE_SIZE - 1)},
                         sizeof(offset));
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
