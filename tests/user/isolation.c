/*
 * isolation.exe INDEX ITERATIONS: fills a 64 KB static array (at the same virtual address
 * in every process started from this image) with a pattern of its own, word i =
 * INDEX * 0x01000193 ^ i; then ITERATIONS times checks the whole array and yields, and
 * every few iterations also spins reading the tick count in KUSER_SHARED_DATA, so that
 * the timer preempts it as well. Copies run at once with different INDEXes show that each
 * process has pages of its own. Prints nothing and exits 0 when the pattern held;
 * otherwise prints the first bad word and exits USER_STATUS_PATTERN_MISMATCH.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define WORDS       (64 * 1024 / 4)
#define SPIN_EVERY  4               /* iterations */
#define SPIN_TICKS  2               /* tick changes one spin waits for */
/* A bound on one spin, so that a tick count that stands still cannot hang the test. */
#define SPIN_READS  10000000

/* volatile: the checks must read memory, not what the compiler remembers writing. */
static volatile uint32_t words[WORDS];

static uint32_t pattern(uint32_t index, uint32_t i)
{
    return index * 0x01000193u ^ i;
}

/* Spins until the tick count changed SPIN_TICKS times; returns the changes seen. */
static unsigned int spin_on_ticks(void)
{
    const volatile uint32_t *tick = (const volatile uint32_t *)(NT_SHARED_USER_DATA_ADDRESS +
                                                                NT_SHARED_TICK_COUNT_LOW);
    uint32_t last = *tick;
    unsigned int changes = 0;

    for (uint32_t reads = 0; reads < SPIN_READS && changes < SPIN_TICKS; reads++) {
        uint32_t now = *tick;
        if (now != last) {
            changes++;
            last = now;
        }
    }
    return changes;
}

int main(int argc, char **argv)
{
    uint32_t index, iterations;
    unsigned int tick_values = 1;

    if (argc != 3 || !rt_parse_u32(argv[1], &index) || !rt_parse_u32(argv[2], &iterations)) {
        rt_printf("usage: %s INDEX ITERATIONS\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    for (uint32_t i = 0; i < WORDS; i++)
        words[i] = pattern(index, i);

    for (uint32_t iteration = 0; iteration < iterations; iteration++) {
        for (uint32_t i = 0; i < WORDS; i++) {
            uint32_t found = words[i];
            if (!RT_EXPECT_MSG(found == pattern(index, i),
                               "index %u, iteration %u: word %u at %p is 0x%08x, expected "
                               "0x%08x (%u tick values seen)", index, iteration, i,
                               (void *)&words[i], found, pattern(index, i), tick_values))
                return (int)USER_STATUS_PATTERN_MISMATCH;
        }
        NtYieldExecution();
        if (iteration % SPIN_EVERY == SPIN_EVERY - 1)
            tick_values += spin_on_ticks();
    }
    return 0;
}
