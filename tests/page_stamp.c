/* Page stamps for the paging suites (tests/page_stamp.h). */
#include "arch/mmu.h"
#include "tests/page_stamp.h"

#define STAMP_SEED 0x9E3779B9u

uint32_t stamp_word(vaddr_t va, uint32_t generation, uint32_t i)
{
    uint32_t x = (va ^ (generation * STAMP_SEED)) + i * 0x01000193u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    return x ^ (x >> 12);
}

void stamp_as(vaddr_t va, vaddr_t key, uint32_t pages, uint32_t generation)
{
    for (uint32_t p = 0; p < pages; p++) {
        uint32_t *words = (uint32_t *)(va + p * PAGE_SIZE);
        for (uint32_t i = 0; i < PAGE_SIZE / 4; i++)
            words[i] = stamp_word(key + p * PAGE_SIZE, generation, i);
    }
}

void stamp(vaddr_t va, uint32_t pages, uint32_t generation)
{
    stamp_as(va, va, pages, generation);
}

uint32_t mismatches_as(vaddr_t va, vaddr_t key, uint32_t pages, uint32_t generation)
{
    uint32_t bad = 0;

    for (uint32_t p = 0; p < pages; p++) {
        const uint32_t *words = (const uint32_t *)(va + p * PAGE_SIZE);
        for (uint32_t i = 0; i < PAGE_SIZE / 4; i++) {
            if (words[i] != stamp_word(key + p * PAGE_SIZE, generation, i)) {
                bad++;
                break;
            }
        }
    }
    return bad;
}

uint32_t mismatches(vaddr_t va, uint32_t pages, uint32_t generation)
{
    return mismatches_as(va, va, pages, generation);
}
