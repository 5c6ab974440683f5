#pragma once
/* NTSTATUS values, as the public ntstatus.h defines them. */
#include <stdint.h>

typedef int32_t ntstatus_t;

#define NT_SUCCESS(s) ((ntstatus_t)(s) >= 0)

#define STATUS_SUCCESS                 ((ntstatus_t)0x00000000)
#define STATUS_ACCESS_VIOLATION        ((ntstatus_t)0xC0000005)
#define STATUS_INVALID_PARAMETER       ((ntstatus_t)0xC000000D)
#define STATUS_NO_MEMORY               ((ntstatus_t)0xC0000017)
#define STATUS_CONFLICTING_ADDRESSES   ((ntstatus_t)0xC0000018)
#define STATUS_INSUFFICIENT_RESOURCES  ((ntstatus_t)0xC000009A)
#define STATUS_COMMITMENT_LIMIT        ((ntstatus_t)0xC000012D)
