/*
 * laa.exe / nolaa.exe EXPECTED_MAX (hex): one source, two images with their preferred base
 * at PREFERRED_BASE (0x90000000, above 2 GB; set in tests/user/user.mk), laa.exe marked
 * large-address-aware. Checks that SYSTEM_BASIC_INFORMATION.MaximumUserModeAddress is
 * EXPECTED_MAX; that the whole image (its headers give the size) lies at or below it, at
 * the preferred base when that fits, else relocated; that the code runs where the
 * relocated addresses say; and that a 256 KB static array keeps what is written to it.
 * Prints where it was loaded; exits 0 if all held, else the number of failed checks.
 */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#ifndef PREFERRED_BASE
#error "PREFERRED_BASE must be the image base the link asks for"
#endif

/* PE/COFF offsets: e_lfanew in the DOS header; in the NT headers, after "PE\0\0". */
#define DOS_NEW_HEADER_OFFSET   0x3C
#define NT_FILE_CHARACTERISTICS (4 + 18)
#define NT_SIZE_OF_IMAGE        (4 + 20 + 56)
#define FILE_LARGE_ADDRESS_AWARE 0x0020

#define ARRAY_WORDS (256 * 1024 / 4)

/* The linker's symbol at the image's first byte; its address is relocated like any other. */
extern const uint8_t __ImageBase[];

static volatile uint32_t array[ARRAY_WORDS];

/* Where the caller really runs: a return address, which no relocation touches. */
static __attribute__((noinline)) uint32_t return_address(void)
{
    return (uint32_t)(uintptr_t)__builtin_return_address(0);
}

static uint32_t header_u32(uint32_t offset)
{
    return *(const uint32_t *)(__ImageBase + offset);
}

int main(int argc, char **argv)
{
    struct nt_system_basic_information info;
    uint32_t expected_max, base = (uint32_t)(uintptr_t)__ImageBase;

    if (argc != 2 || !rt_parse_hex(argv[1], &expected_max)) {
        rt_printf("usage: %s EXPECTED_MAX (hex)\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    if (!RT_EXPECT_EQ(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info,
                                               sizeof(info), NULL), STATUS_SUCCESS))
        return (int)rt_failure_count();
    RT_EXPECT_EQ(info.maximum_user_mode_address, expected_max);

    if (!RT_EXPECT_EQ(*(const uint16_t *)__ImageBase, 0x5A4D))    /* "MZ" */
        return (int)rt_failure_count();
    uint32_t nt_headers = header_u32(DOS_NEW_HEADER_OFFSET);
    if (!RT_EXPECT_EQ(header_u32(nt_headers), 0x00004550))          /* "PE\0\0" */
        return (int)rt_failure_count();
    uint32_t size = header_u32(nt_headers + NT_SIZE_OF_IMAGE);
    uint32_t last = base + size - 1;
    bool large_address_aware =
        *(const uint16_t *)(__ImageBase + nt_headers + NT_FILE_CHARACTERISTICS) &
        FILE_LARGE_ADDRESS_AWARE;

    rt_printf("%s: loaded at 0x%08x-0x%08x (preferred 0x%08x), %slarge-address-aware, "
              "user space ends at 0x%08x\n", rt_program_name, base, last, PREFERRED_BASE,
              large_address_aware ? "" : "not ", info.maximum_user_mode_address);

    RT_EXPECT_MSG(base >= info.minimum_user_mode_address && last >= base &&
                  last <= expected_max, "image 0x%08x-0x%08x is not inside 0x%08x-0x%08x",
                  base, last, info.minimum_user_mode_address, expected_max);
    if (PREFERRED_BASE + size - 1 <= expected_max)
        RT_EXPECT_EQ(base, PREFERRED_BASE);
    uint32_t here = return_address();
    RT_EXPECT_MSG(here >= base && here <= last,
                  "code runs at 0x%08x, outside the image its relocated addresses place at "
                  "0x%08x-0x%08x", here, base, last);

    for (uint32_t i = 0; i < ARRAY_WORDS; i++)
        array[i] = i * 0x9E3779B9u ^ base;
    for (uint32_t i = 0; i < ARRAY_WORDS; i++) {
        uint32_t found = array[i];
        if (!RT_EXPECT_MSG(found == (i * 0x9E3779B9u ^ base), "word %u at %p is 0x%08x", i,
                           (void *)&array[i], found))
            break;
    }
    return (int)rt_failure_count();
}
