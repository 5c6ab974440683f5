/*
 * KUSER_SHARED_DATA, written through the kernel's own alias of the page. Field offsets
 * are NT's (lib/ntabi.h). A KSYSTEM_TIME is written High2Time, LowPart, High1Time,
 * so a reader that sees High1Time == High2Time knows LowPart belongs to them.
 */
#include "arch/layout.h"
#include "arch/pit.h"
#include "boot/paging_mode.h"
#include "lib/ntabi.h"
#include "kernel/shared_data.h"
#include "mm/mm.h"

#define NT_MAJOR_VERSION 5
#define NT_MINOR_VERSION 0
#define HUNDRED_NS_PER_TICK (10000000 / PIT_HZ)

static volatile uint32_t *field(unsigned offset)
{
    return (volatile uint32_t *)(MmSharedUserData + offset);
}

static void write_system_time(unsigned offset, uint64_t value)
{
    field(offset)[2] = (uint32_t)(value >> 32);     /* High2Time */
    field(offset)[0] = (uint32_t)value;             /* LowPart */
    field(offset)[1] = (uint32_t)(value >> 32);     /* High1Time */
}

_Static_assert(NX_POLICY_ALWAYS_OFF == NX_SUPPORT_POLICY_ALWAYSOFF &&
                   NX_POLICY_ALWAYS_ON == NX_SUPPORT_POLICY_ALWAYSON &&
                   NX_POLICY_OPT_IN == NX_SUPPORT_POLICY_OPTIN &&
                   NX_POLICY_OPT_OUT == NX_SUPPORT_POLICY_OPTOUT,
               "enum nx_policy is NT's NX_SUPPORT_POLICY_*");

void shared_data_init(void)
{
    /* TickCountMultiplier: ms per tick in 8.24 fixed point, as NT computes it. */
    *field(NT_SHARED_TICK_MULTIPLIER) = (uint32_t)((1000ull << 24) / PIT_HZ);
    *field(NT_SHARED_NT_MAJOR_VERSION) = NT_MAJOR_VERSION;
    *field(NT_SHARED_NT_MINOR_VERSION) = NT_MINOR_VERSION;
    /* The paging mode, as NT reports it; enum nx_policy has NT's NX_SUPPORT_POLICY_* values. */
    MmSharedUserData[NT_SHARED_PROCESSOR_FEATURES + PF_PAE_ENABLED] = MM_PAE;
    MmSharedUserData[NT_SHARED_PROCESSOR_FEATURES + PF_NX_ENABLED] = boot_paging_mode.nx;
    MmSharedUserData[NT_SHARED_NX_SUPPORT_POLICY] = (uint8_t)boot_paging_mode.policy;
    shared_data_set_processors(1);
}

void shared_data_set_processors(uint32_t count)
{
    *field(NT_SHARED_ACTIVE_PROCESSOR_COUNT) = count;
}

void shared_data_update_time(uint64_t ticks)
{
    *field(NT_SHARED_TICK_COUNT_LOW) = (uint32_t)ticks;
    write_system_time(NT_SHARED_TICK_COUNT, ticks);
    write_system_time(NT_SHARED_INTERRUPT_TIME, ticks * HUNDRED_NS_PER_TICK);
}
