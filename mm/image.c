/*
 * Mapping an executable image into a process. The image is laid out in fresh zeroed
 * frames seen through a temporary system-space view, relocated there if it cannot sit
 * at its preferred base, and then the same frames are mapped into the process page by
 * page with the protection of the section each page belongs to.
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/object_header.h"
#include "mm/addrspace.h"
#include "mm/mm.h"
#include "mm/pagetable.h"
#include "mm/pe_image.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/section.h"
#include "mm/syspte.h"
#include "mm/vad.h"
#include "mm/virtual.h"
#include "mm/workset.h"

#define TAG_IMAGE 0x67616d49    /* 'Imag' */

/* Reserves the image's range (the working-set lock held): the preferred base if possible, else anywhere if allowed. */
static ntstatus_t reserve_image_range(const struct ldr_image_info *info, vaddr_t *base)
{
    vaddr_t preferred = info->image_base;
    vaddr_t last = preferred + info->size_of_image - 1;

    if (last >= preferred && last <= MmCurrentAddressSpace()->highest_user_address &&
        NT_SUCCESS(MiReserveUserRangeLocked(&preferred, info->size_of_image, MI_VAD_IMAGE, 0,
                                            PAGE_EXECUTE_WRITECOPY))) {
        *base = preferred;
        return STATUS_SUCCESS;
    }
    if (!info->relocatable)
        return STATUS_CONFLICTING_ADDRESSES;
    *base = 0;
    return MiReserveUserRangeLocked(base, info->size_of_image, MI_VAD_IMAGE, 0,
                                    PAGE_EXECUTE_WRITECOPY);
}

static void release_frames(pfn_t *frames, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        MiInsertPageInFreeList(frames[i]);
}

/* Fills the frames with the laid-out (and relocated) image through a system-space view. */
static ntstatus_t build_image(const void *file, const struct ldr_image_info *info,
                              vaddr_t base, const pfn_t *frames, uint32_t pages)
{
    vaddr_t view = MiReserveSystemPtes(pages);
    ntstatus_t status = STATUS_INSUFFICIENT_RESOURCES;
    uint32_t mapped = 0;

    if (!view)
        return status;
    for (; mapped < pages; mapped++)
        if (!NT_SUCCESS(MiMapRange(view + mapped * PAGE_SIZE, pfn_to_paddr(frames[mapped]),
                                   PAGE_SIZE, pte_make_kernel(0, true))))
            goto out;
    LdrCopyImage((void *)view, file, info);
    status = base == info->image_base ? STATUS_SUCCESS
                                      : LdrRelocateImage((void *)view, info, base);
out:
    MiUnmapRange(view, mapped * PAGE_SIZE);
    MiReleaseSystemPtes(view, pages);
    return status;
}

/* What an image page may be: writable pages of an image are copy-on-write (as on NT). */
static uint32_t image_page_protection(const struct ldr_image_info *info, uint32_t rva)
{
    uint32_t protection = LdrPageProtection(info, rva);

    if (protection == PAGE_READWRITE)
        return PAGE_WRITECOPY;
    if (protection == PAGE_EXECUTE_READWRITE)
        return PAGE_EXECUTE_WRITECOPY;
    return protection;
}

ntstatus_t MmMapImage(const void *file, const struct ldr_image_info *info, vaddr_t *result)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    uint32_t pages = info->size_of_image / PAGE_SIZE;
    uint32_t taken = 0;
    vaddr_t base;
    ntstatus_t status = reserve_image_range(info, &base);

    if (!NT_SUCCESS(status))
        return status;
    pfn_t *frames = NULL;
    bool charged = MiChargeCommitment(&MmCurrentAddressSpace()->commit_charge, pages);
    status = STATUS_COMMITMENT_LIMIT;
    if (!charged)
        goto fail;
    frames = ExAllocatePoolWithTag(NonPagedPool, pages * sizeof(pfn_t), TAG_IMAGE);
    status = STATUS_NO_MEMORY;
    if (!frames)
        goto fail;
    for (; taken < pages; taken++) {
        frames[taken] = MiRemoveZeroPage(MI_USE_PROCESS_PRIVATE);
        if (frames[taken] == PFN_INVALID)
            goto fail;
    }
    status = build_image(file, info, base, frames, pages);
    if (!NT_SUCCESS(status))
        goto fail;

    /*
     * Every frame has its place now; MiMapUserPageLocked takes each one over. One it cannot
     * map (no page for a page table) is freed here, and the caller, seeing the failure,
     * deletes the address space with whatever was mapped.
     */
    for (uint32_t i = 0; i < pages; i++) {
        ntstatus_t mapped = MiMapUserPageLocked(base + i * PAGE_SIZE, frames[i],
                                                image_page_protection(info, i * PAGE_SIZE));
        if (!NT_SUCCESS(mapped)) {
            MiInsertPageInFreeList(frames[i]);
            status = mapped;
        }
    }
    ExFreePoolWithTag(frames, TAG_IMAGE);
    *result = base;
    return status;

fail:
    if (frames) {
        release_frames(frames, taken);
        ExFreePoolWithTag(frames, TAG_IMAGE);
    }
    if (charged)
        MiReturnCommitment(&MmCurrentAddressSpace()->commit_charge, pages);
    MiDeleteVad(MmCurrentAddressSpace(), MiLocateVad(&MmCurrentAddressSpace()->vads, base));
    return status;
}

ntstatus_t MmCreateImageSection(const void *file, const struct ldr_image_info *info,
                                struct mm_section **result)
{
    uint32_t pages = info->size_of_image / PAGE_SIZE;
    struct mm_section *section;
    pfn_t *frames = ExAllocatePoolWithTag(NonPagedPool, pages * sizeof(pfn_t), TAG_IMAGE);
    uint32_t taken = 0;
    ntstatus_t status = STATUS_INSUFFICIENT_RESOURCES;

    if (!frames)
        return status;
    status = MiAllocateSection(pages, PAGE_EXECUTE_WRITECOPY, true, false, &section);
    if (!NT_SUCCESS(status))
        goto out;
    section->image_base = info->image_base;
    for (; taken < pages; taken++) {
        frames[taken] = MiRemoveZeroPage(MI_USE_SECTION);
        if (frames[taken] == PFN_INVALID)
            break;
        section->page_protection[taken] = image_page_protection(info, taken * PAGE_SIZE);
        if (section->page_protection[taken] == PAGE_WRITECOPY ||
            section->page_protection[taken] == PAGE_EXECUTE_WRITECOPY)
            section->copy_on_write_pages++;
    }
    status = taken < pages ? STATUS_NO_MEMORY
                           : build_image(file, info, info->image_base, frames, pages);
    if (!NT_SUCCESS(status)) {
        release_frames(frames, taken);
        object_dereference(&section->header);
        goto out;
    }
    /* Laid out: the pages are the section's now, in transition until a view maps them. */
    for (uint32_t i = 0; i < pages; i++)
        MiSectionPageArrived(section, i, frames[i]);
    *result = section;
out:
    ExFreePoolWithTag(frames, TAG_IMAGE);
    return status;
}

ntstatus_t MmMapImageSection(struct mm_section *section, vaddr_t *result)
{
    MI_WORKING_SET_GUARD(&MmCurrentAddressSpace()->working_set);
    struct mm_address_space *space = MmCurrentAddressSpace();
    vaddr_t base = section->image_base;
    uint32_t bytes = section->page_count * PAGE_SIZE;

    if (base + bytes - 1 < base || base + bytes - 1 > space->highest_user_address)
        return STATUS_CONFLICTING_ADDRESSES;
    if (!MiChargeCommitment(&space->commit_charge, section->copy_on_write_pages))
        return STATUS_COMMITMENT_LIMIT;
    ntstatus_t status = MiReserveUserRangeLocked(&base, bytes, MI_VAD_IMAGE, 0,
                                                 PAGE_EXECUTE_WRITECOPY);
    if (!NT_SUCCESS(status)) {
        MiReturnCommitment(&space->commit_charge, section->copy_on_write_pages);
        return status;
    }
    struct mmvad *vad = MiLocateVad(&space->vads, base);
    vad->owner = section;
    vad->commit_charge = section->copy_on_write_pages;
    object_reference(&section->header);
    *result = base;
    return STATUS_SUCCESS;
}
