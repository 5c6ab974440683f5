#pragma once
/* The test suites, one per subsystem; tests/ktest.c runs them in this order. */
#include "tests/ktest.h"

extern const struct ktest_suite cpu_suite;          /* tests/test_cpu.c */
extern const struct ktest_suite split_suite;        /* tests/test_split.c */
extern const struct ktest_suite sync_suite;         /* tests/test_sync.c */
extern const struct ktest_suite smp_suite;          /* tests/test_smp.c */
extern const struct ktest_suite dpc_suite;          /* tests/test_dpc.c */
extern const struct ktest_suite cmdline_suite;      /* tests/test_cmdline.c */
extern const struct ktest_suite acpi_suite;         /* tests/test_acpi.c */
extern const struct ktest_suite memmap_suite;       /* tests/test_memmap.c */
extern const struct ktest_suite multiboot_suite;    /* tests/test_multiboot.c */
extern const struct ktest_suite multiboot2_suite;   /* tests/test_multiboot2.c */
extern const struct ktest_suite multiboot_fb_suite; /* tests/test_multiboot_fb.c */
extern const struct ktest_suite pfn_suite;          /* tests/test_pfn.c */
extern const struct ktest_suite paging_suite;       /* tests/test_paging.c */
extern const struct ktest_suite pte_suite;          /* tests/test_pte.c */
extern const struct ktest_suite syspte_suite;       /* tests/test_syspte.c */
extern const struct ktest_suite pool_suite;         /* tests/test_pool.c */
extern const struct ktest_suite vad_suite;          /* tests/test_vad.c */
extern const struct ktest_suite fault_suite;        /* tests/test_fault.c */
extern const struct ktest_suite fb_console_suite;   /* tests/test_fb_console.c */
extern const struct ktest_suite pe_image_suite;     /* tests/test_pe_image.c */
extern const struct ktest_suite pe_layout_suite;    /* tests/test_pe_layout.c */
extern const struct ktest_suite virtual_suite;      /* tests/test_virtual.c */
extern const struct ktest_suite section_suite;      /* tests/test_section.c */
extern const struct ktest_suite process_suite;      /* tests/test_process.c */
extern const struct ktest_suite nx_suite;           /* tests/test_nx.c */
extern const struct ktest_suite vm_suite;           /* tests/test_vm.c */
extern const struct ktest_suite pagefile_suite;     /* tests/test_pagefile.c */
extern const struct ktest_suite inpage_suite;        /* tests/test_inpage.c */
extern const struct ktest_suite modwriter_suite;     /* tests/test_modwriter.c */
extern const struct ktest_suite inject_suite;       /* tests/test_inject.c */
extern const struct ktest_suite audit_suite;        /* tests/test_audit.c */
extern const struct ktest_suite soak_suite;         /* tests/test_soak.c */
extern const struct ktest_suite pagestress_suite;   /* tests/test_pagestress.c */
extern const struct ktest_suite fuzz_suite;         /* tests/test_fuzz.c */
extern const struct ktest_suite pci_suite;          /* tests/test_pci.c */
extern const struct ktest_suite disk_suite;         /* tests/test_disk.c */
extern const struct ktest_suite security_suite;     /* tests/test_security.c */
