#!/usr/bin/env python3
"""Turns a PSF console font into the C tables the framebuffer console draws with.

Usage: scripts/psf2c.py FONT OUT.c

FONT is a PC Screen Font, version 1 or 2, plain or gzip-compressed (the fonts under
/usr/share/consolefonts). OUT.c defines, for arch/fb_console.h:

  fb_font_glyph_count   how many glyphs the font has
  fb_font_glyphs        the glyphs, FB_FONT_HEIGHT bytes each, one byte per pixel row,
                        the leftmost pixel in the top bit
  fb_font_map           for each byte the console prints, taken as Latin-1 (so ASCII
                        too), the glyph that draws it

The map comes from the font's Unicode table, because console fonts are not in Latin-1
order (console-setup's Lat15 fonts are in an order of their own); a byte whose
character the font lacks gets the glyph of U+FFFD, else of '?'. A font without a table
must have at least 256 glyphs, which are then taken to be in Latin-1 order.

The output checks, at compile time, that the header's FB_FONT_WIDTH and FB_FONT_HEIGHT
are this font's. Formats: the Linux kernel's Documentation/fb/ and kbd's src/psf.h.
"""
import gzip
import os
import struct
import sys

PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512 = 0x01
PSF1_MODEHASTAB = 0x02
PSF1_MODESEQ = 0x04
PSF1_SEPARATOR = 0xFFFF
PSF1_STARTSEQ = 0xFFFE

PSF2_MAGIC = b"\x72\xb5\x4a\x86"
PSF2_HEADER = struct.Struct("<4sIIIIIII")
PSF2_HAS_UNICODE_TABLE = 0x01
PSF2_SEPARATOR = 0xFF
PSF2_STARTSEQ = 0xFE

MAX_WIDTH = 8           # fb_font_glyphs holds one byte per pixel row
MAX_HEIGHT = 64
MAX_GLYPHS = 65536      # fb_font_map holds uint16_t glyph numbers


class FontError(Exception):
    pass


class Font:
    def __init__(self, kind, width, height, glyphs, unicode):
        self.kind = kind            # "PSF1" or "PSF2"
        self.width = width
        self.height = height
        self.glyphs = glyphs        # list of bytes, one byte per row
        self.unicode = unicode      # list (one per glyph) of lists of code points, or None


def read_font(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise FontError(f"cannot decompress: {e}") from None
    if data[:2] == PSF1_MAGIC:
        return parse_psf1(data)
    if data[:4] == PSF2_MAGIC:
        return parse_psf2(data)
    raise FontError("not a PSF font (no PSF1 or PSF2 magic number)")


def split_glyphs(data, offset, count, charsize, height, row_bytes):
    end = offset + count * charsize
    if end > len(data):
        raise FontError(f"truncated: {count} glyphs of {charsize} bytes need {end} bytes, "
                        f"the file has {len(data)}")
    glyphs = []
    for i in range(count):
        glyph = data[offset + i * charsize:offset + (i + 1) * charsize]
        # Only the first byte of each row reaches the table; width <= 8 makes it all.
        glyphs.append(bytes(glyph[row * row_bytes] for row in range(height)))
    return glyphs, end


def parse_psf1(data):
    if len(data) < 4:
        raise FontError("truncated PSF1 header")
    mode, charsize = data[2], data[3]
    if mode & ~(PSF1_MODE512 | PSF1_MODEHASTAB | PSF1_MODESEQ):
        raise FontError(f"unknown PSF1 mode bits 0x{mode:02x}")
    if charsize == 0 or charsize > MAX_HEIGHT:
        raise FontError(f"PSF1 glyph height {charsize} is not 1 to {MAX_HEIGHT}")
    count = 512 if mode & PSF1_MODE512 else 256
    glyphs, end = split_glyphs(data, 4, count, charsize, charsize, 1)
    unicode = None
    if mode & (PSF1_MODEHASTAB | PSF1_MODESEQ):
        unicode = parse_psf1_table(data[end:], count)
    return Font("PSF1", 8, charsize, glyphs, unicode)


def parse_psf1_table(table, count):
    """Each glyph: UCS-2 values, then sequences each opened by 0xFFFE, then 0xFFFF."""
    result = []
    position = 0
    for glyph in range(count):
        points = []
        in_sequence = False
        while True:
            if position + 2 > len(table):
                raise FontError(f"PSF1 Unicode table ends inside glyph {glyph}")
            (value,) = struct.unpack_from("<H", table, position)
            position += 2
            if value == PSF1_SEPARATOR:
                break
            if value == PSF1_STARTSEQ:
                in_sequence = True
            elif not in_sequence:
                points.append(value)
        result.append(points)
    return result


def parse_psf2(data):
    if len(data) < PSF2_HEADER.size:
        raise FontError("truncated PSF2 header")
    (_, version, header_size, flags, count, charsize, height,
     width) = PSF2_HEADER.unpack_from(data)
    if version != 0:
        raise FontError(f"unknown PSF2 version {version}")
    if header_size < PSF2_HEADER.size or header_size > len(data):
        raise FontError(f"bad PSF2 header size {header_size}")
    if not 1 <= width <= MAX_WIDTH:
        raise FontError(f"glyphs are {width} pixels wide; the console draws 1 to {MAX_WIDTH}")
    if not 1 <= height <= MAX_HEIGHT:
        raise FontError(f"glyph height {height} is not 1 to {MAX_HEIGHT}")
    row_bytes = (width + 7) // 8
    if charsize != height * row_bytes:
        raise FontError(f"glyph size {charsize} does not match {width}x{height}")
    if not 1 <= count <= MAX_GLYPHS:
        raise FontError(f"{count} glyphs; expected 1 to {MAX_GLYPHS}")
    glyphs, end = split_glyphs(data, header_size, count, charsize, height, row_bytes)
    unicode = None
    if flags & PSF2_HAS_UNICODE_TABLE:
        unicode = parse_psf2_table(data[end:], count)
    return Font("PSF2", width, height, glyphs, unicode)


def parse_psf2_table(table, count):
    """Each glyph: UTF-8 characters, then sequences each opened by 0xFE, then 0xFF."""
    result = []
    position = 0
    for glyph in range(count):
        end = table.find(bytes([PSF2_SEPARATOR]), position)
        if end < 0:
            raise FontError(f"PSF2 Unicode table ends inside glyph {glyph}")
        entry = table[position:end]
        position = end + 1
        single = entry.split(bytes([PSF2_STARTSEQ]), 1)[0]
        try:
            result.append([ord(c) for c in single.decode("utf-8")])
        except UnicodeDecodeError:
            raise FontError(f"PSF2 Unicode table: bad UTF-8 for glyph {glyph}") from None
    return result


def latin1_map(font):
    """Glyph number for each byte 0-255, read as Latin-1; see the module comment."""
    count = len(font.glyphs)
    if font.unicode is None:
        if count < 256:
            raise FontError(f"no Unicode table and only {count} glyphs: cannot map 256 codes")
        return list(range(256)), 0
    glyph_of = {}
    for glyph, points in enumerate(font.unicode):
        for point in points:
            glyph_of.setdefault(point, glyph)
    fallback = glyph_of.get(0xFFFD, glyph_of.get(ord("?")))
    if fallback is None:
        raise FontError("the font has neither U+FFFD nor '?' for the characters it lacks")
    missing = [code for code in range(0x20, 0x7F) if code not in glyph_of]
    if missing:
        raise FontError("the font lacks ASCII " + "".join(chr(c) for c in missing))
    table = [glyph_of.get(code, fallback) for code in range(256)]
    return table, sum(code not in glyph_of for code in range(256))


def c_source(font, font_name, table, unmapped):
    height = font.height
    lines = [
        f"/* Generated by scripts/psf2c.py from {font_name}: do not edit.",
        f" * {font.kind}, {len(font.glyphs)} glyphs of {font.width}x{height} pixels. */",
        '#include "arch/fb_console.h"',
        "",
        f"_Static_assert(FB_FONT_WIDTH == {font.width} && FB_FONT_HEIGHT == {height},",
        f'               "arch/fb_console.h must name the size of {font_name}: '
        f'{font.width}x{height}");',
        "",
        f"const unsigned fb_font_glyph_count = {len(font.glyphs)};",
        "",
        f"const uint8_t fb_font_glyphs[{len(font.glyphs)}][FB_FONT_HEIGHT] = {{",
    ]
    for number, glyph in enumerate(font.glyphs):
        points = font.unicode[number] if font.unicode else []
        label = f" U+{points[0]:04X}" if points else ""
        rows = [", ".join(f"0x{row:02x}" for row in glyph[i:i + 8])
                for i in range(0, height, 8)]
        lines.append(f"    /* {number}{label} */ {{")
        lines.extend(f"        {text}," for text in rows)
        lines.append("    },")
    lines.append("};")
    lines.append("")
    if font.unicode is None:
        lines.append("/* The font has no Unicode table: its first 256 glyphs are taken as "
                     "Latin-1. */")
    else:
        lines.append(f"/* From the font's Unicode table; the {unmapped} codes the font lacks "
                     "(control")
        lines.append(" * characters among them) show its replacement glyph. */")
    lines.append("const uint16_t fb_font_map[256] = {")
    for row in range(0, 256, 8):
        cells = ", ".join(f"{glyph:3d}" for glyph in table[row:row + 8])
        lines.append(f"    {cells},   /* 0x{row:02x} */")
    lines.append("};")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 3:
        print("usage: psf2c.py FONT OUT.c", file=sys.stderr)
        return 2
    font_path, out_path = argv[1], argv[2]
    try:
        font = read_font(font_path)
        table, unmapped = latin1_map(font)
    except (OSError, FontError) as e:
        print(f"psf2c: error: {font_path}: {e}", file=sys.stderr)
        return 1
    text = c_source(font, os.path.basename(font_path), table, unmapped)
    # Written beside the target and renamed, so a failed run leaves no half file that
    # make would take as up to date.
    temporary = out_path + ".tmp"
    try:
        with open(temporary, "w") as f:
            f.write(text)
        os.replace(temporary, out_path)
    except OSError as e:
        print(f"psf2c: error: {out_path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
