#pragma once
/*
 * A text console drawn with a bitmap font on a linear framebuffer: what a UEFI boot
 * through GRUB gives instead of VGA text mode. The drawing works on any block of
 * memory (struct fb_surface), so it is tested without a screen; fb_console_init puts
 * one on the real framebuffer and attaches it to the kernel console.
 */
#include "lib/types.h"

/*
 * A direct-colour framebuffer as the boot loader describes it (Multiboot 0.6.96 section
 * 3.3, framebuffer_type 1): each pixel is bpp bits, little-endian, with each colour in
 * size bits starting at bit position.
 */
struct fb_geometry {
    uint32_t pitch;             /* bytes from one pixel row to the next */
    uint32_t width, height;     /* in pixels */
    uint8_t bpp;                /* bits per pixel: 16, 24 or 32 are drawn */
    uint8_t red_position, red_size;
    uint8_t green_position, green_size;
    uint8_t blue_position, blue_size;
};

/* Pixels to draw on: pitch * height bytes at pixels, laid out as geometry says. */
struct fb_surface {
    uint8_t *pixels;
    struct fb_geometry geometry;
};

/* Text on a surface: a grid of font cells and where the next character goes. */
struct fb_screen {
    struct fb_surface surface;
    uint32_t columns, rows;     /* whole cells that fit */
    uint32_t column, row;       /* column == columns: the next character wraps first */
    uint32_t foreground, background;    /* packed pixel values */
};

/*
 * The font, generated at build time from a PSF console font by scripts/psf2c.py
 * (build/arch/fb_font.c); that file fails to compile if these are not its size.
 */
#define FB_FONT_WIDTH   8
#define FB_FONT_HEIGHT  16
extern const unsigned fb_font_glyph_count;
/* One byte per pixel row, the leftmost pixel in bit 7. */
extern const uint8_t fb_font_glyphs[][FB_FONT_HEIGHT];
/* The glyph that draws each byte, the byte taken as Latin-1 (so ASCII as well). */
extern const uint16_t fb_font_map[256];

/*
 * True when text can be drawn on a framebuffer of this geometry: 16, 24 or 32 bits per
 * pixel, each colour 1 to 8 bits inside the pixel, rows at least width pixels long,
 * room for one character cell, and pitch * height below 4 GB.
 */
bool fb_geometry_is_supported(const struct fb_geometry *geometry);

/* The pixel value of the colour (red, green, blue), 0-255 each, in geometry's layout. */
uint32_t fb_color_pack(const struct fb_geometry *geometry, uint8_t red, uint8_t green,
                       uint8_t blue);

/* Sets every visible pixel (width x height) to color; the bytes past width stay. */
void fb_surface_fill(const struct fb_surface *surface, uint32_t color);

/*
 * Draws character ch in the cell at (column, row), counted in cells from the top left:
 * foreground where the glyph has a bit set, background elsewhere. Touches nothing
 * outside the cell; a cell that does not fit entirely on the surface is not drawn.
 */
void fb_surface_put_char(const struct fb_surface *surface, uint32_t column, uint32_t row,
                         uint8_t ch, uint32_t foreground, uint32_t background);

/*
 * Moves the first rows text lines up by one line (FB_FONT_HEIGHT pixel rows) and fills
 * the last of them with background. Pixel rows below rows lines are left alone.
 */
void fb_surface_scroll(const struct fb_surface *surface, uint32_t rows, uint32_t background);

/*
 * Makes screen a text screen on pixels (pitch * height bytes, laid out as geometry
 * says), cleared to black, light grey text from the top left. False, and nothing
 * touched, when fb_geometry_is_supported refuses geometry.
 */
bool fb_screen_init(struct fb_screen *screen, uint8_t *pixels,
                    const struct fb_geometry *geometry);

/*
 * Draws text at the screen's position: '\n' starts the next line, '\r' returns to its
 * start, '\t' moves to the next multiple of 8 columns, a character past the right edge
 * goes to the next line, and a new line past the bottom scrolls the screen up.
 */
void fb_screen_write(struct fb_screen *screen, const char *text, size_t length);

/*
 * Maps the framebuffer at physical address (below 4 GB, geometry->pitch * height bytes)
 * with map_device (MmMapIoSpace: the memory manager is a layer above this one), clears
 * it and attaches it to the console, which replays the boot so far. Returns false,
 * having mapped nothing, for a geometry fb_geometry_is_supported refuses, a range that
 * wraps past 4 GB, when map_device fails, or on a second call.
 */
bool fb_console_init(paddr_t address, const struct fb_geometry *geometry,
                     void *(*map_device)(paddr_t address, size_t length));
