/*
 * The ATA driver against the disk scripts/run-tests.py attaches as hd0: 8 MB, sector N
 * holding "ATATEST\0", then N as a little-endian 64-bit number, then bytes (N * 7 + i)
 * for byte offsets i from 16 on. Every case that writes puts the host's data back.
 * Without a disk on hd0 (most boots of the matrix) the cases are skipped, not passed.
 */
#include "arch/ata.h"
#include "arch/cpu.h"
#include "lib/string.h"
#include "tests/ktest.h"

#define DISK_SECTORS    16384       /* the runner's 8 MB image */
#define NO_DISK         "no disk on hd0"
#define MAX_SECTORS     300         /* more than one LBA28 command (256 sectors) carries */
#define UNTOUCHED       0xCC

enum pattern { HOST_PATTERN, TEST_PATTERN };

static uint8_t buffer[MAX_SECTORS * ATA_SECTOR_SIZE] __attribute__((aligned(4)));

/* Sector lba as the host wrote it, or as the write cases overwrite it. */
static void make_sector(uint8_t *sector, uint64_t lba, enum pattern pattern)
{
    memcpy(sector, pattern == HOST_PATTERN ? "ATATEST" : "REWRITE", 8);
    for (unsigned i = 0; i < 8; i++)
        sector[8 + i] = (uint8_t)(lba >> (8 * i));
    for (unsigned i = 16; i < ATA_SECTOR_SIZE; i++)
        sector[i] = pattern == HOST_PATTERN ? (uint8_t)(lba * 7 + i) : (uint8_t)(lba * 13 + ~i);
}

static void make_sectors(uint64_t lba, uint32_t count, enum pattern pattern)
{
    for (uint32_t i = 0; i < count; i++)
        make_sector(buffer + i * ATA_SECTOR_SIZE, lba + i, pattern);
}

/* True when buffer holds count sectors from lba in pattern; names the first that differs. */
static bool holds_sectors(struct ktest *t, uint64_t lba, uint32_t count, enum pattern pattern)
{
    uint8_t expected[ATA_SECTOR_SIZE];

    for (uint32_t i = 0; i < count; i++) {
        make_sector(expected, lba + i, pattern);
        if (memcmp(buffer + i * ATA_SECTOR_SIZE, expected, ATA_SECTOR_SIZE) != 0) {
            ktest_diag(t, "sector %llu (%u of %u) differs", (unsigned long long)(lba + i), i,
                       count);
            return false;
        }
    }
    return true;
}

static bool untouched(uint32_t bytes)
{
    for (uint32_t i = 0; i < bytes; i++)
        if (buffer[i] != UNTOUCHED)
            return false;
    return true;
}

/* Reads count sectors at lba into buffer and checks them against pattern. */
static void expect_on_disk(struct ktest *t, const struct ata_disk *disk, uint64_t lba,
                           uint32_t count, enum pattern pattern)
{
    memset(buffer, UNTOUCHED, count * ATA_SECTOR_SIZE);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_read(disk, lba, count, buffer));
    KT_EXPECT(t, holds_sectors(t, lba, count, pattern));
}

static void disk_found(struct ktest *t)
{
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    KT_EXPECT_EQ(t, 0, disk->index);
    KT_EXPECT(t, disk->present);
    KT_EXPECT_EQ(t, DISK_SECTORS, disk->sector_count);
    size_t length = strlen(disk->model);
    KT_EXPECT(t, length > 0 && disk->model[0] != ' ' && disk->model[length - 1] != ' ');
    KT_EXPECT(t, ata_disk(ATA_DEVICES) == NULL);
    KT_EXPECT(t, ata_disk(~0u) == NULL);
}

static void read_first_middle_last(struct ktest *t)
{
    static const uint64_t sectors[] = {0, DISK_SECTORS / 2 - 1, DISK_SECTORS - 1};
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    struct ata_statistics before = ata_statistics;
    for (unsigned i = 0; i < ARRAY_SIZE(sectors); i++)
        expect_on_disk(t, disk, sectors[i], 1, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.reads + 3, ata_statistics.reads);
    KT_EXPECT_EQ(t, before.sectors_read + 3, ata_statistics.sectors_read);
    KT_EXPECT_EQ(t, before.errors, ata_statistics.errors);
}

/* 300 sectors: a 256-sector READ SECTORS and a 44-sector one, in order, without gaps. */
static void read_across_two_commands(struct ktest *t)
{
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    struct ata_statistics before = ata_statistics;
    expect_on_disk(t, disk, 1000, MAX_SECTORS, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.reads + 2, ata_statistics.reads);
    KT_EXPECT_EQ(t, before.sectors_read + MAX_SECTORS, ata_statistics.sectors_read);
}

/* 260 sectors in two write commands, read back and put back; their neighbours unchanged. */
static void write_read_back_restore(struct ktest *t)
{
    enum { FIRST = 4000, COUNT = 260 };
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    struct ata_statistics before = ata_statistics;
    make_sectors(FIRST, COUNT, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, FIRST, COUNT, buffer));
    KT_EXPECT_EQ(t, before.writes + 2, ata_statistics.writes);
    KT_EXPECT_EQ(t, before.sectors_written + COUNT, ata_statistics.sectors_written);
    expect_on_disk(t, disk, FIRST, COUNT, TEST_PATTERN);
    expect_on_disk(t, disk, FIRST - 1, 1, HOST_PATTERN);
    expect_on_disk(t, disk, FIRST + COUNT, 1, HOST_PATTERN);

    make_sectors(FIRST, COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, FIRST, COUNT, buffer));
    expect_on_disk(t, disk, FIRST, COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.errors, ata_statistics.errors);
}

/*
 * The 48-bit commands, forced on a disk small enough for 28-bit ones: 300 sectors take a
 * single command, read the same data, and a 48-bit write lands where a 28-bit read finds it.
 */
static void lba48_reads_same_data(struct ktest *t)
{
    enum { WRITTEN = 12345, WRITTEN_COUNT = 3 };
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);
    if (!disk->lba48)
        KT_SKIP(t, "hd0 has no 48-bit commands");

    struct ata_statistics before = ata_statistics;
    ata_force_lba48(true);
    expect_on_disk(t, disk, DISK_SECTORS - MAX_SECTORS, MAX_SECTORS, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.reads + 1, ata_statistics.reads);
    KT_EXPECT_EQ(t, before.sectors_read + MAX_SECTORS, ata_statistics.sectors_read);
    make_sectors(WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, WRITTEN, WRITTEN_COUNT, buffer));
    ata_force_lba48(false);

    expect_on_disk(t, disk, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    make_sectors(WRITTEN, WRITTEN_COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, WRITTEN, WRITTEN_COUNT, buffer));
    expect_on_disk(t, disk, WRITTEN - 1, WRITTEN_COUNT + 2, HOST_PATTERN);
}

/* Count 0, past the end, wrapping, no buffer: refused before anything reaches the disk. */
/*
 * QEMU's controller takes 32-bit data accesses, so the driver found and uses them; the
 * 16-bit path (for controllers that do not) must move the same data both ways.
 */
static void both_data_widths_move_the_same_data(struct ktest *t)
{
    enum { WRITTEN = 4321, WRITTEN_COUNT = 5 };
    struct ata_disk *disk = (struct ata_disk *)ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);
    KT_EXPECT(t, disk->pio32);

    disk->pio32 = false;
    expect_on_disk(t, disk, 0, MAX_SECTORS, HOST_PATTERN);
    make_sectors(WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, WRITTEN, WRITTEN_COUNT, buffer));
    disk->pio32 = true;
    expect_on_disk(t, disk, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    make_sectors(WRITTEN, WRITTEN_COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, WRITTEN, WRITTEN_COUNT, buffer));
    disk->pio32 = false;
    expect_on_disk(t, disk, WRITTEN - 1, WRITTEN_COUNT + 2, HOST_PATTERN);
    disk->pio32 = true;
}

static void invalid_requests_refused(struct ktest *t)
{
    static const struct {
        uint64_t lba;
        uint32_t count;
    } ranges[] = {
        {0, 0}, {DISK_SECTORS, 1}, {DISK_SECTORS - 1, 2}, {0, DISK_SECTORS + 1},
        {~0ull, 1}, {~0ull - 1, 4}, {1, ~0u},
    };
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    struct ata_statistics before = ata_statistics;
    memset(buffer, UNTOUCHED, sizeof(buffer));
    for (unsigned i = 0; i < ARRAY_SIZE(ranges); i++) {
        ntstatus_t read = ata_read(disk, ranges[i].lba, ranges[i].count, buffer);
        ntstatus_t written = ata_write(disk, ranges[i].lba, ranges[i].count, buffer);
        if (!KT_EXPECT(t, read == STATUS_INVALID_PARAMETER &&
                              written == STATUS_INVALID_PARAMETER))
            ktest_diag(t, "lba %llu, count %u: read 0x%08X, write 0x%08X",
                       (unsigned long long)ranges[i].lba, ranges[i].count, (uint32_t)read,
                       (uint32_t)written);
    }
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, ata_read(disk, 0, 1, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, ata_write(disk, 0, 1, NULL));
    KT_EXPECT(t, memcmp(&before, &ata_statistics, sizeof(before)) == 0);
    KT_EXPECT(t, untouched(sizeof(buffer)));
}

/* The first absent device, a NULL disk and a disk the driver did not make: not connected. */
static void absent_device_not_connected(struct ktest *t)
{
    unsigned absent = 0;
    while (absent < ATA_DEVICES && ata_disk(absent))
        absent++;
    if (absent == ATA_DEVICES)
        KT_SKIP(t, "all four devices are present");

    struct ata_disk forged = {.index = absent, .present = true, .sector_count = DISK_SECTORS};
    struct ata_statistics before = ata_statistics;
    KT_EXPECT(t, ata_disk(absent) == NULL);
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, ata_read(ata_disk(absent), 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, ata_write(NULL, 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, ata_read(&forged, 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, ata_write(&forged, 0, 1, buffer));
    KT_EXPECT(t, memcmp(&before, &ata_statistics, sizeof(before)) == 0);
}

/*
 * ata_inject_failures(1, 2): one transfer goes through, a refused request does not count,
 * the next read and write fail without reaching the disk, and the one after works again.
 */
static void injected_failure_then_recovery(struct ktest *t)
{
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    struct ata_statistics before = ata_statistics;
    ata_inject_failures(1, 2);
    expect_on_disk(t, disk, 5, 1, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, ata_read(disk, 0, 0, buffer));
    memset(buffer, UNTOUCHED, ATA_SECTOR_SIZE);
    KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, ata_read(disk, 6, 1, buffer));
    KT_EXPECT(t, untouched(ATA_SECTOR_SIZE));
    make_sectors(7, 1, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, ata_write(disk, 7, 1, buffer));
    ata_inject_failures(0, 0);

    expect_on_disk(t, disk, 6, 2, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.injected_failures + 2, ata_statistics.injected_failures);
    KT_EXPECT_EQ(t, before.reads + 2, ata_statistics.reads);
    KT_EXPECT_EQ(t, before.writes, ata_statistics.writes);
    KT_EXPECT_EQ(t, before.errors, ata_statistics.errors);
}

/* As the page-fault path calls it: with interrupts off, which the driver leaves off. */
static void works_with_interrupts_disabled(struct ktest *t)
{
    enum { FIRST = 2500, COUNT = 8 };
    const struct ata_disk *disk = ata_disk(0);
    if (!disk)
        KT_SKIP(t, NO_DISK);

    uint32_t flags = cpu_save_disable_interrupts();
    expect_on_disk(t, disk, 2000, MAX_SECTORS, HOST_PATTERN);
    KT_EXPECT(t, !(cpu_read_eflags() & EFLAGS_IF));
    make_sectors(FIRST, COUNT, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, FIRST, COUNT, buffer));
    KT_EXPECT(t, !(cpu_read_eflags() & EFLAGS_IF));
    expect_on_disk(t, disk, FIRST, COUNT, TEST_PATTERN);
    make_sectors(FIRST, COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, ata_write(disk, FIRST, COUNT, buffer));
    expect_on_disk(t, disk, FIRST, COUNT, HOST_PATTERN);
    KT_EXPECT(t, !(cpu_read_eflags() & EFLAGS_IF));
    cpu_restore_interrupts(flags);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(disk_found),
    KTEST_CASE(read_first_middle_last),
    KTEST_CASE(read_across_two_commands),
    KTEST_CASE(write_read_back_restore),
    KTEST_CASE(lba48_reads_same_data),
    KTEST_CASE(both_data_widths_move_the_same_data),
    KTEST_CASE(invalid_requests_refused),
    KTEST_CASE(absent_device_not_connected),
    KTEST_CASE(injected_failure_then_recovery),
    KTEST_CASE(works_with_interrupts_disabled),
};

KTEST_SUITE(ata_suite, "ata", cases);
