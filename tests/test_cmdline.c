/*
 * The command line's words (lib/cmdline.c): names and values, numbers that fit or
 * do not, and which words the kernel knows, so that the boot can warn of the others.
 * And what the paging options make of a line (boot/paging_mode.c), on every processor.
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "boot/paging_mode.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "tests/ktest.h"

/* The known-ness of each word of line, as a string of 'k' (known) and 'u' (unknown). */
static void classify(const char *line, char *result, size_t size)
{
    struct cmdline_word word;
    size_t n = 0;

    for (bool first = true; cmdline_next_word(&line, &word) && n + 1 < size; first = false)
        result[n++] = cmdline_is_known(&word, first) ? 'k' : 'u';
    result[n] = '\0';
}

static void words_split_at_blanks_and_equals(struct ktest *t)
{
    const char *line = "  /3gb\tpagefile=hd0:64M  run= ";
    struct cmdline_word word;

    KT_ASSERT(t, cmdline_next_word(&line, &word));
    KT_EXPECT(t, cmdline_word_is(&word, "/3GB") && !word.has_value);
    KT_ASSERT(t, cmdline_next_word(&line, &word));
    KT_EXPECT(t, cmdline_word_is(&word, "PAGEFILE") && word.has_value);
    KT_EXPECT_EQ(t, 7, word.value_length);
    KT_EXPECT_EQ(t, 0, memcmp(word.value, "hd0:64M", 7));
    KT_ASSERT(t, cmdline_next_word(&line, &word));
    KT_EXPECT(t, cmdline_word_is(&word, "run") && word.has_value && word.value_length == 0);
    KT_EXPECT(t, !cmdline_next_word(&line, &word));
}

static void numbers_must_fit(struct ktest *t)
{
    static const struct {
        const char *line;
        bool fits;
        uint32_t value;
    } cases[] = {
        {"n=0", true, 0},           {"n=4294967295", true, 0xFFFFFFFF},
        {"n=4294967296", false, 0}, {"n=99999999999999999999", false, 0},
        {"n=", false, 0},           {"n", false, 0},
        {"n=12a", false, 0},        {"n=-1", false, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct cmdline_word word;
        uint32_t value = 0x5A5A5A5A;
        KT_ASSERT(t, cmdline_find(cases[i].line, "n", &word));
        bool fits = cmdline_value_u32(&word, &value);
        if (!KT_EXPECT_EQ(t, cases[i].fits, fits))
            ktest_diag(t, "\"%s\"", cases[i].line);
        else if (fits)
            KT_EXPECT_EQ(t, cases[i].value, value);
    }
}

static void known_options_and_the_file_name(struct ktest *t)
{
    char result[16];

    classify("build/kernel.elf test=fuzz fuzzcalls=9 soak=1 pagefile=hd0", result,
             sizeof(result));
    KT_EXPECT_STREQ(t, "kkkkk", result);
    classify("/3gb /USERVA=2900 INCREASEUSERVA=2560 bench crash=x run=a.exe", result,
             sizeof(result));
    KT_EXPECT_STREQ(t, "kkkkkk", result);
    /* A file name only counts first; an option's name never has a '.' or an inner '/'. */
    classify("/boot/kernel.elf kernel.elf test/x /4GB foo=bar tests", result, sizeof(result));
    KT_EXPECT_STREQ(t, "kuuuuu", result);
    classify("", result, sizeof(result));
    KT_EXPECT_STREQ(t, "", result);
}

static const struct paging_cpu pae_and_nx = {.pae = true, .nx = true};
static const struct paging_cpu pae_only = {.pae = true, .nx = false};
static const struct paging_cpu neither = {.pae = false, .nx = false};

struct paging_case {
    const char *line;
    const struct paging_cpu *cpu;
    bool pae, nx;
    enum nx_policy policy;
    const char *notes;      /* the notes' kinds in order: B(ad value), O(verridden),
                               N(OPAE needs NX off), P (no PAE CPU), X (no NX CPU) */
};

static void check_paging_cases(struct ktest *t, const struct paging_case *cases, unsigned count)
{
    static const char kinds[] = {
        [PAGING_NOTE_BAD_VALUE] = 'B', [PAGING_NOTE_OVERRIDDEN] = 'O',
        [PAGING_NOTE_NOPAE_NEEDS_NX_OFF] = 'N', [PAGING_NOTE_NO_PAE_CPU] = 'P',
        [PAGING_NOTE_NO_NX_CPU] = 'X',
    };

    for (unsigned i = 0; i < count; i++) {
        const struct paging_case *c = &cases[i];
        struct paging_mode mode;
        char notes[PAGING_MAX_NOTES + 1];

        paging_mode_choose(c->line, c->cpu, &mode);
        for (unsigned n = 0; n < mode.note_count; n++)
            notes[n] = kinds[mode.notes[n].kind];
        notes[mode.note_count] = '\0';
        if (!KT_EXPECT(t, mode.pae == c->pae && mode.nx == c->nx && mode.policy == c->policy &&
                              strcmp(notes, c->notes) == 0))
            ktest_diag(t, "\"%s\" (cpu pae %d nx %d): pae %d nx %d policy %s notes \"%s\"",
                       c->line ? c->line : "(none)", c->cpu->pae, c->cpu->nx, mode.pae,
                       mode.nx, nx_policy_name(mode.policy), notes);
    }
}

/*
 * Windows' rules (boot.ini /PAE, /NOPAE, /NOEXECUTE, /EXECUTE; BCD pae, nx): OptIn by
 * default; PAE whenever execution can be refused; /NOPAE only with no-execute off.
 */
static void paging_options_follow_windows(struct ktest *t)
{
    static const struct paging_case cases[] = {
        {"", &pae_and_nx, true, true, NX_POLICY_OPT_IN, ""},
        {NULL, &pae_and_nx, true, true, NX_POLICY_OPT_IN, ""},
        {"", &pae_only, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"", &neither, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"/PAE", &pae_only, true, false, NX_POLICY_ALWAYS_OFF, ""},
        {"pae=ForceEnable", &pae_only, true, false, NX_POLICY_ALWAYS_OFF, ""},
        {"/NOPAE", &pae_and_nx, true, true, NX_POLICY_OPT_IN, "N"},
        {"/NOPAE /EXECUTE", &pae_and_nx, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"/nopae /noexecute=alwaysoff", &pae_and_nx, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"pae=ForceDisable nx=AlwaysOff", &pae_and_nx, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"/EXECUTE /PAE", &pae_and_nx, true, false, NX_POLICY_ALWAYS_OFF, ""},
        {"/EXECUTE", &pae_and_nx, false, false, NX_POLICY_ALWAYS_OFF, ""},
        {"nx=OptOut", &pae_and_nx, true, true, NX_POLICY_OPT_OUT, ""},
        {"/NOEXECUTE=AlwaysOn", &pae_and_nx, true, true, NX_POLICY_ALWAYS_ON, ""},
        {"/PAE", &neither, false, false, NX_POLICY_ALWAYS_OFF, "P"},
        {"nx=AlwaysOn", &pae_only, false, false, NX_POLICY_ALWAYS_OFF, "X"},
        {"pae=Maybe", &pae_and_nx, true, true, NX_POLICY_OPT_IN, "B"},
        {"nx=Sometimes /NOEXECUTE", &pae_and_nx, true, true, NX_POLICY_OPT_IN, "BB"},
        {"nx=OptIn nx=OptOut", &pae_and_nx, true, true, NX_POLICY_OPT_OUT, "O"},
        {"/PAE /NOPAE /EXECUTE", &pae_and_nx, false, false, NX_POLICY_ALWAYS_OFF, "O"},
        {"pae=default /3GB", &pae_only, false, false, NX_POLICY_ALWAYS_OFF, ""},
    };

    check_paging_cases(t, cases, ARRAY_SIZE(cases));
}

/* The choice the boot made is what this build runs: its format, EFER.NXE as chosen. */
static void boot_runs_the_chosen_mode(struct ktest *t)
{
    KT_EXPECT_EQ(t, MM_PAE, boot_paging_mode.pae);
    KT_EXPECT(t, boot_paging_mode.pae || !boot_paging_mode.nx);
    /* EFER exists only where there is NX to enable (a 486 has no rdmsr at all). */
    KT_EXPECT_EQ(t, boot_paging_mode.nx,
                 cpu_features.nx && (cpu_read_msr(MSR_EFER) & EFER_NXE) != 0);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(words_split_at_blanks_and_equals),
    KTEST_CASE(numbers_must_fit),
    KTEST_CASE(known_options_and_the_file_name),
    KTEST_CASE(paging_options_follow_windows),
    KTEST_CASE(boot_runs_the_chosen_mode),
};

KTEST_SUITE(cmdline_suite, "cmdline", cases);
