#pragma once
/* A bitmap of a fixed number of bits, with the search for runs of clear bits. */
#include "lib/types.h"

#define BITMAP_NONE 0xFFFFFFFFu

struct bitmap {
    uint32_t *words;
    uint32_t size;          /* in bits */
};

bool bitmap_test(const struct bitmap *bitmap, uint32_t index);
void bitmap_set_range(struct bitmap *bitmap, uint32_t first, uint32_t count);
void bitmap_clear_range(struct bitmap *bitmap, uint32_t first, uint32_t count);

/*
 * The first index of count consecutive clear bits, searching from hint to the end and
 * then from the start (so with no clear bit below hint, the lowest such run);
 * BITMAP_NONE when there is no such run.
 */
uint32_t bitmap_find_clear_run(const struct bitmap *bitmap, uint32_t count, uint32_t hint);
