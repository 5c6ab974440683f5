/*
 * The PCI buses: the scan from bus 0 through its bridges, the table of functions found,
 * the drivers' registry and the boot listing. Sections cited are those of the PCI Local
 * Bus Specification 3.0 ("PCI"), the PCI-to-PCI Bridge Architecture Specification 1.2
 * ("bridge") and the PCI Code and ID Assignment Specification 1.9 ("class codes").
 *
 * The function table is written only on the boot thread (pci_initialize and
 * pci_register_driver) and only read once the boot has gone on, so it has no lock; the
 * configuration ports have theirs (arch/pci_config.c).
 */
#include <stdarg.h>

#include "arch/pci.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"

#define PCI_DRIVERS_MAX         8

struct pci_statistics pci_statistics;

static bool mechanism_present;
static struct pci_function functions[PCI_FUNCTIONS_MAX];
static unsigned function_count;
static const struct pci_driver *drivers[PCI_DRIVERS_MAX];
static unsigned driver_count;

static bool vendor_present(uint16_t vendor)
{
    /* 0xFFFF is what nobody driving the bus reads as; 0 is no assigned vendor either. */
    return vendor != PCI_VENDOR_ABSENT && vendor != 0;
}

/* Short names for the classes a PC commonly has (class codes, appendix D). */
static const struct class_name {
    uint32_t code;          /* class << 16 | subclass << 8 | prog_if */
    uint32_t mask;
    const char *name;
} class_names[] = {
    {0x010100, 0xFFFF00, "IDE controller"},
    {0x010601, 0xFFFFFF, "SATA controller (AHCI)"},
    {0x010600, 0xFFFF00, "SATA controller"},
    {0x010000, 0xFFFF00, "SCSI controller"},
    {0x010802, 0xFFFFFF, "NVMe controller"},
    {0x010000, 0xFF0000, "storage controller"},
    {0x020000, 0xFFFF00, "Ethernet controller"},
    {0x020000, 0xFF0000, "network controller"},
    {0x030000, 0xFFFF00, "VGA controller"},
    {0x030000, 0xFF0000, "display controller"},
    {0x040300, 0xFFFF00, "audio device"},
    {0x040000, 0xFF0000, "multimedia controller"},
    {0x050000, 0xFF0000, "memory controller"},
    {0x060000, 0xFFFF00, "host bridge"},
    {0x060100, 0xFFFF00, "ISA bridge"},
    {0x060400, 0xFFFF00, "PCI-to-PCI bridge"},
    {0x060700, 0xFFFF00, "CardBus bridge"},
    {0x060000, 0xFF0000, "other bridge"},
    {0x070000, 0xFF0000, "communication controller"},
    {0x080000, 0xFF0000, "system peripheral"},
    {0x0C0300, 0xFFFFFF, "USB controller (UHCI)"},
    {0x0C0310, 0xFFFFFF, "USB controller (OHCI)"},
    {0x0C0320, 0xFFFFFF, "USB controller (EHCI)"},
    {0x0C0330, 0xFFFFFF, "USB controller (xHCI)"},
    {0x0C0300, 0xFFFF00, "USB controller"},
    {0x0C0500, 0xFFFF00, "SMBus controller"},
    {0x0C0000, 0xFF0000, "serial bus controller"},
};

static uint32_t class_code_of(uint8_t class_code, uint8_t subclass, uint8_t prog_if)
{
    return (uint32_t)class_code << 16 | (uint32_t)subclass << 8 | prog_if;
}

const char *pci_class_name(uint8_t class_code, uint8_t subclass, uint8_t prog_if)
{
    uint32_t code = class_code_of(class_code, subclass, prog_if);

    for (size_t i = 0; i < ARRAY_SIZE(class_names); i++)
        if ((code & class_names[i].mask) == class_names[i].code)
            return class_names[i].name;
    return "other device";
}

static bool driver_matches(const struct pci_driver *driver, const struct pci_function *f)
{
    const struct pci_match *m = &driver->match;
    uint32_t code = class_code_of(f->class_code, f->subclass, f->prog_if);

    return (m->vendor_id == PCI_ANY_ID || m->vendor_id == f->vendor_id) &&
           (m->device_id == PCI_ANY_ID || m->device_id == f->device_id) &&
           (code & m->class_mask) == (m->class_code & m->class_mask);
}

static void offer_to_driver(const struct pci_driver *driver, struct pci_function *f)
{
    if (!f->driver && driver_matches(driver, f) && driver->probe(f))
        f->driver = driver;
}

void pci_register_driver(const struct pci_driver *driver)
{
    if (driver_count == PCI_DRIVERS_MAX) {
        kprintf("pci: no room for driver %s; not registered\n", driver->name);
        return;
    }
    drivers[driver_count++] = driver;
    for (unsigned i = 0; i < function_count; i++)
        offer_to_driver(driver, &functions[i]);
}

/* Reads what the table keeps of the function at address (present, checked by the caller). */
static void read_function(struct pci_address address, struct pci_function *f)
{
    uint32_t ids = pci_config_read32(address, PCI_VENDOR_ID);
    uint32_t class_word = pci_config_read32(address, PCI_REVISION);

    memset(f, 0, sizeof(*f));
    f->address = address;
    f->vendor_id = (uint16_t)ids;
    f->device_id = (uint16_t)(ids >> 16);
    f->header_type = pci_config_read8(address, PCI_HEADER_TYPE) & ~PCI_HEADER_MULTIFUNCTION;
    f->revision = (uint8_t)class_word;
    f->prog_if = (uint8_t)(class_word >> 8);
    f->subclass = (uint8_t)(class_word >> 16);
    f->class_code = (uint8_t)(class_word >> 24);
    if (f->header_type == PCI_HEADER_BRIDGE) {
        f->secondary_bus = pci_config_read8(address, PCI_SECONDARY_BUS);
        f->subordinate_bus = pci_config_read8(address, PCI_SUBORDINATE_BUS);
    }
    /* Type 0 and type 1 headers both keep the interrupt registers at 0x3C (bridge 3.2). */
    if (f->header_type <= PCI_HEADER_BRIDGE) {
        f->interrupt_line = pci_config_read8(address, PCI_INTERRUPT_LINE);
        f->interrupt_pin = pci_config_read8(address, PCI_INTERRUPT_PIN);
    }
    for (unsigned i = 0; i < PCI_BARS && pci_bar_probe(address, i, &f->bars[i]); i++)
        continue;
}

/* The buses to scan, each queued at most once: no bridge loop can make the scan go round. */
struct bus_queue {
    uint8_t buses[PCI_BUSES];
    unsigned head, tail;
    uint32_t queued[PCI_BUSES / 32];
};

static bool queue_bus(struct bus_queue *queue, unsigned bus)
{
    if (queue->queued[bus / 32] & (1u << (bus % 32)))
        return false;
    queue->queued[bus / 32] |= 1u << (bus % 32);
    queue->buses[queue->tail++] = (uint8_t)bus;
    return true;
}

static const char *address_text(struct pci_address a, char text[8])
{
    static const char hex[] = "0123456789abcdef";

    text[0] = hex[a.bus >> 4];
    text[1] = hex[a.bus & 0xF];
    text[2] = ':';
    text[3] = hex[a.device >> 4];
    text[4] = hex[a.device & 0xF];
    text[5] = '.';
    text[6] = hex[a.function & 0x7];
    text[7] = '\0';
    return text;
}

/* A PCI-to-PCI bridge's buses behind it join the scan unless they lead back (bridge 3.2.5.3). */
static void follow_bridge(struct bus_queue *queue, const struct pci_function *f)
{
    char text[8];

    if (f->secondary_bus <= f->address.bus || !queue_bus(queue, f->secondary_bus)) {
        pci_statistics.bridges_refused++;
        kprintf("pci: %s: bridge to bus %u, which is no new bus below it: not followed\n",
                address_text(f->address, text), f->secondary_bus);
        return;
    }
    pci_statistics.bridges_followed++;
}

static void add_function(struct bus_queue *queue, struct pci_address address)
{
    struct pci_function scratch, *f = function_count < PCI_FUNCTIONS_MAX ?
                                          &functions[function_count] : &scratch;

    read_function(address, f);
    pci_statistics.functions++;
    if (f != &scratch)
        function_count++;
    if (f->header_type == PCI_HEADER_BRIDGE && f->class_code == PCI_CLASS_BRIDGE &&
        f->subclass == PCI_SUBCLASS_PCI_PCI)
        follow_bridge(queue, f);
}

static void scan_bus(struct bus_queue *queue, uint8_t bus)
{
    pci_statistics.buses_scanned++;
    for (uint8_t device = 0; device < PCI_DEVICES_PER_BUS; device++) {
        struct pci_address address = {bus, device, 0};
        if (!vendor_present(pci_config_read16(address, PCI_VENDOR_ID)))
            continue;
        /* Functions 1-7 exist only behind a multi-function device's function 0 (PCI 6.2.1). */
        bool multi = pci_config_read8(address, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION;
        for (address.function = 0; address.function < (multi ? PCI_FUNCTIONS_PER_DEVICE : 1);
             address.function++)
            if (vendor_present(pci_config_read16(address, PCI_VENDOR_ID)))
                add_function(queue, address);
    }
}

/*
 * From bus 0 and the bridges found on it. A multi-function host bridge at 00:00 means
 * several host bridges, function N leading to bus N (what OSDev's "recursive scan"
 * describes and Linux's pcibios_fixup_peer_bridges finds by scanning).
 */
static void scan_all_buses(void)
{
    static struct bus_queue queue;
    struct pci_address host = {0, 0, 0};

    memset(&queue, 0, sizeof(queue));
    queue_bus(&queue, 0);
    if (pci_config_read8(host, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION)
        for (host.function = 1; host.function < PCI_FUNCTIONS_PER_DEVICE; host.function++)
            if (vendor_present(pci_config_read16(host, PCI_VENDOR_ID)) &&
                pci_config_read8(host, PCI_CLASS) == PCI_CLASS_BRIDGE &&
                pci_config_read8(host, PCI_SUBCLASS) == PCI_SUBCLASS_HOST)
                queue_bus(&queue, host.function);
    while (queue.head < queue.tail)
        scan_bus(&queue, queue.buses[queue.head++]);
}

/*
 * Whether what answers at 0xCF8 is really PCI (as Linux's pci_sanity_check): bus 0 must
 * hold a host bridge or a display controller.
 */
static bool bus_0_looks_sane(void)
{
    for (uint8_t device = 0; device < PCI_DEVICES_PER_BUS; device++) {
        struct pci_address address = {0, device, 0};
        uint16_t class_and_subclass = pci_config_read16(address, PCI_SUBCLASS);
        if (!vendor_present(pci_config_read16(address, PCI_VENDOR_ID)))
            continue;
        if (class_and_subclass == (PCI_CLASS_BRIDGE << 8 | PCI_SUBCLASS_HOST) ||
            class_and_subclass >> 8 == 0x03)
            return true;
    }
    return false;
}

/* What a storage controller's line adds: the registers part 2's drivers will use. */
static const struct detail_bar {
    uint32_t code, mask;
    unsigned bar;
    const char *name;
} detail_bars[] = {
    {0x010100, 0xFFFF00, 4, "bus master"},  /* PCI IDE Controller Specification 1.0, 2.0 */
    {0x010601, 0xFFFFFF, 5, "ABAR"},        /* AHCI 1.3.1, 2.1.11 */
};

/* One line of the boot listing, built in a buffer so that it reaches the console whole. */
struct line {
    char text[200];
    size_t length;
};

static void PRINTF_LIKE(2, 3) append(struct line *line, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    if (line->length < sizeof(line->text))
        line->length += kvsnprintf(line->text + line->length, sizeof(line->text) - line->length,
                                   fmt, args);
    va_end(args);
}

static void append_detail_bar(struct line *line, const struct pci_function *f)
{
    uint32_t code = class_code_of(f->class_code, f->subclass, f->prog_if);

    for (size_t i = 0; i < ARRAY_SIZE(detail_bars); i++) {
        if ((code & detail_bars[i].mask) != detail_bars[i].code)
            continue;
        const struct pci_bar *bar = &f->bars[detail_bars[i].bar];
        if (bar->kind == PCI_BAR_NONE)
            append(line, ", no %s", detail_bars[i].name);
        else
            append(line, ", %s %s 0x%llx (%llu bytes)", detail_bars[i].name,
                   bar->kind == PCI_BAR_IO ? "I/O" : "memory", (unsigned long long)bar->base,
                   (unsigned long long)bar->size);
    }
}

static void print_function(const struct pci_function *f)
{
    struct line line = {.length = 0};
    char text[8];

    append(&line, "%s %04x:%04x %02x/%02x/%02x %s", address_text(f->address, text),
           f->vendor_id, f->device_id, f->class_code, f->subclass, f->prog_if,
           pci_class_name(f->class_code, f->subclass, f->prog_if));
    if (f->header_type == PCI_HEADER_BRIDGE)
        append(&line, ", buses %02x-%02x", f->secondary_bus, f->subordinate_bus);
    append_detail_bar(&line, f);
    if (f->interrupt_pin >= 1 && f->interrupt_pin <= 4)
        append(&line, ", INT%c# IRQ %u", 'A' + f->interrupt_pin - 1, f->interrupt_line);
    if (f->driver)
        append(&line, ": %s", f->driver->name);
    else if (f->class_code == PCI_CLASS_STORAGE)
        append(&line, ": no driver yet");
    kprintf("pci: %s\n", line.text);
}

void pci_initialize(void)
{
    if (!pci_config_detect()) {
        kprintf("pci: no PCI (configuration mechanism #1 absent); legacy devices only\n");
        return;
    }
    if (!bus_0_looks_sane()) {
        kprintf("pci: no PCI (ports 0xCF8/0xCFC answer, but bus 0 has no host bridge); "
                "legacy devices only\n");
        return;
    }
    mechanism_present = true;
    scan_all_buses();
    for (unsigned d = 0; d < driver_count; d++)
        for (unsigned i = 0; i < function_count; i++)
            offer_to_driver(drivers[d], &functions[i]);
    for (unsigned i = 0; i < function_count; i++)
        print_function(&functions[i]);
    if (pci_statistics.functions > function_count)
        kprintf("pci: %u more functions not kept (the table holds %u)\n",
                pci_statistics.functions - function_count, PCI_FUNCTIONS_MAX);
    kprintf("pci: %u functions on %u bus%s (configuration mechanism #1)\n",
            pci_statistics.functions, pci_statistics.buses_scanned,
            pci_statistics.buses_scanned == 1 ? "" : "es");
}

bool pci_present(void)
{
    return mechanism_present;
}

unsigned pci_function_count(void)
{
    return function_count;
}

struct pci_function *pci_function_at(unsigned index)
{
    return index < function_count ? &functions[index] : NULL;
}

struct pci_function *pci_find_class(uint8_t class_code, uint8_t subclass, unsigned nth)
{
    for (unsigned i = 0; i < function_count; i++)
        if (functions[i].class_code == class_code && functions[i].subclass == subclass &&
            nth-- == 0)
            return &functions[i];
    return NULL;
}

struct pci_function *pci_find_address(struct pci_address address)
{
    for (unsigned i = 0; i < function_count; i++)
        if (functions[i].address.bus == address.bus &&
            functions[i].address.device == address.device &&
            functions[i].address.function == address.function)
            return &functions[i];
    return NULL;
}
