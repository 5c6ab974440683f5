/*
 * Page faults taken by the kernel: CR2 and the error code reach the handler exactly,
 * and code that expects a fault (arch_copy_checked) gets it back as an error instead
 * of stopping the machine.
 */
#include "arch/copy_checked.h"
#include "arch/kthread.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "arch/trap.h"
#include "lib/ntstatus.h"
#include "lib/string.h"
#include "mm/pagetable.h"
#include "mm/pfn.h"
#include "mm/syspte.h"
#include "tests/ktest.h"

static void expect_fault(struct ktest *t, vaddr_t address, uint32_t error_code)
{
    KT_EXPECT_EQ(t, TRAP_PAGE_FAULT, trap_last_recovered_fault()->vector);
    KT_EXPECT_EQ(t, address, trap_last_recovered_fault()->address);
    KT_EXPECT_EQ(t, error_code, trap_last_recovered_fault()->error_code);
}

static void forget_last_fault(void)
{
    *trap_last_recovered_fault() = (struct trap_recovered_fault){0};
}

/* An address in system PTE space that nothing has mapped. */
static vaddr_t unmapped_address(void)
{
    vaddr_t va = MiReserveSystemPtes(1);
    MiReleaseSystemPtes(va, 1);
    return va;
}

static void read_of_unmapped_page(struct ktest *t)
{
    vaddr_t va = unmapped_address() + 0x2C;
    uint32_t value = 0x12345678;

    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked(&value, (const void *)va, sizeof(value)));
    expect_fault(t, va, 0);     /* not present, read, kernel mode */
    KT_EXPECT_EQ(t, 0x12345678, value);
}

static void write_to_unmapped_page(struct ktest *t)
{
    vaddr_t va = unmapped_address() + 0xFFC;
    uint32_t value = 1;

    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked((void *)va, &value, sizeof(value)));
    expect_fault(t, va, PF_WRITE);
}

static void null_pointer(struct ktest *t)
{
    uint32_t value;

    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked(&value, NULL, sizeof(value)));
    expect_fault(t, 0, 0);
    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked((void *)0xFFFFFFFC, &value, sizeof(value)));
    expect_fault(t, 0xFFFFFFFC, PF_WRITE);
}

/* CR0.WP: the kernel cannot write its own code, and the code stays as it was. */
static void write_to_kernel_code(struct ktest *t)
{
    uint8_t *code = (uint8_t *)write_to_kernel_code;
    uint8_t original = *code, junk = original ^ 0xFF;

    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked(code, &junk, 1));
    expect_fault(t, (vaddr_t)code, PF_PRESENT | PF_WRITE);
    KT_EXPECT_EQ(t, original, *code);
}

/* A copy that runs off the end of a mapping faults at the first byte beyond it. */
static void copy_across_into_unmapped(struct ktest *t)
{
    vaddr_t va = MiReserveSystemPtes(2);
    pfn_t pfn = MiRemoveAnyPage(MI_USE_SYSTEM);
    uint8_t buffer[32];

    KT_ASSERT(t, va && pfn != PFN_INVALID);
    KT_ASSERT_EQ(t, STATUS_SUCCESS, MiMapRange(va, pfn_to_paddr(pfn), PAGE_SIZE,
                                               pte_make_kernel(0, true)));
    memset((void *)(va + PAGE_SIZE - 16), 0x3C, 16);
    memset(buffer, 0, sizeof(buffer));
    forget_last_fault();
    KT_EXPECT_EQ(t, -1, arch_copy_checked(buffer, (const void *)(va + PAGE_SIZE - 16), 32));
    expect_fault(t, va + PAGE_SIZE, 0);
    KT_EXPECT_EQ(t, 0x3C, buffer[15]);
    KT_EXPECT_EQ(t, 0, buffer[16]);
    MiUnmapRange(va, PAGE_SIZE);
    MiReleaseSystemPtes(va, 2);
    MiInsertPageInFreeList(pfn);
}

/* A copy that does not fault succeeds, and the fault record is left alone. */
static void clean_copy_succeeds(struct ktest *t)
{
    uint32_t from = 0xC0FFEE, to = 0;

    forget_last_fault();
    KT_EXPECT_EQ(t, 0, arch_copy_checked(&to, &from, sizeof(to)));
    KT_EXPECT_EQ(t, 0xC0FFEE, to);
    KT_EXPECT_EQ(t, 0, trap_last_recovered_fault()->vector);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(read_of_unmapped_page),
    KTEST_CASE(write_to_unmapped_page),
    KTEST_CASE(null_pointer),
    KTEST_CASE(write_to_kernel_code),
    KTEST_CASE(copy_across_into_unmapped),
    KTEST_CASE(clean_copy_succeeds),
};

KTEST_SUITE(fault_suite, "fault", cases);
