#pragma once
/*
 * Traps: the frame the entry code builds, the dispatcher, and recovery from faults
 * in kernel code that expects them (the exception table).
 */
#include <stddef.h>
#include "kernel/types.h"

#define TRAP_EXCEPTION_COUNT 32
#define TRAP_PAGE_FAULT      14

/* Built by trap_entry.S; the layout below is what it pushes, lowest address first. */
struct trap_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;   /* pushal */
    uint32_t vector;
    uint32_t error_code;        /* 0 for vectors that push none */
    uint32_t eip, cs, eflags;   /* pushed by the CPU */
    uint32_t user_esp, user_ss; /* pushed by the CPU only on a change of ring */
};

_Static_assert(offsetof(struct trap_frame, vector) == 48, "trap_entry.S pushes 12 words first");
_Static_assert(offsetof(struct trap_frame, eip) == 56, "trap_entry.S frame layout");

/* The entry points trap_entry.S makes, one per exception vector. */
extern const uint32_t trap_stubs[TRAP_EXCEPTION_COUNT];

/* Called by trap_entry.S with interrupts off. */
void trap_dispatch(struct trap_frame *frame);

/* The double-fault task's entry (see descriptors.c). */
NORETURN void trap_double_fault_task(void);

/*
 * The last fault that kernel code recovered from through the exception table, for the
 * code (and tests) that asked for recovery.
 */
struct trap_recovered_fault {
    uint32_t vector;
    vaddr_t address;        /* CR2, for a page fault */
    uint32_t error_code;
    vaddr_t eip;
};

extern struct trap_recovered_fault trap_last_recovered_fault;
