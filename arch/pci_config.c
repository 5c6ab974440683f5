/*
 * PCI configuration space through configuration mechanism #1, and the sizing of base
 * address registers. Sections cited are those of the PCI Local Bus Specification 3.0
 * ("PCI") and the PCI-to-PCI Bridge Architecture Specification 1.2 ("bridge").
 */
#include "arch/pci.h"
#include "arch/cpu.h"
#include "arch/spinlock.h"
#include "lib/string.h"

/* Configuration mechanism #1 (PCI 3.2.2.3.2): an address written to 0xCF8, data at 0xCFC. */
#define CONFIG_ADDRESS          0xCF8
#define CONFIG_DATA             0xCFC
#define CONFIG_ENABLE           0x80000000u
/*
 * Some early chipsets spoke mechanism #2 as well, chosen by a write of 1 to 0xCFB;
 * mechanism #1 needs that bit set before its address register answers (what Linux's
 * pci_check_type1 does too).
 */
#define CONFIG_MECHANISM_SELECT 0xCFB

#define BAR_IO                  0x1         /* bit 0 of a BAR: I/O space (PCI 6.2.5.1) */
#define BAR_IO_MASK             0xFFFFFFFCu
#define BAR_MEMORY_TYPE         0x6         /* bits 1-2: 00 32-bit, 10 64-bit */
#define BAR_MEMORY_TYPE_64      0x4
#define BAR_PREFETCHABLE        0x8
#define BAR_MEMORY_MASK         0xFFFFFFF0u

#define BRIDGE_BARS             2           /* a type 1 header's (bridge 3.2) */
#define CARDBUS_BARS            1           /* the socket's registers */

/*
 * The address and data ports: one access is two port operations that nothing may come
 * between. Taken at HIGH_LEVEL, as NT's HAL takes its PCI configuration lock, so that an
 * interrupt handler may read configuration space and a BAR being sized (moved to all
 * ones) is never seen by a handler of its device.
 */
static struct lock_class config_lock_class =
    LOCK_CLASS_INTERRUPT("PCI configuration ports", HIGH_LEVEL);
static struct kspin_lock config_lock = KSPIN_LOCK_INIT(config_lock_class);

static uint32_t config_address(struct pci_address address, uint8_t offset)
{
    return CONFIG_ENABLE | (uint32_t)address.bus << 16 |
           (uint32_t)(address.device & 0x1F) << 11 | (uint32_t)(address.function & 0x7) << 8 |
           (offset & 0xFC);
}

/*
 * Points the address port at the dword that holds offset; returns the data port of
 * offset's bytes (the narrow accesses use the byte lanes the offset names). The caller
 * holds config_lock.
 */
static uint16_t select_locked(struct pci_address address, uint8_t offset)
{
    io_out32(CONFIG_ADDRESS, config_address(address, offset));
    return (uint16_t)(CONFIG_DATA + (offset & 3));
}

static uint32_t read32_locked(struct pci_address address, uint8_t offset)
{
    return io_in32(select_locked(address, offset));
}

static void write32_locked(struct pci_address address, uint8_t offset, uint32_t value)
{
    io_out32(select_locked(address, offset), value);
}

uint32_t pci_config_read32(struct pci_address address, uint8_t offset)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    uint32_t value = read32_locked(address, offset);
    KeReleaseInterruptSpinLock(&config_lock, old);
    return value;
}

uint16_t pci_config_read16(struct pci_address address, uint8_t offset)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    uint16_t value = io_in16(select_locked(address, offset));
    KeReleaseInterruptSpinLock(&config_lock, old);
    return value;
}

uint8_t pci_config_read8(struct pci_address address, uint8_t offset)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    uint8_t value = io_in8(select_locked(address, offset));
    KeReleaseInterruptSpinLock(&config_lock, old);
    return value;
}

void pci_config_write32(struct pci_address address, uint8_t offset, uint32_t value)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    write32_locked(address, offset, value);
    KeReleaseInterruptSpinLock(&config_lock, old);
}

void pci_config_write16(struct pci_address address, uint8_t offset, uint16_t value)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    io_out16(select_locked(address, offset), value);
    KeReleaseInterruptSpinLock(&config_lock, old);
}

void pci_config_write8(struct pci_address address, uint8_t offset, uint8_t value)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    io_out8(select_locked(address, offset), value);
    KeReleaseInterruptSpinLock(&config_lock, old);
}

uint16_t pci_enable(struct pci_address address, uint16_t bits)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    uint32_t word = read32_locked(address, PCI_COMMAND);
    /* The status half is written back as zeros: its bits are cleared by writing ones. */
    write32_locked(address, PCI_COMMAND, (word & 0xFFFF) | bits);
    KeReleaseInterruptSpinLock(&config_lock, old);
    return (uint16_t)word;
}

/*
 * Mechanism #1 is there when its address register keeps what is written to it: an ISA
 * machine has nothing at 0xCF8 and reads all ones back. The old value is put back.
 */
bool pci_config_detect(void)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    io_out8(CONFIG_MECHANISM_SELECT, 0x01);
    uint32_t saved = io_in32(CONFIG_ADDRESS);
    io_out32(CONFIG_ADDRESS, CONFIG_ENABLE);
    bool present = io_in32(CONFIG_ADDRESS) == CONFIG_ENABLE;
    io_out32(CONFIG_ADDRESS, saved);
    KeReleaseInterruptSpinLock(&config_lock, old);
    return present;
}

static unsigned bar_count(uint8_t header_type)
{
    switch (header_type) {
    case PCI_HEADER_GENERAL: return PCI_BARS;
    case PCI_HEADER_BRIDGE: return BRIDGE_BARS;
    case PCI_HEADER_CARDBUS: return CARDBUS_BARS;
    default: return 0;
    }
}

/*
 * The lowest address bit that stuck is the size (a power of two even where the bits above
 * it do not all stick, as in an I/O BAR that decodes 16 bits only).
 */
static uint64_t size_of_mask(uint64_t mask)
{
    return mask & (~mask + 1);
}

/*
 * Sizes a BAR (PCI 6.2.5.1): writes all ones, reads which address bits stuck, puts the
 * value back, with the function's decoding off meanwhile so that it never answers at the
 * all-ones address. A host bridge keeps decoding: turning it off can cut the processor
 * from memory on some chipsets (Linux keeps it on too).
 */
static void size_bar_locked(struct pci_address address, unsigned index, bool keep_decoding,
                            struct pci_bar *bar)
{
    uint8_t offset = (uint8_t)(PCI_BAR0 + 4 * index);
    uint32_t command = read32_locked(address, PCI_COMMAND) & 0xFFFF;
    uint32_t low = read32_locked(address, offset), high = 0;
    uint32_t low_mask, high_mask = 0xFFFFFFFFu;

    memset(bar, 0, sizeof(*bar));
    bool is_64 = !(low & BAR_IO) && (low & BAR_MEMORY_TYPE) == BAR_MEMORY_TYPE_64 &&
                 index + 1 < PCI_BARS;
    if (!keep_decoding)
        write32_locked(address, PCI_COMMAND,
                       command & ~(uint32_t)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    write32_locked(address, offset, 0xFFFFFFFFu);
    low_mask = read32_locked(address, offset);
    write32_locked(address, offset, low);
    if (is_64) {
        high = read32_locked(address, offset + 4);
        write32_locked(address, offset + 4, 0xFFFFFFFFu);
        high_mask = read32_locked(address, offset + 4);
        write32_locked(address, offset + 4, high);
    }
    if (!keep_decoding)
        write32_locked(address, PCI_COMMAND, command);

    if (low & BAR_IO) {
        /* An I/O BAR may keep only the low 16 address bits: its size is still the lowest. */
        uint32_t mask = low_mask & BAR_IO_MASK;
        if (mask == 0)
            return;
        bar->kind = PCI_BAR_IO;
        bar->base = low & BAR_IO_MASK;
        bar->size = size_of_mask(mask);
        return;
    }
    uint64_t mask = (uint64_t)high_mask << 32 | (low_mask & BAR_MEMORY_MASK);
    if ((low_mask & BAR_MEMORY_MASK) == 0 && (!is_64 || high_mask == 0))
        return;
    bar->kind = is_64 ? PCI_BAR_MEMORY64 : PCI_BAR_MEMORY32;
    bar->prefetchable = (low & BAR_PREFETCHABLE) != 0;
    bar->base = (uint64_t)high << 32 | (low & BAR_MEMORY_MASK);
    bar->size = size_of_mask(mask);
}

/* The header type (layout only) and class of the function at address, read unlocked. */
static void read_identity_locked(struct pci_address address, uint8_t *header_type,
                                 uint32_t *class_word)
{
    *header_type = (uint8_t)(read32_locked(address, 0x0C) >> 16) & ~PCI_HEADER_MULTIFUNCTION;
    *class_word = read32_locked(address, PCI_REVISION);
}

bool pci_bar_probe(struct pci_address address, unsigned index, struct pci_bar *bar)
{
    KIRQL old = KeAcquireInterruptSpinLock(&config_lock);
    uint8_t header_type;
    uint32_t class_word;
    bool valid = false;

    read_identity_locked(address, &header_type, &class_word);
    if (index >= bar_count(header_type))
        goto out;
    /* The upper half of a 64-bit BAR is no BAR of its own. */
    if (index > 0) {
        uint32_t below = read32_locked(address, (uint8_t)(PCI_BAR0 + 4 * (index - 1)));
        if (!(below & BAR_IO) && (below & BAR_MEMORY_TYPE) == BAR_MEMORY_TYPE_64) {
            memset(bar, 0, sizeof(*bar));
            valid = true;
            goto out;
        }
    }
    bool host_bridge = (class_word >> 24) == PCI_CLASS_BRIDGE &&
                       ((class_word >> 16) & 0xFF) == PCI_SUBCLASS_HOST;
    size_bar_locked(address, index, host_bridge, bar);
    valid = true;
out:
    KeReleaseInterruptSpinLock(&config_lock, old);
    return valid;
}
