/*
 * Page faults, after arch/ has decoded them. Only user space has anything to resolve:
 *   - a transition PTE takes its page back from the standby or modified list (no I/O);
 *   - an in-pagefile PTE gets a frame and its contents back from the pagefile: the
 *     frame is marked read-in-progress, the PTE becomes a transition PTE naming it, and
 *     the faulting thread reads with no lock held (its working set's let go too), so
 *     that everything else runs meanwhile; a second fault on the page waits for the
 *     same read. Then the fault is resolved again, now a transition fault. A failed
 *     read is STATUS_IN_PAGE_ERROR, for each thread that waited for it alone;
 *   - a demand-zero PTE gets a zeroed frame;
 *   - a guard page (PAGE_GUARD) loses its guard; on a thread's stack the guard moves one
 *     page down, so the stack grows until its reservation is used up
 *     (STATUS_STACK_OVERFLOW); elsewhere the access gets STATUS_GUARD_PAGE_VIOLATION,
 *     once, and the retry goes through;
 *   - a page of a view whose PTE is still zero (or holds only the page's protection)
 *     maps the section's frame;
 *   - a write to a copy-on-write page takes a private copy;
 *   - an instruction fetch from a page without an execute protection, in a space with
 *     no-execute on (MmSetExecuteDisable; the CPU reports fetches only with NX on), is
 *     an access violation, as is anything else.
 * The same rules hold for kernel code touching user memory on a process's behalf.
 */
#include "arch/irql.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pte_format.h"
#include "mm/section.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

/*
 * Whether access is one protection refuses: none allows no-access; a write needs a
 * writable protection, an instruction fetch an executable one where no-execute is on.
 */
static inline bool access_refused(const struct mm_address_space *space, uint32_t protection,
                                  enum mm_access access)
{
    return (protection & MI_PROTECTION_BASE_MASK) == PAGE_NOACCESS ||
           (access == MM_ACCESS_WRITE && !MiProtectionIsWritable(protection)) ||
           (access == MM_ACCESS_EXECUTE && space->no_execute_bit &&
            !MiProtectionIsExecutable(protection));
}

/* Moves a stack's guard page below the one just touched, if the reservation allows. */
static ntstatus_t extend_stack(struct mm_address_space *space, struct mmvad *vad,
                               vaddr_t guard)
{
    /* The lowest page of the reservation is never committed: nothing may follow it. */
    if (guard - PAGE_SIZE < vad->start + PAGE_SIZE)
        return STATUS_STACK_OVERFLOW;
    if (!MiGetPteLocked(guard - PAGE_SIZE) ||
        !MiChargeCommitment(&space->commit_charge, 1))
        return STATUS_STACK_OVERFLOW;
    MiWriteUserPte(guard - PAGE_SIZE, MiMakeDemandZeroPte(vad->protection | PAGE_GUARD));
    MmStatistics.stack_extensions++;
    return STATUS_SUCCESS;
}

/* The guard of the page at va is gone: what the faulting access gets for it. */
static ntstatus_t guard_page_touched(struct mm_address_space *space, vaddr_t va)
{
    struct mmvad *vad = MiLocateVad(&space->vads, va);

    KASSERT(vad != NULL);
    if (vad->flags & MI_VAD_FLAG_STACK)
        return extend_stack(space, vad, va);
    return STATUS_GUARD_PAGE_VIOLATION;
}

/* With the PFN lock held, as every resolution below. */
static ntstatus_t resolve_demand_zero(vaddr_t va, uint32_t protection)
{
    pfn_t pfn = MiRemoveZeroPageLocked(MI_USE_PROCESS_PRIVATE);

    if (pfn == PFN_INVALID)
        return STATUS_NO_MEMORY;
    MiWriteUserPte(va, MiMakeValidUserPte(pfn, protection));
    MmStatistics.demand_zero_faults++;
    return STATUS_SUCCESS;
}

/*
 * The pages after va in its page table whose slots follow its own join its read, each
 * PTE a transition PTE naming its frame: they come back as standby pages, so that a
 * touch of one later is a transition fault, without I/O.
 */
static void read_ahead(vaddr_t va, struct mi_in_page_wait *wait)
{
    for (vaddr_t next = va + PAGE_SIZE; next % PDE_SPAN != 0; next += PAGE_SIZE) {
        mmpte_t pte = *pte_of(next);
        pfn_t pfn;
        if (!MiReadAheadLocked(wait, pte, MI_USE_PROCESS_PRIVATE, &pfn))
            break;
        MiWriteUserPte(next, MiMakeTransitionPte(pfn, MiPteProtection(pte)));
        MiSetPteOwner(pfn, pte_of(next));
    }
}

/*
 * A page that left memory (transition or in-pagefile PTE) comes back: valid, or
 * resident without access when its protection forbids access (the guard and no-access
 * rules then apply as for any resident page). STATUS_PENDING when it must be read, or is
 * being read, first (*wait); until the read ends the PTE names the frame being read.
 */
static ntstatus_t bring_page_back(vaddr_t va, mmpte_t pte, struct mi_in_page_wait *wait)
{
    uint32_t protection = MiPteProtection(pte);
    pfn_t pfn;
    ntstatus_t status = MiBringPageBack(pte, MI_USE_PROCESS_PRIVATE, &pfn, wait);

    if (status == STATUS_PENDING && wait->reader) {
        MiWriteUserPte(va, MiMakeTransitionPte(pfn, protection));
        MiSetPteOwner(pfn, pte_of(va));
        read_ahead(va, wait);
    }
    if (status == STATUS_PENDING || !NT_SUCCESS(status))
        return status;
    bool accessible = (protection & MI_PROTECTION_BASE_MASK) != PAGE_NOACCESS &&
                      !(protection & PAGE_GUARD);
    MiWriteUserPte(va, accessible ? MiMakeValidUserPte(pfn, protection)
                                  : MiMakeResidentPte(pfn, protection));
    return STATUS_SUCCESS;
}

/*
 * A PTE with nothing in it, or only a view page's protection: a section page not mapped
 * here yet, or no memory at all.
 */
static ntstatus_t view_page_fault(struct mm_address_space *space, vaddr_t page,
                                  const mmpte_t *pte, enum mm_access access,
                                  struct mi_in_page_wait *wait)
{
    struct mmvad *vad = MiLocateVad(&space->vads, page);

    if (!vad || !vad->owner || !MiIsViewPageCommitted(vad, page))
        return STATUS_ACCESS_VIOLATION;     /* reserved or free */
    uint32_t protection = pte ? MiPteProtection(*pte) : 0;
    if (!protection)
        protection = MiSectionPageProtection(vad, page);
    if (protection & PAGE_GUARD) {
        /* The guard goes, once, whatever the access; it is refused this time. */
        if (!MiGetPteLocked(page))
            return STATUS_NO_MEMORY;
        MiWriteUserPte(page, MiMakeViewPte(vad, page, protection & ~PAGE_GUARD));
        return STATUS_GUARD_PAGE_VIOLATION;
    }
    if (access_refused(space, protection, access))
        return STATUS_ACCESS_VIOLATION;
    if (!MiGetPteLocked(page))
        return STATUS_NO_MEMORY;
    return MiSectionFault(vad, page, protection, wait);
}

/*
 * A valid PTE faulted: a write to a copy-on-write page, or a real violation -- or the
 * page was made valid by another thread of the process between this one's fault and its
 * turn at the working-set lock. An access the PTE now allows is retried (the fault
 * itself flushed the address from the TLB, SDM vol. 3A, 4.10.4.1).
 */
static ntstatus_t protection_fault(mmpte_t pte, vaddr_t page, enum mm_access access)
{
    uint32_t protection = MiPteProtection(pte);

    if (access == MM_ACCESS_EXECUTE)
        return pte_is_no_execute(pte) ? STATUS_ACCESS_VIOLATION : STATUS_SUCCESS;
    if (access != MM_ACCESS_WRITE || pte_is_writable(pte))
        return STATUS_SUCCESS;
    if (MiIsCopyOnWriteProtection(protection))
        return MiCopyOnWrite(page, protection);
    return STATUS_ACCESS_VIOLATION;
}

/*
 * A fault on user space: what it takes, or why it cannot be resolved; STATUS_PENDING
 * when a read must end first (*wait).
 */
static ntstatus_t resolve_user_fault(struct mm_address_space *space, vaddr_t address,
                                     vaddr_t page, enum mm_access access,
                                     struct mi_in_page_wait *wait)
{
    mmpte_t *pte = MiGetPte(address, false);
    if (!pte || pte->value == 0 || MiIsViewPagePte(*pte))
        return view_page_fault(space, page, pte, access, wait);
    if (pte_is_valid(*pte))
        return protection_fault(*pte, page, access);
    if (MiIsTransitionPte(*pte) || MiIsPagefilePte(*pte)) {
        ntstatus_t status = bring_page_back(page, *pte, wait);
        if (status == STATUS_PENDING || !NT_SUCCESS(status) || pte_is_valid(*pte))
            return status;      /* valid: the access is retried, and checked, again */
    }

    uint32_t protection = MiPteProtection(*pte);
    if (protection & PAGE_GUARD) {
        protection &= ~PAGE_GUARD;
        if (MiIsResidentPte(*pte))
            MiWriteUserPte(page, MiMakeValidUserPte(pte_pfn(*pte), protection));
        else
            MiWriteUserPte(page, MiMakeDemandZeroPte(protection));
        ntstatus_t status = guard_page_touched(space, page);
        if (!NT_SUCCESS(status) || MiIsResidentPte(*pte) || pte_is_valid(*pte))
            return status;
    }
    if (MiIsResidentPte(*pte) || access_refused(space, protection, access))
        return STATUS_ACCESS_VIOLATION;
    return resolve_demand_zero(page, protection);
}

/*
 * A fault that finds no frame (for the page, a copy, or a page table) is not the
 * process's doing: as NT waits for free pages and resolves the fault again, it is
 * tried once more, after memory is reclaimed the hard way (every working set trimmed,
 * modified pages written) if reusable pages are short. Only a fault that still finds
 * none fails, with STATUS_NO_MEMORY. Each attempt leaves the PTE as it found it or
 * resolved, so a retry starts from a state the rules above know.
 *
 * A fault that must wait for a read does so with no spinlock held and, when it took the
 * space's working-set lock itself (release_working_set), without that either, as NT
 * does: other threads of the process fault and change their memory meanwhile. Then it
 * looks at the PTE again, whatever happened to it. The working-set lock is held on entry
 * and on return.
 */
static inline __attribute__((always_inline)) ntstatus_t
user_fault(struct mm_address_space *space, vaddr_t address, enum mm_access access,
           bool release_working_set)
{
    enum { ATTEMPTS = 2 };
    vaddr_t page = ALIGN_DOWN(address, (vaddr_t)PAGE_SIZE);
    unsigned attempt = 0;

    for (;;) {
        struct mi_in_page_wait wait;
        /* First, as it may trim this very space: no PTE pointer may be held across it. */
        MiMakeRoomForFault(page);
        /* The PFN lock keeps a transition PTE's frame from being reused meanwhile. */
        KIRQL old = MiAcquirePfnLock();
        ntstatus_t status = resolve_user_fault(space, address, page, access, &wait);
        MiReleasePfnLock(old);
        if (status == STATUS_PENDING) {
            if (release_working_set)
                MiUnlockWorkingSet(&space->working_set);
            status = MiFinishPageWait(&wait);
            if (release_working_set)
                MiLockWorkingSet(&space->working_set);
            if (!NT_SUCCESS(status))
                return status;
            continue;
        }
        if (status != STATUS_NO_MEMORY || ++attempt == ATTEMPTS)
            return status;
        if (MiReusablePages() < MiLowReusablePages)
            MiReclaimMemory(page);
        MmStatistics.fault_retries++;
    }
}

static inline __attribute__((always_inline)) ntstatus_t
access_fault(vaddr_t address, enum mm_access access, bool user_mode)
{
    struct mm_address_space *space = MmCurrentAddressSpace();

    if (MmIsPagedPoolAddress(address) && !user_mode)
        return MiPagedPoolFault(ALIGN_DOWN(address, (vaddr_t)PAGE_SIZE));
    if (address > space->highest_user_address || address < MM_LOWEST_USER_ADDRESS)
        return STATUS_ACCESS_VIOLATION;
    MI_WORKING_SET_GUARD(&space->working_set);
    return user_fault(space, address, access, true);
}

ntstatus_t MiAccessFaultLocked(vaddr_t address, enum mm_access access)
{
    struct mm_address_space *space = MmCurrentAddressSpace();

    MiAssertWorkingSetLockHeld(&space->working_set);
    if (address > space->highest_user_address || address < MM_LOWEST_USER_ADDRESS)
        return STATUS_ACCESS_VIOLATION;
    return user_fault(space, address, access, false);
}

ntstatus_t MmAccessFault(vaddr_t address, enum mm_access access, bool user_mode)
{
    return access_fault(address, access, user_mode);
}

/*
 * arch/trap.c's page-fault handler: the CPU's facts in, MmAccessFault's answer out (its
 * body inlined, as this is every fault's path). A paged pool page may have to be read
 * back from disk, which waits for an interrupt, so kernel code that touches paged pool
 * with interrupts off is a bug, stopped here.
 */
__attribute__((regparm(1))) ntstatus_t MmTrapPageFault(const struct trap_page_fault *fault)
{
    KIRQL irql = KeGetCurrentIrql();

    if (!fault->user && MmIsPagedPoolAddress(fault->address) && !fault->interrupts_enabled)
        panic("paged pool at 0x%08x touched with interrupts off (EIP 0x%08x); code that "
              "runs with interrupts off must use nonpaged pool", fault->address, fault->eip);
    /*
     * Nor at DISPATCH_LEVEL or above, where no thread may wait: NT's bug check 0xA for
     * any fault on pageable memory (user space, paged pool) there, resolvable or not.
     */
    if (irql >= DISPATCH_LEVEL &&
        (fault->address < MmSystemRangeStart || MmIsPagedPoolAddress(fault->address)))
        panic("IRQL_NOT_LESS_OR_EQUAL: %s of pageable address 0x%08x at IRQL %u (EIP "
              "0x%08x); code at DISPATCH_LEVEL or above touches only nonpaged memory",
              fault->access == TRAP_ACCESS_WRITE ? "write" : "read", fault->address, irql,
              fault->eip);
    return access_fault(fault->address, (enum mm_access)fault->access, fault->user);
}
