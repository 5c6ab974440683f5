#pragma once
/*
 * What the processor under the kernel does with page protection where a real one never
 * fails: checked at boot, from ring 3, and reported (see README, "Security").
 */
#include "kernel/ntstatus.h"
#include "kernel/types.h"

enum isolation_probe_result {
    ISOLATION_PROBE_NOT_RUN,
    ISOLATION_PROBE_HELD,       /* the pushes faulted, as on a processor */
    ISOLATION_PROBE_BROKEN,     /* they went through: ring 3 can write kernel memory */
    ISOLATION_PROBE_FAILED,     /* the probe could not be run (out of memory, ...) */
};

/*
 * Runs a ring-3 far call whose stack pointer lies in a supervisor page: a processor
 * refuses its two pushes (#PF, U/S), some emulators make them with supervisor rights.
 * Writes nothing but a pool block of its own; prints what it found.
 */
enum isolation_probe_result isolation_probe_far_call(void);

/* What the boot's probe found. */
extern enum isolation_probe_result isolation_far_call_result;
