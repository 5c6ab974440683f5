#!/usr/bin/env bash
# The README's two commands on a brand-new machine: a minimal Debian 12 root
# (debootstrap --variant=minbase, plus make and git, nothing else) gets a clone of the
# current commit, and there
#   1. `make test` as a user without root or sudo must stop with the exact apt-get line,
#      having changed nothing;
#   2. `make test` as root must install what it needs and pass on its first run;
#   3. `make run` must boot and run its programs to the end.
# Prints each step's result and wall time; exits non-zero if any step fails.
#
# Usage (as root): scripts/fresh-machine-check.sh [--keep]
#   --keep   leave the root in place afterwards (its path is printed), to look around.
# Environment:
#   FRESH_MACHINE_CACHE   where the base root is kept between runs
#                         (default /var/cache/fresh-machine-check)
#   FRESH_MACHINE_WORK    where each run's root is made (default /var/tmp)
#   FRESH_MACHINE_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#
# Run it after every change to the Makefile, tests/user/user.mk, scripts/install-deps.sh
# or .ci/run. It checks the committed HEAD, not the working tree. It takes a while: the
# root downloads every package the build needs (about 15 to 25 minutes in all), so it
# is not part of `make test`.
set -euo pipefail

suite=bookworm
keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine-check: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine-check: run it as root: it builds a root file system and mounts into it" >&2
  exit 2
fi
# Root reads a checkout that may belong to another user: tell git that is fine.
git() { command git -c safe.directory='*' "$@"; }
repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")/.." rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-machine-check: the working tree has uncommitted changes; checking HEAD $commit without them"
fi

cache=${FRESH_MACHINE_CACHE:-/var/cache/fresh-machine-check}
mirror=${FRESH_MACHINE_MIRROR:-http://deb.debian.org/debian}
base=$cache/debian-12-minbase-make-git.tar

step() { printf '\n== %s\n' "$*"; }
seconds_since() { echo $(( $(date +%s) - $1 )); }
minutes() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

# The base root: minbase has no compiler, no python3 and no sudo; make and git are the
# only additions, as on the machine the README's quick start assumes. Kept as a tar
# archive so that every run starts from the same bytes.
if [ ! -f "$base" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    step "installing debootstrap on this machine"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
  }
  step "building the base root (debootstrap $suite, minbase + make + git); cached in $base"
  mkdir -p "$cache"
  scratch=$(mktemp -d "$cache/base.XXXXXX")
  debootstrap --variant=minbase --include=make,git "$suite" "$scratch" "$mirror"
  rm -rf "$scratch"/var/cache/apt/archives/*.deb "$scratch"/var/lib/apt/lists/*
  tar --numeric-owner -C "$scratch" -cf "$base.partial" .
  mv "$base.partial" "$base"
  rm -rf "$scratch"
fi

work=$(realpath "$(mktemp -d "${FRESH_MACHINE_WORK:-/var/tmp}/fresh-machine.XXXXXX")")
root=$work/root     # real path: compared with /proc/PID/root below
mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m=${mounted[$i]}
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ "$keep" -eq 1 ]; then
    echo "fresh-machine-check: the root is kept in $root"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
mount_into() {  # mount_into TARGET mount-arguments...
  local target=$root$1; shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}

step "a new root in $root"
mkdir -p "$root"
tar --numeric-owner -C "$root" -xf "$base"
chmod 0755 "$root"      # the archive's "." came from a private temporary folder
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# What QEMU and apt need of the kernel's file systems; nothing of the host's files.
mount_into /proc -t proc proc
mount_into /sys -t sysfs sysfs
mount_into /dev --bind /dev
mount --make-rslave "$root/dev"     # what is mounted below it stays out of the host's /dev
mount_into /dev/pts -t devpts devpts -o newinstance,ptmxmode=0666
mount_into /dev/shm -t tmpfs tmpfs
mount_into /tmp -t tmpfs tmpfs

in_root() {  # in_root USER:GROUP HOME COMMAND: a login-like, clean environment
  chroot --userspec="$1" "$root" env -i HOME="$2" USER=newcomer LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "$3" </dev/null
}

chroot "$root" useradd --create-home --uid 1000 --user-group newcomer
project=/home/newcomer/project
git clone --quiet --no-hardlinks "$repo" "$root$project"
git -C "$root$project" checkout --quiet --detach "$commit"
echo "commit $commit ($(git -C "$repo" log -1 --format=%s "$commit"))"
chown -R 1000:1000 "$root$project"

failures=0
log=$work/logs
mkdir -p "$log"

# 1. No root, no sudo: the exact apt-get line, a clear stop, nothing changed.
step "1. make test as a user without root or sudo"
start=$(date +%s)
set +e
in_root 1000:1000 /home/newcomer "cd $project && make test" >"$log/noroot.txt" 2>&1
rc=$?
set -e
cat "$log/noroot.txt"
changed=$(in_root 1000:1000 /home/newcomer "cd $project && git status --porcelain --ignored" 2>&1 || true)
if [ "$rc" -ne 0 ] && grep -q 'apt-get install -y --no-install-recommends .*gcc-i686-linux-gnu' "$log/noroot.txt" \
    && [ -z "$changed" ] && ! in_root 0:0 /root 'command -v i686-linux-gnu-gcc' >/dev/null; then
  echo "PASS: stopped (exit $rc) with the apt-get line; the clone is unchanged ($(seconds_since "$start") s)"
else
  echo "FAIL: exit $rc; the apt-get line $(grep -q 'apt-get install' "$log/noroot.txt" && echo was || echo was not) printed; changed files: ${changed:-none}"
  failures=$((failures + 1))
fi
chown -R 0:0 "$root$project"

# 2. Root: the dependency step installs everything and the first `make test` passes.
step "2. make test as root, on its first run"
start=$(date +%s)
set +e
in_root 0:0 /root "cd $project && make test" 2>&1 | tee "$log/test.txt"
rc=${PIPESTATUS[0]}
set -e
elapsed=$(seconds_since "$start")
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/test.txt" | tail -n 1 || true)
if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
  echo "PASS: make test on a brand-new root: ${summary} in $(minutes "$elapsed") (installing the packages included)"
else
  echo "FAIL: make test exited $rc after $(minutes "$elapsed"); summary: ${summary:-none}"
  failures=$((failures + 1))
fi
test_elapsed=$elapsed

# 3. `make run` boots, runs hello.exe and pagestress.exe to their end, then idles until
# the user quits QEMU; here the idle line ends it.
step "3. make run"
start=$(date +%s)
set +e
timeout 600 chroot "$root" env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "cd $project && exec make run" </dev/null >"$log/run.txt" 2>&1 &
runner=$!
while kill -0 "$runner" 2>/dev/null && ! grep -q 'boot complete: the machine is idle' "$log/run.txt"; do
  sleep 2
done
for pid in $(pgrep qemu-system || true); do   # only the QEMU that runs inside this root
  [ "$(readlink "/proc/$pid/root")" = "$root" ] && kill "$pid" 2>/dev/null
done
wait "$runner" 2>/dev/null
set -e
elapsed=$(seconds_since "$start")
tail -n 15 "$log/run.txt"
exits=$(grep -c 'exited with status 0x00000000' "$log/run.txt" || true)
if grep -q 'boot complete: the machine is idle' "$log/run.txt" && [ "$exits" -eq 2 ]; then
  echo "PASS: make run booted and both programs exited with status 0 ($(minutes "$elapsed"))"
else
  echo "FAIL: make run did not reach the idle line with two programs ended well ($exits ended well)"
  failures=$((failures + 1))
fi

step "result"
echo "first make test on a brand-new Debian 12 root: $(minutes "$test_elapsed")"
if [ "$failures" -eq 0 ]; then
  echo "fresh-machine-check: passed"
else
  echo "fresh-machine-check: $failures step(s) failed; logs were in $log"
  keep=1
fi
exit $(( failures > 0 ))
