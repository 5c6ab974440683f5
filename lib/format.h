#pragma once
/*
 * printf-style formatting without a C library: %d %i %u %x %X %o %p %s %c %%, with the
 * flags '-' and '0', a width, a precision for strings, and the length modifiers hh, h,
 * l, ll and z.
 */
#include <stdarg.h>
#include "lib/types.h"

typedef void (*format_sink_t)(void *context, const char *text, size_t length);

/* Formats to sink; returns the number of characters produced. */
size_t format_v(format_sink_t sink, void *context, const char *fmt, va_list args);

/* As vsnprintf: always terminates; returns the length the whole text would have. */
size_t kvsnprintf(char *buffer, size_t size, const char *fmt, va_list args);
size_t ksnprintf(char *buffer, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
