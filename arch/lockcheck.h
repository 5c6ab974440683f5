#pragma once
/*
 * The lock checker (NT's Driver Verifier deadlock detection, Linux's lockdep): with
 * `verifier` on the command line it records the order in which lock classes are taken
 * and the IRQL at each acquisition, and stops the machine with a report on an order
 * inversion, a lock taken again by its holder, a lock taken at the wrong IRQL, a
 * blocking wait at DISPATCH_LEVEL or above, or a release of a lock not held. Compiled
 * in always; off, it costs each acquisition one test of lockcheck_enabled.
 */
#include "arch/irql.h"
#include "lib/types.h"

/*
 * What a kind of lock is: every working-set lock of every process is one class, the
 * PFN lock another. The order rules are between classes.
 */
struct lock_class {
    const char *name;       /* what it protects, as the report names it */
    KIRQL irql;             /* a spinlock's level; APC_LEVEL for a blocking lock */
    bool blocking;          /* a mutex: its holder may wait, so it is taken below DISPATCH */
    bool interrupt;         /* an interrupt spinlock (a device's, the console's): its
                               holder changes no page table, so it may be spun on with
                               interrupts off (polled I/O) */
    uint8_t id;             /* the checker's number for it, given at its first use */
};

#define LOCK_CLASS_SPIN(name_)          {.name = (name_), .irql = DISPATCH_LEVEL}
#define LOCK_CLASS_INTERRUPT(name_, l)  {.name = (name_), .irql = (l), .interrupt = true}
#define LOCK_CLASS_BLOCKING(name_)      {.name = (name_), .irql = APC_LEVEL, .blocking = true}

#define LOCK_HELD_MAX 12

/* The locks one thread holds, innermost last (each thread has one; arch/pcr.h). */
struct lock_held_set {
    uint32_t count;
    struct lock_held {
        struct lock_class *class;
        const void *lock;
        vaddr_t caller;
    } held[LOCK_HELD_MAX];
};

extern bool lockcheck_enabled;
/* Set when the boot turns interrupts on: from then no spinlock is taken with them off. */
extern bool lockcheck_interrupts_started;

/* Turns the checker on (the `verifier` boot option). */
void lockcheck_enable(void);

/*
 * Checks and records an acquisition of lock (of class) at irql, by code at caller. True
 * when the thread holds lock already, which it reported: a spinlock's word is then not
 * spun on (a test that plants the mistake goes on instead of hanging).
 */
bool lockcheck_acquire(struct lock_class *class, const void *lock, KIRQL irql, bool attempt,
                       vaddr_t caller);
/* Checks and records a release, after which the IRQL goes back to irql. */
void lockcheck_release(struct lock_class *class, const void *lock, KIRQL irql);
/* Checks that a thread may block here: below DISPATCH_LEVEL, holding no spinlock. */
void lockcheck_wait(KIRQL irql, vaddr_t caller);

/*
 * For tests: while a buffer is given, a report is written there (and counted) instead of
 * stopping the machine, so a test can plant a mistake and read what the checker said.
 * NULL: reports stop the machine again.
 */
void lockcheck_capture_reports(char *buffer, size_t size, uint32_t *count);

/* Forgets the order seen so far between the classes (tests that plant an inversion). */
void lockcheck_forget_order(struct lock_class *a, struct lock_class *b);
