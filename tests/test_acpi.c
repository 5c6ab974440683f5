/*
 * The ACPI tables (arch/acpi.c): crafted RSDPs, RSDTs, XSDTs and MADTs in fake memory,
 * well formed and not, and the tables of the machine the tests run on.
 */
#include "arch/acpi.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "lib/string.h"
#include "tests/fake_memory.h"
#include "tests/ktest.h"

/* Where each table goes in fake memory. */
enum { RSDP_AT = 0x100, RSDT_AT = 0x400, MADT_AT = 0x800, DSDT_AT = 0xC00 };

static bool read_fake64(void *context, uint64_t address, void *buffer, size_t length)
{
    return address <= UINT32_MAX && read_fake(context, (boot_paddr_t)address, buffer, length);
}

static void fix_checksum(uint8_t *bytes, uint32_t length, uint32_t checksum_at)
{
    uint8_t total = 0;

    bytes[checksum_at] = 0;
    for (uint32_t i = 0; i < length; i++)
        total += bytes[i];
    bytes[checksum_at] = (uint8_t)-total;
}

/* A table header (ACPI 6.5, 5.2.6) of length bytes at offset; its checksum made to hold. */
static void put_header(uint32_t offset, const char *signature, uint32_t length)
{
    uint8_t *table = fake_memory + offset;

    memcpy(table, signature, 4);
    put32(table + 4, length);
    table[8] = 1;
    memcpy(table + 10, "NTMMTS", 6);
    fix_checksum(table, length, 9);
}

/* An RSDP at RSDP_AT: revision 0 naming an RSDT, or 2 naming an XSDT too. */
static void put_rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
    uint8_t *rsdp = fake_memory + RSDP_AT;

    memset(rsdp, 0, ACPI_RSDP_MAX_LENGTH);
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "NTMMTS", 6);
    rsdp[15] = revision;
    put32(rsdp + 16, rsdt);
    put32(rsdp + 20, ACPI_RSDP_MAX_LENGTH);
    put64(rsdp + 24, xsdt);
    fix_checksum(rsdp, 20, 8);
    fix_checksum(rsdp, ACPI_RSDP_MAX_LENGTH, 32);
}

/*
 * A MADT at MADT_AT: processors with APIC ids 0 and 2 enabled, 1 disabled, an x2APIC
 * processor 300, an I/O APIC, two overrides; its length.
 */
static uint32_t put_madt(void)
{
    uint8_t *madt = fake_memory + MADT_AT;
    uint32_t at = 44;
    static const uint8_t entries[][16] = {
        {0, 8, 0, 0, 1, 0, 0, 0},                       /* ACPI id 0, APIC id 0, enabled */
        {0, 8, 1, 2, 1, 0, 0, 0},                       /* APIC id 2, enabled */
        {0, 8, 2, 1, 0, 0, 0, 0},                       /* APIC id 1, not enabled */
        {1, 12, 5, 0, 0x00, 0x00, 0xC0, 0xFE, 0, 0, 0, 0},  /* I/O APIC 5 at FEC00000, GSI 0 */
        {2, 10, 0, 0, 2, 0, 0, 0, 0, 0},                /* IRQ 0 -> GSI 2 */
        {2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0},             /* IRQ 9 -> GSI 9, level, high */
        {9, 16, 0, 0, 0x2C, 0x01, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0},  /* x2APIC 300, UID 7 */
    };

    memset(madt, 0, 0x200);
    put32(madt + 36, 0xFEE00000);
    put32(madt + 40, 1);                                /* PCAT_COMPAT */
    for (unsigned i = 0; i < ARRAY_SIZE(entries); i++) {
        memcpy(madt + at, entries[i], entries[i][1]);
        at += entries[i][1];
    }
    put_header(MADT_AT, "APIC", at);
    return at;
}

/* An RSDT (or, entry_size 8, an XSDT) naming a DSDT-like table first, then the MADT. */
static void put_root(const char *signature, uint32_t entry_size)
{
    uint8_t *root = fake_memory + RSDT_AT;

    put_header(DSDT_AT, "FACP", 36);
    memset(root, 0, 36 + 2 * entry_size);
    if (entry_size == 8) {
        put64(root + 36, fake_address(DSDT_AT));
        put64(root + 44, fake_address(MADT_AT));
    } else {
        put32(root + 36, fake_address(DSDT_AT));
        put32(root + 40, fake_address(MADT_AT));
    }
    put_header(RSDT_AT, signature, 36 + 2 * entry_size);
}

static struct acpi_info info;   /* too large for the kernel stack */

/* The three tables, through an RSDT (ACPI 1.0) or an XSDT (2.0, its RSDT unreadable). */
static uint32_t put_tables(bool extended)
{
    memset(fake_memory, 0, FAKE_MEMORY_SIZE);
    uint32_t madt_length = put_madt();
    put_root(extended ? "XSDT" : "RSDT", extended ? 8 : 4);
    if (extended)
        put_rsdp(2, OUTSIDE_FAKE, fake_address(RSDT_AT));
    else
        put_rsdp(0, fake_address(RSDT_AT), 0);
    return madt_length;
}

static void read_crafted(void)
{
    acpi_read_tables(read_fake64, NULL, fake_memory + RSDP_AT, ACPI_RSDP_MAX_LENGTH, &info);
}

static void expect_the_crafted_madt(struct ktest *t)
{
    KT_EXPECT(t, info.rsdp_found && info.madt_found);
    KT_EXPECT(t, info.problem == NULL);
    KT_EXPECT_EQ(t, 0xFEE00000, info.local_apic_address);
    KT_EXPECT(t, info.pc_at_compatible);
    KT_ASSERT_EQ(t, 4, info.processor_count);
    KT_EXPECT_EQ(t, 3, acpi_enabled_processors(&info));
    KT_EXPECT_EQ(t, 2, info.processors[1].apic_id);
    KT_EXPECT(t, !info.processors[2].enabled);
    KT_EXPECT_EQ(t, 300, info.processors[3].apic_id);
    KT_EXPECT_EQ(t, 7, info.processors[3].acpi_id);
    KT_ASSERT_EQ(t, 1, info.io_apic_count);
    KT_EXPECT_EQ(t, 5, info.io_apics[0].id);
    KT_EXPECT_EQ(t, 0xFEC00000, info.io_apics[0].address);
    KT_ASSERT_EQ(t, 2, info.override_count);
    KT_EXPECT_EQ(t, 2, info.overrides[0].gsi);
    KT_EXPECT_EQ(t, 9, info.overrides[1].source_irq);
    KT_EXPECT_EQ(t, 0x0D, info.overrides[1].flags);
    KT_EXPECT_STREQ(t, "NTMMTS", info.oem_id);
}

/* ACPI 1.0: the RSDT's 32-bit entries, the MADT past another table. */
static void rsdt_and_madt(struct ktest *t)
{
    put_tables(false);
    read_crafted();
    KT_EXPECT(t, info.from_loader);
    KT_EXPECT_EQ(t, 0, info.revision);
    expect_the_crafted_madt(t);
}

/* ACPI 2.0: the XSDT's 64-bit entries are used; the RSDT is not even looked at. */
static void xsdt_and_madt(struct ktest *t)
{
    put_tables(true);
    read_crafted();
    KT_EXPECT_EQ(t, 2, info.revision);
    expect_the_crafted_madt(t);
}

/* A wrong checksum anywhere is refused, with the reason; nothing in the table is used. */
static void checksums_are_checked(struct ktest *t)
{
    put_tables(false);
    fake_memory[RSDP_AT + 8]++;
    read_crafted();
    KT_EXPECT(t, !info.from_loader);        /* the copy refused: the BIOS search came up empty */
    KT_EXPECT(t, !info.rsdp_found && info.problem != NULL);

    put_rsdp(0, fake_address(RSDT_AT), 0);
    fake_memory[MADT_AT + 50] ^= 0x40;
    read_crafted();
    KT_EXPECT(t, info.rsdp_found && !info.madt_found && info.problem != NULL);
    KT_EXPECT_EQ(t, 0, info.processor_count);
}

/* Lengths the firmware got wrong: a table past the bound, an entry of length 0 or past the end. */
static void bad_lengths_are_refused(struct ktest *t)
{
    uint32_t madt_length = put_tables(false);

    put_header(RSDT_AT, "RSDT", ACPI_MAX_TABLE_LENGTH + 4);     /* out of bounds */
    read_crafted();
    KT_EXPECT(t, !info.madt_found && info.problem != NULL);

    put_root("RSDT", 4);
    fake_memory[MADT_AT + 44 + 16 + 1] = 0;        /* the third entry: length 0 */
    put_header(MADT_AT, "APIC", madt_length);
    read_crafted();
    KT_EXPECT(t, info.madt_found && info.problem != NULL);
    KT_EXPECT_EQ(t, 2, info.processor_count);       /* the two before it, and no loop */

    put_madt();
    fake_memory[MADT_AT + madt_length - 16 + 1] = 40;   /* the last entry runs past the end */
    put_header(MADT_AT, "APIC", madt_length);
    read_crafted();
    KT_EXPECT(t, info.problem != NULL);
    KT_EXPECT_EQ(t, 3, info.processor_count);

    put_madt();
    put32(fake_memory + RSDT_AT + 40, OUTSIDE_FAKE);    /* the MADT's address unreadable */
    put_header(RSDT_AT, "RSDT", 44);
    read_crafted();
    KT_EXPECT(t, !info.madt_found && info.problem != NULL);
}

/* The BIOS search: 16-byte boundaries only, and only an RSDP whose checksum holds. */
static void search_finds_only_aligned_rsdps(struct ktest *t)
{
    memset(fake_memory, 0, FAKE_MEMORY_SIZE);
    put_rsdp(0, fake_address(RSDT_AT), 0);
    KT_EXPECT_EQ(t, fake_address(RSDP_AT),
                 acpi_search_rsdp(read_fake64, NULL, fake_address(0), 0x2000));
    memmove(fake_memory + RSDP_AT + 4, fake_memory + RSDP_AT, 20);
    memset(fake_memory + RSDP_AT, 0, 4);
    KT_EXPECT_EQ(t, 0, acpi_search_rsdp(read_fake64, NULL, fake_address(0), 0x2000));
    /* One at the last 16 bytes of a 4 KB chunk is found whole. */
    memset(fake_memory, 0, 0x2000);
    uint8_t *rsdp = fake_memory + 0xFF0;
    memcpy(rsdp, "RSD PTR ", 8);
    fix_checksum(rsdp, 20, 8);
    KT_EXPECT_EQ(t, fake_address(0xFF0),
                 acpi_search_rsdp(read_fake64, NULL, fake_address(0), 0x2000));
}

/*
 * This machine's tables: found by the boot, and the processor the kernel runs on (its
 * initial APIC id, CPUID leaf 1 EBX bits 24-31) is one of the enabled ones.
 */
static void this_machine_lists_the_boot_processor(struct ktest *t)
{
    uint32_t eax, ebx, ecx, edx;
    bool listed = false;

    if (!kernel_acpi.rsdp_found)
        KT_SKIP(t, "no ACPI tables on this machine");
    KT_EXPECT(t, kernel_acpi.madt_found);
    KT_EXPECT(t, kernel_acpi.problem == NULL);
    if (!cpu_features.cpuid)
        KT_SKIP(t, "no CPUID: the boot processor's APIC id is unknown");
    cpu_cpuid(1, &eax, &ebx, &ecx, &edx);
    for (unsigned i = 0; i < kernel_acpi.processor_count; i++)
        listed |= kernel_acpi.processors[i].enabled &&
                  kernel_acpi.processors[i].apic_id == ebx >> 24;
    KT_EXPECT(t, listed);
    ktest_diag(t, "%u processors, %u I/O APICs, %u overrides", kernel_acpi.processor_count,
               kernel_acpi.io_apic_count, kernel_acpi.override_count);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(rsdt_and_madt),
    KTEST_CASE(xsdt_and_madt),
    KTEST_CASE(checksums_are_checked),
    KTEST_CASE(bad_lengths_are_refused),
    KTEST_CASE(search_finds_only_aligned_rsdps),
    KTEST_CASE(this_machine_lists_the_boot_processor),
};

KTEST_SUITE(acpi_suite, "acpi", cases);
