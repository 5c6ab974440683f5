# The user-mode test programs: PE32 images built with MinGW-w64 that the kernel runs in
# ring 3, each a main() in tests/user/ on the runtime in tests/user/runtime/. Included by
# the Makefile, which gives BUILD, Q and deps. `make user` builds USER_PROGRAMS.

USER_CROSS   ?= i686-w64-mingw32-
USER_CC      := $(USER_CROSS)gcc
USER_OBJDUMP := $(USER_CROSS)objdump
USER_BUILD   := $(BUILD)/user

# i486 code like the kernel's. General registers only: the kernel keeps no FPU or SSE state
# per process. No C library, unwind tables or stack protector. The programs touch address
# 0 on purpose, so the compiler must not reason from null pointers.
USER_CFLAGS  := -std=gnu11 -march=i486 -O2 -ffreestanding -fno-asynchronous-unwind-tables \
                -fno-stack-protector -mgeneral-regs-only -fno-strict-aliasing \
                -fno-delete-null-pointer-checks -Wall -Wextra -Werror -I.
# The stubs take the service numbers from lib/ntabi.h; -imacros keeps only its macros,
# as its C declarations would not assemble.
USER_ASFLAGS := -I. -D__ASSEMBLER__ -imacros lib/ntabi.h
# --dynamicbase makes ld write base relocations (.reloc) so that the kernel can move an
# image; libgcc brings ___chkstk_ms, which touches each page of a big stack frame in turn,
# so that the stack grows through its guard page as on NT.
USER_LDFLAGS := -nostdlib -Wl,--entry=_rt_entry -Wl,--subsystem,console -Wl,--dynamicbase
USER_LIBS    := -lgcc

# laa.exe and nolaa.exe: one source, preferred base above 2 GB (the kernel relocates
# nolaa.exe, and laa.exe when the split leaves no room there).
USER_HIGH_BASE := 0x90000000

USER_RUNTIME := $(addprefix $(USER_BUILD)/runtime/,entry.o string.o print.o check.o syscall.o \
                  vm.o exception.o jump.o) $(USER_BUILD)/lib/string.o
USER_NAMES   := hello isolation fault probe laa spawn exitcode shared fuzz \
                vm_rules vm_query vm_fault vm_commit vm_many vm_anywhere vm_remote vm_access \
                vm_workingset vm_views vm_watch bench pagestress tokens services attack counter \
                dep affinity
# fuzz.exe is made of four objects (tests/user/fuzz.h lists them); the rest, of one each.
FUZZ_OBJECTS := $(patsubst %,$(USER_BUILD)/%.o,fuzz fuzz_arguments fuzz_calls fuzz_race)
USER_OBJECTS := $(USER_RUNTIME) $(patsubst %,$(USER_BUILD)/%.o,$(USER_NAMES)) $(FUZZ_OBJECTS)
USER_PROGRAMS := $(patsubst %,$(USER_BUILD)/%.exe,$(USER_NAMES) nolaa vm_anywhere_laa dep_legacy)

.PHONY: user
user: $(USER_PROGRAMS)
# The program objects are only made on the way to an .exe; keep them all the same.
.SECONDARY: $(USER_OBJECTS)

$(USER_BUILD)/laa.o: USER_CFLAGS += -DPREFERRED_BASE=$(USER_HIGH_BASE)
$(USER_BUILD)/laa.exe: USER_IMAGE_FLAGS := -Wl,--image-base,$(USER_HIGH_BASE) \
                                           -Wl,--large-address-aware
$(USER_BUILD)/nolaa.exe: USER_IMAGE_FLAGS := -Wl,--image-base,$(USER_HIGH_BASE) \
                                             -Wl,--disable-large-address-aware

# dep.exe and dep_legacy.exe: one source, the first marked NX-compatible (DEP under the
# OptIn policy), the second not.
$(USER_BUILD)/dep.exe: USER_IMAGE_FLAGS := -Wl,--nxcompat
$(USER_BUILD)/dep_legacy.exe: USER_IMAGE_FLAGS := -Wl,--disable-nxcompat

# vm_anywhere.exe and vm_anywhere_laa.exe: one source, the second large-address-aware.
$(USER_BUILD)/vm_anywhere.exe: USER_IMAGE_FLAGS := -Wl,--disable-large-address-aware
$(USER_BUILD)/vm_anywhere_laa.exe: USER_IMAGE_FLAGS := -Wl,--large-address-aware

$(USER_BUILD)/%.o: tests/user/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(USER_CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# The runtime shares the kernel's own freestanding string functions (lib/).
$(USER_BUILD)/lib/%.o: lib/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(USER_CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

$(USER_BUILD)/%.o: tests/user/%.S | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(USER_CC) $(USER_ASFLAGS) -MMD -MP -c $< -o $@

# Links $@ from its program object and the runtime; an image without base relocations
# could only be loaded at its preferred base, so that is an error.
define user_link
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(USER_CC) $(USER_LDFLAGS) $(USER_IMAGE_FLAGS) -o $@ $^ $(USER_LIBS)
	@$(USER_OBJDUMP) -h $@ | grep -q ' \.reloc ' || \
		{ echo "error: $@ has no base relocations" >&2; rm -f $@; exit 1; }
endef

$(USER_BUILD)/nolaa.exe: $(USER_BUILD)/laa.o $(USER_RUNTIME)
	$(user_link)

$(USER_BUILD)/vm_anywhere_laa.exe: $(USER_BUILD)/vm_anywhere.o $(USER_RUNTIME)
	$(user_link)

$(USER_BUILD)/dep_legacy.exe: $(USER_BUILD)/dep.o $(USER_RUNTIME)
	$(user_link)

$(USER_BUILD)/fuzz.exe: $(FUZZ_OBJECTS) $(USER_RUNTIME)
	$(user_link)

$(USER_BUILD)/%.exe: $(USER_BUILD)/%.o $(USER_RUNTIME)
	$(user_link)

-include $(USER_OBJECTS:.o=.d)
