# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers of the partial-page cases in this folder, in the spirit of
# xfstests' common/rc: each case is a bash script of xfs_io commands whose
# standard output must equal its NAME.out, whatever the filesystem and its
# block size.  The runner (scripts/guest/partial-page-cases.sh) sets:
#   TEST_DIR    an empty directory on the filesystem under test
#   TEST_DEV    its block device (none for tmpfs), TEST_MNT its mount point
#   FSTYP       toyfs, ext2, ext4 or tmpfs; MOUNT_OPTIONS for remounting
#   NOTRUN      the file a case writes its reason to when it cannot run
# and runs the case from this folder with the Debian root's bash.

set -u
PAGE_SIZE=$(getconf PAGESIZE)
BLOCK_SIZE=$(stat -f -c %S "$TEST_DIR")
XFS_IO="xfs_io"

# The case cannot run here: the runner reports it as skipped, with REASON.
_notrun() {
	echo "$*" >"$NOTRUN"
	exit 0
}

# The golden output assumes 4 KiB pages (x86_64).
[ "$PAGE_SIZE" = 4096 ] || _notrun "the golden output assumes 4096-byte pages, not $PAGE_SIZE"

# Unmounts and mounts the filesystem again, so that what is read next comes
# from the disk.  tmpfs keeps nothing without its mount, as xfstests'
# _test_cycle_mount knows: there the page cache is only dropped.
_cycle_mount() {
	sync
	if [ "$FSTYP" = tmpfs ]; then
		echo 3 >/proc/sys/vm/drop_caches
		return
	fi
	umount "$TEST_MNT" && mount -t "$FSTYP" ${MOUNT_OPTIONS:+-o "$MOUNT_OPTIONS"} \
		"$TEST_DEV" "$TEST_MNT" || { echo "cycle mount failed"; exit 1; }
}

# Skips unless fallocate MODE (falloc, fpunch, fzero, fcollapse, finsert
# of xfs_io) works on this filesystem.
_require_xfs_io_falloc() {
	local probe=$TEST_DIR/.probe-$1 out
	$XFS_IO -f -c "pwrite -q 0 65536" "$probe" || exit 1
	out=$($XFS_IO -c "$1 4096 4096" "$probe" 2>&1)
	rm -f "$probe"
	case $out in
	*"not supported"*) _notrun "$FSTYP has no fallocate $1 (${out##*: })" ;;
	?*) echo "probing $1: $out"; exit 1 ;;
	esac
}

# Skips unless SEEK_HOLE finds a hole inside a file: filesystems with the
# generic llseek report the whole file as data, which POSIX allows.
_require_seek_hole() {
	local probe=$TEST_DIR/.probe-seek hole
	$XFS_IO -f -c "truncate 1048576" -c "pwrite -q 524288 4096" "$probe" || exit 1
	hole=$($XFS_IO -c "seek -h 0" "$probe" | awk '$1 == "HOLE" { print $2 }')
	rm -f "$probe"
	[ "$hole" = 0 ] || _notrun "$FSTYP reports no holes (SEEK_HOLE from 0 of a file with a 512 KiB hole: $hole)"
}

# Prints the bytes of FILE from OFF for LEN as runs of one value, read with
# pread:  "OFF-END: XX" per run (END inclusive).  Usage: _dump FILE OFF LEN
_dump() {
	od -A n -v -t x1 -j "$2" -N "$3" "$1" | _runs "$2"
}

# The same, read through a shared mapping of MAPLEN bytes from 0 (xfs_io
# mmap + mread -v): shows what a page fault maps, past EOF too.
# Usage: _mdump FILE MAPLEN OFF LEN
_mdump() {
	$XFS_IO -c "mmap -r 0 $2" -c "mread -v $3 $4" "$1" | _mread_runs "$3" "$4"
}

# Runs of the output of xfs_io's "mread -v OFF LEN" (on stdin), whose lines
# are "%08x:  XX XX ... XX  ascii" (one or more bytes): the bytes are the
# "XX " groups before the double space.  Usage: ... | _mread_runs OFF LEN
_mread_runs() {
	sed -n 's/^[0-9a-f]*:  \(\([0-9a-f][0-9a-f] \)*\) .*/\1/p' | _runs "$1"
}

# Collapses hex bytes, any number a line, of the file from offset $1 into
# runs of one value.
_runs() {
	awk -v start="$1" '
	{
		for (i = 1; i <= NF; i++) {
			if ($i != v || !n) {
				if (n) printf "%d-%d: %s\n", first, first + n - 1, v
				v = $i; first = start + total; n = 0
			}
			n++; total++
		}
	}
	END { if (n) printf "%d-%d: %s\n", first, first + n - 1, v }'
}

# Runs an xfs_io command line and prints how it ended: "ok", "SIGBUS" or
# "exit N" (a fault past the mapped pages must be SIGBUS).
_status() {
	local rc
	# Waited for in a subshell whose stderr is dropped: bash's own "Bus
	# error" report goes there.
	rc=$( { "$@" >/dev/null 2>&1; echo $?; } 2>/dev/null)
	case $rc in
	0) echo ok ;;
	135) echo SIGBUS ;;
	*) echo "exit $rc" ;;
	esac
}

_size() { stat -c %s "$1"; }
