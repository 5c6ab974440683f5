/*
 * vm_rules.exe: the argument rules of NtAllocateVirtualMemory, NtFreeVirtualMemory,
 * NtProtectVirtualMemory and NtQueryVirtualMemory, one check per rule, as 32-bit Windows
 * 10 has them: a bad argument named by its place (STATUS_INVALID_PARAMETER_2 for a base,
 * and so on), the arguments checked in Windows' order:
 *   - allocate: anywhere bottom-up or top-down, 64 KB-aligned; a given base rounded down
 *     to 64 KB for a reservation (the size grown to cover every page the range touched),
 *     to the page for a commit; the rounded base and size written back; a commit only
 *     inside one reservation; a fixed reservation against an existing one (nine cases);
 *     the null region and the range above the limit refused; bad types, protections,
 *     sizes, ZeroBits, handles and pointers refused, writing nothing; memory reads zero;
 *   - free: decommit of any pages inside one reservation, and with size 0 of all of it
 *     from its base (a decommit writes back size 0, as Windows 10 since 1803); release
 *     of a whole reservation (size 0, or a range that rounds to exactly it) or of part of
 *     one, which splits it (check_partial_release);
 *     ranges crossing a reservation's end; free memory; bad free types;
 *   - protect: committed pages of one reservation only; the old protection of the first
 *     page, PAGE_GUARD included; data kept across changes;
 *   - query: lengths, classes, addresses above the limit, page rounding.
 * Everything it reserved is released at the end, which the count of reservations checks.
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number failed.
 */
#include "tests/user/runtime/rt.h"

#define PAGE            0x1000u
#define GRANULE         0x10000u
#define WINDOW          0x100000u       /* the free space each group of checks works in */
#define LOWEST          0x10000u        /* below it lies the null region */
#define KERNEL_ADDRESS  0xC0000000u     /* the PTE self-map, system space in every split */
#define BAD_HANDLE      0x1234u

static uint32_t highest;

/* A 64 KB-aligned range of size bytes that is free: reserved anywhere and released. */
static uint32_t free_window(uint32_t size)
{
    uint32_t base = 0;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_NOACCESS), STATUS_SUCCESS))
        return 0;
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    return base;
}

/* The call must succeed and write back want_base and want_size. */
static bool allocated(int line, uint32_t base, uint32_t size, unsigned int type,
                      unsigned int protect, uint32_t want_base, uint32_t want_size)
{
    uint32_t b = base, s = size;
    ntstatus_t status = rt_vm_allocate(&b, &s, type, protect);

    return rt_check(NT_SUCCESS(status) && b == want_base && s == want_size, __FILE__, line,
                    "allocate 0x%08x+0x%x type 0x%x: 0x%08x, 0x%08x+0x%x (expected 0x%08x+0x%x)",
                    base, size, type, (unsigned int)status, b, s, want_base, want_size);
}
#define ALLOCATED(base, size, type, protect, want_base, want_size) \
    allocated(__LINE__, base, size, type, protect, want_base, want_size)

/* The call must fail with expected, writing nothing back; a wrong success is undone. */
static void allocate_refused(int line, ntstatus_t expected, uint32_t base, uint32_t size,
                             unsigned int type, unsigned int protect)
{
    uint32_t b = base, s = size;
    ntstatus_t status = rt_vm_allocate(&b, &s, type, protect);

    rt_check(status == expected, __FILE__, line,
             "allocate 0x%08x+0x%x type 0x%x protect 0x%x: 0x%08x, expected 0x%08x", base, size,
             type, protect, (unsigned int)status, (unsigned int)expected);
    if (NT_SUCCESS(status))
        rt_vm_release(b);
    else
        rt_check(b == base && s == size, __FILE__, line, "the refusal wrote back 0x%08x+0x%x",
                 b, s);
}
#define ALLOCATE_REFUSED(expected, base, size, type, protect) \
    allocate_refused(__LINE__, expected, base, size, type, protect)

/* NtFreeVirtualMemory must give expected and, on success, write back want_base/want_size. */
static bool freed(int line, ntstatus_t expected, uint32_t base, uint32_t size, unsigned int type,
                  uint32_t want_base, uint32_t want_size)
{
    uint32_t b = base, s = size;
    ntstatus_t status = rt_vm_free(&b, &s, type);

    if (NT_SUCCESS(expected))
        return rt_check(status == expected && b == want_base && s == want_size, __FILE__, line,
                        "free 0x%08x+0x%x type 0x%x: 0x%08x, 0x%08x+0x%x (expected "
                        "0x%08x+0x%x)", base, size, type, (unsigned int)status, b, s,
                        want_base, want_size);
    return rt_check(status == expected && b == base && s == size, __FILE__, line,
                    "free 0x%08x+0x%x type 0x%x: 0x%08x, 0x%08x+0x%x (expected 0x%08x)", base,
                    size, type, (unsigned int)status, b, s, (unsigned int)expected);
}
#define FREED(base, size, type, want_base, want_size) \
    freed(__LINE__, STATUS_SUCCESS, base, size, type, want_base, want_size)
#define FREE_REFUSED(expected, base, size, type) freed(__LINE__, expected, base, size, type, 0, 0)

/* NtProtectVirtualMemory must give expected; on success the rounded range and old protection. */
static void changed_protection(int line, ntstatus_t expected, uint32_t base, uint32_t size,
                               unsigned int protect, uint32_t want_base, uint32_t want_size,
                               unsigned int want_old)
{
    uint32_t b = base, s = size;
    unsigned int old = 0xA5A5;
    ntstatus_t status = rt_vm_protect(&b, &s, protect, &old);

    if (NT_SUCCESS(expected))
        rt_check(status == expected && b == want_base && s == want_size && old == want_old,
                 __FILE__, line, "protect 0x%08x+0x%x 0x%x: 0x%08x, 0x%08x+0x%x old 0x%x "
                 "(expected 0x%08x+0x%x old 0x%x)", base, size, protect, (unsigned int)status,
                 b, s, old, want_base, want_size, want_old);
    else
        rt_check(status == expected && b == base && s == size && old == 0xA5A5, __FILE__, line,
                 "protect 0x%08x+0x%x 0x%x: 0x%08x, 0x%08x+0x%x old 0x%x (expected 0x%08x)",
                 base, size, protect, (unsigned int)status, b, s, old, (unsigned int)expected);
}
#define PROTECTED(base, size, protect, want_base, want_size, want_old)                      \
    changed_protection(__LINE__, STATUS_SUCCESS, base, size, protect, want_base, want_size, \
                       want_old)
#define PROTECT_REFUSED(expected, base, size, protect) \
    changed_protection(__LINE__, expected, base, size, protect, 0, 0, 0)

/* Free memory reads as PAGE_NOACCESS, as on NT. */
#define EXPECT_FREE(address)                                                           \
    RT_EXPECT_REGION(address, .base_address = (address) & ~(PAGE - 1), .state = MEM_FREE, \
                     .protect = PAGE_NOACCESS)

/* The number of reservations from the bottom of user space to its top. */
static unsigned int count_reservations(void)
{
    struct nt_memory_basic_information info;
    unsigned int count = 0;
    uint32_t address = 0;

    for (;;) {
        if (!RT_EXPECT_EQ(rt_vm_query(address, &info), STATUS_SUCCESS) ||
            !RT_EXPECT_EQ(info.base_address, address) || !RT_EXPECT(info.region_size != 0))
            return count;
        if (info.state != MEM_FREE && info.base_address == info.allocation_base)
            count++;
        if (info.region_size > highest - address)
            return count;
        address += info.region_size;
    }
}

static bool all_zero(uint32_t base, uint32_t size)
{
    for (uint32_t offset = 0; offset < size; offset += 4)
        if (*(volatile uint32_t *)(base + offset) != 0)
            return false;
    return true;
}

/* ---- NtAllocateVirtualMemory ---- */

static void check_allocate_anywhere(void)
{
    uint32_t low = 0, high = 0, base = 0, size = GRANULE;

    if (RT_EXPECT_EQ(rt_vm_allocate(&low, &size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(size, GRANULE);
        RT_EXPECT_EQ(low % GRANULE, 0);
        RT_EXPECT(low >= LOWEST && low + GRANULE - 1 <= highest);
        RT_EXPECT_REGION(low, .base_address = low, .allocation_base = low,
                         .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
    }
    size = GRANULE;
    if (RT_EXPECT_EQ(rt_vm_allocate(&high, &size, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE),
                     STATUS_SUCCESS)) {
        struct nt_memory_basic_information above;

        RT_EXPECT_EQ(size, GRANULE);
        RT_EXPECT_EQ(high % GRANULE, 0);
        RT_EXPECT_MSG(high > low, "top-down 0x%08x is not above bottom-up 0x%08x", high, low);
        /* Top-down takes the highest unit: the next one up is not wholly free. */
        RT_EXPECT_MSG(high + GRANULE > highest || !NT_SUCCESS(rt_vm_query(high + GRANULE,
                                                                          &above)) ||
                      above.state != MEM_FREE || above.region_size < GRANULE,
                      "top-down 0x%08x left the unit above it free", high);
    }
    RT_EXPECT_EQ(rt_vm_release(low), STATUS_SUCCESS);
    RT_EXPECT_EQ(rt_vm_release(high), STATUS_SUCCESS);

    /* A size is rounded up to pages; the rest of the 64 KB unit stays free. */
    size = 0x1801;
    if (RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(size, 0x2000);
        RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x2000,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
        EXPECT_FREE(base + 0x2000);
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }

    /* MEM_COMMIT with no base reserves as well, as on NT; committed memory reads zero. */
    base = 0;
    size = 0x3000;
    if (RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(size, 0x3000);
        RT_EXPECT_EQ(base % GRANULE, 0);
        RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x3000,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
        RT_EXPECT(all_zero(base, 0x3000));
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }
    base = 0;
    size = 0x5000;
    if (RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_SUCCESS)) {
        RT_EXPECT(all_zero(base, 0x5000));
        for (uint32_t offset = 0; offset < 0x5000; offset += 4)
            *(volatile uint32_t *)(base + offset) = offset ^ 0x5A5A5A5A;
        for (uint32_t offset = 0; offset < 0x5000; offset += 4)
            if (!RT_EXPECT_EQ(*(volatile uint32_t *)(base + offset), offset ^ 0x5A5A5A5A))
                break;
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }

    /* ZeroBits: the base has that many high bits clear. */
    void *pointer = NULL;
    size_t bytes = GRANULE;
    RT_EXPECT_EQ(NtAllocateVirtualMemory(NT_CURRENT_PROCESS, &pointer, 22, &bytes, MEM_RESERVE,
                                         PAGE_READWRITE), STATUS_INVALID_PARAMETER_3);
    RT_EXPECT(pointer == NULL && bytes == GRANULE);
    if (RT_EXPECT_EQ(NtAllocateVirtualMemory(NT_CURRENT_PROCESS, &pointer, 4, &bytes,
                                             MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE),
                     STATUS_SUCCESS)) {
        base = (uint32_t)(uintptr_t)pointer;
        RT_EXPECT_MSG(base + bytes - 1 <= 0x0FFFFFFF, "ZeroBits 4 gave 0x%08x+0x%x", base,
                      (unsigned int)bytes);
        RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    }
}

static void check_allocate_at_base(void)
{
    uint32_t w = free_window(WINDOW);

    if (!w)
        return;
    /* A reservation starts at the 64 KB unit and covers every page the range touched. */
    if (ALLOCATED(w + 0x1234, 0x2000, MEM_RESERVE, PAGE_READWRITE, w, 0x4000)) {
        /* A commit starts at the page. */
        ALLOCATED(w + 0x1800, 0x1000, MEM_COMMIT, PAGE_READWRITE, w + 0x1000, 0x2000);
        RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
        RT_EXPECT_REGION(w + 0x1000, .base_address = w + 0x1000, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x2000,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
        RT_EXPECT(all_zero(w + 0x1000, 0x2000));
        /* Committing committed pages again is no error. */
        ALLOCATED(w + 0x1000, 0x1000, MEM_COMMIT, PAGE_READWRITE, w + 0x1000, 0x1000);
        /* Not wholly inside the reservation: refused, nothing committed. */
        ALLOCATE_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + 0x3000, 0x2000, MEM_COMMIT,
                         PAGE_READWRITE);
        ALLOCATE_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + 0x4000, 0x1000, MEM_COMMIT,
                         PAGE_READWRITE);
        ALLOCATE_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + 0x20000, 0x1000, MEM_COMMIT,
                         PAGE_READWRITE);
        RT_EXPECT_REGION(w + 0x3000, .base_address = w + 0x3000, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
        /* A commit inside may choose another protection. */
        ALLOCATED(w + 0x3000, 0x1000, MEM_COMMIT, PAGE_READONLY, w + 0x3000, 0x1000);
        RT_EXPECT_REGION(w + 0x3000, .base_address = w + 0x3000, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                         .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_PRIVATE);
        EXPECT_FREE(w + 0x4000);
        FREED(w, 0, MEM_RELEASE, w, 0x4000);
    }

    /* Reserve and commit at an unaligned base: everything from the unit's start commits. */
    if (ALLOCATED(w + 0x5100, 0x100, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, w, 0x6000)) {
        RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x6000,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
        RT_EXPECT(all_zero(w, 0x6000));
        FREED(w, 0, MEM_RELEASE, w, 0x6000);
    }

    /* Two adjacent reservations are two: a commit may not span them. */
    if (!ALLOCATED(w, GRANULE, MEM_RESERVE, PAGE_READWRITE, w, GRANULE))
        return;
    if (ALLOCATED(w + GRANULE, GRANULE, MEM_RESERVE, PAGE_READWRITE, w + GRANULE, GRANULE)) {
        ALLOCATE_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + 0xF000, 0x2000, MEM_COMMIT,
                         PAGE_READWRITE);
        RT_EXPECT_REGION(w + 0xF000, .base_address = w + 0xF000, .allocation_base = w,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
        RT_EXPECT_REGION(w + GRANULE, .base_address = w + GRANULE, .allocation_base = w + GRANULE,
                         .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
        RT_EXPECT_EQ(rt_vm_release(w + GRANULE), STATUS_SUCCESS);
    }
    RT_EXPECT_EQ(rt_vm_release(w), STATUS_SUCCESS);
}

/* A fixed reservation against an existing one at [64 KB, 256 KB) of a free window. */
static void check_fixed_reservation_conflicts(void)
{
    static const struct {
        const char *name;
        uint32_t offset, size;
        bool allowed;
    } cases[] = {
        { "equal", 0x10000, 0x30000, false },
        { "inside", 0x20000, 0x10000, false },
        { "covering", 0x00000, 0x50000, false },
        { "straddling the start", 0x00000, 0x20000, false },
        { "straddling the end", 0x30000, 0x20000, false },
        { "adjacent below", 0x00000, 0x10000, true },
        { "adjacent above", 0x40000, 0x10000, true },
        { "one unit apart", 0x50000, 0x10000, true },
    };
    uint32_t w = free_window(WINDOW);

    if (!w || !ALLOCATED(w + 0x10000, 0x30000, MEM_RESERVE, PAGE_READWRITE, w + 0x10000, 0x30000))
        return;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t base = w + cases[i].offset, size = cases[i].size;
        ntstatus_t status = rt_vm_allocate(&base, &size, MEM_RESERVE, PAGE_READWRITE);

        if (cases[i].allowed) {
            RT_EXPECT_MSG(status == STATUS_SUCCESS && base == w + cases[i].offset &&
                          size == cases[i].size, "%s: 0x%08x, 0x%08x+0x%x", cases[i].name,
                          (unsigned int)status, base, size);
        } else {
            RT_EXPECT_MSG(status == STATUS_CONFLICTING_ADDRESSES &&
                          base == w + cases[i].offset && size == cases[i].size,
                          "%s: 0x%08x, 0x%08x+0x%x", cases[i].name, (unsigned int)status, base,
                          size);
        }
        if (NT_SUCCESS(status))
            RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
        RT_EXPECT_REGION(w + 0x10000, .base_address = w + 0x10000, .allocation_base = w + 0x10000,
                         .allocation_protect = PAGE_READWRITE, .region_size = 0x30000,
                         .state = MEM_RESERVE, .type = MEM_PRIVATE);
    }
    /*
     * The null region, whatever the rounding makes of the base: refused, not "anywhere"
     * (Windows 8 and later: the base argument is bad).
     */
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, 0x1000, 0x1000, MEM_RESERVE, PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, 0xF000, 0x2000, MEM_RESERVE, PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, 0x8000, 0x1000, MEM_RESERVE | MEM_COMMIT,
                     PAGE_READWRITE);
    /* A commit alone there finds no reservation, as on NT. */
    ALLOCATE_REFUSED(STATUS_CONFLICTING_ADDRESSES, 0x1000, 0x1000, MEM_COMMIT, PAGE_READWRITE);
    FREED(w + 0x10000, 0, MEM_RELEASE, w + 0x10000, 0x30000);
}

static void check_allocate_bad_arguments(void)
{
    /*
     * No commit, reserve or reset at all: STATUS_INVALID_PARAMETER (Windows 10 and 11 do
     * not number it); a flag that does not belong, or one in a bad combination: the type,
     * the fifth argument.
     */
    static const struct {
        unsigned int type;
        ntstatus_t status;
    } bad_types[] = {
        {0, STATUS_INVALID_PARAMETER},
        {MEM_DECOMMIT, STATUS_INVALID_PARAMETER},
        {MEM_RELEASE, STATUS_INVALID_PARAMETER},
        {MEM_TOP_DOWN, STATUS_INVALID_PARAMETER},
        {MEM_WRITE_WATCH, STATUS_INVALID_PARAMETER},
        {MEM_RESERVE | 0x1, STATUS_INVALID_PARAMETER_5},
        {MEM_RESERVE | AT_ROUND_TO_PAGE, STATUS_INVALID_PARAMETER_5},
        {MEM_RESERVE | MEM_RELEASE, STATUS_INVALID_PARAMETER_5},
        {MEM_COMMIT | MEM_DECOMMIT, STATUS_INVALID_PARAMETER_5},
        {MEM_COMMIT | MEM_RESET, STATUS_INVALID_PARAMETER_5},
        {MEM_RESET | MEM_RESET_UNDO, STATUS_INVALID_PARAMETER_5},
        {MEM_COMMIT | MEM_WRITE_WATCH, STATUS_INVALID_PARAMETER_5},
        {MEM_RESERVE | MEM_PHYSICAL, STATUS_INVALID_PARAMETER_5},
    };
    static const unsigned int bad_protections[] = {
        0, PAGE_READONLY | PAGE_READWRITE, PAGE_NOACCESS | PAGE_EXECUTE, PAGE_GUARD,
        PAGE_GUARD | PAGE_NOACCESS, 0x1000, PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY,
    };
    uint32_t w = free_window(WINDOW);

    if (!w)
        return;
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_4, 0, 0, MEM_RESERVE, PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_4, w, 0, MEM_RESERVE, PAGE_READWRITE);
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        ALLOCATE_REFUSED(bad_types[i].status, 0, GRANULE, bad_types[i].type, PAGE_READWRITE);
        ALLOCATE_REFUSED(bad_types[i].status, w, GRANULE, bad_types[i].type, PAGE_READWRITE);
        /* The type is judged before the protection. */
        ALLOCATE_REFUSED(bad_types[i].status, w, GRANULE, bad_types[i].type, 0);
    }
    for (size_t i = 0; i < sizeof(bad_protections) / sizeof(bad_protections[0]); i++) {
        ALLOCATE_REFUSED(STATUS_INVALID_PAGE_PROTECTION, 0, GRANULE, MEM_RESERVE | MEM_COMMIT,
                         bad_protections[i]);
        ALLOCATE_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, GRANULE, MEM_RESERVE,
                         bad_protections[i]);
    }
    /* Above the limit, or wrapping past the top of the address space. */
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, highest + 1, GRANULE, MEM_RESERVE,
                     PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, 0xFFFF0000, GRANULE, MEM_RESERVE,
                     PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_2, highest + 1, PAGE, MEM_COMMIT, PAGE_READWRITE);
    ALLOCATE_REFUSED(STATUS_INVALID_PARAMETER_4, w, 0u - w + GRANULE, MEM_RESERVE,
                     PAGE_READWRITE);
    /* The protection is judged before the range: a huge size with a bad one. */
    ALLOCATE_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, 0u - w + GRANULE, MEM_RESERVE, 0);

    void *pointer = NULL;
    size_t bytes = GRANULE;
    RT_EXPECT_EQ(NtAllocateVirtualMemory(BAD_HANDLE, &pointer, 0, &bytes, MEM_RESERVE,
                                         PAGE_READWRITE), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtAllocateVirtualMemory(NT_CURRENT_PROCESS, NULL, 0, &bytes, MEM_RESERVE,
                                         PAGE_READWRITE), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtAllocateVirtualMemory(NT_CURRENT_PROCESS, &pointer, 0, NULL, MEM_RESERVE,
                                         PAGE_READWRITE), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtAllocateVirtualMemory(NT_CURRENT_PROCESS, (void **)KERNEL_ADDRESS, 0, &bytes,
                                         MEM_RESERVE, PAGE_READWRITE), STATUS_ACCESS_VIOLATION);
    RT_EXPECT(pointer == NULL && bytes == GRANULE);
    EXPECT_FREE(w);
}

/* ---- NtFreeVirtualMemory ---- */

static void check_free(void)
{
    uint32_t w = free_window(WINDOW);
    uint32_t next = w + GRANULE;

    if (!w || !ALLOCATED(w, GRANULE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, w, GRANULE))
        return;
    for (uint32_t page = 0; page < 4; page++)
        *(volatile uint8_t *)(w + page * PAGE) = (uint8_t)(page + 1);

    /* Decommit rounds to pages, writes the range back and keeps the other pages' data. */
    FREED(w + 0x1800, 0x1000, MEM_DECOMMIT, w + 0x1000, 0x2000);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + 0x1000, .base_address = w + 0x1000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x2000,
                     .state = MEM_RESERVE, .type = MEM_PRIVATE);
    RT_EXPECT_EQ(*(volatile uint8_t *)w, 1);
    RT_EXPECT_EQ(*(volatile uint8_t *)(w + 0x3000), 4);
    /* Pages already decommitted may be in the range. */
    FREED(w + 0x1000, 0x3000, MEM_DECOMMIT, w + 0x1000, 0x3000);
    RT_EXPECT_REGION(w + 0x1000, .base_address = w + 0x1000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x3000,
                     .state = MEM_RESERVE, .type = MEM_PRIVATE);
    /* Committed again, a page reads zero. */
    if (ALLOCATED(w + 0x1000, PAGE, MEM_COMMIT, PAGE_READWRITE, w + 0x1000, PAGE))
        RT_EXPECT(all_zero(w + 0x1000, PAGE));

    /* Ranges crossing the reservation's end: into free space, into the next reservation. */
    FREE_REFUSED(STATUS_UNABLE_TO_FREE_VM, w + 0xF000, 0x2000, MEM_DECOMMIT);
    if (ALLOCATED(next, GRANULE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, next, GRANULE)) {
        FREE_REFUSED(STATUS_UNABLE_TO_FREE_VM, w + 0xF000, 0x2000, MEM_DECOMMIT);
        RT_EXPECT_REGION(next, .base_address = next, .allocation_base = next,
                         .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                         .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    }
    RT_EXPECT_REGION(w + 0xF000, .base_address = w + 0xF000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    FREE_REFUSED(STATUS_MEMORY_NOT_ALLOCATED, w + 0x30000, PAGE, MEM_DECOMMIT);

    /* Size 0 means the whole reservation, so the base must be its base. */
    FREE_REFUSED(STATUS_FREE_VM_NOT_AT_BASE, w + 0x1000, 0, MEM_DECOMMIT);
    FREED(w, 0, MEM_DECOMMIT, w, 0);         /* size 0 stays 0 (Windows 10 since 1803) */
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                     .state = MEM_RESERVE, .type = MEM_PRIVATE);

    /* Release: size 0 only from the base; a range only inside the reservation. */
    FREE_REFUSED(STATUS_FREE_VM_NOT_AT_BASE, w + 0x1000, 0, MEM_RELEASE);
    FREE_REFUSED(STATUS_UNABLE_TO_FREE_VM, w, 2 * GRANULE, MEM_RELEASE);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                     .state = MEM_RESERVE, .type = MEM_PRIVATE);

    /* Bad free types, handles and addresses, on a live reservation. */
    FREE_REFUSED(STATUS_INVALID_PARAMETER_4, next, 0, 0);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_4, next, 0, MEM_DECOMMIT | MEM_RELEASE);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_4, next, 0, MEM_COMMIT);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_4, next, 0, MEM_RELEASE | 0x1);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_2, highest + 1, PAGE, MEM_DECOMMIT);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_2, 0xFFFF0000, 0, MEM_RELEASE);
    FREE_REFUSED(STATUS_INVALID_PARAMETER_3, next, 0u - next, MEM_DECOMMIT);
    /* The type is judged first, even before the pointers are read. */
    RT_EXPECT_EQ(NtFreeVirtualMemory(BAD_HANDLE, NULL, NULL, 0), STATUS_INVALID_PARAMETER_4);
    void *pointer = (void *)next;
    size_t bytes = 0;
    RT_EXPECT_EQ(NtFreeVirtualMemory(BAD_HANDLE, &pointer, &bytes, MEM_RELEASE),
                 STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtFreeVirtualMemory(NT_CURRENT_PROCESS, NULL, &bytes, MEM_RELEASE),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtFreeVirtualMemory(NT_CURRENT_PROCESS, &pointer, NULL, MEM_RELEASE),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_REGION(next, .base_address = next, .allocation_base = next,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);

    /* A range that rounds to exactly the reservation releases it, as on NT. */
    if (!FREED(w + 1, GRANULE - 1, MEM_RELEASE, w, GRANULE))
        rt_vm_release(w);
    RT_EXPECT_REGION(w, .base_address = w, .region_size = GRANULE, .state = MEM_FREE,
                     .protect = PAGE_NOACCESS);
    FREE_REFUSED(STATUS_MEMORY_NOT_ALLOCATED, w, 0, MEM_RELEASE);
    FREE_REFUSED(STATUS_MEMORY_NOT_ALLOCATED, w, PAGE, MEM_DECOMMIT);
    FREED(next, 0, MEM_RELEASE, next, GRANULE);
    EXPECT_FREE(next);
}

/* True when each of the pages from base holds its own index, as stamp() left them. */
static bool stamped(uint32_t base, uint32_t pages, uint32_t first)
{
    for (uint32_t i = 0; i < pages; i++)
        if (*(volatile uint32_t *)(base + i * PAGE) != first + i)
            return false;
    return true;
}

/*
 * Releasing part of a reservation (NtFreeVirtualMemory with a size; only the Win32
 * VirtualFree insists on size 0): the pages go, and what is left on either side is a
 * reservation of its own, its allocation base its first page, its pages as they were.
 */
static void check_partial_release(void)
{
    uint32_t w = free_window(4 * GRANULE);

    if (!w || !ALLOCATED(w, 4 * GRANULE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, w,
                         4 * GRANULE))
        return;
    for (uint32_t i = 0; i < 4 * GRANULE / PAGE; i++)
        *(volatile uint32_t *)(w + i * PAGE) = i;

    /* The middle: two reservations are left. */
    FREED(w + GRANULE, GRANULE, MEM_RELEASE, w + GRANULE, GRANULE);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + GRANULE, .base_address = w + GRANULE, .region_size = GRANULE,
                     .state = MEM_FREE, .protect = PAGE_NOACCESS);
    RT_EXPECT_REGION(w + 2 * GRANULE, .base_address = w + 2 * GRANULE,
                     .allocation_base = w + 2 * GRANULE, .allocation_protect = PAGE_READWRITE,
                     .region_size = 2 * GRANULE, .state = MEM_COMMIT,
                     .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT(stamped(w, GRANULE / PAGE, 0));
    RT_EXPECT(stamped(w + 2 * GRANULE, 2 * GRANULE / PAGE, 2 * GRANULE / PAGE));

    /* The first page of a reservation: the rest starts one page later. */
    FREED(w + 2 * GRANULE, PAGE, MEM_RELEASE, w + 2 * GRANULE, PAGE);
    RT_EXPECT_REGION(w + 2 * GRANULE + PAGE, .base_address = w + 2 * GRANULE + PAGE,
                     .allocation_base = w + 2 * GRANULE + PAGE,
                     .allocation_protect = PAGE_READWRITE, .region_size = 2 * GRANULE - PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    FREE_REFUSED(STATUS_MEMORY_NOT_ALLOCATED, w + 2 * GRANULE, 0, MEM_RELEASE);
    FREE_REFUSED(STATUS_FREE_VM_NOT_AT_BASE, w + 3 * GRANULE, 0, MEM_RELEASE);

    /* An unaligned range: every page it touches, at the end of the reservation. */
    FREED(w + GRANULE - PAGE - 1, 2, MEM_RELEASE, w + GRANULE - 2 * PAGE, 2 * PAGE);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE - 2 * PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT(stamped(w, GRANULE / PAGE - 2, 0));

    /* What is left goes with size 0, each piece from its own base. */
    FREED(w, 0, MEM_RELEASE, w, GRANULE - 2 * PAGE);
    FREED(w + 2 * GRANULE + PAGE, 0, MEM_RELEASE, w + 2 * GRANULE + PAGE, 2 * GRANULE - PAGE);
    RT_EXPECT_REGION(w, .base_address = w, .state = MEM_FREE, .protect = PAGE_NOACCESS);
}

/* ---- NtProtectVirtualMemory ---- */

static void check_protect(void)
{
    uint32_t w = free_window(WINDOW);
    unsigned int old;

    if (!w || !ALLOCATED(w, GRANULE, MEM_RESERVE, PAGE_READWRITE, w, GRANULE))
        return;
    ALLOCATED(w, 0x8000, MEM_COMMIT, PAGE_READWRITE, w, 0x8000);
    ALLOCATED(w + 0xC000, 0x4000, MEM_COMMIT, PAGE_READWRITE, w + 0xC000, 0x4000);
    for (uint32_t page = 0; page < 8; page++)
        *(volatile uint8_t *)(w + page * PAGE + 7) = (uint8_t)(0xC0 + page);

    /* Rounded to pages and written back; the old protection is the first page's. */
    PROTECTED(w + 0x1800, 0x1000, PAGE_READONLY, w + 0x1000, 0x2000, PAGE_READWRITE);
    PROTECTED(w + 0x2000, 0x2000, PAGE_EXECUTE_READ, w + 0x2000, 0x2000, PAGE_READONLY);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + 0x1000, .base_address = w + 0x1000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + 0x2000, .base_address = w + 0x2000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x2000,
                     .state = MEM_COMMIT, .protect = PAGE_EXECUTE_READ, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + 0x4000, .base_address = w + 0x4000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x4000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    for (uint32_t page = 0; page < 8; page++)
        RT_EXPECT_EQ(*(volatile uint8_t *)(w + page * PAGE + 7), 0xC0 + page);

    /* Committed throughout, inside one reservation. */
    PROTECT_REFUSED(STATUS_NOT_COMMITTED, w + 0x7000, 0x2000, PAGE_READONLY);
    PROTECT_REFUSED(STATUS_NOT_COMMITTED, w + 0x8000, 0x1000, PAGE_READONLY);
    PROTECT_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + 0xF000, 0x2000, PAGE_READONLY);
    PROTECT_REFUSED(STATUS_CONFLICTING_ADDRESSES, w + GRANULE, 0x1000, PAGE_READONLY);
    RT_EXPECT_REGION(w + 0x4000, .base_address = w + 0x4000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x4000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(w + 0xC000, .base_address = w + 0xC000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x4000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);

    /* The guard bit is part of the old protection; no access and back keeps the data. */
    PROTECTED(w, PAGE, PAGE_READWRITE | PAGE_GUARD, w, PAGE, PAGE_READWRITE);
    PROTECTED(w, PAGE, PAGE_READWRITE, w, PAGE, PAGE_READWRITE | PAGE_GUARD);
    PROTECTED(w + 0x4000, PAGE, PAGE_NOACCESS, w + 0x4000, PAGE, PAGE_READWRITE);
    PROTECTED(w + 0x4000, PAGE, PAGE_READWRITE, w + 0x4000, PAGE, PAGE_NOACCESS);
    RT_EXPECT_EQ(*(volatile uint8_t *)(w + 0x4007), 0xC4);

    PROTECT_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, PAGE, 0);
    PROTECT_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, PAGE, PAGE_READONLY | PAGE_READWRITE);
    PROTECT_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, PAGE, PAGE_GUARD | PAGE_NOACCESS);
    PROTECT_REFUSED(STATUS_INVALID_PAGE_PROTECTION, w, PAGE, 0x1000);
    PROTECT_REFUSED(STATUS_INVALID_PARAMETER_2, highest + 1, PAGE, PAGE_READONLY);
    PROTECT_REFUSED(STATUS_INVALID_PARAMETER_3, w, 0, PAGE_READONLY);
    PROTECT_REFUSED(STATUS_INVALID_PARAMETER_3, w, 0u - w, PAGE_READONLY);
    void *pointer = (void *)w;
    size_t bytes = PAGE;
    RT_EXPECT_EQ(NtProtectVirtualMemory(BAD_HANDLE, &pointer, &bytes, PAGE_READONLY, &old),
                 STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtProtectVirtualMemory(NT_CURRENT_PROCESS, &pointer, &bytes, PAGE_READONLY,
                                        NULL), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtProtectVirtualMemory(NT_CURRENT_PROCESS, &pointer, &bytes, PAGE_READONLY,
                                        (unsigned int *)KERNEL_ADDRESS),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_REGION(w, .base_address = w, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = 0x1000,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    FREED(w, 0, MEM_RELEASE, w, GRANULE);
}

/* ---- NtQueryVirtualMemory ---- */

static void check_query(void)
{
    struct nt_memory_basic_information info;
    uint32_t w = free_window(WINDOW);
    size_t length;

    if (!w || !ALLOCATED(w, GRANULE, MEM_RESERVE, PAGE_READWRITE, w, GRANULE))
        return;
    /* The page of the address starts the region. */
    RT_EXPECT_REGION(w + 0x1234, .base_address = w + 0x1000, .allocation_base = w,
                     .allocation_protect = PAGE_READWRITE, .region_size = GRANULE - 0x1000,
                     .state = MEM_RESERVE, .type = MEM_PRIVATE);
    /* The last page of user space ends the last region. */
    if (RT_EXPECT_EQ(rt_vm_query(highest, &info), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(info.base_address, highest & ~(PAGE - 1));
        RT_EXPECT_EQ(info.base_address + info.region_size, highest + 1);
    }

    const void *at = (const void *)w;
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, NT_MEMORY_BASIC_INFORMATION, &info,
                                      sizeof(info), NULL), STATUS_SUCCESS);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, NT_MEMORY_BASIC_INFORMATION, &info,
                                      sizeof(info) - 1, &length), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, NT_MEMORY_BASIC_INFORMATION, &info,
                                      0, &length), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, 0x1234, &info, sizeof(info),
                                      &length), STATUS_INVALID_INFO_CLASS);
    RT_EXPECT_EQ(NtQueryVirtualMemory(BAD_HANDLE, at, NT_MEMORY_BASIC_INFORMATION, &info,
                                      sizeof(info), &length), STATUS_INVALID_HANDLE);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, NT_MEMORY_BASIC_INFORMATION, NULL,
                                      sizeof(info), &length), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, at, NT_MEMORY_BASIC_INFORMATION, &info,
                                      sizeof(info), (size_t *)KERNEL_ADDRESS),
                 STATUS_ACCESS_VIOLATION);
    const uint32_t above[] = { highest + 1, KERNEL_ADDRESS, 0xFFFFF000, 0xFFFFFFFF };
    for (size_t i = 0; i < sizeof(above) / sizeof(above[0]); i++)
        RT_EXPECT_MSG(rt_vm_query(above[i], &info) == STATUS_INVALID_PARAMETER,
                      "query of 0x%08x, above the limit, was not refused", above[i]);
    FREED(w, 0, MEM_RELEASE, w, GRANULE);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    highest = rt_vm_highest_address();
    if (!RT_EXPECT(highest >= 0x7FFEFFFF))
        return (int)rt_failure_count();
    unsigned int reservations = count_reservations();

    check_allocate_anywhere();
    check_allocate_at_base();
    check_fixed_reservation_conflicts();
    check_allocate_bad_arguments();
    check_free();
    check_partial_release();
    check_protect();
    check_query();
    RT_EXPECT_EQ(count_reservations(), reservations);
    return (int)rt_failure_count();
}
