/*
 * The lock checker. Classes get a number at their first acquisition; order[a] has bit b
 * set once b was taken while a was held, with where that first happened. Taking a while
 * b is held is then an inversion: two threads doing the two orders can deadlock.
 */
#include <stdarg.h>

#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/kthread.h"
#include "arch/machine.h"
#include "arch/pcr.h"
#include "arch/spinlock.h"
#include "lib/console.h"
#include "arch/lockcheck.h"
#include "lib/format.h"

#define CLASSES_MAX 64
#define STACK_PAGE_SIZE 4096    /* the i386 page: a stack's guard page starts at such a boundary */

bool lockcheck_enabled;
bool lockcheck_interrupts_started;

static struct lock_class *classes[CLASSES_MAX];
static uint32_t class_count;
static uint64_t order[CLASSES_MAX];            /* order[a] bit b: b taken while a held */
static volatile uint32_t table_lock;            /* guards the three above (a bare word) */
static vaddr_t order_seen_at[CLASSES_MAX][CLASSES_MAX];

static char *capture_buffer;
static size_t capture_size;
static uint32_t *capture_count;

void lockcheck_enable(void)
{
    lockcheck_enabled = true;
}

void lockcheck_capture_reports(char *buffer, size_t size, uint32_t *count)
{
    capture_buffer = buffer;
    capture_size = size;
    capture_count = count;
}

static struct lock_held_set *held_set(void)
{
    return &KeGetCurrentKthread()->held_locks;
}

static void print_held(void)
{
    struct lock_held_set *set = held_set();

    kprintf("    locks held, innermost last:%s\n", set->count ? "" : " none");
    for (uint32_t i = 0; i < set->count; i++)
        kprintf("      %s (lock at 0x%08x, taken at EIP 0x%08x)\n", set->held[i].class->name,
                (uint32_t)set->held[i].lock, set->held[i].caller);
}

/*
 * The words on the stack that point into the kernel's code, innermost first: the
 * return addresses among them say how the thread got here (the kernel keeps no frame
 * pointers to walk).
 */
static void print_stack_code_addresses(void)
{
    extern const char __text_begin[], __text_end[];
    const uint32_t *sp = __builtin_frame_address(0);
    unsigned shown = 0;

    kprintf("    code addresses on the stack:");
    for (unsigned i = 0; i < 256 && shown < 16; i++) {
        if (((vaddr_t)(sp + i) & (STACK_PAGE_SIZE - 1)) == 0 && i > 0)
            break;                      /* the stack's page ends: the next may be a guard */
        if (sp[i] >= (uint32_t)__text_begin && sp[i] < (uint32_t)__text_end) {
            kprintf(" %08x", sp[i]);
            shown++;
        }
    }
    kprintf("\n");
}

/* Stops the machine with the report, or hands it to a test that planted the mistake. */
static void PRINTF_LIKE(1, 2) report(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    if (capture_buffer) {
        kvsnprintf(capture_buffer, capture_size, fmt, args);
        va_end(args);
        (*capture_count)++;
        return;
    }
    char message[256];
    kvsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    hal_set_irql(HIGH_LEVEL);
    kprintf("\n*** STOP: lock checker: %s\n", message);
    kprintf("    IRQL %u, thread at 0x%08x\n", KeGetCurrentPrcb()->irql,
            (uint32_t)KeGetCurrentThread());
    print_held();
    print_stack_code_addresses();
    machine_exit(MACHINE_EXIT_FAILURE);
}

static uint32_t class_id(struct lock_class *class)
{
    if (class->id == 0) {
        if (class_count == CLASSES_MAX - 1)
            return 0;               /* beyond the table: checked for IRQL only */
        class->id = (uint8_t)++class_count;
        classes[class->id] = class;
    }
    return class->id;
}

static bool irql_allowed(const struct lock_class *class, KIRQL irql, bool attempt)
{
    /*
     * A blocking lock below DISPATCH_LEVEL, or at it by an attempt, which never waits; a
     * spinlock at or below its own level.
     */
    if (class->blocking)
        return irql <= (attempt ? DISPATCH_LEVEL : APC_LEVEL);
    return irql <= class->irql;
}

bool lockcheck_acquire(struct lock_class *class, const void *lock, KIRQL irql, bool attempt,
                       vaddr_t caller)
{
    struct lock_held_set *set = held_set();
    bool held_already = false;

    /*
     * Spinning with interrupts off for a spinlock deadlocks once its holder waits for
     * this processor's TLB flush (the PTE writer shoots down at DISPATCH_LEVEL, with
     * spinlocks held) -- once the boot has turned interrupts on, before which one
     * processor runs. An interrupt spinlock's holder (a device queue's, the console's)
     * changes no page table, so polled I/O with interrupts off may take one; an attempt
     * never spins.
     */
    if (lockcheck_interrupts_started && !attempt && !class->blocking && !class->interrupt &&
        !cpu_interrupts_enabled())
        report("%s taken with interrupts off (EIP 0x%08x): a holder waiting for this "
               "processor's TLB flush would wait for ever", class->name, caller);
    if (!irql_allowed(class, irql, attempt))
        report("%s taken at IRQL %u (EIP 0x%08x); %s is taken at IRQL %u or below",
               class->name, irql, caller, class->blocking ? "a blocking lock" : "this lock",
               class->blocking ? APC_LEVEL : class->irql);
    /* The class numbers and the order are the machine's: one processor at a time. */
    uint32_t flags = ke_acquire_list_lock(&table_lock);
    uint32_t id = class_id(class);
    for (uint32_t i = 0; i < set->count; i++) {
        struct lock_held *held = &set->held[i];
        if (held->lock == lock) {
            report("%s at 0x%08x taken again by its holder (EIP 0x%08x; first taken at "
                   "EIP 0x%08x): it can never be granted", class->name, (uint32_t)lock,
                   caller, held->caller);
            held_already = true;
            continue;
        }
        uint32_t held_id = held->class->id;
        if (attempt || id == 0 || held_id == 0)
            continue;               /* an attempt never waits, so it orders nothing */
        if (held_id == id)
            report("two locks of class %s held at once (EIP 0x%08x, the first taken at "
                   "EIP 0x%08x) without an attempt: two threads doing it in the two "
                   "orders deadlock", class->name, caller, held->caller);
        else if (order[id] & (1ull << held_id))
            report("lock order inversion: %s taken while holding %s (EIP 0x%08x), but "
                   "%s was taken while holding %s before (EIP 0x%08x)", class->name,
                   held->class->name, caller, held->class->name, class->name,
                   order_seen_at[id][held_id]);
        else if (!(order[held_id] & (1ull << id))) {
            order[held_id] |= 1ull << id;
            order_seen_at[held_id][id] = caller;
        }
    }
    ke_release_list_lock(&table_lock, flags);
    if (set->count == LOCK_HELD_MAX) {
        report("more than %u locks held at once (taking %s at EIP 0x%08x)", LOCK_HELD_MAX,
               class->name, caller);
        return held_already;
    }
    set->held[set->count++] = (struct lock_held){class, lock, caller};
    return held_already;
}

void lockcheck_release(struct lock_class *class, const void *lock, KIRQL irql)
{
    struct lock_held_set *set = held_set();

    for (uint32_t i = set->count; i-- > 0;) {
        if (set->held[i].lock != lock)
            continue;
        for (; i + 1 < set->count; i++)
            set->held[i] = set->held[i + 1];
        set->count--;
        for (uint32_t j = 0; j < set->count && irql < DISPATCH_LEVEL; j++)
            if (!set->held[j].class->blocking)
                report("%s released to IRQL %u while %s (taken at EIP 0x%08x) is still "
                       "held: a spinlock needs DISPATCH_LEVEL until its release",
                       class->name, irql, set->held[j].class->name, set->held[j].caller);
        return;
    }
    report("%s at 0x%08x released, but this thread does not hold it", class->name,
           (uint32_t)lock);
}

void lockcheck_wait(KIRQL irql, vaddr_t caller)
{
    if (irql >= DISPATCH_LEVEL)
        report("a blocking wait at IRQL %u (EIP 0x%08x): a thread waits only below "
               "DISPATCH_LEVEL", irql, caller);
}

void lockcheck_forget_order(struct lock_class *a, struct lock_class *b)
{
    if (a->id && b->id) {
        order[a->id] &= ~(1ull << b->id);
        order[b->id] &= ~(1ull << a->id);
    }
}
