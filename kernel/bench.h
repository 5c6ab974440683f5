#pragma once
/* The `bench` boot option: the kernel's own floors, then the benchmark program. */
#include "lib/types.h"

/* Measures the floors only the kernel can, runs bench.exe, and leaves the machine. */
NORETURN void bench_run(void);
