/* The virtual-memory services for the current process, with addresses as numbers. */
#include "tests/user/runtime/rt.h"

ntstatus_t rt_vm_allocate(uint32_t *base, uint32_t *size, unsigned int type,
                          unsigned int protect)
{
    return NtAllocateVirtualMemory(NT_CURRENT_PROCESS, (void **)base, 0, (size_t *)size, type,
                                   protect);
}

ntstatus_t rt_vm_free(uint32_t *base, uint32_t *size, unsigned int type)
{
    return NtFreeVirtualMemory(NT_CURRENT_PROCESS, (void **)base, (size_t *)size, type);
}

ntstatus_t rt_vm_release(uint32_t base)
{
    uint32_t size = 0;

    return rt_vm_free(&base, &size, MEM_RELEASE);
}

ntstatus_t rt_vm_protect(uint32_t *base, uint32_t *size, unsigned int protect,
                         unsigned int *old)
{
    return NtProtectVirtualMemory(NT_CURRENT_PROCESS, (void **)base, (size_t *)size, protect,
                                  old);
}

ntstatus_t rt_vm_query(uint32_t address, struct nt_memory_basic_information *info)
{
    size_t length = 0;
    ntstatus_t status = NtQueryVirtualMemory(NT_CURRENT_PROCESS, (const void *)address,
                                             NT_MEMORY_BASIC_INFORMATION, info, sizeof(*info),
                                             &length);

    if (NT_SUCCESS(status) && length != sizeof(*info)) {
        rt_check(false, __FILE__, __LINE__, "query of 0x%08x returned %u bytes, not %u",
                 address, (unsigned int)length, (unsigned int)sizeof(*info));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    return status;
}

uint32_t rt_vm_highest_address(void)
{
    struct nt_system_basic_information info;

    if (!NT_SUCCESS(NtQuerySystemInformation(NT_SYSTEM_BASIC_INFORMATION, &info, sizeof(info),
                                             NULL)))
        return 0;
    return info.maximum_user_mode_address;
}

/* Appends " NAME 0xACTUAL (expected 0xEXPECTED)" to message when the two differ. */
static size_t note_field(char *message, size_t size, size_t used, const char *name,
                         uint32_t actual, uint32_t expected)
{
    if (actual == expected || used >= size)
        return used;
    return used + rt_snprintf(message + used, size - used, " %s 0x%x (expected 0x%x)", name,
                              actual, expected);
}

bool rt_check_region(uint32_t address, const struct nt_memory_basic_information *expected,
                     const char *file, int line)
{
    struct nt_memory_basic_information info;
    ntstatus_t status = rt_vm_query(address, &info);
    char message[200];
    size_t used;

    if (!NT_SUCCESS(status))
        return rt_check(false, file, line, "query of 0x%08x failed: 0x%08x", address,
                        (unsigned int)status);
    used = rt_snprintf(message, sizeof(message), "query of 0x%08x:", address);
    size_t start = used;
    used = note_field(message, sizeof(message), used, "base", info.base_address,
                      expected->base_address);
    if (expected->region_size)
        used = note_field(message, sizeof(message), used, "size", info.region_size,
                          expected->region_size);
    used = note_field(message, sizeof(message), used, "state", info.state, expected->state);
    used = note_field(message, sizeof(message), used, "protect", info.protect,
                      expected->protect);
    used = note_field(message, sizeof(message), used, "allocation base", info.allocation_base,
                      expected->allocation_base);
    used = note_field(message, sizeof(message), used, "allocation protect",
                      info.allocation_protect, expected->allocation_protect);
    used = note_field(message, sizeof(message), used, "type", info.type, expected->type);
    return rt_check(used == start, file, line, "%s", message);
}
