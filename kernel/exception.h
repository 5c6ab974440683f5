#pragma once
/*
 * User-mode exceptions (lib/ntabi.h describes the contract): a fault in user mode is
 * handed to the process's dispatcher if it has one, otherwise it ends the process.
 */
#include "arch/trap.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

/*
 * Delivers an exception raised by the user-mode code of frame: rewrites frame so that
 * the return to user mode enters the dispatcher, or ends the process (not returning).
 */
void exception_dispatch(struct trap_frame *frame, ntstatus_t status, bool has_address,
                        uint32_t access, vaddr_t address);

/* Registers the kernel's side of traps from user mode with arch/trap.c. */
void exception_init(void);
