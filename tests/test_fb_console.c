/*
 * The framebuffer console, drawn into ordinary memory: exact pixels against the font's
 * bits at 16, 24 and 32 bits per pixel, nothing drawn outside a character's cell, line
 * wrap, the control characters, scrolling, and the geometries it must refuse.
 */
#include "arch/fb_console.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

/* 10 x 3 cells with 2 pixel rows to spare, and padding past the end of each row. */
#define TEST_WIDTH      80
#define TEST_HEIGHT     50
#define TEST_PADDING    12
#define TEST_BYTES      ((TEST_WIDTH * 4 + TEST_PADDING) * TEST_HEIGHT)
#define TEST_PAGES      (2 * ALIGN_UP(TEST_BYTES, PAGE_SIZE) / PAGE_SIZE)
#define SENTINEL        0x5A

/* Fresh pages for a surface and a copy of it; test_memory_free gives them all back. */
struct test_memory {
    vaddr_t va;
    unsigned pages;     /* mapped so far */
    pfn_t pfns[TEST_PAGES];
};

static void test_memory_free(struct test_memory *memory)
{
    if (memory->pages)
        MiUnmapRange(memory->va, memory->pages * PAGE_SIZE);
    for (unsigned i = 0; i < memory->pages; i++)
        MiInsertPageInFreeList(memory->pfns[i]);
    MiReleaseSystemPtes(memory->va, TEST_PAGES);
}

static bool test_memory_alloc(struct ktest *t, struct test_memory *memory)
{
    memory->pages = 0;
    memory->va = MiReserveSystemPtes(TEST_PAGES);
    if (!KT_EXPECT(t, memory->va != 0))
        return false;
    while (memory->pages < TEST_PAGES) {
        pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
        if (!KT_EXPECT(t, pfn != PFN_INVALID))
            goto fail;
        vaddr_t va = memory->va + memory->pages * PAGE_SIZE;
        if (!KT_EXPECT_EQ(t, STATUS_SUCCESS, MiMapRange(va, pfn_to_paddr(pfn), PAGE_SIZE,
                                                        pte_make_kernel(0, true)))) {
            MiInsertPageInFreeList(pfn);
            goto fail;
        }
        memory->pfns[memory->pages++] = pfn;
    }
    return true;
fail:
    test_memory_free(memory);
    return false;
}

static uint8_t *surface_pixels(struct test_memory *memory)
{
    return (uint8_t *)memory->va;
}

static uint8_t *copy_pixels(struct test_memory *memory)
{
    return (uint8_t *)memory->va + ALIGN_UP(TEST_BYTES, PAGE_SIZE);
}

/* The layouts GRUB reports: 5:6:5 for 16 bits, x:8:8:8 (red on top) otherwise. */
static struct fb_geometry test_geometry(uint8_t bpp)
{
    struct fb_geometry g = {
        .pitch = TEST_WIDTH * (bpp / 8) + TEST_PADDING,
        .width = TEST_WIDTH,
        .height = TEST_HEIGHT,
        .bpp = bpp,
    };

    if (bpp == 16) {
        g.red_position = 11, g.red_size = 5;
        g.green_position = 5, g.green_size = 6;
        g.blue_position = 0, g.blue_size = 5;
    } else {
        g.red_position = 16, g.red_size = 8;
        g.green_position = 8, g.green_size = 8;
        g.blue_position = 0, g.blue_size = 8;
    }
    return g;
}

/* Read byte by byte, so that it does not share the code under test. */
static uint32_t load_pixel(const struct fb_surface *surface, uint32_t x, uint32_t y)
{
    unsigned bytes = surface->geometry.bpp / 8;
    const uint8_t *pixel = surface->pixels + y * surface->geometry.pitch + x * bytes;
    uint32_t value = 0;

    for (unsigned i = 0; i < bytes; i++)
        value |= (uint32_t)pixel[i] << (8 * i);
    return value;
}

static bool glyph_bit(uint8_t ch, uint32_t x, uint32_t y)
{
    return fb_font_glyphs[fb_font_map[ch]][y] & (0x80 >> x);
}

/* True when cell (column, row) shows ch exactly, in foreground on background. */
static bool cell_shows(struct ktest *t, const struct fb_surface *surface, uint32_t column,
                       uint32_t row, uint8_t ch, uint32_t foreground, uint32_t background)
{
    for (uint32_t y = 0; y < FB_FONT_HEIGHT; y++) {
        for (uint32_t x = 0; x < FB_FONT_WIDTH; x++) {
            uint32_t expected = glyph_bit(ch, x, y) ? foreground : background;
            uint32_t actual = load_pixel(surface, column * FB_FONT_WIDTH + x,
                                         row * FB_FONT_HEIGHT + y);
            if (actual != expected) {
                ktest_diag(t, "cell (%u, %u), '%c': pixel (%u, %u) is 0x%x, not 0x%x",
                           column, row, ch, x, y, actual, expected);
                return false;
            }
        }
    }
    return true;
}

static bool screen_shows(struct ktest *t, const struct fb_screen *screen, uint32_t column,
                         uint32_t row, uint8_t ch)
{
    return cell_shows(t, &screen->surface, column, row, ch, screen->foreground,
                      screen->background);
}

/* The font is the generated one, with the size the header names and a usable map. */
static void font_has_expected_shape(struct ktest *t)
{
    bool space_blank = true, a_inked = false, same_as_b = true;

    KT_EXPECT_EQ(t, 8, FB_FONT_WIDTH);
    KT_EXPECT_EQ(t, 16, FB_FONT_HEIGHT);
    KT_EXPECT(t, fb_font_glyph_count >= 256);
    for (unsigned code = 0; code < 256; code++)
        if (!KT_EXPECT(t, fb_font_map[code] < fb_font_glyph_count))
            return;
    for (uint32_t y = 0; y < FB_FONT_HEIGHT; y++) {
        space_blank &= fb_font_glyphs[fb_font_map[' ']][y] == 0;
        a_inked |= fb_font_glyphs[fb_font_map['A']][y] != 0;
        same_as_b &= fb_font_glyphs[fb_font_map['A']][y] == fb_font_glyphs[fb_font_map['B']][y];
    }
    KT_EXPECT(t, space_blank);
    KT_EXPECT(t, a_inked);
    KT_EXPECT(t, !same_as_b);
    /* '_' has ink only in its lower half: the rows are not upside down. */
    for (uint32_t y = 0; y < FB_FONT_HEIGHT / 2; y++)
        KT_EXPECT_EQ(t, 0, fb_font_glyphs[fb_font_map['_']][y]);
    /* Latin-1 letters are mapped; control characters get the replacement glyph. */
    KT_EXPECT(t, fb_font_map[0xE9] != fb_font_map[0x01]);
    KT_EXPECT_EQ(t, fb_font_map[0x01], fb_font_map[0x02]);
}

static void colors_follow_the_layout(struct ktest *t)
{
    struct fb_geometry g16 = test_geometry(16), g32 = test_geometry(32);
    struct fb_geometry bgr = g32;

    KT_EXPECT_EQ(t, 0xF800, fb_color_pack(&g16, 0xFF, 0x00, 0x00));
    KT_EXPECT_EQ(t, 0x07E0, fb_color_pack(&g16, 0x00, 0xFF, 0x00));
    KT_EXPECT_EQ(t, 0x001F, fb_color_pack(&g16, 0x00, 0x00, 0xFF));
    KT_EXPECT_EQ(t, 0x8410, fb_color_pack(&g16, 0x80, 0x80, 0x80));
    KT_EXPECT_EQ(t, 0x123456, fb_color_pack(&g32, 0x12, 0x34, 0x56));
    bgr.red_position = 0;
    bgr.blue_position = 16;
    KT_EXPECT_EQ(t, 0x563412, fb_color_pack(&bgr, 0x12, 0x34, 0x56));
}

/*
 * Draws 'A' in cell (3, 1) of a surface filled with SENTINEL bytes, then tries cells
 * just off the grid: the one cell is exact, and every other byte, the row padding
 * included, is untouched.
 */
static void check_put_char(struct ktest *t, uint8_t bpp)
{
    struct fb_geometry g = test_geometry(bpp);
    struct test_memory memory;
    unsigned bytes = bpp / 8, wrong = 0;

    KT_ASSERT(t, test_memory_alloc(t, &memory));
    struct fb_surface surface = {surface_pixels(&memory), g};
    uint32_t foreground = fb_color_pack(&g, 0xFF, 0xC0, 0x40);
    uint32_t background = fb_color_pack(&g, 0x20, 0x40, 0x80);

    memset(surface.pixels, SENTINEL, g.pitch * g.height);
    fb_surface_put_char(&surface, 3, 1, 'A', foreground, background);
    fb_surface_put_char(&surface, TEST_WIDTH / FB_FONT_WIDTH, 0, 'B', foreground, background);
    fb_surface_put_char(&surface, 0, TEST_HEIGHT / FB_FONT_HEIGHT, 'C', foreground,
                        background);
    KT_EXPECT(t, cell_shows(t, &surface, 3, 1, 'A', foreground, background));
    for (uint32_t y = 0; y < g.height; y++) {
        for (uint32_t offset = 0; offset < g.pitch; offset++) {
            uint32_t x = offset / bytes;
            bool in_cell = offset < g.width * bytes && x / FB_FONT_WIDTH == 3 &&
                           y / FB_FONT_HEIGHT == 1;
            wrong += !in_cell && surface.pixels[y * g.pitch + offset] != SENTINEL;
        }
    }
    KT_EXPECT_EQ(t, 0, wrong);
    test_memory_free(&memory);
}

static void put_char_16bpp(struct ktest *t)
{
    check_put_char(t, 16);
}

static void put_char_24bpp(struct ktest *t)
{
    check_put_char(t, 24);
}

static void put_char_32bpp(struct ktest *t)
{
    check_put_char(t, 32);
}

/* A new screen is background everywhere it is visible; the row padding is not its own. */
static void screen_starts_cleared(struct ktest *t)
{
    struct fb_geometry g = test_geometry(24);
    struct test_memory memory;
    struct fb_screen screen;
    unsigned wrong = 0;

    KT_ASSERT(t, test_memory_alloc(t, &memory));
    memset(surface_pixels(&memory), SENTINEL, g.pitch * g.height);
    KT_EXPECT(t, fb_screen_init(&screen, surface_pixels(&memory), &g));
    KT_EXPECT_EQ(t, TEST_WIDTH / FB_FONT_WIDTH, screen.columns);
    KT_EXPECT_EQ(t, TEST_HEIGHT / FB_FONT_HEIGHT, screen.rows);
    KT_EXPECT(t, screen.foreground != screen.background);
    for (uint32_t y = 0; y < g.height; y++) {
        for (uint32_t x = 0; x < g.width; x++)
            wrong += load_pixel(&screen.surface, x, y) != screen.background;
        for (uint32_t offset = g.width * 3; offset < g.pitch; offset++)
            wrong += screen.surface.pixels[y * g.pitch + offset] != SENTINEL;
    }
    KT_EXPECT_EQ(t, 0, wrong);
    test_memory_free(&memory);
}

/* A character past the right edge starts the next line; a full line then '\n' is one line. */
static void write_wraps_at_right_edge(struct ktest *t)
{
    struct fb_geometry g = test_geometry(16);
    struct test_memory memory;
    struct fb_screen screen;

    KT_ASSERT(t, test_memory_alloc(t, &memory));
    KT_ASSERT(t, fb_screen_init(&screen, surface_pixels(&memory), &g));
    fb_screen_write(&screen, "0123456789AB", 12);
    for (uint32_t column = 0; column < 10; column++)
        KT_EXPECT(t, screen_shows(t, &screen, column, 0, "0123456789"[column]));
    KT_EXPECT(t, screen_shows(t, &screen, 0, 1, 'A'));
    KT_EXPECT(t, screen_shows(t, &screen, 1, 1, 'B'));
    KT_EXPECT_EQ(t, 1, screen.row);
    KT_EXPECT_EQ(t, 2, screen.column);

    fb_screen_write(&screen, "\rabcdefghij\nZ", 13);
    KT_EXPECT(t, screen_shows(t, &screen, 9, 1, 'j'));
    KT_EXPECT(t, screen_shows(t, &screen, 0, 2, 'Z'));
    KT_EXPECT_EQ(t, 2, screen.row);
    KT_EXPECT_EQ(t, 1, screen.column);
    test_memory_free(&memory);
}

/* '\r' returns to the line's start, '\t' goes to the next multiple of 8 or the edge. */
static void control_characters_move_the_position(struct ktest *t)
{
    struct fb_geometry g = test_geometry(32);
    struct test_memory memory;
    struct fb_screen screen;

    KT_ASSERT(t, test_memory_alloc(t, &memory));
    KT_ASSERT(t, fb_screen_init(&screen, surface_pixels(&memory), &g));
    fb_screen_write(&screen, "ab\rc\tx\n\t\tz", 10);
    KT_EXPECT(t, screen_shows(t, &screen, 0, 0, 'c'));
    KT_EXPECT(t, screen_shows(t, &screen, 1, 0, 'b'));
    KT_EXPECT(t, screen_shows(t, &screen, 2, 0, ' '));
    KT_EXPECT(t, screen_shows(t, &screen, 8, 0, 'x'));
    /* The second tab stops at the edge (10 columns); 'z' wraps to the next line. */
    KT_EXPECT(t, screen_shows(t, &screen, 8, 1, ' '));
    KT_EXPECT(t, screen_shows(t, &screen, 0, 2, 'z'));
    KT_EXPECT_EQ(t, 2, screen.row);
    KT_EXPECT_EQ(t, 1, screen.column);
    test_memory_free(&memory);
}

/*
 * A new line after the last one moves every pixel row up by the glyph height, clears
 * the last line and leaves the pixel rows below the last whole line alone.
 */
static void check_scroll(struct ktest *t, uint8_t bpp)
{
    struct fb_geometry g = test_geometry(bpp);
    struct test_memory memory;
    struct fb_screen screen;
    uint32_t text_height = (TEST_HEIGHT / FB_FONT_HEIGHT) * FB_FONT_HEIGHT;
    unsigned moved_wrong = 0, cleared_wrong = 0, spare_wrong = 0;

    KT_ASSERT(t, test_memory_alloc(t, &memory));
    KT_ASSERT(t, fb_screen_init(&screen, surface_pixels(&memory), &g));
    uint8_t *pixels = screen.surface.pixels, *before = copy_pixels(&memory);
    memset(pixels + text_height * g.pitch, SENTINEL, (g.height - text_height) * g.pitch);
    fb_screen_write(&screen, "aaaaaaaaaa\nbbb\nccc", 18);
    KT_EXPECT_EQ(t, 2, screen.row);
    /* Ink in the last line's empty cells, down to its bottom row, for the clear to erase. */
    for (uint32_t y = text_height - FB_FONT_HEIGHT; y < text_height; y++)
        memset(pixels + y * g.pitch + 3 * FB_FONT_WIDTH * (bpp / 8), SENTINEL,
               (g.width - 3 * FB_FONT_WIDTH) * (bpp / 8));
    memcpy(before, pixels, g.pitch * g.height);

    fb_screen_write(&screen, "\n", 1);
    KT_EXPECT_EQ(t, 2, screen.row);
    KT_EXPECT_EQ(t, 0, screen.column);
    for (uint32_t y = 0; y + FB_FONT_HEIGHT < text_height; y++)
        moved_wrong += memcmp(pixels + y * g.pitch, before + (y + FB_FONT_HEIGHT) * g.pitch,
                              g.pitch) != 0;
    for (uint32_t y = text_height - FB_FONT_HEIGHT; y < text_height; y++)
        for (uint32_t x = 0; x < g.width; x++)
            cleared_wrong += load_pixel(&screen.surface, x, y) != screen.background;
    for (uint32_t y = text_height; y < g.height; y++)
        spare_wrong += memcmp(pixels + y * g.pitch, before + y * g.pitch, g.pitch) != 0;
    KT_EXPECT_EQ(t, 0, moved_wrong);
    KT_EXPECT_EQ(t, 0, cleared_wrong);
    KT_EXPECT_EQ(t, 0, spare_wrong);

    fb_screen_write(&screen, "d", 1);
    KT_EXPECT(t, screen_shows(t, &screen, 0, 0, 'b'));
    KT_EXPECT(t, screen_shows(t, &screen, 0, 1, 'c'));
    KT_EXPECT(t, screen_shows(t, &screen, 0, 2, 'd'));
    KT_EXPECT(t, screen_shows(t, &screen, 1, 2, ' '));
    test_memory_free(&memory);
}

static void scroll_16bpp(struct ktest *t)
{
    check_scroll(t, 16);
}

static void scroll_24bpp(struct ktest *t)
{
    check_scroll(t, 24);
}

static void scroll_32bpp(struct ktest *t)
{
    check_scroll(t, 32);
}

static bool refused(struct fb_geometry g)
{
    return !fb_geometry_is_supported(&g);
}

static void unsupported_geometry_refused(struct ktest *t)
{
    const struct fb_geometry good = test_geometry(32);
    struct fb_geometry g;

    KT_EXPECT(t, fb_geometry_is_supported(&good));
    KT_EXPECT(t, !refused(test_geometry(16)));
    KT_EXPECT(t, !refused(test_geometry(24)));
    for (unsigned bpp = 0; bpp <= 64; bpp++)
        if (bpp != 16 && bpp != 24 && bpp != 32)
            KT_EXPECT(t, refused((g = good, g.bpp = (uint8_t)bpp, g)));
    KT_EXPECT(t, refused((g = good, g.width = 0, g)));
    KT_EXPECT(t, refused((g = good, g.height = 0, g)));
    KT_EXPECT(t, refused((g = good, g.pitch = 0, g)));
    KT_EXPECT(t, refused((g = good, g.width = FB_FONT_WIDTH - 1, g)));
    KT_EXPECT(t, refused((g = good, g.height = FB_FONT_HEIGHT - 1, g)));
    KT_EXPECT(t, refused((g = good, g.pitch = good.width * 4 - 1, g)));
    /* width * 4 wraps to 0 in 32 bits */
    KT_EXPECT(t, refused((g = good, g.width = 0x40000000, g.pitch = 0, g)));
    KT_EXPECT(t, refused((g = good, g.pitch = 0x10000, g.height = 0x10000, g)));
    KT_EXPECT(t, refused((g = good, g.red_size = 0, g)));
    KT_EXPECT(t, refused((g = good, g.green_size = 9, g)));
    KT_EXPECT(t, refused((g = good, g.blue_position = 25, g)));
    KT_EXPECT(t, refused((g = test_geometry(16), g.red_size = 8, g)));

    /* Refused before anything is touched or mapped. */
    uint8_t untouched[16];
    struct fb_screen screen;
    uint32_t free_ptes = MiFreeSystemPtes();
    g = good;
    g.bpp = 8;
    memset(untouched, SENTINEL, sizeof(untouched));
    KT_EXPECT(t, !fb_screen_init(&screen, untouched, &g));
    for (unsigned i = 0; i < sizeof(untouched); i++)
        KT_EXPECT_EQ(t, SENTINEL, untouched[i]);
    KT_EXPECT(t, !fb_console_init(0xFD000000, &g, MmMapIoSpace));
    KT_EXPECT(t, !fb_console_init(0xFFFFF000, &good, MmMapIoSpace));     /* runs past 4 GB */
    KT_EXPECT_EQ(t, free_ptes, MiFreeSystemPtes());
}

static const struct ktest_case cases[] = {
    KTEST_CASE(font_has_expected_shape),
    KTEST_CASE(colors_follow_the_layout),
    KTEST_CASE(put_char_16bpp),
    KTEST_CASE(put_char_24bpp),
    KTEST_CASE(put_char_32bpp),
    KTEST_CASE(screen_starts_cleared),
    KTEST_CASE(write_wraps_at_right_edge),
    KTEST_CASE(control_characters_move_the_position),
    KTEST_CASE(scroll_16bpp),
    KTEST_CASE(scroll_24bpp),
    KTEST_CASE(scroll_32bpp),
    KTEST_CASE(unsupported_geometry_refused),
};

KTEST_SUITE(fb_console_suite, "fb_console", cases);
