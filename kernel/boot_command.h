#pragma once
/*
 * A command-line option that runs something once the kernel is up, provided by a layer
 * above the kernel (the self-tests' test= and crash=). Each is a struct boot_command in
 * the .boot_commands section (BOOT_COMMAND; linker.ld keeps them together), and
 * kernel/main.c runs the ones the command line names: the kernel includes nothing of the
 * layers above it, and a kernel linked without them simply has no such option.
 */
#include "lib/types.h"

struct boot_command {
    const char *option;         /* the option's name, as cmdline_find matches it */
    void (*run)(const char *value, size_t length);  /* the option's value */
};

#define BOOT_COMMAND(variable, option, run)                                             \
    __attribute__((used, section(".boot_commands"), aligned(4)))                       \
    static const struct boot_command variable = {option, run}

extern const struct boot_command __start_boot_commands[], __stop_boot_commands[];
