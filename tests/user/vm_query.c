/*
 * vm_query.exe: NtQueryVirtualMemory walks a process's address space region by region,
 * each region a run of pages alike in state and protection, never crossing a
 * reservation's end:
 *   - a 1 MB reservation made of committed, decommitted, reserved, read-only, executable,
 *     guard and no-access runs, with 1 MB of free space below it, a fully committed
 *     reservation right above it and free space above that: every region's base, size,
 *     state, protection, allocation base and protection, and type;
 *   - the program's own image: MEM_IMAGE throughout, the headers PAGE_READONLY, each
 *     section's pages with its protection (from the section table in memory), the
 *     image's end where its SizeOfImage says;
 *   - KUSER_SHARED_DATA at 0x7FFE0000: one committed read-only page;
 *   - the stack: reserved, one PAGE_READWRITE | PAGE_GUARD page, then committed up to the
 *     top, which holds the caller's locals;
 *   - the free space at address 0, running up to the first reservation.
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number failed.
 */
#include "tests/user/runtime/rt.h"

#define PAGE    0x1000u
#define MB      0x100000u

/* PE/COFF offsets: e_lfanew in the DOS header; in the NT headers, after "PE\0\0". */
#define DOS_NEW_HEADER_OFFSET       0x3C
#define NT_NUMBER_OF_SECTIONS       (4 + 2)
#define NT_SIZE_OF_OPTIONAL_HEADER  (4 + 16)
#define NT_OPTIONAL_HEADER          (4 + 20)
#define OPTIONAL_SECTION_ALIGNMENT  32
#define OPTIONAL_SIZE_OF_IMAGE      56
#define SECTION_HEADER_SIZE         40
#define SECTION_VIRTUAL_SIZE        8
#define SECTION_VIRTUAL_ADDRESS     12
#define SECTION_CHARACTERISTICS     36
#define SCN_MEM_EXECUTE             0x20000000u
#define SCN_MEM_READ                0x40000000u
#define SCN_MEM_WRITE               0x80000000u

/* The linker's symbol at the image's first byte. */
extern const uint8_t __ImageBase[];

/* In .rdata and .data, so that the walk can be checked against known addresses. */
static const uint32_t read_only_word = 0x600DF00D;
static volatile uint32_t written_word;

static uint32_t highest;

/* A run of pages of the test reservation, as the walk must report it. */
struct run {
    uint32_t first_page, pages, state, protect;
};

static const struct run reservation_runs[] = {
    { 0, 2, MEM_COMMIT, PAGE_READWRITE },
    { 2, 2, MEM_COMMIT, PAGE_READONLY },
    { 4, 1, MEM_RESERVE, 0 },
    { 5, 1, MEM_COMMIT, PAGE_READWRITE },
    { 6, 1, MEM_RESERVE, 0 },                   /* committed, then decommitted */
    { 7, 1, MEM_COMMIT, PAGE_READWRITE },
    { 8, 8, MEM_COMMIT, PAGE_EXECUTE_READ },
    { 16, 4, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD },
    { 20, 1, MEM_COMMIT, PAGE_NOACCESS },
    { 21, 229, MEM_RESERVE, 0 },
    { 250, 6, MEM_COMMIT, PAGE_READWRITE },     /* the same as the next reservation's */
};

/* Commits pages [first, first + count) of the reservation at base with protect. */
static bool commit(uint32_t base, uint32_t first, uint32_t count, unsigned int protect)
{
    uint32_t at = base + first * PAGE, size = count * PAGE;

    return RT_EXPECT_MSG(NT_SUCCESS(rt_vm_allocate(&at, &size, MEM_COMMIT, protect)),
                         "commit of pages %u+%u with 0x%x failed", first, count, protect);
}

static bool build_reservation(uint32_t base)
{
    uint32_t at = base, size = MB;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&at, &size, MEM_RESERVE, PAGE_EXECUTE_READWRITE),
                      STATUS_SUCCESS))
        return false;
    bool ok = commit(base, 0, 2, PAGE_READWRITE) && commit(base, 2, 2, PAGE_READONLY) &&
              commit(base, 5, 3, PAGE_READWRITE) && commit(base, 8, 8, PAGE_EXECUTE_READ) &&
              commit(base, 16, 4, PAGE_READWRITE | PAGE_GUARD) &&
              commit(base, 20, 1, PAGE_NOACCESS) && commit(base, 250, 6, PAGE_READWRITE);
    at = base + 6 * PAGE;
    size = PAGE;
    return ok && RT_EXPECT_EQ(rt_vm_free(&at, &size, MEM_DECOMMIT), STATUS_SUCCESS);
}

/*
 * Free space [w, w + 1 MB), the reservation at w + 1 MB, a committed 64 KB reservation
 * right after it at w + 2 MB, free space from there to at least w + 3 MB.
 */
static void check_reservation_walk(void)
{
    uint32_t w = 0, size = 3 * MB;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&w, &size, MEM_RESERVE, PAGE_NOACCESS), STATUS_SUCCESS) ||
        !RT_EXPECT_EQ(rt_vm_release(w), STATUS_SUCCESS))
        return;
    uint32_t base = w + MB, next = w + 2 * MB, next_size = 0x10000;
    if (!build_reservation(base))
        return;
    if (!RT_EXPECT_EQ(rt_vm_allocate(&next, &next_size, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_READWRITE), STATUS_SUCCESS))
        return;

    RT_EXPECT_REGION(w, .base_address = w, .region_size = MB, .state = MEM_FREE,
                     .protect = PAGE_NOACCESS);
    RT_EXPECT_REGION(base - PAGE, .base_address = base - PAGE, .region_size = PAGE,
                     .state = MEM_FREE, .protect = PAGE_NOACCESS);
    uint32_t address = base;
    for (size_t i = 0; i < sizeof(reservation_runs) / sizeof(reservation_runs[0]); i++) {
        const struct run *run = &reservation_runs[i];
        if (!RT_EXPECT_EQ(address, base + run->first_page * PAGE))
            break;
        RT_EXPECT_REGION(address, .base_address = address, .allocation_base = base,
                         .allocation_protect = PAGE_EXECUTE_READWRITE,
                         .region_size = run->pages * PAGE, .state = run->state,
                         .protect = run->protect, .type = MEM_PRIVATE);
        address += run->pages * PAGE;
    }
    RT_EXPECT_EQ(address, base + MB);
    RT_EXPECT_REGION(next, .base_address = next, .allocation_base = next,
                     .allocation_protect = PAGE_READWRITE, .region_size = next_size,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    struct nt_memory_basic_information above;
    if (RT_EXPECT_EQ(rt_vm_query(next + next_size, &above), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(above.base_address, next + next_size);
        RT_EXPECT_EQ(above.state, MEM_FREE);
        RT_EXPECT(above.region_size >= w + 3 * MB - (next + next_size));
    }

    /* An address inside a run: the region starts at its page and ends with the run. */
    RT_EXPECT_REGION(base + 9 * PAGE + 0x123, .base_address = base + 9 * PAGE,
                     .allocation_base = base, .allocation_protect = PAGE_EXECUTE_READWRITE,
                     .region_size = 7 * PAGE, .state = MEM_COMMIT,
                     .protect = PAGE_EXECUTE_READ, .type = MEM_PRIVATE);
    /* Querying guard pages does not touch them: still guarded. */
    RT_EXPECT_REGION(base + 17 * PAGE, .base_address = base + 17 * PAGE,
                     .allocation_base = base, .allocation_protect = PAGE_EXECUTE_READWRITE,
                     .region_size = 3 * PAGE, .state = MEM_COMMIT,
                     .protect = PAGE_READWRITE | PAGE_GUARD, .type = MEM_PRIVATE);
    RT_EXPECT_EQ(rt_vm_release(base), STATUS_SUCCESS);
    RT_EXPECT_EQ(rt_vm_release(next), STATUS_SUCCESS);
    RT_EXPECT_REGION(w, .base_address = w, .state = MEM_FREE, .protect = PAGE_NOACCESS);
}

static uint32_t image_u32(uint32_t offset)
{
    return *(const uint32_t *)(__ImageBase + offset);
}

static uint16_t image_u16(uint32_t offset)
{
    return *(const uint16_t *)(__ImageBase + offset);
}

/*
 * What the loader gives a section with these characteristics (execute implies read).
 * Writable image pages are copy-on-write, as on NT: PAGE_WRITECOPY until first written,
 * then PAGE_READWRITE (with execute, the EXECUTE_ forms).
 */
static unsigned int section_protection(uint32_t characteristics)
{
    bool execute = characteristics & SCN_MEM_EXECUTE, write = characteristics & SCN_MEM_WRITE;

    if (execute)
        return write ? PAGE_EXECUTE_WRITECOPY : PAGE_EXECUTE_READ;
    if (write)
        return PAGE_WRITECOPY;
    return characteristics & SCN_MEM_READ ? PAGE_READONLY : PAGE_NOACCESS;
}

/* The protection a copy-on-write page has once it has been written. */
static unsigned int written_protection(unsigned int protect)
{
    return protect == PAGE_EXECUTE_WRITECOPY ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
}

struct image_layout {
    uint32_t nt_headers, sections, section_count, alignment, size;
};

/* The protection of the image's page at rva: its section's, else (headers) read-only. */
static unsigned int image_page_protection(const struct image_layout *image, uint32_t rva)
{
    for (uint32_t i = 0; i < image->section_count; i++) {
        uint32_t header = image->sections + i * SECTION_HEADER_SIZE;
        uint32_t start = image_u32(header + SECTION_VIRTUAL_ADDRESS);
        uint32_t size = image_u32(header + SECTION_VIRTUAL_SIZE);
        uint32_t end = start + ((size + image->alignment - 1) & ~(image->alignment - 1));
        if (rva >= start && rva < end)
            return section_protection(image_u32(header + SECTION_CHARACTERISTICS));
    }
    return PAGE_READONLY;
}

/* Walks the image run by run, each run the pages its section table gives one protection. */
static void check_image(void)
{
    uint32_t base = (uint32_t)(uintptr_t)__ImageBase;
    struct image_layout image;

    if (!RT_EXPECT_EQ(image_u16(0), 0x5A4D))                   /* "MZ" */
        return;
    image.nt_headers = image_u32(DOS_NEW_HEADER_OFFSET);
    if (!RT_EXPECT_EQ(image_u32(image.nt_headers), 0x00004550))   /* "PE\0\0" */
        return;
    uint32_t optional = image.nt_headers + NT_OPTIONAL_HEADER;
    image.sections = optional + image_u16(image.nt_headers + NT_SIZE_OF_OPTIONAL_HEADER);
    image.section_count = image_u16(image.nt_headers + NT_NUMBER_OF_SECTIONS);
    image.alignment = image_u32(optional + OPTIONAL_SECTION_ALIGNMENT);
    image.size = image_u32(optional + OPTIONAL_SIZE_OF_IMAGE);

    RT_EXPECT_REGION(base, .base_address = base, .allocation_base = base,
                     .allocation_protect = PAGE_EXECUTE_WRITECOPY, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_IMAGE);
    for (uint32_t rva = 0; rva < image.size;) {
        unsigned int protect = image_page_protection(&image, rva);
        if (protect == PAGE_WRITECOPY || protect == PAGE_EXECUTE_WRITECOPY) {
            /* Written pages are private copies now: each page is one or the other. */
            struct nt_memory_basic_information page;
            if (RT_EXPECT_EQ(rt_vm_query(base + rva, &page), STATUS_SUCCESS))
                RT_EXPECT_MSG(page.state == MEM_COMMIT && page.type == MEM_IMAGE &&
                              (page.protect == protect ||
                               page.protect == written_protection(protect)),
                              "image page 0x%08x: state 0x%x protect 0x%x", base + rva,
                              page.state, page.protect);
            rva += PAGE;
            continue;
        }
        uint32_t end = rva + PAGE;
        while (end < image.size && image_page_protection(&image, end) == protect)
            end += PAGE;
        RT_EXPECT_REGION(base + rva, .base_address = base + rva, .allocation_base = base,
                         .allocation_protect = PAGE_EXECUTE_WRITECOPY,
                         .region_size = end - rva, .state = MEM_COMMIT, .protect = protect,
                         .type = MEM_IMAGE);
        rva = end;
    }
    struct nt_memory_basic_information after;
    if (RT_EXPECT_EQ(rt_vm_query(base + image.size, &after), STATUS_SUCCESS))
        RT_EXPECT_MSG(after.allocation_base != base, "the image runs on past 0x%08x",
                      base + image.size);

    /* Known objects lie where the sections put them. */
    written_word = 1;
    struct nt_memory_basic_information info;
    if (RT_EXPECT_EQ(rt_vm_query((uint32_t)(uintptr_t)check_image, &info), STATUS_SUCCESS))
        RT_EXPECT_EQ(info.protect, PAGE_EXECUTE_READ);
    if (RT_EXPECT_EQ(rt_vm_query((uint32_t)(uintptr_t)&read_only_word, &info), STATUS_SUCCESS))
        RT_EXPECT_EQ(info.protect, PAGE_READONLY);
    if (RT_EXPECT_EQ(rt_vm_query((uint32_t)(uintptr_t)&written_word, &info), STATUS_SUCCESS))
        RT_EXPECT_EQ(info.protect, PAGE_READWRITE);
    RT_EXPECT_EQ(read_only_word, 0x600DF00D);
}

static void check_shared_user_data(void)
{
    const uint32_t shared = NT_SHARED_USER_DATA_ADDRESS;

    RT_EXPECT_REGION(shared, .base_address = shared, .allocation_base = shared,
                     .allocation_protect = PAGE_READONLY, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_PRIVATE);
    RT_EXPECT_REGION(shared + 0x10, .base_address = shared, .allocation_base = shared,
                     .allocation_protect = PAGE_READONLY, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READONLY, .type = MEM_PRIVATE);
    /* Up to the legacy limit nothing follows it. */
    if (highest == 0x7FFEFFFF)
        RT_EXPECT_REGION(shared + PAGE, .base_address = shared + PAGE,
                         .region_size = highest + 1 - (shared + PAGE), .state = MEM_FREE,
                         .protect = PAGE_NOACCESS);
}

/* Reserved at the bottom, the guard page, committed pages up to the top, which holds here. */
static __attribute__((noinline)) void check_stack(void)
{
    volatile uint32_t local = 0;
    uint32_t here = (uint32_t)(uintptr_t)&local;
    struct nt_memory_basic_information info, reserved, guard, committed;

    if (!RT_EXPECT_EQ(rt_vm_query(here, &info), STATUS_SUCCESS))
        return;
    uint32_t stack = info.allocation_base;
    RT_EXPECT_EQ(info.state, MEM_COMMIT);
    RT_EXPECT_EQ(info.protect, PAGE_READWRITE);
    if (!RT_EXPECT_EQ(rt_vm_query(stack, &reserved), STATUS_SUCCESS))
        return;
    RT_EXPECT_REGION(stack, .base_address = stack, .allocation_base = stack,
                     .allocation_protect = PAGE_READWRITE, .state = MEM_RESERVE,
                     .type = MEM_PRIVATE);
    uint32_t guard_page = stack + reserved.region_size;
    if (!RT_EXPECT_EQ(rt_vm_query(guard_page, &guard), STATUS_SUCCESS))
        return;
    RT_EXPECT_REGION(guard_page, .base_address = guard_page, .allocation_base = stack,
                     .allocation_protect = PAGE_READWRITE, .region_size = PAGE,
                     .state = MEM_COMMIT, .protect = PAGE_READWRITE | PAGE_GUARD,
                     .type = MEM_PRIVATE);
    uint32_t bottom = guard_page + PAGE;
    if (!RT_EXPECT_EQ(rt_vm_query(bottom, &committed), STATUS_SUCCESS))
        return;
    RT_EXPECT_REGION(bottom, .base_address = bottom, .allocation_base = stack,
                     .allocation_protect = PAGE_READWRITE, .state = MEM_COMMIT,
                     .protect = PAGE_READWRITE, .type = MEM_PRIVATE);
    uint32_t top = bottom + committed.region_size;
    RT_EXPECT_MSG(here >= bottom && here < top, "the local at 0x%08x is not in 0x%08x-0x%08x",
                  here, bottom, top - 1);
    if (RT_EXPECT_EQ(rt_vm_query(top, &info), STATUS_SUCCESS))
        RT_EXPECT_MSG(info.allocation_base != stack, "the stack runs on past 0x%08x", top);
    rt_printf("%s: stack 0x%08x-0x%08x, guard page 0x%08x, committed from 0x%08x\n",
              rt_program_name, stack, top - 1, guard_page, bottom);
}

/* Address 0 lies in free space that runs up to the first reservation. */
static void check_bottom(void)
{
    struct nt_memory_basic_information info, next;

    RT_EXPECT_REGION(0, .base_address = 0, .state = MEM_FREE, .protect = PAGE_NOACCESS);
    RT_EXPECT_REGION(0x8123, .base_address = 0x8000, .state = MEM_FREE,
                     .protect = PAGE_NOACCESS);
    if (RT_EXPECT_EQ(rt_vm_query(0, &info), STATUS_SUCCESS) &&
        RT_EXPECT(info.region_size >= 0x10000) &&
        RT_EXPECT_EQ(rt_vm_query(info.region_size, &next), STATUS_SUCCESS)) {
        RT_EXPECT(next.state != MEM_FREE);
        RT_EXPECT_EQ(next.allocation_base, info.region_size);
    }
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    highest = rt_vm_highest_address();
    if (!RT_EXPECT(highest >= 0x7FFEFFFF))
        return (int)rt_failure_count();
    check_reservation_walk();
    check_image();
    check_shared_user_data();
    check_stack();
    check_bottom();
    return (int)rt_failure_count();
}
