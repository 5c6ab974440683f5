/*
 * What becomes of a PE32 image the parser accepted: LdrCopyImage lays the valid
 * executable of tests/pe_builder.h out at its RVAs, LdrRelocateImage moves it to other
 * bases (and must refuse a broken relocation table without changing a byte), and
 * LdrSectionProtection and LdrPageProtection give each page the access its section asks.
 */
#include "lib/ntabi.h"
#include "mm/pe_image.h"
#include "lib/string.h"
#include "tests/ktest.h"
#include "tests/pe_builder.h"

static uint8_t image[IMAGE_SIZE];
static uint8_t before[IMAGE_SIZE];

/* Parses the image and lays it out in image; false (and a failure) if it is refused. */
static bool load(struct ktest *t)
{
    EXPECT_STATUS(t, STATUS_SUCCESS, pe_parse());
    if (pe_info.size_of_image != IMAGE_SIZE)
        return false;
    memset(image, 0, sizeof(image));
    LdrCopyImage(image, pe_file, &pe_info);
    memcpy(before, image, sizeof(image));
    return true;
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
    pe_build();
    if (!load(t))
        return;

    KT_EXPECT(t, memcmp(image, pe_file, HEADERS_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + HEADERS_SIZE, TEXT_RVA - HEADERS_SIZE));
    KT_EXPECT(t, memcmp(image + TEXT_RVA, pe_file + TEXT_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + TEXT_RVA + RAW_SIZE, 0x1000 - RAW_SIZE));
    KT_EXPECT(t, memcmp(image + DATA_RVA, pe_file + DATA_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + DATA_RVA + RAW_SIZE, 0x2000 - RAW_SIZE));
    KT_EXPECT(t, memcmp(image + RELOC_RVA, pe_file + RELOC_RAW, RAW_SIZE) == 0);
    KT_EXPECT(t, all_zero(image + RELOC_RVA + RAW_SIZE, 0x1000 - RAW_SIZE));
    KT_EXPECT_EQ(t, BASE + TEXT_RVA, pe_get32(image, DATA_RVA + DATA_POINTER_AT));
}

static void raw_data_longer_than_section_is_clipped(struct ktest *t)
{
    pe_build();
    pe_file_size = RELOC_RAW + 0x1200;
    pe_put32(pe_section_field(2, SEC_RAW_SIZE), 0x1200);
    EXPECT_STATUS(t, STATUS_SUCCESS, pe_parse());
    pe_expect_section(t, 2, ".reloc", RELOC_RVA, 0x1000, RELOC_RAW, 0x1000,
                      SCN_DATA | SCN_DISCARDABLE | SCN_READ);
    /* Copying more than fits would overrun the image buffer. */
    if (pe_info.sections[2].raw_size != 0x1000 || !load(t))
        return;
    KT_EXPECT(t, memcmp(image + RELOC_RVA, pe_file + RELOC_RAW, 0x1000) == 0);
}

/* Relocates to new_base and checks that exactly the two fixups moved, by the delta. */
static void expect_relocated(struct ktest *t, uint32_t new_base)
{
    uint32_t text_fixup = TEXT_RVA + TEXT_FIXUP_AT;
    uint32_t data_fixup = DATA_RVA + DATA_POINTER_AT;

    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &pe_info, new_base));
    KT_EXPECT_EQ(t, new_base + DATA_RVA + DATA_POINTER_AT, pe_get32(image, text_fixup));
    KT_EXPECT_EQ(t, new_base + TEXT_RVA, pe_get32(image, data_fixup));
    memcpy(before + text_fixup, image + text_fixup, 4);
    memcpy(before + data_fixup, image + data_fixup, 4);
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void relocate_up_and_down(struct ktest *t)
{
    static const uint32_t bases[] = {0x10000000, 0x00010000, 0x7FFD0000};

    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
        pe_build();
        if (load(t))
            expect_relocated(t, bases[i]);
    }
}

static void relocate_to_same_base_changes_nothing(struct ktest *t)
{
    pe_build();
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &pe_info, BASE));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void relocations_stripped(struct ktest *t)
{
    pe_build();
    pe_put16(FILE_CHARACTERISTICS, EXECUTABLE_IMAGE | RELOCS_STRIPPED);
    if (!load(t))
        return;
    KT_EXPECT(t, !pe_info.relocatable);
    EXPECT_STATUS(t, STATUS_CONFLICTING_ADDRESSES, LdrRelocateImage(image, &pe_info, 0x10000000));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

/* Overwrites the laid-out relocation table and expects it refused, the image unchanged. */
static void expect_bad_table(struct ktest *t, int line, const uint16_t *words, unsigned count)
{
    pe_build();
    if (!load(t))
        return;
    /* Zeros after the words: entries that a careless walk would read pass as padding. */
    memset(image + RELOC_RVA, 0, IMAGE_SIZE - RELOC_RVA);
    memcpy(image + RELOC_RVA, words, count * sizeof(words[0]));
    memcpy(before, image, sizeof(image));
    ntstatus_t status = LdrRelocateImage(image, &pe_info, 0x10000000);
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

    pe_build();
    if (!load(t))
        return;
    memcpy(image + RELOC_RVA + 12, block, sizeof(block));
    memcpy(image + IMAGE_SIZE - 4, &last, sizeof(last));
    EXPECT_STATUS(t, STATUS_SUCCESS, LdrRelocateImage(image, &pe_info, 0x10000000));
    KT_EXPECT_EQ(t, 0x10000000 + TEXT_RVA, pe_get32(image, IMAGE_SIZE - 4));
    KT_EXPECT_EQ(t, 0x10000000 + DATA_RVA + DATA_POINTER_AT,
                 pe_get32(image, TEXT_RVA + TEXT_FIXUP_AT));
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
    pe_build();
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE + 4);
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_INVALID_IMAGE_FORMAT, LdrRelocateImage(image, &pe_info, 0x10000000));
    KT_EXPECT(t, memcmp(image, before, sizeof(image)) == 0);
}

static void relocation_block_with_half_an_entry(struct ktest *t)
{
    /* An 11-byte block ending the directory: its last entry would straddle the end. */
    pe_build();
    pe_put32(OPT_DIRECTORY(DIRECTORY_BASERELOC) + 4, RELOC_TABLE_SIZE - 1);
    pe_put32(RELOC_RAW + 16, 11);
    if (!load(t))
        return;
    EXPECT_STATUS(t, STATUS_INVALID_IMAGE_FORMAT, LdrRelocateImage(image, &pe_info, 0x10000000));
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
    pe_build();
    EXPECT_STATUS(t, STATUS_SUCCESS, pe_parse());
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&pe_info, 0));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&pe_info, TEXT_RVA - 1));
    KT_EXPECT_EQ(t, PAGE_EXECUTE_READ, LdrPageProtection(&pe_info, TEXT_RVA));
    KT_EXPECT_EQ(t, PAGE_READWRITE, LdrPageProtection(&pe_info, DATA_RVA));
    KT_EXPECT_EQ(t, PAGE_READWRITE, LdrPageProtection(&pe_info, RELOC_RVA - 1));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&pe_info, RELOC_RVA));
    KT_EXPECT_EQ(t, PAGE_READONLY, LdrPageProtection(&pe_info, IMAGE_SIZE - 1));
    KT_EXPECT_EQ(t, PAGE_NOACCESS, LdrPageProtection(&pe_info, IMAGE_SIZE));
    KT_EXPECT_EQ(t, PAGE_NOACCESS, LdrPageProtection(&pe_info, 0xFFFFFFFF));
}

static const struct ktest_case cases[] = {
    KTEST_CASE(copy_places_bytes_at_rvas),
    KTEST_CASE(raw_data_longer_than_section_is_clipped),
    KTEST_CASE(relocate_up_and_down),
    KTEST_CASE(relocate_to_same_base_changes_nothing),
    KTEST_CASE(relocations_stripped),
    KTEST_CASE(relocation_block_outside_image),
    KTEST_CASE(relocation_in_last_word_of_image),
    KTEST_CASE(relocation_unknown_type),
    KTEST_CASE(relocation_bad_block_size),
    KTEST_CASE(relocation_directory_ends_inside_a_block),
    KTEST_CASE(relocation_block_with_half_an_entry),
    KTEST_CASE(section_protection_combinations),
    KTEST_CASE(page_protection_of_valid_image),
};

KTEST_SUITE(pe_layout_suite, "pe_layout", cases);
