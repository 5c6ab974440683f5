/*
 * Interprocessor interrupts (contract in ke/ipi.h). The generic call is one packet for
 * the machine, taken under a spinlock: callers are rare (tests, the debugger), and a
 * caller waiting for the others serves its own TLB flushes meanwhile, so two
 * processors that ask each other for work never wait on each other.
 */
#include "arch/apic.h"
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/spinlock.h"
#include "arch/trap.h"
#include "ke/ipi.h"
#include "ke/tlbflush.h"
#include "lib/panic.h"

static struct lock_class call_lock_class = LOCK_CLASS_SPIN("IPI generic call");
static struct kspin_lock call_lock = KSPIN_LOCK_INIT(call_lock_class);
static struct {
    void (*routine)(void *context);
    void *context;
    volatile uint32_t remaining;    /* processors that have not run it yet */
} call;

void KiIpiSend(uint32_t targets, uint32_t request)
{
    struct kprcb *self = KeGetCurrentPrcb();

    KASSERT(!(targets & self->set_member));
    for_each_processor(i, targets) {
        struct kprcb *prcb = KiProcessorBlock[i];
        __atomic_fetch_or(&prcb->ipi_requests, request, __ATOMIC_SEQ_CST);
        apic_send_ipi(prcb->apic_id, TRAP_APIC_IPI);
        self->statistics.ipis_sent++;
    }
}

void KiIpiService(void)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    uint32_t requests = __atomic_exchange_n(&prcb->ipi_requests, 0, __ATOMIC_SEQ_CST);

    prcb->statistics.ipis_received++;
    if (requests & IPI_FREEZE)
        for (;;)
            __asm__ volatile("cli; hlt" ::: "memory");
    /* Whatever the bits say: a flush posted after an earlier interrupt's look is here. */
    KiRetireTlbFlushList();
    if (requests & IPI_CALL) {
        call.routine(call.context);
        __atomic_fetch_sub(&call.remaining, 1, __ATOMIC_SEQ_CST);
    }
    if (requests & IPI_RESCHEDULE)
        HalRequestSoftwareInterrupt(DISPATCH_LEVEL);
}

void KeIpiGenericCall(void (*routine)(void *context), void *context)
{
    KIRQL old = KeAcquireSpinLock(&call_lock);
    uint32_t others = KeActiveProcessors & ~KeGetCurrentPrcb()->set_member;

    call.routine = routine;
    call.context = context;
    call.remaining = (uint32_t)__builtin_popcount(others);
    KiIpiSend(others, IPI_CALL);
    while (call.remaining) {
        KiRetireTlbFlushList();
        cpu_relax();
    }
    KeReleaseSpinLock(&call_lock, old);
}

void KiFreezeOtherProcessors(void)
{
    uint32_t others = KeActiveProcessors & ~KeGetCurrentPrcb()->set_member;

    if (others)
        KiIpiSend(others, IPI_FREEZE);
}
