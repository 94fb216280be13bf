#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What the in-guest tables fsbench.sh and compressbench.sh share: their
# console lines, the choice of rows, the profile's phases and vm_mvc's
# call counts.  Sourced; the caller sets $rows (the rows asked for, from
# the kernel command line) first.

note() { echo "vm_mvc_bench: $*" >/dev/kmsg; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

# vm_mvc's calls so far, per command: "read write zero protzero" (toyfs
# is vm_mvc's only user in the guest).
mvc_calls() {
	awk '$1 ~ /^(read|write|zero|protzero):$/ { n[$1] = $3 }
		END { printf "%d %d %d %d\n", n["read:"], n["write:"], n["zero:"], n["protzero:"] }' \
		/sys/kernel/debug/vm_mvc/stats
}

# Whether row OP with requests of REQ bytes is to run: every row without
# $rows, else those it names by their op, or by their op and request size
# (read_cold_4k, read_cold_1m).
selected() {
	[ -n "$rows" ] || return 0
	case $2 in
	4096) size_name=_4k ;;
	1048576) size_name=_1m ;;
	*) size_name= ;;
	esac
	case ",$rows," in
	*",$1,"* | *",$1$size_name,"*) return 0 ;;
	esac
	return 1
}

# make bench VM_MVC_PROFILE=1: the host samples the vCPUs and files each
# sample under the last phase announced here (scripts/profile-sample.py).
profiling=$(sed -n 's/.*vmmvc_profile=\([0-9]\).*/\1/p' /proc/cmdline)
phase() { [ -z "$profiling" ] || echo "vm_mvc_profile: phase $*" >/dev/kmsg; }
