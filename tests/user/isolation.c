/*
 * isolation.exe INDEX ITERATIONS: fills a 64 KB static array (at the same virtual address
 * in every process started from this image) with a pattern of its own, word i =
 * INDEX * 0x01000193 ^ i; then ITERATIONS times checks the whole array and yields, and
 * every SPIN_EVERY iterations also spins reading the tick count in KUSER_SHARED_DATA until
 * the timer takes the processor away, so that it is preempted as well as yielding. Copies
 * run at once with different INDEXes show that each process has pages of its own. Prints
 * nothing and exits 0 when the pattern held; otherwise prints the first bad word and exits
 * USER_STATUS_PATTERN_MISMATCH.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define WORDS       (64 * 1024 / 4)
#define SPIN_EVERY  16              /* iterations */
/* A bound on one spin, for a process that runs alone and so is never preempted. */
#define SPIN_TICKS  50
/* And for a tick count that stands still, so that it cannot hang the test. */
#define SPIN_READS  100000000

/* volatile: the checks must read memory, not what the compiler remembers writing. */
static volatile uint32_t words[WORDS];

static unsigned int tick_values = 1, preemptions;

static uint32_t pattern(uint32_t index, uint32_t i)
{
    return index * 0x01000193u ^ i;
}

/*
 * Spins until the tick count jumps by more than one between two reads, which means
 * another thread ran meanwhile: the timer preempted this one.
 */
static void spin_until_preempted(void)
{
    const volatile uint32_t *tick = (const volatile uint32_t *)(NT_SHARED_USER_DATA_ADDRESS +
                                                                NT_SHARED_TICK_COUNT_LOW);
    uint32_t last = *tick;

    for (uint32_t reads = 0, changes = 0; reads < SPIN_READS && changes < SPIN_TICKS; reads++) {
        uint32_t now = *tick;
        if (now == last)
            continue;
        tick_values++;
        changes++;
        if (now - last > 1) {
            preemptions++;
            return;
        }
        last = now;
    }
}

int main(int argc, char **argv)
{
    uint32_t index, iterations;

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
                               "0x%08x (%u tick values seen, %u preemptions)", index,
                               iteration, i, (void *)&words[i], found, pattern(index, i),
                               tick_values, preemptions))
                return (int)USER_STATUS_PATTERN_MISMATCH;
        }
        NtYieldExecution();
        if (iteration % SPIN_EVERY == SPIN_EVERY - 1)
            spin_until_preempted();
    }
    return 0;
}
