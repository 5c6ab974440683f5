/*
 * NtReadVirtualMemory and NtWriteVirtualMemory: copying between the caller's memory and
 * another process's, through a page of nonpaged pool. Each step attaches to the process
 * whose side it copies (the caller's needs no attaching) and copies at most a page, one
 * that lies within a single page on both sides, under the fault rules of user copies: a
 * fault ends the copy, and what reached the destination before it is reported.
 *
 * As Windows' MmCopyVirtualMemory does, the source is taken in pieces (the whole copy up
 * to 512 bytes, else 14 pages at a time) whose pages must all be readable before any of
 * the piece is copied, so a source fault counts nothing of its piece, while a destination
 * fault counts every byte before it. A guard page of another process is not touched: the
 * copy stops there and the guard stays, as Windows treats one met while attached.
 */
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "arch/layout.h"
#include "mm/mm.h"
#include "mm/pool.h"

#define TAG_COPY                0x79706f43  /* 'Copy' */
#define POOL_COPY_LIMIT         512         /* Windows copies this much in one piece */
#define MAPPED_COPY_PIECE       (14 * PAGE_SIZE)

/* One side of a copy: an address in a process. */
struct copy_side {
    struct process *process;
    vaddr_t address;
};

/* Runs in side's address space: attached to its process, unless that is the caller. */
static void enter_side(const struct copy_side *side)
{
    if (side->process != process_current())
        process_attach(side->process);
}

/* Back in the caller's address space. */
static void leave_side(const struct copy_side *side)
{
    if (side->process != process_current())
        process_detach();
}

/* Whether the page at va may be touched from here: never a guard page of another process. */
static bool touchable(const struct copy_side *side, vaddr_t va)
{
    struct nt_memory_basic_information info;

    if (side->process == process_current())
        return true;
    return !NT_SUCCESS(MmQueryVirtualMemory(va, &info)) || !(info.protect & PAGE_GUARD);
}

/* Whether every page of the source's [offset, offset + length) can be read now. */
static bool piece_readable(const struct copy_side *source, uint32_t offset, uint32_t length)
{
    vaddr_t start = source->address + offset, end = start + length;
    bool readable = true;
    uint8_t byte;

    enter_side(source);
    for (vaddr_t va = start; readable && va < end; va = ALIGN_DOWN(va, PAGE_SIZE) + PAGE_SIZE)
        readable = touchable(source, va) && NT_SUCCESS(user_copy_from(&byte, va, 1));
    leave_side(source);
    return readable;
}

/* Copies length bytes at offset from one side to the other through bounce; false on a fault. */
static bool copy_step(const struct copy_side *from, const struct copy_side *to,
                      uint32_t offset, uint32_t length, void *bounce)
{
    enter_side(from);
    bool done = touchable(from, from->address + offset) &&
                NT_SUCCESS(user_copy_from(bounce, from->address + offset, length));
    leave_side(from);
    if (!done)
        return false;
    enter_side(to);
    done = touchable(to, to->address + offset) &&
           NT_SUCCESS(user_copy_to(to->address + offset, bounce, length));
    leave_side(to);
    return done;
}

/* The bytes left in the page of va. */
static uint32_t page_rest(vaddr_t va)
{
    return PAGE_SIZE - (va & (PAGE_SIZE - 1));
}

/* Copies size bytes between the sides; *done: those that reached the destination. */
static ntstatus_t copy_virtual_memory(const struct copy_side *from, const struct copy_side *to,
                                      uint32_t size, uint32_t *done)
{
    uint32_t piece_limit = size <= POOL_COPY_LIMIT ? size : MAPPED_COPY_PIECE;
    void *bounce = ExAllocatePoolWithTag(NonPagedPool, PAGE_SIZE, TAG_COPY);
    ntstatus_t status = STATUS_SUCCESS;

    *done = 0;
    if (!bounce)
        return STATUS_INSUFFICIENT_RESOURCES;
    while (*done < size && status == STATUS_SUCCESS) {
        uint32_t end = *done + MIN(piece_limit, size - *done);
        if (!piece_readable(from, *done, end - *done))
            status = STATUS_PARTIAL_COPY;
        while (*done < end && status == STATUS_SUCCESS) {
            uint32_t length = MIN(end - *done, MIN(page_rest(from->address + *done),
                                                   page_rest(to->address + *done)));
            if (copy_step(from, to, *done, length, bounce))
                *done += length;
            else
                status = STATUS_PARTIAL_COPY;
        }
    }
    ExFreePoolWithTag(bounce, TAG_COPY);
    return status;
}

/* Copies size bytes from or to the process behind handle, which must grant the right. */
static ntstatus_t copy_with_process(nt_handle_t handle, bool write, vaddr_t remote,
                                    vaddr_t local, uint32_t size, uint32_t *done)
{
    struct process *process;
    ntstatus_t status = process_reference_by_handle(
        handle, write ? PROCESS_VM_WRITE : PROCESS_VM_READ, &process);

    if (!NT_SUCCESS(status))
        return status;
    struct copy_side remote_side = {process, remote}, local_side = {process_current(), local};
    if (process != process_current() && (process->terminating || process->exited))
        status = STATUS_PROCESS_IS_TERMINATING;     /* its address space is going */
    else if (write)
        status = copy_virtual_memory(&local_side, &remote_side, size, done);
    else
        status = copy_virtual_memory(&remote_side, &local_side, size, done);
    object_dereference(&process->header);
    return status;
}

/*
 * The two services, as Windows' MiReadWriteVirtualMemory: both ranges must end at or
 * below MmHighestUserAddress without wrapping (else STATUS_ACCESS_VIOLATION, nothing
 * written); NumberOfBytes, if given, must be writable; a copy of 0 bytes succeeds without
 * looking at the handle; NumberOfBytes then receives the count, whatever the status.
 */
static ntstatus_t read_write_virtual_memory(const uint32_t *arguments, bool write)
{
    vaddr_t remote = arguments[1], local = arguments[2], count_out = arguments[4];
    uint32_t size = arguments[3], done = 0;

    if (remote + size < remote || local + size < local || remote + size > MmHighestUserAddress ||
        local + size > MmHighestUserAddress)
        return STATUS_ACCESS_VIOLATION;
    ntstatus_t status = count_out ? syscall_probe_for_write(count_out) : STATUS_SUCCESS;
    if (!NT_SUCCESS(status))
        return status;
    if (size)
        status = copy_with_process(arguments[0], write, remote, local, size, &done);
    if (count_out)
        user_copy_to(count_out, &done, sizeof(done));
    return status;
}

ntstatus_t NtReadVirtualMemory(const uint32_t *arguments)
{
    return read_write_virtual_memory(arguments, false);
}

ntstatus_t NtWriteVirtualMemory(const uint32_t *arguments)
{
    return read_write_virtual_memory(arguments, true);
}
