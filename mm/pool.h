#pragma once
/*
 * The executive pool: kernel memory in blocks of any size, each labelled with a tag (four
 * characters in memory order: 0x20646156 reads "Vad ") so that a leak or an overrun can be
 * traced to its owner. Nonpaged pool is always resident; paged pool may be paged out,
 * so only code running with interrupts on may allocate, free or touch it.
 */
#include "lib/types.h"
#include "mm/inject.h"

enum pool_type {
    NonPagedPool = 0,   /* always resident; usable with interrupts off */
    PagedPool = 1,      /* pageable; only with interrupts on */
};

struct pool_statistics {
    uint32_t pages;             /* pages the pool holds, headers and free blocks included */
    uint32_t allocations;       /* blocks allocated and not yet freed */
    uint32_t bytes_requested;   /* the sizes callers asked for, summed over those blocks */
};

/* bytes of pool memory, 8-byte aligned, contents undefined; NULL when memory runs out. */
void *ExAllocatePoolWithTag(enum pool_type type, size_t bytes, uint32_t tag);

/*
 * Frees a block with the tag it was allocated with. A wrong tag, a second free or a pointer
 * that is not a pool block is a kernel bug and panics.
 */
void ExFreePoolWithTag(void *block, uint32_t tag);

/* How much of the pool of the given type is in use now. */
void ExQueryPoolStatistics(enum pool_type type, struct pool_statistics *out);

/* Pool allocations made to fail (tests; mm/inject.h). */
extern struct mi_fault_injection MiPoolInjection;
