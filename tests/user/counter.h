#pragma once
/* Where counter.exe counts (tests/user/counter.c), for the kernel test that reads it. */
#include <stdint.h>

#define COUNTER_ADDRESS 0x30000000u

struct counter_page {
    uint32_t count;     /* counter.exe's progress */
    uint32_t stop;      /* set by the watcher: counter.exe exits 0 */
};
