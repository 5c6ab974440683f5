#pragma once
/*
 * Virtual address descriptors: each process keeps the ranges it has reserved in an AVL
 * tree ordered by address, one node (VAD) per reservation. The tree only links nodes;
 * the caller allocates them and owns their payload. Ranges are whole pages and never
 * overlap, so the tree is also ordered by end address.
 */
#include "lib/types.h"

enum mi_vad_type {
    MI_VAD_PRIVATE,     /* private memory (NtAllocateVirtualMemory) */
    MI_VAD_IMAGE,       /* a mapped executable image */
    MI_VAD_MAPPED,      /* a view of a data section */
};

struct mmvad {
    vaddr_t start;                  /* first byte, page-aligned */
    vaddr_t end;                    /* last byte (inclusive), end + 1 page-aligned */
    struct mmvad *left, *right, *parent;
    int8_t balance;                 /* height(right) - height(left), -1..1 */
    /* The payload, owned by the memory manager: */
    uint8_t type;                   /* enum mi_vad_type */
    uint16_t flags;
    uint32_t protection;            /* the allocation's PAGE_* protection */
    void *owner;                    /* e.g. a section or image object */
    uint32_t offset;                /* a view: its first page's index in the section */
    uint32_t commit_charge;         /* a view: pages charged for private copies */
    uint32_t *write_watch;          /* MEM_WRITE_WATCH: a bit per page written since reset */
    vaddr_t write_watch_base;       /* the page bit 0 of write_watch stands for */
};

struct mm_avl_table {
    struct mmvad *root;
    uint32_t count;
    struct mmvad *hint;             /* the last VAD found; tried first by MiLocateVad */
};

/* Makes table an empty tree. */
void MiInitializeVadTable(struct mm_avl_table *table);

/* Links vad in; it must not overlap any VAD already there (the kernel panics if it does). */
void MiInsertVad(struct mm_avl_table *table, struct mmvad *vad);

/* Unlinks vad, which must be in table; the hint never points at it afterwards. */
void MiRemoveVad(struct mm_avl_table *table, struct mmvad *vad);

/* The VAD containing va, or NULL; O(log n), trying the hint first. */
struct mmvad *MiLocateVad(struct mm_avl_table *table, vaddr_t va);

/* The lowest VAD overlapping [start, end] (inclusive, start <= end), or NULL. */
struct mmvad *MiCheckForConflictingVad(struct mm_avl_table *table, vaddr_t start, vaddr_t end);

/*
 * A free range of size bytes starting at a multiple of alignment (a power of two), inside
 * [lowest, highest] (inclusive): the lowest such base, or with top_down the highest.
 * False, and *base untouched, when none fits (size 0 never fits).
 */
bool MiFindEmptyAddressRange(struct mm_avl_table *table, uint32_t size, uint32_t alignment,
                             vaddr_t lowest, vaddr_t highest, bool top_down, vaddr_t *base);

/* The lowest VAD, or NULL when the table is empty. */
struct mmvad *MiFirstVad(struct mm_avl_table *table);

/* The VAD after vad in address order, or NULL after the last. */
struct mmvad *MiNextVad(struct mmvad *vad);

/* The tree's height (0 when empty), measured, not taken from the balance fields. */
unsigned MiVadTreeHeight(const struct mm_avl_table *table);
