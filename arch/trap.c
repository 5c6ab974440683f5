/*
 * The i386 side of traps. For a page fault this file only reads CR2 and decodes the
 * error code into facts (struct trap_page_fault) for the handler the memory manager
 * registered, which decides what they mean; system services and user-mode exceptions go
 * to the handlers the kernel registered (struct trap_handlers). This file includes
 * nothing above arch/. A fault the kernel did not expect ends in a report and a stop.
 */
#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/irql.h"
#include "arch/kthread.h"
#include "arch/machine.h"
#include "arch/mmu.h"
#include "arch/pic.h"
#include "arch/trap.h"
#include "lib/ntabi.h"
#include "lib/console.h"
#include "lib/panic.h"

/* Where kernel code that may fault wants to resume (see copy_checked.S). */
struct exception_table_entry {
    uint32_t fault_eip;
    uint32_t fixup_eip;
};

extern const struct exception_table_entry __start_exception_table[], __stop_exception_table[];

uint32_t trap_page_fault_count;
uint32_t trap_virtual_8086_count;

/* SDM vol. 3A, table 6-1. */
static const char *const exception_names[TRAP_EXCEPTION_COUNT] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range exceeded", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack-segment fault", "#GP general protection",
    "#PF page fault", "reserved (15)", "#MF x87 floating-point error", "#AC alignment check",
    "#MC machine check", "#XM SIMD floating-point", "#VE virtualization", "#CP control protection",
    "reserved (22)", "reserved (23)", "reserved (24)", "reserved (25)", "reserved (26)",
    "reserved (27)", "reserved (28)", "reserved (29)", "#SX security", "reserved (31)",
};

_Static_assert(TRAP_IRQ_BASE == PIC_VECTOR_BASE, "the PIC delivers IRQs where the IDT expects");

/* Until the memory manager registers its handler, no fault is resolved. */
static __attribute__((regparm(1))) ntstatus_t
unresolved_page_fault(const struct trap_page_fault *fault)
{
    (void)fault;
    return STATUS_ACCESS_VIOLATION;
}

static trap_page_fault_handler_t *page_fault_handler = unresolved_page_fault;
static trap_page_table_view_test_t *page_table_view_test;
static struct trap_handlers handlers;   /* a copy: the system-service call is one load shorter */

void trap_set_page_fault_handler(trap_page_fault_handler_t *handler)
{
    page_fault_handler = handler;
}

void trap_set_page_table_view_test(trap_page_table_view_test_t *test)
{
    page_table_view_test = test;
}

/* int 0x2E's entry (trap_entry.S) calls this one directly. */
ntstatus_t (*trap_system_service_handler)(uint32_t number, vaddr_t arguments);

void trap_set_handlers(const struct trap_handlers *user_handlers)
{
    handlers = *user_handlers;
    trap_system_service_handler = handlers.system_service;
}

/* A stop report's lines after its first: the error code, CR2 and the registers. */
static NORETURN void trap_report_details_and_stop(const struct trap_frame *frame, vaddr_t cr2)
{
    kprintf("    error code 0x%08x", frame->error_code);
    if (frame->vector == TRAP_PAGE_FAULT)
        kprintf(": %s, %s, %s mode%s\n    CR2 0x%08x (the address that faulted)",
                frame->error_code & PF_PRESENT ? "protection violation" : "page not present",
                frame->error_code & PF_WRITE ? "write" : "read",
                frame->error_code & PF_USER ? "user" : "kernel",
                frame->error_code & PF_RESERVED_BIT ? ", reserved bit set" : "", cr2);
    kprintf("\n    EIP 0x%08x  CS 0x%04x  EFLAGS 0x%08x\n", frame->eip, frame->cs,
            frame->eflags);
    kprintf("    EAX 0x%08x  EBX 0x%08x  ECX 0x%08x  EDX 0x%08x\n", frame->eax, frame->ebx,
            frame->ecx, frame->edx);
    kprintf("    ESI 0x%08x  EDI 0x%08x  EBP 0x%08x  ESP 0x%08x\n", frame->esi, frame->edi,
            frame->ebp,
            trap_from_user(frame) ? frame->user_esp : (uint32_t)&frame->user_esp);
    kprintf("    DS 0x%04x  ES 0x%04x  FS 0x%04x  GS 0x%04x  CR3 0x%08x\n", frame->ds,
            frame->es, frame->fs, frame->gs, cpu_read_cr3());
    machine_exit(MACHINE_EXIT_FAILURE);
}

/* The report of a trap the kernel cannot go on from; stops. */
static NORETURN void trap_report_and_stop(const struct trap_frame *frame, vaddr_t cr2)
{
    kprintf("\n*** STOP: unexpected exception %u (%s) in %s mode\n", frame->vector,
            exception_names[frame->vector], trap_from_user(frame) ? "user" : "kernel");
    trap_report_details_and_stop(frame, cr2);
}

/* Resumes kernel code at its fixup if it registered one for the faulting EIP. */
static bool trap_fixup(struct trap_frame *frame, vaddr_t cr2, ntstatus_t status)
{
    for (const struct exception_table_entry *e = __start_exception_table;
         e < __stop_exception_table; e++) {
        if (e->fault_eip == frame->eip) {
            *trap_last_recovered_fault() = (struct trap_recovered_fault){
                frame->vector, cr2, frame->error_code, frame->eip, status};
            frame->eip = e->fixup_eip;
            return true;
        }
    }
    return false;
}

/*
 * Hands an exception of ring 3 to the kernel's dispatcher with interrupts on, as any
 * thread runs: it writes the user stack (which may fault) and may end the process, both
 * taking spinlocks, and a processor that spins for one with interrupts off never takes
 * the TLB shootdown its holder may be waiting for.
 */
static void deliver_user_exception(struct trap_frame *frame, ntstatus_t status,
                                   bool has_address, uint32_t access, vaddr_t address)
{
    cpu_enable_interrupts();
    handlers.user_exception(frame, status, has_address, access, address);
    cpu_disable_interrupts();
}

static void trap_page_fault(struct trap_frame *frame)
{
    vaddr_t address = cpu_read_cr2();
    bool write = frame->error_code & PF_WRITE;

    trap_page_fault_count++;
    bool user = trap_from_user(frame);
    struct trap_page_fault fault = {
        .address = address,
        .access = frame->error_code & (PF_WRITE | PF_INSTRUCTION),
        .user = user,
        .interrupts_enabled = frame->eflags & EFLAGS_IF,
        .eip = frame->eip,
    };
    /* The fault runs with interrupts as the code that took it had them. */
    if (fault.interrupts_enabled)
        cpu_enable_interrupts();
    ntstatus_t status = page_fault_handler(&fault);
    cpu_disable_interrupts();
    if (NT_SUCCESS(status))
        return;
    if (user) {
        /* ExceptionInformation[0]: what the access was (I/D is set only with NX on). */
        uint32_t access = write ? EXCEPTION_WRITE_FAULT
                          : frame->error_code & PF_INSTRUCTION ? EXCEPTION_EXECUTE_FAULT
                                                               : EXCEPTION_READ_FAULT;
        deliver_user_exception(frame, status, true, access, address);
        return;
    }
    if (trap_fixup(frame, address, status))
        return;
    /* With `ptecheck`, page tables are read-only to everything but the PTE writer. */
    if (write && (frame->error_code & PF_PRESENT) && page_table_view_test &&
        page_table_view_test(address)) {
        kprintf("\n*** STOP: page-table entry written outside the PTE writer: the store at "
                "EIP 0x%08x to 0x%08x\n", frame->eip, address);
        trap_report_details_and_stop(frame, address);
    }
    trap_report_and_stop(frame, address);
}

/*
 * A #GP from user mode is a privileged instruction when the instruction is one (SDM
 * vol. 3A, 5.9 lists them); anything else (a bad segment, say) is an access violation.
 */
static ntstatus_t general_protection_status(const struct trap_frame *frame)
{
    uint8_t code[2] = {0, 0};

    if (frame->eip > handlers.highest_user_address() - 1 ||
        arch_copy_checked(code, (const void *)frame->eip, sizeof(code)) != 0)
        return STATUS_ACCESS_VIOLATION;
    switch (code[0]) {
    case 0xF4:                          /* hlt */
    case 0xFA: case 0xFB:               /* cli, sti */
    case 0xE4: case 0xE5: case 0xE6: case 0xE7: /* in, out with an immediate port */
    case 0xEC: case 0xED: case 0xEE: case 0xEF: /* in, out through DX */
    case 0x6C: case 0x6D: case 0x6E: case 0x6F: /* ins, outs */
        return STATUS_PRIVILEGED_INSTRUCTION;
    case 0x0F:
        switch (code[1]) {
        case 0x00: case 0x01:           /* lldt, ltr, lgdt, lidt, lmsw, invlpg */
        case 0x06: case 0x08: case 0x09: /* clts, invd, wbinvd */
        case 0x20: case 0x21: case 0x22: case 0x23: /* mov to/from CRn, DRn */
        case 0x30: case 0x32:           /* wrmsr, rdmsr */
        case 0x33:                      /* rdpmc: CR4.PCE is clear */
        case 0x35:                      /* sysexit */
            return STATUS_PRIVILEGED_INSTRUCTION;
        }
    }
    return STATUS_ACCESS_VIOLATION;
}

/* The NTSTATUS a user-mode exception ends its process with (as NT's KiTrap handlers). */
static ntstatus_t user_exception_status(struct trap_frame *frame)
{
    switch (frame->vector) {
    case TRAP_DIVIDE_ERROR:         return STATUS_INTEGER_DIVIDE_BY_ZERO;
    case TRAP_DEBUG:
        frame->eflags &= ~EFLAGS_TF;    /* as NT's KiTrap01: the step is over */
        return STATUS_SINGLE_STEP;
    case TRAP_BREAKPOINT:
        frame->eip--;               /* NT reports the int3 itself, not what follows */
        return STATUS_BREAKPOINT;
    case TRAP_OVERFLOW:             return STATUS_INTEGER_OVERFLOW;
    case TRAP_BOUND_RANGE:          return STATUS_ARRAY_BOUNDS_EXCEEDED;
    case TRAP_INVALID_OPCODE:       return STATUS_ILLEGAL_INSTRUCTION;
    case TRAP_NO_FPU:               return STATUS_ILLEGAL_INSTRUCTION; /* x87 is off: CR0.EM */
    case TRAP_GENERAL_PROTECTION:   return general_protection_status(frame);
    case TRAP_X87_ERROR:            return STATUS_FLOAT_INVALID_OPERATION;
    case TRAP_ALIGNMENT_CHECK:      return STATUS_DATATYPE_MISALIGNMENT;
    default:                        return STATUS_ACCESS_VIOLATION;
    }
}

/*
 * Ring 3 cannot enter virtual-8086 mode on a real processor (iret ignores EFLAGS.VM
 * below CPL 0), but some emulators let an iret from ring 3 do it. Nothing in such a frame
 * is a protected-mode state to resume or to hand to the process's dispatcher: the process
 * ends.
 */
static NORETURN void end_virtual_8086_process(const struct trap_frame *frame)
{
    trap_virtual_8086_count++;
    cpu_enable_interrupts();        /* the ending takes spinlocks (see deliver_user_exception) */
    handlers.virtual_8086(frame);
}

__attribute__((regparm(1))) void trap_dispatch(struct trap_frame *frame)
{
    /* int 0x2E has an entry of its own (trap_entry.S): only one from virtual-8086 mode comes here. */
    if (frame->vector >= TRAP_IRQ_BASE && frame->vector < TRAP_IRQ_BASE + PIC_IRQ_COUNT)
        hal_interrupt(frame->vector - TRAP_IRQ_BASE);
    else if (frame->vector >= TRAP_APIC_CLOCK)
        hal_apic_interrupt(frame->vector);
    else if (frame->eflags & EFLAGS_VM)
        end_virtual_8086_process(frame);
    else if (frame->vector == TRAP_PAGE_FAULT)
        trap_page_fault(frame);
    else if (trap_from_user(frame))
        deliver_user_exception(frame, user_exception_status(frame), false,
                               EXCEPTION_READ_FAULT, 0);
    else if (frame->vector == TRAP_DEBUG)
        /*
         * A single step that slipped into ring 0: TF set by `popf` and then `pop ss` or
         * `mov ss`, which hold the trap back past the next instruction, the `int 0x2E`
         * itself. The kernel is not stepped (it sets no TF or debug register of its
         * own): clear the flag here and go on; the program's own TF is on its stack.
         */
        frame->eflags &= ~EFLAGS_TF;
    else if (!trap_fixup(frame, 0, STATUS_ACCESS_VIOLATION))
        trap_report_and_stop(frame, 0);
    /* The way back to user mode is where threads are preempted and killed. */
    if (trap_from_user(frame)) {
        if (frame->eflags & EFLAGS_VM)
            end_virtual_8086_process(frame);    /* an interrupt came in that mode */
        handlers.return_to_user();
    }
}

/*
 * Runs as its own task after a double fault; the state of the code that faulted was
 * saved by the CPU into the processor's TSS, in its region (SDM vol. 3A, 7.3).
 */
NORETURN void trap_double_fault_task(void)
{
    const struct tss *t = &KeGetCurrentPrcb()->tss;

    kprintf("\n*** STOP: double fault (#DF) in kernel mode; the kernel stack is probably "
            "exhausted\n");
    kprintf("    EIP 0x%08x  CS 0x%04x  EFLAGS 0x%08x  CR2 0x%08x\n", t->eip, t->cs, t->eflags,
            cpu_read_cr2());
    kprintf("    EAX 0x%08x  EBX 0x%08x  ECX 0x%08x  EDX 0x%08x\n", t->eax, t->ebx, t->ecx,
            t->edx);
    kprintf("    ESI 0x%08x  EDI 0x%08x  EBP 0x%08x  ESP 0x%08x\n", t->esi, t->edi, t->ebp,
            t->esp);
    machine_exit(MACHINE_EXIT_FAILURE);
}
