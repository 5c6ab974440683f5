#pragma once
/*
 * ATA disks on the PC's two legacy IDE channels (primary 0x1F0/0x3F6, secondary
 * 0x170/0x376), in PIO mode and polled: the device's interrupt is masked (nIEN), so the
 * driver works with the CPU's interrupts on or off, the page-fault path included.
 * Four possible devices: hd0 and hd1 (primary master, slave), hd2 and hd3 (secondary).
 */
#include "arch/pci.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

#define ATA_DEVICES     4
#define ATA_SECTOR_SIZE 512

/* What IDENTIFY DEVICE said about a disk. Read-only outside arch/ata.c. */
struct ata_disk {
    unsigned index;             /* 0-3: hd0-hd3 */
    bool present;
    bool lba48;                 /* the 48-bit commands are supported */
    uint64_t sector_count;      /* addressable sectors of ATA_SECTOR_SIZE bytes */
    bool pio32;                 /* the controller moves data 32 bits at a time */
    char model[41];             /* trimmed */
};

/* Counted since boot; for tests and reports. */
struct ata_statistics {
    uint32_t reads;             /* READ SECTORS commands issued (a long read is several) */
    uint32_t writes;            /* WRITE SECTORS commands issued */
    uint32_t sectors_read;      /* by commands that succeeded */
    uint32_t sectors_written;
    uint32_t errors;            /* device errors and timeouts */
    uint32_t injected_failures; /* transfers failed by ata_inject_failures */
};

extern struct ata_statistics ata_statistics;

/*
 * Finds the ATA disks on both channels and prints one line for each; ATAPI is skipped.
 * clock_ticks is the system clock (PIT_HZ ticks a second, moving while interrupts are
 * on), which the driver waits by; the scheduler keeps it, a layer above this one.
 */
void ata_initialize(const volatile uint64_t *clock_ticks);

/* Disk hd<index>, or NULL when it is absent or index is not below ATA_DEVICES. */
const struct ata_disk *ata_disk(unsigned index);

/*
 * Reads count sectors from lba on into buffer (resident kernel memory, count * 512
 * bytes). STATUS_DEVICE_NOT_CONNECTED for an absent disk; STATUS_INVALID_PARAMETER for
 * count 0 or a range past the disk's end, with nothing sent; STATUS_IO_DEVICE_ERROR or
 * STATUS_IO_TIMEOUT when the disk fails, with the buffer's contents undefined.
 */
ntstatus_t ata_read(const struct ata_disk *disk, uint64_t lba, uint32_t count, void *buffer);

/* Writes count sectors like ata_read reads them, then flushes the disk's write cache. */
ntstatus_t ata_write(const struct ata_disk *disk, uint64_t lba, uint32_t count,
                     const void *buffer);

/*
 * Fault injection: of the next transfers (ata_read or ata_write calls whose arguments are
 * valid), skip go to the disk and the fail after them return STATUS_IO_DEVICE_ERROR
 * without touching it. (0, 0) turns injection off.
 */
void ata_inject_failures(unsigned skip, unsigned fail);

/* For tests: while force is true, every command uses its 48-bit form on LBA48 disks. */
void ata_force_lba48(bool force);

/*
 * The PCI IDE controller the driver took (arch/ata_pci.c): one in compatibility mode,
 * whose channels answer at the legacy ports and IRQs 14 and 15 (PCI IDE Controller
 * Specification 1.0, section 2.1). What it offers for bus-master DMA is recorded here;
 * the transfers themselves are still PIO.
 */
struct ata_pci_controller {
    bool present;                   /* a PCI IDE controller was taken */
    struct pci_address address;
    bool bus_master_capable;        /* programming interface bit 7 */
    uint16_t bus_master_base;       /* BAR4's I/O ports (8 per channel); 0 when it has none */
};

/* Takes PCI IDE controllers (class 01, subclass 01) in compatibility mode. */
extern const struct pci_driver ata_pci_driver;

/* The controller ata_pci_driver took; present is false when it took none. */
const struct ata_pci_controller *ata_pci_controller(void);
