#pragma once
/*
 * Which page-table format and which no-execute policy a boot runs with, decided from the
 * command line and the processor as 32-bit Windows decides them (boot.ini's /PAE, /NOPAE,
 * /NOEXECUTE= and /EXECUTE; the BCD's pae and nx):
 *
 *  - the policy is OptIn unless an option says otherwise;
 *  - PAE is on whenever the processor has PAE and no-execute is to be used (NX present
 *    and a policy other than AlwaysOff), and with /PAE or pae=ForceEnable;
 *  - /NOPAE (pae=ForceDisable) is honoured only when no-execute is off, since refusing
 *    execution needs PAE's 64-bit entries;
 *  - a processor without PAE runs the two-level format whatever is asked, and one
 *    without NX refuses no execution (the policy is then reported as AlwaysOff).
 *
 * Pure: the boot stub (boot/select.c) runs it before paging to pick the kernel build,
 * and the kernel runs it again to print the choice and its warnings. Both get the same
 * answer from the same line and processor.
 */
#include "lib/types.h"

/*
 * NT's NX_SUPPORT_POLICY_* values (lib/ntabi.h), as KUSER_SHARED_DATA.NXSupportPolicy
 * reports them.
 */
enum nx_policy {
    NX_POLICY_ALWAYS_OFF = 0,
    NX_POLICY_ALWAYS_ON = 1,
    NX_POLICY_OPT_IN = 2,
    NX_POLICY_OPT_OUT = 3,
};

/* Why an option was not followed (struct paging_mode.notes). */
enum paging_note_kind {
    PAGING_NOTE_BAD_VALUE,          /* pae=, nx= or /NOEXECUTE= with a value it does not take */
    PAGING_NOTE_OVERRIDDEN,         /* a later option of the same kind replaces this one */
    PAGING_NOTE_NOPAE_NEEDS_NX_OFF, /* /NOPAE while no-execute is on: PAE stays */
    PAGING_NOTE_NO_PAE_CPU,         /* PAE asked for, the processor has none */
    PAGING_NOTE_NO_NX_CPU,          /* a policy asked for, the processor cannot refuse execution */
};

struct paging_note {
    enum paging_note_kind kind;
    const char *word;               /* the option as written */
    size_t length;
    const char *other;              /* PAGING_NOTE_OVERRIDDEN: the option that replaces it */
    size_t other_length;
};

#define PAGING_MAX_NOTES 8

struct paging_mode {
    bool pae;                       /* 64-bit entries (the PAE build) */
    bool nx;                        /* EFER.NXE on: execute-disable bits are honoured */
    enum nx_policy policy;          /* as configured: what NXSupportPolicy reports */
    unsigned note_count;
    struct paging_note notes[PAGING_MAX_NOTES];
};

/* What the processor offers: CPUID leaf 1 EDX bit 6 and leaf 0x80000001 EDX bit 20. */
struct paging_cpu {
    bool pae;
    bool nx;
};

void paging_mode_choose(const char *command_line, const struct paging_cpu *cpu,
                        struct paging_mode *mode);

/*
 * The mode this boot runs in (kernel_main sets it once, before the memory manager
 * starts): pae is the build's format (MM_PAE), nx whether EFER.NXE is on.
 */
extern struct paging_mode boot_paging_mode;

/* The policy's name as the options spell it: "OptIn", "AlwaysOff", ... */
const char *nx_policy_name(enum nx_policy policy);
