/* Checks that count failures and report them as KTAP diagnostic lines. */
#include "tests/user/runtime/rt.h"

static unsigned int failures;

static void report(const char *file, int line, const char *message)
{
    rt_printf("    # user: %s: %s:%d: %s\n", rt_program_name, file, line, message);
}

bool rt_check(bool condition, const char *file, int line, const char *format, ...)
{
    char message[200];
    va_list args;

    if (condition)
        return true;
    failures++;
    va_start(args, format);
    rt_vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    report(file, line, message);
    return false;
}

bool rt_check_eq(uint32_t actual, uint32_t expected, const char *file, int line,
                 const char *actual_text, const char *expected_text)
{
    char message[200];

    if (actual == expected)
        return true;
    failures++;
    rt_snprintf(message, sizeof(message), "%s is 0x%08x, expected %s (0x%08x)", actual_text,
                actual, expected_text, expected);
    report(file, line, message);
    return false;
}

unsigned int rt_failure_count(void)
{
    return failures;
}
