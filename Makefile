# The kernel, its boot image and its tests. `make help` lists the targets.

.DEFAULT_GOAL := all

CROSS    ?= i686-linux-gnu-
CC       := $(CROSS)gcc
LD       := $(CROSS)ld
CPP      := $(CROSS)cpp
QEMU     ?= qemu-system-i386
BUILD    := build

# i486 code, so that every CPU from the 486 on runs it; no FPU or SSE in the kernel.
CFLAGS   := -std=gnu11 -march=i486 -m32 -O2 -g -ffreestanding -fno-pic -fno-pie \
            -fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
            -mgeneral-regs-only -fno-strict-aliasing -Wall -Wextra -Werror -I.
ASFLAGS  := -m32 -march=i486 -g -I. -D__ASSEMBLER__
LDFLAGS  := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments
# Asked of the compiler when the kernel is linked, never when this file is read: on a new
# machine the compiler does not exist until `deps` has installed it.
LIBGCC    = $(shell $(CC) -print-libgcc-file-name)

SOURCES  := \
	boot/entry.S \
	boot/multiboot_header.S \
	boot/multiboot.c \
	boot/multiboot2.c \
	boot/paging_mode.c \
	arch/acpi.c \
	arch/apic.c \
	arch/ap_trampoline.S \
	arch/context.c \
	arch/copy_checked.S \
	arch/cpu_features.c \
	arch/descriptors.c \
	arch/fb_console.c \
	arch/irql.c \
	arch/machine.c \
	arch/pci.c \
	arch/pci_config.c \
	arch/pic.c \
	arch/pit.c \
	arch/serial.c \
	arch/switch.S \
	arch/trap.c \
	arch/trap_entry.S \
	arch/vga_text.c \
	arch/lockcheck.c \
	io/ahci.c \
	io/ata.c \
	io/ata_identify.c \
	io/ata_pci.c \
	io/block.c \
	ke/dpc.c \
	ke/ipi.c \
	ke/tlbflush.c \
	kernel/bench.c \
	kernel/exception.c \
	kernel/isolation_probe.c \
	kernel/loader.c \
	kernel/main.c \
	kernel/modules.c \
	kernel/object.c \
	kernel/process.c \
	kernel/processors.c \
	kernel/scheduler.c \
	kernel/shared_data.c \
	kernel/sys_copy.c \
	kernel/sys_memory.c \
	kernel/sys_object.c \
	kernel/sys_process.c \
	kernel/sys_section.c \
	kernel/sys_system.c \
	kernel/syscall.c \
	kernel/usercopy.c \
	lib/bitmap.c \
	lib/cmdline.c \
	lib/console.c \
	lib/format.c \
	lib/object_header.c \
	lib/panic.c \
	lib/string.c \
	mm/addrspace.c \
	mm/audit.c \
	mm/fault.c \
	mm/hyperspace.c \
	mm/image.c \
	mm/init.c \
	mm/kstack.c \
	mm/memmap.c \
	mm/modwriter.c \
	mm/pagedpool.c \
	mm/pagefile.c \
	mm/pagetable.c \
	mm/pe_image.c \
	mm/pte.c \
	mm/pfn.c \
	mm/pool.c \
	mm/section.c \
	mm/split.c \
	mm/syspte.c \
	mm/vad.c \
	mm/workset.c \
	mm/virtual.c \
	mm/vmquery.c \
	mm/pagelock.c \
	mm/writewatch.c \
	tests/crash.c \
	tests/fake_memory.c \
	tests/ktest.c \
	tests/multiboot2_builder.c \
	tests/page_stamp.c \
	tests/pe_builder.c \
	tests/program_harness.c \
	tests/test_acpi.c \
	tests/test_cmdline.c \
	tests/test_cpu.c \
	tests/test_disk.c \
	tests/test_dpc.c \
	tests/test_fault.c \
	tests/test_fb_console.c \
	tests/test_inpage.c \
	tests/test_fuzz.c \
	tests/test_memmap.c \
	tests/test_modwriter.c \
	tests/test_multiboot.c \
	tests/test_multiboot2.c \
	tests/test_multiboot_fb.c \
	tests/test_nx.c \
	tests/scratch_process.c \
	tests/test_audit.c \
	tests/test_inject.c \
	tests/test_pagefile.c \
	tests/test_soak.c \
	tests/test_pagestress.c \
	tests/test_pci.c \
	tests/test_paging.c \
	tests/test_pte.c \
	tests/test_pe_image.c \
	tests/test_pe_layout.c \
	tests/test_pfn.c \
	tests/test_pool.c \
	tests/test_process.c \
	tests/test_section.c \
	tests/test_smp.c \
	tests/test_security.c \
	tests/test_split.c \
	tests/test_sync.c \
	tests/test_syspte.c \
	tests/test_vad.c \
	tests/test_virtual.c \
	tests/test_vm.c

# The framebuffer console's font, generated from a Debian console font (console-setup-linux).
FONT     := /usr/share/consolefonts/Lat15-VGA16.psf.gz

# The kernel is built twice, once per page-table format (arch/layout.h): the two-level
# build in $(BUILD), the PAE build in $(BUILD)/pae. The kernel file is the two-level build
# linked with the boot stub, which carries the PAE build and starts whichever the command
# line and the processor call for (boot/select.c). $(PAE_KERNEL) boots on its own too.
OBJECTS  := $(patsubst %,$(BUILD)/%.o,$(basename $(SOURCES))) $(BUILD)/arch/fb_font.o
PAE_OBJECTS := $(patsubst $(BUILD)/%,$(BUILD)/pae/%,$(OBJECTS))
KERNEL   := $(BUILD)/kernel.elf
PAE_KERNEL := $(BUILD)/pae/kernel.elf
# The boot stub: its own code and its own copies of what it shares with the kernel.
STUB_SOURCES := boot/select_entry.S boot/select.c boot/paging_mode.c lib/cmdline.c lib/string.c
STUB_OBJECTS := $(patsubst %,$(BUILD)/stub/%.o,$(basename $(STUB_SOURCES))) \
                $(BUILD)/stub/boot/select_payload.o
STUB     := $(BUILD)/stub.o
ISO      := $(BUILD)/kernel.iso
TEST_ISO := $(BUILD)/test.iso

# The user-mode test programs (PE32, built with MinGW-w64): USER_PROGRAMS. Included
# before the rules below, whose prerequisites name them.
include tests/user/user.mk

# 32 MB and a 128 MB pagefile on ide0, so that pagestress.exe (twice the RAM) pages.
RUN_MEMORY ?= 32
# No window by default: the serial console in the terminal is the kernel's console, and
# a machine without a desktop (or without qemu-system-gui) has nothing to open one on.
# RUN_DISPLAY=gtk shows the VGA screen too.
RUN_DISPLAY ?= none
RUN_ARGS   ?= run=hello.exe,pagestress.exe pagefile=ide0
RUN_PAGEFILE := $(BUILD)/pagefile.img
# The user programs as multiboot modules: "path name,path name,..." for QEMU's -initrd.
comma      := ,
empty      :=
space      := $(empty) $(empty)
RUN_MODULES = $(subst |,$(space),$(subst $(space),$(comma),$(foreach p,$(USER_PROGRAMS),$(p)|$(notdir $(p)))))
QEMU_RUN    = $(QEMU) -kernel $(KERNEL) -m $(RUN_MEMORY) -serial mon:stdio -no-reboot \
              -display $(RUN_DISPLAY) \
              -device isa-debug-exit,iobase=0xf4,iosize=0x04 -initrd "$(RUN_MODULES)" \
              -drive file=$(RUN_PAGEFILE),format=raw,if=ide,index=0

.PHONY: all iso run debug test soak bench deps clean help
all: $(KERNEL)

# Installs what is missing, or says what to install (see scripts/install-deps.sh).
deps:
	@scripts/install-deps.sh

# `make V=1` shows the full commands.
ifneq ($(V),1)
Q := @
endif

# The compile rules of one tree of objects: $(1) its directory under $(BUILD), $(2) the
# extra compiler flags, $(3) what the echoed line adds to the file name.
define compile_rules
$(BUILD)/$(1)%.o: %.c | deps
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC      $$<$(3)")
	$$(Q)$$(CC) $$(CFLAGS) $(2) -MMD -MP -c $$< -o $$@

$(BUILD)/$(1)%.o: %.S | deps
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  AS      $$<$(3)")
	$$(Q)$$(CC) $$(ASFLAGS) $(2) -MMD -MP -c $$< -o $$@
endef
$(eval $(call compile_rules,,,))
$(eval $(call compile_rules,pae/,-DMM_PAE=1, (PAE)))
$(eval $(call compile_rules,stub/,, (boot stub)))

$(BUILD)/pae/arch/fb_font.o: $(BUILD)/arch/fb_font.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (PAE)")
	$(Q)$(CC) $(CFLAGS) -DMM_PAE=1 -MMD -MP -c $< -o $@

# The font is installed by `deps`; until then make must not give up on it as missing.
$(FONT): | deps

$(BUILD)/arch/fb_font.c: $(FONT) scripts/psf2c.py | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FONT    $@")
	$(Q)scripts/psf2c.py $< $@

$(BUILD)/arch/fb_font.o: $(BUILD)/arch/fb_font.c | deps
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# linker.ld takes its addresses from arch/layout.h through the preprocessor.
$(BUILD)/linker.ld: linker.ld arch/layout.h | deps
	@mkdir -p $(BUILD)
	$(Q)$(CPP) -P -undef -nostdinc -I. -D__ASSEMBLER__ -x c $< -o $@

$(BUILD)/pae/linker.ld: linker.ld arch/layout.h | deps
	@mkdir -p $(dir $@)
	$(Q)$(CPP) -P -undef -nostdinc -I. -D__ASSEMBLER__ -DMM_PAE=1 -x c $< -o $@

MULTIBOOT_CHECK = grub-file --is-x86-multiboot $@ || { echo "error: $@ has no Multiboot 1 header" >&2; exit 1; }; \
	grub-file --is-x86-multiboot2 $@ || { echo "error: $@ has no Multiboot 2 header" >&2; exit 1; }

$(PAE_KERNEL): $(PAE_OBJECTS) $(BUILD)/pae/linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -T $(BUILD)/pae/linker.ld --defsym=pae_kernel_end=_kernel_end -o $@ \
		$(PAE_OBJECTS) $(LIBGCC)
	@$(MULTIBOOT_CHECK)

# The PAE build as the stub carries it: loadable segments only.
$(BUILD)/pae/kernel.stripped: $(PAE_KERNEL)
	$(Q)$(CROSS)objcopy --strip-all $< $@

$(BUILD)/stub/boot/select_payload.o: boot/select_payload.S $(BUILD)/pae/kernel.stripped | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $< (boot stub)")
	$(Q)$(CC) $(ASFLAGS) -DPAE_BUILD='"$(BUILD)/pae/kernel.stripped"' -c $< -o $@

# One relocatable object whose symbols all begin with stub_ and whose sections all begin
# with .select: linked into the kernel file without meeting the kernel's own copies.
$(STUB): $(STUB_OBJECTS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) -r -o $@.tmp $(STUB_OBJECTS)
	$(Q)$(CROSS)objcopy --prefix-symbols=stub_ --prefix-alloc-sections=.select $@.tmp $@
	@rm -f $@.tmp

# The kernel file: the two-level build, the stub first to run, the PAE build inside it.
$(KERNEL): $(OBJECTS) $(STUB) $(BUILD)/linker.ld $(PAE_KERNEL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -T $(BUILD)/linker.ld -e stub_select_start -o $@ \
		--defsym=pae_kernel_end=0x$$($(CROSS)nm $(PAE_KERNEL) | awk '$$3 == "_kernel_end" { print $$1 }') \
		$(OBJECTS) $(STUB) $(LIBGCC)
	@$(MULTIBOOT_CHECK)

iso: $(ISO)
$(ISO): $(KERNEL) $(USER_PROGRAMS) scripts/mkiso.sh
	scripts/mkiso.sh $(KERNEL) $@ $(addprefix --module ,$(USER_PROGRAMS))

$(TEST_ISO): $(KERNEL) $(USER_PROGRAMS) scripts/mkiso.sh
	scripts/mkiso.sh $(KERNEL) $@ --test $(addprefix --module ,$(USER_PROGRAMS))

# Boots the default configuration with the serial console in this terminal (quit QEMU
# with Ctrl-A X), the user programs as modules, running hello.exe. RUN_ARGS is the
# command line, e.g. RUN_ARGS="/3GB run=hello.exe,spawn.exe".
run: $(KERNEL) $(USER_PROGRAMS) $(RUN_PAGEFILE)
	$(QEMU_RUN) -append "$(RUN_ARGS)"

# QEMU halted with its gdb stub on :1234; in another terminal: gdb -x scripts/gdbinit
debug: $(KERNEL) $(USER_PROGRAMS) $(RUN_PAGEFILE)
	@echo "QEMU waits for gdb on :1234; in another terminal run: gdb -x scripts/gdbinit"
	$(QEMU_RUN) -append "$(RUN_ARGS)" -s -S

# The long soak: at least 10 minutes of process churn that pages (tests/test_soak.c).
soak: $(KERNEL) $(USER_PROGRAMS)
	scripts/run-tests.py --soak --kernel $(KERNEL) $(addprefix --module ,$(USER_PROGRAMS))

# The pagefile disk of make run: an empty 128 MB image with the pagefile signature.
$(RUN_PAGEFILE): scripts/mkpagefile.py | deps
	@mkdir -p $(dir $@)
	scripts/mkpagefile.py $@ 128M

# Builds everything and boots every configuration in the matrix (scripts/run-tests.py).
test: $(KERNEL) $(USER_PROGRAMS) $(TEST_ISO)
	@scripts/run-tests.py --selftest >/dev/null
	@scripts/check-includes.py --selftest >/dev/null
	scripts/check-includes.py
	@scripts/check-pte-writers.py --selftest >/dev/null
	scripts/check-pte-writers.py
	scripts/run-tests.py --kernel $(KERNEL) --iso $(TEST_ISO) $(addprefix --module ,$(USER_PROGRAMS))

# Boots the benchmarks under -icount and plain TCG (scripts/bench.py); results in $(BUILD)/bench.
bench: $(KERNEL) $(USER_PROGRAMS)
	@scripts/bench.py --selftest >/dev/null
	scripts/bench.py --kernel $(KERNEL) --program $(USER_BUILD)/bench.exe --out $(BUILD)/bench \
		--qemu $(QEMU)

clean:
	rm -rf $(BUILD)

help:
	@echo "make          build $(KERNEL)"
	@echo "make run      boot it in QEMU, serial console here (RUN_ARGS='/3GB' etc.)"
	@echo "make test     build, then boot the whole test matrix"
	@echo "make soak     build, then run the long soak (150 iterations of paging process churn, 10+ minutes)"
	@echo "make bench    build, then run the benchmarks (scripts/bench-compare A B to compare)"
	@echo "make iso      build $(ISO), a BIOS + UEFI GRUB image for CD or USB stick"
	@echo "make user     build the user-mode test programs (build/user/*.exe)"
	@echo "make debug    boot halted, waiting for gdb -x scripts/gdbinit"
	@echo "make clean    remove $(BUILD)"

-include $(OBJECTS:.o=.d) $(PAE_OBJECTS:.o=.d) $(STUB_OBJECTS:.o=.d)
