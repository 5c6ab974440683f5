/*
 * The command line's words (lib/cmdline.c): names and values, numbers that fit or
 * do not, and which words the kernel knows, so that the boot can warn of the others.
 */
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

static const struct ktest_case cases[] = {
    KTEST_CASE(words_split_at_blanks_and_equals),
    KTEST_CASE(numbers_must_fit),
    KTEST_CASE(known_options_and_the_file_name),
};

KTEST_SUITE(cmdline_suite, "cmdline", cases);
