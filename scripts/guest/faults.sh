#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# toyfs under allocation failures (check part "faults", debug kernel): the
# fault-injection workload of `toyfs-stress faults` with failslab and
# fail_page_alloc failing a share of its allocations (and only its own:
# task-filter), a few probabilities, one KTAP case each.  Each case then
# switches injection off, unmounts, wants a clean fsck, mounts again and
# checks the workload's manifest: every file none of whose operations failed
# holds exactly what was written, every removed name is gone.  One more
# case fails every fault point of a set of calls in turn (fail-nth).  Runs
# with vm_mvc loaded and toyfs not; leaves them so.
. /guest/ktap.sh
. /guest/toyfs-common.sh

dev=/dev/ram0
mnt=/mnt/toyfs
debugfs=/sys/kernel/debug
# Operations per rate: enough to fail most calls at the higher rates.
ops=400
mkdir -p $mnt

# Sets one fault type ($1: failslab or fail_page_alloc) to fail $2 percent
# of the allocations of the tasks with make-it-fail set, every size and
# context that may sleep, silently (verbose=0: no stack trace per fault).
inject() {
	knobs=$debugfs/$1
	echo 0 >$knobs/probability
	echo Y >$knobs/task-filter
	echo 1 >$knobs/interval
	echo -1 >$knobs/times
	echo 0 >$knobs/space
	echo 0 >$knobs/verbose
	echo N >$knobs/ignore-gfp-wait
	if [ "$1" = fail_page_alloc ]; then
		# Page-cache folios are __GFP_HIGHMEM and order 0.
		echo N >$knobs/ignore-gfp-highmem
		echo 0 >$knobs/min-order
	fi
	echo "$2" >$knobs/probability
}

inject_off() {
	echo 0 >$debugfs/failslab/probability
	echo 0 >$debugfs/fail_page_alloc/probability
}

# A fresh toyfs on the whole ramdisk: brd allocates a page when a sector is
# first written, so it is written once here and the "disk" never fails;
# what fails is toyfs's and the kernel's own allocations.
# Arguments: mkfs.toyfs options.
fresh_mount() {
	dd if=/dev/zero of=$dev bs=65536 2>/dev/null
	mkfs.toyfs -q "$@" $dev && mount -t toyfs $dev $mnt && mkdir $mnt/work
}

# Unmounts, wants a clean fsck, mounts, checks the manifest $1, unmounts.
remount_and_check() {
	umount $mnt && fsck_clean $dev || return 1
	mount -t toyfs $dev $mnt || return 1
	manifest_holds "$1"
	held=$?
	umount $mnt && fsck_clean $dev && [ $held -eq 0 ]
}

# One workload: $1 seed, $2 failslab percent, $3 fail_page_alloc percent.
faults_round() {
	manifest=/tmp/faults-$1
	rm -rf "$manifest" "$manifest.d"
	fresh_mount || return 1
	inject failslab "$2" && inject fail_page_alloc "$3" || return 1
	toyfs-stress faults "$1" "$ops" $mnt/work "$manifest"
	status=$?
	inject_off
	sync
	[ $status -eq 0 ] || { umount $mnt; return 1; }
	remount_and_check "$manifest"
}

# Each fault point of each call in turn (fail-nth): the knobs with
# probability 0 only choose which allocations count as fault points.
# Arguments: mkfs.toyfs options (an image with fragments: the extending
# write grows the file's tail before it gets its first folio).
every_fault_point_of_each_call() {
	manifest=/tmp/fail-nth
	rm -rf "$manifest" "$manifest.d"
	fresh_mount "$@" || return 1
	inject failslab 0 && inject fail_page_alloc 0 || return 1
	toyfs-stress fail-nth $mnt/work "$manifest"
	status=$?
	sync
	[ $status -eq 0 ] || { umount $mnt; return 1; }
	remount_and_check "$manifest"
}

# Writeback meeting an allocation failure, on an image of $1-byte blocks
# (toyfs-probe fsync-enomem: a truncation, then fsync or
# sync_file_range, each with its every fault point failing in turn,
# fail-nth): an fsync that returns 0 has put the truncated block on the
# disk, and once the faults stop an fsync puts it there.
writeback_under_allocation_failures() {
	dd if=/dev/zero of=$dev bs=65536 2>/dev/null
	mkfs.toyfs -q -b "$1" $dev && mount -t toyfs $dev $mnt || return 1
	inject failslab 0 && inject fail_page_alloc 0 || return 1
	toyfs-probe fsync-enomem $mnt $dev
	status=$?
	umount $mnt && fsck_clean $dev >/dev/null && [ $status -eq 0 ]
}

# name:seed:failslab percent:fail_page_alloc percent.  The higher rates fail
# most operations (little stays certain); the lower ones leave files to
# check after the remount.
cases="slab_1_percent:1:1:0 slab_10_percent:2:10:0 page_10_percent:3:0:10 page_40_percent:4:0:40 slab_and_page_3_percent:5:3:3"
ktap_suite toyfs_faults 11
if [ ! -e $debugfs/failslab ] || [ ! -e $debugfs/fail_page_alloc ]; then
	reason="no failslab/fail_page_alloc in debugfs (debug kernel only)"
	ktap_skip insmod_toyfs "$reason"
	for spec in $cases; do ktap_skip "${spec%%:*}" "$reason"; done
	ktap_skip every_fault_point_of_each_call "$reason"
	ktap_skip every_fault_point_of_each_call_with_fragments "$reason"
	ktap_skip fsync_under_allocation_failures_1k "$reason"
	ktap_skip fsync_under_allocation_failures_4k "$reason"
	ktap_skip rmmod_toyfs "$reason"
	ktap_end
	exit 0
fi
ktap_case insmod_toyfs insmod /modules/toyfs.ko
for spec in $cases; do
	set -- $(echo "$spec" | tr : ' ')
	ktap_case "$1" faults_round "$2" "$3" "$4"
done
ktap_case every_fault_point_of_each_call every_fault_point_of_each_call
ktap_case every_fault_point_of_each_call_with_fragments every_fault_point_of_each_call -f 128
ktap_case fsync_under_allocation_failures_1k writeback_under_allocation_failures 1024
ktap_case fsync_under_allocation_failures_4k writeback_under_allocation_failures 4096
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
