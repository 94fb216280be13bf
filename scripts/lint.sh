#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's style gates, as named checks for `make check`: rustfmt with
# the kernel's config (rust/, samples/ and the userspace tools/), a
# warning-free CLIPPY=1 build, checkpatch on the C
# files, and the Sphinx build of Documentation/ with -W (`make htmldocs`).  Runs inside the toolchain; prints one "ok"/"not ok" line a check
# and writes "passed failed skipped" to $2.  Usage: lint.sh FLAVOUR RESULTS
. "$(dirname "$0")/lib.sh"

flavour=$1 results=$2
kdir=$("$TOP/scripts/kdir.sh" "$flavour")
mapfile -t kvars < <(kbuild_vars "$kdir")
src=$(readlink -f "$kdir/source" 2>/dev/null || echo "$kdir")
logdir=${results%/*}
passed=0 failed=0

check() {
	local name=$1 logfile=$logdir/lint-$1.log
	shift
	if "$@" >"$logfile" 2>&1; then
		passed=$((passed + 1))
		log "lint: ok $name"
	else
		failed=$((failed + 1))
		log "lint: not ok $name (log: $logfile)"
		tail -n 40 "$logfile" >&2
	fi
}

clippy_clean() {
	make -C "$kdir" M="$TOP" "${kvars[@]}" -j"$(nproc)" modules CLIPPY=1 2>&1 | tee /dev/stderr |
		{ ! grep -E '^(warning|error)'; }
}

checkpatch_clean() {
	local files
	mapfile -t files < <(cd "$TOP" && find rust samples include -name '*.[ch]' ! -name '*.mod.c' | sort)
	[ ${#files[@]} -eq 0 ] && return 0
	(cd "$TOP" && perl "$src/scripts/checkpatch.pl" --no-tree --strict --quiet -f "${files[@]}")
}

check rustfmt "$TOP/scripts/rustfmt.sh" "$flavour" fmt-check
check clippy clippy_clean
check checkpatch checkpatch_clean
check htmldocs "$TOP/scripts/htmldocs.sh"
echo "$passed $failed 0" >"$results"
