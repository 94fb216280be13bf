# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared settings for the build-and-boot scripts; sourced, never run.
#
# Everything expensive lives in the cache directory, outside the clone, under
# names that carry the key of what produced it: a changed input gets a new
# directory and an unchanged one is reused.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VM_MVC_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vm_mvc}
# Build artefacts shared with the build root; mounted at the same path inside it.
DATA=$CACHE/data
KERNEL_SERIES=7.3
mkdir -p "$DATA"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs "$@" and reports how long it took under the label $STEP; returns
# its status.  Checked here, not left to set -e: a caller's `timed ... ||
# handler` runs this function with errexit ignored, and a kernel build
# that failed (the disk full) was logged "done" and stamped built.
timed() {
	local step=$1 start=$SECONDS rc=0
	shift
	log "$step ..."
	"$@" || rc=$?
	if [ $rc -ne 0 ]; then
		log "$step failed (status $rc) after $((SECONDS - start)) s"
		return $rc
	fi
	log "$step done in $((SECONDS - start)) s"
}

# Short content hash of files and strings, used as a cache key.
key_of() {
	local item
	for item in "$@"; do
		if [ -f "$item" ]; then cat "$item"; else printf '%s\n' "$item"; fi
	done | sha256sum | cut -c1-16
}

# Runs "$@" with its output appended to the log file $1; on failure shows the
# end of the log and stops.
quietly() {
	local logfile=$1
	shift
	"$@" >>"$logfile" 2>&1 || {
		tail -n 30 "$logfile" >&2
		die "'$1' failed (full log: $logfile)"
	}
}

# Serialises the callers of one cache step (two `make` runs at once must not
# build the same thing twice into one directory).  Held until the script exits.
lock() {
	exec {lock_fd}>"$DATA/.$1.lock"
	flock "$lock_fd"
}

# Where scripts/guest.sh builds the statically linked tools/ binaries that
# go into the guest image (mkfs.toyfs, fsck.toyfs, toyfs-stress).
toyfs_tools_dir() { echo "$TOP/tools/target/x86_64-unknown-linux-gnu/release"; }

# The make variables of an out-of-tree build against the kernel build
# directory $1, one a line: LLVM=1, and ARCH=um for a User-Mode Linux kernel
# (an O= build directory does not remember its ARCH).
kbuild_vars() {
	echo LLVM=1
	! grep -qx 'CONFIG_UML=y' "$1/.config" || echo ARCH=um
}
