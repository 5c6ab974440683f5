/*
 * The PE32 image parser on crafted files: a small builder writes a valid three-section
 * executable, each case breaks one thing in it, and the parser must refuse exactly the
 * broken ones. Field offsets are written out here from the PE/COFF specification rather
 * than taken from the parser, so that a mistake in either shows up.
 */
#include "kernel/ntabi.h"
#include "kernel/pe_image.h"
#include "kernel/string.h"
#include "tests/ktest.h"

/* The MS-DOS header (PE/COFF 3.1) and where the builder puts the PE headers. */
#define DOS_E_LFANEW            0x3C
#define NT_AT                   0x80

/* The COFF file header follows the 4-byte signature (3.3). */
#define FILE_AT                 (NT_AT + 4)
#define FILE_MACHINE            (FILE_AT + 0)
#define FILE_SECTION_COUNT      (FILE_AT + 2)
#define FILE_OPTIONAL_SIZE      (FILE_AT + 16)
#define FILE_CHARACTERISTICS    (FILE_AT + 18)

/* The PE32 optional header (3.4.1, 3.4.2) and its data directories (3.4.3). */
#define OPT_AT                  (NT_AT + 24)
#define OPT_MAGIC               (OPT_AT + 0)
#define OPT_ENTRY_POINT         (OPT_AT + 16)
#define OPT_IMAGE_BASE          (OPT_AT + 28)
#define OPT_SECTION_ALIGNMENT   (OPT_AT + 32)
#define OPT_FILE_ALIGNMENT      (OPT_AT + 36)
#define OPT_SIZE_OF_IMAGE       (OPT_AT + 56)
#define OPT_SIZE_OF_HEADERS     (OPT_AT + 60)
#define OPT_SUBSYSTEM           (OPT_AT + 68)
#define OPT_STACK_RESERVE       (OPT_AT + 72)
#define OPT_STACK_COMMIT        (OPT_AT + 76)
#define OPT_DIRECTORY_COUNT     (OPT_AT + 92)
#define OPT_DIRECTORY(n)        (OPT_AT + 96 + 8 * (n))
#define OPT_FIXED_SIZE          96
#define DIRECTORY_BASERELOC     5

/* A section header (4) is 40 bytes. */
#define SECTION_HEADER_SIZE     40
#define SEC_VIRTUAL_SIZE        8
#define SEC_VIRTUAL_ADDRESS     12
#define SEC_RAW_SIZE            16
#define SEC_RAW_POINTER         20
#define SEC_CHARACTERISTICS     36

/* COFF characteristics (3.3.2) and section flags (4.1). */
#define RELOCS_STRIPPED         0x0001
#define EXECUTABLE_IMAGE        0x0002
#define LARGE_ADDRESS_AWARE     0x0020
#define MACHINE_32BIT           0x0100
#define DLL                     0x2000
#define SCN_CODE                0x00000020
#define SCN_DATA                0x00000040
#define SCN_DISCARDABLE         0x02000000
#define SCN_EXECUTE             0x20000000
#define SCN_READ                0x40000000
#define SCN_WRITE               0x80000000

/* Base relocation types (6.6.2). */
#define REL_ABSOLUTE            0
#define REL_HIGH                1
#define REL_HIGHLOW             3
#define REL_DIR64               10
#define REL_ENTRY(type, offset) ((uint16_t)((type) << 12 | (offset)))

/*
 * The valid image: headers in [0, 0x400), then .text (RX), .data (RW, two pages with
 * one of raw data) and .reloc, each with 0x200 bytes in the file. .data + 0x10 holds the
 * address of .text and .text + 1 the address of that word; .reloc fixes up both.
 */
#define BASE                    0x00400000u
#define SYSTEM_START            0x80000000u
#define HEADERS_SIZE            0x400
#define TEXT_RVA                0x1000
#define TEXT_RAW                0x400
#define DATA_RVA                0x2000
#define DATA_RAW                0x600
#define DATA_VIRTUAL_SIZE       0x1008
#define DATA_POINTER_AT         0x10
#define RELOC_RVA               0x4000
#define RELOC_RAW               0x800
#define RELOC_TABLE_SIZE        0x18
#define RAW_SIZE                0x200
#define IMAGE_SIZE              0x5000
#define FILE_SIZE               0xA00
#define TEXT_FIXUP_AT           1

static uint8_t file[0x2000];
static size_t file_size;
static struct ldr_image_info info;
static uint8_t image[IMAGE_SIZE];
static uint8_t before[IMAGE_SIZE];
static uint32_t section_at;         /* file offset of the section table */

static void put16(uint32_t at, uint16_t value)
{
    memcpy(file + at, &value, sizeof(value));
}

static void put32(uint32_t at, uint32_t value)
{
    memcpy(file + at, &value, sizeof(value));
}

static uint32_t get32(const uint8_t *from, uint32_t at)
{
    uint32_t value;

    memcpy(&value, from + at, sizeof(value));
    return value;
}

static uint32_t section_field(unsigned index, unsigned field)
{
    return section_at + index * SECTION_HEADER_SIZE + field;
}

static void put_section(unsigned index, const char *name, uint32_t rva, uint32_t virtual_size,
                        uint32_t raw_pointer, uint32_t raw_size, uint32_t characteristics)
{
    memcpy(file + section_field(index, 0), name, strlen(name));
    put32(section_field(index, SEC_VIRTUAL_SIZE), virtual_size);
    put32(section_field(index, SEC_VIRTUAL_ADDRESS), rva);
    put32(section_field(index, SEC_RAW_SIZE), raw_size);
    put32(section_field(index, SEC_RAW_POINTER), raw_pointer);
    put32(section_field(index, SEC_CHARACTERISTICS), characteristics);
}

/* Builds the valid image with directories data directories in its optional header. */
static void build_with_directories(unsigned directories)
{
    memset(file, 0, sizeof(file));
    /* Raw data that is not zero, so that copying too much or too little shows. */
    for (unsigned i = HEADERS_SIZE; i < sizeof(file); i++)
        file[i] = (uint8_t)(i * 7 + 1);
    file_size = FILE_SIZE;
    section_at = OPT_AT + OPT_FIXED_SIZE + 8 * directories;

    file[0] = 'M';
    file[1] = 'Z';
    put32(DOS_E_LFANEW, NT_AT);
    memcpy(file + NT_AT, "PE\0\0", 4);
    put16(FILE_MACHINE, 0x014C);
    put16(FILE_SECTION_COUNT, 3);
    put16(FILE_OPTIONAL_SIZE, OPT_FIXED_SIZE + 8 * directories);
    put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT);
    put16(OPT_MAGIC, 0x010B);
    put32(OPT_ENTRY_POINT, TEXT_RVA);
    put32(OPT_IMAGE_BASE, BASE);
    put32(OPT_SECTION_ALIGNMENT, 0x1000);
    put32(OPT_FILE_ALIGNMENT, 0x200);
    put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE);
    put32(OPT_SIZE_OF_HEADERS, HEADERS_SIZE);
    put16(OPT_SUBSYSTEM, 3);
    put32(OPT_STACK_RESERVE, 0x200000);
    put32(OPT_STACK_COMMIT, 0x1000);
    put32(OPT_DIRECTORY_COUNT, directories);
    if (directories > DIRECTORY_BASERELOC) {
        put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA);
        put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE);
    }

    put_section(0, ".text", TEXT_RVA, 0x20, TEXT_RAW, RAW_SIZE,
                SCN_CODE | SCN_EXECUTE | SCN_READ);
    put_section(1, ".data", DATA_RVA, DATA_VIRTUAL_SIZE, DATA_RAW, RAW_SIZE,
                SCN_DATA | SCN_READ | SCN_WRITE);
    put_section(2, ".reloc", RELOC_RVA, RELOC_TABLE_SIZE, RELOC_RAW, RAW_SIZE,
                SCN_DATA | SCN_DISCARDABLE | SCN_READ);

    file[TEXT_RAW] = 0xA1;                      /* mov eax, [.data + 0x10] */
    put32(TEXT_RAW + TEXT_FIXUP_AT, BASE + DATA_RVA + DATA_POINTER_AT);
    put32(DATA_RAW + DATA_POINTER_AT, BASE + TEXT_RVA);

    /* Two blocks, each one HIGHLOW entry padded with an ABSOLUTE one, as ld writes them. */
    put32(RELOC_RAW + 0, TEXT_RVA);
    put32(RELOC_RAW + 4, 12);
    put16(RELOC_RAW + 8, REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT));
    put16(RELOC_RAW + 10, REL_ENTRY(REL_ABSOLUTE, 0));
    put32(RELOC_RAW + 12, DATA_RVA);
    put32(RELOC_RAW + 16, 12);
    put16(RELOC_RAW + 20, REL_ENTRY(REL_HIGHLOW, DATA_POINTER_AT));
    put16(RELOC_RAW + 22, REL_ENTRY(REL_ABSOLUTE, 0));
}

static void build(void)
{
    build_with_directories(16);
}

static ntstatus_t parse_with(vaddr_t system_start)
{
    /* Garbage first: the parser must set every field, not rely on a zeroed structure. */
    memset(&info, 0xA5, sizeof(info));
    return LdrParseImage(file, file_size, system_start, &info);
}

static ntstatus_t parse(void)
{
    return parse_with(SYSTEM_START);
}

#define EXPECT_STATUS(t, expected, actual)                                                  \
    KT_EXPECT_EQ(t, (uint32_t)(expected), (uint32_t)(actual))

static void expect_accepted(struct ktest *t, int line, vaddr_t system_start)
{
    ntstatus_t status = parse_with(system_start);

    if (status != STATUS_SUCCESS) {
        t->failed = true;
        ktest_diag(t, "line %d: refused (0x%08x), expected accepted", line, (uint32_t)status);
    }
}

static void expect_refused(struct ktest *t, int line, vaddr_t system_start)
{
    ntstatus_t status = parse_with(system_start);

    if (status != STATUS_INVALID_IMAGE_FORMAT || info.section_count != 0) {
        t->failed = true;
        ktest_diag(t, "line %d: status 0x%08x, %u sections, expected a refusal", line,
                   (uint32_t)status, info.section_count);
    }
}

#define ACCEPTED(t) expect_accepted(t, __LINE__, SYSTEM_START)
#define REFUSED(t) expect_refused(t, __LINE__, SYSTEM_START)

/* Parses the image and lays it out in image; false (and a failure) if it is refused. */
static bool load(struct ktest *t)
{
    EXPECT_STATUS(t, STATUS_SUCCESS, parse());
    if (info.size_of_image != IMAGE_SIZE)
        return false;
    memset(image, 0, sizeof(image));
    LdrCopyImage(image, file, &info);
    memcpy(before, image, sizeof(image));
    return true;
}

static void expect_section(struct ktest *t, unsigned index, const char *name, uint32_t rva,
                           uint32_t virtual_size, uint32_t raw_offset, uint32_t raw_size,
                           uint32_t characteristics)
{
    const struct ldr_section *s = &info.sections[index];

    KT_EXPECT_STREQ(t, name, s->name);
    KT_EXPECT_EQ(t, rva, s->virtual_address);
    KT_EXPECT_EQ(t, virtual_size, s->virtual_size);
    KT_EXPECT_EQ(t, raw_offset, s->raw_offset);
    KT_EXPECT_EQ(t, raw_size, s->raw_size);
    KT_EXPECT_EQ(t, characteristics, s->characteristics);
}

/* Moves every section, the entry point and the relocation directory up by delta. */
static void shift_sections(uint32_t delta)
{
    for (unsigned i = 0; i < 3; i++) {
        uint32_t at = section_field(i, SEC_VIRTUAL_ADDRESS);
        put32(at, get32(file, at) + delta);
    }
    put32(OPT_ENTRY_POINT, TEXT_RVA + delta);
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA + delta);
    put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + delta);
}

/* ---- well-formed images ---- */

static void valid_image_fields(struct ktest *t)
{
    build();
    EXPECT_STATUS(t, STATUS_SUCCESS, parse());
    KT_EXPECT_EQ(t, BASE, info.image_base);
    KT_EXPECT_EQ(t, IMAGE_SIZE, info.size_of_image);
    KT_EXPECT_EQ(t, HEADERS_SIZE, info.size_of_headers);
    KT_EXPECT_EQ(t, TEXT_RVA, info.entry_point);
    KT_EXPECT_EQ(t, 0x1000, info.section_alignment);
    KT_EXPECT_EQ(t, 0x200, info.file_alignment);
    KT_EXPECT_EQ(t, 0x200000, info.stack_reserve);
    KT_EXPECT_EQ(t, 0x1000, info.stack_commit);
    KT_EXPECT_EQ(t, 0x014C, info.machine);
    KT_EXPECT_EQ(t, EXECUTABLE_IMAGE | MACHINE_32BIT, info.characteristics);
    KT_EXPECT_EQ(t, 3, info.subsystem);
    KT_EXPECT(t, !info.large_address_aware);
    KT_EXPECT(t, info.relocatable);
    KT_EXPECT_EQ(t, RELOC_RVA, info.relocation_rva);
    KT_EXPECT_EQ(t, RELOC_TABLE_SIZE, info.relocation_size);
    KT_ASSERT_EQ(t, 3, info.section_count);
    expect_section(t, 0, ".text", TEXT_RVA, 0x1000, TEXT_RAW, RAW_SIZE,
                   SCN_CODE | SCN_EXECUTE | SCN_READ);
    expect_section(t, 1, ".data", DATA_RVA, 0x2000, DATA_RAW, RAW_SIZE,
                   SCN_DATA | SCN_READ | SCN_WRITE);
    expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, RAW_SIZE,
                   SCN_DATA | SCN_DISCARDABLE | SCN_READ);
}

static void large_address_aware_bit(struct ktest *t)
{
    build();
    put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT | LARGE_ADDRESS_AWARE);
    ACCEPTED(t);
    KT_EXPECT(t, info.large_address_aware);
}

static void eight_character_section_name(struct ktest *t)
{
    build();
    memcpy(file + section_field(1, 0), ".data123", 8);
    ACCEPTED(t);
    KT_EXPECT_STREQ(t, ".data123", info.sections[1].name);
}

static void short_optional_header(struct ktest *t)
{
    /* Six directories: the section table moves up, and the relocation one is still there. */
    build_with_directories(6);
    ACCEPTED(t);
    KT_EXPECT(t, info.relocatable);
    KT_EXPECT_EQ(t, RELOC_RVA, info.relocation_rva);
    KT_EXPECT_EQ(t, 3, info.section_count);

    build_with_directories(5);
    ACCEPTED(t);
    KT_EXPECT(t, !info.relocatable);
    KT_EXPECT_EQ(t, 0, info.relocation_rva);
    KT_EXPECT_EQ(t, 0, info.relocation_size);

    /* Room for sixteen, but only five counted: what follows them is not a directory. */
    build();
    put32(OPT_DIRECTORY_COUNT, 5);
    ACCEPTED(t);
    KT_EXPECT(t, !info.relocatable);
    KT_EXPECT_EQ(t, 0, info.relocation_size);
}

static void no_relocation_directory(struct ktest *t)
{
    build();
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, 0);
    ACCEPTED(t);
    KT_EXPECT(t, !info.relocatable);
    KT_EXPECT_EQ(t, 0, info.relocation_size);

    build();
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), 0);
    ACCEPTED(t);
    KT_EXPECT(t, !info.relocatable);
}

static void relocations_stripped(struct ktest *t)
{
    build();
    put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | RELOCS_STRIPPED);
    if (!load(t))
        return;
    KT_EXPECT(t, !info.relocatable);
    EXPECT_STATUS(t, STATUS_CONFLICTING_ADDRESSES, LdrRelocateImage(image, &info, 0x10000000));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void sixteen_sections(struct ktest *t)
{
    build();
    /* Thirteen one-page sections with no raw data after .reloc (like .bss). */
    for (unsigned i = 3; i < LDR_MAX_SECTIONS; i++)
        put_section(i, ".bss", IMAGE_SIZE + (i - 3) * 0x1000, 0x10, 0, 0,
                    SCN_DATA | SCN_READ | SCN_WRITE);
    put16(FILE_SECTION_COUNT, LDR_MAX_SECTIONS);
    put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + (LDR_MAX_SECTIONS - 3) * 0x1000);
    ACCEPTED(t);
    KT_ASSERT_EQ(t, LDR_MAX_SECTIONS, info.section_count);
    expect_section(t, 15, ".bss", 0x11000, 0x1000, 0, 0, SCN_DATA | SCN_READ | SCN_WRITE);

    /* One more is refused, with the headers grown so that only the count is wrong. */
    put_section(16, ".bss", 0x12000, 0x10, 0, 0, SCN_DATA | SCN_READ | SCN_WRITE);
    put16(FILE_SECTION_COUNT, LDR_MAX_SECTIONS + 1);
    put32(OPT_SIZE_OF_IMAGE, 0x13000);
    put32(OPT_SIZE_OF_HEADERS, 0x600);
    REFUSED(t);
}

static void virtual_size_zero_means_raw_size(struct ktest *t)
{
    build();
    put32(section_field(2, SEC_VIRTUAL_SIZE), 0);
    ACCEPTED(t);
    expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, RAW_SIZE,
                   SCN_DATA | SCN_DISCARDABLE | SCN_READ);
}

static void raw_data_longer_than_section_is_clipped(struct ktest *t)
{
    build();
    file_size = RELOC_RAW + 0x1200;
    put32(section_field(2, SEC_RAW_SIZE), 0x1200);
    EXPECT_STATUS(t, STATUS_SUCCESS, parse());
    expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, 0x1000,
                   SCN_DATA | SCN_DISCARDABLE | SCN_READ);
    /* Copying more than fits would overrun the image buffer. */
    if (info.sections[2].raw_size != 0x1000 || !load(t))
        return;
    KT_EXPECT(t, memcmp(image + RELOC_RVA, file + RELOC_RAW, 0x1000) == 0);
}

static void unaligned_size_of_image_rounded_up(struct ktest *t)
{
    build();
    put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE - 0x800);
    ACCEPTED(t);
    KT_EXPECT_EQ(t, IMAGE_SIZE, info.size_of_image);
}

static void headers_filling_the_first_page(struct ktest *t)
{
    build();
    file_size = 0x1000 + 0x200;
    put32(OPT_SIZE_OF_HEADERS, 0x1000);
    ACCEPTED(t);
    KT_EXPECT_EQ(t, 0x1000, info.size_of_headers);
}

/* ---- refused images ---- */

static void truncated_anywhere(struct ktest *t)
{
    /*
     * .reloc's raw data ends the file, so every shorter file is cut somewhere: in the
     * MS-DOS header (0, 1, 63), the PE headers, the section table or some raw data.
     */
    build();
    for (size_t size = 0; size < FILE_SIZE; size++) {
        memset(&info, 0xA5, sizeof(info));
        ntstatus_t status = LdrParseImage(file, size, SYSTEM_START, &info);
        if (status != STATUS_INVALID_IMAGE_FORMAT) {
            t->failed = true;
            ktest_diag(t, "cut to %u bytes: status 0x%08x", (unsigned)size, (uint32_t)status);
            return;
        }
    }
    file_size = FILE_SIZE;
    ACCEPTED(t);
}

static void bad_dos_magic(struct ktest *t)
{
    build();
    file[1] = 'Y';
    REFUSED(t);
    build();
    file[0] = 'P';
    file[1] = 'E';
    REFUSED(t);
}

static void e_lfanew_outside_file(struct ktest *t)
{
    static const uint32_t offsets[] = {FILE_SIZE, FILE_SIZE - 20, 0x7FFFFFFC, 0xFFFFFFFC};

    for (unsigned i = 0; i < ARRAY_SIZE(offsets); i++) {
        build();
        put32(DOS_E_LFANEW, offsets[i]);
        REFUSED(t);
    }
}

static void e_lfanew_unaligned(struct ktest *t)
{
    /* The headers really are at the odd offset, so only the alignment is wrong. */
    build();
    memmove(file + NT_AT + 2, file + NT_AT, HEADERS_SIZE - NT_AT - 2);
    put32(DOS_E_LFANEW, NT_AT + 2);
    REFUSED(t);
}

static void bad_pe_signature(struct ktest *t)
{
    build();
    memcpy(file + NT_AT, "PE\0\1", 4);
    REFUSED(t);
    build();
    memcpy(file + NT_AT, "NE\0\0", 4);
    REFUSED(t);
}

static void wrong_machine(struct ktest *t)
{
    build();
    put16(FILE_MACHINE, 0x8664);
    REFUSED(t);
    build();
    put16(FILE_MACHINE, 0);
    REFUSED(t);
}

static void zero_sections(struct ktest *t)
{
    build();
    put16(FILE_SECTION_COUNT, 0);
    REFUSED(t);
}

static void too_many_sections(struct ktest *t)
{
    build();
    put16(FILE_SECTION_COUNT, 0xFFFF);
    REFUSED(t);
}

static void bad_optional_magic(struct ktest *t)
{
    build();
    put16(OPT_MAGIC, 0x020B);       /* PE32+ */
    REFUSED(t);
}

static void optional_header_too_small(struct ktest *t)
{
    /* Four bytes short, NumberOfRvaAndSizes missing; the section table follows it. */
    build_with_directories(0);
    memmove(file + section_at - 4, file + section_at, 3 * SECTION_HEADER_SIZE);
    put16(FILE_OPTIONAL_SIZE, OPT_FIXED_SIZE - 4);
    REFUSED(t);
}

static void optional_header_outside_file(struct ktest *t)
{
    build();
    put16(FILE_OPTIONAL_SIZE, 0xFFFF);
    REFUSED(t);
}

static void too_many_directories(struct ktest *t)
{
    static const uint32_t counts[] = {17, 0x20000000, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
        build();
        put32(OPT_DIRECTORY_COUNT, counts[i]);
        REFUSED(t);
    }
    /* Within the limit, but more than SizeOfOptionalHeader holds. */
    build_with_directories(6);
    put32(OPT_DIRECTORY_COUNT, 7);
    REFUSED(t);
}

static void section_table_outside_file(struct ktest *t)
{
    build();
    put16(FILE_OPTIONAL_SIZE, FILE_SIZE - OPT_AT - SECTION_HEADER_SIZE);
    REFUSED(t);
}

static void headers_not_covering_section_table(struct ktest *t)
{
    build();
    put32(OPT_SIZE_OF_HEADERS, section_field(2, SECTION_HEADER_SIZE) - 4);
    REFUSED(t);
    build();
    put32(OPT_SIZE_OF_HEADERS, 0);
    REFUSED(t);
}

static void headers_beyond_file(struct ktest *t)
{
    build();
    put32(OPT_SIZE_OF_HEADERS, FILE_SIZE + 0x200);
    REFUSED(t);
}

/* Page-sized headers and sections, so that the layout holds for any alignment <= 4 KB. */
static void build_page_multiples(void)
{
    build();
    file_size = 0x1000;
    put32(OPT_SIZE_OF_HEADERS, 0x1000);
    put32(section_field(0, SEC_VIRTUAL_SIZE), 0x1000);
    put32(section_field(1, SEC_VIRTUAL_SIZE), 0x2000);
    put32(section_field(2, SEC_VIRTUAL_SIZE), 0x1000);
}

static void bad_section_alignment(struct ktest *t)
{
    static const uint32_t alignments[] = {0, 0x1800, 0x800, 0x200, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(alignments); i++) {
        build_page_multiples();
        put32(OPT_SECTION_ALIGNMENT, alignments[i]);
        REFUSED(t);
    }
    build_page_multiples();
    ACCEPTED(t);
}

static void bad_file_alignment(struct ktest *t)
{
    /* Not a power of two, below 512, above 64 KB, above SectionAlignment (0x1000). */
    static const uint32_t alignments[] = {0, 0x300, 0x100, 0x20000, 0x2000, 0x10000};

    for (unsigned i = 0; i < ARRAY_SIZE(alignments); i++) {
        build();
        put32(OPT_FILE_ALIGNMENT, alignments[i]);
        REFUSED(t);
    }
}

static void image_base_in_system_space(struct ktest *t)
{
    build();
    put32(OPT_IMAGE_BASE, 0x80000000);
    expect_refused(t, __LINE__, 0x80000000);
    put32(OPT_IMAGE_BASE, 0xBFFF0000);
    expect_refused(t, __LINE__, 0x80000000);
    put32(OPT_IMAGE_BASE, 0xC0000000);
    expect_refused(t, __LINE__, 0xC0000000);
    put32(OPT_IMAGE_BASE, 0xFFFF0000);
    expect_refused(t, __LINE__, 0xC0000000);
    /* With /3GB, 0xA0000000 is user space. */
    put32(OPT_IMAGE_BASE, 0xA0000000);
    expect_accepted(t, __LINE__, 0xC0000000);
    KT_EXPECT_EQ(t, 0xA0000000, info.image_base);
    expect_refused(t, __LINE__, 0xA0000000);
}

static void image_range_ending_in_system_space_accepted(struct ktest *t)
{
    /* The loader relocates such an image; only a base outside user space is malformed. */
    build();
    put32(OPT_IMAGE_BASE, 0x7FFF0000);
    expect_accepted(t, __LINE__, 0x80000000);
    KT_EXPECT_EQ(t, 0x7FFF0000, info.image_base);
}

static void image_base_in_null_region(struct ktest *t)
{
    static const uint32_t bases[] = {0, 0x8000};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        build();
        put32(OPT_IMAGE_BASE, bases[i]);
        REFUSED(t);
    }
    build();
    put32(OPT_IMAGE_BASE, 0x10000);
    ACCEPTED(t);
}

static void image_base_unaligned(struct ktest *t)
{
    static const uint32_t bases[] = {BASE + 0x1000, BASE + 0x8000, BASE + 1};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        build();
        put32(OPT_IMAGE_BASE, bases[i]);
        REFUSED(t);
    }
}

/* Grows .data and moves .reloc after it, so that the image is size bytes long. */
static void grow_image(uint32_t size)
{
    uint32_t reloc_rva = size - 0x1000;

    put32(section_field(1, SEC_VIRTUAL_SIZE), reloc_rva - DATA_RVA);
    put32(section_field(2, SEC_VIRTUAL_ADDRESS), reloc_rva);
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), reloc_rva);
    put32(OPT_SIZE_OF_IMAGE, size);
}

static void image_base_plus_size_wraps(struct ktest *t)
{
    /* A system range starting at the very top, so that only the wrap can refuse it. */
    const vaddr_t top = 0xFFFFFFFF;

    build();
    put32(OPT_IMAGE_BASE, 0xFFFF0000);
    expect_accepted(t, __LINE__, top);
    /* Ending on the last byte of the address space still fits; a page more wraps. */
    grow_image(0x10000);
    expect_accepted(t, __LINE__, top);
    grow_image(0x11000);
    expect_refused(t, __LINE__, top);
    put32(OPT_IMAGE_BASE, 0xFFFE0000);
    expect_accepted(t, __LINE__, top);
    grow_image(0x30000);
    expect_refused(t, __LINE__, top);
}

static void bad_size_of_image(struct ktest *t)
{
    static const uint32_t sizes[] = {0, IMAGE_SIZE - 0x1000, IMAGE_SIZE + 0x1000,
                                     LDR_MAX_IMAGE_SIZE + 0x1000, 0xFFFFF001};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        build();
        put32(OPT_SIZE_OF_IMAGE, sizes[i]);
        REFUSED(t);
    }
}

static void section_beyond_size_of_image(struct ktest *t)
{
    build();
    put32(section_field(2, SEC_VIRTUAL_SIZE), 0x1001);
    REFUSED(t);
}

static void sections_overlapping(struct ktest *t)
{
    build();
    put32(section_field(1, SEC_VIRTUAL_SIZE), 0x2008);   /* .data runs into .reloc */
    REFUSED(t);
    build();
    put32(section_field(1, SEC_VIRTUAL_ADDRESS), TEXT_RVA);
    REFUSED(t);
}

static void sections_unsorted(struct ktest *t)
{
    uint8_t data[SECTION_HEADER_SIZE];

    build();
    memcpy(data, file + section_field(1, 0), sizeof(data));
    memcpy(file + section_field(1, 0), file + section_field(2, 0), sizeof(data));
    memcpy(file + section_field(2, 0), data, sizeof(data));
    REFUSED(t);
}

static void section_gaps(struct ktest *t)
{
    /* After the headers, */
    build();
    shift_sections(0x1000);
    REFUSED(t);
    /* between sections, */
    build();
    put32(section_field(2, SEC_VIRTUAL_ADDRESS), RELOC_RVA + 0x1000);
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA + 0x1000);
    put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + 0x1000);
    REFUSED(t);
    /* and a section at an address that is not a multiple of the alignment. */
    build();
    put32(section_field(1, SEC_VIRTUAL_ADDRESS), DATA_RVA + 0x200);
    REFUSED(t);
}

static void empty_section(struct ktest *t)
{
    build();
    put32(section_field(2, SEC_VIRTUAL_SIZE), 0);
    put32(section_field(2, SEC_RAW_SIZE), 0);
    put32(OPT_SIZE_OF_IMAGE, RELOC_RVA);
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), 0);
    REFUSED(t);
}

static void section_raw_data_outside_file(struct ktest *t)
{
    static const uint32_t raw[][2] = {
        {FILE_SIZE - 0x100, RAW_SIZE}, {FILE_SIZE, 4}, {0xFFFFFE00, 0x400}, {DATA_RAW, 0xFFFFFE00},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(raw); i++) {
        build();
        put32(section_field(1, SEC_RAW_POINTER), raw[i][0]);
        put32(section_field(1, SEC_RAW_SIZE), raw[i][1]);
        REFUSED(t);
    }
}

static void bad_entry_point(struct ktest *t)
{
    /* Zero, in the headers, in a section that is not executable, beyond the image. */
    static const uint32_t entries[] = {0, 0x200, DATA_RVA, RELOC_RVA + 4, IMAGE_SIZE, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(entries); i++) {
        build();
        put32(OPT_ENTRY_POINT, entries[i]);
        REFUSED(t);
    }
    build();
    put32(OPT_ENTRY_POINT, TEXT_RVA + 0xFFF);
    ACCEPTED(t);
}

static void relocation_directory_outside_image(struct ktest *t)
{
    static const uint32_t directories[][2] = {
        {IMAGE_SIZE - 8, 12}, {IMAGE_SIZE, 8}, {0xFFFFFFF0, 0x20}, {RELOC_RVA, 0xFFFFF000},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(directories); i++) {
        build();
        put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), directories[i][0]);
        put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, directories[i][1]);
        REFUSED(t);
    }
}

static void dll_refused(struct ktest *t)
{
    build();
    put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT | DLL);
    REFUSED(t);
}

static void not_executable_refused(struct ktest *t)
{
    build();
    put16(FILE_CHARACTERISTICS, MACHINE_32BIT);
    REFUSED(t);
}

/* ---- layout and relocation ---- */

static bool all_zero(const uint8_t *from, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (from[i] != 0)
            return false;
    return true;
}

static void copy_places_bytes_at_rvas(struct ktest *t)
{
    build();
    if (!load(t))
        return;

    KT_EXPECT(t, memcmp(image, file, HEADERS_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + HEADERS_SIZE, TEXT_RVA - HEADERS_SIZE));
    KT_EXPECT(t, memcmp(image + TEXT_RVA, file + TEXT_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + TEXT_RVA + RAW_SIZE, 0x1000 - RAW_SIZE));
    KT_EXPECT(t, memcmp(image + DATA_RVA, file + DATA_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + DATA_RVA + RAW_SIZE, 0x2000 - RAW_SIZE));
    KT_EXPECT(t, memcmp(image + RELOC_RVA, file + RELOC_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + RELOC_RVA + RAW_SIZE, 0x1000 - RAW_SIZE));
    KT_EXPECT_EQ(t, BASE + TEXT_RVA, get32(image, DATA_RVA + DATA_POINTER_AT));
}

/* Relocates to new_base and checks that exactly the two fixups moved, by the delta. */
static void expect_relocated(struct ktest *t, uint32_t new_base)
{
    uint32_t text_fixup = TEXT_RVA + TEXT_FIXUP_AT;
    uint32_t data_fixup = DATA_RVA + DATA_POINTER_AT;

    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &info, new_base));
    KT_EXPECT_EQ(t, new_base + DATA_RVA + DATA_POINTER_AT, get32(image, text_fixup));
    KT_EXPECT_EQ(t, new_base + TEXT_RVA, get32(image, data_fixup));
    memcpy(before + text_fixup, image + text_fixup, 4);
    memcpy(before + data_fixup, image + data_fixup, 4);
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void relocate_up_and_down(struct ktest *t)
{
    static const uint32_t bases[] = {0x10000000, 0x00010000, 0x7FFD0000};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        build();
        if (load(t))
            expect_relocated(t, bases[i]);
    }
}

static void relocate_to_same_base_changes_nothing(struct ktest *t)
{
    build();
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &info, BASE));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

/* Overwrites the laid-out relocation table and expects it refused, the image unchanged. */
static void expect_bad_table(struct ktest *t, int line, const uint16_t *words, unsigned count)
{
    build();
    if (!load(t))
        return;
    /* Zeros after the words: entries that a careless walk would read pass as padding. */
    memset(image + RELOC_RVA, 0, IMAGE_SIZE - RELOC_RVA);
    memcpy(image + RELOC_RVA, words, count * sizeof(words[0]));
    memcpy(before, image, sizeof(image));
    ntstatus_t status = LdrRelocateImage(image, &info, 0x10000000);
    if (status != STATUS_INVALID_IMAGE_FORMAT || memcmp(image, before, sizeof(image)) != 0) {
        t->failed = true;
        ktest_diag(t, "line %d: status 0x%08x, expected a refusal and no change", line,
                   (uint32_t)status);
    }
}

#define BAD_TABLE(t, ...)                                                                   \
    do {                                                                                    \
        static const uint16_t words[] = {__VA_ARGS__};                                     \
        expect_bad_table(t, __LINE__, words, ARRAY_SIZE(words));                            \
    } while (0)

/* The halves of a 32-bit table word, low first. */
#define W(value) (uint16_t)((value) & 0xFFFF), (uint16_t)((uint32_t)(value) >> 16)

static void relocation_block_outside_image(struct ktest *t)
{
    /* The second block's fixups lie past the image; the first must not be applied either. */
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(IMAGE_SIZE), W(12), REL_ENTRY(REL_HIGHLOW, 0), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(0xFFFFF000), W(12), REL_ENTRY(REL_HIGHLOW, 0xFFC), 0);
    /* Even a block of padding only. */
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(IMAGE_SIZE), W(12), 0, 0);
    /* A fixup whose last bytes cross the end of the image. */
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(RELOC_RVA), W(12), REL_ENTRY(REL_HIGHLOW, 0xFFD), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(RELOC_RVA), W(12), REL_ENTRY(REL_HIGHLOW, 0xFFF), 0);
    /* A fixup inside the relocation table itself. */
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(RELOC_RVA), W(12), REL_ENTRY(REL_HIGHLOW, 0x14), 0);
}

static void relocation_in_last_word_of_image(struct ktest *t)
{
    static const uint16_t block[] = {W(RELOC_RVA), W(12), REL_ENTRY(REL_HIGHLOW, 0xFFC), 0};
    uint32_t last = BASE + TEXT_RVA;

    build();
    if (!load(t))
        return;
    memcpy(image + RELOC_RVA + 12, block, sizeof(block));
    memcpy(image + IMAGE_SIZE - 4, &last, sizeof(last));
    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &info, 0x10000000));
    KT_EXPECT_EQ(t, 0x10000000 + TEXT_RVA, get32(image, IMAGE_SIZE - 4));
    KT_EXPECT_EQ(t, 0x10000000 + DATA_RVA + DATA_POINTER_AT,
                 get32(image, TEXT_RVA + TEXT_FIXUP_AT));
}

static void relocation_unknown_type(struct ktest *t)
{
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(12), REL_ENTRY(REL_DIR64, DATA_POINTER_AT), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(12), REL_ENTRY(REL_HIGH, DATA_POINTER_AT), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(12), REL_ENTRY(15, DATA_POINTER_AT), 0);
}

static void relocation_bad_block_size(struct ktest *t)
{
    /* Too small for its own header, odd, and longer than the directory. */
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(0), 0, 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(4), 0, 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(11), REL_ENTRY(REL_HIGHLOW, DATA_POINTER_AT), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(12), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0,
              W(DATA_RVA), W(16), REL_ENTRY(REL_HIGHLOW, DATA_POINTER_AT), 0);
    BAD_TABLE(t, W(TEXT_RVA), W(0xFFFFFFF8), REL_ENTRY(REL_HIGHLOW, TEXT_FIXUP_AT), 0);
}

static void relocation_directory_ends_inside_a_block(struct ktest *t)
{
    build();
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE + 4);
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_INVALID_IMAGE_FORMAT, LdrRelocateImage(image, &info, 0x10000000));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void relocation_block_with_half_an_entry(struct ktest *t)
{
    /* An 11-byte block ending the directory: its last entry would straddle the end. */
    build();
    put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE - 1);
    put32(RELOC_RAW + 16, 11);
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_INVALID_IMAGE_FORMAT, LdrRelocateImage(image, &info, 0x10000000));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

/* ---- protections ---- */

static void section_protection_combinations(struct ktest *t)
{
    static const struct {
        uint32_t characteristics;
        uint32_t protection;
    } cases[] = {
        {0, PAGE_NOACCESS},
        {SCN_READ, PAGE_READONLY},
        {SCN_WRITE, PAGE_READWRITE},
        {SCN_READ | SCN_WRITE, PAGE_READWRITE},
        {SCN_EXECUTE, PAGE_EXECUTE_READ},
        {SCN_EXECUTE | SCN_READ, PAGE_EXECUTE_READ},
        {SCN_EXECUTE | SCN_WRITE, PAGE_EXECUTE_READWRITE},
        {SCN_EXECUTE | SCN_READ | SCN_WRITE, PAGE_EXECUTE_READWRITE},
        /* Content flags say nothing about access. */
        {SCN_CODE | SCN_DATA | SCN_DISCARDABLE, PAGE_NOACCESS},
        {SCN_CODE | SCN_READ, PAGE_READONLY},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
        KT_EXPECT_EQ(t, cases[i].protection, LdrSectionProtection(cases[i].characteristics));
    KT_EXPECT_EQ(t, SCN_EXECUTE, IMAGE_SCN_MEM_EXECUTE);
    KT_EXPECT_EQ(t, SCN_READ, IMAGE_SCN_MEM_READ);
    KT_EXPECT_EQ(t, SCN_WRITE, IMAGE_SCN_MEM_WRITE);
}

static void page_protection_of_valid_image(struct ktest *t)
{
    build();
    EXPECT_STATUS(t, STATUS_SUCCESS, parse());
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&info, 0));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&info, TEXT_RVA - 1));
    KT_EXPECT_EQ(t, PAGE_EXECUTE_READ, LdrPageProtection(&info, TEXT_RVA));
    KT_EXPECT_EQ(t, PAGE_READWRITE, LdrPageProtection(&info, DATA_RVA));
    KT_EXPECT_EQ(t, PAGE_READWRITE, LdrPageProtection(&info, RELOC_RVA - 1));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&info, RELOC_RVA));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&info, IMAGE_SIZE - 1));
    KT_EXPECT_EQ(t, PAGE_NOACCESS, LdrPageProtection(&info, IMAGE_SIZE));
    KT_EXPECT_EQ(t, PAGE_NOACCESS, LdrPageProtection(&info, 0xFFFFFFFF));
}

static const struct ktest_case cases[] = {
    KTEST_CASE(valid_image_fields),
    KTEST_CASE(large_address_aware_bit),
    KTEST_CASE(eight_character_section_name),
    KTEST_CASE(short_optional_header),
    KTEST_CASE(no_relocation_directory),
    KTEST_CASE(relocations_stripped),
    KTEST_CASE(sixteen_sections),
    KTEST_CASE(virtual_size_zero_means_raw_size),
    KTEST_CASE(raw_data_longer_than_section_is_clipped),
    KTEST_CASE(unaligned_size_of_image_rounded_up),
    KTEST_CASE(headers_filling_the_first_page),
    KTEST_CASE(truncated_anywhere),
    KTEST_CASE(bad_dos_magic),
    KTEST_CASE(e_lfanew_outside_file),
    KTEST_CASE(e_lfanew_unaligned),
    KTEST_CASE(bad_pe_signature),
    KTEST_CASE(wrong_machine),
    KTEST_CASE(zero_sections),
    KTEST_CASE(too_many_sections),
    KTEST_CASE(bad_optional_magic),
    KTEST_CASE(optional_header_too_small),
    KTEST_CASE(optional_header_outside_file),
    KTEST_CASE(too_many_directories),
    KTEST_CASE(section_table_outside_file),
    KTEST_CASE(headers_not_covering_section_table),
    KTEST_CASE(headers_beyond_file),
    KTEST_CASE(bad_section_alignment),
    KTEST_CASE(bad_file_alignment),
    KTEST_CASE(image_base_in_system_space),
    KTEST_CASE(image_range_ending_in_system_space_accepted),
    KTEST_CASE(image_base_in_null_region),
    KTEST_CASE(image_base_unaligned),
    KTEST_CASE(image_base_plus_size_wraps),
    KTEST_CASE(bad_size_of_image),
    KTEST_CASE(section_beyond_size_of_image),
    KTEST_CASE(sections_overlapping),
    KTEST_CASE(sections_unsorted),
    KTEST_CASE(section_gaps),
    KTEST_CASE(empty_section),
    KTEST_CASE(section_raw_data_outside_file),
    KTEST_CASE(bad_entry_point),
    KTEST_CASE(relocation_directory_outside_image),
    KTEST_CASE(dll_refused),
    KTEST_CASE(not_executable_refused),
    KTEST_CASE(copy_places_bytes_at_rvas),
    KTEST_CASE(relocate_up_and_down),
    KTEST_CASE(relocate_to_same_base_changes_nothing),
    KTEST_CASE(relocation_block_outside_image),
    KTEST_CASE(relocation_in_last_word_of_image),
    KTEST_CASE(relocation_unknown_type),
    KTEST_CASE(relocation_bad_block_size),
    KTEST_CASE(relocation_directory_ends_inside_a_block),
    KTEST_CASE(relocation_block_with_half_an_entry),
    KTEST_CASE(section_protection_combinations),
    KTEST_CASE(page_protection_of_valid_image),
};

KTEST_SUITE(pe_image_suite, "pe_image", cases);
