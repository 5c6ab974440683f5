/*
 * The block layer and whichever driver owns the test disk that scripts/run-tests.py
 * attaches first: 8 MB, sector N holding "ATATEST\0", then N as a little-endian 64-bit
 * number, then bytes (N * 7 + i) for byte offsets i from 16 on. The same cases run on an
 * IDE channel by bus-master DMA, on one forced to PIO, and on an AHCI port; each checks
 * what its transfer mode promises (an interrupt ends each DMA request). Every case that
 * writes puts the host's data back. Without the disk the cases are skipped, not passed.
 */
#include "io/ata.h"
#include "io/block.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "boot/boot_info.h"
#include "kernel/process.h"
#include "kernel/thread.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "tests/ktest.h"
#include "tests/program_harness.h"

#define DISK_SECTORS    16384       /* the runner's 8 MB image */
#define NO_DISK         "no test disk (sector 0 reads ATATEST)"
#define MAX_SECTORS     300         /* more than two requests (128 sectors each) carry */
#define UNTOUCHED       0xCC
#define SHORT_TIMEOUT   50          /* ticks: a lost interrupt's wait in these cases */

enum pattern { HOST_PATTERN, TEST_PATTERN };

/* Two more pages than the largest transfer, for the misaligned cases. */
static uint8_t buffer[MAX_SECTORS * BLOCK_SECTOR_SIZE + 2 * PAGE_SIZE]
    __attribute__((aligned(PAGE_SIZE)));

/* Sector lba as the host wrote it, or as the write cases overwrite it. */
static void make_sector(uint8_t *sector, uint64_t lba, enum pattern pattern)
{
    memcpy(sector, pattern == HOST_PATTERN ? "ATATEST" : "REWRITE", 8);
    for (unsigned i = 0; i < 8; i++)
        sector[8 + i] = (uint8_t)(lba >> (8 * i));
    for (unsigned i = 16; i < BLOCK_SECTOR_SIZE; i++)
        sector[i] = pattern == HOST_PATTERN ? (uint8_t)(lba * 7 + i) : (uint8_t)(lba * 13 + ~i);
}

static void make_sectors(uint8_t *at, uint64_t lba, uint32_t count, enum pattern pattern)
{
    for (uint32_t i = 0; i < count; i++)
        make_sector(at + i * BLOCK_SECTOR_SIZE, lba + i, pattern);
}

/* True when at holds count sectors from lba in pattern; names the first that differs. */
static bool holds_sectors(struct ktest *t, const uint8_t *at, uint64_t lba, uint32_t count,
                          enum pattern pattern)
{
    uint8_t expected[BLOCK_SECTOR_SIZE];

    for (uint32_t i = 0; i < count; i++) {
        make_sector(expected, lba + i, pattern);
        if (memcmp(at + i * BLOCK_SECTOR_SIZE, expected, BLOCK_SECTOR_SIZE) != 0) {
            if (t)
                ktest_diag(t, "sector %llu (%u of %u) differs", (unsigned long long)(lba + i), i,
                       count);
            return false;
        }
    }
    return true;
}

static bool untouched(const uint8_t *at, uint32_t bytes)
{
    for (uint32_t i = 0; i < bytes; i++)
        if (at[i] != UNTOUCHED)
            return false;
    return true;
}

/* The disk whose sector 0 is the host's pattern, found once; NULL when there is none. */
static struct block_device *test_disk(void)
{
    static struct block_device *found;
    static bool looked;

    for (unsigned i = 0; !looked && block_device_at(i); i++) {
        struct block_device *device = block_device_at(i);
        if (device->sector_count == DISK_SECTORS &&
            NT_SUCCESS(block_read(device, 0, 1, buffer)) && holds_sectors(NULL, buffer, 0, 1,
                                                                           HOST_PATTERN))
            found = device;
    }
    looked = true;
    return found;
}

#define NEED_DISK(t, disk)                                                              \
    struct block_device *disk = test_disk();                                            \
    if (!disk)                                                                          \
        KT_SKIP(t, NO_DISK)

static bool is_dma(const struct block_device *disk)
{
    return disk->queue->has_interrupt;
}

/* Reads count sectors at lba into at and checks them against pattern. */
static void expect_on_disk(struct ktest *t, struct block_device *disk, uint8_t *at,
                           uint64_t lba, uint32_t count, enum pattern pattern)
{
    memset(at, UNTOUCHED, count * BLOCK_SECTOR_SIZE);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, block_read(disk, lba, count, at));
    KT_EXPECT(t, holds_sectors(t, at, lba, count, pattern));
}

/* Writes count sectors at lba in pattern, from at. */
static void write_pattern(struct ktest *t, struct block_device *disk, uint8_t *at, uint64_t lba,
                          uint32_t count, enum pattern pattern)
{
    make_sectors(at, lba, count, pattern);
    KT_EXPECT_EQ(t, STATUS_SUCCESS, block_write(disk, lba, count, at));
}

/* Puts the host's sectors back at lba, and checks them and their two neighbours. */
static void put_back(struct ktest *t, struct block_device *disk, uint8_t *at, uint64_t lba,
                     uint32_t count)
{
    write_pattern(t, disk, at, lba, count, HOST_PATTERN);
    expect_on_disk(t, disk, buffer, lba - 1, count + 2, HOST_PATTERN);
}

static void disk_found(struct ktest *t)
{
    NEED_DISK(t, disk);

    ktest_diag(t, "%s: %s disk, %s, by %s", disk->name, disk->kind, disk->model,
               disk->transfer_mode);
    KT_EXPECT(t, block_find(disk->name, strlen(disk->name)) == disk);
    KT_EXPECT(t, memcmp(disk->name, strcmp(disk->kind, "IDE") == 0 ? "ide" : "sata",
                        strcmp(disk->kind, "IDE") == 0 ? 3 : 4) == 0);
    size_t length = strlen(disk->model);
    KT_EXPECT(t, length > 0 && disk->model[0] != ' ' && disk->model[length - 1] != ' ');
    KT_EXPECT(t, block_find("ide9", 4) == NULL);
    KT_EXPECT(t, block_find(disk->name, strlen(disk->name) - 1) == NULL);
    KT_EXPECT(t, block_device_at(BLOCK_DEVICES_MAX) == NULL);
}

/*
 * Three one-sector reads: three requests, each ended by the channel's interrupt when it
 * moves data by DMA (the requester slept meanwhile), none by polling at PASSIVE_LEVEL.
 */
static void read_first_middle_last(struct ktest *t)
{
    static const uint64_t sectors[] = {0, DISK_SECTORS / 2 - 1, DISK_SECTORS - 1};
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    for (unsigned i = 0; i < ARRAY_SIZE(sectors); i++)
        expect_on_disk(t, disk, buffer, sectors[i], 1, HOST_PATTERN);
    struct block_statistics after = disk->queue->statistics;
    KT_EXPECT_EQ(t, before.reads + 3, after.reads);
    KT_EXPECT_EQ(t, before.sectors_read + 3, after.sectors_read);
    KT_EXPECT_EQ(t, before.errors, after.errors);
    KT_EXPECT_EQ(t, before.polled, after.polled);
    KT_EXPECT_EQ(t, before.interrupts + (is_dma(disk) ? 3 : 0), after.interrupts);
}

/* 300 sectors: requests of 128, 128 and 44 sectors, in order, without gaps. */
static void read_across_three_requests(struct ktest *t)
{
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    expect_on_disk(t, disk, buffer, 1000, MAX_SECTORS, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.reads + 3, disk->queue->statistics.reads);
    KT_EXPECT_EQ(t, before.sectors_read + MAX_SECTORS, disk->queue->statistics.sectors_read);
}

/* 260 sectors written in three requests, read back and put back; neighbours unchanged. */
static void write_read_back_restore(struct ktest *t)
{
    enum { FIRST = 4000, COUNT = 260 };
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    write_pattern(t, disk, buffer, FIRST, COUNT, TEST_PATTERN);
    KT_EXPECT_EQ(t, before.writes + 3, disk->queue->statistics.writes);
    KT_EXPECT_EQ(t, before.sectors_written + COUNT, disk->queue->statistics.sectors_written);
    expect_on_disk(t, disk, buffer, FIRST, COUNT, TEST_PATTERN);
    expect_on_disk(t, disk, buffer, FIRST - 1, 1, HOST_PATTERN);
    expect_on_disk(t, disk, buffer, FIRST + COUNT, 1, HOST_PATTERN);

    write_pattern(t, disk, buffer, FIRST, COUNT, HOST_PATTERN);
    expect_on_disk(t, disk, buffer, FIRST, COUNT, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.errors, disk->queue->statistics.errors);
}

/*
 * Memory that starts two bytes into a page and crosses several: sectors straddle
 * segments, and the bytes around the transfer stay as they were.
 */
static void misaligned_memory_both_ways(struct ktest *t)
{
    enum { FIRST = 6000, COUNT = 20, OFFSET = PAGE_SIZE - 2 };
    NEED_DISK(t, disk);

    uint8_t *at = buffer + OFFSET;
    memset(buffer, UNTOUCHED, sizeof(buffer));
    KT_EXPECT_EQ(t, STATUS_SUCCESS, block_read(disk, FIRST, COUNT, at));
    KT_EXPECT(t, holds_sectors(t, at, FIRST, COUNT, HOST_PATTERN));
    KT_EXPECT(t, untouched(buffer, OFFSET));
    KT_EXPECT(t, untouched(at + COUNT * BLOCK_SECTOR_SIZE, 64));

    write_pattern(t, disk, at, FIRST, COUNT, TEST_PATTERN);
    expect_on_disk(t, disk, buffer, FIRST, COUNT, TEST_PATTERN);
    put_back(t, disk, at, FIRST, COUNT);
}

/*
 * The 48-bit commands, forced on an IDE disk small enough for 28-bit ones: they read the
 * same data, and a 48-bit write lands where a 28-bit read finds it.
 */
static void lba48_reads_same_data(struct ktest *t)
{
    enum { WRITTEN = 12345, WRITTEN_COUNT = 3 };
    NEED_DISK(t, disk);
    if (strcmp(disk->kind, "IDE") != 0)
        KT_SKIP(t, "not an IDE disk: AHCI always uses the 48-bit commands on LBA48 disks");
    const struct ata_disk *ata = disk->context;
    if (!ata->lba48)
        KT_SKIP(t, "the disk has no 48-bit commands");

    ata_force_lba48(true);
    expect_on_disk(t, disk, buffer, DISK_SECTORS - MAX_SECTORS, MAX_SECTORS, HOST_PATTERN);
    write_pattern(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    ata_force_lba48(false);

    expect_on_disk(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    put_back(t, disk, buffer, WRITTEN, WRITTEN_COUNT);
}

/*
 * PIO on QEMU's controller takes 32-bit data accesses, so the driver found and uses
 * them; the 16-bit path (for controllers that do not) must move the same data both ways.
 */
static void both_pio_data_widths_move_the_same_data(struct ktest *t)
{
    enum { WRITTEN = 4321, WRITTEN_COUNT = 5 };
    NEED_DISK(t, disk);
    if (strcmp(disk->kind, "IDE") != 0 || is_dma(disk))
        KT_SKIP(t, "the disk does not move data by PIO");
    struct ata_disk *ata = disk->context;
    KT_EXPECT(t, ata->pio32);

    ata->pio32 = false;
    expect_on_disk(t, disk, buffer, 0, MAX_SECTORS, HOST_PATTERN);
    write_pattern(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    ata->pio32 = true;
    expect_on_disk(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    write_pattern(t, disk, buffer, WRITTEN, WRITTEN_COUNT, HOST_PATTERN);
    ata->pio32 = false;
    expect_on_disk(t, disk, buffer, WRITTEN - 1, WRITTEN_COUNT + 2, HOST_PATTERN);
    ata->pio32 = true;
}

/*
 * QEMU's disks take READ/WRITE MULTIPLE, so the driver moves PIO data a page's worth of
 * sectors a block; the sector-a-block commands (for disks without multiple mode) must
 * move the same data both ways.
 */
static void both_pio_block_sizes_move_the_same_data(struct ktest *t)
{
    enum { WRITTEN = 4400, WRITTEN_COUNT = 11 };
    NEED_DISK(t, disk);
    if (strcmp(disk->kind, "IDE") != 0 || is_dma(disk))
        KT_SKIP(t, "the disk does not move data by PIO");
    struct ata_disk *ata = disk->context;
    uint8_t multiple = ata->multiple;
    ktest_diag(t, "%u sectors a PIO block", multiple);
    KT_EXPECT_EQ(t, 8, multiple);

    ata->multiple = 1;
    expect_on_disk(t, disk, buffer, 100, MAX_SECTORS, HOST_PATTERN);
    write_pattern(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    ata->multiple = multiple;
    expect_on_disk(t, disk, buffer, WRITTEN, WRITTEN_COUNT, TEST_PATTERN);
    write_pattern(t, disk, buffer, WRITTEN, WRITTEN_COUNT, HOST_PATTERN);
    ata->multiple = 1;
    expect_on_disk(t, disk, buffer, WRITTEN - 1, WRITTEN_COUNT + 2, HOST_PATTERN);
    ata->multiple = multiple;
}

/*
 * Count 0, past the end, wrapping, no memory, an odd address, and requests whose
 * segments do not add up: refused before anything reaches the disk.
 */
static void invalid_requests_refused(struct ktest *t)
{
    static const struct {
        uint64_t lba;
        uint32_t count;
    } ranges[] = {
        {0, 0}, {DISK_SECTORS, 1}, {DISK_SECTORS - 1, 2}, {0, DISK_SECTORS + 1},
        {~0ull, 1}, {~0ull - 1, 4}, {1, ~0u},
    };
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    memset(buffer, UNTOUCHED, sizeof(buffer));
    for (unsigned i = 0; i < ARRAY_SIZE(ranges); i++) {
        ntstatus_t read = block_read(disk, ranges[i].lba, ranges[i].count, buffer);
        ntstatus_t written = block_write(disk, ranges[i].lba, ranges[i].count, buffer);
        if (!KT_EXPECT(t, read == STATUS_INVALID_PARAMETER &&
                              written == STATUS_INVALID_PARAMETER))
            ktest_diag(t, "lba %llu, count %u: read 0x%08X, write 0x%08X",
                       (unsigned long long)ranges[i].lba, ranges[i].count, (uint32_t)read,
                       (uint32_t)written);
    }
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, block_read(disk, 0, 1, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, block_write(disk, 0, 1, NULL));
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, block_read(disk, 0, 1, buffer + 1));

    paddr_t physical;
    KT_ASSERT(t, MmGetPhysicalAddress((vaddr_t)buffer, &physical));
    struct block_request bad[] = {
        {.device = disk, .sector_count = 2, .segment_count = 1, .segments = {{physical, 512}}},
        {.device = disk, .sector_count = 1, .segment_count = 0},
        {.device = disk, .sector_count = 1, .segment_count = BLOCK_MAX_SEGMENTS + 1},
        {.device = disk, .sector_count = BLOCK_MAX_SECTORS + 1, .segment_count = 1,
         .segments = {{physical, (BLOCK_MAX_SECTORS + 1) * BLOCK_SECTOR_SIZE}}},
        {.device = disk, .sector_count = 1, .segment_count = 2,
         .segments = {{physical, 511}, {physical + 1024, 1}}},
        {.device = disk, .sector_count = 1, .segment_count = 1,
         .segments = {{physical + PAGE_SIZE - 256, 512}}},      /* crosses a page */
        {.device = disk, .sector_count = 1, .segment_count = 1,
         .segments = {{0xFFFFFF00u, 512}}},                     /* wraps */
    };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
        if (!KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, block_transfer(&bad[i])))
            ktest_diag(t, "request %u was not refused", i);
    KT_EXPECT(t, memcmp(&before, &disk->queue->statistics, sizeof(before)) == 0);
    KT_EXPECT(t, untouched(buffer, sizeof(buffer)));
}

/* A NULL disk and one no driver registered: not connected, and nothing sent. */
static void unregistered_device_not_connected(struct ktest *t)
{
    NEED_DISK(t, disk);

    struct block_device forged = *disk;
    struct block_statistics before = disk->queue->statistics;
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, block_read(NULL, 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, block_write(NULL, 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, block_read(&forged, 0, 1, buffer));
    KT_EXPECT_EQ(t, STATUS_DEVICE_NOT_CONNECTED, block_write(&forged, 0, 1, buffer));
    KT_EXPECT(t, memcmp(&before, &disk->queue->statistics, sizeof(before)) == 0);
}

/*
 * block_inject_failures(1, 2): one request goes through, a refused one does not count,
 * the next read and write fail without reaching the disk, and the one after works again.
 */
static void injected_failure_then_recovery(struct ktest *t)
{
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    block_inject_failures(1, 2);
    expect_on_disk(t, disk, buffer, 5, 1, HOST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_INVALID_PARAMETER, block_read(disk, 0, 0, buffer));
    memset(buffer, UNTOUCHED, BLOCK_SECTOR_SIZE);
    KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, block_read(disk, 6, 1, buffer));
    KT_EXPECT(t, untouched(buffer, BLOCK_SECTOR_SIZE));
    make_sectors(buffer, 7, 1, TEST_PATTERN);
    KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, block_write(disk, 7, 1, buffer));
    block_inject_failures(0, 0);

    expect_on_disk(t, disk, buffer, 6, 2, HOST_PATTERN);
    struct block_statistics after = disk->queue->statistics;
    KT_EXPECT_EQ(t, before.injected_failures + 2, after.injected_failures);
    KT_EXPECT_EQ(t, before.reads + 2, after.reads);
    KT_EXPECT_EQ(t, before.writes, after.writes);
    KT_EXPECT_EQ(t, before.errors, after.errors);
}

/* The sector the runner made unreadable (badsector=N), or 0 when it made none. */
static uint32_t bad_sector(void)
{
    struct cmdline_word word;
    uint32_t n;

    if (!cmdline_find(kernel_boot_info.command_line, "badsector", &word) ||
        !cmdline_value_u32(&word, &n) || n < 8 || n >= DISK_SECTORS - 8)
        return 0;
    return n;
}

/*
 * A sector the disk cannot read (QEMU's blkdebug answers it with an I/O error, which the
 * controller reports as the device's error): every request that touches it ends with
 * STATUS_IO_DEVICE_ERROR, the channel or port recovers, and the sectors around it read
 * as before -- by DMA or PIO, on IDE or AHCI, whichever this boot has.
 */
static void device_error_ends_the_request_then_recovers(struct ktest *t)
{
    NEED_DISK(t, disk);
    uint32_t bad = bad_sector();
    if (!bad)
        KT_SKIP(t, "no sector of this disk was made unreadable (badsector=N)");

    struct block_statistics before = disk->queue->statistics;
    for (unsigned round = 0; round < 3; round++) {
        KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, block_read(disk, bad, 1, buffer));
        expect_on_disk(t, disk, buffer, bad - 2, 2, HOST_PATTERN);
    }
    KT_EXPECT_EQ(t, STATUS_IO_DEVICE_ERROR, block_read(disk, bad - 4, 8, buffer));
    expect_on_disk(t, disk, buffer, bad + 1, 4, HOST_PATTERN);
    struct block_statistics after = disk->queue->statistics;
    KT_EXPECT_EQ(t, before.errors + 4, after.errors);
    KT_EXPECT_EQ(t, before.timeouts, after.timeouts);
}

/* Reads and writes a few sectors and checks them; for the cases at other IRQLs. */
static void read_write_restore(struct ktest *t, struct block_device *disk, uint64_t first)
{
    enum { COUNT = 8 };

    expect_on_disk(t, disk, buffer, 2000, BLOCK_MAX_SECTORS, HOST_PATTERN);
    write_pattern(t, disk, buffer, first, COUNT, TEST_PATTERN);
    expect_on_disk(t, disk, buffer, first, COUNT, TEST_PATTERN);
    write_pattern(t, disk, buffer, first, COUNT, HOST_PATTERN);
    expect_on_disk(t, disk, buffer, first, COUNT, HOST_PATTERN);
}

/*
 * A requester holding a spinlock (as the memory manager holds the PFN lock) cannot
 * sleep: it stays on the processor until each request has ended, found by the
 * channel's interrupt (a device level is above DISPATCH_LEVEL) or by its own polls.
 */
static void works_at_dispatch_level_without_sleeping(struct ktest *t)
{
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    uint64_t switches = scheduler_statistics().context_switches;
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    read_write_restore(t, disk, 2500);
    KT_EXPECT_EQ(t, switches, scheduler_statistics().context_switches);
    KeLowerIrql(old);
    struct block_statistics after = disk->queue->statistics;
    KT_EXPECT_EQ(t, before.errors, after.errors);
    if (is_dma(disk))
        KT_EXPECT_EQ(t, 5, after.interrupts + after.polled - before.interrupts - before.polled);
}

/*
 * With interrupts off neither the clock nor the channel's interrupt comes: the polls
 * find each end, and are counted to bound the wait.
 */
static void works_with_interrupts_disabled(struct ktest *t)
{
    NEED_DISK(t, disk);

    struct block_statistics before = disk->queue->statistics;
    uint32_t flags = cpu_save_disable_interrupts();
    read_write_restore(t, disk, 2600);
    KT_EXPECT(t, !(cpu_read_eflags() & EFLAGS_IF));
    cpu_restore_interrupts(flags);
    if (is_dma(disk))
        KT_EXPECT_EQ(t, 5, disk->queue->statistics.polled - before.polled);
}

/*
 * A device that never answers: the request ends with STATUS_IO_TIMEOUT after the
 * queue's timeout, the channel is reset, and the next request works. Asleep, the
 * requester leaves the processor to a CPU-bound thread all the while.
 */
static void lost_interrupt_times_out_then_recovers(struct ktest *t)
{
    NEED_DISK(t, disk);
    if (!is_dma(disk))
        KT_SKIP(t, "PIO requests end before the requester would wait");

    struct block_queue *queue = disk->queue;
    uint32_t saved_timeout = queue->timeout_ticks;
    struct block_statistics before = queue->statistics;
    struct spinner spinner;
    KT_ASSERT(t, start_spinner(t, &spinner));
    queue->timeout_ticks = SHORT_TIMEOUT;
    uint64_t start = scheduler_ticks;
    uint32_t counted = spinner.count;
    block_inject_lost_interrupt(queue);
    KT_EXPECT_EQ(t, STATUS_IO_TIMEOUT, block_read(disk, 10, 1, buffer));
    uint64_t waited = scheduler_ticks - start;
    uint32_t spun = spinner.count - counted;
    ktest_diag(t, "timed out after %llu ticks; the spinner counted %u meanwhile",
               (unsigned long long)waited, spun);
    KT_EXPECT(t, waited >= SHORT_TIMEOUT && waited < 4 * SHORT_TIMEOUT);
    KT_EXPECT(t, spun > 0);

    /* The same at DISPATCH_LEVEL: the polling requester's own clock ends it. */
    block_inject_lost_interrupt(queue);
    KIRQL old = KeRaiseIrql(DISPATCH_LEVEL);
    KT_EXPECT_EQ(t, STATUS_IO_TIMEOUT, block_read(disk, 11, 1, buffer));
    KeLowerIrql(old);
    queue->timeout_ticks = saved_timeout;

    expect_on_disk(t, disk, buffer, 10, 2, HOST_PATTERN);
    KT_EXPECT_EQ(t, before.timeouts + 2, queue->statistics.timeouts);
    KT_EXPECT_EQ(t, before.errors + 2, queue->statistics.errors);
    stop_spinner(&spinner);
}

/* Threads that read at once: their requests queue on the channel and each gets its data. */
struct reader {
    struct block_device *disk;
    uint64_t lba;
    uint8_t *at;
    ntstatus_t status;
    volatile bool done;
};

static void read_sectors(void *context)
{
    struct reader *reader = context;

    reader->status = block_read(reader->disk, reader->lba, 64, reader->at);
    reader->done = true;
}

static void concurrent_requests_queue_up(struct ktest *t)
{
    enum { READERS = 4 };
    NEED_DISK(t, disk);

    struct reader readers[READERS];
    uint32_t threads = kernel_threads_now();
    memset(buffer, UNTOUCHED, sizeof(buffer));
    for (unsigned i = 0; i < READERS; i++) {
        readers[i] = (struct reader){.disk = disk, .lba = 3000 + 100 * i,
                                     .at = buffer + i * 64 * BLOCK_SECTOR_SIZE};
        KT_ASSERT_EQ(t, STATUS_SUCCESS, thread_create(&system_process, read_sectors,
                                                      &readers[i], 0, 0, 0, false, NULL));
    }
    for (unsigned i = 0; i < READERS; i++) {
        while (!readers[i].done)
            scheduler_yield();
        KT_EXPECT_EQ(t, STATUS_SUCCESS, readers[i].status);
        KT_EXPECT(t, holds_sectors(t, readers[i].at, readers[i].lba, 64, HOST_PATTERN));
    }
    wait_for_kernel_threads(threads);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(disk_found),
    KTEST_CASE(read_first_middle_last),
    KTEST_CASE(read_across_three_requests),
    KTEST_CASE(write_read_back_restore),
    KTEST_CASE(misaligned_memory_both_ways),
    KTEST_CASE(lba48_reads_same_data),
    KTEST_CASE(both_pio_data_widths_move_the_same_data),
    KTEST_CASE(both_pio_block_sizes_move_the_same_data),
    KTEST_CASE(invalid_requests_refused),
    KTEST_CASE(unregistered_device_not_connected),
    KTEST_CASE(injected_failure_then_recovery),
    KTEST_CASE(device_error_ends_the_request_then_recovers),
    KTEST_CASE(works_at_dispatch_level_without_sleeping),
    KTEST_CASE(works_with_interrupts_disabled),
    KTEST_CASE(lost_interrupt_times_out_then_recovers),
    KTEST_CASE(concurrent_requests_queue_up),
};

KTEST_SUITE(disk_suite, "disk", cases);
