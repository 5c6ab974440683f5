#pragma once
/*
 * Block devices: every disk a driver finds, behind one interface (io/block.c). A
 * request names a run of sectors and the physical memory that holds or receives them, in
 * segments, as an NT MDL does; the memory manager pages through it without a mapping,
 * and DMA needs none.
 *
 * Each of a controller's channels (an IDE channel, an AHCI port) runs one command at a
 * time and has a queue: requests wait in arrival order, the driver starts the first,
 * and its interrupt handler reports the end. The report queues the queue's DPC, which
 * sets each finished request's event; the waiting thread, at PASSIVE_LEVEL or APC_LEVEL,
 * slept meanwhile while everything else ran. A requester that cannot sleep (DISPATCH_LEVEL
 * or above: a spinlock held) polls the controller instead, through the same driver code
 * the interrupt handler runs, so both kinds of requester share one queue.
 *
 * No wait is unbounded: a request that has been on the device longer than its queue's
 * timeout is stopped (the driver resets the channel, so no DMA reaches the pages later)
 * and ends with STATUS_IO_TIMEOUT, and the next request starts.
 *
 * Names say what a disk is: ide0-ide3 for the legacy IDE channels' four devices
 * (primary master, primary slave, secondary master, secondary slave), sata0, sata1, ...
 * for the disks on AHCI ports, numbered in the order the controllers and ports are found.
 */
#include "arch/spinlock.h"
#include "ke/dpc.h"
#include "ke/event.h"
#include "lib/list.h"
#include "lib/ntstatus.h"
#include "lib/types.h"
#include "mm/pagefile.h"

#define BLOCK_SECTOR_SIZE       MM_DISK_SECTOR_SIZE
#define BLOCK_NAME_SIZE         8
#define BLOCK_MODEL_SIZE        41
/*
 * The most one request carries: 64 KB, a pagefile batch, which memory starting anywhere
 * in a page splits into at most 17 segments.
 */
#define BLOCK_MAX_SECTORS       128
#define BLOCK_MAX_SEGMENTS      17
#define BLOCK_DEVICES_MAX       16

/*
 * A run of physical memory within one page, at an even address and of an even length
 * (DMA moves 16-bit words at least; an IDE bus master's region may not cross 64 KB).
 */
struct block_segment {
    paddr_t address;
    uint32_t length;
};

struct block_device;
struct block_queue;

/*
 * One transfer. The requester fills in the first part and hands it to block_transfer,
 * which owns it until it returns.
 */
struct block_request {
    struct block_device *device;
    bool write;
    uint64_t lba;
    uint32_t sector_count;      /* 1..BLOCK_MAX_SECTORS; the segments hold exactly this */
    uint32_t segment_count;     /* 1..BLOCK_MAX_SEGMENTS */
    struct block_segment segments[BLOCK_MAX_SEGMENTS];

    /* The layer's and the driver's, under the queue's lock. */
    ntstatus_t status;
    volatile bool finished;     /* the driver has reported the end: status is final */
    bool signal_pending;        /* on the queue's finished list, for its DPC */
    bool end_lost;              /* its end is not to be reported (block_inject_lost_interrupt) */
    uint64_t start_tick;        /* when the driver started it */
    paddr_t bounced[BLOCK_MAX_SEGMENTS];    /* a segment's own address while its bytes go
                                               through the queue's bounce page; 0: not */
    struct kevent done;         /* set by the DPC once finished */
    struct list_entry link;     /* the waiting or the finished list */
};

/*
 * A driver's part of a queue. Each runs with the queue's lock held, at the controller's
 * interrupt level, with interrupts enabled.
 */
struct block_queue_operations {
    /*
     * Starts request on the hardware: STATUS_PENDING when it is under way and its end
     * will be reported with block_queue_finish; any other status when it ended already
     * (a polled PIO command, or one that could not start).
     */
    ntstatus_t (*start)(struct block_queue *queue, struct block_request *request);
    /*
     * Looks at the hardware as the interrupt handler does, and reports the active request
     * finished if it is: what a requester that cannot sleep calls in a loop. Reads at
     * least one device register, so a count of calls bounds the time waited.
     */
    void (*poll)(struct block_queue *queue);
    /*
     * The active request has run past the timeout: stops the channel's work (a reset),
     * so that nothing reaches its memory afterwards. The layer then ends it.
     */
    void (*abort)(struct block_queue *queue);
};

/* Counted under the queue's lock since boot; for tests, reports and benchmarks. */
struct block_statistics {
    uint32_t reads;             /* requests started */
    uint32_t writes;
    uint32_t sectors_read;      /* by requests that succeeded */
    uint32_t sectors_written;
    uint32_t errors;            /* requests that ended in an error status, timeouts included */
    uint32_t timeouts;
    uint32_t interrupts;        /* ends reported by the interrupt handler */
    uint32_t polled;            /* ends found by a polling requester */
    uint32_t injected_failures; /* requests failed by block_inject_failures */
    uint32_t bounced;           /* segments moved through a bounce page (RAM above 4 GB) */
};

/*
 * A channel: its requests, one at a time on the hardware. The lock is an interrupt
 * spinlock at the controller's line's level (or DISPATCH_LEVEL for one without an
 * interrupt): the handler takes it too. It guards everything below and the channel's
 * registers.
 */
struct block_queue {
    struct lock_class lock_class;
    struct kspin_lock lock;
    const struct block_queue_operations *operations;
    void *context;                  /* the driver's */
    bool has_interrupt;             /* ends are reported by an interrupt handler */
    uint32_t timeout_ticks;
    struct list_entry waiting;      /* requests not started yet, first come first */
    struct block_request *active;
    struct list_entry finished;     /* ended, their events not set yet */
    struct kdpc dpc;
    bool lose_next_end;             /* block_inject_lost_interrupt */
    struct block_statistics statistics;
    paddr_t bounce[BLOCK_MAX_SEGMENTS]; /* pages below 4 GB for segments above it; 0: none */
};

/* A disk. Read-only once registered. */
struct block_device {
    char name[BLOCK_NAME_SIZE];     /* "ide0", "sata1" */
    const char *kind;               /* "IDE", "SATA": the kind of controller */
    const char *transfer_mode;      /* "bus-master DMA", "PIO", ... */
    char model[BLOCK_MODEL_SIZE];
    uint64_t sector_count;
    struct block_queue *queue;
    void *context;                  /* the driver's */
    struct mm_paging_disk paging;   /* what the memory manager sees (block_register_device) */
};

/* ---- for drivers ---- */

/* Gives the layer the system clock (PIT_HZ ticks a second); called before any driver's. */
void block_initialize(const volatile uint64_t *clock_ticks);

/*
 * Prepares queue for operations. irql is the level of its controller's interrupt line,
 * or DISPATCH_LEVEL when it has none (requests are then polled); timeout_ms bounds each
 * request on the device. name names its lock.
 */
void block_queue_initialize(struct block_queue *queue, const char *name,
                            const struct block_queue_operations *operations, void *context,
                            KIRQL irql, bool has_interrupt, uint32_t timeout_ms);

/*
 * The driver says the active request ended with status (its interrupt handler, or its
 * poll routine): the request is finished and the next waiting one starts. Queue's lock
 * held. polled says which of the two found it, for the statistics.
 */
void block_queue_finish(struct block_queue *queue, ntstatus_t status, bool polled);

/* Adds device under its name; false (with a message) when the table is full. */
bool block_register_device(struct block_device *device);

/* ---- for everyone else ---- */

/*
 * Runs request to its end and returns its status: STATUS_SUCCESS, STATUS_IO_DEVICE_ERROR
 * or STATUS_IO_TIMEOUT from the device; STATUS_INVALID_PARAMETER for a request that does
 * not fit its device (nothing is sent). Sleeps below DISPATCH_LEVEL with interrupts on;
 * polls at or above it, or with interrupts off.
 */
ntstatus_t block_transfer(struct block_request *request);

/*
 * Reads or writes count sectors from lba on through buffer, resident kernel memory
 * (nonpaged, the image, a mapping of locked frames) at an even address, in as many
 * requests as it takes; the first failure's status, with the rest not sent.
 */
ntstatus_t block_read(struct block_device *device, uint64_t lba, uint32_t count, void *buffer);
ntstatus_t block_write(struct block_device *device, uint64_t lba, uint32_t count,
                       const void *buffer);

/* The disk called name (its length given: it need not end in NUL), or NULL. */
struct block_device *block_find(const char *name, size_t length);
/* The index-th disk registered (from 0), or NULL past the last. */
struct block_device *block_device_at(unsigned index);
/* The same as the memory manager sees it: what MmInitializePagefile is handed. */
const struct mm_paging_disk *block_paging_disk_at(unsigned index);

/*
 * Fault injection for tests: of the next requests (valid ones, on any disk), skip go to
 * the device and the fail after them end with STATUS_IO_DEVICE_ERROR without reaching it.
 * (0, 0) turns it off.
 */
void block_inject_failures(unsigned skip, unsigned fail);

/*
 * For tests: the next request to start on queue is started as usual but its end is never
 * reported, as a device that never answers: it ends only by the timeout.
 */
void block_inject_lost_interrupt(struct block_queue *queue);
