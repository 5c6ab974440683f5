#pragma once
/*
 * Handles. Each process has a handle table mapping handles to objects (each starting
 * with a struct object_header, lib/object_header.h), each handle with the access it was
 * granted when it was made (an ACCESS_MASK, lib/ntabi.h).
 */
#include "arch/spinlock.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "lib/object_header.h"
#include "lib/types.h"

#define HANDLE_TABLE_SIZE 64

struct handle_entry {
    struct object_header *object;   /* NULL: the slot is free */
    uint32_t granted_access;
};

/*
 * A process's handles. Its lock, a spinlock, guards the entries and last_closed; an
 * object is referenced before its entry is made and dereferenced only after its entry is
 * gone and the lock let go (its last reference may destroy it, which takes other locks).
 */
struct handle_table {
    struct kspin_lock lock;
    struct handle_entry entries[HANDLE_TABLE_SIZE];
    uint32_t last_closed;           /* the slot freed last, plus 1 (0: none): reused first */
};

/* Makes table empty, with its lock (every table starts here). */
void handle_table_init(struct handle_table *table);

/*
 * The access a handle to an object of type keeps when desired is asked for: the generic
 * rights mapped to the type's own (its GENERIC_MAPPING), MAXIMUM_ALLOWED as every right
 * of the type, the rights Windows implies with others added, and rights the type does
 * not have dropped, as Windows' object manager does. There is no security descriptor to
 * check against: what is asked is granted, but ACCESS_SYSTEM_SECURITY, which needs a
 * privilege no program holds here (STATUS_ACCESS_DENIED).
 */
ntstatus_t object_grant_access(enum object_type type, uint32_t desired, uint32_t *granted);

/*
 * Handles are small multiples of 4, as on NT; 0 and the pseudo-handles are never used.
 * The slot closed last is taken first (NT's free list is last in, first out), else the
 * lowest free one.
 */
ntstatus_t handle_insert(struct handle_table *table, struct object_header *object,
                         uint32_t granted_access, nt_handle_t *handle);
/*
 * The object behind handle, referenced, if it is of type and its handle grants every
 * right in desired_access; STATUS_INVALID_HANDLE, STATUS_OBJECT_TYPE_MISMATCH or
 * STATUS_ACCESS_DENIED otherwise.
 */
ntstatus_t handle_reference(struct handle_table *table, nt_handle_t handle,
                            enum object_type type, uint32_t desired_access,
                            struct object_header **object);
/* The object behind handle, of any type, referenced, and the access its handle grants. */
ntstatus_t handle_lookup(struct handle_table *table, nt_handle_t handle,
                         struct object_header **object, uint32_t *granted_access);
ntstatus_t handle_close(struct handle_table *table, nt_handle_t handle);
/*
 * Gives the current process a handle to object with granted_access, written to user
 * address out; the caller's reference to object is dropped either way (the handle holds
 * its own).
 */
ntstatus_t handle_insert_for_user(struct handle_table *table, struct object_header *object,
                                  uint32_t granted_access, vaddr_t out);

/* Closes every handle (a process ending). */
void handle_table_close_all(struct handle_table *table);
