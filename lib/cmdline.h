#pragma once
/*
 * The boot command line: words separated by blanks, each either a flag (`test`, `/3GB`)
 * or a name=value pair. Names are matched without regard to case.
 */
#include "lib/types.h"

struct cmdline_word {
    const char *text;       /* the whole word, as written */
    size_t length;
    size_t name_length;     /* up to '=', or the whole word */
    bool has_value;
    const char *value;      /* after '=' */
    size_t value_length;
};

/* The next word at *cursor, advancing it; false at the end of the line. */
bool cmdline_next_word(const char **cursor, struct cmdline_word *word);

/* True when the word's name is name (without regard to case). */
bool cmdline_word_is(const struct cmdline_word *word, const char *name);

/* The word's value as a decimal number; false when it has none, or not one that fits. */
bool cmdline_value_u32(const struct cmdline_word *word, uint32_t *value);

/* Finds the first word named name in line. */
bool cmdline_find(const char *line, const char *name, struct cmdline_word *word);

/*
 * Whether the kernel reads word: an option it knows or, first on the line, the kernel's
 * own file name, which QEMU and some loaders put there (a name with a '.', or a '/'
 * past its first character: no option has either).
 */
bool cmdline_is_known(const struct cmdline_word *word, bool first_word);
