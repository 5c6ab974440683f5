#pragma once
/* System PTEs: system address space handed out in pages (syspte.c). */
#include "lib/types.h"

/* count pages of free system address space, or 0 when there is no run that long. */
vaddr_t MiReserveSystemPtes(uint32_t count);
void MiReleaseSystemPtes(vaddr_t va, uint32_t count);
uint32_t MiFreeSystemPtes(void);
void MiInitializeSystemPtes(void);
