#pragma once
/*
 * The ACPI tables that say what processors and interrupt controllers a machine has
 * (ACPI 6.5: 5.2.5 the RSDP, 5.2.7 the RSDT, 5.2.8 the XSDT, 5.2.12 the MADT): found and
 * checked once at boot, from the loader's copy of the RSDP (multiboot 2 on UEFI) or by
 * the BIOS search (5.2.5.1: the EBDA's first KB, then 0xE0000-0xFFFFF on 16-byte
 * boundaries). Every table is read through a reader, checked for its signature, its
 * length and its checksum before anything in it is believed, and walked within its own
 * length: a firmware's table never makes the kernel read past what it says it holds.
 */
#include "lib/types.h"

#define ACPI_MAX_PROCESSORS     64
#define ACPI_MAX_IO_APICS       8
#define ACPI_MAX_OVERRIDES      16
#define ACPI_MAX_TABLE_LENGTH   0x10000     /* longer than any RSDT, XSDT or MADT seen */
#define ACPI_RSDP_MAX_LENGTH    36          /* ACPI 2.0 and later; 1.0's is 20 */

/* Reads length bytes of physical memory at address; false when it cannot. */
typedef bool (*acpi_reader_t)(void *context, uint64_t address, void *buffer, size_t length);

struct acpi_processor {
    uint32_t apic_id;           /* the local APIC's (x2APIC) id */
    uint32_t acpi_id;           /* the processor's ACPI UID */
    bool enabled;               /* usable now (flags bit 0) */
    bool online_capable;        /* may be enabled later (bit 1, ACPI 6.3) */
};

struct acpi_io_apic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;          /* the first global system interrupt it takes */
};

/* An ISA interrupt routed other than one to one (MADT type 2). */
struct acpi_override {
    uint8_t source_irq;
    uint32_t gsi;
    uint16_t flags;             /* polarity (bits 0-1) and trigger mode (bits 2-3) */
};

struct acpi_info {
    bool rsdp_found;            /* an RSDP whose checksums hold */
    bool from_loader;           /* the loader's copy (else the BIOS search) */
    uint64_t rsdp_address;      /* where the search found it */
    uint8_t revision;           /* 0: ACPI 1.0 (an RSDT), 2 or more: an XSDT too */
    char oem_id[7];
    bool madt_found;            /* a MADT whose checksum holds */
    uint64_t local_apic_address;
    bool pc_at_compatible;      /* the 8259 pair is there too (MADT flags bit 0) */
    unsigned processor_count;
    unsigned processors_dropped;    /* beyond ACPI_MAX_PROCESSORS */
    struct acpi_processor processors[ACPI_MAX_PROCESSORS];
    unsigned io_apic_count;
    struct acpi_io_apic io_apics[ACPI_MAX_IO_APICS];
    unsigned override_count;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    const char *problem;        /* the first thing refused, for the boot to say; or NULL */
};

/*
 * Reads the tables: loader_rsdp (length bytes, NULL or 0 when the loader gave none), else
 * the RSDP the BIOS search finds. info says what was found, and the first problem.
 */
void acpi_read_tables(acpi_reader_t read, void *context, const void *loader_rsdp,
                      size_t loader_rsdp_length, struct acpi_info *info);

/*
 * The BIOS search over [base, base + length), 16-byte steps: the address of the first RSDP
 * whose checksum holds, or 0. For the tests, which search fake memory.
 */
uint64_t acpi_search_rsdp(acpi_reader_t read, void *context, uint64_t base, uint32_t length);

/* Reads the RSDT or XSDT and the MADT that rsdp (length bytes, checked) names into info. */
void acpi_read_from_rsdp(acpi_reader_t read, void *context, const uint8_t *rsdp, size_t length,
                         struct acpi_info *info);

/* This machine's, read once by kernel_main after the memory manager is up. */
extern struct acpi_info kernel_acpi;

/* The number of enabled processors info lists. */
unsigned acpi_enabled_processors(const struct acpi_info *info);
