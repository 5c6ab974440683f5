/*
 * Starting the application processors (contract in kernel/processors.h). The sequence is
 * the SDM's (vol. 3A, 9.4.4.1): INIT, 10 ms, STARTUP, then a second STARTUP if the first
 * was not answered. Processors start one at a time, so one start-up page and one block
 * serve them all. The waits count the boot processor's clock, which runs by now.
 */
#include "arch/apic.h"
#include "arch/context.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/descriptors.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/pcr.h"
#include "kernel/processors.h"
#include "arch/trap.h"
#include "boot/paging_mode.h"
#include "kernel/shared_data.h"
#include "kernel/thread.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "mm/pool.h"

#define TAG_PROCESSOR       0x636F7250      /* 'Proc' */
#define INIT_DELAY_MS       10
#define STARTUP_DELAY_MS    1               /* the SDM asks 200 us; the clock counts ms */
#define ANSWER_TIMEOUT_MS   200
#define LOW_MEMORY_PAGES    0xA0            /* real mode reaches 640 KB of RAM */

/* The start-up code's bytes (arch/ap_trampoline.S) and the places in them filled in. */
extern const uint8_t ap_trampoline[], ap_trampoline_end[], ap_trampoline_block[];
extern const uint8_t ap_trampoline_gdt[], ap_trampoline_gdt_base[];
extern const uint8_t ap_trampoline_jump_offset[], ap_trampoline_protected[];

/* What the start-up code loads, at ap_trampoline_block; the order is its offsets'. */
struct trampoline_block {
    uint32_t cr4;
    uint32_t no_execute;            /* 1: set EFER.NXE before paging */
    uint32_t cr3;
    uint32_t cr0;
    uint32_t stack;
    uint32_t entry;
    uint32_t argument;
};

/* What an application processor has of its own, in one block of nonpaged pool. */
struct processor_block {
    struct kprcb prcb;
    struct processor_descriptors descriptors;
};

uint64_t processors_apic_timer_hz;

/*
 * The start's handshake: the processor claims it first thing (WAITING to ARRIVED), before
 * it touches anything shared, and says READY at the end; the boot processor that gives
 * up claims it instead (WAITING to GIVEN_UP), and a processor that arrives after that
 * halts where it is. So a late start never joins the machine half-way.
 */
enum { WAITING, ARRIVED, READY, GIVEN_UP };
static volatile uint32_t answered;

/* Moves answered from one state to the next, if it is in the first; whether it was. */
static bool claim(uint32_t from, uint32_t to)
{
    uint32_t expected = from;

    return __atomic_compare_exchange_n(&answered, &expected, to, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static size_t trampoline_offset(const uint8_t *symbol)
{
    return (size_t)(symbol - ap_trampoline);
}

uint32_t processors_limit_from_command_line(const char *line, char *warning,
                                            size_t warning_size)
{
    struct cmdline_word word;
    uint32_t limit = 0;

    while (cmdline_next_word(&line, &word)) {
        if (!cmdline_word_is(&word, "/NUMPROC") && !cmdline_word_is(&word, "numproc") &&
            !cmdline_word_is(&word, "maxcpus"))
            continue;
        uint32_t value;
        if (cmdline_value_u32(&word, &value) && value > 0)
            limit = value;
        else if (warning_size)
            ksnprintf(warning, warning_size,
                      "warning: %.*s ignored: the number of processors must be 1 or more\n",
                      (int)MIN(word.length, 64u), word.text);
    }
    return limit;
}

/* The application processor's first C code, on its idle thread's stack, at DISPATCH_LEVEL. */
static NORETURN void processor_entry(struct processor_block *block)
{
    struct kprcb *prcb = &block->prcb;

    if (!claim(WAITING, ARRIVED))
        for (;;)
            __asm__ volatile("cli; hlt");       /* too late: the machine went on without it */
    descriptors_init_processor(prcb, &block->descriptors);
    cpu_features_init_processor();
    arch_set_kernel_stack(prcb->idle_thread->stack_top);
    apic_init_processor(false);                 /* first: IPIs reach it from here on */
    prcb->apic_id = apic_id();
    MiLoadAddressSpace(MmSystemAddressSpace);
    /*
     * Counted in before the flush of everything: a change to system space made before
     * this point is dropped by the flush, one after it is shot down here.
     */
    __atomic_fetch_add(&KeNumberProcessors, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&KeActiveProcessors, prcb->set_member, __ATOMIC_SEQ_CST);
    cpu_flush_tlb_all();
    apic_timer_start(TRAP_APIC_CLOCK, (uint32_t)(processors_apic_timer_hz / 1000));
    __atomic_store_n(&answered, READY, __ATOMIC_SEQ_CST);
    KiIdleProcessor();
}

/* The highest free page below 640 KB, for the start-up code; PFN_INVALID if none. */
static pfn_t take_startup_page(void)
{
    for (pfn_t pfn = LOW_MEMORY_PAGES - 1; pfn > 0; pfn--)
        if (MiTakeFreePage(pfn, MI_USE_SYSTEM) != PFN_INVALID)
            return pfn;
    return PFN_INVALID;
}

static void wait_ms(uint32_t ms)
{
    uint64_t end = scheduler_ticks + ms + 1;    /* a whole ms at least: the first may be short */

    while (scheduler_ticks < end)
        cpu_relax();
}

/* Whether the processor arrived within ms (and then, however long it takes, is ready). */
static bool wait_for_answer(uint32_t ms)
{
    uint64_t end = scheduler_ticks + ms + 1;

    while (__atomic_load_n(&answered, __ATOMIC_SEQ_CST) == WAITING && scheduler_ticks < end)
        cpu_relax();
    if (__atomic_load_n(&answered, __ATOMIC_SEQ_CST) == WAITING)
        return false;
    while (__atomic_load_n(&answered, __ATOMIC_SEQ_CST) != READY)
        cpu_relax();                /* it runs kernel code now: a few instructions more */
    return true;
}

/* A region for processor number, with its apic_id; NULL when out of memory. */
static struct processor_block *make_processor(unsigned number, uint32_t apic_id)
{
    struct processor_block *block =
        ExAllocatePoolWithTag(NonPagedPool, sizeof(*block), TAG_PROCESSOR);

    if (!block)
        return NULL;
    memset(block, 0, sizeof(*block));
    struct kprcb *prcb = &block->prcb;
    prcb->self = prcb;
    prcb->number = (uint8_t)number;
    prcb->set_member = 1u << number;
    prcb->apic_id = apic_id;
    prcb->irql = DISPATCH_LEVEL;            /* until its idle thread lowers it */
    list_init(&prcb->dpc_list);
    prcb->idle_thread = KiCreateIdleThread();
    if (!prcb->idle_thread) {
        ExFreePoolWithTag(block, TAG_PROCESSOR);
        return NULL;
    }
    prcb->current_thread = prcb->idle_thread;
    prcb->idle_thread->processor = (uint8_t)number;
    return block;
}

/* Sends the start-up sequence to apic_id and waits for the answer. */
static bool start_one(uint32_t apic_id, pfn_t page)
{
    __atomic_store_n(&answered, WAITING, __ATOMIC_SEQ_CST);
    if (apic_send_init(apic_id)) {
        wait_ms(INIT_DELAY_MS);
        for (unsigned attempt = 0; attempt < 2; attempt++) {
            if (!apic_send_startup(apic_id, (uint8_t)page))
                break;
            if (wait_for_answer(attempt == 0 ? STARTUP_DELAY_MS : ANSWER_TIMEOUT_MS))
                return true;
        }
    }
    /* Given up, unless it arrived this very moment (then it is waited for). */
    return !claim(WAITING, GIVEN_UP) && wait_for_answer(0);
}

/* Starts processor number (APIC id apic_id) from the start-up page; false if it did not answer. */
static bool start_processor(unsigned number, uint32_t apic_id, pfn_t page)
{
    struct processor_block *block = make_processor(number, apic_id);

    if (!block) {
        kprintf("cpu: no memory for processor %u (APIC id %u); left out\n", number, apic_id);
        return false;
    }
    struct trampoline_block startup = {
        .cr4 = cpu_read_cr4(),
        .no_execute = boot_paging_mode.nx,
        .cr3 = (uint32_t)MmSystemAddressSpace->cr3,
        .cr0 = cpu_read_cr0(),
        .stack = (uint32_t)block->prcb.idle_thread->stack_top,
        .entry = (uint32_t)processor_entry,
        .argument = (uint32_t)block,
    };
    MmCopyToPhysical(pfn_to_paddr(page) + trampoline_offset(ap_trampoline_block), &startup,
                     sizeof(startup));
    KiProcessorBlock[number] = &block->prcb;
    if (start_one(apic_id, page))
        return true;
    /* Reset again; a start that comes anyway halts at the handshake. Its block stays. */
    apic_send_init(apic_id);
    KiProcessorBlock[number] = NULL;
    kprintf("cpu: processor %u (APIC id %u) did not answer its start-up messages; left out\n",
            number, apic_id);
    return false;
}

void processors_start(const struct acpi_info *acpi, const char *command_line)
{
    char warning[128] = "";
    uint32_t limit = processors_limit_from_command_line(command_line, warning, sizeof(warning));
    unsigned listed = acpi->madt_found ? acpi_enabled_processors(acpi) : 1;

    if (warning[0])
        kprintf("%s", warning);
    if (limit == 0 || limit > KE_MAX_PROCESSORS)
        limit = MIN(listed, (unsigned)KE_MAX_PROCESSORS);
    if (listed > KE_MAX_PROCESSORS)
        kprintf("cpu: %u processors listed; this kernel runs at most %u\n", listed,
                KE_MAX_PROCESSORS);
    if (listed <= 1 || limit <= 1) {
        if (listed > 1)
            kprintf("cpu: the command line limits the machine to one processor; %u more "
                    "stay%s idle\n", listed - 1, listed == 2 ? "s" : "");
        return;
    }
    if (!apic_init(acpi->local_apic_address, MmMapIoSpace)) {
        kprintf("cpu: no usable local APIC; one processor runs, %u more stay%s idle\n",
                listed - 1, listed == 2 ? "s" : "");
        return;
    }
    pcr_boot_processor.apic_id = apic_id();
    uint32_t flags = cpu_save_disable_interrupts();
    processors_apic_timer_hz = apic_timer_calibrate();
    cpu_restore_interrupts(flags);
    if (processors_apic_timer_hz < 1000) {
        kprintf("cpu: the local APIC timer did not count; one processor runs\n");
        return;
    }
    pfn_t page = take_startup_page();
    if (page == PFN_INVALID || !MmMapStartupPage(pfn_to_paddr(page))) {
        kprintf("cpu: no page below 640 KB for the start-up code; one processor runs\n");
        if (page != PFN_INVALID)
            MiReleasePageReference(page);
        return;
    }
    size_t length = (size_t)(ap_trampoline_end - ap_trampoline);
    static uint8_t code[PAGE_SIZE];
    memcpy(code, ap_trampoline, length);
    uint32_t base = (uint32_t)pfn_to_paddr(page);
    uint32_t gdt = base + (uint32_t)trampoline_offset(ap_trampoline_gdt);
    uint32_t jump = base + (uint32_t)trampoline_offset(ap_trampoline_protected);
    memcpy(code + trampoline_offset(ap_trampoline_gdt_base), &gdt, sizeof(gdt));
    memcpy(code + trampoline_offset(ap_trampoline_jump_offset), &jump, sizeof(jump));
    MmCopyToPhysical(base, code, length);

    kprintf("cpu: processor 0 (APIC id %u) boots; local APIC timer at %u kHz\n",
            pcr_boot_processor.apic_id, (uint32_t)(processors_apic_timer_hz / 1000));
    unsigned number = 1;
    for (unsigned i = 0; i < acpi->processor_count && number < limit; i++) {
        const struct acpi_processor *p = &acpi->processors[i];
        if (!p->enabled || p->apic_id == pcr_boot_processor.apic_id)
            continue;
        if (start_processor(number, p->apic_id, page))
            kprintf("cpu: processor %u (APIC id %u) started\n", number++, p->apic_id);
    }
    MmUnmapStartupPage(base);
    MiReleasePageReference(page);
    shared_data_set_processors(KeNumberProcessors);
    kprintf("cpu: %u processor%s running", KeNumberProcessors,
            KeNumberProcessors == 1 ? "" : "s");
    if (listed > KeNumberProcessors)
        kprintf(", %u left out", listed - KeNumberProcessors);
    kprintf("\n");
}
