/*
 * tokens.exe plant SEED | scan SEED: the isolation audit's user half.
 *
 *   plant  writes TOKEN_COUNT tokens of 16 bytes (a magic word, the token's number, a
 *          check word, the magic again, all from SEED) into private memory, a section
 *          view and its stack, then sleeps until it is ended (it exits after a minute).
 *   scan   reads every readable committed page of its own address space (its image,
 *          stack, heap, KUSER_SHARED_DATA, and the buffers it first has the system
 *          services fill: system, process and memory information), looking for any
 *          token of SEED; exits with the number found (0: none), after printing how much
 *          it read.
 *
 * The scanner never holds the magic word itself, only its complement, so that finding
 * the tokens' magic in its own memory means it came from somewhere else.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"
#include "tests/user/tokens.h"

#define PAGE            0x1000u
#define PLANT_PAGES     48          /* 10,000 tokens spread over private and view pages */

static void write_token(volatile uint32_t *at, uint32_t seed, uint32_t number)
{
    uint32_t magic = ~token_magic_complement(seed);

    at[0] = magic;
    at[1] = number;
    at[2] = token_mix(magic + number);
    at[3] = magic;
}

static uint32_t count_own_tokens(uint32_t seed, uint32_t *pages);

static int plant(uint32_t seed)
{
    uint32_t base = 0, size = PLANT_PAGES * PAGE, view = 0, view_size = 0;
    nt_handle_t section;
    int64_t section_size = PLANT_PAGES * PAGE, offset = 0;
    volatile uint32_t stack_tokens[TOKEN_WORDS * 16];

    if (!NT_SUCCESS(rt_vm_allocate(&base, &size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)) ||
        !NT_SUCCESS(rt_syscall(NT_SERVICE_CREATE_SECTION, &section, SECTION_ALL_ACCESS, NULL,
                               &section_size, PAGE_READWRITE, SEC_COMMIT, 0)) ||
        !NT_SUCCESS(rt_syscall(NT_SERVICE_MAP_VIEW_OF_SECTION, section, NT_CURRENT_PROCESS,
                               &view, 0, 0, &offset, &view_size, 1, 0, PAGE_READWRITE)))
        return (int)USER_STATUS_USAGE;
    /* Half in private pages, half in the view, the first few on the stack too. */
    for (uint32_t i = 0; i < TOKEN_COUNT; i++) {
        uint32_t region = i % 2 ? view : base;
        uint32_t slot = i / 2;
        write_token((volatile uint32_t *)(region + slot * TOKEN_WORDS * 4 +
                                          (slot / 200) * 16), seed, i);
    }
    for (uint32_t i = 0; i < 16; i++)
        write_token(&stack_tokens[i * TOKEN_WORDS], seed, TOKEN_COUNT + i);
    /* The scanner's search, on the planter's own memory, must find every one of them. */
    uint32_t pages, found = count_own_tokens(seed, &pages);
    rt_printf("tokens.exe: %u tokens planted; the scan finds %u of them in its %u pages\n",
              TOKEN_COUNT, found, pages);
    if (found < TOKEN_COUNT)
        return (int)USER_STATUS_PATTERN_MISMATCH;
    const int64_t second = -10000000;
    for (unsigned i = 0; i < 60; i++)
        NtDelayExecution(0, &second);
    return 0;
}

/* Tokens of the seed in [start, start + bytes): the complement is compared, never kept. */
static uint32_t count_tokens(uint32_t start, uint32_t bytes, uint32_t complement)
{
    const volatile uint32_t *word = (const volatile uint32_t *)start;
    uint32_t found = 0;

    for (uint32_t i = 0; i + TOKEN_WORDS <= bytes / 4; i++)
        found += token_at(&word[i], complement);
    return found;
}

/* Tokens of seed in every readable committed page of this process; *pages: how many read. */
static uint32_t count_own_tokens(uint32_t seed, uint32_t *pages)
{
    uint32_t complement = token_magic_complement(seed), found = 0, address = 0x10000;
    struct nt_memory_basic_information region;

    *pages = 0;
    uint32_t highest = rt_vm_highest_address();
    while (address < highest && NT_SUCCESS(rt_vm_query(address, &region))) {
        bool readable = region.state == MEM_COMMIT && !(region.protect & PAGE_GUARD) &&
                        region.protect != PAGE_NOACCESS;
        if (readable) {
            found += count_tokens(region.base_address, region.region_size, complement);
            *pages += region.region_size / PAGE;
        }
        if (region.base_address + region.region_size <= address)
            break;
        address = region.base_address + region.region_size;
    }
    return found;
}

static int scan(uint32_t seed)
{
    struct nt_system_basic_information basic;
    struct nt_system_memory_information memory;
    struct nt_system_paging_information paging;
    struct nt_process_basic_information process;
    uint32_t pages;

    /* What the services hand back lands in this process's memory, scanned below. */
    NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &basic, sizeof(basic), NULL);
    NtQuerySystemInformation(NT_SYSTEM_MEMORY_INFORMATION, &memory, sizeof(memory), NULL);
    NtQuerySystemInformation(NT_SYSTEM_PAGING_INFORMATION, &paging, sizeof(paging), NULL);
    NtQueryInformationProcess(NT_CURRENT_PROCESS, NT_PROCESS_BASIC_INFORMATION, &process,
                              sizeof(process), NULL);
    uint32_t found = count_own_tokens(seed, &pages);
    rt_printf("tokens.exe: scanned %u readable pages of its own: %u tokens of seed 0x%08x\n",
              pages, found, seed);
    return (int)found;
}

int main(int argc, char **argv)
{
    uint32_t seed;

    if (argc != 3 || !rt_parse_u32(argv[2], &seed) ||
        (!rt_streq(argv[1], "plant") && !rt_streq(argv[1], "scan"))) {
        rt_printf("usage: %s plant|scan SEED\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    return rt_streq(argv[1], "plant") ? plant(seed) : scan(seed);
}
