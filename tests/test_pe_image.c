/*
 * The PE32 image parser on crafted files: each case takes the valid executable of
 * tests/pe_builder.h, breaks one thing in it, and the parser must refuse exactly the
 * broken ones and report every field of the others.
 */
#include "lib/ntabi.h"
#include "mm/pe_image.h"
#include "lib/string.h"
#include "tests/ktest.h"
#include "tests/pe_builder.h"

/* Moves every section, the entry point and the relocation directory up by delta. */
static void shift_sections(uint32_t delta)
{
    for (unsigned i = 0; i < 3; i++) {
        uint32_t at = pe_section_field(i, SEC_VIRTUAL_ADDRESS);
        pe_put32(at, pe_get32(pe_file, at) + delta);
    }
    pe_put32(OPT_ENTRY_POINT, TEXT_RVA + delta);
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA + delta);
    pe_put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + delta);
}

/* ---- well-formed images ---- */

static void valid_image_fields(struct ktest *t)
{
    pe_build();
    EXPECT_STATUS(t, STATUS_SUCCESS, pe_parse());
    KT_EXPECT_EQ(t, BASE, pe_info.image_base);
    KT_EXPECT_EQ(t, IMAGE_SIZE, pe_info.size_of_image);
    KT_EXPECT_EQ(t, HEADERS_SIZE, pe_info.size_of_headers);
    KT_EXPECT_EQ(t, TEXT_RVA, pe_info.entry_point);
    KT_EXPECT_EQ(t, 0x1000, pe_info.section_alignment);
    KT_EXPECT_EQ(t, 0x200, pe_info.file_alignment);
    KT_EXPECT_EQ(t, 0x200000, pe_info.stack_reserve);
    KT_EXPECT_EQ(t, 0x1000, pe_info.stack_commit);
    KT_EXPECT_EQ(t, 0x014C, pe_info.machine);
    KT_EXPECT_EQ(t, EXECUTABLE_IMAGE | MACHINE_32BIT, pe_info.characteristics);
    KT_EXPECT_EQ(t, 3, pe_info.subsystem);
    KT_EXPECT(t, !pe_info.large_address_aware);
    KT_EXPECT(t, pe_info.relocatable);
    KT_EXPECT_EQ(t, RELOC_RVA, pe_info.relocation_rva);
    KT_EXPECT_EQ(t, RELOC_TABLE_SIZE, pe_info.relocation_size);
    KT_ASSERT_EQ(t, 3, pe_info.section_count);
    pe_expect_section(t, 0, ".text", TEXT_RVA, 0x1000, TEXT_RAW, RAW_SIZE,
                      SCN_CODE | SCN_EXECUTE | SCN_READ);
    pe_expect_section(t, 1, ".data", DATA_RVA, 0x2000, DATA_RAW, RAW_SIZE,
                      SCN_DATA | SCN_READ | SCN_WRITE);
    pe_expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, RAW_SIZE,
                      SCN_DATA | SCN_DISCARDABLE | SCN_READ);
}

static void large_address_aware_bit(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT | LARGE_ADDRESS_AWARE);
    ACCEPTED(t);
    KT_EXPECT(t, pe_info.large_address_aware);
}

static void eight_character_section_name(struct ktest *t)
{
    pe_build();
    memcpy(pe_file + pe_section_field(1, 0), ".data123", 8);
    ACCEPTED(t);
    KT_EXPECT_STREQ(t, ".data123", pe_info.sections[1].name);
}

static void short_optional_header(struct ktest *t)
{
    /* Six directories: the section table moves up, and the relocation one is still there. */
    pe_build_with_directories(6);
    ACCEPTED(t);
    KT_EXPECT(t, pe_info.relocatable);
    KT_EXPECT_EQ(t, RELOC_RVA, pe_info.relocation_rva);
    KT_EXPECT_EQ(t, 3, pe_info.section_count);

    pe_build_with_directories(5);
    ACCEPTED(t);
    KT_EXPECT(t, !pe_info.relocatable);
    KT_EXPECT_EQ(t, 0, pe_info.relocation_rva);
    KT_EXPECT_EQ(t, 0, pe_info.relocation_size);

    /* Room for sixteen, but only five counted: what follows them is not a directory. */
    pe_build();
    pe_put32(OPT_DIRECTORY_COUNT, 5);
    ACCEPTED(t);
    KT_EXPECT(t, !pe_info.relocatable);
    KT_EXPECT_EQ(t, 0, pe_info.relocation_size);
}

static void no_relocation_directory(struct ktest *t)
{
    pe_build();
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, 0);
    ACCEPTED(t);
    KT_EXPECT(t, !pe_info.relocatable);
    KT_EXPECT_EQ(t, 0, pe_info.relocation_size);

    pe_build();
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), 0);
    ACCEPTED(t);
    KT_EXPECT(t, !pe_info.relocatable);
}

static void sixteen_sections(struct ktest *t)
{
    pe_build();
    /* Thirteen one-page sections with no raw data after .reloc (like .bss). */
    for (unsigned i = 3; i < LDR_MAX_SECTIONS; i++)
        pe_put_section(i, ".bss", IMAGE_SIZE + (i - 3) * 0x1000, 0x10, 0, 0,
                       SCN_DATA | SCN_READ | SCN_WRITE);
    pe_put16(FILE_SECTION_COUNT, LDR_MAX_SECTIONS);
    pe_put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + (LDR_MAX_SECTIONS - 3) * 0x1000);
    ACCEPTED(t);
    KT_ASSERT_EQ(t, LDR_MAX_SECTIONS, pe_info.section_count);
    pe_expect_section(t, 15, ".bss", 0x11000, 0x1000, 0, 0, SCN_DATA | SCN_READ | SCN_WRITE);

    /* One more is refused, with the headers grown so that only the count is wrong. */
    pe_put_section(16, ".bss", 0x12000, 0x10, 0, 0, SCN_DATA | SCN_READ | SCN_WRITE);
    pe_put16(FILE_SECTION_COUNT, LDR_MAX_SECTIONS + 1);
    pe_put32(OPT_SIZE_OF_IMAGE, 0x13000);
    pe_put32(OPT_SIZE_OF_HEADERS, 0x600);
    REFUSED(t);
}

static void virtual_size_zero_means_raw_size(struct ktest *t)
{
    pe_build();
    pe_put32(pe_section_field(2, SEC_VIRTUAL_SIZE), 0);
    ACCEPTED(t);
    pe_expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, RAW_SIZE,
                      SCN_DATA | SCN_DISCARDABLE | SCN_READ);
}

static void unaligned_size_of_image_rounded_up(struct ktest *t)
{
    pe_build();
    pe_put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE - 0x800);
    ACCEPTED(t);
    KT_EXPECT_EQ(t, IMAGE_SIZE, pe_info.size_of_image);
}

static void headers_filling_the_first_page(struct ktest *t)
{
    pe_build();
    pe_file_size = 0x1000 + 0x200;
    pe_put32(OPT_SIZE_OF_HEADERS, 0x1000);
    ACCEPTED(t);
    KT_EXPECT_EQ(t, 0x1000, pe_info.size_of_headers);
}

/* ---- refused images ---- */

static void truncated_anywhere(struct ktest *t)
{
    /*
     * .reloc's raw data ends the file, so every shorter file is cut somewhere: in the
     * MS-DOS header (0, 1, 63), the PE headers, the section table or some raw data.
     */
    pe_build();
    for (size_t size = 0; size < FILE_SIZE; size++) {
        memset(&pe_info, 0xA5, sizeof(pe_info));
        ntstatus_t status = LdrParseImage(pe_file, size, SYSTEM_START, &pe_info);
        if (status != STATUS_INVALID_IMAGE_FORMAT) {
            t->failed = true;
            ktest_diag(t, "cut to %u bytes: status 0x%08x", (unsigned)size, (uint32_t)status);
            return;
        }
    }
    pe_file_size = FILE_SIZE;
    ACCEPTED(t);
}

static void bad_dos_magic(struct ktest *t)
{
    pe_build();
    pe_file[1] = 'Y';
    REFUSED(t);
    pe_build();
    pe_file[0] = 'P';
    pe_file[1] = 'E';
    REFUSED(t);
}

static void e_lfanew_outside_file(struct ktest *t)
{
    static const uint32_t offsets[] = {FILE_SIZE, FILE_SIZE - 20, 0x7FFFFFFC, 0xFFFFFFFC};

    for (unsigned i = 0; i < ARRAY_SIZE(offsets); i++) {
        pe_build();
        pe_put32(DOS_E_LFANEW, offsets[i]);
        REFUSED(t);
    }
}

static void e_lfanew_unaligned(struct ktest *t)
{
    /* The headers really are at the odd offset, so only the alignment is wrong. */
    pe_build();
    memmove(pe_file + NT_AT + 2, pe_file + NT_AT, HEADERS_SIZE - NT_AT - 2);
    pe_put32(DOS_E_LFANEW, NT_AT + 2);
    REFUSED(t);
}

static void bad_pe_signature(struct ktest *t)
{
    pe_build();
    memcpy(pe_file + NT_AT, "PE\0\1", 4);
    REFUSED(t);
    pe_build();
    memcpy(pe_file + NT_AT, "NE\0\0", 4);
    REFUSED(t);
}

static void wrong_machine(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_MACHINE, 0x8664);
    REFUSED(t);
    pe_build();
    pe_put16(FILE_MACHINE, 0);
    REFUSED(t);
}

static void zero_sections(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_SECTION_COUNT, 0);
    REFUSED(t);
}

static void too_many_sections(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_SECTION_COUNT, 0xFFFF);
    REFUSED(t);
}

static void bad_optional_magic(struct ktest *t)
{
    pe_build();
    pe_put16(OPT_MAGIC, 0x020B);    /* PE32+ */
    REFUSED(t);
}

static void optional_header_too_small(struct ktest *t)
{
    /* Four bytes short, NumberOfRvaAndSizes missing; the section table follows it. */
    pe_build_with_directories(0);
    memmove(pe_file + pe_section_at - 4, pe_file + pe_section_at, 3 * SECTION_HEADER_SIZE);
    pe_put16(FILE_OPTIONAL_SIZE, OPT_FIXED_SIZE - 4);
    REFUSED(t);
}

static void optional_header_outside_file(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_OPTIONAL_SIZE, 0xFFFF);
    REFUSED(t);
}

static void too_many_directories(struct ktest *t)
{
    static const uint32_t counts[] = {17, 0x20000000, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
        pe_build();
        pe_put32(OPT_DIRECTORY_COUNT, counts[i]);
        REFUSED(t);
    }
    /* Within the limit, but more than SizeOfOptionalHeader holds. */
    pe_build_with_directories(6);
    pe_put32(OPT_DIRECTORY_COUNT, 7);
    REFUSED(t);
}

static void section_table_outside_file(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_OPTIONAL_SIZE, FILE_SIZE - OPT_AT - SECTION_HEADER_SIZE);
    REFUSED(t);
}

static void headers_not_covering_section_table(struct ktest *t)
{
    pe_build();
    pe_put32(OPT_SIZE_OF_HEADERS, pe_section_field(2, SECTION_HEADER_SIZE) - 4);
    REFUSED(t);
    pe_build();
    pe_put32(OPT_SIZE_OF_HEADERS, 0);
    REFUSED(t);
}

static void headers_beyond_file(struct ktest *t)
{
    pe_build();
    pe_put32(OPT_SIZE_OF_HEADERS, FILE_SIZE + 0x200);
    REFUSED(t);
}

/* Page-sized headers and sections, so that the layout holds for any alignment <= 4 KB. */
static void build_page_multiples(void)
{
    pe_build();
    pe_file_size = 0x1000;
    pe_put32(OPT_SIZE_OF_HEADERS, 0x1000);
    pe_put32(pe_section_field(0, SEC_VIRTUAL_SIZE), 0x1000);
    pe_put32(pe_section_field(1, SEC_VIRTUAL_SIZE), 0x2000);
    pe_put32(pe_section_field(2, SEC_VIRTUAL_SIZE), 0x1000);
}

static void bad_section_alignment(struct ktest *t)
{
    static const uint32_t alignments[] = {0, 0x1800, 0x800, 0x200, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(alignments); i++) {
        build_page_multiples();
        pe_put32(OPT_SECTION_ALIGNMENT, alignments[i]);
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
        pe_build();
        pe_put32(OPT_FILE_ALIGNMENT, alignments[i]);
        REFUSED(t);
    }
}

static void image_base_in_system_space(struct ktest *t)
{
    pe_build();
    pe_put32(OPT_IMAGE_BASE, 0x80000000);
    pe_expect_refused(t, __LINE__, 0x80000000);
    pe_put32(OPT_IMAGE_BASE, 0xBFFF0000);
    pe_expect_refused(t, __LINE__, 0x80000000);
    pe_put32(OPT_IMAGE_BASE, 0xC0000000);
    pe_expect_refused(t, __LINE__, 0xC0000000);
    pe_put32(OPT_IMAGE_BASE, 0xFFFF0000);
    pe_expect_refused(t, __LINE__, 0xC0000000);
    /* With /3GB, 0xA0000000 is user space. */
    pe_put32(OPT_IMAGE_BASE, 0xA0000000);
    pe_expect_accepted(t, __LINE__, 0xC0000000);
    KT_EXPECT_EQ(t, 0xA0000000, pe_info.image_base);
    pe_expect_refused(t, __LINE__, 0xA0000000);
}

static void image_range_ending_in_system_space_accepted(struct ktest *t)
{
    /* The loader relocates such an image; only a base outside user space is malformed. */
    pe_build();
    pe_put32(OPT_IMAGE_BASE, 0x7FFF0000);
    pe_expect_accepted(t, __LINE__, 0x80000000);
    KT_EXPECT_EQ(t, 0x7FFF0000, pe_info.image_base);
}

static void image_base_in_null_region(struct ktest *t)
{
    static const uint32_t bases[] = {0, 0x8000};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        pe_build();
        pe_put32(OPT_IMAGE_BASE, bases[i]);
        REFUSED(t);
    }
    pe_build();
    pe_put32(OPT_IMAGE_BASE, 0x10000);
    ACCEPTED(t);
}

static void image_base_unaligned(struct ktest *t)
{
    static const uint32_t bases[] = {BASE + 0x1000, BASE + 0x8000, BASE + 1};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        pe_build();
        pe_put32(OPT_IMAGE_BASE, bases[i]);
        REFUSED(t);
    }
}

/* Grows .data and moves .reloc after it, so that the image is size bytes long. */
static void grow_image(uint32_t size)
{
    uint32_t reloc_rva = size - 0x1000;

    pe_put32(pe_section_field(1, SEC_VIRTUAL_SIZE), reloc_rva - DATA_RVA);
    pe_put32(pe_section_field(2, SEC_VIRTUAL_ADDRESS), reloc_rva);
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), reloc_rva);
    pe_put32(OPT_SIZE_OF_IMAGE, size);
}

static void image_base_plus_size_wraps(struct ktest *t)
{
    /* A system range starting at the very top, so that only the wrap can refuse it. */
    const vaddr_t top = 0xFFFFFFFF;

    pe_build();
    pe_put32(OPT_IMAGE_BASE, 0xFFFF0000);
    pe_expect_accepted(t, __LINE__, top);
    /* Ending on the last byte of the address space still fits; a page more wraps. */
    grow_image(0x10000);
    pe_expect_accepted(t, __LINE__, top);
    grow_image(0x11000);
    pe_expect_refused(t, __LINE__, top);
    pe_put32(OPT_IMAGE_BASE, 0xFFFE0000);
    pe_expect_accepted(t, __LINE__, top);
    grow_image(0x30000);
    pe_expect_refused(t, __LINE__, top);
}

static void bad_size_of_image(struct ktest *t)
{
    static const uint32_t sizes[] = {0, IMAGE_SIZE - 0x1000, IMAGE_SIZE + 0x1000,
                                     LDR_MAX_IMAGE_SIZE + 0x1000, 0xFFFFF001};

    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        pe_build();
        pe_put32(OPT_SIZE_OF_IMAGE, sizes[i]);
        REFUSED(t);
    }
}

static void section_beyond_size_of_image(struct ktest *t)
{
    pe_build();
    pe_put32(pe_section_field(2, SEC_VIRTUAL_SIZE), 0x1001);
    REFUSED(t);
}

static void sections_overlapping(struct ktest *t)
{
    pe_build();
    pe_put32(pe_section_field(1, SEC_VIRTUAL_SIZE), 0x2008); /* .data runs into .reloc */
    REFUSED(t);
    pe_build();
    pe_put32(pe_section_field(1, SEC_VIRTUAL_ADDRESS), TEXT_RVA);
    REFUSED(t);
}

static void sections_unsorted(struct ktest *t)
{
    uint8_t data[SECTION_HEADER_SIZE];

    pe_build();
    memcpy(data, pe_file + pe_section_field(1, 0), sizeof(data));
    memcpy(pe_file + pe_section_field(1, 0), pe_file + pe_section_field(2, 0), sizeof(data));
    memcpy(pe_file + pe_section_field(2, 0), data, sizeof(data));
    REFUSED(t);
}

static void section_gaps(struct ktest *t)
{
    /* After the headers, */
    pe_build();
    shift_sections(0x1000);
    REFUSED(t);
    /* between sections, */
    pe_build();
    pe_put32(pe_section_field(2, SEC_VIRTUAL_ADDRESS), RELOC_RVA + 0x1000);
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), RELOC_RVA + 0x1000);
    pe_put32(OPT_SIZE_OF_IMAGE, IMAGE_SIZE + 0x1000);
    REFUSED(t);
    /* and a section at an address that is not a multiple of the alignment. */
    pe_build();
    pe_put32(pe_section_field(1, SEC_VIRTUAL_ADDRESS), DATA_RVA + 0x200);
    REFUSED(t);
}

static void empty_section(struct ktest *t)
{
    pe_build();
    pe_put32(pe_section_field(2, SEC_VIRTUAL_SIZE), 0);
    pe_put32(pe_section_field(2, SEC_RAW_SIZE), 0);
    pe_put32(OPT_SIZE_OF_IMAGE, RELOC_RVA);
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), 0);
    REFUSED(t);
}

static void section_raw_data_outside_file(struct ktest *t)
{
    static const uint32_t raw[][2] = {
        {FILE_SIZE - 0x100, RAW_SIZE}, {FILE_SIZE, 4}, {0xFFFFFE00, 0x400}, {DATA_RAW, 0xFFFFFE00},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(raw); i++) {
        pe_build();
        pe_put32(pe_section_field(1, SEC_RAW_POINTER), raw[i][0]);
        pe_put32(pe_section_field(1, SEC_RAW_SIZE), raw[i][1]);
        REFUSED(t);
    }
}

static void bad_entry_point(struct ktest *t)
{
    /* Zero, in the headers, in a section that is not executable, beyond the image. */
    static const uint32_t entries[] = {0, 0x200, DATA_RVA, RELOC_RVA + 4, IMAGE_SIZE, 0xFFFFFFFF};

    for (unsigned i = 0; i < ARRAY_SIZE(entries); i++) {
        pe_build();
        pe_put32(OPT_ENTRY_POINT, entries[i]);
        REFUSED(t);
    }
    pe_build();
    pe_put32(OPT_ENTRY_POINT, TEXT_RVA + 0xFFF);
    ACCEPTED(t);
}

static void relocation_directory_outside_image(struct ktest *t)
{
    static const uint32_t directories[][2] = {
        {IMAGE_SIZE - 8, 12}, {IMAGE_SIZE, 8}, {0xFFFFFFF0, 0x20}, {RELOC_RVA, 0xFFFFF000},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(directories); i++) {
        pe_build();
        pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC), directories[i][0]);
        pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, directories[i][1]);
        REFUSED(t);
    }
}

static void dll_refused(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | MACHINE_32BIT | DLL);
    REFUSED(t);
}

static void not_executable_refused(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_CHARACTERISTICS, MACHINE_32BIT);
    REFUSED(t);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(valid_image_fields),
    KTEST_CASE(large_address_aware_bit),
    KTEST_CASE(eight_character_section_name),
    KTEST_CASE(short_optional_header),
    KTEST_CASE(no_relocation_directory),
    KTEST_CASE(sixteen_sections),
    KTEST_CASE(virtual_size_zero_means_raw_size),
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
};

KTEST_SUITE(pe_image_suite, "pe_image", cases);
