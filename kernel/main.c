/*
 * kernel_main: from the multiboot handoff to a running kernel. The order matters:
 * the console first (so everything after can speak), then traps (so a fault is
 * reported, not a triple fault), then the boot information is copied out before
 * the memory it sits in can be handed out.
 */
#include "io/ahci.h"
#include "io/ata.h"
#include "io/block.h"
#include "arch/acpi.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/descriptors.h"
#include "arch/fb_console.h"
#include "arch/machine.h"
#include "arch/pci.h"
#include "arch/pic.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/pit.h"
#include "kernel/processors.h"
#include "arch/serial.h"
#include "arch/trap.h"
#include "arch/vga_text.h"
#include "boot/boot_info.h"
#include "boot/paging_mode.h"
#include "arch/lockcheck.h"
#include "kernel/bench.h"
#include "kernel/boot_command.h"
#include "kernel/exception.h"
#include "kernel/isolation_probe.h"
#include "kernel/loader.h"
#include "kernel/process.h"
#include "kernel/shared_data.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pagefile.h"

#define MULTIBOOT1_BOOT_MAGIC 0x2BADB002    /* in EAX at entry (Multiboot 0.6.96, 3.2) */
#define MULTIBOOT2_BOOT_MAGIC 0x36D76289    /* in EAX at entry (Multiboot2 2.0, 3.3) */

struct boot_info kernel_boot_info;
struct acpi_info kernel_acpi;

static bool read_physical(void *context, boot_paddr_t address, void *buffer, size_t length)
{
    (void)context;
    if (length && address + length - 1 < address)
        return false;
    MmCopyFromPhysical(buffer, address, length);
    return true;
}

static void print_boot_info(const struct boot_info *boot)
{
    static const char *const sources[] = {"none", "memory map", "mem_lower/mem_upper"};

    kprintf("boot: loader \"%s\" (multiboot %u), command line \"%s\"\n",
            boot->loader_name[0] ? boot->loader_name : "unknown", boot->protocol,
            boot->command_line);
    for (unsigned i = 0; i < MIN(boot->warning_count, (unsigned)BOOT_WARNINGS_MAX); i++)
        kprintf("boot: warning: %s\n", boot->warnings[i]);
    if (boot->warning_count > BOOT_WARNINGS_MAX)
        kprintf("boot: %u more warnings\n", boot->warning_count - BOOT_WARNINGS_MAX);
    kprintf("boot: physical memory from the %s:\n", sources[boot->memory_source]);
    for (unsigned i = 0; i < boot->memory_map_count; i++) {
        const struct boot_memory_entry *e = &boot->memory_map[i];
        kprintf("  0x%09llx-0x%09llx %s\n", (unsigned long long)e->base,
                (unsigned long long)(e->base + e->length - 1),
                e->type == BOOT_MEMORY_AVAILABLE ? "available" : "reserved");
    }
    for (unsigned i = 0; i < boot->module_count; i++)
        if (boot->modules[i].end > boot->modules[i].start)
            kprintf("boot: module %u \"%s\" at 0x%08x-0x%08x\n", i, boot->modules[i].name,
                    boot->modules[i].start, boot->modules[i].end - 1);
        else
            kprintf("boot: module %u \"%s\" at 0x%08x, empty\n", i, boot->modules[i].name,
                    boot->modules[i].start);
}

/* Warns of the words of the command line that no part of the kernel reads. */
static void warn_unknown_options(const char *line)
{
    enum { NAMED_MAX = 8 };
    struct cmdline_word word;
    unsigned unknown = 0;

    for (bool first = true; cmdline_next_word(&line, &word); first = false) {
        if (cmdline_is_known(&word, first))
            continue;
        if (unknown++ < NAMED_MAX)
            kprintf("warning: unknown option \"%.*s\" ignored\n", (int)MIN(word.length, 64u),
                    word.text);
    }
    if (unknown > NAMED_MAX)
        kprintf("warning: %u more unknown options ignored\n", unknown - NAMED_MAX);
}

/* One warning of boot/paging_mode.c, saying what is used instead (the mode, decided). */
static void print_paging_note(const struct paging_note *note, const struct paging_mode *mode)
{
    int length = (int)MIN(note->length, 64u);

    switch (note->kind) {
    case PAGING_NOTE_BAD_VALUE:
        if (note->word[0] == 'p' || note->word[0] == 'P')
            kprintf("warning: %.*s ignored: pae= takes ForceEnable, ForceDisable or Default; "
                    "using the %s format\n", length, note->word, mode->pae ? "PAE" : "two-level");
        else
            kprintf("warning: %.*s ignored: the policy is OptIn, OptOut, AlwaysOn or AlwaysOff; "
                    "using %s\n", length, note->word, nx_policy_name(mode->policy));
        break;
    case PAGING_NOTE_OVERRIDDEN:
        kprintf("warning: %.*s ignored: %.*s, later on the line, is used\n", length,
                note->word, (int)MIN(note->other_length, 64u), note->other);
        break;
    case PAGING_NOTE_NOPAE_NEEDS_NX_OFF:
        kprintf("warning: %.*s ignored: no-execute needs PAE (add /EXECUTE or "
                "/NOEXECUTE=AlwaysOff to run without it)\n", length, note->word);
        break;
    case PAGING_NOTE_NO_PAE_CPU:
        kprintf("warning: %.*s ignored: the processor has no PAE; using the two-level format\n",
                length, note->word);
        break;
    case PAGING_NOTE_NO_NX_CPU:
        kprintf("warning: %.*s ignored: the processor cannot refuse execution (no NX); "
                "no-execute is off\n", length, note->word);
        break;
    }
}

/*
 * The page-table format and the no-execute policy (boot/paging_mode.h), chosen again from
 * the line and the processor the boot stub chose this build from; printed with each
 * warning, and EFER.NXE turned on when execution is to be refused. Before the memory
 * manager makes its first entry.
 */
static void start_paging_mode(const char *command_line)
{
    struct paging_cpu cpu = {.pae = cpu_features.pae, .nx = cpu_features.nx};
    struct paging_mode *mode = &boot_paging_mode;

    paging_mode_choose(command_line, &cpu, mode);
    for (unsigned i = 0; i < mode->note_count; i++)
        print_paging_note(&mode->notes[i], mode);
    if (mode->pae != MM_PAE) {
        kprintf("warning: this boot calls for the %s format, but the %s build is running (a "
                "damaged kernel file, or one build booted on its own)\n",
                mode->pae ? "PAE" : "two-level", MM_PAE ? "PAE" : "two-level");
        mode->pae = MM_PAE;
        if (!MM_PAE) {
            mode->nx = false;
            mode->policy = NX_POLICY_ALWAYS_OFF;
        }
    }
    if (mode->nx)
        cpu_enable_no_execute();
    kprintf("paging: %s (%u-byte entries); no-execute %s, policy %s\n",
            MM_PAE ? "PAE" : "two-level", PTE_SIZE,
            mode->nx ? "on" : cpu_features.nx ? "off" : "off (the processor has no NX)",
            nx_policy_name(mode->policy));
}

/*
 * Physical memory for the ACPI tables, which may lie anywhere the firmware put them: an
 * address the processor cannot form is refused, not mapped.
 */
static bool read_acpi(void *context, uint64_t address, void *buffer, size_t length)
{
    uint64_t limit = 1ull << (MM_PAE ? MAX(cpu_features.physical_address_bits, 32u) : 32);

    (void)context;
    if (length == 0 || address >= limit || length > limit - address)
        return false;
    MmCopyFromPhysical(buffer, (paddr_t)address, length);
    return true;
}

/* The processors and interrupt controllers the firmware describes (arch/acpi.h). */
static void find_processors(void)
{
    struct acpi_info *acpi = &kernel_acpi;

    acpi_read_tables(read_acpi, NULL, kernel_boot_info.acpi_rsdp,
                     kernel_boot_info.acpi_rsdp_length, acpi);
    if (!acpi->rsdp_found) {
        kprintf("acpi: no RSDP found%s%s; one processor assumed\n",
                acpi->problem ? ": " : "", acpi->problem ? acpi->problem : "");
        return;
    }
    kprintf("acpi: RSDP %s (revision %u, OEM \"%s\")", acpi->from_loader
            ? "from the loader" : "found in the BIOS area", acpi->revision, acpi->oem_id);
    if (acpi->madt_found) {
        unsigned processors = acpi_enabled_processors(acpi);
        kprintf(", MADT: %u processor%s (APIC id%s", processors, processors == 1 ? "" : "s",
                processors == 1 ? "" : "s");
        for (unsigned i = 0; i < acpi->processor_count; i++)
            if (acpi->processors[i].enabled)
                kprintf(" %u", acpi->processors[i].apic_id);
        kprintf("), %u I/O APIC%s, %u interrupt overrides%s", acpi->io_apic_count,
                acpi->io_apic_count == 1 ? "" : "s", acpi->override_count,
                acpi->pc_at_compatible ? ", 8259 PICs present" : "");
    } else {
        kprintf(", no MADT");
    }
    kprintf("\n");
    if (acpi->problem)
        kprintf("acpi: warning: %s; what came before it is used\n", acpi->problem);
    if (acpi->processors_dropped)
        kprintf("acpi: warning: %u processors past the first %u not listed\n",
                acpi->processors_dropped, ACPI_MAX_PROCESSORS);
}

/* Text on the loader's linear framebuffer, when it left one instead of VGA text mode. */
static void framebuffer_console_init(const struct boot_framebuffer *fb)
{
    if (!fb->present || fb->type != BOOT_FRAMEBUFFER_RGB)
        return;
    struct fb_geometry geometry = {
        .pitch = fb->pitch, .width = fb->width, .height = fb->height, .bpp = fb->bpp,
        .red_position = fb->red_position, .red_size = fb->red_size,
        .green_position = fb->green_position, .green_size = fb->green_size,
        .blue_position = fb->blue_position, .blue_size = fb->blue_size,
    };
    bool drawn = fb->address <= UINT32_MAX &&
                 fb_console_init((paddr_t)fb->address, &geometry, MmMapIoSpace);
    kprintf("framebuffer: %ux%u, %u bpp at 0x%llx: %s\n", fb->width, fb->height, fb->bpp,
            (unsigned long long)fb->address, drawn ? "text console" : "cannot draw text on it");
}

/*
 * Processes, threads and the clock. From here on the boot code is the first thread of
 * the system process, and interrupts are on.
 */
static void start_multitasking(void)
{
    process_init();
    shared_data_init();
    scheduler_init();
    pic_init();
    pit_init();
    hal_connect_interrupt(0, scheduler_tick);
    cpu_enable_interrupts();
    lockcheck_interrupts_started = true;
}

/* The modified-page writer, a system thread, once there is a pagefile to write to. */
static void start_modified_page_writer(void)
{
    if (!MiPagefile.present)
        return;
    ntstatus_t status = thread_create(&system_process, MmModifiedPageWriter, NULL, 0, 0, 0,
                                      false, NULL);
    if (!NT_SUCCESS(status))
        panic("no thread for the modified-page writer (status 0x%08x)", (uint32_t)status);
}

/*
 * run=NAME[,NAME...] starts the named modules (each with its name as its command line)
 * and reports how each ended.
 */
static void run_programs(const struct cmdline_word *list)
{
    struct process *started[BOOT_MODULES_MAX];
    unsigned count = 0;
    size_t i = 0;

    while (i < list->value_length && count < BOOT_MODULES_MAX) {
        size_t start = i;
        while (i < list->value_length && list->value[i] != ',')
            i++;
        const char *name = list->value + start;
        size_t length = i++ - start;
        ntstatus_t status = loader_start_module(name, length, name, length, &started[count]);
        if (NT_SUCCESS(status))
            kprintf("run: started %.*s as process %u\n", (int)length, name,
                    started[count++]->id);
        else
            kprintf("run: cannot start %.*s: status 0x%08X\n", (int)length, name,
                    (uint32_t)status);
    }
    for (unsigned n = 0; n < count; n++) {
        process_wait(started[n], WAIT_FOREVER);
        kprintf("run: process %u (%s) exited with status 0x%08X\n", started[n]->id,
                started[n]->name, (uint32_t)started[n]->exit_status);
        object_dereference(&started[n]->header);
    }
}

/* Runs the boot command named option (kernel/boot_command.h) when the command line has it. */
static void run_boot_command(const char *name)
{
    struct cmdline_word option;

    if (!cmdline_find(kernel_boot_info.command_line, name, &option))
        return;
    for (const struct boot_command *command = __start_boot_commands;
         command < __stop_boot_commands; command++)
        if (strcmp(command->option, name) == 0)
            command->run(option.value, option.value_length);
}

NORETURN void kernel_main(uint32_t boot_magic, boot_paddr_t boot_info_address);

NORETURN void kernel_main(uint32_t boot_magic, boot_paddr_t boot_info_address)
{
    descriptors_init();                 /* first: everything reads the processor's region */
    scheduler_adopt_boot_code();
    machine_init();
    serial_console_init();
    kprintf("NT memory-model kernel for i386\n");
    exception_init();
    cpu_features_init();
    MmInitializeBootMappings();

    if (boot_magic == MULTIBOOT1_BOOT_MAGIC)
        boot_info_parse_multiboot1(&kernel_boot_info, read_physical, NULL, boot_info_address);
    else if (boot_magic == MULTIBOOT2_BOOT_MAGIC)
        boot_info_parse_multiboot2(&kernel_boot_info, read_physical, NULL, boot_info_address);
    else
        panic("not started by a multiboot loader (EAX 0x%08x); no boot information",
              boot_magic);
    paddr_t kernel_start, kernel_end;
    MmGetKernelImageRange(&kernel_start, &kernel_end);
    boot_info_drop_modules_over(&kernel_boot_info, (boot_paddr_t)kernel_start,
                                (boot_paddr_t)kernel_end);
    print_boot_info(&kernel_boot_info);
    warn_unknown_options(kernel_boot_info.command_line);
    start_paging_mode(kernel_boot_info.command_line);
    struct cmdline_word option;
    if (cmdline_find(kernel_boot_info.command_line, "verifier", &option)) {
        lockcheck_enable();
        kprintf("verifier: the lock checker is on\n");
    }
    if (kernel_boot_info.memory_source == BOOT_MEMORY_NONE)
        panic("the boot loader gave no memory information; cannot continue");

    MmInitializeSplit(kernel_boot_info.command_line);
    MmInitSystem(&kernel_boot_info);
    if (kernel_boot_info.vga_text)
        vga_text_console_init(MmMapIoSpace);
    else
        framebuffer_console_init(&kernel_boot_info.framebuffer);
    cpu_features_print();
    find_processors();
    MmPrintBootReport();
    start_multitasking();
    processors_start(&kernel_acpi, kernel_boot_info.command_line);
    block_initialize(&scheduler_ticks);
    pci_register_driver(&ata_pci_driver);
    pci_register_driver(&ahci_pci_driver);
    pci_initialize();
    ata_initialize(&scheduler_ticks, kernel_boot_info.command_line);
    MmInitializePagefile(kernel_boot_info.command_line, block_paging_disk_at);
    start_modified_page_writer();
    isolation_probe_all();

    run_boot_command("crash");
    if (cmdline_find(kernel_boot_info.command_line, "bench", &option))
        bench_run();
    run_boot_command("test");
    if (cmdline_find(kernel_boot_info.command_line, "run", &option))
        run_programs(&option);
    kprintf("boot complete: the machine is idle\n");
    struct wait_queue forever;
    wait_queue_init(&forever);
    for (;;)
        scheduler_wait(&forever, WAIT_FOREVER);
}
