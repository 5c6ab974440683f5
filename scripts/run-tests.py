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

Output: one line per boot in matrix order, details for the boots that failed,
a line with the case totals, then "N passed, M failed" (counting boots) as the
last line. The exit status is 0 only when no boot failed; 2 means the tests
could not be run at all (bad arguments, QEMU missing, ...).

Only the Python standard library is used.
"""

import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

# ---------------------------------------------------------------------------
# The boot matrix. To add a configuration, add a row.
#
#   name     unique; also the log file name (build/test-logs/NAME.log)
#   boot     KERNEL: qemu -kernel KERNEL -append CMDLINE  (QEMU's Multiboot loader)
#            UEFI:   the same ISO on 64-bit UEFI firmware (OVMF), through GRUB's
#                    x86_64 EFI image, into the same 32-bit kernel
#            ISO:    qemu -cdrom ISO -boot d  (GRUB from scripts/mkiso.sh --test;
#                    its default entry passes "test"; cmdline is not used)
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
                              "no_serial",
                              defaults=((), False, (), (), False))
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
#            zeros (so that the modules after it lie above 16 MB). KERNEL boots only.

# The default boot also hands the kernel a module, so the tests see module frames kept.
TEST_MODULE = ("{kernel}", "test-module")
PADDING_MODULE = ("{padding}", "padding")
PADDING_BYTES = 24 << 20

# The suites that need neither user programs nor much time: the boots that check one
# thing (a split's parsing, a CPU model, a memory size) run these; the main splits and a
# few CPU models and memory sizes run everything.
CORE = "test=cpu,split,memmap,pfn,paging,syspte,pool,fault"

MATRIX = [
    #    name                   boot    cmdline                       mem   system      highest
    Boot("default",             KERNEL, "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r"^memory: \d+ KB of RAM below 4 GB", r"^memory: \d+ KB free",
              r'^boot: module 0 "\S+ test-module"'],
         modules=[TEST_MODULE]),
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
    Boot("mem-3584",            KERNEL, "test /3GB",                  3584, 0xC0000000, 0xBFFEFFFF),
    # RAM above 4 GB (past the PCI hole) is counted and left unused.
    Boot("mem-4096",            KERNEL, "test increaseuserva=2560",   4096, 0xA0000000, 0x9FFEFFFF,
         log=[r"^memory: 1048576 KB above 4 GB, not usable without PAE, left unused"]),
    # CPU models, oldest first: no PGE (and, on the 486, no TSC) must work as well.
    Boot("cpu-486",             KERNEL, "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: .* family 4 ", r"^cpu: no TSC"], extra=("-cpu", "486")),
    Boot("cpu-pentium",         KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         log=[r"^cpu: .* family 5 .* tsc invlpg$"], extra=("-cpu", "pentium")),
    Boot("cpu-pentium2",        KERNEL, CORE + " /3GB",               64,   0xC0000000, 0xBFFEFFFF,
         log=[r"^cpu: .* family 6 .* pge"], extra=("-cpu", "pentium2")),
    Boot("cpu-pentium3",        KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         extra=("-cpu", "pentium3")),
    Boot("cpu-coreduo",         KERNEL, "test /3GB",                  256,  0xC0000000, 0xBFFEFFFF,
         extra=("-cpu", "coreduo")),
    Boot("cpu-qemu32",          KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         extra=("-cpu", "qemu32")),
    # Memory sizes from the smallest that boots to the largest below the PCI hole.
    Boot("mem-8",               KERNEL, "test",                       8,    0x80000000, 0x7FFEFFFF),
    Boot("mem-1024",            KERNEL, CORE,                         1024, 0x80000000, 0x7FFEFFFF),
    Boot("mem-3072",            KERNEL, CORE + " /3GB",               3072, 0xC0000000, 0xBFFEFFFF),
    Boot("mem-2",               KERNEL, "test",                       2,    0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"^not enough memory: \d+ KB, need \d+ KB$"]),
    # No COM1 at all: the console must not wait for it; the tests still run and pass.
    Boot("no-serial-port",      KERNEL, CORE,                         64,   0x80000000, 0x7FFEFFFF,
         no_serial=True),
    # Modules where the loader put them, here above 16 MB: the programs still run.
    Boot("modules-above-16mb",  KERNEL, "test=process",               128,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: module 1 "[^"]*\.exe" at 0x0*[1-9a-f][0-9a-f]{6}-'],
         modules=[PADDING_MODULE]),
    Boot("iso-grub",            ISO,    "test",                       128,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: loader "GRUB[^"]*" \(multiboot 1\)']),
    Boot("iso-uefi",            UEFI,   "test",                       256,  0x80000000, 0x7FFEFFFF,
         log=[r'^boot: loader "GRUB[^"]*" \(multiboot 2\)',
              r"^framebuffer: \d+x\d+, \d+ bpp .*: text console"]),
    # Deliberate crashes: the report names the exception, and the machine stops cleanly.
    Boot("crash-page-fault",    KERNEL, "crash=page-fault",           32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: unexpected exception 14 \(#PF page fault\) in kernel mode",
                r"error code 0x00000002: page not present, write, kernel mode",
                r"CR2 0x00000010 ", r"EIP 0x[0-9a-f]{8}  CS 0x0008  EFLAGS",
                r"EAX 0x[0-9a-f]{8}  EBX"]),
    Boot("crash-stack-overflow", KERNEL, "crash=stack-overflow",      32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: double fault \(#DF\)", r"EIP 0x[0-9a-f]{8}  CS 0x0008"]),
    Boot("crash-divide-error",  KERNEL, "crash=divide-error",         32,   0x80000000, 0x7FFEFFFF,
         crash=True, log=[r"\*\*\* STOP: unexpected exception 0 \(#DE divide error\) in kernel mode"]),
]

QEMU = "qemu-system-i386"
QEMU_PACKAGE = "qemu-system-x86"      # the Debian package that provides it
DEBUG_EXIT_PORT = "0xf4"
EXIT_PASS = 33                        # guest wrote 0x10: (0x10 << 1) | 1
EXIT_FAIL = 35                        # guest wrote 0x11: (0x11 << 1) | 1
LOG_TAIL_LINES = 30                   # lines of log shown for a failed boot

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# Reading the serial log
# ---------------------------------------------------------------------------

# Terminal control sequences (GRUB draws on the serial terminal too) and other
# control characters that would hide the start of a line.
_ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_lines(text):
    """Split serial output into lines without CR, escape sequences or trailing blanks."""
    lines = []
    for line in text.split("\n"):
        line = _ANSI_RE.sub("", line)
        line = _CTRL_RE.sub("", line)
        lines.append(line.rstrip())
    return lines


SPLIT_RE = re.compile(
    r"split: MmSystemRangeStart=0x([0-9A-Fa-f]{8}) "
    r"MmHighestUserAddress=0x([0-9A-Fa-f]{8}) "
    r"MmUserProbeAddress=0x([0-9A-Fa-f]{8})"
)


def check_split(lines, system, highest):
    """Return a list of problems with the address-space split the kernel reported."""
    expected = (system, highest, highest + 1)
    found = [m for m in (SPLIT_RE.search(l) for l in lines) if m]
    if not found:
        return ["no 'split: MmSystemRangeStart=...' line in the log"]
    problems = []
    for m in found:
        got = tuple(int(g, 16) for g in m.groups())
        if got != expected:
            problems.append(
                "split is System=0x%08X Highest=0x%08X Probe=0x%08X, "
                "expected System=0x%08X Highest=0x%08X Probe=0x%08X" % (got + expected))
    return problems


def check_panic(lines):
    """Return the log lines that look like a kernel panic."""
    return [l for l in lines if "PANIC" in l or "*** " in l]


# ---------------------------------------------------------------------------
# KTAP version 1 parser
#
# Nested tests are recognised by indentation (4 spaces per level); a subtest
# starts with its own "KTAP version 1" and/or "# Subtest: NAME" line, has a
# plan "1..K" and K result lines, and is closed by the result line one level
# up. A result line is "ok N NAME" or "not ok N NAME", optionally followed by
# "# SKIP reason". Lines starting with "#" are diagnostics; as KUnit prints them,
# they come before the result line of the case they belong to, and are attached
# to it. Lines that are none of these (stray kernel
# messages) are ignored.
# ---------------------------------------------------------------------------

KTAP_HEADER = "KTAP version 1"
_PLAN_RE = re.compile(r"^1\.\.(\d+)\s*(#.*)?$")
_RESULT_RE = re.compile(r"^(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?([^#]*?)\s*(?:#\s*(.*))?$")
_SUBTEST_RE = re.compile(r"^#\s*Subtest:\s*(.*)$")


class Result:
    """One "ok"/"not ok" line."""

    def __init__(self, ok, num, name, directive, line):
        self.ok = ok
        self.num = num
        self.name = name
        self.directive = directive      # text after '#', e.g. "SKIP no ACPI", or None
        self.line = line                # the line as printed, without indentation
        self.diagnostics = []           # '#' lines printed just before it at its level
        self.child = None               # the Level of a subtest this result closes
        self.path = name                # dotted name, filled in by _name_results

    @property
    def skipped(self):
        return self.directive is not None and self.directive.upper().startswith("SKIP")


class Level:
    """A test plan and its results at one indentation: the top level or a subtest."""

    def __init__(self, indent, parent):
        self.indent = indent
        self.parent = parent
        self.name = None                # from "# Subtest: NAME" or the closing result
        self.plan = None
        self.results = []
        self.header = False             # saw "KTAP version 1"
        self.pending = []               # diagnostics waiting for the next result
        self.complained_no_plan = False

    def label(self):
        if self.parent is None:
            return "top level"
        return "suite %s" % (self.name or "(unnamed)")


class KtapReport:
    """What the parser found: results as a tree, and format problems."""

    def __init__(self):
        self.found = False              # saw the top-level "KTAP version 1"
        self.root = None
        self.problems = []              # malformed or incomplete output
        self.cases = []                 # leaf results (actual test cases)
        self.not_ok = []                # every "not ok" result worth naming

    def count(self):
        passed = sum(1 for c in self.cases if c.ok and not c.skipped)
        skipped = sum(1 for c in self.cases if c.skipped and c.ok)
        failed = len(self.cases) - passed - skipped
        return passed, failed, skipped


def parse_ktap(lines):
    """Parse KTAP output from log lines (already cleaned); return a KtapReport."""
    rep = KtapReport()

    # Everything before the first unindented "KTAP version 1" is the boot log.
    start = None
    for i, line in enumerate(lines):
        if line == KTAP_HEADER:
            start = i
            break
    if start is None:
        rep.problems.append("no KTAP output (no '%s' line)" % KTAP_HEADER)
        return rep
    rep.found = True
    root = rep.root = Level(0, None)
    root.header = True

    stack = [root]
    closed = None               # the subtest just closed, awaiting its result line

    def close_top(reason_if_unfinished=None):
        """Pop the innermost subtest and check that it is complete."""
        lvl = stack.pop()
        _check_plan(rep, lvl)
        if reason_if_unfinished:
            rep.problems.append("%s: %s" % (lvl.label(), reason_if_unfinished))
        return lvl

    def open_level(indent):
        lvl = Level(indent, stack[-1])
        stack.append(lvl)
        return lvl

    for line in lines[start + 1:]:
        if not line.strip():
            continue
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        is_header = body == KTAP_HEADER
        subtest = _SUBTEST_RE.match(body)
        plan = _PLAN_RE.match(body)
        result = _RESULT_RE.match(body)

        if not (is_header or subtest or plan or result or body.startswith("#")
                or body.startswith("Bail out!")):
            continue            # not KTAP: a stray kernel message

        if body.startswith("#") and not subtest:
            # A diagnostic never opens or closes a subtest; it belongs to the
            # innermost open level it is indented at least as far as.
            owner = next(l for l in reversed(stack) if l.indent <= indent)
            _add_diagnostic(owner, body)
            continue

        # Deeper than the current level: a new subtest begins.
        if indent > stack[-1].indent:
            if closed is not None:
                # The previous subtest at this depth never got its result line.
                rep.problems.append("%s: no result line" % closed.label())
                closed = None
            open_level(indent)
            if not (is_header or subtest):
                rep.problems.append("subtest at line '%s' has no '%s' header"
                                    % (body, KTAP_HEADER))

        # Shallower: the subtests deeper than this line are over.
        elif indent < stack[-1].indent:
            while len(stack) > 1 and stack[-1].indent > indent:
                if closed is not None:
                    rep.problems.append("%s: no result line" % closed.label())
                closed = close_top()
            if indent != stack[-1].indent:
                rep.problems.append("line '%s' is indented by %d, expected %d"
                                    % (body, indent, stack[-1].indent))

        # A header at the depth of an open subtest that has already got going
        # means a sibling subtest began without the first one getting its
        # result line.
        if (is_header or subtest) and len(stack) > 1 and indent == stack[-1].indent and (
                stack[-1].results or stack[-1].plan is not None
                or (is_header and stack[-1].header)
                or (subtest and stack[-1].name is not None)):
            if closed is not None:
                rep.problems.append("%s: no result line" % closed.label())
                closed = None
            close_top("no result line")
            open_level(indent)

        lvl = stack[-1]

        if is_header:
            if lvl is root:
                rep.problems.append("KTAP output started again (kernel restarted?)")
            lvl.header = True
        elif subtest:
            lvl.name = subtest.group(1).strip()
        elif plan:
            if lvl.plan is not None:
                rep.problems.append("%s: second plan '%s'" % (lvl.label(), body))
            elif lvl.results:
                rep.problems.append("%s: plan '%s' comes after results" % (lvl.label(), body))
            else:
                lvl.plan = int(plan.group(1))
        elif result:
            r = Result(result.group(1) == "ok", int(result.group(2)),
                       result.group(3).strip(), result.group(4), body)
            if lvl.plan is None and not lvl.complained_no_plan:
                rep.problems.append("%s: result '%s' before any plan" % (lvl.label(), body))
                lvl.complained_no_plan = True
            expected = len(lvl.results) + 1
            if r.num != expected:
                rep.problems.append("%s: expected result %d, got '%s'"
                                    % (lvl.label(), expected, body))
            if closed is not None and closed.parent is lvl:
                r.child = closed
                if closed.name is None:
                    closed.name = r.name
                elif r.name and r.name != closed.name:
                    rep.problems.append("result '%s' closes suite %s" % (body, closed.name))
            closed = None
            r.diagnostics, lvl.pending = lvl.pending, []
            lvl.results.append(r)
        else:   # "Bail out!"
            rep.problems.append("%s: %s" % (lvl.label(), body))

    # The log ended: anything still open is unfinished.
    if closed is not None:
        rep.problems.append("%s: no result line" % closed.label())
    while len(stack) > 1:
        close_top("no result line (output ended)")
    _check_plan(rep, root)

    _name_results(rep, root, "")
    if not rep.cases and not rep.problems:
        rep.problems.append("no test cases ran")
    return rep


def _add_diagnostic(lvl, body):
    lvl.pending.append(body)


def _check_plan(rep, lvl):
    """Report a level whose results do not match its plan."""
    if lvl.plan is None:
        if not lvl.complained_no_plan:
            rep.problems.append("%s: no plan" % lvl.label())
        return
    if len(lvl.results) != lvl.plan:
        last = lvl.results[-1].line if lvl.results else "none"
        rep.problems.append("%s: plan 1..%d but %d results; last: %s"
                            % (lvl.label(), lvl.plan, len(lvl.results), last))


def _name_results(rep, lvl, prefix):
    """Give each result its dotted path; collect the leaves and the failures.

    Returns True if a "not ok" was found at or below lvl, so that a suite whose
    case failed is named by that case ("pfn.alloc_free") rather than again on
    its own ("pfn").
    """
    any_failed = False
    for r in lvl.results:
        r.path = prefix + (r.name or "#%d" % r.num)
        child_failed = False
        if r.child is not None:
            child_failed = _name_results(rep, r.child, r.path + ".")
        else:
            rep.cases.append(r)
        if not r.ok and not child_failed:
            rep.not_ok.append(r)
        any_failed = any_failed or child_failed or not r.ok
    return any_failed


# ---------------------------------------------------------------------------
# Judging one boot from its exit status and log
# ---------------------------------------------------------------------------

class Verdict:
    def __init__(self):
        self.passed = False
        self.summary = []       # short reasons for the boot's line
        self.details = []       # longer explanation for the failure report
        self.ktap = None


def describe_exit(status, timed_out):
    """Return None if the status means success, else the reason why not."""
    if timed_out:
        return "timeout"
    if status == EXIT_PASS:
        return None
    if status == EXIT_FAIL:
        return "exit 35"
    if status < 0:
        return "QEMU killed by signal %d" % -status
    if status == 0:
        return "exit 0 (no debug-exit write: triple fault, or the guest reset or powered off)"
    if status == 1:
        return "exit 1 (QEMU error, or guest wrote 0x00 to the debug-exit port)"
    if status & 1:
        return "exit %d (guest wrote 0x%02X to the debug-exit port)" % (status, status >> 1)
    return "exit %d (QEMU error)" % status


def judge_crash(boot, status, timed_out, lines):
    """A boot that crashes on purpose: the report must be complete, the stop clean."""
    v = Verdict()
    v.ktap = KtapReport()
    if timed_out or status != EXIT_FAIL:
        why = describe_exit(status, timed_out) or "exit 33 (the crash did not happen)"
        v.summary.append(why)
        v.details.append("expected the guest to stop with the failure code (exit 35): " + why)
    check_log(v, boot, lines)
    v.passed = not v.summary
    return v


def check_log(v, boot, lines):
    """Adds a failure for each of the boot's required log patterns that no line matches."""
    for pattern in boot.log:
        if not any(re.search(pattern, l) for l in lines):
            v.summary.append("log lacks /%s/" % pattern)
            v.details.append("no log line matches /%s/" % pattern)


def judge_exit_only(status, timed_out):
    """A boot with no serial port: only the exit status can speak."""
    v = Verdict()
    v.ktap = KtapReport()
    why = describe_exit(status, timed_out)
    if why:
        v.summary.append(why)
        v.details.append(why)
    v.passed = not v.summary
    return v


def judge(boot, status, timed_out, log_text):
    lines = clean_lines(log_text)
    if boot.no_serial:
        return judge_exit_only(status, timed_out)
    if boot.crash:
        return judge_crash(boot, status, timed_out, lines)
    v = Verdict()

    why = describe_exit(status, timed_out)
    if why:
        v.summary.append(why)
        if status == EXIT_FAIL and not timed_out:
            v.details.append("QEMU exit status 35: the guest reported failure")
        else:
            v.details.append(why)

    panics = check_panic(lines)
    if panics:
        v.summary.append("panic")
        v.details.append("panic: " + panics[0].strip())

    split_problems = check_split(lines, boot.system, boot.highest)
    if split_problems:
        v.summary.append("wrong split" if "expected" in split_problems[0] else "no split line")
        v.details.extend(split_problems)

    check_log(v, boot, lines)

    rep = v.ktap = parse_ktap(lines)
    if rep.not_ok:
        v.summary.append("not ok: " + ", ".join(r.path for r in rep.not_ok))
    if rep.problems:
        v.summary.append("KTAP: " + rep.problems[0])
        v.details.extend("KTAP: " + p for p in rep.problems)

    v.passed = not v.summary
    return v


# ---------------------------------------------------------------------------
# Running QEMU
# ---------------------------------------------------------------------------

Outcome = collections.namedtuple("Outcome", "boot status timed_out seconds log_path log_text stderr cmd")

_running = set()                # QEMU processes alive now, killed on Ctrl-C
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


def boot_modules(boot, args):
    """The modules a boot gets: its own, then the --module files (KERNEL boots only)."""
    if boot.boot != KERNEL:
        return []
    own = []
    for path, name in boot.modules:
        if path == "{padding}":
            path = padding_file(args)
        own.append((path.replace("{kernel}", args.kernel), name))
    return own + list(args.modules)


def qemu_command(boot, args, log_path):
    cmd = [args.qemu]
    if boot.boot == UEFI:
        cmd = [args.qemu.replace("i386", "x86_64"), "-bios", OVMF, "-cdrom", args.iso]
    elif boot.boot == ISO:
        cmd += ["-cdrom", args.iso, "-boot", "d"]
    else:
        cmd += ["-kernel", args.kernel, "-append", boot.cmdline]
        modules = boot_modules(boot, args)
        if modules:
            cmd += ["-initrd", initrd_argument(modules)]
    cmd += [a.replace("{kernel}", args.kernel) for a in boot.extra]
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

    started = time.monotonic()
    with _running_lock:
        if _stopping.is_set():
            raise KeyboardInterrupt
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        _running.add(proc)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, _ = proc.communicate()
    finally:
        with _running_lock:
            _running.discard(proc)
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


def run_matrix(boots, args):
    width = max(len(b.name) for b in boots)
    results = [None] * len(boots)
    printed = 0
    totals = [0, 0, 0]          # cases passed, failed, skipped over all boots
    failed_boots = []

    def emit_ready():
        """Print finished boots in matrix order, as far as they are finished."""
        nonlocal printed
        while printed < len(boots) and results[printed] is not None:
            outcome, verdict = results[printed]
            print(boot_line(outcome, verdict, width), flush=True)
            if args.verbose:
                print("    qemu: " + " ".join(_shell_quote(a) for a in outcome.cmd))
                for l in clean_lines(outcome.log_text.rstrip("\r\n")):
                    print("    | " + l)
                sys.stdout.flush()
            printed += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_boot, b, args): i for i, b in enumerate(boots)}
        try:
            for fut in concurrent.futures.as_completed(futures):
                i = futures[fut]
                outcome = fut.result()
                verdict = judge(outcome.boot, outcome.status, outcome.timed_out,
                                outcome.log_text)
                results[i] = (outcome, verdict)
                emit_ready()
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

_GOOD_LOG = """\
boot: loader says hello\r
split: MmSystemRangeStart=0x80000000 MmHighestUserAddress=0x7ffeffff MmUserProbeAddress=0x7FFF0000\r
KTAP version 1\r
1..2\r
    KTAP version 1
    # Subtest: memmap
    1..2
    ok 1 unsorted_entries
    ok 2 overlapping_entries
    # memmap: pass:2 fail:0 skip:0 total:2
ok 1 memmap
    KTAP version 1
    # Subtest: pfn
    1..3
    ok 1 init
    ok 2 alloc_free
    ok 3 exhaust
ok 2 pfn
all tests done
"""


def _selftest():
    split = "split: MmSystemRangeStart=0x80000000 MmHighestUserAddress=0x7FFEFFFF MmUserProbeAddress=0x7FFF0000\n"
    boot = Boot("selftest", KERNEL, "test", 128, 0x80000000, 0x7FFEFFFF)
    checks = 0

    def verdict(log, status=EXIT_PASS, timed_out=False, b=boot):
        return judge(b, status, timed_out, log)

    def expect(cond, what, v=None):
        nonlocal checks
        checks += 1
        if not cond:
            extra = ""
            if v is not None:
                extra = "\n  summary: %s\n  details: %s" % (v.summary, v.details)
            raise AssertionError("selftest failed: " + what + extra)

    # 1. A good log passes, with the cases counted.
    v = verdict(_GOOD_LOG)
    expect(v.passed, "good log passes", v)
    expect(v.ktap.count() == (5, 0, 0), "good log counts 5 passed", v)
    expect([c.path for c in v.ktap.cases][1] == "memmap.overlapping_entries", "case paths")

    # 2. ... but not if QEMU's exit status says otherwise.
    for status, timed_out, word in ((EXIT_FAIL, False, "exit 35"), (0, False, "triple fault"),
                                    (EXIT_PASS, True, "timeout"), (-9, False, "signal")):
        v = verdict(_GOOD_LOG, status, timed_out)
        expect(not v.passed and word in v.summary[0], "exit status %d/%s fails" % (status, timed_out), v)

    # 3. A "not ok" case fails the boot and is named with its diagnostics.
    log = _GOOD_LOG.replace("    ok 2 overlapping_entries",
                            "    # expected 3 regions, got 4\n    not ok 2 overlapping_entries")
    log = log.replace("ok 1 memmap", "not ok 1 memmap")
    v = verdict(log)
    expect(not v.passed, "not ok fails", v)
    expect([r.path for r in v.ktap.not_ok] == ["memmap.overlapping_entries"], "not ok named once", v)
    expect(v.ktap.not_ok[0].diagnostics[0] == "# expected 3 regions, got 4", "diagnostics kept", v)
    expect(v.ktap.count() == (4, 1, 0), "not ok counted", v)
    expect(not v.ktap.problems, "not ok alone is well-formed", v)

    # 4. A suite-level "not ok" with all cases ok is still a failure.
    v = verdict(_GOOD_LOG.replace("ok 2 pfn", "not ok 2 pfn"))
    expect(not v.passed and [r.path for r in v.ktap.not_ok] == ["pfn"], "suite not ok", v)

    # 5. Output cut off mid-suite (a crash): missing results are reported.
    cut = _GOOD_LOG[:_GOOD_LOG.index("    ok 3 exhaust")]
    v = verdict(cut)
    expect(not v.passed, "cut-off log fails", v)
    expect(any("suite pfn: plan 1..3 but 2 results; last: ok 2 alloc_free" in p
               for p in v.ktap.problems), "missing results reported", v)
    expect(any("top level: plan 1..2 but 1 results" in p for p in v.ktap.problems),
           "missing suite reported", v)

    # 6. A missing plan, top level or suite, fails.
    v = verdict(_GOOD_LOG.replace("KTAP version 1\r\n1..2\r\n", "KTAP version 1\r\n"))
    expect(not v.passed and any("top level" in p and "plan" in p for p in v.ktap.problems),
           "missing top-level plan", v)
    v = verdict(_GOOD_LOG.replace("    1..3\n", ""))
    expect(not v.passed and any("suite pfn" in p and "plan" in p for p in v.ktap.problems),
           "missing suite plan", v)

    # 7. Results out of order or duplicated fail.
    v = verdict(_GOOD_LOG.replace("    ok 2 alloc_free", "    ok 3 alloc_free"))
    expect(not v.passed and any("expected result 2" in p for p in v.ktap.problems),
           "misnumbered result", v)

    # 8. A panic banner fails even if everything else is fine.
    v = verdict(_GOOD_LOG.replace("all tests done", "*** STOP: KERNEL PANIC in pfn_free"))
    expect(not v.passed and "panic" in v.summary, "panic fails", v)

    # 9. SKIP is allowed and counted.
    v = verdict(_GOOD_LOG.replace("    ok 3 exhaust", "    ok 3 exhaust # SKIP needs 4 GB"))
    expect(v.passed, "skip passes", v)
    expect(v.ktap.count() == (4, 0, 1), "skip counted", v)

    # 10. Split line: missing, wrong, and lower-case hex all handled.
    v = verdict(_GOOD_LOG.replace("split:", "spilt:"))
    expect(not v.passed and "no split line" in v.summary, "missing split line", v)
    b3 = boot._replace(system=0xC0000000, highest=0xBFFEFFFF)
    v = verdict(_GOOD_LOG, b=b3)
    expect(not v.passed and "wrong split" in v.summary, "wrong split", v)

    # 11. No KTAP at all (e.g. the kernel never got to the tests).
    v = verdict("boot: hello\n" + split)
    expect(not v.passed and "no KTAP output" in v.ktap.problems[0], "no KTAP", v)

    # 12. GRUB's escape sequences before the header do not hide it.
    v = verdict("\x1b[2J\x1b[H" + _GOOD_LOG.replace("boot: loader says hello\r\n", ""))
    expect(v.passed, "escape sequences stripped", v)

    # 13. A suite whose closing result line is missing is reported.
    log = _GOOD_LOG.replace("ok 1 memmap\n", "")
    v = verdict(log)
    expect(not v.passed and any("suite memmap: no result line" in p for p in v.ktap.problems),
           "missing suite result", v)

    # 14. A plan of 1..0 runs nothing: not a pass.
    v = verdict(split + "KTAP version 1\n1..0\n")
    expect(not v.passed and "no test cases ran" in v.ktap.problems, "empty run", v)

    # 15. A deliberate crash passes only with the failure exit code and a full report.
    crash = boot._replace(crash=True, log=[r"STOP: unexpected exception 14", r"CR2 0x00000010 "])
    report = split + "*** STOP: unexpected exception 14 (#PF page fault)\n    CR2 0x00000010 (x)\n"
    expect(verdict(report, EXIT_FAIL, b=crash).passed, "crash report passes")
    v = verdict(report, 0, b=crash)
    expect(not v.passed and "triple fault" in v.summary[0], "crash with triple fault fails", v)
    v = verdict(report.replace("CR2 0x00000010", "CR2 0x00000000"), EXIT_FAIL, b=crash)
    expect(not v.passed, "crash report with the wrong CR2 fails", v)
    expect(not verdict(_GOOD_LOG, EXIT_PASS, b=crash).passed, "a crash that did not happen fails")

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

    print("selftest: %d checks passed" % checks)
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def main():
    names = [b.name for b in MATRIX]
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
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds before a boot is killed (default: %(default)s)")
    ap.add_argument("--log-dir", default=os.path.join(build, "test-logs"),
                    help="where the serial logs go (default: build/test-logs)")
    ap.add_argument("--qemu", default=QEMU, help="QEMU binary (default: %(default)s)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every whole log")
    ap.add_argument("--list", action="store_true", help="list the configurations and exit")
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

    boots = [b for b in MATRIX if not args.only or b.name in args.only]

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
    except ValueError as e:
        print("run-tests: %s" % e, file=sys.stderr)
        return 2
    os.makedirs(args.log_dir, exist_ok=True)

    return run_matrix(boots, args)


if __name__ == "__main__":
    # Let Ctrl-C reach the main thread as KeyboardInterrupt, even while waiting.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
