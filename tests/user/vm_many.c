/*
 * vm_many.exe: 10,000 reservations of 64 KB anywhere, alternately bottom-up and top-down
 * (so the kernel's VAD tree grows at both ends), then every third released again:
 *   - each reservation is 64 KB-aligned, inside user space, overlaps no other, and the
 *     bottom-up ones rise while the top-down ones fall;
 *   - NtQueryVirtualMemory at each base says exactly what is there: a 64 KB reserved
 *     region of its own, or free space where one was released;
 *   - each gap between the live reservations holds free space and the program's other
 *     reservations (image, stack), region after region, up to the next live one, a free
 *     region never followed by another;
 *   - all released, every base is free again.
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number failed.
 */
#include "tests/user/runtime/rt.h"

#define COUNT       10000
#define GRANULE     0x10000u
#define PAGE        0x1000u
#define LOWEST      0x10000u
/* A diagnostic per kind of failure is enough; thousands would drown the log. */
#define REPORTS     8

static uint32_t bases[COUNT];
static bool live[COUNT];
static uint32_t sorted[COUNT];
static unsigned int sorted_count;

static uint32_t highest;
static unsigned int unreported;

/* RT_EXPECT_MSG that only counts the failures after the first REPORTS. */
static bool check(bool condition, int line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool check(bool condition, int line, const char *format, ...)
{
    char message[160];
    va_list args;

    if (condition)
        return true;
    if (rt_failure_count() >= REPORTS) {
        unreported++;
        return false;
    }
    va_start(args, format);
    rt_vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    return rt_check(false, __FILE__, line, "%s", message);
}
#define CHECK(condition, ...) check((condition), __LINE__, __VA_ARGS__)

static bool is_reserved_region(uint32_t base, const struct nt_memory_basic_information *info)
{
    return info->base_address == base && info->allocation_base == base &&
           info->allocation_protect == PAGE_READWRITE && info->region_size == GRANULE &&
           info->state == MEM_RESERVE && info->protect == 0 && info->type == MEM_PRIVATE;
}

/* Shell sort: the list is nearly in order already (two monotonic runs). */
static void sort(uint32_t *values, unsigned int count)
{
    for (unsigned int gap = count / 2; gap > 0; gap /= 2) {
        for (unsigned int i = gap; i < count; i++) {
            uint32_t value = values[i];
            unsigned int j = i;
            for (; j >= gap && values[j - gap] > value; j -= gap)
                values[j] = values[j - gap];
            values[j] = value;
        }
    }
}

static bool is_live_base(uint32_t address)
{
    unsigned int low = 0, high = sorted_count;

    while (low < high) {
        unsigned int middle = low + (high - low) / 2;
        if (sorted[middle] == address)
            return true;
        if (sorted[middle] < address)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

static unsigned int reserve_all(void)
{
    uint32_t last_up = 0, last_down = UINT32_MAX;

    for (unsigned int i = 0; i < COUNT; i++) {
        bool down = i % 2;
        uint32_t base = 0, size = GRANULE;
        ntstatus_t status = rt_vm_allocate(&base, &size, down ? MEM_RESERVE | MEM_TOP_DOWN
                                                               : MEM_RESERVE, PAGE_READWRITE);
        if (!CHECK(status == STATUS_SUCCESS, "reservation %u: 0x%08x", i, (unsigned int)status))
            return i;
        bases[i] = base;
        live[i] = true;
        CHECK(size == GRANULE && base % GRANULE == 0 && base >= LOWEST &&
                           base + GRANULE - 1 <= highest, "reservation %u: 0x%08x+0x%x", i,
                           base, size);
        /* With nothing freed, the lowest fit only rises and the highest only falls. */
        if (down)
            CHECK(base < last_down, "top-down %u at 0x%08x, after 0x%08x", i,
                               base, last_down);
        else
            CHECK(base > last_up || i == 0, "bottom-up %u at 0x%08x, after 0x%08x",
                               i, base, last_up);
        if (down)
            last_down = base;
        else
            last_up = base;
    }
    rt_printf("%s: %u reservations, bottom-up up to 0x%08x, top-down down to 0x%08x\n",
              rt_program_name, COUNT, last_up, last_down);
    return COUNT;
}

static void check_no_overlap(unsigned int count)
{
    for (unsigned int i = 0; i < count; i++)
        sorted[i] = bases[i];
    sort(sorted, count);
    for (unsigned int i = 1; i < count; i++)
        CHECK(sorted[i] >= sorted[i - 1] + GRANULE, "0x%08x and 0x%08x overlap",
              sorted[i - 1], sorted[i]);
}

static void check_each_base(unsigned int count)
{
    struct nt_memory_basic_information info;

    for (unsigned int i = 0; i < count; i++) {
        if (!CHECK(NT_SUCCESS(rt_vm_query(bases[i], &info)), "query of 0x%08x failed",
                   bases[i]))
            continue;
        if (live[i])
            CHECK(is_reserved_region(bases[i], &info),
                  "0x%08x: 0x%08x+0x%x state 0x%x protect 0x%x in 0x%08x/0x%x type 0x%x",
                  bases[i], info.base_address, info.region_size, info.state, info.protect,
                  info.allocation_base, info.allocation_protect, info.type);
        else
            CHECK(info.base_address == bases[i] && info.state == MEM_FREE &&
                  info.region_size >= GRANULE && info.allocation_base == 0 && info.type == 0,
                  "released 0x%08x: 0x%08x+0x%x state 0x%x", bases[i], info.base_address,
                  info.region_size, info.state);
    }
}

/*
 * Each gap between live reservations holds free space and reservations not of this
 * program (the image, the stack), region after region up to the next live reservation;
 * a free region always ends where a reservation starts.
 */
static void check_gaps(void)
{
    struct nt_memory_basic_information info;
    unsigned int gaps = 0;

    for (unsigned int i = 0; i + 1 < sorted_count; i++) {
        uint32_t address = sorted[i] + GRANULE, end = sorted[i + 1];
        bool previous_free = false;

        if (address == end)
            continue;
        gaps++;
        while (address < end) {
            if (!CHECK(NT_SUCCESS(rt_vm_query(address, &info)) && info.base_address == address &&
                       info.region_size != 0, "query of 0x%08x in a gap failed", address))
                break;
            if (info.state == MEM_FREE)
                CHECK(!previous_free && info.allocation_base == 0 && info.type == 0,
                      "free 0x%08x+0x%x after free space, in 0x%08x", address,
                      info.region_size, info.allocation_base);
            else
                CHECK(!is_live_base(info.allocation_base), "0x%08x+0x%x of 0x%08x in a gap",
                      address, info.region_size, info.allocation_base);
            previous_free = info.state == MEM_FREE;
            address += info.region_size;
        }
        CHECK(address == end, "the gap before 0x%08x ends at 0x%08x", end, address);
    }
    rt_printf("%s: %u gaps between %u live reservations\n", rt_program_name, gaps,
              sorted_count);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    highest = rt_vm_highest_address();
    if (!RT_EXPECT(highest >= 0x7FFEFFFF))
        return (int)rt_failure_count();

    unsigned int count = reserve_all();
    check_no_overlap(count);
    for (unsigned int i = 1; i < count; i += 3) {
        uint32_t base = bases[i], size = 0;
        live[i] = false;
        CHECK(rt_vm_free(&base, &size, MEM_RELEASE) == STATUS_SUCCESS && base == bases[i] &&
              size == GRANULE, "release of 0x%08x: 0x%08x+0x%x", bases[i], base, size);
    }
    check_each_base(count);
    sorted_count = 0;
    for (unsigned int i = 0; i < count; i++)
        if (live[i])
            sorted[sorted_count++] = bases[i];
    sort(sorted, sorted_count);
    check_gaps();

    for (unsigned int i = 0; i < count; i++) {
        if (!live[i])
            continue;
        live[i] = false;
        CHECK(rt_vm_release(bases[i]) == STATUS_SUCCESS, "release of 0x%08x failed",
              bases[i]);
    }
    sorted_count = 0;
    check_each_base(count);
    if (unreported)
        rt_printf("%s: %u more failures not shown\n", rt_program_name, unreported);
    return (int)(rt_failure_count() + unreported);
}
