/*
 * The IRQL on a machine with the 8259 PIC, done lazily as NT's PIC HAL does: raising
 * and lowering only store the level; the controller's mask changes only when an
 * interrupt actually arrives at or below the current level (it is then masked and noted)
 * and when the level falls below it again (it then runs, and is unmasked).
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/apic.h"
#include "arch/pic.h"
#include "arch/trap.h"

/* Entry I is ~1u << I: the levels above I. */
#define HELD_BACK_ABOVE(i) (~1u << (i))
const uint32_t hal_irql_held_back[HIGH_LEVEL + 1] = {
    HELD_BACK_ABOVE(0),  HELD_BACK_ABOVE(1),  HELD_BACK_ABOVE(2),  HELD_BACK_ABOVE(3),
    HELD_BACK_ABOVE(4),  HELD_BACK_ABOVE(5),  HELD_BACK_ABOVE(6),  HELD_BACK_ABOVE(7),
    HELD_BACK_ABOVE(8),  HELD_BACK_ABOVE(9),  HELD_BACK_ABOVE(10), HELD_BACK_ABOVE(11),
    HELD_BACK_ABOVE(12), HELD_BACK_ABOVE(13), HELD_BACK_ABOVE(14), HELD_BACK_ABOVE(15),
    HELD_BACK_ABOVE(16), HELD_BACK_ABOVE(17), HELD_BACK_ABOVE(18), HELD_BACK_ABOVE(19),
    HELD_BACK_ABOVE(20), HELD_BACK_ABOVE(21), HELD_BACK_ABOVE(22), HELD_BACK_ABOVE(23),
    HELD_BACK_ABOVE(24), HELD_BACK_ABOVE(25), HELD_BACK_ABOVE(26), HELD_BACK_ABOVE(27),
    HELD_BACK_ABOVE(28), HELD_BACK_ABOVE(29), HELD_BACK_ABOVE(30), HELD_BACK_ABOVE(31),
};

/* A line's routines: its own handler (the clock's), or those of the devices sharing it. */
#define ROUTINES_PER_LINE 4

struct line_routine {
    void (*routine)(void *context);
    void *context;
};

static void (*line_handlers[PIC_IRQ_COUNT])(void);
static struct line_routine line_routines[PIC_IRQ_COUNT][ROUTINES_PER_LINE];
static void (*dispatch_handler)(void);
static void (*ipi_handler)(void);
static void (*processor_clock_handler)(void);

void hal_set_dispatch_handler(void (*handler)(void))
{
    dispatch_handler = handler;
}

void hal_set_processor_handlers(void (*ipi)(void), void (*clock)(void))
{
    ipi_handler = ipi;
    processor_clock_handler = clock;
}

void hal_connect_interrupt(unsigned irq, void (*handler)(void))
{
    line_handlers[irq] = handler;
    pic_unmask(irq);
}

bool hal_connect_shared_interrupt(unsigned irq, void (*routine)(void *context), void *context)
{
    if (irq == 0 || irq >= PIC_IRQ_COUNT || irq == PIC_CASCADE_IRQ)
        return false;
    uint32_t flags = cpu_save_disable_interrupts();
    struct line_routine *slot = NULL;
    for (unsigned i = 0; i < ROUTINES_PER_LINE && !slot; i++)
        if (!line_routines[irq][i].routine)
            slot = &line_routines[irq][i];
    if (slot) {
        slot->context = context;
        slot->routine = routine;
        pic_unmask(irq);
    }
    cpu_restore_interrupts(flags);
    return slot != NULL;
}

/* Runs what is connected to line irq, at its level. */
static void run_line(unsigned irq)
{
    if (line_handlers[irq])
        line_handlers[irq]();
    for (unsigned i = 0; i < ROUTINES_PER_LINE && line_routines[irq][i].routine; i++)
        line_routines[irq][i].routine(line_routines[irq][i].context);
}

static unsigned line_of_irql(KIRQL level)
{
    return level == CLOCK_LEVEL ? 0 : PROFILE_LEVEL - level;
}

/*
 * Whether an interrupt of level comes from the local APIC: the IPI, and the clock of
 * an application processor (the boot processor's is the PIT's, IRQ 0).
 */
static inline bool is_apic_level(const struct kprcb *prcb, KIRQL level)
{
    return level == IPI_LEVEL || (level == CLOCK_LEVEL && prcb->number != 0);
}

/* Runs the local APIC's interrupt of level: the IPI with interrupts off, the clock on. */
static void run_apic_level(KIRQL level)
{
    if (level == IPI_LEVEL) {
        ipi_handler();
    } else {
        cpu_enable_interrupts();
        processor_clock_handler();
        cpu_disable_interrupts();
    }
}

/* Runs one held-back interrupt of level, interrupts off on entry and on return. */
static void run_pending(struct kprcb *prcb, KIRQL level)
{
    prcb->pending_interrupts &= ~(1u << level);
    prcb->irql = level;
    if (level == DISPATCH_LEVEL) {
        prcb->statistics.dispatch_interrupts++;
        cpu_enable_interrupts();
        dispatch_handler();
    } else if (is_apic_level(prcb, level)) {
        run_apic_level(level);
    } else {
        unsigned irq = line_of_irql(level);
        cpu_enable_interrupts();
        run_line(irq);
        cpu_disable_interrupts();
        pic_unmask(irq);
    }
    cpu_disable_interrupts();
}

void hal_deliver_pending(KIRQL new_irql)
{
    uint32_t flags = cpu_save_disable_interrupts();

    for (;;) {
        /* Read again each time: the dispatch handler may have switched threads (and CPUs). */
        struct kprcb *prcb = KeGetCurrentPrcb();
        uint32_t above = prcb->pending_interrupts & (~1u << new_irql);
        if (above == 0) {
            prcb->irql = new_irql;
            break;
        }
        run_pending(prcb, (KIRQL)(31 - __builtin_clz(above)));
    }
    cpu_restore_interrupts(flags);
}

void hal_interrupt(unsigned irq)
{
    if (!pic_acknowledge(irq))
        return;                             /* spurious: nothing was asserted */
    struct kprcb *prcb = KeGetCurrentPrcb();
    KIRQL level = hal_irql_of_line(irq);
    KIRQL old = prcb->irql;

    prcb->statistics.interrupts++;
    if (level <= old) {
        /* Held back: masked until the IRQL falls below the line's level. */
        pic_mask(irq);
        prcb->pending_interrupts |= 1u << level;
        prcb->statistics.deferred_interrupts++;
        return;
    }
    prcb->irql = level;
    cpu_enable_interrupts();                /* a line of a higher level may interrupt this one */
    run_line(irq);
    cpu_disable_interrupts();
    KeLowerIrql(old);
}

void hal_apic_interrupt(unsigned vector)
{
    if (vector == TRAP_APIC_SPURIOUS)
        return;                             /* no EOI for it (SDM vol. 3A, 11.9) */
    struct kprcb *prcb = KeGetCurrentPrcb();
    KIRQL level = vector == TRAP_APIC_IPI ? IPI_LEVEL : CLOCK_LEVEL;
    KIRQL old = prcb->irql;

    /*
     * Ended at once: what the interrupt asks for is kept in the region (the IPI's
     * requests, the clock's tick), so one held back is only a pending bit, and a second
     * that comes meanwhile asks for nothing more.
     */
    apic_eoi();
    prcb->statistics.interrupts++;
    if (level <= old) {
        prcb->pending_interrupts |= 1u << level;
        prcb->statistics.deferred_interrupts++;
        return;
    }
    prcb->irql = level;
    run_apic_level(level);
    KeLowerIrql(old);
}
