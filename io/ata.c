/*
 * ATA disks on the legacy IDE channels, behind the block layer (io/block.h). Registers,
 * commands and protocols are those of ATA/ATAPI-6 (T13/1410D); the comments below name
 * its sections. On a PCI IDE controller that can master the bus, data moves by DMA
 * ("Bus Master Programming Interface for IDE ATA Controllers" 1.0, the SFF-8038i
 * interface): the driver loads a table of physical regions, starts the command, and the
 * channel's interrupt (IRQ 14 or 15) reports the end. Without one (or with `ide=pio`),
 * data moves by PIO, polled, with the device's interrupt masked (nIEN).
 *
 * Waits on the device itself (BSY after a command, a reset) have no clock: the page-fault
 * path may call in while the PIT cannot tick. Time is counted in status reads instead,
 * each an I/O cycle to the device that takes at least 120 ns (t0, the shortest
 * register-transfer cycle, PIO mode 4), so a number of reads is a lower bound on the
 * time waited. A DMA command's end is bounded by the block layer's timeout.
 */
#include "io/ata.h"
#include "io/ata_identify.h"
#include "io/block.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/pit.h"
#include "arch/spinlock.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/mm.h"

/* The Command Block registers, as offsets from the channel's base port ("I/O registers"). */
#define REG_DATA            0
#define REG_ERROR           1
#define REG_SECTOR_COUNT    2
#define REG_LBA_LOW         3
#define REG_LBA_MID         4
#define REG_LBA_HIGH        5
#define REG_DEVICE          6
#define REG_STATUS          7   /* read */
#define REG_COMMAND         7   /* written */

/* "Status register" bits. */
#define ST_BSY              0x80
#define ST_DRDY             0x40
#define ST_DF               0x20
#define ST_DRQ              0x08
#define ST_ERR              0x01
#define ST_FLOATING         0xFF    /* an empty channel's pull-ups: nobody drives the bus */

/* "Device Control register" bits; the same port reads as the Alternate Status. */
#define CONTROL_NIEN        0x02    /* the device asserts no interrupt */
#define CONTROL_SRST        0x04    /* software reset of both devices of the channel */

/* "Device register": bit 4 picks device 1; bits 7 and 5 are set for older devices. */
#define DEVICE_BASE         0xA0
#define DEVICE_1            0x10
#define DEVICE_LBA          0x40

/* Command codes, from each command's section. */
#define CMD_READ_SECTORS        0x20
#define CMD_READ_SECTORS_EXT    0x24
#define CMD_WRITE_SECTORS       0x30
#define CMD_WRITE_SECTORS_EXT   0x34
#define CMD_READ_MULTIPLE       0xC4
#define CMD_READ_MULTIPLE_EXT   0x29
#define CMD_WRITE_MULTIPLE      0xC5
#define CMD_WRITE_MULTIPLE_EXT  0x39
#define CMD_SET_MULTIPLE_MODE   0xC6
#define CMD_READ_DMA            0xC8
#define CMD_READ_DMA_EXT        0x25
#define CMD_WRITE_DMA           0xCA
#define CMD_WRITE_DMA_EXT       0x35
#define CMD_IDENTIFY_DEVICE     0xEC

/* What a packet (ATAPI) device leaves in LBA Mid/High after a reset ("Signatures"). */
#define ATAPI_SIGNATURE_MID     0x14
#define ATAPI_SIGNATURE_HIGH    0xEB

#define WORDS_PER_SECTOR    (ATA_SECTOR_SIZE / 2)
#define LBA28_LIMIT         (1ull << 28)
#define LBA28_MAX_COUNT     256     /* READ SECTORS: a sector count of 0 means 256 */
#define LBA48_MAX_COUNT     65536   /* READ SECTOR(S) EXT: 0 in both bytes means 65536 */

/* Time, in status reads of at least 120 ns each (see the top of the file). */
#define READS_PER_MS        8334
#define SETTLE_READS        4       /* status is valid 400 ns after a command or data block */
#define RESET_PULSE_READS   42      /* SRST stays set at least 5 us ("Software reset") */
#define RESET_SETTLE_MS     2       /* BSY is valid 2 ms after SRST clears (the same) */
#define RESET_FINISH_MS     250     /* how long QEMU may take to finish a reset */
/*
 * A device may stay busy 31 s after a reset while it spins up ("Software reset"); BIOS has
 * waited for that at power-on, so a device that is busy this long now is taken as dead.
 */
#define TIMEOUT_MS          5000

/* The bus master's registers, from its base (Bus Master IDE, section 2.0 and 3.0). */
#define BM_COMMAND          0
#define BM_STATUS           2
#define BM_PRD_TABLE        4
#define BM_COMMAND_START    0x01
#define BM_COMMAND_READ     0x08    /* the bus master writes memory: a disk read */
#define BM_STATUS_ERROR     0x02    /* write 1 to clear */
#define BM_STATUS_INTERRUPT 0x04    /* the device asserted its interrupt; write 1 to clear */
#define BM_STATUS_CAPABLE   0x60    /* "drive 0/1 DMA capable", kept as the firmware set them */
#define PRD_END_OF_TABLE    0x8000

#define BUS_MASTER_CHANNEL_PORTS 8  /* the secondary channel's registers follow the primary's */
#define REQUEST_TIMEOUT_MS  10000   /* a request on the device: as NT's disk driver allows */

/* A physical region descriptor (Bus Master IDE, section 1.2): a run of memory, in one 64 KB. */
struct prd {
    uint32_t address;
    uint16_t byte_count;    /* 0 means 64 KB */
    uint16_t flags;
};

struct channel {
    uint16_t base;          /* command block */
    uint16_t control;       /* Device Control (written), alternate status (read) */
    uint8_t irq;
    const char *name;
    uint16_t bus_master;    /* the bus master's registers; 0 when data moves by PIO */
    bool dma_active;        /* a DMA command is under way */
    struct prd *prd_table;  /* one entry a segment */
    paddr_t prd_table_physical;
    uint8_t *pio_buffer;    /* a page: PIO data on its way, under the queue's lock */
    struct block_queue queue;
};

/* Dword-aligned and within one 64 KB, as the bus master requires (section 1.2). */
static struct prd prd_tables[2][BLOCK_MAX_SEGMENTS] __attribute__((aligned(256)));
static uint8_t pio_buffers[2][PAGE_SIZE] __attribute__((aligned(4)));

static struct channel channels[2] = {
    {.base = 0x1F0, .control = 0x3F6, .irq = 14, .name = "IDE primary channel"},
    {.base = 0x170, .control = 0x376, .irq = 15, .name = "IDE secondary channel"},
};

static struct ata_disk disks[ATA_DEVICES];
static bool lba48_forced;

static struct channel *channel_of(unsigned index)
{
    return &channels[index / 2];
}

static uint8_t device_bits(unsigned index)
{
    return DEVICE_BASE | (index % 2 ? DEVICE_1 : 0);
}

/* The alternate status reads the status without side effects: the driver's clock. */
static void wait_reads(const struct channel *c, uint32_t reads)
{
    while (reads-- > 0)
        (void)io_in8(c->control);
}

/* Polls until BSY clears; the status then, with BSY still set if it never cleared. */
static uint8_t wait_not_busy(const struct channel *c)
{
    uint8_t status = io_in8(c->base + REG_STATUS);

    for (uint32_t reads = TIMEOUT_MS * READS_PER_MS; (status & ST_BSY) && reads > 0; reads--)
        status = io_in8(c->base + REG_STATUS);
    return status;
}

/*
 * QEMU finishes a software reset later, on its own time rather than the guest's: until
 * then device 0 reads status 0, no BSY and no signature, as if nothing were there. So
 * wait, by the clock, until it shows a status or a packet device's signature, for at
 * most RESET_FINISH_MS (a channel without device 0 waits that long, once, at boot).
 */
static const volatile uint64_t *clock;   /* the system clock's ticks (ata_initialize) */

static void wait_for_reset_to_finish(const struct channel *c)
{
    uint64_t start = *clock;
    uint32_t reads = RESET_FINISH_MS * READS_PER_MS;

    while (io_in8(c->base + REG_STATUS) == 0 &&
           !(io_in8(c->base + REG_LBA_MID) == ATAPI_SIGNATURE_MID &&
             io_in8(c->base + REG_LBA_HIGH) == ATAPI_SIGNATURE_HIGH)) {
        /* By the timer when it ticks (interrupts on, below its IRQL), else by counting reads. */
        bool ticking = cpu_interrupts_enabled() && KeGetCurrentIrql() < CLOCK_LEVEL;
        if (ticking ? *clock - start >= RESET_FINISH_MS * PIT_HZ / 1000 : reads-- == 0)
            break;
    }
}

/*
 * Resets both devices of a channel, leaving device 0 selected and their interrupt
 * enabled on a channel that moves data by DMA (its end is reported so), masked otherwise.
 */
static void reset_channel(const struct channel *c)
{
    io_out8(c->control, CONTROL_NIEN | CONTROL_SRST);
    wait_reads(c, RESET_PULSE_READS);
    io_out8(c->control, CONTROL_NIEN);
    wait_reads(c, RESET_SETTLE_MS * READS_PER_MS);
    (void)wait_not_busy(c);
    wait_for_reset_to_finish(c);
    if (c->bus_master)
        io_out8(c->control, 0);
}

/*
 * Whether the controller passes 32-bit accesses to the data port (PCI IDE controllers
 * such as the PIIX do; a plain ISA one need not): IDENTIFY DEVICE again, read with
 * 32-bit accesses, must give the same block as the 16-bit read did. Halves the port
 * accesses of every transfer, which is most of a page's cost under emulation.
 */
static bool identify_reads_same_32_bits_wide(const struct channel *c, const uint16_t *id)
{
    uint16_t again[WORDS_PER_SECTOR];

    io_out8(c->base + REG_COMMAND, CMD_IDENTIFY_DEVICE);
    wait_reads(c, SETTLE_READS);
    uint8_t status = wait_not_busy(c);
    if ((status & (ST_BSY | ST_ERR | ST_DF)) || !(status & ST_DRQ))
        return false;
    io_in32_repeat(c->base + REG_DATA, again, WORDS_PER_SECTOR / 2);
    /* Whatever a 16-bit-only controller left unread must not stay in the way. */
    for (unsigned i = 0; i < WORDS_PER_SECTOR && (io_in8(c->base + REG_STATUS) & ST_DRQ); i++)
        (void)io_in16(c->base + REG_DATA);
    return memcmp(again, id, sizeof(again)) == 0;
}

/* One command's registers. */
struct command {
    uint8_t code;
    uint64_t lba;
    uint32_t count;     /* sectors */
    bool lba48;
};

static ntstatus_t start_command(const struct channel *c, unsigned index,
                                const struct command *command, uint8_t *status);

/*
 * Asks the disk to move PIO data in blocks of several sectors ("SET MULTIPLE MODE"):
 * the most it takes, a power of two, and no more than a page (the channel's PIO
 * buffer). Under emulation each block is one request to the host's disk instead of one a
 * sector. The block's size in sectors; 1 when the disk has no multiple mode.
 */
static uint8_t set_multiple_mode(const struct channel *c, const struct ata_disk *disk,
                                 uint8_t most)
{
    uint8_t sectors = 1;

    while (sectors * 2 <= MIN(most, (uint8_t)(PAGE_SIZE / ATA_SECTOR_SIZE)))
        sectors *= 2;
    if (sectors == 1)
        return 1;
    struct command command = {.code = CMD_SET_MULTIPLE_MODE, .count = sectors};
    uint8_t status = 0;
    if (!NT_SUCCESS(start_command(c, disk->index, &command, &status)))
        return 1;
    status = wait_not_busy(c);
    return (status & (ST_BSY | ST_ERR | ST_DF)) ? 1 : sectors;
}

/* Finds out what answers as device index on its (reset) channel; prints what it finds. */
static void probe_device(unsigned index)
{
    const struct channel *c = channel_of(index);
    struct ata_disk *disk = &disks[index];
    uint16_t id[WORDS_PER_SECTOR];

    io_out8(c->base + REG_DEVICE, device_bits(index));
    wait_reads(c, SETTLE_READS);
    uint8_t status = io_in8(c->base + REG_STATUS);
    if (status == ST_FLOATING)
        return;
    status = wait_not_busy(c);
    if (status & ST_BSY) {
        kprintf("ata: ide%u: busy since the reset, ignored\n", index);
        return;
    }
    /* A packet device keeps DRDY clear until it is spoken to, so its status may read 0. */
    uint8_t mid = io_in8(c->base + REG_LBA_MID), high = io_in8(c->base + REG_LBA_HIGH);
    if (mid == ATAPI_SIGNATURE_MID && high == ATAPI_SIGNATURE_HIGH) {
        kprintf("ata: ide%u: ATAPI device (CD-ROM or similar), not a disk\n", index);
        return;
    }
    /* Device 0 answers with status 0 for a device 1 that is not there ("Status register"). */
    if (status == 0)
        return;
    if (mid != 0 || high != 0) {
        kprintf("ata: ide%u: unknown signature %02x%02x, ignored\n", index, high, mid);
        return;
    }

    io_out8(c->base + REG_COMMAND, CMD_IDENTIFY_DEVICE);
    wait_reads(c, SETTLE_READS);
    if (io_in8(c->base + REG_STATUS) == 0)
        return;
    status = wait_not_busy(c);
    if ((status & (ST_BSY | ST_ERR | ST_DF)) || !(status & ST_DRQ)) {
        kprintf("ata: ide%u: IDENTIFY DEVICE failed (status 0x%02x), ignored\n", index, status);
        return;
    }
    io_in16_repeat(c->base + REG_DATA, id, WORDS_PER_SECTOR);
    disk->index = index;
    struct ata_identity identity;
    if (!ata_identify_decode(id, &identity)) {
        kprintf("ata: ide%u: no LBA addressing, ignored\n", index);
        return;
    }
    disk->lba48 = identity.lba48;
    disk->sector_count = identity.sector_count;
    memcpy(disk->model, identity.model, sizeof(disk->model));
    disk->present = true;
    disk->pio32 = identify_reads_same_32_bits_wide(c, id);
    disk->multiple = set_multiple_mode(c, disk, identity.multiple_max);
}

const struct ata_disk *ata_disk(unsigned index)
{
    if (index >= ATA_DEVICES || !disks[index].present)
        return NULL;
    return &disks[index];
}

void ata_force_lba48(bool force)
{
    lba48_forced = force;
}


/* Loads the registers and starts the command; the status read last in *status. */
static ntstatus_t start_command(const struct channel *c, unsigned index,
                                const struct command *command, uint8_t *status)
{
    /* The Device register may be written only while BSY and DRQ are clear (its section). */
    *status = wait_not_busy(c);
    if (*status & ST_BSY)
        return STATUS_IO_TIMEOUT;
    uint8_t device = device_bits(index) | DEVICE_LBA;
    if (!command->lba48)
        device |= (command->lba >> 24) & 0x0F;
    io_out8(c->base + REG_DEVICE, device);
    wait_reads(c, SETTLE_READS);
    *status = wait_not_busy(c);
    if (*status & ST_BSY)
        return STATUS_IO_TIMEOUT;
    /* ERR may be left from the last command (a new one clears it); DRQ is a stray block. */
    if (!(*status & ST_DRDY) || (*status & ST_DRQ))
        return STATUS_IO_DEVICE_ERROR;

    /*
     * 48-bit commands take each register twice, the high-order byte first (the "48-bit
     * Address feature set").
     */
    if (command->lba48) {
        io_out8(c->base + REG_SECTOR_COUNT, (command->count >> 8) & 0xFF);
        io_out8(c->base + REG_LBA_LOW, (command->lba >> 24) & 0xFF);
        io_out8(c->base + REG_LBA_MID, (command->lba >> 32) & 0xFF);
        io_out8(c->base + REG_LBA_HIGH, (command->lba >> 40) & 0xFF);
    }
    io_out8(c->base + REG_SECTOR_COUNT, command->count & 0xFF);
    io_out8(c->base + REG_LBA_LOW, command->lba & 0xFF);
    io_out8(c->base + REG_LBA_MID, (command->lba >> 8) & 0xFF);
    io_out8(c->base + REG_LBA_HIGH, (command->lba >> 16) & 0xFF);
    io_out8(c->base + REG_COMMAND, command->code);
    wait_reads(c, SETTLE_READS);
    return STATUS_SUCCESS;
}

/*
 * Copies length bytes between buffer and the request's memory from byte offset on, a
 * segment's part at a time (each one mapping of a page).
 */
static void copy_request(const struct block_request *request, uint32_t offset, uint8_t *buffer,
                         uint32_t length, bool to_memory)
{
    for (uint32_t i = 0; i < request->segment_count && length > 0; i++) {
        const struct block_segment *segment = &request->segments[i];
        if (offset >= segment->length) {
            offset -= segment->length;
            continue;
        }
        uint32_t part = MIN(segment->length - offset, length);
        if (to_memory)
            MmCopyToPhysical(segment->address + offset, buffer, part);
        else
            MmCopyFromPhysical(buffer, segment->address + offset, part);
        buffer += part;
        length -= part;
        offset = 0;
    }
}

/* One data block of sectors through the data port, 32 or 16 bits at a time. */
static void move_block(const struct channel *c, const struct ata_disk *disk, uint8_t *block,
                       uint32_t sectors, bool write)
{
    uint32_t words = sectors * WORDS_PER_SECTOR;

    if (!write && disk->pio32)
        io_in32_repeat(c->base + REG_DATA, block, words / 2);
    else if (!write)
        io_in16_repeat(c->base + REG_DATA, block, words);
    else if (disk->pio32)
        io_out32_repeat(c->base + REG_DATA, block, words / 2);
    else
        io_out16_repeat(c->base + REG_DATA, block, words);
}

/*
 * The "PIO data-in" and "PIO data-out" command protocols for request, then the final
 * status. The request's memory is physical, so the data goes through the channel's
 * page buffer, a page's worth of sectors at a time: one mapping of each page of the
 * request, not one a sector.
 */
static ntstatus_t move_data(struct channel *c, const struct ata_disk *disk,
                            const struct block_request *request, uint8_t *status)
{
    enum { SECTORS_PER_BUFFER = PAGE_SIZE / ATA_SECTOR_SIZE };

    for (uint32_t first = 0; first < request->sector_count; first += SECTORS_PER_BUFFER) {
        uint32_t count = MIN(request->sector_count - first, (uint32_t)SECTORS_PER_BUFFER);
        uint32_t offset = first * ATA_SECTOR_SIZE, bytes = count * ATA_SECTOR_SIZE;
        if (request->write)
            copy_request(request, offset, c->pio_buffer, bytes, false);
        /* A block a DRQ: disk->multiple sectors (the last maybe fewer), which divides a page. */
        for (uint32_t i = 0; i < count; i += disk->multiple) {
            *status = wait_not_busy(c);
            if (*status & ST_BSY)
                return STATUS_IO_TIMEOUT;
            if ((*status & (ST_ERR | ST_DF)) || !(*status & ST_DRQ))
                return STATUS_IO_DEVICE_ERROR;
            move_block(c, disk, c->pio_buffer + i * ATA_SECTOR_SIZE,
                       MIN((uint32_t)disk->multiple, count - i), request->write);
            wait_reads(c, SETTLE_READS);
        }
        if (!request->write)
            copy_request(request, offset, c->pio_buffer, bytes, true);
    }
    /* A write is done only when the device has taken the last block in. */
    *status = wait_not_busy(c);
    if (*status & ST_BSY)
        return STATUS_IO_TIMEOUT;
    if (*status & (ST_ERR | ST_DF | ST_DRQ))
        return STATUS_IO_DEVICE_ERROR;
    return STATUS_SUCCESS;
}

/* A failed command is logged, and the channel reset so that the next one starts clean. */
static ntstatus_t command_failed(struct channel *c, const struct ata_disk *disk,
                                 const struct command *command, ntstatus_t result,
                                 uint8_t status)
{
    kprintf("ata: ide%u: command 0x%02x at LBA %llu, count %u, %s: status 0x%02x, "
            "error 0x%02x\n", disk->index, command->code, (unsigned long long)command->lba,
            command->count, result == STATUS_IO_TIMEOUT ? "timed out" : "failed", status,
            io_in8(c->base + REG_ERROR));
    reset_channel(c);
    return result;
}

static struct command command_for(const struct ata_disk *disk,
                                  const struct block_request *request, bool dma)
{
    bool lba48 = disk->lba48 && (lba48_forced || request->lba + request->sector_count >
                                                 LBA28_LIMIT);
    struct command command = {.lba = request->lba, .count = request->sector_count,
                              .lba48 = lba48};

    if (dma)
        command.code = request->write ? (lba48 ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA)
                                      : (lba48 ? CMD_READ_DMA_EXT : CMD_READ_DMA);
    else if (disk->multiple > 1)
        command.code = request->write ? (lba48 ? CMD_WRITE_MULTIPLE_EXT : CMD_WRITE_MULTIPLE)
                                      : (lba48 ? CMD_READ_MULTIPLE_EXT : CMD_READ_MULTIPLE);
    else
        command.code = request->write ? (lba48 ? CMD_WRITE_SECTORS_EXT : CMD_WRITE_SECTORS)
                                      : (lba48 ? CMD_READ_SECTORS_EXT : CMD_READ_SECTORS);
    return command;
}

/* Runs a PIO command from start to final status, the queue's lock held. */
static ntstatus_t run_pio(struct channel *c, const struct ata_disk *disk,
                          const struct block_request *request)
{
    struct command command = command_for(disk, request, false);
    uint8_t status = 0;

    ntstatus_t result = start_command(c, disk->index, &command, &status);
    if (NT_SUCCESS(result))
        result = move_data(c, disk, request, &status);
    return NT_SUCCESS(result) ? result : command_failed(c, disk, &command, result, status);
}

/*
 * Starts a DMA command ("Bus Master IDE", section 3.0's sequence): the region table,
 * the direction, the device's registers and command, then the bus master's start bit.
 */
static ntstatus_t start_dma(struct channel *c, const struct ata_disk *disk,
                            const struct block_request *request)
{
    struct command command = command_for(disk, request, true);
    uint8_t status = 0;

    for (uint32_t i = 0; i < request->segment_count; i++) {
        const struct block_segment *segment = &request->segments[i];
        c->prd_table[i] = (struct prd){
            .address = (uint32_t)segment->address, .byte_count = (uint16_t)segment->length,
            .flags = i + 1 == request->segment_count ? PRD_END_OF_TABLE : 0};
    }
    io_out32(c->bus_master + BM_PRD_TABLE, (uint32_t)c->prd_table_physical);
    io_out8(c->bus_master + BM_COMMAND, request->write ? 0 : BM_COMMAND_READ);
    uint8_t bm_status = io_in8(c->bus_master + BM_STATUS);
    io_out8(c->bus_master + BM_STATUS,
            (bm_status & BM_STATUS_CAPABLE) | BM_STATUS_ERROR | BM_STATUS_INTERRUPT);
    ntstatus_t result = start_command(c, disk->index, &command, &status);
    if (!NT_SUCCESS(result))
        return command_failed(c, disk, &command, result, status);
    io_out8(c->bus_master + BM_COMMAND,
            (request->write ? 0 : BM_COMMAND_READ) | BM_COMMAND_START);
    c->dma_active = true;
    return STATUS_PENDING;
}

static ntstatus_t channel_start(struct block_queue *queue, struct block_request *request)
{
    struct channel *c = queue->context;
    const struct ata_disk *disk = request->device->context;

    return c->bus_master ? start_dma(c, disk, request) : run_pio(c, disk, request);
}

/*
 * The channel's interrupt handler's work, and a polling requester's: when the bus master
 * says the device interrupted, the DMA command has ended; its status is read (which
 * also lowers the device's interrupt) and the request finished.
 */
static void service_channel(struct channel *c, bool polled)
{
    if (!c->dma_active) {
        (void)io_in8(c->base + REG_STATUS);     /* not a command's end: lower INTRQ */
        return;
    }
    uint8_t bm_status = io_in8(c->bus_master + BM_STATUS);
    if (!(bm_status & BM_STATUS_INTERRUPT))
        return;
    io_out8(c->bus_master + BM_COMMAND, 0);
    uint8_t status = io_in8(c->base + REG_STATUS);
    io_out8(c->bus_master + BM_STATUS,
            (bm_status & BM_STATUS_CAPABLE) | BM_STATUS_ERROR | BM_STATUS_INTERRUPT);
    c->dma_active = false;
    ntstatus_t result = STATUS_SUCCESS;
    if ((bm_status & BM_STATUS_ERROR) || (status & (ST_BSY | ST_ERR | ST_DF | ST_DRQ))) {
        const struct block_request *request = c->queue.active;
        const struct ata_disk *disk = request->device->context;
        struct command command = command_for(disk, request, true);
        result = command_failed(c, disk, &command, STATUS_IO_DEVICE_ERROR, status);
    }
    block_queue_finish(&c->queue, result, polled);
}

static void channel_poll(struct block_queue *queue)
{
    service_channel(queue->context, true);
}

/* The request ran past the timeout: the bus master is stopped and the devices reset. */
static void channel_abort(struct block_queue *queue)
{
    struct channel *c = queue->context;

    if (c->bus_master) {
        io_out8(c->bus_master + BM_COMMAND, 0);
        uint8_t bm_status = io_in8(c->bus_master + BM_STATUS);
        io_out8(c->bus_master + BM_STATUS,
                (bm_status & BM_STATUS_CAPABLE) | BM_STATUS_ERROR | BM_STATUS_INTERRUPT);
    }
    c->dma_active = false;
    reset_channel(c);
}

static const struct block_queue_operations channel_operations = {
    .start = channel_start,
    .poll = channel_poll,
    .abort = channel_abort,
};

/* IRQ 14 or 15: the channel's interrupt (its line is the channel's own, not shared). */
static void channel_interrupt(void *context)
{
    struct channel *c = context;
    KIRQL old = KeAcquireInterruptSpinLock(&c->queue.lock);

    service_channel(c, false);
    KeReleaseInterruptSpinLock(&c->queue.lock, old);
}

/* Whether a channel moves data by DMA: a bus master, and no `ide=pio`. */
static uint16_t bus_master_of(unsigned channel, const char *command_line)
{
    const struct ata_pci_controller *controller = ata_pci_controller();
    struct cmdline_word option;

    if (!controller->present || !controller->bus_master_capable || !controller->bus_master_base)
        return 0;
    if (cmdline_find(command_line, "ide", &option)) {
        if (option.value_length == 3 && memcmp(option.value, "pio", 3) == 0)
            return 0;
        if (channel == 0)
            kprintf("warning: %.*s ignored: the only value is ide=pio\n",
                    (int)MIN(option.length, (size_t)64), option.text);
    }
    return (uint16_t)(controller->bus_master_base + channel * BUS_MASTER_CHANNEL_PORTS);
}

/* Makes channel n's queue, and its disks block devices. */
static void start_channel(unsigned n, const char *command_line)
{
    struct channel *c = &channels[n];

    c->bus_master = bus_master_of(n, command_line);
    c->prd_table = prd_tables[n];
    c->pio_buffer = pio_buffers[n];
    if (c->bus_master && !MmGetPhysicalAddress((vaddr_t)c->prd_table, &c->prd_table_physical))
        c->bus_master = 0;
    KIRQL irql = c->bus_master ? hal_irql_of_line(c->irq) : DISPATCH_LEVEL;
    block_queue_initialize(&c->queue, c->name, &channel_operations, c, irql,
                           c->bus_master != 0, REQUEST_TIMEOUT_MS);
    if (c->bus_master) {
        io_out8(c->bus_master + BM_COMMAND, 0);
        io_out8(c->control, 0);     /* the devices' interrupt on: it ends each command */
        (void)io_in8(c->base + REG_STATUS);
        if (!hal_connect_shared_interrupt(c->irq, channel_interrupt, c))
            panic("ata: IRQ %u cannot be connected", c->irq);
    }
    for (unsigned index = 2 * n; index < 2 * n + 2; index++) {
        struct ata_disk *disk = &disks[index];
        if (!disk->present)
            continue;
        struct block_device *device = &disk->device;
        ksnprintf(device->name, sizeof(device->name), "ide%u", index);
        device->kind = "IDE";
        device->transfer_mode = c->bus_master ? "bus-master DMA" : disk->pio32 ? "32-bit PIO"
                                                                              : "16-bit PIO";
        memcpy(device->model, disk->model, sizeof(device->model));
        device->sector_count = disk->sector_count;
        device->queue = &c->queue;
        device->context = disk;
        if (block_register_device(device))
            kprintf("ata: ide%u: %s, %llu sectors (%llu MB), %s, %s\n", index, disk->model,
                    (unsigned long long)disk->sector_count,
                    (unsigned long long)(disk->sector_count / (1024 * 1024 / ATA_SECTOR_SIZE)),
                    disk->lba48 ? "LBA48" : "LBA28", device->transfer_mode);
    }
}

void ata_initialize(const volatile uint64_t *clock_ticks, const char *command_line)
{
    clock = clock_ticks;
    for (unsigned n = 0; n < ARRAY_SIZE(channels); n++) {
        struct channel *c = &channels[n];
        if (io_in8(c->base + REG_STATUS) == ST_FLOATING)
            continue;
        reset_channel(c);
        probe_device(2 * n);
        probe_device(2 * n + 1);
        if (disks[2 * n].present || disks[2 * n + 1].present)
            start_channel(n, command_line);
    }
}
