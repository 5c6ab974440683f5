#pragma once
/* Section internals: prototype PTEs, views and copy on write (section.c). */
#include "lib/ntstatus.h"
#include "lib/types.h"
#include "mm/mm.h"
#include "mm/vad.h"

/* A section page's last mapping went: its prototype becomes a transition PTE. */
void MiSectionPageUnmapped(pfn_t pfn);
/* Gives section page index its first contents, frame pfn (one reference, now dropped). */
void MiSectionPageArrived(struct mm_section *section, uint32_t index, pfn_t pfn);

/* A section object for pages pages, prototypes empty, charged (see section.c). */
ntstatus_t MiAllocateSection(uint32_t pages, uint32_t protection, bool image, bool reserve,
                             struct mm_section **section);
/* The protection page va of view vad maps its section page with, unless its PTE says. */
uint32_t MiSectionPageProtection(const struct mmvad *vad, vaddr_t va);
/* True when a section made with section_protection allows protection for its pages. */
bool MiSectionAllowsProtection(uint32_t section_protection, uint32_t protection);

/*
 * Commits the uncommitted pages among count from first of a SEC_RESERVE section (demand
 * zero, charged to the section); false, nothing changed, past the commit limit.
 */
bool MiCommitSectionPages(struct mm_section *section, uint32_t first, uint32_t count);
/* True for PAGE_WRITECOPY and PAGE_EXECUTE_WRITECOPY. */
bool MiIsCopyOnWriteProtection(uint32_t protection);
/* Unmaps a view of the current space: its pages, its charge, its VAD. */
void MiDeleteView(struct mm_address_space *space, struct mmvad *vad);
/*
 * Maps the section page behind va (a page of view vad, PTE zero or a view-page PTE) into
 * the current space with protection, which must allow access. With the PFN lock held.
 * STATUS_PENDING when the page is to be read first: *wait says how (mm/pagefile.h), and
 * the fault is resolved again after.
 */
struct mi_in_page_wait;
ntstatus_t MiSectionFault(struct mmvad *vad, vaddr_t va, uint32_t protection,
                          struct mi_in_page_wait *wait);
/* Gives va (valid, read-only, copy-on-write) a private copy of its page, writable. */
ntstatus_t MiCopyOnWrite(vaddr_t va, uint32_t protection);
