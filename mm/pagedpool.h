#pragma once
/* Paged pool's pages: allocated, faulted in and evicted (pagedpool.c). */
#include "lib/ntstatus.h"
#include "lib/types.h"
#include "mm/mm.h"

/* The pages of paged pool in memory. */
extern struct mm_working_set MiSystemWorkingSet;

/* Sets up the paged pool's address range, after the nonpaged pool works. */
void MiInitializePagedPool(void);
/*
 * count pages of paged pool, committed and charged, no frame taken (each is demand
 * zero until touched); 0 when the range or the commit limit is exhausted.
 */
vaddr_t MiAllocatePagedPoolPages(uint32_t count);
/* Gives back pages MiAllocatePagedPoolPages handed out: frames, slots, charge. */
void MiFreePagedPoolPages(vaddr_t va, uint32_t count);
/* True for an allocated page of paged pool. */
bool MiIsPagedPoolPageAllocated(vaddr_t va);
/* Resolves a fault on a paged pool address (kernel mode, interrupts were on). */
ntstatus_t MiPagedPoolFault(vaddr_t va);
/* Takes the present paged pool page at va out of memory (the system trimmer's). */
void MiEvictPagedPoolPage(vaddr_t va);
