/*
 * fuzz.exe SEED COUNT [report|trace|race], or fuzz.exe child
 *
 * COUNT system calls drawn from a seeded xorshift stream, so that one seed always makes
 * the same calls: every service and a few numbers past the last, with hostile arguments
 * (integers at the edges, random flags and protections, pointers into the null region,
 * system space, across the top of user space, into never-mapped, read-only and guard
 * pages and the program's own code, wrapping lengths, arguments themselves out of reach)
 * mixed with valid ones, so that some calls allocate, commit, protect, map and free
 * memory, create sections, threads and child processes, and touch what they made. Each
 * status must be one the service can return (the sets in fuzz_calls.c follow
 * kernel/sys_*.c, kernel/syscall.c, kernel/exception.c and mm/); any other is printed
 * with its call.
 * Everything the calls made is released at the end, and must be gone.
 *
 * Now and then a call is made with FS and GS holding the null or the code selector, which
 * the kernel must hand back; and half the NtContinue calls hand it a real context that
 * resumes at the call with EFLAGS of random bits, of which ring 3 must get back only what
 * it may set itself.
 *
 * The stream leaves out what would end or wreck the fuzzer rather than test the kernel:
 * ending this process or thread, NtContinue with any other readable context, a
 * dispatcher the kernel could accept (only none, or one in system space), waits and
 * sleeps over 1 ms, threads that start anywhere but at a function that ends them, and
 * freeing, protecting or unmapping anything that was there before the first call (image,
 * stack, KUSER_SHARED_DATA, the fuzzer's own buffers, the racer's pages), and closing the
 * racer's section.
 *
 * fuzz.exe is not large-address-aware: its highest user address is 0x7FFEFFFF under
 * every split, and the rest of the 64 KB block of KUSER_SHARED_DATA below it can never
 * be mapped (reservations start on 64 KB boundaries), which makes a place that is
 * always out of reach yet inside user space.
 *
 * Exit status: the number of unexpected statuses; with `report`, the number of calls
 * that succeeded instead (mod 0x10000), so that two runs of one seed can be compared.
 * `trace` prints each call before making it: the last one printed is the one to blame
 * when the kernel stops. `race` starts the racer (fuzz_race.c), a second thread that
 * keeps changing the memory some of the calls' pointers point into, and at the end the
 * process is terminated by four of its threads at once, with the same exit status.
 * With fewer than two arguments (`fuzz.exe child`, or the empty command line a child
 * may be given) it exits 0 at once: it is the child the fuzzer starts.
 */
#include "tests/user/fuzz.h"

#define HUGE_REGION         0x1000000u  /* larger allocations the calls make go at once */
#define MAX_REPORTS         20
#define PATIENCE            100000      /* yields before a thread that never ends counts */
#define CHILD_TIMEOUT       (-50000000LL)   /* 5 s in 100 ns units */

/* ---- what the fuzzer keeps, and what it made ---- */

uint32_t scratch, read_only, guard;
struct range code;
struct range kept[MAX_KEPT];
unsigned kept_count;
uint32_t owned[MAX_OWNED];
unsigned owned_count;
nt_handle_t sections[MAX_SECTIONS], children[MAX_CHILDREN];
unsigned section_count, child_count;
uint32_t own_process_id;
volatile uint32_t thread_stack;
static unsigned unexpected;

void report(const char *format, ...)
{
    char message[240];
    va_list args;

    if (unexpected++ >= MAX_REPORTS)
        return;
    va_start(args, format);
    rt_vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    rt_printf("    # fuzz: %s\n", message);
}

static void expect_status(const char *what, uint32_t value, ntstatus_t status,
                          ntstatus_t expected)
{
    if (status != expected)
        report("%s 0x%08x: status 0x%08x, expected 0x%08x", what, value, (uint32_t)status,
               (uint32_t)expected);
}

bool range_is_expendable(uint32_t start, uint32_t length)
{
    uint64_t first = start & ~(PAGE - 1);
    uint64_t end = ((uint64_t)start + (length ? length : 1) + PAGE - 1) & ~(uint64_t)(PAGE - 1);

    for (unsigned i = 0; i < kept_count; i++) {
        if (kept[i].start < end && first < kept[i].end)
            return false;
        if (end > 0x100000000ull && kept[i].start < end - 0x100000000ull)
            return false;
    }
    return true;
}

static bool is_kept_allocation(uint32_t base)
{
    for (unsigned i = 0; i < kept_count; i++)
        if (kept[i].start == base)
            return true;
    return false;
}

static bool query(uint32_t address, struct nt_memory_basic_information *info)
{
    return NtQueryVirtualMemory(NT_CURRENT_PROCESS, (const void *)address,
                                NT_MEMORY_BASIC_INFORMATION, info, sizeof(*info),
                                NULL) == STATUS_SUCCESS;
}

/* Calls visit(base, end, type) once for each allocation of user space, in address order. */
static void walk_allocations(void (*visit)(uint32_t base, uint32_t end, uint32_t type))
{
    struct nt_memory_basic_information info;
    uint32_t address = 0;

    while (query(address, &info)) {
        uint32_t next = info.base_address + info.region_size;
        if (info.state != MEM_FREE && info.base_address == info.allocation_base) {
            uint32_t end = next;
            struct nt_memory_basic_information more;
            while (end - 1 < HIGHEST_ADDRESS && query(end, &more) &&
                   more.state != MEM_FREE && more.allocation_base == info.allocation_base)
                end = more.base_address + more.region_size;
            visit(info.allocation_base, end, info.type);
        }
        if (next <= address)
            break;
        address = next;
    }
}

static void keep(uint32_t base, uint32_t end, uint32_t type)
{
    (void)type;
    if (kept_count < MAX_KEPT)
        kept[kept_count++] = (struct range){base, end};
    else
        report("more than %u allocations before the first call", MAX_KEPT);
}

/* Releases the view or private allocation at base, which is there. */
static void release_region(uint32_t base, uint32_t type)
{
    if (type == MEM_MAPPED)
        expect_status("unmapping the view at", base,
                      rt_syscall(NT_SERVICE_UNMAP_VIEW_OF_SECTION, NT_CURRENT_PROCESS, base),
                      STATUS_SUCCESS);
    else
        expect_status("releasing the allocation at", base, rt_vm_release(base), STATUS_SUCCESS);
}

/* Releases the allocation at base, if it is still there. */
static void release_allocation(uint32_t base)
{
    struct nt_memory_basic_information info;

    if (query(base, &info) && info.state != MEM_FREE && info.allocation_base == base)
        release_region(base, info.type);
}

static bool is_owned(uint32_t base)
{
    for (unsigned i = 0; i < owned_count; i++)
        if (owned[i] == base)
            return true;
    return false;
}

/* Notes an allocation the calls made; the oldest goes when there are too many. */
static void own(uint32_t base)
{
    if (is_owned(base) || is_kept_allocation(base))
        return;
    if (owned_count == MAX_OWNED) {
        release_allocation(owned[0]);
        owned_count--;
        memmove(owned, owned + 1, owned_count * sizeof(owned[0]));
    }
    owned[owned_count++] = base;
}

/*
 * Owns the allocation at base, of size bytes, that a call has just made, or releases it
 * at once if it is huge: the kernel walks a region page by page to query or free it, and
 * the stream would keep coming back to it.
 */
static void own_new_allocation(uint32_t base, uint32_t size, uint32_t type)
{
    if (is_kept_allocation(base))
        return;
    if (size > HUGE_REGION)
        release_region(base, type);
    else
        own(base);
}

/* The same for an allocation found in a walk. */
static void adopt(uint32_t base, uint32_t end, uint32_t type)
{
    own_new_allocation(base, end - base, type);
}

static void forget_handle(nt_handle_t *list, unsigned *count, nt_handle_t handle)
{
    for (unsigned i = 0; i < *count; i++) {
        if (list[i] == handle) {
            memmove(list + i, list + i + 1, (*count - i - 1) * sizeof(list[0]));
            (*count)--;
            return;
        }
    }
}

/* Adds handle to list, closing the oldest when it is full. */
static void add_handle(nt_handle_t *list, unsigned *count, unsigned capacity,
                       nt_handle_t handle)
{
    if (*count == capacity) {
        expect_status("closing handle", list[0], NtClose(list[0]), STATUS_SUCCESS);
        forget_handle(list, count, list[0]);
    }
    list[(*count)++] = handle;
}

/* A child runs `fuzz.exe child` and ends at once: waiting keeps the stream repeatable. */
static void settle_child(nt_handle_t child)
{
    int64_t timeout = CHILD_TIMEOUT;
    ntstatus_t status = NtWaitForSingleObject(child, 0, &timeout);

    if (status != STATUS_SUCCESS) {
        report("child 0x%x did not end: wait status 0x%08x", child, (uint32_t)status);
        NtTerminateProcess(child, STATUS_TIMEOUT);
        NtWaitForSingleObject(child, 0, NULL);
    }
    add_handle(children, &child_count, MAX_CHILDREN, child);
}

/* Lets the thread the last call started run to its end, and its stack go. */
static void settle_thread(unsigned call_number)
{
    struct nt_memory_basic_information info;
    unsigned i = 0;

    while (i < PATIENCE && !thread_stack) {
        NtYieldExecution();
        i++;
    }
    for (; i < PATIENCE; i++) {
        if (query(thread_stack, &info) && info.state == MEM_FREE)
            break;
        NtYieldExecution();
    }
    if (i == PATIENCE)
        report("the thread of call %u did not end", call_number);
    thread_stack = 0;
}

void thread_main(void *argument)
{
    thread_stack = (uint32_t)(uintptr_t)&argument;
    for (;;)
        NtTerminateThread(NT_CURRENT_THREAD, STATUS_SUCCESS);
}

static bool is_writable(uint32_t protection)
{
    return protection == PAGE_READWRITE || protection == PAGE_EXECUTE_READWRITE ||
           protection == PAGE_WRITECOPY || protection == PAGE_EXECUTE_WRITECOPY;
}

/*
 * Writes (or, if it cannot, reads) the first pages of the region at base as its
 * protection allows, so that frames, private copies and section pages come for real.
 */
static void touch(uint32_t base)
{
    struct nt_memory_basic_information info;

    if (!query(base, &info) || info.state != MEM_COMMIT || info.protect & PAGE_GUARD ||
        info.protect == PAGE_NOACCESS || is_kept_allocation(info.allocation_base))
        return;
    for (uint32_t offset = 0; offset < info.region_size && offset < 4 * PAGE; offset += PAGE) {
        volatile uint32_t *word = (volatile uint32_t *)(info.base_address + offset);
        if (is_writable(info.protect))
            *word = info.base_address ^ offset;
        else
            (void)*word;
    }
}

/* Puts PAGE_GUARD back on the guard arena's first pages, which a touch takes away. */
static ntstatus_t arm_guard(void)
{
    uint32_t base = guard, size = GUARD_PAGES * PAGE, old;

    return rt_vm_protect(&base, &size, PAGE_READWRITE | PAGE_GUARD, &old);
}


/*
 * NtContinue with a context that resumes right here, as a second return of rt_setjmp,
 * asking for eflags: the thread must come back in ring 3 with none of what ring 3 cannot
 * set itself (IOPL, NT, VM, VIF, VIP) and with IF on.
 */
static ntstatus_t continue_live(uint32_t eflags)
{
    static struct rt_jump_buffer here;
    static struct nt_context context;

    if (rt_setjmp(&here) == 0) {
        context = (struct nt_context){0};
        rt_context_jump(&context, &here, 1);
        context.eflags = eflags;
        return NtContinue(&context, 0);     /* returns only if the kernel refused it */
    }
    uint32_t now;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(now));
    if (now & (EFLAGS_IOPL | EFLAGS_NT | EFLAGS_VM | EFLAGS_VIF | EFLAGS_VIP) ||
        !(now & EFLAGS_IF))
        report("NtContinue asked for EFLAGS 0x%08x and resumed with 0x%08x", eflags, now);
    return STATUS_SUCCESS;
}

static uint16_t read_fs(void)
{
    uint16_t value;
    __asm__ volatile("movw %%fs, %0" : "=r"(value));
    return value;
}

static uint16_t read_gs(void)
{
    uint16_t value;
    __asm__ volatile("movw %%gs, %0" : "=r"(value));
    return value;
}

static void load_fs_gs(uint16_t selector)
{
    __asm__ volatile("movw %0, %%fs\n\tmovw %0, %%gs" : : "r"(selector));
}

static ntstatus_t issue(const struct call *c)
{
    const uint32_t *a = c->args;
    ntstatus_t status;

    if (c->live_context)
        return continue_live(c->context_eflags);
    /* The kernel must hand back whatever valid selectors ring 3 had in FS and GS. */
    load_fs_gs(c->segment);
    if (!c->raw)
        status = rt_syscall(c->number, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                            a[9]);
    else
        __asm__ volatile("int %[vector]"
                         : "=a"(status)
                         : [vector] "i"(NT_SYSCALL_VECTOR), "a"(c->number),
                           "d"(c->raw_arguments)
                         : "memory");
    uint16_t fs = read_fs(), gs = read_gs();
    load_fs_gs(NT_USER_DATA_SELECTOR);
    if (fs != c->segment || gs != c->segment)
        report("%s: FS and GS were 0x%x, came back 0x%x and 0x%x", service_name(c->number),
               c->segment, fs, gs);
    return status;
}

static bool in_scratch(uint32_t address)
{
    return address - scratch <= ARENA_SIZE - sizeof(uint32_t);
}

/* Notes what the arguments that point into the scratch find there, for describe. */
static void note_pointed(struct call *c)
{
    for (unsigned i = 0; i < MAX_ARGUMENTS; i++)
        if (in_scratch(c->args[i]))
            memcpy(&c->pointed[i], (const void *)c->args[i], sizeof(c->pointed[i]));
}

/* The call as text: an argument pointing into the scratch is followed by =[what is there]. */
static void describe(char *text, size_t size, const struct call *c)
{
    size_t used;

    if (c->raw) {
        rt_snprintf(text, size, "%s (0x%x) with its arguments at 0x%08x",
                    service_name(c->number), c->number, c->raw_arguments);
        return;
    }
    unsigned count = service_argument_count(c->number);
    used = c->number < NT_SERVICE_COUNT
               ? rt_snprintf(text, size, "%s(", service_name(c->number))
               : rt_snprintf(text, size, "service 0x%x(", c->number);
    for (unsigned i = 0; i < count && used < size; i++) {
        used += rt_snprintf(text + used, size - used, i ? " %x" : "%x", c->args[i]);
        if (in_scratch(c->args[i]) && used < size)
            used += rt_snprintf(text + used, size - used, "=[%x]", c->pointed[i]);
    }
    if (used < size)
        rt_snprintf(text + used, size - used, ")");
}

/* Keeps the books after a call: what it made, freed or closed, and the guard pages. */
static void after(const struct call *c, unsigned number, ntstatus_t status)
{
    uint32_t value = 0, size;

    if (c->resets_dispatcher)
        expect_status("removing the dispatcher, after call", number,
                      NtSetExceptionHandler(NULL), STATUS_SUCCESS);
    if (c->guard_used)
        expect_status("guarding the guard arena again, after call", number, arm_guard(),
                      STATUS_SUCCESS);
    /* DUPLICATE_CLOSE_SOURCE closes the source whatever else fails, once its probe passed. */
    if (c->closes_source && !c->raw && status != STATUS_ACCESS_VIOLATION &&
        status != STATUS_NO_MEMORY && status != STATUS_IN_PAGE_ERROR) {
        forget_handle(sections, &section_count, c->args[1]);
        forget_handle(children, &child_count, c->args[1]);
    }
    if (status != STATUS_SUCCESS || c->raw)
        return;
    bool known = peek_word(c->result, &value) && c->result.kind == P_SCRATCH;
    switch (c->makes) {
    case MAKES_CHILD:
    case MAKES_SECTION:
        if (!known) {
            report("call %u: %s succeeded with its handle written to 0x%08x", number,
                   service_name(c->number), c->result.address);
        } else if (c->makes == MAKES_CHILD) {
            settle_child(value);
        } else {
            add_handle(sections, &section_count, MAX_SECTIONS, value);
        }
        break;
    case MAKES_MEMORY:
        /* Both written back, neither over the other: otherwise look for what is new. */
        if (known && c->result_size.kind == P_SCRATCH && peek_word(c->result_size, &size) &&
            (c->result.address - c->result_size.address + 3u) > 6u /* 4 bytes apart */)
            own_new_allocation(value, size, c->number == NT_SERVICE_MAP_VIEW_OF_SECTION
                                                ? MEM_MAPPED : MEM_PRIVATE);
        else
            walk_allocations(adopt);
        break;
    case MAKES_THREAD:
        settle_thread(number);
        break;
    case MAKES_HANDLE:
        /* Closed at once: a handle to this process must never meet a call that frees. */
        if (known)
            expect_status("closing the new handle", value, NtClose(value), STATUS_SUCCESS);
        else
            report("call %u: %s succeeded with its handle written to 0x%08x", number,
                   service_name(c->number), c->result.address);
        break;
    default:
        break;
    }
    if (c->number == NT_SERVICE_CLOSE) {
        forget_handle(sections, &section_count, c->args[0]);
        forget_handle(children, &child_count, c->args[0]);
    }
    if (c->touches && peek_word(c->touch_base, &value) && range_is_expendable(value, 1))
        touch(value);
}

/* ---- set-up and clean-up ---- */

static bool make_arena(uint32_t *base, unsigned int protect)
{
    uint32_t size = ARENA_SIZE;

    *base = 0;
    return rt_vm_allocate(base, &size, MEM_RESERVE | MEM_COMMIT, protect) == STATUS_SUCCESS;
}

static bool set_up(void)
{
    struct nt_memory_basic_information info;

    if (rt_vm_highest_address() != HIGHEST_ADDRESS) {
        rt_printf("    # fuzz: highest user address 0x%08x, not 0x%08x\n",
                  rt_vm_highest_address(), HIGHEST_ADDRESS);
        return false;
    }
    if (!make_arena(&scratch, PAGE_READWRITE) || !make_arena(&read_only, PAGE_READONLY) ||
        !make_arena(&guard, PAGE_READWRITE))
        return false;
    if (arm_guard() != STATUS_SUCCESS || !query((uint32_t)(uintptr_t)main, &info))
        return false;
    struct nt_process_basic_information basic;
    if (NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION, &basic,
                                  sizeof(basic), NULL) != STATUS_SUCCESS)
        return false;
    own_process_id = basic.unique_process_id;
    if (racing && !race_start())
        return false;
    code = (struct range){info.base_address, info.base_address + info.region_size};
    walk_allocations(keep);
    if (racing)
        keep(FUZZ_RACE_VIEW, FUZZ_RACE_END, MEM_MAPPED);    /* mapped or not */
    return true;
}

static void release_unkept(uint32_t base, uint32_t end, uint32_t type)
{
    (void)end;
    if (!is_kept_allocation(base))
        release_region(base, type);
}

static void report_unkept(uint32_t base, uint32_t end, uint32_t type)
{
    if (!is_kept_allocation(base))
        report("left behind: 0x%08x-0x%08x, type 0x%x", base, end, type);
}

/* Releases every allocation and handle the calls made, and checks that they went. */
static void clean_up(void)
{
    if (racing) {
        race_stop();
        release_allocation(FUZZ_RACE_VIEW);     /* whatever the calls left in the window */
    }
    walk_allocations(release_unkept);
    walk_allocations(report_unkept);
    owned_count = 0;
    for (nt_handle_t handle = 4; handle <= MAX_HANDLE; handle += 4) {
        bool tracked = false;
        for (unsigned i = 0; i < section_count; i++)
            tracked |= sections[i] == handle;
        for (unsigned i = 0; i < child_count; i++)
            tracked |= children[i] == handle;
        ntstatus_t status = NtClose(handle);
        if (status != (tracked ? STATUS_SUCCESS : STATUS_INVALID_HANDLE))
            report("closing handle 0x%x at the end: status 0x%08x", handle, (uint32_t)status);
    }
    section_count = child_count = 0;
    expect_status("removing the dispatcher", 0, NtSetExceptionHandler(NULL), STATUS_SUCCESS);
    expect_status("releasing the scratch arena at", scratch, rt_vm_release(scratch),
                  STATUS_SUCCESS);
    expect_status("releasing the read-only arena at", read_only, rt_vm_release(read_only),
                  STATUS_SUCCESS);
    expect_status("releasing the guard arena at", guard, rt_vm_release(guard), STATUS_SUCCESS);
}

int main(int argc, char **argv)
{
    uint32_t seed, count, succeeded = 0;
    bool report_successes = argc == 4 && rt_streq(argv[3], "report");
    bool trace = argc == 4 && rt_streq(argv[3], "trace");

    racing = argc == 4 && rt_streq(argv[3], "race");
    char text[200];

    if (argc < 3)
        return 0;
    if (argc > 4 || !rt_parse_u32(argv[1], &seed) || !rt_parse_u32(argv[2], &count) ||
        (argc == 4 && !report_successes && !trace && !racing)) {
        rt_printf("usage: %s SEED COUNT [report|trace|race] | child\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    rt_printf("    # fuzz: seed 0x%08x, %u calls%s\n", seed, count,
              racing ? ", racing" : "");
    stream_seed(seed);
    if (!set_up()) {
        rt_printf("    # fuzz: could not set up\n");
        return (int)USER_STATUS_USAGE;
    }
    for (uint32_t number = 0; number < count;) {
        struct call call;
        if (!draw(&call))
            continue;
        note_pointed(&call);
        if (trace) {
            describe(text, sizeof(text), &call);
            rt_printf("    # fuzz: call %u: %s\n", number, text);
        }
        ntstatus_t status = issue(&call);
        if (NT_SUCCESS(status))
            succeeded++;
        if (!status_allowed(&call, status)) {
            describe(text, sizeof(text), &call);
            report("call %u: %s: status 0x%08x", number, text, (uint32_t)status);
        }
        after(&call, number, status);
        number++;
    }
    clean_up();
    rt_printf("    # fuzz: %u calls, %u succeeded, %u unexpected\n", count, succeeded,
              unexpected);
    if (racing)
        race_end_process((ntstatus_t)unexpected);
    return report_successes ? (int)(succeeded & 0xFFFF) : (int)unexpected;
}
