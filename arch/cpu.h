#pragma once
/*
 * Single i386 instructions as inline functions. Anything longer than one instruction
 * lives in a .c or .S file of arch/.
 */
#include <stddef.h>
#include "arch/pcr.h"
#include "lib/types.h"

#define CR0_MP          (1u << 1)
#define CR0_EM          (1u << 2)   /* x87 instructions raise #NM */
#define CR0_WP          (1u << 16)  /* supervisor writes honour read-only pages */
#define CR0_PG          (1u << 31)
#define CR4_PSE         (1u << 4)
#define CR4_PAE         (1u << 5)
#define CR4_PGE         (1u << 7)
#define CR4_UMIP        (1u << 11)  /* sgdt, sidt, sldt, smsw, str fault outside ring 0 */
#define CR4_SMEP        (1u << 20)  /* ring 0 never executes a user page */
#define MSR_EFER        0xC0000080  /* extended feature enables (SDM vol. 3A, 2.2.1) */
#define EFER_NXE        (1u << 11)  /* the execute-disable bit of PAE entries is honoured */
/* EFLAGS (SDM vol. 1, 3.4.3). */
#define EFLAGS_CF       (1u << 0)
#define EFLAGS_ALWAYS_1 (1u << 1)   /* reserved, always set */
#define EFLAGS_PF       (1u << 2)
#define EFLAGS_AF       (1u << 4)
#define EFLAGS_ZF       (1u << 6)
#define EFLAGS_SF       (1u << 7)
#define EFLAGS_TF       (1u << 8)   /* single step: #DB after the next instruction */
#define EFLAGS_IF       (1u << 9)
#define EFLAGS_DF       (1u << 10)
#define EFLAGS_OF       (1u << 11)
#define EFLAGS_IOPL     (3u << 12)
#define EFLAGS_NT       (1u << 14)  /* nested task: iret would switch tasks */
#define EFLAGS_RF       (1u << 16)
#define EFLAGS_VM       (1u << 17)  /* virtual-8086 mode */
#define EFLAGS_AC       (1u << 18)
#define EFLAGS_ID       (1u << 21)  /* toggleable only where CPUID exists */
/* What ring 3 may change in its own EFLAGS (popf at CPL 3 changes no more). */
#define EFLAGS_USER_CHANGEABLE (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | \
                                EFLAGS_TF | EFLAGS_DF | EFLAGS_OF | EFLAGS_AC | EFLAGS_ID)

static inline uint32_t cpu_read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t cpu_read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t cpu_read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t cpu_read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void cpu_write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void cpu_write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void cpu_write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

/* Writes a model-specific register (only where CPUID says the CPU has it). */
static inline uint64_t cpu_read_msr(uint32_t msr)
{
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (uint64_t)high << 32 | low;
}

static inline void cpu_write_msr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/* Counted in the processor's region (arch/pcr.h), for benchmarks and tests. */
static inline void cpu_invlpg(vaddr_t va)
{
    __asm__ volatile("incl %%fs:%c1\n\t"
                     "invlpg (%0)"
                     : : "r"(va), "i"(offsetof(struct kprcb, statistics.invlpgs)) : "memory");
}

static inline uint64_t cpu_read_tsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t)high << 32 | low;
}

static inline uint32_t cpu_read_eflags(void)
{
    uint32_t v;
    __asm__ volatile("pushfl; popl %0" : "=r"(v));
    return v;
}

static inline bool cpu_interrupts_enabled(void)
{
    return cpu_read_eflags() & EFLAGS_IF;
}

static inline void cpu_write_eflags(uint32_t v)
{
    __asm__ volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc");
}

static inline void cpu_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Disables interrupts and returns the flags to hand to cpu_restore_interrupts. */
static inline uint32_t cpu_save_disable_interrupts(void)
{
    uint32_t flags;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

static inline void cpu_restore_interrupts(uint32_t flags)
{
    if (flags & EFLAGS_IF)
        __asm__ volatile("sti" ::: "memory");
}

static inline void cpu_disable_interrupts(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_enable_interrupts(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_halt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* In a spin-wait loop: lets a hyperthread sibling run (PAUSE; a NOP before the Pentium 4). */
static inline void cpu_relax(void) { __asm__ volatile("rep; nop" ::: "memory"); }

static inline void io_out8(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void io_out32(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t io_in8(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void io_out16(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint16_t io_in16(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t io_in32(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* count 16-bit reads of port into buffer (REP INSW; the ABI keeps the direction flag clear). */
/* count 32-bit reads of port into buffer (REP INSD). */
static inline void io_in32_repeat(uint16_t port, void *buffer, uint32_t count)
{
    __asm__ volatile("rep insl" : "+D"(buffer), "+c"(count) : "d"(port) : "memory");
}

/* count 32-bit writes of buffer to port (REP OUTSD). */
static inline void io_out32_repeat(uint16_t port, const void *buffer, uint32_t count)
{
    __asm__ volatile("rep outsl" : "+S"(buffer), "+c"(count) : "d"(port) : "memory");
}

static inline void io_in16_repeat(uint16_t port, void *buffer, uint32_t count)
{
    __asm__ volatile("rep insw" : "+D"(buffer), "+c"(count) : "d"(port) : "memory");
}

/* count 16-bit writes of buffer to port (REP OUTSW). */
static inline void io_out16_repeat(uint16_t port, const void *buffer, uint32_t count)
{
    __asm__ volatile("rep outsw" : "+S"(buffer), "+c"(count) : "d"(port) : "memory");
}
