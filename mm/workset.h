#pragma once
/*
 * Working sets, trimming, and the balance between free, standby and modified pages
 * (workset.c).
 */
#include "lib/types.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pfn.h"

/* The lock classes of working sets: every process's one class, the system's another. */
extern struct lock_class MiProcessWorkingSetClass;
extern struct lock_class MiSystemWorkingSetClass;

/*
 * Stops the machine: a working-set lock taken again by the thread that holds it (held),
 * or a function that needs it called without it.
 */
NORETURN void MiWorkingSetLockMisused(const struct mm_working_set *working_set, bool held,
                                      vaddr_t caller);

/* True when the current thread holds working_set's lock. */
static inline bool MiWorkingSetLockHeld(const struct mm_working_set *working_set)
{
    return KeIsGuardedMutexOwned(&working_set->lock, KeGetCurrentThread());
}

/*
 * Takes working_set's lock. It is taken once, as NT's working-set pushlock is: a function
 * that needs it either takes it (a service, MI_WORKING_SET_GUARD) or is called with it
 * held (MiXxxLocked); its holder taking it again stops the machine.
 */
static inline void MiLockWorkingSet(struct mm_working_set *working_set)
{
    if (__builtin_expect(MiWorkingSetLockHeld(working_set), 0))
        MiWorkingSetLockMisused(working_set, true, (vaddr_t)__builtin_return_address(0));
    KeAcquireGuardedMutex(&working_set->lock);
}

/* Takes it only if no thread holds it (never this one: that stops the machine); never waits. */
bool MiTryLockWorkingSet(struct mm_working_set *working_set);

static inline void MiUnlockWorkingSet(struct mm_working_set *working_set)
{
    KeReleaseGuardedMutex(&working_set->lock);
}

/* What each ...Locked function checks first, in test boots (the lock checker on). */
static inline void MiAssertWorkingSetLockHeld(const struct mm_working_set *working_set)
{
    if (__builtin_expect(lockcheck_enabled, 0) && !MiWorkingSetLockHeld(working_set))
        MiWorkingSetLockMisused(working_set, false, (vaddr_t)__builtin_return_address(0));
}

static inline struct mm_working_set *MiLockWorkingSetGuard(struct mm_working_set *working_set)
{
    MiLockWorkingSet(working_set);
    return working_set;
}

static inline void MiUnlockWorkingSetGuard(struct mm_working_set **working_set)
{
    MiUnlockWorkingSet(*working_set);
}

/*
 * Holds working_set's lock from here to the end of the enclosing block, whichever way
 * it is left (a scope guard): the services have many ways out.
 */
#define MI_WORKING_SET_GUARD(working_set)                                               \
    struct mm_working_set *working_set_guard                                            \
        __attribute__((cleanup(MiUnlockWorkingSetGuard), unused)) =                     \
        MiLockWorkingSetGuard(working_set)

/* The working set limits of a new process, in pages (Windows' defaults). */
#define MI_DEFAULT_WORKING_SET_MINIMUM  50
#define MI_DEFAULT_WORKING_SET_MAXIMUM  345

/* Sets up space's working set (empty, default limits); false when pool runs out. */
bool MiInitializeWorkingSet(struct mm_working_set *working_set);
void MiDeleteWorkingSet(struct mm_working_set *working_set);
/* MiInsertWorkingSetEntry's slow path: the list must grow first. */
void MiGrowWorkingSetAndInsert(struct mm_working_set *working_set, vaddr_t va);

/* The page at va became present (inline: the fault path's common case is one store). */
static inline void MiInsertWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va)
{
    if (working_set->count == working_set->capacity) {
        MiGrowWorkingSetAndInsert(working_set, va);
        return;
    }
    working_set->entries[working_set->count++] = va;
    if (working_set->count > working_set->peak)
        working_set->peak = working_set->count;
}

/* The page at va stopped being present (a lock on it goes too). */
void MiRemoveWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va);
/*
 * An entry's low bit (entries are page addresses): the page is locked in the working
 * set (NtLockVirtualMemory) and the trimmer passes it over.
 */
#define MI_WORKING_SET_LOCKED 0x1u
/* Locks or unlocks va's entry; false when va has none (it is not present). */
bool MiLockWorkingSetEntry(struct mm_working_set *working_set, vaddr_t va, bool lock);
bool MiIsWorkingSetEntryLocked(const struct mm_working_set *working_set, vaddr_t va);

/*
 * Takes pages out of the current space's working set, by the clock, until it holds at
 * most target; with age, a page whose accessed bit is set loses the bit and stays this
 * time round. Returns the pages removed.
 */
uint32_t MiTrimWorkingSet(uint32_t target, bool age);
/* The same, the current space's working-set lock held. */
uint32_t MiTrimWorkingSetLocked(uint32_t target, bool age);
/* The same for the system working set (paged pool). */
uint32_t MiTrimSystemWorkingSet(uint32_t target, bool age);
/* The balance's marks, in pages, set from RAM at boot (workset.c). */
extern uint32_t MiLowReusablePages;     /* below this many reusable pages: trim */
extern uint32_t MiHighModifiedPages;    /* above this many modified pages: write */

/* Sets the marks from the amount of RAM. */
void MiInitializeBalance(void);
/* The slow path of MiMakeRoomForFault. */
void MiBalanceForFault(vaddr_t page);

/*
 * Before a fault on page takes a frame: makes room in the current working set (the
 * system's for paged pool) when it is at its maximum or its list is full and, when few
 * pages are reusable, trims working sets and writes modified pages. page itself is never
 * taken out. Inline for the fault path's sake: usually there is nothing to do.
 */
static inline void MiMakeRoomForFault(vaddr_t page)
{
    const struct mm_working_set *working_set = &MmCurrentAddressSpace()->working_set;

    /* Below its maximum, with room in its list for one more entry. */
    if (working_set->count < MIN(working_set->maximum, working_set->capacity) &&
        !MmIsPagedPoolAddress(page) &&
        (!MiPagefile.present || (MiReusablePages() >= 2 * MiLowReusablePages &&
                                 MmModifiedPageListHead.count <= MiHighModifiedPages)))
        return;
    MiBalanceForFault(page);
}

/*
 * The last resort before a frame is refused: every working set emptied (but for keep,
 * the page being faulted on) and every modified page written.
 */
void MiReclaimMemory(vaddr_t keep);
/* Writes up to max modified pages to the pagefile (oldest first); the number written. */
uint32_t MiWriteModifiedPages(uint32_t max);
