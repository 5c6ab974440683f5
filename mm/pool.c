/*
 * The executive pools: nonpaged and paged, one allocator for both. A request of up to SMALL_BLOCK_LIMIT bytes takes a block of one of
 * seven size classes, 16 to 1024 bytes with the 8-byte header included. Each class lists
 * its pages that still have a free block, and each of those pages keeps its own list of
 * free blocks, so allocating and freeing are both O(1). A page whose last block is freed
 * goes back to the memory manager at once. A larger request gets pages of its own.
 *
 *   small-block page                              large block (one or more pages)
 *   +-----------+--------+------+--------+-- -    +-----------------+--------+------- -
 *   | pool_page | header | body | header | ...    | pool_large_page | header | body ...
 *   +-----------+--------+------+--------+-- -    +-----------------+--------+------- -
 *               |<-- one block -->|
 *
 * The caller's pointer is the body, just after the header. The free path trusts it only
 * after checking that it lies in a pool page, at a block boundary of that page.
 *
 * The nonpaged pool's pages are frames mapped in system PTEs, and its lists are changed
 * with interrupts off (an interrupt handler may allocate). The paged pool's pages come
 * from the paged pool range (mm/pagedpool.c) and may be paged out; it is used only below
 * DISPATCH_LEVEL, under a guarded mutex (its holder may take a page fault and wait).
 */
#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "ke/mutex.h"
#include "arch/spinlock.h"
#include "lib/ntstatus.h"
#include "lib/panic.h"
#include "mm/inject.h"
#include "mm/mm.h"
#include "mm/pagedpool.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/pool.h"
#include "mm/syspte.h"

#define POOL_PAGE_USE       MI_USE_NONPAGED_POOL

#define SMALL_PAGE_MAGIC    0x6C6F6F50u     /* "Pool" in memory order */
#define LARGE_PAGE_MAGIC    0x6772614Cu     /* "Larg" */
#define BLOCK_BUSY          0xB5
#define BLOCK_FREE          0xF5

/*
 * Classes stop at 1024 bytes: the page header leaves room for only one 2048-byte block,
 * which would waste as much as a page of its own.
 */
#define SIZE_CLASSES        7
#define LARGE_BLOCK         0xFF            /* the size class of a block with its own pages */

/* System space is at most 2 GB, so no larger request can succeed; page counts fit 32 bits. */
#define MAX_POOL_BYTES      (0x80000000u - PAGE_SIZE)

struct pool_header {
    uint32_t tag;
    uint16_t bytes;             /* as requested; a large block keeps its size in its page */
    uint8_t size_class;         /* 0 for 16 bytes, 1 for 32, ...; or LARGE_BLOCK */
    uint8_t state;              /* BLOCK_BUSY or BLOCK_FREE: catches double frees */
};

/* A free block is linked to its page's next free block through its body. */
struct pool_free_block {
    struct pool_header header;
    struct pool_free_block *next;
};

/* Aligned so that the blocks after it, and so their bodies, are 8-byte aligned. */
struct pool_page {
    uint32_t magic;
    uint16_t size_class;
    uint16_t blocks_in_use;
    struct pool_free_block *free_blocks;
    struct pool_page *next;     /* in its class's list of pages with a free block */
    struct pool_page *previous;
} __attribute__((aligned(8)));

struct pool_large_page {
    uint32_t magic;
    uint32_t page_count;
    uint32_t bytes;
} __attribute__((aligned(8)));

#define SMALL_BLOCK_LIMIT   ((16u << (SIZE_CLASSES - 1)) - sizeof(struct pool_header))

/*
 * One pool: its pages with a free block, by class, and its totals, all guarded by the
 * pool's lock: a spinlock for the nonpaged pool (usable up to DISPATCH_LEVEL), a guarded
 * mutex for the paged pool, whose holder may fault its pages back in.
 */
struct pool_descriptor {
    enum pool_type type;
    struct kspin_lock spin_lock;            /* NonPagedPool */
    struct kguarded_mutex mutex;            /* PagedPool */
    struct pool_page *pages_with_free_blocks[SIZE_CLASSES];
    struct pool_statistics statistics;
};

static struct lock_class nonpaged_pool_lock_class = LOCK_CLASS_SPIN("nonpaged pool");
static struct lock_class paged_pool_lock_class = LOCK_CLASS_BLOCKING("paged pool");

struct mi_fault_injection MiPoolInjection;

static struct pool_descriptor pools[] = {
    [NonPagedPool] = {.type = NonPagedPool,
                      .spin_lock = KSPIN_LOCK_INIT(nonpaged_pool_lock_class)},
    [PagedPool] = {.type = PagedPool,
                   .mutex = KGUARDED_MUTEX_INIT(pools[PagedPool].mutex, paged_pool_lock_class)},
};

/* The pool a block or page at va belongs to. */
static struct pool_descriptor *pool_of(vaddr_t va)
{
    return &pools[MmIsPagedPoolAddress(va) ? PagedPool : NonPagedPool];
}

static KIRQL pool_lock(struct pool_descriptor *pool)
{
    if (pool->type == NonPagedPool)
        return KeAcquireSpinLock(&pool->spin_lock);
    KeAcquireGuardedMutex(&pool->mutex);
    return PASSIVE_LEVEL;                   /* unused: the mutex keeps its owner's */
}

static void pool_unlock(struct pool_descriptor *pool, KIRQL old)
{
    if (pool->type == NonPagedPool)
        KeReleaseSpinLock(&pool->spin_lock, old);
    else
        KeReleaseGuardedMutex(&pool->mutex);
}

static uint32_t block_size(unsigned size_class)
{
    return 16u << size_class;
}

static uint32_t blocks_per_page(unsigned size_class)
{
    return (PAGE_SIZE - sizeof(struct pool_page)) / block_size(size_class);
}

static unsigned size_class_of(size_t bytes)
{
    unsigned size_class = 0;

    while (block_size(size_class) < bytes + sizeof(struct pool_header))
        size_class++;
    return size_class;
}

/* ---- pages ---- */

static void free_frames(vaddr_t va, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        vaddr_t page = va + i * PAGE_SIZE;
        paddr_t physical;

        KASSERT(MmGetPhysicalAddress(page, &physical));
        MiUnmapRange(page, PAGE_SIZE);
        MiInsertPageInFreeList(paddr_to_pfn(physical));
    }
}

/* count pages of system space with fresh frames; 0, holding nothing, when either runs out. */
static vaddr_t allocate_nonpaged_pages(uint32_t count)
{
    vaddr_t va = MiReserveSystemPtes(count);
    uint32_t mapped = 0;

    if (!va)
        return 0;
    for (; mapped < count; mapped++) {
        pfn_t pfn = MiRemoveAnyPage(POOL_PAGE_USE);
        if (pfn == PFN_INVALID)
            goto undo;
        /* Fails only when a new page table is needed and no frame is left for it. */
        if (!NT_SUCCESS(MiMapRange(va + mapped * PAGE_SIZE, pfn_to_paddr(pfn), PAGE_SIZE,
                                   pte_make_kernel(0, true)))) {
            MiInsertPageInFreeList(pfn);
            goto undo;
        }
    }
    return va;

undo:
    free_frames(va, mapped);
    MiReleaseSystemPtes(va, count);
    return 0;
}

static vaddr_t allocate_pages(const struct pool_descriptor *pool, uint32_t count)
{
    if (pool->type == PagedPool)
        return MiAllocatePagedPoolPages(count);
    return allocate_nonpaged_pages(count);
}

static void free_pages(const struct pool_descriptor *pool, vaddr_t va, uint32_t count)
{
    if (pool->type == PagedPool) {
        MiFreePagedPoolPages(va, count);
        return;
    }
    free_frames(va, count);
    MiReleaseSystemPtes(va, count);
}

/* True when va is a page the pool took; only then may its header be read. */
static bool is_pool_page(vaddr_t va)
{
    paddr_t physical;

    if (MmIsPagedPoolAddress(va))
        return MiIsPagedPoolPageAllocated(va);

    if (!MmGetPhysicalAddress(va, &physical) || paddr_to_pfn(physical) > MmHighestPhysicalPage)
        return false;
    const struct mmpfn *entry = MiGetPfnEntry(paddr_to_pfn(physical));
    return entry->location == MI_PAGE_ACTIVE && entry->use == POOL_PAGE_USE;
}

/* ---- the lists of pages with a free block; interrupts are off ---- */

static void class_list_insert(struct pool_descriptor *pool, struct pool_page *page)
{
    struct pool_page **head = &pool->pages_with_free_blocks[page->size_class];

    page->previous = NULL;
    page->next = *head;
    if (*head)
        (*head)->previous = page;
    *head = page;
}

static void class_list_remove(struct pool_descriptor *pool, struct pool_page *page)
{
    if (page->previous)
        page->previous->next = page->next;
    else
        pool->pages_with_free_blocks[page->size_class] = page->next;
    if (page->next)
        page->next->previous = page->previous;
}

/* ---- small blocks ---- */

/* A page of free blocks, not yet listed. */
static struct pool_page *new_small_page(struct pool_descriptor *pool, unsigned size_class)
{
    struct pool_page *page = (struct pool_page *)allocate_pages(pool, 1);

    if (!page)
        return NULL;
    *page = (struct pool_page){.magic = SMALL_PAGE_MAGIC, .size_class = size_class};
    /* Linked from the last block back, so that blocks are handed out in address order. */
    for (uint32_t i = blocks_per_page(size_class); i-- > 0;) {
        struct pool_free_block *block =
            (struct pool_free_block *)((char *)(page + 1) + i * block_size(size_class));
        block->header = (struct pool_header){0, 0, size_class, BLOCK_FREE};
        block->next = page->free_blocks;
        page->free_blocks = block;
    }
    return page;
}

static void *allocate_small(struct pool_descriptor *pool, size_t bytes, uint32_t tag)
{
    unsigned size_class = size_class_of(bytes);
    KIRQL old = pool_lock(pool);
    struct pool_page *page = pool->pages_with_free_blocks[size_class];

    if (!page) {
        /* Mapped with interrupts on: no one else can see the page until it is listed. */
        pool_unlock(pool, old);
        page = new_small_page(pool, size_class);
        if (!page)
            return NULL;
        old = pool_lock(pool);
        class_list_insert(pool, page);
        pool->statistics.pages++;
    }

    struct pool_free_block *block = page->free_blocks;
    if (block->header.state != BLOCK_FREE || block->header.size_class != size_class)
        panic("pool: the free block at %p is overwritten", (void *)block);
    page->free_blocks = block->next;
    if (!page->free_blocks)
        class_list_remove(pool, page);
    page->blocks_in_use++;
    block->header = (struct pool_header){tag, bytes, size_class, BLOCK_BUSY};
    pool->statistics.allocations++;
    pool->statistics.bytes_requested += bytes;
    pool_unlock(pool, old);
    return &block->header + 1;
}

/* Puts a block back on its page's list; returns its page when that is now empty and unlisted. */
static struct pool_page *free_small(struct pool_descriptor *pool, struct pool_header *header)
{
    struct pool_page *page = (struct pool_page *)ALIGN_DOWN((vaddr_t)header, (vaddr_t)PAGE_SIZE);
    struct pool_free_block *block = (struct pool_free_block *)header;
    bool was_full = page->free_blocks == NULL;

    pool->statistics.bytes_requested -= header->bytes;
    block->next = page->free_blocks;
    page->free_blocks = block;
    if (was_full)
        class_list_insert(pool, page);
    if (--page->blocks_in_use > 0)
        return NULL;
    class_list_remove(pool, page);
    pool->statistics.pages--;
    return page;
}

/* ---- large blocks ---- */

static void *allocate_large(struct pool_descriptor *pool, size_t bytes, uint32_t tag)
{
    if (bytes > MAX_POOL_BYTES)
        return NULL;
    uint32_t offset = sizeof(struct pool_large_page) + sizeof(struct pool_header);
    uint32_t page_count = ALIGN_UP(offset + bytes, (uint32_t)PAGE_SIZE) / PAGE_SIZE;
    struct pool_large_page *large = (struct pool_large_page *)allocate_pages(pool, page_count);

    if (!large)
        return NULL;
    *large = (struct pool_large_page){LARGE_PAGE_MAGIC, page_count, bytes};
    struct pool_header *header = (struct pool_header *)(large + 1);
    *header = (struct pool_header){tag, 0, LARGE_BLOCK, BLOCK_BUSY};

    KIRQL old = pool_lock(pool);
    pool->statistics.pages += page_count;
    pool->statistics.allocations++;
    pool->statistics.bytes_requested += bytes;
    pool_unlock(pool, old);
    return header + 1;
}

/* ---- the interface ---- */

void *ExAllocatePoolWithTag(enum pool_type type, size_t bytes, uint32_t tag)
{
    KASSERT(type == NonPagedPool ? KeGetCurrentIrql() <= DISPATCH_LEVEL
                                 : type == PagedPool && KeGetCurrentIrql() <= APC_LEVEL);
    struct pool_descriptor *pool = &pools[type];
    if (MiInjectedFailure(&MiPoolInjection))
        return NULL;
    if (bytes <= SMALL_BLOCK_LIMIT)
        return allocate_small(pool, bytes, tag);
    return allocate_large(pool, bytes, tag);
}

static NORETURN void not_a_pool_block(const void *block)
{
    panic("ExFreePoolWithTag: %p is not a pool block (or its page was freed already)", block);
}

/* True when a block of page's class starts offset bytes into page. */
static bool block_starts_at(const struct pool_page *page, uint32_t offset)
{
    if (page->size_class >= SIZE_CLASSES || offset < sizeof(struct pool_page))
        return false;
    uint32_t size = block_size(page->size_class);
    uint32_t into_blocks = offset - sizeof(struct pool_page);
    return into_blocks % size == 0 && into_blocks / size < blocks_per_page(page->size_class);
}

/*
 * The header of a block the pool handed out, found without trusting the pointer: its page
 * must be a pool page and the header must sit where that page keeps one. Panics otherwise.
 */
static struct pool_header *header_of(void *block)
{
    vaddr_t va = (vaddr_t)block;
    vaddr_t header_va = va - sizeof(struct pool_header);
    vaddr_t page_va = ALIGN_DOWN(header_va, (vaddr_t)PAGE_SIZE);
    uint32_t offset = header_va - page_va;
    unsigned size_class;

    if (va % 8 != 0 || va < MmSystemRangeStart + sizeof(struct pool_header) ||
        !is_pool_page(page_va))
        not_a_pool_block(block);
    const struct pool_page *page = (const struct pool_page *)page_va;
    if (page->magic == LARGE_PAGE_MAGIC && offset == sizeof(struct pool_large_page))
        size_class = LARGE_BLOCK;
    else if (page->magic == SMALL_PAGE_MAGIC && block_starts_at(page, offset))
        size_class = page->size_class;
    else
        not_a_pool_block(block);

    struct pool_header *header = (struct pool_header *)header_va;
    if (header->size_class != size_class ||
        (header->state != BLOCK_BUSY && header->state != BLOCK_FREE))
        panic("ExFreePoolWithTag: the header of %p is overwritten", block);
    return header;
}

void ExFreePoolWithTag(void *block, uint32_t tag)
{
    struct pool_descriptor *pool = pool_of((vaddr_t)block);
    KASSERT(KeGetCurrentIrql() <= (pool->type == NonPagedPool ? DISPATCH_LEVEL : APC_LEVEL));
    KIRQL old = pool_lock(pool);
    struct pool_header *header = header_of(block);
    vaddr_t release;
    uint32_t release_count;

    if (header->state == BLOCK_FREE)
        panic("ExFreePoolWithTag: %p freed twice (tag 0x%08X)", block, tag);
    if (header->tag != tag)
        panic("ExFreePoolWithTag: %p freed with tag 0x%08X, allocated with 0x%08X", block,
              tag, header->tag);

    header->state = BLOCK_FREE;
    pool->statistics.allocations--;
    if (header->size_class == LARGE_BLOCK) {
        struct pool_large_page *large =
            (struct pool_large_page *)ALIGN_DOWN((vaddr_t)header, (vaddr_t)PAGE_SIZE);
        pool->statistics.bytes_requested -= large->bytes;
        pool->statistics.pages -= large->page_count;
        release = (vaddr_t)large;
        release_count = large->page_count;
    } else {
        release = (vaddr_t)free_small(pool, header);
        release_count = 1;
    }
    pool_unlock(pool, old);

    /* Off every list and out of the count, the pages are no one's: unmapped interrupts on. */
    if (release)
        free_pages(pool, release, release_count);
}

void ExQueryPoolStatistics(enum pool_type type, struct pool_statistics *out)
{
    KASSERT(type == NonPagedPool || type == PagedPool);
    KIRQL old = pool_lock(&pools[type]);
    *out = pools[type].statistics;
    pool_unlock(&pools[type], old);
}
