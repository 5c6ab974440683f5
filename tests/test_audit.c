/*
 * The isolation audit (mm/audit.c) at work: run again and again while processes stamp
 * their memory, share sections and page, it must find nothing; and it must find a
 * violation planted on purpose (one private frame mapped into two processes), so that
 * its silence means something.
 */
#include "arch/copy_checked.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "lib/format.h"
#include "lib/ntabi.h"
#include "lib/ntstatus.h"
#include "mm/audit.h"
#include "mm/mm.h"
#include "mm/pfn.h"
#include "mm/virtual.h"
#include "tests/program_harness.h"
#include "tests/scratch_process.h"
#include "tests/user/tokens.h"

#define WORKERS         4
#define WORKER_PAGES    600     /* at most: a small machine's commit limit gets less */
#define AUDIT_TICKS     5       /* between two audits while the workers run */

static void audit_finds_nothing_while_processes_run(struct ktest *t)
{
    struct process *workers[WORKERS];
    struct resources before;
    struct mi_audit audit, total = {0};
    unsigned audits = 0, started = 0;

    if (!have_module(t, "pagestress.exe"))
        KT_SKIP(t, "pagestress.exe not loaded");
    take_snapshot(&before);
    /* Each views worker commits 2.5 times its pages; leave half the commit free. */
    uint32_t pages = MIN((uint32_t)WORKER_PAGES,
                         (MmTotalCommitLimit - MmTotalCommittedPages) / (4 * WORKERS));
    for (unsigned i = 0; i < WORKERS; i++) {
        char arguments[48];
        ksnprintf(arguments, sizeof(arguments), "%u %u 3 %s", 40 + i, pages,
                  i % 2 ? "views" : "private");
        if (KT_EXPECT_EQ(t, STATUS_SUCCESS,
                         start_program("pagestress.exe", arguments, &workers[started])))
            started++;
    }
    for (unsigned i = 0; i < started; i++) {
        while (process_wait(workers[i], AUDIT_TICKS) == STATUS_TIMEOUT) {
            MiAuditAddressSpaces(&audit);
            audits++;
            total.ptes_checked += audit.ptes_checked;
            total.frames_checked += audit.frames_checked;
            total.shared_mappings += audit.shared_mappings;
            total.violations += audit.violations;
            total.spaces = MAX(total.spaces, audit.spaces);
            total.spaces_busy += audit.spaces_busy;
        }
        KT_EXPECT_EQ(t, STATUS_SUCCESS, (uint32_t)workers[i]->exit_status);
        object_dereference(&workers[i]->header);
    }
    MiAuditAddressSpaces(&audit);
    total.violations += audit.violations;
    KT_EXPECT(t, audits >= 2);
    KT_EXPECT_EQ(t, 0, total.violations);
    ktest_diag(t, "%u audits of up to %u address spaces (%u left out while busy): %u PTEs, "
               "%u frames (%u shared mappings) checked; violations: %u", audits, total.spaces,
               total.spaces_busy, total.ptes_checked,
               total.frames_checked, total.shared_mappings, total.violations);
    expect_nothing_leaked(t, &before);
}

/* ---- tokens ---- */

#define TOKEN_SEED      0x70CE5EEDu
#define SCANNERS        3

/* The tokens of TOKEN_SEED in the current address space's committed, readable memory. */
static uint32_t count_planted_tokens(void)
{
    uint32_t complement = token_magic_complement(TOKEN_SEED), found = 0;
    struct nt_memory_basic_information region;

    for (vaddr_t address = MM_LOWEST_USER_ADDRESS;
         NT_SUCCESS(MmQueryVirtualMemory(address, &region)) &&
         region.base_address + region.region_size > address;
         address = region.base_address + region.region_size) {
        if (region.state != MEM_COMMIT || region.protect == PAGE_NOACCESS ||
            (region.protect & PAGE_GUARD))
            continue;
        for (vaddr_t va = region.base_address;
             va + 16 <= region.base_address + region.region_size; va += 4) {
            uint32_t words[TOKEN_WORDS];
            if (arch_copy_checked(words, (const void *)va, sizeof(words)) == 0)
                found += token_at(words, complement);
        }
    }
    return found;
}

/*
 * One process plants 10,000 tokens in its private pages, a section view and its stack;
 * three others read every readable page of their own address spaces, and what the
 * services hand them, and must find none; the planter's memory, read by the kernel,
 * holds them all. Audits run meanwhile.
 */
static void planted_tokens_are_seen_by_no_one(struct ktest *t)
{
    struct process *planter, *scanners[SCANNERS];
    struct resources before;
    struct mi_audit audit;
    char arguments[32];
    uint32_t violations = 0;

    if (!have_module(t, "tokens.exe"))
        KT_SKIP(t, "tokens.exe not loaded");
    take_snapshot(&before);
    ksnprintf(arguments, sizeof(arguments), "plant 0x%08x", TOKEN_SEED);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, start_program("tokens.exe", arguments, &planter));
    KT_EXPECT_EQ(t, STATUS_TIMEOUT, process_wait(planter, 50));    /* it plants, sleeps */
    process_attach(planter);
    uint32_t planted = count_planted_tokens();
    process_detach();
    KT_EXPECT(t, planted >= TOKEN_COUNT);

    ksnprintf(arguments, sizeof(arguments), "scan 0x%08x", TOKEN_SEED);
    unsigned started = 0;
    for (unsigned i = 0; i < SCANNERS; i++)
        if (KT_EXPECT_EQ(t, STATUS_SUCCESS,
                         start_program("tokens.exe", arguments, &scanners[started])))
            started++;
    uint32_t found = 0;
    for (unsigned i = 0; i < started; i++) {
        while (process_wait(scanners[i], AUDIT_TICKS) == STATUS_TIMEOUT) {
            MiAuditAddressSpaces(&audit);
            violations += audit.violations;
        }
        found += (uint32_t)scanners[i]->exit_status;
        object_dereference(&scanners[i]->header);
    }
    MiAuditAddressSpaces(&audit);
    violations += audit.violations;
    process_terminate(planter, STATUS_SUCCESS);
    process_wait(planter, WAIT_FOREVER);
    object_dereference(&planter->header);
    KT_EXPECT_EQ(t, 0, found);
    KT_EXPECT_EQ(t, 0, violations);
    ktest_diag(t, "tokens planted %u (seen in the planter by the kernel), found by %u other "
               "processes %u; audit violations %u", planted, started, found, violations);
    expect_nothing_leaked(t, &before);
}

/* A private frame of A mapped writable into B too: the audit must say so, then not. */
static void audit_catches_a_planted_violation(struct ktest *t)
{
    struct scratch a, b;
    struct mi_audit audit;
    vaddr_t va_a = 0, va_b = 0;
    uint32_t size = PAGE_SIZE;

    if (!scratch_begin(t, &a, "audit-a"))
        return;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&va_a, &size,
                 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0));
    *(volatile uint32_t *)va_a = 0xA;
    mmpte_t pte_a = *pte_of(va_a);
    pfn_t table_a = pte_pfn(*pde_of(va_a));
    process_detach();

    if (!scratch_begin(t, &b, "audit-b"))
        return;
    size = PAGE_SIZE;
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MmAllocateVirtualMemory(&va_b, &size,
                 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0));
    MiAuditAddressSpaces(&audit);
    KT_EXPECT_EQ(t, 0, audit.violations);

    /* The plant: B maps A's frame; the frame's books still say A alone has it. */
    mmpte_t demand_zero = *pte_of(va_b);
    MiAddPageReference(pte_pfn(pte_a));
    MiWriteUserPte(va_b, MiMakeValidUserPte(pte_pfn(pte_a), PAGE_READWRITE));
    MiAuditAddressSpaces(&audit);
    KT_EXPECT(t, audit.violations >= 1);
    ktest_diag(t, "planted: one frame in two processes; violations found: %u",
               audit.violations);

    MiWriteUserPte(va_b, demand_zero);
    MiReleasePageReference(pte_pfn(pte_a));
    MiSetPteOwnerFrame(pte_pfn(pte_a), table_a, (va_a >> PAGE_SHIFT) % PTES_PER_TABLE);
    MiAuditAddressSpaces(&audit);
    KT_EXPECT_EQ(t, 0, audit.violations);
    scratch_end(t, &b);
    process_attach(a.process);
    scratch_end(t, &a);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(audit_finds_nothing_while_processes_run),
    KTEST_CASE(audit_catches_a_planted_violation),
    KTEST_CASE(planted_tokens_are_seen_by_no_one),
};

KTEST_SUITE(audit_suite, "audit", cases);
