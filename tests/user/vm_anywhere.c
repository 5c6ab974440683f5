/*
 * vm_anywhere.exe / vm_anywhere_laa.exe EXPECTED_MAX (hex): one source, two images, the
 * second large-address-aware (tests/user/user.mk). Reserves anywhere, alternately
 * bottom-up and top-down, until the address space is used up (STATUS_NO_MEMORY; a
 * reservation charges no commit, so the commit limit does not stop it): 1 MB at a time
 * first, then 64 KB at a time for the holes left. (64 KB throughout would take up to
 * 49,000 reservations, and a first-fit search walks the reservations it passes, so the
 * whole would cost some 600 million steps: most of a minute under emulation.)
 *   - the process's limit (SYSTEM_BASIC_INFORMATION) is EXPECTED_MAX, and a query above
 *     it is refused;
 *   - no reservation lies below 64 KB or reaches past EXPECTED_MAX; each is 64 KB-aligned;
 *     of each size, the bottom-up ones rise and the top-down ones fall;
 *   - once it is used up, no free 64 KB-aligned 64 KB range is left in user space;
 *   - if EXPECTED_MAX is above 0x7FFEFFFF, some reservation lies above 2 GB;
 *   - all of them (told apart by their PAGE_NOACCESS allocation protection) release.
 * A kernel that runs out of pool first (STATUS_INSUFFICIENT_RESOURCES) skips the
 * used-up check and says so. Prints what it made and where; exits 0 if all held, else
 * the number of failed checks.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define GRANULE         0x10000u
#define LARGE_UNIT      0x100000u
#define LOWEST          0x10000u
#define TWO_GB          0x80000000u
#define LEGACY_LIMIT    0x7FFEFFFFu
/* Marks this program's reservations: nothing else in the process is reserved so. */
#define MARK_PROTECTION PAGE_NOACCESS

static uint32_t expected_max;

struct tally {
    unsigned int count, above_two_gb;
    uint32_t lowest, highest_end;       /* the range they cover, highest_end inclusive */
    ntstatus_t end_status;
};

/* Reserves unit bytes at a time until the space is used up; the tally counts them. */
static void reserve_until_full(struct tally *tally, uint32_t unit)
{
    uint32_t bound = expected_max / unit + 10;
    uint32_t last_up = 0, last_down = UINT32_MAX;
    unsigned int misplaced = 0;

    for (uint32_t i = 0; i < bound; i++) {
        bool down = i % 2;
        uint32_t base = 0, size = unit;
        ntstatus_t status = rt_vm_allocate(&base, &size, down ? MEM_RESERVE | MEM_TOP_DOWN
                                                               : MEM_RESERVE, MARK_PROTECTION);
        if (!NT_SUCCESS(status)) {
            tally->end_status = status;
            return;
        }
        tally->count++;
        uint32_t last = base + size - 1;
        /* With nothing freed, the lowest fit only rises and the highest only falls. */
        bool placed = size == unit && base % GRANULE == 0 && base >= LOWEST &&
                      last >= base && last <= expected_max &&
                      (down ? base < last_down : base > last_up);
        if (!placed && misplaced++ < 8)
            RT_EXPECT_MSG(false, "%s reservation %u at 0x%08x+0x%x (limit 0x%08x, last "
                          "0x%08x)", down ? "top-down" : "bottom-up", i, base, size,
                          expected_max, down ? last_down : last_up);
        if (down)
            last_down = base;
        else
            last_up = base;
        tally->above_two_gb += base >= TWO_GB;
        tally->lowest = base < tally->lowest ? base : tally->lowest;
        tally->highest_end = last > tally->highest_end ? last : tally->highest_end;
    }
    tally->end_status = STATUS_SUCCESS;
    RT_EXPECT_MSG(false, "%u reservations and the address space is still not full", bound);
}

/*
 * Walks user space, counting in *free_units the free 64 KB-aligned 64 KB ranges; with
 * released, it also releases this program's reservations and counts them there.
 */
static void walk(unsigned int *free_units, unsigned int *released)
{
    struct nt_memory_basic_information info;
    uint32_t address = 0;

    *free_units = 0;
    if (released)
        *released = 0;
    while (RT_EXPECT_EQ(rt_vm_query(address, &info), STATUS_SUCCESS) &&
           RT_EXPECT(info.region_size != 0)) {
        uint32_t end = info.base_address + info.region_size - 1;
        if (info.state == MEM_FREE) {
            uint32_t start = info.base_address < LOWEST ? LOWEST : info.base_address;
            uint32_t unit = (start + GRANULE - 1) & ~(GRANULE - 1);
            if (unit >= start && unit + GRANULE - 1 <= end && (*free_units)++ < 4)
                rt_printf("%s: free 64 KB at 0x%08x in 0x%08x-0x%08x\n", rt_program_name,
                          unit, info.base_address, end);
        } else if (released && info.base_address == info.allocation_base &&
                   info.allocation_protect == MARK_PROTECTION && info.type == MEM_PRIVATE &&
                   info.state == MEM_RESERVE &&
                   (info.region_size == GRANULE || info.region_size == LARGE_UNIT)) {
            if (RT_EXPECT_EQ(rt_vm_release(info.base_address), STATUS_SUCCESS))
                (*released)++;
        }
        if (end >= expected_max)
            break;
        address = end + 1;
    }
}

int main(int argc, char **argv)
{
    struct nt_memory_basic_information info;
    struct tally tally = { 0 };
    unsigned int free_units, released;

    if (argc != 2 || !rt_parse_hex(argv[1], &expected_max) || expected_max < LOWEST) {
        rt_printf("usage: %s EXPECTED_MAX (hex)\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    RT_EXPECT_EQ(rt_vm_highest_address(), expected_max);
    if (expected_max != UINT32_MAX)
        RT_EXPECT_EQ(rt_vm_query(expected_max + 1, &info), STATUS_INVALID_PARAMETER);

    tally.lowest = UINT32_MAX;
    reserve_until_full(&tally, LARGE_UNIT);
    unsigned int large = tally.count;
    if (tally.end_status == STATUS_NO_MEMORY)
        reserve_until_full(&tally, GRANULE);
    rt_printf("%s: %u reservations of 1 MB and %u of 64 KB in 0x%08x-0x%08x, %u above 2 GB, "
              "then 0x%08x\n", rt_program_name, large, tally.count - large, tally.lowest,
              tally.highest_end, tally.above_two_gb, (unsigned int)tally.end_status);
    RT_EXPECT(tally.count > 0);
    RT_EXPECT_MSG(tally.highest_end <= expected_max, "a reservation ends at 0x%08x",
                  tally.highest_end);
    if (expected_max > LEGACY_LIMIT)
        RT_EXPECT_MSG(tally.above_two_gb > 0, "no reservation above 2 GB (limit 0x%08x)",
                      expected_max);
    if (tally.end_status == STATUS_NO_MEMORY) {
        walk(&free_units, NULL);
        RT_EXPECT_MSG(free_units == 0, "%u free 64 KB ranges left", free_units);
    } else if (tally.end_status == STATUS_INSUFFICIENT_RESOURCES) {
        rt_printf("%s: the kernel ran out of resources first; not checking that the space "
                  "is full\n", rt_program_name);
    } else {
        RT_EXPECT_MSG(false, "the reservations ended with 0x%08x",
                      (unsigned int)tally.end_status);
    }
    walk(&free_units, &released);
    RT_EXPECT_EQ(released, tally.count);
    return (int)rt_failure_count();
}
