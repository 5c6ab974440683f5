#pragma once
/* Stopping the kernel when an invariant is broken. */
#include "lib/types.h"

/*
 * What panic needs of the machine, which lib/ cannot reach itself: quiesce keeps
 * anything else from running while the message is written (it masks interrupts), stop
 * leaves the machine with the failure exit code. Set once, early in boot, by arch/
 * (arch/machine.c); a panic before that spins.
 */
struct panic_machine {
    void (*quiesce)(void);
    void (*stop)(void) __attribute__((noreturn));
};

void panic_set_machine(const struct panic_machine *machine);

/* Prints "*** PANIC: <message>" and stops the machine with the failure exit code. */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define KASSERT(condition)                                                              \
    do {                                                                                \
        if (!(condition))                                                               \
            panic("assertion failed: %s at %s:%d", #condition, __FILE__, __LINE__);     \
    } while (0)
