/*
 * AHCI host bus adapters and their SATA disks. Registers, memory structures and
 * procedures are those of Serial ATA AHCI 1.3.1; the comments name its sections.
 *
 * Each port with a disk gets a page of DMA memory (command list, received-FIS area, one
 * command table, the IDENTIFY data) and a block queue. Only command slot 0 is used: the
 * queue runs one request at a time, so the driver needs neither NCQ nor a slot allocator.
 *
 * The queue's operations run at the line's IRQL, where no scheduler clock can be waited
 * for. Time is the TSC, measured against the PIT at boot, or on a CPU without one a
 * count of register reads, each a PCI memory read of at least 4 clocks at 33 MHz (120 ns).
 */
#include <stdarg.h>
#include "io/ahci.h"
#include "io/ahci_hba.h"
#include "io/ata_identify.h"
#include "io/block.h"
#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pool.h"

struct ahci_controller;

/* A port with a disk, or one being brought up. */
struct ahci_port {
    struct ahci_controller *controller;
    unsigned number;
    volatile uint8_t *registers;
    void *memory;                   /* the pool block the areas below are carved from */
    struct command_header *command_list;
    struct command_table *table;
    uint16_t *identify;
    paddr_t command_list_physical, received_fis_physical, table_physical, identify_physical;
    bool lba48;
    uint32_t interrupt_mask;        /* PxIE: PX_IE_USED once registered with an interrupt */
    /* Under the queue's lock: */
    bool busy;                      /* slot 0 issued and its end not reported yet */
    uint8_t command;                /* the busy command's, for messages */
    uint64_t lba;
    uint32_t count;
    struct block_queue queue;
    struct block_device device;
};

/* Written by the probe; afterwards only ports[] is read, by the interrupt routine. */
struct ahci_controller {
    struct pci_address address;
    volatile uint8_t *registers;    /* ABAR, mapped uncached */
    uint32_t ports_implemented;     /* PI, less the ports past the mapped ABAR */
    bool has_interrupt;
    unsigned line;
    KIRQL irql;
    struct ahci_port *volatile ports[HBA_PORTS_MAX];    /* set once a disk is registered */
};

struct ahci_statistics ahci_statistics;
static unsigned disks_named;        /* sataN: boot thread only */

static void statistics_count(uint32_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* ---- registers and time ---- */

/* The compiler barriers keep command memory written before, and read after, the HBA sees it. */
static uint32_t mmio_read(volatile uint8_t *base, uint32_t offset)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    uint32_t value = *(volatile uint32_t *)(base + offset);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return value;
}

static void mmio_write(volatile uint8_t *base, uint32_t offset, uint32_t value)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    *(volatile uint32_t *)(base + offset) = value;
}

static uint32_t port_read(const struct ahci_port *port, uint32_t reg)
{
    return mmio_read(port->registers, reg);
}

static void port_write(const struct ahci_port *port, uint32_t reg, uint32_t value)
{
    mmio_write(port->registers, reg, value);
}

/* A time limit; each check of it stands for one register read on a CPU without a TSC. */
struct deadline {
    uint64_t end_tsc;
    uint32_t reads_left;
};

static struct deadline deadline_in(uint32_t ms)
{
    if (cpu_features.tsc_hz)
        return (struct deadline){.end_tsc = cpu_read_tsc() + cpu_features.tsc_hz / 1000 * ms};
    return (struct deadline){.reads_left = ms * READS_PER_MS};
}

static bool deadline_passed(struct deadline *d)
{
    if (cpu_features.tsc_hz)
        return cpu_read_tsc() >= d->end_tsc;
    if (d->reads_left == 0)
        return true;
    d->reads_left--;
    return false;
}

/*
 * Reads a register until (value & mask) == expected, for at most ms; whether it got
 * there. The time is taken before the read, so a wait preempted past its deadline (at
 * boot, where threads switch) still looks once more.
 */
static bool wait_register(volatile uint8_t *base, uint32_t reg, uint32_t mask,
                          uint32_t expected, uint32_t ms)
{
    struct deadline d = deadline_in(ms);
    for (;;) {
        bool late = deadline_passed(&d);
        if ((mmio_read(base, reg) & mask) == expected)
            return true;
        if (late)
            return false;
    }
}

/* One line about a port: "ahci: 00:1f.2 port 3: " and the text. */
static void port_report(const struct ahci_port *port, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void port_report(const struct ahci_port *port, const char *fmt, ...)
{
    const struct pci_address *a = &port->controller->address;
    char text[128];
    va_list args;

    va_start(args, fmt);
    kvsnprintf(text, sizeof(text), fmt, args);
    va_end(args);
    kprintf("ahci: %02x:%02x.%x port %u: %s\n", a->bus, a->device, a->function, port->number,
            text);
}

/* ---- the port's engines (10.3, 10.4) ---- */

/*
 * Clears ST, and FRE too when fis_receive_too, each waiting for the HBA to follow (CR,
 * FR). Clearing ST clears PxCI and ends the port's DMA.
 */
static bool port_stop(struct ahci_port *port, bool fis_receive_too)
{
    uint32_t command = port_read(port, PX_CMD);
    if (command & PX_CMD_ST)
        port_write(port, PX_CMD, command & ~PX_CMD_ST);
    if (!wait_register(port->registers, PX_CMD, PX_CMD_CR, 0, ENGINE_STOP_MS))
        return false;
    command = port_read(port, PX_CMD);
    if (!fis_receive_too || !(command & PX_CMD_FRE))
        return true;
    port_write(port, PX_CMD, command & ~PX_CMD_FRE);
    return wait_register(port->registers, PX_CMD, PX_CMD_FR, 0, ENGINE_STOP_MS);
}

/* Sets ST once the device is ready, as 10.3.1 requires; false when it stays busy. */
static bool port_start(struct ahci_port *port)
{
    if (!wait_register(port->registers, PX_TFD, TFD_BSY | TFD_DRQ, 0, DEVICE_READY_MS))
        return false;
    port_write(port, PX_CMD, port_read(port, PX_CMD) | PX_CMD_ST);
    return true;
}

/* A COMRESET (10.4.2), with ST clear; false when the link does not come back. */
static bool port_reset_link(struct ahci_port *port)
{
    uint32_t control = port_read(port, PX_SCTL) & ~SCTL_DET;

    statistics_count(&ahci_statistics.port_resets);
    port_write(port, PX_SCTL, control | SCTL_DET_COMRESET);
    struct deadline hold = deadline_in(COMRESET_HOLD_MS);
    while (!deadline_passed(&hold))
        (void)port_read(port, PX_SSTS);
    port_write(port, PX_SCTL, control);
    bool up = wait_register(port->registers, PX_SSTS, SSTS_DET, DET_PRESENT, LINK_UP_MS);
    /* The COMINIT set DIAG.X; until it is cleared the device's D2H FIS may not reach PxTFD. */
    port_write(port, PX_SERR, ALL_ONES);
    return up;
}

/*
 * Makes a port that failed or timed out take commands again (6.2): stop it, clear its
 * errors, reset the link if the device still holds BSY or DRQ, start it. False, said in
 * a line, when it stays dead.
 */
static bool port_recover(struct ahci_port *port)
{
    statistics_count(&ahci_statistics.port_recoveries);
    bool ready = port_stop(port, false);
    port_write(port, PX_SERR, ALL_ONES);
    port_write(port, PX_IS, ALL_ONES);
    if (!ready || (port_read(port, PX_TFD) & (TFD_BSY | TFD_DRQ)))
        ready = port_reset_link(port);
    /* Some HBAs (QEMU's) clear PxIE with a COMRESET. */
    port_write(port, PX_IE, port->interrupt_mask);
    if (ready)
        ready = port_start(port);
    if (!ready)
        port_report(port, "does not recover (PxCMD 0x%08x, PxTFD 0x%04x, PxSSTS 0x%03x)",
                    port_read(port, PX_CMD), port_read(port, PX_TFD), port_read(port, PX_SSTS));
    return ready;
}

/* ---- commands ---- */

/* Fills slot 0: the command FIS (4.2.3.1), its PRDT (4.2.3.3) and its header (4.2.2). */
static void port_build_command(struct ahci_port *port, uint8_t command, uint64_t lba,
                               uint32_t sector_count, bool write,
                               const struct block_segment *segments, uint32_t segment_count)
{
    struct command_table *table = port->table;
    uint8_t *fis = table->fis;
    bool lba48 = command == CMD_READ_DMA_EXT || command == CMD_WRITE_DMA_EXT;

    memset(fis, 0, FIS_H2D_DWORDS * 4);
    fis[0] = FIS_TYPE_H2D;
    fis[1] = FIS_H2D_COMMAND;
    fis[2] = command;
    fis[4] = (uint8_t)lba;
    fis[5] = (uint8_t)(lba >> 8);
    fis[6] = (uint8_t)(lba >> 16);
    fis[7] = DEVICE_LBA | (lba48 ? 0 : (uint8_t)((lba >> 24) & 0x0F));
    if (lba48) {
        fis[8] = (uint8_t)(lba >> 24);
        fis[9] = (uint8_t)(lba >> 32);
        fis[10] = (uint8_t)(lba >> 40);
        fis[13] = (uint8_t)(sector_count >> 8);
    }
    fis[12] = (uint8_t)sector_count;
    /* No I bit: the device's D2H FIS at the end interrupts anyway. */
    for (uint32_t i = 0; i < segment_count; i++)
        table->prdt[i] = (struct prd_entry){.address = segments[i].address,
                                            .byte_count = segments[i].length - 1};
    port->command_list[0] = (struct command_header){
        .flags = FIS_H2D_DWORDS | (write ? HEADER_WRITE : 0) | segment_count << HEADER_PRDTL_SHIFT,
        .table = port->table_physical};
    port->command = command;
    port->lba = lba;
    port->count = sector_count;
}

/* Issues slot 0, with the port's old events cleared so that none is taken for its end. */
static void port_issue(struct ahci_port *port)
{
    port_write(port, PX_IS, ALL_ONES);
    port_write(port, PX_CI, 1);
}

/* IDENTIFY DEVICE, polled at boot; false, said in a line, when it fails. */
static bool port_identify(struct ahci_port *port)
{
    struct block_segment data = {port->identify_physical, BLOCK_SECTOR_SIZE};
    struct deadline d = deadline_in(IDENTIFY_MS);
    uint32_t events;
    bool issued, late;

    port_build_command(port, CMD_IDENTIFY_DEVICE, 0, 0, false, &data, 1);
    port_issue(port);
    do {
        late = deadline_passed(&d);
        events = port_read(port, PX_IS);
        issued = port_read(port, PX_CI) & 1;
    } while (issued && !(events & PX_IS_ERRORS) && !late);
    uint32_t status = port_read(port, PX_TFD);
    if (!issued && !(events & PX_IS_ERRORS) && !(status & TFD_ERR))
        return true;
    port_report(port, "IDENTIFY DEVICE %s (PxIS 0x%08x, PxTFD 0x%04x), skipped",
                issued && !(events & PX_IS_ERRORS) ? "timed out" : "failed", events, status);
    port_recover(port);
    return false;
}

/* Fills in the port's disk from its IDENTIFY data; false for one it cannot address. */
static bool identify_decode(struct ahci_port *port)
{
    struct ata_identity identity;

    if (!ata_identify_decode(port->identify, &identity))
        return false;
    port->lba48 = identity.lba48;
    port->device.sector_count = identity.sector_count;
    memcpy(port->device.model, identity.model, sizeof(port->device.model));
    return true;
}

/* ---- the block queue's operations: queue lock held, at the queue's IRQL ---- */

/*
 * Reports the busy command's end if the port shows one; events are the PxIS bits the
 * caller read and cleared. The HBA clears PxCI before it posts the FIS that interrupts
 * (5.3.8). A failed command leaves the port stopped, so it is recovered first.
 */
static void port_check_done(struct ahci_port *port, uint32_t events, bool polled)
{
    if (!port->busy)
        return;
    bool issued = port_read(port, PX_CI) & 1;
    uint32_t status = port_read(port, PX_TFD);
    bool failed = (events & PX_IS_ERRORS) || (!issued && (status & TFD_ERR));
    if (issued && !failed)
        return;
    port->busy = false;
    if (failed) {
        port_report(port, "%s: command 0x%02x at LBA %llu, %u sectors, failed "
                    "(PxIS 0x%08x, PxTFD 0x%04x)", port->device.name, port->command,
                    (unsigned long long)port->lba, port->count, events, status);
        port_recover(port);
    }
    block_queue_finish(&port->queue, failed ? STATUS_IO_DEVICE_ERROR : STATUS_SUCCESS, polled);
}

static ntstatus_t ahci_queue_start(struct block_queue *queue, struct block_request *request)
{
    struct ahci_port *port = queue->context;

    if (request->segment_count == 0 || request->segment_count > BLOCK_MAX_SEGMENTS)
        return STATUS_INVALID_PARAMETER;
    uint32_t command = port_read(port, PX_CMD), status = port_read(port, PX_TFD);
    if (!(command & PX_CMD_CR) || (status & (TFD_BSY | TFD_DRQ))) {
        port_report(port, "%s: not ready (PxCMD 0x%08x, PxTFD 0x%04x), request failed",
                    port->device.name, command, status);
        return STATUS_IO_DEVICE_ERROR;
    }
    uint8_t code = request->write ? (port->lba48 ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA)
                                  : (port->lba48 ? CMD_READ_DMA_EXT : CMD_READ_DMA);
    port_build_command(port, code, request->lba, request->sector_count, request->write,
                       request->segments, request->segment_count);
    port->busy = true;
    port_issue(port);
    return STATUS_PENDING;
}

static void ahci_queue_poll(struct block_queue *queue)
{
    struct ahci_port *port = queue->context;
    uint32_t events = port_read(port, PX_IS);

    if (events) {
        port_write(port, PX_IS, events);
        mmio_write(port->controller->registers, HBA_IS, 1u << port->number);
    }
    port_check_done(port, events, true);
}

static void ahci_queue_abort(struct block_queue *queue)
{
    struct ahci_port *port = queue->context;

    port_report(port, "%s: command 0x%02x at LBA %llu timed out (PxCI 0x%08x, PxTFD 0x%04x)",
                port->device.name, port->command, (unsigned long long)port->lba,
                port_read(port, PX_CI), port_read(port, PX_TFD));
    port->busy = false;
    port_recover(port);
}

static const struct block_queue_operations ahci_queue_operations = {
    .start = ahci_queue_start,
    .poll = ahci_queue_poll,
    .abort = ahci_queue_abort,
};

/*
 * The controller's INTx routine, at the line's IRQL. The line may be shared: with
 * nothing pending in IS it does nothing. A port's PxIS is cleared before its IS bit,
 * which would otherwise be set again at once (3.1.3).
 */
static void ahci_interrupt(void *context)
{
    struct ahci_controller *c = context;
    uint32_t pending = mmio_read(c->registers, HBA_IS);

    if (pending == ALL_ONES || !(pending & c->ports_implemented)) {
        statistics_count(&ahci_statistics.interrupts_not_ours);
        return;
    }
    for (unsigned n = 0; n < HBA_PORTS_MAX; n++) {
        if (!(pending & c->ports_implemented & (1u << n)))
            continue;
        struct ahci_port *port = c->ports[n];
        volatile uint8_t *registers = c->registers + HBA_PORT_BASE + n * HBA_PORT_SIZE;
        KIRQL old = port ? KeAcquireInterruptSpinLock(&port->queue.lock) : 0;
        uint32_t events = mmio_read(registers, PX_IS);
        mmio_write(registers, PX_IS, events);
        if (port)
            port_check_done(port, events, false);
        mmio_write(c->registers, HBA_IS, 1u << n);
        if (port)
            KeReleaseInterruptSpinLock(&port->queue.lock, old);
    }
}

/* ---- bringing a port up (10.1.2) ---- */

/*
 * Takes bytes at alignment from [*next, end), inside one page so that they are
 * physically contiguous; NULL when they do not fit. The pool promises 8-byte alignment
 * only, so its block is carved rather than trusted to be aligned.
 */
static void *dma_carve(vaddr_t *next, vaddr_t end, uint32_t bytes, uint32_t alignment,
                       paddr_t *physical)
{
    vaddr_t va = ALIGN_UP(*next, (vaddr_t)alignment);

    if (ALIGN_DOWN(va, (vaddr_t)PAGE_SIZE) != ALIGN_DOWN(va + bytes - 1, (vaddr_t)PAGE_SIZE))
        va = ALIGN_UP(va, (vaddr_t)PAGE_SIZE);
    if (va + bytes > end || !MmGetPhysicalAddress(va, physical))
        return NULL;
    *next = va + bytes;
    return (void *)va;
}

/* Under a page, so that the pool gives it a page of its own, with room for the 1 KB alignment. */
#define PORT_MEMORY_BYTES   (PAGE_SIZE - 256)

/* Allocates and carves the port's DMA memory and points PxCLB and PxFB at it. */
static bool port_attach_memory(struct ahci_port *port)
{
    port->memory = ExAllocatePoolWithTag(NonPagedPool, PORT_MEMORY_BYTES, AHCI_TAG);
    if (!port->memory)
        return false;
    memset(port->memory, 0, PORT_MEMORY_BYTES);
    vaddr_t next = (vaddr_t)port->memory, end = next + PORT_MEMORY_BYTES;
    port->command_list = dma_carve(&next, end, COMMAND_LIST_BYTES, COMMAND_LIST_BYTES,
                                   &port->command_list_physical);
    void *received_fis = dma_carve(&next, end, RECEIVED_FIS_BYTES, RECEIVED_FIS_BYTES,
                                   &port->received_fis_physical);
    port->table = dma_carve(&next, end, sizeof(struct command_table), 128,
                            &port->table_physical);
    port->identify = dma_carve(&next, end, BLOCK_SECTOR_SIZE, 16, &port->identify_physical);
    if (!port->command_list || !received_fis || !port->table || !port->identify)
        return false;
    /* Physical addresses are 32 bits here: the upper halves are 0 (3.3.2, 3.3.4). */
    port_write(port, PX_CLB, port->command_list_physical);
    port_write(port, PX_CLBU, 0);
    port_write(port, PX_FB, port->received_fis_physical);
    port_write(port, PX_FBU, 0);
    return true;
}

/* Names and registers the port's disk, turns its interrupts on, prints its line. */
static bool port_register(struct ahci_port *port)
{
    struct ahci_controller *c = port->controller;
    struct block_device *device = &port->device;

    ksnprintf(device->name, sizeof(device->name), "sata%u", disks_named);
    device->kind = "SATA";
    device->transfer_mode = "AHCI DMA";
    device->queue = &port->queue;
    device->context = port;
    block_queue_initialize(&port->queue, device->name, &ahci_queue_operations, port, c->irql,
                           c->has_interrupt, REQUEST_TIMEOUT_MS);
    if (!block_register_device(device))
        return false;
    disks_named++;
    statistics_count(&ahci_statistics.disks);
    port->interrupt_mask = c->has_interrupt ? PX_IE_USED : 0;
    port_write(port, PX_IS, ALL_ONES);
    port_write(port, PX_IE, port->interrupt_mask);
    c->ports[port->number] = port;
    port_report(port, "%s: %s, %llu sectors (%llu MB), %s", device->name, device->model,
                (unsigned long long)device->sector_count,
                (unsigned long long)(device->sector_count / (1024 * 1024 / BLOCK_SECTOR_SIZE)),
                port->lba48 ? "LBA48" : "LBA28");
    return true;
}

/* From a stopped port to a registered disk; false, said in a line unless the port is empty. */
static bool port_bring_up(struct ahci_port *port)
{
    uint32_t detection = port_read(port, PX_SSTS) & SSTS_DET;

    if (detection == DET_NONE)
        return false;
    if (detection != DET_PRESENT &&
        !wait_register(port->registers, PX_SSTS, SSTS_DET, DET_PRESENT, LINK_UP_MS)) {
        port_report(port, "a device without a link (PxSSTS.DET %u), skipped", detection);
        return false;
    }
    if (!port_attach_memory(port)) {
        port_report(port, "no DMA memory for its command list, skipped");
        return false;
    }
    port_write(port, PX_SERR, ALL_ONES);
    port_write(port, PX_IS, ALL_ONES);
    port_write(port, PX_CMD, port_read(port, PX_CMD) | PX_CMD_FRE);
    /* The signature comes in the device's first D2H FIS, taken once FRE is set. */
    if (!port_start(port) && !(port_reset_link(port) && port_start(port))) {
        port_report(port, "device stays busy (PxTFD 0x%04x), skipped", port_read(port, PX_TFD));
        return false;
    }
    uint32_t signature = port_read(port, PX_SIG);
    if (signature == SIGNATURE_ATAPI)
        port_report(port, "ATAPI device (CD-ROM or similar), not a disk");
    else if (signature != SIGNATURE_ATA)
        port_report(port, "signature 0x%08x: not an ATA disk, skipped", signature);
    if (signature != SIGNATURE_ATA || !port_identify(port))
        return false;
    if (!identify_decode(port)) {
        port_report(port, "no LBA addressing, skipped");
        return false;
    }
    return port_register(port);
}

/*
 * Brings up port n. A port it leaves is stopped and its memory freed, unless the port
 * will not stop: then the memory stays the HBA's for good.
 */
static void controller_probe_port(struct ahci_controller *c, unsigned n)
{
    struct ahci_port *port = ExAllocatePoolWithTag(NonPagedPool, sizeof(*port), AHCI_TAG);

    if (!port) {
        kprintf("ahci: port %u: out of memory, skipped\n", n);
        return;
    }
    *port = (struct ahci_port){.controller = c, .number = n,
                               .registers = c->registers + HBA_PORT_BASE + n * HBA_PORT_SIZE};
    /* Firmware may have left events enabled on a port this driver will not manage. */
    port_write(port, PX_IE, 0);
    bool stopped = port_stop(port, true);
    if (!stopped)
        port_report(port, "does not stop (PxCMD 0x%08x), skipped", port_read(port, PX_CMD));
    else if (port_bring_up(port))
        return;
    else
        stopped = port_stop(port, true);
    if (stopped && port->memory)
        ExFreePoolWithTag(port->memory, AHCI_TAG);
    ExFreePoolWithTag(port, AHCI_TAG);
}

/* ---- the controller ---- */

/* Asks the BIOS for the HBA (10.6); it may be using it (BB) for up to 2 s more. */
static void controller_take_from_bios(struct ahci_controller *c)
{
    volatile uint8_t *r = c->registers;

    if (!(mmio_read(r, HBA_CAP2) & CAP2_BOH) || !(mmio_read(r, HBA_BOHC) & BOHC_BOS))
        return;
    mmio_write(r, HBA_BOHC, mmio_read(r, HBA_BOHC) | BOHC_OOS);
    if (wait_register(r, HBA_BOHC, BOHC_BOS, 0, HANDOFF_MS) ||
        ((mmio_read(r, HBA_BOHC) & BOHC_BB) &&
         wait_register(r, HBA_BOHC, BOHC_BOS, 0, HANDOFF_BUSY_MS)))
        return;
    kprintf("ahci: %02x:%02x.%x: the BIOS keeps its ownership flag; taken anyway\n",
            c->address.bus, c->address.device, c->address.function);
}

/* Connects the line the firmware routed INTx# to; false when there is none to use. */
static bool controller_connect_interrupt(struct ahci_controller *c, const struct pci_function *f)
{
    c->line = f->interrupt_line;
    if (f->interrupt_pin == 0 || c->line == 0 || c->line >= 16)
        return false;
    return hal_connect_shared_interrupt(c->line, ahci_interrupt, c);
}

/* Prints the controller's line: version (3.1.5), ports, slots, how ends are learned. */
static void controller_report(const struct ahci_controller *c, uint32_t capabilities)
{
    uint32_t version = mmio_read(c->registers, HBA_VS);
    char release[16], interrupt[24] = "no interrupt: polled";

    ksnprintf(release, sizeof(release), "%u.%u", version >> 16, (version >> 8) & 0xFF);
    if (version & 0xFF)
        ksnprintf(release, sizeof(release), "%u.%u.%u", version >> 16, (version >> 8) & 0xFF,
                  version & 0xFF);
    if (c->has_interrupt)
        ksnprintf(interrupt, sizeof(interrupt), "IRQ %u", c->line);
    kprintf("ahci: %02x:%02x.%x: AHCI %s, %u ports (implemented 0x%08x), %u command slots, "
            "%s, %s\n", c->address.bus, c->address.device, c->address.function, release,
            (capabilities & CAP_NP) + 1, c->ports_implemented,
            ((capabilities >> CAP_NCS_SHIFT) & 0x1F) + 1,
            capabilities & CAP_S64A ? "64-bit" : "32-bit", interrupt);
}

/* AHCI mode, the BIOS's handoff, the ports; false, said in a line, for an unusable HBA. */
static bool controller_start(struct ahci_controller *c, const struct pci_function *f,
                             uint32_t mapped)
{
    const struct pci_address *a = &c->address;
    uint32_t capabilities = mmio_read(c->registers, HBA_CAP);
    const char *problem = NULL;

    if (capabilities == ALL_ONES || mmio_read(c->registers, HBA_GHC) == ALL_ONES)
        problem = "registers read all ones";
    /* AE alone first, and IE clear until the ports are set up (10.1.2, steps 1 and 7). */
    if (!problem)
        mmio_write(c->registers, HBA_GHC, GHC_AE);
    uint32_t implemented = problem ? 0 : mmio_read(c->registers, HBA_PI);
    /* PI names the ports (3.1.4), CAP.NP only counts them; those past ABAR are left out. */
    uint32_t fitting = (mapped - HBA_PORT_BASE) / HBA_PORT_SIZE;
    uint32_t usable = fitting >= HBA_PORTS_MAX ? ALL_ONES : (1u << fitting) - 1;
    c->ports_implemented = implemented & usable;
    if (!problem && c->ports_implemented == 0)
        problem = "no implemented port within ABAR (PI 0)";
    if (problem) {
        kprintf("ahci: %02x:%02x.%x: %s, not taken\n", a->bus, a->device, a->function, problem);
        return false;
    }
    if (c->ports_implemented != implemented ||
        (unsigned)__builtin_popcount(implemented) > (capabilities & CAP_NP) + 1)
        kprintf("ahci: %02x:%02x.%x: PI 0x%08x does not match CAP.NP or the %u-byte ABAR; "
                "ports 0x%08x are used\n", a->bus, a->device, a->function, implemented, mapped,
                c->ports_implemented);
    controller_take_from_bios(c);
    c->has_interrupt = controller_connect_interrupt(c, f);
    c->irql = c->has_interrupt ? hal_irql_of_line(c->line) : DISPATCH_LEVEL;
    controller_report(c, capabilities);
    for (unsigned n = 0; n < HBA_PORTS_MAX; n++)
        if (c->ports_implemented & (1u << n))
            controller_probe_port(c, n);
    if (c->has_interrupt) {
        mmio_write(c->registers, HBA_IS, ALL_ONES);
        mmio_write(c->registers, HBA_GHC, GHC_AE | GHC_IE);
    }
    return true;
}

static bool ahci_probe(struct pci_function *f)
{
    const struct pci_bar *bar = &f->bars[ABAR_INDEX];
    const struct pci_address *a = &f->address;
    uint32_t mapped = (uint32_t)MIN(bar->size, (uint64_t)HBA_MAPPED_MAX);

    if ((bar->kind != PCI_BAR_MEMORY32 && bar->kind != PCI_BAR_MEMORY64) || bar->base == 0 ||
        bar->base + bar->size > 0x100000000ull || mapped < HBA_PORT_BASE + HBA_PORT_SIZE) {
        kprintf("ahci: %02x:%02x.%x: no usable ABAR (BAR5: kind %u, 0x%llx, %llu bytes), not "
                "taken\n", a->bus, a->device, a->function, (unsigned)bar->kind,
                (unsigned long long)bar->base, (unsigned long long)bar->size);
        return false;
    }
    pci_enable(*a, PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    struct ahci_controller *c = ExAllocatePoolWithTag(NonPagedPool, sizeof(*c), AHCI_TAG);
    volatile uint8_t *registers = MmMapIoSpace((paddr_t)bar->base, mapped);
    bool taken = false;
    if (!c || !registers) {
        kprintf("ahci: %02x:%02x.%x: out of memory, not taken\n", a->bus, a->device,
                a->function);
        goto out;
    }
    *c = (struct ahci_controller){.address = *a, .registers = registers};
    taken = controller_start(c, f, mapped);
out:
    /* A taken controller stays for good: its interrupt routine is connected to it. */
    if (!taken && registers)
        MmUnmapIoSpace((void *)registers, mapped);
    if (!taken && c)
        ExFreePoolWithTag(c, AHCI_TAG);
    if (taken) {
        f->driver_data = c;
        statistics_count(&ahci_statistics.controllers);
    }
    return taken;
}

const struct pci_driver ahci_pci_driver = {
    .name = "ahci",
    .match = {.vendor_id = PCI_ANY_ID, .device_id = PCI_ANY_ID,
              .class_code = PCI_CLASS_STORAGE << 16 | PCI_SUBCLASS_SATA << 8 | PCI_PROG_IF_AHCI,
              .class_mask = 0xFFFFFF},
    .probe = ahci_probe,
};
