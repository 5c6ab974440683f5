#pragma once
/*
 * Kernel objects and handles. An object starts with a struct object_header that counts
 * references (handles, and kernel pointers that keep it alive); the last reference
 * destroys it. Each process has a handle table mapping handles to objects.
 */
#include "kernel/ntabi.h"
#include "kernel/ntstatus.h"
#include "kernel/types.h"

enum object_type {
    OBJECT_PROCESS = 1,
    OBJECT_SECTION,
};

struct object_header {
    enum object_type type;
    uint32_t references;
    void (*destroy)(struct object_header *object);
};

#define HANDLE_TABLE_SIZE 64

struct handle_table {
    struct object_header *entries[HANDLE_TABLE_SIZE];
};

void object_reference(struct object_header *object);
void object_dereference(struct object_header *object);

/* Handles are small multiples of 4, as on NT; 0 and the pseudo-handles are never used. */
ntstatus_t handle_insert(struct handle_table *table, struct object_header *object,
                         nt_handle_t *handle);
/* The object behind handle, referenced, if it is of type; STATUS_INVALID_HANDLE or
   STATUS_OBJECT_TYPE_MISMATCH otherwise. */
ntstatus_t handle_reference(struct handle_table *table, nt_handle_t handle,
                            enum object_type type, struct object_header **object);
ntstatus_t handle_close(struct handle_table *table, nt_handle_t handle);
/*
 * Gives the current process a handle to object, written to user address out; the
 * caller's reference to object is dropped either way (the handle holds its own).
 */
ntstatus_t handle_insert_for_user(struct handle_table *table, struct object_header *object,
                                  vaddr_t out);

/* Closes every handle (a process ending). */
void handle_table_close_all(struct handle_table *table);
