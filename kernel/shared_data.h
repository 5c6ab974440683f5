#pragma once
/* KUSER_SHARED_DATA: the page every process sees read-only at 0x7FFE0000. */
#include "lib/types.h"

/* Fills in the constant fields (version, tick multiplier). */
void shared_data_init(void);

/* Publishes the time; called from the timer interrupt. */
void shared_data_update_time(uint64_t ticks);

/* ActiveProcessorCount: how many processors run (the boot's start of the others sets it). */
void shared_data_set_processors(uint32_t count);
