#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest tests of toyfs images with fragments and LZ4 (issue 13).  A
# tree of files of every awkward size (text that compresses, random bytes
# that do not, sparse files, hard links, a directory of many entries
# whose last block is a tail) is put on images with
# `mkfs.toyfs -d DIR -f FRAG [-c lz4]`; each must mount read-only, and
# read every file byte for byte as the tree, through
# read(2) and through a read-only mapping, each first from the disk
# (toyfs-probe packed, which also checks the FIEMAP flags of tails and
# compressed blocks), with vm_mvc WRITE doing the tails and compressed
# blocks; nothing may be written to the device.  Then images with
# fragments are written (writes_as_the_model): tails grown by
# appends, truncations up and down, overwrites, new and removed files, a
# directory whose last block is a tail growing; the tree must read as the
# same changes made on tmpfs, before and after an unmount, and fsck.toyfs
# -f must find nothing; with LZ4 too, the kernel compressing at
# writeback.  Then chattr +c/-c, truncation, mmap and ENOSPC on images
# with LZ4 (compress_flag, compress_enospc).  Part "fragments" of
# check.sh; runs with vm_mvc loaded and toyfs not, and leaves them so.
. /guest/ktap.sh
. /guest/toyfs-common.sh
. /guest/debian.sh

mnt=/mnt/fragments
work=/tmp/fragments
src=$work/tree
stats=/sys/kernel/debug/vm_mvc/stats
mkdir -p $mnt $work

mvc_calls() { awk -v cmd="$1:" '$1 == cmd { print $3 }' $stats; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

# The source tree: sizes around every fragment, block and page boundary,
# as text (compresses) and as random bytes (does not).
make_tree() {
	rm -rf $src && mkdir -p $src/text $src/random $src/sparse $src/links $src/many/deeper || return 1
	seq 1 200000 >$work/text || return 1
	for size in 0 1 100 127 128 129 511 512 513 1000 1023 1024 1025 1536 2047 2048 2049 \
		3000 3583 3584 4095 4096 4097 6000 8191 8192 8193 10000 12289 50000 65536 65537 \
		200000 300001; do
		head -c $size $work/text >$src/text/t$size &&
			head -c $size /dev/urandom >$src/random/r$size || return 1
	done
	# 1.3 MB: into the single-indirect blocks at 4 KiB blocks, the
	# double-indirect ones at 1 KiB (the fragment image of part corrupt
	# has compressed blocks under double-indirect ones at 4 KiB).
	cp $work/text $src/text/whole || return 1
	# Holes (blocks of zeros, left as holes by mkfs) between data, and a
	# file of zeros only.
	head -c 3000 $work/text >$src/sparse/head-and-tail &&
		dd if=$work/text of=$src/sparse/head-and-tail bs=1 seek=70000 count=1500 2>/dev/null &&
		head -c 20000 /dev/zero >$src/sparse/zeros &&
		dd if=/dev/urandom of=$src/sparse/middle bs=1000 seek=9 count=3 2>/dev/null || return 1
	head -c 5000 $work/text >$src/links/a && ln $src/links/a $src/links/b || return 1
	i=0
	while [ $i -lt 150 ]; do
		printf '%s\n' "entry $i" >"$src/many/a-long-name-for-a-directory-entry-number-$i" || return 1
		i=$((i + 1))
	done
	head -c 777 $work/text >$src/many/deeper/last
}

# Every path of the mounted tree is the source's, and the hard links
# one inode.  (toyfs-probe packed compares the bytes: one process, not
# one cmp a file, which costs seconds a hundred files under TCG.)
same_names() {
	(cd $src && find . | sort) >$work/want && (cd $mnt && find . | sort) >$work/got &&
		cmp $work/want $work/got || { echo "the mounted tree lists other names"; return 1; }
	[ "$(stat -c %i $mnt/links/a)" = "$(stat -c %i $mnt/links/b)" ] ||
		{ echo "the hard links name two inodes"; return 1; }
}

# Every file byte for byte as the source's, by read(2) and by mmap, the
# way $1 first and from the disk; FIEMAP's flags.
same_bytes() {
	drop_caches
	toyfs-probe packed $mnt $src "$1" >$work/packed || { cat $work/packed; return 1; }
	cat $work/packed
}

# $1 block size, $2 fragment size, $3 "lz4" or empty, $4 more mkfs.toyfs
# options ("-p": the files' tails packed into tail blocks, read in place;
# with lz4 those that compress packed compressed, PACKED_LZ4, read by
# decompressing them into the CPU's buffer and a vm_mvc WRITE from it).
image_reads_as_its_tree() {
	b=$1 f=$2 c=$3 more=$4
	img=$work/image
	# shellcheck disable=SC2086 # options
	mkfs.toyfs -b "$b" -f "$f" ${c:+-c "$c"} $more -d $src $img 24M >$work/mkfs || { cat $work/mkfs; return 1; }
	case $more in
	*-p*) grep -q 'packed [1-9][0-9]* tails' $work/mkfs || { cat $work/mkfs; echo "no tail packed"; return 1; } ;;
	esac
	case $c$more in
	lz4*-p*) grep -q 'tails ([1-9][0-9]* compressed)' $work/mkfs ||
		{ cat $work/mkfs; echo "no tail packed compressed"; return 1; } ;;
	esac
	fsck.toyfs -f -n $img >$work/fsck || { cat $work/fsck; return 1; }
	cp $img $work/image.orig && dev=$(losetup -f) && losetup "$dev" $img || return 1
	result=1
	(
		mount -o ro -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		grep -q " $mnt toyfs ro," /proc/mounts || { echo "not mounted read-only"; exit 1; }
		# statfs counts in fragments (f_frsize), which df multiplies:
		# the 24 MiB of the image.
		kib=$(df -k $mnt | awk 'NR == 2 { print $2 }')
		[ "$kib" = 24576 ] || { echo "df: $kib KiB, not 24576 (f_frsize is not F)"; exit 1; }
		[ "$(stat -f -c %s $mnt)" = "$b" ] || { echo "statfs: f_bsize $(stat -f -c %s $mnt), not $b"; exit 1; }
		same_names || exit 1
		write_before=$(mvc_calls write)
		same_bytes read || exit 1
		[ "$(mvc_calls write)" -gt "$write_before" ] || { echo "no vm_mvc WRITE for the tails"; exit 1; }
		grep -q ', [1-9][0-9]* tail extents' $work/packed || { echo "no tail extent"; exit 1; }
		if [ -n "$c" ]; then
			grep -q ', [1-9][0-9]* encoded extents' $work/packed || { echo "no encoded extent"; exit 1; }
		fi
		same_bytes mmap
	)
	result=$?
	losetup -d "$dev"
	[ $result -eq 0 ] || return 1
	cmp $img $work/image.orig || { echo "the device was written"; return 1; }
}

# The same changes to the tree under $1: tails grown by appends (within
# their fragments, to more, past their block; one with fsync), truncated
# down into a block, up within one and past it, to 0; an overwrite inside
# a tail; new files with tails and removed ones; the directory "many",
# whose last block is a tail, growing; a new directory.
edit_tree() {
	d=$1
	for name in t1 t100 t511 t513 t1000 t3000 t4095 t4097 t6000 t10000; do
		head -c 700 $work/rand >>$d/text/$name || return 1
	done
	for name in r1 r129 r2049 r3583; do
		head -c 3000 $work/rand >>$d/random/$name || return 1
	done
	dd if=$work/rand of=$d/random/r127 bs=1000 count=1 seek=1 conv=notrunc,fsync 2>/dev/null &&
		truncate -s 300 $d/text/t8193 && truncate -s 5000 $d/text/t127 &&
		truncate -s 9000 $d/random/r3000 && truncate -s 0 $d/text/t2048 &&
		truncate -s 100000 $d/random/r511 && truncate -s 4096 $d/text/t4097 &&
		truncate -s 1100 $d/text/t1024 && truncate -s 1000 $d/random/r1536 &&
		dd if=$work/rand of=$d/random/r1000 bs=1 seek=200 count=300 conv=notrunc 2>/dev/null || return 1
	for size in 1 300 513 2500 4097 9000; do
		head -c $size $work/rand >$d/new$size || return 1
	done
	rm $d/text/t129 $d/random/r1025 || return 1
	i=0
	while [ $i -lt 60 ]; do
		: >"$d/many/a-new-entry-with-a-long-name-number-$i" || return 1
		i=$((i + 1))
	done
	mkdir $d/newdir && head -c 1500 $work/text >$d/newdir/f &&
		head -c 30000 $work/text >$d/newtext
}

# $1 block size, $2 fragment size, $3 "lz4" or empty, $4 more mkfs.toyfs
# options: the tree on an image with fragments (and LZ4: its files
# compressed; with -p the tails packed, each moved to fragments of its
# file's own when edit_tree opens it for writing), mounted read-write and
# changed by edit_tree, reads as the tree changed on tmpfs, from the page
# cache, from the disk, and after an unmount and a clean fsck.toyfs -f;
# the tails are still tails.  With LZ4 the new text file is stored
# compressed by the kernel's writeback (FIEMAP's encoded extents), the
# random ones plain.
writes_as_the_model() {
	b=$1 f=$2 c=$3 more=$4
	img=$work/image model=$work/model
	head -c 20000 /dev/urandom >$work/rand || return 1
	rm -rf $model && cp -a $src $model && edit_tree $model || return 1
	# shellcheck disable=SC2086 # options
	mkfs.toyfs -q -b "$b" -f "$f" ${c:+-c "$c"} $more -d $src $img 24M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	result=1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		edit_tree $mnt || exit 1
		(cd $model && find . | sort) >$work/want && (cd $mnt && find . | sort) >$work/got &&
			cmp $work/want $work/got || { echo "the mounted tree lists other names"; exit 1; }
		toyfs-probe packed $mnt $model read >$work/packed || { cat $work/packed; exit 1; }
		cat $work/packed
		grep -q ', [1-9][0-9]* tail extents' $work/packed || { echo "no tail extent"; exit 1; }
		trap - EXIT
		umount $mnt
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n -v "$dev" >$work/fsck || { cat $work/fsck; losetup -d "$dev"; return 1; }
	(
		mount -o ro -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		toyfs-probe packed $mnt $model mmap || exit 1
		if [ -n "$c" ]; then
			encoded $mnt/newtext -gt 0 && encoded $mnt/new9000 -eq 0 || exit 1
		fi
	)
	result=$?
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# Writes 700 bytes of text to a file f beside a file "neighbour" on a new
# image (mkfs.toyfs -b 1024 and the options $1, 8M), fsyncs both and the
# directory, appends $work/grow to f, fsyncs f only, and copies the image
# then (the disk as a crash would leave it); the copy stays on a read-only
# loop device $dev, mounted on $mnt, for the caller to check, unmount and
# detach.  $work/want is what f must hold.
fsync_snapshot() {
	img=$work/fsync.img snap=$work/fsync-snap.img
	head -c 700 $work/text >$work/want && cat $work/grow >>$work/want || return 1
	# shellcheck disable=SC2086 # the options are words
	rm -f $img $snap && mkfs.toyfs -q -b 1024 $1 $img 8M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	head -c 100 $work/text >$mnt/neighbour && head -c 700 $work/text >$mnt/f &&
		sync $mnt/neighbour $mnt/f $mnt && cat $work/grow >>$mnt/f && sync $mnt/f &&
		cp $img $snap
	result=$?
	umount $mnt && losetup -d "$dev" && [ $result -eq 0 ] || return 1
	dev=$(losetup -f) && losetup -r "$dev" $snap || return 1
	mount -o ro -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
}

# $1: mkfs.toyfs's fragment option, if any.  A file and its directory are
# fsynced; the file grows (new blocks, an indirect block, bitmap bits, a
# tail in a block shared with another file's tail) and only the file is
# fsynced; a copy of the loop device's backing file taken then (the disk
# as a crash would leave it) mounts and holds the file whole.  fsync
# writes the file's own metadata and its tail's shared block, not every
# dirty block of the device (issue 12).
fsync_leaves_the_file_whole_on_disk() {
	head -c 20000 /dev/urandom >$work/grow && fsync_snapshot "$1" || return 1
	cmp $work/want $mnt/f
	result=$?
	umount $mnt && losetup -d "$dev" && [ $result -eq 0 ]
}

# Copy $1 of an image (the disk as a crash would leave it) mounts
# read-only and its file $2 starts with the bytes of file $3; the copy is
# removed.
copy_holds() {
	dev=$(losetup -f) && losetup -r "$dev" "$1" || return 1
	mount -o ro -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	head -c "$(wc -c <"$3")" "$mnt/$2" | cmp "$3" -
	result=$?
	umount $mnt && losetup -d "$dev" && rm -f "$1" && [ $result -eq 0 ]
}

# A file's tail is fsynced (1500 bytes: block 1 in 2 fragments of 256
# bytes); an O_SYNC write 1 MiB further moves that tail to a whole block
# (grow_tail), and its fsync, asked for the write's range only, must still
# leave the tail's bytes in the new block: a copy of the loop device's
# backing file taken right after the write (the disk as a crash would
# leave it) holds them.  (Review 2026-12-03, finding 3: the new pointer
# and bitmap reached the disk, the old tail's folio stayed dirty, and the
# file read the new block's old bytes.)
sync_append_leaves_the_moved_tail_on_disk() {
	img=$work/tail.img snap=$work/tail-snap.img
	head -c 1500 $work/text >$work/tail-want || return 1
	rm -f $img $snap && mkfs.toyfs -q -b 1024 -f 256 $img 4M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	cp $work/tail-want $mnt/f && sync $mnt/f && toyfs-probe sync-write $mnt/f 1048576 4096 &&
		cp $img $snap
	result=$?
	umount $mnt && losetup -d "$dev" && rm -f $img && [ $result -eq 0 ] || return 1
	copy_holds $snap f $work/tail-want
}

# With LZ4 (1 KiB blocks, 512-byte fragments): a file and its directory
# are fsynced, the file grows by 1 MiB of text that compresses (its new
# blocks compressed at writeback, at most two to a disk block: more disk
# blocks than fsync starts writing before it waits, 256), only the file
# is fsynced, and a copy of the loop device's backing file taken then
# mounts read-only and holds the file byte for byte, with more than 600
# fragments of compressed blocks (fsck.toyfs -v).
fsync_leaves_the_compressed_file_whole_on_disk() {
	seq 1 40000 | sed 's/$/ toyfs toyfs toyfs toyfs toyfs toyfs/' | head -c 1048576 >$work/grow &&
		fsync_snapshot "-f 512 -c lz4" || return 1
	cmp $work/want $mnt/f
	result=$?
	umount $mnt || result=1
	# At least two compressed fragments a disk block: more than 600.
	fragments=$(compressed_fragments "$dev")
	losetup -d "$dev" && [ $result -eq 0 ] && [ "${fragments:-0}" -gt 600 ] ||
		{ echo "compressed fragments: $fragments"; return 1; }
}

# A write that stops short of the file's tail leaves it in the fragments
# the size needs (toyfs-probe short-write-tail; an image of 1 KiB blocks
# and 128-byte fragments), and fsck.toyfs -f finds nothing.
short_write_leaves_the_tail_fitted() {
	img=$work/short.img
	rm -f $img && mkfs.toyfs -q -b 1024 -f 128 $img 1M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	toyfs-probe short-write-tail $mnt
	result=$?
	umount $mnt && [ $result -eq 0 ] && fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# fallocate(FALLOC_FL_KEEP_SIZE) past the end preallocates whole blocks
# past the file's last block, which keeps the fragments its bytes need
# (Documentation/toyfs.rst, "Preallocation"), on images with fragments
# and with LZ4 (toyfs-probe keep-size, then keep-size-check after a
# remount, then keep-size-triple: blocks under the triple-indirect
# block, FIEMAP exact; keep-size-short-write: a short copy into the
# preallocation keeps the blocks it did not fill, which it freed before
# write_end told new blocks from preallocated ones); fsck.toyfs -f finds
# nothing either time.
keep_size_preallocates() {
	img=$work/keep.img
	rm -f $img && mkfs.toyfs -q $1 $img 16M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt && toyfs-probe keep-size $mnt && umount $mnt &&
			fsck.toyfs -f -n "$dev" && mount -w -t toyfs "$dev" $mnt &&
			toyfs-probe keep-size-check $mnt && toyfs-probe keep-size-triple $mnt &&
			toyfs-probe keep-size-short-write $mnt && umount $mnt && fsck.toyfs -f -n "$dev"
	)
	result=$?
	umount $mnt 2>/dev/null
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# Two threads write and fsync files whose tails share disk blocks (review
# rev7, F2; toyfs-probe shared-tail-fsync, 5 s; an image of 1 KiB blocks
# and 128-byte fragments, eight tails a block): the writeback of one
# file puts the block's buffer on that file's list of dirty buffers
# while the other's fsync works through its own list, where the buffer
# was; every file then reads from the disk the bytes written last, and
# fsck.toyfs -f finds nothing.  The kernel's lists of an inode's buffers
# (mmb_mark_buffer_dirty, mmb_sync) take a buffer on one list at a time:
# without toyfs serializing them, mmb_sync put the buffer back on its
# list while the other file's writeback moved it to the other list, and
# the other file's next fsync looped in mmb_sync with its list lock held,
# warning at fs/buffer.c:472 and 543 (QEMU: two CPUs; on User-Mode Linux,
# one CPU, the list lock keeps the other thread out).
fsyncs_of_tails_sharing_a_block() {
	img=$work/shared.img
	rm -f $img && mkfs.toyfs -q -b 1024 -f 128 $img 1M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	toyfs-probe shared-tail-fsync $mnt 5
	result=$?
	umount $mnt && [ $result -eq 0 ] && fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# A file's fsync while another file takes its old tail's block (toyfs-probe
# freed-tail-fsync, tools/toyfs-probe/src/freed_tail.rs): x's tail was
# written back into the device's buffer of block F, on x's list of its own
# buffers, and x truncated to its whole blocks; v then gets F as a whole
# block ($1 allocate), and is truncated into it at once ($1 truncate),
# while x's fsync waits for that buffer's write.  The order is forced: the
# image's loop file is on ext2 on a ramdisk, frozen while the buffer's
# write, O_DIRECT reads of another file and x's other write queue up in
# that order and v (a real-time thread) waits for the buffer; thawed, v's
# side runs while the device reads.  toyfs cleared the uptodate flag of
# the block's cached buffer there, and mmb_sync in x's fsync took that as
# a failed write: EIO with no I/O error (found by fsx, 4 of 11 runs of six
# processes on fragment images; fixed for the allocation by bfba512, for
# the truncation by taking the buffer off x's list first).  Three rounds,
# a new image each; fsck.toyfs -f finds nothing.  About 1 s.
fsync_beside_the_freed_tail_block() {
	backing=$work/backing
	mkdir -p $backing && mke2fs -q -b 1024 /dev/ram9 >/dev/null 2>&1 &&
		mount -t ext2 /dev/ram9 $backing || return 1
	result=0
	for round in 1 2 3; do
		img=$backing/freed.img
		mkfs.toyfs -q -b 1024 -f 128 $img 1M && dev=$(losetup -f) &&
			losetup "$dev" $img || { result=1; break; }
		if mount -w -t toyfs "$dev" $mnt; then
			toyfs-probe freed-tail-fsync $mnt "$dev" $backing "$1" || result=1
			umount $mnt || result=1
			[ $result -eq 0 ] && { fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }; }
		else
			result=1
		fi
		losetup -d "$dev" && rm -f $img || result=1
		[ $result -eq 0 ] || break
	done
	umount $backing && [ $result -eq 0 ]
}

# Review 2026-12-03, finding 7: a tail written through a stale uptodate
# copy of its block.  File a gets a whole block X by bio (a and its
# directory fsynced) and is truncated into it (X keeps a's first
# fragment, the rest is freed); file c's tail grows to 7 fragments, which
# only X has room for (file d's tail right after c's keeps c from
# growing in its own block), and c is fsynced: its tail goes into X's
# buffer, written whole.  A copy of the backing file taken then must
# hold a's first 1100 bytes: a stale copy of X wrote X's bytes from
# before a over them.  The device is read whole (dd, through its page
# cache) with $1 = "before" before a exists, with $1 = "after" once a's
# blocks are allocated and before they are written; with periodic
# writeback off, so that the read finds X's old bytes on the disk.  The
# cached copy of X is a buffer if a block toyfs read through the buffer
# cache shares X's page (the fragment block of c, d and the root with
# the blocks placed first free), else a folio without buffers
# (mpage_readahead) that sb_bread gives buffers marked uptodate from it
# (the blocks placed in step with pages leave X in a page of its own).
# "before" failed before ecda920 with a buffer, and without one before
# set_run forgot X's copy when X stops being whole; "after", with either,
# before that too.
stale_alias_keeps_the_other_tail() {
	img=$work/alias.img snap=$work/alias-snap.img
	head -c 2048 /dev/urandom >$work/alias-a && head -c 1100 $work/alias-a >$work/alias-want || return 1
	rm -f $img $snap && mkfs.toyfs -q -b 1024 -f 128 $img 4M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	periodic=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	head -c 100 $work/text >$mnt/c && head -c 100 $work/text >$mnt/d && sync $mnt/c $mnt/d &&
		{ [ "$1" = after ] || dd if="$dev" of=/dev/null bs=64k 2>/dev/null; } &&
		cp $work/alias-a $mnt/a &&
		{ [ "$1" = before ] || dd if="$dev" of=/dev/null bs=64k 2>/dev/null; } &&
		sync $mnt/a $mnt && truncate -s 1100 $mnt/a &&
		head -c 700 $work/text >>$mnt/c && sync $mnt/c && cp $img $snap
	result=$?
	echo "$periodic" >/proc/sys/vm/dirty_writeback_centisecs
	umount $mnt && losetup -d "$dev" && rm -f $img && [ $result -eq 0 ] || return 1
	copy_holds $snap a $work/alias-want
}

# The fragments statfs calls free on $mnt are $1.
free_fragments_are() {
	free=$(stat -f -c %a $mnt) && [ "$free" = "$1" ] ||
		{ echo "$free fragments free, not $1"; df $mnt; return 1; }
}

# Review 2026-12-03, finding 8: a tail grows in its own block, needing
# only the fragments added, as UFS extends fragments in place.  On an
# image of 1 KiB blocks and 128-byte fragments, the root directory, t
# (100 bytes), u (100) and v (640) fill the first block, x (100) and w
# (700) all of a second one but its last fragment, and fill and fill2
# take every whole block; u and x are removed.  The 3 fragments free (df)
# are the one after t, and the two around w in its block: a truncation
# of w up to a whole block (w's block made whole), then an append to t
# (into the fragment after it) must each succeed.  Both failed with
# ENOSPC, growth asking for all the fragments of a new run elsewhere.
# The files read back from the disk, and fsck.toyfs -f finds nothing.
tail_grows_in_its_block() {
	img=$work/grow.img
	head -c 100 $work/text >$work/grow-t && head -c 700 $work/text >$work/grow-w || return 1
	rm -f $img && mkfs.toyfs -q -b 1024 -f 128 $img 1M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cp $work/grow-t $mnt/t && head -c 100 $work/text >$mnt/u && head -c 640 $work/text >$mnt/v &&
			head -c 100 $work/text >$mnt/x && cp $work/grow-w $mnt/w || exit 1
		if dd if=/dev/zero of=$mnt/fill bs=1024 2>/dev/null; then
			echo "fill filled no image"
			exit 1
		fi
		# What the indirect block a further block of fill needs left.
		dd if=/dev/zero of=$mnt/fill2 bs=1024 2>/dev/null
		rm $mnt/u && free_fragments_are 2 && rm $mnt/x && free_fragments_are 3 || exit 1
		failed=
		if truncate -s 1024 $mnt/w; then
			truncate -s 1024 $work/grow-w && free_fragments_are 1 || exit 1
		else
			echo "w truncated up to a whole block in its own block: ENOSPC" && failed=1
		fi
		if head -c 100 $work/text >>$mnt/t; then
			head -c 100 $work/text >>$work/grow-t || exit 1
		else
			echo "t appended to in the fragment after it: ENOSPC" && failed=1
		fi
		drop_caches && cmp $work/grow-t $mnt/t && cmp $work/grow-w $mnt/w && [ -z "$failed" ]
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# The extents of file $1 that FIEMAP calls encoded (compressed blocks),
# compared by test(1) with the rest of the arguments.
encoded() {
	n=$(toyfs-probe encoded "$1") || return 1
	shift
	[ "$n" "$@" ] || { echo "$1: $n encoded extents"; return 1; }
}

# What lsattr shows of file $1's FS_COMPR_FL ("c" or "-") is $2 (after
# chattr $3, if given).
compr_is() {
	[ "$(toyfs-stress compr "$1" $3)" = "$2" ] || { echo "$1: not $2 (chattr $3)"; return 1; }
}

# The fragments fsck.toyfs -v counts in compressed runs on device $1.
compressed_fragments() {
	fsck.toyfs -f -n -v "$1" | sed -n 's/.*file data (\([0-9]*\) compressed;.*/\1/p'
}

# chattr +c and -c on an image with LZ4 (4 KiB blocks, 512-byte
# fragments): a new file has the image's default (+c); a plain file's
# blocks stay plain when the flag is set and are compressed when
# rewritten; -c stores the blocks rewritten after it plain and leaves the
# others compressed; truncations down into and up past a compressed
# block, a store through a shared mapping into one, and a write that
# grows a compressed tail; every step as on tmpfs, after sync and
# drop_caches and after a remount, and fsck.toyfs -f (which decompresses
# every block) clean, its count of compressed fragments as the steps say.
compress_flag() {
	img=$work/image model=$work/model-flag
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 8M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	head -c 40000 $work/text >$model || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		: >$mnt/default && compr_is $mnt/default c && : >$mnt/f && compr_is $mnt/f - -c || exit 1
		cp $model $mnt/f && sync && encoded $mnt/f -eq 0 || exit 1
		[ "$(compressed_fragments "$dev")" = 0 ] || { echo "compressed runs in a plain file"; exit 1; }
		# The flag alone changes no block.
		compr_is $mnt/f c +c || exit 1
		sync && encoded $mnt/f -eq 0 || exit 1
		# Rewritten: every block compressed, the tail too.
		dd if=$model of=$mnt/f bs=4096 conv=notrunc 2>/dev/null && sync && drop_caches &&
			cmp $model $mnt/f && encoded $mnt/f -gt 0 || exit 1
		whole=$(compressed_fragments "$dev")
		[ "$whole" -gt 0 ] || { echo "no compressed fragment"; exit 1; }
		# -c: the first two blocks rewritten plain, the rest stays.
		compr_is $mnt/f - -c && dd if=$model of=$mnt/f bs=8192 count=1 conv=notrunc 2>/dev/null &&
			sync && drop_caches && cmp $model $mnt/f || exit 1
		part=$(compressed_fragments "$dev")
		[ "$part" -gt 0 ] && [ "$part" -lt "$whole" ] ||
			{ echo "compressed fragments $whole, after chattr -c and a rewrite $part"; exit 1; }
		# +c again; a truncation into a compressed block, then up.
		compr_is $mnt/f c +c && dd if=$model of=$mnt/f bs=8192 count=1 conv=notrunc 2>/dev/null && sync || exit 1
		truncate -s 10000 $model && truncate -s 10000 $mnt/f && sync && drop_caches && cmp $model $mnt/f || exit 1
		truncate -s 30000 $model && truncate -s 30000 $mnt/f && sync && drop_caches && cmp $model $mnt/f || exit 1
		# A store through a shared mapping into a compressed block, and
		# an append growing the compressed tail.
		dd if=$model of=$mnt/f bs=4096 conv=notrunc 2>/dev/null && sync && drop_caches || exit 1
		for offset in 5000 5100 5299; do
			toyfs-stress mmap-store $mnt/f $offset 65 &&
				printf A | dd of=$model bs=1 seek=$offset conv=notrunc 2>/dev/null || exit 1
		done
		head -c 3000 $work/text >>$model && head -c 3000 $work/text >>$mnt/f || exit 1
		sync && drop_caches && cmp $model $mnt/f && encoded $mnt/f -gt 0 || exit 1
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n -v "$dev" || { losetup -d "$dev"; return 1; }
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cmp $model $mnt/f
	)
	result=$?
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# With LZ4, file f compressed on the disk (clean, no run of it kept):
# files h1 to h3 (random bytes, 32 blocks in direct pointers) keep room
# for 32 blocks while file g (plain, random bytes) takes the rest, until
# ENOSPC; then they are removed, and f's first 32 blocks are rewritten
# into that room, each then held in a whole plain run until writeback
# compresses it again.  f rewritten before g filled the image held its
# old compressed runs too (kept until its inode is written), and g's
# ENOSPC retry then wrote every dirty inode back
# (write::retry_after_writeback), f's among them: g took the room f's
# blocks gave back, and no room was left for f's own retry to make.
dirty_and_full() {
	head -c 49152 /dev/urandom >$mnt/h1 && head -c 49152 /dev/urandom >$mnt/h2 &&
		head -c 32768 /dev/urandom >$mnt/h3 && : >$mnt/g && compr_is $mnt/g - -c || return 1
	if dd if=/dev/urandom of=$mnt/g bs=4k 2>/dev/null; then
		echo "g filled no image"
		return 1
	fi
	rm $mnt/h1 $mnt/h2 $mnt/h3 &&
		dd if=$work/yes of=$mnt/f bs=64k count=2 conv=notrunc 2>$work/dd-f ||
		{ cat $work/dd-f; echo "f's 32 blocks found no room"; return 1; }
}

# ENOSPC with LZ4 (a 2 MiB image): a dirty block holds a whole plain run
# until writeback compresses it, so a file that fits only compressed
# is written after write_begin writes the file back on ENOSPC and
# retries.  So do a truncation, a punched hole and a store through a
# shared mapping that give a compressed block of that file a plain run
# when the image is full but for the file's own dirty blocks
# (dirty_and_full): without that retry each fails with ENOSPC (SIGBUS for
# the store).  Overwriting the file with bytes that do not compress runs
# out of room with ENOSPC, the bytes written before it read back, the
# rest as it was, and fsck.toyfs -f finds nothing.
compress_enospc() {
	# No periodic writeback while the steps run: a flusher pass over f
	# while g fills the image would compress f's dirty blocks, g would take
	# the room they freed, and the step after would find nothing left to
	# write back (a SIGBUS that is ENOSPC by the image's state, not the
	# retry's failure; seen once beside other guests on a loaded host).
	# Only the retry's own writeback may make the room.
	periodic=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	compress_enospc_steps
	result=$?
	echo "$periodic" >/proc/sys/vm/dirty_writeback_centisecs
	return $result
}

compress_enospc_steps() {
	img=$work/image
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 2M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	yes toyfs | head -c 6291456 >$work/yes && head -c 6291456 /dev/urandom >$work/noise || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cp $work/yes $mnt/f || { echo "6 MiB that fit compressed: ENOSPC"; df $mnt; exit 1; }
		sync && drop_caches && cmp $work/yes $mnt/f || exit 1
		cp $work/yes $work/model-enospc || exit 1
		failed=
		cut=$((5 * 1048576 + 4000)) hole=$((2 * 1048576 + 100)) store=$((3 * 1048576 + 100))
		dirty_and_full || exit 1
		if truncate -s $cut $mnt/f; then
			truncate -s $cut $work/model-enospc
		else
			echo "truncate into a compressed block: ENOSPC" && failed=1
		fi
		rm $mnt/g && sync && dirty_and_full || exit 1
		if toyfs-stress punch $mnt/f $hole 8192; then
			dd if=/dev/zero of=$work/model-enospc bs=1 seek=$hole count=8192 conv=notrunc 2>/dev/null
		else
			echo "a hole punched from inside a compressed block: ENOSPC" && failed=1
		fi
		rm $mnt/g && sync && dirty_and_full || exit 1
		if toyfs-stress mmap-store $mnt/f $store 65; then
			printf A | dd of=$work/model-enospc bs=1 seek=$store conv=notrunc 2>/dev/null
		else
			echo "a store into a compressed block through a shared mapping: SIGBUS" && failed=1
		fi
		rm $mnt/g && sync && drop_caches && cmp $work/model-enospc $mnt/f && [ -z "$failed" ] || exit 1
		df $mnt
		if dd if=$work/noise of=$mnt/f bs=64k conv=notrunc 2>$work/dd; then
			echo "6 MiB of random bytes fit 2 MiB"
			exit 1
		fi
		cat $work/dd
		grep -q "No space left on device" $work/dd || exit 1
		# The whole 64 KiB records dd wrote (busybox prints no byte count).
		records=$(sed -n 's/^\([0-9]*\)+[0-9]* records out$/\1/p' $work/dd)
		[ -n "$records" ] && [ "$records" -gt 0 ] || exit 1
		copied=$((records * 65536))
		sync && drop_caches || exit 1
		head -c "$copied" $work/noise >$work/written && head -c "$copied" $mnt/f | cmp - $work/written ||
			{ echo "the $copied bytes written before ENOSPC do not read back"; exit 1; }
		cat $mnt/f >/dev/null
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev"
	result=$?
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# A fallocate that fails for want of a whole block (a 1 MiB image with
# LZ4, filled) frees what it took and changes nothing else: file c's
# last block, compressed on the disk in one fragment of a block with
# room, stays compressed, and the free fragments (statfs, read before
# anything is written back) are as many as before.  The clean-up after a
# failed fallocate, as after a short write, only frees (as ext2's after
# a failed write); it used to give that block a plain run of four
# fragments, taking room the failure should have left (writeback
# compressed it again).  c reads as written, and fsck.toyfs -f finds
# nothing.
failed_allocation_keeps_the_compressed_tail() {
	img=$work/image want=$work/want-c
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 1M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	{ head -c 8192 /dev/zero && yes toyfs | head -c 2000; } >$want || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		tail -c 2000 $want | dd of=$mnt/c bs=4096 seek=2 2>/dev/null && sync && cmp $want $mnt/c &&
			encoded $mnt/c -eq 1 || { echo "c's tail not compressed"; exit 1; }
		: >$mnt/g && compr_is $mnt/g - -c || exit 1
		if dd if=/dev/urandom of=$mnt/g bs=4k 2>/dev/null; then
			echo "g filled no image"
			exit 1
		fi
		sync && free=$(stat -f -c %f $mnt) || exit 1
		if toyfs-stress allocate $mnt/c 0 4096 2>$work/allocate; then
			echo "a block allocated on a full image"
			exit 1
		fi
		grep -q "No space left on device" $work/allocate || { cat $work/allocate; exit 1; }
		# Before anything is written back (FIEMAP syncs the file).
		now=$(stat -f -c %f $mnt) && [ "$now" = "$free" ] ||
			{ echo "free fragments: $free before the failed fallocate, $now after"; exit 1; }
		encoded $mnt/c -eq 1 && cmp $want $mnt/c && sync && drop_caches && cmp $want $mnt/c
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev"
	result=$?
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# Every free fragment of the image at $mnt taken: whole blocks by g
# (stored plain), then the fragments left, one file of one fragment each.
take_every_fragment() {
	: >$mnt/g && compr_is $mnt/g - -c || return 1
	if dd if=/dev/urandom of=$mnt/g bs=4k 2>/dev/null; then
		echo "g filled no image"
		return 1
	fi
	i=0
	while head -c 512 /dev/urandom >$mnt/s$i 2>/dev/null; do i=$((i + 1)); done
	sync && free_fragments_are 0
}

# ZERO_RANGE of $2 bytes from $1 of $mnt/f fails with ENOSPC ($3: what
# its success did) and leaves f's size and st_blocks as they were.
zero_range_wants_room() {
	before=$(stat -c '%s %b' $mnt/f) || return 1
	if toyfs-stress zero $mnt/f "$1" "$2" 2>$work/zero; then
		echo "$3"
		return 1
	fi
	grep -q "No space left on device" $work/zero || { cat $work/zero; return 1; }
	after=$(stat -c '%s %b' $mnt/f) && [ "$after" = "$before" ] ||
		{ echo "size and st_blocks $before before the failed ZERO_RANGE, $after after"; return 1; }
}

# A ZERO_RANGE that grows the file and fails for want of room changes
# nothing (review rev7, F1).  On an image of 4 KiB blocks, 512-byte
# fragments and LZ4, f's first block is compressed and its tail (100
# bytes, random) has the only free fragments of the image right after
# it: a ZERO_RANGE from inside the first block to past the end first
# grows the tail into them (6 fragments for the new size), then must give
# the compressed first block a plain run to zero part of it, for which
# there is no room: ENOSPC, with the size, st_blocks, the free
# fragments and the bytes as they were, and fsck.toyfs -f clean.  The
# tail used to keep the run grown for a size the file never got
# ("st_blocks 7, not 2"; fsck: a run of other than the fewest
# fragments).
failed_zero_range_keeps_the_tail() {
	img=$work/image want=$work/want-z
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 1M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	{ yes toyfs | head -c 4096 && head -c 3500 /dev/urandom; } >$want || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cp $want $mnt/f && sync && encoded $mnt/f -eq 1 || { echo "f's first block not compressed"; exit 1; }
		take_every_fragment || exit 1
		# f's tail cut from 7 fragments to 1: the 6 after it are free.
		truncate -s 4196 $want && truncate -s 4196 $mnt/f && sync && free_fragments_are 6 || exit 1
		zero_range_wants_room 100 7000 "a compressed block given a plain run on a full image" ||
			exit 1
		free_fragments_are 6 && sync && drop_caches && cmp $want $mnt/f
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# A ZERO_RANGE that cannot allocate its blocks changes nothing: it
# allocates before it zeroes, as ext4 and XFS.  On a full image of 4 KiB
# blocks, 512-byte fragments and LZ4, f's 4 blocks of text are
# compressed (a fragment each); a ZERO_RANGE of them needs them in whole
# plain blocks, for which there is no room: ENOSPC, with the size,
# st_blocks, the free fragments and the bytes as they were, and
# fsck.toyfs -f clean.  toyfs punched the range first (the compressed
# runs freed) and allocated after: the allocation failed and left the
# range as holes, zeros, though the call failed.
zero_range_enospc_changes_nothing() {
	img=$work/image want=$work/want-zr
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 1M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	yes toyfs | head -c 16384 >$want || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cp $want $mnt/f && sync && encoded $mnt/f -eq 4 || { echo "f's blocks not compressed"; exit 1; }
		take_every_fragment || exit 1
		zero_range_wants_room 0 16384 "compressed blocks made whole plain blocks on a full image" ||
			exit 1
		cmp $want $mnt/f && sync && free_fragments_are 0 && drop_caches && cmp $want $mnt/f
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# The disk block of the first extent FIEMAP gives for file $1.
first_block() { toyfs-probe first-block "$1"; }

# A hole punched on a full image with LZ4 zeroes both of its edges or
# neither (review rev7).  On an image of 4 KiB blocks, 512-byte fragments
# and LZ4, f's block 2 (3300 random bytes) is compressed into 7
# fragments of a block whose last fragment t's tail takes, and its block
# 0 (text) into the first fragment of a block of its own; the image is
# then filled (whole blocks, then one-fragment files), and the files in
# block 0's block removed: its 7 other fragments are the only free ones.
# A punch from inside block 0 to inside block 2 needs a plain run for
# each edge: block 0's grows in its own block, block 2's finds no room
# even after the file is written back: ENOSPC, with every byte of f as
# it was, and once written back its st_blocks and the free fragments
# too; fsck.toyfs -f clean.  The head used to be zeroed before the tail
# failed.  With t removed (room for block 2 in its own block) the same
# punch succeeds.
failed_punch_zeroes_neither_edge() {
	img=$work/image want=$work/want-p
	mkfs.toyfs -q -b 4096 -f 512 -c lz4 $img 1M && dev=$(losetup -f) && losetup "$dev" $img || return 1
	{ head -c 3300 /dev/urandom && head -c 796 /dev/zero; } >$work/block2 &&
		yes toyfs | head -c 4096 >$work/block0 &&
		{ cat $work/block0 && head -c 4096 /dev/zero && cat $work/block2; } >$want || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		# Every name first (empty files take no fragment): the root
		# directory's tail grows now, not into the fragments laid out.
		for name in f t g $(seq 0 63 | sed s/^/s/); do : >$mnt/$name || exit 1; done
		sync
		# Block 2 first, compressed alone; t's tail takes the fragment
		# after it; then block 0, compressed where no other block has room.
		dd if=$work/block2 of=$mnt/f bs=4096 seek=2 2>/dev/null && sync &&
			head -c 100 /dev/urandom >$mnt/t && sync &&
			dd if=$work/block0 of=$mnt/f bs=4096 conv=notrunc 2>/dev/null && sync &&
			cmp $want $mnt/f && encoded $mnt/f -eq 2 || { echo "f's blocks not compressed"; exit 1; }
		compr_is $mnt/g - -c || exit 1
		if dd if=/dev/urandom of=$mnt/g bs=4k 2>/dev/null; then
			echo "g filled no image"
			exit 1
		fi
		i=0
		while [ $i -lt 64 ] && head -c 512 /dev/urandom >$mnt/s$i 2>/dev/null; do i=$((i + 1)); done
		: >$mnt/s$i && sync && free_fragments_are 0 || exit 1
		head=$(first_block $mnt/f) || exit 1
		for s in $(seq 0 $((i - 1)) | sed "s|^|$mnt/s|"); do
			[ "$(first_block "$s")" != "$head" ] || : >"$s" || exit 1
		done
		sync && free_fragments_are 7 || { echo "block 0 of f not alone in block $head"; exit 1; }
		before=$(stat -c '%s %b' $mnt/f) || exit 1
		if toyfs-stress punch $mnt/f 100 8192 2>$work/punch; then
			echo "block 2 given a plain run on a full image"
			exit 1
		fi
		grep -q "No space left on device" $work/punch || { cat $work/punch; exit 1; }
		cmp $want $mnt/f || { echo "f changed by the failed punch"; exit 1; }
		sync && after=$(stat -c '%s %b' $mnt/f) && [ "$after" = "$before" ] ||
			{ echo "size and st_blocks $before before the failed punch, $after after"; exit 1; }
		free_fragments_are 7 && drop_caches && cmp $want $mnt/f || exit 1
		rm $mnt/t && toyfs-stress punch $mnt/f 100 8192 || { echo "punch with room: failed"; exit 1; }
		dd if=/dev/zero of=$want bs=1 seek=100 count=8192 conv=notrunc 2>/dev/null &&
			sync && drop_caches && cmp $want $mnt/f
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# On a new image made by mkfs.toyfs with options $1, of $2 bytes, on a
# loop device, mounted on $mnt, runs the rest of the arguments; then
# fsck.toyfs -f must find nothing.
on_image() {
	img=$work/image options=$1 size=$2
	shift 2
	# shellcheck disable=SC2086 # mkfs.toyfs options, as words
	mkfs.toyfs -q $options $img "$size" && dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		"$@"
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# on_image on an image of 4 KiB blocks, 512-byte fragments and LZ4.
on_lz4_image() { on_image "-b 4096 -f 512 -c lz4" "$@"; }

# A compressed block dirtied behind toyfs's back keeps its bytes (review
# rev7): an O_DIRECT read into a shared mapping pins its pages, faulting
# each in: a page of a compressed file (page_mkwrite gives its block a
# plain run), then a page of another file whose fault waits for a
# fallocate of that file (its invalidate_lock).  Meanwhile a thread
# running sync_file_range on the first file all the time writes its
# block back compressed and cleans the folio; the read then stores
# random bytes into the page and dirties it when it unpins, with no
# fault (toyfs-probe pinned-store, 10 s, an image of 4 KiB blocks,
# 512-byte fragments and LZ4).  Every fsync succeeds, the block reads as
# the random bytes, from the disk too, and fsck.toyfs -f finds nothing.
# Writeback refused such a block ("dirty block in a run too short for
# its bytes", EUCLEAN) and its bytes were lost.
pinned_store_keeps_its_bytes() { on_lz4_image 16M toyfs-probe pinned-store $mnt 10; }

# The last block of a compressed file resized (fallocate, a truncation up,
# a write past its page, a truncation down into a compressed block) with
# another thread writing the file back over and over (toyfs-stress
# tail-writeback, 40 rounds; an image of 4 KiB blocks, 512-byte
# fragments and LZ4): every file reads as its model after an fdatasync,
# and fsck.toyfs -f finds nothing.  A writeback between the new run of
# the last block and the new size stored the block by the old size: a
# compressed middle block recording fewer bytes than a block (fsck), or
# old bytes for a run cut to the new size (EUCLEAN).  fallocate keeps
# that window open across its zeroing I/O: under QEMU, without the fix,
# fsck found 11 of the 40 files (every fallocate round).  On User-Mode
# Linux (one CPU) the writeback thread seldom runs inside the window.
resize_under_writeback() { on_lz4_image 64M toyfs-stress tail-writeback $mnt 40; }

# fsrev #2: fsync of a compressed file of 1 MiB while two threads store
# into every page of it through a shared mapping, all the time
# (toyfs-stress mmap-fsync, 10 s of fsyncs; an image of 4 KiB blocks,
# 512-byte fragments and LZ4).  Each store into a page that writeback cleaned
# gives its block a plain run again (page_mkwrite) and writeback
# compresses it into a new one, so every round of fsync found a run
# moved and wrote the moved blocks again: the inode lock it holds from
# its second round on keeps write(2) out, not the stores, and fsync
# never returned while they went on.  Each fsync must return within
# 60 s (the storing threads stop after that, so that a livelocked fsync
# fails the case rather than hangs the guest; with the fix the longest
# took 3.7 s under QEMU, TCG, beside other guests), the file reads as
# its mapping shows it, and fsck.toyfs -f finds nothing.  Under QEMU
# (two vCPUs), without the fix, an fsync ran until the stores stopped;
# on User-Mode Linux (one CPU) the stores run only while fsync sleeps.
fsync_ends_under_mmap_stores() { on_lz4_image 16M toyfs-stress mmap-fsync $mnt 10 60; }

# A store through a shared mapping into a file's last block, a hole (the
# file grown by ftruncate to inside a block), racing with a write past
# the old end (toyfs-stress extend-fault, $1-byte blocks, $2-byte
# fragments): the fault gave the hole the fragments of the old size
# after the write had fitted the last block to the new one and before
# the size grew, and the next writeback found the dirty block in a run
# too short for its bytes (EUCLEAN, the msync failed; the torture's
# churn, 2026-12-07).  Every msync must succeed, the file read as its
# model, and fsck.toyfs -f find nothing.  Without the fix the base
# kernel failed at round 49 (4096/512) and round 1 (1024/128); 1000
# rounds take about 20 s there.  The debug kernel does a fifth.
store_into_hole_tail_beside_extension() {
	rounds=1000
	[ -e /sys/kernel/debug/kmemleak ] && rounds=200
	on_image "-b $1 -f $2" 16M toyfs-stress extend-fault $mnt $rounds
}

# Where the files of a tree to pack take their bytes from: random ones,
# or with $1 (lz4) text that compresses (made in $work), whose tails
# mkfs.toyfs -c lz4 -p packs compressed.
packed_tree_bytes() {
	if [ -z "$1" ]; then
		echo /dev/urandom
		return
	fi
	yes 'the last bytes of a file, packed compressed' | head -c 70000 >$work/ptext && echo $work/ptext
}

# Every way a file whose last block is a packed tail (mkfs.toyfs -p, on
# blocks of $1 bytes in fragments of $2; with $3 = lz4, mkfs.toyfs -c lz4
# -p of text that compresses, every tail packed compressed, PACKED_LZ4,
# each decompressed into its run when it moves) can change (toyfs-probe
# packed-tails: opened for writing and closed, appended to, overwritten
# in its tail, truncated by path down and up, opened with O_TRUNC,
# stored into through a shared mapping, unlinked, unlinked while open),
# one file each, all of whose tails share tail blocks, one of them under
# a single-indirect block: the files read as the same changes on tmpfs,
# from the page cache and from the disk; fsck.toyfs -f finds nothing
# after the unmount (no tail block left with a tail gone, none lost) and
# counts the two tails never opened for writing still packed, and
# without LZ4 down's, cut in place (a compressed one moves first); a
# read-only mount reads them all again.
packed_tails_leave_before_change() {
	b=$1 f=$2 c=${3:-}
	tree=$work/ptree model=$work/pmodel img=$work/image
	rm -rf $tree $model && mkdir -p $tree || return 1
	bytes=$(packed_tree_bytes "$c") || return 1
	for spec in rdwr:4396 ro:700 append:60123 overwrite:14288 down:3000 up:200 otrunc:900 \
		mmap:4873 remove:400 open-unlinked:2500 keep:100; do
		head -c "${spec#*:}" $bytes >"$tree/${spec%%:*}" || return 1
	done
	cp -a $tree $model || return 1
	mkfs.toyfs -b "$b" -f "$f" ${c:+-c "$c"} -p -d $tree $img 4M >$work/mkfs || { cat $work/mkfs; return 1; }
	grep -q 'packed 11 tails' $work/mkfs || { cat $work/mkfs; echo "not every tail packed"; return 1; }
	if [ -n "$c" ] && ! grep -q 'packed 11 tails (11 compressed)' $work/mkfs; then
		cat $work/mkfs
		echo "not the tails of text packed compressed"
		return 1
	fi
	fsck.toyfs -f -n $img >$work/fsck || { cat $work/fsck; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		toyfs-probe packed-tails $mnt $model
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n -v "$dev" >$work/fsck
	result=$?
	cat $work/fsck
	# Without LZ4 down's tail, cut into, stays packed, shorter.
	left=2
	[ -n "$c" ] || left=3
	if [ $result -eq 0 ] && ! grep -q "; $left packed tails in [123] tail blocks;" $work/fsck; then
		echo "not the $left tails never opened for writing (or cut in place) left packed"
		result=1
	fi
	if [ $result -eq 0 ]; then
		mount -o ro -t toyfs "$dev" $mnt && toyfs-probe packed $mnt $model mmap
		result=$?
		umount $mnt
	fi
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# Opening a file whose last block is a packed tail for writing takes a
# run for the tail first: on an image with no free fragment the open
# succeeds all the same (opening an existing file allocates nothing;
# review rev10), the tail still packed, and the write that needs the run
# fails with ENOSPC and changes nothing (the file reads as before); once
# a file is removed the write succeeds.  Writes of no bytes (write, and
# pwrite past the end, toyfs-probe zero-length) return 0 and change
# nothing meanwhile, as on ext2 (each moved the tail first, and failed
# with ENOSPC, before toyfs let a write of no bytes be).
packed_tail_open_enospc() {
	tree=$work/ptree img=$work/image
	rm -rf $tree && mkdir -p $tree && head -c 300 /dev/urandom >$tree/a &&
		head -c 5000 /dev/urandom >$tree/b && cp $tree/a $work/a.want || return 1
	mkfs.toyfs -q -b 4096 -f 512 -p -N 1024 -d $tree $img 512K && dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		i=0
		while printf x >$mnt/fill$i 2>/dev/null; do
			i=$((i + 1))
		done
		rm -f $mnt/fill$i
		[ $i -gt 0 ] || { echo "no file made"; exit 1; }
		(: >>$mnt/a) || { echo "open for writing failed"; exit 1; }
		printf y >$work/y || exit 1
		if dd if=$work/y of=$mnt/a bs=1 seek=300 conv=notrunc 2>$work/err; then
			echo "appended with no fragment free"
			exit 1
		fi
		grep -q 'No space left' $work/err || { cat $work/err; exit 1; }
		cmp $mnt/a $work/a.want || exit 1
		toyfs-probe zero-length $mnt/a && cmp $mnt/a $work/a.want || exit 1
		rm $mnt/fill0 && printf y >>$mnt/a && printf y >>$work/a.want && cmp $mnt/a $work/a.want
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck
	result=$?
	[ $result -eq 0 ] || cat $work/fsck
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# A truncation that frees a packed tail takes no room (review rev10): on
# an image with no free fragment (appending to e fails with ENOSPC, its
# tail staying packed), a is opened with O_TRUNC, c truncated to 0 and b
# (a whole block and a tail) to its whole block with truncate(1) (an
# open for writing, then ftruncate), each tail leaving its tail block
# with nothing moved, and d (a plain packed tail) truncated into its
# tail, which stays where it is, shorter; each before failed with
# ENOSPC, as the open moved the tail to fragments of its own first.  f
# (13 blocks and a tail, whose pointer is in the single-indirect block)
# is truncated to its 13 blocks: with no room for copies of the indirect
# block (BlockMap::cut_tail) its pointer is cleared in place.
# With $1 = lz4 every tail is packed compressed (PACKED_LZ4) and d is
# left alone: a compressed tail cut into is moved first, and takes
# room.  The files read as cut, then again from a read-only mount;
# fsck.toyfs -f finds nothing and counts the two tails left packed (e,
# d).
packed_tail_truncations_take_no_room() {
	# The files of $mnt as the truncations left them (d cut without $c).
	read_as_cut() {
		d_want=$work/d.want
		[ -z "$c" ] || d_want=$tree/d
		[ ! -s $mnt/a ] && [ ! -s $mnt/c ] && cmp $mnt/b $work/b.want && cmp $mnt/d $d_want &&
			cmp $mnt/e $tree/e && cmp $mnt/f $work/f.want
	}
	c=${1:-}
	tree=$work/ptree img=$work/image
	rm -rf $tree && mkdir -p $tree && bytes=$(packed_tree_bytes "$c") || return 1
	for spec in a:300 b:5000 c:700 d:2500 e:900 f:53848; do
		head -c "${spec#*:}" $bytes >"$tree/${spec%%:*}" || return 1
	done
	head -c 4096 $tree/b >$work/b.want && head -c 2000 $tree/d >$work/d.want &&
		head -c 53248 $tree/f >$work/f.want || return 1
	mkfs.toyfs -b 4096 -f 512 ${c:+-c "$c"} -p -N 1024 -d $tree $img 512K >$work/mkfs ||
		{ cat $work/mkfs; return 1; }
	grep -q "packed 6 tails${c:+ (6 compressed)}" $work/mkfs || { cat $work/mkfs; echo "not every tail packed"; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		i=0
		while printf x >$mnt/fill$i 2>/dev/null; do
			i=$((i + 1))
		done
		rm -f $mnt/fill$i
		if (printf y >>$mnt/e) 2>/dev/null; then
			echo "appended to e: the image has room, nothing tested"
			exit 1
		fi
		: >$mnt/a || exit 1
		truncate -s 0 $mnt/c && truncate -s 4096 $mnt/b && truncate -s 53248 $mnt/f || exit 1
		[ -n "$c" ] || truncate -s 2000 $mnt/d || exit 1
		read_as_cut
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n -v "$dev" >$work/fsck
	result=$?
	if [ $result -eq 0 ] && ! grep -q '; 2 packed tails in [12] tail blocks;' $work/fsck; then
		echo "not the two tails left packed"
		result=1
	fi
	[ $result -eq 0 ] || cat $work/fsck
	if [ $result -eq 0 ] && mount -o ro -t toyfs "$dev" $mnt; then
		read_as_cut
		result=$?
		umount $mnt
	fi
	losetup -d "$dev"
	[ $result -eq 0 ]
}

# Opening a file for writing on an image with packed tails waits for no
# write of the file under way when the file has no packed tail (review
# rev10; toyfs-probe open-beside-write, tools/toyfs-probe/src/
# packed_tails.rs): a direct write of busy waits for its bio, the
# image's loop file being on ext2 on a ramdisk, frozen, while another
# thread opens other, then busy, for writing; both opens must return
# while the write still waits.  Before, every open for writing took the
# file's inode lock and invalidate_lock, to move a packed tail it might
# have, and waited until the filesystem was thawed.  fsck.toyfs -f
# finds nothing after.
open_for_writing_waits_for_no_write() {
	backing=$work/backing tree=$work/ptree
	rm -rf $tree && mkdir -p $tree $backing && head -c 8192 /dev/urandom >$tree/busy &&
		head -c 8192 /dev/urandom >$tree/other && head -c 300 /dev/urandom >$tree/packed || return 1
	mke2fs -q -b 1024 /dev/ram9 >/dev/null 2>&1 && mount -t ext2 /dev/ram9 $backing || return 1
	img=$backing/open.img
	result=1
	if mkfs.toyfs -q -b 4096 -f 512 -p -d $tree $img 4M && dev=$(losetup -f) && losetup "$dev" $img; then
		if mount -w -t toyfs "$dev" $mnt; then
			toyfs-probe open-beside-write $mnt $backing
			result=$?
			umount $mnt || result=1
			[ $result -eq 0 ] && { fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }; }
		fi
		losetup -d "$dev"
	fi
	rm -f $img
	umount $backing && [ $result -eq 0 ]
}

# Opening a file whose last block is a packed tail for writing moves the
# tail to fragments of its own and writes the inode naming them at once
# (tails::unpack), waiting; the disk must then also hold the bitmap
# block that calls those fragments used, or a crash (the image copied
# right after the open, as the loop device holds it) leaves an inode
# naming fragments the bitmap calls free, which toyfs refuses: the file
# unreadable ("block pointer names a free block", EUCLEAN) where before
# the open it read whole (review rev10, F1).  The copy, mounted
# read-only, must read the file as it was.  a is $1 bytes on 4 KiB blocks
# of 512-byte fragments (or as the mkfs.toyfs options after $1 say): 700
# moves to 2 fragments, 3700 (more than 7 fragments) to a whole block.
#
# A tail whose pointer is in an indirect block (a of 13 blocks and 700
# bytes; with 1 KiB blocks of 128-byte fragments, 270 blocks and 100
# bytes: under the double-indirect block) is named by copies of the
# indirect blocks on its path, written before the inode names them: the
# indirect block changed in place was left to the device's writeback,
# and the copy then held an inode without the tail whose last pointer
# named the tail block, read as a's last block (the other tails in it).
unpack_writes_the_bitmap_before_the_inode() {
	tree=$work/ptree img=$work/image copy=$work/unpack-copy.img size=$1
	shift
	[ $# -gt 0 ] || set -- -b 4096 -f 512
	rm -rf $tree && mkdir -p $tree && head -c "$size" /dev/urandom >$tree/a &&
		head -c 300 /dev/urandom >$tree/b || return 1
	mkfs.toyfs "$@" -p -d $tree $img 4M >$work/mkfs || { cat $work/mkfs; return 1; }
	grep -q 'packed 2 tails' $work/mkfs || { cat $work/mkfs; echo "not both tails packed"; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	result=1
	if mount -w -t toyfs "$dev" $mnt; then
		# Nothing dirty before the open: only what it writes reaches the copy.
		sync && (: >>$mnt/a) && cp $img $copy && result=0
		umount $mnt
	fi
	losetup -d "$dev"
	[ $result -eq 0 ] || return 1
	copy_dev=$(losetup -f) && losetup -r "$copy_dev" $copy || return 1
	mkdir -p /mnt/unpack-copy
	result=1
	if mount -o ro -t toyfs "$copy_dev" /mnt/unpack-copy; then
		cmp $tree/a /mnt/unpack-copy/a && cmp $tree/b /mnt/unpack-copy/b
		result=$?
		umount /mnt/unpack-copy
	fi
	losetup -d "$copy_dev"
	rm -f $copy
	[ $result -eq 0 ]
}

# Makes $img, 4 MiB of 1 KiB blocks in 256-byte fragments (more
# mkfs.toyfs options in $@), without a crash copy $snap, and mounts it on
# $mnt through loop device $dev.
crash_image_mounted() {
	rm -f $img $snap && mkfs.toyfs -q -b 1024 -f 256 "$@" $img 4M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
}

# Files of a whole block each (g1 to g4) are made and fsynced one by one
# on $mnt (each fsync writes the bitmap block), then a copy of $img as a
# crash would leave it must read f as before or after the change $1
# (crash_copy_reads_f_as_before_or_after).  $result: 0 if the case's
# steps so far succeeded.  Unmounts and removes $img.
reused_then_crash_copy_reads_f() {
	for i in 1 2 3 4; do
		head -c 1024 /dev/urandom >$mnt/g$i && sync $mnt/g$i || result=1
	done
	[ $result -eq 0 ] && cp $img $snap
	result=$?
	umount $mnt && losetup -d "$dev" && rm -f $img && [ $result -eq 0 ] || return 1
	crash_copy_reads_f_as_before_or_after "$1"
}

# The crash copy $snap, mounted read-only, must read f as $work/f.old
# or $work/f.new; otherwise its size, its last bytes and its extents are
# printed.  $1 names the change in the message.  Removes $snap.
crash_copy_reads_f_as_before_or_after() {
	dev=$(losetup -f) && losetup -r "$dev" $snap || return 1
	result=1
	if mount -o ro -t toyfs "$dev" $mnt; then
		if cmp -s $mnt/f $work/f.old || cmp -s $mnt/f $work/f.new; then
			result=0
		else
			echo "f after the crash: $(wc -c <$mnt/f) bytes, not as before nor as after $1:"
			od -c $mnt/f | tail -n 4
			toyfs-probe extents $mnt/f
		fi
		umount $mnt
	fi
	losetup -d "$dev" && rm -f $snap && [ $result -eq 0 ]
}

# A tail moved to a new run by an append frees its old fragments at once
# (BlockMap::set_run, free_replaced), in the bitmap in memory, while the
# disk still names them: the inode (or indirect block) naming the new
# run reaches the disk only with the file's fsync, a sync or the
# writeback of its inode.  Another file given those fragments and
# fsynced (its tail's block and the bitmap written) then puts its bytes
# where the first file's last durable state says its tail is, and a
# crash in between shows them in that file: the other half of the rule
# of Write order, broken by a write rather than a removal.  On 1 KiB
# blocks of 256-byte fragments f (300 bytes) and n (200) fill a block
# with the root directory's fragment, synced; f grows to 600 bytes (a
# run of 3 fragments in another block, its 2 freed), then g (300 bytes)
# is made and fsynced alone, and a copy of the image (the disk as a
# crash would leave it) must read f as it was or as it is.  Review
# 2026-12-06: f read g's 300 bytes on the copy (fsck.toyfs: g's fragment
# "already owned by inode 2"); fixed the same day (Write order: a moved
# run the disk may name stays allocated until the map is written).  $1:
# more mkfs.toyfs options.
moved_tail_run_is_not_reused_before_the_map() {
	img=$work/moved.img snap=$work/moved-snap.img
	head -c 300 $work/text >$work/f.old && cp $work/f.old $work/f.new &&
		head -c 300 /dev/zero | tr '\0' F >>$work/f.new &&
		head -c 300 /dev/zero | tr '\0' G >$work/g.want || return 1
	# shellcheck disable=SC2086 # the options are words
	crash_image_mounted ${1:-} || return 1
	cp $work/f.old $mnt/f && head -c 200 /dev/urandom >$mnt/n && sync &&
		head -c 300 /dev/zero | tr '\0' F >>$mnt/f && cp $work/g.want $mnt/g &&
		sync $mnt/g && cp $img $snap
	result=$?
	umount $mnt && losetup -d "$dev" && rm -f $img && [ $result -eq 0 ] || return 1
	crash_copy_reads_f_as_before_or_after "the append"
}

# The same with LZ4, the run freed by writeback (BlockMap::replace_run):
# f's one block (1 KiB of random bytes, stored plain, synced) is
# overwritten with bytes that compress and written back alone
# (sync_file_range: the data, not the inode), which stores it compressed
# in the block s's tail partly uses and frees its whole block at once,
# while the disk still names it; files of a whole block each (g1 to g4)
# are made and fsynced one by one (the bitmap block written with the
# free bit), and a copy of the image then must read f as it was or as it
# is.  Review 2026-12-06: on the copy f's block pointer named a block the
# bitmap calls free, and every read of f failed (EUCLEAN); had a g taken
# the block, f would have read its bytes.  Fixed the same day, as above.
compressed_run_is_not_reused_before_the_map() {
	img=$work/moved.img snap=$work/moved-snap.img
	head -c 1024 /dev/urandom >$work/f.old && head -c 1024 /dev/zero | tr '\0' F >$work/f.new ||
		return 1
	crash_image_mounted -c lz4 || return 1
	result=0
	cp $work/f.old $mnt/f && head -c 300 /dev/urandom >$mnt/s && sync &&
		dd if=$work/f.new of=$mnt/f conv=notrunc status=none &&
		toyfs-probe sync-range $mnt/f || result=1
	reused_then_crash_copy_reads_f "the write"
}

# An ENOSPC frees the runs other files hold (Write order: a moved run
# stays allocated until the map on the disk no longer names it): on 1 KiB
# blocks of 256-byte fragments f (300 bytes) and n (200) fill a block
# with the root directory's fragment, synced (as in
# moved_tail_run_is_not_reused_before_the_map); the flusher's periodic
# writeback is stopped, f grows to 600 bytes (its tail moves to a run of
# 3 fragments in another block, its 2 kept allocated, f's inode not
# written) and 64 empty files are made; then the image is filled: a
# filler of whole blocks, written a block at a time, and 256 bytes into
# each empty file, until ENOSPC.  The retry of the filler's ENOSPC
# writes the filesystem's dirty inodes back (write::retry_after_writeback),
# f's among them, which frees its 2 fragments for the small files, so a
# sync after the fill frees nothing: no fragment free.  Before the fix
# the retry wrote only the writer's own file (and none without LZ4): the
# fill ended with ENOSPC while f held 2 fragments, which the sync then
# freed.
held_runs_of_another_file_make_room() {
	img=$work/held.img knob=/proc/sys/vm/dirty_writeback_centisecs
	head -c 300 $work/text >$work/f.old && cat $work/f.old $work/f.old >$work/f.new || return 1
	rm -f $img && mkfs.toyfs -q -b 1024 -f 256 $img 1M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	period=$(cat $knob)
	result=1 made=0
	if cp $work/f.old $mnt/f && head -c 200 /dev/urandom >$mnt/n && sync && echo 0 >$knob &&
		cat $work/f.old >>$mnt/f; then
		for i in $(seq 1 64); do
			: >$mnt/s$i && made=$((made + 1))
		done
		dd if=/dev/zero of=$mnt/filler bs=1024 count=4096 2>$work/err
		filled=$?
		i=1
		while [ $i -le 64 ] && head -c 256 $work/text >$mnt/s$i 2>>$work/err; do
			i=$((i + 1))
		done
		if [ $made -ne 64 ] || [ $filled -eq 0 ] || [ $i -gt 64 ] ||
			! grep -q 'No space left' $work/err; then
			echo "the fill did not end with ENOSPC ($made files made, $((i - 1)) written):"
			cat $work/err
		elif ! sync; then
			echo "sync failed"
		elif [ "$(stat -f -c %f $mnt)" != 0 ]; then
			echo "a sync after ENOSPC freed $(stat -f -c %f $mnt) fragments ($((i - 1)) small files written)"
		else
			cmp $work/f.new $mnt/f && result=0
		fi
	fi
	echo "$period" >$knob
	umount $mnt && fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# An ENOSPC on an LZ4 image writes back the other files' dirty blocks
# too (write::retry_after_writeback): a new block of a compressed file
# holds a whole plain run until writeback compresses it and frees what
# it does not need, and a run allocated since the map was last stored
# (InodeInfo::fresh) is freed at once, not held, so SbInfo::held_runs
# does not count that room (gap 3 of the 2026-12-06 review).  On a 1 MiB
# image of 1 KiB blocks, 256-byte fragments and LZ4, with the flusher's
# periodic writeback off, f gets 384 KiB of text (dirty, whole plain
# runs), then g bytes that do not compress until ENOSPC; after a sync,
# one more block appended to g must fail with ENOSPC too: the sync may
# free no room that the fill's retry did not.  Before the fix the retry
# wrote back other files only while held_runs > 0, the fill stopped with
# f's blocks uncompressed, and the block after the sync fitted.
lz4_dirty_blocks_of_another_file_make_room() {
	img=$work/lz4-room.img knob=/proc/sys/vm/dirty_writeback_centisecs
	rm -f $img && mkfs.toyfs -q -b 1024 -f 256 -c lz4 $img 1M && dev=$(losetup -f) &&
		losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	period=$(cat $knob)
	echo 0 >$knob
	result=1
	if yes toyfs | head -c 393216 >$work/lz4-room-f && cp $work/lz4-room-f $mnt/f; then
		dd if=/dev/urandom of=$mnt/g bs=1024 count=4096 2>$work/err
		filled=$?
		size=$(stat -c %s $mnt/g)
		if [ $filled -eq 0 ] || ! grep -q 'No space left' $work/err; then
			echo "the fill did not end with ENOSPC:"
			cat $work/err
		elif ! sync; then
			echo "sync failed"
		elif head -c 1024 /dev/urandom >>$mnt/g 2>/dev/null; then
			echo "a block fitted after the sync; the fill's ENOSPC came at $size bytes of g"
		else
			drop_caches && cmp $work/lz4-room-f $mnt/f && result=0
		fi
	else
		echo "f (384 KiB of text) did not fit"
	fi
	echo "$period" >$knob
	umount $mnt && fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }
	losetup -d "$dev" && rm -f $img $work/lz4-room-f && [ $result -eq 0 ]
}

# The same through an indirect block changed in place: a run allocated
# since the map was last stored (InodeInfo::fresh) is freed at once when
# it moves, as no inode on the disk names it; but its pointer is in an
# indirect block the disk's inode names, which any write of the device's
# buffers (a directory's fsync: sync_blockdev) takes to the disk.  On an
# image of 1 KiB blocks, 256-byte fragments and LZ4, f has 12 blocks of
# random bytes (plain), a hole at block 12 and a block 13 named by its
# single-indirect block, synced; block 12 is written (a whole plain
# block, named in the indirect block, which the root directory's fsync
# then writes), then written back alone and stored compressed (the
# whole block freed), and files of a whole block each (g1 to g4) are
# made and fsynced one by one: a copy of the image then must read f as
# it was (block 12 a hole) or as it is.  Review 2026-12-06: f's block 12
# read a g's bytes on the copy.
fresh_run_named_in_place_is_not_reused_before_the_map() {
	img=$work/moved.img snap=$work/moved-snap.img
	{ head -c 12288 /dev/urandom && head -c 1024 /dev/zero && head -c 1024 /dev/urandom; } >$work/f.old &&
		head -c 1024 /dev/zero | tr '\0' F >$work/block12 && cp $work/f.old $work/f.new &&
		dd if=$work/block12 of=$work/f.new bs=1024 seek=12 conv=notrunc status=none || return 1
	crash_image_mounted -c lz4 || return 1
	result=0
	# Block 12 a hole: written around, not over.
	: >$mnt/f && compr_is $mnt/f c +c && head -c 12288 $work/f.old >$mnt/f &&
		dd if=$work/f.old of=$mnt/f bs=1024 skip=13 seek=13 status=none && sync &&
		cmp $work/f.old $mnt/f &&
		[ "$(toyfs-probe encoded $mnt/f)" = 0 ] &&
		dd if=$work/block12 of=$mnt/f bs=1024 seek=12 conv=notrunc status=none &&
		sync $mnt && toyfs-probe sync-range $mnt/f && encoded $mnt/f -eq 1 || result=1
	reused_then_crash_copy_reads_f "the write"
}

# A packed tail moved while its file holds runs moved out of its map
# (tails::unpack's write of the inode, InodeInfo::deferred): on 1 KiB
# blocks of 256-byte fragments, LZ4 and packed tails, f is 13 compressed
# blocks and a compressed packed tail of 688 bytes (text), the image is
# filled (a filler of whole blocks, then a byte to each of 64 empty
# files) so that f's open
# for writing leaves the tail packed (an append fails with ENOSPC).  In
# one xfs_io (in the Debian root), with f open for writing: the filler
# is truncated to 0 (room), 'F's are stored into f's block 0 through a
# shared mapping (page_mkwrite gives the compressed block a whole plain
# run, its old run held), and f is truncated to 13500 bytes, into its
# compressed tail, which moves it first (tails::unpack writes the inode,
# waiting).  A copy of the image as a crash would leave it, taken at
# once, must read f as before (f.old), as after the store with the size
# before the truncation (f.stored: the moved block's bytes were written
# before the map naming its new run, then the inode with the moved tail,
# the truncation itself not written yet), or as after both (f.new); a
# map naming block 0's new run before its bytes are on the disk reads
# what the disk held there (the filler's random bytes).  fsck.toyfs -f
# finds the image clean after the unmount.  Review 2026-12-07: the
# reverted write_inode (e228d8b) wrote that inode under the tail's folio
# lock; before the writeinode work the map went first.
tail_moves_with_runs_held() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	tree=$work/ptree img=$work/held-tail.img snap=$work/held-tail-snap.img dmnt=/debian$mnt
	rm -rf $tree && mkdir -p $tree && bytes=$(packed_tree_bytes lz4) &&
		head -c 14000 $bytes >$tree/f && cp $tree/f $work/f.old &&
		{ head -c 1024 /dev/zero | tr '\0' F && tail -c +1025 $work/f.old; } >$work/f.stored &&
		head -c 13500 $work/f.stored >$work/f.new || return 1
	rm -f $img $snap && mkfs.toyfs -b 1024 -f 256 -c lz4 -p -N 256 -d $tree $img 512K >$work/mkfs ||
		{ cat $work/mkfs; return 1; }
	grep -q 'packed 1 tails (1 compressed)' $work/mkfs || { cat $work/mkfs; echo "f's tail not packed compressed"; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	mount -w -t toyfs "$dev" $mnt || { losetup -d "$dev"; return 1; }
	result=1
	mkdir -p $dmnt && mount -o bind $mnt $dmnt || { umount $mnt; losetup -d "$dev"; return 1; }
	# Their entries first: the directory cannot grow once the image is full.
	for i in $(seq 1 64); do
		: >$mnt/s$i || break
	done
	dd if=/dev/urandom of=$mnt/filler bs=1024 count=1024 2>/dev/null
	i=1
	while [ $i -le 64 ] && printf x >$mnt/s$i 2>/dev/null; do
		i=$((i + 1))
	done
	if printf y >>$mnt/f 2>/dev/null; then
		echo "appended to f: its tail moved at the open, or the image has room; nothing tested"
	elif ! cmp -s $mnt/f $work/f.old; then
		echo "f changed by a failed append"
	elif ! out=$(in_debian xfs_io -C "open $mnt/filler" -C "truncate 0" -C "file 0" \
		-C "mmap -w 0 4096" -C "mwrite -S 0x46 0 1024" -C "truncate 13500" -C "munmap" \
		$mnt/f 2>&1); then
		echo "xfs_io: $out"
	elif ! cp $img $snap; then
		echo "no copy"
	elif ! cmp $mnt/f $work/f.new; then
		echo "f as the calls left it is not f.new"
	else
		result=0
	fi
	umount $dmnt
	umount $mnt || result=1
	fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ] || { rm -f $snap; return 1; }
	dev=$(losetup -f) && losetup -r "$dev" $snap || return 1
	result=1
	if mount -o ro -t toyfs "$dev" $mnt; then
		for state in old stored new; do
			if cmp -s $mnt/f $work/f.$state; then
				echo "the copy reads f as f.$state"
				result=0
				break
			fi
		done
		if [ $result -ne 0 ]; then
			echo "f after the crash: $(wc -c <$mnt/f) bytes, not as f.old, f.stored nor f.new:"
			cmp $mnt/f $work/f.stored
			od -A d -c $mnt/f | head -n 4
			toyfs-probe extents $mnt/f
		fi
		umount $mnt
	fi
	losetup -d "$dev" && rm -f $snap && [ $result -eq 0 ]
}

# The crash-copy check fallocate_at_edges gives toyfs-probe
# fallocate-edges ($4 = crash), written to $work/crash-copy-check: run
# after each case's fallocate and a syncfs with the case's file as $1, it
# copies $img as a crash would leave it, which mounted read-only must
# read that file as its model in $model, and which fsck.toyfs -f must
# find clean but for the state and the superblock's free counts (a
# crash before the unmount leaves them).
write_crash_copy_check() {
	cat >$work/crash-copy-check <<CHECK
#!/bin/sh
cp $img $work/crash.img && copy=\$(losetup -f) && losetup -r "\$copy" $work/crash.img || exit 1
mkdir -p $work/crash-mnt
status=1
if mount -o ro -t toyfs "\$copy" $work/crash-mnt; then
	cmp $work/crash-mnt/\$1 $model/\$1 && status=0
	umount $work/crash-mnt || status=1
fi
damage=\$(fsck.toyfs -f -n \$copy 2>&1 | grep -v -E -e ': was not cleanly unmounted\$' \\
	-e ': superblock free_(blocks|inodes) is [0-9]+, the (bitmap|inode table) has [0-9]+ free\$' \\
	-e ': [0-9]+/[0-9]+ inodes \\(' -e ': [0-9]+ errors found, left uncorrected\$' -e ': clean\$')
[ -z "\$damage" ] || { echo "the crash copy after \$1: \$damage"; status=1; }
losetup -d "\$copy" && rm -f $work/crash.img && exit \$status
CHECK
	chmod +x $work/crash-copy-check
}

# fallocate at the edges of compressed blocks and packed tails (review
# 2026-12-06): on an image of blocks of $1 bytes in fragments of $2 with
# LZ4 ($3 = -p: the tails packed, compressed), mkfs.toyfs -d a tree of 33
# files of text (5 blocks and a tail of B / 3 + 7 bytes, every block
# compressed), one per case of toyfs-probe fallocate-edges: PUNCH_HOLE |
# KEEP_SIZE, ZERO_RANGE and ZERO_RANGE | KEEP_SIZE across a block's
# edge, inside a block, of whole blocks, inside the tail, covering the
# tail, past the end, the last byte, the whole file.  Each file must read
# as ext4 and XFS leave it (tmpfs has no ZERO_RANGE: the model's bytes
# are computed), with its size, its holes (SEEK_HOLE,
# SEEK_DATA) zeros and every block a punch covered whole a hole, no more
# st_blocks after a punch; from the cache, from the disk, and after a
# remount; fsck.toyfs -f clean.  With $4 = crash, after each case's
# fallocate and a sync a copy of the image as a crash would leave it
# reads the file as its model and fsck finds it clean
# (write_crash_copy_check).
fallocate_at_edges() {
	tree=$work/etree model=$work/emodel img=$work/image b=$1
	rm -rf $tree $model && mkdir -p $tree || return 1
	for name in $(toyfs-probe fallocate-names -); do
		yes 'the last bytes of a file, packed compressed' | head -c $((5 * b + b / 3 + 7)) >$tree/$name ||
			return 1
	done
	cp -a $tree $model || return 1
	mkfs.toyfs -b "$b" -f "$2" -c lz4 ${3:-} -d $tree $img 8M >$work/mkfs || { cat $work/mkfs; return 1; }
	if [ -n "${3:-}" ] && ! grep -q 'packed 33 tails (33 compressed)' $work/mkfs; then
		cat $work/mkfs
		echo "not every tail packed compressed"
		return 1
	fi
	hook=
	if [ "${4:-}" = crash ]; then
		write_crash_copy_check && hook=$work/crash-copy-check || return 1
	fi
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		encoded $mnt/punch0 -gt 0 && toyfs-probe fallocate-edges $mnt $model $hook
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; losetup -d "$dev"; return 1; }
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		toyfs-probe fallocate-check $mnt $model
	)
	result=$?
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# fallocate ($3: punch, PUNCH_HOLE | KEEP_SIZE, or zero, ZERO_RANGE |
# KEEP_SIZE) over pages of a file that shared mappings have written
# (toyfs-probe fallocate-mmap): on an image of blocks of $1 bytes (in
# fragments of B / 8) with LZ4, a file of 5 blocks and a tail of B / 3 +
# 7 bytes, every block compressed ($2 = -p: its tail packed compressed,
# read into a read-only mapping in place before the file is opened for
# writing).  From the middle of the block before the last to 3 bytes
# before the end: stores through the mapping before, the range zeros
# through it after (a load faults its pages in again), a store into it
# after keeps its bytes; the same by read(2), from the disk after msync
# and fsync, and after a remount; fsck.toyfs -f clean.
fallocate_over_mapped_pages() {
	tree=$work/mtree img=$work/image b=$1
	rm -rf $tree && mkdir -p $tree || return 1
	yes 'the last bytes of a file, packed compressed' | head -c $((5 * b + b / 3 + 7)) >$tree/f || return 1
	mkfs.toyfs -b "$b" -f $((b / 8)) -c lz4 $2 -d $tree $img 8M >$work/mkfs || { cat $work/mkfs; return 1; }
	if [ -n "$2" ] && ! grep -q 'packed 1 tails (1 compressed)' $work/mkfs; then
		cat $work/mkfs
		echo "the tail not packed compressed"
		return 1
	fi
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		encoded $mnt/f -gt 0 && toyfs-probe fallocate-mmap $mnt/f $work/mmap-model "$3"
	) || { umount $mnt 2>/dev/null; losetup -d "$dev"; return 1; }
	fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; losetup -d "$dev"; return 1; }
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		cmp $mnt/f $work/mmap-model
	)
	result=$?
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# Files whose packed tails share tail blocks, removed by two processes
# at once (4 KiB blocks, 512-byte fragments, mkfs.toyfs -p: 160 files of
# 100 to 419 random bytes, a/ and b/ taking turns by size, so that each
# tail block holds tails of both): the last tail counted in a block
# searches the inode table for another inode still naming it
# (tails::named_by_another), and must not take a file being freed beside
# it for one (tails::release stores its inode first): no "count of tails
# below" message, and fsck.toyfs -f finds the image clean, every tail
# block freed (no block in use that no inode uses).
packed_tails_removed_at_once() {
	tree=$work/rtree img=$work/image
	rm -rf $tree && mkdir -p $tree/a $tree/b || return 1
	for i in $(seq 0 79); do
		head -c $((100 + 4 * i)) /dev/urandom >$tree/a/$i &&
			head -c $((102 + 4 * i)) /dev/urandom >$tree/b/$i || return 1
	done
	mkfs.toyfs -b 4096 -f 512 -p -d $tree $img 8M >$work/mkfs || { cat $work/mkfs; return 1; }
	grep -q 'packed 160 tails' $work/mkfs || { cat $work/mkfs; echo "not every tail packed"; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	echo "fragments-tests: packed_tails_removed_at_once" >/dev/kmsg
	(
		mount -w -t toyfs "$dev" $mnt || exit 1
		trap 'umount $mnt' EXIT
		rm -r $mnt/a &
		rm -r $mnt/b
		status=$?
		wait $! && [ $status -eq 0 ]
	)
	result=$?
	dmesg | sed -n '\|fragments-tests: packed_tails_removed_at_once$|,$p' | grep -E 'toyfs: .*(corrupted|left for fsck)' &&
		result=1
	fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# rm -r of a tree of 4,000 files whose tails are all packed (mkfs.toyfs
# -p -d, 4 KiB blocks, 512-byte fragments, a 32 MiB image of 8,192
# inodes): 2,000 files of 1,500 bytes (two tails a tail block) and 2,000
# of 700 (five), 1,200 tail blocks.  Each tail block is freed with
# its last tail, once toyfs found no other inode naming it
# (tails::drop_tail).  The time rm -r took is printed, never judged
# (Documentation/performance.rst, "Removing packed tails"); no
# "corrupted" or "left for fsck" message, and fsck.toyfs -f finds the
# image clean: every tail block freed.
packed_tails_removed_by_rm_r() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	img=$work/image
	in_debian sh -c 'rm -rf /tmp/ptree && mkdir -p /tmp/ptree/a /tmp/ptree/b &&
		head -c 3000000 /dev/urandom | split -a 4 -b 1500 - /tmp/ptree/a/f &&
		head -c 1400000 /dev/urandom | split -a 4 -b 700 - /tmp/ptree/b/f' || return 1
	mkfs.toyfs -b 4096 -f 512 -p -d /debian/tmp/ptree $img 32M >$work/mkfs || { cat $work/mkfs; return 1; }
	rm -rf /debian/tmp/ptree
	grep -q 'packed 4000 tails' $work/mkfs || { cat $work/mkfs; echo "not every tail packed"; return 1; }
	dev=$(losetup -f) && losetup "$dev" $img || return 1
	echo "fragments-tests: packed_tails_removed_by_rm_r" >/dev/kmsg
	result=1
	if mount -w -t toyfs "$dev" $mnt; then
		start=$(cut -d ' ' -f 1 /proc/uptime)
		rm -r $mnt/a $mnt/b
		result=$?
		end=$(cut -d ' ' -f 1 /proc/uptime)
		umount $mnt || result=1
		awk -v s="$start" -v e="$end" \
			'BEGIN { printf "rm -r of 4000 files with packed tails: %.2f s\n", e - s }'
	fi
	dmesg | sed -n '\|fragments-tests: packed_tails_removed_by_rm_r$|,$p' | grep -E 'toyfs: .*(corrupted|left for fsck)' &&
		result=1
	fsck.toyfs -f -n "$dev" >$work/fsck || { cat $work/fsck; result=1; }
	losetup -d "$dev" && rm -f $img && [ $result -eq 0 ]
}

# Images as BLOCK:FRAGMENT:COMPRESSION[:MKFS_OPTIONS].  About 15 s each under TCG: the
# debug kernel (KASAN, several times slower) runs four of them, the
# smallest fragments with LZ4, a large one without, and packed tails
# with and without LZ4; it reports the others skipped.
cases="4096:512: 4096:1024: 4096:2048: 4096:512:lz4 4096:1024:lz4 4096:2048:lz4 1024:128:lz4 1024:512: 4096:512::-p 1024:128::-p 4096:512:lz4:-p 1024:128:lz4:-p"
debug_cases=
if grep -q panic_on_warn=1 /proc/cmdline; then
	debug_cases=" 1024:128:lz4 4096:2048: 4096:512::-p 4096:512:lz4:-p "
fi
writes="4096:2048: 1024:128: 4096:512:lz4 4096:512::-p 4096:512:lz4:-p"
ktap_suite toyfs_fragments $(( $(echo $cases $writes | wc -w) + 63 ))
ktap_case insmod_toyfs insmod /modules/toyfs.ko
ktap_case make_tree make_tree
# Splits BLOCK:FRAGMENT:COMPRESSION[:MKFS_OPTIONS] into $b $f $c $more
# and a case name's suffix $tag ("_lz4", "_packed").
split_spec() {
	b=${1%%:*} rest=${1#*:}
	f=${rest%%:*} c=${rest#*:}
	more=${c#*:}
	[ "$more" != "$c" ] || more=
	c=${c%%:*}
	tag=${c:+_$c}${more:+_packed}
}
for spec in $cases; do
	split_spec "$spec"
	case $debug_cases in
	"" | *" $spec "*) ktap_case "b${b}_f${f}$tag" image_reads_as_its_tree "$b" "$f" "$c" "$more" ;;
	*) ktap_skip "b${b}_f${f}$tag" "debug kernel: four of the images, the base kernel reads every one" ;;
	esac
done
for spec in $writes; do
	split_spec "$spec"
	ktap_case "writes_b${b}_f${f}$tag" writes_as_the_model "$b" "$f" "$c" "$more"
done
ktap_case packed_tails_leave_before_change_b4096_f512 packed_tails_leave_before_change 4096 512
ktap_case packed_tails_leave_before_change_b1024_f128 packed_tails_leave_before_change 1024 128
ktap_case packed_tails_leave_before_change_lz4_b4096_f512 packed_tails_leave_before_change 4096 512 lz4
ktap_case packed_tails_leave_before_change_lz4_b1024_f128 packed_tails_leave_before_change 1024 128 lz4
ktap_case packed_tail_open_enospc packed_tail_open_enospc
ktap_case packed_tail_truncations_take_no_room packed_tail_truncations_take_no_room
ktap_case packed_tail_truncations_take_no_room_lz4 packed_tail_truncations_take_no_room lz4
ktap_case open_for_writing_waits_for_no_write open_for_writing_waits_for_no_write
ktap_case unpack_writes_the_bitmap_before_the_inode unpack_writes_the_bitmap_before_the_inode 700
ktap_case unpack_to_a_whole_block_writes_the_bitmap_first unpack_writes_the_bitmap_before_the_inode 3700
ktap_case unpack_writes_the_indirect_block_before_the_inode unpack_writes_the_bitmap_before_the_inode 53948
ktap_case unpack_writes_the_double_indirect_path_before_the_inode unpack_writes_the_bitmap_before_the_inode 276580 -b 1024 -f 128
ktap_case fsync_leaves_the_file_whole_on_disk_plain fsync_leaves_the_file_whole_on_disk
ktap_case fsync_leaves_the_file_whole_on_disk_f256 fsync_leaves_the_file_whole_on_disk "-f 256"
ktap_case fsync_leaves_the_compressed_file_whole_on_disk fsync_leaves_the_compressed_file_whole_on_disk
ktap_case sync_append_leaves_the_moved_tail_on_disk sync_append_leaves_the_moved_tail_on_disk
ktap_case short_write_leaves_the_tail_fitted short_write_leaves_the_tail_fitted
ktap_case keep_size_preallocates_f256 keep_size_preallocates "-b 1024 -f 256"
ktap_case keep_size_preallocates_lz4 keep_size_preallocates "-b 1024 -f 256 -c lz4"
ktap_case fsyncs_of_tails_sharing_a_block fsyncs_of_tails_sharing_a_block
ktap_case fsync_beside_the_freed_tail_block_allocated fsync_beside_the_freed_tail_block allocate
ktap_case fsync_beside_the_freed_tail_block_truncated fsync_beside_the_freed_tail_block truncate
ktap_case stale_alias_keeps_the_other_tail stale_alias_keeps_the_other_tail before
ktap_case stale_alias_read_after_allocation stale_alias_keeps_the_other_tail after
ktap_case tail_grows_in_its_block tail_grows_in_its_block
ktap_case compress_flag compress_flag
ktap_case compress_enospc compress_enospc
ktap_case failed_allocation_keeps_the_compressed_tail failed_allocation_keeps_the_compressed_tail
ktap_case failed_zero_range_keeps_the_tail failed_zero_range_keeps_the_tail
ktap_case zero_range_enospc_changes_nothing zero_range_enospc_changes_nothing
ktap_case failed_punch_zeroes_neither_edge failed_punch_zeroes_neither_edge
ktap_case pinned_store_keeps_its_bytes pinned_store_keeps_its_bytes
ktap_case resize_under_writeback resize_under_writeback
ktap_case store_into_hole_tail_beside_extension_b4096_f512 store_into_hole_tail_beside_extension 4096 512
ktap_case store_into_hole_tail_beside_extension_b1024_f128 store_into_hole_tail_beside_extension 1024 128
ktap_case fsync_ends_under_mmap_stores fsync_ends_under_mmap_stores
ktap_case moved_tail_run_is_not_reused_before_the_map moved_tail_run_is_not_reused_before_the_map
ktap_case compressed_run_is_not_reused_before_the_map compressed_run_is_not_reused_before_the_map
ktap_case held_runs_of_another_file_make_room held_runs_of_another_file_make_room
ktap_case lz4_dirty_blocks_of_another_file_make_room lz4_dirty_blocks_of_another_file_make_room
ktap_case fresh_run_named_in_place_is_not_reused_before_the_map fresh_run_named_in_place_is_not_reused_before_the_map
ktap_case tail_moves_with_runs_held tail_moves_with_runs_held
ktap_case fallocate_at_edges_b512_f64 fallocate_at_edges 512 64
# The debug kernel runs two of these only with crash copies (below),
# the same operations and a copy after each.
if [ -n "$debug_cases" ]; then
	ktap_skip fallocate_at_edges_b1024_f128 "debug kernel: run as fallocate_at_edges_b1024_f128_crash_copies"
else
	ktap_case fallocate_at_edges_b1024_f128 fallocate_at_edges 1024 128
fi
ktap_case fallocate_at_edges_b4096_f512 fallocate_at_edges 4096 512
ktap_case fallocate_at_edges_b512_f64_packed fallocate_at_edges 512 64 -p
ktap_case fallocate_at_edges_b1024_f128_packed fallocate_at_edges 1024 128 -p
ktap_case fallocate_at_edges_b4096_f512_packed fallocate_at_edges 4096 512 -p
ktap_case fallocate_at_edges_b2048_f256 fallocate_at_edges 2048 256
if [ -n "$debug_cases" ]; then
	ktap_skip fallocate_at_edges_b2048_f256_packed "debug kernel: run as fallocate_at_edges_b2048_f256_packed_crash_copies"
else
	ktap_case fallocate_at_edges_b2048_f256_packed fallocate_at_edges 2048 256 -p
fi
ktap_case fallocate_at_edges_b1024_f128_crash_copies fallocate_at_edges 1024 128 "" crash
ktap_case fallocate_at_edges_b2048_f256_packed_crash_copies fallocate_at_edges 2048 256 -p crash
ktap_case fallocate_over_mapped_pages_b1024_punch fallocate_over_mapped_pages 1024 "" punch
ktap_case fallocate_over_mapped_pages_b4096_zero fallocate_over_mapped_pages 4096 "" zero
ktap_case fallocate_over_mapped_pages_b2048_punch fallocate_over_mapped_pages 2048 "" punch
ktap_case fallocate_over_mapped_pages_b1024_packed_zero fallocate_over_mapped_pages 1024 -p zero
ktap_case fallocate_over_mapped_pages_b4096_packed_punch fallocate_over_mapped_pages 4096 -p punch
ktap_case fallocate_over_mapped_pages_b2048_packed_zero fallocate_over_mapped_pages 2048 -p zero
ktap_case packed_tails_removed_at_once packed_tails_removed_at_once
ktap_case packed_tails_removed_by_rm_r packed_tails_removed_by_rm_r
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
