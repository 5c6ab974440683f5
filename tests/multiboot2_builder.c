/*
 * The Multiboot 2 block builder of tests/multiboot2_builder.h, and the checks that go
 * with what it builds.
 */
#include "lib/string.h"
#include "tests/multiboot2_builder.h"

uint32_t block_start;
uint32_t block_cursor;

void block_begin_at(uint32_t offset)
{
    memset(fake_memory, 0, sizeof(fake_memory));
    block_start = offset;
    block_cursor = offset + 8;  /* past total_size and reserved */
}

void block_begin(void)
{
    block_begin_at(INFO_AT);
}

uint8_t *tag_add(uint32_t type, uint32_t size)
{
    uint8_t *tag = fake_memory + block_cursor;

    put32(tag, type);
    put32(tag + 4, size);
    block_cursor += ALIGN_UP(size, 8);
    return tag;
}

void block_set_total(uint32_t total_size)
{
    put32(fake_memory + block_start, total_size);
}

void block_end(void)
{
    tag_add(TAG_END, TAG_HEADER_SIZE);
    block_set_total(block_cursor - block_start);
}

boot_paddr_t string_tag_add(uint32_t type, const char *text)
{
    uint8_t *tag = tag_add(type, TAG_HEADER_SIZE + strlen(text) + 1);

    memcpy(tag + TAG_HEADER_SIZE, text, strlen(text) + 1);
    return fake_address(tag + TAG_HEADER_SIZE - fake_memory);
}

boot_paddr_t module_add(boot_paddr_t start, boot_paddr_t end, const char *text)
{
    uint8_t *tag = tag_add(TAG_MODULE, MODULE_TAG_SIZE + strlen(text) + 1);

    put32(tag + 8, start);
    put32(tag + 12, end);
    memcpy(tag + MODULE_TAG_SIZE, text, strlen(text) + 1);
    return fake_address(tag + MODULE_TAG_SIZE - fake_memory);
}

void basic_memory_add(uint32_t lower_kb, uint32_t upper_kb)
{
    uint8_t *tag = tag_add(TAG_BASIC_MEMORY, 16);

    put32(tag + 8, lower_kb);
    put32(tag + 12, upper_kb);
}

const struct map_entry good_map[3] = {
    {0x00000000, 0x0009FC00, BOOT_MEMORY_AVAILABLE},
    {0x000F0000, 0x00010000, RESERVED},
    {0x00100000, 0x07EE0000, BOOT_MEMORY_AVAILABLE},
};

void map_add(uint32_t entry_size, const struct map_entry *entries, unsigned count)
{
    uint8_t *tag = tag_add(TAG_MEMORY_MAP, MAP_TAG_SIZE + count * entry_size);

    put32(tag + 8, entry_size);
    put32(tag + 12, 0);
    for (unsigned i = 0; i < count; i++) {
        uint8_t *entry = tag + MAP_TAG_SIZE + i * entry_size;
        memset(entry, 0xEE, entry_size);
        put64(entry, entries[i].base);
        put64(entry + 8, entries[i].length);
        put32(entry + 16, entries[i].type);
        put32(entry + 20, 0);
    }
}

void good_map_add(void)
{
    map_add(MAP_ENTRY_SIZE, good_map, ARRAY_SIZE(good_map));
}

void framebuffer_add_sized(const struct framebuffer_spec *fb, uint32_t size)
{
    uint8_t whole[FRAMEBUFFER_RGB_SIZE] = {0};
    uint8_t *tag = tag_add(TAG_FRAMEBUFFER, size);

    put64(whole + 8, fb->address);
    put32(whole + 16, fb->pitch);
    put32(whole + 20, fb->width);
    put32(whole + 24, fb->height);
    whole[28] = fb->bpp;
    whole[29] = fb->type;
    memcpy(whole + FRAMEBUFFER_COMMON_SIZE, fb->color, sizeof(fb->color));
    memcpy(tag + TAG_HEADER_SIZE, whole + TAG_HEADER_SIZE,
           MIN(size, sizeof(whole)) - TAG_HEADER_SIZE);
}

void framebuffer_add(const struct framebuffer_spec *fb)
{
    framebuffer_add_sized(fb, fb->type == BOOT_FRAMEBUFFER_RGB ? FRAMEBUFFER_RGB_SIZE
                                                               : FRAMEBUFFER_COMMON_SIZE);
}

void parse_block_at(boot_paddr_t address)
{
    /* Garbage first: the parser must set every field, not rely on a zeroed structure. */
    memset(&parsed, 0xA5, sizeof(parsed));
    boot_info_parse_multiboot2(&parsed, read_fake, NULL, address);
}

void parse_block(void)
{
    parse_block_at(fake_address(block_start));
}

void expect_good_map(struct ktest *t)
{
    KT_EXPECT_EQ(t, BOOT_MEMORY_MAP, parsed.memory_source);
    KT_ASSERT_EQ(t, ARRAY_SIZE(good_map), parsed.memory_map_count);
    for (unsigned i = 0; i < ARRAY_SIZE(good_map); i++)
        expect_entry(t, i, good_map[i].base, good_map[i].length, good_map[i].type);
}

void expect_framebuffer(struct ktest *t, const struct framebuffer_spec *fb)
{
    const struct boot_framebuffer *got = &parsed.framebuffer;

    KT_ASSERT(t, got->present);
    KT_EXPECT_EQ(t, fb->address, got->address);
    KT_EXPECT_EQ(t, fb->pitch, got->pitch);
    KT_EXPECT_EQ(t, fb->width, got->width);
    KT_EXPECT_EQ(t, fb->height, got->height);
    KT_EXPECT_EQ(t, fb->bpp, got->bpp);
    KT_EXPECT_EQ(t, fb->type, got->type);
    if (fb->type != BOOT_FRAMEBUFFER_RGB)
        return;
    KT_EXPECT_EQ(t, fb->color[0], got->red_position);
    KT_EXPECT_EQ(t, fb->color[1], got->red_size);
    KT_EXPECT_EQ(t, fb->color[2], got->green_position);
    KT_EXPECT_EQ(t, fb->color[3], got->green_size);
    KT_EXPECT_EQ(t, fb->color[4], got->blue_position);
    KT_EXPECT_EQ(t, fb->color[5], got->blue_size);
}

const struct framebuffer_spec rgb32 = {
    0xFD000000, 4096, 1024, 768, 32, BOOT_FRAMEBUFFER_RGB, {16, 8, 8, 8, 0, 8},
};
