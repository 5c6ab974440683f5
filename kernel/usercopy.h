#pragma once
/*
 * Moving data between the kernel and the current process's user memory, with the
 * checks of ProbeForRead/ProbeForWrite (MEMORY-MODEL.md section 7): the whole range
 * must lie inside the process's own user range without wrapping, and a fault during
 * the copy (memory freed or never there) returns STATUS_ACCESS_VIOLATION instead of
 * stopping the kernel. The kernel never reads or writes its own memory on a user's
 * behalf.
 */
#include "kernel/ntstatus.h"
#include "kernel/types.h"

/* STATUS_SUCCESS when [address, address + length) may be touched by the current process. */
ntstatus_t user_probe(vaddr_t address, size_t length);

ntstatus_t user_copy_from(void *destination, vaddr_t source, size_t length);
ntstatus_t user_copy_to(vaddr_t destination, const void *source, size_t length);
