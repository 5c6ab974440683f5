#pragma once
/*
 * The kernel console: every line goes to each attached output (the serial port, the
 * screen). Text written before a screen is attached is kept and replayed to it, so the
 * screen shows the whole boot.
 */
#include "lib/types.h"

struct console_output {
    const char *name;
    void (*write)(const char *text, size_t length);
};

/*
 * How writers are kept from splitting each other's lines: acquire returns a state that
 * release takes back. lib/ cannot mask interrupts itself, so the layer that can sets
 * it once, early in boot (arch/machine.c); until then there is one writer.
 */
struct console_lock {
    uint32_t (*acquire)(void);
    void (*release)(uint32_t state);
};

void console_set_lock(const struct console_lock *lock);

/* Adds an output; it first receives whatever was written before it came. */
void console_attach(const struct console_output *output);

void console_write(const char *text, size_t length);

/*
 * What a process writes (NtDisplayString): each of its lines starts with the kernel's mark
 * "%4u| " (its process id), which no kernel line starts with, so nothing a program prints
 * can pass for the kernel's own output; a line another writer left unfinished is ended
 * first. The text must hold printable characters and newlines only.
 */
void console_write_user(uint32_t process_id, const char *text, size_t length);
void kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
