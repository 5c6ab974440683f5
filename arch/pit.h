#pragma once
/* The 8254 programmable interval timer, channel 0: the scheduler's clock. */
#include "lib/types.h"

#define PIT_HZ 1000     /* ticks per second */

/* Programs channel 0 to interrupt PIT_HZ times a second (IRQ 0). */
void pit_init(void);

/*
 * A counter's rate per second (the TSC's, the local APIC timer's), counted over 10 ms of
 * PIT channel 2 (the timer's crystal is the one clock a PC's frequency is known for). 0
 * if channel 2 never finishes. Interrupts off.
 */
uint64_t pit_measure_rate(uint64_t (*read_counter)(void));
