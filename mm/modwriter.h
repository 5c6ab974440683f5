#pragma once
/* The modified-page writer, a system thread (modwriter.c). */
#include "lib/types.h"

/*
 * The writer's thread routine: kernel/main.c starts it once a pagefile is open. It
 * returns only if there is no pagefile.
 */
void MmModifiedPageWriter(void *context);

/* PFN lock held: a page went onto the modified list; the writer wakes past the mark. */
void MiModifiedPageAdded(void);

/* Wakes the writer, if it runs, to write modified pages. At DISPATCH_LEVEL or below. */
void MiWakeModifiedPageWriter(void);
/* Wakes the writer to write every modified page there is, marks or not (tests). */
void MiAskWriterToWriteAll(void);

/*
 * For a fault that finds reusable pages short: true when the writer runs and can be
 * waited for here (below DISPATCH_LEVEL, interrupts on). Then the fault wakes it and
 * waits, a bounded while, for the pages it makes reusable, instead of writing any itself.
 */
bool MiCanWaitForModifiedPageWriter(void);
void MiWaitForModifiedPageWriter(void);

/*
 * Tests: waits, below DISPATCH_LEVEL, until the writer has ended its round of writes
 * (none in flight, none asked for), so that every page and slot is where the books say
 * (a page freed in flight is freed only when its write ends).
 */
void MiWaitForModifiedPageWriterIdle(void);

/* Counted by the writer since boot; for tests and reports. */
struct mi_modified_writer_statistics {
    uint32_t wakes;             /* times it woke with work */
    uint32_t clusters;          /* write requests made */
    uint32_t pages;             /* pages written */
    uint32_t redirtied;         /* pages dirtied (or freed) while they were written */
    uint32_t failures;          /* requests that failed: their pages stay modified */
    uint32_t fault_waits;       /* faults that waited for it */
};
extern struct mi_modified_writer_statistics MiModifiedWriterStatistics;

/*
 * Tests: clock ticks the writer waits, its pages already marked write-in-progress,
 * before each transfer (a slow disk), so that a case can touch or free a page in flight.
 */
extern uint32_t MiModifiedWriterDelay;
