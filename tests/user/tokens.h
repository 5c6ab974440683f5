#pragma once
/*
 * The tokens of tokens.exe (tests/user/tokens.c), shared with the kernel's audit suite
 * (tests/test_audit.c), which counts them in the planter's memory: 16 bytes each, a
 * magic word, the token's number, a check word, the magic again.
 */
#include <stdint.h>

#define TOKEN_COUNT     10000
#define TOKEN_WORDS     4

static inline uint32_t token_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

/* The complement of seed's magic word: all a scanner keeps of it. */
static inline uint32_t token_magic_complement(uint32_t seed)
{
    return ~(token_mix(seed ^ 0x70CE7001u) | 1u);
}

/* True when words (TOKEN_WORDS of them) hold a token whose magic's complement is given. */
static inline int token_at(const volatile uint32_t *words, uint32_t complement)
{
    return ~words[0] == complement && ~words[3] == complement &&
           words[2] == token_mix(~complement + words[1]);
}
