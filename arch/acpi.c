/*
 * The ACPI tables of arch/acpi.h: the RSDP, the RSDT or XSDT, and the MADT. Nothing is
 * believed before its checksum holds, and every read stays inside the length the table
 * gives, which itself is bounded: a table the firmware got wrong is refused, with the
 * reason kept in info->problem, and the boot goes on with what was found before it.
 */
#include "arch/acpi.h"
#include "lib/string.h"

#define RSDP_V1_LENGTH          20
#define RSDP_REVISION           15          /* offsets in the RSDP (5.2.5.3) */
#define RSDP_RSDT_ADDRESS       16
#define RSDP_LENGTH             20
#define RSDP_XSDT_ADDRESS       24
#define SDT_HEADER_LENGTH       36          /* 5.2.6 */
#define SDT_LENGTH              4
#define SDT_OEM_ID              10
#define MADT_LOCAL_APIC_ADDRESS 36          /* 5.2.12 */
#define MADT_FLAGS              40
#define MADT_ENTRIES            44
#define MADT_PCAT_COMPAT        0x1
#define EBDA_SEGMENT_POINTER    0x40E       /* the BIOS data area's word (5.2.5.1) */
#define EBDA_SEARCH_LENGTH      1024
#define BIOS_AREA               0xE0000
#define BIOS_AREA_LENGTH        0x20000
#define SEARCH_CHUNK            4096

/* MADT entry types (5.2.12.2-5.2.12.12) and the bytes each needs. */
enum {
    MADT_LOCAL_APIC = 0,            /* 8 bytes */
    MADT_IO_APIC = 1,               /* 12 */
    MADT_INTERRUPT_OVERRIDE = 2,    /* 10 */
    MADT_LOCAL_APIC_OVERRIDE = 5,   /* 12 */
    MADT_LOCAL_X2APIC = 9,          /* 16 */
};

static uint32_t get32(const uint8_t *at)
{
    uint32_t value;
    memcpy(&value, at, sizeof(value));
    return value;
}

static uint64_t get64(const uint8_t *at)
{
    uint64_t value;
    memcpy(&value, at, sizeof(value));
    return value;
}

static uint8_t sum(const uint8_t *bytes, size_t length)
{
    uint8_t total = 0;

    for (size_t i = 0; i < length; i++)
        total += bytes[i];
    return total;
}

static void refuse(struct acpi_info *info, const char *problem)
{
    if (!info->problem)
        info->problem = problem;
}

/* The RSDP's usable length: 36 when its ACPI 2.0 part checks too, 20, or 0 when not one. */
static size_t rsdp_length(const uint8_t *rsdp, size_t available)
{
    if (available < RSDP_V1_LENGTH || memcmp(rsdp, "RSD PTR ", 8) != 0 ||
        sum(rsdp, RSDP_V1_LENGTH) != 0)
        return 0;
    if (rsdp[RSDP_REVISION] >= 2 && available >= ACPI_RSDP_MAX_LENGTH &&
        get32(rsdp + RSDP_LENGTH) >= ACPI_RSDP_MAX_LENGTH &&
        sum(rsdp, ACPI_RSDP_MAX_LENGTH) == 0)
        return ACPI_RSDP_MAX_LENGTH;
    return RSDP_V1_LENGTH;
}

uint64_t acpi_search_rsdp(acpi_reader_t read, void *context, uint64_t base, uint32_t length)
{
    uint8_t chunk[SEARCH_CHUNK + ACPI_RSDP_MAX_LENGTH];

    for (uint32_t at = 0; at + RSDP_V1_LENGTH <= length; at += SEARCH_CHUNK) {
        /* A chunk and the tail an RSDP that starts in its last 16 bytes needs. */
        uint32_t size = MIN(length - at, (uint32_t)sizeof(chunk));
        if (!read(context, base + at, chunk, size))
            continue;
        for (uint32_t offset = 0; offset < SEARCH_CHUNK && offset + RSDP_V1_LENGTH <= size;
             offset += 16)
            if (rsdp_length(chunk + offset, size - offset))
                return base + at + offset;
    }
    return 0;
}

/*
 * Checks the table at address: its signature, its length within [36, the limit] and its
 * checksum over that length, read a chunk at a time. Its length, or 0 when refused.
 */
static uint32_t check_table(acpi_reader_t read, void *context, uint64_t address,
                            const char *signature, struct acpi_info *info)
{
    uint8_t header[SDT_HEADER_LENGTH], chunk[256], total = 0;

    if (!read(context, address, header, sizeof(header))) {
        refuse(info, "a table the RSDT names cannot be read");
        return 0;
    }
    if (memcmp(header, signature, 4) != 0)
        return 0;
    uint32_t length = get32(header + SDT_LENGTH);
    if (length < SDT_HEADER_LENGTH || length > ACPI_MAX_TABLE_LENGTH) {
        refuse(info, "a table's length is out of bounds");
        return 0;
    }
    for (uint32_t at = 0; at < length; at += sizeof(chunk)) {
        uint32_t size = MIN(length - at, (uint32_t)sizeof(chunk));
        if (!read(context, address + at, chunk, size)) {
            refuse(info, "a table runs into memory that cannot be read");
            return 0;
        }
        total += sum(chunk, size);
    }
    if (total != 0) {
        refuse(info, "a table's checksum does not hold");
        return 0;
    }
    return length;
}

static void add_processor(struct acpi_info *info, uint32_t apic_id, uint32_t acpi_id,
                          uint32_t flags)
{
    if (info->processor_count == ACPI_MAX_PROCESSORS) {
        info->processors_dropped++;
        return;
    }
    info->processors[info->processor_count++] = (struct acpi_processor){
        apic_id, acpi_id, (flags & 1) != 0, (flags & 2) != 0};
}

/* One MADT entry of type type, its bytes in entry (length of them, at least 2). */
static void madt_entry(struct acpi_info *info, const uint8_t *entry, uint8_t length)
{
    switch (entry[0]) {
    case MADT_LOCAL_APIC:
        if (length >= 8)
            add_processor(info, entry[3], entry[2], get32(entry + 4));
        break;
    case MADT_LOCAL_X2APIC:
        if (length >= 16)
            add_processor(info, get32(entry + 4), get32(entry + 12), get32(entry + 8));
        break;
    case MADT_IO_APIC:
        if (length >= 12 && info->io_apic_count < ACPI_MAX_IO_APICS)
            info->io_apics[info->io_apic_count++] = (struct acpi_io_apic){
                entry[2], get32(entry + 4), get32(entry + 8)};
        break;
    case MADT_INTERRUPT_OVERRIDE:
        if (length >= 10 && info->override_count < ACPI_MAX_OVERRIDES)
            info->overrides[info->override_count++] = (struct acpi_override){
                entry[3], get32(entry + 4), (uint16_t)(entry[8] | entry[9] << 8)};
        break;
    case MADT_LOCAL_APIC_OVERRIDE:
        if (length >= 12)
            info->local_apic_address = get64(entry + 4);
        break;
    default:
        break;      /* NMI sources, local APIC NMIs, GIC entries, ...: not used here */
    }
}

static void read_madt(acpi_reader_t read, void *context, uint64_t address, uint32_t length,
                      struct acpi_info *info)
{
    uint8_t fixed[MADT_ENTRIES];

    if (length < MADT_ENTRIES || !read(context, address, fixed, sizeof(fixed))) {
        refuse(info, "the MADT is too short");
        return;
    }
    info->madt_found = true;
    info->local_apic_address = get32(fixed + MADT_LOCAL_APIC_ADDRESS);
    info->pc_at_compatible = get32(fixed + MADT_FLAGS) & MADT_PCAT_COMPAT;
    for (uint32_t at = MADT_ENTRIES; at + 2 <= length;) {
        uint8_t entry[16];
        if (!read(context, address + at, entry, 2))
            break;
        uint8_t size = entry[1];
        if (size < 2 || size > length - at) {
            refuse(info, "a MADT entry's length is 0, 1 or past the table's end");
            return;
        }
        if (!read(context, address + at, entry, MIN(size, (uint8_t)sizeof(entry))))
            break;
        madt_entry(info, entry, size);
        at += size;
    }
}

void acpi_read_from_rsdp(acpi_reader_t read, void *context, const uint8_t *rsdp, size_t length,
                         struct acpi_info *info)
{
    /* An XSDT where ACPI 2.0 has one (64-bit entries), else the RSDT (32-bit). */
    bool extended = length >= ACPI_RSDP_MAX_LENGTH && get64(rsdp + RSDP_XSDT_ADDRESS) != 0;
    uint64_t root = extended ? get64(rsdp + RSDP_XSDT_ADDRESS) : get32(rsdp + RSDP_RSDT_ADDRESS);
    uint32_t entry_size = extended ? 8 : 4;

    info->rsdp_found = true;
    info->revision = rsdp[RSDP_REVISION];
    memcpy(info->oem_id, rsdp + 9, 6);
    info->oem_id[6] = '\0';
    uint32_t root_length = check_table(read, context, root, extended ? "XSDT" : "RSDT", info);
    if (!root_length) {
        refuse(info, "the RSDT (or XSDT) is missing or damaged");
        return;
    }
    for (uint32_t at = SDT_HEADER_LENGTH; at + entry_size <= root_length; at += entry_size) {
        uint8_t entry[8] = {0};
        if (!read(context, root + at, entry, entry_size))
            break;
        uint64_t table = extended ? get64(entry) : get32(entry);
        uint32_t table_length = check_table(read, context, table, "APIC", info);
        if (table_length) {
            read_madt(read, context, table, table_length, info);
            return;
        }
    }
}

void acpi_read_tables(acpi_reader_t read, void *context, const void *loader_rsdp,
                      size_t loader_rsdp_length, struct acpi_info *info)
{
    uint8_t rsdp[ACPI_RSDP_MAX_LENGTH];
    size_t length = 0;

    memset(info, 0, sizeof(*info));
    if (loader_rsdp && loader_rsdp_length) {
        size_t size = MIN(loader_rsdp_length, sizeof(rsdp));
        memcpy(rsdp, loader_rsdp, size);
        length = rsdp_length(rsdp, size);
        info->from_loader = length != 0;
        if (!length)
            refuse(info, "the loader's copy of the RSDP does not check");
    }
    if (!length) {
        /* The BIOS search: the EBDA's first KB, then the BIOS area (5.2.5.1). */
        uint16_t segment = 0;
        uint64_t found = 0;
        if (read(context, EBDA_SEGMENT_POINTER, &segment, sizeof(segment)) && segment)
            found = acpi_search_rsdp(read, context, (uint64_t)segment << 4, EBDA_SEARCH_LENGTH);
        if (!found)
            found = acpi_search_rsdp(read, context, BIOS_AREA, BIOS_AREA_LENGTH);
        if (!found || !read(context, found, rsdp, sizeof(rsdp)))
            return;
        info->rsdp_address = found;
        length = rsdp_length(rsdp, sizeof(rsdp));
    }
    acpi_read_from_rsdp(read, context, rsdp, length, info);
}

unsigned acpi_enabled_processors(const struct acpi_info *info)
{
    unsigned count = 0;

    for (unsigned i = 0; i < info->processor_count; i++)
        count += info->processors[i].enabled;
    return count;
}
