#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Part "reclaim", suite toyfs_reclaim: reclaim evicts toyfs inodes whose
# writeback allocated under their locks.  On the debug kernel lockdep
# then sees both orders of each lock `evict_inode` takes against reclaim
# (its `fs_reclaim` map): the lock held across an allocation that may
# enter filesystem reclaim, and the lock taken by an eviction in reclaim
# (Documentation/toyfs.rst, "Memory allocation under locks").  A report
# fails the run (scripts/results.py).
#
#   evict_in_reclaim  on a new toyfs of 4 KiB blocks, 512-byte fragments
#                     and LZ4: 2000 compressible files of 9 KB are
#                     written and synced (writeback copies their
#                     compressed blocks and tails into the block device's
#                     buffers and keeps them under the inode's `packed`
#                     lock), left unused in the inode cache, then a tmpfs
#                     file takes all of MemAvailable but 32 MiB (no swap:
#                     it cannot be reclaimed), vfs_cache_pressure 10000,
#                     so that direct reclaim and kswapd, not drop_caches,
#                     evict them.  Fails unless reclaim evicted some
#                     (vm_mvc's count of deleted sids).
. /guest/ktap.sh
work=/tmp/reclaim mnt=/mnt/reclaim
mkdir -p $work/hold $mnt

# The vm_mvc sids deleted so far: toyfs's evict_inode deletes its file's
# (/proc/slabinfo's active objects do not drop when an inode goes: KASAN's
# quarantine and RCU keep the object).
sids_deleted() { sed -n 's/^sids: created [0-9]* deleted \([0-9]*\) .*/\1/p' /sys/kernel/debug/vm_mvc/stats; }

evict_in_reclaim() {
	local dev i text before after free held sum pressure files=2000 failed=0
	mkfs.toyfs -b 4096 -f 512 -c lz4 $work/img 64M >$work/mkfs 2>&1 || { cat $work/mkfs; return 1; }
	dev=$(losetup -f) && losetup "$dev" $work/img || return 1
	mount -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	# The shell's own echo: no process per file on the slow kernel.
	text=$(yes "a compressible line" | head -c 9000)
	for i in $(seq $files); do
		echo "$text $i" >$mnt/f$i || failed=1
	done
	sync
	sum=$(cat $mnt/f* | md5sum)
	before=$(sids_deleted)
	# Reclaim scans the inode and dentry caches in proportion to their
	# size times vfs_cache_pressure / 100, in batches of 1024.
	pressure=$(cat /proc/sys/vm/vfs_cache_pressure)
	echo 10000 >/proc/sys/vm/vfs_cache_pressure
	free=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
	held=$((free - 32))
	mount -t tmpfs -o size=${held}m tmpfs $work/hold &&
		fallocate -l ${held}M $work/hold/held
	after=$(sids_deleted)
	umount $work/hold
	echo "$pressure" >/proc/sys/vm/vfs_cache_pressure
	echo "MemAvailable $free MiB, $held MiB held; toyfs inodes evicted under pressure: $((${after:-0} - ${before:-0}))"
	[ "$(cat $mnt/f* | md5sum)" = "$sum" ] || { echo "the files read back differ"; failed=1; }
	umount $mnt && losetup -d "$dev" && rm -f $work/img || failed=1
	[ -n "$before" ] && [ "${after:-0}" -gt "$before" ] ||
		{ echo "reclaim evicted no toyfs inode"; failed=1; }
	return $failed
}

# toyfs is left loaded or not, as found.
loaded=1
grep -q "^toyfs " /proc/modules || loaded=0
ktap_suite toyfs_reclaim 1
if [ $loaded -eq 1 ] || insmod /modules/toyfs.ko; then
	ktap_case evict_in_reclaim evict_in_reclaim
	[ $loaded -eq 1 ] || rmmod toyfs
else
	ktap_case evict_in_reclaim sh -c 'echo "insmod toyfs failed"; exit 1'
fi
ktap_end
