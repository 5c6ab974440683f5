#pragma once
/*
 * Page stamps for the paging suites: every word of a page gets a value made from the
 * page's address (its key) and a generation, so that a page that comes back from the
 * pagefile can be checked bit for bit, and a page of another address or generation
 * shows as different.
 */
#include "lib/types.h"

/* The word at index i of a page at va stamped with generation. */
uint32_t stamp_word(vaddr_t va, uint32_t generation, uint32_t i);

/* Stamps [va, va + pages) as if it were at key (so views of one page agree). */
void stamp_as(vaddr_t va, vaddr_t key, uint32_t pages, uint32_t generation);
void stamp(vaddr_t va, uint32_t pages, uint32_t generation);

/* Pages of [va, va + pages) that do not hold the stamp of generation made at key. */
uint32_t mismatches_as(vaddr_t va, vaddr_t key, uint32_t pages, uint32_t generation);
uint32_t mismatches(vaddr_t va, uint32_t pages, uint32_t generation);
