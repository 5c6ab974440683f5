#pragma once
/*
 * Moving data between the kernel and the current process's user memory, with the
 * checks of ProbeForRead/ProbeForWrite (docs/memory-model.md, 4.3): the whole range
 * must lie inside the process's own user range without wrapping, and a fault during
 * the copy (memory freed or never there) returns STATUS_ACCESS_VIOLATION instead of
 * stopping the kernel. The kernel never reads or writes its own memory on a user's
 * behalf.
 */
#include "lib/ntstatus.h"
#include "lib/types.h"

/* STATUS_SUCCESS when [address, address + length) may be touched by the current process. */
ntstatus_t user_probe(vaddr_t address, size_t length);

ntstatus_t user_copy_from(void *destination, vaddr_t source, size_t length);
ntstatus_t user_copy_to(vaddr_t destination, const void *source, size_t length);

/*
 * A test's stand-in for a thread of the process running on another processor (NULL but
 * in tests): called with the range of every copy, after its probe and before the copy,
 * where such a thread could unmap, decommit, reprotect or rewrite the memory. A copy
 * must come out of whatever it did with a status.
 */
extern void (*user_copy_race)(vaddr_t address, size_t length);
