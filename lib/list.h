#pragma once
/* Intrusive doubly linked lists, as NT's LIST_ENTRY: a list is a circular ring with a head. */
#include <stddef.h>
#include "lib/types.h"

struct list_entry {
    struct list_entry *next;
    struct list_entry *prev;
};

/* The structure that holds the list entry at address, as NT's CONTAINING_RECORD. */
#define CONTAINING_RECORD(address, type, field) \
    ((type *)((char *)(address) - offsetof(type, field)))

static inline void list_init(struct list_entry *head)
{
    head->next = head->prev = head;
}

static inline bool list_is_empty(const struct list_entry *head)
{
    return head->next == head;
}

static inline void list_insert_tail(struct list_entry *head, struct list_entry *entry)
{
    entry->next = head;
    entry->prev = head->prev;
    head->prev->next = entry;
    head->prev = entry;
}

static inline void list_insert_head(struct list_entry *head, struct list_entry *entry)
{
    entry->next = head->next;
    entry->prev = head;
    head->next->prev = entry;
    head->next = entry;
}

static inline void list_remove(struct list_entry *entry)
{
    entry->prev->next = entry->next;
    entry->next->prev = entry->prev;
    entry->next = entry->prev = entry;
}

/* The first entry, unlinked; NULL when the list is empty. */
static inline struct list_entry *list_remove_head(struct list_entry *head)
{
    struct list_entry *first = head->next;

    if (first == head)
        return NULL;
    list_remove(first);
    return first;
}
