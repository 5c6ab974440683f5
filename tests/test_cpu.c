/*
 * CPU features: decoding CPUID for CPUs from before CPUID to today's, and the kernel
 * using what the CPU it runs on has, and nothing it lacks.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/hyperspace.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

#define EDX_PSE (1u << 3)
#define EDX_TSC (1u << 4)
#define EDX_PGE (1u << 13)
#define SIGNATURE(family, model, stepping) ((family) << 8 | (model) << 4 | (stepping))

/* "GenuineIntel" as CPUID leaf 0 returns it: EBX, EDX, ECX. */
static const uint32_t genuine_intel[3] = {0x756E6547, 0x49656E69, 0x6C65746E};

static void no_cpuid_means_no_features(struct ktest *t)
{
    struct cpuid_result raw = {.present = false, .leaf1_edx = 0xFFFFFFFF};
    struct cpu_features f;

    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, !f.cpuid && !f.pse && !f.tsc && !f.pge);
    KT_EXPECT_EQ(t, 0, f.family);
}

/* CPUID with only leaf 0 (some early 486s): a vendor, no feature bits. */
static void leaf_zero_only(struct ktest *t)
{
    struct cpuid_result raw = {.present = true, .max_leaf = 0, .leaf1_edx = 0xFFFFFFFF};
    struct cpu_features f;

    memcpy(raw.vendor, genuine_intel, sizeof(raw.vendor));
    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, f.cpuid && !f.pse && !f.tsc && !f.pge);
    KT_EXPECT_STREQ(t, "GenuineIntel", f.vendor);
}

static void pentium_has_tsc_not_pge(struct ktest *t)
{
    struct cpuid_result raw = {.present = true, .max_leaf = 1,
                               .leaf1_eax = SIGNATURE(5, 2, 12), .leaf1_edx = EDX_PSE | EDX_TSC};
    struct cpu_features f;

    memcpy(raw.vendor, genuine_intel, sizeof(raw.vendor));
    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, f.tsc && f.pse && !f.pge);
    KT_EXPECT_EQ(t, 5, f.family);
    KT_EXPECT_EQ(t, 2, f.model);
    KT_EXPECT_EQ(t, 12, f.stepping);
}

static void p6_has_pge(struct ktest *t)
{
    struct cpuid_result raw = {.present = true, .max_leaf = 2, .leaf1_eax = SIGNATURE(6, 7, 3),
                               .leaf1_edx = EDX_PSE | EDX_TSC | EDX_PGE};
    struct cpu_features f;

    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, f.tsc && f.pse && f.pge);
    KT_EXPECT_EQ(t, 6, f.family);
}

/* SMEP and UMIP come from leaf 7, and only where the CPU says it has that leaf. */
static void leaf_seven_brings_smep_and_umip(struct ktest *t)
{
    struct cpuid_result raw = {.present = true, .max_leaf = 7, .leaf1_eax = SIGNATURE(6, 14, 1),
                               .leaf1_edx = EDX_PSE | EDX_TSC | EDX_PGE,
                               .leaf7_ebx = 1u << 7, .leaf7_ecx = 1u << 2};
    struct cpu_features f;

    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, f.smep && f.umip);
    raw.leaf7_ebx = ~(1u << 7);
    raw.leaf7_ecx = ~(1u << 2);
    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, !f.smep && !f.umip);
    raw = (struct cpuid_result){.present = true, .max_leaf = 6, .leaf7_ebx = 1u << 7,
                                .leaf7_ecx = 1u << 2};
    cpu_features_decode(&raw, &f);
    KT_EXPECT(t, !f.smep && !f.umip);
}

/*
 * The running kernel follows its CPU: CR4.PGE and the global bit exactly when PGE is
 * there, and a measured TSC rate exactly when a TSC is.
 */
static void kernel_uses_what_the_cpu_has(struct ktest *t)
{
    KT_EXPECT_EQ(t, cpu_features.pge, (cpu_read_cr4() & CR4_PGE) != 0);
    KT_EXPECT_EQ(t, cpu_features.pge ? PTE_GLOBAL : 0, arch_global_pte_bit);
    KT_EXPECT_EQ(t, cpu_features.tsc, cpu_features.tsc_hz != 0);
    KT_EXPECT(t, cpu_read_cr0() & CR0_EM);
    ktest_diag(t, "family %u, pge %u, tsc %u (%u MHz)", cpu_features.family, cpu_features.pge,
               cpu_features.tsc, (uint32_t)(cpu_features.tsc_hz / 1000000));
}

/*
 * A full TLB flush drops global translations too: a system page (global where the CPU
 * has PGE) is read, pointed at another frame behind the TLB's back, and after
 * cpu_flush_tlb_all must show the new frame. Flushing by reloading CR3 alone would keep
 * the old, global, translation on real CPUs.
 */
static void full_flush_drops_global_translations(struct ktest *t)
{
    vaddr_t va = MiReserveSystemPtes(1);
    pfn_t first = MiRemoveAnyPage(MI_USE_SYSTEM), second = MiRemoveAnyPage(MI_USE_SYSTEM);

    KT_ASSERT(t, va && first != PFN_INVALID && second != PFN_INVALID);
    uint32_t *alias = MiMapPageInHyperSpace(second);
    alias[0] = 2;
    MiUnmapPageInHyperSpace(alias);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MiMapRange(va, pfn_to_paddr(first), PAGE_SIZE,
                                               pte_make_kernel(0, true)));
    *(volatile uint32_t *)va = 1;
    KT_EXPECT_EQ(t, cpu_features.pge, pte_is_global(*pte_of(va)));

    /* Queued, not flushed by the writer: the full flush alone must drop the old one. */
    struct mi_tlb_batch batch;
    MiInitializeTlbBatch(&batch);
    MiWritePteBatched(pte_of(va), pte_make_kernel(second, true), &batch);
    cpu_flush_tlb_all();
    KT_EXPECT_EQ(t, 2, *(volatile uint32_t *)va);

    MiUnmapRange(va, PAGE_SIZE);
    MiReleaseSystemPtes(va, 1);
    MiInsertPageInFreeList(first);
    MiInsertPageInFreeList(second);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(no_cpuid_means_no_features),
    KTEST_CASE(leaf_zero_only),
    KTEST_CASE(pentium_has_tsc_not_pge),
    KTEST_CASE(p6_has_pge),
    KTEST_CASE(leaf_seven_brings_smep_and_umip),
    KTEST_CASE(kernel_uses_what_the_cpu_has),
    KTEST_CASE(full_flush_drops_global_translations),
};

KTEST_SUITE(cpu_suite, "cpu", cases);
