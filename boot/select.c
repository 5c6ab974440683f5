/*
 * The boot stub: the first code of the kernel file, run with paging off. The file holds
 * two builds of the kernel, one per page-table format (arch/layout.h): the two-level
 * build, which the loader has already put in place, and the PAE build, carried here as
 * an ELF image. The stub reads the command line and asks the processor what it has,
 * decides the format as the kernel will (boot/paging_mode.c), and starts the build of
 * that format with the loader's EAX and EBX as they were.
 *
 * It is linked with its own copies of boot/paging_mode.c, lib/cmdline.c and lib/string.c,
 * every symbol prefixed with stub_ and every section with .select (see the Makefile), at
 * its physical address after both builds' images (linker.ld): loading the PAE build over
 * the two-level one overwrites neither the stub nor the image it copies from. Nothing
 * here prints: the kernel chooses again with the same inputs and says what it chose, and
 * notices when the stub could not start the build it should have (a damaged image).
 */
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/layout.h"
#include "boot/boot_info.h"
#include "boot/paging_mode.h"
#include "lib/string.h"
#include "lib/types.h"

#define MULTIBOOT1_BOOT_MAGIC   0x2BADB002  /* Multiboot 0.6.96, 3.2 */
#define MULTIBOOT2_BOOT_MAGIC   0x36D76289  /* Multiboot2 2.0, 3.3 */
#define MB1_INFO_COMMAND_LINE   (1u << 2)
#define MB1_COMMAND_LINE_OFFSET 16          /* struct multiboot_info.cmdline (3.3) */
#define MB2_TAG_END             0
#define MB2_TAG_COMMAND_LINE    1           /* 3.6.5 */
#define MB2_INFO_MAX            (1u << 20)  /* larger than any loader makes it: damaged */

/*
 * The PAE build's ELF file (boot/select_payload.S); the two-level build's entry and the
 * start of the stub's own region, from linker.ld.
 */
extern const uint8_t pae_build[], pae_build_end[];
extern char two_level_start[], select_region[];

/*
 * The command line, copied out of the loader's information: bounded and NUL-terminated,
 * as long as the kernel keeps it, so that both read the same options.
 */
#define COMMAND_LINE_MAX BOOT_COMMAND_LINE_MAX
static char command_line[COMMAND_LINE_MAX];

static void copy_command_line(boot_paddr_t address)
{
    const char *from = (const char *)address;

    if (!address)
        return;
    for (size_t i = 0; i < COMMAND_LINE_MAX - 1 && from[i]; i++)
        command_line[i] = from[i];
}

static void find_command_line(uint32_t magic, boot_paddr_t info)
{
    if (magic == MULTIBOOT1_BOOT_MAGIC && info) {
        const uint32_t *mb1 = (const uint32_t *)info;
        if (mb1[0] & MB1_INFO_COMMAND_LINE)
            copy_command_line(mb1[MB1_COMMAND_LINE_OFFSET / 4]);
    } else if (magic == MULTIBOOT2_BOOT_MAGIC && info && info % 8 == 0) {
        uint32_t total = *(const uint32_t *)info;
        if (total > MB2_INFO_MAX)
            return;
        /* Tags from offset 8, each 8-aligned, each {type, size} then its data (3.6.2). */
        for (uint32_t offset = 8; offset + 8 <= total;) {
            const uint32_t *tag = (const uint32_t *)(info + offset);
            if (tag[0] == MB2_TAG_END || tag[1] < 8 || tag[1] > total - offset)
                return;
            if (tag[0] == MB2_TAG_COMMAND_LINE) {
                copy_command_line(info + offset + 8);
                return;
            }
            offset += ALIGN_UP(tag[1], 8u);
        }
    }
}

static void read_paging_cpu(struct paging_cpu *cpu)
{
    uint32_t max_leaf = 0, edx = 0, unused;

    *cpu = (struct paging_cpu){0};
    if (!cpu_has_cpuid())
        return;
    cpu_cpuid(0, &max_leaf, &unused, &unused, &unused);
    if (max_leaf >= 1)
        cpu_cpuid(1, &unused, &unused, &unused, &edx);
    cpu->pae = edx & CPUID_EDX_PAE;
    cpu->nx = cpu_extended1_edx() & CPUID_EXT_EDX_NX;
}

/* ELF32 (System V ABI, 4-8 and 5-2): the parts a loader of one executable reads. */
struct elf32_header {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_segment {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

#define ELF_PT_LOAD     1
#define ELF_MAX_SEGMENTS 8

/*
 * Puts the PAE build's loadable segments at their physical addresses, as a multiboot
 * loader would, and returns its entry; 0 when the image is not what the build makes.
 * The segments are read before anything is written, and written in order of address:
 * each lands below where its bytes come from, so memmove's forward copy never reads a
 * byte it has already overwritten.
 */
static uint32_t load_pae_build(void)
{
    const struct elf32_header *elf = (const struct elf32_header *)pae_build;
    size_t size = pae_build_end - pae_build;
    struct elf32_segment segments[ELF_MAX_SEGMENTS];
    unsigned count = 0;

    if (size < sizeof(*elf) || memcmp(elf->ident, "\x7F" "ELF\x01\x01", 6) != 0 ||
        elf->phentsize != sizeof(struct elf32_segment) || elf->phoff > size ||
        elf->phnum > (size - elf->phoff) / sizeof(struct elf32_segment))
        return 0;
    for (unsigned i = 0; i < elf->phnum; i++) {
        struct elf32_segment segment;
        memcpy(&segment, pae_build + elf->phoff + i * sizeof(segment), sizeof(segment));
        if (segment.type != ELF_PT_LOAD || segment.memsz == 0)
            continue;
        if (count == ELF_MAX_SEGMENTS || segment.filesz > segment.memsz ||
            segment.offset > size || segment.filesz > size - segment.offset ||
            segment.paddr < KERNEL_PHYS_BASE ||
            segment.paddr + segment.memsz > (uint32_t)select_region ||
            (count && segment.paddr < segments[count - 1].paddr))
            return 0;
        segments[count++] = segment;
    }
    if (count == 0)
        return 0;
    for (unsigned i = 0; i < count; i++) {
        memmove((void *)segments[i].paddr, pae_build + segments[i].offset, segments[i].filesz);
        memset((void *)(segments[i].paddr + segments[i].filesz), 0,
               segments[i].memsz - segments[i].filesz);
    }
    return elf->entry;
}

/* Called by boot/select_entry.S: the entry to jump to with the loader's registers. */
uint32_t select_kernel(uint32_t magic, boot_paddr_t info);

uint32_t select_kernel(uint32_t magic, boot_paddr_t info)
{
    struct paging_cpu cpu;
    struct paging_mode mode;

    find_command_line(magic, info);
    read_paging_cpu(&cpu);
    paging_mode_choose(command_line, &cpu, &mode);
    if (mode.pae) {
        uint32_t entry = load_pae_build();
        if (entry)
            return entry;
    }
    return (uint32_t)two_level_start;
}
