#pragma once
/*
 * The in-kernel test framework. Cases are grouped in suites, one suite per subsystem
 * (one file under tests/ each); results go to the console in KTAP version 1, with the
 * plan printed before any case runs so that a crash shows up as missing results.
 */
#include "lib/types.h"

struct ktest {
    const char *name;
    bool failed;
    const char *skip_reason;    /* set by KT_SKIP */
};

struct ktest_case {
    const char *name;
    void (*run)(struct ktest *t);
};

struct ktest_suite {
    const char *name;
    const struct ktest_case *cases;
    unsigned count;
};

#define KTEST_CASE(function) {#function, function}
#define KTEST_SUITE(variable, suite_name, case_table)                                   \
    const struct ktest_suite variable = {suite_name, case_table, ARRAY_SIZE(case_table)}

/*
 * Runs the suites named in filter (a comma-separated list; empty: all) and returns the
 * number of failed cases.
 */
unsigned ktest_run(const char *filter, size_t filter_length);

/* Crashes on purpose (crash=page-fault, stack-overflow, ...) to show the fault report. */
NORETURN void ktest_crash(const char *what, size_t length);

/* True when word occurs in text, ignoring case. */
bool ktest_text_contains(const char *text, const char *word);

/* Prints a KTAP diagnostic line belonging to the running case. */
void ktest_diag(struct ktest *t, const char *fmt, ...) PRINTF_LIKE(2, 3);

bool ktest_check(struct ktest *t, bool ok, const char *file, int line, const char *what);
bool ktest_check_eq(struct ktest *t, const char *file, int line, const char *expected_text,
                    uint64_t expected, const char *actual_text, uint64_t actual);
bool ktest_check_str(struct ktest *t, const char *file, int line, const char *expected_text,
                     const char *expected, const char *actual_text, const char *actual);

/* EXPECT records a failure and goes on; ASSERT also ends the case. */
#define KT_EXPECT(t, condition) ktest_check((t), (condition), __FILE__, __LINE__, #condition)
#define KT_EXPECT_EQ(t, expected, actual)                                               \
    ktest_check_eq((t), __FILE__, __LINE__, #expected, (uint64_t)(expected), #actual,    \
                   (uint64_t)(actual))
#define KT_EXPECT_STREQ(t, expected, actual)                                            \
    ktest_check_str((t), __FILE__, __LINE__, #expected, (expected), #actual, (actual))
#define KT_ASSERT(t, condition)                                                         \
    do {                                                                                \
        if (!KT_EXPECT(t, condition))                                                   \
            return;                                                                     \
    } while (0)
#define KT_ASSERT_EQ(t, expected, actual)                                               \
    do {                                                                                \
        if (!KT_EXPECT_EQ(t, expected, actual))                                         \
            return;                                                                     \
    } while (0)
#define KT_SKIP(t, reason)                                                              \
    do {                                                                                \
        (t)->skip_reason = (reason);                                                    \
        return;                                                                         \
    } while (0)
