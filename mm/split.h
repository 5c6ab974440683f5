#pragma once
/* The user/system split the boot command line chooses (split.c). */
#include "lib/types.h"

struct mi_split {
    vaddr_t system_range_start;
    vaddr_t highest_user_address;
    vaddr_t user_probe_address;
};

#define MI_SPLIT_WARNING_LENGTH 400

/*
 * Computes the split a command line asks for. Never fails: a bad value leaves one
 * warning in warning (empty when none) and the nearest valid setting in split.
 */
void MiParseSplit(const char *command_line, struct mi_split *split, char *warning,
                  size_t warning_size);
