#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the userspace tests (cargo test in tools/) on the host and writes
# "passed failed skipped" to the file named by $1 for the summary line.
. "$(dirname "$0")/lib.sh"

results=$1
if [ ! -f "$TOP/tools/Cargo.toml" ]; then
	echo "0 0 0" >"$results"
	exit 0
fi
# rustup's cargo, also when the caller's PATH lacks it (CI's environment).
PATH=$PATH:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin
command -v cargo >/dev/null || die "host tests need cargo (the machine's rustup toolchain)"
logfile=${results%/*}/host-tests.log
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
} END { print p + 0, f + 0, s + 0 }' "$logfile" >"$results"
if [ $status -ne 0 ] && [ "$(awk '{print $2}' "$results")" = 0 ]; then
	# The build failed before any test ran: count it as one failure.
	echo "0 1 0" >"$results"
fi
