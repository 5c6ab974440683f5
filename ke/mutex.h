#pragma once
/*
 * Guarded mutexes, NT's blocking lock for long work: the holder runs at APC_LEVEL (a
 * guarded region) and may take page faults and wait; another thread that wants the
 * mutex waits for it (the owner hands it over on release, first come first served).
 * Taken below DISPATCH_LEVEL only, and never while a spinlock is held.
 */
#include "arch/irql.h"
#include "arch/lockcheck.h"
#include "lib/list.h"

struct thread;

/* Threads waiting for something; scheduler_wake_all releases them (kernel/thread.h). */
struct wait_queue {
    struct list_entry threads;
};

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
void KeAcquireGuardedMutex(struct kguarded_mutex *mutex);
/*
 * Takes the mutex if it is free; never waits, so it may be tried at DISPATCH_LEVEL too
 * (the mutex is then released at that level).
 */
bool KeTryToAcquireGuardedMutex(struct kguarded_mutex *mutex);
void KeReleaseGuardedMutex(struct kguarded_mutex *mutex);

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
