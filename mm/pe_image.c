/*
 * PE32 process images. Section numbers refer to the Microsoft PE/COFF specification,
 * revision 8 (the online "PE Format" page keeps the same titles). The file is untrusted:
 * each structure is copied out of it with memcpy, because nothing in the file need be
 * aligned, and only after the bytes are known to lie inside it; offsets and sizes are
 * added in 64 bits so that no sum can wrap.
 */
#include "mm/pe_image.h"

#include "lib/ntabi.h"
#include "lib/string.h"
#include "arch/layout.h"

/* 3.1 "MS-DOS Stub": an MS-DOS header whose field at 0x3C locates the PE signature. */
#define IMAGE_DOS_SIGNATURE     0x5A4D      /* "MZ" */

struct dos_header {
    uint16_t e_magic;
    uint8_t unused[0x3A];
    uint32_t e_lfanew;
};

/* 3.2 "Signature" and 3.3 "COFF File Header". */
#define IMAGE_NT_SIGNATURE      0x00004550  /* "PE\0\0" */

struct nt_headers {
    uint32_t signature;
    uint16_t machine;
    uint16_t number_of_sections;
    uint32_t time_date_stamp;
    uint32_t pointer_to_symbol_table;
    uint32_t number_of_symbols;
    uint16_t size_of_optional_header;
    uint16_t characteristics;
};

#define IMAGE_FILE_MACHINE_I386 0x014C      /* 3.3.1 "Machine Types" */

/* 3.3.2 "Characteristics" */
#define IMAGE_FILE_RELOCS_STRIPPED          0x0001
#define IMAGE_FILE_EXECUTABLE_IMAGE         0x0002
#define IMAGE_FILE_LARGE_ADDRESS_AWARE      0x0020
#define IMAGE_FILE_DLL                      0x2000

/*
 * 3.4 "Optional Header", the PE32 form: the standard fields (3.4.1), the Windows-specific
 * fields (3.4.2), then NumberOfRvaAndSizes data directories (3.4.3).
 */
#define IMAGE_NT_OPTIONAL_HDR32_MAGIC       0x010B
#define IMAGE_NUMBEROF_DIRECTORY_ENTRIES    16
#define IMAGE_DIRECTORY_ENTRY_BASERELOC     5

struct data_directory {
    uint32_t virtual_address;
    uint32_t size;
};

struct optional_header32 {
    uint16_t magic;
    uint8_t major_linker_version;
    uint8_t minor_linker_version;
    uint32_t size_of_code;
    uint32_t size_of_initialized_data;
    uint32_t size_of_uninitialized_data;
    uint32_t address_of_entry_point;
    uint32_t base_of_code;
    uint32_t base_of_data;
    uint32_t image_base;
    uint32_t section_alignment;
    uint32_t file_alignment;
    uint16_t os_version[2];
    uint16_t image_version[2];
    uint16_t subsystem_version[2];
    uint32_t win32_version_value;
    uint32_t size_of_image;
    uint32_t size_of_headers;
    uint32_t check_sum;
    uint16_t subsystem;
    uint16_t dll_characteristics;
    uint32_t size_of_stack_reserve;
    uint32_t size_of_stack_commit;
    uint32_t size_of_heap_reserve;
    uint32_t size_of_heap_commit;
    uint32_t loader_flags;
    uint32_t number_of_rva_and_sizes;
    struct data_directory directories[IMAGE_NUMBEROF_DIRECTORY_ENTRIES];
};

#define OPTIONAL_FIXED_SIZE     offsetof(struct optional_header32, directories)

/* 3.4.2: FileAlignment is a power of two from 512 to 64 KB. */
#define FILE_ALIGNMENT_MIN      0x200
#define FILE_ALIGNMENT_MAX      0x10000

/* 4 "Section Table" */
struct section_header {
    char name[8];
    uint32_t virtual_size;
    uint32_t virtual_address;
    uint32_t size_of_raw_data;
    uint32_t pointer_to_raw_data;
    uint32_t pointer_to_relocations;
    uint32_t pointer_to_linenumbers;
    uint16_t number_of_relocations;
    uint16_t number_of_linenumbers;
    uint32_t characteristics;
};

/* 6.6.1 "Base Relocation Block", then 16-bit entries: type in 15:12, page offset in 11:0. */
struct base_relocation_block {
    uint32_t page_rva;
    uint32_t size_of_block;             /* with this header */
};

/* 6.6.2 "Base Relocation Types" */
#define IMAGE_REL_BASED_ABSOLUTE    0
#define IMAGE_REL_BASED_HIGHLOW     3

_Static_assert(sizeof(struct dos_header) == 64, "IMAGE_DOS_HEADER layout");
_Static_assert(sizeof(struct nt_headers) == 24, "signature + IMAGE_FILE_HEADER layout");
_Static_assert(offsetof(struct optional_header32, image_base) == 28, "PE32 layout");
_Static_assert(offsetof(struct optional_header32, size_of_image) == 56, "PE32 layout");
_Static_assert(OPTIONAL_FIXED_SIZE == 96, "PE32 layout");
_Static_assert(sizeof(struct optional_header32) == 224, "IMAGE_OPTIONAL_HEADER32 layout");
_Static_assert(sizeof(struct section_header) == 40, "IMAGE_SECTION_HEADER layout");

#define FOUR_GB 0x100000000ull

static bool is_power_of_two(uint32_t value)
{
    return value != 0 && (value & (value - 1)) == 0;
}

/* [offset, offset + length) lies inside [0, size). */
static bool range_inside(uint64_t size, uint64_t offset, uint64_t length)
{
    return offset <= size && length <= size - offset;
}

/* Copies length bytes at offset out of the file; false when they are not all inside it. */
static bool file_read(const void *file, size_t size, uint64_t offset, void *out, size_t length)
{
    if (!range_inside(size, offset, length))
        return false;
    memcpy(out, (const uint8_t *)file + offset, length);
    return true;
}

/*
 * Reads and checks the MS-DOS header, the COFF header and the optional header; on success
 * *section_table is the file offset of the section table, which lies inside the file.
 */
static bool read_headers(const void *file, size_t size, struct nt_headers *nt,
                         struct optional_header32 *optional, uint64_t *section_table)
{
    struct dos_header dos;

    if (!file_read(file, size, 0, &dos, sizeof(dos)) || dos.e_magic != IMAGE_DOS_SIGNATURE)
        return false;
    if (dos.e_lfanew % 4 != 0 || !file_read(file, size, dos.e_lfanew, nt, sizeof(*nt)))
        return false;
    if (nt->signature != IMAGE_NT_SIGNATURE || nt->machine != IMAGE_FILE_MACHINE_I386)
        return false;
    if (nt->number_of_sections == 0 || nt->number_of_sections > LDR_MAX_SECTIONS)
        return false;
    if (!(nt->characteristics & IMAGE_FILE_EXECUTABLE_IMAGE) ||
        (nt->characteristics & IMAGE_FILE_DLL))
        return false;

    uint64_t optional_at = (uint64_t)dos.e_lfanew + sizeof(*nt);
    uint32_t optional_size = nt->size_of_optional_header;
    if (optional_size < OPTIONAL_FIXED_SIZE || !range_inside(size, optional_at, optional_size))
        return false;
    /* The header may be shorter than the full structure (fewer directories) or longer. */
    memset(optional, 0, sizeof(*optional));
    memcpy(optional, (const uint8_t *)file + optional_at, MIN(optional_size, sizeof(*optional)));
    if (optional->magic != IMAGE_NT_OPTIONAL_HDR32_MAGIC)
        return false;
    if (optional->number_of_rva_and_sizes > IMAGE_NUMBEROF_DIRECTORY_ENTRIES ||
        OPTIONAL_FIXED_SIZE + optional->number_of_rva_and_sizes * sizeof(struct data_directory) >
            optional_size)
        return false;

    *section_table = optional_at + optional_size;
    return range_inside(size, *section_table,
                        (uint64_t)nt->number_of_sections * sizeof(struct section_header));
}

/* Checks the alignments, the image's size and base, and the size of the headers. */
static bool check_layout(size_t size, const struct nt_headers *nt,
                         const struct optional_header32 *optional, uint64_t section_table,
                         vaddr_t system_start, struct ldr_image_info *info)
{
    uint32_t section_alignment = optional->section_alignment;
    uint32_t file_alignment = optional->file_alignment;
    uint64_t section_table_end =
        section_table + (uint64_t)nt->number_of_sections * sizeof(struct section_header);

    if (!is_power_of_two(section_alignment) || section_alignment < PAGE_SIZE)
        return false;
    if (!is_power_of_two(file_alignment) || file_alignment < FILE_ALIGNMENT_MIN ||
        file_alignment > FILE_ALIGNMENT_MAX || file_alignment > section_alignment)
        return false;

    uint64_t size_of_image = ALIGN_UP((uint64_t)optional->size_of_image, section_alignment);
    if (size_of_image == 0 || size_of_image > LDR_MAX_IMAGE_SIZE)
        return false;

    /* 3.4.2: ImageBase is a multiple of 64 KB; NT refuses one outside user space. */
    uint32_t image_base = optional->image_base;
    if (image_base % MM_ALLOCATION_GRANULARITY != 0 || image_base < MM_LOWEST_USER_ADDRESS ||
        image_base >= system_start || image_base + size_of_image > FOUR_GB)
        return false;

    if (optional->size_of_headers < section_table_end || optional->size_of_headers > size)
        return false;

    info->image_base = image_base;
    info->size_of_image = (uint32_t)size_of_image;
    info->size_of_headers = optional->size_of_headers;
    info->entry_point = optional->address_of_entry_point;
    info->section_alignment = section_alignment;
    info->file_alignment = file_alignment;
    info->stack_reserve = optional->size_of_stack_reserve;
    info->stack_commit = optional->size_of_stack_commit;
    info->machine = nt->machine;
    info->characteristics = nt->characteristics;
    info->subsystem = optional->subsystem;
    info->large_address_aware = (nt->characteristics & IMAGE_FILE_LARGE_ADDRESS_AWARE) != 0;
    info->nx_compat = (optional->dll_characteristics & IMAGE_DLLCHARACTERISTICS_NX_COMPAT) != 0;
    return true;
}

/*
 * Reads the section table into info. As NT does, the sections must follow the headers
 * and each other without gaps, up to SizeOfImage: then every page of the image has
 * exactly one owner and one protection, and order, alignment and overlap need no
 * separate checks.
 */
static bool read_sections(const void *file, size_t size, uint64_t section_table,
                          unsigned count, struct ldr_image_info *info)
{
    uint64_t next = ALIGN_UP((uint64_t)info->size_of_headers, info->section_alignment);

    for (unsigned i = 0; i < count; i++) {
        struct section_header header;
        struct ldr_section *section = &info->sections[i];

        if (!file_read(file, size, section_table + i * sizeof(header), &header, sizeof(header)))
            return false;
        /*
         * 4: SizeOfRawData is rounded to FileAlignment and VirtualSize is not, so either
         * may be the larger; raw bytes past VirtualSize are padding. A VirtualSize of 0
         * means SizeOfRawData, as NT reads it.
         */
        uint32_t virtual_size = header.virtual_size ? header.virtual_size
                                                    : header.size_of_raw_data;
        uint64_t mapped_size = ALIGN_UP((uint64_t)virtual_size, info->section_alignment);
        if (virtual_size == 0 || header.virtual_address != next)
            return false;
        next += mapped_size;
        if (next > info->size_of_image)
            return false;
        if (header.size_of_raw_data != 0 &&
            !range_inside(size, header.pointer_to_raw_data, header.size_of_raw_data))
            return false;

        memcpy(section->name, header.name, sizeof(header.name));
        section->name[sizeof(header.name)] = '\0';
        section->virtual_address = header.virtual_address;
        section->virtual_size = (uint32_t)mapped_size;
        section->raw_size = (uint32_t)MIN((uint64_t)header.size_of_raw_data, mapped_size);
        section->raw_offset = section->raw_size ? header.pointer_to_raw_data : 0;
        section->characteristics = header.characteristics;
    }
    info->section_count = count;
    return next == info->size_of_image;
}

static const struct ldr_section *section_at(const struct ldr_image_info *info, uint32_t rva)
{
    for (unsigned i = 0; i < info->section_count; i++) {
        const struct ldr_section *section = &info->sections[i];
        if (rva >= section->virtual_address &&
            rva - section->virtual_address < section->virtual_size)
            return section;
    }
    return NULL;
}

/* Checks the entry point and records the base-relocation directory, if there is one. */
static bool check_entry_and_relocations(const struct optional_header32 *optional,
                                        struct ldr_image_info *info)
{
    const struct ldr_section *entry_section = section_at(info, info->entry_point);

    if (info->entry_point == 0 || entry_section == NULL ||
        !(entry_section->characteristics & IMAGE_SCN_MEM_EXECUTE))
        return false;

    if (optional->number_of_rva_and_sizes <= IMAGE_DIRECTORY_ENTRY_BASERELOC)
        return true;
    const struct data_directory *relocations =
        &optional->directories[IMAGE_DIRECTORY_ENTRY_BASERELOC];
    /* As in NT, a zero address or a zero size both mean "no directory". */
    if (relocations->virtual_address == 0 || relocations->size == 0)
        return true;
    if (!range_inside(info->size_of_image, relocations->virtual_address, relocations->size))
        return false;
    info->relocation_rva = relocations->virtual_address;
    info->relocation_size = relocations->size;
    info->relocatable = !(info->characteristics & IMAGE_FILE_RELOCS_STRIPPED);
    return true;
}

ntstatus_t LdrParseImage(const void *file, size_t size, vaddr_t system_start,
                         struct ldr_image_info *info)
{
    struct nt_headers nt;
    struct optional_header32 optional;
    uint64_t section_table;

    memset(info, 0, sizeof(*info));
    if (!read_headers(file, size, &nt, &optional, &section_table) ||
        !check_layout(size, &nt, &optional, section_table, system_start, info) ||
        !read_sections(file, size, section_table, nt.number_of_sections, info) ||
        !check_entry_and_relocations(&optional, info)) {
        memset(info, 0, sizeof(*info));
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    return STATUS_SUCCESS;
}

void LdrCopyImage(void *image, const void *file, const struct ldr_image_info *info)
{
    uint8_t *to = image;
    const uint8_t *from = file;

    memcpy(to, from, info->size_of_headers);
    for (unsigned i = 0; i < info->section_count; i++) {
        const struct ldr_section *section = &info->sections[i];
        memcpy(to + section->virtual_address, from + section->raw_offset, section->raw_size);
    }
}

/*
 * Walks the relocation table of a laid-out image, checking every block and entry, and
 * when apply is set adds delta to each HIGHLOW fixup; false at the first malformed one.
 */
static bool relocations_walk(uint8_t *image, const struct ldr_image_info *info, uint32_t delta,
                             bool apply)
{
    uint64_t table = info->relocation_rva;
    uint64_t table_end = table + info->relocation_size;

    if (table_end > info->size_of_image)
        return false;
    for (uint64_t block_at = table; block_at < table_end;) {
        struct base_relocation_block block;

        if (table_end - block_at < sizeof(block))
            return false;
        memcpy(&block, image + block_at, sizeof(block));
        /* 6.6.1 wants blocks 32-bit aligned; nothing here depends on it, so it is not asked. */
        if (block.size_of_block < sizeof(block) || block.size_of_block % 2 != 0 ||
            block.size_of_block > table_end - block_at || block.page_rva >= info->size_of_image)
            return false;

        uint64_t block_end = block_at + block.size_of_block;
        for (uint64_t entry_at = block_at + sizeof(block); entry_at < block_end; entry_at += 2) {
            uint16_t entry;
            memcpy(&entry, image + entry_at, sizeof(entry));
            unsigned type = entry >> 12;
            uint64_t target = (uint64_t)block.page_rva + (entry & 0xFFF);

            if (type == IMAGE_REL_BASED_ABSOLUTE)
                continue;
            if (type != IMAGE_REL_BASED_HIGHLOW || target + 4 > info->size_of_image)
                return false;
            /* A fixup inside the table would change entries after they were checked. */
            if (target < table_end && target + 4 > table)
                return false;
            if (apply) {
                uint32_t value;
                memcpy(&value, image + target, sizeof(value));
                value += delta;
                memcpy(image + target, &value, sizeof(value));
            }
        }
        block_at = block_end;
    }
    return true;
}

ntstatus_t LdrRelocateImage(void *image, const struct ldr_image_info *info, uint32_t new_base)
{
    uint32_t delta = new_base - info->image_base;

    if (!info->relocatable)
        return STATUS_CONFLICTING_ADDRESSES;
    if (!relocations_walk(image, info, 0, false))
        return STATUS_INVALID_IMAGE_FORMAT;
    if (delta != 0)
        relocations_walk(image, info, delta, true);
    return STATUS_SUCCESS;
}

uint32_t LdrSectionProtection(uint32_t characteristics)
{
    bool execute = characteristics & IMAGE_SCN_MEM_EXECUTE;
    bool write = characteristics & IMAGE_SCN_MEM_WRITE;
    bool read = characteristics & IMAGE_SCN_MEM_READ;

    if (execute)
        return write ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ;
    if (write)
        return PAGE_READWRITE;
    return read ? PAGE_READONLY : PAGE_NOACCESS;
}

uint32_t LdrPageProtection(const struct ldr_image_info *info, uint32_t rva)
{
    const struct ldr_section *section;

    if (rva >= info->size_of_image)
        return PAGE_NOACCESS;
    section = section_at(info, rva);
    return section ? LdrSectionProtection(section->characteristics) : PAGE_READONLY;
}
