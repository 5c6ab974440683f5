/*
 * The virtual memory services at the memory manager's level (mm/virtual.c), on a
 * process made for each case and attached to: NT's argument rules, region walking,
 * the commit charge, page tables that come and go, guard pages. The same services
 * through int 0x2E, from ring 3, are the vm suite's business.
 */
#include "arch/copy_checked.h"
#include "arch/cpu_features.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "kernel/process.h"
#include "kernel/usercopy.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"
#include "tests/scratch_process.h"

#define GRANULE MM_ALLOCATION_GRANULARITY

static ntstatus_t allocate(vaddr_t base, uint32_t size, uint32_t type, uint32_t protection,
                           vaddr_t *result)
{
    ntstatus_t status = MmAllocateVirtualMemory(&base, &size, type, protection, 0);
    if (result)
        *result = base;
    return status;
}

static ntstatus_t release(vaddr_t base)
{
    uint32_t size = 0;
    return MmFreeVirtualMemory(&base, &size, MEM_RELEASE);
}

static ntstatus_t decommit(vaddr_t base, uint32_t size)
{
    return MmFreeVirtualMemory(&base, &size, MEM_DECOMMIT);
}

static ntstatus_t protect(vaddr_t base, uint32_t size, uint32_t protection, uint32_t *old)
{
    uint32_t ignored;
    return MmProtectVirtualMemory(&base, &size, protection, old ? old : &ignored);
}

/* What NtQueryVirtualMemory would say of address; all zero if it refuses. */
static struct nt_memory_basic_information query(vaddr_t address)
{
    struct nt_memory_basic_information info = {0};
    MmQueryVirtualMemory(address, &info);
    return info;
}

/*
 * A fixed-base reservation against an existing one of 256 KB at 0x20000000, in every
 * relative position: overlapping ones are refused, neighbours are not.
 */
static void fixed_base_reservation_matrix(struct ktest *t)
{
    static const struct {
        const char *name;
        vaddr_t base;
        uint32_t size;
        ntstatus_t status;
    } cases[] = {
        {"equal", 0x20000000, 4 * GRANULE, STATUS_CONFLICTING_ADDRESSES},
        {"inside", 0x20010000, GRANULE, STATUS_CONFLICTING_ADDRESSES},
        {"covering", 0x1FFF0000, 6 * GRANULE, STATUS_CONFLICTING_ADDRESSES},
        {"straddling the start", 0x1FFF0000, 2 * GRANULE, STATUS_CONFLICTING_ADDRESSES},
        {"straddling the end", 0x20030000, 2 * GRANULE, STATUS_CONFLICTING_ADDRESSES},
        {"adjacent below", 0x1FFF0000, GRANULE, STATUS_SUCCESS},
        {"adjacent above", 0x20040000, GRANULE, STATUS_SUCCESS},
        {"one granule apart", 0x20050000, GRANULE, STATUS_SUCCESS},
        {"in the null region", 0x8000, PAGE_SIZE, STATUS_INVALID_PARAMETER_2},
    };
    struct scratch s;
    vaddr_t base;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 allocate(0x20000000, 4 * GRANULE, MEM_RESERVE, PAGE_READWRITE, &base));
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        ntstatus_t status = allocate(cases[i].base, cases[i].size, MEM_RESERVE,
                                     PAGE_READWRITE, &base);
        if (!KT_EXPECT_EQ(t, cases[i].status, status))
            ktest_diag(t, "case %s", cases[i].name);
        if (NT_SUCCESS(status)) {
            KT_EXPECT_EQ(t, cases[i].base, base);
            KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
        }
    }
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(0x20000000));
    scratch_end(t, &s);
}

/* Bases and sizes are rounded as NT rounds them, and written back. */
static void bases_and_sizes_rounded(struct ktest *t)
{
    struct scratch s;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    vaddr_t base = 0x30001234;
    uint32_t size = 0x10;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 MmAllocateVirtualMemory(&base, &size, MEM_RESERVE, PAGE_READWRITE, 0));
    KT_EXPECT_EQ(t, 0x30000000, base);          /* down to the allocation granularity */
    KT_EXPECT_EQ(t, 0x2000, size);              /* up to the page the range ends in */
    base = 0x30001FFF;
    size = 1;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 MmAllocateVirtualMemory(&base, &size, MEM_COMMIT, PAGE_READWRITE, 0));
    KT_EXPECT_EQ(t, 0x30001000, base);          /* a commit: down to the page only */
    KT_EXPECT_EQ(t, 0x1000, size);
    KT_EXPECT_EQ(t, MEM_COMMIT, query(0x30001000).state);
    KT_EXPECT_EQ(t, MEM_RESERVE, query(0x30000000).state);
    /* Two bytes across a page boundary commit both pages. */
    base = 0x30000FFF;
    size = 2;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 MmAllocateVirtualMemory(&base, &size, MEM_COMMIT, PAGE_READWRITE, 0));
    KT_EXPECT_EQ(t, 0x30000000, base);
    KT_EXPECT_EQ(t, 0x2000, size);
    KT_EXPECT_EQ(t, MEM_COMMIT, query(0x30000000).state);
    KT_EXPECT_EQ(t, 0x2000, query(0x30000000).region_size);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(0x30000000));
    KT_EXPECT_EQ(t, MEM_FREE, query(0x30000000).state);
    scratch_end(t, &s);
}

static void argument_rules(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, allocate(0, GRANULE, 0, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER_5,
                 allocate(0, GRANULE, MEM_RESERVE | MEM_RELEASE, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER_4,
                 allocate(0, 0, MEM_RESERVE, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PAGE_PROTECTION, allocate(0, GRANULE, MEM_RESERVE, 0, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PAGE_PROTECTION,
                 allocate(0, GRANULE, MEM_RESERVE, PAGE_READONLY | PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PAGE_PROTECTION,
                 allocate(0, GRANULE, MEM_RESERVE, PAGE_WRITECOPY, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PAGE_PROTECTION,
                 allocate(0, GRANULE, MEM_RESERVE, PAGE_NOACCESS | PAGE_GUARD, NULL));
    /* A commit alone must lie in one reservation. */
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 allocate(0x40000000, PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE, NULL));
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 allocate(0x40000000, GRANULE, MEM_RESERVE, PAGE_READWRITE, &base));
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 allocate(0x4000F000, 2 * PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE, NULL));
    /* Above the process's limit. */
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER_4,
                 allocate(MmHighestUserAddress + 1 - GRANULE, 2 * GRANULE, MEM_RESERVE,
                          PAGE_READWRITE, NULL));

    /* Free: the flag, the base, the size, the range. */
    uint32_t size = 0;
    vaddr_t at = 0x40000000;
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER_4,
                 MmFreeVirtualMemory(&at, &size, MEM_RELEASE | MEM_DECOMMIT));
    at = 0x40001000;
    KT_EXPECT_EQ(t, STATUS_FREE_VM_NOT_AT_BASE, MmFreeVirtualMemory(&at, &size, MEM_RELEASE));
    KT_EXPECT_EQ(t, STATUS_UNABLE_TO_FREE_VM, decommit(0x4000F000, 2 * PAGE_SIZE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, decommit(0x40000000, PAGE_SIZE));   /* never committed */
    at = 0x50000000;
    size = 0;
    KT_EXPECT_EQ(t, STATUS_MEMORY_NOT_ALLOCATED, MmFreeVirtualMemory(&at, &size, MEM_RELEASE));

    /* Protect: committed throughout, inside one reservation. */
    KT_EXPECT_EQ(t, STATUS_NOT_COMMITTED, protect(0x40000000, PAGE_SIZE, PAGE_READONLY, NULL));
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 protect(0x4000F000, 2 * PAGE_SIZE, PAGE_READONLY, NULL));
    /* Part of a reservation may be released (NT's rule): the rest stays reserved. */
    at = 0x4000F000;
    size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmFreeVirtualMemory(&at, &size, MEM_RELEASE));
    KT_EXPECT_EQ(t, MEM_FREE, query(0x4000F000).state);
    KT_EXPECT_EQ(t, 0xF000, query(0x40000000).region_size);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(0x40000000));
    /* Equal sizes are also accepted for a release. */
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 allocate(0x40000000, GRANULE, MEM_RESERVE, PAGE_READWRITE, &base));
    at = 0x40000000;
    size = GRANULE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmFreeVirtualMemory(&at, &size, MEM_RELEASE));
    scratch_end(t, &s);
}

/*
 * Regions of equal attributes, walked as Windows walks them: committed read-write,
 * committed read-only, reserved, committed again; then free space to the next one.
 */
static void query_walks_regions(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;
    uint32_t old;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 allocate(0x60000000, 16 * PAGE_SIZE, MEM_RESERVE, PAGE_READWRITE, &base));
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 allocate(0x60000000, 8 * PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, protect(0x60003000, 2 * PAGE_SIZE, PAGE_READONLY, &old));
    KT_EXPECT_EQ(t, PAGE_READWRITE, old);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, decommit(0x60005000, 2 * PAGE_SIZE));
    static const struct {
        vaddr_t base;
        uint32_t size, state, protect;
    } regions[] = {
        {0x60000000, 3 * PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE},
        {0x60003000, 2 * PAGE_SIZE, MEM_COMMIT, PAGE_READONLY},
        {0x60005000, 2 * PAGE_SIZE, MEM_RESERVE, 0},
        {0x60007000, 1 * PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE},
        {0x60008000, 8 * PAGE_SIZE, MEM_RESERVE, 0},
    };
    for (unsigned i = 0; i < ARRAY_SIZE(regions); i++) {
        struct nt_memory_basic_information info = query(regions[i].base + 0x123);
        bool ok = KT_EXPECT_EQ(t, regions[i].base, info.base_address);
        ok &= KT_EXPECT_EQ(t, regions[i].size, info.region_size);
        ok &= KT_EXPECT_EQ(t, regions[i].state, info.state);
        ok &= KT_EXPECT_EQ(t, regions[i].protect, info.protect);
        ok &= KT_EXPECT_EQ(t, 0x60000000, info.allocation_base);
        ok &= KT_EXPECT_EQ(t, PAGE_READWRITE, info.allocation_protect);
        ok &= KT_EXPECT_EQ(t, MEM_PRIVATE, info.type);
        if (!ok)
            ktest_diag(t, "region %u", i);
    }
    struct nt_memory_basic_information free = query(0x60010000);
    KT_EXPECT_EQ(t, MEM_FREE, free.state);
    KT_EXPECT_EQ(t, 0x60010000, free.base_address);
    KT_EXPECT_EQ(t, MM_SHARED_USER_DATA - 0x60010000, free.region_size);
    struct nt_memory_basic_information shared = query(MM_SHARED_USER_DATA);
    KT_EXPECT_EQ(t, MEM_COMMIT, shared.state);
    KT_EXPECT_EQ(t, PAGE_READONLY, shared.protect);
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, MmQueryVirtualMemory(MmHighestUserAddress + 1, &free));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(0x60000000));
    scratch_end(t, &s);
}

/* Committing charges, touching takes frames, decommitting gives both back. */
static void commit_charge_and_frames(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;
    uint8_t byte = 0x5A;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    uint32_t charged = MmTotalCommittedPages;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, allocate(0, 8 * PAGE_SIZE, MEM_RESERVE | MEM_COMMIT,
                                             PAGE_READWRITE, &base));
    KT_EXPECT_EQ(t, charged + 8, MmTotalCommittedPages);
    uint32_t available = MmAvailablePages();
    for (unsigned i = 0; i < 8; i++)
        KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base + i * PAGE_SIZE, &byte, 1));
    /* Eight frames, and one page table (the first user page table of this region). */
    KT_EXPECT(t, available - MmAvailablePages() >= 8);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, decommit(base + 2 * PAGE_SIZE, 4 * PAGE_SIZE));
    KT_EXPECT_EQ(t, charged + 4, MmTotalCommittedPages);
    uint32_t value = 1;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, allocate(base + 2 * PAGE_SIZE, PAGE_SIZE, MEM_COMMIT,
                                             PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_from(&value, base + 2 * PAGE_SIZE, 4));
    KT_EXPECT_EQ(t, 0, value);          /* recommitted memory is zero again */
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    KT_EXPECT_EQ(t, charged, MmTotalCommittedPages);
    scratch_end(t, &s);
}

/*
 * A commit past the limit is refused and changes nothing. The limit is lowered to 64
 * pages above what is charged for the case: with gigabytes of RAM it is larger than a
 * process's address space, and the rule is the same at any size.
 */
static void commit_limit_refuses_cleanly(struct ktest *t)
{
    enum { ROOM = 64 };
    struct scratch s;
    vaddr_t base;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    uint32_t saved_limit = MmTotalCommitLimit;
    MmTotalCommitLimit = MmTotalCommittedPages + ROOM;
    uint32_t room = MmTotalCommitLimit - MmTotalCommittedPages;
    uint32_t charged = MmTotalCommittedPages;
    KT_EXPECT_EQ(t, STATUS_COMMITMENT_LIMIT,
                 allocate(0, (room + 1) * PAGE_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
                          &base));
    KT_EXPECT_EQ(t, charged, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, MEM_FREE, query(MM_LOWEST_USER_ADDRESS).state);
    /* Reserving costs no commitment; committing inside the reservation does. */
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, allocate(0, (room + 1) * PAGE_SIZE, MEM_RESERVE,
                                                  PAGE_READWRITE, &base)))
        goto out;
    KT_EXPECT_EQ(t, STATUS_COMMITMENT_LIMIT, allocate(base, (room + 1) * PAGE_SIZE, MEM_COMMIT,
                                                      PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, MEM_RESERVE, query(base).state);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, allocate(base, room * PAGE_SIZE, MEM_COMMIT,
                                             PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, MmTotalCommitLimit, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, STATUS_COMMITMENT_LIMIT,
                 allocate(0, PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    KT_EXPECT_EQ(t, charged, MmTotalCommittedPages);
out:
    MmTotalCommitLimit = saved_limit;
    scratch_end(t, &s);
}

/* A guard page faults once with STATUS_GUARD_PAGE_VIOLATION, then is ordinary memory. */
static void guard_page_fires_once(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;
    uint32_t value;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, allocate(0, 2 * PAGE_SIZE, MEM_RESERVE | MEM_COMMIT,
                                             PAGE_READWRITE | PAGE_GUARD, &base));
    KT_EXPECT_EQ(t, PAGE_READWRITE | PAGE_GUARD, query(base).protect);
    KT_EXPECT_EQ(t, STATUS_GUARD_PAGE_VIOLATION, MmAccessFault(base + 8, MM_ACCESS_READ, true));
    KT_EXPECT_EQ(t, PAGE_READWRITE, query(base).protect);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_from(&value, base + 8, sizeof(value)));
    /* A resident page made a guard page again keeps its contents behind the guard. */
    value = 0xFEED;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base, &value, sizeof(value)));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, protect(base, PAGE_SIZE, PAGE_READONLY | PAGE_GUARD, NULL));
    KT_EXPECT_EQ(t, STATUS_GUARD_PAGE_VIOLATION, MmAccessFault(base, MM_ACCESS_READ, true));
    value = 0;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_from(&value, base, sizeof(value)));
    KT_EXPECT_EQ(t, 0xFEED, value);
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, MmAccessFault(base, MM_ACCESS_WRITE, true));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    scratch_end(t, &s);
}

/*
 * PAGE_NOCACHE and PAGE_WRITECOMBINE reach the hardware: uncached is PCD|PWT; write-
 * combining is PWT alone (the PAT entry the kernel made write-combining) or, without a
 * PAT, PCD alone (uncached). A plain page has neither bit.
 */
static void cache_attributes_reach_the_pte(struct ktest *t)
{
    static const struct {
        uint32_t modifier;
        uint32_t with_pat, without_pat;
    } cases[] = {
        {0, 0, 0},
        {PAGE_NOCACHE, PTE_CACHE_DISABLE | PTE_WRITE_THROUGH,
         PTE_CACHE_DISABLE | PTE_WRITE_THROUGH},
        {PAGE_WRITECOMBINE, PTE_WRITE_THROUGH, PTE_CACHE_DISABLE},
    };
    struct scratch s;
    vaddr_t base;
    uint32_t value = 0x1234;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        KT_ASSERT_EQ(t, STATUS_SUCCESS,
                     allocate(0, PAGE_SIZE, MEM_RESERVE | MEM_COMMIT,
                              PAGE_READWRITE | cases[i].modifier, &base));
        KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base, &value, sizeof(value)));
        mmpte_t pte = *pte_of(base);
        KT_EXPECT(t, pte_is_valid(pte));
        KT_EXPECT_EQ(t, cpu_features.pat ? cases[i].with_pat : cases[i].without_pat,
                     pte.value & (PTE_CACHE_DISABLE | PTE_WRITE_THROUGH));
        KT_EXPECT_EQ(t, PAGE_READWRITE | cases[i].modifier, MiPteProtection(pte));
        /* Made read-only, the page keeps its attribute (it belongs to the allocation). */
        KT_EXPECT_EQ(t, STATUS_SUCCESS, protect(base, PAGE_SIZE, PAGE_READONLY, NULL));
        KT_EXPECT_EQ(t, PAGE_READONLY | cases[i].modifier, MiPteProtection(*pte_of(base)));
        /* A guard page keeps it too, and has it again once the guard has gone. */
        KT_EXPECT_EQ(t, STATUS_SUCCESS,
                     protect(base, PAGE_SIZE, PAGE_READWRITE | PAGE_GUARD, NULL));
        KT_EXPECT_EQ(t, PAGE_READWRITE | PAGE_GUARD | cases[i].modifier, query(base).protect);
        KT_EXPECT_EQ(t, STATUS_GUARD_PAGE_VIOLATION, MmAccessFault(base, MM_ACCESS_READ, true));
        KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base, &value, sizeof(value)));
        KT_EXPECT_EQ(t, cpu_features.pat ? cases[i].with_pat : cases[i].without_pat,
                     pte_of(base)->value & (PTE_CACHE_DISABLE | PTE_WRITE_THROUGH));
        /* No access has no attribute, and touching it is refused, not a crash. */
        KT_EXPECT_EQ(t, STATUS_SUCCESS, protect(base, PAGE_SIZE, PAGE_NOACCESS, NULL));
        KT_EXPECT_EQ(t, PAGE_NOACCESS, query(base).protect);
        KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, MmAccessFault(base, MM_ACCESS_READ, true));
        KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    }
    scratch_end(t, &s);
}

/*
 * MEM_RESET lets a page's contents go: trimmed, the page waits on the standby list
 * without a pagefile copy, and once its frame is reused it reads as zeros. After
 * MEM_RESET_UNDO the page is modified again and its contents survive the same trip.
 */
static void reset_pages_are_dropped_not_written(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;
    uint32_t value = 0xC0FFEE, size;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, allocate(0, 2 * PAGE_SIZE, MEM_RESERVE | MEM_COMMIT,
                                             PAGE_READWRITE, &base));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base, &value, sizeof(value)));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base + PAGE_SIZE, &value, sizeof(value)));
    vaddr_t at = base;
    size = 2 * PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&at, &size, MEM_RESET,
                                                            PAGE_READWRITE, 0));
    at = base + PAGE_SIZE;
    size = PAGE_SIZE;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&at, &size, MEM_RESET_UNDO,
                                                            PAGE_READWRITE, 0));
    /* Both out of the working set: the reset one to standby, the other to modified. */
    MiTrimWorkingSet(0, false);
    KT_EXPECT(t, MiIsTransitionPte(*pte_of(base)));
    KT_EXPECT_EQ(t, MI_STANDBY_PAGE_LIST,
                 MiGetPfnEntry(pte_pfn(*pte_of(base)))->location);
    KT_EXPECT_EQ(t, MI_MODIFIED_PAGE_LIST,
                 MiGetPfnEntry(pte_pfn(*pte_of(base + PAGE_SIZE)))->location);
    /* The standby list is used up, as if memory ran short: the reset page's frame goes. */
    MiPurgeStandbyPages(UINT32_MAX);
    KT_EXPECT(t, MiIsDemandZeroPte(*pte_of(base)));
    value = 1;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_from(&value, base, sizeof(value)));
    KT_EXPECT_EQ(t, 0, value);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_from(&value, base + PAGE_SIZE, sizeof(value)));
    KT_EXPECT_EQ(t, 0xC0FFEE, value);
    KT_EXPECT_EQ(t, PAGE_READWRITE, query(base).protect);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    scratch_end(t, &s);
}

/*
 * After decommit and after release the page faults at the exact address: no stale
 * translation survives (the page was touched, so the TLB held it).
 */
static void fault_at_exact_address_after_free(struct ktest *t)
{
    struct scratch s;
    vaddr_t base;
    uint32_t value = 7;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, allocate(0, 4 * PAGE_SIZE, MEM_RESERVE | MEM_COMMIT,
                                             PAGE_READWRITE, &base));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base + PAGE_SIZE + 0x10, &value, 4));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, decommit(base + PAGE_SIZE, PAGE_SIZE));
    KT_EXPECT(t, arch_copy_checked(&value, (void *)(base + PAGE_SIZE + 0x10), 4) != 0);
    KT_EXPECT_EQ(t, base + PAGE_SIZE + 0x10, trap_last_recovered_fault()->address);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, user_copy_to(base + 3 * PAGE_SIZE, &value, 4));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, release(base));
    KT_EXPECT(t, arch_copy_checked(&value, (void *)(base + 3 * PAGE_SIZE), 4) != 0);
    KT_EXPECT_EQ(t, base + 3 * PAGE_SIZE, trap_last_recovered_fault()->address);
    scratch_end(t, &s);
}

/* KUSER_SHARED_DATA is one page for every process: no process may make it writable. */
static void shared_user_data_stays_read_only(struct ktest *t)
{
    struct scratch s;
    uint32_t value = 1;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    KT_EXPECT_EQ(t, STATUS_NOT_SUPPORTED,
                 protect(MM_SHARED_USER_DATA, PAGE_SIZE, PAGE_READWRITE, NULL));
    /* Nor by committing it again with a new protection. */
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 allocate(MM_SHARED_USER_DATA, PAGE_SIZE, MEM_COMMIT, PAGE_READWRITE, NULL));
    KT_EXPECT_EQ(t, PAGE_READONLY, query(MM_SHARED_USER_DATA).protect);
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, user_copy_to(MM_SHARED_USER_DATA + 4, &value, 4));
    uint32_t size = 0;
    vaddr_t base = MM_SHARED_USER_DATA;
    KT_EXPECT_EQ(t, STATUS_UNABLE_TO_DELETE_SECTION,
                 MmFreeVirtualMemory(&base, &size, MEM_RELEASE));
    scratch_end(t, &s);
}

#define MANY_RESERVATIONS 10000

/* Ten thousand reservations: every one found again, and the VAD tree stays balanced. */
static void ten_thousand_reservations(struct ktest *t)
{
    struct scratch s;
    vaddr_t base, first = 0, last = 0;
    unsigned wrong = 0;

    if (!scratch_begin(t, &s, "vm-test"))
        return;
    for (unsigned i = 0; i < MANY_RESERVATIONS; i++) {
        if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, allocate(0, GRANULE, MEM_RESERVE | (i & 1 ?
                                                      MEM_TOP_DOWN : 0), PAGE_READWRITE, &base)))
            break;
        first = i == 0 ? base : first;
        last = base;
    }
    struct mm_avl_table *vads = &MmCurrentAddressSpace()->vads;
    unsigned height = MiVadTreeHeight(vads);
    ktest_diag(t, "%u VADs, tree height %u", vads->count, height);
    KT_EXPECT(t, vads->count >= MANY_RESERVATIONS);
    KT_EXPECT(t, height <= 19);     /* an AVL tree of 10,000 nodes: at most 1.44 log2(n+2) */
    for (struct mmvad *vad = MiFirstVad(vads); vad; vad = MiNextVad(vad)) {
        if (vad->start == MM_SHARED_USER_DATA)
            continue;
        struct nt_memory_basic_information info = query(vad->start + PAGE_SIZE);
        wrong += info.allocation_base != vad->start || info.state != MEM_RESERVE;
        if (vad->end == MmCurrentAddressSpace()->highest_user_address)
            continue;                   /* nothing above it to ask about */
        info = query(vad->end + 1);     /* the space between: free, or the next one */
        wrong += info.state == MEM_FREE ? info.base_address != vad->end + 1
                                        : info.allocation_base != vad->end + 1;
    }
    KT_EXPECT_EQ(t, 0, wrong);
    KT_EXPECT_EQ(t, MM_LOWEST_USER_ADDRESS, first);
    KT_EXPECT(t, last + GRANULE - 1 <= MmHighestUserAddress);
    scratch_end(t, &s);     /* the process goes with all its VADs */
}

static const struct ktest_case cases[] = {
    KTEST_CASE(fixed_base_reservation_matrix),
    KTEST_CASE(bases_and_sizes_rounded),
    KTEST_CASE(argument_rules),
    KTEST_CASE(query_walks_regions),
    KTEST_CASE(commit_charge_and_frames),
    KTEST_CASE(commit_limit_refuses_cleanly),
    KTEST_CASE(guard_page_fires_once),
    KTEST_CASE(cache_attributes_reach_the_pte),
    KTEST_CASE(reset_pages_are_dropped_not_written),
    KTEST_CASE(fault_at_exact_address_after_free),
    KTEST_CASE(shared_user_data_stays_read_only),
    KTEST_CASE(ten_thousand_reservations),
};

KTEST_SUITE(virtual_suite, "virtual", cases);
