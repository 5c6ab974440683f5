/*
 * The system-service stubs declared in rt.h, for example
 *     ntstatus_t NtClose(nt_handle_t object);
 *     ntstatus_t rt_syscall(unsigned int service, ...);
 * They are cdecl: the caller pushed the arguments and removes them, so the first one is
 * at ESP + 4 on entry, which is where lib/ntabi.h wants EDX to point. The service
 * numbers come from lib/ntabi.h, which the build passes with -imacros (only its
 * macros, because its C declarations would not assemble). i686 PE symbols of C functions
 * carry a leading underscore.
 */

    .text

.macro SERVICE name, number
    .globl _\name
    .p2align 4
_\name:
    movl $\number, %eax
    leal 4(%esp), %edx
    int $NT_SYSCALL_VECTOR
    ret
.endm

SERVICE NtTerminateProcess,         NT_SERVICE_TERMINATE_PROCESS
SERVICE NtYieldExecution,           NT_SERVICE_YIELD_EXECUTION
SERVICE NtDisplayString,            NT_SERVICE_DISPLAY_STRING
SERVICE NtQuerySystemInformation,   NT_SERVICE_QUERY_SYSTEM_INFORMATION
SERVICE NtCreateProcessFromModule,  NT_SERVICE_CREATE_PROCESS_FROM_MODULE
SERVICE NtWaitForSingleObject,      NT_SERVICE_WAIT_FOR_SINGLE_OBJECT
SERVICE NtQueryInformationProcess,  NT_SERVICE_QUERY_INFORMATION_PROCESS
SERVICE NtClose,                    NT_SERVICE_CLOSE
SERVICE NtAllocateVirtualMemory,    NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY
SERVICE NtFreeVirtualMemory,        NT_SERVICE_FREE_VIRTUAL_MEMORY
SERVICE NtProtectVirtualMemory,     NT_SERVICE_PROTECT_VIRTUAL_MEMORY
SERVICE NtQueryVirtualMemory,       NT_SERVICE_QUERY_VIRTUAL_MEMORY
SERVICE NtSetExceptionHandler,      NT_SERVICE_SET_EXCEPTION_HANDLER
SERVICE NtContinue,                 NT_SERVICE_CONTINUE
SERVICE NtTestAlert,                NT_SERVICE_TEST_ALERT
SERVICE NtCreateThread,             NT_SERVICE_CREATE_THREAD
SERVICE NtTerminateThread,          NT_SERVICE_TERMINATE_THREAD
SERVICE NtDelayExecution,           NT_SERVICE_DELAY_EXECUTION
SERVICE NtSetInformationProcess,    NT_SERVICE_SET_INFORMATION_PROCESS
SERVICE NtOpenProcess,              NT_SERVICE_OPEN_PROCESS
SERVICE NtDuplicateObject,          NT_SERVICE_DUPLICATE_OBJECT
SERVICE NtReadVirtualMemory,        NT_SERVICE_READ_VIRTUAL_MEMORY
SERVICE NtWriteVirtualMemory,       NT_SERVICE_WRITE_VIRTUAL_MEMORY

/* The service number is the first argument; the service's own arguments follow it. */
    .globl _rt_syscall
    .p2align 4
_rt_syscall:
    movl 4(%esp), %eax
    leal 8(%esp), %edx
    int $NT_SYSCALL_VECTOR
    ret
