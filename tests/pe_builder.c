/*
 * The PE32 test file of tests/pe_builder.h: a valid image to break, and parsing it.
 */
#include "lib/string.h"
#include "tests/pe_builder.h"

uint8_t pe_file[PE_FILE_ROOM];
size_t pe_file_size;
struct ldr_image_info pe_info;
uint32_t pe_section_at;

void pe_put16(uint32_t at, uint16_t value)
{
    memcpy(pe_file + at, &value, sizeof(value));
}

void pe_put32(uint32_t at, uint32_t value)
{
    memcpy(pe_file + at, &value, sizeof(value));
}

uint32_t pe_get32(const uint8_t *from, uint32_t at)
{
    uint32_t value;

    memcpy(&value, from + at, sizeof(value));
    return value;
}

uint32_t pe_section_field(unsigned index, unsigned field)
{
    return pe_section_at + index * SECTION_HEADER_SIZE + field;
}

void pe_put_section(unsigned index, const char *name, uint32_t rva, uint32_t virtual_size,
                    uint32_t raw_pointer, uint32_t raw_size, uint32_t characteristics)
{
    memcpy(pe_file + pe_section_field(index, 0), name, strlen(name));
    pe_put32(pe_section_field(index, SEC_VIRTUAL_SIZE), virtual_size);
    pe_put32(pe_section_field(index, SEC_VIRTUAL_ADDRESS), rva);
    pe_put32(pe_section_field(index, SEC_RAW_SIZE), raw_size);
    pe_put32(pe_section_field(index, SEC_RAW_POINTER), raw_pointer);
    pe_put32(pe_section_field(index, SEC_CHARACTERISTICS), characteristics);
}

void pe_build_with_directories(unsigned directories)
{
    memset(pe_file, 0, sizeof(pe_file));
    /* Raw data that is not zero, so that copying too much or too little shows. */
    for (unsigned i = HEADERS_SIZE; i < sizeof(pe_file); i++)
        pe_file[i] = (uint8_t)(i * 7 + 1);
    pe_file_size = FILE_SIZE;
    pe_section_at = OPT_AT + OPT_FIXED_SIZE + 8 * directories;

    pe_file[0] = 'M';
    pe_file[1] = 'Z';
    pe_put32(DOS_E_LFANEW, NT_AT);
    memcpy(pe_file + NT_AT, "PE\0\0", 4);
    pe_put16(FILE_MACHINE, 0x014C);
    pe_put16(FILE_SECTION_COUNT, 3);
    pe_put16(FILE_OPTIONAL_SIZE, OPT_FIXED_SIZE + 8 * directories);
    pe_put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT);
    pe_put16(OPT_MAGIC, 0x010B);
    pe_put32(OPT_ENTRY_POINT, TEXT_RVA);
    pe_put32(OPT_IMAGE_BASE, BASE);
    pe_put32(OPT_SECTION_ALIGNMENT, 0x1000);
    pe_put32(OPT_FILE_ALIGNMENT, 0x200);
    pe_put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE);
    pe_put32(OPT_SIZE_OF_HEADERS, HEADERS_SIZE);
    pe_put16(OPT_SUBSYSTEM, 3);
    pe_put32(OPT_STACK_RESERVE, 0x200000);
    pe_put32(OPT_STACK_COMMIT, 0x1000);
    pe_put32(OPT_DIRECTORY_COUNT, directories);
    if (directories > DIRECTORY_BASERELOC) {
        pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA);
        pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE);
    }

    pe_put_section(0, ".text", TEXT_RVA, 0x20, TEXT_RAW, RAW_SIZE,
                   SCN_CODE | SCN_EXECUTE | SCN_READ);
    pe_put_section(1, ".data", DATA_RVA, DATA_VIRTUAL_SIZE, DATA_RAW, RAW_SIZE,
                   SCN_DATA | SCN_READ | SCN_WRITE);
    pe_put_section(2, ".reloc", RELOC_RVA, RELOC_TABLE_SIZE, RELOC_RAW, RAW_SIZE,
                   SCN_DATA | SCN_DISCARDABLE | SCN_READ);

    pe_file[TEXT_RAW] = 0xA1;                   /* mov eax, [.data + 0x10] */
    pe_put32(TEXT_RAW + TEXT_FIXUP_AT, BASE + DATA_RVA + DATA_POINTER_AT);
    pe_put32(DATA_RAW + DATA_POINTER_AT, BASE + TEXT_RVA);

    /* Two blocks, each one HIGHLOW entry padded with an ABSOLUTE one, as ld writes them. */
    pe_put32(RELOC_RAW + 0, TEXT_RVA);
    pe_put32(RELOC_RAW + 4, 12);
    pe_put16(RELOC_RAW + 8, REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT));
    pe_put16(RELOC_RAW + 10, REL_ENTRY(REL_ABSOLUTE, 0));
    pe_put32(RELOC_RAW + 12, DATA_RVA);
    pe_put32(RELOC_RAW + 16, 12);
    pe_put16(RELOC_RAW + 20, REL_ENTRY(REL_HIGHLOW, DATA_POINTER_AT));
    pe_put16(RELOC_RAW + 22, REL_ENTRY(REL_ABSOLUTE, 0));
}

void pe_build(void)
{
    pe_build_with_directories(16);
}

static ntstatus_t parse_with(vaddr_t system_start)
{
    /* Garbage first: the parser must set every field, not rely on a zeroed structure. */
    memset(&pe_info, 0xA5, sizeof(pe_info));
    return LdrParseImage(pe_file, pe_file_size, system_start, &pe_info);
}

ntstatus_t pe_parse(void)
{
    return parse_with(SYSTEM_START);
}

void pe_expect_accepted(struct ktest *t, int line, vaddr_t system_start)
{
    ntstatus_t status = parse_with(system_start);

    if (status != STATUS_SUCCESS) {
        t->failed = true;
        ktest_diag(t, "line %d: refused (0x%08x), expected accepted", line, (uint32_t)status);
    }
}

void pe_expect_refused(struct ktest *t, int line, vaddr_t system_start)
{
    ntstatus_t status = parse_with(system_start);

    if (status != STATUS_INVALID_IMAGE_FORMAT || pe_info.section_count != 0) {
        t->failed = true;
        ktest_diag(t, "line %d: status 0x%08x, %u sections, expected a refusal", line,
                   (uint32_t)status, pe_info.section_count);
    }
}

void pe_expect_section(struct ktest *t, unsigned index, const char *name, uint32_t rva,
                       uint32_t virtual_size, uint32_t raw_offset, uint32_t raw_size,
                       uint32_t characteristics)
{
    const struct ldr_section *s = &pe_info.sections[index];

    KT_EXPECT_STREQ(t, name, s->name);
    KT_EXPECT_EQ(t, rva, s->virtual_address);
    KT_EXPECT_EQ(t, virtual_size, s->virtual_size);
    KT_EXPECT_EQ(t, raw_offset, s->raw_offset);
    KT_EXPECT_EQ(t, raw_size, s->raw_size);
    KT_EXPECT_EQ(t, characteristics, s->characteristics);
}

