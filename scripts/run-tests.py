#!/usr/bin/env python3
"""Boot the kernel under QEMU in several configurations and judge the results.

Usage:
    scripts/run-tests.py --kernel build/kernel.elf --iso build/test.iso
                         [--module FILE ...] [--jobs N] [--only NAME ...] [--timeout S]
                         [--verbose]
    scripts/run-tests.py --list        show the boot matrix
    scripts/run-tests.py --selftest    check the log parser on canned logs (no QEMU)

Each configuration in MATRIX below is one headless QEMU boot with the kernel's
self-tests turned on. The kernel writes its log to the first serial port, which
QEMU saves in build/test-logs/NAME.log, and ends by writing to the
isa-debug-exit port: 0x10 for success (QEMU exits with 33), 0x11 for failure
(QEMU exits with 35).

A boot with disks (Boot.disks) gets fresh IDE disk images in the log
directory, written just before it starts.

Each --module FILE (the user-mode test programs) is handed to every KERNEL boot
as a multiboot module whose string is "FILE NAME", NAME being the file's base
name; the ISO carries its own (scripts/mkiso.sh --module).

A boot passes only if all of these hold:
  1. QEMU exited with status 33;
  2. the log has the line
       split: MmSystemRangeStart=0x... MmHighestUserAddress=0x... MmUserProbeAddress=0x...
     with the values the matrix expects;
  3. the KTAP (version 1) test report is complete and has no "not ok" result;
  4. the log has no panic ("PANIC" or the "*** " banner).

Output: first how many boots will run, then one line per boot the moment it
ends (in the order they end), a heartbeat every HEARTBEAT_EVERY seconds for a
boot that has run longer than HEARTBEAT_AFTER (its name, time so far and the
suite its serial log is in), details for the boots that failed, a line with the
case totals, then "N passed, M failed" (counting boots) as the last line.
Every line is flushed as it is printed, also into a pipe or a file. The exit status is 0 only when no boot failed; 2 means the tests
could not be run at all (bad arguments, QEMU missing, ...).

Only the Python standard library is used.
"""

import argparse
import collections
import concurrent.futures
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# The log's judge (verdict.py) and its KTAP parser (ktap.py) stand beside this script.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from verdict import clean_lines, judge, selftest as judge_selftest  # noqa: E402
from mkpagefile import write_pagefile  # noqa: E402


# ---------------------------------------------------------------------------
# The boot matrix. To add a configuration, add a row.
#
#   name     unique; also the log file name (build/test-logs/NAME.log)
#   boot     KERNEL: qemu -kernel KERNEL -append CMDLINE  (QEMU's Multiboot loader)
#            UEFI:   the same ISO on 64-bit UEFI firmware (OVMF), through GRUB's
#                    x86_64 EFI image, into the same 32-bit kernel
#            ISO:    qemu -cdrom ISO -boot d  (GRUB from scripts/mkiso.sh --test,
#                    whose self-test entry passes cmdline, which it reads from the
#                    SMBIOS system information QEMU makes: see smbios_argument)
#   cmdline  the kernel command line
#   mem      guest RAM in MB (qemu -m)
#   system   expected MmSystemRangeStart
#   highest  expected MmHighestUserAddress (MmUserProbeAddress must be highest + 1).
#            Given explicitly because it is not always system - 64 KB - 1:
#            with /USERVA=2562 the system range starts at the next 4 MB boundary
#            but user space still ends 64 KB below 2562 MB.
# ---------------------------------------------------------------------------

KERNEL, ISO, UEFI = "kernel", "iso", "uefi"
OVMF = "/usr/share/ovmf/OVMF.fd"      # from Debian's ovmf package

Boot = collections.namedtuple("Boot",
                              "name boot cmdline mem system highest log crash extra modules "
                              "no_serial disks timeout cut ptecheck",
                              defaults=((), False, (), (), False, (), None, None, True))
#   log      regular expressions that some line of the log must match (a warning the
#            boot must print, a line of a fault report).
#   crash    True for a boot that crashes on purpose (crash=WHAT on the command line):
#            it passes when the guest stops with the failure code (35) and the log
#            matches, with no triple fault or hang; it runs no tests.
#   extra    more QEMU arguments; "{kernel}" stands for the kernel file.
#   no_serial  the machine has no COM1 at all: nothing can be read, so the boot passes
#            on the exit status alone (the tests ran and passed, nothing hung).
#   modules  multiboot modules of this boot, as (PATH, NAME), before the --module files;
#            "{kernel}" stands for the kernel file, "{padding}" for a 24 MB file of
#            zeros (so that the modules after it lie above 16 MB), "{empty}" for an
#            empty file. KERNEL boots only.
#   disks    disks, as (KIND, SIZE_BYTES), attached with QEMU's if=ide: on the pc and
#            isapc machines the first is ide0 (primary master), the next ide1, ...; on
#            q35 they sit on the AHCI ports and are sata0, sata1, ...; before each boot a fresh image NAME-diskI.img is written in
#            the log directory by DISK_KINDS[KIND] (see "Disks" below).
#   timeout  seconds before this boot is killed, when it needs more than --timeout.
#   cut      (FROM, TO), ISO and UEFI boots only: GRUB cuts [FROM, TO) out of the memory
#            map it hands the kernel (its cutmem command; sizes as "16M").
#   ptecheck False: the boot runs without the PTE writer's check (TEST_OPTIONS below).

# The default boot also hands the kernel a module, so the tests see module frames kept.
TEST_MODULE = ("{kernel}", "test-module")
PADDING_MODULE = ("{padding}", "padding")
EMPTY_MODULE = ("{empty}", "empty")

# A command line of about 10 KB: suites first, then unknown options past the 8 KB the
# kernel keeps, so that it must cut at a whole option and warn of the rest.
LONG_COMMAND_LINE = "test=cmdline,multiboot,memmap,pfn,pool " + " ".join(
    "unknown%03d=%s" % (i, "v" * 30) for i in range(240))
PADDING_BYTES = 24 << 20

# The disk tests/test_disk.c reads and writes (it expects exactly this size).
PATTERN_DISK = ("pattern", 8 << 20)
BAD_SECTOR = 16000
PATTERN_DISK_BAD_SECTOR = ("pattern-bad", 8 << 20)     # sector BAD_SECTOR unreadable
PAGEFILE_DISK_64MB = ("pagefile", 64 << 20)
PAGEFILE_DISK_128MB = ("pagefile", 128 << 20)

# The suites that need neither user programs nor much time: the boots that check one
# thing (a split's parsing, a CPU model, a memory size) run these; the main splits and a
# few CPU models and memory sizes run everything.
CORE = "test=cpu,split,sync,dpc,cmdline,acpi,memmap,pfn,paging,pte,syspte,pool,fault"

# Every test boot runs with the kernel's checkers on, as drivers are tested under Driver
# Verifier: the PTE writer's (mm/pte.c: page tables read-only to everything but the
# writer) and the lock checker (arch/lockcheck.c). `make run` and `make bench` run without.
# One boot (tlb-without-ptecheck) leaves the PTE writer's out: its write window toggles
# CR0.WP, which makes QEMU drop its whole TLB, so under it no test can leave a stale
# translation behind and show that a flush drops it.
TEST_OPTIONS = "ptecheck verifier"

MATRIX = [
    #    name                   boot    cmdline                       mem   system      highest
    # The longest boot first, so that the others run beside it.
    # Paging for real: 32 MB of RAM, processes stamping three times that (in a 128 MB
    # pagefile on IDE bus-master DMA; no-pagefile-32mb below refuses the same workload).
    # About 20 s on a loaded 2-core machine (it took 440 s when every page moved by
    # polled PIO); the timeout leaves room for a much slower host.
    Boot("pagefile-32mb",       KERNEL, "test=pagefile,inpage,modwriter,pagestress "
                                        "pagefile=ide0", 32, 0x80000000, 0x7FFEFFFF,
         log=[r"^pagefile: ide0, 131072 KB \(32767 slots\) by bus-master DMA"],
         disks=[PAGEFILE_DISK_128MB], timeout=600),
    # The same forced to PIO (polled, the data through the data port in blocks of READ/WRITE
    # MULTIPLE): the slowest of the paging boots, so it starts early.
    Boot("pagefile-pio",        KERNEL, "test=pagefile,inpage,modwriter,pagestress ide=pio "
                                        "pagefile=ide0", 32,
         0x80000000, 0x7FFEFFFF,
         log=[r"^pagefile: ide0, 131072 KB \(32767 slots\) by 32-bit PIO"],
         disks=[PAGEFILE_DISK_128MB], timeout=300),
    # The most RAM, every suite: the longest boots after the paging ones (their page
    # database and the suites that walk it grow with memory), so that they start early.
    Boot("mem-3584",            KERNEL, "test /3GB",                  3584, 0xC0000000, 0xBFFEFFFF),
    # RAM above 4 GB (past the PCI hole) is counted and left unused.
    Boot("mem-4096",            KERNEL, "test increaseuserva=2560",   4096, 0xA0000000, 0x9FFEFFFF,
         log=[r"^memory: 1048576 KB above 4 GB, not usable without PAE, left unused"]),
    # RAM above 4 GB (PAE): used for pageable pages, which reach the disk through bounce
    # pages; 16 GB at most where system space is below 2 GB, as on Windows.
    Boot("pae-mem-6144",        KERNEL, "test=memmap,pfn,paging,pte,pool,vm,pagefile,inpage,"
                                        "modwriter,nx,security pagefile=ide0", 6144,
         0x80000000, 0x7FFEFFFF,
         log=[r"^memory: 3145728 KB of RAM above 4 GB in use \(PAE\)$",
              r"^pagefile: ide0, 131072 KB"],
         disks=[PAGEFILE_DISK_128MB], extra=("-cpu", "max"), timeout=600),
    Boot("pae-mem-8192-3gb",    KERNEL, "test=pfn,paging,process,pagefile pagefile=ide0 /3GB",
         8192, 0xC0000000, 0xBFFEFFFF,
         log=[r"^memory: 5242880 KB of RAM above 4 GB in use \(PAE\)$"],
         disks=[PAGEFILE_DISK_128MB], extra=("-cpu", "max"), timeout=600),
    Boot("pae-mem-16384-3gb",   KERNEL, CORE + ",pagefile /3GB pagefile=ide0", 16384, 0xC0000000,
         0xBFFEFFFF,
         log=[r"^memory: 12582912 KB of RAM above 4 GB in use \(PAE\)$",
              r"^memory: 1048576 KB above 16 GB left unused: RAM is capped at 16 GB, as "
              r"Windows does when system space is smaller than 2 GB$"],
         disks=[PAGEFILE_DISK_128MB], extra=("-cpu", "max"), timeout=600),
    # PAE without PSE-36 or CPUID's address sizes: 32-bit physical addresses (QEMU's
    # qemu32 truly has no more), so the RAM above 4 GB is left unused.
    Boot("pae-mem-6144-32-bit-physical", KERNEL, "test=pfn,paging /PAE", 6144, 0x80000000,
         0x7FFEFFFF, log=[r"^memory: 3145728 KB above 4 GB left unused: RAM is capped at "
                          r"what the processor addresses$"], extra=("-cpu", "qemu32")),
    # Every suite; the disk suite on IDE bus-master DMA, a sector of its disk unreadable.
    Boot("default",             KERNEL, "test badsector=%d" % BAD_SECTOR, 128, 0x80000000,
         0x7FFEFFFF,
         log=[r"^memory: \d+ KB of RAM below 4 GB", r"^memory: \d+ KB free",
              r'^boot: module 0 "\S+ test-module"',
              r"^pci: 00:01\.1 8086:7010 01/01/80 IDE controller, bus master I/O 0x[0-9a-f]+ "
              r"\(16 bytes\): ata$",
              r"^ata: ide0: .*, bus-master DMA$",
              r"^ata: ide0: command 0xc8 at LBA %d, count 1, failed" % BAD_SECTOR],
         modules=[TEST_MODULE], disks=[PATTERN_DISK_BAD_SECTOR]),
    # The PAE build (boot/select.c chose it): every suite, on a CPU with NX (so no-execute
    # is on) and on QEMU's default, which has PAE but no NX (so /PAE asks for it).
    Boot("pae-nx",              KERNEL, "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute on, policy OptIn$",
              r"^cpu: .* pae nx "], extra=("-cpu", "max")),
    Boot("pae-3gb",             KERNEL, "test /3GB /PAE",             128,  0xC0000000, 0xBFFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute off \(the processor has no NX\), "
              r"policy AlwaysOff$"]),
    # A page directory of PAE spans 2 MB: the system range starts on a 2 MB boundary.
    Boot("pae-3gb-userva-2562", KERNEL, CORE + ",process /3gb /userva=2562 pae=ForceEnable",
         128, 0xA0200000, 0xA01EFFFF, log=[r"^paging: PAE "]),
    Boot("pae-increaseuserva-2560", KERNEL, CORE + ",process increaseuserva=2560 /PAE", 128,
         0xA0000000, 0x9FFEFFFF, log=[r"^paging: PAE "]),
    # Paging to disk in the PAE format, and the isolation audit, the fuzzer and fault
    # injection in it.
    Boot("pae-pagefile-32mb",   KERNEL, "test=pagefile,inpage,modwriter,pagestress,security "
                                        "pagefile=ide0", 32, 0x80000000, 0x7FFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute on"],
         disks=[PAGEFILE_DISK_128MB], extra=("-cpu", "max"), timeout=600),
    Boot("pae-fuzz",            KERNEL, "test=vm,inject,audit,fuzz pagefile=ide0 /PAE", 64,
         0x80000000, 0x7FFEFFFF, log=[r"^paging: PAE "], disks=[PAGEFILE_DISK_128MB],
         timeout=300),
    # Each no-execute policy (the nx suite: dep.exe, NX-compatible, and dep_legacy.exe
    # execute from data, stack, heap and executable pages and change their own setting;
    # OptIn is pae-nx's). qemu32 with NX alone: fetches reported by NX, not SMEP.
    Boot("nx-optout",           KERNEL, "test=nx,fault,security nx=OptOut", 64, 0x80000000,
         0x7FFEFFFF, log=[r"^paging: PAE \(8-byte entries\); no-execute on, policy OptOut$"],
         extra=("-cpu", "max")),
    Boot("nx-alwayson",         KERNEL, "test=nx,virtual,section,process /NOEXECUTE=AlwaysOn",
         64, 0x80000000, 0x7FFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute on, policy AlwaysOn$"],
         extra=("-cpu", "max")),
    Boot("nx-alwaysoff-pae",    KERNEL, "test=nx,fault pae=ForceEnable nx=AlwaysOff", 64,
         0x80000000, 0x7FFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute off, policy AlwaysOff$"],
         extra=("-cpu", "max")),
    Boot("nx-without-smep",     KERNEL, "test=nx,paging,fault", 64, 0x80000000, 0x7FFEFFFF,
         log=[r"^paging: PAE \(8-byte entries\); no-execute on, policy OptIn$"],
         extra=("-cpu", "qemu32,+nx")),
    # The two-level format on a CPU that has NX, as Windows allows it: with no-execute off.
    Boot("nopae-on-nx-cpu",     KERNEL, CORE + ",process,nx /NOPAE /NOEXECUTE=AlwaysOff", 64,
         0x80000000, 0x7FFEFFFF,
         log=[r"^paging: two-level \(4-byte entries\); no-execute off, policy AlwaysOff$"],
         extra=("-cpu", "max")),
    # /NOPAE alone does not turn PAE off while no-execute is on, and says so.
    Boot("nopae-refused",       KERNEL, "test=cpu,cmdline,paging /NOPAE pae=Sometimes", 64,
         0x80000000, 0x7FFEFFFF,
         log=[r"^warning: /NOPAE ignored: no-execute needs PAE",
              r"^warning: pae=Sometimes ignored: pae= takes ForceEnable, ForceDisable or "
              r"Default; using the PAE format$", r"^paging: PAE "],
         extra=("-cpu", "max")),
    # The memory manager's suites again with a pagefile (on ide1, named by its old name
    # hd1) beside the disk suite's test disk, and the fuzzer at full length: 100,000 calls
    # alone, then two of 50,000 at once.
    Boot("pagefile-128mb",      KERNEL, "test=disk,vm,pagefile,inpage,modwriter,pagestress,inject,audit,fuzz "
                                        "fuzzcalls=100000 pagefile=hd1",
         128, 0x80000000, 0x7FFEFFFF,
         log=[r"^pagefile: ide1, 65536 KB \(16383 slots\) by bus-master DMA"],
         disks=[PATTERN_DISK, PAGEFILE_DISK_64MB], timeout=300),
    # A short soak: process churn that pages, with audits and a leak check at the end.
    Boot("soak-short",          KERNEL, "test=soak soak=4 pagefile=ide0", 32, 0x80000000,
         0x7FFEFFFF, disks=[PAGEFILE_DISK_128MB], timeout=360),
    # The attacks of the security suite where memory is short: with a pagefile (threads
    # may not take the frames paging needs) and without (nor the frames commit promised).
    Boot("security-pagefile-32mb", KERNEL, "test=security pagefile=ide0", 32, 0x80000000,
         0x7FFEFFFF, disks=[PAGEFILE_DISK_128MB]),
    Boot("no-pagefile-32mb",    KERNEL, "test=pagefile,pagestress,security", 32, 0x80000000,
         0x7FFEFFFF,
         log=[r"^pagefile: none; commit is limited to RAM"]),
    Boot("3gb",                 KERNEL, "test /3GB",                  128,  0xC0000000, 0xBFFEFFFF),
    Boot("increaseuserva-2560", KERNEL, "test increaseuserva=2560",   128,  0xA0000000, 0x9FFEFFFF),
    # Out of range: clamped to 3072 MB.
    Boot("increaseuserva-9999", KERNEL, CORE + " increaseuserva=9999", 128,  0xC0000000, 0xBFFEFFFF,
         log=[r"warning: increaseuserva=9999 is outside 2048-3072 MB; using 3072 MB"]),
    # /USERVA only counts together with /3GB.
    Boot("userva-without-3gb",  KERNEL, CORE + " /USERVA=2500",       128,  0x80000000, 0x7FFEFFFF,
         log=[r"warning: /USERVA=2500 ignored without /3GB; using 2048 MB"]),
    # Switches are case-insensitive; the system range starts on a 4 MB boundary.
    Boot("3gb-userva-2562",     KERNEL, CORE + " /3gb /userva=2562",  128,  0xA0400000, 0xA01EFFFF),
    Boot("mem-16",              KERNEL, "test",                       16,   0x80000000, 0x7FFEFFFF),
    # CPU models, oldest first: no PGE (and, on the 486, no TSC) must work as well.
    Boot("cpu-486",             KERNEL, "test /PAE",                  128,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: .* family 4 ", r"^cpu: no TSC",
              r"^warning: /PAE ignored: the processor has no PAE; using the two-level format$",
              r"^paging: two-level "], extra=("-cpu", "486")),
    Boot("cpu-pentium",         KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: .* family 5 .* tsc invlpg$"], extra=("-cpu", "pentium")),
    Boot("cpu-pentium2",        KERNEL, CORE + " /3GB",               64,   0xC0000000, 0xBFFEFFFF,
         log=[r"^cpu: .* family 6 .* pge"], extra=("-cpu", "pentium2")),
    Boot("cpu-pentium3",        KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         extra=("-cpu", "pentium3")),
    Boot("cpu-coreduo",         KERNEL, "test /3GB",                  256,  0xC0000000, 0xBFFEFFFF,
         extra=("-cpu", "coreduo")),
    # PAE but no NX: the default is two-level, as Windows chooses it.
    Boot("cpu-qemu32",          KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         log=[r"^paging: two-level \(4-byte entries\); no-execute off \(the processor has no NX\)"],
         extra=("-cpu", "qemu32")),
    # Everything QEMU can emulate, SMEP and UMIP among it: the kernel turns both on.
    # The TLB seen stale: the suites whose flushes are proved by reading through a
    # translation left behind (see TEST_OPTIONS).
    Boot("tlb-without-ptecheck", KERNEL, "test=cpu,paging,pte,dpc", 64, 0x80000000, 0x7FFEFFFF,
         ptecheck=False),
    Boot("cpu-max",             KERNEL, "test=cpu,paging,fault,security", 64, 0x80000000,
         0x7FFEFFFF, log=[r"^cpu: .* smep umip invlpg$"], extra=("-cpu", "max")),
    # Memory sizes from the smallest that boots to the largest below the PCI hole.
    Boot("mem-8",               KERNEL, "test",                       8,    0x80000000, 0x7FFEFFFF),
    Boot("mem-1024",            KERNEL, CORE,                         1024, 0x80000000, 0x7FFEFFFF),
    Boot("mem-3072",            KERNEL, CORE + " /3GB",               3072, 0xC0000000, 0xBFFEFFFF),
    # Too little RAM: the smallest machine the kernel file can be loaded into (3 MB: the
    # boot stub and the PAE build it carries end near 2.5 MB) is refused with a message.
    Boot("mem-3",               KERNEL, "test",                       3,    0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"^not enough memory: \d+ KB, need \d+ KB$"]),
    # No COM1 at all: the console must not wait for it; the tests still run and pass.
    Boot("no-serial-port",      KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         no_serial=True),
    # Modules where the loader put them, here above 16 MB: the programs still run.
    Boot("modules-above-16mb",  KERNEL, "test=process",               128,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: module 1 "[^"]*\.exe" at 0x0*[1-9a-f][0-9a-f]{6}-'],
         modules=[PADDING_MODULE]),
    # Crafted boot inputs through QEMU: a 10 KB command line (cut at a whole option, and
    # hundreds of unknown ones) and an empty module.
    Boot("qemu-crafted-inputs", KERNEL, LONG_COMMAND_LINE,           64,   0x80000000, 0x7FFEFFFF,
         log=[r"^boot: warning: command line longer than 8\d\d\d bytes; truncated$",
              r'^boot: module 0 "\S+ empty" at 0x[0-9a-f]{8}, empty$',
              r'^warning: unknown option "unknown000=v+" ignored$',
              r"^warning: 1\d\d more unknown options ignored$"],
         modules=[EMPTY_MODULE]),
    # The IDE channels forced to PIO: the disk suite, and paging through the polled path.
    # A disk without the pagefile signature is never written (the suite then reads its
    # pattern intact). The ISO boots below have QEMU's CD-ROM drive on ide2.
    Boot("ide-pio",             KERNEL, "test=disk ide=pio pagefile=ide0 badsector=%d"
                                        % BAD_SECTOR, 32, 0x80000000, 0x7FFEFFFF,
         log=[r"^ata: ide0: .*16384 sectors .*, 32-bit PIO$",
              r"^warning: pagefile=ide0 ignored: ide0 has no pagefile signature",
              r"^ata: ide0: command 0xc4 at LBA %d, count 1, failed" % BAD_SECTOR],
         disks=[PATTERN_DISK_BAD_SECTOR]),
    # PCI on the Q35 chipset: ICH9's AHCI controller is found and its ABAR decoded, and the
    # bus behind an added PCI-to-PCI bridge is scanned (a test device on it).
    Boot("q35",                 KERNEL, CORE + ",pci",               64,   0x80000000, 0x7FFEFFFF,
         log=[r"^pci: 00:1f\.2 8086:2922 01/06/01 SATA controller \(AHCI\), ABAR memory "
              r"0x[0-9a-f]+ \(\d+ bytes\).*: ahci$",
              r"^pci: 01:01\.0 1b36:0005 ", r"^pci: \d+ functions on 2 buses"],
         extra=("-M", "q35", "-device", "pci-bridge,id=bridge1,chassis_nr=1,bus=pcie.0,addr=5",
                "-device", "pci-testdev,bus=bridge1,addr=1")),
    # AHCI on the Q35 chipset: the disk suite on sata0, and paging for real (32 MB of RAM)
    # with the pagefile on sata1.
    Boot("q35-ahci-pagefile-32mb", KERNEL, "test=disk,pagefile,inpage,modwriter,pagestress "
                                           "pagefile=sata1 badsector=%d" % BAD_SECTOR, 32,
         0x80000000, 0x7FFEFFFF,
         log=[r"^ahci: 00:1f\.2 port 0: sata0: .*16384 sectors",
              r"^pagefile: sata1, 131072 KB \(32767 slots\) by AHCI DMA",
              r"^ahci: 00:1f\.2 port 0: sata0: command 0x25 at LBA %d, 1 sectors, failed"
              % BAD_SECTOR],
         disks=[PATTERN_DISK_BAD_SECTOR, PAGEFILE_DISK_128MB], extra=("-M", "q35"),
         timeout=600),
    # No PCI at all (an ISA machine): one line says so, and the legacy IDE path works as
    # before (by PIO), a pagefile on ide1 beside the disk suite's test disk.
    Boot("isapc",               KERNEL, "test=pci,disk,pagefile,inpage,modwriter pagefile=ide1", 32, 0x80000000,
         0x7FFEFFFF,
         log=[r"^pci: no PCI \(configuration mechanism #1 absent\); legacy devices only$",
              r"^ata: ide0: .*16384 sectors", r"^pagefile: ide1, 65536 KB .* by 32-bit PIO",
              r"^acpi: no RSDP found; one processor assumed$"],
         disks=[PATTERN_DISK, PAGEFILE_DISK_64MB], extra=("-M", "isapc")),
    # Several processors: the ACPI MADT lists each, and each is started.
    Boot("smp-4-acpi",          KERNEL, CORE + ",process",          64,   0x80000000, 0x7FFEFFFF,
         log=[r"^acpi: RSDP found in the BIOS area \(revision 0, OEM \"BOCHS \"\), MADT: 4 "
              r"processors \(APIC ids 0 1 2 3\), 1 I/O APIC, 5 interrupt overrides, 8259 PICs "
              r"present$", r"^cpu: processor 3 \(APIC id 3\) started$",
              r"^cpu: 4 processors running$"],
         extra=("-smp", "4")),
    # Every suite on two processors (two-level) and on four (PAE with NX).
    Boot("smp-2",               KERNEL, "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: 2 processors running$"], extra=("-smp", "2")),
    Boot("pae-smp-4",           KERNEL, "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: 4 processors running$", r"^paging: PAE"], extra=("-smp", "4", "-cpu", "max")),
    # Eight, the most the issue asks for; and fewer than the firmware lists, by option.
    Boot("smp-8",               KERNEL, CORE + ",smp,process,vm",     128,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: processor 7 \(APIC id 7\) started$", r"^cpu: 8 processors running$"],
         extra=("-smp", "8")),
    Boot("smp-4-maxcpus-2",     KERNEL, "test=cpu,sync,smp maxcpus=2", 64,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: 2 processors running, 2 left out$"], extra=("-smp", "4")),
    Boot("smp-2-numproc-1",     KERNEL, "test=cpu,sync,smp /NUMPROC=1", 64, 0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: the command line limits the machine to one processor; 1 more stays idle$"],
         extra=("-smp", "2")),
    Boot("bad-pagefile-options", KERNEL, CORE + " pagefile=ide0:12X",  32,   0x80000000, 0x7FFEFFFF,
         log=[r"^warning: pagefile=ide0:12X ignored: the size must be 1 to 1048576 MB"]),
    Boot("pagefile-disk-absent", KERNEL, CORE + " pagefile=sata3:64M", 32,   0x80000000, 0x7FFEFFFF,
         log=[r"^warning: pagefile=sata3:64M ignored: no disk sata3 \(the disks found: none\)"]),
    Boot("iso-grub",            ISO,    "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: loader "GRUB[^"]*" \(multiboot 1\)']),
    # Crafted boot inputs through GRUB: 4 MB cut out of the middle of RAM (the kernel
    # must see the hole and never use it) and options no part of the kernel knows.
    Boot("grub-crafted-map",    ISO,    "test=cmdline,memmap,pfn,paging,pool,vm "
                                        "/NOSUCHSWITCH foo=bar,baz", 128, 0x80000000, 0x7FFEFFFF,
         cut=("16M", "20M"),
         log=[r"^  0x000100000-0x000ffffff available$", r"^  0x001400000-0x007fdffff available$",
              r'^warning: unknown option "/NOSUCHSWITCH" ignored$',
              r'^warning: unknown option "foo=bar,baz" ignored$',
              r"^memory: 126\d\d\d KB of RAM below 4 GB in 3 runs"]),
    Boot("iso-uefi",            UEFI,   "test",                       256,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: loader "GRUB[^"]*" \(multiboot 2\)',
              r"^acpi: RSDP from the loader \(revision 2, .*\), MADT: 1 processor ",
              r"^framebuffer: \d+x\d+, \d+ bpp .*: text console"]),
    # Deliberate crashes: the report names the exception, and the machine stops cleanly.
    Boot("crash-page-fault",    KERNEL, "crash=page-fault",           32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: unexpected exception 14 \(#PF page fault\) in kernel mode",
                r"error code 0x00000002: page not present, write, kernel mode",
                r"CR2 0x00000010 ", r"EIP 0x[0-9a-f]{8}  CS 0x0008  EFLAGS",
                r"EAX 0x[0-9a-f]{8}  EBX"]),
    Boot("crash-stack-overflow", KERNEL, "crash=stack-overflow",      32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: double fault \(#DF\)", r"EIP 0x[0-9a-f]{8}  CS 0x0008"]),
    # Paged pool touched with interrupts off: stopped and named, not a hang.
    Boot("crash-paged-pool",    KERNEL, "crash=paged-pool-interrupts-off", 32, 0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* PANIC: paged pool at 0x[0-9a-f]{8} touched with interrupts off"]),
    Boot("crash-paged-pool-at-dispatch", KERNEL, "crash=paged-pool-at-dispatch", 32, 0x80000000,
         0x7FFEFFFF, crash=True,
         log=[r"\*\*\* PANIC: IRQL_NOT_LESS_OR_EQUAL: write of pageable address 0x[0-9a-f]{8} "
              r"at IRQL 2"]),
    Boot("crash-lock-order",    KERNEL, "crash=lock-order-inversion", 32, 0x80000000, 0x7FFEFFFF,
         crash=True,
         log=[r"\*\*\* STOP: lock checker: lock order inversion: crash lock 1 taken while "
              r"holding crash lock 2", r"locks held, innermost last:",
              r"crash lock 2 \(lock at 0x[0-9a-f]{8}"]),
    # The PFN lock, taken once as NT's: again by its holder, or assumed held when it is not.
    Boot("crash-pfn-lock-twice", KERNEL, "crash=pfn-lock-twice",     32,   0x80000000, 0x7FFEFFFF,
         crash=True,
         log=[r"\*\*\* PANIC: the PFN lock taken again by the processor that holds it "
              r"\(EIP 0x[0-9a-f]{8}\)"]),
    Boot("crash-pfn-lock-not-held", KERNEL, "crash=pfn-lock-not-held", 32, 0x80000000, 0x7FFEFFFF,
         crash=True,
         log=[r"\*\*\* PANIC: a function that needs the PFN lock called without it "
              r"\(EIP 0x[0-9a-f]{8}\)"]),
    # The working-set locks, taken once as NT's pushlock: again by the holder, or not held.
    Boot("crash-working-set-lock-twice", KERNEL, "crash=working-set-lock-twice", 32, 0x80000000,
         0x7FFEFFFF, crash=True,
         log=[r"\*\*\* PANIC: a working-set lock \(the system working set's\) taken again by "
              r"the thread that holds it \(EIP 0x[0-9a-f]{8}\)"]),
    Boot("crash-working-set-lock-not-held", KERNEL, "crash=working-set-lock-not-held", 32,
         0x80000000, 0x7FFEFFFF, crash=True,
         log=[r"\*\*\* PANIC: a function that needs a working-set lock called without it "
              r"\(EIP 0x[0-9a-f]{8}\)"]),
    # A page-table entry stored outside the PTE writer: through the self-map, and through
    # the current directory's mapping in system space.
    Boot("crash-pte-store",     KERNEL, "crash=pte-store",            32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: page-table entry written outside the PTE writer: the "
                          r"store at EIP 0x[0-9a-f]{8} to 0xc0303400",
                          r"error code 0x00000003: protection violation, write, kernel mode",
                          r"EIP 0x[0-9a-f]{8}  CS 0x0008  EFLAGS"]),
    Boot("crash-directory-store", KERNEL, "crash=directory-store",    32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: page-table entry written outside the PTE writer: the "
                          r"store at EIP 0x[0-9a-f]{8} to 0x[0-9a-f]{8}"]),
    Boot("crash-divide-error",  KERNEL, "crash=divide-error",         32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: unexpected exception 0 \(#DE divide error\) in kernel mode"]),
]

# `make soak` (--soak): the long soak alone, at least 10 minutes of process churn on a
# small machine that pages (tests/test_soak.c); `make test` runs a short one (soak-short).
SOAK = [
    Boot("soak",                KERNEL, "test=soak soak=150 pagefile=ide0", 32, 0x80000000,
         0x7FFEFFFF, disks=[PAGEFILE_DISK_128MB], timeout=3600),
]

QEMU = "qemu-system-i386"
QEMU_PACKAGE = "qemu-system-x86"      # the Debian package that provides it
DEBUG_EXIT_PORT = "0xf4"
LOG_TAIL_LINES = 30                   # lines of log shown for a failed boot

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# Disks. Each kind is a function that writes an image of the given size to an open
# file; to add a kind, add its function to DISK_KINDS.
# ---------------------------------------------------------------------------

SECTOR_BYTES = 512


def write_pattern_image(f, size):
    r"""Sector N: b"ATATEST\0", N as a little-endian 64-bit number, then the bytes
    (N * 7 + i) & 0xFF for i = 16..511, so that any sector read shows where it came from."""
    ramp = bytes(range(256)) * 3
    sectors = []
    for n in range(size // SECTOR_BYTES):
        start = (n * 7 + 16) % 256
        sectors.append(b"ATATEST\0" + n.to_bytes(8, "little") +
                       ramp[start:start + SECTOR_BYTES - 16])
    f.write(b"".join(sectors))


DISK_KINDS = {
    "pattern": write_pattern_image,
    "pattern-bad": write_pattern_image,     # the same, with a bad sector (below)
    "pagefile": write_pagefile,         # an empty pagefile (scripts/mkpagefile.py)
}

# Disks whose every read of one sector (BAD_SECTOR) fails, as a bad sector's: QEMU's
# blkdebug layer answers it with EIO, which the emulated controller reports as a device
# error. The boot's command line names the sector (badsector=N) for tests/test_disk.c.
BLKDEBUG_RULES = {
    "pattern-bad": '[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "%d"\n'
                   'once = "off"\n' % BAD_SECTOR,
}


def check_disks(boot):
    """Raises ValueError for a disk of an unknown kind or a size that is not whole sectors."""
    for kind, size in boot.disks:
        if kind not in DISK_KINDS:
            raise ValueError("%s: unknown disk kind %r" % (boot.name, kind))
        if size <= 0 or size % SECTOR_BYTES:
            raise ValueError("%s: disk size %d is not a positive number of %d-byte sectors"
                             % (boot.name, size, SECTOR_BYTES))


def disk_paths(boot, log_dir):
    """Where a boot's disk images go: NAME-disk0.img, NAME-disk1.img, ..."""
    return [os.path.join(log_dir, "%s-disk%d.img" % (boot.name, i))
            for i in range(len(boot.disks))]


def blkdebug_path(image):
    return os.path.splitext(image)[0] + ".blkdebug"


def drive_file(kind, image):
    """What -drive's file= names: the image, or blkdebug's layer over it."""
    if kind in BLKDEBUG_RULES:
        return "blkdebug:%s:%s" % (blkdebug_path(image), image)
    return image


def make_disks(boot, log_dir):
    """Writes fresh images of a boot's disks, so that no boot sees another's writes."""
    for (kind, size), path in zip(boot.disks, disk_paths(boot, log_dir)):
        with open(path, "wb") as f:
            DISK_KINDS[kind](f, size)
        if kind in BLKDEBUG_RULES:
            with open(blkdebug_path(path), "w") as f:
                f.write(BLKDEBUG_RULES[kind])


# ---------------------------------------------------------------------------
# Running QEMU
# ---------------------------------------------------------------------------

Outcome = collections.namedtuple("Outcome", "boot status timed_out seconds log_path log_text stderr cmd")

_running = set()                # QEMU processes alive now, killed on Ctrl-C
_started = {}                   # boot name -> when it started (time.monotonic())
_running_lock = threading.Lock()
_stopping = threading.Event()   # set on Ctrl-C: start no more boots


def module_of_file(path):
    """The (PATH, NAME) module for a --module file: the kernel knows it by its base name."""
    return (path, os.path.basename(path))


def initrd_argument(modules):
    """QEMU's -initrd value for multiboot modules [(PATH, NAME), ...].

    QEMU separates modules with commas, loads the file named before the first space
    and passes the whole "PATH NAME" as the module's string. Raises ValueError for a
    path or name it would read differently, or for a name given twice.
    """
    names = set()
    parts = []
    for path, name in modules:
        for what, text in (("path", path), ("name", name)):
            if not text or "," in text or re.search(r"\s", text):
                raise ValueError("module %s %r is empty or has a comma or a blank" % (what, text))
        if name in names:
            raise ValueError("two modules are named %r" % name)
        names.add(name)
        parts.append(path + " " + name)
    return ",".join(parts)


def padding_file(args):
    """A file of PADDING_BYTES zeros in the log directory, made once."""
    os.makedirs(args.log_dir, exist_ok=True)
    path = os.path.join(args.log_dir, "padding.bin")
    if not os.path.exists(path) or os.path.getsize(path) != PADDING_BYTES:
        with open(path, "wb") as f:
            f.truncate(PADDING_BYTES)
    return path


def empty_file(args):
    """An empty file in the log directory."""
    os.makedirs(args.log_dir, exist_ok=True)
    path = os.path.join(args.log_dir, "empty.bin")
    open(path, "wb").close()
    return path


def boot_modules(boot, args):
    """The modules a boot gets: its own, then the --module files (KERNEL boots only)."""
    if boot.boot != KERNEL:
        return []
    own = []
    for path, name in boot.modules:
        if path == "{padding}":
            path = padding_file(args)
        elif path == "{empty}":
            path = empty_file(args)
        own.append((path.replace("{kernel}", args.kernel), name))
    return own + list(args.modules)


def kernel_command_line(boot):
    """The command line a boot hands the kernel: the test options, then its own."""
    options = [o for o in TEST_OPTIONS.split() if boot.ptecheck or o != "ptecheck"]
    return " ".join(options + [boot.cmdline])


def smbios_argument(boot):
    """QEMU's -smbios value that hands a GRUB boot its kernel options and memory cut.

    scripts/mkiso.sh --test makes GRUB read them from the SMBIOS system information
    (type 1) when its manufacturer is "ntmm-test": the serial number is the command
    line, the SKU and family the range to cut. QEMU's option syntax doubles commas.
    """
    fields = ["type=1", "manufacturer=ntmm-test",
              "serial=" + kernel_command_line(boot).replace(",", ",,")]
    if boot.cut:
        fields += ["sku=" + boot.cut[0], "family=" + boot.cut[1]]
    return ",".join(fields)


def qemu_command(boot, args, log_path):
    cmd = [args.qemu]
    if boot.boot == UEFI:
        cmd = [args.qemu.replace("i386", "x86_64"), "-bios", OVMF, "-cdrom", args.iso,
               "-smbios", smbios_argument(boot)]
    elif boot.boot == ISO:
        cmd += ["-cdrom", args.iso, "-boot", "d", "-smbios", smbios_argument(boot)]
    else:
        cmd += ["-kernel", args.kernel, "-append", kernel_command_line(boot)]
        modules = boot_modules(boot, args)
        if modules:
            cmd += ["-initrd", initrd_argument(modules)]
    cmd += [a.replace("{kernel}", args.kernel) for a in boot.extra]
    for index, ((kind, _), path) in enumerate(zip(boot.disks,
                                                  disk_paths(boot, os.path.dirname(log_path)))):
        # cache=unsafe: the image is thrown away, so the guest's cache flushes need not
        # wait for the host's disk.
        cmd += ["-drive", "file=%s,format=raw,if=ide,index=%d,cache=unsafe"
                % (drive_file(kind, path), index)]
    cmd += [
        "-m", str(boot.mem),
        "-display", "none",
        "-serial", "none" if boot.no_serial else "file:" + log_path,
        "-no-reboot",
        "-device", "isa-debug-exit,iobase=%s,iosize=0x04" % DEBUG_EXIT_PORT,
        "-monitor", "none",
    ]
    return cmd


def run_boot(boot, args):
    log_path = os.path.join(args.log_dir, boot.name + ".log")
    if os.path.exists(log_path):
        os.remove(log_path)
    cmd = qemu_command(boot, args, log_path)
    make_disks(boot, os.path.dirname(log_path))

    started = time.monotonic()
    with _running_lock:
        if _stopping.is_set():
            raise KeyboardInterrupt
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        _running.add(proc)
        _started[boot.name] = started
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=max(args.timeout, boot.timeout or 0))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, _ = proc.communicate()
    finally:
        with _running_lock:
            _running.discard(proc)
            _started.pop(boot.name, None)
    seconds = time.monotonic() - started

    try:
        with open(log_path, "rb") as f:
            log_text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        log_text = ""
    return Outcome(boot, proc.returncode, timed_out, seconds, log_path, log_text,
                   out.decode("utf-8", errors="replace").strip(), cmd)


def kill_running():
    with _running_lock:
        _stopping.set()
        for proc in list(_running):
            try:
                proc.kill()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------

def boot_line(outcome, verdict, width):
    rep = verdict.ktap
    passed, failed, skipped = rep.count()
    total = passed + failed + skipped
    if outcome.boot.crash or outcome.boot.no_serial:
        counts = "(exit status only)" if outcome.boot.no_serial else "(fault report checked)"
        if verdict.passed:
            return "PASS %-*s %-24s %5.1fs" % (width, outcome.boot.name, counts, outcome.seconds)
        return "FAIL %-*s %s  %.1fs  %s" % (width, outcome.boot.name, counts, outcome.seconds,
                                            "; ".join(verdict.summary))
    if verdict.passed:
        counts = "(%d cases, %d skipped)" % (total, skipped)
        return "PASS %-*s %-24s %5.1fs" % (width, outcome.boot.name, counts, outcome.seconds)
    counts = "(%d cases: %d failed, %d skipped)" % (total, failed, skipped)
    return "FAIL %-*s %s  %.1fs  %s" % (width, outcome.boot.name, counts, outcome.seconds,
                                        "; ".join(verdict.summary))


def failure_report(outcome, verdict):
    out = []
    b = outcome.boot
    out.append("--- %s: FAIL (log: %s)" % (b.name, _short_path(outcome.log_path)))
    out.append("    qemu: " + " ".join(_shell_quote(a) for a in outcome.cmd))
    for d in verdict.details:
        out.append("    " + d)
    for r in verdict.ktap.not_ok:
        out.append("    not ok %s%s" % (r.path, " # " + r.directive if r.directive else ""))
        for d in r.diagnostics:
            out.append("        " + d)
    if outcome.stderr:
        out.append("    QEMU said:")
        out.extend("    | " + l for l in outcome.stderr.splitlines()[-10:])
    lines = clean_lines(outcome.log_text.rstrip("\r\n"))
    if outcome.log_text:
        out.append("    last %d lines of the log:" % min(LOG_TAIL_LINES, len(lines)))
        out.extend("    | " + l for l in lines[-LOG_TAIL_LINES:])
    else:
        out.append("    the log is empty")
    return out


def _short_path(path):
    """The path relative to the current directory if it is below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _shell_quote(s):
    return s if re.match(r"^[\w./:=,+-]+$", s) else "'" + s.replace("'", "'\\''") + "'"


# A boot that runs longer than HEARTBEAT_AFTER seconds is reported every
# HEARTBEAT_EVERY seconds, so that a long run is never silent.
HEARTBEAT_AFTER = 60
HEARTBEAT_EVERY = 30


class LogProgress:
    """Where a running boot's serial log has got to: the suite it is in, the last case
    it finished and the last thing the kernel said in it (a diagnostic line, such as the
    soak's heartbeat). Reads only what was added since the last look."""

    SUITE = re.compile(r"^    # Subtest: (\S+)")
    CASE = re.compile(r"^    (?:not )?ok \d+ (\S+)")
    SAID = re.compile(r"^    # (.*\S)")
    SAID_MAX = 90

    def __init__(self, log_path):
        self.log_path = log_path
        self.offset = 0
        self.partial = b""
        self.suite = None
        self.case = None
        self.said = None

    def update(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            m = self.SUITE.match(line)
            if m:
                self.suite, self.case, self.said = m.group(1), None, None
                continue
            m = self.CASE.match(line)
            if m:
                self.case, self.said = m.group(1), None
                continue
            m = self.SAID.match(line)
            if m:
                said = m.group(1)
                self.said = said if len(said) <= self.SAID_MAX else said[:self.SAID_MAX] + "..."


    def describe(self):
        self.update()
        if self.suite is None:
            return "no suite started yet"
        if self.case is None:
            where = "in suite %s, at its first case" % self.suite
        else:
            where = "in suite %s, last case done: %s" % (self.suite, self.case)
        return where + ("; last said: " + self.said if self.said else "")


def _minutes(seconds):
    return "%dm%02ds" % (seconds // 60, seconds % 60)


def run_matrix(boots, args):
    width = max(len(b.name) for b in boots)
    results = [None] * len(boots)
    done = 0
    totals = [0, 0, 0]          # cases passed, failed, skipped over all boots
    failed_boots = []
    progress = {}               # boot name -> LogProgress, for the heartbeats
    last_heartbeat = {}         # boot name -> when it was last reported

    print("run-tests: %d boot%s, %d at a time; each boot's line comes as it ends"
          % (len(boots), "" if len(boots) == 1 else "s", args.jobs))

    def report(i):
        outcome, verdict = results[i]
        print("%s  [%d/%d]" % (boot_line(outcome, verdict, width), done, len(boots)))
        if args.verbose:
            print("    qemu: " + " ".join(_shell_quote(a) for a in outcome.cmd))
            for l in clean_lines(outcome.log_text.rstrip("\r\n")):
                print("    | " + l)

    def heartbeats():
        now = time.monotonic()
        with _running_lock:
            running = dict(_started)
        for b in boots:
            started = running.get(b.name)
            if started is None or now - started < HEARTBEAT_AFTER:
                continue
            if now - last_heartbeat.get(b.name, started) < HEARTBEAT_EVERY:
                continue
            last_heartbeat[b.name] = now
            log = progress.setdefault(
                b.name, LogProgress(os.path.join(args.log_dir, b.name + ".log")))
            print("     %-*s still running after %s, %s"
                  % (width, b.name, _minutes(now - started), log.describe()))

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_boot, b, args): i for i, b in enumerate(boots)}
        pending = set(futures)
        try:
            while pending:
                finished, pending = concurrent.futures.wait(
                    pending, timeout=5, return_when=concurrent.futures.FIRST_COMPLETED)
                for fut in finished:
                    i = futures[fut]
                    outcome = fut.result()
                    verdict = judge(outcome.boot, outcome.status, outcome.timed_out,
                                    outcome.log_text)
                    results[i] = (outcome, verdict)
                    done += 1
                    report(i)
                heartbeats()
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            kill_running()
            print("\ninterrupted", file=sys.stderr)
            sys.exit(130)

    for outcome, verdict in results:
        for k, n in enumerate(verdict.ktap.count()):
            totals[k] += n
        if not verdict.passed:
            failed_boots.append((outcome, verdict))

    if failed_boots:
        print()
        for outcome, verdict in failed_boots:
            print("\n".join(failure_report(outcome, verdict)))
            print()

    print("cases: %d passed, %d failed, %d skipped (in all boots)" % tuple(totals))
    n_failed = len(failed_boots)
    print("%d passed, %d failed" % (len(boots) - n_failed, n_failed))
    return 0 if n_failed == 0 else 1


# ---------------------------------------------------------------------------
# Self-check of the log parser and judge (no QEMU needed)
# ---------------------------------------------------------------------------

def _selftest():
    boot = Boot("selftest", KERNEL, "test", 128, 0x80000000, 0x7FFEFFFF)
    checks = 0

    def expect(cond, what, v=None):
        nonlocal checks
        checks += 1
        if not cond:
            extra = ""
            if v is not None:
                extra = "\n  summary: %s\n  details: %s" % (v.summary, v.details)
            raise AssertionError("selftest failed: " + what + extra)

    # 1-15. The judge and the KTAP parser on canned logs (verdict.py).
    judge_selftest(boot, expect)

    # 16. Modules: the boot's own first, then the --module files, in one -initrd; none on ISO.
    args = argparse.Namespace(qemu=QEMU, kernel="k.elf", iso="t.iso",
                              modules=[module_of_file("build/user/hello.exe"),
                                       module_of_file("spawn.exe")])
    expect(module_of_file("build/user/hello.exe") == ("build/user/hello.exe", "hello.exe"),
           "module name is the base name")
    cmd = qemu_command(boot._replace(modules=[TEST_MODULE]), args, "x.log")
    expect(cmd.count("-initrd") == 1 and cmd[cmd.index("-initrd") + 1] ==
           "k.elf test-module,build/user/hello.exe hello.exe,spawn.exe spawn.exe",
           "-initrd lists every module: %s" % cmd)
    args.modules = []
    expect("-initrd" not in qemu_command(boot, args, "x.log"), "no modules, no -initrd")
    args.modules = [module_of_file("hello.exe")]
    expect("-initrd" not in qemu_command(boot._replace(boot=ISO), args, "x.log"),
           "an ISO boot takes no -initrd")
    for bad in ([("a,b.exe", "b.exe")], [("my dir/a.exe", "a.exe")], [("a.exe", "")],
                [("a.exe", "a.exe"), ("x/a.exe", "a.exe")]):
        try:
            initrd_argument(bad)
            expect(False, "bad modules %r rejected" % bad)
        except ValueError:
            expect(True, "bad modules rejected")

    # 17. Disks: one -drive per disk, in order, from the log directory; the pattern image.
    cmd = qemu_command(boot._replace(disks=[PATTERN_DISK, PATTERN_DISK]), args, "logs/x.log")
    drives = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-drive"]
    expect(drives == ["file=logs/selftest-disk%d.img,format=raw,if=ide,index=%d,cache=unsafe"
                      % (i, i)
                      for i in range(2)], "one -drive per disk: %s" % drives)
    expect("-drive" not in qemu_command(boot, args, "x.log"), "no disks, no -drive")
    cmd = qemu_command(boot._replace(disks=[PATTERN_DISK_BAD_SECTOR]), args, "logs/x.log")
    drives = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-drive"]
    expect(drives == ["file=blkdebug:logs/selftest-disk0.blkdebug:logs/selftest-disk0.img,"
                      "format=raw,if=ide,index=0,cache=unsafe"],
           "a bad-sector disk through blkdebug: %s" % drives)
    image = io.BytesIO()
    write_pattern_image(image, 3 * SECTOR_BYTES)
    data = image.getvalue()
    expect(len(data) == 3 * SECTOR_BYTES, "pattern image size")
    sector2 = data[2 * SECTOR_BYTES:]
    expect(sector2[:16] == b"ATATEST\0\x02\0\0\0\0\0\0\0" and sector2[16] == (2 * 7 + 16) &
           0xFF and sector2[511] == (2 * 7 + 511) & 0xFF, "pattern sector 2")
    for bad in ([("nonsense", 512)], [("pattern", 1000)], [("pattern", 0)]):
        try:
            check_disks(boot._replace(disks=bad))
            expect(False, "bad disks %r rejected" % bad)
        except ValueError:
            expect(True, "bad disks rejected")

    # 18. The heartbeat reads a growing log: the suite it is in, the last case done,
    # lines cut in the middle by a read, and only what came since the last look.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "boot.log")
        log = LogProgress(path)
        expect(log.describe() == "no suite started yet", "no log yet: " + log.describe())
        with open(path, "wb") as f:
            f.write(b"KTAP version 1\r\n1..2\n    KTAP version 1\n    # Subtest: paging\n")
            f.flush()
            expect(log.describe() == "in suite paging, at its first case",
                   "a suite begun: " + log.describe())
            f.write(b"    1..2\n    ok 1 self_map\n    not ok 2 glo")
            f.flush()
            expect(log.describe() == "in suite paging, last case done: self_map",
                   "half a line is not read yet: " + log.describe())
            f.write(b"bal_pages\nnot ok 1 paging\n    KTAP version 1\n    # Subtest: vm\n"
                    b"    1..1\n        # a case's diagnostic line\n")
            f.flush()
            expect(log.describe() == "in suite vm, at its first case",
                   "the next suite: " + log.describe())
            expect(log.offset == f.tell(), "each byte is read once")
            f.write(b"    # soak: heartbeat: iteration 3 of 4\n  12|     # a program's line\n")
            f.flush()
            expect(log.describe() == "in suite vm, at its first case; last said: soak: "
                   "heartbeat: iteration 3 of 4", "what the kernel said last: " + log.describe())

    print("selftest: %d checks passed" % checks)
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def main():
    names = [b.name for b in MATRIX + SOAK]
    ap = argparse.ArgumentParser(
        description="Boot the kernel under QEMU in each configuration of the test "
                    "matrix and check its self-test report.")
    # Defaults are in the repository's build/ folder, wherever this is run from.
    build = os.path.join(REPO_ROOT, "build")
    ap.add_argument("--kernel", default=os.path.join(build, "kernel.elf"),
                    help="Multiboot kernel ELF (default: build/kernel.elf)")
    ap.add_argument("--iso", default=os.path.join(build, "test.iso"),
                    help="GRUB image from 'scripts/mkiso.sh KERNEL ISO --test' "
                         "(default: build/test.iso)")
    ap.add_argument("--module", action="append", default=[], metavar="FILE",
                    help="hand FILE to every KERNEL boot as a multiboot module named by "
                         "its base name (may repeat)")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1),
                    help="boots to run at once (default: CPUs, at most 4)")
    ap.add_argument("--only", action="append", metavar="NAME", choices=names,
                    help="run only this configuration (may repeat)")
    # Generous: a shared host can run the emulator at half its usual speed, and a
    # hang is still caught.
    ap.add_argument("--timeout", type=float, default=150,
                    help="seconds before a boot is killed (default: %(default)s)")
    ap.add_argument("--log-dir", default=os.path.join(build, "test-logs"),
                    help="where the serial logs go (default: build/test-logs)")
    ap.add_argument("--qemu", default=QEMU, help="QEMU binary (default: %(default)s)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every whole log")
    ap.add_argument("--list", action="store_true", help="list the configurations and exit")
    ap.add_argument("--soak", action="store_true",
                    help="run the long soak (SOAK) instead of the matrix")
    ap.add_argument("--selftest", action="store_true",
                    help="check the log parser on canned logs and exit (no QEMU)")
    args = ap.parse_args()

    if args.selftest:
        return _selftest()

    if args.list:
        width = max(len(n) for n in names)
        print("%-*s  %-6s  %-28s  %5s  %-10s  %-10s  %s" % (
            width, "name", "boot", "cmdline", "MB", "system", "highest", "probe"))
        for b in MATRIX:
            cmdline = b.cmdline if b.boot == KERNEL else "(GRUB default: %s)" % b.cmdline
            print("%-*s  %-6s  %-28s  %5d  0x%08X  0x%08X  0x%08X" % (
                width, b.name, b.boot, cmdline, b.mem, b.system, b.highest, b.highest + 1))
        return 0

    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    boots = [b for b in (SOAK if args.soak else MATRIX) if not args.only or b.name in args.only]

    if shutil.which(args.qemu) is None:
        print("run-tests: %s not found; install the Debian package %s "
              "(apt-get install %s)" % (args.qemu, QEMU_PACKAGE, QEMU_PACKAGE), file=sys.stderr)
        return 2
    if any(b.boot == KERNEL for b in boots) and not os.path.isfile(args.kernel):
        print("run-tests: kernel not found: %s (build it first)" % args.kernel, file=sys.stderr)
        return 2
    if any(b.boot == UEFI for b in boots) and not os.path.isfile(OVMF):
        print("run-tests: %s not found (apt-get install ovmf)" % OVMF, file=sys.stderr)
        return 2
    if any(b.boot in (ISO, UEFI) for b in boots) and not os.path.isfile(args.iso):
        print("run-tests: ISO not found: %s (make it with: scripts/mkiso.sh %s %s --test)"
              % (args.iso, args.kernel, args.iso), file=sys.stderr)
        return 2

    # QEMU's -serial file:PATH and -cdrom PATH treat ',' as an option separator.
    args.log_dir = os.path.abspath(args.log_dir)
    for what, path in (("log directory", args.log_dir), ("ISO", args.iso)):
        if "," in path:
            print("run-tests: the %s path must not contain ',': %s" % (what, path),
                  file=sys.stderr)
            return 2
    missing = [m for m in args.module if not os.path.isfile(m)]
    if missing:
        print("run-tests: module not found: %s (build it first)" % missing[0], file=sys.stderr)
        return 2
    args.modules = [module_of_file(m) for m in args.module]
    try:
        for b in boots:
            initrd_argument(boot_modules(b, args))
            check_disks(b)
    except ValueError as e:
        print("run-tests: %s" % e, file=sys.stderr)
        return 2
    os.makedirs(args.log_dir, exist_ok=True)

    return run_matrix(boots, args)


if __name__ == "__main__":
    # Each line as it is printed, also when the output goes to a pipe or a file.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    # Let Ctrl-C reach the main thread as KeyboardInterrupt, even while waiting.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
