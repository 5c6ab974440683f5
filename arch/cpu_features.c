#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/mmu.h"
#include "kernel/console.h"

/* CPUID leaf 1, EDX (Intel SDM vol. 2A, CPUID, table 3-11). */
#define CPUID_EDX_PSE   (1u << 3)
#define CPUID_EDX_TSC   (1u << 4)
#define CPUID_EDX_PGE   (1u << 13)

struct cpu_features cpu_features;
uint32_t arch_global_pte_bit;

/* CPUID exists exactly when software can flip EFLAGS.ID (SDM vol. 1, 19.1). */
static bool cpu_has_cpuid(void)
{
    uint32_t before = cpu_read_eflags();

    cpu_write_eflags(before ^ EFLAGS_ID);
    uint32_t after = cpu_read_eflags();
    cpu_write_eflags(before);
    return (before ^ after) & EFLAGS_ID;
}

void cpu_features_init(void)
{
    uint32_t a, b, c, d;

    cpu_features.cpuid = cpu_has_cpuid();
    if (cpu_features.cpuid) {
        cpu_cpuid(0, &a, &b, &c, &d);
        uint32_t max_leaf = a;
        uint32_t *vendor = (uint32_t *)cpu_features.vendor;
        vendor[0] = b;
        vendor[1] = d;
        vendor[2] = c;
        cpu_features.vendor[12] = '\0';
        if (max_leaf >= 1) {
            cpu_cpuid(1, &a, &b, &c, &d);
            cpu_features.stepping = a & 0xF;
            cpu_features.model = (a >> 4) & 0xF;
            cpu_features.family = (a >> 8) & 0xF;
            cpu_features.pse = d & CPUID_EDX_PSE;
            cpu_features.tsc = d & CPUID_EDX_TSC;
            cpu_features.pge = d & CPUID_EDX_PGE;
        }
    }
    if (cpu_features.pge) {
        cpu_write_cr4(cpu_read_cr4() | CR4_PGE);
        arch_global_pte_bit = PTE_GLOBAL;
    }
    /*
     * No thread's x87 state is saved on a switch, so no thread may use the x87 at all:
     * with CR0.EM set its instructions fault (#NM) instead of leaking state between
     * processes.
     */
    cpu_write_cr0((cpu_read_cr0() | CR0_EM) & ~CR0_MP);
}

void cpu_features_print(void)
{
    if (!cpu_features.cpuid) {
        kprintf("cpu: no CPUID (a 486 or older); no global pages, no TSC\n");
        return;
    }
    kprintf("cpu: %s family %u model %u stepping %u; features:%s%s%s invlpg\n",
            cpu_features.vendor, cpu_features.family, cpu_features.model,
            cpu_features.stepping, cpu_features.pse ? " pse" : "",
            cpu_features.tsc ? " tsc" : "", cpu_features.pge ? " pge" : "");
}

void cpu_flush_tlb_all(void)
{
    uint32_t flags = cpu_save_disable_interrupts();

    if (cpu_features.pge) {
        /* Clearing CR4.PGE drops global entries too (SDM vol. 3A, 4.10.4.1). */
        uint32_t cr4 = cpu_read_cr4();
        cpu_write_cr4(cr4 & ~CR4_PGE);
        cpu_write_cr4(cr4);
    } else {
        cpu_write_cr3(cpu_read_cr3());
    }
    cpu_restore_interrupts(flags);
}
