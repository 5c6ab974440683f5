#pragma once
/*
 * Spinlocks, as NT has them. Acquiring one raises the IRQL to DISPATCH_LEVEL (an
 * interrupt spinlock, for data an interrupt handler shares, to its line's level) so that
 * neither the dispatcher nor a lower interrupt can take the processor from the holder;
 * the lock word then keeps the other processors out.
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/lockcheck.h"
#include "lib/types.h"

struct kspin_lock {
    volatile uint32_t locked;       /* nonzero while held */
    struct lock_class *class;
};

#define KSPIN_LOCK_INIT(class_) {.locked = 0, .class = &(class_)}

static inline void ke_spin_lock_word(struct kspin_lock *lock)
{
    while (__builtin_expect(__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE), 0))
        while (lock->locked)
            __builtin_ia32_pause();
}

static inline void ke_spin_unlock_word(struct kspin_lock *lock)
{
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

/* Takes lock at DISPATCH_LEVEL; returns the IRQL to hand back to KeReleaseSpinLock. */
static inline KIRQL KeAcquireSpinLock(struct kspin_lock *lock)
{
    KIRQL old = KeGetCurrentIrql();

    hal_set_irql(DISPATCH_LEVEL);       /* first: nothing may come between the check and it */
    if (__builtin_expect(lockcheck_enabled, 0) &&
        lockcheck_acquire(lock->class, lock, old, false, (vaddr_t)__builtin_return_address(0)))
        return old;
    ke_spin_lock_word(lock);
    return old;
}

static inline void KeReleaseSpinLock(struct kspin_lock *lock, KIRQL old)
{
    ke_spin_unlock_word(lock);
    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_release(lock->class, lock, old);
    KeLowerIrql(old);
}

/* The same for an interrupt spinlock: at its class's device level. */
static inline KIRQL KeAcquireInterruptSpinLock(struct kspin_lock *lock)
{
    KIRQL old = KeGetCurrentIrql();

    hal_set_irql(lock->class->irql);
    if (__builtin_expect(lockcheck_enabled, 0) &&
        lockcheck_acquire(lock->class, lock, old, false, (vaddr_t)__builtin_return_address(0)))
        return old;
    ke_spin_lock_word(lock);
    return old;
}

#define KeReleaseInterruptSpinLock KeReleaseSpinLock

/*
 * The lock of a list that code at any IRQL changes, an interrupt handler's included,
 * and that other processors reach: a processor's DPC queue and its pending TLB flushes
 * (arch/pcr.h). Interrupts are turned off rather than the IRQL raised, since the caller
 * may already be above every level a spinlock knows; the word keeps other processors
 * out. Held for a few instructions, outside the lock checker (NT takes its DPC lock so,
 * with interrupts disabled). Returns the flags for ke_release_list_lock.
 */
static inline uint32_t ke_acquire_list_lock(volatile uint32_t *word)
{
    uint32_t flags = cpu_save_disable_interrupts();

    while (__builtin_expect(__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE), 0))
        while (*word)
            __builtin_ia32_pause();
    return flags;
}

static inline void ke_release_list_lock(volatile uint32_t *word, uint32_t flags)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    cpu_restore_interrupts(flags);
}
