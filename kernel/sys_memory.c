/*
 * The virtual memory services. Each captures its in-out arguments from the caller's
 * memory (probed, as NT's ProbeForWrite does, before anything happens), attaches to the
 * target process if it is another one, lets the memory manager do the work there, and
 * writes the results back to the caller after detaching.
 */
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "mm/mm.h"

#define MAX_ZERO_BITS 21

/* Captures a pair of in-out values (an address and a size) from the caller. */
static ntstatus_t capture_pair(vaddr_t first, vaddr_t second, uint32_t *a, uint32_t *b)
{
    ntstatus_t status = user_probe(first, sizeof(*a));

    if (NT_SUCCESS(status))
        status = user_probe(second, sizeof(*b));
    if (NT_SUCCESS(status))
        status = user_copy_from(a, first, sizeof(*a));
    if (NT_SUCCESS(status))
        status = user_copy_from(b, second, sizeof(*b));
    return status;
}

/*
 * Writes the results back. As on NT, a failure here does not undo what was done: the
 * operation has happened, and its status stands.
 */
static void write_back_pair(vaddr_t first, vaddr_t second, uint32_t a, uint32_t b)
{
    user_copy_to(first, &a, sizeof(a));
    user_copy_to(second, &b, sizeof(b));
}

ntstatus_t NtAllocateVirtualMemory(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[1], region_size = arguments[3];
    uint32_t zero_bits = arguments[2], type = arguments[4], protection = arguments[5];
    uint32_t base, size;
    struct process *process;

    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (!NT_SUCCESS(status))
        return status;
    if (zero_bits > MAX_ZERO_BITS)
        return STATUS_INVALID_PARAMETER;
    bool attached;
    status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmAllocateVirtualMemory(&base, &size, type, protection,
                                     zero_bits ? 0xFFFFFFFFu >> zero_bits : 0);
    process_leave(process, attached);
    if (NT_SUCCESS(status))
        write_back_pair(base_address, region_size, base, size);
    return status;
}

ntstatus_t NtFreeVirtualMemory(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[1], region_size = arguments[2];
    uint32_t base, size;
    struct process *process;

    bool attached;
    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status))
        status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmFreeVirtualMemory(&base, &size, arguments[3]);
    process_leave(process, attached);
    if (NT_SUCCESS(status))
        write_back_pair(base_address, region_size, base, size);
    return status;
}

ntstatus_t NtProtectVirtualMemory(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[1], region_size = arguments[2], old_out = arguments[4];
    uint32_t base, size, old = 0;
    struct process *process;

    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status))
        status = user_probe(old_out, sizeof(old));
    if (NT_SUCCESS(status) && old_out == 0)
        status = STATUS_ACCESS_VIOLATION;   /* OldProtect is not optional */
    bool attached;
    if (NT_SUCCESS(status))
        status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmProtectVirtualMemory(&base, &size, arguments[3], &old);
    process_leave(process, attached);
    if (NT_SUCCESS(status)) {
        write_back_pair(base_address, region_size, base, size);
        user_copy_to(old_out, &old, sizeof(old));
    }
    return status;
}

ntstatus_t NtQueryVirtualMemory(const uint32_t *arguments)
{
    vaddr_t buffer = arguments[3], return_length = arguments[5];
    uint32_t length = arguments[4];
    struct nt_memory_basic_information info;
    struct process *process;

    ntstatus_t status = syscall_probe_information(buffer, length, return_length);
    if (!NT_SUCCESS(status))
        return status;
    if (arguments[2] != NT_MEMORY_BASIC_INFORMATION)
        return STATUS_INVALID_INFO_CLASS;
    if (length < sizeof(info))
        return STATUS_INFO_LENGTH_MISMATCH;
    bool attached;
    /* The limited right is enough since Windows 8; PROCESS_QUERY_INFORMATION implies it. */
    status = process_enter(arguments[0], PROCESS_QUERY_LIMITED_INFORMATION, &process,
                           &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmQueryVirtualMemory(arguments[1], &info);
    process_leave(process, attached);
    if (!NT_SUCCESS(status))
        return status;
    return syscall_return_information(buffer, &info, sizeof(info), return_length);
}
