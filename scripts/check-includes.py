#!/usr/bin/env python3
"""The include rules of the kernel's sources, checked before the tests run.

  - No include cycle between headers: a header never includes, through any chain of
    others, itself.
  - lib/ stands alone: nothing in lib/ includes a file outside lib/ (the C library's own
    headers aside), so every layer can use it and it uses none of them.

Exits 0 when the rules hold, 1 with each broken rule on a line of its own.
`--selftest` plants each kind of mistake in a scratch tree and checks that it is found.
"""
import os
import re
import sys
import tempfile

FOLDERS = ("arch", "boot", "kernel", "lib", "mm", "tests")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_includes(root):
    """{file: [included project files]} for every source under the folders."""
    includes = {}
    for folder in FOLDERS:
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


def check(root):
    includes = read_includes(root)
    problems = ["include cycle: " + " -> ".join(cycle) for cycle in header_cycles(includes)]
    problems += ["%s includes %s: lib/ must include nothing outside lib/" % escape
                 for escape in lib_escapes(includes)]
    return problems


def selftest():
    def tree(files):
        root = tempfile.mkdtemp(prefix="check-includes-")
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as out:
                out.write(text)
        return root

    clean = {"lib/a.h": "#include <stddef.h>\n", "kernel/b.h": '#include "lib/a.h"\n',
             "mm/c.c": '#include "kernel/b.h"\n#include "lib/a.h"\n'}
    cycle = dict(clean, **{"kernel/b.h": '#include "mm/d.h"\n',
                           "mm/d.h": '#include "kernel/e.h"\n',
                           "kernel/e.h": '#include "kernel/b.h"\n'})
    escape = dict(clean, **{"lib/f.c": '#include "kernel/b.h"\n'})
    failures = 0
    for name, files, expected in (("clean", clean, 0), ("cycle", cycle, 1),
                                  ("escape", escape, 1)):
        found = check(tree(files))
        if len(found) != expected or (expected and name not in found[0] and
                                      "lib/" not in found[0]):
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
