#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run`, `make check` and `make bench`: sets up whatever is missing
# (toolchain, kernel, modules, guest image), runs the host tests (check
# only), boots the guest and, for check, reports every result and the
# summary line; for bench, writes the CSV files, tables and plots.
# `make soak` is a check of its own (results and summary line) whose guest
# runs only the long randomized toyfs run (scripts/guest/soak.sh).
# `make shell` boots to an interactive shell (scripts/guest/shell.sh).
# Usage: guest.sh FLAVOUR run|check|bench|soak|shell
. "$(dirname "$0")/lib.sh"

flavour=$1 mode=$2
out=${VM_MVC_BUILD_DIR:-$TOP/build}/$flavour
[ "$mode" != bench ] || out=${VM_MVC_BUILD_DIR:-$TOP/build}/bench
# Native figures beside the emulated ones, not over them.
[ "$mode$flavour" != benchuml ] || out=${VM_MVC_BUILD_DIR:-$TOP/build}/bench-uml
[ "$mode" != soak ] || out=${VM_MVC_BUILD_DIR:-$TOP/build}/soak
[ "$mode" != shell ] || out=${VM_MVC_BUILD_DIR:-$TOP/build}/shell-$flavour
mkdir -p "$out"
start=$SECONDS

"$TOP/scripts/toolchain.sh" >/dev/null
# The Debian userspace the guest mounts over virtio-9p (xfs_io, fio, ...).
VM_MVC_GUEST_ROOT=$("$TOP/scripts/guest-root.sh")
export VM_MVC_GUEST_ROOT

rm -f "$out"/*-results
# VM_MVC_GUEST_ONLY=1 runs only the guest (CI's second kernel flavour).
if [ "$mode" = check ] && [ -z "${VM_MVC_GUEST_ONLY:-}" ]; then
	"$TOP/scripts/host-tests.sh" "$out/host-results"
	"$TOP/scripts/in-toolchain.sh" "$TOP/scripts/lint.sh" "$flavour" "$out/lint-results"
fi

# The guest's tools/ binaries, static so that they run on busybox alone;
# built on the host, where cargo is (rustup's, as for the host tests).
build_guest_tools() {
	local logfile=$out/guest-tools.log
	(cd "$TOP/tools" && PATH=$PATH:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin \
		RUSTFLAGS="-C target-feature=+crt-static" \
		cargo build --release --target x86_64-unknown-linux-gnu) >"$logfile" 2>&1 ||
		{ tail -n 20 "$logfile" >&2; die "building the guest tools failed (log: $logfile)"; }
}
timed "building the static guest tools (cargo, tools/)" build_guest_tools
# fsx from crates.io with tools/fsx's patch, cached; copied beside them.
"$TOP/scripts/fsx.sh" >/dev/null

# make bench UML=1 VM_MVC_PROFILE=1: the host's perf samples the UML
# kernel, a host process (QEMU's guest is sampled by guest-boot.sh).
sampler=
if [ -n "${VM_MVC_PROFILE:-}" ] && [ "$mode" = bench ] && [ "$flavour" = uml ]; then
	command -v perf >/dev/null || die "make bench UML=1 VM_MVC_PROFILE=1 needs perf on the host"
	rm -f "$out/profile.samples" "$out/console.log"
	python3 "$TOP/scripts/profile-uml.py" "$out/initramfs.cpio" "$out/console.log" \
		"$out/profile.samples" &
	sampler=$!
fi
"$TOP/scripts/in-toolchain.sh" "$TOP/scripts/guest-boot.sh" "$flavour" "$mode" "$out"
[ -z "$sampler" ] || wait "$sampler" || true
status=0
if [ "$mode" = check ] || [ "$mode" = soak ]; then
	"$TOP/scripts/in-toolchain.sh" "$TOP/scripts/results.sh" "$flavour" "$out" || status=$?
fi
if [ "$mode" = bench ]; then
	# Space of a tree of small files on toyfs with fragments and LZ4
	# against ext2 (issue 13 item 6): made on the host, no kernel.
	"$TOP/scripts/in-toolchain.sh" "$TOP/scripts/space-bench.sh" "$out/space.csv" |
		tee "$out/space.txt" || status=$?
	"$TOP/scripts/bench-report.sh" "$out" || status=$?
fi
# make check|bench VM_MVC_PROFILE=1 (QEMU): the flat profile, per suite or phase.
if [ -n "${VM_MVC_PROFILE:-}" ] && [ -s "$out/profile.samples" ]; then
	"$TOP/scripts/in-toolchain.sh" "$TOP/scripts/profile-report.sh" "$flavour" "$out" ||
		status=$?
fi
log "make $mode ($flavour) took $((SECONDS - start)) s"
exit $status
