#include <stdarg.h>

#include "arch/irql.h"
#include "lib/console.h"
#include "lib/format.h"
#include "kernel/process.h"
#include "lib/string.h"
#include "tests/ktest.h"
#include "tests/suites.h"
#include "kernel/boot_command.h"
#include "arch/machine.h"

static const struct ktest_suite *const all_suites[] = {
    &cpu_suite,
    &split_suite,
    &sync_suite,
    &smp_suite,
    &dpc_suite,
    &cmdline_suite,
    &acpi_suite,
    &memmap_suite,
    &multiboot_suite,
    &multiboot2_suite,
    &multiboot_fb_suite,
    &pfn_suite,
    &paging_suite,
    &pte_suite,
    &syspte_suite,
    &pool_suite,
    &vad_suite,
    &fault_suite,
    &fb_console_suite,
    &pe_image_suite,
    &pe_layout_suite,
    &virtual_suite,
    &section_suite,
    &process_suite,
    &nx_suite,
    &vm_suite,
    &pagefile_suite,
    &inpage_suite,
    &modwriter_suite,
    &inject_suite,
    &audit_suite,
    &soak_suite,
    &pagestress_suite,
    &fuzz_suite,
    &pci_suite,
    &disk_suite,
    &security_suite,
};

static bool suite_selected(const struct ktest_suite *suite, const char *filter, size_t length)
{
    size_t name_length = strlen(suite->name);
    size_t i = 0;

    if (length == 0)
        return true;
    while (i < length) {
        size_t start = i;
        while (i < length && filter[i] != ',')
            i++;
        if (i - start == name_length && strncasecmp(filter + start, suite->name, name_length) == 0)
            return true;
        i++;
    }
    return false;
}

bool ktest_text_contains(const char *text, const char *word)
{
    size_t n = strlen(word);

    for (; *text; text++)
        if (strncasecmp(text, word, n) == 0)
            return true;
    return false;
}

void ktest_diag(struct ktest *t, const char *fmt, ...)
{
    char line[200];
    va_list args;

    (void)t;
    va_start(args, fmt);
    kvsnprintf(line, sizeof(line), fmt, args);
    va_end(args);
    kprintf("    # %s\n", line);
}

bool ktest_check(struct ktest *t, bool ok, const char *file, int line, const char *what)
{
    if (!ok) {
        t->failed = true;
        ktest_diag(t, "%s:%d: expected %s", file, line, what);
    }
    return ok;
}

bool ktest_check_eq(struct ktest *t, const char *file, int line, const char *expected_text,
                    uint64_t expected, const char *actual_text, uint64_t actual)
{
    if (expected != actual) {
        t->failed = true;
        ktest_diag(t, "%s:%d: expected %s == %s", file, line, actual_text, expected_text);
        ktest_diag(t, "    %s is 0x%llx (%llu)", expected_text, (unsigned long long)expected,
                   (unsigned long long)expected);
        ktest_diag(t, "    %s is 0x%llx (%llu)", actual_text, (unsigned long long)actual,
                   (unsigned long long)actual);
    }
    return expected == actual;
}

bool ktest_check_str(struct ktest *t, const char *file, int line, const char *expected_text,
                     const char *expected, const char *actual_text, const char *actual)
{
    bool ok = strcmp(expected, actual) == 0;

    if (!ok) {
        t->failed = true;
        ktest_diag(t, "%s:%d: expected %s == %s", file, line, actual_text, expected_text);
        ktest_diag(t, "    \"%s\" != \"%s\"", actual, expected);
    }
    return ok;
}

static unsigned run_suite(const struct ktest_suite *suite, unsigned number)
{
    unsigned failed = 0;

    kprintf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", suite->name, suite->count);
    for (unsigned i = 0; i < suite->count; i++) {
        struct ktest t = {.name = suite->cases[i].name};
        suite->cases[i].run(&t);
        if (thread_current()->attached) {
            /* A case that gave up half-way must not leave the next one in its process. */
            ktest_diag(&t, "the case ended attached to a process");
            t.failed = true;
            process_detach();
        }
        if (thread_current()->affinity != pcr_boot_processor.set_member) {
            ktest_diag(&t, "the case ended with its thread's affinity changed");
            t.failed = true;
            KeSetAffinityThread(pcr_boot_processor.set_member);
        }
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
            /* Nor at a raised IRQL, where the next would wrongly be refused waits and faults. */
            ktest_diag(&t, "the case ended at IRQL %u", KeGetCurrentIrql());
            t.failed = true;
            KeLowerIrql(PASSIVE_LEVEL);
        }
        if (t.failed)
            failed++;
        if (t.skip_reason && !t.failed)
            kprintf("    ok %u %s # SKIP %s\n", i + 1, t.name, t.skip_reason);
        else
            kprintf("    %s %u %s\n", t.failed ? "not ok" : "ok", i + 1, t.name);
    }
    kprintf("%s %u %s\n", failed ? "not ok" : "ok", number, suite->name);
    return failed;
}

/* test=SUITE,SUITE: runs them and leaves the machine with the result. */
static NORETURN void test_command(const char *filter, size_t filter_length)
{
    unsigned failed = ktest_run(filter, filter_length);

    machine_exit(failed ? MACHINE_EXIT_FAILURE : MACHINE_EXIT_SUCCESS);
}

BOOT_COMMAND(test_boot_command, "test", test_command);

unsigned ktest_run(const char *filter, size_t filter_length)
{
    unsigned selected = 0, number = 0, failed = 0;

    for (unsigned i = 0; i < ARRAY_SIZE(all_suites); i++)
        selected += suite_selected(all_suites[i], filter, filter_length);
    kprintf("KTAP version 1\n1..%u\n", selected);
    /*
     * The cases run on the boot processor, where the clock and the devices interrupt, so
     * that what they read of "this processor" holds from one line to the next; the
     * threads and processes they start run on any processor.
     */
    uint32_t affinity = KeSetAffinityThread(pcr_boot_processor.set_member);
    for (unsigned i = 0; i < ARRAY_SIZE(all_suites); i++)
        if (suite_selected(all_suites[i], filter, filter_length))
            failed += run_suite(all_suites[i], ++number);
    KeSetAffinityThread(affinity);
    kprintf("# %u failed case%s\n", failed, failed == 1 ? "" : "s");
    return failed;
}
