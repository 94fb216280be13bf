#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of results.py, the judge of `make check`, on made-up console logs.

Run by scripts/host-tests.sh with the kernel's kunit.py:
  results_test.py --kunit PATH
The last line printed is "counts: PASSED FAILED SKIPPED" for the summary.
"""

import argparse
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import counted_unittest

RESULTS = Path(__file__).resolve().with_name('results.py')
KUNIT = None


def suite(name, cases, number=1, indent='    '):
    """A KUnit suite's KTAP lines; cases: [(name, 'ok' | 'not ok' | 'skip')]."""
    lines = [f'{indent}KTAP version 1', f'{indent}# Subtest: {name}', f'{indent}1..{len(cases)}']
    for i, (case, status) in enumerate(cases, 1):
        if status == 'skip':
            lines.append(f'{indent}ok {i} {case} # SKIP not on this platform')
        else:
            lines.append(f'{indent}{status} {i} {case}')
    failed = any(status == 'not ok' for _, status in cases)
    lines.append(f"{'not ok' if failed else 'ok'} {number} {name}")
    return lines


def console(*blocks):
    """A guest console log: boot noise, the begin and end markers, blocks."""
    body = ['Linux version 7.3.4 (test)', 'vm_mvc-guest: begin check']
    for block in blocks:
        body += block
    body.append('vm_mvc-guest: end check')
    return ''.join(f'[    1.{i:06d}] {line}\n' for i, line in enumerate(body))


def rcu_report(source='lib/maple_tree.c:720', frames=None):
    """The console lines of a lockdep "suspicious RCU usage" report, as
    the User-Mode Linux debug kernel printed it in flush_tlb_mm()."""
    if frames is None:
        frames = ['lockdep_rcu_suspicious+0x19f/0x204', 'mas_start+0x413/0x6a1',
                  'mas_walk+0x7b/0x2ae', 'mas_find+0x24c/0x443', 'mas_find+0x0/0x443',
                  'flush_tlb_mm+0x54/0x1fa', 'tlb_flush_mmu+0x80/0x6d2',
                  'tlb_finish_mmu+0x12b/0x299', 'unmap_mapping_pages+0xca/0xcc',
                  'ext2_setattr+0x657/0x9c7', 'do_truncate+0xf2/0x139']
    return ['', '=============================', 'WARNING: suspicious RCU usage',
            '7.3.4 #1 Tainted: G           O     N ', '-----------------------------',
            f'{source} suspicious rcu_dereference_check() usage!', '',
            'other info that might help us debug this:', '',
            'rcu_scheduler_active = 2, debug_locks = 1',
            'locks held by toyfs-stress/3676: 1, last CPU#0:',
            ' #0: 00000000652f5750 (&mapping->i_mmap_rwsem){++++}-{3:3}, at: '
            'unmap_mapping_pages+0x52/0xcc', '', 'stack backtrace:',
            'CPU: 0 UID: 0 PID: 3676 Comm: toyfs-stress Tainted: G O N 7.3.4 #1 VOLUNTARY',
            'Stack:', ' 60224930 610a5c40 00000000 600c9a29', 'Call Trace:'] + [
                f' [<{0x60000000 + i:08x}>] ? {frame}' for i, frame in enumerate(frames)]


class ResultsTest(unittest.TestCase):
    def judge(self, log, flavour=''):
        with tempfile.TemporaryDirectory() as out:
            Path(out, 'console.log').write_text(log)
            proc = subprocess.run([sys.executable, str(RESULTS), '--kunit', KUNIT,
                                   '--out', out, '--flavour', flavour],
                                  capture_output=True, text=True, check=False)
        lines = proc.stdout.splitlines()
        return proc.returncode, lines[-1] if lines else '', proc.stdout

    def test_every_suite_counted(self):
        rc, summary, out = self.judge(console(
            ['KTAP version 1', '1..2'] +
            suite('alpha', [('a1', 'ok'), ('a2', 'skip')]) +
            suite('beta', [('b1', 'ok')], number=2)))
        self.assertEqual(rc, 0, out)
        self.assertEqual(summary, '2 passed, 0 failed, 1 skipped')

    def test_suite_lost_by_the_parser_fails_the_run(self):
        # The document announces one suite and holds two: kunit.py reports
        # only the first, with no error, and beta's cases count nowhere.
        rc, summary, out = self.judge(console(
            ['KTAP version 1', '1..1'] +
            suite('alpha', [('a1', 'ok')]) +
            suite('beta', [('b1', 'ok'), ('b2', 'ok')], number=2)))
        self.assertNotEqual(rc, 0, out)
        self.assertIn('FAILED: suite beta started but is absent from the report', out)
        self.assertNotIn('suite alpha started', out)
        self.assertEqual(summary, '1 passed, 1 failed')

    def test_suite_of_a_later_document_is_found(self):
        # A module loaded later prints a KTAP document of its own.
        rc, summary, out = self.judge(console(
            ['KTAP version 1', '1..1'] + suite('alpha', [('a1', 'ok')]),
            ['modprobe noise'],
            ['KTAP version 1', '1..1'] + suite('gamma', [('g1', 'ok'), ('g2', 'ok')])))
        self.assertEqual(rc, 0, out)
        self.assertEqual(summary, '3 passed, 0 failed')

    def test_failed_case_fails_the_run(self):
        rc, summary, out = self.judge(console(
            ['KTAP version 1', '1..1'] + suite('alpha', [('a1', 'ok'), ('a2', 'not ok')])))
        self.assertNotEqual(rc, 0, out)
        self.assertEqual(summary, '1 passed, 1 failed')

    def test_known_kernel_report_is_printed_and_excused_on_its_flavour(self):
        rc, summary, out = self.judge(console(
            ['KTAP version 1', '1..1'] + suite('alpha', [('a1', 'ok')]), rcu_report()),
            flavour='uml-debug')
        self.assertEqual(rc, 0, out)
        self.assertIn('KNOWN KERNEL REPORT, not a failure on uml-debug: '
                      "User-Mode Linux's flush_tlb_mm()", out)
        self.assertIn('flush_tlb_mm+0x54/0x1fa', out)
        self.assertEqual(summary, '1 passed, 0 failed')

    def test_known_kernel_report_fails_other_flavours(self):
        for flavour in ('debug', 'uml', ''):
            rc, _, out = self.judge(console(rcu_report()), flavour=flavour)
            self.assertNotEqual(rc, 0, out)
            self.assertIn('FAILED: kernel warning', out)
            self.assertNotIn('KNOWN KERNEL REPORT', out)

    def test_rcu_report_of_another_place_fails(self):
        # Another source file; a trace without flush_tlb_mm; a module's frame.
        ours = ['lockdep_rcu_suspicious+0x19f/0x204', 'mas_find+0x24c/0x443',
                'flush_tlb_mm+0x54/0x1fa', 'tlb_flush_mmu+0x80/0x6d2',
                'toyfs_setattr+0x10/0x80 [toyfs]']
        for report in (rcu_report(source='fs/inode.c:42'),
                       rcu_report(frames=['mas_find+0x24c/0x443', 'find_vma+0x1/0x2']),
                       rcu_report(frames=['flush_tlb_mm+0x54/0x1fa', 'mas_find+0x24c/0x443',
                                          'tlb_flush_mmu+0x80/0x6d2']),
                       rcu_report(frames=ours)):
            rc, _, out = self.judge(console(report), flavour='uml-debug')
            self.assertNotEqual(rc, 0, out)
            self.assertIn('FAILED: kernel warning', out)
            self.assertNotIn('KNOWN KERNEL REPORT', out)

    def test_other_reports_beside_a_known_one_still_fail(self):
        rc, _, out = self.judge(console(rcu_report() + ['BUG: KASAN: use-after-free']),
                                flavour='uml-debug')
        self.assertNotEqual(rc, 0, out)
        self.assertIn('KNOWN KERNEL REPORT', out)
        self.assertIn('FAILED: kernel BUG', out)

    # What the kernel prints to open a report (Linux 7.3), and what each
    # is reported as.
    KERNEL_REPORTS = [
        ('WARNING: fs/inode.c:1917 at iput+0x5d/0x80, CPU#1: toyfs-probe/412', 'kernel warning'),
        ('WARNING: CPU: 1 PID: 412 at fs/inode.c:1917 iput+0x5d/0x80', 'kernel warning'),
        ('WARNING: possible circular locking dependency detected', 'kernel warning'),
        ('BUG: KASAN: slab-use-after-free in toyfs_read_folio+0x2f/0x90 [toyfs]', 'kernel BUG'),
        ('BUG: kernel NULL pointer dereference, address: 0000000000000008', 'kernel BUG'),
        ('kernel BUG at mm/filemap.c:1545!', 'kernel BUG'),
        ('BUG kmalloc-64 (Tainted: G    B   O     N ): Left Redzone overwritten', 'kernel BUG'),
        ('Oops: general protection fault, probably for non-canonical address '
         '0xdffffc0000000001: 0000 [#1] SMP KASAN', 'oops'),
        ('KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]',
         'KASAN report'),
        ('UBSAN: shift-out-of-bounds in samples/toyfs/file.rs:12:5', 'UBSAN report'),
        ('DEBUG_LOCKS_WARN_ON(1)', 'lockdep report'),
        ('INFO: lockdep is turned off.', 'lockdep report'),
        ('Call Trace:', 'stack trace'),
        ('Kernel panic - not syncing: Fatal exception', 'kernel panic'),
    ]

    def test_every_kernel_report_fails(self):
        for line, what in self.KERNEL_REPORTS:
            rc, summary, out = self.judge(console(
                ['KTAP version 1', '1..1'] + suite('alpha', [('a1', 'ok')]), [line]))
            self.assertNotEqual(rc, 0, out)
            self.assertIn(f'FAILED: {what}', out)
            self.assertEqual(summary, '1 passed, 1 failed')

    def test_kernel_warning_after_a_process_text_on_the_same_line_fails(self):
        # A process wrote to the console with no newline; the kernel's
        # line starts after it, timestamp and all.
        log = console(['KTAP version 1', '1..1'] + suite('alpha', [('a1', 'ok')]))
        log += ('fio: 12% done[   9.000001] WARNING: fs/inode.c:1917 at iput+0x5d/0x80, '
                'CPU#0: fio/7\n')
        rc, _, out = self.judge(log)
        self.assertNotEqual(rc, 0, out)
        self.assertIn('FAILED: kernel warning', out)

    def test_report_words_in_userspace_output_pass(self):
        # stress-ng's warning and the report words in tests' output: KTAP
        # diagnostics (ktap.sh prints "    # " before every line of a
        # case's output), a skip reason, and a line a process wrote straight
        # to the console (no timestamp).
        diagnostics = [f'    # {line}' for line, _ in self.KERNEL_REPORTS]
        lines = ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: torture',
                 '    1..2',
                 '    # stress-ng: warn:  [412] fallocate: WARNING: finished prematurely '
                 'after just 1.02 secs'] + diagnostics + [
                     '    ok 1 stress_ng_fallocate',
                     '    ok 2 stress_ng_mmap # SKIP stress-ng: WARNING: no KASAN here',
                     'ok 1 torture']
        log = console(lines) + 'WARNING: finished prematurely after just 1.02 secs\n'
        rc, summary, out = self.judge(log)
        self.assertEqual(rc, 0, out)
        self.assertNotIn('FAILED', out)
        self.assertEqual(summary, '1 passed, 0 failed, 1 skipped')

    def test_kmemleak_report_printed_by_the_kmemleak_case_fails(self):
        rc, _, out = self.judge(console(
            ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: kmemleak', '    1..1',
             '    # unreferenced object 0xffff888003c41e00 (size 64):',
             '    ok 1 no_unreferenced_objects', 'ok 1 kmemleak']))
        self.assertNotEqual(rc, 0, out)
        self.assertIn('FAILED: kmemleak report', out)

    def test_console_without_timestamps_judges_lines_by_their_start(self):
        # CONFIG_PRINTK_TIME off (a kernel of one's own, KDIR=): the
        # kernel's lines start with their header, the tests' are indented.
        body = ['vm_mvc-guest: begin check', 'KTAP version 1', '1..1'] + suite(
            'alpha', [('a1', 'ok')]) + ['    # stress-ng: WARNING: finished prematurely',
                                         'vm_mvc-guest: end check']
        rc, summary, out = self.judge(''.join(f'{line}\n' for line in body))
        self.assertEqual(rc, 0, out)
        self.assertEqual(summary, '1 passed, 0 failed')
        body.insert(-1, 'WARNING: CPU: 0 PID: 1 at fs/inode.c:1917 iput+0x5d/0x80')
        rc, _, out = self.judge(''.join(f'{line}\n' for line in body))
        self.assertNotEqual(rc, 0, out)
        self.assertIn('FAILED: kernel warning', out)


def main():
    global KUNIT
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--kunit', required=True, help="path of the kernel's kunit.py")
    args = ap.parse_args()
    KUNIT = args.kunit
    return counted_unittest.run(ResultsTest)


if __name__ == '__main__':
    sys.exit(main())
