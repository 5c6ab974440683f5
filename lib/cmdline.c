#include "lib/cmdline.h"
#include "lib/string.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_next_word(const char **cursor, struct cmdline_word *word)
{
    const char *p = *cursor;

    while (is_blank(*p))
        p++;
    word->text = p;
    while (*p && !is_blank(*p))
        p++;
    word->length = p - word->text;
    *cursor = p;

    word->name_length = 0;
    while (word->name_length < word->length && word->text[word->name_length] != '=')
        word->name_length++;
    word->has_value = word->name_length < word->length;
    word->value = word->text + word->name_length + word->has_value;
    word->value_length = word->length - word->name_length - word->has_value;
    return word->length != 0;
}

bool cmdline_word_is(const struct cmdline_word *word, const char *name)
{
    size_t n = strlen(name);

    return word->name_length == n && strncasecmp(word->text, name, n) == 0;
}

bool cmdline_find(const char *line, const char *name, struct cmdline_word *word)
{
    while (cmdline_next_word(&line, word))
        if (cmdline_word_is(word, name))
            return true;
    return false;
}

bool cmdline_value_u32(const struct cmdline_word *word, uint32_t *value)
{
    uint64_t n = 0;

    if (!word->has_value || word->value_length == 0)
        return false;
    for (size_t i = 0; i < word->value_length; i++) {
        if (word->value[i] < '0' || word->value[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(word->value[i] - '0');
        if (n > UINT32_MAX)
            return false;
    }
    *value = (uint32_t)n;
    return true;
}

/* Every option some part of the kernel reads: keep in step with cmdline_find's callers. */
static const char *const known_options[] = {
    "/3GB", "/USERVA", "increaseuserva",    /* the split (mm/split.c) */
    "/PAE", "/NOPAE", "pae", "/NOEXECUTE", "/EXECUTE", "nx",  /* boot/paging_mode.c */
    "pagefile",                             /* mm/pagefile.c */
    "ide",                                  /* io/ata.c: ide=pio */
    "ptecheck",                             /* mm/init.c: the PTE writer's check */
    "/NUMPROC", "numproc", "maxcpus",       /* arch/processors.c */
    "test", "bench", "crash", "run", "verifier",    /* kernel/main.c */
    "fuzzcalls", "soak",                    /* tests/test_fuzz.c, tests/test_soak.c */
    "badsector",                            /* tests/test_disk.c */
};

bool cmdline_is_known(const struct cmdline_word *word, bool first_word)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_options); i++)
        if (cmdline_word_is(word, known_options[i]))
            return true;
    if (!first_word)
        return false;
    for (size_t i = 0; i < word->name_length; i++)
        if (word->text[i] == '.' || (i > 0 && word->text[i] == '/'))
            return true;
    return false;
}
