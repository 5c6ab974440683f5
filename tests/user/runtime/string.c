/* String helpers, number parsing and the command-line word splitter. */
#include "tests/user/runtime/rt.h"

/* The memory and string functions themselves are lib/string.c's, linked in too. */

size_t rt_strlen(const char *s)
{
    return strlen(s);
}

int rt_strcmp(const char *a, const char *b)
{
    return strcmp(a, b);
}

bool rt_streq(const char *a, const char *b)
{
    return rt_strcmp(a, b) == 0;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

static bool parse_digits(const char *text, uint32_t base, uint32_t *value)
{
    uint32_t result = 0;

    if (*text == '\0')
        return false;
    for (; *text; text++) {
        uint32_t digit = (uint32_t)digit_value(*text);
        if (digit >= base || result > (UINT32_MAX - digit) / base)
            return false;
        result = result * base + digit;
    }
    *value = result;
    return true;
}

static bool has_hex_prefix(const char *text)
{
    return text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

bool rt_parse_u32(const char *text, uint32_t *value)
{
    if (has_hex_prefix(text))
        return parse_digits(text + 2, 16, value);
    return parse_digits(text, 10, value);
}

bool rt_parse_hex(const char *text, uint32_t *value)
{
    return parse_digits(has_hex_prefix(text) ? text + 2 : text, 16, value);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

unsigned int rt_count_words(const char *line)
{
    unsigned int count = 0;

    for (const char *p = line; *p; p++)
        if (!is_blank(*p) && (p == line || is_blank(p[-1])))
            count++;
    return count;
}

unsigned int rt_split_words(char *line, char **words, unsigned int capacity)
{
    unsigned int count = 0;
    char *p = line;

    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return count;
        if (count < capacity)
            words[count] = p;
        count++;
        while (*p && !is_blank(*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
}
