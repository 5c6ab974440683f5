#pragma once
/*
 * Leaving the machine. Under QEMU the isa-debug-exit device (iobase 0xf4, iosize 4)
 * turns a write of v into the exit status (v << 1) | 1, so the host can tell a pass
 * (33) from a failure (35). On a real PC the write goes nowhere and the CPU halts.
 */
#include "lib/types.h"

#define MACHINE_EXIT_SUCCESS 0x10   /* QEMU exits with 33 */
#define MACHINE_EXIT_FAILURE 0x11   /* QEMU exits with 35 */

NORETURN void machine_exit(uint32_t code);

/*
 * Gives lib/'s console and panic what they need of this machine (interrupt masking, the
 * way to stop); the first thing the kernel does.
 */
void machine_init(void);
