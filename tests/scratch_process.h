#pragma once
/*
 * A scratch process for the memory manager's suites: a fresh, empty process, attached,
 * with a note of what must come back once it is gone (frames, commit, page tables,
 * pagefile slots).
 */
#include "kernel/process.h"
#include "tests/ktest.h"

struct scratch {
    struct process *process;
    uint32_t available_pages;
    uint32_t committed_pages;
    uint32_t user_page_tables;
    uint32_t system_page_tables;    /* made meanwhile, shared and kept: not a leak */
    uint32_t pagefile_slots;
};

/* Creates the process (named name) and attaches to it; false, with a failed check, if not. */
bool scratch_begin(struct ktest *t, struct scratch *s, const char *name);

/* Detaches, discards the process and checks that everything it held came back. */
void scratch_end(struct ktest *t, struct scratch *s);
