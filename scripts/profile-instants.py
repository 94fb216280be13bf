#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The samples of `make bench VM_MVC_PROFILE=1` (QEMU) instant by instant.

profile-sample.py asks QEMU's monitor for the registers of every vCPU at
once, so profile.samples holds the vCPUs' samples of one instant one
after the other (cpu 0, then cpu 1).  For a phase run by one process
that does not sleep (the rows of ``fs``), the number of instants is its
wall-clock time, and in an instant where one vCPU is busy and the other
idle the busy one runs the benchmark.  profile-report.py's "busy
samples" add the other vCPU's work too (a wakeup handled, a spin on a
lock the benchmark holds), which costs the benchmark nothing unless it
waits for it.

Per phase: instants; busy samples (as profile-report.py counts them);
instants with one vCPU busy, and with both; the samples of each module
in the one-busy instants (the benchmark's vCPU); the samples of every
vCPU in __default_send_IPI_dest_field (an IPI sent) and in
queued_spin_lock_slowpath (a contended spin lock).

Usage: profile-instants.py OUT KDIR [PHASE-SUBSTRING]
(OUT and KDIR as for profile-report.py; the module symbols come from
OUT/console.log.)
"""
import collections
import csv
import importlib.util
import os
import sys


def load_report():
    """profile-report.py as a module (its name has a dash)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile-report.py")
    spec = importlib.util.spec_from_file_location("profile_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    out, kdir = sys.argv[1:3]
    only = sys.argv[3] if len(sys.argv) > 3 else ""
    report = load_report()
    with open(os.path.join(out, "profile.samples")) as f:
        rows = [(r["phase"], int(r["cpu"]), int(r["rip"], 16)) for r in csv.DictReader(f)
                if r["rip"] not in report.HOST_PLACES]
    if not rows:
        print("profile: no samples", file=sys.stderr)
        return 1
    where = report.resolve(report.text_symbols(kdir, os.path.join(out, "console.log")),
                           {rip for _, _, rip in rows})
    phases = collections.OrderedDict()
    for a, b in zip(rows, rows[1:]):
        # One instant: cpu 0's sample, then cpu 1's, of the same phase.
        if a[1] != 0 or b[1] != 1 or a[0] != b[0] or only not in a[0]:
            continue
        stats = phases.setdefault(a[0], collections.Counter())
        here = [where[a[2]], where[b[2]]]
        busy = [(name, module) for name, module in here if not report.IDLE.search(name)]
        stats["instants"] += 1
        stats["busy"] += len(busy)
        if len(busy) == 1:
            stats["one"] += 1
            stats["mod " + busy[0][1]] += 1
        elif len(busy) == 2:
            stats["both"] += 1
        for name, _ in busy:
            if name == "__default_send_IPI_dest_field":
                stats["ipi"] += 1
            elif name == "queued_spin_lock_slowpath":
                stats["spin"] += 1
    if not phases:
        print("profile: no instant of two vCPUs (User-Mode Linux runs one)", file=sys.stderr)
        return 1
    for phase, stats in phases.items():
        mods = ", ".join(f"{key[4:]} {n}" for key, n in stats.most_common()
                         if key.startswith("mod "))
        print(f"phase {phase}: {stats['instants']} instants, {stats['busy']} busy samples; "
              f"one vCPU busy {stats['one']} ({mods}), both {stats['both']}; "
              f"IPI sent {stats['ipi']}, spin {stats['spin']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
