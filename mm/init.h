#pragma once
/*
 * The map of system space the boot lays out, and the kernel image's place in it
 * (init.c).
 */
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/types.h"

struct mi_system_region {
    const char *name;
    vaddr_t base;
    vaddr_t end;            /* one past the last byte; 0 means 4 GB */
    bool system_ptes;       /* the region's pages are handed out by MiReserveSystemPtes */
};

#define MI_MAX_SYSTEM_REGIONS 8
extern struct mi_system_region MiSystemRegions[MI_MAX_SYSTEM_REGIONS];
extern unsigned MiSystemRegionCount;

/* Kernel image bounds from the linker script. */
extern char _kernel_start[], _kernel_readonly_end[], _kernel_end[];
extern char __text_begin[], __text_end[];

/* True for a page of the kernel image's code (.text), the only executable system pages. */
bool MiIsKernelCode(vaddr_t va);
extern char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];
extern mmpte_t boot_page_directory[], boot_page_table[];   /* boot/entry.S */
#if MM_PAE
extern mmpte_t boot_pdpt[];
#endif

static inline paddr_t MiKernelImagePhysical(const void *kernel_va)
{
    return (vaddr_t)kernel_va - KERNEL_WINDOW;
}
