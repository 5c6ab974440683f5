#pragma once
/* Starting processes from PE32 images. */
#include "kernel/process.h"

/*
 * Starts a process from the PE32 image in file: checked (STATUS_INVALID_IMAGE_FORMAT if
 * malformed), mapped, given a 1 MB stack and a main thread at the entry point, which
 * receives the command line. With cache_slot, the image is shared through the image
 * section kept there (made if the slot is empty); without, the process gets a private
 * copy. The caller gets a reference to the process. On failure nothing is left behind.
 * With suspended, the main thread waits for process_resume.
 */
ntstatus_t loader_start_image(const void *file, size_t size, const char *name,
                              const char *command_line, size_t command_line_length,
                              struct mm_section **cache_slot, bool suspended,
                              struct process **result);

/* The same from the boot module named name (STATUS_OBJECT_NAME_NOT_FOUND if none). */
ntstatus_t loader_start_module(const char *name, size_t name_length, const char *command_line,
                               size_t command_line_length, struct process **result);
/* loader_start_module with the main thread suspended. */
ntstatus_t loader_start_module_suspended(const char *name, size_t name_length,
                                         const char *command_line, size_t command_line_length,
                                         struct process **result);
