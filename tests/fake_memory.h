#pragma once
/*
 * The fake physical memory the boot-information parsers are tested on: a case writes
 * what a loader would leave into fake_memory, which stands at physical FAKE_BASE, the
 * parser reads it through read_fake into parsed, and the checks below say what it made
 * of it. Shared by tests/test_multiboot.c, test_multiboot2.c and test_multiboot_fb.c.
 */
#include "boot/boot_info.h"
#include "lib/string.h"
#include "tests/ktest.h"

#define FAKE_BASE               0x00200000u
#define FAKE_MEMORY_SIZE        (64 * 1024)
#define OUTSIDE_FAKE            0x00100000u     /* below FAKE_BASE: nothing to read */

/* The memory-map type of a reserved range (Multiboot 0.6.96 3.3, Multiboot2 2.0 3.6.8). */
#define RESERVED                2

extern uint8_t fake_memory[FAKE_MEMORY_SIZE];
extern struct boot_info parsed;     /* too large for the kernel stack */

/* The parsers' boot_reader_t over fake_memory: false for any byte outside it. */
bool read_fake(void *context, boot_paddr_t address, void *buffer, size_t length);

/* The physical address of fake_memory[offset]. */
boot_paddr_t fake_address(uint32_t offset);

/* Unaligned little-endian stores, as a loader writes its structures. */
static inline void put32(uint8_t *at, uint32_t value)
{
    memcpy(at, &value, sizeof(value));
}

static inline void put64(uint8_t *at, uint64_t value)
{
    memcpy(at, &value, sizeof(value));
}

/* True when one of boot's warnings contains word, ignoring case. */
bool warning_contains(const struct boot_info *boot, const char *word);

/* Some reserved range of boot holds all of [base, end). */
bool covered(const struct boot_info *boot, boot_paddr_t base, boot_paddr_t end);

/* Checks parsed's number of warnings; on a mismatch the warnings say what went wrong. */
void expect_warnings(struct ktest *t, unsigned count);

/* Checks entry index of parsed's memory map; on a mismatch, says what it holds. */
void expect_entry(struct ktest *t, unsigned index, uint64_t base, uint64_t length,
                  uint32_t type);
