#pragma once
/*
 * fuzz.exe's own header: what its four parts share.
 *   fuzz.c            the engine: the books (what was there before, what the calls
 *                     made), issuing a call and checking its status, set-up, clean-up
 *   fuzz_arguments.c  the seeded stream and what arguments are made of: integers at the
 *                     edges, protections, flags, pointers of every kind, handles
 *   fuzz_calls.c      one maker per service, and the statuses each service may return
 *   fuzz_race.c       the racer thread, which keeps changing the memory under the calls
 */
#include "tests/user/fuzz_race.h"
#include "tests/user/runtime/rt.h"
#include "tests/user/status.h"

#define COUNT_OF(array)     (sizeof(array) / sizeof((array)[0]))
#define PICK(array)         ((array)[random_below(COUNT_OF(array))])
#define BIT(n)              (1u << (n))

#define PAGE                0x1000u
#define ARENA_SIZE          0x10000u    /* each of the scratch, read-only and guard arenas */
#define GUARD_PAGES         4           /* the guard arena's pages that carry PAGE_GUARD */
#define HIGHEST_ADDRESS     0x7FFEFFFFu /* fuzz.exe's limit, not being large-address-aware */
#define NEVER_MAPPED        0x7FFE1000u /* to HIGHEST_ADDRESS: beside KUSER_SHARED_DATA */
#define MAX_ARGUMENTS       10
#define MAX_KEPT            32
#define MAX_OWNED           24
#define MAX_SECTIONS        6
#define MAX_CHILDREN        3
#define MAX_HANDLE          0x100       /* 64 handles, 4 apart */
#define DISPLAY_MAX_BYTES   2048        /* NtDisplayString's limit, 1024 characters */

/* ---- the stream (fuzz_arguments.c) ---- */

void stream_seed(uint32_t seed);
uint32_t random_next(void);
uint32_t random_below(uint32_t n);
bool one_in(uint32_t n);
uint32_t edge(void);
uint32_t integer(void);
uint32_t region_size(void);
uint32_t protection(void);
uint32_t allocation_type(void);
uint32_t free_type(void);

/* ---- pointers (fuzz_arguments.c) ---- */

enum pointer_kind {
    P_NULL_REGION,          /* below 64 KB: never mapped */
    P_SYSTEM,               /* above the highest user address */
    P_STRADDLE,             /* just below it, running over it */
    P_NEVER_MAPPED,         /* in KUSER_SHARED_DATA's 64 KB, past its page */
    P_GUARD,                /* the guard arena: the first touch fails */
    P_CODE,                 /* main's code: readable, fixed, not writable */
    P_READ_ONLY,            /* the read-only arena: zeros, not writable */
    P_SCRATCH,              /* the scratch arena: what the fuzzer puts there */
    P_SHARED_DATA,          /* KUSER_SHARED_DATA: readable, changing, not writable */
    P_ANYWHERE,             /* any user address outside `kept`: mostly free */
    P_RACE_IN,              /* the racer's input pages: all zeros or all ones, or gone */
    P_RACE_OUT,             /* the racer's output pages and view window: may be gone */
    P_KIND_COUNT,
};

/* What the kernel cannot read or write. */
#define KINDS_UNREADABLE (BIT(P_NULL_REGION) | BIT(P_SYSTEM) | BIT(P_STRADDLE) | \
                          BIT(P_NEVER_MAPPED) | BIT(P_GUARD))
/* Where the fuzzer knows what the kernel will read (or that it cannot). */
#define KINDS_KNOWN      (KINDS_UNREADABLE | BIT(P_CODE) | BIT(P_READ_ONLY) | BIT(P_SCRATCH))
/* Where the kernel may write; P_RACE_IN only ever holds the racer's two values. */
#define KINDS_OUT        ((BIT(P_KIND_COUNT) - 1) & ~BIT(P_RACE_IN))
/* ... a handle written outside the scratch would be lost. */
#define KINDS_HANDLE_OUT (KINDS_OUT & ~BIT(P_ANYWHERE) & ~BIT(P_RACE_OUT))
/*
 * An input whose every value the racer leaves there (zero or all ones, in 8 aligned
 * bytes) is one the service refuses or does no harm with: a size, an offset, an
 * interval, working-set limits.
 */
#define KINDS_HARMLESS_IN (KINDS_KNOWN | BIT(P_RACE_IN))

struct pointer {
    uint32_t address;
    enum pointer_kind kind;
};

struct call {
    uint32_t number;
    uint32_t args[MAX_ARGUMENTS];
    bool raw;                       /* int 0x2E with EDX = raw_arguments instead */
    uint32_t raw_arguments;
    bool guard_used;
    /* What to do after a successful call. */
    enum {
        MAKES_NOTHING, MAKES_CHILD, MAKES_SECTION, MAKES_MEMORY, MAKES_THREAD,
        MAKES_HANDLE,               /* one more handle of this process: closed at once */
    } makes;
    bool closes_source;             /* NtDuplicateObject may close args[1], one of ours */
    struct pointer result;          /* where the new handle or base was written */
    struct pointer result_size;     /* where the new region's size was written */
    bool touches;                   /* touch the memory at touch_base */
    struct pointer touch_base;
    bool resets_dispatcher;
    uint32_t pointed[MAX_ARGUMENTS];    /* what the scratch held where an argument points */
    /* NtContinue with a real context, which resumes at the call with these EFLAGS asked for. */
    bool live_context;
    uint32_t context_eflags;
    uint16_t segment;               /* FS and GS during the call (the runtime uses neither) */
};

/* A pointer of one of kinds to size bytes; mostly into the scratch if it is one of them. */
struct pointer pointer(struct call *call, unsigned kinds, uint32_t size);
bool readable_by_fuzzer(struct pointer p);
/* Puts value where p points if that is the scratch (elsewhere the kernel reads what is there). */
void put(struct pointer p, const void *value, size_t size);
void put_word(struct pointer p, uint32_t value);
/* What the kernel will read at p: false if it cannot read there at all. */
bool peek_word(struct pointer p, uint32_t *value);
/* A length for a buffer of size bytes at address: mostly right, sometimes not at all. */
uint32_t length_for(uint32_t address, uint32_t size);
/* An optional ReturnLength: none, or a pointer of any kind. */
uint32_t return_length(struct call *call);

/* ---- handles (fuzz_arguments.c) ---- */

nt_handle_t any_handle(void);
/* Mostly this process, sometimes a child, sometimes any handle. */
nt_handle_t process_handle(void);

/* ---- the books (fuzz.c) ---- */

struct range {
    uint32_t start, end;                    /* [start, end) */
};

extern uint32_t scratch, read_only, guard;  /* the arenas */
extern struct range code;                   /* the region holding main's code */
extern struct range kept[MAX_KEPT];         /* every allocation there before the first call */
extern unsigned kept_count;
/* Allocation bases the calls made, oldest first; some may have been freed since. */
extern uint32_t owned[MAX_OWNED];
extern unsigned owned_count;
extern nt_handle_t sections[MAX_SECTIONS], children[MAX_CHILDREN];
extern unsigned section_count, child_count;
extern volatile uint32_t thread_stack;      /* an address on the stack of the last thread */
extern uint32_t own_process_id;            /* this process's id, for NtOpenProcess */

/* Reports a status that should not have come; only the first few are printed. */
void report(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Whether [start, start + length), in whole pages and wrapping past 4 GB, misses `kept`. */
bool range_is_expendable(uint32_t start, uint32_t length);
/* Where the threads the calls start begin: they end themselves at once. */
void thread_main(void *argument);

/* ---- the calls (fuzz_calls.c) ---- */

/* Draws the next call; false when it is one to leave out (the caller draws again). */
bool draw(struct call *c);
bool status_allowed(const struct call *c, ntstatus_t status);
const char *service_name(uint32_t number);
/* How many arguments the service takes (4 for a number that is no service). */
unsigned service_argument_count(uint32_t number);

/* ---- the racer (fuzz_race.c) ---- */

extern bool racing;                 /* `race` mode: the racer runs, P_RACE_* are drawn */
extern nt_handle_t race_section;    /* the section of the racer's view: not for NtClose */

/*
 * Makes the racer's pages and section and starts its thread; before the books are
 * opened, so that all of it counts as there before the first call.
 */
bool race_start(void);
/* Stops the racer, waits for its thread to end, and releases what it worked on. */
void race_stop(void);
/*
 * Ends the process with status from several threads at once: three more threads and the
 * caller call NtTerminateProcess(self) together. Returns only if no thread could be made.
 */
void race_end_process(ntstatus_t status);
