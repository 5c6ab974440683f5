/*
 * The fake physical memory of tests/fake_memory.h, and the checks on what a parser made
 * of it.
 */
#include "tests/fake_memory.h"

uint8_t fake_memory[FAKE_MEMORY_SIZE];
struct boot_info parsed;

bool read_fake(void *context, boot_paddr_t address, void *buffer, size_t length)
{
    (void)context;
    if (address < FAKE_BASE || address - FAKE_BASE > sizeof(fake_memory) ||
        length > sizeof(fake_memory) - (address - FAKE_BASE))
        return false;
    memcpy(buffer, fake_memory + (address - FAKE_BASE), length);
    return true;
}

boot_paddr_t fake_address(uint32_t offset)
{
    return FAKE_BASE + offset;
}

bool warning_contains(const struct boot_info *boot, const char *word)
{
    for (unsigned i = 0; i < MIN(boot->warning_count, BOOT_WARNINGS_MAX); i++)
        if (ktest_text_contains(boot->warnings[i], word))
            return true;
    return false;
}

bool covered(const struct boot_info *boot, boot_paddr_t base, boot_paddr_t end)
{
    for (unsigned i = 0; i < boot->reserved_count; i++)
        if (boot->reserved[i].base <= base && end <= boot->reserved[i].end)
            return true;
    return false;
}

void expect_warnings(struct ktest *t, unsigned count)
{
    if (parsed.warning_count == count)
        return;
    t->failed = true;
    ktest_diag(t, "%u warnings, expected %u", parsed.warning_count, count);
    for (unsigned i = 0; i < MIN(parsed.warning_count, BOOT_WARNINGS_MAX); i++)
        ktest_diag(t, "warning: %s", parsed.warnings[i]);
}

void expect_entry(struct ktest *t, unsigned index, uint64_t base, uint64_t length,
                  uint32_t type)
{
    const struct boot_memory_entry *e = &parsed.memory_map[index];

    if (e->base != base || e->length != length || e->type != type) {
        t->failed = true;
        ktest_diag(t, "entry %u is {0x%llx, 0x%llx, %u}, expected {0x%llx, 0x%llx, %u}",
                   index, (unsigned long long)e->base, (unsigned long long)e->length, e->type,
                   (unsigned long long)base, (unsigned long long)length, type);
    }
}
