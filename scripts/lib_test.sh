#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/lib.sh's helpers that decide whether a cached build step
# finished; prints "ok N name" or "not ok N name" per case and
# "counts: passed failed skipped" last (scripts/host-tests.sh).
set -uo pipefail
lib="$(cd "$(dirname "$0")" && pwd)/lib.sh"
export VM_MVC_CACHE=${TMPDIR:-/tmp}/lib_test.$$
trap 'rm -rf "$VM_MVC_CACHE"' EXIT
passed=0 failed=0 n=0

check() {
	local name=$1 want=$2 got
	shift 2
	n=$((n + 1))
	got=$("$@" 2>/dev/null)
	if [ "$got" = "$want" ]; then
		echo "ok $n $name"
		passed=$((passed + 1))
	else
		echo "not ok $n $name: printed '$got', expected '$want'"
		failed=$((failed + 1))
	fi
}

# kernel-build.sh's `timed "building ..." make ... || die`: a failed
# build must take the die branch, not be marked built.
check timed_passes_a_failure_to_a_caller_that_tests_it "failed 3" \
	bash -c ". '$lib'; timed step bash -c 'exit 3' || echo \"failed \$?\""
check timed_returns_success "done" \
	bash -c ". '$lib'; timed step true && echo done"
# A simple `timed step fn` keeps set -e inside fn: it stops at the first
# failing command, not at fn's last.
check timed_keeps_set_e_inside_a_step "" \
	bash -c ". '$lib'; fn() { false; echo ran-on; }; timed step fn; echo continued"

echo "counts: $passed $failed 0"
