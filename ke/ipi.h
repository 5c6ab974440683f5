#pragma once
/*
 * Interprocessor interrupts (NT's KiIpiSend and its IPI packet): what one processor asks
 * of others. Requests are bits in the target's region (kprcb.ipi_requests), set with
 * one locked OR before the interrupt is sent, so several senders' requests share one
 * interrupt; the target's handler (KiIpiService, at IPI_LEVEL) takes all of them at once.
 */
#include "arch/pcr.h"
#include "lib/types.h"

#define IPI_TLB_FLUSH   0x1     /* its pending-flush list has work (ke/tlbflush.h) */
#define IPI_RESCHEDULE  0x2     /* a thread became ready: run the dispatcher */
#define IPI_CALL        0x4     /* run the generic call (KeIpiGenericCall) */
#define IPI_FREEZE      0x8     /* the machine stopped: stop too */

/* Asks every processor in targets (a mask, never this one) for request, at any IRQL. */
void KiIpiSend(uint32_t targets, uint32_t request);

/* The interrupt's handler: at IPI_LEVEL, interrupts off. */
void KiIpiService(void);

/*
 * Runs routine(context) on every other running processor at IPI_LEVEL and returns once
 * all have (NT's KeIpiGenericCall, less this processor). At or below DISPATCH_LEVEL.
 */
void KeIpiGenericCall(void (*routine)(void *context), void *context);

/* Stops every other processor (a stop screen's first step); at any IRQL. */
void KiFreezeOtherProcessors(void);

/* The processors that mask names, one by one: for (each...) with its number in i. */
#define for_each_processor(i, mask) \
    for (uint32_t _m = (mask), i; _m && ((i = (uint32_t)__builtin_ctz(_m)), 1); _m &= _m - 1)
