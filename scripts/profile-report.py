#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns profile-sample.py's samples into a flat profile per phase.

Kernel addresses are resolved with the kernel build's System.map (the test
kernel is not relocated: no RANDOMIZE_BASE), module addresses with the
"vm_mvc_profile: ksym" lines the guest copied from /proc/kallsyms, and
Rust names are demangled with llvm-cxxfilt when it is there.  Samples of
an idle vCPU are left out; user space counts as "[user]".

Usage: profile-report.py OUT KDIR [TOP]
Reads OUT/profile.samples and OUT/console.log, writes OUT/profile.txt
and prints the TOP (default 15) functions of every phase.
"""
import bisect
import collections
import csv
import os
import re
import shutil
import subprocess
import sys

KSYM = re.compile(r"vm_mvc_profile: ksym ([0-9a-f]+) (\w) (\S+)(?:\s+\[(\w+)\])?")
# profile-uml.py's samples of the host's kernel working for User-Mode
# Linux, and of the host's C library in UML's process.
HOST_PLACES = {"host": (-1, "[host kernel]"), "hostlib": (-2, "[host libraries]")}
# Where an idle vCPU waits (x86, 7.3).
IDLE = re.compile(r"(^|_)(idle|halt|mwait)|^cpu_startup_entry$|^do_idle$")


def text_symbols(kdir, console):
    """Sorted (address, name, module) of every text symbol."""
    symbols = []
    with open(os.path.join(kdir, "System.map")) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                symbols.append((int(addr, 16), name, "kernel"))
    with open(console, errors="replace") as f:
        for line in f:
            m = KSYM.search(line)
            if m and m.group(2) in "tTwW":
                symbols.append((int(m.group(1), 16), m.group(3), m.group(4) or "kernel"))
    symbols.sort()
    return symbols


def demangle(names):
    """Rust (v0 and legacy) names, readable; unchanged without llvm-cxxfilt."""
    tool = shutil.which("llvm-cxxfilt")
    if not tool or not names:
        return {n: n for n in names}
    out = subprocess.run([tool], input="\n".join(names), capture_output=True,
                         text=True, check=False).stdout.splitlines()
    if len(out) != len(names):
        return {n: n for n in names}
    return dict(zip(names, out))


def resolve(symbols, addrs):
    """Address -> (function, module).  Below the kernel's first symbol is
    user space: on x86 the kernel is at the top of the address space, on
    User-Mode Linux (a host process, profile-uml.py) the user processes'
    code is outside the kernel binary's and modules' symbols."""
    starts = [s[0] for s in symbols]
    lowest = starts[0] if starts else 0xffff800000000000
    found = {}
    for addr in addrs:
        if addr < min(lowest, 0xffff800000000000):
            found[addr] = ("[user]", "user")
            continue
        i = bisect.bisect_right(starts, addr) - 1
        found[addr] = (symbols[i][1], symbols[i][2]) if i >= 0 else ("[unknown]", "kernel")
    return found


def main():
    out, kdir = sys.argv[1:3]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    rows = []
    with open(os.path.join(out, "profile.samples")) as f:
        rows = [(r["phase"], HOST_PLACES[r["rip"]][0] if r["rip"] in HOST_PLACES
                 else int(r["rip"], 16)) for r in csv.DictReader(f)]
    if not rows:
        print("profile: no samples", file=sys.stderr)
        return 1
    where = resolve(text_symbols(kdir, os.path.join(out, "console.log")),
                    {rip for _, rip in rows if rip >= 0})
    for code, name in HOST_PLACES.values():
        where[code] = (name, "host")
    readable = demangle(sorted({name for name, _ in where.values()}))

    by_phase = collections.OrderedDict()
    for phase, rip in rows:
        name, module = where[rip]
        stats = by_phase.setdefault(phase, {"idle": 0, "fn": collections.Counter(),
                                            "mod": collections.Counter()})
        if IDLE.search(name):
            stats["idle"] += 1
            continue
        stats["fn"][(readable[name], module)] += 1
        stats["mod"][module] += 1

    lines = []
    for phase, stats in by_phase.items():
        busy = sum(stats["mod"].values())
        if not busy:
            continue
        mods = ", ".join(f"{m} {100 * n / busy:.0f}%" for m, n in stats["mod"].most_common())
        lines.append(f"phase {phase}: {busy} busy samples ({stats['idle']} idle); {mods}")
        for (name, module), n in stats["fn"].most_common(top):
            lines.append(f"  {100 * n / busy:5.1f}%  {name}  [{module}]")
        lines.append("")
    with open(os.path.join(out, "profile.txt"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
