#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# toyfs at the sizes xfstests and fsstress give a filesystem: a 4 GiB
# sparse image (its inode table alone is 128 MiB), thousands of files,
# a directory of 10,000 entries, the largest file.  Loop devices over
# sparse files in the guest's tmpfs cost memory only for what is
# written.  Part "scale" of check.sh; Documentation/testing.rst.
. /guest/ktap.sh
. /guest/toyfs-common.sh

work=/tmp/scale
mnt=/mnt/scale
mkdir -p $work $mnt

# A new sparse image file $1 of size $2 on a loop device: its name.
loop_image() {
	rm -f "$1" && truncate -s "$2" "$1" && loop=$(losetup -f) && losetup "$loop" "$1" && echo "$loop"
}
kib_of() { du -k "$1" | cut -f1; }
buffers_kib() { awk '$1 == "Buffers:" { print $2 }' /proc/meminfo; }
# Free fragments (f_bfree) and the sum of st_blocks (512-byte units)
# of every inode under $1: what the files hold and what statfs says
# move together, exactly.
free_of() { stat -f -c %f "$1"; }
used_of() { find "$1" -xdev | xargs stat -c %b | awk '{ s += $1 } END { print s }'; }
frsize_of() { stat -f -c %S "$1"; }
inode_max() { find "$1" -xdev | xargs stat -c %i | sort -n | tail -1; }
free_inodes() { stat -f -c %d "$1"; }
# Creates files $1/f$2 .. $1/f$(($3 - 1)).
make_files() {
	i=$2
	while [ "$i" -lt "$3" ]; do
		: >"$1/f$i" || return 1
		i=$((i + 1))
	done
}

kunit_quiet
insmod /modules/toyfs.ko
kunit_loud
# The debug kernel (KASAN, lockdep, kmemleak, under TCG) makes a fifth
# of the files: its run is about slowness caught by checkers, not size.
many=10000 some=2000 few=500
if [ -e /sys/kernel/debug/kmemleak ]; then
	many=2000 some=400 few=100
fi
ktap_suite toyfs_scale 8

big=$work/big.img
dev=$(loop_image $big 4G) || exit 1

# mkfs writes no zeros over an inode table that reads as zeros (the
# image stays sparse: 128 MiB before), and a clean mount reads none of
# it (it read all of it: 128 MiB of buffer cache and 1.7 s on User-Mode
# Linux, 8 s for 16 GiB); statfs gives the whole image.
large_sparse_image() {
	mkfs.toyfs -q -b 1024 "$dev" || return 1
	written=$(kib_of $big)
	echo "mkfs of a 4 GiB image: $written KiB of it written"
	[ "$written" -lt 8192 ] || return 1
	sync && echo 3 >/proc/sys/vm/drop_caches
	before=$(buffers_kib) start=$(cut -d' ' -f1 /proc/uptime)
	mount -t toyfs "$dev" $mnt || return 1
	end=$(cut -d' ' -f1 /proc/uptime) after=$(buffers_kib)
	echo "mount: $((after - before)) KiB of buffer cache, $start -> $end s"
	[ $((after - before)) -lt 16384 ] || return 1
	stat -f -c 'blocks %b of %S bytes, free %f, inodes %c, free %d' $mnt
	[ "$(stat -f -c '%b %S %c %d' $mnt)" = "4194304 1024 1048576 1048575" ]
}
ktap_case large_sparse_image_mkfs_and_mount_read_no_inode_table large_sparse_image

# Files on it ($some): statfs's free count moves exactly with the files'
# blocks; after a quarter of them go and a clean remount (the inode table read again
# only as far as allocation needs), new files take the freed inode
# numbers and no old file is harmed; fsck clean both times.
files_on_a_large_image() {
	free0=$(free_of $mnt) used0=$(used_of $mnt) per=$(($(frsize_of $mnt) / 512))
	mkdir $mnt/a $mnt/b && make_files $mnt/a 0 $some || return 1
	i=0
	while [ $i -lt $some ]; do
		echo "file $i" >$mnt/a/f$i || return 1
		i=$((i + 2))
	done
	dd if=/dev/zero of=$mnt/b/mib bs=64k count=16 2>/dev/null &&
		printf end | dd of=$mnt/b/last bs=1 seek=67383293 2>/dev/null || return 1
	sync
	free1=$(free_of $mnt) used1=$(used_of $mnt)
	echo "free $free0 -> $free1 fragments, files $used0 -> $used1 sectors"
	[ $(((free0 - free1) * per)) -eq $((used1 - used0)) ] || return 1
	[ "$(stat -c %s $mnt/b/last)" = 67383296 ] || return 1
	i=1
	while [ $i -lt $some ]; do
		rm $mnt/a/f$i || return 1
		i=$((i + 4))
	done
	umount $mnt && fsck_clean "$dev" && mount -t toyfs "$dev" $mnt || return 1
	# $few inodes freed, one more taken (c and its files): the lowest
	# free first, so one past the largest number in use before.
	old_max=$(inode_max $mnt)
	mkdir $mnt/c && make_files $mnt/c 0 $few || return 1
	new_max=$(inode_max $mnt/c)
	echo "largest inode number: $old_max before, $new_max of the $((few + 1)) new inodes"
	[ "$new_max" -eq $((old_max + 1)) ] || return 1
	i=0
	while [ $i -lt $some ]; do
		[ "$(cat $mnt/a/f$i)" = "file $i" ] || { echo "a/f$i: $(cat $mnt/a/f$i)"; return 1; }
		i=$((i + 2))
	done
	rm -r $mnt/a $mnt/b $mnt/c && sync || return 1
	[ "$(free_of $mnt) $(used_of $mnt)" = "$free0 $used0" ] || return 1
	umount $mnt && fsck_clean "$dev"
}
ktap_case files_at_both_ends_statfs_exact files_on_a_large_image
umount $mnt 2>/dev/null
losetup -d "$dev"
rm -f $big

# The inode table runs out after a clean mount (the free inodes are
# found by reading it on from where allocation got to): ENOSPC, df -i
# says 0, and inodes freed after a remount are found again.
inodes_run_out() {
	dev=$(loop_image $work/few.img 8M) && mkfs.toyfs -q -N 200 "$dev" &&
		mount -t toyfs "$dev" $mnt || return 1
	umount $mnt && mount -t toyfs "$dev" $mnt || return 1
	echo "free inodes: $(free_inodes $mnt)"
	make_files $mnt 0 199 || return 1
	out=$(: 2>&1 >$mnt/one-more) && return 1
	echo "the 200th inode: $out"
	case $out in *"No space left"*) ;; *) return 1 ;; esac
	echo "free inodes: $(free_inodes $mnt)"
	[ "$(free_inodes $mnt)" = 0 ] || return 1
	umount $mnt && mount -t toyfs "$dev" $mnt && rm $mnt/f7 $mnt/f150 || return 1
	echo "free inodes after two unlinks: $(free_inodes $mnt)"
	: >$mnt/again1 && : >$mnt/again2 || return 1
	# touch, not a redirection of ":": a special built-in whose
	# redirection fails ends the shell.
	if touch $mnt/again3 2>/dev/null; then
		echo "a third inode was found"
		return 1
	fi
	echo "free inodes: $(free_inodes $mnt)"
	[ "$(free_inodes $mnt)" = 0 ] && umount $mnt && fsck_clean "$dev"
}
ktap_case inodes_run_out_after_a_clean_mount inodes_run_out
umount $mnt 2>/dev/null
losetup -d "$dev" 2>/dev/null
rm -f $work/few.img

# The largest file of 4 KiB blocks (12 + 1024 + 1024^2 + 1024^3 blocks,
# about 4 TiB, through the triple-indirect block; 12 + 1024 + 1024^2,
# about 4 GiB, before it), on an 8 GiB image: its last bytes, then EFBIG
# one byte on, for a write and for truncate, as s_maxbytes says.
largest_file() {
	dev=$(loop_image $work/max.img 8G) && mkfs.toyfs -q -b 4096 "$dev" &&
		mount -t toyfs "$dev" $mnt || return 1
	max=4402345721856
	printf abc | dd of=$mnt/max bs=1 seek=$((max - 3)) 2>/dev/null || return 1
	[ "$(stat -c %s $mnt/max)" = $max ] || return 1
	[ "$(dd if=$mnt/max bs=1 skip=$((max - 3)) count=3 2>/dev/null)" = abc ] || return 1
	out=$(printf d | dd of=$mnt/max bs=1 seek=$max 2>&1) && return 1
	echo "a byte at $max: $out"
	case $out in *"too large"*) ;; *) return 1 ;; esac
	truncate -s $max $mnt/edge || return 1
	! truncate -s $((max + 1)) $mnt/edge 2>/dev/null || return 1
	# Three indirect blocks and a data block.
	echo "blocks: $(stat -c %b $mnt/max)"
	[ "$(stat -c %b $mnt/max)" = 32 ] || return 1
	umount $mnt && fsck_clean "$dev"
}
ktap_case largest_file_of_4k_blocks largest_file
umount $mnt 2>/dev/null
losetup -d "$dev" 2>/dev/null
rm -f $work/max.img

# The most blocks a block number names, 2^32 - 1 of 4 KiB (16 TiB less
# a block): a mount that recounts (the superblock says dirty, as after a
# crash) counts the free blocks to the last one, and statfs says what
# the clean mount said (the count's u32 arithmetic overflowed at the last
# byte of the bitmap: a panic).  Its bitmap, 512 MiB, stays in memory
# while mounted (Documentation/toyfs.rst, "Limits"): not on the debug
# kernel, whose checkers make that too slow.
largest_image() {
	dev=$(loop_image $work/huge.img $((4294967295 * 4096))) &&
		mkfs.toyfs -q -b 4096 -N 64 "$dev" && mount -t toyfs "$dev" $mnt || return 1
	# The superblock as a read-write mount leaves it: state dirty.
	dd if="$dev" of=$work/dirty-sb bs=4096 count=1 2>/dev/null || return 1
	clean=$(stat -f -c 'blocks %b free %f inodes %c free %d' $mnt)
	echo "clean mount: $clean"
	umount $mnt && dd if=$work/dirty-sb of="$dev" bs=4096 count=1 conv=notrunc 2>/dev/null &&
		mount -t toyfs "$dev" $mnt || return 1
	dirty=$(stat -f -c 'blocks %b free %f inodes %c free %d' $mnt)
	echo "recounted: $dirty"
	[ "$dirty" = "$clean" ] && [ "${clean#blocks 4294967295 }" != "$clean" ] &&
		dmesg | grep -q 'not cleanly unmounted: recounting' && umount $mnt
}
if [ -e /sys/kernel/debug/kmemleak ]; then
	ktap_skip largest_image_recounted "debug kernel: a 512 MiB bitmap under KASAN"
else
	ktap_case largest_image_recounted largest_image
fi
umount $mnt 2>/dev/null
losetup -d "$dev" 2>/dev/null
rm -f $work/huge.img $work/dirty-sb

dev=$(loop_image $work/files.img 256M) && mkfs.toyfs -q "$dev" && mount -t toyfs "$dev" $mnt

# $many files (10,000) in 10 directories, then rm -rf: every block and inode
# back (statfs exactly as before), fsck clean.
many_files() {
	before=$(stat -f -c '%f %d' $mnt) start=$(cut -d' ' -f1 /proc/uptime)
	for d in 0 1 2 3 4 5 6 7 8 9; do
		mkdir $mnt/d$d && make_files $mnt/d$d 0 $((many / 10)) || return 1
	done
	made=$(cut -d' ' -f1 /proc/uptime)
	rm -rf $mnt/d* && sync || return 1
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "$many files: created $start -> $made s, removed by rm -rf -> $end s"
	[ "$(stat -f -c '%f %d' $mnt)" = "$before" ] && umount $mnt && fsck_clean "$dev" &&
		mount -t toyfs "$dev" $mnt
}
ktap_case many_files_rm_rf_gives_all_back many_files

# A directory of $many entries (10,000) listed again and again, each listing
# resumed from saved positions (telldir/seekdir), while a third of it is
# unlinked: every survivor listed exactly once in every listing.
readdir_unlink() {
	toyfs-stress readdir-unlink $mnt/big $many 1 && rm -rf $mnt/big && umount $mnt &&
		fsck_clean "$dev"
}
ktap_case readdir_of_a_large_directory_beside_unlinks readdir_unlink
umount $mnt 2>/dev/null
losetup -d "$dev" 2>/dev/null
rm -rf $work
# Nothing left mounted or referenced: the module goes.
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
