#include <stdarg.h>

#include "arch/cpu.h"
#include "kernel/console.h"
#include "kernel/format.h"

#define CONSOLE_MAX_OUTPUTS 4
#define CONSOLE_HISTORY     8192

static const struct console_output *outputs[CONSOLE_MAX_OUTPUTS];
static unsigned output_count;

/* The start of the boot log, replayed to outputs that attach late. */
static char history[CONSOLE_HISTORY];
static size_t history_length;

static void console_write_locked(const char *text, size_t length)
{
    size_t room = CONSOLE_HISTORY - history_length;
    size_t keep = length < room ? length : room;

    for (size_t i = 0; i < keep; i++)
        history[history_length + i] = text[i];
    history_length += keep;
    for (unsigned i = 0; i < output_count; i++)
        outputs[i]->write(text, length);
}

void console_attach(const struct console_output *output)
{
    uint32_t flags = cpu_save_disable_interrupts();

    if (output_count < CONSOLE_MAX_OUTPUTS) {
        outputs[output_count++] = output;
        output->write(history, history_length);
    }
    cpu_restore_interrupts(flags);
}

void console_write(const char *text, size_t length)
{
    /* One CPU: keeping interrupts off keeps a line from being split by another. */
    uint32_t flags = cpu_save_disable_interrupts();

    console_write_locked(text, length);
    cpu_restore_interrupts(flags);
}

static void console_sink(void *context, const char *text, size_t length)
{
    (void)context;
    console_write_locked(text, length);
}

void kprintf(const char *fmt, ...)
{
    uint32_t flags = cpu_save_disable_interrupts();
    va_list args;

    va_start(args, fmt);
    format_v(console_sink, NULL, fmt, args);
    va_end(args);
    cpu_restore_interrupts(flags);
}
