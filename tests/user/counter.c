/*
 * counter.exe: counts as fast as it can, never yielding, in a page it commits at
 * COUNTER_ADDRESS (tests/user/counter.h), until the kernel test that watches it sets the
 * stop word there, or a bound is reached. A program that only ever runs when the
 * scheduler takes the processor from someone else: the kernel preemption test's witness.
 * Exits 0 when it was stopped, 1 when it reached the bound, 2 without its page.
 */
#include "tests/user/counter.h"
#include "tests/user/runtime/rt.h"

/* About a minute of counting under an emulator: a test that forgot to stop it ends. */
#define MAX_COUNT 2000000000u

int main(int argc, char **argv)
{
    uint32_t base = COUNTER_ADDRESS, size = 4096;
    (void)argc, (void)argv;

    if (!NT_SUCCESS(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)))
        return 2;
    volatile struct counter_page *page = (volatile struct counter_page *)base;
    while (!page->stop)
        if (++page->count == MAX_COUNT)
            return 1;
    return 0;
}
