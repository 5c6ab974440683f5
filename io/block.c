/*
 * The block layer: the disks' table and names, each channel's queue, and the two ways
 * of waiting for a request -- asleep on its event, or polling when the requester holds a
 * spinlock (io/block.h tells the story).
 */
#include "io/block.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/pit.h"
#include "lib/console.h"
#include "lib/string.h"
#include "mm/mm.h"

/* Polls a requester at DISPATCH_LEVEL makes per millisecond when the clock cannot tick. */
#define POLLS_PER_MS    8334    /* each reads a device register: at least 120 ns */

static void signal_finished(struct kdpc *dpc, void *context, void *argument1,
                            void *argument2);

static struct block_device *devices[BLOCK_DEVICES_MAX];
static unsigned device_count;          /* written at boot, by the drivers' probes */
static const volatile uint64_t *clock;  /* the system clock's ticks (block_initialize) */

/* The injected failures: any IRQL, so the lock is taken with interrupts off. */
static volatile uint32_t inject_lock;
static unsigned inject_skip, inject_fail;

void block_initialize(const volatile uint64_t *clock_ticks)
{
    clock = clock_ticks;
}

void block_queue_initialize(struct block_queue *queue, const char *name,
                            const struct block_queue_operations *operations, void *context,
                            KIRQL irql, bool has_interrupt, uint32_t timeout_ms)
{
    memset(queue, 0, sizeof(*queue));
    queue->lock_class = (struct lock_class)LOCK_CLASS_INTERRUPT(name, irql);
    queue->lock = (struct kspin_lock)KSPIN_LOCK_INIT(queue->lock_class);
    queue->operations = operations;
    queue->context = context;
    queue->has_interrupt = has_interrupt;
    queue->timeout_ticks = MAX(timeout_ms * PIT_HZ / 1000, 2u);
    list_init(&queue->waiting);
    list_init(&queue->finished);
    KeInitializeDpc(&queue->dpc, signal_finished, queue);
    /* Bounce pages, on a machine whose frames reach past what a 32-bit address names. */
    for (unsigned i = 0; i < BLOCK_MAX_SEGMENTS && MmHasMemoryAbove4Gb(); i++)
        if (!MmAllocateDmaFrame(&queue->bounce[i]))
            queue->bounce[i] = 0;
}

/*
 * Bounce pages. The controllers here take 32-bit bus addresses (an IDE PRD's, and AHCI's
 * as driven here), so a segment in a frame above 4 GB (PAE) goes through a page of its
 * queue below 4 GB: copied in before a write starts, copied out when a read has ended.
 * A queue has a page per segment of a request and runs one request at a time, so its
 * pages are never shared. Returns false when a segment needs a page the queue lacks.
 */
static bool bounce_in(struct block_queue *queue, struct block_request *request)
{
    memset(request->bounced, 0, sizeof(request->bounced));   /* bounce_out reads them all */
    for (uint32_t i = 0; i < request->segment_count; i++) {
        struct block_segment *segment = &request->segments[i];
        if (segment->address + segment->length <= 0x100000000ull)
            continue;
        if (!queue->bounce[i])
            return false;
        request->bounced[i] = segment->address;
        segment->address = queue->bounce[i] + (segment->address & (PAGE_SIZE - 1));
        if (request->write)
            MmCopyPhysical(segment->address, request->bounced[i], segment->length);
        queue->statistics.bounced++;
    }
    return true;
}

static void bounce_out(struct block_request *request, ntstatus_t status)
{
    for (uint32_t i = 0; i < request->segment_count; i++) {
        struct block_segment *segment = &request->segments[i];
        if (!request->bounced[i])
            continue;
        if (!request->write && NT_SUCCESS(status))
            MmCopyPhysical(request->bounced[i], segment->address, segment->length);
        segment->address = request->bounced[i];
        request->bounced[i] = 0;
    }
}

/* ---- the queue, its lock held ---- */

/* Ends the active request with status; the next is not started yet. */
static void end_active(struct block_queue *queue, ntstatus_t status)
{
    struct block_request *request = queue->active;
    struct block_statistics *statistics = &queue->statistics;

    queue->active = NULL;
    bounce_out(request, status);
    request->status = status;
    if (NT_SUCCESS(status) && request->write)
        statistics->sectors_written += request->sector_count;
    else if (NT_SUCCESS(status))
        statistics->sectors_read += request->sector_count;
    else
        statistics->errors++;
    if (status == STATUS_IO_TIMEOUT)
        statistics->timeouts++;
    request->signal_pending = true;
    list_insert_tail(&queue->finished, &request->link);
    __atomic_store_n(&request->finished, true, __ATOMIC_RELEASE);
    KeInsertQueueDpc(&queue->dpc, NULL, NULL);
}

/* Starts waiting requests until one is under way on the device, or none waits. */
static void start_next(struct block_queue *queue)
{
    while (!queue->active && !list_is_empty(&queue->waiting)) {
        struct block_request *request =
            CONTAINING_RECORD(queue->waiting.next, struct block_request, link);
        list_remove(&request->link);
        queue->active = request;
        request->start_tick = *clock;
        request->end_lost = queue->lose_next_end;
        queue->lose_next_end = false;
        if (request->write)
            queue->statistics.writes++;
        else
            queue->statistics.reads++;
        ntstatus_t status = bounce_in(queue, request) ? queue->operations->start(queue, request)
                                                      : STATUS_INSUFFICIENT_RESOURCES;
        if (status != STATUS_PENDING && !request->end_lost)
            end_active(queue, status);
    }
}

void block_queue_finish(struct block_queue *queue, ntstatus_t status, bool polled)
{
    if (!queue->active || queue->active->end_lost)
        return;     /* a stray report, or one a test asked to lose */
    if (polled)
        queue->statistics.polled++;
    else
        queue->statistics.interrupts++;
    end_active(queue, status);
    start_next(queue);
}

/* Stops the active request if it has been on the device longer than the timeout. */
static void check_timeout(struct block_queue *queue, bool by_clock, uint32_t polls)
{
    struct block_request *request = queue->active;

    if (!request)
        return;
    bool late = by_clock ? *clock - request->start_tick >= queue->timeout_ticks
                         : polls / POLLS_PER_MS >= queue->timeout_ticks * 1000 / PIT_HZ;
    if (!late)
        return;
    kprintf("block: a %s of %u sectors at %llu got no answer in %u ms: the channel is "
            "reset and the request fails\n", request->write ? "write" : "read",
            request->sector_count, (unsigned long long)request->lba,
            queue->timeout_ticks * 1000 / PIT_HZ);
    queue->operations->abort(queue);
    end_active(queue, STATUS_IO_TIMEOUT);
    start_next(queue);
}

/* The queue's DPC: sets the events of the requests that finished. */
static void signal_finished(struct kdpc *dpc, void *context, void *argument1, void *argument2)
{
    struct block_queue *queue = context;
    struct list_entry finished;

    (void)dpc, (void)argument1, (void)argument2;
    list_init(&finished);
    KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
    while (!list_is_empty(&queue->finished)) {
        struct list_entry *e = queue->finished.next;
        list_remove(e);
        CONTAINING_RECORD(e, struct block_request, link)->signal_pending = false;
        list_insert_tail(&finished, e);
    }
    KeReleaseInterruptSpinLock(&queue->lock, old);
    /* The requester may return (and reuse its request) once its event is set: read first. */
    while (!list_is_empty(&finished)) {
        struct list_entry *e = finished.next;
        list_remove(e);
        KeSetEventBoost(&CONTAINING_RECORD(e, struct block_request, link)->done);
    }
}

/* ---- waiting ---- */

/* Below DISPATCH_LEVEL, with an interrupt: sleeps, waking each timeout to check the device. */
static void sleep_until_finished(struct block_queue *queue, struct block_request *request)
{
    while (KeWaitForEvent(&request->done, queue->timeout_ticks) == STATUS_TIMEOUT) {
        KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
        check_timeout(queue, true, 0);
        KeReleaseInterruptSpinLock(&queue->lock, old);
    }
}

/*
 * Polls the channel until request has finished, then takes it back from the DPC (or
 * waits for the DPC, running on another processor, to be done with it). Below
 * DISPATCH_LEVEL (a channel without an interrupt) the requester sleeps a tick between
 * polls, so that other threads run.
 */
static void poll_until_finished(struct block_queue *queue, struct block_request *request)
{
    bool can_sleep = KeGetCurrentIrql() < DISPATCH_LEVEL && cpu_interrupts_enabled();
    uint32_t polls = 0;

    for (;;) {
        /* The clock ticks only while interrupts are on and below its level. */
        bool by_clock = cpu_interrupts_enabled() && KeGetCurrentIrql() < CLOCK_LEVEL;
        KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
        if (!request->finished && queue->active) {
            queue->operations->poll(queue);
            check_timeout(queue, by_clock, ++polls);
        }
        bool finished = request->finished;
        bool signal_pending = request->signal_pending;
        if (finished && signal_pending) {
            list_remove(&request->link);
            request->signal_pending = false;
        }
        KeReleaseInterruptSpinLock(&queue->lock, old);
        if (finished && signal_pending)
            return;
        if (finished)
            break;
        if (can_sleep)
            KeWaitForEvent(&request->done, 1);  /* a tick between polls: others run */
        else
            cpu_relax();
    }
    while (!request->done.signaled)
        cpu_relax();
}

/* ---- requests ---- */

static bool is_registered(const struct block_device *device)
{
    for (unsigned i = 0; i < device_count; i++)
        if (devices[i] == device)
            return true;
    return false;
}

/* Checks a request against its device: nothing is sent when this refuses. */
static ntstatus_t check_request(const struct block_request *request)
{
    const struct block_device *device = request->device;
    uint64_t bytes = 0;

    if (!device || !is_registered(device))
        return STATUS_DEVICE_NOT_CONNECTED;
    if (request->sector_count == 0 || request->sector_count > BLOCK_MAX_SECTORS ||
        request->lba >= device->sector_count ||
        request->sector_count > device->sector_count - request->lba ||
        request->segment_count == 0 || request->segment_count > BLOCK_MAX_SEGMENTS)
        return STATUS_INVALID_PARAMETER;
    for (uint32_t i = 0; i < request->segment_count; i++) {
        const struct block_segment *segment = &request->segments[i];
        if (segment->length == 0 || (segment->length | segment->address) & 1 ||
            (segment->address & (PAGE_SIZE - 1)) + segment->length > PAGE_SIZE)
            return STATUS_INVALID_PARAMETER;
        bytes += segment->length;
    }
    return bytes == (uint64_t)request->sector_count * BLOCK_SECTOR_SIZE
               ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* True when this request is one that block_inject_failures asked to fail. */
static bool take_injected_failure(void)
{
    uint32_t flags = ke_acquire_list_lock(&inject_lock);
    bool fail = false;

    if (inject_skip > 0) {
        inject_skip--;
    } else if (inject_fail > 0) {
        inject_fail--;
        fail = true;
    }
    ke_release_list_lock(&inject_lock, flags);
    return fail;
}

void block_inject_failures(unsigned skip, unsigned fail)
{
    uint32_t flags = ke_acquire_list_lock(&inject_lock);
    inject_skip = skip;
    inject_fail = fail;
    ke_release_list_lock(&inject_lock, flags);
}

void block_inject_lost_interrupt(struct block_queue *queue)
{
    KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
    queue->lose_next_end = true;
    KeReleaseInterruptSpinLock(&queue->lock, old);
}

ntstatus_t block_transfer(struct block_request *request)
{
    ntstatus_t status = check_request(request);
    if (!NT_SUCCESS(status))
        return status;
    struct block_queue *queue = request->device->queue;
    if (take_injected_failure()) {
        KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
        queue->statistics.injected_failures++;
        KeReleaseInterruptSpinLock(&queue->lock, old);
        return STATUS_IO_DEVICE_ERROR;
    }

    request->status = STATUS_PENDING;
    request->finished = false;
    request->signal_pending = false;
    KeInitializeEvent(&request->done, false);
    /* Code that turned interrupts off must not be switched away from: it polls too. */
    bool sleep = queue->has_interrupt && KeGetCurrentIrql() < DISPATCH_LEVEL &&
                 cpu_interrupts_enabled();
    KIRQL old = KeAcquireInterruptSpinLock(&queue->lock);
    list_insert_tail(&queue->waiting, &request->link);
    start_next(queue);
    KeReleaseInterruptSpinLock(&queue->lock, old);
    if (sleep)
        sleep_until_finished(queue, request);
    else
        poll_until_finished(queue, request);
    return request->status;
}

/* Describes up to BLOCK_MAX_SECTORS of buffer, a page's part at a time. */
static ntstatus_t describe_buffer(struct block_request *request, uintptr_t buffer,
                                  uint32_t count)
{
    uint32_t bytes = count * BLOCK_SECTOR_SIZE;

    request->sector_count = count;
    request->segment_count = 0;
    while (bytes > 0) {
        paddr_t physical;
        uint32_t length = MIN(bytes, PAGE_SIZE - (uint32_t)(buffer & (PAGE_SIZE - 1)));
        if (!MmGetPhysicalAddress(buffer, &physical))
            return STATUS_INVALID_PARAMETER;
        request->segments[request->segment_count++] =
            (struct block_segment){physical, length};
        buffer += length;
        bytes -= length;
    }
    return STATUS_SUCCESS;
}

static ntstatus_t transfer_buffer(struct block_device *device, uint64_t lba, uint32_t count,
                                  uintptr_t buffer, bool write)
{
    struct block_request request = {.device = device, .write = write};

    if (!device || !is_registered(device))
        return STATUS_DEVICE_NOT_CONNECTED;
    if (count == 0 || !buffer || (buffer & 1) || lba >= device->sector_count ||
        count > device->sector_count - lba)
        return STATUS_INVALID_PARAMETER;
    while (count > 0) {
        uint32_t now = MIN(count, (uint32_t)BLOCK_MAX_SECTORS);
        request.lba = lba;
        ntstatus_t status = describe_buffer(&request, buffer, now);
        if (NT_SUCCESS(status))
            status = block_transfer(&request);
        if (!NT_SUCCESS(status))
            return status;
        lba += now;
        count -= now;
        buffer += now * BLOCK_SECTOR_SIZE;
    }
    return STATUS_SUCCESS;
}

ntstatus_t block_read(struct block_device *device, uint64_t lba, uint32_t count, void *buffer)
{
    return transfer_buffer(device, lba, count, (uintptr_t)buffer, false);
}

ntstatus_t block_write(struct block_device *device, uint64_t lba, uint32_t count,
                       const void *buffer)
{
    return transfer_buffer(device, lba, count, (uintptr_t)buffer, true);
}

/* ---- the table ---- */

/* The memory manager's transfer (mm/pagefile.h): whole frames, one request. */
static ntstatus_t transfer_frames(const struct mm_paging_disk *disk, bool write, uint64_t lba,
                                  const pfn_t *frames, uint32_t count)
{
    struct block_request request = {
        .device = CONTAINING_RECORD(disk, struct block_device, paging), .write = write,
        .lba = lba, .sector_count = count * (PAGE_SIZE / BLOCK_SECTOR_SIZE),
        .segment_count = count};

    if (count == 0 || count > BLOCK_MAX_SEGMENTS)
        return STATUS_INVALID_PARAMETER;
    for (uint32_t i = 0; i < count; i++)
        request.segments[i] = (struct block_segment){pfn_to_paddr(frames[i]), PAGE_SIZE};
    return block_transfer(&request);
}

bool block_register_device(struct block_device *device)
{
    if (device_count == BLOCK_DEVICES_MAX) {
        kprintf("block: %s: more than %u disks; this one is not used\n", device->name,
                BLOCK_DEVICES_MAX);
        return false;
    }
    device->paging = (struct mm_paging_disk){
        .name = device->name, .transfer_mode = device->transfer_mode,
        .sector_count = device->sector_count, .transfer = transfer_frames};
    devices[device_count++] = device;
    return true;
}

struct block_device *block_find(const char *name, size_t length)
{
    for (unsigned i = 0; i < device_count; i++)
        if (strlen(devices[i]->name) == length && memcmp(devices[i]->name, name, length) == 0)
            return devices[i];
    return NULL;
}

struct block_device *block_device_at(unsigned index)
{
    return index < device_count ? devices[index] : NULL;
}

const struct mm_paging_disk *block_paging_disk_at(unsigned index)
{
    return index < device_count ? &devices[index]->paging : NULL;
}
