/*
 * fault.exe KIND [ADDRESS]: does one thing user mode may not do, so that the kernel ends
 * the process with an exception status (NT's is given with each kind):
 *     read ADDRESS        a 1-byte read                       STATUS_ACCESS_VIOLATION
 *     write ADDRESS       a 1-byte write                      STATUS_ACCESS_VIOLATION
 *     divide              an integer division by zero         STATUS_INTEGER_DIVIDE_BY_ZERO
 *     ud2                 an undefined opcode                 STATUS_ILLEGAL_INSTRUCTION
 *     hlt, cli            privileged instructions             STATUS_PRIVILEGED_INSTRUCTION
 *     int3                a breakpoint                        STATUS_BREAKPOINT
 *     stack-overflow      recursion in 16 KB frames, each     STATUS_STACK_OVERFLOW
 *                         page touched in turn (the compiler
 *                         probes big frames)
 *     write-shared-data   a write to KUSER_SHARED_DATA        STATUS_ACCESS_VIOLATION
 * ADDRESS is decimal or 0x-hex. If the process survives it exits
 * USER_STATUS_FAULT_SURVIVED; bad arguments give USER_STATUS_USAGE.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define FRAME_BYTES (16 * 1024)

/* Read at run time, so that the compiler cannot call the recursion endless. */
static volatile uint32_t recursion_limit = UINT32_MAX;

static void read_byte(uint32_t address)
{
    (void)*(volatile uint8_t *)address;
}

static void write_byte(uint32_t address)
{
    *(volatile uint8_t *)address = 0;
}

/* In assembly: a division by a zero the compiler can see is folded or trapped at build time. */
static void divide(uint32_t unused)
{
    uint32_t low = 1, high = 0, divisor = 0;

    (void)unused;
    __asm__ volatile("divl %2" : "+a"(low), "+d"(high) : "c"(divisor) : "cc");
}

static void undefined_opcode(uint32_t unused)
{
    (void)unused;
    __asm__ volatile("ud2");
}

static void halt(uint32_t unused)
{
    (void)unused;
    __asm__ volatile("hlt");
}

static void clear_interrupts(uint32_t unused)
{
    (void)unused;
    __asm__ volatile("cli" : : : "memory");
}

static void breakpoint(uint32_t unused)
{
    (void)unused;
    __asm__ volatile("int3");
}

static __attribute__((noinline)) uint32_t recurse(uint32_t depth)
{
    volatile uint8_t frame[FRAME_BYTES];

    frame[0] = (uint8_t)depth;
    if (depth == recursion_limit)
        return 0;
    return recurse(depth + 1) + frame[0];
}

static void overflow_stack(uint32_t unused)
{
    (void)unused;
    recurse(0);
}

static void write_shared_data(uint32_t unused)
{
    (void)unused;
    write_byte(NT_SHARED_USER_DATA_ADDRESS);
}

static const struct fault_kind {
    const char *name;
    bool takes_address;
    void (*run)(uint32_t address);
} kinds[] = {
    { "read", true, read_byte },
    { "write", true, write_byte },
    { "divide", false, divide },
    { "ud2", false, undefined_opcode },
    { "hlt", false, halt },
    { "cli", false, clear_interrupts },
    { "int3", false, breakpoint },
    { "stack-overflow", false, overflow_stack },
    { "write-shared-data", false, write_shared_data },
};

int main(int argc, char **argv)
{
    for (size_t k = 0; argc >= 2 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const struct fault_kind *kind = &kinds[k];
        uint32_t address = 0;

        if (!rt_streq(argv[1], kind->name))
            continue;
        if (argc != (kind->takes_address ? 3 : 2) ||
            (kind->takes_address && !rt_parse_u32(argv[2], &address)))
            break;
        kind->run(address);
        RT_EXPECT_MSG(false, "%s %s did not fault", argv[1], argc == 3 ? argv[2] : "");
        return (int)USER_STATUS_FAULT_SURVIVED;
    }
    rt_printf("usage: %s read|write ADDRESS | divide | ud2 | hlt | cli | int3 | "
              "stack-overflow | write-shared-data\n", rt_program_name);
    return (int)USER_STATUS_USAGE;
}
