#!/usr/bin/env python3
"""One writer of page-table entries: mm/pte.h and mm/pte.c store every PTE and PDE.

The first line of defence is the compiler: mmpte_t's value is const (arch/mmu.h), so an
entry cannot be assigned outside MiPteStore (mm/pte.h), the one function that casts the
const away. This script
refuses every way round that in the sources of every layer (lib/, arch/, boot/, ke/, mm/,
kernel/, tests/), comments and strings left out:

  1. arch/mmu.h defines mmpte_t, and its value member is const. No other file defines
     struct mmpte, and no union holds an mmpte_t (a union would store it as something
     else).
  2. No store through an entry: an assignment, compound assignment, ++ or -- whose left
     side dereferences a PTE expression (`*pte = `, `table[i] = `, `pte->value &= `,
     `((mmpte_t *)p)->value = `, a struct assigned whole).
  3. No cast to a writable pointer that could reach an entry: a cast to a pointer to
     mmpte_t that is not const, and a cast to any pointer whose operand is a PTE
     expression (`*(uint32_t *)pte = 0`, `(void *)pde_of(va)`).
  4. No memory function aims at an entry: memset, memcpy, memmove, their __builtin_
     forms, arch_copy_checked and user_copy_to, with a PTE expression for destination.
  5. No inline assembly with a PTE expression for an operand, and no assembly file but
     boot/entry.S (which builds the first tables with paging off) names the self-map or
     the boot's tables.
  6. No code clears CR0.WP (`~CR0_WP`) or sets MiPteCheckEnabled: those open and close
     the run-time check's write window, in mm/pte.c alone.
  7. No code calls the writer's own parts (MiPteStore, MiPteStoreChecked, MiPteWrite,
     MiPteFlushPage): they store without the TLB work, or flush without a store.

A PTE expression is one that names: a variable, parameter, field or array declared as
mmpte_t * or mmpte_t[] (fields are recognised after -> or . in any file, other names in
the file that declares them); a function returning mmpte_t * (pte_of, pde_of, MiGetPte);
PTE_BASE or PDE_BASE; a number inside the self-map's window (0xC0000000 to 0xC03FFFFF
with 4-byte entries: arch/layout.h's PTE_BASE, PAGE_SHIFT and PTE_SIZE, read from there);
or a name assigned from a PTE expression in the same file, other than through the
accessors that read an entry's contents (pte_pfn, MiPteProtection, ...), which launders
an entry's address through an integer.

mm/pte.h and mm/pte.c (the writer) and arch/mmu.h (the type and the self-map helpers)
are exempt;
so are the stores tests plant on purpose to see the run-time check stop them, each
listed in PLANTED by file and exact text.

What this cannot see, and the run-time check (`ptecheck`, page tables mapped read-only
outside the writer) catches instead: an address of an entry computed without any of the
names above (from a frame number, by arithmetic on unrelated constants), a table reached
through a pointer of another type (MiMapPageInHyperSpace returns void *), or through a
function that hides the cast. Prototype PTEs live in pool memory that the hardware does
not protect; for them this script is the only check.

Exits 0 when the rules hold, 1 with each violation as FILE:LINE: rule: text.
`--selftest` plants each kind of violation in a scratch tree and checks that it is
found, and that clean code passes.
"""
import os
import re
import sys

from scratch_tree import scratch_tree

FOLDERS = ("lib", "arch", "boot", "ke", "mm", "io", "kernel", "tests")  # scripts/check-includes.py's layers
WRITER = "mm/pte.c"
WRITER_FILES = ("mm/pte.c", "mm/pte.h")
WRITER_INTERNALS = ("MiPteStore", "MiPteStoreChecked", "MiPteWrite", "MiPteFlushPage")
TYPE_HEADER = "arch/mmu.h"
LAYOUT_HEADER = "arch/layout.h"     # where the self-map is: PTE_BASE, PAGE_SHIFT, PTE_SIZE
FIRST_TABLES = "boot/entry.S"       # paging is off while it writes
USER_PROGRAMS = os.path.join("tests", "user")   # ring 3: no page table is within reach

# Stores that tests/crash.c makes on purpose, so that crash=pte-store and
# crash=directory-store see the run-time check stop them.
PLANTED = {
    "tests/crash.c": ["*(volatile uint32_t *)pte = 0", "*(volatile uint32_t *)pde = 0"],
}

# Accessors that read what an entry says; a name assigned through them is not an address.
READERS = ("pte_pfn", "pte_is_valid", "pte_is_writable", "pte_is_user", "pte_is_global",
           "va_of_pte", "MiPteProtection", "MiPagefilePteSlot", "MiIsDemandZeroPte",
           "MiIsResidentPte", "MiIsTransitionPte", "MiIsViewPagePte", "MiIsPagefilePte",
           "MiIsPresentPte", "mi_pte_protection_of", "MmIsPageTableView")
MEMORY_FUNCTIONS = ("memset", "memcpy", "memmove", "__builtin_memset", "__builtin_memcpy",
                    "__builtin_memmove", "arch_copy_checked", "user_copy_to")
CONSTANTS = ("PTE_BASE", "PDE_BASE")
ASSEMBLY_NAMES = ("PTE_BASE", "PDE_BASE", "PTE_SELF_MAP_INDEX", "boot_page_directory",
                  "boot_page_table", "boot_hyperspace_table")
TYPE_WORDS = {"const", "volatile", "unsigned", "signed", "struct", "union", "enum", "static",
              "extern", "register", "inline", "char", "short", "int", "long", "void", "bool",
              "float", "double"}

IDENT = r"[A-Za-z_]\w*"
POINTER_CAST = re.compile(r"\(\s*((?:%s\b\s*)+\*[\s*]*(?:const\b\s*|volatile\b\s*)*)\)" % IDENT)
ASSIGNMENT = re.compile(r"(?<![=!<>+\-*/%&|^])(?:[+\-*/%&|^]|<<|>>)?=(?!=)|\+\+|--")


def strip(text):
    """The text with comments, strings and character constants blanked, lines kept."""
    def blank(match):
        return re.sub(r"[^\n]", " ", match.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', blank,
                  text, flags=re.S)


def read_sources(root):
    sources = {}
    for folder in FOLDERS:
        for directory, _, names in os.walk(os.path.join(root, folder)):
            if os.path.relpath(directory, root).startswith(USER_PROGRAMS):
                continue
            for name in names:
                if name.endswith((".c", ".h", ".S")):
                    path = os.path.relpath(os.path.join(directory, name), root)
                    with open(os.path.join(root, path), encoding="utf-8") as source:
                        sources[path] = source.read()
    return sources


def self_map_window(sources):
    """[start, end) of the self-map's window of entries, one per page of the 4 GB space,
    from LAYOUT_HEADER's definitions; None when it does not define them as numbers."""
    values = dict((name, int(number, 0)) for name, number in re.findall(
        r"^\s*#\s*define\s+(PTE_BASE|PAGE_SHIFT|PTE_SIZE)\s+(0[xX][0-9a-fA-F]+|\d+)\b",
        sources.get(LAYOUT_HEADER, ""), re.M))
    if len(values) != 3:
        return None
    start = values["PTE_BASE"]
    return start, start + ((1 << 32) >> values["PAGE_SHIFT"]) * values["PTE_SIZE"]


def declared_names(code):
    """(pointer and array names, names declared as mmpte_t * or mmpte_t[]) in code."""
    names = set(re.findall(r"\b(?:mmpte_t|struct\s+mmpte)\s*(?:const\s*)?\*+\s*(?:const\s*)?"
                           r"(%s)\s*(?![\w(])" % IDENT, code))
    names |= set(re.findall(r"\b(?:mmpte_t|struct\s+mmpte)\s+(%s)\s*\[" % IDENT, code))
    return names


def global_names(sources):
    """(fields of type mmpte_t *, functions returning mmpte_t *) over every source."""
    fields, functions = set(), set()
    for path, text in sources.items():
        code = strip(text)
        for body in re.findall(r"\bstruct\s+%s\s*\{(.*?)\}" % IDENT, code, re.S):
            fields |= declared_names(body)
        functions |= set(re.findall(r"\bmmpte_t\s*\*+\s*(%s)\s*\(" % IDENT, code))
    return fields, functions


def drop_reader_calls(text):
    """text without the calls to READERS (what an entry says is not where it is)."""
    while True:
        match = re.search(r"\b(?:%s)\s*\(" % "|".join(READERS), text)
        if not match:
            return text
        close = matching_paren(text, match.end() - 1)
        text = text[:match.start()] + " 0 " + text[close + 1:]


def matching_paren(text, open_at, stop_at_comma=False):
    """The index of the bracket closing the one at open_at (or the end of text); with
    stop_at_comma, of the first comma directly inside it if that comes first."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
        elif stop_at_comma and text[i] == "," and depth == 1:
            return i
    return len(text) - 1


class Names:
    """What counts as a PTE expression in one file."""

    def __init__(self, local, fields, functions, window):
        self.local, self.fields, self.functions = set(local), fields, functions
        self.window = window

    def mentions(self, text):
        text = drop_reader_calls(text)
        for match in re.finditer(r"(->|\.)?\s*\b(%s)\b\s*(\()?" % IDENT, text):
            arrow, name, call = match.groups()
            if arrow and name in self.fields:
                return True
            if not arrow and (name in self.local or name in CONSTANTS or
                              (call and name in self.functions) or name == "mmpte_t"):
                return True
        for number in re.findall(r"\b0[xX][0-9a-fA-F]+", text):
            if self.window[0] <= int(number, 16) < self.window[1]:
                return True
        return False

    def is_address(self, value):
        """True when value, the right side of an assignment, is the address of an entry
        (after any casts, plus or minus an offset), not what an entry says."""
        value = re.sub(r"^(?:\s*\(\s*(?:%s\b\s*)+[\s*]*\))+" % IDENT, "", value).strip()
        operand = operand_after(value, 0).strip()
        rest = value[len(operand):].strip() if value.startswith(operand) else ""
        if rest and rest[0] not in "+-" or operand.startswith("*"):
            return False
        if operand.startswith("&"):
            return self.mentions(re.sub(r"\w\s*\([^()]*\)", "", operand))
        if operand.startswith("("):
            return self.is_address(operand[1:-1])
        last = re.search(r"(->|\.)?\s*(\w+)\s*(\([^()]*\)|\[[^\]]*\])?\s*$", operand)
        if not last:
            return False
        arrow, name, suffix = last.groups()
        if suffix and suffix.startswith("["):
            return False
        if suffix:
            return name in self.functions
        if arrow:
            return name in self.fields
        return self.mentions(name)


def operand_after(code, at):
    """The unary expression that starts at at (a cast's operand): prefixes, a name,
    number or parenthesised group, then calls, indexes and member accesses."""
    i = at
    while i < len(code) and code[i] in " \t\n&*!~-+":
        i += 1
    if i < len(code) and code[i] == "(":
        i = matching_paren(code, i) + 1
    else:
        match = re.compile(r"\w+").match(code, i)
        i = match.end() if match else i
    while True:
        match = re.compile(r"\s*(\(|\[|->\s*\w+|\.\s*\w+)").match(code, i)
        if not match:
            return code[at:i]
        i = matching_paren(code, match.start(1)) + 1 if match.group(1) in "([" else match.end()


def first_argument(code, open_at):
    """The text of the first argument of the call whose ( is at open_at."""
    return code[open_at + 1:matching_paren(code, open_at, stop_at_comma=True)]


CONTROL = re.compile(r"\s*(?:(?:if|while|for|switch)\s*(?=\()|(?:else|do|return|case\s+\w+\s*:)\b)")


def assignment_target(left):
    """The lvalue in left, the text before an assignment operator in one statement."""
    while True:
        match = CONTROL.match(left)
        if not match:
            break
        left = left[match.end():]
        if left.lstrip().startswith("("):
            offset = len(left) - len(left.lstrip())
            close = matching_paren(left, offset)
            if close == len(left) - 1 and left.count("(") > left.count(")"):
                break
            left = left[close + 1:]
    depth = 0
    for i in range(len(left) - 1, -1, -1):       # inside an unclosed ( only its inside counts
        if left[i] == ")":
            depth += 1
        elif left[i] == "(":
            if depth == 0:
                return left[i + 1:]
            depth -= 1
    return left


def is_declaration(left):
    words = re.findall(IDENT, left)
    return bool(words) and not left.lstrip().startswith(("*", "(")) and bool(
        words[0] in TYPE_WORDS or words[0].endswith("_t") or
        re.match(r"\s*%s\s+[*\s]*%s\s*(\[[^\]]*\])?\s*$" % (IDENT, IDENT), left))


def stores_to_entry(left, names):
    """True when the lvalue left dereferences a PTE expression."""
    left = left.strip()
    if left.startswith("*") and names.mentions(left):
        return True
    if re.search(r"(->|\.)\s*value\s*$", left) and names.mentions(left):
        return True
    for match in re.finditer(r"(->|\.)?\s*\b(%s)\b\s*(\[|->)" % IDENT, left):
        arrow, name, _ = match.groups()
        if (arrow and name in names.fields) or (not arrow and name in names.local):
            return True
    return bool(re.search(r"\)\s*(->|\[)", left)) and names.mentions(left)


def check_file(path, text, fields, functions, window):
    """The violations in one file (path relative to the tree)."""
    code = strip(text)
    lines = text.splitlines()
    planted = PLANTED.get(path, [])
    problems = []

    def report(offset, rule):
        line = code.count("\n", 0, offset) + 1
        source = lines[line - 1].strip() if line <= len(lines) else ""
        if not any(p in source for p in planted):
            problems.append("%s:%d: %s: %s" % (path, line, rule, source))

    if path == TYPE_HEADER:
        if not re.search(r"struct\s+mmpte\s*\{\s*const\s+\w+\s+value\s*;\s*\}", code):
            report(0, "mmpte_t's value member must be const, and its only member")
        return problems
    if path.endswith(".S"):
        if path != FIRST_TABLES:
            for match in re.finditer(r"\b(?:%s)\b" % "|".join(ASSEMBLY_NAMES), code):
                report(match.start(), "assembly names a page table")
        return problems

    names = Names(declared_names(code), fields, functions, window)
    for _ in range(3):      # names assigned from a PTE expression, to a fixed point
        for match in re.finditer(r"\b(%s)\s*=(?!=)([^;]*);" % IDENT, code):
            if match.group(1) not in names.local and names.is_address(match.group(2)):
                names.local.add(match.group(1))

    if re.search(r"\bstruct\s+mmpte\s*\{", code):
        report(re.search(r"\bstruct\s+mmpte\s*\{", code).start(),
               "mmpte_t is defined in %s alone" % TYPE_HEADER)
    for match in re.finditer(r"\bunion\b[^;{}]*\{[^}]*\b(?:mmpte_t|struct\s+mmpte)\b", code):
        report(match.start(), "a union holds an mmpte_t")

    offset = 0
    for piece in re.split(r"([;{}])", code):
        for match in ASSIGNMENT.finditer(piece):
            before, after = piece[:match.start()], piece[match.end():]
            if match.group(0) in ("++", "--") and not before.strip():
                before = after
            left = assignment_target(before)
            if not is_declaration(left) and stores_to_entry(left, names):
                report(offset + match.start(),
                       "a store to a page-table entry outside the writer")
                break
        offset += len(piece)

    for match in POINTER_CAST.finditer(code):
        target = match.group(1)
        read_only = re.match(r"\s*const\b", target) and target.count("*") == 1
        if re.search(r"\b(?:mmpte_t|mmpte)\b", target):
            if not read_only:
                report(match.start(), "a cast to a writable mmpte_t pointer")
        elif not read_only and names.mentions(operand_after(code, match.end())):
            report(match.start(), "a cast that could store to a page-table entry")

    for match in re.finditer(r"\b(?:%s)\s*\(" % "|".join(MEMORY_FUNCTIONS), code):
        if names.mentions(first_argument(code, match.end() - 1)):
            report(match.start(), "a memory function aimed at a page-table entry")

    for match in re.finditer(r"\b(?:__asm__|asm)\b[^;]*;", code):
        if names.mentions(re.sub(r"\bmmpte_t\b", "", match.group(0))):
            report(match.start(), "inline assembly with a page-table entry for operand")

    for match in re.finditer(r"~\s*CR0_WP\b|\bMiPteCheckEnabled\s*=(?!=)", code):
        report(match.start(), "only %s opens the check's write window" % WRITER)
    for match in re.finditer(r"\b(?:%s)\b" % "|".join(WRITER_INTERNALS), code):
        report(match.start(), "the writer's own parts are called by the writer alone")
    return problems


def check(root):
    """Every violation in the tree at root."""
    sources = read_sources(root)
    window = self_map_window(sources)
    if window is None:
        return ["%s: PTE_BASE, PAGE_SHIFT and PTE_SIZE not defined as numbers there, so the "
                "self-map's window is unknown" % LAYOUT_HEADER]
    fields, functions = global_names(sources)
    problems = []
    for path in sorted(sources):
        if path not in WRITER_FILES:
            problems += check_file(path, sources[path], fields, functions, window)
    return problems


LAYOUT = """#pragma once
#define PAGE_SHIFT 12
#define PTE_SIZE 4
#define PTE_BASE 0xC0000000
"""

HEADER = """#pragma once
typedef unsigned int uint32_t;
typedef struct mmpte {
    const uint32_t value;
} mmpte_t;
static inline mmpte_t *pte_of(uint32_t va) { return (mmpte_t *)(0xC0000000 + va / 1024); }
"""

CLEAN = """#include "arch/mmu.h"
struct space { mmpte_t *directory; unsigned count; };
struct word { const char *value; };
void MiWritePte(mmpte_t *pte, mmpte_t value);
mmpte_t *MiGetPte(uint32_t va, int create);
static unsigned table[4];
void clean(struct space *space, struct word *word, unsigned va)
{
    mmpte_t *pte = pte_of(va);
    mmpte_t old = *pte;
    unsigned frame = pte_pfn(*pte);
    void *page = MiMapPageInHyperSpace(frame);
    memset(page, 0, 4096);
    *(volatile unsigned *)va = 1;
    const mmpte_t *view = (const mmpte_t *)page;
    word->value = "x";
    space->count++;
    table[0] = 1;
    MiWritePte(pte, old);
    MiWritePte(&space->directory[2], old);
    if (pte->value == 0 && view[0].value != 1)
        return;
}
"""

PLANTS = {
    "assignment": "void f(unsigned va) { *pte_of(va) = (mmpte_t){0}; }",
    "integer cast": "void f(mmpte_t *pte) { *(uint32_t *)pte = 0; }",
    "volatile cast": "void f(unsigned va) { *(volatile unsigned *)pte_of(va) = 0; }",
    "value cast": "void f(void *p) { ((mmpte_t *)p)->value = 0; }",
    "memset": "void f(mmpte_t *pte) { memset(pte, 0, 4); }",
    "memcpy": "void f(unsigned va, mmpte_t *from) { memcpy(pte_of(va), from, 4); }",
    "struct assignment": "struct s { mmpte_t *directory; };\n"
                         "void f(struct s *s, mmpte_t v) { s->directory[3] = v; }",
    "table index": "void f(void *p, mmpte_t v) { mmpte_t *table = p; table[1] = v; }",
    "laundered": "void f(mmpte_t *pte) { unsigned a = (unsigned)pte; *(unsigned *)a = 0; }",
    "window address": "void f(void) { *(unsigned *)0xC0300C00 = 0; }",
    "self-map constant": "void f(unsigned i) { ((unsigned *)PDE_BASE)[i] = 0; }",
    "compound": "void f(mmpte_t *pte) { ((uint32_t *)pte)[0] |= 2; }",
    "const cast away": "void f(const mmpte_t *pte) { ((mmpte_t *)pte)->value = 1; }",
    "union": "union pun { mmpte_t pte; unsigned raw; };",
    "asm": "void f(mmpte_t *pte) { __asm__ volatile(\"movl $0, %0\" : \"=m\"(*pte)); }",
    "write window": "void f(void) { cpu_write_cr0(cpu_read_cr0() & ~CR0_WP); }",
    "check off": "void f(void) { MiPteCheckEnabled = false; }",
    "writer internals": "void f(mmpte_t *pte, mmpte_t v) { MiPteStore(pte, v); }",
    "pointer cast of a PTE": "void f(unsigned va) { char *p = (char *)pte_of(va); p[0] = 0; }",
    "through void": "void f(mmpte_t *pte) { void *p = pte; memset(p, 0, 4); }",
}


def checked(files):
    """check() of a scratch tree holding files."""
    with scratch_tree(files, "check-pte-writers-") as root:
        return check(root)


def selftest():
    failures = []
    base = {LAYOUT_HEADER: LAYOUT, TYPE_HEADER: HEADER, "mm/clean.c": CLEAN,
            WRITER: '#include "arch/mmu.h"\nvoid MiWritePte(mmpte_t *pte, mmpte_t v)\n'
                    "{ *(volatile uint32_t *)&pte->value = v.value; }\n",
            "boot/entry.S": "movl %eax, PTE_SELF_MAP_INDEX * 4(%ebx)\n"}
    found = checked(base)
    if found:
        failures.append("clean tree: %r" % found)
    cases = dict(("plant: " + name, (dict(base, **{"mm/bad.c": '#include "arch/mmu.h"\n' +
                                                  code}), 1)) for name, code in PLANTS.items())
    cases["plant: assembly"] = (dict(base, **{"arch/bad.S": "movl $0, PDE_BASE\n"}), 1)
    cases["plant: no layout"] = (dict(base, **{LAYOUT_HEADER: "#pragma once\n"}), 1)
    cases["plant: window of 8-byte entries"] = (dict(base, **{
        LAYOUT_HEADER: LAYOUT.replace("PTE_SIZE 4", "PTE_SIZE 8"),
        "mm/bad.c": "void f(void) { *(unsigned *)0xC0600000 = 0; }"}), 1)
    cases["plant: value not const"] = (dict(base, **{TYPE_HEADER: HEADER.replace(
        "const uint32_t", "uint32_t")}), 1)
    for name, (files, expected) in cases.items():
        found = checked(files)
        if len(found) < expected:
            failures.append("%s: expected %d problem(s), found %r" % (name, expected, found))
    for failure in failures:
        print("selftest " + failure)
    return failures


def main():
    if "--selftest" in sys.argv[1:]:
        failures = selftest()
        print("check-pte-writers selftest: %s" % ("ok" if not failures else "FAILED"))
        return 1 if failures else 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check(root)
    for problem in problems:
        print(problem)
    writers = " and ".join(WRITER_FILES)
    print("check-pte-writers: %s" % ("%d violation(s)" % len(problems) if problems else
                                     "every page-table entry is stored by " + writers))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
