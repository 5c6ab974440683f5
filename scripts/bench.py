#!/usr/bin/env python3
"""Boot the benchmark configuration and tabulate what it measured (`make bench`).

Usage:
    scripts/bench.py [--kernel ELF] [--program EXE] [--out DIR] [--tcg-boots N]
                     [--timeout S] [--qemu Q]
    scripts/bench.py --logs ICOUNT_LOG TCG_LOG...   tabulate saved serial logs (no QEMU)
    scripts/bench.py --selftest                     check the parser on canned logs

The kernel's `bench` boot option measures the floors only ring 0 can (a CR3 load with a
switch's register save and restore; zeroing a page), then runs bench.exe (a boot module),
which times each operation from ring 3, and leaves QEMU with 33 if bench.exe exited 0,
else 35. The serial log carries, besides the kernel's own lines:
    cpu: TSC at N MHz, measured against the PIT
    bench-floor: NAME iterations=N median=M min=X
    bench: NAME iterations=N median=M min=X cr3=C invlpg=I flush=F faults=P
    bench: error: NAME: WHAT
    bench: done
Ticks are per operation; the counters are per operation times 100.

The first boot runs under -icount shift=0,align=off,sleep=off with the RTC on the
virtual clock: the TSC then counts guest instructions and a run repeats exactly. The
others (N, default 3) run under plain TCG, where the TSC follows the host: with the
kernel's MHz figure it gives nanoseconds. The host's other work only ever adds time, so
of those boots each operation and floor keeps the one with the lowest median. Both kinds
are needed because an instruction count weighs every instruction alike, and because
under icount a string instruction with a rep prefix may count as one instruction or once
per iteration, depending on QEMU.

Output: the table on stdout; the serial logs in OUT (build/bench/icount.log,
tcg-1.log, ...); the same table as JSON in OUT/results.json and a copy
OUT/results-<UTC time>.json, which scripts/bench-compare reads. Exit status: 0 when every
boot ran to the end (a missed target does not count), 1 when one did not, 2 when they
could not be started.

Only the Python standard library is used.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

# The log's line splitter (scripts/verdict.py) and the pagefile image maker
# (scripts/mkpagefile.py) stand beside this script.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from mkpagefile import write_pagefile  # noqa: E402
from verdict import EXIT_PASS, clean_lines, user_text  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = "qemu-system-i386"
MEMORY_MB = 128
ICOUNT_OPTIONS = ["-icount", "shift=0,align=off,sleep=off",
                  "-rtc", "base=2024-01-01T00:00:00,clock=vm"]
LOG_TAIL_LINES = 20
RESULTS_FORMAT = 1

# The operations, lettered as in the README: (letter, name, what it is, the floors whose sum it
# is compared with, the target in guest instructions or None). The floors come from
# bench.exe (int-iret-floor) and from the kernel (bench-floor: lines).
OPERATIONS = [
    ("a", "null-syscall", "int 0x2E round trip to a service that does nothing",
     ("int-iret-floor",), 60),
    ("b", "switch-process", "thread switch between two processes (half a round trip)",
     ("cr3-switch-floor",), 300),
    ("c", "switch-thread", "thread switch between two threads of one process",
     ("cr3-switch-floor",), 200),
    ("d", "demand-zero", "first touch of a committed page",
     ("int-iret-floor", "zero-page"), 500),
    ("e", "alloc-64k", "reserve + commit 64 KB + release, untouched", (), 1500),
    ("f", "alloc-64k-touch", "the same, touching all 16 pages", (), None),
    ("g", "map-view-64k", "map and unmap a 64 KB view of a section", (), None),
    ("h", "process-start", "start a process from a module, let it exit, wait", (), 20000),
    ("i", "page-out", "trim a dirty page and write it to the pagefile (in the writer's "
     "batches of 16), IDE bus-master DMA", ("int-iret-floor",), None),
    ("j", "page-in", "fault a page back from the pagefile (its frame was reused), IDE "
     "bus-master DMA", ("int-iret-floor",), None),
    ("k", "page-out@ide-pio", "page-out, the IDE channel forced to PIO (ide=pio)",
     ("int-iret-floor@ide-pio",), None),
    ("l", "page-in@ide-pio", "page-in, the IDE channel forced to PIO",
     ("int-iret-floor@ide-pio",), None),
    ("m", "page-out@ahci", "page-out, the pagefile on AHCI (the q35 machine)",
     ("int-iret-floor@ahci",), None),
    ("n", "page-in@ahci", "page-in, the pagefile on AHCI",
     ("int-iret-floor@ahci",), None),
]
# The same rows in the PAE format (8-byte entries; /PAE on QEMU's default processor, which
# has no NX, so that only the format differs from the rows above), renamed NAME@pae.
PAE_LETTERS = "opqrstuvwx"
OPERATIONS += [
    (PAE_LETTERS[i], name + "@pae", what + ", in the PAE format",
     tuple(floor + "@pae" for floor in floors), None)
    for i, (letter, name, what, floors, target) in enumerate(OPERATIONS[:len(PAE_LETTERS)])
]
# Two processors (-smp 2): what the other one costs, renamed NAME@smp.
OPERATIONS += [
    ("y", "shootdown-page@smp", "a system page pointed at another frame: the other "
     "processor's TLB shot down, its answer waited for", ("ipi-round-trip@smp",), None),
    ("z", "shootdown-64k@smp", "the same for 16 pages (64 KB) in one batch",
     ("ipi-round-trip@smp",), None),
]
# Boots of their own, each with what it contributes (renamed NAME@SETUP): the other disk
# controllers' paging rows, and every row in the PAE format. (name, QEMU's arguments, the
# kernel's extra options, the pagefile's disk, the rows, the floors.)
PAGING_ROWS = ("page-out", "page-in")
CONTROLLERS = [
    ("ide-pio", [], "ide=pio", "ide0", PAGING_ROWS, ("int-iret-floor",)),
    ("ahci", ["-M", "q35"], "", "sata0", PAGING_ROWS, ("int-iret-floor",)),
    ("pae", [], "/PAE", "ide0", tuple(row[1] for row in OPERATIONS[:len(PAE_LETTERS)]),
     ("int-iret-floor", "cr3-switch-floor", "zero-page")),
    ("smp", ["-smp", "2"], "", "ide0", ("shootdown-page", "shootdown-64k"),
     ("ipi-round-trip",)),
]
# Operations not measured yet.
NOT_YET = []
FLOORS = [
    ("int-iret-floor", "int 0x2D / iret round trip from ring 3 (bench.exe)"),
    ("cr3-switch-floor", "CR3 load + pushal/popal, ring 0 (kernel)"),
    ("zero-page", "memset of one 4 KB page, ring 0 (kernel)"),
    ("ipi-round-trip@smp", "an IPI to the other processor and its answer (a generic call "
     "of nothing), ring 0 (kernel, -smp 2)"),
]
COUNTERS = ("cr3", "invlpg", "flush", "faults")


# ---------------------------------------------------------------------------
# Reading a serial log
# ---------------------------------------------------------------------------

MHZ_RE = re.compile(r"^cpu: TSC at (\d+) MHz")
MEASURE_RE = re.compile(r"^(bench|bench-floor): ([a-z0-9][a-z0-9@-]*)((?: [a-z0-9]+=\d+)+)$")
EXITED_RE = re.compile(r"^bench: bench\.exe exited with status (0x[0-9A-Fa-f]+)")


def parse_log(text):
    """What a benchmark boot printed: {mhz, floors, operations, errors, notes, done, exit}.

    floors and operations map a name to its integers ({"median": 153, ...}); the
    int-iret-floor that bench.exe measures is put with the kernel's floors.
    """
    run = {"mhz": None, "floors": {}, "operations": {}, "errors": [], "notes": [],
           "done": False, "exit": None}
    for line in clean_lines(text):
        # bench.exe's lines carry the kernel's mark for a program's output.
        program_line = user_text(line)
        line = line if program_line is None else program_line
        m = MHZ_RE.match(line)
        if m:
            run["mhz"] = int(m.group(1))
            continue
        if not line.startswith(("bench: ", "bench-floor: ")):
            continue
        m = MEASURE_RE.match(line)
        if m:
            values = {k: int(v) for k, v in
                      (pair.split("=") for pair in m.group(3).split())}
            name = m.group(2)
            floor = m.group(1) == "bench-floor" or name.endswith("-floor")
            run["floors" if floor else "operations"][name] = values
        elif line == "bench: done":
            run["done"] = True
        elif line.startswith("bench: error:"):
            run["errors"].append(line[len("bench: "):])
        else:
            m = EXITED_RE.match(line)
            if m:
                run["exit"] = m.group(1)
            run["notes"].append(line)
    return run


def has_output(run):
    return bool(run["floors"] or run["operations"] or run["errors"] or run["done"])


def best_of(runs):
    """One run made of several: each floor and operation from the run with its lowest median."""
    rates = sorted(r["mhz"] for r in runs if r["mhz"])
    best = {"mhz": rates[len(rates) // 2] if rates else None, "floors": {}, "operations": {},
            "errors": [e for r in runs for e in r["errors"]],
            "notes": [n for r in runs for n in r["notes"]],
            "done": bool(runs) and all(r["done"] for r in runs), "exit": None}
    for r in runs:
        for section in ("floors", "operations"):
            for name, values in r[section].items():
                kept = best[section].get(name)
                if kept is None or values.get("median", 0) < kept.get("median", 0):
                    best[section][name] = values
    return best


# ---------------------------------------------------------------------------
# Booting
# ---------------------------------------------------------------------------

def pagefile_image(log_path):
    """A fresh 16 MB pagefile beside the log, for the paging operations (i, j)."""
    path = os.path.splitext(log_path)[0] + "-pagefile.img"
    with open(path, "wb") as f:
        write_pagefile(f, 16 << 20)
    return path


def qemu_command(args, icount, log_path, controller=None):
    """The boot's command line: the IDE DMA machine, or controller's (CONTROLLERS)."""
    machine, options, disk = [], "", "ide0"
    if controller:
        _, machine, options, disk, _, _ = controller
    append = " ".join(w for w in ("bench", options, "pagefile=" + disk) if w)
    cmd = [args.qemu] + machine + [
           "-kernel", args.kernel, "-append", append,
           "-initrd", "%s bench.exe" % args.program,
           "-drive", "file=%s,format=raw,if=ide,index=0,cache=unsafe" % pagefile_image(log_path),
           "-m", str(MEMORY_MB), "-display", "none", "-serial", "file:" + log_path,
           "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-monitor", "none"]
    return cmd + (ICOUNT_OPTIONS if icount else [])


def boot(args, icount, log_path, controller=None):
    """Runs one boot; returns {status, timed_out, seconds, log, stderr, command}."""
    if os.path.exists(log_path):
        os.remove(log_path)
    cmd = qemu_command(args, icount, log_path, controller)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, _ = proc.communicate()
    except KeyboardInterrupt:
        proc.kill()
        proc.communicate()
        raise
    try:
        with open(log_path, "rb") as f:
            log = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        log = ""
    return {"status": proc.returncode, "timed_out": timed_out,
            "seconds": round(time.monotonic() - started, 1), "log": log,
            "stderr": out.decode("utf-8", errors="replace").strip(), "command": cmd}


def boot_problem(outcome, run, timeout):
    """Why a boot did not run to the end, in a sentence; None if it did."""
    if outcome["status"] == EXIT_PASS and run["done"] and not run["errors"]:
        return None
    if not outcome["log"].strip():
        return "the serial log is empty: QEMU or the kernel did not start"
    if not has_output(run):
        how = ("did not exit within %gs" % timeout if outcome["timed_out"]
               else "stopped with status %s" % outcome["status"])
        return ("the kernel printed no benchmark lines and %s: it does not know the "
                "`bench` boot option yet (kernel/bench.c)" % how)
    if outcome["timed_out"]:
        return "no result within %gs (bench.exe still running or hung)" % timeout
    if run["errors"]:
        return "bench.exe reported %d failed benchmark(s)" % len(run["errors"])
    if not run["done"]:
        return ("bench.exe did not finish (no 'bench: done'); QEMU exited with %s"
                % outcome["status"])
    return "QEMU exited with %s, not %d (bench.exe exit status %s)" % (
        outcome["status"], EXIT_PASS, run["exit"] or "unknown")


# ---------------------------------------------------------------------------
# The results
# ---------------------------------------------------------------------------

def floor_sum(run, names, key="median"):
    """The sum of the named floors' key in run, or None if one is missing or zero."""
    if not names or any(n not in run["floors"] for n in names):
        return None
    total = sum(run["floors"][n][key] for n in names)
    return total or None


def nanoseconds(ticks, mhz):
    if ticks is None or not mhz:
        return None
    return round(ticks * 1000.0 / mhz, 1)


def ratio(value, base):
    if value is None or not base:
        return None
    return round(value / base, 2)


def results(icount, tcg):
    """The table as data: what results.json holds besides the boots."""
    operations = []
    for letter, name, what, floors, target in OPERATIONS:
        ins = icount["operations"].get(name, {})
        wall = tcg["operations"].get(name, {})
        median = ins.get("median")
        row = {
            "letter": letter, "name": name, "description": what,
            "iterations": ins.get("iterations"), "median": median, "min": ins.get("min"),
            "floor": "+".join(floors) or None,
            "ratio": ratio(median, floor_sum(icount, floors)),
            "target": target,
            "met": None if target is None or median is None else median <= target,
            "wall_median_ns": nanoseconds(wall.get("median"), tcg["mhz"]),
            "wall_min_ns": nanoseconds(wall.get("min"), tcg["mhz"]),
            "wall_ratio": ratio(wall.get("median"), floor_sum(tcg, floors)),
            "counters": {k: v / 100 for k, v in ins.items()
                         if k not in ("iterations", "median", "min")},
            "measured": bool(ins),
        }
        operations.append(row)
    for letter, name, what in NOT_YET:
        operations.append({"letter": letter, "name": name, "description": what,
                           "measured": False, "not_yet": "no pagefile"})
    floors = []
    for name, what in FLOORS:
        ins = icount["floors"].get(name, {})
        wall = tcg["floors"].get(name, {})
        floors.append({"name": name, "description": what,
                       "iterations": ins.get("iterations"), "median": ins.get("median"),
                       "min": ins.get("min"),
                       "wall_median_ns": nanoseconds(wall.get("median"), tcg["mhz"])})
    return {"operations": operations, "floors": floors, "checks": checks(icount)}


def checks(icount):
    """The rules about TLB work (README, Benchmarks), judged on the icount run's counters."""
    out = []
    thread = icount["operations"].get("switch-thread")
    if thread and "cr3" in thread:
        out.append({"rule": "a switch within one process loads CR3 zero times",
                    "ok": thread["cr3"] == 0,
                    "seen": "switch-thread cr3=%.2f" % (thread["cr3"] / 100)})
    flushing = ["%s flush=%.2f" % (n, v["flush"] / 100)
                for n, v in icount["operations"].items() if v.get("flush")]
    if icount["operations"]:
        out.append({"rule": "no operation flushes the whole TLB (switch-process keeps "
                            "the kernel's global entries)",
                    "ok": not flushing, "seen": ", ".join(flushing) or "flush=0 in all"})
    return out


def _cell(value, fmt="%d"):
    return "-" if value is None else fmt % value


def format_table(data, tcg_mhz, tcg_boots):
    """The table as lines of text."""
    lines = []
    lines.append("median, min: guest instructions per operation under -icount shift=0")
    lines.append("wall ns: median under plain TCG (TSC at %s MHz), best of %d boot(s)"
                 % (tcg_mhz if tcg_mhz else "?", tcg_boots))
    lines.append("ratio: median / the floor's median in the same boot; counters: per "
                 "operation (icount boot)")
    lines.append("")
    head = "%-19s %10s %8s %8s %7s %7s %4s %9s %6s  %s" % (
        "operation", "iterations", "median", "min", "ratio", "target", "met",
        "wall ns", "ratio", "  ".join("%6s" % c for c in COUNTERS))
    lines.append(head)
    lines.append("-" * len(head))
    for row in data["operations"]:
        label = "%s %s" % (row["letter"], row["name"])
        if row.get("not_yet"):
            lines.append("%-19s %10s   (not yet: %s)" % (label, "n/a", row["not_yet"]))
            continue
        if not row["measured"]:
            lines.append("%-19s %10s   (no result)" % (label, "-"))
            continue
        met = "-" if row["met"] is None else ("yes" if row["met"] else "NO")
        counters = "  ".join("%6s" % _cell(row["counters"].get(c), "%.2f") for c in COUNTERS)
        lines.append("%-19s %10s %8s %8s %7s %7s %4s %9s %6s  %s" % (
            label, _cell(row["iterations"]), _cell(row["median"]), _cell(row["min"]),
            _cell(row["ratio"], "%.2f"), _cell(row["target"]), met,
            _cell(row["wall_median_ns"], "%.1f"), _cell(row["wall_ratio"], "%.2f"),
            counters))
    lines.append("")
    head = "%-19s %10s %8s %8s %9s  %s" % ("floor", "iterations", "median", "min",
                                          "wall ns", "what")
    lines.append(head)
    lines.append("-" * len(head))
    for f in data["floors"]:
        lines.append("%-19s %10s %8s %8s %9s  %s" % (
            f["name"], _cell(f["iterations"]), _cell(f["median"]), _cell(f["min"]),
            _cell(f["wall_median_ns"], "%.1f"), f["description"]))
    if data["checks"]:
        lines.append("")
        for c in data["checks"]:
            lines.append("%s  %s (%s)" % ("ok  " if c["ok"] else "FAIL", c["rule"], c["seen"]))
    return lines


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.splitlines()[0].strip() if out.stdout else None
    except (OSError, subprocess.SubprocessError):
        return None


def git_description():
    try:
        out = subprocess.run(["git", "-C", REPO_ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_results(out_dir, document):
    """Writes OUT/results.json and a timestamped copy; returns both paths."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = document["time"].replace("-", "").replace(":", "")
    latest = os.path.join(out_dir, "results.json")
    copy = os.path.join(out_dir, "results-%s.json" % stamp)
    text = json.dumps(document, indent=2) + "\n"
    for path in (latest, copy):
        with open(path, "w") as f:
            f.write(text)
    return latest, copy


def merge_controller(icount, tcg, name, controller_boots):
    """Puts a setup's rows and floors (CONTROLLERS) into the main runs, as NAME@setup."""
    if not controller_boots:
        return
    rows, floors = next((c[4], c[5]) for c in CONTROLLERS if c[0] == name)
    own = {"icount": controller_boots[0][2],
           "tcg": best_of([run for _, _, run in controller_boots[1:]])}
    for main, kind in ((icount, "icount"), (tcg, "tcg")):
        for section, names in (("operations", rows), ("floors", floors)):
            for row in names:
                if row in own[kind][section]:
                    main[section]["%s@%s" % (row, name)] = own[kind][section][row]


def report(boots, args, controllers=None):
    """Prints the table and the boots' problems, writes the JSON; returns the exit status.

    boots: [(kind, outcome, run)], the icount boot first, then the plain-TCG boots;
    controllers: {name: boots of the same form} for the paging rows of other controllers.
    """
    icount = boots[0][2]
    tcg_runs = [run for _, _, run in boots[1:]]
    tcg = best_of(tcg_runs)
    for name, controller_boots in (controllers or {}).items():
        merge_controller(icount, tcg, name, controller_boots)
        boots = boots + [("%s-%s" % (name, kind), outcome, run)
                         for kind, outcome, run in controller_boots]
    data = results(icount, tcg)
    anything = any(has_output(run) for _, _, run in boots)
    if anything:
        print("\n".join(format_table(data, tcg["mhz"], len(tcg_runs))))
    failed = False
    for kind, outcome, run in boots:
        if outcome is None:
            continue
        problem = boot_problem(outcome, run, args.timeout)
        if problem is None:
            continue
        print("%s%s boot: %s" % ("\n" if anything or failed else "", kind, problem))
        failed = True
        for e in run["errors"]:
            print("    " + e)
        if outcome.get("command"):
            print("    qemu: " + " ".join(shlex.quote(a) for a in outcome["command"]))
        if outcome.get("stderr"):
            print("    QEMU said: " + outcome["stderr"].splitlines()[-1])
        tail = [l for l in clean_lines(outcome["log"].rstrip()) if l][-LOG_TAIL_LINES:]
        if tail and has_output(run):
            print("    last lines of the log:")
            print("\n".join("    | " + l for l in tail))
    if not anything:
        print("\nno results: nothing written")
        return 1
    document = {
        "format": RESULTS_FORMAT,
        "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_description(),
        "qemu": qemu_version(args.qemu) if not args.logs else None,
        "tsc_mhz": {"icount": icount["mhz"], "tcg": tcg["mhz"]},
        "boots": {kind: {"status": o["status"], "timed_out": o["timed_out"],
                         "seconds": o["seconds"], "log": o.get("log_path"),
                         "problem": boot_problem(o, r, args.timeout)}
                  for kind, o, r in boots if o is not None},
        "raw": {kind: {k: run[k] for k in ("mhz", "floors", "operations", "errors")}
                for kind, _, run in boots},
    }
    document.update(data)
    latest, copy = write_results(args.out, document)
    print("\nresults: %s (and %s)" % (_short_path(latest), os.path.basename(copy)))
    return 1 if failed else 0


def _short_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


# ---------------------------------------------------------------------------
# Self-check of the parser and the table (no QEMU needed)
# ---------------------------------------------------------------------------

CANNED_ICOUNT = """\
cpu: GenuineIntel family 6 model 6 stepping 3; features: pse tsc pge invlpg\r
cpu: TSC at 999 MHz, measured against the PIT\r
bench-floor: cr3-switch-floor iterations=3100 median=11 min=11\r
bench-floor: zero-page iterations=3100 median=1065 min=1065\r
bench: int-iret-floor iterations=3100 median=4 min=4 cr3=0 invlpg=0 flush=0 faults=0\r
bench: null-syscall iterations=3100 median=53 min=52 cr3=0 invlpg=0 flush=0 faults=0\r
bench: switch-process iterations=6200 median=276 min=276 cr3=100 invlpg=0 flush=0 faults=0\r
bench: switch-thread iterations=6200 median=271 min=271 cr3=0 invlpg=0 flush=0 faults=0\r
bench: demand-zero iterations=7936 median=1523 min=1523 cr3=0 invlpg=100 flush=0 faults=100\r
bench: alloc-64k iterations=1550 median=4981 min=4981 cr3=0 invlpg=0 flush=0 faults=0\r
bench: error: alloc-64k-touch: NtAllocateVirtualMemory failed with status 0xc0000017\r
bench: map-view-64k iterations=1550 median=2568 min=2568 cr3=0 invlpg=0 flush=3 faults=0\r
bench: process-start iterations=155 median=60668 min=60668 cr3=600 invlpg=2400 flush=0 faults=900\r
bench: done\r
bench: bench.exe exited with status 0x00000001\r
"""

CANNED_TCG = """\
cpu: TSC at 2000 MHz, measured against the PIT
bench-floor: cr3-switch-floor iterations=3100 median=5000 min=4800
bench: int-iret-floor iterations=3100 median=1000 min=900 cr3=0 invlpg=0 flush=0 faults=0
bench: null-syscall iterations=3100 median=1500 min=1400 cr3=0 invlpg=0 flush=0 faults=0
bench: done
"""

CANNED_IDLE = """\
NT memory-model kernel for i386
cpu: TSC at 999 MHz, measured against the PIT
boot complete: the machine is idle
"""


def _selftest():
    checks = 0

    def expect(cond, what):
        nonlocal checks
        checks += 1
        if not cond:
            raise AssertionError("selftest failed: " + what)

    icount, tcg, idle = parse_log(CANNED_ICOUNT), parse_log(CANNED_TCG), parse_log(CANNED_IDLE)
    expect(icount["mhz"] == 999 and tcg["mhz"] == 2000, "the TSC rate")
    expect(set(icount["floors"]) == {"cr3-switch-floor", "zero-page", "int-iret-floor"},
           "floors from the kernel and bench.exe: %s" % sorted(icount["floors"]))
    expect(icount["operations"]["null-syscall"] == {
        "iterations": 3100, "median": 53, "min": 52, "cr3": 0, "invlpg": 0, "flush": 0,
        "faults": 0}, "an operation's line")
    expect("alloc-64k-touch" not in icount["operations"] and len(icount["errors"]) == 1,
           "an error line")
    expect(icount["done"] and icount["exit"] == "0x00000001", "done and the exit status")
    expect(not has_output(idle) and idle["mhz"] == 999, "a kernel without `bench`")
    slow = parse_log(CANNED_TCG.replace("median=1500", "median=3000")
                     .replace("median=1000", "median=900"))
    best = best_of([slow, tcg])
    expect(best["operations"]["null-syscall"]["median"] == 1500
           and best["floors"]["int-iret-floor"]["median"] == 900 and best["done"],
           "the best of several plain-TCG boots")

    data = results(icount, tcg)
    rows = {r["name"]: r for r in data["operations"]}
    expect(rows["null-syscall"]["ratio"] == 13.25 and rows["null-syscall"]["met"] is True,
           "ratio and target of (a): %s" % rows["null-syscall"])
    expect(rows["null-syscall"]["wall_median_ns"] == 750.0
           and rows["null-syscall"]["wall_ratio"] == 1.5, "the wall-clock column")
    expect(rows["demand-zero"]["ratio"] == round(1523 / 1069, 2)
           and rows["demand-zero"]["met"] is False, "(d) against int-iret + zero-page")
    expect(rows["demand-zero"]["counters"] == {"cr3": 0, "invlpg": 1, "flush": 0,
                                               "faults": 1}, "counters per operation")
    expect(rows["demand-zero"]["wall_ratio"] is None, "a missing floor gives no ratio")
    expect(rows["alloc-64k-touch"]["measured"] is False, "a failed operation has no row")
    expect(rows["page-out"]["measured"] is False and rows["page-in"]["measured"] is False,
           "(i), (j) without their lines have no row")
    expect([c["ok"] for c in data["checks"]] == [True, False], "the TLB rules")
    text = "\n".join(format_table(data, 2000, 1))
    expect("(no result)" in text and " NO " in text, "the table:\n" + text)

    run = parse_log(CANNED_ICOUNT)
    expect(boot_problem({"status": 35, "timed_out": False, "log": CANNED_ICOUNT}, run, 60)
           == "bench.exe reported 1 failed benchmark(s)", "a failed bench.exe")
    problem = boot_problem({"status": None, "timed_out": True, "log": CANNED_IDLE}, idle, 60)
    expect("does not know the `bench` boot option" in problem, "an idle kernel: " + problem)
    expect(boot_problem({"status": 33, "timed_out": False, "log": CANNED_TCG}, tcg, 60)
           is None, "a good boot")
    print("selftest: %d checks passed" % checks)
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def main():
    build = os.path.join(REPO_ROOT, "build")
    ap = argparse.ArgumentParser(
        description="Boot the benchmark configuration under icount and under plain TCG, "
                    "and print the table of results.")
    ap.add_argument("--kernel", default=os.path.join(build, "kernel.elf"),
                    help="Multiboot kernel ELF (default: build/kernel.elf)")
    ap.add_argument("--program", default=os.path.join(build, "user", "bench.exe"),
                    help="the benchmark program (default: build/user/bench.exe)")
    ap.add_argument("--out", default=os.path.join(build, "bench"),
                    help="where the logs and results go (default: build/bench)")
    ap.add_argument("--tcg-boots", type=int, default=3, metavar="N",
                    help="plain-TCG boots, of which each figure keeps its best "
                         "(default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds before a boot is killed (default: %(default)s)")
    ap.add_argument("--qemu", default=QEMU, help="QEMU binary (default: %(default)s)")
    ap.add_argument("--logs", nargs="+", metavar="LOG",
                    help="tabulate saved serial logs instead of booting: the icount "
                         "boot's, then one or more plain-TCG boots'")
    ap.add_argument("--selftest", action="store_true",
                    help="check the parser on canned logs and exit (no QEMU)")
    args = ap.parse_args()

    if args.selftest:
        return _selftest()
    args.out = os.path.abspath(args.out)

    if args.logs:
        if len(args.logs) < 2:
            ap.error("--logs needs the icount log and at least one plain-TCG log")
        runs = []
        kinds = ["icount"] + ["tcg-%d" % n for n in range(1, len(args.logs))]
        for kind, path in zip(kinds, args.logs):
            try:
                with open(path, "rb") as f:
                    log = f.read().decode("utf-8", errors="replace")
            except OSError as e:
                print("bench: cannot read %s: %s" % (path, e), file=sys.stderr)
                return 2
            run = parse_log(log)
            # A saved log tells nothing of how QEMU ended: judge by the log alone.
            outcome = {"status": EXIT_PASS if run["done"] and not run["errors"] else None,
                       "timed_out": False, "seconds": None, "log": log,
                       "log_path": os.path.abspath(path)}
            runs.append((kind, outcome, run))
        return report(runs, args)

    if args.tcg_boots < 1:
        ap.error("--tcg-boots must be at least 1")
    if shutil.which(args.qemu) is None:
        print("bench: %s not found (apt-get install qemu-system-x86)" % args.qemu,
              file=sys.stderr)
        return 2
    for what, path in (("kernel", args.kernel), ("program", args.program)):
        if not os.path.isfile(path):
            print("bench: %s not found: %s (build it first: make %s)"
                  % (what, path, "all" if what == "kernel" else "user"), file=sys.stderr)
            return 2
    # QEMU splits -initrd at ',' and at the first blank, and -serial file: at ','.
    for what, path in (("program", args.program), ("output folder", args.out)):
        if "," in path or re.search(r"\s", path):
            print("bench: the %s path must have no ',' or blank: %s" % (what, path),
                  file=sys.stderr)
            return 2
    os.makedirs(args.out, exist_ok=True)

    # One after another: a boot beside another would slow the plain-TCG ones.
    runs = []
    kinds = ["icount"] + ["tcg-%d" % n for n in range(1, args.tcg_boots + 1)]
    for kind in kinds:
        log_path = os.path.join(args.out, kind + ".log")
        print("bench: booting %s ..." % ("under -icount" if kind == "icount"
                                         else "plain TCG (%s)" % kind), file=sys.stderr,
              flush=True)
        outcome = boot(args, kind == "icount", log_path)
        outcome["log_path"] = log_path
        runs.append((kind, outcome, parse_log(outcome["log"])))
    # The other controllers' paging rows: an icount boot and plain-TCG boots each.
    controllers = {}
    for controller in CONTROLLERS:
        name = controller[0]
        controllers[name] = []
        for kind in kinds[:1 + min(2, args.tcg_boots)]:
            log_path = os.path.join(args.out, "%s-%s.log" % (name, kind))
            print("bench: booting %s, %s ..." % (name, kind), file=sys.stderr, flush=True)
            outcome = boot(args, kind == "icount", log_path, controller)
            outcome["log_path"] = log_path
            controllers[name].append((kind, outcome, parse_log(outcome["log"])))
    print(file=sys.stderr)
    return report(runs, args, controllers)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
