#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kmemleak checks of the debug guest, as KTAP suites.
#
#   kmemleak.sh selftest   a leak planted by the test-only kmemleak_probe
#                          module must be reported; it is then cleared
#   kmemleak.sh final      the scan at the end of a run must report nothing
#
# Other guest scripts source it for no_unreferenced_objects.
#
# When kmemleak reports (mm/kmemleak.c): an object at least 5 s old
# (MSECS_MIN_AGE) that no scanned memory points to and whose contents did
# not change since the previous scan (a changed checksum greys it for one
# scan): we wait 6 s and scan twice.  What it scans includes every tracked
# allocation, and SLUB's per-CPU sheaves are kmalloc'ed arrays that keep a
# stale pointer to each object handed out until the slot is reused: a leak
# stays hidden behind its own sheaf slot (it did, for the planted one).
# The debug kernel therefore boots with slab_debug=F (guest-boot.sh):
# caches with debug flags have no sheaves.
#
# The report goes to the console one line per /dev/kmsg write (ktap_case):
# /dev/kmsg refuses a write over 1024 bytes, which two reports exceed.
. /guest/ktap.sh

kmemleak=/sys/kernel/debug/kmemleak

scan_twice() {
	sleep 6
	echo scan >$kmemleak && echo scan >$kmemleak
}

# Prints the current report; with "planted", a report of an object
# allocated by kmemleak_probe becomes one "planted object" line (a real
# report fails the run, and this one is expected).  ktap_case sends every
# line to the console as a diagnostic.
report() {
	awk -v planted="$1" '
		function flush(   i) {
			if (n && probe && planted) {
				sub(/^unreferenced object/, "planted object", block[0])
				print block[0] " (kmemleak_probe)"
			} else {
				for (i = 0; i < n; i++) print block[i]
			}
			n = 0; probe = 0
		}
		/^unreferenced object 0x/ { flush() }
		{ block[n++] = $0; if (/kmemleak_probe/) probe = 1 }
		END { flush() }
	' $kmemleak
}

planted_leak_is_reported() {
	insmod /modules/kmemleak_probe.ko || return 1
	scan_twice || return 1
	found=$(report planted)
	echo "$found"
	rmmod kmemleak_probe
	# Clears (greys) what was reported: the planted object, and anything
	# else, which was printed above and fails the run.
	echo clear >$kmemleak
	echo "$found" | grep -q '^planted object 0x.*(kmemleak_probe)$'
}

no_unreferenced_objects() {
	scan_twice || return 1
	found=$(report '')
	echo "$found"
	[ -z "$found" ]
}

[ "${0##*/}" = kmemleak.sh ] || return 0
case $1 in
selftest)
	ktap_suite kmemleak_selftest 1
	ktap_case planted_leak_is_reported planted_leak_is_reported
	ktap_end
	;;
final)
	ktap_suite kmemleak 1
	ktap_case no_unreferenced_objects no_unreferenced_objects
	ktap_end
	;;
*) echo "usage: kmemleak.sh selftest|final" >&2; exit 2 ;;
esac
