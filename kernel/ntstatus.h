#pragma once
/* NTSTATUS values, as the public ntstatus.h defines them. */
#include <stdint.h>

typedef int32_t ntstatus_t;

#define NT_SUCCESS(s) ((ntstatus_t)(s) >= 0)

#define STATUS_SUCCESS                 ((ntstatus_t)0x00000000)
#define STATUS_TIMEOUT                 ((ntstatus_t)0x00000102)
#define STATUS_PENDING                 ((ntstatus_t)0x00000103)
#define STATUS_GUARD_PAGE_VIOLATION    ((ntstatus_t)0x80000001)
#define STATUS_DATATYPE_MISALIGNMENT   ((ntstatus_t)0x80000002)
#define STATUS_BREAKPOINT              ((ntstatus_t)0x80000003)
#define STATUS_SINGLE_STEP             ((ntstatus_t)0x80000004)
#define STATUS_INVALID_INFO_CLASS      ((ntstatus_t)0xC0000003)
#define STATUS_INFO_LENGTH_MISMATCH    ((ntstatus_t)0xC0000004)
#define STATUS_ACCESS_VIOLATION        ((ntstatus_t)0xC0000005)
#define STATUS_IN_PAGE_ERROR           ((ntstatus_t)0xC0000006)
#define STATUS_INVALID_HANDLE          ((ntstatus_t)0xC0000008)
#define STATUS_INVALID_PARAMETER       ((ntstatus_t)0xC000000D)
#define STATUS_NO_MEMORY               ((ntstatus_t)0xC0000017)
#define STATUS_CONFLICTING_ADDRESSES   ((ntstatus_t)0xC0000018)
#define STATUS_INVALID_SYSTEM_SERVICE  ((ntstatus_t)0xC000001C)
#define STATUS_ILLEGAL_INSTRUCTION     ((ntstatus_t)0xC000001D)
#define STATUS_OBJECT_TYPE_MISMATCH    ((ntstatus_t)0xC0000024)
#define STATUS_OBJECT_NAME_INVALID     ((ntstatus_t)0xC0000033)
#define STATUS_OBJECT_NAME_NOT_FOUND   ((ntstatus_t)0xC0000034)
#define STATUS_INVALID_IMAGE_FORMAT    ((ntstatus_t)0xC000007B)
#define STATUS_ARRAY_BOUNDS_EXCEEDED   ((ntstatus_t)0xC000008C)
#define STATUS_FLOAT_INVALID_OPERATION ((ntstatus_t)0xC0000090)
#define STATUS_INTEGER_DIVIDE_BY_ZERO  ((ntstatus_t)0xC0000094)
#define STATUS_INTEGER_OVERFLOW        ((ntstatus_t)0xC0000095)
#define STATUS_PRIVILEGED_INSTRUCTION  ((ntstatus_t)0xC0000096)
#define STATUS_INSUFFICIENT_RESOURCES  ((ntstatus_t)0xC000009A)
#define STATUS_STACK_OVERFLOW          ((ntstatus_t)0xC00000FD)
#define STATUS_COMMITMENT_LIMIT        ((ntstatus_t)0xC000012D)
#define STATUS_PROCESS_IS_TERMINATING  ((ntstatus_t)0xC000010A)
