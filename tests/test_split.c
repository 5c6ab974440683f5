/*
 * The split: every command-line form of docs/memory-model.md 1.1, good and bad, and
 * the live split against the rest of the running kernel.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pte_format.h"
#include "mm/split.h"
#include "tests/ktest.h"

struct split_case {
    const char *command_line;
    vaddr_t system_range_start;
    vaddr_t highest_user_address;
    const char *warning_mentions;   /* NULL: no warning expected */
};

static void check_split(struct ktest *t, const struct split_case *c)
{
    struct mi_split split;
    char warning[MI_SPLIT_WARNING_LENGTH];

    MiParseSplit(c->command_line, &split, warning, sizeof(warning));
    bool ok = KT_EXPECT_EQ(t, c->system_range_start, split.system_range_start);
    ok &= KT_EXPECT_EQ(t, c->highest_user_address, split.highest_user_address);
    ok &= KT_EXPECT_EQ(t, c->highest_user_address + 1, split.user_probe_address);
    if (c->warning_mentions) {
        ok &= KT_EXPECT(t, ktest_text_contains(warning, c->warning_mentions));
        ok &= KT_EXPECT(t, ktest_text_contains(warning, "using"));
    } else {
        ok &= KT_EXPECT_STREQ(t, "", warning);
    }
    if (!ok)
        ktest_diag(t, "command line \"%s\", warning \"%s\"", c->command_line, warning);
}

static void check_all(struct ktest *t, const struct split_case *cases, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        check_split(t, &cases[i]);
}

static void default_split(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"", 0x80000000, 0x7FFEFFFF, NULL},
        {"/boot/kernel.elf test", 0x80000000, 0x7FFEFFFF, NULL},
        {"   \t ", 0x80000000, 0x7FFEFFFF, NULL},
        {"/3GBX /3 3GB", 0x80000000, 0x7FFEFFFF, NULL},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

static void three_gb(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"/3GB", 0xC0000000, 0xBFFEFFFF, NULL},
        {"kernel /3gb test", 0xC0000000, 0xBFFEFFFF, NULL},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

static void three_gb_with_userva(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"/3GB /USERVA=2560", 0xA0000000, 0x9FFEFFFF, NULL},
        {"/USERVA=2560 /3GB", 0xA0000000, 0x9FFEFFFF, NULL},
        {"/3GB /USERVA=2048", 0x80000000, 0x7FFEFFFF, NULL},
        {"/3GB /USERVA=3072", 0xC0000000, 0xBFFEFFFF, NULL},
        {"/3gb /userva=2800", 0xAF000000, 0xAEFEFFFF, NULL},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

/* System space starts on a page-directory boundary; user space ends where asked. */
/* System space starts at a page-directory boundary: 4 MB, or 2 MB with PAE. */
static void userva_rounds_system_start_to_a_pde(struct ktest *t)
{
    static const struct split_case cases[] = {
#if MM_PAE
        {"/3GB /USERVA=2562", 0xA0200000, 0xA01EFFFF, NULL},
        {"/3GB /USERVA=2049", 0x80200000, 0x800EFFFF, NULL},
        {"/3GB /USERVA=2563", 0xA0400000, 0xA02EFFFF, NULL},
#else
        {"/3GB /USERVA=2562", 0xA0400000, 0xA01EFFFF, NULL},
        {"/3GB /USERVA=2049", 0x80400000, 0x800EFFFF, NULL},
#endif
        {"/3GB /USERVA=3071", 0xC0000000, 0xBFEEFFFF, NULL},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

static void increaseuserva(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"increaseuserva=2560", 0xA0000000, 0x9FFEFFFF, NULL},
        {"IncreaseUserVA=3072", 0xC0000000, 0xBFFEFFFF, NULL},
        {"increaseuserva=2048", 0x80000000, 0x7FFEFFFF, NULL},
        {"increaseuserva=2562", MM_PAE ? 0xA0200000 : 0xA0400000, 0xA01EFFFF, NULL},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

static void out_of_range_uses_nearest(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"increaseuserva=9999", 0xC0000000, 0xBFFEFFFF, "increaseuserva=9999"},
        {"increaseuserva=100", 0x80000000, 0x7FFEFFFF, "increaseuserva=100"},
        {"increaseuserva=0", 0x80000000, 0x7FFEFFFF, "increaseuserva=0"},
        {"/3GB /USERVA=4096", 0xC0000000, 0xBFFEFFFF, "/USERVA=4096"},
        {"/3GB /USERVA=1024", 0x80000000, 0x7FFEFFFF, "/USERVA=1024"},
        {"increaseuserva=99999999999999999999", 0xC0000000, 0xBFFEFFFF, "increaseuserva="},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

static void malformed_value_uses_default(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"increaseuserva=abc", 0x80000000, 0x7FFEFFFF, "increaseuserva=abc"},
        {"increaseuserva=", 0x80000000, 0x7FFEFFFF, "increaseuserva="},
        {"increaseuserva=25x0", 0x80000000, 0x7FFEFFFF, "25x0"},
        {"increaseuserva=-2560", 0x80000000, 0x7FFEFFFF, "-2560"},
        {"/3GB /USERVA=lots", 0xC0000000, 0xBFFEFFFF, "/USERVA=lots"},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

/* As on Windows, /USERVA alone changes nothing (but is not silently dropped). */
static void userva_without_3gb_ignored(struct ktest *t)
{
    static const struct split_case cases[] = {
        {"/USERVA=2500", 0x80000000, 0x7FFEFFFF, "/3GB"},
        {"test /userva=3000", 0x80000000, 0x7FFEFFFF, "/USERVA=3000"},
    };
    check_all(t, cases, ARRAY_SIZE(cases));
}

/* The running kernel uses what it parsed, and the probe gap is never mapped. */
static void live_split_is_consistent(struct ktest *t)
{
    KT_EXPECT_EQ(t, MmHighestUserAddress + 1, MmUserProbeAddress);
    KT_EXPECT(t, MmSystemRangeStart % PDE_SPAN == 0);
    KT_EXPECT(t, MmSystemRangeStart - MmUserProbeAddress >= MM_NO_ACCESS_GAP);
    KT_EXPECT(t, MmSystemRangeStart >= 0x80000000 && MmSystemRangeStart <= 0xC0000000);
    KT_EXPECT_EQ(t, MmSystemRangeStart, MiSystemRegions[0].base);
    for (vaddr_t va = MmUserProbeAddress; va < MmSystemRangeStart; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        KT_EXPECT(t, !pte || !pte_is_valid(*pte));
    }
}

static const struct ktest_case cases[] = {
    KTEST_CASE(default_split),
    KTEST_CASE(three_gb),
    KTEST_CASE(three_gb_with_userva),
    KTEST_CASE(userva_rounds_system_start_to_a_pde),
    KTEST_CASE(increaseuserva),
    KTEST_CASE(out_of_range_uses_nearest),
    KTEST_CASE(malformed_value_uses_default),
    KTEST_CASE(userva_without_3gb_ignored),
    KTEST_CASE(live_split_is_consistent),
};

KTEST_SUITE(split_suite, "split", cases);
