#include "arch/cpu.h"
#include "arch/cpu_features.h"
#include "arch/mmu.h"
#include "arch/pit.h"
#include "lib/console.h"
#include "lib/string.h"

/* CPUID leaf 1, EDX (Intel SDM vol. 2A, CPUID, table 3-11). */
#define CPUID_EDX_PSE   (1u << 3)
#define CPUID_EDX_TSC   (1u << 4)
#define CPUID_EDX_APIC  (1u << 9)
#define CPUID_EDX_PGE   (1u << 13)
#define CPUID_EDX_PAT   (1u << 16)
#define CPUID_EDX_PSE36 (1u << 17)
#define MSR_IA32_PAT    0x277
/*
 * The PAT this kernel uses: the power-on table (entry 0 write-back, 1 write-through,
 * 2 UC-, 3 uncached, 4-7 the same again) with entry 1, the one PWT alone selects,
 * made write-combining (SDM vol. 3A, 12.12.4): so a PAGE_WRITECOMBINE page is a PTE
 * with PWT set, and PCD|PWT (entry 3) stays uncached.
 */
#define PAT_WITH_WRITE_COMBINING 0x0007040600070106ull
/* CPUID leaf 7, subleaf 0 (table 3-8). */
#define CPUID_7_EBX_SMEP (1u << 7)
#define CPUID_7_ECX_UMIP (1u << 2)

struct cpu_features cpu_features;
uint32_t arch_global_pte_bit;
ptebits_t arch_no_execute_pte_bit;

void cpu_features_decode(const struct cpuid_result *raw, struct cpu_features *features)
{
    *features = (struct cpu_features){.cpuid = raw->present};
    if (!raw->present)
        return;
    memcpy(features->vendor, raw->vendor, sizeof(raw->vendor));
    features->vendor[12] = '\0';
    if (raw->max_leaf < 1)
        return;
    features->stepping = raw->leaf1_eax & 0xF;
    features->model = (raw->leaf1_eax >> 4) & 0xF;
    features->family = (raw->leaf1_eax >> 8) & 0xF;
    features->pse = raw->leaf1_edx & CPUID_EDX_PSE;
    features->tsc = raw->leaf1_edx & CPUID_EDX_TSC;
    features->pge = raw->leaf1_edx & CPUID_EDX_PGE;
    features->pat = raw->leaf1_edx & CPUID_EDX_PAT;
    features->apic = raw->leaf1_edx & CPUID_EDX_APIC;
    features->pae = raw->leaf1_edx & CPUID_EDX_PAE;
    features->nx = raw->extended1_edx & CPUID_EXT_EDX_NX;
    /*
     * MAXPHYADDR from leaf 0x80000008 (SDM vol. 3A, 4.1.4). Without that leaf the SDM
     * gives 36 to every PAE processor, but emulated ones without PSE-36 (QEMU's qemu32,
     * pentium2) address only 32 bits: 36 is believed only with PSE-36 too.
     */
    features->physical_address_bits = !features->pae       ? 32
                                      : raw->extended8_eax ? raw->extended8_eax & 0xFF
                                      : raw->leaf1_edx & CPUID_EDX_PSE36 ? 36
                                                                         : 32;
    if (raw->max_leaf < 7)
        return;
    features->smep = raw->leaf7_ebx & CPUID_7_EBX_SMEP;
    features->umip = raw->leaf7_ecx & CPUID_7_ECX_UMIP;
}

static void read_cpuid(struct cpuid_result *raw)
{
    uint32_t unused;

    *raw = (struct cpuid_result){.present = cpu_has_cpuid()};
    if (!raw->present)
        return;
    cpu_cpuid(0, &raw->max_leaf, &raw->vendor[0], &raw->vendor[2], &raw->vendor[1]);
    if (raw->max_leaf >= 1)
        cpu_cpuid(1, &raw->leaf1_eax, &unused, &unused, &raw->leaf1_edx);
    if (raw->max_leaf >= 7)
        cpu_cpuid(7, &unused, &raw->leaf7_ebx, &raw->leaf7_ecx, &unused);
    raw->extended1_edx = cpu_extended1_edx();
    if (cpu_max_extended_leaf() >= CPUID_EXTENDED + 8)
        cpu_cpuid(CPUID_EXTENDED + 8, &raw->extended8_eax, &unused, &unused, &unused);
}

void cpu_features_init(void)
{
    struct cpuid_result raw;

    read_cpuid(&raw);
    cpu_features_decode(&raw, &cpu_features);
    if (cpu_features.pge) {
        cpu_write_cr4(cpu_read_cr4() | CR4_PGE);
        arch_global_pte_bit = PTE_GLOBAL;
    }
    /*
     * Defence in depth where the CPU has it: ring 0 never runs code from a user page
     * (SMEP, SDM vol. 3A, 4.6.1), and ring 3 cannot read the GDT, IDT, LDT and TSS
     * addresses with sgdt and its kin (UMIP, 2.5), which would tell it where the kernel
     * is. SMAP is not turned on: kernel code (the tests' among it) reads user memory
     * directly, not only through the copy routines.
     */
    if (cpu_features.smep)
        cpu_write_cr4(cpu_read_cr4() | CR4_SMEP);
    if (cpu_features.umip)
        cpu_write_cr4(cpu_read_cr4() | CR4_UMIP);
    cpu_features_init_processor();
    if (cpu_features.tsc)
        cpu_features.tsc_hz = pit_measure_rate(cpu_read_tsc);
}

/*
 * What every processor sets in itself beyond CR4, which an application processor
 * copies from the boot processor's as it starts (arch/processors.c).
 */
void cpu_features_init_processor(void)
{
    /*
     * No thread's x87 state is saved on a switch, so no thread may use the x87 at all:
     * with CR0.EM set its instructions fault (#NM) instead of leaking state between
     * processes.
     */
    if (cpu_features.pat)
        cpu_write_msr(MSR_IA32_PAT, PAT_WITH_WRITE_COMBINING);
    cpu_write_cr0((cpu_read_cr0() | CR0_EM) & ~CR0_MP);
}

void cpu_enable_no_execute(void)
{
    cpu_write_msr(MSR_EFER, cpu_read_msr(MSR_EFER) | EFER_NXE);
    arch_no_execute_pte_bit = PTE_NO_EXECUTE;
}

void cpu_features_print(void)
{
    if (!cpu_features.cpuid) {
        kprintf("cpu: no CPUID (a 486 or older); no global pages, no TSC\n");
        return;
    }
    kprintf("cpu: %s family %u model %u stepping %u; features:%s%s%s%s%s%s%s%s invlpg\n",
            cpu_features.vendor, cpu_features.family, cpu_features.model,
            cpu_features.stepping, cpu_features.pse ? " pse" : "",
            cpu_features.pae ? " pae" : "", cpu_features.nx ? " nx" : "",
            cpu_features.tsc ? " tsc" : "", cpu_features.pge ? " pge" : "",
            cpu_features.pat ? " pat" : "", cpu_features.smep ? " smep" : "",
            cpu_features.umip ? " umip" : "");
    if (cpu_features.pae)
        kprintf("cpu: %u-bit physical addresses\n", cpu_features.physical_address_bits);
    if (cpu_features.tsc)
        kprintf("cpu: TSC at %u MHz, measured against the PIT%s\n",
                (uint32_t)(cpu_features.tsc_hz / 1000000),
                cpu_features.tsc_hz ? "" : " (the PIT did not answer)");
    else
        kprintf("cpu: no TSC: time comes from the PIT alone\n");
}

void cpu_flush_tlb_all(void)
{
    uint32_t flags = cpu_save_disable_interrupts();

    KeGetCurrentPrcb()->statistics.full_flushes++;
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

void cpu_flush_tlb_non_global(void)
{
    KeGetCurrentPrcb()->statistics.full_flushes++;
    cpu_write_cr3(cpu_read_cr3());          /* SDM vol. 3A, 4.10.4.1: global entries stay */
}
