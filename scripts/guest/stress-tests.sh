#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The randomized tester (toyfs-stress run, tools/toyfs-stress) on toyfs
# with blocks of 512, 1024, 2048 and 4096 bytes, and its model proven
# first on tmpfs and ext2 with the same options: threads on files of
# their own and on one shared file, files past the double-indirect start,
# mappings kept across truncates and extensions, hard links, O_TMPFILE
# files, RENAME_EXCHANGE, times and st_blocks, and a file reaching into
# the triple-indirect level (toyfs_vfs).  Each run unmounts, runs
# fsck.toyfs and mounts every 4000 operations and at its end; after it,
# an unmount and a clean fsck.  Then stores past the end racing with
# extensions, and followed by extensions racing with writeback, a live
# mapping across an extension, the churn of names against a model of the
# tree, reads and writes into and from mappings of their own file, a
# file grown a byte at a time under stores and writeback, and the
# randomized load while memory is compacted.  Part "stress"
# of check.sh; runs with vm_mvc loaded and toyfs not, and leaves them so.
#
# TOYFS_STRESS_SEED (1) seeds every run; TOYFS_STRESS_OPS (30000) is the
# length of the 1 KiB row, the other runs do a fifth of it.  A failure
# prints the command line that replays it.
. /guest/ktap.sh
. /guest/toyfs-common.sh

mnt=/mnt/stress
seed=${TOYFS_STRESS_SEED:-1}
ops=${TOYFS_STRESS_OPS:-30000}
# The debug kernel (KASAN, lockdep) is several times slower per operation
# (toyfs's 18 ms against ext2's 6 ms): a fifth there.  The soak is for
# long runs.
[ -e /sys/kernel/debug/kmemleak ] && ops=$((ops / 5))
short=$((ops / 5))
threads="--threads 2 --shared 3"
mkdir -p $mnt

# tmpfs has punch and preallocation, and holes to the page; no ZERO_RANGE
# and no FIEMAP, and it shows stores made past the end once the file grows
# over them (not checked).  Its O_DIRECT takes any alignment (the page
# cache underneath), as toyfs's.
model_on_tmpfs() {
	mount -t tmpfs -o size=64m tmpfs $mnt || return 1
	toyfs-stress run $threads --fallocate punch,keep --seek 4096 --copy --links --direct 0 \
		--hardlinks --tmpfile --exchange --times --far 9223372036854775807 "$seed" "$short" $mnt
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

# ext2 (busybox mke2fs; no e2fsck in the guest): no fallocate, and its
# generic llseek calls everything data, which the model finds sound, as
# its FIEMAP (iomap's, blocks allocated at writeback for stores).  Like
# tmpfs, it shows stores made past the end once the file grows over them
# (not checked); toyfs zeroes them (--eof-pollution).  ext2 keeps chattr
# +c (FS_COMPR_FL) without compressing: the reference of the flag's model
# for toyfs's compression (issue 13).  Its O_DIRECT (iomap's) refuses a
# request not aligned to the device's 512-byte sectors with EINVAL where
# it maps a block.
model_on_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	toyfs-stress run $threads --seek 0 --chattr-compress --copy --links --fiemap --direct 512 --fstype ext2 \
		--hardlinks --tmpfile --times --st-blocks --far 17247252480 "$seed" "$short" $mnt /dev/ram3
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

# The randomized load ($@, a command) while memory is compacted over and
# over (/proc/sys/vm/compact_memory): page-cache folios of its files,
# mapped ones too, are migrated under it.  (The test kernel has no
# vmstat event counters to count the migrations.)
compact_under_load() {
	"$@" &
	load=$!
	rounds=0
	while kill -0 $load 2>/dev/null; do
		echo 1 >/proc/sys/vm/compact_memory
		rounds=$((rounds + 1))
	done
	wait $load
	rc=$?
	echo "memory compacted $rounds times under the load"
	[ $rc -eq 0 ] && [ $rounds -gt 1 ]
}

# Stores through a mapping past the end of a file while another thread
# extends it (toyfs-stress eof-race): none may become file data.  ext2 and
# tmpfs do not zero such stores at all, so there is no reference here.
eof_race_toyfs() {
	mkfs.toyfs -q /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
	toyfs-stress eof-race $mnt 300
	rc=$?
	umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ]
}

# Stores through a mapping past the end, then an extension, while
# another thread starts writeback over and over (toyfs-stress
# eof-writeback): a writeback between the growth of the size and the
# zeroing after it made them file data, so toyfs zeroes them before the
# size grows.  Every block size: with blocks of a page the bytes were
# zeroed in the cache but not on the disk.  ext2 and tmpfs do not zero
# such stores at all.  Before the fix each block size failed within 60
# rounds; the debug kernel does a fifth of the rounds.
eof_writeback_toyfs() {
	rounds=1000
	[ -e /sys/kernel/debug/kmemleak ] && rounds=200
	for bs in 512 1024 2048 4096; do
		mkfs.toyfs -q -b $bs /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
		echo "$bs-byte blocks:"
		toyfs-stress eof-writeback $mnt $rounds
		rc=$?
		umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ] || return 1
	done
}

# A store through a mapping kept writable across an extension, into a
# block of the old last page that the file did not have, must fault and
# get the block (toyfs-stress live-extend), with blocks smaller than a
# page.  ext2 allocates at writeback: only the bytes are checked there.
live_extend_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	toyfs-stress live-extend $mnt/live
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

live_extend_toyfs() {
	for bs in 512 1024 2048; do
		mkfs.toyfs -q -b $bs /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
		echo "$bs-byte blocks:"
		toyfs-stress live-extend $mnt/live --allocates-at-fault
		rc=$?
		umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ] || return 1
	done
}

# Reads and writes whose buffer is a mapping of their own file
# (toyfs-stress fault-in, xfstests generic/647 and 729): buffered and
# O_DIRECT, private and shared mappings, a read of the hole into its own
# mapping, a write of a page onto itself.  ext2 is the reference (its
# O_DIRECT refuses the unaligned step); toyfs with 1 KiB and 4 KiB blocks
# and with LZ4 (every file compressed: O_DIRECT through the page cache).
fault_in_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	toyfs-stress fault-in $mnt
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

# Runs CMD IMAGE on a new toyfs made with each set of mkfs.toyfs options
# IMAGE (on /dev/ram4, mounted at $mnt), then unmounts it and checks it.
on_toyfs_images() { # CMD IMAGE...
	cmd=$1
	shift
	for image in "$@"; do
		# shellcheck disable=SC2086 # the mkfs options, split
		mkfs.toyfs -q $image /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
		echo "mkfs.toyfs $image:"
		"$cmd" "$image"
		rc=$?
		umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ] || return 1
	done
}

fault_in_on() {
	case $1 in
	*lz4) toyfs-stress fault-in $mnt --any-alignment --compress ;;
	*) toyfs-stress fault-in $mnt --any-alignment ;;
	esac
}

fault_in_toyfs() {
	on_toyfs_images fault_in_on "-b 1024" "-b 4096" "-b 4096 -f 512 -c lz4"
}

# A file grown a byte at a time (fallocate; ftruncate on ext2), each
# byte stored through a shared mapping at once, beside writeback over and
# over (toyfs-stress mmap-extend, xfstests generic/438): no byte lost to
# the zeroing of the page at the end.  32 KiB (an eighth of generic/438's
# file: 64 KiB took 110 s on toyfs's four images under QEMU's TCG), 8 KiB
# on the debug kernel; toyfs with blocks of 512 and 4096 bytes, and
# compressed with LZ4 and 512-byte fragments.
mmap_extend_kib=32
[ -e /sys/kernel/debug/kmemleak ] && mmap_extend_kib=8
mmap_extend_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	toyfs-stress mmap-extend $mnt/grown $mmap_extend_kib --truncate
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

mmap_extend_on() {
	: >$mnt/grown
	case $1 in *lz4) toyfs-stress compr $mnt/grown +c >/dev/null || return 1 ;; esac
	toyfs-stress mmap-extend $mnt/grown $mmap_extend_kib
}

mmap_extend_toyfs() {
	on_toyfs_images mmap_extend_on "-b 512" "-b 4096" "-b 4096 -f 512 -c lz4"
}

compact_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	compact_under_load toyfs-stress run $threads --fstype ext2 "$seed" "$short" $mnt
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

compact_toyfs() {
	mkfs.toyfs -q /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
	compact_under_load toyfs-stress run $threads $(toyfs_features 1024) "$seed" "$short" $mnt
	rc=$?
	umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ]
}

# fsstress's churn of names (toyfs-stress namespace: create, mkdir, link,
# unlink, rmdir, symlink, mkfifo, rename of files, symbolic links, FIFOs
# and directories across directories, each
# errno as Linux gives it) against a model of the tree, which is compared
# with the filesystem's every 50 calls and after a remount every 400
# (unmount, fsck, mount).  ext2 is the reference (no e2fsck in the
# guest); toyfs with 1 KiB blocks, and with 128-byte fragments, whose
# directories grow by fragments.
namespace_ext2() {
	mke2fs -b 1024 /dev/ram3 >/dev/null && mount -t ext2 /dev/ram3 $mnt || return 1
	toyfs-stress namespace "$seed" "$((short / 3))" $mnt /dev/ram3 ext2 true
	rc=$?
	umount $mnt && [ $rc -eq 0 ]
}

namespace_toyfs() {
	for frag in "" "-f 128"; do
		# shellcheck disable=SC2086 # no fragment option, or one
		mkfs.toyfs -q -b 1024 $frag /dev/ram4 && mount -t toyfs /dev/ram4 $mnt || return 1
		echo "1024-byte blocks${frag:+, 128-byte fragments}:"
		toyfs-stress namespace "$seed" "$((short / 3))" $mnt /dev/ram4 toyfs "fsck.toyfs -f -n"
		rc=$?
		umount $mnt && fsck_clean /dev/ram4 && [ $rc -eq 0 ] || return 1
	done
}

# The reference filesystems' rows (tmpfs, ext2) check the model and the
# tools, the same on every kernel: the debug kernel, there for toyfs under
# lockdep and KASAN, leaves them to the base kernel's run.
reference_case() {
	if [ -e /sys/kernel/debug/kmemleak ]; then
		ktap_skip "$1" "debug kernel: a reference filesystem, run on the base kernel"
	else
		ktap_case "$@"
	fi
}

# toyfs-stress full on 4 MiB images (toyfs-common.sh, toyfs_full_row):
# ENOSPC all the time, on 1 KiB and 4 KiB blocks, with fragments, packed
# tails (-p, the tree /guest) and LZ4; 6 seconds each, from $seed, on
# both kernels (the calls are bounded by time).  Part torture runs the
# same rows longer, from TORTURE_SEED (torture.sh).
full_seconds=6
full_case() {
	ktap_case "full_image_$1" toyfs_full_row "$1" "$2" /guest "$seed" $full_seconds /mnt/full \
		"make check VM_MVC_ONLY=stress TOYFS_STRESS_SEED=$seed"
}

ktap_suite toyfs_stress 28
ktap_case insmod_toyfs insmod /modules/toyfs.ko
reference_case model_on_tmpfs model_on_tmpfs
reference_case model_on_ext2 model_on_ext2
ktap_case toyfs_blocks_512 toyfs_row 512 /dev/ram2 "$short"
ktap_case toyfs_blocks_1024 toyfs_row 1024 /dev/ram3 "$ops"
ktap_case toyfs_blocks_2048 toyfs_row 2048 /dev/ram4 "$short"
ktap_case toyfs_blocks_4096 toyfs_row 4096 /dev/ram5 "$short"
ktap_case toyfs_fragments_4096_512 toyfs_fragments_row 4096 512 /dev/ram5 "$((short / 2))"
ktap_case toyfs_fragments_1024_128 toyfs_fragments_row 1024 128 /dev/ram3 "$((short / 2))"
ktap_case toyfs_compress_4096_512 toyfs_compress_row 4096 512 /dev/ram5 "$((short / 4))"
ktap_case toyfs_compress_1024_128 toyfs_compress_row 1024 128 /dev/ram3 "$((short / 4))"
ktap_case eof_race_toyfs eof_race_toyfs
ktap_case eof_writeback_toyfs eof_writeback_toyfs
reference_case live_extend_ext2 live_extend_ext2
ktap_case live_extend_toyfs live_extend_toyfs
reference_case fault_in_own_mapping_ext2 fault_in_ext2
ktap_case fault_in_own_mapping_toyfs fault_in_toyfs
reference_case mmap_extend_beside_writeback_ext2 mmap_extend_ext2
ktap_case mmap_extend_beside_writeback_toyfs mmap_extend_toyfs
reference_case namespace_ext2 namespace_ext2
ktap_case namespace_toyfs namespace_toyfs
reference_case compact_memory_ext2 compact_ext2
ktap_case compact_memory_toyfs compact_toyfs
full_case b1024_f128_lz4_p -b_1024_-f_128_-c_lz4_-p
full_case b4096_f512_lz4_p -b_4096_-f_512_-c_lz4_-p
full_case b1024_f128_p -b_1024_-f_128_-p
full_case b4096 -b_4096
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
