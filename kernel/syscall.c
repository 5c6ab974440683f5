/*
 * The system-service dispatcher: the table of services with their argument counts, the
 * copy of the arguments from the caller's stack (probed like any user pointer), and
 * the capture of UNICODE_STRING arguments.
 */
#include "arch/cpu.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/usercopy.h"
#include "lib/ntabi.h"

#define MAX_ARGUMENTS 10

struct service {
    ntstatus_t (*handler)(const uint32_t *arguments);
    uint32_t argument_count;
};

static const struct service services[NT_SERVICE_COUNT] = {
    [NT_SERVICE_TERMINATE_PROCESS] = {NtTerminateProcess, 2},
    [NT_SERVICE_YIELD_EXECUTION] = {NtYieldExecution, 0},
    [NT_SERVICE_DISPLAY_STRING] = {NtDisplayString, 1},
    [NT_SERVICE_QUERY_SYSTEM_INFORMATION] = {NtQuerySystemInformation, 4},
    [NT_SERVICE_CREATE_PROCESS_FROM_MODULE] = {NtCreateProcessFromModule, 3},
    [NT_SERVICE_WAIT_FOR_SINGLE_OBJECT] = {NtWaitForSingleObject, 3},
    [NT_SERVICE_QUERY_INFORMATION_PROCESS] = {NtQueryInformationProcess, 5},
    [NT_SERVICE_SET_INFORMATION_PROCESS] = {NtSetInformationProcess, 4},
    [NT_SERVICE_CLOSE] = {NtClose, 1},
    [NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY] = {NtAllocateVirtualMemory, 6},
    [NT_SERVICE_FREE_VIRTUAL_MEMORY] = {NtFreeVirtualMemory, 4},
    [NT_SERVICE_PROTECT_VIRTUAL_MEMORY] = {NtProtectVirtualMemory, 5},
    [NT_SERVICE_QUERY_VIRTUAL_MEMORY] = {NtQueryVirtualMemory, 6},
    [NT_SERVICE_SET_EXCEPTION_HANDLER] = {NtSetExceptionHandler, 1},
    [NT_SERVICE_CONTINUE] = {NtContinue, 2},
    [NT_SERVICE_CREATE_SECTION] = {NtCreateSection, 7},
    [NT_SERVICE_MAP_VIEW_OF_SECTION] = {NtMapViewOfSection, 10},
    [NT_SERVICE_UNMAP_VIEW_OF_SECTION] = {NtUnmapViewOfSection, 2},
    [NT_SERVICE_TEST_ALERT] = {NtTestAlert, 0},
    [NT_SERVICE_CREATE_THREAD] = {NtCreateThread, 2},
    [NT_SERVICE_TERMINATE_THREAD] = {NtTerminateThread, 2},
    [NT_SERVICE_DELAY_EXECUTION] = {NtDelayExecution, 2},
    [NT_SERVICE_OPEN_PROCESS] = {NtOpenProcess, 4},
    [NT_SERVICE_DUPLICATE_OBJECT] = {NtDuplicateObject, 7},
    [NT_SERVICE_READ_VIRTUAL_MEMORY] = {NtReadVirtualMemory, 5},
    [NT_SERVICE_WRITE_VIRTUAL_MEMORY] = {NtWriteVirtualMemory, 5},
    [NT_SERVICE_LOCK_VIRTUAL_MEMORY] = {NtLockVirtualMemory, 4},
    [NT_SERVICE_UNLOCK_VIRTUAL_MEMORY] = {NtUnlockVirtualMemory, 4},
    [NT_SERVICE_GET_WRITE_WATCH] = {NtGetWriteWatch, 7},
    [NT_SERVICE_RESET_WRITE_WATCH] = {NtResetWriteWatch, 3},
};

uint32_t syscall_count;
void (*syscall_observer)(uint32_t number, bool returning, ntstatus_t status);

static ntstatus_t call_service(const struct service *service, vaddr_t arguments)
{
    uint32_t copied[MAX_ARGUMENTS];

    if (service->argument_count) {
        ntstatus_t status = user_copy_from(copied, arguments,
                                           service->argument_count * sizeof(uint32_t));
        if (!NT_SUCCESS(status))
            return status;
    }
    return service->handler(copied);
}

/* The same, between the two calls of the observer; out of line, off the hot path. */
static __attribute__((noinline)) ntstatus_t call_observed_service(uint32_t number,
                                                                   vaddr_t arguments)
{
    /* The observer of the call's start sees its return, even if it was removed meanwhile. */
    void (*observer)(uint32_t, bool, ntstatus_t) = syscall_observer;

    observer(number, false, STATUS_SUCCESS);
    ntstatus_t status = call_service(&services[number], arguments);
    observer(number, true, status);
    return status;
}

/* Runs service number with its arguments at user address arguments; the NTSTATUS back. */
static ntstatus_t syscall_dispatch(uint32_t number, vaddr_t arguments)
{
    syscall_count++;
    if (number >= NT_SERVICE_COUNT || !services[number].handler)
        return STATUS_INVALID_SYSTEM_SERVICE;
    if (__builtin_expect(syscall_observer != NULL, 0))
        return call_observed_service(number, arguments);
    return call_service(&services[number], arguments);
}

/* One function with the dispatch inlined: the hot path of every system service. */
ntstatus_t syscall_trap(uint32_t number, vaddr_t arguments)
{
    cpu_enable_interrupts();
    ntstatus_t status = syscall_dispatch(number, arguments);
    cpu_disable_interrupts();
    process_return_to_user();
    return status;
}

ntstatus_t syscall_probe_information(vaddr_t buffer, uint32_t length, vaddr_t return_length)
{
    ntstatus_t status = user_probe(buffer, length);

    if (NT_SUCCESS(status) && return_length)
        status = user_probe(return_length, sizeof(uint32_t));
    return status;
}

ntstatus_t syscall_probe_for_write(vaddr_t address)
{
    uint32_t value;
    ntstatus_t status = user_copy_from(&value, address, sizeof(value));

    if (NT_SUCCESS(status))
        status = user_copy_to(address, &value, sizeof(value));
    return status;
}

ntstatus_t syscall_return_information(vaddr_t buffer, const void *info, uint32_t size,
                                      vaddr_t return_length)
{
    ntstatus_t status = user_copy_to(buffer, info, size);

    if (NT_SUCCESS(status) && return_length)
        status = user_copy_to(return_length, &size, sizeof(size));
    return status;
}

ntstatus_t syscall_capture_string(vaddr_t unicode_string, char *text, size_t size,
                                  size_t *length)
{
    struct nt_unicode_string string;
    uint16_t piece[64];
    ntstatus_t status = user_copy_from(&string, unicode_string, sizeof(string));

    if (!NT_SUCCESS(status))
        return status;
    if (string.length % 2 || string.length > string.maximum_length)
        return STATUS_INVALID_PARAMETER;
    size_t characters = string.length / 2;
    if (characters >= size)
        return STATUS_INVALID_PARAMETER;
    for (size_t done = 0; done < characters;) {
        size_t n = MIN(characters - done, ARRAY_SIZE(piece));
        status = user_copy_from(piece, (vaddr_t)string.buffer + done * 2, n * 2);
        if (!NT_SUCCESS(status))
            return status;
        for (size_t i = 0; i < n; i++)
            text[done + i] = piece[i] >= 0x20 && piece[i] < 0x7F ? (char)piece[i]
                             : piece[i] == '\n'                   ? '\n'
                                                                  : '?';
        done += n;
    }
    text[characters] = '\0';
    *length = characters;
    return STATUS_SUCCESS;
}
