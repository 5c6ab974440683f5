/*
 * shared.exe: reads KUSER_SHARED_DATA at 0x7FFE0000. The tick count must advance while
 * the program yields (for a bounded number of yields), and the version fields must be
 * readable. Prints what it read; exits 0 if all held, else the number of failed checks.
 */
#include "tests/user/runtime/rt.h"

/* Enough yields for many ticks at any plausible rate, few enough to end if time stands. */
#define MAX_YIELDS 1000000

static uint32_t shared_u32(uint32_t offset)
{
    return *(const volatile uint32_t *)(NT_SHARED_USER_DATA_ADDRESS + offset);
}

int main(int argc, char **argv)
{
    uint32_t first = shared_u32(NT_SHARED_TICK_COUNT_LOW), now = first;
    (void)argc, (void)argv;
    uint32_t yields = 0;

    while (now == first && yields < MAX_YIELDS) {
        NtYieldExecution();
        yields++;
        now = shared_u32(NT_SHARED_TICK_COUNT_LOW);
    }
    RT_EXPECT_MSG((int32_t)(now - first) > 0, "tick count went from %u to %u in %u yields",
                  first, now, yields);

    uint32_t major = shared_u32(NT_SHARED_NT_MAJOR_VERSION);
    uint32_t minor = shared_u32(NT_SHARED_NT_MINOR_VERSION);
    rt_printf("%s: NT %u.%u, tick count %u -> %u after %u yields, multiplier 0x%x\n",
              rt_program_name, major, minor, first, now, yields,
              shared_u32(NT_SHARED_TICK_MULTIPLIER));
    return (int)rt_failure_count();
}
