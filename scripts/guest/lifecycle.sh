#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifecycle (check part "lifecycle"): vm_mvc cannot go while toyfs
# uses it, toyfs cannot go while mounted, and rounds of load, mount, I/O,
# unmount and unload leave the slab counts where they were (a leak of one
# object: the kmemleak scan at the end of the run, debug kernel).  Runs
# with vm_mvc loaded and toyfs not; leaves them so (vm_mvc reloaded with
# KUnit quiet) for the parts after it.
. /guest/ktap.sh

dev=/dev/ram0
mnt=/mnt/toyfs
# 50 rounds on the base kernel, where the slab counts (a margin of 10
# objects) are the only check; 12 on the debug kernel (1.6 s a round
# under KASAN): kmemleak reports a single unreferenced object whatever
# the count, KASAN a use after free in the first round that makes one,
# and 12 rounds still put a leak of one object per round past the margin.
cycles=50
[ -e /sys/kernel/debug/kmemleak ] && cycles=12
mkdir -p $mnt

live() { grep -q "^$1 .* Live " /proc/modules; }
loaded() { grep -q "^$1 " /proc/modules; }
# Active objects of a slab cache (/proc/slabinfo needs CONFIG_SLUB_DEBUG).
active_objs() { awk -v cache="$1" '$1 == cache { print $2 }' /proc/slabinfo; }
slab_kib() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
# Frees what can be freed before counting: clean page cache and inodes,
# the RCU-delayed frees, and (kmem_cache_shrink) KASAN's quarantine of
# freed objects, which still count as allocated until it is drained.
settle() {
	sync && echo 3 >/proc/sys/vm/drop_caches && sleep 1
	for cache in /sys/kernel/slab/*/shrink; do echo 1 >"$cache"; done 2>/dev/null
}

rmmod_vm_mvc_refused_while_toyfs_loaded() {
	insmod /modules/toyfs.ko || return 1
	grep '^vm_mvc ' /proc/modules
	! rmmod vm_mvc 2>/dev/null || return 1
	live vm_mvc && grep -q '^vm_mvc .* toyfs,' /proc/modules
}

rmmod_toyfs_refused_while_mounted() {
	mkfs.toyfs -q $dev && mount -t toyfs $dev $mnt || return 1
	echo survives >$mnt/kept || return 1
	! rmmod toyfs 2>/dev/null || return 1
	live toyfs && [ "$(cat $mnt/kept)" = survives ] || return 1
	umount $mnt && rmmod toyfs && ! loaded toyfs && rmmod vm_mvc && ! loaded vm_mvc
}

# One round: each reads back the file of the round before (written by
# another load of both modules) and leaves its own.
one_cycle() {
	insmod /modules/vm_mvc.ko && insmod /modules/toyfs.ko || return 1
	mount -t toyfs $dev $mnt || return 1
	if [ "$1" -gt 1 ]; then
		cmp -n $((1000 + $1 - 1)) /tmp/pattern $mnt/round || return 1
	fi
	rm -f $mnt/round && dd if=/tmp/pattern of=$mnt/round bs=$((1000 + $1)) count=1 2>/dev/null &&
		mkdir $mnt/d && truncate -s 300 $mnt/round && truncate -s $((1000 + $1)) $mnt/round &&
		dd if=/tmp/pattern of=$mnt/round bs=$((1000 + $1)) count=1 conv=notrunc 2>/dev/null &&
		rmdir $mnt/d || return 1
	umount $mnt && rmmod toyfs && rmmod vm_mvc
}

# A case that failed part-way may have left a mount or a module: each
# case after it starts from nothing loaded, so one failure stays one.
unload_all() {
	umount $mnt 2>/dev/null
	! loaded toyfs || rmmod toyfs
	! loaded vm_mvc || rmmod vm_mvc
}

cycles_leave_slab_counts_and_no_leak() {
	unload_all || return 1
	dd if=/dev/urandom of=/tmp/pattern bs=4096 count=1 2>/dev/null
	settle
	inodes=$(active_objs inode_cache) bhs=$(active_objs buffer_head) slab=$(slab_kib)
	kunit_quiet
	i=1
	while [ $i -le $cycles ]; do
		one_cycle $i || { echo "round $i failed"; return 1; }
		i=$((i + 1))
	done
	fsck.toyfs -n $dev || return 1
	settle
	# toyfs's inodes come from its own cache (toyfs_inode_cache), which
	# rmmod destroys: an inode leaked keeps it in /proc/slabinfo (checked
	# below).  Its buffer heads and the VFS's own inodes come from the
	# kernel's caches: a leak of one per round would show $cycles.
	if [ -e /proc/slabinfo ]; then
		echo "inode_cache $inodes -> $(active_objs inode_cache)," \
			"buffer_head $bhs -> $(active_objs buffer_head), Slab $slab -> $(slab_kib) kB"
		[ "$(active_objs inode_cache)" -le $((inodes + 10)) ] &&
			[ "$(active_objs buffer_head)" -le $((bhs + 10)) ] || return 1
		! grep -Ei '^(toyfs|vm_mvc)' /proc/slabinfo || return 1
	else
		echo "Slab $slab -> $(slab_kib) kB (no /proc/slabinfo)"
	fi
	# Generous: only a sizeable leak per round passes this; kmemleak
	# at the end of the run sees a single object.
	[ "$(slab_kib)" -le $((slab + 1024)) ]
}

# Leaves vm_mvc loaded and toyfs not, as the parts after expect.
reload_vm_mvc() {
	unload_all && insmod /modules/vm_mvc.ko && live vm_mvc
}

ktap_suite module_lifecycle 4
ktap_case rmmod_vm_mvc_refused_while_toyfs_loaded rmmod_vm_mvc_refused_while_toyfs_loaded
ktap_case rmmod_toyfs_refused_while_mounted rmmod_toyfs_refused_while_mounted
ktap_case load_cycles_leave_slab_counts cycles_leave_slab_counts_and_no_leak
ktap_case reload_vm_mvc reload_vm_mvc
ktap_end
# Later parts' modules run their KUnit suites again.
kunit_loud
