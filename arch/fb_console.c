/*
 * Text on a linear framebuffer: each character is a FB_FONT_WIDTH x FB_FONT_HEIGHT cell
 * painted from the font's bitmap, one pixel at a time in the loader's pixel format.
 * Only the cell a character lands in is drawn; scrolling moves the pixel rows up.
 */
#include "arch/fb_console.h"
#include "lib/console.h"
#include "lib/string.h"

_Static_assert(FB_FONT_WIDTH <= 8, "fb_font_glyphs holds one byte per pixel row");

#define FB_TAB_WIDTH 8

static bool channel_fits(uint8_t bpp, uint8_t position, uint8_t size)
{
    return size >= 1 && size <= 8 && position + size <= bpp;
}

bool fb_geometry_is_supported(const struct fb_geometry *geometry)
{
    const struct fb_geometry *g = geometry;

    if (g->bpp != 16 && g->bpp != 24 && g->bpp != 32)
        return false;
    if (!channel_fits(g->bpp, g->red_position, g->red_size) ||
        !channel_fits(g->bpp, g->green_position, g->green_size) ||
        !channel_fits(g->bpp, g->blue_position, g->blue_size))
        return false;
    if (g->width < FB_FONT_WIDTH || g->height < FB_FONT_HEIGHT)
        return false;
    return (uint64_t)g->width * (g->bpp / 8) <= g->pitch &&
           (uint64_t)g->pitch * g->height <= UINT32_MAX;
}

/* The top size bits of an 8-bit colour value, moved to their place in the pixel. */
static uint32_t pack_channel(uint8_t value, uint8_t position, uint8_t size)
{
    return (uint32_t)(value >> (8 - size)) << position;
}

uint32_t fb_color_pack(const struct fb_geometry *geometry, uint8_t red, uint8_t green,
                       uint8_t blue)
{
    return pack_channel(red, geometry->red_position, geometry->red_size) |
           pack_channel(green, geometry->green_position, geometry->green_size) |
           pack_channel(blue, geometry->blue_position, geometry->blue_size);
}

static void store_pixel(uint8_t *pixel, unsigned bytes, uint32_t value)
{
    switch (bytes) {
    case 2:
        *(uint16_t *)pixel = (uint16_t)value;
        break;
    case 3:
        pixel[0] = (uint8_t)value;
        pixel[1] = (uint8_t)(value >> 8);
        pixel[2] = (uint8_t)(value >> 16);
        break;
    default:
        *(uint32_t *)pixel = value;
        break;
    }
}

static uint8_t *pixel_address(const struct fb_surface *surface, uint32_t x, uint32_t y)
{
    return surface->pixels + y * surface->geometry.pitch + x * (surface->geometry.bpp / 8);
}

/* Sets pixel rows [first, first + count) to color, across the visible width. */
static void fill_rows(const struct fb_surface *surface, uint32_t first, uint32_t count,
                      uint32_t color)
{
    unsigned bytes = surface->geometry.bpp / 8;

    for (uint32_t y = first; y < first + count; y++) {
        uint8_t *pixel = pixel_address(surface, 0, y);
        for (uint32_t x = 0; x < surface->geometry.width; x++, pixel += bytes)
            store_pixel(pixel, bytes, color);
    }
}

void fb_surface_fill(const struct fb_surface *surface, uint32_t color)
{
    fill_rows(surface, 0, surface->geometry.height, color);
}

void fb_surface_put_char(const struct fb_surface *surface, uint32_t column, uint32_t row,
                         uint8_t ch, uint32_t foreground, uint32_t background)
{
    const uint8_t *glyph = fb_font_glyphs[fb_font_map[ch]];
    unsigned bytes = surface->geometry.bpp / 8;

    if (column >= surface->geometry.width / FB_FONT_WIDTH ||
        row >= surface->geometry.height / FB_FONT_HEIGHT)
        return;
    for (uint32_t y = 0; y < FB_FONT_HEIGHT; y++) {
        uint8_t *pixel = pixel_address(surface, column * FB_FONT_WIDTH, row * FB_FONT_HEIGHT + y);
        for (uint32_t x = 0; x < FB_FONT_WIDTH; x++, pixel += bytes)
            store_pixel(pixel, bytes, glyph[y] & (0x80 >> x) ? foreground : background);
    }
}

void fb_surface_scroll(const struct fb_surface *surface, uint32_t rows, uint32_t background)
{
    size_t line_bytes = (size_t)surface->geometry.pitch * FB_FONT_HEIGHT;

    rows = MIN(rows, surface->geometry.height / FB_FONT_HEIGHT);
    if (rows == 0)
        return;
    /*
     * One move of whole pitch-long rows, padding included: simpler than row by row, and
     * the padding is never shown.
     */
    memmove(surface->pixels, surface->pixels + line_bytes, (rows - 1) * line_bytes);
    fill_rows(surface, (rows - 1) * FB_FONT_HEIGHT, FB_FONT_HEIGHT, background);
}

bool fb_screen_init(struct fb_screen *screen, uint8_t *pixels,
                    const struct fb_geometry *geometry)
{
    if (!fb_geometry_is_supported(geometry))
        return false;
    *screen = (struct fb_screen){
        .surface = {pixels, *geometry},
        .columns = geometry->width / FB_FONT_WIDTH,
        .rows = geometry->height / FB_FONT_HEIGHT,
        /* The VGA text console's colours (attribute 0x07), so both screens look alike. */
        .foreground = fb_color_pack(geometry, 0xAA, 0xAA, 0xAA),
        .background = fb_color_pack(geometry, 0x00, 0x00, 0x00),
    };
    fb_surface_fill(&screen->surface, screen->background);
    return true;
}

static void screen_new_line(struct fb_screen *screen)
{
    screen->column = 0;
    if (screen->row + 1 < screen->rows)
        screen->row++;
    else
        fb_surface_scroll(&screen->surface, screen->rows, screen->background);
}

static void screen_put(struct fb_screen *screen, char c)
{
    switch (c) {
    case '\n':
        screen_new_line(screen);
        break;
    case '\r':
        screen->column = 0;
        break;
    case '\t':
        screen->column = MIN(ALIGN_UP(screen->column + 1, (uint32_t)FB_TAB_WIDTH),
                             screen->columns);
        break;
    default:
        /*
         * The wrap waits for a character that needs the next line, so a line of exactly
         * columns characters and its '\n' do not leave an empty line behind.
         */
        if (screen->column >= screen->columns)
            screen_new_line(screen);
        fb_surface_put_char(&screen->surface, screen->column++, screen->row, (uint8_t)c,
                            screen->foreground, screen->background);
        break;
    }
}

void fb_screen_write(struct fb_screen *screen, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        screen_put(screen, text[i]);
}

static struct fb_screen console_screen;
static bool console_attached;

static void fb_console_write(const char *text, size_t length)
{
    fb_screen_write(&console_screen, text, length);
}

static const struct console_output fb_console_output = {"framebuffer", fb_console_write};

bool fb_console_init(paddr_t address, const struct fb_geometry *geometry,
                     void *(*map_device)(paddr_t address, size_t length))
{
    if (console_attached || !fb_geometry_is_supported(geometry))
        return false;
    size_t length = (size_t)geometry->pitch * geometry->height;
    if ((uint64_t)address + length > (uint64_t)UINT32_MAX + 1)
        return false;
    /*
     * map_device maps it uncached, which makes the scroll's reads slow on real
     * hardware; write-combining would need the PAT, which the kernel does not program.
     */
    uint8_t *pixels = map_device(address, length);
    if (!pixels)
        return false;
    fb_screen_init(&console_screen, pixels, geometry);  /* cannot fail: checked above */
    console_attached = true;
    console_attach(&fb_console_output);
    return true;
}
