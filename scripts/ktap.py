"""A parser for KTAP version 1, the format of the kernel's test report.

Nested tests are recognised by indentation (4 spaces per level); a subtest
starts with its own "KTAP version 1" and/or "# Subtest: NAME" line, has a
plan "1..K" and K result lines, and is closed by the result line one level
up. A result line is "ok N NAME" or "not ok N NAME", optionally followed by
"# SKIP reason". Lines starting with "#" are diagnostics; as KUnit prints them,
they come before the result line of the case they belong to, and are attached
to it. Lines that are none of these (stray kernel messages) are ignored.

parse_ktap(lines) returns a KtapReport: the results as a tree, the leaf cases,
the "not ok" results worth naming, and the problems with the format (a missing
plan or result line, output that ended early). Used by verdict.py; checked by
scripts/run-tests.py --selftest. Only the Python standard library is used.
"""

import re

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
