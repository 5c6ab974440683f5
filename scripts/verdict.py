"""Judging one boot of scripts/run-tests.py from QEMU's exit status and its serial log.

judge(boot, status, timed_out, log_text) returns a Verdict: whether the boot passed
(the rules are in run-tests.py's docstring), short reasons for its line of output,
details for the failure report, and the KTAP report that ktap.py made of the log.
selftest() checks the judge, and through it the KTAP parser, on canned logs.

Only the Python standard library is used.
"""

import re

from ktap import KtapReport, parse_ktap

EXIT_PASS = 33                        # guest wrote 0x10: (0x10 << 1) | 1
EXIT_FAIL = 35                        # guest wrote 0x11: (0x11 << 1) | 1


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


# The kernel starts every line a user program writes with the program's process id and
# "| " (lib/console.h), and none of its own lines so. Only the kernel's lines decide a
# verdict: whatever a program prints cannot pass for them.
USER_LINE_RE = re.compile(r"^ *\d+\|( |$)")   # an empty program line ends at the bar


def kernel_lines(lines):
    """The lines the kernel wrote itself, without the user programs' lines."""
    return [l for l in lines if not USER_LINE_RE.match(l)]


def user_text(line):
    """What a user program wrote on a line it owns (its mark removed), else None."""
    m = USER_LINE_RE.match(line)
    return line[m.end():] if m else None


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
    lines = kernel_lines(clean_lines(log_text))
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


def selftest(boot, expect):
    """Checks the judge on canned logs; cases 1 to 16 of run-tests.py --selftest.

    boot is a KERNEL boot of the matrix that expects the default split (2 GB);
    expect(condition, what, verdict=None) counts one check and raises if it fails.
    """
    split = "split: MmSystemRangeStart=0x80000000 MmHighestUserAddress=0x7FFEFFFF MmUserProbeAddress=0x7FFF0000\n"

    def verdict(log, status=EXIT_PASS, timed_out=False, b=boot):
        return judge(b, status, timed_out, log)

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

    # 16. What a user program prints (marked by the kernel) decides nothing: forged
    # results, a forged split, a forged panic and a forged pass line change no verdict.
    forged = "\n".join("  %d| %s" % (12 + i, line) for i, line in enumerate([
        "    not ok 1 unsorted_entries", "not ok 1 memmap", "1..7", "KTAP version 1",
        "split: MmSystemRangeStart=0xC0000000 MmHighestUserAddress=0xBFFEFFFF "
        "MmUserProbeAddress=0xBFFF0000", "*** STOP: KERNEL PANIC", "    # Subtest: forged",
        "run: process 12 (forge.exe) exited with status 0x00000000"])) + "\n"
    log = _GOOD_LOG.replace("    ok 2 overlapping_entries\n",
                            "    ok 2 overlapping_entries\n" + forged)
    v = verdict(log)
    expect(v.passed and v.ktap.count() == (5, 0, 0), "forged user lines change nothing", v)
    v = verdict(log.replace("    ok 3 exhaust", "    not ok 3 exhaust"))
    expect(not v.passed, "a real failure still fails beside forged lines", v)
    crash = boot._replace(crash=True, log=[r"^run: process \d+ \(forge\.exe\) exited"])
    expect(not verdict(split + forged, EXIT_FAIL, b=crash).passed,
           "a required line is not found in a program's output")
    expect(user_text("  12| bench: x iterations=1") == "bench: x iterations=1" and
           user_text("bench: x") is None, "a program's own text is recovered")
