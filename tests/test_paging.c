/*
 * Paging as the hardware sees it: the self-map, mapping and unmapping through the two
 * primitives, the protection of system space, the absence of any low mapping, and a
 * TLB that never keeps a translation the kernel removed.
 */
#include "arch/copy_checked.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "boot/paging_mode.h"
#include "lib/ntstatus.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

static bool read_checked(vaddr_t va, uint32_t *value)
{
    return arch_copy_checked(value, (const void *)va, sizeof(*value)) == 0;
}

/* A system-space page mapped to a fresh frame; the test owns both. */
struct test_page {
    vaddr_t va;
    pfn_t pfn;
};

static bool test_page_map(struct ktest *t, struct test_page *page, uint32_t stamp)
{
    page->va = MiReserveSystemPtes(1);
    page->pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    if (!KT_EXPECT(t, page->va != 0) || !KT_EXPECT(t, page->pfn != PFN_INVALID))
        return false;
    if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MiMapRange(page->va, pfn_to_paddr(page->pfn), PAGE_SIZE,
                                                    pte_make_kernel(0, true))))
        return false;
    *(volatile uint32_t *)page->va = stamp;
    return true;
}

static void test_page_release(struct test_page *page)
{
    MiUnmapRange(page->va, PAGE_SIZE);
    MiReleaseSystemPtes(page->va, 1);
    MiInsertPageInFreeList(page->pfn);
}

/*
 * PDE 0x300 maps the directory itself (PAE: PDEs 0x600-0x603 the four directory pages,
 * the pages the PDPT that CR3 names lists), so the PTE of a PTE is a PDE.
 */
static void self_map_points_at_the_directory(struct ktest *t)
{
#if MM_PAE
    const mmpte_t *pdpt = MmCurrentAddressSpace()->pdpt;
    paddr_t pdpt_physical;

    KT_ASSERT(t, MmGetPhysicalAddress((vaddr_t)pdpt, &pdpt_physical));
    KT_EXPECT_EQ(t, pdpt_physical, cpu_read_cr3() & ~0x1Fu);
#endif
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++) {
        mmpte_t self = *pde_of(PTE_BASE + i * PDE_SPAN);
        KT_EXPECT(t, pte_is_valid(self));
        KT_EXPECT(t, !pte_is_user(self));
#if MM_PAE
        KT_EXPECT_EQ(t, pte_pfn(pdpt[i]), pte_pfn(self));
        /*
         * A PDPT entry is written with P and the frame alone (SDM vol. 3A, table 4-8);
         * QEMU's emulation sets bit 5 (accessed) in it as it walks, which the processors
         * leave alone.
         */
        KT_EXPECT_EQ(t, PTE_VALID, pdpt[i].value & ~PTE_FRAME_MASK & ~PTE_ACCESSED);
#else
        KT_EXPECT_EQ(t, paddr_to_pfn(cpu_read_cr3()), pte_pfn(self));
#endif
    }
    KT_EXPECT_EQ(t, PDE_BASE, (vaddr_t)pde_of(0));
    static const vaddr_t samples[] = {0, 0x7FFE0000, 0x80000000, KERNEL_VIRT_BASE, 0xFFFFF000};
    for (unsigned i = 0; i < ARRAY_SIZE(samples); i++)
        KT_EXPECT_EQ(t, (vaddr_t)pde_of(samples[i]), (vaddr_t)pte_of((vaddr_t)pte_of(samples[i])));
}

static void map_translate_unmap(struct ktest *t)
{
    struct test_page page;
    paddr_t physical;

    KT_ASSERT(t, test_page_map(t, &page, 0x5EED1234));
    KT_EXPECT(t, MmGetPhysicalAddress(page.va + 0x123, &physical));
    KT_EXPECT_EQ(t, pfn_to_paddr(page.pfn) + 0x123, physical);

    /* The frame seen through hyperspace holds what was written through the mapping. */
    uint32_t *alias = MiMapPageInHyperSpace(page.pfn);
    KT_EXPECT_EQ(t, 0x5EED1234, alias[0]);
    alias[1] = 0xABCD0001;
    MiUnmapPageInHyperSpace(alias);
    KT_EXPECT_EQ(t, 0xABCD0001, ((volatile uint32_t *)page.va)[1]);

    mmpte_t pte = *pte_of(page.va);
    KT_EXPECT(t, pte_is_valid(pte) && pte_is_writable(pte) && !pte_is_user(pte));
    KT_EXPECT_EQ(t, cpu_features.pge, pte_is_global(pte));

    vaddr_t va = page.va;
    test_page_release(&page);
    KT_EXPECT(t, !MmGetPhysicalAddress(va, &physical));
    uint32_t value;
    KT_EXPECT(t, !read_checked(va, &value));
}

/* Mapping over a mapped page is refused and changes nothing. */
static void map_over_mapping_refused(struct ktest *t)
{
    struct test_page page;

    KT_ASSERT(t, test_page_map(t, &page, 77));
    mmpte_t before = *pte_of(page.va);
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 MiMapRange(page.va, 0x1000, PAGE_SIZE, pte_make_kernel(0, true)));
    KT_EXPECT_EQ(t, before.value, pte_of(page.va)->value);
    KT_EXPECT_EQ(t, 77, *(volatile uint32_t *)page.va);
    test_page_release(&page);
}

/*
 * A range whose tail is already mapped is refused as a whole: no page of its head is
 * left mapped.
 */
static void partial_map_leaves_nothing(struct ktest *t)
{
    vaddr_t va = MiReserveSystemPtes(4);
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, va && pfn != PFN_INVALID);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MiMapRange(va + 3 * PAGE_SIZE, pfn_to_paddr(pfn), PAGE_SIZE,
                                               pte_make_kernel(0, true)));
    KT_EXPECT_EQ(t, STATUS_CONFLICTING_ADDRESSES,
                 MiMapRange(va, 0x100000, 4 * PAGE_SIZE, pte_make_kernel(0, false)));
    for (unsigned i = 0; i < 3; i++)
        KT_EXPECT(t, !pte_is_valid(*pte_of(va + i * PAGE_SIZE)));
    MiUnmapRange(va, 4 * PAGE_SIZE);
    MiReleaseSystemPtes(va, 4);
    MiInsertPageInFreeList(pfn);
}

/*
 * The test behind every unmap: after a translation is used (so the TLB holds it) and
 * the page is unmapped, the address must fault; after it is mapped to another frame,
 * the new frame must be seen. A missing invlpg fails both.
 */
static void no_stale_translation_after_unmap(struct ktest *t)
{
    struct test_page page;
    uint32_t value = 0;

    KT_ASSERT(t, test_page_map(t, &page, 0x11111111));
    KT_EXPECT(t, read_checked(page.va, &value));
    KT_EXPECT_EQ(t, 0x11111111, value);

    MiUnmapRange(page.va, PAGE_SIZE);
    KT_EXPECT(t, !read_checked(page.va, &value));
    KT_EXPECT_EQ(t, page.va, trap_last_recovered_fault()->address);

    pfn_t other = MiRemoveAnyPage(MI_USE_SYSTEM);
    KT_ASSERT(t, other != PFN_INVALID);
    uint32_t *alias = MiMapPageInHyperSpace(other);
    alias[0] = 0x22222222;
    MiUnmapPageInHyperSpace(alias);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, MiMapRange(page.va, pfn_to_paddr(other), PAGE_SIZE,
                                               pte_make_kernel(0, true)));
    KT_EXPECT(t, read_checked(page.va, &value));
    KT_EXPECT_EQ(t, 0x22222222, value);

    MiUnmapRange(page.va, PAGE_SIZE);
    MiInsertPageInFreeList(other);
    MiReleaseSystemPtes(page.va, 1);
    MiInsertPageInFreeList(page.pfn);
}

/* The same through hyperspace, whose slots are reused constantly. */
static void hyperspace_slot_reuse_sees_new_frame(struct ktest *t)
{
    pfn_t a = MiRemoveAnyPage(MI_USE_SYSTEM), b = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, a != PFN_INVALID && b != PFN_INVALID);
    uint32_t *va = MiMapPageInHyperSpace(a);
    va[0] = 0xAAAA;
    MiUnmapPageInHyperSpace(va);
    uint32_t *vb = MiMapPageInHyperSpace(b);
    vb[0] = 0xBBBB;
    KT_EXPECT_EQ(t, (vaddr_t)va, (vaddr_t)vb);     /* the same slot, so the same address */
    MiUnmapPageInHyperSpace(vb);
    va = MiMapPageInHyperSpace(a);
    KT_EXPECT_EQ(t, 0xAAAA, va[0]);
    KT_EXPECT(t, !pte_is_global(*pte_of((vaddr_t)va)));
    MiUnmapPageInHyperSpace(va);
    MiInsertPageInFreeList(a);
    MiInsertPageInFreeList(b);
}

/*
 * Every valid entry of system space is supervisor-only; every PTE is global when the
 * CPU has PGE, except hyperspace's, which belongs to one address space.
 */
static void system_space_is_supervisor_global_and_not_executable(struct ktest *t)
{
    unsigned checked = 0, bad = 0;

    for (vaddr_t table = MmSystemRangeStart; table != 0; table += PDE_SPAN) {
        mmpte_t pde = *pde_of(table);
        if (!pte_is_valid(pde))
            continue;
        bad += pte_is_user(pde);
        if (table >= PTE_BASE && table < HYPER_SPACE)
            continue;   /* the directory pages; their entries were checked as PDEs */
        for (vaddr_t va = table; va != table + PDE_SPAN; va += PAGE_SIZE) {
            mmpte_t pte = *pte_of(va);
            if (!pte_is_valid(pte))
                continue;
            checked++;
            bool want_global = cpu_features.pge && table != HYPER_SPACE;
            /* With no-execute on, only the kernel's code may be executed (PAE's XD bit). */
            bool want_no_execute = boot_paging_mode.nx && !MiIsKernelCode(va);
            if (pte_is_user(pte) || pte_is_global(pte) != want_global ||
                pte_is_no_execute(pte) != want_no_execute) {
                if (bad++ < 4)
                    ktest_diag(t, "va 0x%08x pte 0x%llx", va, (unsigned long long)pte.value);
            }
        }
    }
    KT_EXPECT(t, checked > 0);
    KT_EXPECT_EQ(t, 0, bad);
}

/* With no process yet, nothing at all lies below the split: no identity map is left. */
static void nothing_mapped_below_system_space(struct ktest *t)
{
    unsigned mapped = 0;

    for (vaddr_t va = 0; va < MmSystemRangeStart; va += PDE_SPAN)
        if (pte_is_valid(*pde_of(va)) && mapped++ < 4)
            ktest_diag(t, "PDE for 0x%08x is present", va);
    KT_EXPECT_EQ(t, 0, mapped);

    uint32_t value;
    KT_EXPECT(t, !read_checked(0, &value));
    KT_EXPECT(t, !read_checked(KERNEL_PHYS_BASE, &value));     /* the old identity map */
    KT_EXPECT(t, !read_checked(MmSystemRangeStart - 4, &value));
}

/* The kernel window keeps only the image: not the low megabyte, not the stack guard. */
static void kernel_window_holds_only_the_image(struct ktest *t)
{
    uint32_t value;

    KT_EXPECT(t, !read_checked(KERNEL_WINDOW, &value));
    KT_EXPECT(t, !read_checked(KERNEL_WINDOW + 0xB8000, &value));
    KT_EXPECT(t, !read_checked((vaddr_t)boot_stack_guard, &value));
    KT_EXPECT(t, !read_checked((vaddr_t)_kernel_end, &value));
    KT_EXPECT(t, read_checked((vaddr_t)_kernel_start, &value));
    KT_EXPECT(t, read_checked((vaddr_t)boot_stack_bottom, &value));
    KT_EXPECT(t, !pte_is_writable(*pte_of((vaddr_t)_kernel_start)));
    KT_EXPECT(t, pte_is_writable(*pte_of((vaddr_t)boot_stack_bottom)));
}

static void io_space_mapping_uncached(struct ktest *t)
{
    volatile uint16_t *vga = MmMapIoSpace(0xB8000 + 2, 4);
    paddr_t physical;

    KT_ASSERT(t, vga != NULL);
    KT_EXPECT_EQ(t, 2, (vaddr_t)vga % PAGE_SIZE);
    KT_EXPECT(t, MmGetPhysicalAddress((vaddr_t)vga, &physical));
    KT_EXPECT_EQ(t, 0xB8002, physical);
    KT_EXPECT(t, pte_of((vaddr_t)vga)->value & PTE_CACHE_DISABLE);
    MmUnmapIoSpace((void *)vga, 4);
    KT_EXPECT(t, !MmGetPhysicalAddress((vaddr_t)vga, &physical));
}

/*
 * The entry format is defined once (arch/layout.h) and the rest derived from it: the
 * derived values are NT's for x86 without PAE and with it (its i386 headers: PTE_BASE,
 * PDE_BASE, HYPER_SPACE), and the hardware walks the self-map they give.
 */
static void entry_format_derives_nt_layout(struct ktest *t)
{
    static const struct {
        uint32_t entry_size, entries, pde_shift, pde_span, self_map_index;
        vaddr_t pde_base, hyper_space;
        uint32_t directory_pages;
    } nt[2] = {
        /* two-level */ {4, 1024, 22, 0x400000, 0x300, 0xC0300000, 0xC0400000, 1},
        /* PAE */       {8, 512, 21, 0x200000, 0x600, 0xC0600000, 0xC0800000, 4},
    }, *expected = &nt[MM_PAE];

    KT_EXPECT_EQ(t, expected->entry_size, sizeof(mmpte_t));
    KT_EXPECT_EQ(t, expected->entries, PTES_PER_TABLE);
    KT_EXPECT_EQ(t, expected->pde_shift, PDE_SHIFT);
    KT_EXPECT_EQ(t, expected->pde_span, PDE_SPAN);
    KT_EXPECT_EQ(t, expected->self_map_index, PTE_SELF_MAP_INDEX);
    KT_EXPECT_EQ(t, expected->pde_base, PDE_BASE);
    KT_EXPECT_EQ(t, expected->hyper_space, HYPER_SPACE);
    KT_EXPECT_EQ(t, expected->directory_pages, DIRECTORY_PAGES);
    /* The PDE of PDE_BASE is the directory's own entry, seen through the self-map. */
    KT_EXPECT_EQ(t, PDE_BASE + (PDE_BASE >> PDE_SHIFT) * PTE_SIZE, (vaddr_t)pde_of(PDE_BASE));
    KT_EXPECT_EQ(t, (vaddr_t)pde_of(PTE_BASE), (vaddr_t)pte_of(PDE_BASE));
    /* The kernel image and the PFN database lie where both formats leave room. */
    KT_EXPECT(t, KERNEL_WINDOW >= HYPER_SPACE_END && KERNEL_WINDOW >= 0xC0A00000);
    KT_EXPECT_EQ(t, KERNEL_WINDOW_END, MM_PFN_DATABASE);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(entry_format_derives_nt_layout),
    KTEST_CASE(self_map_points_at_the_directory),
    KTEST_CASE(map_translate_unmap),
    KTEST_CASE(map_over_mapping_refused),
    KTEST_CASE(partial_map_leaves_nothing),
    KTEST_CASE(no_stale_translation_after_unmap),
    KTEST_CASE(hyperspace_slot_reuse_sees_new_frame),
    KTEST_CASE(system_space_is_supervisor_global_and_not_executable),
    KTEST_CASE(nothing_mapped_below_system_space),
    KTEST_CASE(kernel_window_holds_only_the_image),
    KTEST_CASE(io_space_mapping_uncached),
};

KTEST_SUITE(paging_suite, "paging", cases);
