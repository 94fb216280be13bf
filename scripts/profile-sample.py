#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Samples the guest's instruction pointers for `make bench VM_MVC_PROFILE=1`.

The test kernel has no perf and no ftrace (tinyconfig), so the profile is
taken from outside: QEMU's human monitor answers "info registers -a" with
every vCPU's registers, and each answer is one sample per vCPU.  Each sample
is tagged with the phase the guest announced last on its console
("vm_mvc_profile: phase ..." lines from fsbench.sh).

Usage: profile-sample.py MONITOR-SOCKET CONSOLE-LOG SAMPLES [HZ]
Runs until QEMU closes the monitor; writes CSV rows "phase,cpu,rip" to SAMPLES.
"""
import csv
import re
import socket
import sys
import time

PROMPT = b"(qemu) "
RIP = re.compile(rb"RIP=([0-9a-f]{16})")
# make bench: the phases fsbench.sh announces; make check: the KTAP suites.
PHASE = re.compile(r"vm_mvc_profile: phase (.*)$|# Subtest: (\S+)$")


def connect(path, wait_s=60.0):
    """Connects to the monitor socket once QEMU has made it."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def until_prompt(sock, pending):
    """Reads until the monitor prompt; returns (answer, rest) or None at EOF."""
    while PROMPT not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        pending += chunk
    answer, _, rest = pending.partition(PROMPT)
    return answer, rest


class Console:
    """Follows the console log and remembers the guest's last phase."""

    def __init__(self, path):
        self.path, self.offset, self.phase, self.partial = path, 0, "boot", ""

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.offset)
                text = f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return self.phase
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            m = PHASE.search(line.rstrip("\r"))
            if m:
                self.phase = (m.group(1) or m.group(2)).strip()
        return self.phase


def main():
    sock_path, console_path, out_path = sys.argv[1:4]
    period = 1.0 / float(sys.argv[4]) if len(sys.argv) > 4 else 0.005
    console = Console(console_path)
    sock = connect(sock_path)
    got = until_prompt(sock, b"")  # the banner
    pending = got[1] if got else b""
    samples = 0
    with open(out_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["phase", "cpu", "rip"])
        while got:
            phase = console.poll()
            try:
                sock.sendall(b"info registers -a\n")
            except OSError:
                break
            got = until_prompt(sock, pending)
            if not got:
                break
            answer, pending = got
            for cpu, rip in enumerate(RIP.findall(answer)):
                out.writerow([phase, cpu, rip.decode()])
                samples += 1
            time.sleep(period)
    print(f"profile: {samples} samples in {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
