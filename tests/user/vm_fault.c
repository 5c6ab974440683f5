/*
 * vm_fault.exe KIND: faults on virtual memory, seen by an exception handler through the
 * runtime's dispatcher (rt_set_exception_handler), or ending the process.
 *
 * Each of these kinds exits 0 if every check held, else the number that failed. A fault
 * must reach the handler once, as NT reports it: the code, the faulting instruction (the
 * runtime's probe), two parameters (0 read / 1 write, the exact data address) and the
 * registers at the fault; the handler then resumes past the probe (rt_context_jump).
 *     guard           a PAGE_GUARD page: STATUS_GUARD_PAGE_VIOLATION once, for a read and
 *                     for a write; the handler retries the access, which then succeeds;
 *                     the guard is gone, the protection under it stays
 *     decommit        pages decommitted between committed ones fault, the others keep
 *                     their data; committed again they read zero
 *     release         a released range faults
 *     reserved        reserved, never committed pages fault; committed they read zero
 *     readonly-write  writes to PAGE_READONLY and PAGE_EXECUTE_READ pages fault, reads
 *                     do not; the data stays
 *     noaccess        PAGE_NOACCESS pages fault for reads and writes; data kept under it
 *     stack-growth    512 KB of recursion: the stack grows through its guard page and the
 *                     handler sees nothing; the guard page is below the deepest frame
 * These end the process, which exits USER_STATUS_FAULT_SURVIVED if it lives on:
 *     stack           endless recursion, no handler: STATUS_STACK_OVERFLOW
 *     unhandled       a handler set and removed again, then a read of reserved memory:
 *                     STATUS_ACCESS_VIOLATION (USER_STATUS_HANDLER_CALLED if it ran)
 *     give-up         after one fault it resumed, the handler declines the next:
 *                     STATUS_ACCESS_VIOLATION, through the dispatcher's NtTerminateProcess
 *     nested          the handler itself faults: STATUS_ACCESS_VIOLATION, no nesting
 * Bad arguments give USER_STATUS_USAGE.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define FRAME_BYTES     (16 * 1024)
#define GROWTH_FRAMES   32              /* 512 KB of a 1 MB stack */

enum handler_mode {
    MODE_RETRY,         /* resume at the faulting instruction */
    MODE_RECOVER,       /* resume at the last rt_setjmp */
    MODE_DECLINE,       /* give up: the dispatcher ends the process */
    MODE_FAULT_AGAIN,   /* fault inside the handler */
    MODE_UNEXPECTED,    /* nothing should call it: end with USER_STATUS_HANDLER_CALLED */
};

static enum handler_mode handler_mode;
static unsigned int handler_calls;
static struct nt_exception_record last_record;
static struct nt_context last_context;
static struct rt_jump_buffer recovery;
static uint32_t nested_fault_address;

static bool handler(struct nt_exception_record *record, struct nt_context *context)
{
    handler_calls++;
    last_record = *record;
    last_context = *context;
    switch (handler_mode) {
    case MODE_RETRY:
        return true;
    case MODE_RECOVER:
        rt_context_jump(context, &recovery, 1);
        return true;
    case MODE_FAULT_AGAIN:
        rt_probe_read(nested_fault_address);
        return true;
    case MODE_UNEXPECTED:
        rt_exit((ntstatus_t)USER_STATUS_HANDLER_CALLED);
    case MODE_DECLINE:
        break;
    }
    return false;
}

/* The last fault was the only one since handler_calls was cleared, and NT's record of it. */
static bool check_record(int line, bool write, uint32_t address, ntstatus_t code)
{
    uint32_t probe = (uint32_t)(uintptr_t)(write ? rt_probe_write_instruction
                                                 : rt_probe_read_instruction);

    return rt_check(handler_calls == 1 && last_record.code == code && last_record.flags == 0 &&
                    last_record.parameter_count == 2 && last_record.access == write &&
                    last_record.faulting_address == address &&
                    last_record.exception_address == probe && last_context.eip == probe &&
                    last_context.ecx == address, __FILE__, line,
                    "%s 0x%08x: %u calls, code 0x%08x, %u parameters, access %u to 0x%08x "
                    "from 0x%08x, EIP 0x%08x ECX 0x%08x", write ? "write" : "read", address,
                    handler_calls, (unsigned int)last_record.code, last_record.parameter_count,
                    last_record.access, last_record.faulting_address,
                    last_record.exception_address, last_context.eip, last_context.ecx);
}
#define CHECK_RECORD(write, address, code) check_record(__LINE__, write, address, code)

/* The access must fault once with code; the handler resumes after it. */
static void expect_fault(int line, bool write, uint32_t address, ntstatus_t code)
{
    handler_calls = 0;
    handler_mode = MODE_RECOVER;
    if (rt_setjmp(&recovery) == 0) {
        if (write)
            rt_probe_write(address, 0x5A);
        else
            rt_probe_read(address);
        rt_check(false, __FILE__, line, "the %s of 0x%08x did not fault",
                 write ? "write" : "read", address);
        return;
    }
    check_record(line, write, address, code);
}
#define EXPECT_READ_FAULT(address) \
    expect_fault(__LINE__, false, address, STATUS_ACCESS_VIOLATION)
#define EXPECT_WRITE_FAULT(address) \
    expect_fault(__LINE__, true, address, STATUS_ACCESS_VIOLATION)

/* The access must not fault (any fault would end the process: no handler mode allows it). */
static uint8_t read_without_fault(uint32_t address)
{
    handler_calls = 0;
    handler_mode = MODE_UNEXPECTED;
    return rt_probe_read(address);
}

static void write_without_fault(uint32_t address, uint8_t value)
{
    handler_calls = 0;
    handler_mode = MODE_UNEXPECTED;
    rt_probe_write(address, value);
}

/* A new reservation of size bytes, committed with protect unless it is 0; 0 on failure. */
static uint32_t allocate(uint32_t size, unsigned int protect)
{
    uint32_t base = 0;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, protect ? MEM_RESERVE | MEM_COMMIT
                                                           : MEM_RESERVE,
                                     protect ? protect : PAGE_READWRITE), STATUS_SUCCESS))
        return 0;
    return base;
}

static bool protect(uint32_t address, uint32_t size, unsigned int protection,
                    unsigned int expected_old)
{
    unsigned int old = 0;

    return RT_EXPECT_EQ(rt_vm_protect(&address, &size, protection, &old), STATUS_SUCCESS) &&
           RT_EXPECT_EQ(old, expected_old);
}

static bool install_handler(void)
{
    return RT_EXPECT_EQ(rt_set_exception_handler(handler), STATUS_SUCCESS);
}

/* ---- kinds that resume ---- */

static void run_guard(void)
{
    uint32_t base = allocate(0x4000, PAGE_READWRITE);

    if (!base || !protect(base + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE))
        return;
    uint32_t address = base + PAGE + 0x123;
    handler_calls = 0;
    handler_mode = MODE_RETRY;
    uint8_t value = rt_probe_read(address);
    CHECK_RECORD(false, address, STATUS_GUARD_PAGE_VIOLATION);
    RT_EXPECT_EQ(value, 0);
    /* One shot: the retry went through, and so does the next access. */
    RT_EXPECT_EQ(read_without_fault(address), 0);
    RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x4000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);

    if (protect(base + 2 * PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE)) {
        address = base + 3 * PAGE - 1;
        handler_calls = 0;
        handler_mode = MODE_RETRY;
        rt_probe_write(address, 0x77);
        CHECK_RECORD(true, address, STATUS_GUARD_PAGE_VIOLATION);
        RT_EXPECT_EQ(read_without_fault(address), 0x77);
    }
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);

    /* Committed guarded from the start; under the guard, read-only. */
    base = allocate(PAGE, PAGE_READONLY | PAGE_GUARD);
    if (!base)
        return;
    RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                     .allocation_protect = PAGE_READONLY | PAGE_GUARD, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY | PAGE_GUARD,
                     .type = MEM_PRIVATE);
    handler_calls = 0;
    handler_mode = MODE_RETRY;
    RT_EXPECT_EQ(rt_probe_read(base + 8), 0);
    CHECK_RECORD(false, base + 8, STATUS_GUARD_PAGE_VIOLATION);
    RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                     .allocation_protect = PAGE_READONLY | PAGE_GUARD, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_PRIVATE);
    EXPECT_WRITE_FAULT(base + 8);
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
}

static void run_decommit(void)
{
    uint32_t base = allocate(3 * PAGE, PAGE_READWRITE);
    uint32_t page = 0, size = PAGE;

    if (!base)
        return;
    for (uint32_t i = 0; i < 3; i++)
        write_without_fault(base + i * PAGE, (uint8_t)(0x11 * (i + 1)));
    page = base + PAGE;
    if (!RT_EXPECT_EQ(rt_vm_free(&page, &size, MEM_DECOMMIT), STATUS_SUCCESS))
        return;
    EXPECT_READ_FAULT(base + PAGE + 0x10);
    EXPECT_WRITE_FAULT(base + 2 * PAGE - 1);
    RT_EXPECT_EQ(read_without_fault(base), 0x11);
    RT_EXPECT_EQ(read_without_fault(base + 2 * PAGE), 0x33);
    size = PAGE;
    if (RT_EXPECT_EQ(rt_vm_allocate(&page, &size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(read_without_fault(base + PAGE), 0);
        write_without_fault(base + PAGE + 0x10, 0x99);
        RT_EXPECT_EQ(read_without_fault(base + PAGE + 0x10), 0x99);
    }
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
}

static void run_release(void)
{
    uint32_t base = allocate(2 * PAGE, PAGE_READWRITE);

    if (!base)
        return;
    write_without_fault(base + 0x20, 0x42);
    if (!RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS))
        return;
    EXPECT_READ_FAULT(base + 0x20);
    EXPECT_WRITE_FAULT(base + 2 * PAGE - 1);
}

static void run_reserved(void)
{
    uint32_t base = allocate(0x10000, 0), page, size = PAGE;

    if (!base)
        return;
    EXPECT_READ_FAULT(base);
    EXPECT_WRITE_FAULT(base + 0x8003);
    page = base + 0x8000;
    if (RT_EXPECT_EQ(rt_vm_allocate(&page, &size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS))
        RT_EXPECT_EQ(read_without_fault(base + 0x8003), 0);
    EXPECT_READ_FAULT(base + 0x7FFF);
    EXPECT_WRITE_FAULT(base + 0x9000);
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
}

static void run_readonly_write(void)
{
    uint32_t base = allocate(PAGE, PAGE_READWRITE);

    if (!base)
        return;
    write_without_fault(base + 0x10, 0xAB);
    if (protect(base, PAGE, PAGE_READONLY, PAGE_READWRITE)) {
        RT_EXPECT_EQ(read_without_fault(base + 0x10), 0xAB);
        EXPECT_WRITE_FAULT(base + 0x10);
        RT_EXPECT_EQ(read_without_fault(base + 0x10), 0xAB);
    }
    if (protect(base, PAGE, PAGE_READWRITE, PAGE_READONLY)) {
        write_without_fault(base + 0x10, 0xCD);
        RT_EXPECT_EQ(read_without_fault(base + 0x10), 0xCD);
    }
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);

    static const unsigned int read_only[] = { PAGE_READONLY, PAGE_EXECUTE_READ, PAGE_EXECUTE };
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        base = allocate(PAGE, read_only[i]);
        if (!base)
            continue;
        RT_EXPECT_EQ(read_without_fault(base + PAGE - 1), 0);
        EXPECT_WRITE_FAULT(base + PAGE - 1);
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }
}

static void run_noaccess(void)
{
    uint32_t base = allocate(PAGE, PAGE_NOACCESS);

    if (base) {
        EXPECT_READ_FAULT(base + 0x100);
        EXPECT_WRITE_FAULT(base + 0x100);
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }
    base = allocate(PAGE, PAGE_READWRITE);
    if (!base)
        return;
    write_without_fault(base + 0x200, 0x5C);
    if (protect(base, PAGE, PAGE_NOACCESS, PAGE_READWRITE)) {
        EXPECT_READ_FAULT(base + 0x200);
        EXPECT_WRITE_FAULT(base);
    }
    if (protect(base, PAGE, PAGE_READWRITE, PAGE_NOACCESS))
        RT_EXPECT_EQ(read_without_fault(base + 0x200), 0x5C);
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
}

/* Read at run time, so that the compiler cannot call the recursion endless. */
static volatile uint32_t recursion_limit = UINT32_MAX;
static uint32_t deepest_frame = UINT32_MAX;

/* Recurses in FRAME_BYTES frames, each page of which the compiler's probe touches in turn. */
static __attribute__((noinline)) uint32_t recurse(uint32_t depth, uint32_t limit)
{
    volatile uint8_t frame[FRAME_BYTES];

    frame[0] = (uint8_t)depth;
    if ((uint32_t)(uintptr_t)frame < deepest_frame)
        deepest_frame = (uint32_t)(uintptr_t)frame;
    if (depth == limit)
        return 0;
    return recurse(depth + 1, limit) + frame[0];
}

static void run_stack_growth(void)
{
    struct nt_memory_basic_information reserved;

    handler_calls = 0;
    handler_mode = MODE_RECOVER;
    if (rt_setjmp(&recovery) == 0)
        recurse(0, GROWTH_FRAMES);
    RT_EXPECT_MSG(handler_calls == 0, "growing the stack raised 0x%08x at 0x%08x",
                  (unsigned int)last_record.code, last_record.faulting_address);
    uint32_t deepest = deepest_frame & ~(PAGE - 1);
    if (!RT_EXPECT_EQ(rt_vm_query(deepest, &reserved), STATUS_SUCCESS))
        return;
    uint32_t stack = reserved.allocation_base;
    RT_EXPECT_EQ(reserved.state, MEM_COMMIT);
    if (!RT_EXPECT_EQ(rt_vm_query(stack, &reserved), STATUS_SUCCESS))
        return;
    uint32_t guard = stack + reserved.region_size;
    RT_EXPECT_REGION(guard, .base_address = guard, .allocation_base = stack,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE | PAGE_GUARD,
                     .type = MEM_PRIVATE);
    RT_EXPECT_MSG(guard < deepest, "guard page 0x%08x is not below the deepest frame 0x%08x",
                  guard, deepest);
    RT_EXPECT_REGION(guard + PAGE, .base_address = guard + PAGE, .allocation_base = stack,
                     .allocation_protect = PAGE_READWRITE, .state = MEM_COMMIT,
                     .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
}

/* ---- kinds that end the process ---- */

static void run_stack(void)
{
    recurse(0, recursion_limit);
}

static void run_unhandled(void)
{
    uint32_t base = allocate(0x10000, 0);

    if (!base || !install_handler())
        return;
    handler_mode = MODE_UNEXPECTED;
    if (!RT_EXPECT_EQ(rt_set_exception_handler(NULL), STATUS_SUCCESS))
        return;
    rt_probe_read(base + 0x44);
}

static void run_give_up(void)
{
    uint32_t base = allocate(0x10000, 0);

    if (!base)
        return;
    EXPECT_READ_FAULT(base);
    handler_mode = MODE_DECLINE;
    rt_probe_read(base + 0x44);
}

static void run_nested(void)
{
    nested_fault_address = allocate(0x10000, 0);
    if (!nested_fault_address)
        return;
    handler_mode = MODE_FAULT_AGAIN;
    rt_probe_read(nested_fault_address + 0x44);
}

static const struct fault_kind {
    const char *name;
    void (*run)(void);
    bool needs_handler;
    bool resumes;           /* false: the process must end inside run */
} kinds[] = {
    { "guard", run_guard, true, true },
    { "decommit", run_decommit, true, true },
    { "release", run_release, true, true },
    { "reserved", run_reserved, true, true },
    { "readonly-write", run_readonly_write, true, true },
    { "noaccess", run_noaccess, true, true },
    { "stack-growth", run_stack_growth, true, true },
    { "stack", run_stack, false, false },
    { "unhandled", run_unhandled, false, false },
    { "give-up", run_give_up, true, false },
    { "nested", run_nested, true, false },
};

int main(int argc, char **argv)
{
    for (size_t k = 0; argc == 2 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const struct fault_kind *kind = &kinds[k];

        if (!rt_streq(argv[1], kind->name))
            continue;
        if (kind->needs_handler && !install_handler())
            return (int)rt_failure_count();
        kind->run();
        if (kind->resumes)
            return (int)rt_failure_count();
        RT_EXPECT_MSG(false, "%s: the process lived on", kind->name);
        return (int)USER_STATUS_FAULT_SURVIVED;
    }
    rt_printf("usage: %s guard | decommit | release | reserved | readonly-write | noaccess | "
              "stack-growth | stack | unhandled | give-up | nested\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
