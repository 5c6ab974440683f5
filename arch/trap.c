/*
 * The i386 side of traps. For a page fault this file only reads CR2 and decodes the
 * error code; deciding what the fault means is the memory manager's (MmAccessFault).
 * A fault the kernel did not expect ends in a report and a stop.
 */
#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/machine.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "kernel/console.h"
#include "mm/mm.h"

/* Where kernel code that may fault wants to resume (see copy_checked.S). */
struct exception_table_entry {
    uint32_t fault_eip;
    uint32_t fixup_eip;
};

extern const struct exception_table_entry __start_exception_table[], __stop_exception_table[];

struct trap_recovered_fault trap_last_recovered_fault;

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

static bool trap_from_user(const struct trap_frame *frame)
{
    return (frame->cs & 3) != 0;
}

static NORETURN void trap_report_and_stop(const struct trap_frame *frame, vaddr_t cr2)
{
    kprintf("\n*** STOP: unexpected exception %u (%s) in %s mode\n", frame->vector,
            exception_names[frame->vector], trap_from_user(frame) ? "user" : "kernel");
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

/* Resumes kernel code at its fixup if it registered one for the faulting EIP. */
static bool trap_fixup(struct trap_frame *frame, vaddr_t cr2)
{
    for (const struct exception_table_entry *e = __start_exception_table;
         e < __stop_exception_table; e++) {
        if (e->fault_eip == frame->eip) {
            trap_last_recovered_fault = (struct trap_recovered_fault){
                frame->vector, cr2, frame->error_code, frame->eip};
            frame->eip = e->fixup_eip;
            return true;
        }
    }
    return false;
}

static void trap_page_fault(struct trap_frame *frame)
{
    vaddr_t address = cpu_read_cr2();
    enum mm_access access = frame->error_code & PF_WRITE ? MM_ACCESS_WRITE : MM_ACCESS_READ;
    bool user = frame->error_code & PF_USER;

    if (NT_SUCCESS(MmAccessFault(address, access, user)))
        return;
    if (!user && trap_fixup(frame, address))
        return;
    trap_report_and_stop(frame, address);
}

void trap_dispatch(struct trap_frame *frame)
{
    if (frame->vector == TRAP_PAGE_FAULT) {
        trap_page_fault(frame);
        return;
    }
    if (!trap_from_user(frame) && trap_fixup(frame, 0))
        return;
    trap_report_and_stop(frame, 0);
}

/*
 * Runs as its own task after a double fault; the state of the code that faulted was
 * saved by the CPU into kernel_tss (SDM vol. 3A, 7.3).
 */
NORETURN void trap_double_fault_task(void)
{
    const struct tss *t = &kernel_tss;

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
