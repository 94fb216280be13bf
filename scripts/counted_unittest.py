# SPDX-License-Identifier: GPL-2.0
"""Runs one unittest.TestCase class and prints the line scripts/host-tests.sh
reads, ``counts: PASSED FAILED SKIPPED``; shared by the harness's own tests
(results_test.py, bench_report_test.py)."""

import sys
import unittest


def run(case):
    """Runs every test of ``case``; the exit status: 0 if all passed."""
    tests = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(tests)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f'counts: {passed} {failed} {len(result.skipped)}')
    return 0 if result.wasSuccessful() else 1
