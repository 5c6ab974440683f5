/* Memory and string functions, number parsing and the command-line word splitter. */
#include "tests/user/runtime/rt.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    void *ret = dst;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int value, size_t n)
{
    void *ret = dst;
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(value) : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t rt_strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

int rt_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
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
