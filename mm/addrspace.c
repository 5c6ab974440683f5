/*
 * Address spaces. Each has its own page directory (four pages with PAE, named by its own
 * PDPT): the self-map's PDEs (0x300, or 0x600-0x603) point at the directory pages
 * themselves, the next PDE at its own hyperspace table, the user PDEs at its private page
 * tables, and every other system PDE is the same as in all the others. A system page
 * table, once made, is entered into every directory at once (MiInsertSystemPde), so no
 * address space ever lacks a piece of system space (a kernel stack, say) that another
 * one has.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/spinlock.h"
#include "lib/list.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/hyperspace.h"
#include "mm/init.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/syspte.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

#define TAG_VAD 0x20646156  /* 'Vad ' */
#define TAG_WRITE_WATCH 0x68635757  /* 'WWch' */
#define TAG_PDPT 0x74706450         /* 'Pdpt' */

static struct mm_address_space boot_address_space;
struct mm_address_space *MmSystemAddressSpace = &boot_address_space;
struct mm_statistics MmStatistics;
volatile uint8_t *MmSharedUserData;

struct list_entry MiAddressSpaces;
/*
 * Guards MiAddressSpaces and the system half of every directory on it, so that a system
 * PDE made anywhere reaches every address space: a spinlock, after the PFN lock.
 */
static struct lock_class address_space_list_lock_class = LOCK_CLASS_SPIN("address space list");
struct kspin_lock MiAddressSpaceListLock = KSPIN_LOCK_INIT(address_space_list_lock_class);
static pfn_t shared_user_data_pfn;

_Static_assert(HYPER_SPACE == PTE_BASE + DIRECTORY_PAGES * PDE_SPAN &&
                   HYPER_SPACE_END == HYPER_SPACE + PDE_SPAN,
               "the self-map (a PDE per directory page) and hyperspace (one PDE), side by side");

static unsigned pde_index(vaddr_t va)
{
    return va >> PDE_SHIFT;
}

void MiInitializeAddressSpaces(void)
{
    struct mm_address_space *system = MmSystemAddressSpace;

    KeGetCurrentPrcb()->current_space = system;
    system->active_processors = KeGetCurrentPrcb()->set_member;
    KeInitializeGuardedMutex(&system->working_set.lock, &MiProcessWorkingSetClass);
    system->directory = boot_page_directory;
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        system->directory_pfns[i] = paddr_to_pfn(MiKernelImagePhysical(boot_page_directory)) + i;
#if MM_PAE
    system->pdpt = boot_pdpt;
    system->cr3 = MiKernelImagePhysical(boot_pdpt);
#else
    system->cr3 = MiKernelImagePhysical(boot_page_directory);
#endif
    system->highest_user_address = 0;
    MiInitializeVadTable(&system->vads);
    list_init(&MiAddressSpaces);
    list_insert_tail(&MiAddressSpaces, &system->link);

    /* KUSER_SHARED_DATA: one page, the kernel's own reference keeps it for good. */
    shared_user_data_pfn = MiRemoveZeroPage(MI_USE_SHARED_USER_DATA);
    vaddr_t va = MiReserveSystemPtes(1);
    if (shared_user_data_pfn == PFN_INVALID || !va ||
        !NT_SUCCESS(MiMapRange(va, pfn_to_paddr(shared_user_data_pfn), PAGE_SIZE,
                               pte_make_kernel(0, true))))
        panic("no memory for KUSER_SHARED_DATA");
    MmSharedUserData = (volatile uint8_t *)va;
}

void MiInsertSystemPde(vaddr_t va, mmpte_t pde)
{
    unsigned index = pde_index(va);

    if (!MiAddressSpaces.next) {     /* early boot: the boot directory is the only one */
        MiWritePte(pde_of(va), pde);
        return;
    }
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);
    for (struct list_entry *e = MiAddressSpaces.next; e != &MiAddressSpaces; e = e->next)
        MiWriteTableEntry(&CONTAINING_RECORD(e, struct mm_address_space, link)->directory[index],
                          pde);
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);
    MmStatistics.system_pde_updates++;
}

void MmAdoptSystemAddressSpace(struct mm_address_space *storage)
{
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);

    *storage = *MmSystemAddressSpace;
    KeInitializeGuardedMutex(&storage->working_set.lock, &MiProcessWorkingSetClass);
    list_insert_tail(&MiAddressSpaces, &storage->link);
    list_remove(&MmSystemAddressSpace->link);
    if (MmCurrentAddressSpace() == MmSystemAddressSpace)
        KeGetCurrentPrcb()->current_space = storage;
    MmSystemAddressSpace = storage;
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);
}

void MiLoadAddressSpace(struct mm_address_space *space)
{
    struct kprcb *prcb = KeGetCurrentPrcb();
    struct mm_address_space *previous = prcb->current_space;

    KASSERT(KeGetCurrentIrql() >= DISPATCH_LEVEL);     /* no move to another processor */
    /*
     * Joined before CR3 names the space (a locked OR: the load cannot pass it): a PTE
     * writer that reads the mask without this processor's bit stored its entry before
     * this CR3 load, which then drops whatever the TLB held of the space. Left after
     * the load, so that no flush is missed while CR3 still names the old one.
     */
    __atomic_fetch_or(&space->active_processors, prcb->set_member, __ATOMIC_SEQ_CST);
    prcb->current_space = space;
    cpu_write_cr3(space->cr3);
    if (previous && previous != space)
        __atomic_fetch_and(&previous->active_processors, ~prcb->set_member, __ATOMIC_SEQ_CST);
    MmStatistics.cr3_loads++;
    prcb->statistics.cr3_loads++;
}

/*
 * The directory's pages, mapped side by side in system space (read-only under the check:
 * the writer stores through them); NULL when out of PTEs.
 */
static void *map_directory(const pfn_t pfns[DIRECTORY_PAGES])
{
    vaddr_t va = MiReserveSystemPtes(DIRECTORY_PAGES);

    for (unsigned i = 0; va && i < DIRECTORY_PAGES; i++) {
        mmpte_t pte_template = MiProtectTableView(pte_make_kernel(0, true), pfns[i]);
        if (!NT_SUCCESS(MiMapRange(va + i * PAGE_SIZE, pfn_to_paddr(pfns[i]), PAGE_SIZE,
                                   pte_template))) {
            MiUnmapRange(va, i * PAGE_SIZE);
            MiReleaseSystemPtes(va, DIRECTORY_PAGES);
            va = 0;
        }
    }
    return (void *)va;
}

static void unmap_directory(mmpte_t *directory)
{
    MiUnmapRange((vaddr_t)directory, DIRECTORY_PAGES * PAGE_SIZE);
    MiReleaseSystemPtes((vaddr_t)directory, DIRECTORY_PAGES);
}

#if MM_PAE
/*
 * The PDPT: four entries naming the directory pages, written once before the space is
 * first loaded and never changed after, so no CR3 reload is ever owed for a change to
 * them (the processor reads them only when CR3 is loaded, SDM vol. 3A, 4.4.1). It lies in
 * nonpaged pool, 32 bytes on a 32-byte boundary, whose frames are below 4 GB.
 */
static bool make_pdpt(struct mm_address_space *space)
{
    size_t bytes = PDPT_ENTRIES * PTE_SIZE;

    space->pdpt_block = ExAllocatePoolWithTag(NonPagedPool, 2 * bytes, TAG_PDPT);
    if (!space->pdpt_block)
        return false;
    space->pdpt = (void *)ALIGN_UP((vaddr_t)space->pdpt_block, (vaddr_t)bytes);
    for (unsigned i = 0; i < PDPT_ENTRIES; i++)
        MiWriteTableEntry(&space->pdpt[i], pdpte_make(space->directory_pfns[i]));
    /* CR3 holds 32 bits: nonpaged pool lies below 4 GB (MiMayUseHighMemory). */
    if (!MmGetPhysicalAddress((vaddr_t)space->pdpt, &space->cr3) || space->cr3 >> 32)
        panic("a PDPT in nonpaged pool is not mapped below 4 GB");
    return true;
}
#endif

void MmSetExecuteDisable(bool disable)
{
    struct mm_address_space *space = MmCurrentAddressSpace();
    MI_WORKING_SET_GUARD(&space->working_set);
    struct mi_tlb_batch batch;

    ptebits_t bit = disable ? arch_no_execute_pte_bit : 0;

    if (bit == space->no_execute_bit)
        return;     /* always so without NX: nothing to rewrite */
    space->no_execute_bit = bit;
    /* The pages it has already: each valid PTE without an execute protection follows. */
    MiInitializeTlbBatch(&batch);
    KIRQL old = MiAcquirePfnLock();
    for (vaddr_t table = 0; table <= space->highest_user_address; table += PDE_SPAN) {
        if (!pte_is_valid(*pde_of(table)))
            continue;
        for (mmpte_t *pte = pte_of(table); pte != pte_of(table + PDE_SPAN); pte++) {
            if (!pte_is_valid(*pte) || MiProtectionIsExecutable(MiValidPteProtection(*pte)))
                continue;
            ptebits_t value = (pte->value & ~PTE_NO_EXECUTE) | space->no_execute_bit;
            /* A dirty bit set since the read is not lost: the frame keeps it. */
            if (value != pte->value &&
                MiWritePteBatched(pte, (mmpte_t){value}, &batch).value & PTE_DIRTY)
                MiGetPfnEntry(pte_pfn(*pte))->flags |= MI_PFN_MODIFIED;
        }
    }
    MiReleasePfnLock(old);
    MiFlushTlbBatch(&batch);
}

ntstatus_t MmMapSharedUserData(void)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    vaddr_t base = MM_SHARED_USER_DATA;
    ntstatus_t status = MiReserveUserRangeLocked(&base, PAGE_SIZE, MI_VAD_PRIVATE,
                                                 MI_VAD_FLAG_FIXED, PAGE_READONLY);

    if (!NT_SUCCESS(status))
        return status;
    MiAddPageReference(shared_user_data_pfn);
    status = MiMapUserPageLocked(MM_SHARED_USER_DATA, shared_user_data_pfn, PAGE_READONLY);
    if (!NT_SUCCESS(status))
        MiReleasePageReference(shared_user_data_pfn);
    return status;
}

ntstatus_t MmCreateAddressSpace(struct mm_address_space *space, bool large_address_aware)
{
    ntstatus_t status = STATUS_INSUFFICIENT_RESOURCES;

    memset(space, 0, sizeof(*space));
    MiInitializeVadTable(&space->vads);
    if (!MiInitializeWorkingSet(&space->working_set))
        return STATUS_INSUFFICIENT_RESOURCES;
    space->highest_user_address =
        large_address_aware ? MmHighestUserAddress : MIN(MmHighestUserAddress,
                                                         (vaddr_t)MM_LEGACY_USER_LIMIT);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        space->directory_pfns[i] = MiRemoveZeroPage(MI_USE_PAGE_DIRECTORY);
    space->hyperspace_pfn = MiRemoveZeroPage(MI_USE_USER_PAGE_TABLE);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        if (space->directory_pfns[i] == PFN_INVALID)
            goto fail;
    if (space->hyperspace_pfn == PFN_INVALID)
        goto fail;
    space->directory = map_directory(space->directory_pfns);
    if (!space->directory)
        goto fail;
#if MM_PAE
    if (!make_pdpt(space)) {
        unmap_directory(space->directory);
        goto fail;
    }
#else
    space->cr3 = pfn_to_paddr(space->directory_pfns[0]);
#endif

    /* Copy and link in one step, so no system PDE can be made in between and missed. */
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);
    unsigned first = pde_index(MmSystemRangeStart), self = PTE_SELF_MAP_INDEX;
    unsigned hyper = pde_index(HYPER_SPACE), after = pde_index(HYPER_SPACE_END);
    const mmpte_t *system_pdes = MmSystemAddressSpace->directory;
    MiCopyTableEntries(&space->directory[first], &system_pdes[first], self - first);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        MiWriteTableEntry(&space->directory[self + i], MiMakeSelfMapPde(space->directory_pfns[i]));
    MiWriteTableEntry(&space->directory[hyper], pde_make_table(space->hyperspace_pfn, false));
    MiCopyTableEntries(&space->directory[after], &system_pdes[after], PDE_COUNT - after);
    list_insert_tail(&MiAddressSpaces, &space->link);
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);

    return STATUS_SUCCESS;

fail:
    MiDeleteWorkingSet(&space->working_set);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        if (space->directory_pfns[i] != PFN_INVALID)
            MiInsertPageInFreeList(space->directory_pfns[i]);
    if (space->hyperspace_pfn != PFN_INVALID)
        MiInsertPageInFreeList(space->hyperspace_pfn);
    return status;
}

/* Releases every frame a user page table maps, then the table itself. */
static void free_user_page_table(pfn_t table_pfn)
{
    KIRQL old = MiAcquirePfnLock();
    mmpte_t *table = MiMapPageInHyperSpace(table_pfn);

    for (unsigned i = 0; i < PTES_PER_TABLE; i += 4) {
        /* Tables are mostly empty: four entries are looked at in one test. */
        if ((table[i].value | table[i + 1].value | table[i + 2].value | table[i + 3].value) == 0)
            continue;
        for (unsigned j = i; j < i + 4; j++)
            if (table[j].value != 0)
                MiDeletePteContents(table[j]);
    }
    MiUnmapPageInHyperSpace(table);
    MiReleasePfnLock(old);
    MiReleasePageReference(table_pfn);
}

void MmDeleteAddressSpace(struct mm_address_space *space)
{
    MI_WORKING_SET_GUARD(&space->working_set);
    KASSERT(space != MmCurrentAddressSpace() && space != MmSystemAddressSpace);
    KIRQL old = KeAcquireSpinLock(&MiAddressSpaceListLock);
    list_remove(&space->link);
    KeReleaseSpinLock(&MiAddressSpaceListLock, old);
    /* A trimmer that had it loaded switched back before it let the list lock go. */
    KASSERT(space->active_processors == 0);

    for (unsigned i = 0; i < pde_index(MmSystemRangeStart); i++) {
        mmpte_t pde = space->directory[i];
        if (pte_is_valid(pde))
            free_user_page_table(pte_pfn(pde));
    }
    for (struct mmvad *vad = MiFirstVad(&space->vads); vad;) {
        struct mmvad *next = MiNextVad(vad);
        MiDeleteVad(space, vad);
        vad = next;
    }
    MiReturnCommitment(&space->commit_charge, space->commit_charge);
    MiDeleteWorkingSet(&space->working_set);
    unmap_directory(space->directory);
#if MM_PAE
    ExFreePoolWithTag(space->pdpt_block, TAG_PDPT);
#endif
    MiInsertPageInFreeList(space->hyperspace_pfn);
    for (unsigned i = 0; i < DIRECTORY_PAGES; i++)
        MiInsertPageInFreeList(space->directory_pfns[i]);
}

void MiDeleteVad(struct mm_address_space *space, struct mmvad *vad)
{
    struct mm_section *section = vad->owner;

    MiRemoveVad(&space->vads, vad);
    if (vad->write_watch) {
        ExFreePoolWithTag(vad->write_watch, TAG_WRITE_WATCH);
        space->write_watch_vads--;
    }
    ExFreePoolWithTag(vad, TAG_VAD);
    if (section)
        object_dereference(&section->header);
}

bool MiReleaseVadRange(struct mm_address_space *space, struct mmvad *vad, vaddr_t start,
                       vaddr_t end)
{
    KASSERT(vad->owner == NULL && start >= vad->start && end - 1 <= vad->end);
    if (start == vad->start && end - 1 == vad->end) {
        MiDeleteVad(space, vad);
        return true;
    }
    if (start == vad->start) {
        vad->start = end;       /* shrinking in place keeps the tree's order */
        return true;
    }
    if (end - 1 == vad->end) {
        vad->end = start - 1;
        return true;
    }
    struct mmvad *upper = ExAllocatePoolWithTag(NonPagedPool, sizeof(*upper), TAG_VAD);
    if (!upper)
        return false;
    *upper = (struct mmvad){
        .start = end,
        .end = vad->end,
        .type = vad->type,
        .flags = vad->flags,
        .protection = vad->protection,
    };
    /* A write-watch reservation's two parts each keep a copy of its bits. */
    if (vad->write_watch) {
        uint32_t bytes = MiWriteWatchBytes(vad);
        upper->write_watch = ExAllocatePoolWithTag(NonPagedPool, bytes, TAG_WRITE_WATCH);
        if (!upper->write_watch) {
            ExFreePoolWithTag(upper, TAG_VAD);
            return false;
        }
        memcpy(upper->write_watch, vad->write_watch, bytes);
        upper->write_watch_base = vad->write_watch_base;
        space->write_watch_vads++;
    }
    vad->end = start - 1;
    MiInsertVad(&space->vads, upper);
    return true;
}

uint32_t MiWriteWatchBytes(const struct mmvad *vad)
{
    uint32_t pages = (vad->end + 1 - vad->write_watch_base) / PAGE_SIZE;

    return ALIGN_UP(pages, 32u) / 8;
}

bool MiStartWriteWatch(struct mm_address_space *space, struct mmvad *vad)
{
    vad->write_watch_base = vad->start;
    vad->write_watch = ExAllocatePoolWithTag(NonPagedPool, MiWriteWatchBytes(vad),
                                             TAG_WRITE_WATCH);
    if (!vad->write_watch)
        return false;
    memset(vad->write_watch, 0, MiWriteWatchBytes(vad));
    space->write_watch_vads++;
    return true;
}

ntstatus_t MmReserveUserRange(vaddr_t *base, uint32_t size, uint8_t type, uint16_t flags,
                              uint32_t protection)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    return MiReserveUserRangeLocked(base, size, type, flags, protection);
}

ntstatus_t MiReserveUserRangeLocked(vaddr_t *base, uint32_t size, uint8_t type,
                                    uint16_t flags, uint32_t protection)
{
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t start = *base;

    MiAssertWorkingSetLockHeld(&space->working_set);
    size = ALIGN_UP(size, (uint32_t)PAGE_SIZE);
    if (size == 0 || start % PAGE_SIZE)
        return STATUS_INVALID_PARAMETER;
    if (start == 0) {
        if (!MiFindEmptyAddressRange(&space->vads, size, MM_ALLOCATION_GRANULARITY,
                                     MM_LOWEST_USER_ADDRESS, space->highest_user_address,
                                     false, &start))
            return STATUS_NO_MEMORY;
    } else if (start < MM_LOWEST_USER_ADDRESS || start + size - 1 < start ||
               start + size - 1 > space->highest_user_address) {
        return STATUS_CONFLICTING_ADDRESSES;
    } else if (MiCheckForConflictingVad(&space->vads, start, start + size - 1)) {
        return STATUS_CONFLICTING_ADDRESSES;
    }

    struct mmvad *vad = ExAllocatePoolWithTag(NonPagedPool, sizeof(*vad), TAG_VAD);
    if (!vad)
        return STATUS_INSUFFICIENT_RESOURCES;
    memset(vad, 0, sizeof(*vad));
    vad->start = start;
    vad->end = start + size - 1;
    vad->type = type;
    vad->flags = flags;
    vad->protection = protection;
    MiInsertVad(&space->vads, vad);
    *base = start;
    return STATUS_SUCCESS;
}

/* The PTEs of [va, va + size) inside one VAD of the current space, tables created. */
static ntstatus_t check_range_in_one_vad(vaddr_t va, uint32_t size)
{
    struct mmvad *vad = MiLocateVad(&MmCurrentAddressSpace()->vads, va);

    if (!vad || size == 0 || va + size - 1 < va || va + size - 1 > vad->end)
        return STATUS_CONFLICTING_ADDRESSES;
    for (vaddr_t page = va; page - va < size; page += PAGE_SIZE)
        if (!MiGetPte(page, true))
            return STATUS_INSUFFICIENT_RESOURCES;
    return STATUS_SUCCESS;
}

ntstatus_t MmCommitUserRange(vaddr_t va, uint32_t size, uint32_t protection)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    return MiCommitUserRangeLocked(va, size, protection);
}

ntstatus_t MiCommitUserRangeLocked(vaddr_t va, uint32_t size, uint32_t protection)
{
    MiAssertWorkingSetLockHeld(&MmCurrentAddressSpace()->working_set);
    KASSERT(va % PAGE_SIZE == 0);
    size = ALIGN_UP(size, (uint32_t)PAGE_SIZE);
    ntstatus_t status = check_range_in_one_vad(va, size);
    if (!NT_SUCCESS(status))
        return status;
    uint32_t pages = 0;
    for (vaddr_t page = va; page - va < size; page += PAGE_SIZE)
        pages += pte_of(page)->value == 0;
    if (!MiChargeCommitment(&MmCurrentAddressSpace()->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    for (vaddr_t page = va; page - va < size; page += PAGE_SIZE)
        if (pte_of(page)->value == 0)
            MiWriteUserPte(page, MiMakeDemandZeroPte(protection));
    return STATUS_SUCCESS;
}

ntstatus_t MmMapUserPage(vaddr_t va, pfn_t pfn, uint32_t protection)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    return MiMapUserPageLocked(va, pfn, protection);
}

ntstatus_t MiMapUserPageLocked(vaddr_t va, pfn_t pfn, uint32_t protection)
{
    MiAssertWorkingSetLockHeld(&MmCurrentAddressSpace()->working_set);
    ntstatus_t status = check_range_in_one_vad(va, PAGE_SIZE);

    if (!NT_SUCCESS(status))
        return status;
    if (pte_of(va)->value != 0)
        return STATUS_CONFLICTING_ADDRESSES;
    if (protection == PAGE_NOACCESS)
        MiWriteUserPte(va, MiMakeResidentPte(pfn, protection));
    else
        MiWriteUserPte(va, MiMakeValidUserPte(pfn, protection));
    return STATUS_SUCCESS;
}

bool MmIsValidProtection(uint32_t protection)
{
    uint32_t base = protection & MI_PROTECTION_BASE_MASK;
    uint32_t cache = protection & MI_PROTECTION_CACHE_MASK;

    if (protection & ~(MI_PROTECTION_BASE_MASK | PAGE_GUARD | MI_PROTECTION_CACHE_MASK) ||
        base == 0 || (base & (base - 1)) != 0)
        return false;
    /*
     * Windows' refusals among the modifiers: no guard and no cache attribute on a page
     * that allows no access, no guard together with a cache attribute, and one cache
     * attribute at most.
     */
    if (base == PAGE_NOACCESS && protection & (PAGE_GUARD | MI_PROTECTION_CACHE_MASK))
        return false;
    return !(protection & PAGE_GUARD && cache) && cache != MI_PROTECTION_CACHE_MASK;
}
