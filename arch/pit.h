#pragma once
/* The 8254 programmable interval timer, channel 0: the scheduler's clock. */
#include "kernel/types.h"

#define PIT_HZ 1000     /* ticks per second */

/* Programs channel 0 to interrupt PIT_HZ times a second (IRQ 0). */
void pit_init(void);
