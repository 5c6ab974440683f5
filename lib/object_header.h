#pragma once
/*
 * The header every kernel object starts with: its type and a count of the references
 * (handles, and kernel pointers that keep it alive); the last reference destroys it.
 * It sits below every layer because objects are made in more than one: the memory
 * manager makes sections, the kernel processes, and the handle tables above both hold
 * them (kernel/object.h).
 */
#include "lib/types.h"

enum object_type {
    OBJECT_PROCESS = 1,
    OBJECT_SECTION,
};

struct object_header {
    enum object_type type;
    uint32_t references;
    void (*destroy)(struct object_header *object);
};

/* Counts one more reference. Atomic (NT's InterlockedIncrement), so no lock is needed. */
void object_reference(struct object_header *object);
/* Drops a reference; the last one destroys the object. */
void object_dereference(struct object_header *object);
