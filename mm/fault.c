/*
 * Page faults, after arch/ has decoded them. Nothing is pageable yet and no
 * memory is mapped on demand, so every fault is an access violation; the caller
 * decides what that means for the code that faulted.
 */
#include "mm/mi.h"

ntstatus_t MmAccessFault(vaddr_t address, enum mm_access access, bool user_mode)
{
    (void)address;
    (void)access;
    (void)user_mode;
    return STATUS_ACCESS_VIOLATION;
}
