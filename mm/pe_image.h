#pragma once
/*
 * PE32 process images: the header checks, the layout of the file at its RVAs, and base
 * relocation. The parser decides everything the loader builds from; the loader trusts
 * only a struct ldr_image_info that LdrParseImage filled in from the same bytes.
 */
#include "lib/ntstatus.h"
#include "lib/types.h"

#define LDR_MAX_SECTIONS    16
#define LDR_MAX_IMAGE_SIZE  0x10000000      /* 256 MB: room to place it in any split */

/* Section characteristics the loader acts on (PE/COFF 4.1 "Section Flags"). */
#define IMAGE_SCN_MEM_EXECUTE   0x20000000
#define IMAGE_SCN_MEM_READ      0x40000000
#define IMAGE_SCN_MEM_WRITE     0x80000000
/* The optional header's DllCharacteristics bit the loader acts on (PE/COFF 3.4.1). */
#define IMAGE_DLLCHARACTERISTICS_NX_COMPAT 0x0100

struct ldr_section {
    char name[9];                   /* NUL-terminated; "/4"-style long names stay as they are */
    uint32_t virtual_address;       /* RVA, a multiple of section_alignment */
    uint32_t virtual_size;          /* as mapped: VirtualSize (or SizeOfRawData when 0),
                                       rounded up to section_alignment */
    uint32_t raw_offset;            /* file offset of the bytes copied in */
    uint32_t raw_size;              /* SizeOfRawData clipped to virtual_size */
    uint32_t characteristics;       /* IMAGE_SCN_* */
};

/*
 * Every page of [0, size_of_image) belongs either to the headers, [0, the first section's
 * RVA), or to exactly one section: the sections follow each other without gaps up to
 * size_of_image.
 */
struct ldr_image_info {
    uint32_t image_base;            /* preferred */
    uint32_t size_of_image;         /* rounded up to section_alignment */
    uint32_t size_of_headers;
    uint32_t entry_point;           /* RVA, inside an executable section */
    uint32_t section_alignment, file_alignment;
    uint32_t stack_reserve, stack_commit;   /* as the file says: 0 means a default */
    uint16_t machine, characteristics, subsystem;
    bool large_address_aware;       /* IMAGE_FILE_LARGE_ADDRESS_AWARE */
    bool nx_compat;                 /* IMAGE_DLLCHARACTERISTICS_NX_COMPAT: DEP under OptIn */
    bool relocatable;               /* has a base-relocation directory, relocs not stripped */
    uint32_t relocation_rva, relocation_size;   /* 0, 0 when there is no directory */
    unsigned section_count;
    struct ldr_section sections[LDR_MAX_SECTIONS];
};

/*
 * Checks every header field the loader uses and fills in info; STATUS_SUCCESS or
 * STATUS_INVALID_IMAGE_FORMAT, never reading outside file[0, size). A preferred base in
 * system space (>= system_start) or below MM_LOWEST_USER_ADDRESS is refused; a preferred
 * range that merely ends above the process's limit is not (the loader relocates it).
 */
ntstatus_t LdrParseImage(const void *file, size_t size, vaddr_t system_start,
                         struct ldr_image_info *info);

/*
 * Lays the headers and each section's raw data out at their RVAs in image, which holds
 * info->size_of_image bytes, already zeroed; file is the one info was parsed from.
 */
void LdrCopyImage(void *image, const void *file, const struct ldr_image_info *info);

/*
 * Applies the base relocations for a move from info->image_base to new_base, on the
 * laid-out image. Every block and entry is checked before the first fixup is written, so
 * on failure the image is unchanged: STATUS_INVALID_IMAGE_FORMAT for a malformed table,
 * STATUS_CONFLICTING_ADDRESSES for an image that is not relocatable.
 */
ntstatus_t LdrRelocateImage(void *image, const struct ldr_image_info *info, uint32_t new_base);

/*
 * The PAGE_* protection for a section's IMAGE_SCN_MEM_* characteristics: without NX,
 * execute implies read and write alone is still readable; none gives PAGE_NOACCESS.
 */
uint32_t LdrSectionProtection(uint32_t characteristics);

/*
 * The protection of the image page at rva: PAGE_READONLY for the headers, the covering
 * section's otherwise, PAGE_NOACCESS at or beyond size_of_image.
 */
uint32_t LdrPageProtection(const struct ldr_image_info *info, uint32_t rva);
