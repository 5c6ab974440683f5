/*
 * The virtual memory services. Each captures its in-out arguments from the caller's
 * memory (probed, as NT's ProbeForWrite does, before anything happens), attaches to the
 * target process if it is another one, lets the memory manager do the work there, and
 * writes the results back to the caller after detaching.
 */
#include "arch/mmu.h"
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

/*
 * Each service checks its arguments in Windows' order: those it can judge alone first
 * (ZeroBits, types, protections), then it reads its in-out arguments, then it judges
 * the range they give against every user space, and only then does it look at the
 * process handle and the process's own memory.
 */
ntstatus_t NtAllocateVirtualMemory(const uint32_t *arguments)
{
    vaddr_t base_address = arguments[1], region_size = arguments[3];
    uint32_t zero_bits = arguments[2], type = arguments[4], protection = arguments[5];
    uint32_t base, size;
    struct process *process;

    if (zero_bits > MAX_ZERO_BITS)
        return STATUS_INVALID_PARAMETER_3;
    ntstatus_t status = MmCheckAllocationType(type, protection);
    if (NT_SUCCESS(status))
        status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status))
        status = MmCheckRange(base, size, MmHighestUserAddress, STATUS_INVALID_PARAMETER_2,
                              STATUS_INVALID_PARAMETER_4);
    if (!NT_SUCCESS(status))
        return status;
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
    uint32_t base, size, type = arguments[3];
    struct process *process;

    if (type != MEM_DECOMMIT && type != MEM_RELEASE)
        return STATUS_INVALID_PARAMETER_4;
    bool attached;
    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status) && base > MmHighestUserAddress)
        status = STATUS_INVALID_PARAMETER_2;
    if (NT_SUCCESS(status) && size > MmHighestUserAddress + 1 - base)
        status = STATUS_INVALID_PARAMETER_3;
    if (NT_SUCCESS(status))
        status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmFreeVirtualMemory(&base, &size, type);
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

    if (!MmIsValidProtection(arguments[3]))
        return STATUS_INVALID_PAGE_PROTECTION;
    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status))
        status = user_probe(old_out, sizeof(old));
    if (NT_SUCCESS(status) && old_out == 0)
        status = STATUS_ACCESS_VIOLATION;   /* OldProtect is not optional */
    if (NT_SUCCESS(status))
        status = MmCheckRange(base, size, MmHighestUserAddress, STATUS_INVALID_PARAMETER_2,
                              STATUS_INVALID_PARAMETER_3);
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

#define WORKING_SET_CHUNK 64     /* entries copied out at a time */

/*
 * MemoryWorkingSetInformation into length bytes at buffer: the number of entries, then
 * as many entries as fit. The list is read in chunks, each inside the process and copied
 * out after leaving it. Too small a buffer still gets the number of entries (what
 * QueryWorkingSet's caller needs to size the next one) and STATUS_INFO_LENGTH_MISMATCH.
 */
static ntstatus_t query_working_set(nt_handle_t handle, vaddr_t buffer, uint32_t length,
                                    vaddr_t return_length)
{
    uint32_t chunk[WORKING_SET_CHUNK], total, fit = (length - 4) / 4, first = 0;
    struct process *process;
    bool attached;

    if (length < 4)
        return STATUS_INFO_LENGTH_MISMATCH;
    do {
        uint32_t wanted = MIN(fit - MIN(fit, first), (uint32_t)WORKING_SET_CHUNK);
        /* QueryWorkingSet's rights: the query and reading the process's memory. */
        ntstatus_t status = process_enter(handle, PROCESS_QUERY_LIMITED_INFORMATION |
                                                      PROCESS_VM_READ, &process, &attached);
        if (!NT_SUCCESS(status))
            return status;
        total = MmQueryWorkingSet(chunk, first, wanted);
        process_leave(process, attached);
        uint32_t got = MIN(wanted, total - MIN(total, first));
        status = user_copy_to(buffer + 4 + first * 4, chunk, got * 4);
        if (!NT_SUCCESS(status))
            return status;
        first += got;
        if (got == 0)
            break;
    } while (first < MIN(total, fit));
    uint32_t size = 4 + 4 * total;
    ntstatus_t status = user_copy_to(buffer, &total, sizeof(total));
    if (NT_SUCCESS(status) && return_length)
        status = user_copy_to(return_length, &size, sizeof(size));
    if (!NT_SUCCESS(status))
        return status;
    return total > fit ? STATUS_INFO_LENGTH_MISMATCH : STATUS_SUCCESS;
}

ntstatus_t NtQueryVirtualMemory(const uint32_t *arguments)
{
    vaddr_t buffer = arguments[3], return_length = arguments[5];
    uint32_t length = arguments[4], class = arguments[2];
    union {
        struct nt_memory_basic_information basic;
        struct nt_memory_region_information region;
    } info;
    uint32_t size;
    struct process *process;

    ntstatus_t status = syscall_probe_information(buffer, length, return_length);
    if (!NT_SUCCESS(status))
        return status;
    if (class == NT_MEMORY_WORKING_SET_INFORMATION)
        return query_working_set(arguments[0], buffer, length, return_length);
    if (class == NT_MEMORY_BASIC_INFORMATION)
        size = sizeof(info.basic);
    else if (class == NT_MEMORY_REGION_INFORMATION)
        size = sizeof(info.region);
    else
        return STATUS_INVALID_INFO_CLASS;
    /* MEMORY_REGION_INFORMATION has grown over the years: its older lengths will do. */
    uint32_t least = class == NT_MEMORY_REGION_INFORMATION
                         ? (uint32_t)NT_MEMORY_REGION_INFORMATION_MINIMUM : size;
    if (length < least)
        return STATUS_INFO_LENGTH_MISMATCH;
    bool attached;
    /* The limited right is enough since Windows 8; PROCESS_QUERY_INFORMATION implies it. */
    status = process_enter(arguments[0], PROCESS_QUERY_LIMITED_INFORMATION, &process,
                           &attached);
    if (!NT_SUCCESS(status))
        return status;
    if (class == NT_MEMORY_BASIC_INFORMATION)
        status = MmQueryVirtualMemory(arguments[1], &info.basic);
    else
        status = MmQueryRegionInformation(arguments[1], &info.region);
    process_leave(process, attached);
    if (!NT_SUCCESS(status))
        return status;
    return syscall_return_information(buffer, &info, MIN(size, length), return_length);
}

/* NtLockVirtualMemory and NtUnlockVirtualMemory: the same arguments, the same checks. */
static ntstatus_t lock_or_unlock(const uint32_t *arguments, bool lock)
{
    vaddr_t base_address = arguments[1], region_size = arguments[2];
    uint32_t base, size, map_type = arguments[3];
    struct process *process;
    bool attached;

    if (map_type == 0 || map_type & ~(MAP_PROCESS | MAP_SYSTEM))
        return STATUS_INVALID_PARAMETER;
    /* Locking in physical memory for the system needs a privilege no process has here. */
    if (map_type & MAP_SYSTEM)
        return STATUS_PRIVILEGE_NOT_HELD;
    ntstatus_t status = capture_pair(base_address, region_size, &base, &size);
    if (NT_SUCCESS(status))
        status = MmCheckRange(base, size, MmHighestUserAddress, STATUS_INVALID_PARAMETER,
                              STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(status))
        status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = lock ? MmLockVirtualMemory(&base, &size) : MmUnlockVirtualMemory(&base, &size);
    process_leave(process, attached);
    if (NT_SUCCESS(status))
        write_back_pair(base_address, region_size, base, size);
    return status;
}

ntstatus_t NtLockVirtualMemory(const uint32_t *arguments)
{
    return lock_or_unlock(arguments, true);
}

ntstatus_t NtUnlockVirtualMemory(const uint32_t *arguments)
{
    return lock_or_unlock(arguments, false);
}

#define WRITE_WATCH_CHUNK 64    /* addresses gathered in the process at a time */

ntstatus_t NtGetWriteWatch(const uint32_t *arguments)
{
    uint32_t flags = arguments[1], base = arguments[2], size = arguments[3];
    vaddr_t addresses = arguments[4], count_inout = arguments[5], granularity = arguments[6];
    uint32_t capacity, found = 0, page = PAGE_SIZE;
    vaddr_t chunk[WRITE_WATCH_CHUNK], cursor = 0;
    struct process *process;
    bool attached;

    if (flags & ~WRITE_WATCH_FLAG_RESET || size == 0)
        return STATUS_INVALID_PARAMETER;
    /* The count is read, and judged, before the array is probed. */
    ntstatus_t status = user_copy_from(&capacity, count_inout, sizeof(capacity));
    if (NT_SUCCESS(status) && capacity == 0)
        status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(status))
        status = user_probe(addresses, capacity * sizeof(vaddr_t));
    if (NT_SUCCESS(status) && (addresses == 0 || capacity > UINT32_MAX / sizeof(vaddr_t)))
        status = STATUS_ACCESS_VIOLATION;
    if (NT_SUCCESS(status))
        status = user_probe(granularity, sizeof(page));
    if (NT_SUCCESS(status) && granularity == 0)
        status = STATUS_ACCESS_VIOLATION;
    while (NT_SUCCESS(status) && found < capacity) {
        status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
        if (!NT_SUCCESS(status))
            break;
        uint32_t got = MmGetWriteWatch(base, size, flags & WRITE_WATCH_FLAG_RESET, &cursor,
                                       chunk, MIN(capacity - found, (uint32_t)WRITE_WATCH_CHUNK),
                                       &status);
        process_leave(process, attached);
        if (NT_SUCCESS(status))
            status = user_copy_to(addresses + found * sizeof(vaddr_t), chunk,
                                  got * sizeof(vaddr_t));
        found += got;
        if (got < WRITE_WATCH_CHUNK)
            break;      /* the range is done (or the array full) */
    }
    if (!NT_SUCCESS(status))
        return status;
    user_copy_to(count_inout, &found, sizeof(found));
    user_copy_to(granularity, &page, sizeof(page));
    return STATUS_SUCCESS;
}

ntstatus_t NtResetWriteWatch(const uint32_t *arguments)
{
    struct process *process;
    bool attached;

    if (arguments[2] == 0)
        return STATUS_INVALID_PARAMETER;
    ntstatus_t status = process_enter(arguments[0], PROCESS_VM_OPERATION, &process, &attached);
    if (!NT_SUCCESS(status))
        return status;
    status = MmResetWriteWatch(arguments[1], arguments[2]);
    process_leave(process, attached);
    return status;
}
