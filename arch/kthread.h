#pragma once
/*
 * The part of a thread that the arch layer keeps: the record of the last fault kernel
 * code recovered from, and the locks the thread holds as the lock checker sees them.
 * Every thread block begins with one (kernel/thread.h), as NT's ETHREAD begins with its
 * KTHREAD, so the processor's current-thread pointer reaches both and a switch has
 * nothing more to change for them.
 */
#include "arch/lockcheck.h"
#include "arch/pcr.h"
#include "arch/trap.h"

struct kthread {
    struct trap_recovered_fault recovered_fault;
    struct lock_held_set held_locks;
};

/* The running thread's arch part. */
static inline struct kthread *KeGetCurrentKthread(void)
{
    return (struct kthread *)KeGetCurrentThread();
}

/* The running thread's last recovered fault. */
static inline struct trap_recovered_fault *trap_last_recovered_fault(void)
{
    return &KeGetCurrentKthread()->recovered_fault;
}
