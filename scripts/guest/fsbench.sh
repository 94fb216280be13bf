#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest filesystem table of `make bench` (issue 5, part 3): the same
# workload on toyfs, ext2 and tmpfs, toyfs and ext2 each on its own brd
# ramdisk with 1 KiB blocks (guest-boot.sh sizes the ramdisks for bench
# mode).  /bin/fsbench (tools/fsbench) does the timed I/O; each result is one
# "vm_mvc_bench: table=fs fs=... op=... req=... round=... bytes=... ns=...
# mbps=..." line on the console, and scripts/bench-report.py takes the
# median over the rounds.  Run by bench.sh with vm_mvc loaded.
#
# Per round and filesystem: sequential write of a 64 MiB file (fsync
# included), cold read (after drop_caches; not on tmpfs) and hot read,
# with 4 KiB and then 1 MiB requests; random 1 KiB overwrites of that
# file from a cold cache, fsync included; read of a 64 MiB file that is
# holes but for 1 KiB at every 8 MiB, cold and hot; 2048 appends of odd
# sizes (1 to 3 KiB) each followed by fsync; 2048 cycles of an odd-sized
# write at the end, a truncate down into a block and one up past the next
# page.  Then the directory rows (table fsdir): $dirfiles empty files
# created in one new directory, stated by name after drop_caches (each
# stat a lookup), listed after drop_caches, and unlinked (each unlink a
# lookup and the removal); op/s, no target.
#
# make bench VM_MVC_BENCH_FS_ROWS=read_cold_1m,appendsync (vmmvc_fsrows=
# on the kernel command line): only those rows, each named by its op, or
# by its op and request size (4k, 1m) where it has two: write, read_cold,
# read_hot (both sizes, or write_4k ...), randwrite, appendsync,
# trunccycle, sparse_cold, sparse_hot, and dir (the four directory
# rows, which run together: each works on what the one before left).
# The file a selected row reads is
# still written, untimed.  VM_MVC_BENCH_FS_ROUNDS=N (vmmvc_fsrounds=):
# N rounds instead of 5.
#
# VM_MVC_BENCH_FS_IOSTAT=1 (vmmvc_fsiostat=1): toyfs and ext2 on loop
# devices over files in a tmpfs of their own instead of the ramdisks (brd
# keeps no /sys/block/*/stat; a loop device does), and each row's line
# adds what its device did meanwhile: write requests (wr_ios), write
# merges, KiB written, flushes and read requests (the differences of
# /sys/block/loopN/stat around the timed run).  Every row's line has
# fsbench's vcsw too: the voluntary context switches of its run, about
# one per wait for the device on a loop device, none on brd.  Loop devices copy through
# a kernel thread into the tmpfs file, so the MB/s of such a run are
# not those of the ramdisks: a run for counting, not timing.
#
# Every row's line also has the large folios split during its run, per
# folio size (split_64k=...; the sizes with none left out; page cache
# folios count there as well as anonymous ones; the "fs" line's
# split_sizes says how many folio sizes are counted).  (The kernel has no
# CONFIG_VM_EVENT_COUNTERS: /proc/vmstat counts no page allocations.)
#
# Before mkfs both devices are written whole with zeros (untimed), so that
# neither filesystem pays the ramdisk's first-write cost: brd allocates and
# zeroes a page the first time a sector is written, and toyfs's allocator
# moves on to blocks never written where ext2 takes freed ones again, so
# without it toyfs's rows count brd's page allocations that ext2's do not
# (a disk's first write costs what any other does).  Nothing gives the
# pages back: busybox mke2fs and mkfs.toyfs write only their metadata,
# neither filesystem issues discards (brd frees a page on a discard), and
# -E nodiscard keeps it so with e2fsprogs' mke2fs.  The "fs prefill" line
# prints MemFree before the writes, after them and after mkfs and mount:
# a rough check (good to some 15 MiB) that the pages were made and stayed.
# VM_MVC_BENCH_FS_PREFILL=0 (vmmvc_fsprefill=0): no such writes, the
# ramdisks as brd starts them (every page made by the benchmark's writes).
size=64M
randwrites=16384
appends=2048
cycles=2048
dirfiles=5000
rounds=$(sed -n 's/.*vmmvc_fsrounds=\([0-9]*\).*/\1/p' /proc/cmdline)
rounds=${rounds:-5}
rows=$(sed -n 's/.*vmmvc_fsrows=\([a-z0-9_,]*\).*/\1/p' /proc/cmdline)
iostat=$(sed -n 's/.*vmmvc_fsiostat=\([0-9]\).*/\1/p' /proc/cmdline)
prefill=$(sed -n 's/.*vmmvc_fsprefill=\([0-9]\).*/\1/p' /proc/cmdline)
case $prefill in
0) ;;
*) prefill=1 ;;
esac
toyfs_dev=/dev/ram0 ext2_dev=/dev/ram1

# note, drop_caches, mvc_calls, selected (VM_MVC_BENCH_FS_ROWS), phase.
. /guest/bench-common.sh

# Runs fsbench and prints its result as a table line, if the row is
# selected.  Usage: measure FS OP REQUEST ROUND FSBENCH-ARGS...
measure() {
	fs=$1 op=$2 req=$3 round=$4 result=
	shift 4
	selected "$op" "$req" || return 0
	# The counts are read outside the row's phase: their reads are not
	# the filesystem's samples.
	before=$(device_stat "$fs") mem_before=$(mem_counts)
	phase "fs=$fs op=$op req=$req"
	if result=$(fsbench "$@"); then
		phase other
		note "table=fs fs=$fs op=$op req=$req round=$round $result$(device_delta "$before" "$(device_stat "$fs")")$(mem_delta "$mem_before" "$(mem_counts)")"
	else
		phase other
		note "table=fs fs=$fs op=$op req=$req round=$round failed"
	fi
}

# With $iostat, the /sys/block stat line of filesystem $1's loop device
# (nothing for tmpfs, or without $iostat).
device_stat() {
	[ -n "$iostat" ] || return 0
	case $1 in
	toyfs) cat /sys/block/"${toyfs_dev#/dev/}"/stat ;;
	ext2) cat /sys/block/"${ext2_dev#/dev/}"/stat ;;
	esac
}

# The counts between two device_stat lines, as " wr_ios=... " pairs for
# the row's line; nothing if either is empty.  Fields (Documentation/
# block/stat.rst): 1 read I/Os, 5 write I/Os, 6 write merges, 7 write
# sectors, 16 flush I/Os.
device_delta() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	echo "$1 $2" | awk '{ n = NF / 2
		printf " rd_ios=%d wr_ios=%d wr_merges=%d wr_kib=%d flushes=%d",
			$(n + 1) - $1, $(n + 5) - $5, $(n + 6) - $6, ($(n + 7) - $7) / 2, $(n + 16) - $16 }'
}

# The guest's free memory in KiB, after sync and drop_caches (the block
# devices' own page cache dropped: what stays is the ramdisks' pages).
memfree_kb() {
	drop_caches
	awk '$1 == "MemFree:" { print $2 }' /proc/meminfo
}

# Writes every sector of block device $1 once, with zeros, and waits for
# it: brd (or the tmpfs file under a loop device) then has every page.
prefill_device() {
	sectors=$(cat /sys/block/"${1#/dev/}"/size) || return 1
	kb=$((sectors / 2))
	# conv=fsync: a page brd cannot allocate fails the write here, not
	# in a writeback nobody waits for (busybox's sync says nothing).
	dd if=/dev/zero of="$1" bs=1048576 count=$((kb / 1024)) conv=fsync 2>/dev/null || return 1
	if [ $((kb % 1024)) -ne 0 ]; then
		dd if=/dev/zero of="$1" bs=1024 seek=$((kb / 1024 * 1024)) count=$((kb % 1024)) \
			conv=fsync 2>/dev/null || return 1
	fi
}

# The large folios split so far in the guest, per folio size (the split
# counts of /sys/kernel/mm/transparent_hugepage/hugepages-*kB/stats, page
# cache folios included), as "split_16k=N split_32k=N ..." pairs.
mem_counts() {
	for stat in /sys/kernel/mm/transparent_hugepage/hugepages-*kB/stats/split; do
		[ -r "$stat" ] || continue
		kb=${stat#*/hugepages-}
		read -r n <"$stat" || n=0
		printf ' split_%sk=%s' "${kb%%kB/*}" "$n"
	done
}

# The differences of two mem_counts lines as " split_64k=D" for the row's
# line, only for the sizes with some split.
mem_delta() {
	printf '%s\n%s\n' "$1" "$2" | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (NR == 1) { was[kv[1]] = kv[2]; continue }
			d = kv[2] - was[kv[1]]
			if (d != 0) printf " %s=%d", kv[1], d
		}
	}'
}

# One directory row: fsbench's "ops=N ns=T opsps=R" as a table=fsdir line.
# Usage: measure_dir FS OP ROUND FSBENCH-ARGS...
measure_dir() {
	fs=$1 op=$2 round=$3 result=
	shift 3
	phase "fs=$fs op=dir_$op"
	if result=$(fsbench "$@"); then
		note "table=fsdir fs=$fs op=$op files=$dirfiles round=$round $result"
	else
		note "table=fsdir fs=$fs op=$op files=$dirfiles round=$round failed"
	fi
	phase other
}

# One round on the filesystem mounted at /mnt/$1; $2 is "disk" or "mem".
round() {
	fs=$1 kind=$2 r=$3 file=/mnt/$1/file
	for req in 4096 1048576; do
		rm -f "$file"
		drop_caches
		if selected write "$req"; then
			measure "$fs" write "$req" "$r" write "$file" "$size" "$req"
		elif selected read_cold "$req" || selected read_hot "$req" ||
			{ [ "$req" = 4096 ] && selected randwrite 1024; }; then
			fsbench write "$file" "$size" "$req" >/dev/null ||
				note "table=fs fs=$fs write file failed"
		fi
		if [ "$kind" = disk ]; then
			drop_caches
			measure "$fs" read_cold "$req" "$r" read "$file" "$req"
		fi
		measure "$fs" read_hot "$req" "$r" read "$file" "$req"
		if [ "$req" = 4096 ]; then
			drop_caches
			measure "$fs" randwrite 1024 "$r" randwrite "$file" "$randwrites"
		fi
	done
	rm -f "$file"
	# Partial-page-heavy rows, where vm_mvc is on toyfs's path: appends of
	# odd sizes each followed by fsync, and write/truncate-down/extend
	# cycles (odd sizes: partial blocks and pages at every end of file).
	drop_caches
	measure "$fs" appendsync 0 "$r" appendsync "$file" "$appends"
	rm -f "$file"
	drop_caches
	measure "$fs" trunccycle 0 "$r" trunccycle "$file" "$cycles"
	rm -f "$file"
	if selected sparse_cold 1048576 || selected sparse_hot 1048576; then
		fsbench sparse "$file" "$size" || note "table=fs fs=$fs sparse file failed"
	fi
	if [ "$kind" = disk ]; then
		drop_caches
		measure "$fs" sparse_cold 1048576 "$r" read "$file" 1048576
	fi
	measure "$fs" sparse_hot 1048576 "$r" read "$file" 1048576
	rm -f "$file"
	if selected dir 0; then
		dir=/mnt/$fs/dir
		rm -rf "$dir"
		drop_caches
		measure_dir "$fs" create "$r" dircreate "$dir" "$dirfiles"
		drop_caches
		measure_dir "$fs" stat "$r" dirstat "$dir" "$dirfiles"
		drop_caches
		measure_dir "$fs" readdir "$r" dirlist "$dir"
		measure_dir "$fs" unlink "$r" dirunlink "$dir" "$dirfiles"
		rm -rf "$dir"
	fi
	sync
}

mkdir -p /mnt/toyfs /mnt/ext2 /mnt/tmpfs
if ! insmod /modules/toyfs.ko; then
	note "table=fs failed: insmod toyfs"
	exit 0
fi
if [ -n "$iostat" ]; then
	# Files of the ramdisks' size in a tmpfs of their own.
	ramdisk_kb=$(($(cat /sys/block/ram0/size) / 2))
	mkdir -p /mnt/iostat
	if ! { mount -t tmpfs -o size=$((2 * ramdisk_kb + 1024))k tmpfs /mnt/iostat &&
		truncate -s "${ramdisk_kb}k" /mnt/iostat/toyfs.img /mnt/iostat/ext2.img &&
		toyfs_dev=$(losetup -f) && losetup "$toyfs_dev" /mnt/iostat/toyfs.img &&
		ext2_dev=$(losetup -f) && losetup "$ext2_dev" /mnt/iostat/ext2.img; }; then
		note "table=fs failed: loop devices for VM_MVC_BENCH_FS_IOSTAT"
		exit 0
	fi
fi
if [ "$prefill" = 1 ]; then
	free_before=$(memfree_kb)
	if ! { prefill_device "$toyfs_dev" && prefill_device "$ext2_dev"; }; then
		note "table=fs failed: writing the devices whole (VM_MVC_BENCH_FS_PREFILL)"
		rmmod toyfs
		exit 0
	fi
	free_filled=$(memfree_kb)
fi
if ! { mkfs.toyfs -q -b 1024 "$toyfs_dev" && mount -t toyfs "$toyfs_dev" /mnt/toyfs &&
	mke2fs -q -b 1024 -E nodiscard "$ext2_dev" >/dev/null && mount -t ext2 "$ext2_dev" /mnt/ext2 &&
	mount -t tmpfs -o size=256m tmpfs /mnt/tmpfs; }; then
	note "table=fs failed: making or mounting the filesystems"
	umount /mnt/toyfs /mnt/ext2 /mnt/tmpfs 2>/dev/null
	rmmod toyfs
	exit 0
fi
# The modules' symbols, for profile-report.py (the kernel's are in System.map).
[ -z "$profiling" ] || grep -E '\[(toyfs|vm_mvc)\]$' /proc/kallsyms |
	while read -r line; do echo "vm_mvc_profile: ksym $line" >/dev/kmsg; done
if [ "$prefill" = 1 ]; then
	note "fs prefill devices=$toyfs_dev,$ext2_dev memfree_kb before=$free_before filled=$free_filled made=$(memfree_kb)"
fi
calls_before=$(mvc_calls)
note "fs ramdisk_kb=$(($(cat /sys/block/ram0/size) / 2)) file=$size randwrites=$randwrites dirfiles=$dirfiles rounds=$rounds prefill=$prefill split_sizes=$(mem_counts | wc -w)${rows:+ rows=$rows}${iostat:+ devices=$toyfs_dev,$ext2_dev}"
r=1
while [ "$r" -le "$rounds" ]; do
	round toyfs disk "$r"
	round ext2 disk "$r"
	round tmpfs mem "$r"
	r=$((r + 1))
done
# What toyfs asked of vm_mvc over the whole table (calls per command).
# shellcheck disable=SC2086,SC2046 # two lists of four numbers
set -- $calls_before $(mvc_calls)
note "fs vm_mvc_calls_by_toyfs read=$(($5 - $1)) write=$(($6 - $2)) zero=$(($7 - $3)) protzero=$(($8 - $4))"
umount /mnt/toyfs /mnt/ext2 /mnt/tmpfs
# The benchmark must leave a consistent toyfs behind.
if fsck.toyfs -n "$toyfs_dev" >/tmp/fsck.log 2>&1; then
	note "fs fsck.toyfs clean"
else
	note "table=fs fsck.toyfs failed: $(tr '\n' ' ' </tmp/fsck.log)"
fi
rmmod toyfs
if [ -n "$iostat" ]; then
	losetup -d "$toyfs_dev" && losetup -d "$ext2_dev" && umount /mnt/iostat
fi
