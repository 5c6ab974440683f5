#pragma once
/* Stopping the kernel when an invariant is broken. */
#include "lib/types.h"

/* Prints "*** PANIC: <message>" and stops the machine with the failure exit code. */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define KASSERT(condition)                                                              \
    do {                                                                                \
        if (!(condition))                                                               \
            panic("assertion failed: %s at %s:%d", #condition, __FILE__, __LINE__);     \
    } while (0)
