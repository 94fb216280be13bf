#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest tests of toyfs on damaged images (issue 6, case 2).  Each named
# damage of toyfs-damage is applied to a copy of its source image (files
# whose every 16 bytes name their inode), written to a brd ramdisk and
# mounted: the mount must be refused, or the damaged object must fail with
# EUCLEAN/EIO and a ratelimited message, every page read must be exactly
# the blocks its map names (never another file's, never a free block),
# writes must not crash, the unmount must succeed and fsck.toyfs must name
# the damage.  The device is a loop device over a file of exactly the
# image's size (1 MiB).  The damages of the fragment source image (fragments
# and LZ4: tails, compressed blocks) are mounted read-write too: a damaged
# compressed block stays EUCLEAN when written around.  Then the seeded
# byte-flipper: CORRUPT_FLIP_IMAGES
# images per seed, any outcome but a crash, hang, foreign read or splat,
# on the plain source and (one seed) the fragment source.
. /guest/ktap.sh
. /guest/debian.sh

mnt=/mnt/corrupt
work=/tmp/corrupt
backing=$work/device.img
source_image=$work/source.img
fragment_image=$work/fragments.img
image=$work/damaged.img
# Seconds one image may take (mount, walk, read, write, unmount) before it
# counts as a hang.  Generous: TCG under KASAN is slow.
limit=120
flip_seeds=${CORRUPT_FLIP_SEEDS:-"1 2 3"}
# Images per seed: about 2 minutes of flipping in all on the base kernel,
# measured at 0.4 s an image under TCG; the debug kernel (1.5 s an image)
# flips 12 per seed, about 75 s in all: its guest is CI's longest part,
# and the base kernel flips the same seeds' first 12 images and 88 more.
# User-Mode Linux's debug kernel took 4.2 s an image (7 minutes for the
# four batches), which is why it flips 8 (Documentation/testing.rst, "The
# debug UML kernel"); the log says so.
flip_note=
if grep -q panic_on_warn=1 /proc/cmdline; then
	flip_images=${CORRUPT_FLIP_IMAGES:-12}
	if grep -q '^vendor_id.*User Mode Linux' /proc/cpuinfo && [ -z "${CORRUPT_FLIP_IMAGES:-}" ]; then
		flip_images=8
		flip_note="User-Mode Linux debug kernel: 8 images per seed, not 12 (4 s an image there)"
	fi
else
	flip_images=${CORRUPT_FLIP_IMAGES:-100}
fi
mkdir -p $mnt $work

# The kernel log since the marker line of the current case.
log_since_mark() { dmesg | sed -n "\\|corrupt-tests: $1\$|,\$p"; }
mark() { echo "corrupt-tests: $1" >/dev/kmsg; }

# Mounts read-write at $mnt the image $2 with damage $1, marked in the
# kernel log as "$3: $1".
mount_damaged() {
	cp "$2" $image && toyfs-damage apply "$1" $image >/dev/null && to_device $image || return 1
	mark "$3: $1"
	mount -w -t toyfs "$dev" $mnt
}

# Writes image $1 to the device, through its page cache.
to_device() { dd if="$1" of="$dev" bs=64k 2>/dev/null; }

attach_loop_device() {
	cp $source_image $backing && dev=$(losetup -f) && losetup "$dev" $backing && echo "$dev"
}

named_damage() {
	name=$1
	info=$(toyfs-damage info "$name") || return 1
	expect=$(echo "$info" | sed -n 's/^expect=//p')
	fsck_says=$(echo "$info" | sed -n 's/^fsck=//p')
	message=$(echo "$info" | sed -n 's/^message=//p')
	from=$source_image opts=rw
	if [ "$(echo "$info" | sed -n 's/^source=//p')" = fragments ]; then
		from=$fragment_image
	fi
	cp $from $image && toyfs-damage apply "$name" $image && to_device $image || return 1
	mark "$name"
	if [ "$expect" = refused ]; then
		if mount -o $opts -t toyfs "$dev" $mnt; then
			echo "mounted an image that must be refused"
			umount $mnt
			return 1
		fi
		# A refused mount writes nothing (not even the dirty state).
		if ! cmp -n "$(stat -c %s $image)" $image "$dev" >/dev/null; then
			echo "the refused mount wrote to the device: $(cmp -n "$(stat -c %s $image)" $image "$dev")"
			return 1
		fi
	else
		mount -o $opts -t toyfs "$dev" $mnt || return 1
		timeout $limit toyfs-damage exercise $mnt $image "$name"
		status=$?
		umount $mnt || { echo "umount failed"; return 1; }
		[ $status -eq 0 ] || return 1
	fi
	if [ -n "$message" ] && ! log_since_mark "$name" | grep -Eq "$message"; then
		echo "no kernel message matching '$message'"
		return 1
	fi
	log_since_mark "$name" | grep -E 'toyfs: |VFS: ' | head -3
	# fsck reads the image as damaged, before the kernel wrote to it;
	# -f decompresses every compressed block.
	report=$(fsck.toyfs -f -n $image)
	[ $? -eq 4 ] || { echo "fsck.toyfs did not exit 4"; echo "$report"; return 1; }
	echo "$report" | grep -F -- "$fsck_says" || { echo "fsck.toyfs does not say '$fsck_says'"; return 1; }
}

# The images of seed $1's flipper batch, from source image $2 mounted with
# options $3; prints the seed and image of each failure, which
# `toyfs-damage flip SOURCE OUT SEED N` reproduces.
flip_batch() {
	seed=$1 from=$2 opts=$3
	refused=0 mounted=0 failed=0 n=0
	while [ $n -lt "$flip_images" ]; do
		toyfs-damage flip "$from" $image "$seed" $n >$work/flips || return 1
		to_device $image || return 1
		mark "seed $seed image $n"
		if mount -o "$opts" -t toyfs "$dev" $mnt 2>/dev/null; then
			mounted=$((mounted + 1))
			if ! timeout $limit toyfs-damage exercise $mnt $image >$work/outcome; then
				failed=$((failed + 1))
				echo "seed $seed image $n failed:"
				cat $work/flips
				grep -v '^error as documented' $work/outcome
			fi
			if ! umount $mnt; then
				echo "seed $seed image $n: umount failed"
				cat $work/flips
				return 1
			fi
		else
			refused=$((refused + 1))
		fi
		n=$((n + 1))
	done
	[ -z "$flip_note" ] || echo "$flip_note"
	echo "seed $seed: $flip_images images, $mounted mounted, $refused refused, $failed failed"
	[ $failed -eq 0 ]
}

# toyfs checks a directory block once each time it is read from the disk
# (samples/toyfs/dir.rs): a block checked, then damaged on the disk
# behind the cache (written into the loop device's backing file, not
# through the device) and evicted (drop_caches), is checked again when read
# again.  The name looked up is the first of /many, before the damaged
# entry (toyfs-damage's many_name(3)) in the same block: a walk reaches it
# without decoding the damaged entry, so only the block's check sees the
# damage.  First reads of damaged blocks are the named damages above.
directory_damaged_after_check() {
	name=entry_rec_len_unaligned first=$mnt/many/entry-with-a-longer-name-00
	cp $source_image $image && toyfs-damage apply $name $image >/dev/null || return 1
	to_device $source_image || return 1
	mark "after check: $name"
	mount -t toyfs "$dev" $mnt || return 1
	# Every directory block read and checked: the image is clean.
	if ! stat $first >/dev/null || ! ls -laR $mnt >/dev/null; then
		umount $mnt
		return 1
	fi
	dd if=$image of=$backing bs=64k conv=notrunc 2>/dev/null || { umount $mnt; return 1; }
	sync && echo 3 >/proc/sys/vm/drop_caches
	if stat $first >/dev/null 2>$work/stat.err; then
		echo "$first found: its damaged block was not checked when read again"
		umount $mnt
		return 1
	fi
	cat $work/stat.err
	# A create there fails the same way (its lookup reads every block, the
	# walk for room may start past the damaged one: dir.rs, RoomHint) and
	# adds nothing.
	size=$(stat -c %s $mnt/many) &&
		! touch $mnt/many/created-after-the-damage 2>>$work/stat.err &&
		[ "$(stat -c %s $mnt/many)" = "$size" ] &&
		[ ! -e $mnt/many/created-after-the-damage ] 2>/dev/null
	created=$?
	umount $mnt || return 1
	[ $created -eq 0 ] || { echo "the create in the damaged directory did not fail as it must"; return 1; }
	[ "$(grep -c 'Structure needs cleaning' $work/stat.err)" -ge 2 ] || return 1
	log_since_mark "after check: $name" | grep -E 'toyfs: [a-z0-9]+: corrupted: inode' | head -1 |
		grep . || { echo "no kernel message"; return 1; }
}

# The clean image with fragments and LZ4 mounted read-write: every file
# reads as the image's maps say, the writes (a new file, appends and
# truncations of the files read, compressed ones among them) succeed, and
# fsck.toyfs -f finds nothing after the unmount.
fragments_writable() {
	to_device $fragment_image || return 1
	mount -w -t toyfs "$dev" $mnt || return 1
	timeout $limit toyfs-damage exercise $mnt $fragment_image >$work/outcome
	status=$?
	tail -n 1 $work/outcome
	umount $mnt || return 1
	[ $status -eq 0 ] || { cat $work/outcome; return 1; }
	fsck.toyfs -f -n "$dev"
}

# A file unlinked whose packed tail lies in a block with a damaged header
# (tail_block_without_magic; the last close evicts it) is freed all the
# same: its whole blocks and its inode, the damage reported (a kernel
# message naming the device).  Before, delete_inode stopped at the tail
# (review rev10, S "orphaned inode"): the inode and every block stayed
# allocated, named by no entry.  After the unmount fsck reports the
# damaged tail block, and no orphan, unreachable inode or unowned block.
unlink_beside_a_damaged_tail_block_frees_the_rest() {
	name=tail_block_without_magic
	mount_damaged $name $fragment_image unlink || return 1
	free0=$(stat -f -c %f $mnt) && rm $mnt/plain/packed-b && free1=$(stat -f -c %f $mnt)
	status=$?
	umount $mnt || { echo "umount failed"; return 1; }
	[ $status -eq 0 ] || return 1
	[ "$free1" -gt "$free0" ] || { echo "free blocks $free0 before the unlink, $free1 after"; return 1; }
	log_since_mark "unlink: $name" | grep -E 'toyfs: [a-z0-9]+: inode [0-9]+: packed tail not released' ||
		{ echo "no kernel message naming the device"; return 1; }
	report=$(fsck.toyfs -f -n "$dev")
	[ $? -eq 4 ] || { echo "fsck.toyfs did not exit 4"; echo "$report"; return 1; }
	echo "$report" | grep -F "tail block" || { echo "$report"; return 1; }
	if echo "$report" | grep -E "orphan|not reachable|nlink|no inode uses it"; then
		return 1
	fi
}

# A tail block whose count of tails is below the inodes that name it
# (tail_block_count_too_low: 3, and four files have their tail in it):
# once the three plain files are removed, the last removal finds
# /packed-z still naming the block, which stays allocated (EUCLEAN, a
# message naming the device, the block kept and the inode naming it,
# and none saying something was left for fsck: nothing was), its count
# 1.  /packed-z reads as before
# after a remount, and fsck finds the image clean (one inode names the
# block, its count 1); /packed-z removed too, the block is freed and
# fsck finds it clean again.  Before the fix the third removal freed the
# block while /packed-z named it: read after the remount it was EUCLEAN
# ("block pointer names a free block"), and the block could be given to
# another file.  Until the messages were fixed the removal also said
# "packed tail not released (EUCLEAN): its tail block's count left for
# fsck", though the count was right for the one inode left.
tail_count_too_low_frees_no_named_block() {
	name=tail_block_count_too_low
	mount_damaged $name $fragment_image count || return 1
	sum=$(md5sum <$mnt/packed-z) &&
		rm $mnt/plain/packed-a $mnt/plain/packed-b $mnt/plain/packed-c
	status=$?
	umount $mnt || { echo "umount failed"; return 1; }
	[ $status -eq 0 ] || return 1
	fsck.toyfs -f -n "$dev" || { echo "fsck.toyfs after the removals"; return 1; }
	log_since_mark "count: $name" |
		grep -E "toyfs: [a-z0-9]+: corrupted: inode [0-9]+: tail block's count of tails below .*: tail block [0-9]+ kept, inode [0-9]+ names it" ||
		{ echo "no kernel message naming the device, the block kept and the inode"; return 1; }
	if log_since_mark "count: $name" | grep -F "left for fsck"; then
		echo "nothing was left for fsck"
		return 1
	fi
	mount -w -t toyfs "$dev" $mnt || return 1
	after=$(md5sum <$mnt/packed-z) && rm $mnt/packed-z
	status=$?
	umount $mnt || { echo "umount failed"; return 1; }
	[ $status -eq 0 ] || return 1
	[ "$after" = "$sum" ] || { echo "/packed-z changed: $sum before, $after after"; return 1; }
	fsck.toyfs -f -n "$dev"
}

# Two files whose packed tails share a tail block counted 1 (toyfs-damage's
# tail_block_count_too_low, count 3 for four tails; /plain/packed-a and
# /plain/packed-b removed first bring it to 1 with /plain/packed-c and
# /packed-z still naming it) freed at once: both unlinked while open, the
# block's cached copy dropped (its read then takes a while), and the two
# last closes (which free the inodes) let go together.  One of them must
# find the other still naming the block (the "kept" message) and the
# other free it, or (the other's inode stored without its tail before the
# first read the owners) free it and the other find it freed already:
# exactly one free of the block, no "block freed twice", nothing left for
# fsck, statfs's free count fsck's, and fsck clean after the unmount.  Before the fix
# (tails::drop_tail), each forgot its own pair and then, both finding the
# count at 1 and no other owner, both freed the block (the second free
# "block freed twice", EUCLEAN; with the block given to another file in
# between, that file's block freed).  TAIL_RACE_ROUNDS rounds (20), each
# on a fresh copy of the image.
tail_race_round() {
	round=$1 name=tail_block_count_too_low
	mount_damaged $name $fragment_image "tail race $round" || return 1
	rm -f $work/go $work/ready.c $work/ready.z && mkfifo $work/go || { umount $mnt; return 1; }
	(exec 3<$mnt/plain/packed-c && : >$work/ready.c && read -r _ <$work/go; exec 3<&-) &
	(exec 3<$mnt/packed-z && : >$work/ready.z && read -r _ <$work/go; exec 3<&-) &
	while [ ! -e $work/ready.c ] || [ ! -e $work/ready.z ]; do sleep 0.1; done
	rm $mnt/plain/packed-a $mnt/plain/packed-b $mnt/plain/packed-c $mnt/packed-z &&
		sync && echo 3 >/proc/sys/vm/drop_caches
	status=$?
	echo go >$work/go
	wait
	sync
	free=$(stat -f -c %f $mnt)
	umount $mnt || { echo "round $round: umount failed"; return 1; }
	[ $status -eq 0 ] || { echo "round $round: the removals failed"; return 1; }
	log=$(log_since_mark "tail race $round: $name")
	if echo "$log" | grep -E "block freed twice|left for fsck|not released"; then
		echo "round $round: the tail block was freed twice"
		return 1
	fi
	echo "$log" | grep -Eq "tail block [0-9]+ (kept, inode [0-9]+ names it|freed already)" ||
		{ echo "round $round: neither removal found the other naming the block"; return 1; }
	report=$(fsck.toyfs -f -n -v "$dev") || { echo "round $round: fsck.toyfs"; echo "$report"; return 1; }
	# fsck's "IN_USE/ALL fragments": the bitmap's free count, which
	# statfs said before the unmount.
	counted=$(echo "$report" | sed -n 's|.*, \([0-9]*\)/\([0-9]*\) fragments$|\2 - \1|p')
	[ -n "$counted" ] && [ "$((counted))" = "$free" ] ||
		{ echo "round $round: statfs says $free free, fsck ${counted:-nothing}"; echo "$report"; return 1; }
}

tail_block_freed_once_by_racing_last_tails() {
	rounds=${TAIL_RACE_ROUNDS:-20} failed=0 n=1
	while [ $n -le "$rounds" ]; do
		tail_race_round $n || failed=$((failed + 1))
		n=$((n + 1))
	done
	echo "$rounds rounds, $failed failed"
	[ $failed -eq 0 ]
}

# An inode whose packed tail's path cannot be followed (toyfs-damage's
# packed_tail_behind_damaged_indirect: /big, a tail behind an indirect
# block that is not a whole plain block) hides which inodes name which
# tail block (tail_owners.rs).  With the tail block counted 3 for its
# four tails (tail_block_count_too_low), /plain/packed-a and -b removed
# bring the count to 1; /plain/packed-c and /packed-z removed then each
# let go of the count's last tail.  The first finds the owners unknown:
# one message naming the device says so, once a mount, and the block is
# kept (left for fsck: never freed while another inode may name it); the
# second keeps it too, without reading the inode table again.  Before,
# nothing was kept of the failed read: every last tail read the whole
# table again (quadratic for rm -r), each read reporting /big again.
tail_owners_unknown_read_once() {
	cp $fragment_image $image && toyfs-damage apply packed_tail_behind_damaged_indirect $image >/dev/null &&
		toyfs-damage apply tail_block_count_too_low $image >/dev/null && to_device $image || return 1
	mark "owners unknown"
	mount -w -t toyfs "$dev" $mnt || return 1
	rm $mnt/plain/packed-a $mnt/plain/packed-b $mnt/plain/packed-c $mnt/packed-z
	status=$?
	umount $mnt || { echo "umount failed"; return 1; }
	[ $status -eq 0 ] || { echo "the removals failed"; return 1; }
	log=$(log_since_mark "owners unknown")
	echo "$log" | grep -E 'toyfs: ' | head -6
	# /big's damage, as each read of the inode table reports it.
	reads=$(echo "$log" | grep 'corrupted: inode [0-9]*: ' | grep -vc "tail block's count")
	[ "$reads" -eq 1 ] ||
		{ echo "/big's damage reported $reads times: the inode table was read for each last tail"; return 1; }
	[ "$(echo "$log" | grep -Ec 'toyfs: [a-z0-9]+: tail block owners unknown')" -eq 1 ] ||
		{ echo "not one message naming the device saying the owners are unknown"; return 1; }
	[ "$(echo "$log" | grep -Ec 'toyfs: [a-z0-9]+: inode [0-9]+: packed tail not released .*left for fsck')" -eq 2 ] ||
		{ echo "not two messages of a tail block kept for fsck"; return 1; }
	# The tail block kept: fsck finds /big's damage and the block
	# allocated with no inode naming it, never a block named and free.
	report=$(fsck.toyfs -f -n "$dev")
	[ $? -eq 4 ] || { echo "fsck.toyfs did not exit 4"; echo "$report"; return 1; }
	echo "$report" | grep -E "free" && return 1
	echo "$report" | head -8
}

# An O_DIRECT write of a whole aligned block of /pages whose pointer is
# damaged (pointer_out_of_range: its block 1 past the end of the
# filesystem) fails with EUCLEAN and changes nothing: not the file's
# mtime nor its mode (set-user-ID, which a root writer keeps anyway),
# as a refused fallocate.  xfs_io -d's buffer is page-aligned, so the
# write is one for iomap's direct I/O, whose check reads the block map.
# Before, toyfs stamped the file modified (file_modified: mtime and
# ctime, the set-id bits) before that check: the failed write left a
# new mtime.
direct_write_on_a_damaged_map_changes_nothing() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	name=pointer_out_of_range f=$mnt/pages
	mount_damaged $name $source_image "direct write" || return 1
	mkdir -p /debian$mnt && mount -o bind $mnt /debian$mnt &&
		chmod 4755 $f && in_debian touch -m -d @1000000000 $f && before=$(stat -c '%a %Y %s' $f) &&
		out=$(in_debian xfs_io -d -c "pwrite -S 0x55 -b 1024 1024 1024" $f 2>&1)
	after=$(stat -c '%a %Y %s' $f)
	umount /debian$mnt
	umount $mnt || { echo "umount failed"; return 1; }
	echo "xfs_io: $out"
	echo "$out" | grep -q 'Structure needs cleaning' || return 1
	[ "$after" = "$before" ] || { echo "mode, mtime, size: $before before, $after after"; return 1; }
}

# fallocate(FALLOC_FL_KEEP_SIZE, 0, 50) of /small (100 bytes, one
# fragment of a 4 KiB block) whose direct[0] crosses a block
# (fragment_run_crosses_block) fails with EUCLEAN and changes nothing:
# the device after the unmount is byte for byte the device after a
# mount and unmount without the call.  Before, the count of fragments
# to allocate took the damaged tail block for a hole (its lookup's
# error dropped) and subtracted the tail's unneeded fragments from a
# count that did not hold it: saturated to 0 (an overflow oops before
# that), nothing to allocate, and the call returned 0.
fallocate_of_a_damaged_tail_fails() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	name=fragment_run_crosses_block f=$mnt/small
	mount_damaged $name $fragment_image fallocate && umount $mnt || return 1
	cp $image $work/unchanged.img && dd if="$dev" of=$work/unchanged.img bs=64k conv=notrunc 2>/dev/null &&
		mount -w -t toyfs "$dev" $mnt || return 1
	before=$(stat -c '%s %b %Y %Z' $f)
	mkdir -p /debian$mnt && mount -o bind $mnt /debian$mnt &&
		out=$(in_debian xfs_io -c "falloc -k 0 50" $f 2>&1)
	status=$?
	after=$(stat -c '%s %b %Y %Z' $f)
	umount /debian$mnt
	umount $mnt || { echo "umount failed"; return 1; }
	echo "xfs_io (exit $status): $out"
	[ "$after" = "$before" ] || { echo "size, blocks, mtime, ctime: $before before, $after after"; return 1; }
	cmp -n "$(stat -c %s $image)" $work/unchanged.img "$dev" ||
		{ echo "the failed fallocate changed the image"; return 1; }
	echo "$out" | grep -q 'Structure needs cleaning' || { echo "not EUCLEAN"; return 1; }
}

# A truncation to 0 (open with O_TRUNC) of /plain/packed-b, whose packed
# tail lies in a tail block with a damaged header (tail_block_without_magic),
# succeeds: the inode is written without its tail, and the tail block's
# count, which cannot drop, is left for fsck with a message.  syncfs
# then reports it as what it is, EUCLEAN (errseq carries any errno: the
# error is damage found, not a failed write); before, every error there
# was recorded as EIO.  GNU sync -f (busybox's ignores what syncfs
# returns).  fsck reports the tail block.
cut_beside_a_damaged_tail_block_reports_euclean() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	name=tail_block_without_magic
	mount_damaged $name $fragment_image cut || return 1
	: >$mnt/plain/packed-b && size=$(stat -c %s $mnt/plain/packed-b)
	status=$?
	mkdir -p /debian$mnt && mount -o bind $mnt /debian$mnt &&
		synced=$(in_debian sync -f $mnt 2>&1)
	umount /debian$mnt
	umount $mnt || { echo "umount failed"; return 1; }
	[ $status -eq 0 ] && [ "$size" = 0 ] || { echo "the truncation failed (size $size)"; return 1; }
	echo "sync -f: $synced"
	echo "$synced" | grep -q 'Structure needs cleaning' || return 1
	log_since_mark "cut: $name" | grep -E 'toyfs: [a-z0-9]+: inode [0-9]+: packed tail cut off .*left for fsck' ||
		{ echo "no kernel message naming the device"; return 1; }
	report=$(fsck.toyfs -f -n "$dev")
	[ $? -eq 4 ] || { echo "fsck.toyfs did not exit 4"; echo "$report"; return 1; }
	echo "$report" | grep -F "tail block" || { echo "$report"; return 1; }
}

# Block $2 of /big read with O_DIRECT (one lookup of its map, no
# readahead), 1 KiB blocks: GNU dd of the Debian root, through the bind
# mount the caller made.  Its errors go to $work/crosslink.err.
read_big_block() {
	in_debian dd if=$mnt/big of=/dev/null iflag=direct bs=1024 skip="$1" count=1 \
		2>>$work/crosslink.err
}

# /big's single-indirect block is also /small's first block
# (toyfs-damage crosslink).  /big's blocks 12 and 13 are read, which
# leaves the run found and the path to the indirect block remembered
# (InodeInfo::last_run, last_path), then /small is removed, which frees
# the block /big's map still names: blocks 12 and 13 of /big are then
# refused as any pointer into free space is (EUCLEAN, "block pointer
# names a free block"), /big held open in between so that its inode,
# and what it remembers, stays.  Before the remembered run was checked
# against the filesystem's frees, block 13 (the run remembered) read the
# disk's block as if nothing had been freed.
indirect_block_freed_through_a_crosslink_is_refused() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	cp $source_image $image && toyfs-damage crosslink $image && to_device $image || return 1
	mark "crosslink"
	mount -w -t toyfs "$dev" $mnt || return 1
	mkdir -p /debian$mnt && mount -o bind $mnt /debian$mnt || { umount $mnt; return 1; }
	: >$work/crosslink.err
	exec 3<$mnt/big
	read_big_block 12 && read_big_block 13
	before=$?
	rm $mnt/small
	removed=$?
	# Block 12 first: the run remembered is block 13's (the last read),
	# so block 12's lookup goes to the path; then block 13, the run.
	read_big_block 12
	after12=$?
	read_big_block 13
	after13=$?
	exec 3<&-
	umount /debian$mnt
	umount $mnt || { echo "umount failed"; return 1; }
	cat $work/crosslink.err
	[ $before -eq 0 ] && [ $removed -eq 0 ] || { echo "reading /big or removing /small failed"; return 1; }
	[ $after12 -ne 0 ] || { echo "block 12 of /big read after its indirect block was freed"; return 1; }
	[ $after13 -ne 0 ] || { echo "block 13 of /big read after its indirect block was freed"; return 1; }
	[ "$(grep -c 'Structure needs cleaning' $work/crosslink.err)" -eq 2 ] || return 1
	log_since_mark crosslink | grep -E 'toyfs: [a-z0-9]+: corrupted: inode [0-9]+: block pointer names a free block' |
		head -1 | grep . || { echo "no kernel message"; return 1; }
}

damages="$(toyfs-damage list) $(toyfs-damage list fragments)"
fragment_flip_seeds=${CORRUPT_FRAGMENT_FLIP_SEEDS:-1}
count=$(( $(echo $damages | wc -w) + 15 + $(echo $flip_seeds $fragment_flip_seeds | wc -w) ))
ktap_suite toyfs_corrupt $count
ktap_case insmod_toyfs sh -c 'grep -q "^toyfs " /proc/modules || insmod /modules/toyfs.ko'
ktap_case source_image_is_clean sh -c "toyfs-damage make $source_image && fsck.toyfs -n $source_image"
ktap_case fragment_source_image_is_clean sh -c \
	"toyfs-damage make $fragment_image fragments && fsck.toyfs -f -n $fragment_image"
# Not in a subshell (ktap_case): $dev is set here.
attach_loop_device >$work/dev && dev=$(cat $work/dev)
ktap_case attach_loop_device test -b "$dev"
for name in $damages; do
	ktap_case "$name" named_damage "$name"
done
ktap_case directory_damaged_after_check_is_checked_when_read_again directory_damaged_after_check
ktap_case fragments_writable fragments_writable
ktap_case unlink_beside_a_damaged_tail_block_frees_the_rest unlink_beside_a_damaged_tail_block_frees_the_rest
ktap_case tail_count_too_low_frees_no_named_block tail_count_too_low_frees_no_named_block
ktap_case tail_block_freed_once_by_racing_last_tails tail_block_freed_once_by_racing_last_tails
ktap_case tail_owners_unknown_read_once tail_owners_unknown_read_once
ktap_case direct_write_on_a_damaged_map_changes_nothing direct_write_on_a_damaged_map_changes_nothing
ktap_case fallocate_of_a_damaged_tail_fails fallocate_of_a_damaged_tail_fails
ktap_case cut_beside_a_damaged_tail_block_reports_euclean cut_beside_a_damaged_tail_block_reports_euclean
ktap_case indirect_block_freed_through_a_crosslink_is_refused indirect_block_freed_through_a_crosslink_is_refused
for seed in $flip_seeds; do
	ktap_case "flipper_seed_$seed" flip_batch "$seed" $source_image rw
done
for seed in $fragment_flip_seeds; do
	ktap_case "flipper_fragments_seed_$seed" flip_batch "$seed" $fragment_image rw
done
ktap_case rmmod_toyfs_detach_loop sh -c "rmmod toyfs && losetup -d $dev"
ktap_end
