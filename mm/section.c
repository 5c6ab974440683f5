/*
 * Sections: memory that several address spaces share, mapped into each as views.
 *
 * A section holds one prototype PTE per page (formats in mm/pte_format.h): zero while the page
 * has never been touched (demand zero), valid while some view maps its frame, transition
 * while the frame sits on the standby or modified list, in-pagefile once it was written
 * out and its frame reused. A view is a VAD of type MI_VAD_MAPPED whose owner is the
 * section; inside it a PTE of zero means "committed: ask the prototype", so mapping a
 * view writes no PTE at all. A touch maps the shared frame (bringing it back first if
 * need be), one reference per mapping; when the last mapping goes, the frame goes into
 * transition and the prototype says so.
 *
 * A PAGE_WRITECOPY view maps the shared frame read-only; the first write gives the
 * process a private copy, and that page leaves the section for good in this view.
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "lib/string.h"
#include "mm/addrspace.h"
#include "mm/hyperspace.h"
#include "mm/mm.h"
#include "mm/pagefile.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/pte.h"
#include "mm/pte_format.h"
#include "mm/section.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

#define TAG_SECTION     0x74636553  /* 'Sect' */
#define TAG_PROTOTYPES  0x746f7250  /* 'Prot' */
#define SECTION_MAX_BYTES 0x40000000 /* 1 GB: more than any user space can map at once */

static uint32_t section_commit_charge;  /* what all sections hold, for the commit total */

static void section_destroy(struct object_header *object)
{
    struct mm_section *section = (struct mm_section *)object;

    /* Every view is gone (each held a reference), so no prototype is valid. */
    KIRQL old = MiAcquirePfnLock();
    for (uint32_t i = 0; i < section->page_count; i++) {
        KASSERT(!pte_is_valid(section->prototypes[i]));
        MiDeletePteContents(section->prototypes[i]);
    }
    MiReleasePfnLock(old);
    MiReturnCommitment(&section_commit_charge, section->committed_pages);
    if (section->cache_slot)
        *section->cache_slot = NULL;
    if (section->page_protection)
        ExFreePoolWithTag(section->page_protection, TAG_PROTOTYPES);
    ExFreePoolWithTag(section->prototypes, TAG_PROTOTYPES);
    ExFreePoolWithTag(section, TAG_SECTION);
}

uint32_t MiSectionPageProtection(const struct mmvad *vad, vaddr_t va)
{
    const struct mm_section *section = vad->owner;
    uint32_t index = vad->offset + (va - vad->start) / PAGE_SIZE;

    return section->page_protection ? section->page_protection[index] : vad->protection;
}

/*
 * An empty section object of pages pages, prototypes all zero (demand zero) and charged
 * to the commit limit, or with reserve all uncommitted and charged nothing yet;
 * page_protection too for an image section.
 */
ntstatus_t MiAllocateSection(uint32_t pages, uint32_t protection, bool image, bool reserve,
                             struct mm_section **result)
{
    struct mm_section *section = ExAllocatePoolWithTag(NonPagedPool, sizeof(*section),
                                                       TAG_SECTION);
    mmpte_t *prototypes = ExAllocatePoolWithTag(NonPagedPool, pages * sizeof(mmpte_t),
                                                TAG_PROTOTYPES);
    uint16_t *page_protection =
        image ? ExAllocatePoolWithTag(NonPagedPool, pages * sizeof(uint16_t), TAG_PROTOTYPES)
              : NULL;
    ntstatus_t status = STATUS_INSUFFICIENT_RESOURCES;

    if (!section || !prototypes || (image && !page_protection))
        goto fail;
    status = STATUS_COMMITMENT_LIMIT;
    if (!reserve && !MiChargeCommitment(&section_commit_charge, pages))
        goto fail;
    *section = (struct mm_section){
        .header = {OBJECT_SECTION, 1, section_destroy},
        .page_count = pages,
        .committed_pages = reserve ? 0 : pages,
        .protection = protection,
        .reserve = reserve,
        .prototypes = prototypes,
        .page_protection = page_protection,
    };
    for (uint32_t i = 0; i < pages; i++)
        MiWritePrototypePte(&prototypes[i], reserve ? MiMakeViewPagePte(0) : pte_zero());
    *result = section;
    return STATUS_SUCCESS;

fail:
    if (page_protection)
        ExFreePoolWithTag(page_protection, TAG_PROTOTYPES);
    if (prototypes)
        ExFreePoolWithTag(prototypes, TAG_PROTOTYPES);
    if (section)
        ExFreePoolWithTag(section, TAG_SECTION);
    return status;
}

/*
 * The protections a page of a section made with protection may have, in a view or after
 * NtProtectVirtualMemory (NT's table of compatible protections): never more access than
 * the section allows, copy-on-write wherever reading is allowed, and no access always.
 */
bool MiSectionAllowsProtection(uint32_t section, uint32_t protection)
{
    uint32_t allowed = PAGE_NOACCESS;

    switch (section) {
    case PAGE_EXECUTE:
        allowed |= PAGE_EXECUTE;
        break;
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY;
        break;
    case PAGE_READWRITE:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_READWRITE;
        break;
    case PAGE_EXECUTE_READ:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_EXECUTE | PAGE_EXECUTE_READ;
        break;
    case PAGE_EXECUTE_WRITECOPY:
        allowed |= PAGE_READONLY | PAGE_WRITECOPY | PAGE_EXECUTE | PAGE_EXECUTE_READ |
                   PAGE_EXECUTE_WRITECOPY;
        break;
    case PAGE_EXECUTE_READWRITE:
        allowed = 0xFF;
        break;
    }
    protection &= ~(PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE);
    return protection != 0 && (protection & (protection - 1)) == 0 && (protection & allowed);
}

/* True for the two copy-on-write protections (modifiers aside). */
bool MiIsCopyOnWriteProtection(uint32_t protection)
{
    protection &= 0xFF;
    return protection == PAGE_WRITECOPY || protection == PAGE_EXECUTE_WRITECOPY;
}

bool MiCommitSectionPages(struct mm_section *section, uint32_t first, uint32_t count)
{
    uint32_t pages = 0;

    for (uint32_t i = first; i < first + count; i++)
        pages += MiIsViewPagePte(section->prototypes[i]);
    if (!MiChargeCommitment(&section_commit_charge, pages))
        return false;
    for (uint32_t i = first; i < first + count; i++)
        if (MiIsViewPagePte(section->prototypes[i]))
            MiWritePrototypePte(&section->prototypes[i], pte_zero());
    section->committed_pages += pages;
    return true;
}

ntstatus_t MmCreateSection(uint32_t size, uint32_t protection, uint32_t attributes,
                           struct mm_section **result)
{
    if (!MmIsValidProtection(protection) || protection & ~MI_PROTECTION_BASE_MASK ||
        protection == PAGE_NOACCESS)
        return STATUS_INVALID_PAGE_PROTECTION;
    if (size == 0)
        return STATUS_INVALID_PARAMETER_4;
    if (size > SECTION_MAX_BYTES)
        return STATUS_SECTION_TOO_BIG;
    ntstatus_t status = MiAllocateSection(ALIGN_UP(size, (uint32_t)PAGE_SIZE) / PAGE_SIZE,
                                          protection, false, attributes & SEC_RESERVE, result);
    /* The section's cache attribute is every view's: one frame, one memory type. */
    if (NT_SUCCESS(status))
        (*result)->cache = attributes & SEC_NOCACHE        ? PAGE_NOCACHE
                           : attributes & SEC_WRITECOMBINE ? PAGE_WRITECOMBINE
                                                           : 0;
    return status;
}

ntstatus_t MmMapViewOfSection(struct mm_section *section, uint32_t offset, vaddr_t *base,
                              uint32_t *size, uint32_t type, uint32_t protection,
                              vaddr_t highest, uint32_t commit_size)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    uint32_t section_bytes = section->page_count * PAGE_SIZE;
    vaddr_t alignment = type & AT_ROUND_TO_PAGE ? PAGE_SIZE : MM_ALLOCATION_GRANULARITY;

    if (highest == 0 || highest > space->highest_user_address)
        highest = space->highest_user_address;
    if (type & AT_ROUND_TO_PAGE) {
        *base = ALIGN_DOWN(*base, (vaddr_t)PAGE_SIZE);
        offset = ALIGN_DOWN(offset, (uint32_t)PAGE_SIZE);
    }
    if (*base % alignment || offset % alignment)
        return STATUS_MAPPED_ALIGNMENT;
    if (!MiSectionAllowsProtection(section->protection, protection))
        return STATUS_SECTION_PROTECTION;
    if (type & MEM_RESERVE)
        return STATUS_INVALID_PARAMETER_9;  /* only a file's view may reserve beyond it */
    if (offset >= section_bytes)
        return STATUS_INVALID_VIEW_SIZE;
    uint32_t bytes = *size ? ALIGN_UP(*size, (uint32_t)PAGE_SIZE) : section_bytes - offset;
    if (bytes == 0 || bytes > section_bytes - offset)
        return STATUS_INVALID_VIEW_SIZE;
    if (commit_size > bytes)
        return STATUS_INVALID_PARAMETER_5;

    vaddr_t start = *base;
    if (start == 0) {
        if (!MiFindEmptyAddressRange(&space->vads, bytes, MM_ALLOCATION_GRANULARITY,
                                     MM_LOWEST_USER_ADDRESS, highest, type & MEM_TOP_DOWN,
                                     &start))
            return STATUS_NO_MEMORY;
    } else {
        if (start < MM_LOWEST_USER_ADDRESS || start + bytes - 1 < start ||
            start + bytes - 1 > highest)
            return STATUS_INVALID_PARAMETER_3;
        if (MiCheckForConflictingVad(&space->vads, start, start + bytes - 1))
            return STATUS_CONFLICTING_ADDRESSES;
    }
    /* Pages a copy-on-write view may turn private are charged to the process now. */
    uint32_t pages = MiIsCopyOnWriteProtection(protection) ? bytes / PAGE_SIZE : 0;
    if (!MiChargeCommitment(&space->commit_charge, pages))
        return STATUS_COMMITMENT_LIMIT;
    /* SEC_RESERVE: the first commit_size bytes of the view are committed in the section. */
    uint32_t first = offset / PAGE_SIZE;
    if (section->reserve &&
        !MiCommitSectionPages(section, first, ALIGN_UP(commit_size, (uint32_t)PAGE_SIZE) /
                                                  PAGE_SIZE)) {
        MiReturnCommitment(&space->commit_charge, pages);
        return STATUS_COMMITMENT_LIMIT;
    }
    /* The view's protection carries the section's cache attribute (none with no access). */
    if ((protection & MI_PROTECTION_BASE_MASK) != PAGE_NOACCESS)
        protection |= section->cache;
    ntstatus_t status = MiReserveUserRangeLocked(&start, bytes, MI_VAD_MAPPED, 0, protection);
    if (!NT_SUCCESS(status)) {
        MiReturnCommitment(&space->commit_charge, pages);
        return status;      /* pages committed in the section stay so: NT keeps them too */
    }
    struct mmvad *vad = MiLocateVad(&space->vads, start);
    vad->owner = section;
    vad->offset = first;
    vad->commit_charge = pages;
    object_reference(&section->header);
    *base = start;
    *size = bytes;
    return STATUS_SUCCESS;
}

/* The frames, charge and reference a view holds go back; its VAD goes. */
void MiDeleteView(struct mm_address_space *space, struct mmvad *vad)
{
    KIRQL old_irql = MiAcquirePfnLock();

    for (vaddr_t va = vad->start; va - 1 < vad->end; va += PAGE_SIZE) {
        mmpte_t *pte = MiGetPte(va, false);
        if (!pte) {
            va = ALIGN_DOWN(va, (vaddr_t)PDE_SPAN) + PDE_SPAN - PAGE_SIZE;
            continue;
        }
        if (pte->value == 0)
            continue;
        MiDeletePteContents(MiWriteUserPte(va, pte_zero()));
    }
    MiReleasePfnLock(old_irql);
    MiReturnCommitment(&space->commit_charge, vad->commit_charge);
    MiDeleteVad(space, vad);
}

ntstatus_t MmUnmapViewOfSection(vaddr_t base)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    struct mmvad *vad = MiLocateVad(&space->vads, base);

    if (!vad || vad->type != MI_VAD_MAPPED)
        return STATUS_NOT_MAPPED_VIEW;
    MiDeleteView(space, vad);
    return STATUS_SUCCESS;
}

void MiSectionPageUnmapped(pfn_t pfn)
{
    struct mmpfn *entry = MiGetPfnEntry(pfn);
    mmpte_t *page = MiMapPageInHyperSpace(entry->pte_frame);

    KASSERT(pte_is_valid(page[entry->pte_index]) && pte_pfn(page[entry->pte_index]) == pfn);
    MiWritePrototypePte(&page[entry->pte_index], MiMakeTransitionPte(pfn, 0));
    MiUnmapPageInHyperSpace(page);
    MiInsertTransitionPageLocked(pfn);
}

/*
 * Makes prototype (section page index) valid: its frame with one more reference, back
 * from a list or the pagefile, or new and zeroed. STATUS_PENDING when the page must be
 * read, or is being read, first (*wait: see MiBringPageBack); the prototype then names
 * the frame being read, so every view's fault on the page waits for the one read.
 */
static ntstatus_t make_prototype_valid(struct mm_section *section, uint32_t index,
                                       struct mi_in_page_wait *wait)
{
    mmpte_t *prototype = &section->prototypes[index];
    pfn_t pfn;

    if (pte_is_valid(*prototype)) {
        MiAddPageReferenceLocked(pte_pfn(*prototype));
        return STATUS_SUCCESS;
    }
    if (MiIsTransitionPte(*prototype) || MiIsPagefilePte(*prototype)) {
        ntstatus_t status = MiBringPageBack(*prototype, MI_USE_SECTION, &pfn, wait);
        if (status == STATUS_PENDING && wait->reader) {
            MiSetPteOwner(pfn, prototype);
            MiWritePrototypePte(prototype, MiMakeTransitionPte(pfn, 0));
            /* The section's next pages whose slots follow join the read (mm/pagefile.h). */
            for (uint32_t next = index + 1; next < section->page_count &&
                 MiReadAheadLocked(wait, section->prototypes[next], MI_USE_SECTION, &pfn);
                 next++) {
                MiSetPteOwner(pfn, &section->prototypes[next]);
                MiWritePrototypePte(&section->prototypes[next], MiMakeTransitionPte(pfn, 0));
            }
        }
        if (status == STATUS_PENDING || !NT_SUCCESS(status))
            return status;
        MiSetPteOwner(pfn, prototype);  /* a frame read in is new; one from a list knows */
    } else {
        pfn = MiRemoveZeroPageLocked(MI_USE_SECTION);
        if (pfn == PFN_INVALID)
            return STATUS_NO_MEMORY;
        MiSetPteOwner(pfn, prototype);
    }
    MiWritePrototypePte(prototype, pte_make_kernel_local(pfn));
    return STATUS_SUCCESS;
}

ntstatus_t MiSectionFault(struct mmvad *vad, vaddr_t va, uint32_t protection,
                          struct mi_in_page_wait *wait)
{
    struct mm_section *section = vad->owner;
    uint32_t index = vad->offset + (va - vad->start) / PAGE_SIZE;

    MiAssertPfnLockHeld();              /* the prototype PTEs are the PFN lock's */
    ntstatus_t status = make_prototype_valid(section, index, wait);
    if (status != STATUS_PENDING && NT_SUCCESS(status)) {
        MiWriteUserPte(va, MiMakeValidUserPte(pte_pfn(section->prototypes[index]),
                                              protection));
        MmStatistics.section_faults++;
    }
    return status;
}

void MiSectionPageArrived(struct mm_section *section, uint32_t index, pfn_t pfn)
{
    MiSetPteOwner(pfn, &section->prototypes[index]);
    MiGetPfnEntry(pfn)->flags |= MI_PFN_MODIFIED;
    MiWritePrototypePte(&section->prototypes[index], MiMakeTransitionPte(pfn, 0));
    MiInsertTransitionPage(pfn);
}

ntstatus_t MiCopyOnWrite(vaddr_t va, uint32_t protection)
{
    mmpte_t old = *pte_of(va);
    pfn_t copy = MiRemoveAnyPageLocked(MI_USE_PROCESS_PRIVATE);

    if (copy == PFN_INVALID)
        return STATUS_NO_MEMORY;
    void *to = MiMapPageInHyperSpace(copy);
    memcpy(to, (const void *)va, PAGE_SIZE);
    MiUnmapPageInHyperSpace(to);
    uint32_t writable = (protection & ~MI_PROTECTION_BASE_MASK) |
                        ((protection & MI_PROTECTION_BASE_MASK) == PAGE_EXECUTE_WRITECOPY
                             ? PAGE_EXECUTE_READWRITE
                             : PAGE_READWRITE);
    MiWriteUserPte(va, MiMakeValidUserPte(copy, writable));
    MiDeletePteContents(old);
    MmStatistics.copy_on_write_faults++;
    return STATUS_SUCCESS;
}
