#include <stdarg.h>

#include "ke/spinlock.h"
#include "kernel/console.h"
#include "lib/format.h"

#define CONSOLE_MAX_OUTPUTS 4
#define CONSOLE_HISTORY     8192

/*
 * The console lock: HIGH_LEVEL, so that an interrupt handler or a stop report can print
 * at any IRQL, and a line is never split by another writer. Outside the lock checker,
 * which reports through it.
 */
static struct lock_class console_lock_class = LOCK_CLASS_INTERRUPT("console", HIGH_LEVEL);
static struct kspin_lock console_lock = KSPIN_LOCK_INIT(console_lock_class);

static KIRQL console_lock_acquire(void)
{
    KIRQL old = KeRaiseIrql(HIGH_LEVEL);
    ke_spin_lock_word(&console_lock);
    return old;
}

static void console_lock_release(KIRQL old)
{
    ke_spin_unlock_word(&console_lock);
    KeLowerIrql(old);
}

static const struct console_output *outputs[CONSOLE_MAX_OUTPUTS];
static unsigned output_count;

/* The start of the boot log, replayed to outputs that attach late. */
static char history[CONSOLE_HISTORY];
static size_t history_length;

/* Where the output stands: at the start of a line, or inside one of line_owner's. */
static bool at_line_start = true;
static uint32_t line_owner;         /* 0: the kernel; else the process id */

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
    KIRQL old = console_lock_acquire();

    if (output_count < CONSOLE_MAX_OUTPUTS) {
        outputs[output_count++] = output;
        output->write(history, history_length);
    }
    console_lock_release(old);
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
    KIRQL old = console_lock_acquire();

    console_write_locked(text, length);
    console_lock_release(old);
}

void console_write_user(uint32_t process_id, const char *text, size_t length)
{
    KIRQL old = console_lock_acquire();

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
    console_lock_release(old);
}

static void console_sink(void *context, const char *text, size_t length)
{
    (void)context;
    console_write_locked(text, length);
}

void kprintf(const char *fmt, ...)
{
    KIRQL old = console_lock_acquire();
    va_list args;

    va_start(args, fmt);
    format_v(console_sink, NULL, fmt, args);
    va_end(args);
    console_lock_release(old);
}
