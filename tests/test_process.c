/*
 * Processes: private address spaces switched with CR3, the loader, system calls from
 * ring 3, user faults that end only their own process, and no frame or pool block left
 * behind. Most cases start the user-mode test programs (tests/user/), which the boot
 * hands over as modules; without them the cases are skipped, not passed.
 */
#include "arch/copy_checked.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/pit.h"
#include "boot/boot_info.h"
#include "kernel/loader.h"
#include "kernel/modules.h"
#include "kernel/usercopy.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pool.h"
#include "mm/syspte.h"
#include "mm/vad.h"
#include "tests/program_harness.h"

NORETURN void kernel_main(uint32_t boot_magic, paddr_t boot_info_address);

/* ---- address spaces ---- */

#define ATTACH_TEST_ADDRESS 0x10000000

/* Gives process a committed page at ATTACH_TEST_ADDRESS holding value. */
static bool plant(struct ktest *t, struct process *process, uint32_t value)
{
    vaddr_t base = ATTACH_TEST_ADDRESS;

    process_attach(process);
    bool ok = KT_EXPECT_EQ(t, STATUS_SUCCESS,
                           MmReserveUserRange(&base, MM_ALLOCATION_GRANULARITY, MI_VAD_PRIVATE,
                                              0, PAGE_READWRITE)) &&
              KT_EXPECT_EQ(t, STATUS_SUCCESS, MmCommitUserRange(base, PAGE_SIZE, PAGE_READWRITE)) &&
              KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base, &value, sizeof(value)));
    process_detach();
    return ok;
}

static uint32_t read_attached(struct process *process)
{
    uint32_t value = 0;

    process_attach(process);
    user_copy_from(&value, ATTACH_TEST_ADDRESS, sizeof(value));
    process_detach();
    return value;
}

/*
 * The kernel attached to A sees A's memory, attached to B sees B's at the same address,
 * and detached sees no user memory at all.
 */
static void attach_sees_only_that_process(struct ktest *t)
{
    struct resources before;
    struct process *a, *b;
    uint32_t value;

    take_snapshot(&before);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("attach-a", false, &a));
    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("attach-b", false, &b));
    if (plant(t, a, 0xAAAA0001) && plant(t, b, 0xBBBB0002)) {
        KT_EXPECT_EQ(t, 0xAAAA0001, read_attached(a));
        KT_EXPECT_EQ(t, 0xBBBB0002, read_attached(b));
        KT_EXPECT_EQ(t, 0xAAAA0001, read_attached(a));
        KT_EXPECT(t, MmCurrentAddressSpace() == &system_process.space);
        KT_EXPECT(t, arch_copy_checked(&value, (const void *)ATTACH_TEST_ADDRESS, 4) != 0);
    }
    process_discard(a);
    process_discard(b);
    expect_nothing_leaked(t, &before);
}

/* Every process's directory shares the system half: the same PDEs as the system's. */
static void system_space_shared_by_every_process(struct ktest *t)
{
    struct process *process;

    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("shared-pdes", false, &process));
    /* A system page table made after the process exists must reach it too. */
    vaddr_t far = MiReserveSystemPtes(PTES_PER_TABLE * 2);
    mmpte_t *pte = far ? MiGetPte(far + PDE_SPAN, true) : NULL;
    unsigned differ = 0;
    for (unsigned i = MmSystemRangeStart >> PDE_SHIFT; i < PDE_COUNT; i++) {
        /* The self-map and hyperspace PDEs are each space's own. */
        if (i >= (PTE_BASE >> PDE_SHIFT) && i < (HYPER_SPACE_END >> PDE_SHIFT))
            continue;
        /* The CPU sets Accessed (and Dirty) in whichever directory it walked. */
        ptebits_t difference = process->space.directory[i].value ^
                               system_process.space.directory[i].value;
        if ((difference & ~(PTE_ACCESSED | PTE_DIRTY)) && differ++ < 4)
            ktest_diag(t, "PDE 0x%x: 0x%llx in the process, 0x%llx in the system", i,
                       (unsigned long long)process->space.directory[i].value,
                       (unsigned long long)system_process.space.directory[i].value);
    }
    KT_EXPECT(t, pte != NULL);
    KT_EXPECT_EQ(t, 0, differ);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        KT_EXPECT(t, process->space.directory[PTE_SELF_MAP_INDEX + i].value !=
                     system_process.space.directory[PTE_SELF_MAP_INDEX + i].value);
    if (far)
        MiReleaseSystemPtes(far, PTES_PER_TABLE * 2);
    process_discard(process);
}

#define PING_PONG_ROUNDS 500

static void yield_rounds(void *done)
{
    for (unsigned i = 0; i < PING_PONG_ROUNDS; i++)
        scheduler_yield();
    *(volatile bool *)done = true;
}

/*
 * Two threads of one process (here the system process) yield to each other on this
 * processor: every switch is real, and none of them loads CR3. The thread's stack is
 * freed afterwards.
 */
static void threads_of_one_process_switch_without_cr3_loads(struct ktest *t)
{
    struct kprcb *prcb = KeGetCurrentPrcb();     /* the cases run on one processor */
    struct resources before;
    volatile bool done = false;
    struct thread *other;

    take_snapshot(&before);
    uint64_t switches = prcb->statistics.context_switches;
    uint32_t cr3_loads = prcb->statistics.cr3_loads;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 thread_create(&system_process, yield_rounds, (void *)&done, 0, 0, 0, true,
                               &other));
    KeSetThreadAffinity(other, prcb->set_member);
    KIRQL old = KiAcquireDispatcherLock();
    KiResumeThreadLocked(other);
    KiReleaseDispatcherLock(old);
    for (unsigned i = 0; !done && i < 10 * PING_PONG_ROUNDS; i++)
        scheduler_yield();
    scheduler_yield();      /* once more, so that the ended thread is reaped */
    KT_EXPECT(t, done);
    KT_EXPECT(t, prcb->statistics.context_switches - switches >= 2 * PING_PONG_ROUNDS);
    KT_EXPECT_EQ(t, 0, prcb->statistics.cr3_loads - cr3_loads);
    expect_nothing_leaked(t, &before);
}

/* ---- the loader ---- */

/* A private copy of a module, to be damaged by the caller. */
static uint8_t *copy_module(const char *name, size_t *size)
{
    const struct boot_module *module = module_find(name, strlen(name));
    *size = module->end - module->start;
    uint8_t *copy = ExAllocatePoolWithTag(NonPagedPool, *size, 0x74736554);

    if (copy)
        MmCopyFromPhysical(copy, module->start, *size);
    return copy;
}

static ntstatus_t load(const uint8_t *file, size_t size)
{
    struct process *process;
    ntstatus_t status = loader_start_image(file, size, "damaged", "damaged", 7, NULL, false,
                                           &process);

    if (NT_SUCCESS(status)) {
        process_terminate(process, STATUS_SUCCESS);
        process_wait(process, WAIT_FOREVER);
        object_dereference(&process->header);
    }
    return status;
}

static void put32(uint8_t *file, uint32_t offset, uint32_t value)
{
    memcpy(file + offset, &value, sizeof(value));
}

/* Damaged copies of a real program are refused, and refusing them costs nothing. */
static void malformed_images_refused_without_leaks(struct ktest *t)
{
    struct resources before;
    size_t size;

    if (!have_module(t, "hello.exe"))
        KT_SKIP(t, "hello.exe not loaded");
    take_snapshot(&before);
    uint8_t *file = copy_module("hello.exe", &size);
    KT_ASSERT(t, file != NULL);
    uint32_t pe = 0;
    memcpy(&pe, file + 0x3C, sizeof(pe));
    uint32_t image_base_offset = pe + 4 + 20 + 28;  /* PE/COFF: OptionalHeader.ImageBase */

    KT_EXPECT_EQ(t, STATUS_SUCCESS, load(file, size));
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, 0));
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, 64));
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, pe + 24));
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size / 2));
    file[0] = 'X';
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size));
    file[0] = 'M';
    file[pe] = 'Q';
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size));
    file[pe] = 'P';
    uint32_t preferred;
    memcpy(&preferred, file + image_base_offset, sizeof(preferred));
    put32(file, image_base_offset, MmSystemRangeStart);
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size));
    put32(file, image_base_offset, 0xC0000000);
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size));
    put32(file, image_base_offset, 0);
    KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, load(file, size));
    put32(file, image_base_offset, preferred);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, load(file, size));
    ExFreePoolWithTag(file, 0x74736554);
    expect_nothing_leaked(t, &before);
}

/* The frame behind va in process, after touching it (a read, or a write of value). */
static paddr_t touch(struct process *process, vaddr_t va, bool write, uint32_t *value)
{
    paddr_t physical = 0;

    process_attach(process);
    if (write)
        user_copy_to(va, value, sizeof(*value));
    else
        user_copy_from(value, va, sizeof(*value));
    MmGetPhysicalAddress(va, &physical);
    process_detach();
    return physical;
}

/* The first page of the image at base with protection, or 0. */
static vaddr_t find_image_page(struct process *process, vaddr_t base, uint32_t protection)
{
    struct nt_memory_basic_information info;
    vaddr_t found = 0;

    process_attach(process);
    for (vaddr_t va = base; !found && NT_SUCCESS(MmQueryVirtualMemory(va, &info)) &&
                            info.allocation_base == base && info.type == MEM_IMAGE;
         va += info.region_size)
        if (info.protect == protection)
            found = va;
    process_detach();
    return found;
}

/*
 * Two processes from one module share its image frame for frame: code and read-only
 * pages for good, writable pages until one writes, which gives it a private copy.
 * (Neither process runs meanwhile: both are created suspended, and end so.)
 */
static void image_pages_shared_and_copy_on_write(struct ktest *t)
{
    struct resources before;
    struct process *a, *b;
    uint32_t value_a, value_b, stamp = 0x57A3F00D;

    if (!have_module(t, "hello.exe"))
        KT_SKIP(t, "hello.exe not loaded");
    take_snapshot(&before);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program_suspended("hello.exe", "a", &a));
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program_suspended("hello.exe", "b", &b));
    vaddr_t base = 0x400000;
    vaddr_t code = find_image_page(a, base, PAGE_EXECUTE_READ);
    vaddr_t data = find_image_page(a, base, PAGE_WRITECOPY);
    KT_EXPECT(t, code != 0 && data != 0);
    if (code && data) {
        KT_EXPECT_EQ(t, touch(a, code, false, &value_a), touch(b, code, false, &value_b));
        KT_EXPECT_EQ(t, value_a, value_b);
        paddr_t shared = touch(a, data, false, &value_a);
        KT_EXPECT_EQ(t, shared, touch(b, data, false, &value_b));
        uint32_t copies = MmStatistics.copy_on_write_faults;
        KT_EXPECT(t, touch(a, data, true, &stamp) != shared);
        KT_EXPECT_EQ(t, copies + 1, MmStatistics.copy_on_write_faults);
        KT_EXPECT_EQ(t, shared, touch(b, data, false, &value_b));
        KT_EXPECT(t, value_b != stamp);
        KT_EXPECT_EQ(t, stamp, (touch(a, data, false, &value_a), value_a));
    }
    process_terminate(a, STATUS_SUCCESS);
    process_terminate(b, STATUS_SUCCESS);
    process_wait(a, WAIT_FOREVER);
    process_wait(b, WAIT_FOREVER);
    object_dereference(&a->header);
    object_dereference(&b->header);
    expect_nothing_leaked(t, &before);      /* the image section went with its last view */
}

/*
 * A process ending itself takes its other threads along, even one asleep in the kernel:
 * the process is over at once, not when the sleeper would have woken (a minute later).
 */
static void process_end_wakes_its_sleeping_threads(struct ktest *t)
{
    struct resources before;
    struct process *process;

    if (!have_module(t, "vm_remote.exe"))
        KT_SKIP(t, "vm_remote.exe not loaded");
    take_snapshot(&before);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program("vm_remote.exe", "threads", &process));
    ntstatus_t waited = process_wait(process, 2 * PIT_HZ);
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, waited)) {
        process_terminate(process, STATUS_TIMEOUT);
        process_wait(process, WAIT_FOREVER);
    }
    KT_EXPECT_EQ(t, 0x1234, process->exit_status);
    object_dereference(&process->header);
    expect_nothing_leaked(t, &before);
}

/*
 * A process that has ended has no address space left to act on: services aimed at it
 * through a handle are refused, not let loose on freed page tables.
 */
static void ended_process_memory_refused(struct ktest *t)
{
    struct process *process;
    bool attached;

    if (!have_module(t, "exitcode.exe"))
        KT_SKIP(t, "exitcode.exe not loaded");
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program("exitcode.exe", "0", &process));
    process_wait(process, WAIT_FOREVER);
    nt_handle_t handle;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 handle_insert(&process_current()->handles, &process->header,
                               PROCESS_ALL_ACCESS, &handle));
    uint32_t references = process->header.references;
    struct process *entered = NULL;
    KT_EXPECT_EQ(t, STATUS_PROCESS_IS_TERMINATING,
                 process_enter(handle, PROCESS_VM_OPERATION, &entered, &attached));
    KT_EXPECT(t, !attached);
    KT_EXPECT_EQ(t, references, process->header.references);    /* nothing held */
    KT_EXPECT(t, MmCurrentAddressSpace() == &system_process.space);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, handle_close(&process_current()->handles, handle));
    object_dereference(&process->header);
}

static void unknown_module_not_found(struct ktest *t)
{
    struct process *process;

    KT_EXPECT_EQ(t, STATUS_OBJECT_NAME_NOT_FOUND,
                 loader_start_module("no-such.exe", 11, "", 0, &process));
}

/* ---- programs in ring 3 ---- */

#define ISOLATION_PROCESSES 16
#define ISOLATION_ITERATIONS 200

/*
 * Sixteen processes fill the same user address with their own pattern and check it at
 * every turn, through thousands of switches, yielded and preempted.
 */
static void sixteen_processes_see_only_their_own_memory(struct ktest *t)
{
    struct program_run runs[ISOLATION_PROCESSES];
    struct resources before;

    if (!have_module(t, "isolation.exe"))
        KT_SKIP(t, "isolation.exe not loaded");
    take_snapshot(&before);
    uint64_t switches = scheduler_statistics().context_switches;
    uint32_t cr3_loads = MmStatistics.cr3_loads;
    uint64_t preemptions = scheduler_statistics().preemptions;
    for (unsigned i = 0; i < ISOLATION_PROCESSES; i++) {
        runs[i].program = "isolation.exe";
        ksnprintf(runs[i].arguments, sizeof(runs[i].arguments), "%u %u", i,
                  ISOLATION_ITERATIONS);
    }
    unsigned failed = run_programs(runs, ISOLATION_PROCESSES);
    for (unsigned i = 0, shown = 0; i < ISOLATION_PROCESSES; i++)
        if (runs[i].status != STATUS_SUCCESS && shown++ < 4)
            ktest_diag(t, "isolation process %u ended with 0x%08x", i,
                       (uint32_t)runs[i].status);
    KT_EXPECT_EQ(t, 0, failed);
    switches = scheduler_statistics().context_switches - switches;
    cr3_loads = MmStatistics.cr3_loads - cr3_loads;
    preemptions = scheduler_statistics().preemptions - preemptions;
    ktest_diag(t, "%u switches, %u CR3 loads, %u preemptions", (uint32_t)switches, cr3_loads,
               (uint32_t)preemptions);
    /*
     * A yield switches (to another process: CR3 is loaded) when another thread waits for
     * the processor, and with n processors n run at once.
     */
    KT_EXPECT(t, switches >= ISOLATION_PROCESSES * ISOLATION_ITERATIONS / KeNumberProcessors);
    KT_EXPECT(t, cr3_loads >= ISOLATION_PROCESSES * ISOLATION_ITERATIONS / KeNumberProcessors);
    KT_EXPECT(t, preemptions > 0);
    expect_nothing_leaked(t, &before);
}

/* A user read or write of each forbidden address ends the process there, and only it. */
static void user_access_to_forbidden_addresses(struct ktest *t)
{
    const vaddr_t addresses[] = {
        0, 0xFFFF, MmUserProbeAddress, MmSystemRangeStart, (vaddr_t)kernel_main,
        0xC0000000, 0xFFFFFFFF,
    };
    struct resources before;

    if (!have_module(t, "fault.exe"))
        KT_SKIP(t, "fault.exe not loaded");
    take_snapshot(&before);
    for (unsigned i = 0; i < ARRAY_SIZE(addresses); i++) {
        for (unsigned write = 0; write < 2; write++) {
            struct nt_process_exception_information exception;
            char arguments[32];
            ksnprintf(arguments, sizeof(arguments), "%s 0x%x", write ? "write" : "read",
                      addresses[i]);
            ntstatus_t status = run_program("fault.exe", arguments, &exception);
            bool ok = KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, status);
            ok &= KT_EXPECT_EQ(t, addresses[i], exception.faulting_address);
            ok &= KT_EXPECT_EQ(t, write, exception.access);
            if (!ok)
                ktest_diag(t, "fault.exe %s", arguments);
        }
    }
    expect_nothing_leaked(t, &before);
}

/* Each kind of fault ends its process with NT's status for it. */
static void user_faults_end_with_their_status(struct ktest *t)
{
    static const struct {
        const char *arguments;
        ntstatus_t status;
    } faults[] = {
        {"divide", STATUS_INTEGER_DIVIDE_BY_ZERO},
        {"ud2", STATUS_ILLEGAL_INSTRUCTION},
        {"hlt", STATUS_PRIVILEGED_INSTRUCTION},
        {"cli", STATUS_PRIVILEGED_INSTRUCTION},
        {"int3", STATUS_BREAKPOINT},
        {"stack-overflow", STATUS_STACK_OVERFLOW},
        {"write-shared-data", STATUS_ACCESS_VIOLATION},
    };
    struct resources before;

    if (!have_module(t, "fault.exe"))
        KT_SKIP(t, "fault.exe not loaded");
    take_snapshot(&before);
    uint32_t extensions = MmStatistics.stack_extensions;
    for (unsigned i = 0; i < ARRAY_SIZE(faults); i++) {
        struct nt_process_exception_information exception;
        ntstatus_t status = run_program("fault.exe", faults[i].arguments, &exception);
        if (!KT_EXPECT_EQ(t, faults[i].status, status) ||
            !KT_EXPECT_EQ(t, faults[i].status, exception.exception_code))
            ktest_diag(t, "fault.exe %s", faults[i].arguments);
        KT_EXPECT(t, exception.exception_address >= MM_LOWEST_USER_ADDRESS &&
                     exception.exception_address < MmSystemRangeStart);
    }
    /* The overflow walked the guard page down the whole 1 MB stack first. */
    KT_EXPECT(t, MmStatistics.stack_extensions - extensions >= 200);
    expect_nothing_leaked(t, &before);
}

/* Hostile pointers and numbers handed to system calls (the program checks each status). */
static void system_calls_refuse_bad_arguments(struct ktest *t)
{
    char arguments[64];

    if (!have_module(t, "probe.exe"))
        KT_SKIP(t, "probe.exe not loaded");
    ksnprintf(arguments, sizeof(arguments), "0x%x 0x%x 0x%x", MmUserProbeAddress,
              MmSystemRangeStart, (vaddr_t)kernel_main);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, run_program("probe.exe", arguments, NULL));
}

/* A process starts another, waits for it, reads its exit status and closes its handle. */
static void process_starts_and_waits_for_another(struct ktest *t)
{
    struct resources before;

    if (!have_module(t, "spawn.exe") || !have_module(t, "exitcode.exe"))
        KT_SKIP(t, "spawn.exe or exitcode.exe not loaded");
    take_snapshot(&before);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, run_program("spawn.exe", "", NULL));
    KT_EXPECT_EQ(t, 0x1234, run_program("exitcode.exe", "4660", NULL));
    expect_nothing_leaked(t, &before);
}

/* KUSER_SHARED_DATA: the timer's ticks, read-only, at 0x7FFE0000 in every process. */
static void shared_user_data_ticks(struct ktest *t)
{
    uint32_t ticks = *(volatile uint32_t *)(MmSharedUserData + NT_SHARED_TICK_COUNT_LOW);

    KT_EXPECT(t, (uint32_t)scheduler_ticks - ticks <= 1);
    if (!have_module(t, "shared.exe"))
        KT_SKIP(t, "shared.exe not loaded");
    KT_EXPECT_EQ(t, STATUS_SUCCESS, run_program("shared.exe", "", NULL));
}

/*
 * Large-address-awareness: the same program linked at 0x90000000 with and without the
 * flag. The aware one runs there when the split gives user space that far and reports
 * the whole user range; the other never gets an address above 0x7FFEFFFF.
 */
static void large_address_awareness(struct ktest *t)
{
    char arguments[32];

    if (!have_module(t, "laa.exe") || !have_module(t, "nolaa.exe"))
        KT_SKIP(t, "laa.exe or nolaa.exe not loaded");
    if (MmSystemRangeStart <= 0x90000000) {
        /* The preferred base is system space here: such an image is refused. */
        KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, run_program("laa.exe", "0x7FFEFFFF", NULL));
        KT_EXPECT_EQ(t, STATUS_INVALID_IMAGE_FORMAT, run_program("nolaa.exe", "0x7FFEFFFF", NULL));
        return;
    }
    ksnprintf(arguments, sizeof(arguments), "0x%x", MmHighestUserAddress);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, run_program("laa.exe", arguments, NULL));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, run_program("nolaa.exe", "0x7FFEFFFF", NULL));
}

static const struct ktest_case cases[] = {
    KTEST_CASE(attach_sees_only_that_process),
    KTEST_CASE(system_space_shared_by_every_process),
    KTEST_CASE(threads_of_one_process_switch_without_cr3_loads),
    KTEST_CASE(malformed_images_refused_without_leaks),
    KTEST_CASE(unknown_module_not_found),
    KTEST_CASE(ended_process_memory_refused),
    KTEST_CASE(process_end_wakes_its_sleeping_threads),
    KTEST_CASE(image_pages_shared_and_copy_on_write),
    KTEST_CASE(sixteen_processes_see_only_their_own_memory),
    KTEST_CASE(user_access_to_forbidden_addresses),
    KTEST_CASE(user_faults_end_with_their_status),
    KTEST_CASE(system_calls_refuse_bad_arguments),
    KTEST_CASE(process_starts_and_waits_for_another),
    KTEST_CASE(shared_user_data_ticks),
    KTEST_CASE(large_address_awareness),
};

KTEST_SUITE(process_suite, "process", cases);
