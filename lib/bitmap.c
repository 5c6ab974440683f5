#include "lib/bitmap.h"

bool bitmap_test(const struct bitmap *bitmap, uint32_t index)
{
    return bitmap->words[index / 32] & (1u << (index % 32));
}

void bitmap_set_range(struct bitmap *bitmap, uint32_t first, uint32_t count)
{
    for (uint32_t i = first; i < first + count; i++)
        bitmap->words[i / 32] |= 1u << (i % 32);
}

void bitmap_clear_range(struct bitmap *bitmap, uint32_t first, uint32_t count)
{
    for (uint32_t i = first; i < first + count; i++)
        bitmap->words[i / 32] &= ~(1u << (i % 32));
}

/* The first run of count clear bits in [from, to), or BITMAP_NONE. */
static uint32_t find_in(const struct bitmap *bitmap, uint32_t count, uint32_t from, uint32_t to)
{
    uint32_t i = from;

    while (i + count <= to && i + count >= i) {
        if (i % 32 == 0 && bitmap->words[i / 32] == 0xFFFFFFFFu) {
            i += 32;    /* a full word holds no clear bit */
            continue;
        }
        if (bitmap_test(bitmap, i)) {
            i++;
            continue;
        }
        uint32_t run = 1;
        while (run < count && !bitmap_test(bitmap, i + run))
            run++;
        if (run == count)
            return i;
        i += run + 1;   /* bit i + run is set: no run can start before it */
    }
    return BITMAP_NONE;
}

uint32_t bitmap_find_clear_run(const struct bitmap *bitmap, uint32_t count, uint32_t hint)
{
    if (count == 0 || count > bitmap->size)
        return BITMAP_NONE;
    if (hint >= bitmap->size)
        hint = 0;
    uint32_t found = find_in(bitmap, count, hint, bitmap->size);
    if (found == BITMAP_NONE && hint)
        found = find_in(bitmap, count, 0, MIN(bitmap->size, hint + count - 1));
    return found;
}
