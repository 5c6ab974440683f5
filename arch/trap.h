#pragma once
/*
 * Traps: the frame the entry code builds, the dispatcher, and recovery from faults
 * in kernel code that expects them (the exception table).
 */
#include <stddef.h>
#include "arch/cpu.h"
#include "arch/mmu.h"
#include "arch/pcr.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

#define TRAP_EXCEPTION_COUNT 32
#define TRAP_STUB_COUNT      64     /* vectors 0-0x3F */
#define TRAP_SYSCALL         0x2E   /* int 0x2E: system services */
#define TRAP_IRQ_BASE        0x30   /* IRQ 0-15, above the system-service vector, as on NT */
#define TRAP_DIVIDE_ERROR    0
#define TRAP_DEBUG           1
#define TRAP_BREAKPOINT      3
#define TRAP_OVERFLOW        4
#define TRAP_BOUND_RANGE     5
#define TRAP_INVALID_OPCODE  6
#define TRAP_NO_FPU          7
#define TRAP_GENERAL_PROTECTION 13
#define TRAP_PAGE_FAULT      14
#define TRAP_X87_ERROR       16
#define TRAP_ALIGNMENT_CHECK 17

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
_Static_assert(offsetof(struct trap_frame, edx) == 36 && offsetof(struct trap_frame, eax) == 44 &&
               offsetof(struct trap_frame, eflags) == 64, "trap_entry.S: FRAME_EDX, _EAX, _EFLAGS");

/* The entry points trap_entry.S makes, one per vector below TRAP_STUB_COUNT. */
extern const uint32_t trap_stubs[TRAP_STUB_COUNT];
extern const char trap_null_interrupt[];
#define TRAP_NULL_INTERRUPT  0x2D   /* int 0x2D: a bare iret (lib/ntabi.h) */

/*
 * The local APIC's vectors (arch/apic.h), at the top of the table as on NT: each
 * processor's clock, the interprocessor interrupt, and the spurious vector (whose low
 * four bits must be set on the oldest APICs, SDM vol. 3A, 11.9).
 */
#define TRAP_APIC_CLOCK      0xD1
#define TRAP_APIC_IPI        0xE1
#define TRAP_APIC_SPURIOUS   0xFF
#define TRAP_APIC_VECTOR_COUNT 3
extern const uint8_t trap_apic_vectors[TRAP_APIC_VECTOR_COUNT];
extern const uint32_t trap_apic_stubs[TRAP_APIC_VECTOR_COUNT];

/* Every page fault taken, resolved or not. */
extern uint32_t trap_page_fault_count;
/* Traps from virtual-8086 mode, which only an emulator's defect lets ring 3 enter. */
extern uint32_t trap_virtual_8086_count;
/* The common trap exit: a stack pointer at a struct trap_frame, then `jmp trap_exit`. */
extern const char trap_exit[];

/* Called by trap_entry.S with interrupts off; the frame comes in EAX (regparm). */
void trap_dispatch(struct trap_frame *frame) __attribute__((regparm(1)));

/*
 * Whether the trap came from user mode: from the CS it interrupted (and EFLAGS.VM, with
 * which CS is a real-mode value), never from a page fault's U/S bit, which is 0 when a
 * ring-3 instruction makes the CPU touch memory with supervisor rights (a descriptor
 * read; a far call's pushes on some emulators).
 */
static inline bool trap_from_user(const struct trap_frame *frame)
{
    return (frame->cs & 3) != 0 || (frame->eflags & EFLAGS_VM) != 0;
}

/*
 * What the CPU says about a page fault: facts only; deciding what they mean is mm/'s.
 * The access kinds are the error code's own bits (SDM vol. 3A, 4.7), so decoding them is
 * one mask on every fault's path; an instruction fetch is reported only with NX or SMEP.
 */
enum trap_access {
    TRAP_ACCESS_READ = 0,
    TRAP_ACCESS_WRITE = PF_WRITE,
    TRAP_ACCESS_EXECUTE = PF_INSTRUCTION,
};

struct trap_page_fault {
    vaddr_t address;            /* CR2 */
    enum trap_access access;
    bool user;                  /* the interrupted code ran in user mode (trap_from_user) */
    bool interrupts_enabled;    /* EFLAGS.IF of the interrupted code */
    vaddr_t eip;                /* the instruction that faulted */
};

/*
 * Resolves a page fault: STATUS_SUCCESS when the access may be retried, otherwise why
 * not (an exception for user mode, recovery or a stop for kernel mode). The memory
 * manager registers it at init; until then every fault is unresolved. The facts come in
 * EAX (regparm), as trap_dispatch's frame does: this is every fault's path.
 */
typedef ntstatus_t trap_page_fault_handler_t(const struct trap_page_fault *fault)
    __attribute__((regparm(1)));
void trap_set_page_fault_handler(trap_page_fault_handler_t *handler);

/*
 * True when va is a view of a page table that only the PTE writer may store through: a
 * kernel write fault there that no fixup recovers is reported as a store past the
 * writer, not as an unexpected fault. The memory manager registers it at init (mm/pte.c
 * decides, with `ptecheck`); until then no address is one.
 */
typedef bool trap_page_table_view_test_t(vaddr_t va);
void trap_set_page_table_view_test(trap_page_table_view_test_t *test);

/*
 * What the layers above do with a trap from user mode, registered once by the kernel at
 * init (kernel/exception.c): arch turns the trap into these calls and knows no process
 * or system-service policy.
 */
struct trap_handlers {
    /*
     * A system service (int 0x2E: number in EAX, arguments at EDX), called with
     * interrupts off as the gate leaves them: the status for EAX, returned with
     * interrupts off and the way back to user mode done (one call on the hot path).
     */
    ntstatus_t (*system_service)(uint32_t number, vaddr_t arguments);
    /* The way back to user mode, with interrupts off: where threads are preempted and killed. */
    void (*return_to_user)(void);
    /*
     * An exception raised by the user-mode code of frame: rewrites frame so that the
     * return to user mode enters the process's dispatcher, or ends the process.
     */
    void (*user_exception)(struct trap_frame *frame, ntstatus_t status, bool has_address,
                           uint32_t access, vaddr_t address);
    /* A frame in virtual-8086 mode, which ring 3 cannot enter on a real processor: ends the process. */
    void (*virtual_8086)(const struct trap_frame *frame) __attribute__((noreturn));
    /* The highest address the current process may use (a #GP's EIP is read below it). */
    vaddr_t (*highest_user_address)(void);
};

void trap_set_handlers(const struct trap_handlers *handlers);

/* The double-fault task's entry (see descriptors.c). */
NORETURN void trap_double_fault_task(void);

/*
 * A fault that kernel code recovered from through the exception table, for the code (and
 * tests) that asked for recovery. Each thread has its own record (arch/kthread.h): a
 * thread may be switched out between the fault and the look at it.
 */
struct trap_recovered_fault {
    uint32_t vector;
    vaddr_t address;        /* CR2, for a page fault */
    uint32_t error_code;
    vaddr_t eip;
    ntstatus_t status;      /* for a page fault, why the memory manager could not resolve it */
};
