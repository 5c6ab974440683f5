/*
 * PCI enumeration against the chipsets QEMU emulates. The expected values are the
 * documented ones, not what the code prints:
 *   - i440FX (QEMU's default `pc`): the 82441FX PMC host bridge, vendor 8086 device 1237,
 *     class 06/00/00 (Intel 82441FX datasheet, "PCI Configuration Registers"); the 82371SB
 *     PIIX3 (Intel 82371FB/SB datasheet, sections 2.2 and 2.4) at device 1: function 0 the
 *     ISA bridge 8086:7000, class 06/01/00; function 1 the IDE controller 8086:7010, class
 *     01/01 with programming interface 80h (bus master, both channels in compatibility
 *     mode), whose only BAR is BMIBA at 20h (BAR4): I/O space, 16 bytes.
 *   - Q35 (`-M q35`): the 82Q35 host bridge 8086:29C0, class 06/00/00, and the ICH9's
 *     AHCI controller at device 31 function 2, 8086:2922, class 01/06/01 (ICH9 datasheet,
 *     section 14.1; PCI Code and ID Assignment 1.9, D.1), ABAR at 24h (BAR5): 32-bit
 *     memory, at least 2 KB.
 * Which machine this is comes from the host bridge's ids read straight from
 * configuration space, not from the scan: so a broken scan, a missed mechanism or a
 * driver that took nothing fails here rather than skipping. A machine with neither
 * chipset (the isapc boot) must have no PCI at all.
 */
#include "io/ahci.h"
#include "io/ata.h"
#include "arch/pci.h"
#include "lib/string.h"
#include "tests/ktest.h"

#define INTEL                   0x8086
#define I440FX_HOST_BRIDGE      0x1237
#define PIIX3_ISA_BRIDGE        0x7000
#define PIIX3_IDE               0x7010
#define PIIX3_IDE_PROG_IF       0x80
#define PIIX3_BMIBA_BYTES       16
#define Q35_HOST_BRIDGE         0x29C0
#define ICH9_AHCI               0x2922
#define ICH9_ABAR_MIN_BYTES     2048
#define BUS_MASTER_BAR          4
#define ABAR                    5

enum machine { NO_PCI_MACHINE, I440FX, Q35 };

static const struct pci_address host_bridge = {0, 0, 0};

static enum machine this_machine(void)
{
    uint32_t ids = pci_config_read32(host_bridge, PCI_VENDOR_ID);

    if (ids == ((uint32_t)I440FX_HOST_BRIDGE << 16 | INTEL))
        return I440FX;
    if (ids == ((uint32_t)Q35_HOST_BRIDGE << 16 | INTEL))
        return Q35;
    return NO_PCI_MACHINE;
}

/* Checks that the table holds the function at (bus, device, function) with these ids. */
static struct pci_function *expect_function(struct ktest *t, uint8_t bus, uint8_t device,
                                            uint8_t function, uint16_t device_id,
                                            uint32_t class_code)
{
    struct pci_address address = {bus, device, function};
    struct pci_function *f = pci_find_address(address);

    if (!KT_EXPECT(t, f != NULL)) {
        ktest_diag(t, "nothing found at %02x:%02x.%x", bus, device, function);
        return NULL;
    }
    KT_EXPECT_EQ(t, INTEL, f->vendor_id);
    KT_EXPECT_EQ(t, device_id, f->device_id);
    KT_EXPECT_EQ(t, class_code >> 16, f->class_code);
    KT_EXPECT_EQ(t, (class_code >> 8) & 0xFF, f->subclass);
    KT_EXPECT_EQ(t, class_code & 0xFF, f->prog_if);
    return f;
}

/* PCI is found exactly on the machines that have it, and nowhere else. */
static void found_exactly_where_the_machine_has_it(struct ktest *t)
{
    if (this_machine() == NO_PCI_MACHINE) {
        KT_EXPECT(t, !pci_present());
        KT_EXPECT_EQ(t, 0, pci_function_count());
        KT_EXPECT(t, pci_function_at(0) == NULL);
        KT_EXPECT(t, pci_find_class(PCI_CLASS_STORAGE, PCI_SUBCLASS_IDE, 0) == NULL);
        KT_EXPECT(t, !ata_pci_controller()->present);
        return;
    }
    KT_EXPECT(t, pci_present());
    KT_EXPECT(t, pci_function_count() >= 3);
    KT_EXPECT_EQ(t, pci_statistics.functions, pci_function_count());
    KT_EXPECT(t, pci_statistics.buses_scanned >= 1);
    /* In bus order, the host bridge first. */
    struct pci_function *first = pci_function_at(0);
    KT_ASSERT(t, first != NULL);
    KT_EXPECT_EQ(t, 0, first->address.bus);
    KT_EXPECT_EQ(t, 0, first->address.device);
    KT_EXPECT_EQ(t, 0, first->address.function);
    KT_EXPECT(t, pci_function_at(pci_function_count()) == NULL);
}

static void piix3_functions_found(struct ktest *t)
{
    if (this_machine() != I440FX)
        KT_SKIP(t, "not an i440FX machine");

    struct pci_function *host = expect_function(t, 0, 0, 0, I440FX_HOST_BRIDGE, 0x060000);
    struct pci_function *isa = expect_function(t, 0, 1, 0, PIIX3_ISA_BRIDGE, 0x060100);
    struct pci_function *ide = expect_function(t, 0, 1, 1, PIIX3_IDE,
                                               0x010100 | PIIX3_IDE_PROG_IF);
    KT_ASSERT(t, host && isa && ide);
    KT_EXPECT_STREQ(t, "host bridge", pci_class_name(0x06, 0x00, 0x00));
    KT_EXPECT_STREQ(t, "ISA bridge", pci_class_name(0x06, 0x01, 0x00));
    KT_EXPECT_STREQ(t, "IDE controller", pci_class_name(0x01, 0x01, PIIX3_IDE_PROG_IF));
    KT_EXPECT(t, pci_find_class(PCI_CLASS_STORAGE, PCI_SUBCLASS_IDE, 0) == ide);
    KT_EXPECT(t, pci_find_class(PCI_CLASS_STORAGE, PCI_SUBCLASS_IDE, 1) == NULL);
    KT_EXPECT(t, pci_find_class(PCI_CLASS_BRIDGE, PCI_SUBCLASS_HOST, 0) == host);
    /* The PIIX3 is one multi-function device: its header says so, and both were found. */
    KT_EXPECT(t, pci_config_read8(isa->address, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION);
    KT_EXPECT_EQ(t, PCI_HEADER_GENERAL, ide->header_type);
}

/* BMIBA is the IDE function's only BAR: 16 bytes of I/O space, firmware-assigned. */
static void ide_bus_master_bar_is_io(struct ktest *t)
{
    if (this_machine() != I440FX)
        KT_SKIP(t, "not an i440FX machine");
    struct pci_function *ide = pci_find_address((struct pci_address){0, 1, 1});
    KT_ASSERT(t, ide != NULL);

    const struct pci_bar *bar = &ide->bars[BUS_MASTER_BAR];
    KT_EXPECT_EQ(t, PCI_BAR_IO, bar->kind);
    KT_EXPECT_EQ(t, PIIX3_BMIBA_BYTES, bar->size);
    KT_EXPECT(t, bar->base != 0 && bar->base % PIIX3_BMIBA_BYTES == 0 && bar->base < 0x10000);
    /* The base is what the register holds, the I/O space indicator aside. */
    KT_EXPECT_EQ(t, pci_config_read32(ide->address, PCI_BAR0 + 4 * BUS_MASTER_BAR) & ~3u,
                 bar->base);
    for (unsigned i = 0; i < PCI_BARS; i++)
        if (i != BUS_MASTER_BAR)
            KT_EXPECT_EQ(t, PCI_BAR_NONE, ide->bars[i].kind);
    KT_EXPECT(t, pci_config_read16(ide->address, PCI_COMMAND) & PCI_COMMAND_IO);
}

/* The legacy driver took the compatibility-mode controller and noted its bus master. */
static void ata_driver_took_the_ide_controller(struct ktest *t)
{
    if (this_machine() != I440FX)
        KT_SKIP(t, "not an i440FX machine");
    struct pci_function *ide = pci_find_address((struct pci_address){0, 1, 1});
    KT_ASSERT(t, ide != NULL);

    KT_ASSERT(t, ide->driver == &ata_pci_driver);
    KT_EXPECT_STREQ(t, "ata", ide->driver->name);
    const struct ata_pci_controller *controller = ata_pci_controller();
    KT_EXPECT(t, ide->driver_data == controller);
    KT_EXPECT(t, controller->present);
    KT_EXPECT_EQ(t, 1, controller->address.device);
    KT_EXPECT_EQ(t, 1, controller->address.function);
    KT_EXPECT(t, controller->bus_master_capable);
    KT_EXPECT_EQ(t, ide->bars[BUS_MASTER_BAR].base, controller->bus_master_base);
    /* Nothing else is anybody's. */
    for (unsigned i = 0; i < pci_function_count(); i++)
        if (pci_function_at(i) != ide)
            KT_EXPECT(t, pci_function_at(i)->driver == NULL);
}

static void ich9_ahci_found_and_taken_by_its_driver(struct ktest *t)
{
    if (this_machine() != Q35)
        KT_SKIP(t, "not a Q35 machine");

    expect_function(t, 0, 0, 0, Q35_HOST_BRIDGE, 0x060000);
    struct pci_function *ahci = expect_function(t, 0, 0x1F, 2, ICH9_AHCI, 0x010601);
    KT_ASSERT(t, ahci != NULL);
    KT_EXPECT_STREQ(t, "SATA controller (AHCI)", pci_class_name(0x01, 0x06, 0x01));
    KT_EXPECT(t, pci_find_class(PCI_CLASS_STORAGE, PCI_SUBCLASS_SATA, 0) == ahci);
    const struct pci_bar *abar = &ahci->bars[ABAR];
    KT_EXPECT_EQ(t, PCI_BAR_MEMORY32, abar->kind);
    KT_EXPECT(t, !abar->prefetchable);
    KT_EXPECT(t, abar->size >= ICH9_ABAR_MIN_BYTES && (abar->size & (abar->size - 1)) == 0);
    KT_EXPECT(t, abar->base != 0 && abar->base % abar->size == 0);
    KT_EXPECT_EQ(t, pci_config_read32(ahci->address, PCI_BAR0 + 4 * ABAR) & ~0xFu, abar->base);
    KT_EXPECT(t, ahci->driver == &ahci_pci_driver);
    KT_EXPECT(t, pci_config_read16(ahci->address, PCI_COMMAND) & PCI_COMMAND_BUS_MASTER);
    /* No PCI IDE controller: the legacy driver took nothing. */
    KT_EXPECT(t, pci_find_class(PCI_CLASS_STORAGE, PCI_SUBCLASS_IDE, 0) == NULL);
    KT_EXPECT(t, !ata_pci_controller()->present);
}

/* Reads of a function nobody answers for come back all ones: vendor 0xFFFF, "absent". */
static void absent_function_reads_all_ones(struct ktest *t)
{
    unsigned checked = 0;

    for (uint8_t device = 0; device < PCI_DEVICES_PER_BUS; device++) {
        struct pci_address address = {0, device, 0};
        if (pci_find_address(address))
            continue;
        KT_EXPECT_EQ(t, PCI_VENDOR_ABSENT, pci_config_read16(address, PCI_VENDOR_ID));
        KT_EXPECT_EQ(t, 0xFFFFFFFFu, pci_config_read32(address, PCI_VENDOR_ID));
        checked++;
    }
    /* A bus no bridge leads to, and a function of a device that has only one. */
    struct pci_address beyond = {0xFE, 0, 0};
    KT_EXPECT_EQ(t, PCI_VENDOR_ABSENT, pci_config_read16(beyond, PCI_VENDOR_ID));
    KT_EXPECT(t, pci_find_address(beyond) == NULL);
    if (this_machine() == I440FX) {
        struct pci_address host_function_1 = {0, 0, 1};
        KT_EXPECT_EQ(t, PCI_VENDOR_ABSENT, pci_config_read16(host_function_1, PCI_VENDOR_ID));
    }
    KT_EXPECT(t, checked > 0);
}

/*
 * Sizing writes all ones to each BAR: afterwards every BAR and command register must read
 * as before, and the probe must agree with what the boot decoded.
 */
static void bar_size_probe_restores_the_bar(struct ktest *t)
{
    if (!pci_present())
        KT_SKIP(t, "no PCI");
    unsigned probed = 0;

    for (unsigned i = 0; i < pci_function_count(); i++) {
        struct pci_function *f = pci_function_at(i);
        uint16_t command = pci_config_read16(f->address, PCI_COMMAND);
        for (unsigned index = 0; index < PCI_BARS; index++) {
            uint8_t offset = (uint8_t)(PCI_BAR0 + 4 * index);
            uint32_t before = pci_config_read32(f->address, offset);
            struct pci_bar bar;
            if (!pci_bar_probe(f->address, index, &bar))
                break;
            KT_EXPECT_EQ(t, before, pci_config_read32(f->address, offset));
            KT_EXPECT_EQ(t, command, pci_config_read16(f->address, PCI_COMMAND));
            KT_EXPECT_EQ(t, f->bars[index].kind, bar.kind);
            KT_EXPECT_EQ(t, f->bars[index].base, bar.base);
            KT_EXPECT_EQ(t, f->bars[index].size, bar.size);
            probed += bar.kind != PCI_BAR_NONE;
        }
    }
    KT_EXPECT(t, probed > 0);
    struct pci_bar bar;
    KT_EXPECT(t, !pci_bar_probe(host_bridge, PCI_BARS, &bar));
}

/* A bridge's secondary bus is scanned: something is found on it (the q35 boot adds one). */
static void functions_behind_a_bridge_are_found(struct ktest *t)
{
    struct pci_function *bridge = pci_find_class(PCI_CLASS_BRIDGE, PCI_SUBCLASS_PCI_PCI, 0);
    if (!bridge)
        KT_SKIP(t, "no PCI-to-PCI bridge");

    KT_EXPECT_EQ(t, PCI_HEADER_BRIDGE, bridge->header_type);
    KT_EXPECT(t, bridge->secondary_bus > bridge->address.bus);
    KT_EXPECT(t, bridge->subordinate_bus >= bridge->secondary_bus);
    KT_EXPECT(t, pci_statistics.bridges_followed >= 1);
    KT_EXPECT(t, pci_statistics.buses_scanned >= 2);
    unsigned behind = 0;
    for (unsigned i = 0; i < pci_function_count(); i++)
        behind += pci_function_at(i)->address.bus == bridge->secondary_bus;
    KT_EXPECT(t, behind > 0);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(found_exactly_where_the_machine_has_it),
    KTEST_CASE(piix3_functions_found),
    KTEST_CASE(ide_bus_master_bar_is_io),
    KTEST_CASE(ata_driver_took_the_ide_controller),
    KTEST_CASE(ich9_ahci_found_and_taken_by_its_driver),
    KTEST_CASE(absent_function_reads_all_ones),
    KTEST_CASE(bar_size_probe_restores_the_bar),
    KTEST_CASE(functions_behind_a_bridge_are_found),
};

KTEST_SUITE(pci_suite, "pci", cases);
