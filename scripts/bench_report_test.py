#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of bench-report.py, the report of `make bench`, on made-up console
logs: which target each row is judged by and with which platform.

Run by scripts/host-tests.sh:  bench_report_test.py
The last line printed is "counts: PASSED FAILED SKIPPED" for the summary.
"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import counted_unittest

REPORT = Path(__file__).resolve().with_name('bench-report.py')


def percall(entry, cmd, size, ns, base, min_ns=None, base_min=None, table='percall'):
    """One per-call line as vm_mvc_bench prints it."""
    min_ns = ns if min_ns is None else min_ns
    base_min = base if base_min is None else base_min
    return (f'vm_mvc_bench: table={table} cmd={cmd} size={size} entry={entry} '
            f'ns={ns} baseline_ns={base} ratio={ns / base:.3f} '
            f'min_ns={min_ns} baseline_min_ns={base_min}')


def bandwidth(order, request, entry, vm_mvc, memcpy):
    return (f'vm_mvc_bench: table=bandwidth order={order} request={request} entry={entry} '
            f'bytes=268435456 rounds=5 vm_mvc_ns=1 memcpy_ns=1 vm_mvc_mbps={vm_mvc} '
            f'memcpy_mbps={memcpy} ratio={vm_mvc / memcpy:.3f}')


def fs(name, op, req, mbps, rnd=1):
    """A filesystem row of `mbps` MB/s (bytes and ns agree with it)."""
    return (f'vm_mvc_bench: table=fs fs={name} op={op} req={req} round={rnd} '
            f'bytes={mbps * 1000} ns=1000000 mbps={mbps}')


def compress(image, kind, op, req, mbps, rnd=1):
    """A compression row of `mbps` MB/s; the guest's whole mbps field is
    off by one, so that the report must use bytes and ns."""
    return (f'vm_mvc_bench: table=compress image={image} fs={kind} op={op} req={req} '
            f'round={rnd} bytes={mbps * 1000} ns=1000000 mbps={mbps + 1}')


class BenchReportTest(unittest.TestCase):
    def report(self, lines, accel='tcg'):
        with tempfile.TemporaryDirectory() as out:
            Path(out, 'console.log').write_text(
                ''.join(f'[    1.{i:06d}] {line}\n' for i, line in enumerate(lines)))
            Path(out, 'accel').write_text(accel + '\n')
            proc = subprocess.run([sys.executable, str(REPORT), out], capture_output=True,
                                  text=True, check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout

    def row(self, out, *words):
        """The first printed line that holds every word, in order."""
        for line in out.splitlines():
            if all(w in line.split() for w in words):
                return line
        self.fail(f'no line with {words} in:\n{out}')
        return ''

    def test_held_folio_has_item_7_ceilings(self):
        # 1.12 at 64 B and 1.03 at 4 KiB met issue 5's 1.15 and 1.05; item 7
        # asks 1.10 and 1.02 on a held folio.
        out = self.report([percall('folio', 'READ', 64, 112.0, 100.0),
                           percall('folio', 'READ', 4096, 103.0, 100.0),
                           percall('folio', 'READ', 512, 300.0, 100.0)])
        self.assertIn('<= 1.10 MISSED (TCG)', self.row(out, 'folio', 'READ', '64'))
        self.assertIn('<= 1.02 MISSED (TCG)', self.row(out, 'folio', 'READ', '4096'))
        self.assertNotIn('MISSED', self.row(out, 'folio', 'READ', '512'))
        self.assertIn('issue 10 item 7 (per call, bandwidth): 0 met, 2 MISSED', out)

    def test_by_sid_ceilings(self):
        out = self.report([percall('sid', 'WRITE', 64, 114.0, 100.0),
                           percall('sid', 'WRITE', 4096, 106.0, 100.0)])
        self.assertIn('<= 1.15 met (TCG)', self.row(out, 'sid', 'WRITE', '64'))
        self.assertIn('<= 1.05 MISSED (TCG)', self.row(out, 'sid', 'WRITE', '4096'))

    def test_native_verdicts_judge_the_fastest_rounds(self):
        # The median ratio misses, the fastest rounds' ratio meets it.
        out = self.report([percall('sid', 'READ', 4096, 300.0, 100.0, 104.0, 100.0)],
                          accel='uml')
        self.assertIn('<= 1.05 met (UML)', self.row(out, 'sid', 'READ', '4096'))
        self.assertIn('User-Mode Linux, native', out.splitlines()[0])

    def test_bandwidth_page_by_page_floor(self):
        # 0.92 met issue 5's 0.9; item 7 asks 0.95 page by page, nothing of
        # whole large folios per call.
        out = self.report([bandwidth(0, 4096, 'sid', 920, 1000),
                           bandwidth(9, 2097152, 'folio_range', 500, 1000)])
        self.assertIn('>= 0.95 MISSED (TCG)', self.row(out, '0', '4096', 'sid'))
        self.assertNotIn('MISSED', self.row(out, '9', '2097152', 'folio_range'))
        self.assertIn('issue 10 item 7 (per call, bandwidth): 0 met, 1 MISSED', out)

    def test_user_rows_are_not_judged(self):
        out = self.report([percall('user_once', 'READ', 64, 500.0, 100.0)])
        self.assertNotIn('MISSED', self.row(out, 'user_once', 'READ', '64'))
        self.assertIn('targets: 0 met, 0 missed', out)

    def test_filesystem_rows_of_issue_12(self):
        out = self.report([fs('toyfs', 'write', 1048576, 110), fs('ext2', 'write', 1048576, 100),
                           fs('toyfs', 'randwrite', 1024, 99), fs('ext2', 'randwrite', 1024, 100),
                           fs('toyfs', 'appendsync', 0, 12), fs('ext2', 'appendsync', 0, 10)])
        self.assertIn('>= 1.15 MISSED (TCG)', self.row(out, 'seq', 'write', '1', 'MiB'))
        self.assertIn('>= 1.0 MISSED (TCG)', self.row(out, 'random', 'write', '1', 'KiB'))
        self.assertIn('>= 1.0 met (TCG)', self.row(out, 'odd', 'appends'))
        self.assertIn('issue 12 item 7 (filesystem table): 1 met, 2 MISSED', out)

    def test_filesystem_ratios_from_bytes_and_ns(self):
        # The guest's whole MB/s say 7 and 9 (0.778); bytes and ns say
        # 7.4 and 8.6 MB/s.
        rows = [f'vm_mvc_bench: table=fs fs=toyfs op=trunccycle req=0 round=1 '
                f'bytes=7400000 ns=1000000000 mbps=7',
                f'vm_mvc_bench: table=fs fs=ext2 op=trunccycle req=0 round=1 '
                f'bytes=8600000 ns=1000000000 mbps=9']
        self.assertIn('0.860  >= 1.0 MISSED', self.row(self.report(rows), 'write/truncate'))

    def test_filesystem_header_names_how_the_devices_were_made(self):
        rows = [fs('toyfs', 'appendsync', 0, 9), fs('ext2', 'appendsync', 0, 10)]
        header = ('Filesystem', 'throughput')
        out = self.report(['vm_mvc_bench: fs ramdisk_kb=98304 file=64M rounds=1 prefill=1'] + rows)
        self.assertIn('ramdisks with 1 KiB blocks (toyfs, ext2), written whole before mkfs',
                      self.row(out, *header))
        out = self.report(['vm_mvc_bench: fs ramdisk_kb=98304 file=64M rounds=1 prefill=0'] + rows)
        self.assertIn('ramdisks with 1 KiB blocks (toyfs, ext2), not written before mkfs',
                      self.row(out, *header))
        # A console from before the setting: the ramdisks were not written.
        out = self.report(['vm_mvc_bench: fs ramdisk_kb=98304 file=64M rounds=1'] + rows)
        self.assertIn('not written before mkfs', self.row(out, *header))
        out = self.report(['vm_mvc_bench: fs ramdisk_kb=98304 file=64M rounds=1 prefill=1 '
                           'devices=/dev/loop0,/dev/loop1'] + rows)
        self.assertIn('loop devices over tmpfs files with 1 KiB blocks (toyfs, ext2), written '
                      'whole', self.row(out, *header))

    def test_compression_rows_of_issue_13(self):
        # Tree: medians 100 (plain) and 79 (lz4) of three rounds: 0.79 < 0.8.
        rows = [compress('docs', 'plain', 'tree_cold', 1048576, mbps, rnd)
                for rnd, mbps in enumerate([100, 90, 120], 1)]
        rows += [compress('docs', 'lz4', 'tree_cold', 1048576, mbps, rnd)
                 for rnd, mbps in enumerate([79, 200, 50], 1)]
        rows += [compress('text', 'plain', 'read_cold', 4096, 100),
                 compress('text', 'lz4', 'read_cold', 4096, 50),
                 compress('text', 'plain', 'write_seq', 1048576, 40),
                 compress('text', 'lz4', 'write_seq', 1048576, 30)]
        out = self.report(rows, accel='uml')
        tree = self.row(out, 'Documentation/', 'tree', 'cold')
        self.assertIn('0.790  >= 0.8 MISSED (UML)', tree)
        self.assertIn('100.0 (120.0)', tree)
        self.assertIn('0.500  no target in the issue', self.row(out, '64', 'MiB', 'text', '4', 'KiB'))
        self.assertNotIn('cold 1 MiB', out.split('Compression')[1])
        self.assertIn('0.750  no target in the issue', self.row(out, '64', 'MiB', 'text', 'write'))
        self.assertIn('issue 13 item 6 (compression table): 0 met, 1 MISSED (User-Mode Linux', out)
        self.assertIn('targets: 0 met, 1 missed', out)
        out = self.report([compress('docs', 'plain', 'tree_cold', 1048576, 100),
                           compress('docs', 'lz4', 'tree_cold', 1048576, 80)])
        self.assertIn('0.800  >= 0.8 met (TCG)', self.row(out, 'Documentation/', 'tree'))

    def test_packed_tree_rows_against_the_same_tree_plain(self):
        out = self.report([compress('docs', 'plain', 'tree_cold', 1048576, 100),
                           compress('docs', 'lz4', 'tree_cold', 1048576, 90),
                           compress('docs', 'packed', 'tree_cold', 1048576, 110),
                           compress('docs', 'lz4packed', 'tree_cold', 1048576, 70)])
        self.assertIn('0.900  >= 0.8 met (TCG)', self.row(out, 'Documentation/', 'tree'))
        self.assertIn('1.100  no target in the issue', self.row(out, 'tails', 'packed', '(-p)'))
        self.assertIn('0.700  >= 0.8 MISSED (TCG)', self.row(out, 'lz4,', 'tails', 'packed'))
        self.assertIn('issue 13 item 6 (compression table): 1 met, 1 MISSED', out)
        # Without packed images (an older console), no packed rows.
        out = self.report([compress('docs', 'plain', 'tree_cold', 1048576, 100),
                           compress('docs', 'lz4', 'tree_cold', 1048576, 90)])
        self.assertNotIn('tails packed (-p)', out.split('Compression')[1])


def main():
    return counted_unittest.run(BenchReportTest)


if __name__ == '__main__':
    sys.exit(main())
