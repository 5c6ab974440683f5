/*
 * The PCI side of the ATA driver: which IDE controller it takes. A controller in
 * compatibility mode decodes the legacy ports (0x1F0/0x3F6, 0x170/0x376) and raises IRQ
 * 14 and 15 (PCI IDE Controller Specification 1.0, section 2.1), which is what the rest
 * of the driver drives; one in native mode would need its BARs and INTx#, which it does
 * not use yet, so that one is left. The bus-master registers (BAR4, section 2.0 of the
 * Bus Master Programming Interface for IDE ATA Controllers 1.0) are noted for DMA.
 */
#include "io/ata.h"
#include "arch/pci.h"
#include "lib/console.h"

/* The Programming Interface byte of class 01/01 (PCI IDE Controller Specification, 2.1). */
#define PROG_IF_PRIMARY_NATIVE      0x01
#define PROG_IF_SECONDARY_NATIVE    0x04
#define PROG_IF_BUS_MASTER          0x80
#define BUS_MASTER_BAR              4

/* Written by the probe on the boot thread, before ata_initialize; read-only afterwards. */
static struct ata_pci_controller controller;

static bool ata_pci_probe(struct pci_function *f)
{
    if (f->prog_if & (PROG_IF_PRIMARY_NATIVE | PROG_IF_SECONDARY_NATIVE)) {
        kprintf("ata: %02x:%02x.%x: IDE controller in native mode (programming interface "
                "0x%02x): not taken\n", f->address.bus, f->address.device, f->address.function,
                f->prog_if);
        return false;
    }
    /* The legacy ports belong to one controller only. */
    if (controller.present) {
        kprintf("ata: %02x:%02x.%x: a second IDE controller in compatibility mode: not "
                "taken\n", f->address.bus, f->address.device, f->address.function);
        return false;
    }
    const struct pci_bar *bar = &f->bars[BUS_MASTER_BAR];
    controller.present = true;
    controller.address = f->address;
    controller.bus_master_capable = (f->prog_if & PROG_IF_BUS_MASTER) != 0;
    controller.bus_master_base = bar->kind == PCI_BAR_IO ? (uint16_t)bar->base : 0;
    /*
     * Firmware normally leaves the ports decoded; a controller it did not set up is told
     * to, and to master the bus for DMA.
     */
    pci_enable(f->address, controller.bus_master_base ? PCI_COMMAND_IO | PCI_COMMAND_BUS_MASTER
                                                        : PCI_COMMAND_IO);
    f->driver_data = &controller;
    return true;
}

const struct pci_driver ata_pci_driver = {
    .name = "ata",
    .match = {.vendor_id = PCI_ANY_ID, .device_id = PCI_ANY_ID,
              .class_code = PCI_CLASS_STORAGE << 16 | PCI_SUBCLASS_IDE << 8,
              .class_mask = 0xFFFF00},
    .probe = ata_pci_probe,
};

const struct ata_pci_controller *ata_pci_controller(void)
{
    return &controller;
}
