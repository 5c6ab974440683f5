#pragma once
/*
 * The PE32 file the image loader's tests start from: pe_build writes a valid
 * three-section executable into pe_file, a case breaks one thing in it, and pe_parse
 * hands it to LdrParseImage. Field offsets are written out here from the PE/COFF
 * specification rather than taken from the parser, so that a mistake in either shows
 * up. Used by tests/test_pe_image.c (parsing) and tests/test_pe_layout.c (layout,
 * relocation, protection).
 */
#include "lib/ntabi.h"
#include "mm/pe_image.h"
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

#define PE_FILE_ROOM            0x2000  /* the largest file a case writes */

extern uint8_t pe_file[PE_FILE_ROOM];
extern size_t pe_file_size;
extern uint32_t pe_section_at;      /* file offset of the section table */
extern struct ldr_image_info pe_info;

/* Little-endian stores into pe_file at a file offset, and a load from any buffer. */
void pe_put16(uint32_t at, uint16_t value);
void pe_put32(uint32_t at, uint32_t value);
uint32_t pe_get32(const uint8_t *from, uint32_t at);

/* The file offset of field (SEC_*) of section header index. */
uint32_t pe_section_field(unsigned index, unsigned field);

/* Writes section header index. */
void pe_put_section(unsigned index, const char *name, uint32_t rva, uint32_t virtual_size,
                    uint32_t raw_pointer, uint32_t raw_size, uint32_t characteristics);

/* Builds the valid image with directories data directories in its optional header. */
void pe_build_with_directories(unsigned directories);

/* Builds the valid image with all sixteen data directories. */
void pe_build(void);

/* Parses pe_file into pe_info, which is first filled with garbage, for a 2 GB split. */
ntstatus_t pe_parse(void);

/* Parses pe_file for the split at system_start; a failure naming line unless accepted. */
void pe_expect_accepted(struct ktest *t, int line, vaddr_t system_start);

/* The same, unless refused as STATUS_INVALID_IMAGE_FORMAT with no section reported. */
void pe_expect_refused(struct ktest *t, int line, vaddr_t system_start);

/* Checks section index of pe_info field by field. */
void pe_expect_section(struct ktest *t, unsigned index, const char *name, uint32_t rva,
                       uint32_t virtual_size, uint32_t raw_offset, uint32_t raw_size,
                       uint32_t characteristics);

#define EXPECT_STATUS(t, expected, actual)                                                  \
    KT_EXPECT_EQ(t, (uint32_t)(expected), (uint32_t)(actual))

#define ACCEPTED(t) pe_expect_accepted(t, __LINE__, SYSTEM_START)
#define REFUSED(t) pe_expect_refused(t, __LINE__, SYSTEM_START)
