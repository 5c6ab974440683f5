#!/usr/bin/env bash
# Builds a bootable GRUB rescue image that loads the kernel with Multiboot 2 on UEFI
# firmware and with Multiboot 1 on BIOS firmware.
#
# Usage: scripts/mkiso.sh KERNEL_ELF OUT_ISO [--test] [--module FILE]...
#
#   KERNEL_ELF     the linked kernel (copied into the image as /boot/kernel.elf)
#   OUT_ISO        where to write the image
#   --test         boot the self-test entry straight away (timeout 0), so an
#                  unattended boot, e.g. under QEMU in `make test`, runs the tests;
#                  QEMU may hand that entry its kernel options, and a memory range
#                  for GRUB to cut out of the map, in SMBIOS strings (see grub.cfg
#                  below and smbios_argument in scripts/run-tests.py)
#   --module FILE  copy FILE into the image as /boot/user/NAME (NAME: its base
#                  name) and load it as a multiboot module in every menu entry,
#                  with "module2 /boot/user/NAME NAME" (UEFI) or
#                  "module /boot/user/NAME NAME" (BIOS); may be repeated
#
# The image is a hybrid: it holds GRUB for both BIOS (i386-pc) and UEFI
# (x86_64-efi) firmware, and boots either from a CD or when written raw to a
# USB stick (dd if=OUT_ISO of=/dev/sdX). grub-mkrescue puts in every platform
# that is installed under /usr/lib/grub, so this script only has to check that
# both of ours are there.
#
# GRUB talks to the first serial port (115200 8N1) as well as to the screen, so
# the menu can be driven over a serial line or from `qemu -serial stdio`.
#
# Prints one line naming the output on success; anything else is an error.
set -euo pipefail

prog=${0##*/}

die() {
  echo "$prog: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $prog KERNEL_ELF OUT_ISO [--test] [--module FILE]..." >&2
  exit 2
}

# --- arguments -------------------------------------------------------------

test_mode=0
modules=()
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --test) test_mode=1 ;;
    --module)
      [ $# -ge 2 ] || { echo "$prog: --module needs a FILE" >&2; usage; }
      modules+=("$2")
      shift ;;
    --module=*) modules+=("${1#--module=}") ;;
    -h|--help) usage ;;
    -*) echo "$prog: unknown option: $1" >&2; usage ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -eq 2 ] || usage
kernel=${positional[0]}
out_iso=${positional[1]}

# --- tools -----------------------------------------------------------------

# Each command grub-mkrescue needs, with the Debian package that provides it.
need_tool() {
  command -v "$1" >/dev/null 2>&1 ||
    die "'$1' not found; install the Debian package '$2' (apt-get install $2)"
}
need_tool grub-mkrescue grub-common
need_tool xorriso xorriso   # writes the ISO 9660 image
need_tool mformat mtools    # builds the FAT image that holds the UEFI loader

# The GRUB platform folders that make the image boot on BIOS and on UEFI.
grub_lib=/usr/lib/grub
[ -d "$grub_lib/i386-pc" ] ||
  die "$grub_lib/i386-pc not found (BIOS boot); install the Debian package 'grub-pc-bin'"
[ -d "$grub_lib/x86_64-efi" ] ||
  die "$grub_lib/x86_64-efi not found (UEFI boot); install the Debian package 'grub-efi-amd64-bin'"

# --- the kernel ------------------------------------------------------------

[ -e "$kernel" ] || die "kernel not found: $kernel (build it first, e.g. with 'make')"
[ -f "$kernel" ] || die "kernel is not a regular file: $kernel"

# GRUB refuses to boot a file without a valid header for the protocol the menu
# uses; catch that here rather than at the boot menu. grub-file comes with
# grub-common.
if command -v grub-file >/dev/null 2>&1; then
  grub-file --is-x86-multiboot "$kernel" ||
    die "$kernel has no valid Multiboot 1 header (checked with grub-file)"
  grub-file --is-x86-multiboot2 "$kernel" ||
    die "$kernel has no valid Multiboot 2 header (checked with grub-file)"
fi

# --- the modules -----------------------------------------------------------

# The kernel finds a module by the base name of the first word of its string. GRUB
# reads the menu line as words, so a name is kept to characters that need no quoting.
declare -A module_names=()
for module in ${modules[@]+"${modules[@]}"}; do
  [ -f "$module" ] || die "module not found: $module (build it first, e.g. with 'make user')"
  name=${module##*/}
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] ||
    die "module name '$name' must be letters, digits, '.', '_' or '-' only"
  [ -z "${module_names[$name]:-}" ] || die "two modules are named $name"
  module_names[$name]=1
done

# --- staging tree ----------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/mkiso.XXXXXX")
trap 'rm -rf "$work"' EXIT

stage=$work/iso
mkdir -p "$stage/boot/grub"
cp "$kernel" "$stage/boot/kernel.elf"

module_list=()
if [ ${#modules[@]} -gt 0 ]; then
  mkdir -p "$stage/boot/user"
  for module in "${modules[@]}"; do
    name=${module##*/}
    cp "$module" "$stage/boot/user/$name"
    module_list+=("$name")
  done
fi

# The menu: each entry's title and the kernel options it passes.
entry_titles=(
  "NT memory-model kernel (2 GB / 2 GB)"
  "NT memory-model kernel /3GB (3 GB user / 1 GB system)"
  "NT memory-model kernel increaseuserva=2560 (2.5 GB user / 1.5 GB system)"
  "Self-tests (default split)"
  "Self-tests (/3GB)"
)
entry_options=("" "/3GB" "increaseuserva=2560" "test" "test /3GB")

# Prints the loading commands of one entry for one protocol: LOADER (multiboot
# or multiboot2) with OPTIONS, then a MODULE (module or module2) line for each
# module, every line starting with INDENT.
load_lines() {
  local loader=$1 module=$2 options=$3 indent=$4
  echo "$indent$loader /boot/kernel.elf${options:+ $options}"
  for name in ${module_list[@]+"${module_list[@]}"}; do
    echo "$indent$module /boot/user/$name $name"
  done
}

# Prints one menu entry. Multiboot 1 predates UEFI: GRUB can still use it there,
# but only Multiboot 2 describes what UEFI firmware leaves behind (its
# framebuffer, in particular), so an entry picks the protocol by GRUB's platform.
menu_entry() {
  local title=$1 options=$2
  echo
  echo "menuentry \"$title\" {"
  echo '    if [ "$grub_platform" = "efi" ]; then'
  load_lines multiboot2 module2 "$options" "        "
  echo '    else'
  load_lines multiboot module "$options" "        "
  echo '    fi'
  echo '    boot'
  echo '}'
}

# Without --test a person is at the menu: give them time and start the plain
# kernel. With --test nobody is: go at once to entry 3, the default-split
# self-tests (entries count from 0).
if [ "$test_mode" -eq 1 ]; then
  timeout=0
  default=3
  entry_options[3]='$test_options'
else
  timeout=10
  default=0
fi

{
  cat <<EOF
# GRUB configuration written by scripts/mkiso.sh.
# Kernel options follow the Windows NT boot.ini switches: /3GB moves the
# user/system boundary to 3 GB; increaseuserva=N (MB, from 2048 to 3072) sets it
# to N MB; "test" runs the built-in self-tests and reports them in KTAP format.
# On UEFI the kernel is loaded with Multiboot 2, on BIOS with Multiboot 1.

serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console

set timeout=$timeout
set default=$default

# GRUB sets up a framebuffer for Multiboot 2 only through a video driver; on UEFI
# that framebuffer (GOP's) is the only screen there is.
if [ "\$grub_platform" = "efi" ]; then
    insmod all_video
fi
EOF
  if [ "$test_mode" -eq 1 ]; then
    cat <<'EOF'

# A test boot may bring its own kernel options for the self-test entry, and a range
# to cut out of the memory map GRUB hands the kernel, in the SMBIOS system
# information QEMU makes: -smbios type=1,manufacturer=ntmm-test,serial=OPTIONS,
# sku=FROM,family=TO (scripts/run-tests.py). A real PC's SMBIOS does not name that
# manufacturer, so on one the entry is plain "test".
set test_options="test"
insmod smbios
insmod mmap
if smbios --type 1 --get-string 4 --set test_maker; then
    if [ "$test_maker" = "ntmm-test" ]; then
        if smbios --type 1 --get-string 7 --set test_serial; then
            set test_options="$test_serial"
        fi
        if smbios --type 1 --get-string 0x19 --set test_cut_from; then
            if smbios --type 1 --get-string 0x1a --set test_cut_to; then
                cutmem $test_cut_from $test_cut_to
            fi
        fi
    fi
fi
EOF
  fi
  for i in "${!entry_titles[@]}"; do
    menu_entry "${entry_titles[$i]}" "${entry_options[$i]}"
  done
} >"$stage/boot/grub/grub.cfg"

# --- the image -------------------------------------------------------------

mkdir -p "$(dirname "$out_iso")"
log=$work/grub-mkrescue.log
if ! grub-mkrescue -o "$out_iso" "$stage" >"$log" 2>&1; then
  cat "$log" >&2
  die "grub-mkrescue failed (its output is above)"
fi
[ -s "$out_iso" ] || { cat "$log" >&2; die "grub-mkrescue wrote no image to $out_iso"; }

if [ "$test_mode" -eq 1 ]; then
  echo "$prog: wrote $out_iso (self-test entry boots by default)"
else
  echo "$prog: wrote $out_iso"
fi
