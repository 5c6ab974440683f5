#pragma once
/* Hyperspace: reaching a physical page through a temporary mapping (hyperspace.c). */
#include "lib/types.h"

/* Maps one physical page at a free hyperspace slot; undo with MiUnmapPageInHyperSpace. */
void *MiMapPageInHyperSpace(pfn_t pfn);
void MiUnmapPageInHyperSpace(const void *va);
void MiZeroPhysicalPage(pfn_t pfn);
