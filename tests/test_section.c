/*
 * Sections at the memory manager's level: views of one section in two processes at
 * different addresses share frames; a copy-on-write view gets private copies on its
 * first writes; a section lives while a handle or a view holds it; and unmapping leaves
 * no translation behind.
 */
#include "arch/copy_checked.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "kernel/process.h"
#include "kernel/usercopy.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/mm.h"
#include "mm/modwriter.h"
#include "mm/pfn.h"
#include "tests/ktest.h"

#define VIEW_A 0x10000000
#define VIEW_B 0x23450000

struct pair {
    struct process *a, *b;
    uint32_t available_pages;
    uint32_t committed_pages;
    uint32_t system_page_tables;    /* made meanwhile, shared and kept: not a leak */
};

static bool pair_begin(struct ktest *t, struct pair *p)
{
    MiWaitForModifiedPageWriterIdle();
    p->available_pages = MmAvailablePages();
    p->committed_pages = MmTotalCommittedPages;
    p->system_page_tables = MiPagesInUse[MI_USE_PAGE_TABLE];
    return KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create("section-a", false, &p->a)) &&
           KT_EXPECT_EQ(t, STATUS_SUCCESS, process_create("section-b", false, &p->b));
}

/* Both processes go, with their views; everything they held comes back. */
static void pair_end(struct ktest *t, struct pair *p)
{
    process_discard(p->a);
    process_discard(p->b);
    MiWaitForModifiedPageWriterIdle();     /* pages freed in flight go when written */
    KT_EXPECT_EQ(t, p->committed_pages, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, p->available_pages,
                 MmAvailablePages() + MiPagesInUse[MI_USE_PAGE_TABLE] - p->system_page_tables);
}

static ntstatus_t map(struct process *process, struct mm_section *section, vaddr_t base,
                      uint32_t protection)
{
    uint32_t size = 0;

    process_attach(process);
    ntstatus_t status = MmMapViewOfSection(section, 0, &base, &size, 0, protection, 0, 0);
    process_detach();
    return status;
}

static ntstatus_t unmap(struct process *process, vaddr_t base)
{
    process_attach(process);
    ntstatus_t status = MmUnmapViewOfSection(base);
    process_detach();
    return status;
}

static ntstatus_t poke(struct process *process, vaddr_t va, uint32_t value)
{
    process_attach(process);
    ntstatus_t status = user_copy_to(va, &value, sizeof(value));
    process_detach();
    return status;
}

static uint32_t peek(struct process *process, vaddr_t va)
{
    uint32_t value = 0xDEADBEEF;

    process_attach(process);
    user_copy_from(&value, va, sizeof(value));
    process_detach();
    return value;
}

static paddr_t frame_of(struct process *process, vaddr_t va)
{
    paddr_t physical = 0;

    process_attach(process);
    MmGetPhysicalAddress(va, &physical);
    process_detach();
    return physical;
}

/* One section, two processes, two addresses: each sees the other's writes, same frame. */
static void views_share_frames(struct ktest *t)
{
    struct pair p;
    struct mm_section *section;

    if (!pair_begin(t, &p))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(0x30000, PAGE_READWRITE, SEC_COMMIT,
                                                    &section));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, section, VIEW_A, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.b, section, VIEW_B, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_A + 0x1004, 0xA11CE));
    KT_EXPECT_EQ(t, 0xA11CE, peek(p.b, VIEW_B + 0x1004));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.b, VIEW_B + 0x2FFF0, 0xB0B));
    KT_EXPECT_EQ(t, 0xB0B, peek(p.a, VIEW_A + 0x2FFF0));
    KT_EXPECT_EQ(t, frame_of(p.a, VIEW_A + 0x1000), frame_of(p.b, VIEW_B + 0x1000));
    KT_EXPECT(t, frame_of(p.a, VIEW_A + 0x1000) != 0);
    /* An untouched page of a view reads as zero. */
    KT_EXPECT_EQ(t, 0, peek(p.b, VIEW_B + 0x20000));
    object_dereference(&section->header);   /* the views keep it alive */
    KT_EXPECT_EQ(t, 0xA11CE, peek(p.b, VIEW_B + 0x1004));
    pair_end(t, &p);
}

/*
 * A copy-on-write view sees the section until it writes; its writes stay its own, and
 * the other view's later writes no longer reach the copied page.
 */
static void writecopy_view_keeps_its_writes(struct ktest *t)
{
    struct pair p;
    struct mm_section *section;

    if (!pair_begin(t, &p))
        return;
    uint32_t copies = MmStatistics.copy_on_write_faults;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(0x10000, PAGE_READWRITE, SEC_COMMIT, &section));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, section, VIEW_A, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.b, section, VIEW_B, PAGE_WRITECOPY));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_A, 1));
    KT_EXPECT_EQ(t, 1, peek(p.b, VIEW_B));                  /* shared until written */
    KT_EXPECT_EQ(t, frame_of(p.a, VIEW_A), frame_of(p.b, VIEW_B));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.b, VIEW_B, 2));  /* the copy */
    KT_EXPECT_EQ(t, copies + 1, MmStatistics.copy_on_write_faults);
    KT_EXPECT(t, frame_of(p.a, VIEW_A) != frame_of(p.b, VIEW_B));
    KT_EXPECT_EQ(t, 1, peek(p.a, VIEW_A));
    KT_EXPECT_EQ(t, 2, peek(p.b, VIEW_B));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_A, 3));
    KT_EXPECT_EQ(t, 2, peek(p.b, VIEW_B));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.b, VIEW_B, 4));  /* no second copy */
    KT_EXPECT_EQ(t, copies + 1, MmStatistics.copy_on_write_faults);
    /* A read-only view cannot write, and a read-write view of a read-only section
       cannot be had. */
    struct mm_section *readonly;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 MmCreateSection(PAGE_SIZE, PAGE_READONLY, SEC_COMMIT, &readonly));
    KT_EXPECT_EQ(t, STATUS_SECTION_PROTECTION, map(p.a, readonly, 0x30000000, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, readonly, 0x30000000, PAGE_READONLY));
    KT_EXPECT_EQ(t, STATUS_ACCESS_VIOLATION, poke(p.a, 0x30000000, 5));
    object_dereference(&readonly->header);
    object_dereference(&section->header);
    pair_end(t, &p);
}

/*
 * A section goes when its last handle and its last view are gone, not before; an
 * unmapped view faults at the exact address, in the process that unmapped it only.
 */
static void section_lifetime_and_unmap(struct ktest *t)
{
    struct pair p;
    struct mm_section *section;
    uint32_t value;

    if (!pair_begin(t, &p))
        return;
    uint32_t committed = MmTotalCommittedPages;
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 MmCreateSection(4 * PAGE_SIZE, PAGE_READWRITE, SEC_COMMIT, &section));
    KT_EXPECT_EQ(t, committed + 4, MmTotalCommittedPages);      /* charged at creation */
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, section, VIEW_A, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.b, section, VIEW_B, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_A + 8, 42));
    object_dereference(&section->header);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, unmap(p.a, VIEW_A));
    KT_EXPECT_EQ(t, STATUS_NOT_MAPPED_VIEW, unmap(p.a, VIEW_A));
    process_attach(p.a);
    KT_EXPECT(t, arch_copy_checked(&value, (const void *)(VIEW_A + 8), 4) != 0);
    KT_EXPECT_EQ(t, VIEW_A + 8, trap_last_recovered_fault()->address);
    process_detach();
    KT_EXPECT_EQ(t, 42, peek(p.b, VIEW_B + 8));                 /* still there for B */
    KT_EXPECT_EQ(t, committed + 4, MmTotalCommittedPages);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, unmap(p.b, VIEW_B));        /* the last holder */
    KT_EXPECT_EQ(t, committed, MmTotalCommittedPages);
    pair_end(t, &p);
}

static void view_arguments(struct ktest *t)
{
    struct pair p;
    struct mm_section *section;
    vaddr_t base = 0;
    uint32_t size = 0;

    if (!pair_begin(t, &p))
        return;
    KT_EXPECT_EQ(t, STATUS_INVALID_PAGE_PROTECTION,
                 MmCreateSection(PAGE_SIZE, PAGE_NOACCESS, SEC_COMMIT, &section));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER_4,
                 MmCreateSection(0, PAGE_READWRITE, SEC_COMMIT, &section));
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(0x20000, PAGE_READWRITE, SEC_COMMIT, &section));
    process_attach(p.a);
    KT_EXPECT_EQ(t, STATUS_MAPPED_ALIGNMENT,
                 MmMapViewOfSection(section, 0x1000, &base, &size, 0, PAGE_READWRITE, 0, 0));
    size = 0x30000;
    KT_EXPECT_EQ(t, STATUS_INVALID_VIEW_SIZE,
                 MmMapViewOfSection(section, 0, &base, &size, 0, PAGE_READWRITE, 0, 0));
    size = 0;
    KT_EXPECT_EQ(t, STATUS_SUCCESS,
                 MmMapViewOfSection(section, 0x10000, &base, &size, 0, PAGE_READWRITE, 0, 0));
    KT_EXPECT_EQ(t, 0x10000, size);                 /* from the offset to the end */
    KT_EXPECT(t, base % MM_ALLOCATION_GRANULARITY == 0 && base != 0);
    vaddr_t taken = base;
    size = 0;
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 MmMapViewOfSection(section, 0, &taken, &size, 0, PAGE_READWRITE, 0, 0));
    struct nt_memory_basic_information info;
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MmQueryVirtualMemory(base, &info));
    KT_EXPECT_EQ(t, MEM_MAPPED, info.type);
    KT_EXPECT_EQ(t, MEM_COMMIT, info.state);
    KT_EXPECT_EQ(t, PAGE_READWRITE, info.protect);
    KT_EXPECT_EQ(t, 0x10000, info.region_size);
    uint32_t free_size = 0;
    KT_EXPECT_EQ(t, STATUS_UNABLE_TO_DELETE_SECTION,
                 MmFreeVirtualMemory(&taken, &free_size, MEM_RELEASE));
    process_detach();
    object_dereference(&section->header);
    pair_end(t, &p);
}

/*
 * A SEC_NOCACHE section's pages are uncached in every view (PCD and PWT in each PTE), and
 * a plain section's are not.
 */
static void nocache_section_pages_are_uncached_in_every_view(struct ktest *t)
{
    struct pair p;
    struct mm_section *uncached, *plain;

    if (!pair_begin(t, &p))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(PAGE_SIZE, PAGE_READWRITE,
                                                    SEC_COMMIT | SEC_NOCACHE, &uncached));
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmCreateSection(PAGE_SIZE, PAGE_READWRITE, SEC_COMMIT,
                                                    &plain));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, uncached, VIEW_A, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.b, uncached, VIEW_B, PAGE_READONLY));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, map(p.a, plain, VIEW_B, PAGE_READWRITE));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_A, 1));
    KT_EXPECT_EQ(t, 1, peek(p.b, VIEW_B));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, poke(p.a, VIEW_B, 2));
    uint32_t cache_bits = PTE_CACHE_DISABLE | PTE_WRITE_THROUGH;
    process_attach(p.a);
    KT_EXPECT_EQ(t, cache_bits, pte_of(VIEW_A)->value & cache_bits);
    KT_EXPECT_EQ(t, 0, pte_of(VIEW_B)->value & cache_bits);
    process_detach();
    process_attach(p.b);
    KT_EXPECT_EQ(t, cache_bits, pte_of(VIEW_B)->value & cache_bits);
    process_detach();
    object_dereference(&uncached->header);
    object_dereference(&plain->header);
    pair_end(t, &p);
}

/*
 * A process that never ran may still hold handles (NtDuplicateObject can give it one):
 * discarding it closes them, so the section it held goes.
 */
static void handles_of_a_process_that_never_ran_are_closed(struct ktest *t)
{
    struct process *process;
    struct mm_section *section;
    nt_handle_t handle;

    KT_ASSERT_EQ(t, STATUS_SUCCESS, process_create("never-ran", false, &process));
    KT_ASSERT_EQ(t, STATUS_SUCCESS,
                 MmCreateSection(PAGE_SIZE, PAGE_READWRITE, SEC_COMMIT, &section));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, handle_insert(&process->handles, &section->header,
                                                  SECTION_ALL_ACCESS, &handle));
    KT_EXPECT_EQ(t, 2, section->header.references);
    process_discard(process);
    KT_EXPECT_EQ(t, 1, section->header.references);
    object_dereference(&section->header);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(views_share_frames),
    KTEST_CASE(writecopy_view_keeps_its_writes),
    KTEST_CASE(section_lifetime_and_unmap),
    KTEST_CASE(view_arguments),
    KTEST_CASE(nocache_section_pages_are_uncached_in_every_view),
    KTEST_CASE(handles_of_a_process_that_never_ran_are_closed),
};

KTEST_SUITE(section_suite, "section", cases);
