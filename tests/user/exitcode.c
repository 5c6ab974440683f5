/* exitcode.exe N: returns N (decimal or 0x-hex) from main, so N is its exit status. */
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

int main(int argc, char **argv)
{
    uint32_t status;

    if (argc != 2 || !rt_parse_u32(argv[1], &status)) {
        rt_printf("usage: %s N\n", rt_program_name);
        return (int)USER_STATUS_USAGE;
    }
    return (int)status;
}
