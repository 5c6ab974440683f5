#pragma once
/*
 * Interrupt request levels, as NT has them on x86. Each processor runs at an IRQL; code
 * at one level is interrupted only by something of a higher one. PASSIVE_LEVEL is where
 * threads normally run; APC_LEVEL holds back asynchronous procedure calls;
 * DISPATCH_LEVEL holds back the dispatcher (no thread switch, no DPC) and is where
 * spinlocks are held; the device levels (DIRQLs) above it belong to interrupt lines;
 * HIGH_LEVEL holds back everything maskable.
 *
 * Raising and lowering cost only a store to the processor's region (arch/pcr.h): the
 * interrupt controller is not touched (NT's lazy IRQL). A device interrupt that arrives
 * at or below the IRQL is masked at its controller, noted as pending, and run when the
 * IRQL falls below its level; a software interrupt (DISPATCH_LEVEL) is requested the same
 * way. So no code outside this file and the trap entry masks interrupts with cli.
 */
#include <stddef.h>
#include "arch/pcr.h"
#include "lib/types.h"

typedef uint8_t KIRQL;

#define PASSIVE_LEVEL   0
#define APC_LEVEL       1
#define DISPATCH_LEVEL  2
#define PROFILE_LEVEL   27
#define CLOCK_LEVEL     28      /* the PIT, IRQ 0 */
#define IPI_LEVEL       29
#define POWER_LEVEL     30
#define HIGH_LEVEL      31

/* A PIC line's IRQL (NT's PIC HAL: IRQ n at PROFILE_LEVEL - n, the clock above them). */
static inline KIRQL hal_irql_of_line(unsigned irq)
{
    return irq == 0 ? CLOCK_LEVEL : (KIRQL)(PROFILE_LEVEL - irq);
}

static inline KIRQL KeGetCurrentIrql(void)
{
    uint32_t irql;      /* loaded zero-extended: callers index and shift by it */

    __asm__ volatile("movzbl %%fs:%c1, %0" : "=r"(irql) : "i"(offsetof(struct kprcb, irql)));
    return (KIRQL)irql;
}

static inline void hal_set_irql(KIRQL irql)
{
    __asm__ volatile("movb %0, %%fs:%c1"
                     : : "qi"(irql), "i"(offsetof(struct kprcb, irql)) : "memory");
}

/* Bit L set in entry I: an interrupt of IRQL L is held back at IRQL I and runs below it. */
extern const uint32_t hal_irql_held_back[HIGH_LEVEL + 1];

/* Runs what the IRQL held back above new_irql (the slow path of KeLowerIrql). */
void hal_deliver_pending(KIRQL new_irql);

/* Raises the IRQL to new_irql (never lower than the current one); returns the old. */
static inline KIRQL KeRaiseIrql(KIRQL new_irql)
{
    KIRQL old = KeGetCurrentIrql();

    hal_set_irql(new_irql);
    return old;
}

/* Lowers the IRQL to new_irql, running whatever waited for it to fall. */
static inline void KeLowerIrql(KIRQL new_irql)
{
    uint32_t pending;

    hal_set_irql(new_irql);
    __asm__ volatile("movl %%fs:%c1, %0"
                     : "=r"(pending) : "i"(offsetof(struct kprcb, pending_interrupts)));
    /* A table, not ~1u << new_irql: one instruction fewer on every lock's release. */
    if (__builtin_expect((pending & hal_irql_held_back[new_irql]) != 0, 0))
        hal_deliver_pending(new_irql);
}

/* Asks for a software interrupt at level (APC_LEVEL or DISPATCH_LEVEL) on this processor. */
static inline void HalRequestSoftwareInterrupt(KIRQL level)
{
    __asm__ volatile("orl %0, %%fs:%c1"
                     : : "ri"(1u << level), "i"(offsetof(struct kprcb, pending_interrupts))
                     : "memory");
}

/*
 * What runs the DISPATCH_LEVEL software interrupt (the dispatcher's: deferred work and
 * thread switches); it runs at DISPATCH_LEVEL with interrupts enabled.
 */
void hal_set_dispatch_handler(void (*handler)(void));

/*
 * What runs the local APIC's interrupts: the interprocessor interrupt (at IPI_LEVEL,
 * interrupts off) and an application processor's clock (at CLOCK_LEVEL).
 */
void hal_set_processor_handlers(void (*ipi)(void), void (*clock)(void));

/* The trap dispatcher's entry for the local APIC's vectors (arch/trap.h). */
void hal_apic_interrupt(unsigned vector);

/* Calls handler at the line's IRQL for each interrupt on PIC line irq, and unmasks it. */
void hal_connect_interrupt(unsigned irq, void (*handler)(void));

/*
 * Connects a device's interrupt routine to PIC line irq (1-15 but the cascade, 2), which
 * up to four devices may share, as PCI INTx lines are shared: each routine is called at
 * the line's IRQL for every interrupt on it, and must find out whether its device asked.
 * False when the line cannot take one more. Routines are never disconnected.
 */
bool hal_connect_shared_interrupt(unsigned irq, void (*routine)(void *context), void *context);

/* Called by the trap dispatcher, interrupts off, for an interrupt on PIC line irq. */
void hal_interrupt(unsigned irq);
