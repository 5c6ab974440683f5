/*
 * ATA disks on the legacy IDE channels, in PIO mode and polled. Registers, commands and
 * protocols are those of ATA/ATAPI-6 (T13/1410D); the comments below name its sections.
 *
 * No wait has a clock: the PIT's ticks stop while interrupts are off, and the page-fault
 * path calls in with them off. Time is counted in status reads instead, each an I/O cycle
 * to the device that takes at least 120 ns (t0, the shortest register-transfer cycle, PIO
 * mode 4), so a number of reads is a lower bound on the time waited.
 */
#include "arch/ata.h"
#include "arch/cpu.h"
#include "arch/pit.h"
#include "arch/spinlock.h"
#include "lib/console.h"
#include "lib/string.h"

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
#define CMD_FLUSH_CACHE         0xE7
#define CMD_FLUSH_CACHE_EXT     0xEA
#define CMD_IDENTIFY_DEVICE     0xEC

/* What a packet (ATAPI) device leaves in LBA Mid/High after a reset ("Signatures"). */
#define ATAPI_SIGNATURE_MID     0x14
#define ATAPI_SIGNATURE_HIGH    0xEB

/* Words of the IDENTIFY DEVICE data (its section's table). */
#define ID_MODEL            27      /* 20 words, 40 characters */
#define ID_MODEL_WORDS      20
#define ID_CAPABILITIES     49
#define ID_CAP_LBA          (1u << 9)
#define ID_LBA28_SECTORS    60      /* 2 words, low word first */
#define ID_COMMAND_SETS     83
#define ID_ENABLED_SETS     86
#define ID_SET_LBA48        (1u << 10)
#define ID_LBA48_SECTORS    100     /* 4 words, low word first */

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

struct channel {
    uint16_t base;      /* command block */
    uint16_t control;   /* Device Control (written), alternate status (read) */
};

static const struct channel channels[2] = {{0x1F0, 0x3F6}, {0x170, 0x376}};

struct ata_statistics ata_statistics;
static struct ata_disk disks[ATA_DEVICES];
static unsigned inject_skip, inject_fail;

/*
 * The channels' registers, ata_statistics and the injected failures: one command at a
 * time, polled at DISPATCH_LEVEL (no interrupt handler shares anything).
 */
static struct lock_class ata_lock_class = LOCK_CLASS_SPIN("ATA channels");
static struct kspin_lock ata_lock = KSPIN_LOCK_INIT(ata_lock_class);
static bool lba48_forced;

static const struct channel *channel_of(unsigned index)
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

/* Resets both devices of a channel, leaving their interrupts masked and device 0 selected. */
static void reset_channel(const struct channel *c)
{
    io_out8(c->control, CONTROL_NIEN | CONTROL_SRST);
    wait_reads(c, RESET_PULSE_READS);
    io_out8(c->control, CONTROL_NIEN);
    wait_reads(c, RESET_SETTLE_MS * READS_PER_MS);
    (void)wait_not_busy(c);
    wait_for_reset_to_finish(c);
}

/* Copies an ATA string (two characters a word, the first in the high byte) and trims it. */
static void copy_model(char *model, const uint16_t *words)
{
    size_t length = 0, start = 0;

    for (unsigned i = 0; i < ID_MODEL_WORDS; i++) {
        model[2 * i] = (char)(words[i] >> 8);
        model[2 * i + 1] = (char)(words[i] & 0xFF);
    }
    for (size_t i = 0; i < 2 * ID_MODEL_WORDS; i++)
        if (model[i] != ' ' && model[i] != '\0')
            length = i + 1;
    while (start < length && model[start] == ' ')
        start++;
    memmove(model, model + start, length - start);
    model[length - start] = '\0';
}

/* Fills in disk from IDENTIFY DEVICE data; false for a device the driver cannot address. */
static bool decode_identify(struct ata_disk *disk, const uint16_t *id)
{
    if (!(id[ID_CAPABILITIES] & ID_CAP_LBA))
        return false;
    disk->lba48 = (id[ID_COMMAND_SETS] & ID_SET_LBA48) && (id[ID_ENABLED_SETS] & ID_SET_LBA48);
    disk->sector_count = 0;
    if (disk->lba48)
        for (unsigned i = 4; i-- > 0;)
            disk->sector_count = disk->sector_count << 16 | id[ID_LBA48_SECTORS + i];
    else
        disk->sector_count = (uint32_t)id[ID_LBA28_SECTORS + 1] << 16 | id[ID_LBA28_SECTORS];
    copy_model(disk->model, &id[ID_MODEL]);
    return disk->sector_count > 0;
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
        kprintf("ata: hd%u: busy since the reset, ignored\n", index);
        return;
    }
    /* A packet device keeps DRDY clear until it is spoken to, so its status may read 0. */
    uint8_t mid = io_in8(c->base + REG_LBA_MID), high = io_in8(c->base + REG_LBA_HIGH);
    if (mid == ATAPI_SIGNATURE_MID && high == ATAPI_SIGNATURE_HIGH) {
        kprintf("ata: hd%u: ATAPI device (CD-ROM or similar), not a disk\n", index);
        return;
    }
    /* Device 0 answers with status 0 for a device 1 that is not there ("Status register"). */
    if (status == 0)
        return;
    if (mid != 0 || high != 0) {
        kprintf("ata: hd%u: unknown signature %02x%02x, ignored\n", index, high, mid);
        return;
    }

    io_out8(c->base + REG_COMMAND, CMD_IDENTIFY_DEVICE);
    wait_reads(c, SETTLE_READS);
    if (io_in8(c->base + REG_STATUS) == 0)
        return;
    status = wait_not_busy(c);
    if ((status & (ST_BSY | ST_ERR | ST_DF)) || !(status & ST_DRQ)) {
        kprintf("ata: hd%u: IDENTIFY DEVICE failed (status 0x%02x), ignored\n", index, status);
        return;
    }
    io_in16_repeat(c->base + REG_DATA, id, WORDS_PER_SECTOR);
    disk->index = index;
    if (!decode_identify(disk, id)) {
        kprintf("ata: hd%u: no LBA addressing, ignored\n", index);
        return;
    }
    disk->present = true;
    disk->pio32 = identify_reads_same_32_bits_wide(c, id);
    kprintf("ata: hd%u: %s, %llu sectors (%llu MB), %s, %s PIO\n", index, disk->model,
            (unsigned long long)disk->sector_count,
            (unsigned long long)(disk->sector_count / (1024 * 1024 / ATA_SECTOR_SIZE)),
            disk->lba48 ? "LBA48" : "LBA28", disk->pio32 ? "32-bit" : "16-bit");
}

void ata_initialize(const volatile uint64_t *clock_ticks)
{
    clock = clock_ticks;
    for (unsigned n = 0; n < ARRAY_SIZE(channels); n++) {
        const struct channel *c = &channels[n];
        if (io_in8(c->base + REG_STATUS) == ST_FLOATING)
            continue;
        reset_channel(c);
        probe_device(2 * n);
        probe_device(2 * n + 1);
    }
}

const struct ata_disk *ata_disk(unsigned index)
{
    if (index >= ATA_DEVICES || !disks[index].present)
        return NULL;
    return &disks[index];
}

void ata_inject_failures(unsigned skip, unsigned fail)
{
    KIRQL old = KeAcquireSpinLock(&ata_lock);
    inject_skip = skip;
    inject_fail = fail;
    KeReleaseSpinLock(&ata_lock, old);
}

void ata_force_lba48(bool force)
{
    lba48_forced = force;
}

/* One command: its registers, the data blocks (read into in or written from out), status. */
struct command {
    uint8_t code;
    uint64_t lba;
    uint32_t count;     /* sectors; 0 for a command without data */
    bool lba48;
    bool pio32;         /* move the data 32 bits at a time */
    uint8_t *in;
    const uint8_t *out;
};

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

/* The "PIO data-in" and "PIO data-out" command protocols, then the final status. */
static ntstatus_t move_data(const struct channel *c, const struct command *command,
                            uint8_t *status)
{
    for (uint32_t i = 0; i < command->count; i++) {
        *status = wait_not_busy(c);
        if (*status & ST_BSY)
            return STATUS_IO_TIMEOUT;
        if ((*status & (ST_ERR | ST_DF)) || !(*status & ST_DRQ))
            return STATUS_IO_DEVICE_ERROR;
        if (command->in && command->pio32)
            io_in32_repeat(c->base + REG_DATA, command->in + i * ATA_SECTOR_SIZE,
                           WORDS_PER_SECTOR / 2);
        else if (command->in)
            io_in16_repeat(c->base + REG_DATA, command->in + i * ATA_SECTOR_SIZE,
                           WORDS_PER_SECTOR);
        else if (command->pio32)
            io_out32_repeat(c->base + REG_DATA, command->out + i * ATA_SECTOR_SIZE,
                            WORDS_PER_SECTOR / 2);
        else
            io_out16_repeat(c->base + REG_DATA, command->out + i * ATA_SECTOR_SIZE,
                            WORDS_PER_SECTOR);
        wait_reads(c, SETTLE_READS);
    }
    /* A write is done only when the device has taken the last block in. */
    *status = wait_not_busy(c);
    if (*status & ST_BSY)
        return STATUS_IO_TIMEOUT;
    if (*status & (ST_ERR | ST_DF | ST_DRQ))
        return STATUS_IO_DEVICE_ERROR;
    return STATUS_SUCCESS;
}

/*
 * Runs one command from start to final status with interrupts off, so that no other
 * thread's command can come between its register writes and its data. A failure is
 * logged and counted, and the channel reset, so that the next command starts clean.
 */
static ntstatus_t run_command(const struct ata_disk *disk, const struct command *command)
{
    const struct channel *c = channel_of(disk->index);
    KIRQL old = KeAcquireSpinLock(&ata_lock);
    uint8_t status = 0;

    ntstatus_t result = start_command(c, disk->index, command, &status);
    if (NT_SUCCESS(result)) {
        if (command->in)
            ata_statistics.reads++;
        else if (command->out)
            ata_statistics.writes++;
        result = move_data(c, command, &status);
    }
    if (NT_SUCCESS(result)) {
        if (command->in)
            ata_statistics.sectors_read += command->count;
        else if (command->out)
            ata_statistics.sectors_written += command->count;
    } else {
        ata_statistics.errors++;
        kprintf("ata: hd%u: command 0x%02x at LBA %llu, count %u, %s: status 0x%02x, "
                "error 0x%02x\n", disk->index, command->code, (unsigned long long)command->lba,
                command->count, result == STATUS_IO_TIMEOUT ? "timed out" : "failed", status,
                io_in8(c->base + REG_ERROR));
        reset_channel(c);
    }
    KeReleaseSpinLock(&ata_lock, old);
    return result;
}

/* Checks a transfer's arguments: nothing may be sent to the disk when this refuses. */
static ntstatus_t check_transfer(const struct ata_disk *disk, uint64_t lba, uint32_t count,
                                 const void *buffer)
{
    if (!disk || disk->index >= ATA_DEVICES || disk != &disks[disk->index] || !disk->present)
        return STATUS_DEVICE_NOT_CONNECTED;
    if (count == 0 || !buffer || lba >= disk->sector_count || count > disk->sector_count - lba)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

/* True when this transfer is one that ata_inject_failures asked to fail. */
static bool take_injected_failure(void)
{
    KIRQL old = KeAcquireSpinLock(&ata_lock);
    bool fail = false;

    if (inject_skip > 0) {
        inject_skip--;
    } else if (inject_fail > 0) {
        inject_fail--;
        ata_statistics.injected_failures++;
        fail = true;
    }
    KeReleaseSpinLock(&ata_lock, old);
    return fail;
}

/* ata_read (in set) or ata_write (out set): as many commands as the range needs. */
static ntstatus_t transfer(const struct ata_disk *disk, uint64_t lba, uint32_t count,
                           uint8_t *in, const uint8_t *out)
{
    ntstatus_t status = check_transfer(disk, lba, count, in ? (const void *)in : out);
    if (!NT_SUCCESS(status))
        return status;
    if (take_injected_failure())
        return STATUS_IO_DEVICE_ERROR;

    bool lba48 = disk->lba48 && (lba48_forced || lba + count > LBA28_LIMIT);
    uint32_t per_command = lba48 ? LBA48_MAX_COUNT : LBA28_MAX_COUNT;
    struct command command = {.lba = lba, .lba48 = lba48, .pio32 = disk->pio32, .in = in,
                              .out = out};
    if (in)
        command.code = lba48 ? CMD_READ_SECTORS_EXT : CMD_READ_SECTORS;
    else
        command.code = lba48 ? CMD_WRITE_SECTORS_EXT : CMD_WRITE_SECTORS;
    while (count > 0 && NT_SUCCESS(status)) {
        command.count = MIN(count, per_command);
        status = run_command(disk, &command);
        command.lba += command.count;
        count -= command.count;
        if (command.in)
            command.in += command.count * ATA_SECTOR_SIZE;
        else
            command.out += command.count * ATA_SECTOR_SIZE;
    }
    /* The data is on the medium only once the write cache is flushed ("FLUSH CACHE"). */
    if (out && NT_SUCCESS(status)) {
        struct command flush = {.code = disk->lba48 ? CMD_FLUSH_CACHE_EXT : CMD_FLUSH_CACHE,
                                .lba48 = disk->lba48};
        status = run_command(disk, &flush);
    }
    return status;
}

ntstatus_t ata_read(const struct ata_disk *disk, uint64_t lba, uint32_t count, void *buffer)
{
    return transfer(disk, lba, count, buffer, NULL);
}

ntstatus_t ata_write(const struct ata_disk *disk, uint64_t lba, uint32_t count,
                     const void *buffer)
{
    return transfer(disk, lba, count, NULL, buffer);
}
