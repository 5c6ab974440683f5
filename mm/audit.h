#pragma once
/* The isolation audit: every address space's user mappings checked (audit.c). */
#include "lib/types.h"

struct mi_audit {
    uint32_t spaces;
    uint32_t spaces_busy;           /* left out: their working-set lock was held */
    uint32_t ptes_checked;          /* non-zero user PTEs */
    uint32_t frames_checked;        /* present ones, checked against the PFN database */
    uint32_t shared_mappings;       /* of section pages */
    uint32_t violations;            /* the first few are printed */
};

/*
 * Checks the user mappings of every address space that is not in the middle of a change
 * (see audit.c), at DISPATCH_LEVEL.
 */
void MiAuditAddressSpaces(struct mi_audit *audit);
