#pragma once
/*
 * What the processor under the kernel does with isolation where a real one never fails:
 * checked at boot, from ring 3, and reported (see README, "Security").
 */
#include "lib/ntstatus.h"
#include "lib/types.h"

enum isolation_probe_result {
    ISOLATION_PROBE_NOT_RUN,
    ISOLATION_PROBE_HELD,       /* the processor refused, as a processor does */
    ISOLATION_PROBE_BROKEN,     /* it let ring 3 through */
    ISOLATION_PROBE_FAILED,     /* the probe could not be run (out of memory, ...) */
};

/*
 * A ring-3 far call whose stack pointer lies in a supervisor page: a processor refuses
 * its two pushes (#PF, U/S); some emulators make them with supervisor rights, so that
 * ring 3 writes kernel memory. Writes nothing but a pool block of its own; prints what
 * it found.
 */
enum isolation_probe_result isolation_probe_far_call(void);

/*
 * A ring-3 far return whose stack pointer lies in a supervisor page holding a far pointer
 * back into the probe: a processor refuses the pops; some emulators make them, so that
 * ring 3 reads kernel memory.
 */
enum isolation_probe_result isolation_probe_far_return(void);

/*
 * A ring-3 iret whose EFLAGS image has VM set: a processor ignores VM below CPL 0; some
 * emulators enter virtual-8086 mode, where code with IF clear or IOPL 3 can keep every
 * interrupt out and so hang the machine. Prints what it found.
 */
enum isolation_probe_result isolation_probe_virtual_8086(void);

/* Runs every probe; the boot does, once. */
void isolation_probe_all(void);

/* What the boot's probes found. */
extern enum isolation_probe_result isolation_far_call_result;
extern enum isolation_probe_result isolation_far_return_result;
extern enum isolation_probe_result isolation_virtual_8086_result;
