#pragma once
/*
 * ATA disks on the PC's two legacy IDE channels (primary 0x1F0/0x3F6, IRQ 14; secondary
 * 0x170/0x376, IRQ 15), registered with the block layer as ide0-ide3 (primary master,
 * primary slave, secondary master, secondary slave). Data moves by bus-master DMA on a
 * PCI IDE controller that offers it, by polled PIO otherwise or with `ide=pio`.
 */
#include "io/block.h"
#include "arch/pci.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

#define ATA_DEVICES     4
#define ATA_SECTOR_SIZE 512

/* What IDENTIFY DEVICE said about a disk. Read-only outside io/ata.c. */
struct ata_disk {
    unsigned index;             /* 0-3: ide0-ide3 */
    bool present;
    bool lba48;                 /* the 48-bit commands are supported */
    uint64_t sector_count;      /* addressable sectors of ATA_SECTOR_SIZE bytes */
    bool pio32;                 /* the controller moves PIO data 32 bits at a time */
    uint8_t multiple;           /* sectors a PIO data block carries (READ/WRITE MULTIPLE);
                                   1: a sector a block (READ/WRITE SECTORS) */
    char model[41];             /* trimmed */
    struct block_device device; /* what the block layer knows it as */
};

/*
 * Finds the ATA disks on both channels, registers each with the block layer and prints
 * one line for it; ATAPI is skipped. clock_ticks is the system clock (PIT_HZ ticks a
 * second, moving while interrupts are on); command_line may say ide=pio. Called after
 * pci_initialize, whose ata_pci_driver says whether the channels can do DMA.
 */
void ata_initialize(const volatile uint64_t *clock_ticks, const char *command_line);

/* Disk ide<index>, or NULL when it is absent or index is not below ATA_DEVICES. */
const struct ata_disk *ata_disk(unsigned index);

/* For tests: while force is true, every command uses its 48-bit form on LBA48 disks. */
void ata_force_lba48(bool force);

/*
 * The PCI IDE controller the driver took (io/ata_pci.c): one in compatibility mode,
 * whose channels answer at the legacy ports and IRQs 14 and 15 (PCI IDE Controller
 * Specification 1.0, section 2.1), and the bus master's registers, through which the
 * channels move data by DMA.
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
