#pragma once
/*
 * Guarded mutexes, NT's blocking lock for long work: the holder runs at APC_LEVEL (a
 * guarded region) and may take page faults and wait; another thread that wants the
 * mutex waits for it (the owner hands it over on release, first come first served).
 * Taken below DISPATCH_LEVEL only, and never while a spinlock is held.
 */
#include "arch/irql.h"
#include "arch/pcr.h"
#include "arch/lockcheck.h"
#include "lib/list.h"

struct thread;

/* Threads waiting for something; scheduler_wake_all releases them (kernel/thread.h). */
struct wait_queue {
    struct list_entry threads;
};

/* A wait's timeout, in clock ticks, that never comes. */
#define WAIT_FOREVER UINT64_MAX

/*
 * The owner and whether anyone waits, in one word that an atomic compare-exchange can
 * test and change at once: a mutex nobody else wants is taken and given back without the
 * dispatcher lock.
 */
#define KGUARDED_MUTEX_CONTENDED 1u

struct kguarded_mutex {
    uintptr_t owner_word;           /* the owning thread, or 0; | CONTENDED while some wait */
    KIRQL owner_irql;               /* the owner's IRQL before it took the mutex */
    struct wait_queue waiters;
    struct lock_class *class;
    uint32_t contentions;           /* acquisitions that had to wait */
};

/* A static initializer: KGUARDED_MUTEX_INIT(the variable, its lock class). */
#define KGUARDED_MUTEX_INIT(var, class_) \
    {.waiters = {{&(var).waiters.threads, &(var).waiters.threads}}, .class = &(class_)}

void KeInitializeGuardedMutex(struct kguarded_mutex *mutex, struct lock_class *class);
/* The slow paths, with the dispatcher lock (kernel/scheduler.c). */
void KiWaitForGuardedMutex(struct kguarded_mutex *mutex);
void KiHandOverGuardedMutex(struct kguarded_mutex *mutex);

/* Takes the mutex, waiting for it if another thread holds it. */
static inline void KeAcquireGuardedMutex(struct kguarded_mutex *mutex)
{
    KIRQL old = KeGetCurrentIrql();
    uintptr_t free = 0;

    if (old < APC_LEVEL)
        hal_set_irql(APC_LEVEL);
    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_acquire(mutex->class, mutex, old, false, (vaddr_t)__builtin_return_address(0));
    if (!__atomic_compare_exchange_n(&mutex->owner_word, &free,
                                     (uintptr_t)KeGetCurrentThread(), false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        KiWaitForGuardedMutex(mutex);
    mutex->owner_irql = old;
}

/* Lets the mutex go: to the first thread waiting for it, if any. */
static inline void KeReleaseGuardedMutex(struct kguarded_mutex *mutex)
{
    KIRQL old = mutex->owner_irql;
    uintptr_t self = (uintptr_t)KeGetCurrentThread();

    if (__builtin_expect(lockcheck_enabled, 0))
        lockcheck_release(mutex->class, mutex, old);
    if (!__atomic_compare_exchange_n(&mutex->owner_word, &self, 0, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED))
        KiHandOverGuardedMutex(mutex);
    if (old < APC_LEVEL)
        KeLowerIrql(old);
}

/*
 * Takes the mutex if it is free; never waits, so it may be tried at DISPATCH_LEVEL too
 * (the mutex is then released at that level).
 */
bool KeTryToAcquireGuardedMutex(struct kguarded_mutex *mutex);

static inline struct thread *KeGuardedMutexOwner(const struct kguarded_mutex *mutex)
{
    return (struct thread *)(__atomic_load_n(&mutex->owner_word, __ATOMIC_RELAXED) &
                             ~(uintptr_t)KGUARDED_MUTEX_CONTENDED);
}

static inline bool KeIsGuardedMutexOwned(const struct kguarded_mutex *mutex,
                                         const struct thread *thread)
{
    return KeGuardedMutexOwner(mutex) == thread;
}
