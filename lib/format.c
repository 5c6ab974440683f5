#include "lib/format.h"
#include "lib/string.h"

struct spec {
    bool left;          /* '-' */
    bool zero;          /* '0' */
    unsigned width;
    int precision;      /* -1 when absent */
};

static size_t emit_padding(format_sink_t sink, void *context, char pad, unsigned count)
{
    static const char spaces[] = "                ";
    static const char zeros[] = "0000000000000000";
    const char *run = pad == '0' ? zeros : spaces;
    size_t done = 0;

    while (count) {
        unsigned n = count < 16 ? count : 16;
        sink(context, run, n);
        count -= n;
        done += n;
    }
    return done;
}

static size_t emit_field(format_sink_t sink, void *context, const struct spec *spec,
                         const char *sign, const char *body, size_t body_length)
{
    size_t sign_length = strlen(sign);
    size_t total = sign_length + body_length;
    unsigned pad = spec->width > total ? spec->width - total : 0;
    size_t done = 0;

    if (!spec->left && !spec->zero)
        done += emit_padding(sink, context, ' ', pad);
    sink(context, sign, sign_length);
    if (!spec->left && spec->zero)
        done += emit_padding(sink, context, '0', pad);
    sink(context, body, body_length);
    if (spec->left)
        done += emit_padding(sink, context, ' ', pad);
    return done + total;
}

static size_t emit_number(format_sink_t sink, void *context, const struct spec *spec,
                          unsigned long long value, unsigned base, bool upper,
                          const char *sign)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char text[24];
    size_t i = sizeof(text);

    do {
        text[--i] = digits[value % base];
        value /= base;
    } while (value);
    return emit_field(sink, context, spec, sign, text + i, sizeof(text) - i);
}

size_t format_v(format_sink_t sink, void *context, const char *fmt, va_list args)
{
    size_t done = 0;

    while (*fmt) {
        const char *run = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        if (fmt != run) {
            sink(context, run, fmt - run);
            done += fmt - run;
        }
        if (!*fmt)
            break;
        fmt++;

        struct spec spec = {.precision = -1};
        for (;; fmt++) {
            if (*fmt == '-')
                spec.left = true;
            else if (*fmt == '0')
                spec.zero = true;
            else
                break;
        }
        if (*fmt == '*') {
            int w = va_arg(args, int);
            spec.left |= w < 0;
            spec.width = w < 0 ? -(unsigned)w : (unsigned)w;
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            spec.width = spec.width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            fmt++;
            spec.precision = 0;
            if (*fmt == '*') {
                spec.precision = va_arg(args, int);
                fmt++;
            }
            while (*fmt >= '0' && *fmt <= '9')
                spec.precision = spec.precision * 10 + (*fmt++ - '0');
        }

        int longs = 0;
        while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z') {
            if (*fmt == 'l')
                longs++;
            fmt++;
        }

        unsigned long long u;
        char c = *fmt ? *fmt++ : '\0';
        switch (c) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(args, long long) : va_arg(args, long);
            u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
            done += emit_number(sink, context, &spec, u, 10, false, v < 0 ? "-" : "");
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            u = longs >= 2 ? va_arg(args, unsigned long long) : va_arg(args, unsigned long);
            done += emit_number(sink, context, &spec, u, c == 'u' ? 10 : c == 'o' ? 8 : 16,
                                c == 'X', "");
            break;
        case 'p':
            spec.zero = true;
            spec.width = 10;
            done += emit_number(sink, context, &spec, (uintptr_t)va_arg(args, void *), 16,
                                false, "0x");
            break;
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s)
                s = "(null)";
            size_t n = strlen(s);
            if (spec.precision >= 0 && (size_t)spec.precision < n)
                n = spec.precision;
            spec.zero = false;
            done += emit_field(sink, context, &spec, "", s, n);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(args, int);
            spec.zero = false;
            done += emit_field(sink, context, &spec, "", &ch, 1);
            break;
        }
        case '%':
            sink(context, "%", 1);
            done++;
            break;
        default:
            /* An unknown conversion is printed as written, so the mistake is visible. */
            sink(context, fmt - 2, c ? 2 : 1);
            done += c ? 2 : 1;
            break;
        }
    }
    return done;
}

struct buffer_sink {
    char *buffer;
    size_t size;
    size_t used;
};

static void buffer_sink_write(void *context, const char *text, size_t length)
{
    struct buffer_sink *b = context;

    if (b->used + 1 < b->size) {
        size_t room = b->size - 1 - b->used;
        memcpy(b->buffer + b->used, text, length < room ? length : room);
    }
    b->used += length;
}

size_t kvsnprintf(char *buffer, size_t size, const char *fmt, va_list args)
{
    struct buffer_sink b = {buffer, size, 0};
    size_t n = format_v(buffer_sink_write, &b, fmt, args);

    if (size)
        buffer[b.used < size ? b.used : size - 1] = '\0';
    return n;
}

size_t ksnprintf(char *buffer, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    size_t n = kvsnprintf(buffer, size, fmt, args);
    va_end(args);
    return n;
}
