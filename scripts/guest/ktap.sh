# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# KTAP output for in-guest tests, parsed with the KUnit ones by
# tools/testing/kunit/kunit.py.  Sourced by the guest test scripts.
#
#   ktap_suite NAME COUNT    starts a suite of COUNT cases
#   ktap_case NAME CMD...    runs CMD, reports it; its output becomes diagnostics
#   ktap_skip NAME REASON    reports a skipped case
#   kunit_quiet, kunit_loud  the KUnit suites of modules loaded next: none, all
#
# Lines go through /dev/kmsg, so they reach the console in order with the
# kernel's own messages (KUnit's KTAP among them), which the console prints
# asynchronously.  The command line sets printk.devkmsg=on: no rate limit.

say() { echo "$*" >/dev/kmsg; }

# KUnit's filter_glob for the modules loaded next.  printf, not echo: the
# parameter keeps a trailing newline, and "*.*\n" matches no test name, so
# with echo every later suite was silently dropped (vm_mvc_c_client's).
kunit_quiet() { printf 'no_suite.no_case' >/sys/module/kunit/parameters/filter_glob; }
kunit_loud() { printf '*.*' >/sys/module/kunit/parameters/filter_glob; }

ktap_suite() {
	ktap_number=0
	say "KTAP version 1"
	say "1..1"
	say "    KTAP version 1"
	say "    # Subtest: $1"
	say "    1..$2"
	ktap_suite_name=$1
	ktap_suite_failed=0
}

ktap_case() {
	local name=$1 out rc
	shift
	ktap_number=$((ktap_number + 1))
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | while IFS= read -r line; do say "    # $line"; done
	if [ $rc -eq 0 ]; then
		say "    ok $ktap_number $name"
	else
		say "    # $name: exit status $rc"
		say "    not ok $ktap_number $name"
		ktap_suite_failed=1
	fi
}

ktap_skip() {
	ktap_number=$((ktap_number + 1))
	say "    ok $ktap_number $1 # SKIP $2"
}

ktap_end() {
	if [ $ktap_suite_failed -eq 0 ]; then
		say "ok 1 $ktap_suite_name"
	else
		say "not ok 1 $ktap_suite_name"
	fi
}
