#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: vm_mvc and its users loaded and shown working, each step with
# a line on what it proves.  Its output is the terminal (ttyS1); the kernel's
# messages go to the console file.  Stops at the first failed step.
set -e -o pipefail
stats=/sys/kernel/debug/vm_mvc/stats
step=0

# A numbered step: what it proves, then its commands.
narrate() {
	step=$((step + 1))
	printf '\n%d. %s\n' "$step" "$*" | fold -s -w 76
}
# Runs a command, showing it and its output indented.
show() {
	local arg line='   $'
	for arg in "$@"; do
		[ "$arg" = in_debian ] && continue
		case $arg in *" "*) line="$line '$arg'" ;; *) line="$line $arg" ;; esac
	done
	echo "$line"
	"$@" 2>&1 | sed 's/^/     /'
}
# KUnit's per-suite totals of the suites that ran since the last call.
kunit_totals() {
	dmesg -c | sed -n 's/.*# \([a-z0-9_]*\): \(pass:[0-9]* fail:[0-9]* skip:[0-9]*\).*/     \1: \2/p'
}
zero_calls() { awk '$1 == "zero:" { print $3 }' $stats; }

dmesg -c >/dev/null
narrate "Loading vm_mvc runs its KUnit suites on real page-cache folios:" \
	"zero, zero-and-protect, read and write of partial pages, and the" \
	"precise errno of every bad input."
show insmod /modules/vm_mvc.ko
kunit_totals

narrate "A module written in C calls vm_mvc through include/vm_mvc.h (its" \
	"suites run at load); toyfs, the sample filesystem, loads on top."
show insmod /modules/vm_mvc_c_client.ko
show insmod /modules/toyfs.ko
kunit_totals
show grep -e vm_mvc -e toyfs /proc/modules

narrate "toyfs with 1 KiB blocks: four to a page, so the page at EOF and the" \
	"pages next to holes are only partly backed by disk blocks.  A file of" \
	"17 bytes at offset 10000: one block on disk, the rest a hole."
mkdir -p /mnt/toyfs
show mkfs.toyfs -q /dev/ram0
show mount -t toyfs /dev/ram0 /mnt/toyfs
printf 'hello past a hole' | dd of=/mnt/toyfs/sparse bs=1 seek=10000 2>/dev/null
show stat -c '%n: %s bytes, %b sectors of 512 bytes' /mnt/toyfs/sparse

narrate "Read back from disk (page cache dropped): the hole reads as zeros" \
	"and the 17 bytes come back.  The page holding them is only partly" \
	"backed: toyfs zeroes its unbacked blocks through vm_mvc, whose zero" \
	"count goes up:"
before=$(zero_calls)
sync
echo 3 >/proc/sys/vm/drop_caches
show od -A d -c -j 9984 /mnt/toyfs/sparse
echo "     vm_mvc zero calls: $before before the read, $(zero_calls) after"

if [ -n "$VMMVC_DEBIAN" ]; then
	. /guest/debian.sh
	narrate "With Debian's xfs_io (the guest's Debian root over virtio-9p):" \
		"a shared mapping of the last page shows zeros past EOF (10017) up" \
		"to the page end, and touching the next page is SIGBUS, as POSIX" \
		"requires."
	mkdir -p /debian/mnt/toyfs
	mount -o bind /mnt/toyfs /debian/mnt/toyfs
	show in_debian xfs_io -c "mmap -r 8192 8192" -c "mread -v 10010 12" /mnt/toyfs/sparse
	rc=0
	in_debian xfs_io -c "mmap -r 8192 8192" -c "mread 12288 1" /mnt/toyfs/sparse \
		>/dev/null 2>&1 || rc=$?
	echo "     mread at 12288: exit status $rc$([ $rc = 135 ] && echo ' (SIGBUS)')"
	[ $rc = 135 ]
	umount /debian/mnt/toyfs
fi

narrate "vm_mvc's counters in debugfs: calls, bytes and errors per command," \
	"and no live sids or pinned user pages left behind."
show cat $stats

narrate "Unmounted, the image passes fsck.toyfs: what toyfs wrote is" \
	"consistent on disk."
show umount /mnt/toyfs
show fsck.toyfs -n /dev/ram0
echo
echo "make run: done (make check runs every test; make shell gives a shell)."
