#!/usr/bin/env python3
"""The include rules of the kernel's sources, checked before the tests run.

  - No include cycle between headers: a header never includes, through any chain of
    others, itself.
  - lib/ stands alone: nothing in lib/ includes a file outside lib/ (the C library's own
    headers aside), so every layer can use it and it uses none of them.
  - The folders are layers, bottom up: lib, arch, boot, ke, mm, io, kernel, tests. A file
    includes files of its own folder and of folders below it, never of one above, so no
    include cycle can run between folders either. A folder not in the list is refused;
    one in the list need not exist (ke/ may come later).

Exits 0 when the rules hold, 1 with each broken rule on a line of its own.
`--selftest` plants each kind of mistake in a scratch tree and checks that it is found.
"""
import os
import re
import sys

from scratch_tree import scratch_tree

LAYERS = ("lib", "arch", "boot", "ke", "mm", "io", "kernel", "tests")    # bottom up
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_includes(root):
    """{file: [included project files]} for every source under the folders."""
    includes = {}
    for folder in LAYERS:
        for directory, _, names in os.walk(os.path.join(root, folder)):
            for name in names:
                if not name.endswith((".c", ".h", ".S")):
                    continue
                path = os.path.relpath(os.path.join(directory, name), root)
                with open(os.path.join(root, path), encoding="utf-8") as source:
                    includes[path] = INCLUDE.findall(source.read())
    return includes


def header_cycles(includes):
    """Each include cycle among headers, as the list of headers around it."""
    graph = {path: [i for i in deps if i in includes and i.endswith(".h")]
             for path, deps in includes.items() if path.endswith(".h")}
    state, stack, cycles = {}, [], []

    def visit(header):
        state[header] = "open"
        stack.append(header)
        for included in graph[header]:
            if state.get(included) == "open":
                cycles.append(stack[stack.index(included):] + [included])
            elif included not in state:
                visit(included)
        stack.pop()
        state[header] = "done"

    for header in sorted(graph):
        if header not in state:
            visit(header)
    return cycles


def lib_escapes(includes):
    """(file, include) for each include in lib/ of a project file outside lib/."""
    return [(path, included) for path, deps in sorted(includes.items())
            for included in deps
            if path.startswith("lib/") and not included.startswith("lib/")]


def layer_violations(includes):
    """(file, include) for each include of a file in a higher layer, or in no layer."""
    rank = {folder: level for level, folder in enumerate(LAYERS)}

    def layer(path):
        return rank.get(path.split("/")[0], len(LAYERS))

    return [(path, included) for path, deps in sorted(includes.items())
            for included in deps if layer(included) > layer(path)]


def check(root):
    includes = read_includes(root)
    problems = ["include cycle: " + " -> ".join(cycle) for cycle in header_cycles(includes)]
    problems += ["%s includes %s: lib/ must include nothing outside lib/" % escape
                 for escape in lib_escapes(includes)]
    problems += ["%s includes %s: a layer includes only its own folder and those below "
                 "(%s)" % (path, included, " < ".join(LAYERS))
                 for path, included in layer_violations(includes)]
    return problems


def checked(files):
    """check() of a scratch tree holding files."""
    with scratch_tree(files, "check-includes-") as root:
        return check(root)


def selftest():
    clean = {"lib/a.h": "#include <stddef.h>\n", "mm/b.h": '#include "lib/a.h"\n',
             "kernel/c.c": '#include "mm/b.h"\n#include "lib/a.h"\n'}
    cycle = dict(clean, **{"mm/b.h": '#include "mm/d.h"\n',
                           "mm/d.h": '#include "mm/e.h"\n',
                           "mm/e.h": '#include "mm/b.h"\n'})
    escape = dict(clean, **{"lib/f.c": '#include "mm/b.h"\n'})
    upward = dict(clean, **{"arch/g.c": '#include "mm/h.h"\n', "mm/h.h": ""})
    sideways = dict(clean, **{"mm/i.c": '#include "drivers/j.h"\n', "drivers/j.h": ""})
    layered = dict(clean, **{"ke/k.h": '#include "arch/l.h"\n', "arch/l.h": "",
                             "boot/m.c": '#include "arch/l.h"\n#include "lib/a.h"\n',
                             "tests/n.c": '#include "mm/b.h"\n#include "ke/k.h"\n'})
    failures = 0
    for name, files, expected, words in (("clean", clean, 0, ""),
                                         ("cycle", cycle, 1, "include cycle"),
                                         ("escape", escape, 2, "lib/ must include"),
                                         ("upward", upward, 1, "arch/g.c includes mm/h.h"),
                                         ("sideways", sideways, 1, "drivers/j.h"),
                                         ("layered", layered, 0, "")):
        found = checked(files)
        if len(found) != expected or (expected and not any(words in f for f in found)):
            print("selftest %s: expected %d problem(s), found %r" % (name, expected, found))
            failures += 1
    return failures


def main():
    if "--selftest" in sys.argv[1:]:
        failures = selftest()
        print("check-includes selftest: %s" % ("ok" if not failures else "FAILED"))
        return 1 if failures else 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check(root)
    for problem in problems:
        print("check-includes: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
