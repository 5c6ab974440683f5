#include <stdarg.h>

#include "lib/console.h"
#include "lib/format.h"
#include "lib/panic.h"

static const struct panic_machine *machine;

void panic_set_machine(const struct panic_machine *panic_machine)
{
    machine = panic_machine;
}

NORETURN void panic(const char *fmt, ...)
{
    char message[256];
    va_list args;

    if (machine)
        machine->quiesce();
    va_start(args, fmt);
    kvsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    kprintf("\n*** PANIC: %s\n", message);
    if (machine)
        machine->stop();
    for (;;)
        ;
}
