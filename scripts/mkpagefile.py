#!/usr/bin/env python3
"""Prepare a pagefile disk for the kernel.

Usage:
    scripts/mkpagefile.py FILE SIZE      make FILE a raw disk image of SIZE (e.g. 128M)
                                         holding an empty pagefile
    scripts/mkpagefile.py --device DEV   write only the signature to an existing disk
                                         (a USB stick's spare disk, say): everything on
                                         it is then the kernel's to overwrite

The kernel uses a disk as its pagefile (pagefile=hdN on its command line) only when the
disk's first sector starts with the signature written here, so that a wrong option can
never overwrite a disk holding anything else. The rest of the first page is zero; the
kernel keeps it (slot 0) and pages go in the slots after it.

Only the Python standard library is used.
"""

import argparse
import os
import re
import sys

SIGNATURE = b"NTMM-PAGEFILE-1\0"    # mm/pagefile.c: PAGEFILE_SIGNATURE
PAGE = 4096


def parse_size(text):
    """Bytes for '128M', '1G', '65536K' or a plain number of bytes; ValueError otherwise."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError("size %r: give a number with K, M or G" % text)
    size = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]
    if size < 16 * PAGE or size % PAGE:
        raise ValueError("size %r: at least 64K and a whole number of 4K pages" % text)
    return size


def write_signature(f):
    f.seek(0)
    f.write(SIGNATURE + bytes(PAGE - len(SIGNATURE)))


def write_pagefile(f, size):
    """Makes the open file an empty pagefile of size bytes (sparse where it can be)."""
    f.truncate(size)
    write_signature(f)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", nargs="?", help="the disk image to create")
    p.add_argument("size", nargs="?", help="its size: 128M, 1G, ...")
    p.add_argument("--device", help="an existing disk to mark as a pagefile")
    args = p.parse_args()
    if args.device:
        with open(args.device, "r+b") as f:
            write_signature(f)
        return 0
    if not args.file or not args.size:
        p.error("give FILE and SIZE, or --device DEV")
    try:
        size = parse_size(args.size)
    except ValueError as e:
        p.error(str(e))
    with open(args.file, "wb") as f:
        write_pagefile(f, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
