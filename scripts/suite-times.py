#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a `make check` guest spent its time, from its console log
(build/FLAVOUR/console.log, printk timestamps): the seconds of each KTAP
suite in the order they ran, then the slowest cases.  A suite's time runs
from its "# Subtest:" line to the next suite's; a case's from the line
before its result (the suite's start or the previous case's result) to
its result.  Timings under TCG vary with the host: compare runs made on
one machine at one time.

Usage: suite-times.py CONSOLE_LOG [SLOWEST_CASES (20)]"""

import re
import sys

STAMP = re.compile(r'^\[\s*(\d+\.\d+)\] (.*)$')
SUBTEST = re.compile(r'^\s*# Subtest: (\S+)')
RESULT = re.compile(r'^\s*(?:not )?ok \d+ (\S+)(.*)$')
END = re.compile(r'vm_mvc-guest: end ')


def times(lines):
    """Returns ([(suite, seconds)], [(seconds, suite, case, skipped)])."""
    suites, cases = [], []
    suite = start = last = None
    stamp = None
    for line in lines:
        match = STAMP.match(line.rstrip('\n'))
        if not match:
            continue
        stamp, text = float(match.group(1)), match.group(2)
        subtest = SUBTEST.match(text)
        if subtest:
            if suite is not None:
                suites.append((suite, stamp - start))
            suite, start, last = subtest.group(1), stamp, stamp
            continue
        if END.search(text) and suite is not None:
            suites.append((suite, stamp - start))
            suite = None
            continue
        result = RESULT.match(text)
        # An indented result of the open suite (a top-level "ok 1 SUITE"
        # closes a document, and its time is the last case's).
        if result and suite is not None and text.startswith('    ') and last is not None:
            cases.append((stamp - last, suite, result.group(1), '# SKIP' in result.group(2)))
            last = stamp
    if suite is not None and stamp is not None:
        suites.append((suite, stamp - start))
    return suites, cases


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    slowest = int(sys.argv[2]) if len(sys.argv) == 3 else 20
    with open(sys.argv[1], encoding='utf-8', errors='replace') as log:
        suites, cases = times(log)
    total = sum(seconds for _, seconds in suites)
    for name, seconds in suites:
        print(f'{seconds:8.1f} s  {name}')
    print(f'{total:8.1f} s  all suites')
    if slowest:
        print(f'slowest {slowest} cases:')
        for seconds, suite, case, skipped in sorted(cases, reverse=True)[:slowest]:
            print(f'{seconds:8.1f} s  {suite}.{case}{" (SKIP)" if skipped else ""}')


if __name__ == '__main__':
    main()
