#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kmemleak checks of the debug guest, as KTAP suites.
#
#   kmemleak.sh plant   at the start of a run: the test-only kmemleak_probe
#                       module plants a leak (and stays loaded, so that the
#                       report names it)
#   kmemleak.sh final   at the end: one pair of scans; the planted leak must
#                       be reported (suite kmemleak_selftest, or the scan
#                       proves nothing) and nothing else (suite kmemleak)
#
# A pair of scans takes about 100 s of the debug guest under TCG (it reads
# all of memory): one pair judges both, where a self-test of its own at the
# start cost a second pair.
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

planted=/tmp/kmemleak-planted
found=/tmp/kmemleak-found

# The insmod's status and the planted object's address, which the probe
# prints.
plant() {
	insmod /modules/kmemleak_probe.ko
	echo $? "$(dmesg | sed -n 's/.*planted a .* leak at \(0x[0-9a-f]*\).*/\1/p' | tail -n1)" >$planted
}

# When the planted leak is not reported, what kmemleak knows of the object
# goes into the case's diagnostics: "count" is the references its last scan
# found (a stale pointer somewhere it scans), "checksum" stays 4294967295
# while it was referenced in every scan, "jiffies" is its age.
planted_leak_is_reported() {
	local status address
	read -r status address <$planted
	grep '(kmemleak_probe)$' $found && [ "$status" -eq 0 ] && return 0
	if [ -n "$address" ]; then
		echo "dump=$address" >$kmemleak
		dmesg | sed -n '/kmemleak: Object\|kmemleak: Unknown object/,$p' | tail -n 12
	fi
	return 1
}

no_unreferenced_objects() {
	! grep -v '(kmemleak_probe)$' $found
}

# One pair of scans, then both verdicts from its report.
final() {
	if scan_twice; then
		report planted >$found
	else
		echo "kmemleak: the scan failed" >$found
	fi
	if [ -e $planted ]; then
		ktap_suite kmemleak_selftest 1
		ktap_case planted_leak_is_reported planted_leak_is_reported
		ktap_end
		rmmod kmemleak_probe 2>/dev/null
	fi
	ktap_suite kmemleak 1
	ktap_case no_unreferenced_objects no_unreferenced_objects
	ktap_end
}

[ "${0##*/}" = kmemleak.sh ] || return 0
case $1 in
plant) plant ;;
final) final ;;
*) echo "usage: kmemleak.sh plant|final" >&2; exit 2 ;;
esac
