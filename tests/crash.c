/*
 * Deliberate crashes, chosen with crash=WHAT on the command line, so that the host
 * tests can check what the kernel reports when something goes badly wrong: the report
 * must name the exception and the address, and the machine must stop with the failure
 * code, never triple-fault.
 */
#include "arch/cpu.h"
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "boot/boot_info.h"
#include "arch/spinlock.h"
#include "kernel/boot_command.h"
#include "lib/console.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/workset.h"
#include "tests/ktest.h"

/*
 * Recurses until the boot stack runs into its guard page. The depth test can never end
 * it in practice; it only tells the compiler this is not an endless loop by mistake.
 */
static unsigned recurse(unsigned depth)
{
    volatile char frame[256];

    frame[0] = (char)depth;
    if (depth == UINT32_MAX)
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

/* Two locks taken in both orders, with the checker on: it must stop the machine. */
static void crash_lock_order_inversion(void)
{
    static struct lock_class first_class = LOCK_CLASS_SPIN("crash lock 1");
    static struct lock_class second_class = LOCK_CLASS_SPIN("crash lock 2");
    static struct kspin_lock first = KSPIN_LOCK_INIT(first_class);
    static struct kspin_lock second = KSPIN_LOCK_INIT(second_class);

    lockcheck_enable();
    KIRQL old = KeAcquireSpinLock(&first);
    KIRQL inner = KeAcquireSpinLock(&second);
    KeReleaseSpinLock(&second, inner);
    KeReleaseSpinLock(&first, old);
    old = KeAcquireSpinLock(&second);
    inner = KeAcquireSpinLock(&first);
    KeReleaseSpinLock(&first, inner);
    KeReleaseSpinLock(&second, old);
}

/* The PFN lock is taken once (NT's rule): a second acquisition by its holder stops the machine. */
static void crash_pfn_lock_twice(void)
{
    KIRQL old = MiAcquirePfnLock();

    MiAcquirePfnLock();
    MiReleasePfnLock(old);
}

/* A ...Locked PFN function called without the lock, with the checker on: it stops the machine. */
static void crash_pfn_lock_not_held(void)
{
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);

    lockcheck_enable();
    MiAddPageReferenceLocked(pfn);
}

/* A working-set lock is taken once too (NT's pushlock): its holder taking it again stops. */
static void crash_working_set_lock_twice(void)
{
    MiLockWorkingSet(&MiSystemWorkingSet);
    MiLockWorkingSet(&MiSystemWorkingSet);
}

/* A ...Locked working-set function called without the lock, with the checker on. */
static void crash_working_set_lock_not_held(void)
{
    lockcheck_enable();
    MiTrimWorkingSetLocked(0, false);
}

BOOT_COMMAND(crash_command, "crash", ktest_crash);

NORETURN void ktest_crash(const char *what, size_t length)
{
    kprintf("crash: causing \"%.*s\" on purpose\n", (int)length, what);
    if (length == 10 && strncasecmp(what, "page-fault", 10) == 0) {
        volatile uintptr_t near_null = 0x10;  /* volatile: the compiler must not see it */
        *(volatile uint32_t *)near_null = 1;  /* a null-pointer write: nothing is there */
    } else if (length == 14 && strncasecmp(what, "stack-overflow", 14) == 0) {
        recurse(0);
    } else if (length == 12 && strncasecmp(what, "divide-error", 12) == 0) {
        unsigned dividend = 1, divisor = 0;
        /* In assembly: the compiler turns 1 / x into a comparison, which never traps. */
        __asm__ volatile("xorl %%edx, %%edx; divl %1" : "+a"(dividend) : "r"(divisor) : "edx");
    } else if (length == 9 && strncasecmp(what, "pte-store", 9) == 0) {
        /*
         * A PTE stored past the writer, the const of mmpte_t cast away: with ptecheck
         * the self-map is read-only, so this faults and the stop report names the EIP.
         */
        volatile uintptr_t pte = (uintptr_t)pte_of(KERNEL_VIRT_BASE);
        *(volatile uint32_t *)pte = 0;
    } else if (length == 15 && strncasecmp(what, "directory-store", 15) == 0) {
        /* The same through the current directory's mapping in system space. */
        volatile uintptr_t pde = (uintptr_t)&MmCurrentAddressSpace()->directory[0];
        *(volatile uint32_t *)pde = 0;
    } else if (length == 5 && strncasecmp(what, "panic", 5) == 0) {
        panic("deliberate panic from the command line");
    } else if (length == 25 && strncasecmp(what, "paged-pool-interrupts-off", 25) == 0) {
        /* Breaks the paged pool's rule: the block, trimmed, faults with interrupts off. */
        volatile uint32_t *paged = ExAllocatePoolWithTag(PagedPool, 16, 0x68737243);
        MiTrimSystemWorkingSet(0, false);
        cpu_disable_interrupts();
        *paged = 1;
    } else if (length == 22 && strncasecmp(what, "paged-pool-at-dispatch", 22) == 0) {
        /* NT's IRQL_NOT_LESS_OR_EQUAL: pageable memory touched where no thread may wait. */
        volatile uint32_t *paged = ExAllocatePoolWithTag(PagedPool, 16, 0x68737243);
        MiTrimSystemWorkingSet(0, false);
        KeRaiseIrql(DISPATCH_LEVEL);
        *paged = 1;
    } else if (length == 20 && strncasecmp(what, "lock-order-inversion", 20) == 0) {
        crash_lock_order_inversion();
    } else if (length == 14 && strncasecmp(what, "pfn-lock-twice", 14) == 0) {
        crash_pfn_lock_twice();
    } else if (length == 17 && strncasecmp(what, "pfn-lock-not-held", 17) == 0) {
        crash_pfn_lock_not_held();
    } else if (length == 22 && strncasecmp(what, "working-set-lock-twice", 22) == 0) {
        crash_working_set_lock_twice();
    } else if (length == 25 && strncasecmp(what, "working-set-lock-not-held", 25) == 0) {
        crash_working_set_lock_not_held();
    }
    panic("crash=%.*s: unknown; use page-fault, stack-overflow, divide-error, pte-store, "
          "directory-store, panic, paged-pool-interrupts-off, paged-pool-at-dispatch, "
          "lock-order-inversion, pfn-lock-twice, pfn-lock-not-held, working-set-lock-twice "
          "or working-set-lock-not-held", (int)length, what);
}
