#pragma once
/* The boot modules (the programs the boot loader handed over), found by name. */
#include "boot/boot_info.h"

/*
 * The module whose name is name (length bytes, not NUL-terminated), or NULL. A module's
 * name is the last path component of the first word of its module string, so
 * "/boot/user/hello.exe hello.exe" is "hello.exe"; names match without regard to case.
 */
const struct boot_module *module_find(const char *name, size_t length);

/* The name module_find matches, as a pointer into module->name and its length. */
void module_name(const struct boot_module *module, const char **name, size_t *length);
