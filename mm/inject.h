#pragma once
/*
 * Failures made on purpose, so that tests reach the paths that handle running out of
 * frames or pool, or a disk error (the countdowns live with what they fail: pfn.c,
 * pool.c, pagefile.c).
 */
#include "lib/types.h"

/*
 * Makes the countdown-th allocation of one kind from now fail, as if memory had run
 * out: frames (MiFrameInjection, every list allocation), pool blocks (MiPoolInjection,
 * either pool), or the countdown-th pagefile transfer fail as a disk error would
 * (MiPagefileInjection, pagefile.c); then, with a period, every period-th after it.
 * countdown 0: off. fired counts the failures made.
 */
struct mi_fault_injection {
    uint32_t countdown;
    uint32_t fired;
    uint32_t period;
};

static inline bool MiInjectedFailure(struct mi_fault_injection *injection)
{
    if (injection->countdown == 0 || --injection->countdown != 0)
        return false;
    injection->fired++;
    injection->countdown = injection->period;
    return true;
}
