#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judges a `make check` run from the guest console log.

KTAP (from the KUnit suites at insmod and from the in-guest tests) is parsed
by the kernel's own tools/testing/kunit/kunit.py, one KTAP document at a
time.  Every suite that started in the log ("# Subtest: NAME") must be in
what kunit.py reports, or the run fails: a suite lost between the console
and the report would otherwise count neither as passed nor as failed.  The
whole log is also scanned for what must never appear: panics, oopses,
warnings, sanitizer and lockdep reports (each by the line that opens it, on
a line the kernel printed: not in the tests' own output), failed module
loads.  The last line printed is "N passed, N failed[, N skipped]".

One kind of kernel report is excused, on the kernel flavours named for it
only (KNOWN_KERNEL_REPORTS): a report that the kernel itself is known to
make and that is not ours, matched by its text and its whole backtrace.
It is printed in full as a known kernel report, never dropped unseen.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PRINTK_PREFIX = re.compile(r'^\[\s*\d+\.\d+\] ')
TOP_LEVEL_KTAP = re.compile(r'^KTAP version \d+$')
KUNIT_SUMMARY = re.compile(r'Ran (\d+) tests?: (.*)$')
SUITE_START = re.compile(r'^\s*# Subtest: (\S+)\s*$')
# `make check` or `make soak` (the same judgement, another guest script).
GUEST_BEGIN = re.compile(r'^vm_mvc-guest: begin (check|soak)$')
GUEST_END = re.compile(r'^vm_mvc-guest: end (check|soak)$')

# The kernel's reports, by the line that opens each as the kernel prints
# it: (pattern, what it means); each fails the run.  They count on a
# kernel line only (kernel_texts): userspace text on the console is never
# one, even where it holds the same words ("WARNING: finished prematurely"
# of stress-ng, a KASAN line in a skip reason).
KERNEL_REPORTS = [
    (re.compile(r'Kernel panic - not syncing'), 'kernel panic'),
    # "BUG: KASAN: ...", "BUG: kernel NULL pointer dereference, ...";
    # "kernel BUG at mm/filemap.c:1545!"; SLUB's checks (slab_debug=F):
    # "BUG kmalloc-64 (Tainted: G    B   ): Left Redzone overwritten".
    (re.compile(r'BUG: |kernel BUG at |BUG \S+ \(.*\): '), 'kernel BUG'),
    (re.compile(r'Oops\b'), 'oops'),
    # __warn()'s "WARNING: fs/inode.c:12 at iput+0x10/0x80, CPU#0: sh/1"
    # (Linux 7.3; "WARNING: CPU: 0 PID: 1 at ..." before it) and lockdep's
    # "WARNING: possible circular locking dependency detected", ...
    (re.compile(r'WARNING: '), 'kernel warning'),
    (re.compile(r'UBSAN: '), 'UBSAN report'),
    # kasan_non_canonical_hook(): "KASAN: null-ptr-deref in range [...]".
    (re.compile(r'KASAN: '), 'KASAN report'),
    # Lockdep's lines that do not open with WARNING: (DEBUG_LOCKS_WARN_ON's
    # message after its WARNING line, debug_show_all_locks()).
    (re.compile(r'DEBUG_LOCKS_WARN_ON|INFO: lockdep is turned off'), 'lockdep report'),
    (re.compile(r'Call Trace:'), 'stack trace'),
]
# Found anywhere in a line, whoever printed it: a kmemleak report is the
# kernel's text that the kmemleak case reads from debugfs and prints
# (kmemleak.sh renames the planted leak's "planted object"), the others
# are userspace's own.
ANYWHERE = [
    (re.compile(r'unreferenced object 0x'), 'kmemleak report'),
    (re.compile(r'insmod: can\'t insert|modprobe: can\'t load'), 'failed module load'),
    (re.compile(r'^\s*not ok \d+'), 'failed test'),
]
# Lines that mention a forbidden word but report nothing wrong.
BENIGN = [
    re.compile(r'# SKIP'),
]
# A printk timestamp anywhere in a line: where a line of the kernel's
# starts on a console that has them (CONFIG_PRINTK_TIME), also after
# text a process wrote straight to the console without a newline.
PRINTK_STAMP = re.compile(r'\[\s*\d+\.\d+\] ')

# A frame of a stack trace: "[<60d7a30e>] ? dump_stack_lvl+0xd3/0x11a", with
# " [module]" after it for a module's code.
TRACE_FRAME = re.compile(r'^\s*(\[<[0-9a-f]+>\] )?(\? )?([\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+'
                         r'( \[\w+\])?\s*$')
# The lines that open a known report's block and that the block excuses.
RCU_REPORT_TITLE = re.compile(r'^WARNING: suspicious RCU usage$')
RCU_REPORT_WHERE = re.compile(r'^(\S+):\d+ suspicious rcu_dereference_check\(\) usage!$')

# Kernel reports that are not ours, excused on the flavours named only.
# Each is (flavours, source file of the report, frames that must all be in
# its backtrace, in this order, what it is).  A backtrace with any frame
# of a module is never excused: our modules are modules.
KNOWN_KERNEL_REPORTS = [
    # Linux 7.3's arch/um/kernel/tlb.c: flush_tlb_mm(mm) walks mm's VMAs
    # (for_each_vma) holding neither mm's mmap_lock nor rcu_read_lock();
    # the generic tlb_flush() calls it from tlb_finish_mmu() when flushes
    # of one mm nest, as under unmap_mapping_pages() for another mm's
    # mapping of a file being truncated.  Documentation/testing.rst, "The
    # debug UML kernel".
    ({'uml-debug'}, 'lib/maple_tree.c', ['mas_find', 'flush_tlb_mm', 'tlb_flush_mmu'],
     "User-Mode Linux's flush_tlb_mm() walks an mm's VMAs without its mmap_lock or RCU "
     '(a kernel bug, not ours: Documentation/testing.rst, "The debug UML kernel")'),
]


def kernel_texts(line, stamped):
    """The texts in a console line that the kernel started: with printk
    timestamps on the console, what follows each one; without, the whole
    line.  Text of the guest's processes is not among them: the tests'
    output reaches the console as KTAP diagnostics (ktap.sh: "    # " after
    the timestamp), and what a process writes to the console itself has no
    timestamp.  On a console without timestamps a process's line is told
    from the kernel's by its indentation only."""
    line = line.rstrip('\n')
    if not stamped:
        return [line]
    return [line[m.end():] for m in PRINTK_STAMP.finditer(line)]


def strip_prefix(line):
    return PRINTK_PREFIX.sub('', line.rstrip('\n'))


def ktap_documents(lines):
    """Splits the lines of the tests into KTAP documents, one per header."""
    docs, current = [], None
    for line in lines:
        if TOP_LEVEL_KTAP.match(strip_prefix(line)):
            current = []
            docs.append(current)
        if current is not None:
            current.append(line)
    return docs


def parse_counts(text):
    """Reads kunit.py's "Ran N tests: passed: X, failed: Y" line."""
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    match = None
    for line in text.splitlines():
        match = KUNIT_SUMMARY.search(line) or match
    if not match:
        counts['failed'] = 1
        return counts
    for part in match.group(2).split(','):
        name, _, value = part.strip().partition(': ')
        value = int(value or 0)
        if name == 'passed':
            counts['passed'] += value
        elif name == 'skipped':
            counts['skipped'] += value
        else:  # failed, crashed, errors
            counts['failed'] += value
    return counts


def reported_suites(root):
    """The names of the suites in kunit.py's JSON report: its groups, and the
    top-level entries without cases (a suite cut short before any case)."""
    names = {case['name'] for case in root.get('test_cases', [])}
    groups = list(root.get('sub_groups', []))
    while groups:
        group = groups.pop()
        names.add(group['name'])
        groups += group.get('sub_groups', [])
    return names


def run_kunit_parse(kunit, doc):
    """Parses one KTAP document; returns its counts and the suites reported."""
    with tempfile.TemporaryDirectory() as tmp:
        ktap = os.path.join(tmp, 'doc.ktap')
        report = os.path.join(tmp, 'report.json')
        with open(ktap, 'w') as f:
            f.writelines(doc)
        proc = subprocess.run([sys.executable, kunit, 'parse', f'--json={report}', ktap],
                              capture_output=True, text=True, check=False)
        try:
            with open(report) as f:
                suites = reported_suites(json.load(f))
        except (OSError, ValueError):
            suites = set()
    out = proc.stdout + proc.stderr
    print('\n'.join(l for l in out.splitlines()
                    if 'Test results stored in' not in l), end='\n' if out else '')
    return parse_counts(out), suites


def started_suites(lines):
    """The suites that started in the log, in order, each once."""
    names = []
    for line in lines:
        match = SUITE_START.match(strip_prefix(line))
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def known_report(texts, start, flavour):
    """Whether the report whose title is texts[start] is a known kernel
    report excused on this flavour; returns (what it is, the indexes of its
    title and "Call Trace:" lines, the excused ones) or None."""
    where = next((RCU_REPORT_WHERE.match(t) for t in texts[start + 1:start + 4]
                  if RCU_REPORT_WHERE.match(t)), None)
    trace = next((i for i in range(start + 1, min(len(texts), start + 100))
                  if texts[i] == 'Call Trace:'), None)
    if where is None or trace is None:
        return None
    frames, in_modules = [], False
    for text in texts[trace + 1:]:
        match = TRACE_FRAME.match(text)
        if not match:
            break
        frames.append(match.group(3))
        in_modules |= match.group(4) is not None
    for flavours, source, needed, what in KNOWN_KERNEL_REPORTS:
        if flavour not in flavours or where.group(1) != source or in_modules:
            continue
        # The needed frames, in order (callee first, as printed).
        rest = iter(frames)
        if all(any(f == name for f in rest) for name in needed):
            return what, {start, trace}, trace + len(frames)
    return None


def scan(lines, flavour=''):
    """Returns the excerpts of the log that fail the run, and those of the
    known kernel reports excused on this flavour."""
    problems, known = [], []
    texts = [strip_prefix(line) for line in lines]
    excused = set()
    for i, text in enumerate(texts):
        if RCU_REPORT_TITLE.match(text):
            report = known_report(texts, i, flavour)
            if report:
                what, lines_excused, end = report
                excused |= lines_excused
                known.append((what, ''.join(lines[max(0, i - 2):end + 1])))
    stamped = any(PRINTK_PREFIX.match(line) for line in lines)
    for i, line in enumerate(lines):
        text = texts[i]
        if i in excused or any(b.search(text) for b in BENIGN):
            continue
        kernel = kernel_texts(line, stamped)
        what = next((what for pattern, what in KERNEL_REPORTS
                     if any(pattern.match(k) for k in kernel)), None)
        what = what or next((what for pattern, what in ANYWHERE if pattern.search(text)), None)
        if what:
            start, end = max(0, i - 3), min(len(lines), i + 12)
            problems.append((what, ''.join(lines[start:end])))
    return problems, known


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--kunit', required=True, help='path of kunit.py')
    ap.add_argument('--out', required=True, type=Path,
                    help='folder with console.log and the *-results counts')
    ap.add_argument('--flavour', default='',
                    help='the kernel flavour that ran (base, debug, uml, uml-debug)')
    args = ap.parse_args()

    console = args.out / 'console.log'
    lines = console.read_text(errors='replace').splitlines(keepends=True)
    total = {'passed': 0, 'failed': 0, 'skipped': 0}
    failures = []

    # Counts of the checks run outside the guest: host tests, lint.
    for results in sorted(args.out.glob('*-results')):
        counts = results.read_text().split() or ['0', '0', '0']
        for key, value in zip(('passed', 'failed', 'skipped'), counts):
            total[key] += int(value)
        if int(counts[1]):
            failures.append((f'{results.name[:-8]} checks failed',
                             f'see the logs in {args.out}\n'))

    texts = [strip_prefix(l) for l in lines]
    begin = next((i for i, t in enumerate(texts) if GUEST_BEGIN.match(t)), None)
    if (args.out / 'timeout').exists():
        failures.append(('guest timed out', ''.join(lines[-20:])))
    elif begin is None or not any(GUEST_END.match(t) for t in texts):
        failures.append(('guest did not finish its tests', ''.join(lines[-30:])))

    docs = ktap_documents(lines[begin:]) if begin is not None else []
    reported = set()
    for doc in docs:
        counts, suites = run_kunit_parse(args.kunit, doc)
        reported |= suites
        for key, value in counts.items():
            total[key] += value
    if begin is not None and not docs:
        failures.append(('no KTAP output from the guest', ''.join(lines[-30:])))
    started = started_suites(lines[begin:]) if begin is not None else []
    for name in started:
        if name not in reported:
            failures.append((f'suite {name} started but is absent from the report',
                             ''.join(l for l in lines[begin:]
                                     if name in l)[-3000:]))

    problems, known = scan(lines, args.flavour)
    failures += problems
    for what, excerpt in known:
        print(f'\n*** KNOWN KERNEL REPORT, not a failure on {args.flavour}: {what} '
              f'(from {console}):\n{excerpt}', end='')
    for what, excerpt in failures:
        print(f'\n*** FAILED: {what} (from {console}):\n{excerpt}', end='')
    if failures and total['failed'] == 0:
        total['failed'] = 1  # a broken run is never reported as green

    summary = f"{total['passed']} passed, {total['failed']} failed"
    if total['skipped']:
        summary += f", {total['skipped']} skipped"
    print(summary)
    return 1 if failures or total['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
