#pragma once
/*
 * SATA disks behind AHCI host bus adapters (PCI class 01, subclass 06, programming
 * interface 01; Serial ATA AHCI 1.3.1), each port's disk a block device of its own:
 * sata0, sata1, ... in the order the controllers and their ports are found, with one
 * block queue per port (io/block.h). Commands are DMA through the port's command slot
 * 0, one at a time; their ends come by the controller's INTx line when the firmware
 * routed it to the PIC, else by polling.
 */
#include "arch/pci.h"
#include "lib/types.h"

/* Counted since boot; for tests and reports. */
struct ahci_statistics {
    uint32_t controllers;           /* taken by the probe */
    uint32_t disks;                 /* ports whose disk was registered */
    uint32_t port_recoveries;       /* ports stopped and restarted after an error or a timeout */
    uint32_t port_resets;           /* COMRESETs sent to a device that stayed busy */
    uint32_t interrupts_not_ours;   /* calls on a shared line with nothing pending here */
};

extern struct ahci_statistics ahci_statistics;

/*
 * Takes AHCI controllers: brings up each port with an ATA disk and registers it as a
 * block device, printing one line for the controller and one for each disk or each
 * port it leaves.
 */
extern const struct pci_driver ahci_pci_driver;
