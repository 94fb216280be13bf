#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the tests that need no guest and writes "passed failed skipped" to the
# file named by $1 for the summary line: the userspace tests (cargo test in
# tools/) on the host, the tests of the harness's judge
# (scripts/results_test.py) with the kernel's kunit.py in the toolchain,
# where results.py runs, and those of the benchmark's report
# (scripts/bench_report_test.py) on the host, where bench-report.py runs,
# and those of the build scripts' helpers (scripts/lib_test.sh).
. "$(dirname "$0")/lib.sh"

results=$1
logdir=${results%/*}
# rustup's cargo, also when the caller's PATH lacks it (CI's environment).
PATH=$PATH:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin

cargo_counts=$logdir/host-cargo.counts
if [ ! -f "$TOP/tools/Cargo.toml" ]; then
	echo "0 0 0" >"$cargo_counts"
else
	command -v cargo >/dev/null || die "host tests need cargo (the machine's rustup toolchain)"
	logfile=$logdir/host-tests.log
	status=0
	cargo_test() { (cd "$TOP/tools" && cargo test --workspace) >"$logfile" 2>&1 || status=$?; }
	timed "host tests (cargo test in tools/)" cargo_test
	grep -E '^test result:|FAILED|panicked' "$logfile" >&2 || true
	awk '/^test result:/ {
		for (i = 1; i <= NF; i++) {
			if ($(i+1) ~ /^passed/) p += $i
			if ($(i+1) ~ /^failed/) f += $i
			if ($(i+1) ~ /^ignored/) s += $i
		}
	} END { print p + 0, f + 0, s + 0 }' "$logfile" >"$cargo_counts"
	if [ $status -ne 0 ] && [ "$(awk '{print $2}' "$cargo_counts")" = 0 ]; then
		# The build failed before any test ran: count it as one failure.
		echo "0 1 0" >"$cargo_counts"
	fi
fi

harness_counts=$logdir/host-harness.counts
harness_test() {
	local src logfile=$logdir/harness-tests.log
	src=$("$TOP/scripts/in-toolchain.sh" "$TOP/scripts/kernel-source.sh") &&
		"$TOP/scripts/in-toolchain.sh" python3 "$TOP/scripts/results_test.py" \
			--kunit "$src/tools/testing/kunit/kunit.py" >"$logfile" 2>&1 ||
		{ grep -E '^(FAIL|ERROR)' "$logfile" >&2 || tail -n 20 "$logfile" >&2; }
	# Counted as one failure if the tests did not get to count.
	sed -n 's/^counts: //p' "$logfile" | grep . >"$harness_counts" || echo "0 1 0" >"$harness_counts"
}
timed "harness tests (scripts/results_test.py)" harness_test

# The report of `make bench` (which runs on the host): which target judges
# each row, on which platform.
bench_counts=$logdir/host-bench.counts
bench_report_test() {
	local logfile=$logdir/bench-report-tests.log
	python3 "$TOP/scripts/bench_report_test.py" >"$logfile" 2>&1 ||
		{ grep -E '^(FAIL|ERROR)' "$logfile" >&2 || tail -n 20 "$logfile" >&2; }
	sed -n 's/^counts: //p' "$logfile" | grep . >"$bench_counts" || echo "0 1 0" >"$bench_counts"
}
timed "bench report tests (scripts/bench_report_test.py)" bench_report_test

# The build scripts' own helpers (scripts/lib.sh): whether a cached step
# such as a kernel build is taken for finished.
lib_counts=$logdir/host-lib.counts
lib_test() {
	local logfile=$logdir/lib-tests.log
	bash "$TOP/scripts/lib_test.sh" >"$logfile" 2>&1 ||
		{ grep '^not ok' "$logfile" >&2 || tail -n 20 "$logfile" >&2; }
	sed -n 's/^counts: //p' "$logfile" | grep . >"$lib_counts" || echo "0 1 0" >"$lib_counts"
}
timed "build script tests (scripts/lib_test.sh)" lib_test

cat "$cargo_counts" "$harness_counts" "$bench_counts" "$lib_counts" |
	awk '{ p += $1; f += $2; s += $3 } END { print p + 0, f + 0, s + 0 }' >"$results"
rm -f "$cargo_counts" "$harness_counts" "$bench_counts" "$lib_counts"
