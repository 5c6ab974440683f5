/*
 * What fuzz.exe's arguments are made of, all drawn from one seeded stream: integers at
 * the edges, region sizes, protections and flags, pointers of every kind the kernel must
 * tell apart (see enum pointer_kind), lengths that are wrong or wrap, and handles.
 */
#include "tests/user/fuzz.h"

/* ---- the stream ---- */

static uint32_t random_state;

void stream_seed(uint32_t seed)
{
    random_state = seed ? seed : 0x2545F491;    /* xorshift never leaves 0 */
}

/* xorshift32 (Marsaglia, 2003): the whole run follows from the seed. */
uint32_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

uint32_t random_below(uint32_t n)
{
    return n ? random_next() % n : 0;
}

bool one_in(uint32_t n)
{
    return random_below(n) == 0;
}

/* Integers at the edges of pages, of 64 KB, of the splits and of 32 bits, and beside them. */
uint32_t edge(void)
{
    static const uint32_t edges[] = {
        0, 1, 0xFFF, 0x1000, 0xFFFF, 0x10000, 0x7FFEFFFF, 0x7FFF0000, 0x80000000,
        0xBFFF0000, 0xC0000000, 0xFFFFFFFF,
    };
    return PICK(edges) + random_below(3) - 1;
}

uint32_t integer(void)
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
uint32_t region_size(void)
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

uint32_t protection(void)
{
    static const uint32_t protections[] = {
        PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE,
        PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY,
    };
    uint32_t value = PICK(protections);

    static const uint32_t modifiers[] = {PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE,
                                         PAGE_NOCACHE | PAGE_WRITECOMBINE};

    switch (random_below(10)) {
    case 0:
        return value | PICK(modifiers);
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

uint32_t allocation_type(void)
{
    static const uint32_t types[] = {
        MEM_COMMIT, MEM_RESERVE, MEM_COMMIT | MEM_RESERVE, MEM_RESERVE | MEM_TOP_DOWN,
        MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN, MEM_RESERVE | MEM_WRITE_WATCH,
        MEM_COMMIT | MEM_RESERVE | MEM_WRITE_WATCH, MEM_RESET, MEM_RESET_UNDO,
    };
    static const uint32_t others[] = {
        MEM_DECOMMIT, MEM_RELEASE, MEM_FREE, MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE, MEM_TOP_DOWN,
        MEM_RESET, MEM_WRITE_WATCH, MEM_PHYSICAL, AT_ROUND_TO_PAGE,
    };
    if (one_in(10))
        return integer();
    return PICK(types) | (one_in(6) ? PICK(others) : 0);
}

uint32_t free_type(void)
{
    static const uint32_t types[] = {
        MEM_DECOMMIT, MEM_RELEASE, MEM_RELEASE, MEM_DECOMMIT | MEM_RELEASE, 0, MEM_FREE,
    };
    return one_in(8) ? integer() : PICK(types);
}

/* ---- pointers ---- */

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
        0xC0600000, 0xC0800000, 0xC0D00000, 0xC1000000, 0xFFFFF000, 0xFFFFFFFC, 0xFFFFFFFF,
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
struct pointer pointer(struct call *call, unsigned kinds, uint32_t size)
{
    struct pointer p;

    unsigned race_kinds = kinds & (BIT(P_RACE_IN) | BIT(P_RACE_OUT));

    if (!racing)
        kinds &= ~race_kinds;
    /* Racing, a pointer goes where the race is one time in three when it may. */
    if (racing && race_kinds && one_in(3)) {
        p.kind = race_kinds & BIT(P_RACE_OUT) ? P_RACE_OUT : P_RACE_IN;
    } else if (kinds & BIT(P_SCRATCH) && !one_in(4)) {
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
    case P_RACE_IN:
        /* 8-aligned: a value of up to 8 bytes lies in one page, all zeros or all ones. */
        p.address = FUZZ_RACE_IN + (random_below(FUZZ_RACE_PAGES * PAGE - size) & ~7u);
        break;
    case P_RACE_OUT:
        p.address = FUZZ_RACE_OUT + random_below(FUZZ_RACE_END - FUZZ_RACE_OUT - size);
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

bool readable_by_fuzzer(struct pointer p)
{
    return p.kind == P_CODE || p.kind == P_READ_ONLY || p.kind == P_SCRATCH;
}

/* Puts value where p points if that is the scratch (elsewhere the kernel reads what is there). */
void put(struct pointer p, const void *value, size_t size)
{
    if (p.kind == P_SCRATCH)
        memcpy((void *)p.address, value, size);
}

void put_word(struct pointer p, uint32_t value)
{
    put(p, &value, sizeof(value));
}

/* What the kernel will read at p: false if it cannot read there at all. */
bool peek_word(struct pointer p, uint32_t *value)
{
    if (!readable_by_fuzzer(p))
        return false;
    memcpy(value, (const void *)p.address, sizeof(*value));
    return true;
}

/* A length for a buffer of size bytes at address: mostly right, sometimes not at all. */
uint32_t length_for(uint32_t address, uint32_t size)
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
uint32_t return_length(struct call *call)
{
    return one_in(3) ? 0 : pointer(call, KINDS_OUT, 4).address;
}

/* ---- handles ---- */

nt_handle_t any_handle(void)
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

nt_handle_t process_handle(void)
{
    if (!one_in(4))
        return NT_CURRENT_PROCESS;
    if (child_count && !one_in(3))
        return children[random_below(child_count)];
    return any_handle();
}

