#pragma once
/*
 * Notification events, as NT's KEVENT of that type: set, an event releases every thread
 * waiting for it and stays set (a thread that waits afterwards returns at once) until it
 * is cleared. The signal state is tested and the waiter queued in one step under the
 * dispatcher lock (kernel/scheduler.c), so a set between a waiter's test and its sleep
 * cannot be lost.
 */
#include "ke/mutex.h"
#include "lib/ntstatus.h"
#include "lib/types.h"

struct kevent {
    volatile bool signaled;
    struct wait_queue waiters;
};

void KeInitializeEvent(struct kevent *event, bool signaled);

/* At DISPATCH_LEVEL or below: sets event and readies every thread waiting for it. */
void KeSetEvent(struct kevent *event);

/*
 * The same for the end of an I/O a thread waited for (NT's KeSetEvent with the disk's
 * priority increment): the threads released go to the front of the ready queue, and the
 * running thread gives way at the next dispatch, so that a thread that waited for a disk
 * does not wait again for a CPU-bound one to use up its quantum.
 */
void KeSetEventBoost(struct kevent *event);

/* At any IRQL: makes event not signaled; threads already released stay released. */
void KeClearEvent(struct kevent *event);

/*
 * Below DISPATCH_LEVEL: waits until event is set, for at most timeout_ticks clock ticks
 * (WAIT_FOREVER: no limit); STATUS_SUCCESS, or STATUS_TIMEOUT. A timeout of 0 only tests.
 */
ntstatus_t KeWaitForEvent(struct kevent *event, uint64_t timeout_ticks);
