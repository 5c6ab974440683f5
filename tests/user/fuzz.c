/*
 * fuzz.exe SEED COUNT [report|trace], or fuzz.exe child
 *
 * COUNT system calls drawn from a seeded xorshift stream, so that one seed always makes
 * the same calls: every service and a few numbers past the last, with hostile arguments
 * (integers at the edges, random flags and protections, pointers into the null region,
 * system space, across the top of user space, into never-mapped, read-only and guard
 * pages and the program's own code, wrapping lengths, arguments themselves out of reach)
 * mixed with valid ones, so that some calls allocate, commit, protect, map and free
 * memory, create sections, threads and child processes, and touch what they made. Each
 * status must be one the service can return (the sets below follow kernel/sys_*.c,
 * kernel/syscall.c, kernel/exception.c and mm/); any other is printed with its call.
 * Everything the calls made is released at the end, and must be gone.
 *
 * The stream leaves out what would end or wreck the fuzzer rather than test the kernel:
 * ending this process or thread, NtContinue with anything readable, a dispatcher the
 * kernel could accept (only none, or one in system space), waits and sleeps over 1 ms,
 * threads that start anywhere but at a function that ends them, and freeing, protecting
 * or unmapping anything that was there before the first call (image, stack,
 * KUSER_SHARED_DATA, the fuzzer's own buffers).
 *
 * fuzz.exe is not large-address-aware: its highest user address is 0x7FFEFFFF under
 * every split, and the rest of the 64 KB block of KUSER_SHARED_DATA below it can never
 * be mapped (reservations start on 64 KB boundaries), which makes a place that is
 * always out of reach yet inside user space.
 *
 * Exit status: the number of unexpected statuses; with `report`, the number of calls
 * that succeeded instead (mod 0x10000), so that two runs of one seed can be compared.
 * `trace` prints each call before making it: the last one printed is the one to blame
 * when the kernel stops.
 * With fewer than two arguments (`fuzz.exe child`, or the empty command line a child
 * may be given) it exits 0 at once: it is the child the fuzzer starts.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define COUNT_OF(array)     (sizeof(array) / sizeof((array)[0]))
#define PICK(array)         ((array)[random_below(COUNT_OF(array))])
#define BIT(n)              (1u << (n))

#define PAGE                0x1000u
#define ARENA_SIZE          0x10000u    /* each of the scratch, read-only and guard arenas */
#define GUARD_PAGES         4           /* the guard arena's pages that carry PAGE_GUARD */
#define HIGHEST_ADDRESS     0x7FFEFFFFu /* fuzz.exe's limit, not being large-address-aware */
#define NEVER_MAPPED        0x7FFE1000u /* to HIGHEST_ADDRESS: beside KUSER_SHARED_DATA */
#define MAX_ARGUMENTS       10
#define HUGE_REGION         0x1000000u  /* larger allocations the calls make go at once */
#define MAX_KEPT            32
#define MAX_OWNED           24
#define MAX_SECTIONS        6
#define MAX_CHILDREN        3
#define MAX_HANDLE          0x100       /* 64 handles, 4 apart */
#define MAX_REPORTS         20
#define PATIENCE            100000      /* yields before a thread that never ends counts */
#define CHILD_TIMEOUT       (-50000000LL)   /* 5 s in 100 ns units */
#define DISPLAY_MAX_BYTES   2048        /* NtDisplayString's limit, 1024 characters */

/* ---- the stream ---- */

static uint32_t random_state;

/* xorshift32 (Marsaglia, 2003): the whole run follows from the seed. */
static uint32_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

static uint32_t random_below(uint32_t n)
{
    return n ? random_next() % n : 0;
}

static bool one_in(uint32_t n)
{
    return random_below(n) == 0;
}

/* Integers at the edges of pages, of 64 KB, of the splits and of 32 bits, and beside them. */
static uint32_t edge(void)
{
    static const uint32_t edges[] = {
        0, 1, 0xFFF, 0x1000, 0xFFFF, 0x10000, 0x7FFEFFFF, 0x7FFF0000, 0x80000000,
        0xBFFF0000, 0xC0000000, 0xFFFFFFFF,
    };
    return PICK(edges) + random_below(3) - 1;
}

static uint32_t integer(void)
{
    switch (random_below(4)) {
    case 0:
        return edge();
    case 1:
        return random_below(0x20000);
    case 2:
        return random_below(64) * PAGE;
    default:
        return random_next();
    }
}

/*
 * A region size: mostly a few pages, sometimes an edge or anything. Huge ones are rare
 * because the kernel walks a region page by page to query, decommit or release it.
 */
static uint32_t region_size(void)
{
    switch (random_below(8)) {
    case 0:
        return random_next() >> random_below(32);     /* every magnitude alike */
    case 1:
        return edge();
    default:
        return (1 + random_below(16)) * PAGE - (one_in(4) ? random_below(PAGE) : 0);
    }
}

static uint32_t protection(void)
{
    static const uint32_t protections[] = {
        PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE,
        PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
    };
    uint32_t value = PICK(protections);

    switch (random_below(10)) {
    case 0:
        return value | PAGE_GUARD;
    case 1:
        return value | PICK(protections);
    case 2:
        return random_next() & (one_in(2) ? 0x3FFu : 0xFFFFFFFFu);
    case 3:
        return edge();
    default:
        return value;
    }
}

static uint32_t allocation_type(void)
{
    static const uint32_t types[] = {
        MEM_COMMIT, MEM_RESERVE, MEM_COMMIT | MEM_RESERVE, MEM_RESERVE | MEM_TOP_DOWN,
        MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN,
    };
    static const uint32_t others[] = {
        MEM_DECOMMIT, MEM_RELEASE, MEM_FREE, MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE, MEM_TOP_DOWN,
    };
    if (one_in(10))
        return integer();
    return PICK(types) | (one_in(6) ? PICK(others) : 0);
}

static uint32_t free_type(void)
{
    static const uint32_t types[] = {
        MEM_DECOMMIT, MEM_RELEASE, MEM_RELEASE, MEM_DECOMMIT | MEM_RELEASE, 0, MEM_FREE,
    };
    return one_in(8) ? integer() : PICK(types);
}

/* ---- what the fuzzer keeps, and what it made ---- */

struct range {
    uint32_t start, end;                    /* [start, end) */
};

static uint32_t scratch, read_only, guard;  /* the arenas */
static struct range code;                   /* the region holding main's code */
static struct range kept[MAX_KEPT];         /* every allocation there before the first call */
static unsigned kept_count;
/* Allocation bases the calls made, oldest first; some may have been freed since. */
static uint32_t owned[MAX_OWNED];
static unsigned owned_count;
static nt_handle_t sections[MAX_SECTIONS], children[MAX_CHILDREN];
static unsigned section_count, child_count;
static unsigned unexpected;
static volatile uint32_t thread_stack;      /* an address on the stack of the last thread */

/* Reports a status that should not have come; only the first few are printed. */
static void report(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *format, ...)
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

/* Whether [start, start + length), in whole pages and wrapping past 4 GB, misses `kept`. */
static bool range_is_expendable(uint32_t start, uint32_t length)
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

static void thread_main(void *argument)
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

/* ---- pointers ---- */

enum pointer_kind {
    P_NULL_REGION,          /* below 64 KB: never mapped */
    P_SYSTEM,               /* above the highest user address */
    P_STRADDLE,             /* just below it, running over it */
    P_NEVER_MAPPED,         /* in KUSER_SHARED_DATA's 64 KB, past its page */
    P_GUARD,                /* the guard arena: the first touch fails */
    P_CODE,                 /* main's code: readable, fixed, not writable */
    P_READ_ONLY,            /* the read-only arena: zeros, not writable */
    P_SCRATCH,              /* the scratch arena: what the fuzzer puts there */
    P_SHARED_DATA,          /* KUSER_SHARED_DATA: readable, changing, not writable */
    P_ANYWHERE,             /* any user address outside `kept`: mostly free */
    P_KIND_COUNT,
};

/* What the kernel cannot read or write. */
#define KINDS_UNREADABLE (BIT(P_NULL_REGION) | BIT(P_SYSTEM) | BIT(P_STRADDLE) | \
                          BIT(P_NEVER_MAPPED) | BIT(P_GUARD))
/* Where the fuzzer knows what the kernel will read (or that it cannot). */
#define KINDS_KNOWN      (KINDS_UNREADABLE | BIT(P_CODE) | BIT(P_READ_ONLY) | BIT(P_SCRATCH))
/* Where the kernel may write; a handle written outside the scratch would be lost. */
#define KINDS_OUT        (BIT(P_KIND_COUNT) - 1)
#define KINDS_HANDLE_OUT (KINDS_OUT & ~BIT(P_ANYWHERE))

struct pointer {
    uint32_t address;
    enum pointer_kind kind;
};

struct call {
    uint32_t number;
    uint32_t args[MAX_ARGUMENTS];
    bool raw;                       /* int 0x2E with EDX = raw_arguments instead */
    uint32_t raw_arguments;
    bool guard_used;
    /* What to do after a successful call. */
    enum { MAKES_NOTHING, MAKES_CHILD, MAKES_SECTION, MAKES_MEMORY, MAKES_THREAD } makes;
    struct pointer result;          /* where the new handle or base was written */
    struct pointer result_size;     /* where the new region's size was written */
    bool touches;                   /* touch the memory at touch_base */
    struct pointer touch_base;
    bool resets_dispatcher;
    uint32_t pointed[MAX_ARGUMENTS];    /* what the scratch held where an argument points */
};

static uint32_t anywhere(uint32_t size)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t address = 0x10000 + random_below(HIGHEST_ADDRESS - 0x10000 - size);
        if (range_is_expendable(address, size + PAGE))
            return address;
    }
    return NEVER_MAPPED;
}

/*
 * Above this process's limit: just above, at the places system space is made of under
 * each split (the /3GB probe address is still out of reach of this process), anywhere.
 */
static uint32_t system_address(void)
{
    static const uint32_t places[] = {
        0x80000000, 0xA0000000, 0xBFFEFFFC, 0xBFFF0000, 0xC0000000, 0xC0300000, 0xC0400000,
        0xC0900000, 0xC0C00000, 0xFFFFF000, 0xFFFFFFFC, 0xFFFFFFFF,
    };
    switch (random_below(3)) {
    case 0:
        return HIGHEST_ADDRESS + 1 + random_below(16);
    case 1:
        return PICK(places);
    default:
        return HIGHEST_ADDRESS + 1 + random_below(0u - HIGHEST_ADDRESS - 1);
    }
}

/* A pointer of one of kinds to size bytes; mostly into the scratch if it is one of them. */
static struct pointer pointer(struct call *call, unsigned kinds, uint32_t size)
{
    struct pointer p;

    if (kinds & BIT(P_SCRATCH) && !one_in(4)) {
        p.kind = P_SCRATCH;
    } else {
        do
            p.kind = random_below(P_KIND_COUNT);
        while (!(kinds & BIT(p.kind)));
    }
    uint32_t misalign = one_in(8) ? random_below(4) : 0;
    switch (p.kind) {
    case P_NULL_REGION:
        p.address = one_in(3) ? 0 : random_below(0x10000);
        break;
    case P_SYSTEM:
        p.address = system_address();
        break;
    case P_STRADDLE:
        p.address = HIGHEST_ADDRESS - random_below(size + 4);
        break;
    case P_NEVER_MAPPED:
        p.address = NEVER_MAPPED + random_below(HIGHEST_ADDRESS + 1 - NEVER_MAPPED - size);
        break;
    case P_GUARD:
        p.address = guard + random_below(GUARD_PAGES) * PAGE + (random_below(PAGE - size) & ~3u);
        call->guard_used = true;
        break;
    case P_CODE:
        p.address = code.start + random_below(code.end - code.start - size);
        break;
    case P_READ_ONLY:
        p.address = read_only + (random_below(ARENA_SIZE - size - 3) & ~3u) + misalign;
        break;
    case P_SCRATCH:
        p.address = scratch + (random_below(ARENA_SIZE - size - 3) & ~7u) + misalign;
        break;
    case P_SHARED_DATA:
        p.address = NT_SHARED_USER_DATA_ADDRESS + (random_below(PAGE - size) & ~3u);
        break;
    default:
        p.address = anywhere(size);
        break;
    }
    return p;
}

static bool readable_by_fuzzer(struct pointer p)
{
    return p.kind == P_CODE || p.kind == P_READ_ONLY || p.kind == P_SCRATCH;
}

/* Puts value where p points if that is the scratch (elsewhere the kernel reads what is there). */
static void put(struct pointer p, const void *value, size_t size)
{
    if (p.kind == P_SCRATCH)
        memcpy((void *)p.address, value, size);
}

static void put_word(struct pointer p, uint32_t value)
{
    put(p, &value, sizeof(value));
}

/* What the kernel will read at p: false if it cannot read there at all. */
static bool peek_word(struct pointer p, uint32_t *value)
{
    if (!readable_by_fuzzer(p))
        return false;
    memcpy(value, (const void *)p.address, sizeof(*value));
    return true;
}

/* A length for a buffer of size bytes at address: mostly right, sometimes not at all. */
static uint32_t length_for(uint32_t address, uint32_t size)
{
    switch (random_below(8)) {
    case 0:
        return size - 1;
    case 1:
        return size + 1;
    case 2:
        return integer();
    case 3:
        return 0u - address + random_below(64);        /* wraps past 4 GB */
    default:
        return size;
    }
}

/* An optional ReturnLength: none, or a pointer of any kind. */
static uint32_t return_length(struct call *call)
{
    return one_in(3) ? 0 : pointer(call, KINDS_OUT, 4).address;
}

/* ---- handles ---- */

static nt_handle_t any_handle(void)
{
    switch (random_below(7)) {
    case 0:
        return section_count ? sections[random_below(section_count)] : 4;
    case 1:
        return child_count ? children[random_below(child_count)] : 8;
    case 2:
        return random_below(MAX_HANDLE / 4 + 4) * 4;
    case 3:
        return NT_CURRENT_PROCESS;
    case 4:
        return NT_CURRENT_THREAD;
    case 5:
        return random_below(MAX_HANDLE + 8);
    default:
        return edge();
    }
}

static nt_handle_t process_handle(void)
{
    if (!one_in(4))
        return NT_CURRENT_PROCESS;
    if (child_count && !one_in(3))
        return children[random_below(child_count)];
    return any_handle();
}

/* ---- the calls, one maker per service; false: draw again ---- */

static bool make_terminate_process(struct call *c)
{
    c->args[0] = any_handle();
    c->args[1] = integer();
    return c->args[0] != NT_CURRENT_PROCESS;
}

static bool make_nothing(struct call *c)
{
    (void)c;
    return true;
}

/* A UNICODE_STRING in the scratch for ascii; its length sometimes wrong. */
static struct pointer unicode_string(struct call *c, const char *ascii)
{
    struct pointer string = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_unicode_string));
    struct pointer text = pointer(c, BIT(P_SCRATCH), 64);
    size_t length = rt_strlen(ascii);
    unsigned short characters[32];
    struct nt_unicode_string value;

    for (size_t i = 0; i < length; i++)
        characters[i] = (unsigned char)ascii[i];
    put(text, characters, length * 2);
    if (one_in(6))
        text = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 64);
    value.length = (unsigned short)(length * 2);
    value.maximum_length = value.length;
    switch (random_below(12)) {
    case 0:
        value.length -= one_in(2) ? 1 : 2 * random_below(4);
        break;
    case 1:
        value.maximum_length = value.length - 2;
        break;
    case 2:
        value.length = value.maximum_length = 0xFFFF - random_below(2);
        break;
    default:
        break;
    }
    value.buffer = (unsigned short *)text.address;
    put(string, &value, sizeof(value));
    return string;
}

/*
 * Strings that would really print are empty, so that the fuzzer writes nothing to the
 * console but its own lines.
 */
static bool make_display_string(struct call *c)
{
    static const unsigned short lengths[] = {0, 1, 2, 3, 64, DISPLAY_MAX_BYTES,
                                             DISPLAY_MAX_BYTES + 2, 0xFFFE, 0xFFFF};
    if (one_in(4)) {
        c->args[0] = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
        return true;
    }
    struct pointer string = pointer(c, BIT(P_SCRATCH), sizeof(struct nt_unicode_string));
    struct pointer text = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY) | BIT(P_SCRATCH), 2);
    struct nt_unicode_string value = {PICK(lengths), PICK(lengths),
                                      (unsigned short *)text.address};
    bool printable = value.length % 2 == 0 && value.length <= value.maximum_length &&
                     value.length <= DISPLAY_MAX_BYTES;

    if (printable && readable_by_fuzzer(text))
        value.length = 0;
    put(string, &value, sizeof(value));
    c->args[0] = string.address;
    return true;
}

static bool make_query_system_information(struct call *c)
{
    static const uint32_t classes[] = {NT_SYSTEM_BASIC_INFORMATION, NT_SYSTEM_MEMORY_INFORMATION,
                                       NT_SYSTEM_COUNTER_INFORMATION,
                                       NT_SYSTEM_PAGING_INFORMATION};
    static const uint32_t sizes[] = {sizeof(struct nt_system_basic_information),
                                     sizeof(struct nt_system_memory_information),
                                     sizeof(struct nt_system_counter_information),
                                     sizeof(struct nt_system_paging_information)};
    uint32_t which = random_below(COUNT_OF(classes));
    struct pointer buffer = pointer(c, KINDS_OUT, sizes[which]);

    c->args[0] = one_in(6) ? integer() : classes[which];
    c->args[1] = buffer.address;
    c->args[2] = length_for(buffer.address, sizes[random_below(COUNT_OF(sizes))]);
    c->args[3] = return_length(c);
    return true;
}

static bool make_create_process(struct call *c)
{
    static const char *const modules[] = {"fuzz.exe", "fuzz.exe", "FUZZ.EXE", "fuzz.ex",
                                          "nosuch.exe", ""};
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);

    c->args[0] = handle.address;
    c->args[1] = one_in(5) ? pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address
                           : unicode_string(c, PICK(modules)).address;
    switch (random_below(5)) {
    case 0:
        c->args[2] = 0;
        break;
    case 1:
        c->args[2] = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
        break;
    default:
        c->args[2] = unicode_string(c, "fuzz.exe child").address;
        break;
    }
    c->makes = MAKES_CHILD;
    c->result = handle;
    return true;
}

/* A relative interval or timeout: none, at most 1 ms, or one the kernel refuses. */
static uint32_t short_interval(struct call *c)
{
    static const int64_t intervals[] = {0, -1, -5000, -10000, 1, 10000, 0x7FFFFFFFFFFFFFFFLL};

    if (one_in(4))
        return pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY), 8).address;
    struct pointer p = pointer(c, BIT(P_SCRATCH), 8);
    int64_t value = PICK(intervals);
    put(p, &value, sizeof(value));
    return p.address;
}

static bool make_wait(struct call *c)
{
    c->args[0] = one_in(2) && child_count ? children[random_below(child_count)] : any_handle();
    c->args[1] = one_in(2) ? 0 : integer();
    /* Every child has ended, and a wait for this process is refused, so none can block. */
    c->args[2] = one_in(6) ? 0 : short_interval(c);
    return true;
}

static bool make_query_information_process(struct call *c)
{
    static const uint32_t classes[] = {NT_PROCESS_BASIC_INFORMATION,
                                       NT_PROCESS_EXCEPTION_INFORMATION, NT_PROCESS_QUOTA_LIMITS};
    static const uint32_t sizes[] = {sizeof(struct nt_process_basic_information),
                                     sizeof(struct nt_process_exception_information),
                                     sizeof(struct nt_quota_limits)};
    uint32_t which = random_below(COUNT_OF(classes));
    struct pointer buffer = pointer(c, KINDS_OUT, sizes[which]);

    c->args[0] = process_handle();
    c->args[1] = one_in(6) ? integer() : classes[which];
    c->args[2] = buffer.address;
    c->args[3] = length_for(buffer.address, sizes[random_below(COUNT_OF(sizes))]);
    c->args[4] = return_length(c);
    return true;
}

static bool make_set_information_process(struct call *c)
{
    static const uint32_t sizes[] = {0, PAGE, 20 * PAGE, 50 * PAGE, 345 * PAGE, 0x7FFFFFFF,
                                     0xFFFFFFFF};
    struct pointer buffer = pointer(c, KINDS_UNREADABLE | BIT(P_READ_ONLY) | BIT(P_SCRATCH),
                                    sizeof(struct nt_quota_limits));
    struct nt_quota_limits quota = {0};

    quota.minimum_working_set_size = one_in(2) ? PICK(sizes) : integer();
    quota.maximum_working_set_size = one_in(2) ? PICK(sizes) : integer();
    put(buffer, &quota, sizeof(quota));
    c->args[0] = process_handle();
    c->args[1] = one_in(6) ? integer() : NT_PROCESS_QUOTA_LIMITS;
    c->args[2] = buffer.address;
    c->args[3] = one_in(6) ? integer() : sizeof(struct nt_quota_limits);
    return true;
}

static bool make_close(struct call *c)
{
    c->args[0] = any_handle();
    return true;
}

/* An address to aim a memory service at: one the calls made, or anything. */
static uint32_t target_address(void)
{
    if (owned_count && !one_in(3)) {
        uint32_t base = owned[random_below(owned_count)];
        return one_in(3) ? base + random_below(4 * PAGE) : base;
    }
    return one_in(2) ? integer() : edge();
}

/* The in-out base and size pointers of the memory services, the values put there. */
static void base_and_size(struct call *c, uint32_t base, uint32_t size, struct pointer *base_p,
                          struct pointer *size_p)
{
    *base_p = pointer(c, KINDS_KNOWN, 4);
    *size_p = pointer(c, KINDS_KNOWN, 4);
    put_word(*base_p, base);
    put_word(*size_p, size);
}

static bool make_allocate(struct call *c)
{
    struct pointer base, size;
    uint32_t base_value;

    c->args[0] = process_handle();
    base_and_size(c, one_in(2) ? 0 : target_address(), region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = one_in(5) ? integer() : 0;
    c->args[3] = size.address;
    c->args[4] = allocation_type();
    c->args[5] = protection();
    if (c->args[0] != NT_CURRENT_PROCESS || !peek_word(base, &base_value))
        return true;
    /* A commit at an address goes into a reservation there: nothing new to own. */
    if (c->args[4] & MEM_RESERVE || base_value == 0) {
        c->makes = MAKES_MEMORY;
        c->result = base;
        c->result_size = size;
    }
    c->touches = one_in(2);
    c->touch_base = base;
    return true;
}

/*
 * Whether a free or protect of the range the kernel will read at base and size, in
 * this process, may go ahead: what cannot be read fails the call before it acts, and
 * size 0 means the whole allocation at base.
 */
static bool free_or_protect_is_safe(uint32_t process, struct pointer base, struct pointer size)
{
    uint32_t base_value, size_value;

    if (process != NT_CURRENT_PROCESS || !peek_word(base, &base_value) ||
        !peek_word(size, &size_value))
        return true;
    return range_is_expendable(base_value, size_value);
}

static bool make_free(struct call *c)
{
    struct pointer base, size;

    c->args[0] = process_handle();
    base_and_size(c, target_address(), one_in(2) ? 0 : region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = size.address;
    c->args[3] = free_type();
    return free_or_protect_is_safe(c->args[0], base, size);
}

static bool make_protect(struct call *c)
{
    struct pointer base, size;

    c->args[0] = process_handle();
    base_and_size(c, target_address(), region_size(), &base, &size);
    c->args[1] = base.address;
    c->args[2] = size.address;
    c->args[3] = protection();
    c->args[4] = one_in(8) ? 0 : pointer(c, KINDS_OUT, 4).address;
    c->touches = c->args[0] == NT_CURRENT_PROCESS && one_in(2);
    c->touch_base = base;
    return free_or_protect_is_safe(c->args[0], base, size);
}

static bool make_query_virtual_memory(struct call *c)
{
    struct pointer buffer = pointer(c, KINDS_OUT, sizeof(struct nt_memory_basic_information));

    c->args[0] = process_handle();
    c->args[1] = one_in(4) ? kept[random_below(kept_count)].start : target_address();
    c->args[2] = one_in(6) ? integer() : NT_MEMORY_BASIC_INFORMATION;
    c->args[3] = buffer.address;
    c->args[4] = length_for(buffer.address, sizeof(struct nt_memory_basic_information));
    c->args[5] = return_length(c);
    return true;
}

/* A dispatcher in system space, which must be refused; it is removed again in any case. */
static bool make_set_exception_handler(struct call *c)
{
    c->args[0] = one_in(2) ? 0 : pointer(c, BIT(P_SYSTEM), 1).address;
    c->resets_dispatcher = c->args[0] != 0;
    return true;
}

static bool make_continue(struct call *c)
{
    c->args[0] = pointer(c, KINDS_UNREADABLE, sizeof(struct nt_context)).address;
    c->args[1] = integer();
    return true;
}

static bool make_create_section(struct call *c)
{
    static const uint32_t protections[] = {PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE_READ,
                                           PAGE_EXECUTE_READWRITE};
    static const int64_t sizes[] = {0, 1, 0x1000, 0x10000, 0x20000, 0x40000000, 0x40000001,
                                    0xFFFFFFFF, 0x100000000LL, -1};
    struct pointer handle = pointer(c, KINDS_HANDLE_OUT, 4);
    struct pointer size = pointer(c, KINDS_KNOWN, 8);
    int64_t size_value = one_in(2) ? (int64_t)(1 + random_below(32)) * PAGE : PICK(sizes);

    put(size, &size_value, sizeof(size_value));
    c->args[0] = handle.address;
    c->args[1] = one_in(2) ? 0xF001F : integer();
    c->args[2] = one_in(8) ? integer() : 0;
    c->args[3] = one_in(10) ? 0 : size.address;
    c->args[4] = one_in(4) ? protection() : PICK(protections);
    c->args[5] = one_in(8) ? allocation_type() : SEC_COMMIT;
    c->args[6] = one_in(10) ? integer() : 0;
    c->makes = MAKES_SECTION;
    c->result = handle;
    return true;
}

static bool make_map_view(struct call *c)
{
    static const uint32_t protections[] = {PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY,
                                           PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                           PAGE_EXECUTE_WRITECOPY, PAGE_EXECUTE};
    static const int64_t offsets[] = {0, 0, 0x1000, 0x10000, 0x20000, 0xFFFFFFFF,
                                      0x100000000LL, -0x10000};
    struct pointer base, size, offset = pointer(c, KINDS_KNOWN, 8);
    int64_t offset_value = PICK(offsets);

    put(offset, &offset_value, sizeof(offset_value));
    c->args[0] = section_count && !one_in(5) ? sections[random_below(section_count)]
                                             : any_handle();
    c->args[1] = process_handle();
    base_and_size(c, one_in(2) ? 0 : target_address(), one_in(2) ? 0 : region_size(), &base,
                  &size);
    c->args[2] = base.address;
    c->args[3] = one_in(8) ? integer() : 0;
    c->args[4] = integer();
    c->args[5] = one_in(3) ? 0 : offset.address;
    c->args[6] = size.address;
    c->args[7] = one_in(2) ? 1 : integer();
    c->args[8] = one_in(4) ? allocation_type() : one_in(4) ? MEM_TOP_DOWN : 0;
    c->args[9] = one_in(4) ? protection() : PICK(protections);
    if (c->args[1] == NT_CURRENT_PROCESS) {
        c->makes = MAKES_MEMORY;
        c->result = base;
        c->result_size = size;
        c->touches = !one_in(3);
        c->touch_base = base;
    }
    return true;
}

static bool make_unmap_view(struct call *c)
{
    c->args[0] = process_handle();
    c->args[1] = target_address();
    return c->args[0] != NT_CURRENT_PROCESS || range_is_expendable(c->args[1], 1);
}

/* Threads start only where they end themselves, or where the kernel must refuse them. */
static bool make_create_thread(struct call *c)
{
    switch (random_below(4)) {
    case 0:
        c->args[0] = 0;
        break;
    case 1:
        c->args[0] = pointer(c, BIT(P_SYSTEM), 1).address;
        break;
    default:
        c->args[0] = (uint32_t)(uintptr_t)thread_main;
        break;
    }
    c->args[1] = integer();
    if (c->args[0] == (uint32_t)(uintptr_t)thread_main) {
        c->makes = MAKES_THREAD;
        thread_stack = 0;
    }
    return true;
}

static bool make_terminate_thread(struct call *c)
{
    c->args[0] = any_handle();
    c->args[1] = integer();
    return c->args[0] != NT_CURRENT_THREAD;
}

static bool make_delay(struct call *c)
{
    c->args[0] = one_in(2) ? 0 : integer();
    c->args[1] = one_in(8) ? 0 : short_interval(c);
    return true;
}

static bool make_any(struct call *c)
{
    for (unsigned i = 0; i < MAX_ARGUMENTS; i++)
        c->args[i] = integer();
    return true;
}

/* ---- the services and the statuses each can return ---- */

enum {
    OK_SUCCESS, OK_TIMEOUT, OK_ACCESS_VIOLATION, OK_INVALID_PARAMETER, OK_INVALID_HANDLE,
    OK_TYPE_MISMATCH, OK_INFO_CLASS, OK_INFO_LENGTH, OK_CONFLICTING, OK_NO_MEMORY,
    OK_COMMITMENT_LIMIT, OK_INSUFFICIENT_RESOURCES, OK_PAGE_PROTECTION, OK_NOT_ALLOCATED,
    OK_NOT_AT_BASE, OK_UNABLE_TO_FREE, OK_UNABLE_TO_DELETE, OK_NOT_COMMITTED,
    OK_SECTION_PROTECTION, OK_VIEW_SIZE, OK_NOT_MAPPED_VIEW, OK_NOT_SUPPORTED,
    OK_NAME_NOT_FOUND, OK_IMAGE_FORMAT, OK_TERMINATING, OK_SYSTEM_SERVICE,
    OK_WORKING_SET_LIMIT, OK_IN_PAGE_ERROR, OK_COUNT,
};

static const ntstatus_t ok_statuses[OK_COUNT] = {
    STATUS_SUCCESS, STATUS_TIMEOUT, STATUS_ACCESS_VIOLATION, STATUS_INVALID_PARAMETER,
    STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH, STATUS_INVALID_INFO_CLASS,
    STATUS_INFO_LENGTH_MISMATCH, STATUS_CONFLICTING_ADDRESSES, STATUS_NO_MEMORY,
    STATUS_COMMITMENT_LIMIT, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PAGE_PROTECTION,
    STATUS_MEMORY_NOT_ALLOCATED, STATUS_FREE_VM_NOT_AT_BASE, STATUS_UNABLE_TO_FREE_VM,
    STATUS_UNABLE_TO_DELETE_SECTION, STATUS_NOT_COMMITTED, STATUS_SECTION_PROTECTION,
    STATUS_INVALID_VIEW_SIZE, STATUS_NOT_MAPPED_VIEW, STATUS_NOT_SUPPORTED,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_INVALID_IMAGE_FORMAT, STATUS_PROCESS_IS_TERMINATING,
    STATUS_INVALID_SYSTEM_SERVICE, STATUS_BAD_WORKING_SET_LIMIT, STATUS_IN_PAGE_ERROR,
};

/* What a service taking a process handle may say about it. */
#define PROCESS_HANDLE (BIT(OK_INVALID_HANDLE) | BIT(OK_TYPE_MISMATCH))
/*
 * ... and one that works in that process's address space: a process that has ended has
 * none left to work in (NT says STATUS_PROCESS_IS_TERMINATING).
 */
#define PROCESS_SPACE  (PROCESS_HANDLE | BIT(OK_TERMINATING))
/* A new reservation or view, or commit: out of address space, commit, pool or frames. */
#define OUT_OF_MEMORY  (BIT(OK_NO_MEMORY) | BIT(OK_COMMITMENT_LIMIT) | \
                        BIT(OK_INSUFFICIENT_RESOURCES))
/*
 * The argument copy, and the probes every pointer argument gets: a bad pointer, or
 * (as on NT) memory that could not be brought in: no frame left, a failed disk read.
 */
#define PROBES         (BIT(OK_ACCESS_VIOLATION) | BIT(OK_NO_MEMORY) | BIT(OK_IN_PAGE_ERROR))

struct service {
    const char *name;
    unsigned arguments;             /* as kernel/syscall.c copies them */
    unsigned weight;                /* how often the stream draws it */
    uint32_t ok;                    /* BIT(OK_*) of the statuses it may return */
    bool (*make)(struct call *call);
};

static const struct service services[NT_SERVICE_COUNT] = {
    [NT_SERVICE_TERMINATE_PROCESS] = {"NtTerminateProcess", 2, 2,
        BIT(OK_SUCCESS) | PROCESS_HANDLE, make_terminate_process},
    [NT_SERVICE_YIELD_EXECUTION] = {"NtYieldExecution", 0, 1, BIT(OK_SUCCESS), make_nothing},
    [NT_SERVICE_DISPLAY_STRING] = {"NtDisplayString", 1, 3,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER), make_display_string},
    [NT_SERVICE_QUERY_SYSTEM_INFORMATION] = {"NtQuerySystemInformation", 4, 3,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INFO_CLASS) | BIT(OK_INFO_LENGTH),
        make_query_system_information},
    [NT_SERVICE_CREATE_PROCESS_FROM_MODULE] = {"NtCreateProcessFromModule", 3, 2,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | BIT(OK_NAME_NOT_FOUND) |
        BIT(OK_IMAGE_FORMAT) | BIT(OK_CONFLICTING) | OUT_OF_MEMORY, make_create_process},
    [NT_SERVICE_WAIT_FOR_SINGLE_OBJECT] = {"NtWaitForSingleObject", 3, 2,
        BIT(OK_SUCCESS) | BIT(OK_TIMEOUT) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_HANDLE,
        make_wait},
    [NT_SERVICE_QUERY_INFORMATION_PROCESS] = {"NtQueryInformationProcess", 5, 3,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INFO_CLASS) | BIT(OK_INFO_LENGTH) | PROCESS_HANDLE,
        make_query_information_process},
    [NT_SERVICE_CLOSE] = {"NtClose", 1, 3, BIT(OK_SUCCESS) | BIT(OK_INVALID_HANDLE),
        make_close},
    [NT_SERVICE_ALLOCATE_VIRTUAL_MEMORY] = {"NtAllocateVirtualMemory", 6, 10,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        BIT(OK_PAGE_PROTECTION) | BIT(OK_CONFLICTING) | OUT_OF_MEMORY, make_allocate},
    [NT_SERVICE_FREE_VIRTUAL_MEMORY] = {"NtFreeVirtualMemory", 4, 8,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        BIT(OK_NOT_ALLOCATED) | BIT(OK_UNABLE_TO_DELETE) | BIT(OK_NOT_AT_BASE) |
        BIT(OK_UNABLE_TO_FREE), make_free},
    [NT_SERVICE_PROTECT_VIRTUAL_MEMORY] = {"NtProtectVirtualMemory", 5, 8,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        BIT(OK_PAGE_PROTECTION) | BIT(OK_CONFLICTING) | BIT(OK_NOT_SUPPORTED) |
        BIT(OK_NOT_COMMITTED), make_protect},
    [NT_SERVICE_QUERY_VIRTUAL_MEMORY] = {"NtQueryVirtualMemory", 6, 6,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        BIT(OK_INFO_CLASS) | BIT(OK_INFO_LENGTH), make_query_virtual_memory},
    [NT_SERVICE_SET_EXCEPTION_HANDLER] = {"NtSetExceptionHandler", 1, 1,
        BIT(OK_SUCCESS) | PROBES, make_set_exception_handler},
    [NT_SERVICE_CONTINUE] = {"NtContinue", 2, 1, PROBES, make_continue},
    [NT_SERVICE_CREATE_SECTION] = {"NtCreateSection", 7, 4,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | BIT(OK_PAGE_PROTECTION) |
        OUT_OF_MEMORY, make_create_section},
    [NT_SERVICE_MAP_VIEW_OF_SECTION] = {"NtMapViewOfSection", 10, 6,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER) | PROCESS_SPACE |
        BIT(OK_SECTION_PROTECTION) | BIT(OK_VIEW_SIZE) | BIT(OK_CONFLICTING) | OUT_OF_MEMORY,
        make_map_view},
    [NT_SERVICE_UNMAP_VIEW_OF_SECTION] = {"NtUnmapViewOfSection", 2, 4,
        BIT(OK_SUCCESS) | PROCESS_SPACE | BIT(OK_NOT_MAPPED_VIEW), make_unmap_view},
    [NT_SERVICE_TEST_ALERT] = {"NtTestAlert", 0, 1, BIT(OK_SUCCESS), make_nothing},
    [NT_SERVICE_CREATE_THREAD] = {"NtCreateThread", 2, 2,
        BIT(OK_SUCCESS) | BIT(OK_INVALID_PARAMETER) | OUT_OF_MEMORY, make_create_thread},
    [NT_SERVICE_TERMINATE_THREAD] = {"NtTerminateThread", 2, 1, BIT(OK_INVALID_HANDLE),
        make_terminate_thread},
    [NT_SERVICE_DELAY_EXECUTION] = {"NtDelayExecution", 2, 1,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INVALID_PARAMETER), make_delay},
    [NT_SERVICE_SET_INFORMATION_PROCESS] = {"NtSetInformationProcess", 4, 2,
        BIT(OK_SUCCESS) | PROBES | BIT(OK_INFO_CLASS) | BIT(OK_INFO_LENGTH) | PROCESS_SPACE |
        BIT(OK_WORKING_SET_LIMIT) | BIT(OK_INSUFFICIENT_RESOURCES),
        make_set_information_process},
};

/* Numbers past the last service, and far past it. */
static const uint32_t invalid_numbers[] = {
    NT_SERVICE_COUNT, NT_SERVICE_COUNT + 1, NT_SERVICE_COUNT + 2, 0x1000, 0x7FFFFFFF,
    0x80000000, 0xFFFFFFFF,
};
#define INVALID_WEIGHT 1

static const char *service_name(uint32_t number)
{
    return number < NT_SERVICE_COUNT ? services[number].name : "(no service)";
}

static bool status_allowed(const struct call *c, ntstatus_t status)
{
    uint32_t ok;

    if (c->number >= NT_SERVICE_COUNT)
        ok = BIT(OK_SYSTEM_SERVICE);
    else if (c->raw && services[c->number].arguments)
        ok = PROBES;        /* the arguments themselves cannot be read */
    else
        ok = services[c->number].ok;
    for (unsigned i = 0; i < OK_COUNT; i++)
        if (ok & BIT(i) && ok_statuses[i] == status)
            return true;
    return false;
}

/* Draws the next call; false when it is one to leave out (the caller draws again). */
static bool draw(struct call *c)
{
    static unsigned total_weight;

    memset(c, 0, sizeof(*c));
    if (!total_weight) {
        total_weight = INVALID_WEIGHT;
        for (unsigned i = 0; i < NT_SERVICE_COUNT; i++)
            total_weight += services[i].weight;
    }
    if (one_in(40)) {
        c->number = one_in(8) ? PICK(invalid_numbers) : random_below(NT_SERVICE_COUNT);
        c->raw = true;
        c->raw_arguments = pointer(c, KINDS_UNREADABLE, 4 * MAX_ARGUMENTS).address;
        return true;
    }
    uint32_t ticket = random_below(total_weight);
    for (c->number = 0; c->number < NT_SERVICE_COUNT; c->number++) {
        if (ticket < services[c->number].weight)
            return services[c->number].make(c);
        ticket -= services[c->number].weight;
    }
    c->number = PICK(invalid_numbers);
    return make_any(c);
}

static ntstatus_t issue(const struct call *c)
{
    const uint32_t *a = c->args;
    ntstatus_t status;

    if (!c->raw)
        return rt_syscall(c->number, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                          a[9]);
    __asm__ volatile("int %[vector]"
                     : "=a"(status)
                     : [vector] "i"(NT_SYSCALL_VECTOR), "a"(c->number), "d"(c->raw_arguments)
                     : "memory");
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
    unsigned count = c->number < NT_SERVICE_COUNT ? services[c->number].arguments : 4;
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
    code = (struct range){info.base_address, info.base_address + info.region_size};
    walk_allocations(keep);
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
    char text[200];

    if (argc < 3)
        return 0;
    if (argc > 4 || !rt_parse_u32(argv[1], &seed) || !rt_parse_u32(argv[2], &count) ||
        (argc == 4 && !report_successes && !trace)) {
        rt_printf("usage: %s SEED COUNT [report|trace] | child\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    rt_printf("    # fuzz: seed 0x%08x, %u calls\n", seed, count);
    random_state = seed ? seed : 0x2545F491;    /* xorshift never leaves 0 */
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
    return report_successes ? (int)(succeeded & 0xFFFF) : (int)unexpected;
}
