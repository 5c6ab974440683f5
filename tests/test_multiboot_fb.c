/*
 * The framebuffer as the boot-information parsers describe it: the Multiboot 2 parser
 * on framebuffer tags built by tests/multiboot2_builder.h, well-formed or not, and the
 * Multiboot 1 parser on the same framebuffers in its fixed fields, which must come out
 * described the same way.
 */
#include "boot/boot_info.h"
#include "lib/string.h"
#include "tests/fake_memory.h"
#include "tests/ktest.h"
#include "tests/multiboot2_builder.h"

/* The Multiboot 1 fields the framebuffer cases set (Multiboot 0.6.96 section 3.3). */
#define MB1_FLAGS               0
#define MB1_MMAP_LENGTH         44
#define MB1_MMAP_ADDR           48
#define MB1_FRAMEBUFFER_ADDR    88
#define MB1_FRAMEBUFFER_PITCH   96
#define MB1_FRAMEBUFFER_WIDTH   100
#define MB1_FRAMEBUFFER_HEIGHT  104
#define MB1_FRAMEBUFFER_BPP     108
#define MB1_FRAMEBUFFER_TYPE    109
#define MB1_FIXED_SIZE          110     /* the part every loader writes */
#define MB1_COLOR_INFO          112     /* where GRUB puts it (see boot/multiboot.c) */
#define MB1_INFO_SIZE           118
#define MB1_FLAG_MMAP           (1u << 6)
#define MB1_FLAG_FRAMEBUFFER    (1u << 12)

/* Where the Multiboot 1 cases put their memory map, and their information. */
#define MB1_MAP_AT              0x0400
static uint32_t mb1_at;

/* ---- the Multiboot 2 framebuffer tag ---- */

static void parse_framebuffer_block(const struct framebuffer_spec *fb, uint32_t size)
{
    block_begin();
    good_map_add();
    framebuffer_add_sized(fb, size);
    block_end();
    parse_block();
}

static void framebuffer_ega_text(struct ktest *t)
{
    static const struct framebuffer_spec text = {
        0xB8000, 160, 80, 25, 16, BOOT_FRAMEBUFFER_EGA_TEXT, {0},
    };

    parse_framebuffer_block(&text, FRAMEBUFFER_COMMON_SIZE);
    expect_warnings(t, 0);
    KT_EXPECT(t, parsed.vga_text);
    expect_framebuffer(t, &text);
}

static void framebuffer_rgb_16_and_24_bpp(struct ktest *t)
{
    static const struct framebuffer_spec modes[] = {
        {0xE0000000, 2048, 1024, 768, 16, BOOT_FRAMEBUFFER_RGB, {11, 5, 5, 6, 0, 5}},
        {0xE0000000, 3072, 1024, 768, 24, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}},
        {0x100000000, 2560, 640, 480, 32, BOOT_FRAMEBUFFER_RGB, {0, 8, 8, 8, 16, 8}},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
        parse_framebuffer_block(&modes[i], FRAMEBUFFER_RGB_SIZE);
        expect_warnings(t, 0);
        KT_EXPECT(t, !parsed.vga_text);
        expect_framebuffer(t, &modes[i]);
    }
}

static void framebuffer_indexed(struct ktest *t)
{
    static const struct framebuffer_spec indexed = {
        0xA0000, 320, 320, 200, 8, BOOT_FRAMEBUFFER_INDEXED, {0},
    };

    /* The palette: a count of 2 and two colours of 3 bytes. */
    block_begin();
    good_map_add();
    uint8_t *tag = fake_memory + block_cursor;
    framebuffer_add_sized(&indexed, FRAMEBUFFER_COMMON_SIZE + 2 + 2 * 3);
    tag[FRAMEBUFFER_COMMON_SIZE] = 2;
    block_end();
    parse_block();

    expect_warnings(t, 0);
    KT_EXPECT(t, !parsed.vga_text);
    expect_framebuffer(t, &indexed);
}

static void framebuffer_malformed_ignored(struct ktest *t)
{
    static const struct {
        struct framebuffer_spec fb;
        uint32_t size;
    } bad[] = {
        {{0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 24},
        {{0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 32},
        {{0xFD000000, 4095, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 4096, 1024, 768, 0, BOOT_FRAMEBUFFER_RGB, {0, 0, 0, 0, 0, 0}}, 38},
        {{0xFD000000, 4096, 1024, 768, 48, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 4096, 0, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8}}, 38},
        {{0xFD000000, 2048, 1024, 768, 16, BOOT_FRAMEBUFFER_RGB, {11, 5, 5, 6, 12, 5}}, 38},
        {{0xFD000000, 4096, 1024, 768, 32, 3, {0}}, 32},
    };

    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        parse_framebuffer_block(&bad[i].fb, bad[i].size);
        if (parsed.warning_count != 1 || parsed.framebuffer.present || parsed.vga_text) {
            t->failed = true;
            ktest_diag(t, "bad framebuffer %u: %u warnings, present %d, vga_text %d", i,
                       parsed.warning_count, parsed.framebuffer.present, parsed.vga_text);
        }
        expect_good_map(t);
    }
}

/* ---- the Multiboot 1 parser's framebuffer ---- */

static void mb1_begin(uint32_t info_offset, uint32_t flags)
{
    memset(fake_memory, 0, sizeof(fake_memory));
    mb1_at = info_offset;
    uint8_t *mb = fake_memory + mb1_at;
    put32(mb + MB1_FLAGS, flags | MB1_FLAG_MMAP);
    /* One map entry (size 20, base, length, type), so the map raises no warning. */
    put32(fake_memory + MB1_MAP_AT, 20);
    put64(fake_memory + MB1_MAP_AT + 4, 0x00100000);
    put64(fake_memory + MB1_MAP_AT + 12, 0x07EE0000);
    put32(fake_memory + MB1_MAP_AT + 20, BOOT_MEMORY_AVAILABLE);
    put32(mb + MB1_MMAP_LENGTH, 24);
    put32(mb + MB1_MMAP_ADDR, fake_address(MB1_MAP_AT));
}

static void mb1_framebuffer_set(const struct framebuffer_spec *fb)
{
    uint8_t *mb = fake_memory + mb1_at;

    put64(mb + MB1_FRAMEBUFFER_ADDR, fb->address);
    put32(mb + MB1_FRAMEBUFFER_PITCH, fb->pitch);
    put32(mb + MB1_FRAMEBUFFER_WIDTH, fb->width);
    put32(mb + MB1_FRAMEBUFFER_HEIGHT, fb->height);
    mb[MB1_FRAMEBUFFER_BPP] = fb->bpp;
    mb[MB1_FRAMEBUFFER_TYPE] = fb->type;
    if (mb1_at + MB1_INFO_SIZE <= sizeof(fake_memory))
        memcpy(mb + MB1_COLOR_INFO, fb->color, sizeof(fb->color));
}

static void mb1_parse(void)
{
    memset(&parsed, 0xA5, sizeof(parsed));
    boot_info_parse_multiboot1(&parsed, read_fake, NULL, fake_address(mb1_at));
}

static void mb1_framebuffer_rgb(struct ktest *t)
{
    mb1_begin(INFO_AT, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();

    expect_warnings(t, 0);
    KT_EXPECT_EQ(t, 1, parsed.protocol);
    KT_EXPECT(t, !parsed.vga_text);
    expect_framebuffer(t, &rgb32);
    /* The fixed part, then the alignment bytes and the colour information. */
    KT_EXPECT(t, covered(&parsed, fake_address(INFO_AT), fake_address(INFO_AT + MB1_FIXED_SIZE)));
    KT_EXPECT(t, covered(&parsed, fake_address(INFO_AT + MB1_FIXED_SIZE),
                         fake_address(INFO_AT + MB1_INFO_SIZE)));
}

static void mb1_framebuffer_text_and_absent(struct ktest *t)
{
    static const struct framebuffer_spec text = {
        0xB8000, 160, 80, 25, 16, BOOT_FRAMEBUFFER_EGA_TEXT, {0},
    };

    mb1_begin(INFO_AT, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&text);
    mb1_parse();
    expect_warnings(t, 0);
    KT_EXPECT(t, parsed.vga_text);
    expect_framebuffer(t, &text);

    /* Without bit 12 the fields are left over from anything and must be ignored. */
    mb1_begin(INFO_AT, 0);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();
    expect_warnings(t, 0);
    KT_EXPECT(t, parsed.vga_text);
    KT_EXPECT(t, !parsed.framebuffer.present);
}

static void mb1_framebuffer_colors_unreadable(struct ktest *t)
{
    /* The 112 bytes before the colour information are the last readable ones. */
    mb1_begin(sizeof(fake_memory) - MB1_COLOR_INFO, MB1_FLAG_FRAMEBUFFER);
    mb1_framebuffer_set(&rgb32);
    mb1_parse();

    expect_warnings(t, 1);
    KT_EXPECT(t, warning_contains(&parsed, "unreadable"));
    KT_EXPECT(t, !parsed.vga_text);
    KT_EXPECT(t, !parsed.framebuffer.present);
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(framebuffer_ega_text),
    KTEST_CASE(framebuffer_rgb_16_and_24_bpp),
    KTEST_CASE(framebuffer_indexed),
    KTEST_CASE(framebuffer_malformed_ignored),
    KTEST_CASE(mb1_framebuffer_rgb),
    KTEST_CASE(mb1_framebuffer_text_and_absent),
    KTEST_CASE(mb1_framebuffer_colors_unreadable),
};

KTEST_SUITE(multiboot_fb_suite, "multiboot_fb", cases);
