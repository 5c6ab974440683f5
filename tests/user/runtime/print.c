/* Formatted output: one formatter, writing to the console or into a string. */
#include "tests/user/runtime/rt.h"

/* Characters per NtDisplayString call: a line of a diagnostic fits in one. */
#define DISPLAY_CHARS 256

struct sink {
    void (*put)(struct sink *sink, char c);
    size_t length;                      /* characters put so far */
};

struct display_sink {
    struct sink sink;
    unsigned int used;
    unsigned short text[DISPLAY_CHARS];
};

struct string_sink {
    struct sink sink;
    char *buffer;
    size_t size;
};

static void display_flush(struct display_sink *display)
{
    struct nt_unicode_string string = {
        .length = (unsigned short)(display->used * sizeof(display->text[0])),
        .maximum_length = sizeof(display->text),
        .buffer = display->text,
    };

    if (display->used > 0)
        NtDisplayString(&string);
    display->used = 0;
}

static void display_put(struct sink *sink, char c)
{
    struct display_sink *display = (struct display_sink *)sink;

    if (display->used == DISPLAY_CHARS)
        display_flush(display);
    display->text[display->used++] = (unsigned char)c;
}

static void string_put(struct sink *sink, char c)
{
    struct string_sink *string = (struct string_sink *)sink;

    if (sink->length + 1 < string->size)
        string->buffer[sink->length] = c;
}

static void put(struct sink *sink, char c)
{
    sink->put(sink, c);
    sink->length++;
}

static void put_padding(struct sink *sink, char pad, size_t have, unsigned int width)
{
    for (; have < width; have++)
        put(sink, pad);
}

static void put_number(struct sink *sink, uint32_t value, uint32_t base, bool negative,
                       unsigned int width, bool zero_pad)
{
    char digits[10];
    size_t n = 0;

    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value);
    if (negative && zero_pad)
        put(sink, '-');
    put_padding(sink, zero_pad ? '0' : ' ', n + negative, width);
    if (negative && !zero_pad)
        put(sink, '-');
    while (n)
        put(sink, digits[--n]);
}

static void vformat(struct sink *sink, const char *f, va_list args)
{
    for (; *f; f++) {
        if (*f != '%') {
            put(sink, *f);
            continue;
        }
        const char *start = f++;
        bool zero_pad = *f == '0';
        unsigned int width = 0;

        if (zero_pad)
            f++;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (unsigned int)(*f++ - '0');

        switch (*f) {
        case 'd': {
            int value = va_arg(args, int);
            uint32_t magnitude = value < 0 ? 0u - (uint32_t)value : (uint32_t)value;
            put_number(sink, magnitude, 10, value < 0, width, zero_pad);
            break;
        }
        case 'u':
            put_number(sink, va_arg(args, unsigned int), 10, false, width, zero_pad);
            break;
        case 'x':
            put_number(sink, va_arg(args, unsigned int), 16, false, width, zero_pad);
            break;
        case 'p':
            put(sink, '0');
            put(sink, 'x');
            put_number(sink, (uint32_t)(uintptr_t)va_arg(args, void *), 16, false, 8, true);
            break;
        case 'c':
            put(sink, (char)va_arg(args, int));
            break;
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s)
                s = "(null)";
            put_padding(sink, ' ', rt_strlen(s), width);
            while (*s)
                put(sink, *s++);
            break;
        }
        case '%':
            put(sink, '%');
            break;
        default:
            /* Not a conversion: print it as written, stopping at the end of the format. */
            while (start < f)
                put(sink, *start++);
            if (*f == '\0')
                return;
            put(sink, *f);
            break;
        }
    }
}

void rt_vprintf(const char *f, va_list args)
{
    struct display_sink display = { .sink = { .put = display_put } };

    vformat(&display.sink, f, args);
    display_flush(&display);
}

void rt_printf(const char *f, ...)
{
    va_list args;

    va_start(args, f);
    rt_vprintf(f, args);
    va_end(args);
}

size_t rt_vsnprintf(char *buffer, size_t size, const char *f, va_list args)
{
    struct string_sink string = { .sink = { .put = string_put }, .buffer = buffer, .size = size };

    vformat(&string.sink, f, args);
    if (size > 0)
        buffer[string.sink.length < size ? string.sink.length : size - 1] = '\0';
    return string.sink.length;
}

size_t rt_snprintf(char *buffer, size_t size, const char *f, ...)
{
    va_list args;
    size_t length;

    va_start(args, f);
    length = rt_vsnprintf(buffer, size, f, args);
    va_end(args);
    return length;
}

void rt_unicode_from_ascii(struct nt_unicode_string *string, unsigned short *storage,
                           size_t capacity, const char *ascii)
{
    size_t n = 0;

    /* A UNICODE_STRING counts bytes in 16 bits. */
    if (capacity > 0x7FFF)
        capacity = 0x7FFF;
    while (n < capacity && ascii[n]) {
        storage[n] = (unsigned char)ascii[n];
        n++;
    }
    if (n < capacity)
        storage[n] = 0;
    string->length = (unsigned short)(n * sizeof(storage[0]));
    string->maximum_length = (unsigned short)(capacity * sizeof(storage[0]));
    string->buffer = storage;
}
