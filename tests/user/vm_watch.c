/*
 * vm_watch.exe: the services that watch and pin memory, as 32-bit Windows 10 has them:
 *   - NtLockVirtualMemory / NtUnlockVirtualMemory (MAP_PROCESS): the range rounded to
 *     pages and written back; only committed, accessible pages (a guard page loses its
 *     guard and fails the call once); locked pages stay in the working set when it is
 *     emptied; the quota is the working-set minimum less a few pages
 *     (STATUS_WORKING_SET_QUOTA); unlocking what is not locked is STATUS_NOT_LOCKED;
 *     MAP_SYSTEM needs a privilege (STATUS_PRIVILEGE_NOT_HELD);
 *   - MEM_WRITE_WATCH with NtGetWriteWatch / NtResetWriteWatch: pages written since the
 *     last reset, in ascending order, a page granularity; WRITE_WATCH_FLAG_RESET resets
 *     the pages returned, no more; watches survive protection changes and decommit, and
 *     see the kernel's writes too; the argument rules;
 *   - NtQueryVirtualMemory's MemoryWorkingSetInformation (the resident pages, with their
 *     protection and sharing) and MemoryRegionInformation (the whole allocation).
 * Prints a diagnostic for each failed check; exits 0 if all held, else the number failed.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define PAGE            0x1000u
#define GRANULE         0x10000u
#define WATCHED_PAGES   16
#define WORKING_SET_MAX 4096

static ntstatus_t lock(uint32_t *base, uint32_t *size, unsigned int map_type)
{
    return rt_syscall(NT_SERVICE_LOCK_VIRTUAL_MEMORY, NT_CURRENT_PROCESS, base, size,
                      map_type);
}

static ntstatus_t unlock(uint32_t *base, uint32_t *size, unsigned int map_type)
{
    return rt_syscall(NT_SERVICE_UNLOCK_VIRTUAL_MEMORY, NT_CURRENT_PROCESS, base, size,
                      map_type);
}

static ntstatus_t get_write_watch(unsigned int flags, uint32_t base, uint32_t size,
                                  uint32_t *addresses, uint32_t *count,
                                  uint32_t *granularity)
{
    return rt_syscall(NT_SERVICE_GET_WRITE_WATCH, NT_CURRENT_PROCESS, flags, base, size,
                      addresses, count, granularity);
}

static ntstatus_t reset_write_watch(uint32_t base, uint32_t size)
{
    return rt_syscall(NT_SERVICE_RESET_WRITE_WATCH, NT_CURRENT_PROCESS, base, size);
}

/* The working set, as MemoryWorkingSetInformation gives it. */
static uint32_t working_set[1 + WORKING_SET_MAX];

static ntstatus_t query_working_set(void)
{
    size_t length = 0;

    return NtQueryVirtualMemory(NT_CURRENT_PROCESS, NULL, NT_MEMORY_WORKING_SET_INFORMATION,
                                working_set, sizeof(working_set), &length);
}

/* The working-set block of the page at va, or 0 when the page is not in the set. */
static uint32_t block_of(uint32_t va)
{
    if (!NT_SUCCESS(query_working_set()))
        return 0;
    for (uint32_t i = 0; i < working_set[0] && i < WORKING_SET_MAX; i++)
        if ((working_set[1 + i] & NT_WORKING_SET_PAGE_MASK) == va)
            return working_set[1 + i];
    return 0;
}

static ntstatus_t empty_working_set(void)
{
    struct nt_quota_limits quota = {.minimum_working_set_size = 0xFFFFFFFF,
                                    .maximum_working_set_size = 0xFFFFFFFF};

    return NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS, &quota,
                                   sizeof(quota));
}

static uint32_t allocate(uint32_t size, unsigned int type, unsigned int protection)
{
    uint32_t base = 0;

    if (!RT_EXPECT_EQ(rt_vm_allocate(&base, &size, type, protection), STATUS_SUCCESS))
        return 0;
    return base;
}

/* ---- locking ---- */

static void check_lock(void)
{
    uint32_t w = allocate(GRANULE, MEM_RESERVE, PAGE_READWRITE);
    uint32_t base, size;

    if (!w)
        return;
    size = 4 * PAGE;
    base = w;
    RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);

    /* The map type first: nothing but MAP_PROCESS without a privilege. */
    base = w, size = PAGE;
    RT_EXPECT_EQ(lock(&base, &size, 0), STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(lock(&base, &size, 4), STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(lock(&base, &size, MAP_SYSTEM), STATUS_PRIVILEGE_NOT_HELD);
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS | MAP_SYSTEM), STATUS_PRIVILEGE_NOT_HELD);
    /* Pages that are only reserved, or not there at all, cannot be locked. */
    base = w + 3 * PAGE, size = 2 * PAGE;
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_ACCESS_VIOLATION);
    size = 0;
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_INVALID_PARAMETER);

    /* The range is every page it touches, written back; locking brings pages in. */
    base = w + PAGE - 1, size = 2;
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
    RT_EXPECT_EQ(base, w);
    RT_EXPECT_EQ(size, 2 * PAGE);
    RT_EXPECT(block_of(w) != 0 && block_of(w + PAGE) != 0);
    /* Locked pages stay when the working set is emptied; the others go. */
    *(volatile uint32_t *)(w + 2 * PAGE) = 1;
    RT_EXPECT_EQ(empty_working_set(), STATUS_SUCCESS);
    RT_EXPECT(block_of(w) != 0 && block_of(w + PAGE) != 0);
    RT_EXPECT_EQ(block_of(w + 2 * PAGE), 0);

    /* Unlocking: every page must be locked, else nothing is unlocked. */
    base = w, size = 3 * PAGE;
    RT_EXPECT_EQ(unlock(&base, &size, MAP_PROCESS), STATUS_NOT_LOCKED);
    base = w, size = PAGE;
    RT_EXPECT_EQ(unlock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
    RT_EXPECT_EQ(unlock(&base, &size, MAP_PROCESS), STATUS_NOT_LOCKED);
    RT_EXPECT_EQ(empty_working_set(), STATUS_SUCCESS);
    RT_EXPECT_EQ(block_of(w), 0);
    RT_EXPECT(block_of(w + PAGE) != 0);

    /* A guard page loses its guard and fails the lock once; then it can be locked. */
    unsigned int old;
    base = w + 2 * PAGE, size = PAGE;
    RT_EXPECT_EQ(rt_vm_protect(&base, &size, PAGE_READWRITE | PAGE_GUARD, &old),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_GUARD_PAGE_VIOLATION);
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
    /* A page that allows no access cannot be locked. */
    base = w + 3 * PAGE, size = PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_COMMIT, PAGE_NOACCESS), STATUS_SUCCESS);
    RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_ACCESS_VIOLATION);

    /* Decommitting a locked page unlocks it with it. */
    base = w + PAGE, size = PAGE;
    RT_EXPECT_EQ(rt_vm_free(&base, &size, MEM_DECOMMIT), STATUS_SUCCESS);
    RT_EXPECT_EQ(unlock(&base, &size, MAP_PROCESS), STATUS_NOT_LOCKED);
    rt_vm_release(w);

    /* The quota: the working-set minimum (50 pages by default) less 8. */
    uint32_t big = allocate(64 * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (big) {
        base = big, size = 43 * PAGE;
        RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_WORKING_SET_QUOTA);
        base = big, size = 40 * PAGE;
        RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
        /* Locked already: these count once. */
        RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
        /* The working set's maximum cannot go below what is locked in it. */
        struct nt_quota_limits quota = {.minimum_working_set_size = 20 * PAGE,
                                        .maximum_working_set_size = 30 * PAGE};
        RT_EXPECT_EQ(NtSetInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_QUOTA_LIMITS,
                                             &quota, sizeof(quota)),
                     STATUS_BAD_WORKING_SET_LIMIT);
        base = big + 40 * PAGE, size = 3 * PAGE;
        RT_EXPECT_EQ(lock(&base, &size, MAP_PROCESS), STATUS_WORKING_SET_QUOTA);
        base = big, size = 40 * PAGE;
        RT_EXPECT_EQ(unlock(&base, &size, MAP_PROCESS), STATUS_SUCCESS);
        rt_vm_release(big);
    }
}

/* ---- write watch ---- */

/* The addresses NtGetWriteWatch gives for [base, base + size), at most capacity. */
static uint32_t watched(unsigned int flags, uint32_t base, uint32_t size, uint32_t *addresses,
                        uint32_t capacity)
{
    uint32_t count = capacity, granularity = 0;
    ntstatus_t status = get_write_watch(flags, base, size, addresses, &count, &granularity);

    if (!RT_EXPECT_EQ(status, STATUS_SUCCESS))
        return 0;
    RT_EXPECT_EQ(granularity, PAGE);
    return count;
}

static void write_page(uint32_t base, uint32_t page)
{
    *(volatile uint32_t *)(base + page * PAGE + 8) = page;
}

static void check_write_watch(void)
{
    uint32_t addresses[WATCHED_PAGES], count, granularity;
    uint32_t w = allocate(WATCHED_PAGES * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                          PAGE_READWRITE);

    if (!w)
        return;
    /* Committing writes nothing. */
    RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 0);
    write_page(w, 4);
    write_page(w, 2);
    write_page(w, 9);
    if (RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 3)) {
        RT_EXPECT_EQ(addresses[0], w + 2 * PAGE);
        RT_EXPECT_EQ(addresses[1], w + 4 * PAGE);
        RT_EXPECT_EQ(addresses[2], w + 9 * PAGE);
    }
    /* Only the range asked for. */
    if (RT_EXPECT_EQ(watched(0, w + 3 * PAGE, 2 * PAGE, addresses, WATCHED_PAGES), 1))
        RT_EXPECT_EQ(addresses[0], w + 4 * PAGE);
    /* Reset with a short array: only the pages returned are reset. */
    if (RT_EXPECT_EQ(watched(WRITE_WATCH_FLAG_RESET, w, WATCHED_PAGES * PAGE, addresses, 1), 1))
        RT_EXPECT_EQ(addresses[0], w + 2 * PAGE);
    RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 2);
    /* NtResetWriteWatch of a part. */
    RT_EXPECT_EQ(reset_write_watch(w, 5 * PAGE), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 1))
        RT_EXPECT_EQ(addresses[0], w + 9 * PAGE);
    RT_EXPECT_EQ(watched(WRITE_WATCH_FLAG_RESET, w, WATCHED_PAGES * PAGE, addresses,
                         WATCHED_PAGES), 1);
    RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 0);

    /* Reading is not writing; the kernel's writes count (a query's output here). */
    RT_EXPECT_EQ(*(volatile uint32_t *)(w + 5 * PAGE + 8), 0);
    struct nt_memory_basic_information *info = (void *)(w + 6 * PAGE);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)w,
                                      NT_MEMORY_BASIC_INFORMATION, info, sizeof(*info), NULL),
                 STATUS_SUCCESS);
    if (RT_EXPECT_EQ(watched(WRITE_WATCH_FLAG_RESET, w, WATCHED_PAGES * PAGE, addresses,
                             WATCHED_PAGES), 1))
        RT_EXPECT_EQ(addresses[0], w + 6 * PAGE);

    /* Watches survive a protection change, trimming, and a decommit. */
    write_page(w, 7);
    write_page(w, 8);
    uint32_t base = w + 7 * PAGE, size = PAGE;
    unsigned int old;
    RT_EXPECT_EQ(rt_vm_protect(&base, &size, PAGE_READONLY, &old), STATUS_SUCCESS);
    RT_EXPECT_EQ(empty_working_set(), STATUS_SUCCESS);
    base = w + 8 * PAGE, size = PAGE;
    RT_EXPECT_EQ(rt_vm_free(&base, &size, MEM_DECOMMIT), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(watched(0, w, WATCHED_PAGES * PAGE, addresses, WATCHED_PAGES), 2)) {
        RT_EXPECT_EQ(addresses[0], w + 7 * PAGE);
        RT_EXPECT_EQ(addresses[1], w + 8 * PAGE);
    }

    /* The argument rules. */
    count = WATCHED_PAGES;
    RT_EXPECT_EQ(get_write_watch(0xDEADBEEF, w, PAGE, addresses, &count, &granularity),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(get_write_watch(0, w, 0, addresses, &count, &granularity),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(get_write_watch(0, 0, PAGE, addresses, &count, &granularity),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(get_write_watch(0, w, 2 * WATCHED_PAGES * PAGE, addresses, &count,
                                 &granularity), STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(get_write_watch(0, w + (WATCHED_PAGES - 1) * PAGE, PAGE + 1, addresses, &count,
                                 &granularity), STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(get_write_watch(0, w, PAGE, addresses, NULL, &granularity),
                 STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(get_write_watch(0, w, PAGE, addresses, &count, NULL), STATUS_ACCESS_VIOLATION);
    RT_EXPECT_EQ(get_write_watch(0, w, PAGE, NULL, &count, &granularity),
                 STATUS_ACCESS_VIOLATION);
    /* The count is judged before the array: 0 entries is refused even with no array. */
    count = 0;
    RT_EXPECT_EQ(get_write_watch(0, w, PAGE, NULL, &count, &granularity),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(reset_write_watch(w, 0), STATUS_INVALID_PARAMETER);
    /* Memory without a write watch: this program's own image, plain private memory. */
    uint32_t image = (uint32_t)(uintptr_t)&check_write_watch & ~(PAGE - 1);
    count = WATCHED_PAGES;
    RT_EXPECT_EQ(get_write_watch(0, image, PAGE, addresses, &count, &granularity),
                 STATUS_INVALID_PARAMETER);
    RT_EXPECT_EQ(reset_write_watch(image, PAGE), STATUS_INVALID_PARAMETER);
    uint32_t plain = allocate(PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (plain) {
        RT_EXPECT_EQ(get_write_watch(0, plain, PAGE, addresses, &count, &granularity),
                     STATUS_INVALID_PARAMETER);
        rt_vm_release(plain);
    }
    /* MEM_WRITE_WATCH only with MEM_RESERVE. */
    base = 0, size = PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE),
                 STATUS_INVALID_PARAMETER_5);

    /* A part released: the rest keeps its watch. */
    write_page(w, 12);
    base = w, size = 4 * PAGE;
    RT_EXPECT_EQ(rt_vm_free(&base, &size, MEM_RELEASE), STATUS_SUCCESS);
    if (RT_EXPECT_EQ(watched(0, w + 4 * PAGE, (WATCHED_PAGES - 4) * PAGE, addresses,
                             WATCHED_PAGES), 3))
        RT_EXPECT_EQ(addresses[2], w + 12 * PAGE);
    rt_vm_release(w + 4 * PAGE);
}

/* ---- the other classes of NtQueryVirtualMemory ---- */

static void check_query_classes(void)
{
    uint32_t w = allocate(GRANULE, MEM_RESERVE, PAGE_READWRITE);
    size_t length = 0;

    if (!w)
        return;
    uint32_t base = w, size = 3 * PAGE;
    RT_EXPECT_EQ(rt_vm_allocate(&base, &size, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    base = w + PAGE, size = PAGE;
    unsigned int old;
    RT_EXPECT_EQ(rt_vm_protect(&base, &size, PAGE_READONLY, &old), STATUS_SUCCESS);
    *(volatile uint32_t *)w = 1;
    (void)*(volatile uint32_t *)(w + PAGE);

    /* MemoryRegionInformation: the whole allocation, from any address inside it. */
    struct nt_memory_region_information region;
    memset(&region, 0xCC, sizeof(region));
    if (RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)(w + 0x1234),
                                          NT_MEMORY_REGION_INFORMATION, &region,
                                          sizeof(region), &length), STATUS_SUCCESS)) {
        RT_EXPECT_EQ(length, sizeof(region));
        RT_EXPECT_EQ(region.allocation_base, w);
        RT_EXPECT_EQ(region.allocation_protect, PAGE_READWRITE);
        RT_EXPECT_EQ(region.region_size, GRANULE);
        RT_EXPECT_EQ(region.commit_size, 3 * PAGE);
        RT_EXPECT_EQ(region.region_type, 0);
    }
    /* Its older, shorter forms will do; shorter than RegionSize will not. */
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)w,
                                      NT_MEMORY_REGION_INFORMATION, &region,
                                      NT_MEMORY_REGION_INFORMATION_MINIMUM, &length),
                 STATUS_SUCCESS);
    RT_EXPECT_EQ(length, NT_MEMORY_REGION_INFORMATION_MINIMUM);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)w,
                                      NT_MEMORY_REGION_INFORMATION, &region,
                                      NT_MEMORY_REGION_INFORMATION_MINIMUM - 4, &length),
                 STATUS_INFO_LENGTH_MISMATCH);
    /* Free memory has no allocation. */
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, (void *)(w + GRANULE + 0x100000),
                                      NT_MEMORY_REGION_INFORMATION, &region, sizeof(region),
                                      &length), STATUS_INVALID_ADDRESS);

    /* MemoryWorkingSetInformation: each resident page with its protection. */
    RT_EXPECT_EQ(block_of(w) & 0x1F, 4);                /* read-write */
    RT_EXPECT_EQ(block_of(w + PAGE) & 0x1F, 1);         /* read-only */
    RT_EXPECT_EQ(block_of(w) & NT_WORKING_SET_SHARED, 0);
    RT_EXPECT_EQ(block_of(w + 2 * PAGE), 0);            /* committed, never touched */
    /* This program's code is a shared image page, execute-read. */
    uint32_t code = block_of((uint32_t)(uintptr_t)&check_query_classes & ~(PAGE - 1));
    RT_EXPECT_EQ(code & 0x1F, 3);
    RT_EXPECT(code & NT_WORKING_SET_SHARED);
    RT_EXPECT((code >> NT_WORKING_SET_SHARE_COUNT_SHIFT & 7) >= 1);
    /* Too small: the number of entries still comes back. */
    uint32_t small[2] = {0, 0};
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, NULL,
                                      NT_MEMORY_WORKING_SET_INFORMATION, small, sizeof(small),
                                      &length), STATUS_INFO_LENGTH_MISMATCH);
    RT_EXPECT(small[0] > 1);
    RT_EXPECT_EQ(length, 4 + 4 * small[0]);
    RT_EXPECT_EQ(NtQueryVirtualMemory(NT_CURRENT_PROCESS, NULL,
                                      NT_MEMORY_WORKING_SET_INFORMATION, small, 3, &length),
                 STATUS_INFO_LENGTH_MISMATCH);
    rt_vm_release(w);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    check_lock();
    check_write_watch();
    check_query_classes();
    return (int)rt_failure_count();
}
