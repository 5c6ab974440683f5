#include "arch/copy_checked.h"
#include "arch/kthread.h"
#include "arch/trap.h"
#include "kernel/usercopy.h"
#include "arch/layout.h"
#include "mm/mm.h"

void (*user_copy_race)(vaddr_t address, size_t length);

ntstatus_t user_probe(vaddr_t address, size_t length)
{
    vaddr_t limit = MmCurrentAddressSpace()->highest_user_address;

    if (length == 0)
        return STATUS_SUCCESS;
    if (address + length - 1 < address || address + length - 1 > limit)
        return STATUS_ACCESS_VIOLATION;
    return STATUS_SUCCESS;
}

/*
 * What a copy that faulted returns: STATUS_ACCESS_VIOLATION for a bad pointer; the
 * memory manager's own status when memory was there but could not be had (no frame left,
 * a pagefile read that failed), as NT's MmAccessFault passes it up.
 */
static ntstatus_t fault_status(void)
{
    ntstatus_t status = trap_last_recovered_fault()->status;

    return status == STATUS_NO_MEMORY || status == STATUS_IN_PAGE_ERROR
               ? status : STATUS_ACCESS_VIOLATION;
}

ntstatus_t user_copy_from(void *destination, vaddr_t source, size_t length)
{
    ntstatus_t status = user_probe(source, length);

    if (!NT_SUCCESS(status))
        return status;
    if (user_copy_race && length)
        user_copy_race(source, length);
    if (arch_copy_checked(destination, (const void *)source, length) != 0)
        return fault_status();
    return STATUS_SUCCESS;
}

ntstatus_t user_copy_to(vaddr_t destination, const void *source, size_t length)
{
    ntstatus_t status = user_probe(destination, length);

    if (!NT_SUCCESS(status))
        return status;
    if (user_copy_race && length)
        user_copy_race(destination, length);
    if (arch_copy_checked((void *)destination, source, length) != 0)
        return fault_status();
    return STATUS_SUCCESS;
}
