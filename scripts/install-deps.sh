#!/usr/bin/env bash
# Installs the packages that build, boot and test the kernel on Debian or Ubuntu.
# Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
# Runs apt-get as root directly, otherwise through sudo.
set -euo pipefail

# command -> Debian package that provides it
declare -A need=(
  [i686-linux-gnu-gcc]=gcc-i686-linux-gnu
  [i686-linux-gnu-ld]=binutils-i686-linux-gnu
  [i686-w64-mingw32-gcc]=gcc-mingw-w64-i686
  [qemu-system-i386]=qemu-system-x86
  [grub-mkrescue]=grub-common
  [grub-file]=grub-common
  [xorriso]=xorriso
  [mformat]=mtools
  [python3]=python3
  [make]=make
)
# Files (not commands) that GRUB, the UEFI boots and the framebuffer console's font need.
declare -A need_files=(
  [/usr/lib/grub/i386-pc/modinfo.sh]=grub-pc-bin
  [/usr/lib/grub/x86_64-efi/modinfo.sh]=grub-efi-amd64-bin
  [/usr/share/ovmf/OVMF.fd]=ovmf
  [/usr/share/consolefonts/Lat15-VGA16.psf.gz]=console-setup-linux
)

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
for f in "${!need_files[@]}"; do
  [ -e "$f" ] || missing+=("${need_files[$f]}")
done
# grub-mkrescue needs both platform folders (grub-pc-bin, grub-efi-amd64-bin) for the
# hybrid image; several commands come from one package, so keep the list unique.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
install_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "${1:-}" = "--check" ]; then
  echo "missing packages: ${missing[*]}" >&2
  echo "install them, as root, with:" >&2
  echo "    $install_line" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    # Nothing has been changed: say what to run, and stop.
    {
      echo "install-deps: the build needs packages that are not installed: ${missing[*]}"
      echo "install-deps: installing them needs root, and this user is not root and has no sudo."
      echo "Run this as root, then the same make command again:"
      echo "    $install_line"
    } >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Through env, because sudo drops DEBIAN_FRONTEND, and console-setup-linux brings
# keyboard-configuration, which would otherwise stop to ask for a keyboard layout.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
