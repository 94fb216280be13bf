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


class ResultsTest(unittest.TestCase):
    def judge(self, log):
        with tempfile.TemporaryDirectory() as out:
            Path(out, 'console.log').write_text(log)
            proc = subprocess.run([sys.executable, str(RESULTS), '--kunit', KUNIT,
                                   '--out', out], capture_output=True, text=True,
                                  check=False)
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


def main():
    global KUNIT
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--kunit', required=True, help="path of the kernel's kunit.py")
    args = ap.parse_args()
    KUNIT = args.kunit
    return counted_unittest.run(ResultsTest)


if __name__ == '__main__':
    sys.exit(main())
