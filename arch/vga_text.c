/*
 * VGA text mode: 80 x 25 cells of (character, attribute) at physical 0xB8000, reached
 * through a system-space mapping; the hardware cursor is moved through the CRT
 * controller's index/data ports 0x3D4/0x3D5 (registers 0x0E/0x0F: cursor location).
 */
#include "arch/cpu.h"
#include "arch/vga_text.h"
#include "lib/console.h"
#include "lib/string.h"

#define VGA_TEXT_PHYSICAL   0xB8000
#define VGA_COLUMNS         80
#define VGA_ROWS            25
#define VGA_ATTRIBUTE       0x0700  /* light grey on black */
#define CRTC_INDEX          0x3D4
#define CRTC_DATA           0x3D5

static volatile uint16_t *screen;
static unsigned row, column;

static void vga_scroll(void)
{
    for (unsigned i = 0; i < (VGA_ROWS - 1) * VGA_COLUMNS; i++)
        screen[i] = screen[i + VGA_COLUMNS];
    for (unsigned i = 0; i < VGA_COLUMNS; i++)
        screen[(VGA_ROWS - 1) * VGA_COLUMNS + i] = VGA_ATTRIBUTE | ' ';
    row = VGA_ROWS - 1;
}

static void vga_put(char c)
{
    if (c == '\n') {
        column = 0;
        row++;
    } else if (c == '\r') {
        column = 0;
    } else if (c == '\t') {
        column = (column + 8) & ~7u;
    } else {
        screen[row * VGA_COLUMNS + column++] = VGA_ATTRIBUTE | (uint8_t)c;
    }
    if (column >= VGA_COLUMNS) {
        column = 0;
        row++;
    }
    if (row >= VGA_ROWS)
        vga_scroll();
}

static void vga_write(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        vga_put(text[i]);
    unsigned cursor = row * VGA_COLUMNS + column;
    io_out8(CRTC_INDEX, 0x0F);
    io_out8(CRTC_DATA, cursor & 0xFF);
    io_out8(CRTC_INDEX, 0x0E);
    io_out8(CRTC_DATA, cursor >> 8);
}

static const struct console_output vga_output = {"vga", vga_write};

void vga_text_console_init(void *(*map_device)(paddr_t address, size_t length))
{
    screen = map_device(VGA_TEXT_PHYSICAL, VGA_COLUMNS * VGA_ROWS * 2);
    if (!screen)
        return;
    for (unsigned i = 0; i < VGA_COLUMNS * VGA_ROWS; i++)
        screen[i] = VGA_ATTRIBUTE | ' ';
    row = column = 0;
    console_attach(&vga_output);
}
