#include <stdarg.h>

#include "arch/cpu.h"
#include "arch/machine.h"
#include "kernel/console.h"
#include "lib/format.h"
#include "kernel/panic.h"

NORETURN void panic(const char *fmt, ...)
{
    char message[256];
    va_list args;

    cpu_disable_interrupts();
    va_start(args, fmt);
    kvsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    kprintf("\n*** PANIC: %s\n", message);
    machine_exit(MACHINE_EXIT_FAILURE);
}
