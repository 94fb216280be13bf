# SPDX-License-Identifier: GPL-2.0
# KTAP output for in-guest tests, parsed with the KUnit ones by
# tools/testing/kunit/kunit.py.  Sourced by the guest test scripts.
#
#   ktap_suite NAME COUNT    starts a suite of COUNT cases
#   ktap_case NAME CMD...    runs CMD, reports it; its output becomes diagnostics
#   ktap_skip NAME REASON    reports a skipped case

ktap_suite() {
	ktap_number=0
	echo "KTAP version 1"
	echo "1..1"
	echo "    KTAP version 1"
	echo "    # Subtest: $1"
	echo "    1..$2"
	ktap_suite_name=$1
	ktap_suite_failed=0
}

ktap_case() {
	local name=$1 out rc
	shift
	ktap_number=$((ktap_number + 1))
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/    # /'
	if [ $rc -eq 0 ]; then
		echo "    ok $ktap_number $name"
	else
		echo "    # $name: exit status $rc"
		echo "    not ok $ktap_number $name"
		ktap_suite_failed=1
	fi
}

ktap_skip() {
	ktap_number=$((ktap_number + 1))
	echo "    ok $ktap_number $1 # SKIP $2"
}

ktap_end() {
	if [ $ktap_suite_failed -eq 0 ]; then
		echo "ok 1 $ktap_suite_name"
	else
		echo "not ok 1 $ktap_suite_name"
	fi
}
