#pragma once
/*
 * The TLB work one processor asks of another (NT's TLB shootdown). The PTE writer
 * (mm/pte.c) drops a translation on its own processor itself; for each other processor
 * that may cache it -- every one for system space, those running the address space for
 * user space -- it posts the pages to that processor's pending-flush list in its region
 * (struct kprcb_tlb_flush, arch/pcr.h) and sends it the shootdown interrupt, whose
 * handler runs KiRetireTlbFlushList there, and waits for each one's answer
 * (KiWaitForTlbFlush) before anything may reuse what the entries named.
 */
#include "arch/pcr.h"
#include "lib/types.h"

/*
 * At any IRQL: asks prcb to drop the translations of the count pages at va (global:
 * some are system space). Past what its list holds, prcb flushes everything instead.
 * Returns the post's number, for KiWaitForTlbFlush.
 */
uint32_t KiPostTlbFlush(struct kprcb *prcb, const vaddr_t *va, uint32_t count, bool global);

/* At any IRQL: asks prcb to drop every translation (global: system space's too). */
uint32_t KiPostEntireTlbFlush(struct kprcb *prcb, bool global);

/*
 * At DISPATCH_LEVEL or above: waits until prcb has done the post numbered number (and
 * every one before it), doing this processor's own posted work meanwhile, so that two
 * processors waiting for each other both go on.
 */
void KiWaitForTlbFlush(struct kprcb *prcb, uint32_t number);

/*
 * At DISPATCH_LEVEL or above (the shootdown interrupt's level), so on the processor whose
 * list it is: does what was posted to it -- invlpg for each page, or a full flush that
 * drops global entries only when asked -- and empties the list.
 */
void KiRetireTlbFlushList(void);
