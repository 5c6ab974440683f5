/*
 * The process loader: image, stack, parameters, main thread. It works attached to the
 * new process, so that its user space is the current one while it is being built.
 */
#include "arch/layout.h"
#include "kernel/loader.h"
#include "kernel/modules.h"
#include "kernel/process.h"
#include "kernel/usercopy.h"
#include "lib/string.h"
#include "mm/mm.h"
#include "mm/pe_image.h"
#include "mm/pool.h"

#define COMMAND_LINE_MAX        1024
#define TAG_PARAMETERS          0x6d726150  /* 'Parm' */

/*
 * One image section per boot module, shared by every process started from it that can
 * sit at the image's preferred base. The cache holds no reference: a section goes when
 * its last process does, and clears its own slot (so nothing looks leaked).
 */
static struct mm_section *image_sections[BOOT_MODULES_MAX];

/*
 * Maps the image into the current (new) address space: the module's shared image
 * section if it can go at its preferred base, otherwise a private, relocated copy.
 */
static ntstatus_t map_image(const void *file, const struct ldr_image_info *info,
                            struct mm_section **cache_slot, vaddr_t *base)
{
    struct mm_section *section = cache_slot ? *cache_slot : NULL;

    if (section) {
        object_reference(&section->header);
    } else if (cache_slot && NT_SUCCESS(MmCreateImageSection(file, info, &section))) {
        section->cache_slot = cache_slot;
        *cache_slot = section;
    }
    if (section) {
        ntstatus_t status = MmMapImageSection(section, base);
        object_dereference(&section->header);   /* the view holds its own reference */
        if (NT_SUCCESS(status))
            return status;
    }
    return MmMapImage(file, info, base);
}

/*
 * Puts the process parameters at the top of the stack and, below them, the frame the
 * entry point expects: a zero return address, then the parameters' address.
 */
static ntstatus_t write_parameters(vaddr_t stack_top, const char *command_line,
                                   size_t length, vaddr_t *initial_esp)
{
    uint32_t size = sizeof(struct nt_process_parameters) + length + 1;
    uint32_t reserved = ALIGN_UP(size, 16u);
    struct nt_process_parameters *parameters =
        ExAllocatePoolWithTag(PagedPool, size, TAG_PARAMETERS);

    if (!parameters)
        return STATUS_INSUFFICIENT_RESOURCES;
    parameters->size = size;
    parameters->command_line_length = length;
    memcpy(parameters->command_line, command_line, length);
    parameters->command_line[length] = '\0';

    vaddr_t at = stack_top - reserved;
    uint32_t frame[2] = {0, at};
    ntstatus_t status = user_copy_to(at, parameters, size);
    if (NT_SUCCESS(status))
        status = user_copy_to(at - sizeof(frame), frame, sizeof(frame));
    ExFreePoolWithTag(parameters, TAG_PARAMETERS);
    *initial_esp = at - sizeof(frame);
    return status;
}

ntstatus_t loader_start_image(const void *file, size_t size, const char *name,
                              const char *command_line, size_t command_line_length,
                              struct mm_section **cache_slot, bool suspended,
                              struct process **result)
{
    struct ldr_image_info info;
    struct process *process;
    vaddr_t base, stack_base, stack_top, esp;

    if (command_line_length > COMMAND_LINE_MAX)
        return STATUS_INVALID_PARAMETER;
    ntstatus_t status = LdrParseImage(file, size, MmSystemRangeStart, &info);
    if (!NT_SUCCESS(status))
        return status;
    status = process_create(name, info.large_address_aware, &process);
    if (!NT_SUCCESS(status))
        return status;

    process_attach(process);
    process_apply_execute_policy(process, info.nx_compat);
    status = map_image(file, &info, cache_slot, &base);
    if (NT_SUCCESS(status))
        status = MmCreateUserStack(info.stack_commit, &stack_base, &stack_top);
    if (NT_SUCCESS(status))
        status = write_parameters(stack_top, command_line, command_line_length, &esp);
    process_detach();
    if (NT_SUCCESS(status))
        status = thread_create(process, NULL, NULL, base + info.entry_point, esp, 0,
                               suspended, NULL);
    if (!NT_SUCCESS(status)) {
        process_discard(process);
        return status;
    }
    *result = process;
    return STATUS_SUCCESS;
}

static ntstatus_t start_module(const char *name, size_t name_length, const char *command_line,
                               size_t command_line_length, bool suspended,
                               struct process **result)
{
    const struct boot_module *module = module_find(name, name_length);
    char process_name[PROCESS_NAME_MAX];

    if (!module)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    size_t size = module->end - module->start;
    if (size == 0)
        return STATUS_INVALID_IMAGE_FORMAT;
    void *file = MmMapPhysicalMemory(module->start, size);
    if (!file)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(process_name, name, MIN(name_length, sizeof(process_name) - 1));
    process_name[MIN(name_length, sizeof(process_name) - 1)] = '\0';
    struct mm_section **cache_slot = &image_sections[module - kernel_boot_info.modules];
    ntstatus_t status = loader_start_image(file, size, process_name, command_line,
                                           command_line_length, cache_slot, suspended, result);
    MmUnmapIoSpace(file, size);
    return status;
}

ntstatus_t loader_start_module(const char *name, size_t name_length, const char *command_line,
                               size_t command_line_length, struct process **result)
{
    return start_module(name, name_length, command_line, command_line_length, false, result);
}

ntstatus_t loader_start_module_suspended(const char *name, size_t name_length,
                                         const char *command_line, size_t command_line_length,
                                         struct process **result)
{
    return start_module(name, name_length, command_line, command_line_length, true, result);
}
