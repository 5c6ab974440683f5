#pragma once
/* Memory access that survives a fault (used on memory that may vanish under us). */
#include "lib/types.h"

/*
 * Copies length bytes; returns 0, or -1 when a fault stopped the copy part-way (what
 * faulted is in trap_last_recovered_fault).
 */
int arch_copy_checked(void *destination, const void *source, size_t length);
