#pragma once
/*
 * The kernel's basic types. Each kind of address has its own name so that a reader
 * (and a reviewer) can tell at a glance which space a value lives in; converting from
 * one to another is always an explicit call, never a silent cast.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t paddr_t;   /* a physical address (PAE reaches past 4 GB) */
typedef uint32_t vaddr_t;   /* a virtual address, kernel or user */
typedef uint32_t pfn_t;     /* a physical page frame number: paddr >> PAGE_SHIFT */

#define PFN_INVALID ((pfn_t)0xFFFFFFFF)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (__typeof__(x))(a) - 1, (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, low, high) MIN(MAX((x), (low)), (high))

#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
