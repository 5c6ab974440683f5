#include <stdarg.h>

#include "lib/console.h"
#include "lib/format.h"

#define CONSOLE_MAX_OUTPUTS 4
#define CONSOLE_HISTORY     8192

static const struct console_lock *lock;    /* NULL until set: early boot has one writer */
static const struct console_output *outputs[CONSOLE_MAX_OUTPUTS];
static unsigned output_count;

/* The start of the boot log, replayed to outputs that attach late. */
static char history[CONSOLE_HISTORY];
static size_t history_length;

/* Where the output stands: at the start of a line, or inside one of line_owner's. */
static bool at_line_start = true;
static uint32_t line_owner;         /* 0: the kernel; else the process id */

void console_set_lock(const struct console_lock *console_lock)
{
    lock = console_lock;
}

static uint32_t console_acquire(void)
{
    return lock ? lock->acquire() : 0;
}

static void console_release(uint32_t state)
{
    if (lock)
        lock->release(state);
}

static void output_locked(const char *text, size_t length)
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
    uint32_t state = console_acquire();

    if (output_count < CONSOLE_MAX_OUTPUTS) {
        outputs[output_count++] = output;
        output->write(history, history_length);
    }
    console_release(state);
}

/* Ends a line that another writer left unfinished, so that owner's text starts a line. */
static void take_line_locked(uint32_t owner)
{
    if (!at_line_start && line_owner != owner) {
        output_locked("\n", 1);
        at_line_start = true;
    }
    line_owner = owner;
}

static void console_write_locked(const char *text, size_t length)
{
    if (length == 0)
        return;
    take_line_locked(0);
    output_locked(text, length);
    at_line_start = text[length - 1] == '\n';
}

void console_write(const char *text, size_t length)
{
    uint32_t state = console_acquire();

    console_write_locked(text, length);
    console_release(state);
}

void console_write_user(uint32_t process_id, const char *text, size_t length)
{
    uint32_t state = console_acquire();

    while (length) {
        size_t piece = 0;
        while (piece < length && text[piece++] != '\n')
            ;
        take_line_locked(process_id);
        if (at_line_start) {
            char mark[16];
            output_locked(mark, ksnprintf(mark, sizeof(mark), "%4u| ", process_id));
        }
        output_locked(text, piece);
        at_line_start = text[piece - 1] == '\n';
        text += piece;
        length -= piece;
    }
    console_release(state);
}

static void console_sink(void *context, const char *text, size_t length)
{
    (void)context;
    console_write_locked(text, length);
}

void kprintf(const char *fmt, ...)
{
    uint32_t state = console_acquire();
    va_list args;

    va_start(args, fmt);
    format_v(console_sink, NULL, fmt, args);
    va_end(args);
    console_release(state);
}
