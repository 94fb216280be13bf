#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest tests of the toyfs kernel module (samples/toyfs), one KTAP case
# each, on a brd ramdisk formatted with the host-built mkfs.toyfs.  Run by
# check.sh after vm_mvc is loaded.  The randomized tester runs in
# stress-tests.sh.
. /guest/ktap.sh
. /guest/toyfs-common.sh

dev=/dev/ram0
mnt=/mnt/toyfs
ref=/tmp/toyfs-ref
stats=/sys/kernel/debug/vm_mvc/stats
mkdir -p $mnt $ref

# "calls" of a vm_mvc command (zero, read, write, protzero) in the stats.
mvc_calls() { awk -v cmd="$1:" '$1 == cmd { print $3 }' $stats; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }
remount() { umount $mnt && mount -t toyfs $dev $mnt; }
# Fails unless $1 holds only zero bytes from $2 for $3 bytes.
zeros_at() { cmp -n "$3" /dev/zero "$1" 0 "$2"; }

# Writes $3 bytes of the pattern at offset $2 of both $1 and its reference.
write_both() {
	dd if=/tmp/pattern of="$mnt/$1" bs=1 skip="$(( $2 % 7 ))" seek="$2" count="$3" conv=notrunc 2>/dev/null &&
		dd if=/tmp/pattern of="$ref/$1" bs=1 skip="$(( $2 % 7 ))" seek="$2" count="$3" conv=notrunc 2>/dev/null
}

unaligned_writes_and_reads() {
	: >$mnt/unaligned && : >$ref/unaligned || return 1
	for spec in 0:1 1:1022 1023:2 1024:1024 2047:2050 4095:2 4096:1 4000:200 \
		5000:3000 8191:1 12287:4099 20000:1 65535:7 1:4095; do
		write_both unaligned "${spec%:*}" "${spec#*:}" || return 1
		cmp $mnt/unaligned $ref/unaligned || return 1
	done
	for size in 1 511 1023 1024 1025 4095 4096 4097; do
		for off in 0 1 1000 1023 4095 4096 8190; do
			cmp -n $size $mnt/unaligned $ref/unaligned $off $off || return 1
		done
	done
	# Again from the disk, through read_folio.
	drop_caches && cmp $mnt/unaligned $ref/unaligned
}

sparse_gap_reads_as_zeros() {
	printf x | dd of=$mnt/sparse bs=1 seek=100000 2>/dev/null || return 1
	[ "$(stat -c %s $mnt/sparse)" = 100001 ] || return 1
	zeros_at $mnt/sparse 0 100000 || return 1
	drop_caches && zeros_at $mnt/sparse 0 100000 || return 1
	[ "$(dd if=$mnt/sparse bs=1 skip=100000 count=1 2>/dev/null)" = x ] || return 1
	# Holes stay holes: one data block (1 KiB = 2 sectors) plus an
	# indirect block, not 98.
	blocks=$(stat -c %b $mnt/sparse)
	echo "sparse file of 100001 bytes uses $blocks sectors"
	[ "$blocks" -le 4 ]
}

truncate_into_block_then_extend_shows_zeros() {
	dd if=/tmp/pattern of=$mnt/trunc bs=8192 count=1 2>/dev/null || return 1
	truncate -s 1500 $mnt/trunc && truncate -s 8192 $mnt/trunc || return 1
	cmp -n 1500 /tmp/pattern $mnt/trunc || return 1
	zeros_at $mnt/trunc 1500 6692 || return 1
	drop_caches && zeros_at $mnt/trunc 1500 6692 || return 1
	remount && zeros_at $mnt/trunc 1500 6692 && cmp -n 1500 /tmp/pattern $mnt/trunc
}

mmap_store_into_hole_is_read_back() {
	truncate -s 12288 $mnt/mmhole || return 1
	drop_caches
	before=$(stat -c %b $mnt/mmhole)
	toyfs-stress mmap-store $mnt/mmhole 5000 171 || return 1
	[ "$(dd if=$mnt/mmhole bs=1 skip=5000 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')" = 171 ] || return 1
	after=$(stat -c %b $mnt/mmhole)
	echo "blocks before $before after $after"
	[ "$after" -gt "$before" ] || return 1
	drop_caches
	[ "$(dd if=$mnt/mmhole bs=1 skip=5000 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')" = 171 ] &&
		zeros_at $mnt/mmhole 0 5000 && zeros_at $mnt/mmhole 5001 7287
}

mmap_store_past_eof_not_exposed_by_extend() {
	dd if=/tmp/pattern of=$mnt/mmeof bs=1500 count=1 2>/dev/null || return 1
	# Inside the last page, past the end of the file.
	toyfs-stress mmap-store $mnt/mmeof 3000 85 || return 1
	[ "$(stat -c %s $mnt/mmeof)" = 1500 ] || return 1
	truncate -s 8192 $mnt/mmeof && zeros_at $mnt/mmeof 1500 6692 || return 1
	# The same through write(2) past the end.
	dd if=/tmp/pattern of=$mnt/mmeof2 bs=1500 count=1 2>/dev/null || return 1
	toyfs-stress mmap-store $mnt/mmeof2 2000 85 || return 1
	printf y | dd of=$mnt/mmeof2 bs=1 seek=6000 2>/dev/null || return 1
	zeros_at $mnt/mmeof2 1500 4500 || return 1
	remount && zeros_at $mnt/mmeof 1500 6692 && zeros_at $mnt/mmeof2 1500 4500
}

create_lookup_readdir_unlink() {
	for name in a bb "with space" "$(printf 'n%.0s' $(seq 1 200))"; do
		echo "$name" >"$mnt/$name" || return 1
	done
	for i in $(seq 1 60); do : >$mnt/many-$i || return 1; done
	[ "$(ls $mnt | grep -c '^many-')" = 60 ] || return 1
	for i in $(seq 1 60); do rm $mnt/many-$i || return 1; done
	[ "$(ls $mnt | grep -c '^many-')" = 0 ] || return 1
	[ "$(cat "$mnt/with space")" = "with space" ] || return 1
	! ls $mnt/missing 2>/dev/null || return 1
	! echo x >$mnt/$(printf 'n%.0s' $(seq 1 256)) 2>/dev/null
}

mkdir_rename_rmdir_keep_links_right() {
	mkdir $mnt/d1 && mkdir $mnt/d1/d2 || return 1
	echo one >$mnt/d1/f && echo two >$mnt/g || return 1
	[ "$(stat -c %h $mnt/d1)" = 3 ] || return 1
	! rmdir $mnt/d1 2>/dev/null || return 1
	# Across directories, then over an existing file.
	mv $mnt/d1/f $mnt/d1/d2/f && mv $mnt/g $mnt/d1/d2/f || return 1
	[ "$(cat $mnt/d1/d2/f)" = two ] && [ ! -e $mnt/g ] || return 1
	# A directory changes parent: its ".." and both link counts follow.
	mv $mnt/d1/d2 $mnt/d3 || return 1
	[ "$(stat -c %h $mnt/d1)" = 2 ] || return 1
	[ "$(stat -c %i $mnt/d3/..)" = "$(stat -c %i $mnt)" ] || return 1
	umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt || return 1
	# Enough subdirectories to grow d3 past one block, then none.
	for i in $(seq 1 60); do mkdir $mnt/d3/subdirectory-$i || return 1; done
	[ "$(stat -c %h $mnt/d3)" = 62 ] || return 1
	for i in $(seq 1 60); do rmdir $mnt/d3/subdirectory-$i || return 1; done
	rm $mnt/d3/f && rmdir $mnt/d3 $mnt/d1 || return 1
	umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt
}

remount_read_only_and_back() {
	echo before >$mnt/remount || return 1
	mount -o remount,ro $mnt || return 1
	! echo after 2>/dev/null >$mnt/remount || return 1
	# Read-only: the disk holds everything, in the clean state.
	fsck_clean $dev || return 1
	mount -o remount,rw $mnt && echo after >$mnt/remount || return 1
	[ "$(cat $mnt/remount)" = after ] && rm $mnt/remount || return 1
	umount $mnt && fsck_clean $dev && mount -t toyfs $dev $mnt
}

remount_keeps_bytes_and_fsck_is_clean() {
	(cd $mnt && md5sum * >/tmp/sums) || return 1
	umount $mnt && fsck_clean $dev || return 1
	mount -t toyfs $dev $mnt && (cd $mnt && md5sum -c -s /tmp/sums)
}

# alloc_block resumes where the previous allocation ended; blocks freed
# below that point must still be found once the rest of the disk is full.
freed_blocks_below_the_last_allocation_are_reused() {
	remount || return 1
	dd if=/dev/zero of=$mnt/early bs=4096 count=64 2>/dev/null || return 1
	dd if=/dev/zero of=$mnt/rest bs=4096 count=2000 2>/dev/null
	[ "$(stat -f -c %f $mnt)" -le 1 ] || return 1
	rm $mnt/early || return 1
	dd if=/dev/zero of=$mnt/again bs=4096 count=60 conv=fsync 2>&1 || return 1
	rm $mnt/rest $mnt/again && umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt
}

full_disk_gives_enospc_and_stays_consistent() {
	out=$(dd if=/dev/zero of=$mnt/fill bs=4096 count=2000 2>&1)
	echo "$out" | tail -n 2
	echo "$out" | grep -q 'No space left' || return 1
	[ "$(stat -f -c %f $mnt)" -le 1 ] || return 1
	# A hole page of a full disk cannot get its block through mmap.
	truncate -s 65536 $mnt/fill-hole || return 1
	! toyfs-stress mmap-store $mnt/fill-hole 40000 1 2>/dev/null || return 1
	umount $mnt && fsck.toyfs -n $dev || return 1
	mount -t toyfs $dev $mnt && rm $mnt/fill $mnt/fill-hole && umount $mnt && fsck.toyfs -n $dev &&
		mount -t toyfs $dev $mnt
}

bad_superblocks_are_refused() {
	dd if=/dev/zero of=/dev/ram1 bs=4096 count=4 2>/dev/null || return 1
	! mount -t toyfs /dev/ram1 /mnt 2>/dev/null || return 1
	mkfs.toyfs -q /dev/ram1 || return 1
	# One flipped bit of the block count: the checksum no longer matches.
	printf '\001' | dd of=/dev/ram1 bs=1 seek=12 conv=notrunc 2>/dev/null || return 1
	! mount -t toyfs /dev/ram1 /mnt 2>/dev/null || return 1
	dmesg | grep -q 'toyfs: not a valid toyfs superblock: bad checksum'
}

counters_show_vm_mvc_did_the_partial_pages() {
	for cmd in zero read write protzero; do
		after=$(mvc_calls $cmd)
		before=$(eval echo "\$before_$cmd")
		echo "vm_mvc $cmd calls: $before -> $after"
		[ "$after" -gt "$before" ] || return 1
	done
}

ktap_suite toyfs 17
for cmd in zero read write protzero; do eval "before_$cmd=$(mvc_calls $cmd)"; done
dd if=/dev/urandom of=/tmp/pattern bs=4096 count=32 2>/dev/null
ktap_case insmod_toyfs insmod /modules/toyfs.ko
ktap_case mkfs_on_ramdisk mkfs.toyfs -q $dev
ktap_case mount mount -t toyfs $dev $mnt
ktap_case unaligned_writes_and_reads unaligned_writes_and_reads
ktap_case sparse_gap_reads_as_zeros sparse_gap_reads_as_zeros
ktap_case truncate_into_block_then_extend_shows_zeros truncate_into_block_then_extend_shows_zeros
ktap_case mmap_store_into_hole_is_read_back mmap_store_into_hole_is_read_back
ktap_case mmap_store_past_eof_not_exposed_by_extend mmap_store_past_eof_not_exposed_by_extend
ktap_case create_lookup_readdir_unlink create_lookup_readdir_unlink
ktap_case mkdir_rename_rmdir_keep_links_right mkdir_rename_rmdir_keep_links_right
ktap_case bad_superblocks_are_refused bad_superblocks_are_refused
ktap_case remount_read_only_and_back remount_read_only_and_back
ktap_case remount_keeps_bytes_and_fsck_is_clean remount_keeps_bytes_and_fsck_is_clean
ktap_case freed_blocks_below_the_last_allocation_are_reused freed_blocks_below_the_last_allocation_are_reused
ktap_case full_disk_gives_enospc_and_stays_consistent full_disk_gives_enospc_and_stays_consistent
ktap_case counters_show_vm_mvc_did_the_partial_pages counters_show_vm_mvc_did_the_partial_pages
ktap_case umount_clean_and_rmmod sh -c "umount $mnt && fsck.toyfs -n $dev && rmmod toyfs"
ktap_end
