#pragma once
/*
 * PCI: configuration space through configuration mechanism #1 (ports 0xCF8/0xCFC), the
 * functions found on every bus reachable from bus 0, their base address registers, and
 * the drivers that take them. Register layout and class codes are those of the PCI Local
 * Bus Specification 3.0 (section 6.1, "Configuration Space Organization") and the
 * PCI-to-PCI Bridge Architecture Specification 1.2 (section 3.2); the PCI Code and ID
 * Assignment Specification gives the class codes. A machine without PCI (QEMU's isapc)
 * has no functions here, and its drivers use the legacy ports as before.
 */
#include "lib/types.h"

/* Header fields (PCI 3.0, 6.1), as offsets into a function's 256 bytes. */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION            0x08
#define PCI_PROG_IF             0x09
#define PCI_SUBCLASS            0x0A
#define PCI_CLASS               0x0B
#define PCI_HEADER_TYPE         0x0E
#define PCI_BAR0                0x10
#define PCI_PRIMARY_BUS         0x18    /* type 1 (bridge) headers */
#define PCI_SECONDARY_BUS       0x19
#define PCI_SUBORDINATE_BUS     0x1A
#define PCI_INTERRUPT_LINE      0x3C
#define PCI_INTERRUPT_PIN       0x3D

#define PCI_VENDOR_ABSENT       0xFFFF  /* what a read of an absent function returns */

/* Command register bits (PCI 3.0, 6.2.2). */
#define PCI_COMMAND_IO          0x0001  /* the function answers its I/O BARs */
#define PCI_COMMAND_MEMORY      0x0002  /* the function answers its memory BARs */
#define PCI_COMMAND_BUS_MASTER  0x0004  /* the function may start transfers (DMA) */

/* Header Type register: the layout in bits 0-6, bit 7 for a multi-function device. */
#define PCI_HEADER_GENERAL      0x00
#define PCI_HEADER_BRIDGE       0x01
#define PCI_HEADER_CARDBUS      0x02
#define PCI_HEADER_MULTIFUNCTION 0x80

/* The classes and subclasses the kernel itself looks for (Code and ID Assignment, D.). */
#define PCI_CLASS_STORAGE       0x01
#define PCI_SUBCLASS_IDE        0x01
#define PCI_SUBCLASS_SATA       0x06
#define PCI_PROG_IF_AHCI        0x01
#define PCI_CLASS_BRIDGE        0x06
#define PCI_SUBCLASS_HOST       0x00
#define PCI_SUBCLASS_ISA        0x01
#define PCI_SUBCLASS_PCI_PCI    0x04

#define PCI_BUSES               256
#define PCI_DEVICES_PER_BUS     32
#define PCI_FUNCTIONS_PER_DEVICE 8
#define PCI_BARS                6       /* a type 0 header has six, a bridge two */
#define PCI_FUNCTIONS_MAX       64      /* kept in the table; more are counted, not kept */

/* Where a function sits: bus 0-255, device 0-31, function 0-7. */
struct pci_address {
    uint8_t bus;
    uint8_t device;
    uint8_t function;
};

enum pci_bar_kind {
    PCI_BAR_NONE,           /* not implemented (or the upper half of a 64-bit BAR) */
    PCI_BAR_IO,
    PCI_BAR_MEMORY32,
    PCI_BAR_MEMORY64,       /* takes this BAR and the next */
};

/* A base address register decoded and sized (PCI 3.0, 6.2.5.1). */
struct pci_bar {
    enum pci_bar_kind kind;
    bool prefetchable;      /* memory BARs only */
    uint64_t base;          /* the address the firmware assigned: an I/O port or physical */
    uint64_t size;          /* in bytes, a power of two; 0 for PCI_BAR_NONE */
};

struct pci_driver;

/* One function found at boot. Read-only outside arch/pci.c but for driver_data. */
struct pci_function {
    struct pci_address address;
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t class_code;
    uint8_t subclass;
    uint8_t prog_if;
    uint8_t revision;
    uint8_t header_type;        /* without the multi-function bit */
    uint8_t interrupt_line;     /* the PIC line the firmware routed INTx# to; 0xFF: none */
    uint8_t interrupt_pin;      /* 0: none, 1-4: INTA#-INTD# */
    uint8_t secondary_bus;      /* bridges: the buses behind it */
    uint8_t subordinate_bus;
    struct pci_bar bars[PCI_BARS];  /* decoded at boot (their count depends on the header) */
    const struct pci_driver *driver;    /* the one that took it, or NULL */
    void *driver_data;          /* the driver's own, set by its probe */
};

/*
 * What a driver takes: the functions whose vendor and device ids match (PCI_ANY_ID
 * matches any) and whose class, subclass and programming interface, as the 24-bit
 * value class << 16 | subclass << 8 | prog_if, equal class_code in the bits of
 * class_mask (a mask of 0 matches every class).
 */
#define PCI_ANY_ID 0xFFFFFFFFu

struct pci_match {
    uint32_t vendor_id;
    uint32_t device_id;
    uint32_t class_code;
    uint32_t class_mask;
};

/*
 * A driver for PCI functions. probe is called once for each function that matches and
 * that no driver has taken yet, at PASSIVE_LEVEL during boot; it returns true when it
 * takes the function (the boot listing then names the driver), false to leave it, after
 * saying why in one line of its own if the user should know.
 */
struct pci_driver {
    const char *name;
    struct pci_match match;
    bool (*probe)(struct pci_function *function);
};

/* Counted while the buses are scanned; for tests and the boot report. */
struct pci_statistics {
    uint32_t buses_scanned;
    uint32_t functions;         /* found, including those past PCI_FUNCTIONS_MAX */
    uint32_t bridges_followed;  /* PCI-to-PCI bridges whose buses were scanned */
    uint32_t bridges_refused;   /* bridges leading nowhere new: a loop or a bad bus number */
};

extern struct pci_statistics pci_statistics;

/*
 * Registers driver: it is offered each function found from now on, and those already
 * found and not taken. Drivers registered before pci_initialize are named in its listing.
 */
void pci_register_driver(const struct pci_driver *driver);

/*
 * Looks for configuration mechanism #1; when it is there, scans every bus reachable from
 * bus 0, hands each function to the first registered driver that takes it, and prints one
 * line per function and a summary; without it, one line saying so.
 */
void pci_initialize(void);

/* Whether the machine has PCI configuration mechanism #1 (known after pci_initialize). */
bool pci_present(void);

/* The functions found, in bus order; index below pci_function_count. */
unsigned pci_function_count(void);
struct pci_function *pci_function_at(unsigned index);

/* The nth function (from 0) of class and subclass, or NULL. */
struct pci_function *pci_find_class(uint8_t class_code, uint8_t subclass, unsigned nth);

/* The function at address, or NULL when none was found there. */
struct pci_function *pci_find_address(struct pci_address address);

/*
 * Whether configuration mechanism #1 answers at 0xCF8 (pci_initialize asks, and then
 * checks that bus 0 looks like PCI before pci_present says yes).
 */
bool pci_config_detect(void);

/*
 * Configuration space of the function at address, offset aligned to the access size.
 * Reads of an absent function return all ones; with no PCI at all, too.
 */
uint8_t pci_config_read8(struct pci_address address, uint8_t offset);
uint16_t pci_config_read16(struct pci_address address, uint8_t offset);
uint32_t pci_config_read32(struct pci_address address, uint8_t offset);
void pci_config_write8(struct pci_address address, uint8_t offset, uint8_t value);
void pci_config_write16(struct pci_address address, uint8_t offset, uint16_t value);
void pci_config_write32(struct pci_address address, uint8_t offset, uint32_t value);

/*
 * Decodes and sizes BAR index of the function at address: writes all ones and reads back
 * which bits stick, with the function's decoding turned off meanwhile, then puts the BAR
 * and the command register back as they were. False for an index the header does not
 * have; the upper half of a 64-bit BAR reads as PCI_BAR_NONE.
 */
bool pci_bar_probe(struct pci_address address, unsigned index, struct pci_bar *bar);

/* Sets bits (PCI_COMMAND_*) in the function's command register; returns the old value. */
uint16_t pci_enable(struct pci_address address, uint16_t bits);

/* "IDE controller", "host bridge", ...: a short name of a class, or its class's name. */
const char *pci_class_name(uint8_t class_code, uint8_t subclass, uint8_t prog_if);
