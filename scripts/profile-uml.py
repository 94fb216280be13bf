#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Samples the User-Mode Linux kernel for `make bench UML=1 VM_MVC_PROFILE=1`.

UML's kernel is a host process, so the host's perf samples it natively
(cpu-clock, every thread and every process it forks: the guest's user
processes are host processes too).  Each sample is tagged with the phase
the guest announced last on its console ("vm_mvc_profile: phase ..."
lines from fsbench.sh), by time: perf stamps its samples with
CLOCK_MONOTONIC, and this script stamps each phase line with the same
clock when it appears on the console.  The rows are profile-sample.py's
("phase,cpu,rip"), for profile-report.py; rip is "host" for the time the
host's kernel spent on the UML process's behalf, "hostlib" for the host's
C library in the UML kernel's process.

Usage: profile-uml.py INITRD CONSOLE-LOG SAMPLES [HZ]
Waits (up to 10 minutes: the modules and the image may still be built)
for the UML kernel booted with initrd=INITRD, runs until it exits; writes
SAMPLES, and SAMPLES.perf (perf's data, kept for `perf report`).
"""
import bisect
import csv
import os
import re
import subprocess
import sys
import time

PHASE = re.compile(r"vm_mvc_profile: phase (.*)$")


def alive(pid):
    """Whether process PID still exists (not yet reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] not in "ZX"
    except OSError:
        return False


def find_kernel(initrd, wait_s=600.0):
    """The pid (a string) of the UML kernel booted with INITRD: a process
    named linux with initrd=INITRD on its command line, started by
    timeout (guest-boot.sh); its own children are the guest's processes."""
    want = f"initrd={initrd}".encode()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat") as f:
                    ppid = f.read().split(") ")[-1].split()[1]
                with open(f"/proc/{ppid}/comm") as f:
                    parent = f.read().strip()
            except OSError:
                continue
            if os.path.basename(args[0]) == b"linux" and want in args and parent == "timeout":
                return pid
        time.sleep(0.02)
    return None


def main():
    initrd, console_path, out_path = sys.argv[1:4]
    pid = find_kernel(initrd)
    if pid is None:
        print("profile-uml: no UML kernel started", file=sys.stderr)
        return 1
    hz = sys.argv[4] if len(sys.argv) > 4 else "997"
    data = out_path + ".perf"
    perf = subprocess.Popen(
        ["perf", "record", "-q", "-e", "cpu-clock", "-F", hz, "-k", "CLOCK_MONOTONIC",
         "-p", pid, "-o", data],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # (time, phase) of every phase line, in console order.
    changes = [(0.0, "boot")]
    offset, partial = 0, ""
    while True:
        running = alive(pid)
        try:
            with open(console_path, errors="replace") as f:
                f.seek(offset)
                text = f.read()
                offset = f.tell()
        except FileNotFoundError:
            text = ""
        now = time.clock_gettime(time.CLOCK_MONOTONIC)
        lines = (partial + text).split("\n")
        partial = lines.pop()
        for line in lines:
            m = PHASE.search(line.rstrip("\r"))
            if m:
                changes.append((now, m.group(1).strip()))
        if not running:
            break
        time.sleep(0.01)
    # perf record -p ends when the process does.
    try:
        perf.wait(timeout=60)
    except subprocess.TimeoutExpired:
        perf.terminate()
        perf.wait()
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,tid,time,ip"],
                            capture_output=True, text=True, check=False)
    starts = [t for t, _ in changes]
    n = 0
    with open(out_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["phase", "cpu", "rip"])
        for line in script.stdout.splitlines():
            fields = line.replace(":", " ").split()
            if len(fields) < 3:
                continue
            try:
                sample_pid = fields[0].split("/")[0]
                stamp = float(fields[1])
                rip = int(fields[2], 16)
            except ValueError:
                continue
            # The kernel is process PID; the guest's user processes (other
            # host processes, whose addresses may overlap the kernel's)
            # count as user space: address 0.
            if sample_pid != pid:
                rip = 0
            phase = changes[bisect.bisect_right(starts, stamp) - 1][1]
            # The host's kernel working for UML (its system calls, page
            # faults, ptrace): "host"; the host's C library and vDSO that
            # UML calls (mapped at the top of the user address space):
            # "hostlib".
            if rip >= 0xffff800000000000:
                where = "host"
            elif sample_pid == pid and rip >= 0x7f0000000000:
                where = "hostlib"
            else:
                where = f"{rip:016x}"
            out.writerow([phase, 0, where])
            n += 1
    print(f"profile-uml: {n} samples, {len(changes) - 1} phases", file=sys.stderr)
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
