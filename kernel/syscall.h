#pragma once
/* System services: `int 0x2E` (lib/ntabi.h describes the calling convention). */
#include "lib/ntstatus.h"
#include "lib/types.h"

/* System calls made since boot. */
extern uint32_t syscall_count;
/*
 * A test's window on the services (NULL but in tests): called as a service is entered,
 * and again with its status as it returns (one that ends its caller's thread does not).
 * A service that was waiting when the observer was removed still reports its return to
 * it, so an observer must stay callable after its test.
 */
extern void (*syscall_observer)(uint32_t number, bool returning, ntstatus_t status);

/*
 * arch/trap.c's system-service handler (int 0x2E, interrupts off as the gate leaves them):
 * runs service number with its arguments at user address arguments, interrupts on, and
 * returns its NTSTATUS with interrupts off again and the thread ready to go back to user
 * mode (preempted or ended there if it must be).
 */
ntstatus_t syscall_trap(uint32_t number, vaddr_t arguments);

/* The services, each taking its arguments already copied into the kernel. */
ntstatus_t NtTerminateProcess(const uint32_t *arguments);
ntstatus_t NtYieldExecution(const uint32_t *arguments);
ntstatus_t NtDisplayString(const uint32_t *arguments);
ntstatus_t NtQuerySystemInformation(const uint32_t *arguments);
ntstatus_t NtCreateProcessFromModule(const uint32_t *arguments);
ntstatus_t NtWaitForSingleObject(const uint32_t *arguments);
ntstatus_t NtQueryInformationProcess(const uint32_t *arguments);
ntstatus_t NtClose(const uint32_t *arguments);
ntstatus_t NtAllocateVirtualMemory(const uint32_t *arguments);
ntstatus_t NtFreeVirtualMemory(const uint32_t *arguments);
ntstatus_t NtProtectVirtualMemory(const uint32_t *arguments);
ntstatus_t NtQueryVirtualMemory(const uint32_t *arguments);
ntstatus_t NtSetExceptionHandler(const uint32_t *arguments);
ntstatus_t NtContinue(const uint32_t *arguments);
ntstatus_t NtCreateSection(const uint32_t *arguments);
ntstatus_t NtMapViewOfSection(const uint32_t *arguments);
ntstatus_t NtUnmapViewOfSection(const uint32_t *arguments);
ntstatus_t NtTestAlert(const uint32_t *arguments);
ntstatus_t NtCreateThread(const uint32_t *arguments);
ntstatus_t NtTerminateThread(const uint32_t *arguments);
ntstatus_t NtDelayExecution(const uint32_t *arguments);
ntstatus_t NtSetInformationProcess(const uint32_t *arguments);
ntstatus_t NtOpenProcess(const uint32_t *arguments);
ntstatus_t NtDuplicateObject(const uint32_t *arguments);
ntstatus_t NtReadVirtualMemory(const uint32_t *arguments);
ntstatus_t NtWriteVirtualMemory(const uint32_t *arguments);
ntstatus_t NtLockVirtualMemory(const uint32_t *arguments);
ntstatus_t NtUnlockVirtualMemory(const uint32_t *arguments);
ntstatus_t NtGetWriteWatch(const uint32_t *arguments);
ntstatus_t NtResetWriteWatch(const uint32_t *arguments);

/*
 * Probes a query's output before anything else, as NT does: length bytes at buffer,
 * and return_length when the caller gave one.
 */
ntstatus_t syscall_probe_information(vaddr_t buffer, uint32_t length, vaddr_t return_length);

/*
 * NT's ProbeForWriteUlong or ProbeForWriteHandle: reads the 4 bytes at address and writes
 * them back, so that an output the caller cannot write fails before anything happens.
 */
ntstatus_t syscall_probe_for_write(vaddr_t address);

/*
 * Writes a query's result to the caller: size bytes of info to buffer, and size to
 * return_length when the caller gave one.
 */
ntstatus_t syscall_return_information(vaddr_t buffer, const void *info, uint32_t size,
                                      vaddr_t return_length);

/* Copies a UNICODE_STRING's text from user memory as ASCII (other characters become '?'). */
ntstatus_t syscall_capture_string(vaddr_t unicode_string, char *text, size_t size,
                                  size_t *length);
