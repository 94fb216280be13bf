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

# The debug kernel (KASAN, lockdep, kmemleak) is several times slower per
# operation: there, as in the stress part, the two races run a fifth of
# their rounds (race-owned-blocks 40 of 200, odirect-race 600 changes of
# 3000) and the fio jobs a quarter of their bytes.
race_rounds=200 odirect_changes=3000 fio_divisor=1
if [ -e /sys/kernel/debug/kmemleak ]; then
	race_rounds=40 odirect_changes=600 fio_divisor=4
fi

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

# The map remembers its last run of data (BlockMap::lookup_run, as a
# buffer head keeps its block number: writeback of an append looks
# nothing up again); blocks it names that a truncation frees must read as
# holes after the truncation and an extension, also once the pages are
# dropped while the inode stays (the open descriptor 3) with its
# remembered run: the freed blocks still hold the pattern on the disk.
# The truncations are to a page boundary, so that nothing looks the last
# block up (and remembers it) in between, and the last page, which the
# remembered run holds (the last allocated, and the last writeback looked
# up), is read first: a lookup of a block outside the run that finds
# data is remembered instead.
remembered_run_forgotten_when_its_blocks_are_freed() {
	f=$mnt/remembered
	# Page $1 of $f, read alone (dd seeks to it), is zeros.
	page_is_zeros() {
		dd if=$f of=/tmp/remembered-page bs=4096 skip="$1" count=1 2>/dev/null &&
			cmp -n 4096 /dev/zero /tmp/remembered-page
	}
	dd if=/tmp/pattern of=$f bs=65536 count=1 conv=fsync 2>/dev/null || return 1
	exec 3<$f
	status=0
	{ truncate -s 4096 $f && truncate -s 65536 $f && drop_caches &&
		page_is_zeros 15 && cmp -n 4096 /tmp/pattern $f &&
		zeros_at $f 4096 61440; } || status=1
	# The same for the run of an append, remembered as it was allocated.
	{ dd if=/tmp/pattern of=$f bs=4096 count=4 seek=16 conv=notrunc,fsync 2>/dev/null &&
		truncate -s 69632 $f && truncate -s 81920 $f && drop_caches &&
		page_is_zeros 19 && cmp -n 4096 /tmp/pattern $f && zeros_at $f 4096 61440 &&
		cmp -n 4096 /tmp/pattern $f 0 65536 && zeros_at $f 69632 12288; } || status=1
	exec 3<&-
	rm -f $f /tmp/remembered-page
	return $status
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
	# A name longer than 255 bytes is ENAMETOOLONG for every call, a
	# lookup too (stat, open, unlink), as on ext2: the VFS checks only the
	# whole path.  255 bytes is a name.
	long=$(printf 'n%.0s' $(seq 1 256))
	! echo x >$mnt/$long 2>/dev/null || return 1
	for call in "stat $mnt/$long" "cat $mnt/$long" "rm $mnt/$long" "mv $mnt/a $mnt/$long"; do
		out=$($call 2>&1) && return 1
		case $out in *"too long"*) ;; *) echo "$call: $out"; return 1 ;; esac
	done
	echo x >$mnt/${long%n} && stat $mnt/${long%n} >/dev/null && rm $mnt/${long%n}
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
	# statfs's f_fsid is the device's, as on filesystems without a UUID:
	# not 0 ("no fsid"), and the same after the remount.
	id=$(stat -f -c %i $mnt) && [ -n "${id#0}" ] || { echo "f_fsid: $id"; return 1; }
	(cd $mnt && md5sum * >/tmp/sums) || return 1
	umount $mnt && fsck_clean $dev || return 1
	mount -t toyfs $dev $mnt && (cd $mnt && md5sum -c -s /tmp/sums) &&
		[ "$(stat -f -c %i $mnt)" = "$id" ]
}

# mkfs opens a block device with O_EXCL, which a mounted filesystem holds:
# it must refuse and write nothing.  Read-only for the comparison, so that
# nothing else writes the device meanwhile.
mkfs_refuses_a_mounted_device() {
	mount -o remount,ro $mnt || return 1
	before=$(dd if=$dev bs=65536 count=4 2>/dev/null | md5sum)
	! mkfs.toyfs -q $dev 2>/tmp/mkfs-busy || return 1
	cat /tmp/mkfs-busy
	grep -q 'is in use' /tmp/mkfs-busy || return 1
	[ "$(dd if=$dev bs=65536 count=4 2>/dev/null | md5sum)" = "$before" ] || return 1
	mount -o remount,rw $mnt
}

# alloc_block resumes where the previous allocation ended; blocks freed
# below that point must still be found once the rest of the disk is full.
# Whether the disk is full: a write allocates the blocks of its page all
# or none, so fewer blocks are free than a page of 1 KiB blocks needs with
# its indirect blocks (4 + 2).
disk_is_full() { [ "$(stat -f -c %f $mnt)" -lt 6 ]; }

freed_blocks_below_the_last_allocation_are_reused() {
	remount || return 1
	dd if=/dev/zero of=$mnt/early bs=4096 count=64 2>/dev/null || return 1
	dd if=/dev/zero of=$mnt/rest bs=4096 count=2000 2>/dev/null
	disk_is_full || return 1
	rm $mnt/early || return 1
	dd if=/dev/zero of=$mnt/again bs=4096 count=60 conv=fsync 2>&1 || return 1
	rm $mnt/rest $mnt/again && umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt
}

full_disk_gives_enospc_and_stays_consistent() {
	out=$(dd if=/dev/zero of=$mnt/fill bs=4096 count=2000 2>&1)
	echo "$out" | tail -n 2
	echo "$out" | grep -q 'No space left' || return 1
	disk_is_full || return 1
	# A hole page of a full disk cannot get its block through mmap.
	truncate -s 65536 $mnt/fill-hole || return 1
	! toyfs-stress mmap-store $mnt/fill-hole 40000 1 2>/dev/null || return 1
	# A symbolic link whose target finds no block: ENOSPC, and no name,
	# inode or block of it left (fsck below).
	err=$(errno_of ln -s "$(head -c 3000 /dev/zero | tr '\0' s)" $mnt/fill-link)
	[ "$err" = "No space left on device" ] && [ ! -L $mnt/fill-link ] ||
		{ echo "ln -s on a full disk: '$err', $(ls -l $mnt)"; return 1; }
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

# vm_mvc zeroes the partial pieces (holes, past the end of the file, the
# edges of new blocks) and nothing moves data through it: whole blocks go
# by bio between the disk and the file's folios, so its READ and WRITE
# counts stay where they were.
counters_show_vm_mvc_did_the_partial_pages() {
	for cmd in zero read write; do
		after=$(mvc_calls $cmd)
		before=$(eval echo "\$before_$cmd")
		echo "vm_mvc $cmd calls: $before -> $after"
	done
	[ "$(mvc_calls zero)" -gt "$before_zero" ] &&
		[ "$(mvc_calls read)" -eq "$before_read" ] &&
		[ "$(mvc_calls write)" -eq "$before_write" ]
}

# fallocate, SEEK_HOLE/SEEK_DATA, FIEMAP, hard links and RENAME_NOREPLACE
# (tools/toyfs-probe checks each against what it must do, with the
# arguments after $1), then fsck.
probe() {
	local name=$1
	shift
	toyfs-probe "$name" $mnt "$@" && umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt
}

# fallocate(FALLOC_FL_KEEP_SIZE) past the end preallocates, as ext4 and
# XFS do (toyfs-probe keep-size: st_blocks grows and the size does not,
# a read past the end is empty, an extending write and a truncation up
# read zeros over blocks that held a deleted file's bytes and under an
# mmap store past the end, a truncation down or to the same size frees
# them); fsck.toyfs -f takes the image (the PREALLOC feature set), and
# after the remount the preallocation is there and reads as zeros from
# the disk (toyfs-probe keep-size-check); a short copy into the
# preallocation keeps the blocks it did not fill (toyfs-probe
# keep-size-short-write; with large folios a write_begin covers several
# blocks past the end).
keep_size_preallocates() {
	toyfs-probe keep-size $mnt && umount $mnt && fsck.toyfs -n -f $dev &&
		mount -t toyfs $dev $mnt && toyfs-probe keep-size-check $mnt &&
		toyfs-probe keep-size-short-write $mnt &&
		umount $mnt && fsck.toyfs -n -f $dev && mount -t toyfs $dev $mnt
}

# KEEP_SIZE under the triple-indirect block (LARGE_FILES), far past the
# end of a small file: st_blocks grows by the blocks and their four new
# indirect blocks, FIEMAP reports exactly the preallocated blocks as
# plain extents (no FIEMAP_EXTENT_UNWRITTEN: toyfs zeroes them on the
# disk), a truncation to the same size frees them all (toyfs-probe
# keep-size-triple, which leaves them preallocated); fsck.toyfs -f takes
# the image with them.
keep_size_under_the_triple_indirect_block() {
	toyfs-probe keep-size-triple $mnt && umount $mnt && fsck.toyfs -n -f $dev &&
		mount -t toyfs $dev $mnt
}

# Each "d|h OFFSET EXPECTED" line of $2 is what SEEK_DATA (d) or
# SEEK_HOLE (h) from OFFSET on $1 gives, seen at the same path in the
# Debian root: the offset, or ENXIO (xfs_io's EOF).  $3 names the check
# in the messages, which say what each wrong seek gave.  All the seeks in
# one xfs_io, each result matched to its seek by the offset `seek -s`
# prints with it: starting xfs_io over virtio-9p is what took the time
# (seconds each on the debug kernel).  300 s is a hang guard, not a
# verdict on speed.
seeks_give() {
	cmds=$(echo "$2" | awk 'NF == 3 { printf "-c \"seek -s -%s %s\" ", $1, $2 }')
	out=$(eval "in_debian timeout 300 xfs_io $cmds \"\$1\"" 2>&1)
	rc=$?
	[ $rc -ne 124 ] || { echo "$3: xfs_io hung: the seeks did not end within 300 s"; return 1; }
	printf '%s\n--\n%s\n' "$2" "$out" | awk -v what="$3" -v rc=$rc '
		BEGIN { n = m = 0 }
		!results && $0 == "--" { results = 1; next }
		!results { if (NF == 3) { how[n] = $1; off[n] = $2; want[n] = $3; n++ }; next }
		/^Whence/ { next }
		# "DATA|HOLE<tab>from<tab>offset|EOF"; "ERR<tab>from<tab>" and
		# the error; "Invalid seek result: lseek(<fd>, from, ...) = ...".
		/^(DATA|HOLE)\t/ {
			kind[m] = $1 == "DATA" ? "d" : "h"; from[m] = $2
			got[m++] = $3 == "EOF" ? "ENXIO" : $3; next
		}
		/^ERR\t/ { from[m] = $2; sub(/^ERR\t[^\t]*\t:? */, ""); got[m++] = "error " $0; next }
		/^Invalid seek result: / { f = $5; sub(/,$/, "", f); from[m] = f; got[m++] = $0; next }
		{ other = other "\n" $0 }
		END {
			for (j = 0; j < m; j++) {
				for (i = 0; i < n; i++)
					if (!(i in answer) && off[i] "" == from[j] "" && (kind[j] == "" || kind[j] == how[i]))
						break
				if (i < n)
					answer[i] = got[j]
				else
					other = other "\n(a result of no seek asked) from " from[j] ": " got[j]
			}
			for (i = 0; i < n; i++) {
				if (!(i in answer)) {
					printf "%s: seek -%s %s: no result\n", what, how[i], off[i]
					bad = 1
				} else if (answer[i] "" != want[i] "") {
					printf "%s: seek -%s %s: %s, expected %s\n", what, how[i], off[i], answer[i], want[i]
					bad = 1
				}
			}
			if (rc != 0 || bad)
				printf "%s: xfs_io exit status %d; its other output:%s\n", what, rc, other
			exit (rc != 0 || bad)
		}'
}

# SEEK_DATA and SEEK_HOLE cross the holes of missing indirect subtrees a
# run of missing blocks at a time, as FIEMAP does
# (BlockMap::lookup_sparse_run), not a last-level indirect block's span
# at a time: on images of 1 KiB and 4 KiB blocks, a file with data from
# block 0 through the double-indirect level's first block (direct,
# single-indirect, one block under the double-indirect one) and in the
# largest file's last block (the triple-indirect block exists, of its
# double-indirect blocks only the last: a hole of 16 GiB, of 4 TiB);
# 200 seeks across the hole, each finding the data.  Before, each
# seek across the triple-indirect level walked the hole 1,024 blocks
# (4 KiB) at a time: about a million lookups, each reading the
# triple-indirect block (0.25 s on User-Mode Linux, 200 of them about
# 50 s); now one lookup a run of missing indirect blocks.  SEEK_HOLE in
# the allocated range gives its end (across the indirect blocks), at
# the last block the end of the file (the virtual hole at EOF), and at
# or past the end ENXIO; from the page cache and from the disk.
seek_crosses_missing_indirect_subtrees_at_once() {
	on_viewed_image seek_far_body 1024 8M -b 1024 && on_viewed_image seek_far_body 4096 8M -b 4096
}

# Calls "$1 $2" with a new toyfs of $3 bytes made with the options
# $4..., mounted at /mnt/view and seen there from the Debian root too;
# then unmounts it, and fsck.toyfs -f must find it clean.
on_viewed_image() {
	body=$1 arg=$2 size=$3
	shift 3
	mkdir -p /mnt/view
	new_loop_image /tmp/view.img "$size" "$@" || return 1
	mount -t toyfs "$loop" /mnt/view && debian_view /mnt/view && "$body" "$arg"
	status=$?
	debian_unview /mnt/view 2>/dev/null
	umount /mnt/view 2>/dev/null
	[ $status -eq 0 ] && fsck.toyfs -n -f "$loop" >/dev/null || status=1
	drop_loop_image $status || { echo "$body $arg: failed"; return 1; }
}

# The body of seek_crosses_missing_indirect_subtrees_at_once, blocks of
# $1 bytes.
seek_far_body() {
	b=$1 f=/mnt/view/far max=$(toyfs_max_file "$1" "")
	last=$((max - b)) p=$(($1 / 4))
	double=$(((12 + p) * b)) triple=$(((12 + p + p * p) * b))
	in_debian xfs_io -f -c "pwrite -q 0 $((double + b))" -c "pwrite -q $last $b" $f >/dev/null || return 1
	expect="d 0 0
d $b $b
d $((double + b)) $last
d $triple $last
d $((triple + 123456789)) $last
d $((max / 2)) $last
d $((last - 1)) $last
d $last $last
h 0 $((double + b))
h $((b - 1)) $((double + b))
h $double $((double + b))
h $((double + b)) $((double + b))
h $last $max
h $((max - 1)) $max
d $max ENXIO
h $max ENXIO"
	start=$(cut -d' ' -f1 /proc/uptime)
	seeks_give $f "$expect" "$b-byte blocks, page cache" || return 1
	sync && echo 3 >/proc/sys/vm/drop_caches && seeks_give $f "$expect" "$b-byte blocks, disk" || return 1
	echo "$b-byte blocks: 32 seeks across holes up to $max bytes in" \
		"$(awk -v s="$start" '{ print $1 - s }' /proc/uptime) s"
	# 200 SEEK_DATA across the triple-indirect level's hole, from 200
	# offsets in it: each finds the data at $last.
	expect=$(awk -v from="$triple" -v to="$last" \
		'BEGIN { for (k = 0; k < 200; k++) printf "d %.0f %.0f\n", from + k * int((to - from) / 200), to }')
	start=$(cut -d' ' -f1 /proc/uptime)
	seeks_give $f "$expect" "$b-byte blocks, 200 seeks across the triple-indirect hole" || return 1
	echo "$b-byte blocks: 200 of 200 seeks found the data at $last in" \
		"$(awk -v s="$start" '{ print $1 - s }' /proc/uptime) s"
}

# SEEK_DATA and SEEK_HOLE on each way a block is stored besides a whole
# plain block (1 KiB blocks): a tail in fragments (mkfs.toyfs -f), LZ4
# compressed blocks (-c lz4, written back compressed), a packed tail
# (-p): every such block is data, a hole among them a hole, the end of
# the file (not of its last block) the virtual hole at EOF; from the
# disk, after a remount.
seek_over_tails_compressed_and_packed_blocks() {
	mkdir -p /tmp/seek-tree && rm -rf /tmp/seek-tree/* || return 1
	# The packed layout's files, copied by mkfs.toyfs -d: 3 KiB of data,
	# a hole, 300 bytes at 10 MiB (the last block a packed tail), and a
	# small file whose tail is packed beside it.
	head -c 3072 /tmp/pattern >/tmp/seek-tree/f &&
		head -c 300 /tmp/pattern | dd of=/tmp/seek-tree/f bs=1024 seek=10240 2>/dev/null &&
		head -c 500 /tmp/pattern >/tmp/seek-tree/g || return 1
	on_viewed_image seek_layout_body fragments 8M -b 1024 -f 128 &&
		on_viewed_image seek_layout_body lz4 8M -b 1024 -f 128 -c lz4 &&
		on_viewed_image seek_layout_body packed 8M -b 1024 -f 128 -p -d /tmp/seek-tree
}

# The body of seek_over_tails_compressed_and_packed_blocks for layout $1.
seek_layout_body() {
	f=/mnt/view/f size=$(((10 << 20) + 300))
	case $1 in
	fragments)
		in_debian xfs_io -f -c "pwrite -q 0 3072" -c "pwrite -q $((10 << 20)) 300" $f >/dev/null ;;
	lz4)
		# Bytes that compress, the last block's 300 too.
		in_debian xfs_io -f -c "pwrite -q -S 0x61 0 3072" -c "pwrite -q -S 0x62 $((10 << 20)) 300" \
			$f >/dev/null ;;
	packed) ;;
	esac || return 1
	expect="d 0 0
d 3071 3071
d 3072 $((10 << 20))
d $((5 << 20)) $((10 << 20))
d $((size - 1)) $((size - 1))
d $size ENXIO
h 0 3072
h 2000 3072
h 3072 3072
h $((10 << 20)) $size
h $((size - 1)) $size
h $size ENXIO"
	seeks_give $f "$expect" "$1, page cache" || return 1
	debian_unview /mnt/view && umount /mnt/view && mount -t toyfs "$loop" /mnt/view &&
		debian_view /mnt/view && seeks_give $f "$expect" "$1, disk" || return 1
	if [ "$1" != fragments ]; then
		# The layout is there: blocks compressed, a packed tail.
		debian_unview /mnt/view && umount /mnt/view || return 1
		usage=$(fsck.toyfs -f -n -v "$loop" | sed -n 's/.*fragments in use: //p')
		echo "$1: $usage"
		case $1 in
		lz4) echo "$usage" | grep -q 'file data ([1-9][0-9]* compressed' ;;
		packed) echo "$usage" | grep -q '[1-9][0-9]* packed tails in' ;;
		esac || return 1
		mount -t toyfs "$loop" /mnt/view && debian_view /mnt/view
	fi
}

# A truncation and a hole punched free every indirect block they leave
# without a pointer, as ext2's truncation does (ext2_free_branches frees
# a partly truncated branch left empty too) and as ext4 frees index
# blocks a hole punch empties: on an image of 1 KiB blocks (256 pointers
# an indirect block), st_blocks is what the data left needs, data blocks
# and the indirect blocks above them, 2 sectors each: a truncation to 0;
# a truncation into the single-indirect range past the data left; one
# into a double-indirect block's branch whose data is past the cut (the
# branch and the double-indirect block go), and one whose other branch
# keeps data; one into a triple-indirect branch; a hole punched over all
# the blocks of an indirect block, under the single-indirect and the
# double-indirect pointer.  The data left reads back, fsck -f is clean.
# Before, each kept the indirect blocks the cut left empty.
truncation_frees_indirect_blocks_left_empty() {
	on_viewed_image empty_indirect_body 1024 16M -b 1024
}

# The body of truncation_frees_indirect_blocks_left_empty.
empty_indirect_body() {
	m=/mnt/view
	# File blocks $2... of $m/$1, each its block of the pattern.
	ei_blocks_at() {
		name=$1
		shift
		for n in "$@"; do
			dd if=/tmp/pattern of=$m/$name bs=1024 skip=$((n % 128)) seek="$n" count=1 conv=notrunc \
				2>/dev/null || return 1
		done
	}
	# Block $2 of $m/$1 holds its block of the pattern.
	ei_holds() { dd if=$m/$1 bs=1024 skip="$2" count=1 2>/dev/null | cmp -s - /tmp/block$(($2 % 128)); }
	for i in $(seq 0 127); do dd if=/tmp/pattern of=/tmp/block$i bs=1024 skip=$i count=1 2>/dev/null; done
	# After the command $3..., st_blocks of $m/$1 is $2 sectors, else
	# bad=1 (each count is checked, one wrong or not).
	bad=0
	ei_after() {
		name=$1 want=$2
		shift 2
		"$@" || { echo "$name: $*: failed"; return 1; }
		got=$(stat -c %b $m/$name)
		echo "$name: $* -> st_blocks $got (expected $want)"
		[ "$got" = "$want" ] || bad=1
	}
	ei_punch() { in_debian xfs_io -c "fpunch $(($2 * 1024)) $(($3 * 1024))" $m/$1; }
	# Double-indirect branch k: file blocks 268 + 256 k on.
	ei_d() { echo $((268 + 256 * $1 + $2)); }
	# Triple-indirect: double-indirect block i, its branch k.
	ei_t() { echo $((65804 + 65536 * $1 + 256 * $2 + $3)); }
	ei_blocks_at a 0 20 && ei_after a 0 truncate -s 0 $m/a &&
		ei_blocks_at b 0 200 && ei_after b 2 truncate -s $((100 * 1024)) $m/b && ei_holds b 0 &&
		ei_blocks_at c 0 "$(ei_d 5 3)" "$(ei_d 20 7)" &&
		ei_after c 8 truncate -s $(($(ei_d 10 0) * 1024 + 500)) $m/c && ei_holds c 0 && ei_holds c "$(ei_d 5 3)" &&
		ei_blocks_at e 0 "$(ei_d 10 100)" "$(ei_d 20 7)" &&
		ei_after e 2 truncate -s $(($(ei_d 10 0) * 1024 + 500)) $m/e && ei_holds e 0 &&
		ei_blocks_at g 0 "$(ei_t 3 7 9)" && ei_after g 2 truncate -s $(($(ei_t 3 7 0) * 1024 + 100)) $m/g &&
		ei_holds g 0 &&
		ei_blocks_at h 0 20 21 22 23 24 25 26 27 28 29 && ei_after h 2 ei_punch h 20 10 && ei_holds h 0 &&
		ei_blocks_at i 0 "$(ei_d 5 0)" "$(ei_d 5 1)" "$(ei_d 5 255)" && ei_after i 2 ei_punch i "$(ei_d 5 0)" 256 &&
		ei_holds i 0 || return 1
	# From the disk.
	debian_unview $m && umount $m && mount -t toyfs "$loop" $m && debian_view $m &&
		ei_holds c "$(ei_d 5 3)" && ei_holds i 0 || return 1
	counts=$(stat -c %b $m/a $m/b $m/c $m/e $m/g $m/h $m/i | tr '\n' ' ')
	echo "st_blocks from the disk: $counts(expected 0 2 8 2 2 2 2)"
	[ "$counts" = "0 2 8 2 2 2 2 " ] && [ $bad = 0 ]
}

# FIEMAP's copy to user space may fault into the same file; a task
# stuck on a lock it holds itself would never end, hence the time limit.
fiemap_into_own_mapping() {
	timeout 300 toyfs-probe fiemap-mapped $mnt && umount $mnt && fsck.toyfs -n $dev &&
		mount -t toyfs $dev $mnt
}

# Compaction migrates toyfs's folios (issue 12: without migrate_folio
# the fallback warned, fatal with panic_on_warn).
compaction_migrates_toyfs_folios() {
	mark=$(dmesg | wc -l)
	toyfs-probe compaction $mnt || return 1
	! dmesg | tail -n +"$((mark + 1))" | grep -E 'migrate_folio|WARNING'
}

# An I/O error writing one file is reported by fsync of that file and
# not of another (fail_make_request fails the device's bios while armed).
fsync_reports_a_write_error_on_its_own_file() { probe_with_errors fsync-error; }

# fsync of one file takes no error of another file's metadata written in
# the background (sync(2) while the device fails), and fsync of that file
# writes its metadata again (issue 12: fsync's sync_blockdev took the
# device's error, whoever's it was).
fsync_takes_no_error_of_another_files_metadata() { probe_with_errors fsync-foreign-error; }

# A read error on one block of a folio of several (readahead, the device
# failing its first bio) leaves the folio !uptodate: that block reports
# EIO, its neighbours read right, and all of it once the device works
# (toyfs-probe read-error; fail_make_request's knobs are reset after).
a_failed_block_read_leaves_its_folio_unread() {
	arm_fail_make_request || return 1
	toyfs-probe read-error $mnt /sys/block/${dev#/dev/}/make-it-fail $knobs
	status=$?
	echo 0 >$knobs/probability && echo -1 >$knobs/times
	[ $status -eq 0 ] && umount $mnt && fsck.toyfs -n $dev >/dev/null &&
		mount -t toyfs $dev $mnt
}

# A write whose read of a block it covers in part fails leaves the blocks
# it allocated zeros, not what a deleted file left on the disk.
a_failed_write_leaves_no_stale_block() { probe_with_errors write-error; }

probe_with_errors() {
	arm_fail_make_request || return 1
	toyfs-probe "$1" $mnt /sys/block/${dev#/dev/}/make-it-fail
	status=$?
	echo 0 >$knobs/probability
	[ $status -eq 0 ] && umount $mnt && fsck.toyfs -n $dev >/dev/null
	status=$?
	take_device_error
	mount -t toyfs $dev $mnt && [ $status -eq 0 ]
}

# fail_make_request fails every bio of a device whose make-it-fail is 1.
arm_fail_make_request() {
	knobs=/sys/kernel/debug/fail_make_request
	echo 100 >$knobs/probability && echo -1 >$knobs/times &&
		echo 0 >$knobs/verbose && echo 0 >$knobs/interval
}

# The failed metadata writes of a probe leave their error on the device's
# own mapping, where the next fsync of the device (any later mkfs.toyfs
# on it) would get it: take it with an fsync of the device, unmounted.
# Whether there was one depends on the probe; it is not judged here.
take_device_error() {
	umount $mnt 2>/dev/null
	dd if=/dev/null of=$dev conv=fsync 2>/dev/null
	return 0
}

# fallocate failing part-way (ENOSPC: fragments free but too few whole
# blocks) gives back the blocks it took, so holes do not read as a deleted
# file's bytes; on an image of 1 KiB blocks and 128-byte fragments.
# KEEP_SIZE past the end of a file there fails with ENOSPC and changes
# nothing: its size, st_blocks and the free fragments; so does a
# ZERO_RANGE over data, whose bytes stay (it allocates before it zeroes).
fallocate_enospc_gives_blocks_back() {
	image=/tmp/fragments.img
	rm -f $image && truncate -s 8M $image && mkfs.toyfs -q -b 1024 -f 128 $image &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	mkdir -p /mnt/enospc
	mount -t toyfs "$loop" /mnt/enospc && toyfs-probe fallocate-enospc /mnt/enospc 128
	status=$?
	umount /mnt/enospc && [ $status -eq 0 ] && fsck.toyfs -n -f "$loop" >/dev/null
	status=$?
	losetup -d "$loop"
	rm -f $image
	return $status
}

# The largest file (s_maxbytes) is what the block map addresses, 12 + p +
# p^2 + p^3 blocks of p = B / 4 pointers, with or without fragments and
# LZ4, or fewer where a u32 blocks count of fragments would overflow
# first (4 KiB blocks, fragments of 1 KiB or less: Geometry::max_file_blocks);
# at its edge ftruncate, write and fallocate give the VFS's answers
# (toyfs-probe size-limits: EFBIG one byte past it, a write across it
# short, fallocate up to it allowed), as ext2 does at its own limit
# (without fallocate: EOPNOTSUPP inside it, EFBIG past it, which
# vfs_fallocate checks first).  The files grown to the limit keep their
# size and last byte across a remount, and fsck finds them right.
# Before the triple-indirect level (LARGE_FILES) it was 12 + p + p^2 blocks:
# 64 MiB for 1 KiB blocks, where stress-ng's copy-file, revio, msync and
# sync-file stressors failed with EFBIG (review rev8).
largest_file_is_the_block_maps_and_efbig_past_it() {
	image=/tmp/limits.img specs="512 1024 2048 4096 1024:128 4096:512:lz4 ext2:1024 ext2:4096"
	mkdir -p /mnt/limits
	# ext2's rows check the VFS's answers, not toyfs: the base kernel's.
	if [ -e /sys/kernel/debug/kmemleak ]; then
		specs="512 1024 2048 4096 1024:128 4096:512:lz4"
		echo "debug kernel: not on ext2 (a reference, run on the base kernel)"
	fi
	for spec in $specs; do
		rm -f $image && truncate -s 8M $image && loop=$(losetup -f) &&
			losetup "$loop" $image || return 1
		case $spec in
		ext2:*)
			b=${spec#ext2:} fs=ext2 expected=any fallocate=no
			mke2fs -b "$b" "$loop" >/dev/null ;;
		*)
			b=${spec%%:*} f=$(echo "$spec:" | cut -d: -f2) c=$(echo "$spec:" | cut -d: -f3)
			p=$((b / 4)) fs=toyfs fallocate=yes
			shift=0
			[ -z "$f" ] || while [ $((f << shift)) -lt "$b" ]; do shift=$((shift + 1)); done
			reach=$((12 + p + p * p + p * p * p))
			by_count=$(((((1 << 32) - 1) >> shift) - 3))
			by_count=$((by_count * (p - 1) / p))
			[ $by_count -lt $reach ] || by_count=$reach
			expected=$((by_count * b))
			mkfs.toyfs -q -b "$b" ${f:+-f "$f"} ${c:+-c "$c"} "$loop" ;;
		esac || { losetup -d "$loop"; return 1; }
		max=$(mount -t $fs "$loop" /mnt/limits &&
			toyfs-probe size-limits /mnt/limits "$expected" $fallocate)
		status=$?
		echo "$spec: largest file $max bytes"
		if [ $status -eq 0 ]; then
			umount /mnt/limits &&
				{ [ $fs = ext2 ] || fsck.toyfs -n -f "$loop" >/dev/null; } &&
				mount -t $fs "$loop" /mnt/limits &&
				[ "$(stat -c %s /mnt/limits/size-limit-write)" = "$max" ] &&
				[ "$(tail -c 1 /mnt/limits/size-limit-write)" = a ] &&
				{ [ $fallocate = no ] ||
					{ [ "$(stat -c %s /mnt/limits/size-limit-allocate)" = "$max" ] &&
						[ "$(dd if=/mnt/limits/size-limit-allocate bs=1 skip=$((max - 1)) \
							count=1 2>/dev/null | tr '\0' z)" = z ]; }; }
			status=$?
		fi
		umount /mnt/limits 2>/dev/null
		losetup -d "$loop"
		rm -f $image
		[ $status -eq 0 ] || { echo "$spec: failed"; return 1; }
	done
}

# Files past the double-indirect level's reach (12 + p + p^2 blocks: 64 MiB
# of 1 KiB blocks), through the triple-indirect block, on a 16 MiB image
# of 1 KiB blocks ($1: "plain", "fragments" of 128 bytes, or "lz4" with
# them): a write that finds no room for the new indirect blocks (two
# whole blocks free, three needed) is ENOSPC and changes nothing (size,
# blocks, free counts; LARGE_FILES stays unset; the times change before
# the write fails, as on ext2); then "hello" at
# 100 MiB and "world" at 4 GiB (the file's last block: a tail with
# fragments) read back, the holes around them read as zeros, before and
# after the caches are dropped and a remount; st_blocks is what statfs's
# free count lost (five indirect blocks and the two data blocks: 7168
# bytes plain, 6272 with fragments, less with LZ4); the superblock has
# LARGE_FILES (0x8) from then on; fsck -f is clean; a truncation to 0
# frees everything.  Before the triple-indirect level both writes were
# EFBIG.
large_file_through_the_triple_indirect_block() {
	case $1 in
	plain) options="-b 1024" ;;
	fragments) options="-b 1024 -f 128" ;;
	lz4) options="-b 1024 -f 128 -c lz4" ;;
	esac
	# shellcheck disable=SC2086 # the options are words
	new_loop_image /tmp/large-files.img 16M $options || return 1
	large_file_body "$1"
	status=$?
	umount /mnt/large 2>/dev/null
	drop_loop_image $status
}

# The body of large_file_through_the_triple_indirect_block.
large_file_body() {
	m=/mnt/large
	mkdir -p $m && mount -t toyfs "$loop" $m && touch $m/g $m/f || return 1
	# Full (random bytes: LZ4 does not shrink them), then two whole
	# blocks of the filler given back: at most a block's fragments less
	# one free elsewhere.
	dd if=/dev/urandom of=$m/fill bs=64k 2>/dev/null
	k=0
	while head -c 1024 /dev/urandom >$m/s$k 2>/dev/null; do k=$((k + 1)); done
	rm -f $m/s$k && size=$(stat -c %s $m/fill) &&
		truncate -s $((size / 1024 * 1024 - 2048)) $m/fill && sync || return 1
	state() { echo "$(stat -c '%s %b' $m/g) $(stat -f -c '%f %d' $m)"; }
	before=$(state) &&
		err=$(errno_of dd if=/dev/zero of=$m/g bs=1 count=1 seek=$((200 << 20)) conv=notrunc |
			head -n 1) &&
		sync && after=$(state) || return 1
	echo "$1: write at 200 MiB with two blocks free: '$err'; before: $before; after: $after"
	[ "$err" = "No space left on device" ] && [ "$before" = "$after" ] || return 1
	umount $m && fsck.toyfs -n -f "$loop" >/dev/null || return 1
	features=$(feature_incompat "$loop")
	echo "$1: feature_incompat $features"
	[ $((features & 8)) = 0 ] || return 1
	mount -t toyfs "$loop" $m && rm $m/fill $m/s* && sync || return 1
	# statfs counts fragments (f_frsize); busybox's stat %S is f_bsize.
	free0=$(stat -f -c %f $m) unit=128
	[ "$1" != plain ] || unit=1024
	printf hello | dd of=$m/f bs=1 seek=$((100 << 20)) conv=notrunc 2>/dev/null &&
		printf world | dd of=$m/f bs=1 seek=$((4 << 30)) conv=notrunc 2>/dev/null || return 1
	check() {
		[ "$(stat -c %s $m/f)" = $(((4 << 30) + 5)) ] &&
			[ "$(dd if=$m/f bs=1 skip=$((100 << 20)) count=5 2>/dev/null)" = hello ] &&
			[ "$(dd if=$m/f bs=1 skip=$((4 << 30)) count=5 2>/dev/null)" = world ] &&
			dd if=$m/f bs=1024 skip=$((100 * 1024 - 64)) count=64 2>/dev/null | cmp -s - /tmp/zeros64k.part &&
			dd if=$m/f bs=1024 skip=$((2 << 20)) count=64 2>/dev/null | cmp -s - /tmp/zeros64k.part &&
			dd if=$m/f bs=1 skip=$(((100 << 20) + 5)) count=1019 2>/dev/null | cmp -s - /tmp/zeros1019 &&
			dd if=$m/f bs=1 skip=$(((4 << 30) - 1000)) count=1000 2>/dev/null | cmp -s - /tmp/zeros1000
	}
	head -c 65536 /dev/zero >/tmp/zeros64k.part && head -c 1019 /dev/zero >/tmp/zeros1019 &&
		head -c 1000 /dev/zero >/tmp/zeros1000 || return 1
	check || { echo "$1: read back wrong before sync"; return 1; }
	sync && echo 3 >/proc/sys/vm/drop_caches && check || { echo "$1: read back wrong after drop_caches"; return 1; }
	used=$(((free0 - $(stat -f -c %f $m)) * unit)) blocks=$(stat -c %b $m/f)
	echo "$1: st_blocks $blocks, statfs lost $used bytes"
	[ $((blocks * 512)) -ge $used ] && [ $((blocks * 512)) -lt $((used + 512)) ] || return 1
	case $1 in
	plain) [ $used = 7168 ] ;;
	fragments) [ $used = 6272 ] ;;
	lz4) [ $used -le 6272 ] && [ $used -ge $((5 * 1024 + 2 * 128)) ] ;;
	esac || return 1
	umount $m && fsck.toyfs -n -f "$loop" >/dev/null || return 1
	features=$(feature_incompat "$loop")
	echo "$1: feature_incompat $features"
	[ $((features & 8)) = 8 ] || return 1
	mount -t toyfs "$loop" $m && check || { echo "$1: read back wrong after remount"; return 1; }
	truncate -s 0 $m/f && sync && [ "$(stat -c %b $m/f)" = 0 ] &&
		[ "$(stat -f -c %f $m)" = "$free0" ] || { echo "$1: truncate left blocks"; return 1; }
	umount $m && fsck.toyfs -n -f "$loop" >/dev/null && mount -t toyfs "$loop" $m
}

# A failed write of a block holding tails is neither read over with the
# disk's older bytes nor kept from the file's fsync (review #4), and the
# bytes reach the disk once it works; on a loop device with an image of
# 1 KiB blocks and 128-byte fragments, whose error is taken before it goes.
tail_write_error_is_kept_and_reported() {
	image=/tmp/tail-error.img
	rm -f $image && truncate -s 8M $image && mkfs.toyfs -q -b 1024 -f 128 $image &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	mkdir -p /mnt/tailerr
	arm_fail_make_request && mount -t toyfs "$loop" /mnt/tailerr &&
		toyfs-probe tail-write-error /mnt/tailerr "/sys/block/${loop#/dev/}/make-it-fail"
	status=$?
	echo 0 >$knobs/probability
	umount /mnt/tailerr && [ $status -eq 0 ] && fsck.toyfs -n "$loop" >/dev/null &&
		mount -t toyfs "$loop" /mnt/tailerr &&
		head -c 100 /dev/zero | tr '\0' D | cmp - /mnt/tailerr/tail-error-a &&
		head -c 100 /dev/zero | tr '\0' e | cmp - /mnt/tailerr/tail-error-b
	status=$?
	umount /mnt/tailerr 2>/dev/null
	dd if=/dev/null of="$loop" conv=fsync 2>/dev/null
	losetup -d "$loop"
	rm -f $image
	return $status
}

# toyfs-probe $1 on a toyfs of its own (a loop device of an image of $2
# bytes, mkfs.toyfs options after that) with fail_make_request armed
# (the probe sets the device failing and working); then unmount, a clean
# fsck, and the error left on the device taken.
loop_probe_with_errors() {
	what=$1 size=$2
	shift 2
	new_loop_image /tmp/$what.img "$size" "$@" || return 1
	mkdir -p /mnt/$what
	arm_fail_make_request && mount -t toyfs "$loop" /mnt/$what &&
		toyfs-probe "$what" /mnt/$what "/sys/block/${loop#/dev/}/make-it-fail"
	status=$?
	echo 0 >"/sys/block/${loop#/dev/}/make-it-fail"
	echo 0 >$knobs/probability
	umount /mnt/$what && fsck.toyfs -f -n "$loop" >/dev/null || status=1
	dd if=/dev/null of="$loop" conv=fsync 2>/dev/null
	drop_loop_image $status
}

# A block freed by one file (its tail's) while its buffer stays on that
# file's list, then taken by a new directory or another file's tail, is
# taken off that list: a failed write of it is reported to the fsync of
# its new owner, not of the file that freed it (review rev9, N; 1 KiB
# blocks, 128-byte fragments, 1 MiB: a small image to fill).
reused_block_error_goes_to_its_new_owner() {
	loop_probe_with_errors reused-block-error 1M -b 1024 -f 128
}

# A tail whose write failed in the background is neither lost nor
# silent when its file is evicted: the file read again holds the bytes
# written, and syncfs reports the error (review rev9, S; 4 KiB blocks,
# 512-byte fragments: one buffer to a page of the device).
evicted_tail_keeps_a_failed_write() {
	loop_probe_with_errors evicted-tail-error 8M -b 4096 -f 512
}

# A bitmap block whose write fails when the file whose bits it holds is
# evicted is neither lost nor reported once only: syncfs through every
# descriptor open before reports it, and the block reaches the disk once
# the device works (fsck finds the freed file's blocks free); review
# rev9: the error stayed on the device's mapping, which the first syncfs
# took, and the block, written and failed, clean, was written by nobody.
evicted_bitmap_write_error_reaches_syncfs() {
	loop_probe_with_errors evicted-bitmap-error 8M -b 4096
}

# A file's compressed blocks written back into two disk blocks keep both
# their buffers referenced, not the last alone: once their writes failed
# in the background and the caches were dropped, the file, still open,
# reads the bytes written in both (review rev9 low, InodeInfo::packed;
# 4 KiB blocks, 512-byte fragments, LZ4: one buffer to a page of the
# device).
packed_buffers_keep_failed_writes() {
	loop_probe_with_errors packed-buffers-error 8M -b 4096 -f 512 -c lz4
}

# mkdir whose new inode cannot be written (the block of the inode table
# holding it fails to read) takes back the entry it added and the block
# it took, as create does: fsck finds nothing afterwards (it found the
# entry naming a free inode, and the lost block).  4 KiB blocks, so that
# the inode table's first block shares its page with no buffer toyfs
# keeps (the bitmap): drop_caches drops it.
mkdir_failing_at_the_inode_table_leaves_nothing() {
	image=/tmp/mkdir-error.img
	rm -f $image && truncate -s 8M $image && mkfs.toyfs -q -b 4096 $image &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	fail=/sys/block/${loop#/dev/}/make-it-fail
	mkdir -p /mnt/mkdirerr
	# The mount read the whole inode table (which inodes are free); after
	# the caches are dropped only the root directory's block is read again.
	mount -t toyfs "$loop" /mnt/mkdirerr && : >/mnt/mkdirerr/first && sync &&
		echo 3 >/proc/sys/vm/drop_caches && [ ! -e /mnt/mkdirerr/d ] &&
		arm_fail_make_request && echo 1 >$fail &&
		! mkdir /mnt/mkdirerr/d 2>/dev/null
	status=$?
	echo 0 >$fail
	echo 0 >$knobs/probability
	umount /mnt/mkdirerr && [ $status -eq 0 ] && fsck.toyfs -n "$loop" &&
		mount -t toyfs "$loop" /mnt/mkdirerr && mkdir /mnt/mkdirerr/d &&
		umount /mnt/mkdirerr && fsck.toyfs -n "$loop" >/dev/null
	status=$?
	umount /mnt/mkdirerr 2>/dev/null
	losetup -d "$loop"
	rm -f $image
	return $status
}

# A device whose logical blocks are 4 KiB (4Kn) mounts a toyfs of 4 KiB
# blocks (issue 12: sb_set_blocksize(512) refused it), and refuses one of
# 1 KiB blocks with a message.
mounts_on_a_4kn_device() {
	image=/tmp/4kn.img
	for block in 4096 1024; do
		rm -f $image && dd if=/dev/zero of=$image bs=1M count=8 2>/dev/null &&
			mkfs.toyfs -q -b $block $image && loop=$(losetup -f) &&
			losetup "$loop" $image && toyfs-probe loop-block-size "$loop" 4096 || return 1
		mkdir -p /mnt/4kn
		if [ $block = 4096 ]; then
			mount -t toyfs "$loop" /mnt/4kn && cp /tmp/pattern /mnt/4kn/p &&
				umount /mnt/4kn && mount -t toyfs "$loop" /mnt/4kn &&
				cmp /tmp/pattern /mnt/4kn/p && umount /mnt/4kn
		else
			! mount -t toyfs "$loop" /mnt/4kn 2>/dev/null &&
				dmesg | tail -n 5 | grep -q 'cannot use block size 1024'
		fi
		status=$?
		losetup -d "$loop"
		[ $status -eq 0 ] || return 1
	done
}

# O_DIRECT (Documentation/toyfs.rst, "Direct I/O"): toyfs-probe odirect
# (open and fcntl take it; direct writes and reads at unaligned offsets,
# sizes and buffers, past the end and into holes; coherence both ways
# with dirty and cached pages and a shared mapping; the bytes on the
# device when a direct write returns), then the file after a remount and
# fsck.
odirect_probe() {
	toyfs-probe odirect $mnt $dev /tmp/odirect-model && umount $mnt && fsck.toyfs -n $dev &&
		mount -t toyfs $dev $mnt && cmp /tmp/odirect-model $mnt/odirect &&
		rm $mnt/odirect $mnt/odirect-device
}

# Debian's xfs_io, GNU dd and fio (debian.sh) see the toyfs mounted at $1
# at the same path in the chroot (whose /mnt is /debian/mnt here).
debian_view() { mkdir -p "/debian$1" && mount -o bind "$1" "/debian$1"; }
debian_unview() { umount "/debian$1"; }

# xfs_io -d pwrite into $1/$2 at offset $3 of $4 bytes of the pattern from
# its byte $3 % 7, and the same buffered into the reference $ref/$2.
dio_write_both() {
	in_debian xfs_io -d -c "pwrite -q -b 65536 -i /tmp/odirect-pattern -s $(($3 % 7)) $3 $4" "$1/$2" &&
		ref_write "$2" "$(($3 % 7))" "$3" "$4"
}

# $4 bytes of the pattern from its byte $2 at offset $3 of the reference
# $ref/$1, as dd bs=1 skip=$2 seek=$3 count=$4 but in writes of 64 KiB,
# not of a byte: a round trip wrote some 98,000 bytes of reference a
# byte at a time, two system calls each.
ref_write() {
	dd if=/tmp/pattern of="$ref/$1" bs=65536 iflag=skip_bytes,count_bytes oflag=seek_bytes \
		skip="$2" seek="$3" count="$4" conv=notrunc 2>/dev/null
}

# $4 bytes at offset $3 of $1/$2, read by GNU dd with iflag=direct in one
# read(2), are the reference's.
dio_reads_as_ref() {
	in_debian dd if="$1/$2" iflag=direct,skip_bytes,count_bytes skip="$3" count="$4" bs="$4" 2>/dev/null |
		cmp -n "$4" - "$ref/$2" 0 "$3"
}

# The whole of $1/$2, read with O_DIRECT in reads of $3 bytes, is the
# reference's, and as long.
dio_file_is_ref() {
	[ "$(stat -c %s "$1/$2")" = "$(stat -c %s "$ref/$2")" ] ||
		{ echo "$2: $(stat -c %s "$1/$2") bytes, expected $(stat -c %s "$ref/$2")"; return 1; }
	in_debian dd if="$1/$2" iflag=direct bs="$3" 2>/dev/null | cmp - "$ref/$2"
}

# xfs_io -d writes into $1/odx at aligned and unaligned offsets and sizes,
# past the end (the size grows) and into holes, each read back with
# O_DIRECT at once in one read(2), all in one xfs_io (an xfs_io started
# over virtio-9p for each took seconds on the debug kernel): the reads
# must dump what the same commands, buffered, dump on the chroot's tmpfs,
# whose file is then the reference.  A buffered write left dirty, read
# by a direct read; a direct write over pages a buffered read cached,
# read by a buffered read; the whole file by direct reads of several
# sizes and by a buffered read, after drop_caches too.
dio_round_trip() {
	: >"$1/odx" && rm -f /debian/tmp/odx-ref || return 1
	cmds=
	for spec in 0:4096 1:1 1000:3000 4095:2 4096:8192 12287:4099 20000:1 \
		30000:70000 150000:4096 120001:777 110000:5; do
		off=${spec%:*} len=${spec#*:}
		cmds="$cmds -c \"pwrite -q -b 65536 -i /tmp/odirect-pattern -s $((off % 7)) $off $len\""
		cmds="$cmds -c \"pread -q -v -b $len $off $len\""
	done
	eval "in_debian xfs_io -d $cmds \"\$1/odx\"" >/tmp/odx-direct 2>&1
	eval "in_debian xfs_io -f $cmds /tmp/odx-ref" >/tmp/odx-buffered 2>&1
	cmp -s /tmp/odx-buffered /tmp/odx-direct && [ -s /tmp/odx-direct ] && cp /debian/tmp/odx-ref "$ref/odx" || {
		echo "xfs_io -d pwrite, each read back at once: the dumps (hex offsets) differ from tmpfs's:"
		diff /tmp/odx-buffered /tmp/odx-direct | head -n 40
		return 1
	}
	dd if=/tmp/pattern of="$1/odx" bs=1 skip=3 seek=5000 count=3000 conv=notrunc 2>/dev/null &&
		ref_write odx 3 5000 3000 &&
		dio_reads_as_ref "$1" odx 4000 5000 || { echo "direct read over a dirty page"; return 1; }
	cmp "$1/odx" "$ref/odx" && dio_write_both "$1" odx 41000 300 && cmp "$1/odx" "$ref/odx" ||
		{ echo "buffered read after a direct write over cached pages"; return 1; }
	for bs in 512 4096 65536 100000; do
		dio_file_is_ref "$1" odx $bs || { echo "direct reads of $bs bytes"; return 1; }
	done
	drop_caches && dio_file_is_ref "$1" odx 7777 && drop_caches && cmp "$1/odx" "$ref/odx"
}

# The round trips on the ramdisk's toyfs, and the file after a remount
# and fsck.
xfs_io_direct_round_trip() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	cp /tmp/pattern /debian/tmp/odirect-pattern && debian_view $mnt || return 1
	dio_round_trip $mnt
	status=$?
	debian_unview $mnt && [ $status -eq 0 ] && umount $mnt && fsck.toyfs -n $dev &&
		mount -t toyfs $dev $mnt && cmp $mnt/odx $ref/odx && rm $mnt/odx
}

# Direct I/O's edges (review-dio, Documentation/toyfs.rst "Direct I/O"),
# with xfs_io on an image of 1 KiB blocks (2 MiB): a direct read across
# the end is short, ending at the end (aligned: 5000 of 8192 bytes; from
# a block inside: 904 of 4096), and one at the end reads nothing; blocks
# allocated by fallocate (inside a new size, and preallocated with
# KEEP_SIZE then brought inside by a truncation up) over blocks a
# removed file left full of 0xee on disk read as zeros by bio (whole
# aligned blocks); RWF_NOWAIT (pwritev2) is refused with
# EOPNOTSUPP (no FMODE_NOWAIT), the file unchanged; a direct write of
# 4 MiB into the 2 MiB image is short (POSIX: the bytes that had room),
# its bytes read back, and the next one fails with ENOSPC.  fsck clean.
o_direct_edges() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	on_viewed_image o_direct_edges_body 1024 2M -b 1024
}

# xfs_io -d in the chroot on /mnt/view/$1 with commands $2...; its output.
dio_view() {
	f=/mnt/view/$1
	shift
	for c in "$@"; do set -- "$@" -c "$c"; shift; done
	in_debian xfs_io -d "$@" "$f" 2>&1
}

# The body of o_direct_edges.
o_direct_edges_body() {
	v=/mnt/view
	in_debian xfs_io -f -c "pwrite -q -S 0x61 0 5000" $v/eof >/dev/null || return 1
	out=$(dio_view eof "pread 0 8192" "pread 4096 4096" "pread 5000 4096")
	echo "$out" | grep -q '^read 5000/8192 bytes' && echo "$out" | grep -q '^read 904/4096 bytes' &&
		echo "$out" | grep -q '^read 0/4096 bytes' ||
		{ echo "direct reads across and at the end: $out"; return 1; }
	# Stale bytes on disk: a file of 0xee, synced, removed.
	in_debian xfs_io -f -c "pwrite -q -S 0xee 0 1048576" -c fsync $v/old >/dev/null && rm $v/old &&
		sync || return 1
	in_debian xfs_io -f -c "falloc 0 262144" $v/fa >/dev/null &&
		in_debian xfs_io -f -c "falloc -k 0 262144" -c "truncate 262144" $v/fk >/dev/null || return 1
	for f in fa fk; do
		[ "$(stat -c %s $v/$f)" = 262144 ] || { echo "$f: size $(stat -c %s $v/$f)"; return 1; }
		# GNU dd's buffer is page-aligned: 256 whole blocks, by bio.
		in_debian sh -c "dd if=$v/$f iflag=direct bs=262144 count=1 status=none |
			cmp -n 262144 - /dev/zero" ||
			{ echo "direct read of fallocated $f: not zeros"; return 1; }
		head -c 262144 /dev/zero | cmp - $v/$f || return 1
	done
	rm $v/fa $v/fk && sync || return 1
	# (xfs_io's pread has no -N.)
	out=$(dio_view eof "pwrite -N -V 1 0 1024")
	[ "$(echo "$out" | grep -c 'Operation not supported')" = 1 ] ||
		{ echo "RWF_NOWAIT: $out"; return 1; }
	[ "$(stat -c %s $v/eof)" = 5000 ] && head -c 5000 /dev/zero | tr '\000' a | cmp - $v/eof ||
		{ echo "RWF_NOWAIT changed the file"; return 1; }
	: >$v/big || return 1
	out=$(dio_view big "pwrite -b 4194304 -S 0x5a 0 4194304" "pwrite -b 65536 4194304 65536")
	# shellcheck disable=SC2016 # awk's fields
	short=$(echo "$out" | awk -F '[ /]' '/^wrote / { print $2; exit }')
	[ -n "$short" ] && [ "$short" -gt 0 ] && [ "$short" -lt 4194304 ] &&
		[ "$(stat -c %s $v/big)" = "$short" ] && echo "$out" | grep -q 'No space left on device' ||
		{ echo "a direct write of 4 MiB into 2 MiB: $out; size $(stat -c %s $v/big)"; return 1; }
	echo "a direct write of 4 MiB into the 2 MiB image wrote $short bytes"
	head -c "$short" /dev/zero | tr '\000' '\132' | cmp - $v/big || { echo "big: not its bytes"; return 1; }
	rm $v/eof $v/big
}

# Direct reads never go by bio to a tail's or a compressed block's bytes
# on disk (review-dio): an image of 4 KiB blocks, 512-byte fragments,
# LZ4 and packed tails (mkfs.toyfs -c lz4 -p -d): t, 40,000 bytes of
# text (compressed blocks, its tail packed compressed), then its
# compressed flag cleared (chattr -c: its blocks stay compressed on
# disk, so only the block map tells), r, 3 blocks and 300 bytes of
# random bytes (plain blocks, a packed tail), p, a packed tail alone;
# each read whole with GNU dd iflag=direct in reads of 4 KiB and of
# 12 KiB (page-aligned: whole blocks), the caches dropped first, is its
# source; fsck clean.
o_direct_reads_tails_and_compressed_blocks() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	tree=/tmp/dio-tree
	rm -rf $tree && mkdir -p $tree && seq 1 20000 | head -c 40000 >$tree/t &&
		head -c 12588 /dev/urandom >$tree/r && head -c 300 /dev/urandom >$tree/p || return 1
	on_viewed_image dio_tails_body $tree 8M -b 4096 -f 512 -c lz4 -p -d $tree
}

# The body of o_direct_reads_tails_and_compressed_blocks ($1: the tree).
dio_tails_body() {
	encoded=$(toyfs-probe encoded /mnt/view/t) && [ "$encoded" -gt 0 ] ||
		{ echo "t: $encoded encoded extents"; return 1; }
	compr_flag=$(toyfs-stress compr /mnt/view/t -c) && [ "$compr_flag" = - ] ||
		{ echo "chattr -c t: $compr_flag"; return 1; }
	for f in t r p; do
		for bs in 4096 12288; do
			echo 3 >/proc/sys/vm/drop_caches
			in_debian dd if=/mnt/view/$f iflag=direct bs=$bs status=none | cmp - "$1/$f" ||
				{ echo "direct reads of $bs bytes of $f"; return 1; }
		done
	done
}

# fio with direct=1 and crc32c verification in directory $1 (seen in the
# chroot): random writes of 4 KiB and of 1536 bytes, bytes that compress
# by half, 128 and 256 of them; asynchronous ones (libaio, 8 and 16 in
# flight, as xfstests generic/112 runs fsx with AIO), 64 random writes of
# 4 KiB and 256 of 512 bytes (sub-block with blocks over 512 bytes); a
# quarter of each on the debug kernel; then command $2 (a remount), then
# the same jobs verifying only what the first run left.
fio_direct() {
	opts="--directory=$1 --direct=1 --ioengine=psync --verify=crc32c"
	opts="$opts --buffer_compress_percentage=50 --refill_buffers --randseed=7"
	jobs="--name=odirect4k --rw=randwrite --bs=4k --size=$((128 * 4096 / fio_divisor))"
	jobs="$jobs --name=odirect1536 --rw=randwrite --bs=1536 --size=$((256 * 1536 / fio_divisor))"
	jobs="$jobs --name=aio4k --ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k"
	jobs="$jobs --size=$((64 * 4096 / fio_divisor))"
	jobs="$jobs --name=aio512 --ioengine=libaio --iodepth=16 --rw=randwrite --bs=512"
	jobs="$jobs --size=$((256 * 512 / fio_divisor))"
	# shellcheck disable=SC2086 # one word per option
	in_debian fio --output=/tmp/fio-odirect.log $opts $jobs ||
		{ in_debian cat /tmp/fio-odirect.log; return 1; }
	in_debian grep -E 'err=' /tmp/fio-odirect.log
	$2 || return 1
	# shellcheck disable=SC2086 # one word per option
	in_debian fio --output=/tmp/fio-odirect.log --verify_only $opts $jobs ||
		{ in_debian cat /tmp/fio-odirect.log; return 1; }
}

remount_toyfs() {
	debian_unview $mnt && umount $mnt && fsck.toyfs -n $dev && mount -t toyfs $dev $mnt &&
		debian_view $mnt
}

fio_direct_on_toyfs() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	mkdir -p $mnt/fio-odirect && debian_view $mnt || return 1
	fio_direct $mnt/fio-odirect remount_toyfs
	status=$?
	debian_unview $mnt
	rm -rf $mnt/fio-odirect && [ $status -eq 0 ]
}

# xfstests generic/114 (aio-dio-eof-race): extending O_DIRECT writes in
# flight at once past the end of one file, sub-block and unaligned, on a
# new image of each layout (1 KiB blocks; 4 KiB blocks with 512-byte
# fragments; the same with LZ4).  fio: four jobs write their own quarter
# of one file from its start, in order, libaio and io_uring, 16 requests
# submitted together (512, 1000, 1536 and 4096 + 512 bytes): each request
# ends past the end of the file, and the jobs' requests interleave, one
# extending across the holes another left.  Each job reads its bytes
# back (verify=crc32c); the file is then the jobs' 2,304,000 bytes, and
# after a remount the jobs verify again.  on_viewed_image runs fsck.toyfs -f at the end.
# The debug kernel races on two of the images: 1 KiB blocks, and 4 KiB
# blocks with 512-byte fragments and LZ4, whose tails are fragments too.
aio_extending_direct_writes_race() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	on_viewed_image aio_eof_race_body 1024 32M -b 1024 || return 1
	if [ -e /sys/kernel/debug/kmemleak ]; then
		echo "debug kernel: not on -b 4096 -f 512 without LZ4 (the base kernel races there too)"
	else
		on_viewed_image aio_eof_race_body 4096 32M -b 4096 -f 512 || return 1
	fi
	on_viewed_image aio_eof_race_body 4096 32M -b 4096 -f 512 -c lz4
}

# The body of aio_extending_direct_writes_race.
aio_eof_race_body() {
	# A multiple of every request size: fio finds the file whole when it
	# verifies again (a file shorter than a job's range it lays out anew).
	quarter=576000
	opts="--filename=/mnt/view/race --direct=1 --rw=write --size=$quarter --fallocate=none --verify=crc32c"
	opts="$opts --iodepth=16 --iodepth_batch_submit=16 --iodepth_batch_complete_min=1"
	jobs="--name=aio512 --ioengine=libaio --bs=512 --offset=0"
	jobs="$jobs --name=uring1000 --ioengine=io_uring --bs=1000 --offset=$quarter"
	jobs="$jobs --name=aio1536 --ioengine=libaio --bs=1536 --offset=$((2 * quarter))"
	jobs="$jobs --name=uring4608 --ioengine=io_uring --bs=4608 --offset=$((3 * quarter))"
	# shellcheck disable=SC2086 # one word per option
	in_debian fio --output=/tmp/fio-eof-race.log $opts $jobs ||
		{ in_debian cat /tmp/fio-eof-race.log; return 1; }
	in_debian grep -E 'err=' /tmp/fio-eof-race.log
	size=$(stat -c %s /mnt/view/race)
	[ "$size" = $((4 * quarter)) ] || { echo "size $size, not $((4 * quarter))"; return 1; }
	debian_unview /mnt/view && umount /mnt/view && fsck.toyfs -n -f "$loop" >/dev/null &&
		mount -t toyfs "$loop" /mnt/view && debian_view /mnt/view || return 1
	# shellcheck disable=SC2086 # one word per option
	in_debian fio --output=/tmp/fio-eof-race.log --verify_only $opts $jobs ||
		{ in_debian cat /tmp/fio-eof-race.log; return 1; }
}

lz4=/mnt/odirect-lz4
remount_lz4() {
	debian_unview $lz4 && umount $lz4 && fsck.toyfs -n -f "$loop" >/dev/null &&
		mount -t toyfs "$loop" $lz4 && debian_view $lz4
}

# The same on an image with fragments and LZ4 (4 KiB blocks, 512-byte
# fragments; new files compressed): fio, whose blocks must be stored
# compressed, and the xfs_io -d round trips, whose partial blocks are
# tails and compressed blocks; fsck.toyfs -f (which decompresses every
# block) clean after each.
odirect_on_an_lz4_image() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	image=/tmp/odirect-lz4.img
	rm -f $image && mkfs.toyfs -q -b 4096 -f 512 -c lz4 $image 32M &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	if mkdir -p $lz4 && mount -t toyfs "$loop" $lz4; then
		mkdir $lz4/fio && debian_view $lz4 && cp /tmp/pattern /debian/tmp/odirect-pattern &&
			fio_direct $lz4/fio remount_lz4 &&
			encoded=$(toyfs-probe encoded $lz4/fio/odirect4k.0.0) &&
			echo "encoded extents of the 4 KiB job's file: $encoded" && [ "$encoded" -gt 0 ] &&
			rm -r $lz4/fio && dio_round_trip $lz4 && remount_lz4 && cmp $lz4/odx $ref/odx
		status=$?
		umount /debian$lz4 2>/dev/null
		umount $lz4 && [ $status -eq 0 ] && fsck.toyfs -n -f "$loop" >/dev/null
		status=$?
	else
		status=1
	fi
	losetup -d "$loop"
	rm -f $image
	return $status
}

# An empty ext2 of 4 KiB blocks (busybox mke2fs) on a loop device at
# /mnt/ext2, the reference of the cases below: what a caller sees of its
# symbolic links and special files must be what it sees of toyfs's.
ext2_begin() {
	ext2_image=/tmp/ext2-ref.img
	rm -f $ext2_image && truncate -s 16M $ext2_image && ext2_loop=$(losetup -f) &&
		losetup "$ext2_loop" $ext2_image && mke2fs -F -b 4096 "$ext2_loop" >/dev/null &&
		mkdir -p /mnt/ext2 && mount -t ext2 "$ext2_loop" /mnt/ext2 ||
		{ echo "no ext2 on a loop device"; return 1; }
}
ext2_end() {
	umount /mnt/ext2
	losetup -d "$ext2_loop"
	rm -f $ext2_image
}

# Error text of a failed command, without the command's own prefix.
errno_of() { "$@" 2>&1 >/dev/null | sed 's/^.*: //'; }

# What symbolic link operations in the empty directory $1 give, target
# $2 of 4095 bytes (/tmp/long-target holds it and a newline): printed
# for the comparison with ext2.
symlink_report() {
	d=$1 long=$2
	echo hello >$d/file && ln -s file $d/short && ln -s "$long" $d/long &&
		ln -s /nowhere $d/dangling || return 1
	echo "short: $(readlink $d/short) $(cat $d/short) $(stat -c '%s %F %a %h' $d/short)"
	echo "long: $(readlink $d/long | cmp - /tmp/long-target && echo same) $(stat -c '%s %F' $d/long)"
	echo "dangling: $(readlink $d/dangling) $(errno_of cat $d/dangling)"
	# PATH_MAX counts the NUL: 4096 bytes are too many.
	echo "4096 bytes: $(errno_of ln -s "${long}x" $d/toolong) $(ls $d | grep -c toolong)"
	echo "taken: $(errno_of ln -s other $d/short)"
	echo "through: $(errno_of ln -s x $d/short/below) $(errno_of ln -s x $d/dangling/below)"
	mv $d/short $d/moved && ln $d/moved $d/hard || return 1
	echo "moved: $(readlink $d/moved) $(stat -c '%h %F' $d/hard) $(cat $d/hard)"
	rm $d/hard $d/moved $d/long $d/dangling $d/file || return 1
	echo "left: $(ls -A $d | wc -l)"
}

# ln -s and readlink as on ext2: a short target, one of 4095 bytes
# (PATH_MAX - 1) and ENAMETOOLONG past it, a dangling link, a taken
# name, rename and a hard link of a symbolic link, unlink; then a 4095-
# byte target and short ones read back from the disk after a remount.
symlinks_as_on_ext2() {
	long=$(head -c 4095 /dev/zero | tr '\0' l)
	printf '%s\n' "$long" >/tmp/long-target
	mkdir $mnt/links && toyfs=$(symlink_report $mnt/links "$long") || { echo "$toyfs"; return 1; }
	ext2_begin || return 1
	mkdir /mnt/ext2/links && ext2=$(symlink_report /mnt/ext2/links "$long")
	ext2_end
	echo "$toyfs"
	[ "$toyfs" = "$ext2" ] || { echo "ext2 says:"; echo "$ext2"; return 1; }
	ln -s "$long" $mnt/links/keep && ln -s ../links/keep $mnt/links/rel &&
		remount && [ "$(readlink $mnt/links/rel)" = ../links/keep ] &&
		readlink $mnt/links/keep | cmp - /tmp/long-target &&
		[ "$(stat -c %s $mnt/links/keep)" = 4095 ] && drop_caches &&
		readlink $mnt/links/keep | cmp - /tmp/long-target && [ -L $mnt/links/rel ] &&
		rm -r $mnt/links
}

# What FIFOs, devices, a socket, a symbolic link, a file and a directory
# in the empty directory $1 give: stat, d_type of readdir (toyfs-probe
# special, which binds the socket and passes a line through it), a line
# through the FIFO, /dev/null's number used as a device.
special_report() {
	d=$1
	mkfifo -m 640 $d/fifo && mknod $d/null c 1 3 && mknod $d/loop b 7 200 &&
		mknod $d/big c 4095 1048575 && echo file >$d/file && mkdir $d/dir &&
		ln -s file $d/link || return 1
	toyfs-probe special $d || return 1
	for name in fifo null loop big sock; do
		stat -c '%n %F %a %t:%T size %s blocks %b links %h' $d/$name | sed "s|^$d/||"
	done
	echo through >$d/fifo &
	read -r line <$d/fifo
	wait
	echo "fifo: $line"
	echo "null: $(echo x >$d/null && wc -c <$d/null)"
}

# mkfifo, mknod of character and block devices and a socket, as on ext2
# (types, numbers, d_type, a usable FIFO, socket and device); the types
# and major:minor numbers kept across a remount, fsck clean with them,
# and after each is unlinked.
special_files_as_on_ext2() {
	mkdir $mnt/special && toyfs=$(special_report $mnt/special) || { echo "$toyfs"; return 1; }
	ext2_begin || return 1
	mkdir /mnt/ext2/special && ext2=$(special_report /mnt/ext2/special)
	ext2_end
	echo "$toyfs"
	[ "$toyfs" = "$ext2" ] || { echo "ext2 says:"; echo "$ext2"; return 1; }
	before=$(cd $mnt/special && stat -c '%n %F %a %t:%T %s %b' * | sort)
	umount $mnt && fsck_clean $dev
	status=$?
	# Mounted again whatever fsck said: the cases after this one use it.
	mount -t toyfs $dev $mnt && [ $status -eq 0 ] || return 1
	after=$(cd $mnt/special && stat -c '%n %F %a %t:%T %s %b' * | sort)
	[ "$before" = "$after" ] || { echo "after the remount:"; echo "$after"; return 1; }
	echo again >$mnt/special/fifo &
	read -r line <$mnt/special/fifo
	wait
	[ "$line" = again ] || return 1
	for name in fifo null loop big sock link file; do
		rm $mnt/special/$name || return 1
	done
	rmdir $mnt/special/dir $mnt/special && umount $mnt && fsck_clean $dev
	status=$?
	mount -t toyfs $dev $mnt && [ $status -eq 0 ]
}

# The SPECIAL_FILES feature (bit 0x4 of feature_incompat, superblock byte
# 60) is set by the first symbolic link or special file made, not by one
# that fails: on a new 1 MiB image of 32 inodes, $1 (no_inode or
# no_entry_block) leaves no room, mknod, mkfifo and ln -s fail with
# ENOSPC, and the superblock stays without the feature (a toyfs that
# predates it still mounts the image); with room again, mknod succeeds
# and sets it.  fsck is clean each time.
special_files_feature_needs_a_special_file() {
	image=/tmp/special.img
	rm -f $image && truncate -s 1M $image && mkfs.toyfs -q -N 32 $image &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	mkdir -p /mnt/special
	special_feature_body "$1" "$loop"
	status=$?
	umount /mnt/special 2>/dev/null
	losetup -d "$loop"
	rm -f $image
	return $status
}

# feature_incompat of the toyfs on $1 (unmounted).
feature_incompat() { od -An -tu4 -j 60 -N 4 "$1" | tr -d ' '; }

# The body of special_files_feature_needs_a_special_file: $1 the case,
# $2 the device.
special_feature_body() {
	mount -t toyfs "$2" /mnt/special || return 1
	i=0
	if [ "$1" = no_inode ]; then
		# Every inode taken: the creations fail before an entry is added.
		prefix=
		while touch /mnt/special/f$i 2>/dev/null; do i=$((i + 1)); done
		[ $i -gt 0 ] || return 1
		free=/mnt/special/f0
	else
		# Free inodes, but the directory's blocks full of names of 201
		# bytes and no free block for another: the inode number is taken,
		# then the entry finds no room.  The special files' names are
		# longer, so that none fits where the last name did not.
		prefix=$(head -c 203 /dev/zero | tr '\0' s)
		long=$(head -c 200 /dev/zero | tr '\0' n)
		dd if=/dev/zero of=/mnt/special/fill bs=1024 2>/dev/null
		while touch /mnt/special/$long$i 2>/dev/null; do i=$((i + 1)); done
		[ "$(stat -f -c %d /mnt/special)" -gt 0 ] ||
			{ echo "no inode left: not the entry's ENOSPC"; return 1; }
		free=/mnt/special/fill
	fi
	for make in "mknod /mnt/special/${prefix}fifo p" "mkfifo /mnt/special/${prefix}fifo2" \
		"ln -s target /mnt/special/${prefix}link"; do
		out=$($make 2>&1) && { echo "${make%% *}: succeeded"; return 1; }
		case "$out" in *"No space left"*) ;; *) echo "${make%% *}: $out"; return 1 ;; esac
	done
	umount /mnt/special && fsck.toyfs -n -f "$2" >/dev/null || return 1
	features=$(feature_incompat "$2")
	[ $((features & 4)) -eq 0 ] ||
		{ echo "SPECIAL_FILES set with no special file: feature_incompat $features"; return 1; }
	mount -t toyfs "$2" /mnt/special && rm $free && mknod /mnt/special/fifo p &&
		umount /mnt/special && fsck.toyfs -n -f "$2" >/dev/null || return 1
	features=$(feature_incompat "$2")
	[ $((features & 4)) -eq 4 ] || { echo "a FIFO, and no SPECIAL_FILES: feature_incompat $features"; return 1; }
}

# Symbolic links on an image with fragments and LZ4: targets of 1 to 4095
# bytes are tails (or whole blocks and a tail) beside compressed files,
# read back from the cache, from the disk and after a remount; fsck
# (decompressing) is clean with them and after they are unlinked.
symlinks_on_fragments_and_lz4() {
	image=/tmp/symlz4.img
	rm -f $image && truncate -s 8M $image && mkfs.toyfs -q -b 1024 -c lz4 $image &&
		loop=$(losetup -f) && losetup "$loop" $image || return 1
	mkdir -p /mnt/symlz4
	mount -t toyfs "$loop" /mnt/symlz4 && symlinks_in_lz4 "$loop"
	status=$?
	umount /mnt/symlz4 2>/dev/null
	losetup -d "$loop"
	rm -f $image
	return $status
}

# The body of symlinks_on_fragments_and_lz4, on $1 mounted at /mnt/symlz4.
symlinks_in_lz4() {
	sizes="1 7 100 127 128 129 1000 1023 1024 1025 2049 3000 4095"
	head -c 3000 /tmp/pattern >/mnt/symlz4/file && head -c 5000 /dev/zero >/mnt/symlz4/zeros ||
		return 1
	for n in $sizes; do
		ln -s "$(head -c $n /dev/zero | tr '\0' t)" /mnt/symlz4/s$n || return 1
	done
	check() {
		for n in $sizes; do
			[ "$(readlink /mnt/symlz4/s$n | wc -c)" = $((n + 1)) ] &&
				[ "$(readlink /mnt/symlz4/s$n | tr -d t)" = "" ] &&
				[ "$(stat -c %s /mnt/symlz4/s$n)" = $n ] || { echo "s$n differs"; return 1; }
		done
	}
	check && sync && echo 3 >/proc/sys/vm/drop_caches && check &&
		umount /mnt/symlz4 && fsck.toyfs -n -f "$1" && mount -t toyfs "$1" /mnt/symlz4 &&
		check && head -c 3000 /tmp/pattern | cmp - /mnt/symlz4/file &&
		rm /mnt/symlz4/s* && umount /mnt/symlz4 && fsck.toyfs -n -f "$1" >/dev/null
}

# A loop device ($loop) over a new image $1 of $2 bytes made with
# mkfs.toyfs and the options after $2.
new_loop_image() {
	image=$1 size=$2
	shift 2
	rm -f "$image" && truncate -s "$size" "$image" && mkfs.toyfs -q "$@" "$image" &&
		loop=$(losetup -f) && losetup "$loop" "$image"
}

# Detaches $loop, removes $image, and returns $1.
drop_loop_image() {
	losetup -d "$loop"
	rm -f "$image"
	return "$1"
}

# A name of 200 bytes made of the character $1.
name200() { printf "$1%.0s" $(seq 1 200); }

# On the toyfs at /mnt/e, of $1-byte blocks: directory d whose last block
# has no room left for a name of 200 bytes.
fill_dir() {
	mkdir /mnt/e/d || return 1
	size0=$(stat -c %s /mnt/e/d) i=0
	while [ "$(stat -c %s /mnt/e/d)" = "$size0" ]; do
		i=$((i + 1)) && : >/mnt/e/d/$(name200 a)$i || return 1
	done
	# The new block holds one such entry (208 bytes) and room for more.
	for j in $(seq 1 $((($1 - 208) / 208))); do : >/mnt/e/d/$(name200 b)$j || return 1; done
}

# On the toyfs at /mnt/e (1 KiB blocks): fill_dir, and exactly $1 free
# blocks.
fill_small() {
	fill_dir 1024 || return 1
	for j in $(seq 1 "$1"); do head -c 1024 /dev/zero >/mnt/e/one$j || return 1; done
	dd if=/dev/zero of=/mnt/e/fill bs=4096 2>/dev/null
	k=0
	while head -c 1024 /dev/zero >/mnt/e/small$k 2>/dev/null; do k=$((k + 1)); done
	rm -f /mnt/e/small$k && rm /mnt/e/one* && sync
}

# d's size, mtime, ctime, blocks and links, and the free blocks and inodes.
dir_state() { echo "$(stat -c '%s %Y %Z %b %h' /mnt/e/d) $(stat -f -c '%f %d' /mnt/e)"; }

# A symbolic link whose target finds no room leaves its directory as it
# was (ext2 writes the target before it adds the entry): with exactly one
# free block and a directory that needs a new block for the name, `ln -s`
# of a 3000-byte target is ENOSPC, and the directory's size, times and
# blocks and the free counts do not change; fsck is clean.  toyfs added
# the entry first: the directory kept the block the entry took, and its
# new times.
symlink_without_room_leaves_the_directory_as_it_was() {
	new_loop_image /tmp/symlink-enospc.img 1M -b 1024 || return 1
	mkdir -p /mnt/e
	mount -t toyfs "$loop" /mnt/e && fill_small 1 && touch -d @1000000000 /mnt/e/d && sync &&
		before=$(dir_state) && sleep 1 &&
		err=$(errno_of ln -s "$(head -c 3000 /dev/zero | tr '\0' s)" /mnt/e/d/$(name200 c)) &&
		after=$(dir_state)
	status=$?
	echo "ln -s: '$err'; before: $before; after: $after"
	[ $status -eq 0 ] && [ "$err" = "No space left on device" ] && [ "$before" = "$after" ]
	status=$?
	umount /mnt/e && fsck.toyfs -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# create whose new inode cannot be written (its block of the inode table
# fails to read) leaves the directory as it was, also when the entry
# needed a new block: on a loop device with an image of 4 KiB blocks, a
# directory full for names of 200 bytes (kept open, so that its inode
# stays cached), the caches dropped, `touch NAME` while the device fails
# must fail with the directory's size, blocks and links and the free
# counts unchanged; fsck clean.  toyfs added the entry, and the block it
# needed, before it wrote the inode, and took back only the entry.
create_failing_at_the_inode_table_leaves_the_directory_as_it_was() {
	new_loop_image /tmp/create-error.img 8M -b 4096 || return 1
	fail=/sys/block/${loop#/dev/}/make-it-fail
	mkdir -p /mnt/e
	name=/mnt/e/d/$(name200 c)
	mount -t toyfs "$loop" /mnt/e && fill_dir 4096 && exec 8</mnt/e/d && sync &&
		echo 3 >/proc/sys/vm/drop_caches && [ ! -e "$name" ] && before=$(dir_state) &&
		arm_fail_make_request && echo 1 >$fail &&
		! touch "$name" 2>/dev/null
	status=$?
	echo 0 >$fail
	echo 0 >$knobs/probability
	after=$(dir_state)
	exec 8<&-
	echo "before: $before; after: $after"
	[ $status -eq 0 ] && [ "$before" = "$after" ] && [ ! -e "$name" ]
	status=$?
	umount /mnt/e && fsck.toyfs -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# Image $1 on $loop (new_loop_image) of 1 KiB blocks and 128-byte
# fragments whose directory d is a tail of 7 fragments (mkfs.toyfs -d)
# holding 27 names of 21 bytes: entries of 32 bytes, no room for another.
tail_dir_image() {
	rm -rf /tmp/tail-src && mkdir -p /tmp/tail-src/d || return 1
	for i in $(seq 10 36); do : >/tmp/tail-src/d/f${i}_xxxxxxxxxxxxxxxxx || return 1; done
	new_loop_image "$1" 1M -b 1024 -f 128 -N 1024 -d /tmp/tail-src
}

# A create that finds no room for a new directory block leaves a
# directory whose last block is a tail (FRAGMENTS; mkfs.toyfs -d makes
# every directory one fragment and grows it a fragment at a time) as it
# was: an image of 1 KiB blocks and 128-byte fragments made from a tree
# whose directory d takes 7 fragments (27 names of 21 bytes), every
# fragment then in use but the 8 of one whole block; `touch d/NAME` (a
# name of 200 bytes, for which the room a whole last block would add is
# too little) must be ENOSPC with d's size, times, blocks and links and
# the free counts unchanged; fsck clean.  toyfs made the tail a whole
# block (the free one) before it found that the entry needed a second
# new block, and kept it when that allocation failed.
create_without_room_leaves_a_tail_directory_as_it_was() {
	tail_dir_image /tmp/tail-enospc.img || return 1
	mkdir -p /mnt/e
	mount -t toyfs "$loop" /mnt/e && [ "$(stat -c %s /mnt/e/d)" = 896 ] &&
		head -c 1024 /dev/zero >/mnt/e/one && mkdir /mnt/e/s &&
		{ dd if=/dev/zero of=/mnt/e/fill bs=4096 2>/dev/null; true; } && k=0 &&
		while head -c 100 /dev/zero >/mnt/e/s/$k 2>/dev/null; do k=$((k + 1)); done &&
		rm -f /mnt/e/s/$k && rm /mnt/e/one && sync && touch -d @1000000000 /mnt/e/d &&
		before=$(dir_state) && sleep 1 &&
		err=$(errno_of touch /mnt/e/d/$(name200 c)) && after=$(dir_state)
	status=$?
	echo "touch: '$err' ($k small files); before: $before; after: $after"
	[ $status -eq 0 ] && [ "$err" = "No space left on device" ] && [ "$before" = "$after" ]
	status=$?
	umount /mnt/e && fsck.toyfs -f -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# A name of 24 bytes: $1 then the number $2 in 23 digits.
name24() { printf "%s%023d" "$1" "$2"; }

# The $1-th entry of directory $2 in the order readdir gives (busybox
# find does not sort): where in the directory's blocks a name went.
nth_entry() { find "$2" -mindepth 1 -maxdepth 1 | sed -n "$1s|.*/||p"; }

# A create takes the first slot with room for its entry, as ext2's
# ext2_add_link does, although its walk for room starts past the blocks
# a create found full (samples/toyfs/dir.rs, RoomHint): every change that
# makes room below that start must bring it back.  On 1 KiB blocks,
# directory d holds 127 names of 24 bytes (entries of 32 bytes, 31 in
# block 0 after "." and "..", 32 in each other block), the third a
# subdirectory: four blocks, none with room for such an entry.  An
# unlink, a rename out of d and an rmdir each free a slot of block 0 (the
# first, second and third entries) and the next create of a 24-byte name
# must take it (readdir lists it there) with d's size unchanged.  A
# rename within d adds the new name first (a fifth block, as on ext2)
# and then frees the fourth slot, which the next create takes.  Without
# the walk's start brought back, d grew a block for each create and the
# new names came last.
room_found_again_where_entries_left() {
	new_loop_image /tmp/room.img 2M -b 1024 || return 1
	mkdir -p /mnt/e
	mount -t toyfs "$loop" /mnt/e || { drop_loop_image 1; return; }
	d=/mnt/e/d
	mkdir $d /mnt/e/o && i=0 && while [ $i -lt 127 ]; do
		if [ $i = 2 ]; then mkdir $d/$(name24 n $i); else : >$d/$(name24 n $i); fi || break
		i=$((i + 1))
	done && [ "$(stat -c %s $d)" = 4096 ] &&
		rm $d/$(name24 n 0) && : >$d/$(name24 a 0) &&
		echo "unlink: $(stat -c %s $d) $(nth_entry 1 $d)" &&
		[ "$(stat -c %s $d)" = 4096 ] && [ "$(nth_entry 1 $d)" = "$(name24 a 0)" ] &&
		mv $d/$(name24 n 1) /mnt/e/o/ && : >$d/$(name24 b 1) &&
		echo "rename out: $(stat -c %s $d) $(nth_entry 2 $d)" &&
		[ "$(stat -c %s $d)" = 4096 ] && [ "$(nth_entry 2 $d)" = "$(name24 b 1)" ] &&
		rmdir $d/$(name24 n 2) && mkdir $d/$(name24 c 2) &&
		echo "rmdir: $(stat -c %s $d) $(nth_entry 3 $d)" &&
		[ "$(stat -c %s $d)" = 4096 ] && [ "$(nth_entry 3 $d)" = "$(name24 c 2)" ] &&
		mv $d/$(name24 n 3) $d/$(name24 r 3) && [ "$(stat -c %s $d)" = 5120 ] &&
		: >$d/$(name24 e 3) &&
		echo "rename within: $(stat -c %s $d) $(nth_entry 4 $d)" &&
		[ "$(stat -c %s $d)" = 5120 ] && [ "$(nth_entry 4 $d)" = "$(name24 e 3)" ] &&
		[ "$(ls $d | wc -l)" = 128 ]
	status=$?
	umount /mnt/e && fsck.toyfs -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# The same when the room comes from a tail made a whole block
# (FRAGMENTS): tail_dir_image, then two creates of names of 21 bytes:
# the first finds no room, makes the tail a whole block and adds its
# entry there, the second must find the room left in that block (d
# stays one block of 1024 bytes; it took a second block while the walk
# started past the block the tail had been).
room_found_in_a_tail_made_whole() {
	tail_dir_image /tmp/room-tail.img || return 1
	mkdir -p /mnt/e
	mount -t toyfs "$loop" /mnt/e || { drop_loop_image 1; return; }
	d=/mnt/e/d
	[ "$(stat -c %s $d)" = 896 ] && : >$d/f37_xxxxxxxxxxxxxxxxx && : >$d/f38_xxxxxxxxxxxxxxxxx &&
		echo "size $(stat -c %s $d), last entries $(nth_entry 28 $d) $(nth_entry 29 $d)" &&
		[ "$(stat -c %s $d)" = 1024 ] && [ "$(nth_entry 29 $d)" = f38_xxxxxxxxxxxxxxxxx ]
	status=$?
	umount /mnt/e && fsck.toyfs -f -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# A rename within directory d (tail_dir_image: its last block a tail of
# 7 fragments, no room) of an entry in the tail to a name that finds no
# room: the tail is made a whole block elsewhere on the disk (every
# fragment in use but the 8 of one whole block, as in
# create_without_room_leaves_a_tail_directory_as_it_was, so that it
# cannot grow in place), the new entry goes there, and the old entry must
# be removed from that block (dir::Added, HeldEntry::remove), not from
# the fragments the tail left: d then lists 27 names, the new one and
# not the old, in the cache and on the disk, and fsck is clean.
rename_into_a_tail_made_whole_elsewhere() {
	tail_dir_image /tmp/tail-rename.img || return 1
	mkdir -p /mnt/e
	mount -t toyfs "$loop" /mnt/e || { drop_loop_image 1; return; }
	d=/mnt/e/d
	[ "$(stat -c %s $d)" = 896 ] && head -c 1024 /dev/zero >/mnt/e/one && mkdir /mnt/e/s &&
		{ dd if=/dev/zero of=/mnt/e/fill bs=4096 2>/dev/null; true; } && k=0 &&
		while head -c 100 /dev/zero >/mnt/e/s/$k 2>/dev/null; do k=$((k + 1)); done &&
		rm -f /mnt/e/s/$k && rm /mnt/e/one && sync &&
		mv $d/f20_xxxxxxxxxxxxxxxxx $d/r20_xxxxxxxxxxxxxxxxx &&
		renamed_in_d "in the cache" && sync && echo 3 >/proc/sys/vm/drop_caches &&
		renamed_in_d "on the disk"
	status=$?
	umount /mnt/e && fsck.toyfs -f -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# After rename_into_a_tail_made_whole_elsewhere's rename: d of one whole
# block lists 27 names, r20_... and not f20_... ($1: where).
renamed_in_d() {
	names=$(ls $d) && echo "$1: size $(stat -c %s $d), $(echo "$names" | wc -l) names" &&
		[ "$(stat -c %s $d)" = 1024 ] && [ "$(echo "$names" | wc -l)" = 27 ] &&
		echo "$names" | grep -qx r20_xxxxxxxxxxxxxxxxx &&
		! echo "$names" | grep -qx f20_xxxxxxxxxxxxxxxxx
}

# The times each namespace call changes (the parents' mtime and ctime,
# the ctime of the inode linked, unlinked or renamed, and of the one
# renamed over), refused calls changing nothing (times, link counts, free
# counts), a renamed-over file or directory and a removed directory at 0
# links while open, the free counts given back at the last close of an
# unlinked file and of a renamed-over one, chown clearing the set-id
# bits, a device's number and each entry's d_type (toyfs-probe meta, as
# ext2 with 256-byte inodes and tmpfs answer); then times before 1970 and
# past 2038 with nanoseconds and 32-bit owners on a file, a symbolic link,
# a FIFO and a directory, the same after a remount with the caches
# dropped (toyfs-probe times-set, times-check); fsck clean.
namespace_times_links_and_frees_as_ext2() {
	toyfs-probe meta $mnt && toyfs-probe times-set $mnt && umount $mnt &&
		echo 3 >/proc/sys/vm/drop_caches && fsck.toyfs -n $dev >/dev/null &&
		mount -t toyfs $dev $mnt && toyfs-probe times-check $mnt &&
		rm -r $mnt/meta $mnt/times
}

# An inode is never given to two files when one is freed while another
# is allocated: on a fresh mount (none of the inode table read yet), one
# thread unlinks files in inode order while another creates files, each
# holding its own name (toyfs-probe inode-reuse); each must read back its
# name and own its inode, and fsck must be clean.  Two rounds, each on a
# fresh mount.  free_inode recorded the inode free after it had zeroed it
# and let go of its block of the table: an allocation reading that block
# in between took the inode, and the late record made it free again for
# the next one.
inodes_freed_beside_allocations_are_given_once() {
	new_loop_image /tmp/inode-reuse.img 4M -b 1024 -N 1024 || return 1
	mkdir -p /mnt/reuse
	status=0
	for round in 1 2; do
		mount -t toyfs "$loop" /mnt/reuse && toyfs-probe inode-reuse-setup /mnt/reuse &&
			umount /mnt/reuse && mount -t toyfs "$loop" /mnt/reuse &&
			toyfs-probe inode-reuse /mnt/reuse
		status=$?
		umount /mnt/reuse || status=1
		out=$(fsck.toyfs -n "$loop") || { echo "$out" | tail -5; status=1; }
		[ $status -eq 0 ] || { echo "round $round failed"; break; }
	done
	drop_loop_image $status
}


# File handles (toyfs-probe handles, toyfs's export operations): the
# handles of a file and of a directory open them again after
# drop_caches (the file's bytes; the directory, its entries and its path,
# rebuilt through ".."); a handle of inode 0, of inode 2^32-1, with
# another generation, of another type, too short, of a deleted file,
# and of a deleted file whose inode number a new file got (the
# generation tells them apart) give ESTALE; a file unlinked while open
# opens until closed.  Then fsck: a freed inode keeps its generation,
# which the GENERATIONS feature (set by the first file made) allows.
file_handles() { probe handles; }

# Handles opened while what they name changes (toyfs-probe
# handle-races): a symbolic link's inode, made and removed over and
# over, opened by the handle of its next generation (the inode read
# between the claim and the target's write); directories whose path
# exportfs rebuilds through ".." while they move out of their parent and
# the parent is removed.  Each open gives the file or ESTALE, and the
# kernel logs no "corrupted" line (exportfs turns every error into
# ESTALE: the log is where a slot mistaken for damage shows).
file_handles_race_creation_and_removal() {
	local mark
	mark=$(dmesg | wc -l)
	probe handle-races || return 1
	! dmesg | tail -n +"$((mark + 1))" | grep 'corrupted'
}

# A handle kept across a remount of a new image (with fragments) opens
# the file it was made of: the generation is on the disk, not only in
# the inode cache; fsck.toyfs -f is clean.
file_handles_survive_a_remount() {
	new_loop_image /tmp/handles.img 8M -b 1024 -f 256 || return 1
	mkdir -p /mnt/handles
	head -c 10000 /dev/urandom >/tmp/handles.bytes
	mount -t toyfs "$loop" /mnt/handles && cp /tmp/handles.bytes /mnt/handles/f &&
		toyfs-probe handle-save /mnt/handles/f /tmp/handles.fh && umount /mnt/handles &&
		mount -t toyfs "$loop" /mnt/handles &&
		toyfs-probe handle-check /mnt/handles /tmp/handles.fh /tmp/handles.bytes
	status=$?
	umount /mnt/handles || status=1
	out=$(fsck.toyfs -f -n "$loop") || { echo "$out" | tail -5; status=1; }
	rm -f /tmp/handles.bytes /tmp/handles.fh
	drop_loop_image $status
}

# A frozen toyfs (FIFREEZE) is not changed until it is thawed, as a
# snapshot of its device needs (xfstests generic/068 freezes under
# fsstress): the last closes of a file unlinked while open and of an
# O_TMPFILE file, which free their inodes and blocks, and an open for
# writing of a file whose tail is packed (made by mkfs.toyfs -p -d),
# which moves the tail, change no byte of the device while it is frozen,
# a sync(2) included; the blocks and inodes are free after the thaw and
# the packed file holds its bytes (toyfs-probe frozen); fsck.toyfs -f is
# clean.  Fragments and LZ4: compressed blocks, a tail and an indirect
# block are freed.
frozen_filesystem_is_not_changed_until_thawed() {
	tree=/tmp/frozen-tree
	rm -rf $tree && mkdir -p $tree && head -c 300 /dev/urandom >$tree/packed &&
		head -c 500 /dev/urandom >$tree/beside || return 1
	new_loop_image /tmp/frozen.img 8M -b 1024 -f 128 -c lz4 -p -d $tree || return 1
	mkdir -p /mnt/frozen
	mount -t toyfs "$loop" /mnt/frozen && toyfs-probe frozen /mnt/frozen "$loop" &&
		cmp /mnt/frozen/packed $tree/packed
	status=$?
	umount /mnt/frozen || status=1
	out=$(fsck.toyfs -f -n "$loop") || { echo "$out" | tail -5; status=1; }
	rm -rf $tree
	drop_loop_image $status
}

# A plain swap file on the toyfs at $1 (seen in the chroot): dd and
# mkswap make it, swapon takes it (bmap maps every block), it is in
# /proc/swaps, a write to it and copy_file_range into it are refused
# while active (ETXTBSY, the VFS's S_SWAPFILE), swapoff; a sparse one (truncate and mkswap, one
# page written) is refused with EINVAL ("swapfile has holes").
swap_files() {
	debian_view "$1" || return 1
	rc=0
	dd if=/dev/zero of="$1/swap" bs=1M count=8 2>/dev/null && chmod 600 "$1/swap" &&
		in_debian mkswap "$1/swap" >/dev/null || { echo "mkswap of a plain file failed"; rc=1; }
	if [ $rc -eq 0 ] && in_debian swapon "$1/swap"; then
		grep -q 'bmap/swap ' /proc/swaps || { cat /proc/swaps; echo "not in /proc/swaps"; rc=1; }
		if echo x >>"$1/swap" 2>/dev/null; then
			echo "a write to an active swap file succeeded"
			rc=1
		fi
		# xfstests generic/554: copy_file_range into it is ETXTBSY too.
		echo copy >"$1/src"
		out=$(in_debian xfs_io -c "copy_range -l 4 $1/src" "$1/swap" 2>&1)
		case "$out" in
		*"Text file busy"*) ;;
		*) echo "copy_range into an active swap file: ${out:-no error}"; rc=1 ;;
		esac
		in_debian swapoff "$1/swap" || { echo "swapoff failed"; rc=1; }
	elif [ $rc -eq 0 ]; then
		echo "swapon of a plain file failed"
		rc=1
	fi
	# util-linux's swapon looks for holes itself (FIEMAP) and skips the
	# file: toyfs-probe swapon-refused calls swapon(2), which must fail
	# with EINVAL (and takes the file back with swapoff if it did not).
	truncate -s 8M "$1/sparse" && chmod 600 "$1/sparse" &&
		in_debian mkswap "$1/sparse" >/dev/null 2>&1 || { echo "mkswap of a sparse file failed"; rc=1; }
	toyfs-probe swapon-refused "$1/sparse" || rc=1
	rm -f "$1/swap" "$1/sparse" "$1/src"
	debian_unview "$1"
	return $rc
}

# bmap (FIBMAP, swapon), as ext2's generic_block_bmap for whole plain
# blocks only: toyfs-probe fibmap on a new image of 1 KiB blocks and
# 256-byte fragments (whole blocks are FIEMAP's disk blocks; the holes,
# the tail in fragments and the blocks past the end are 0), then the
# swap files on it (swap_files); toyfs-probe fibmap on one without
# fragments (the last block is a whole block, mapped).  fsck.toyfs -f
# clean after each.
bmap_and_swap_files() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	status=0
	mkdir -p /mnt/bmap
	for spec in "tail -b 1024 -f 256" "whole -b 1024"; do
		# shellcheck disable=SC2086 # the words of the spec
		set -- $spec
		last=$1
		shift
		new_loop_image /tmp/bmap.img 32M "$@" || return 1
		if mount -t toyfs "$loop" /mnt/bmap; then
			toyfs-probe fibmap /mnt/bmap 1024 "$last" || status=1
			if [ $status -eq 0 ] && [ "$last" = tail ]; then
				swap_files /mnt/bmap || status=1
			fi
			umount /mnt/bmap || status=1
		else
			status=1
		fi
		out=$(fsck.toyfs -f -n "$loop") || { echo "$out" | tail -5; status=1; }
		drop_loop_image 0
		[ $status -eq 0 ] || break
	done
	return $status
}

# RENAME_EXCHANGE (toyfs-probe rename-exchange): files in one directory,
# a file and a directory, two directories, across parents; fsck (link
# counts, "..") after it, then the tree goes.
rename_exchange() { probe rename-exchange && rm -r $mnt/rx; }

# O_TMPFILE on a new 8 MiB image made with mkfs.toyfs and the options
# $@ (plain blocks, fragments, LZ4), on a loop device mounted at
# /mnt/tmpfile: toyfs-probe tmpfile (a closed tmpfile frees all it had,
# O_EXCL ones cannot be linked, one of whole blocks, a hole and a tail
# linked by AT_EMPTY_PATH, one by /proc/self/fd), with a copy of the
# image taken while tmpfiles and a file unlinked while open were open
# (the disk as a crash would leave it).  The linked file holds its bytes
# after a remount and fsck is clean; on the copy fsck reports the four
# open inodes as orphans and nothing else (exit 4), and the copy mounts
# read-only with the linked names absent.
o_tmpfile() {
	snap=/tmp/tmpfile-snap.img tmnt=/mnt/tmpfile
	rm -f $snap && new_loop_image /tmp/tmpfile.img 8M "$@" || return 1
	mkdir -p $tmnt && mount -t toyfs "$loop" $tmnt || drop_loop_image 1 || return 1
	orphans=$(toyfs-probe tmpfile $tmnt $image $snap /tmp/tmpfile-model) &&
		echo "orphans at the copy: $orphans" && umount $tmnt && fsck.toyfs -n -f "$loop" &&
		mount -t toyfs "$loop" $tmnt && cmp /tmp/tmpfile-model $tmnt/tmpfile-linked &&
		[ "$(stat -c '%h %s' $tmnt/tmpfile-proc)" = "1 100" ] &&
		rm $tmnt/tmpfile-linked $tmnt/tmpfile-proc && umount $tmnt && fsck.toyfs -n -f "$loop"
	status=$?
	umount $tmnt 2>/dev/null
	[ $status -eq 0 ] && tmpfile_copy_has_orphans "$orphans"
	status=$((status | $?))
	rm -f $snap
	drop_loop_image $status
}

# fsck.toyfs of $snap, the copy o_tmpfile took: exit 4, one orphan line
# for each inode of $1 and no other finding; the copy mounts read-only.
tmpfile_copy_has_orphans() {
	out=$(fsck.toyfs -n -f $snap)
	fsck_status=$?
	echo "$out"
	[ $fsck_status -eq 4 ] || { echo "fsck of the copy: exit $fsck_status"; return 1; }
	for ino in $1; do
		echo "$out" | grep -q ": inode $ino is an orphan: " || { echo "inode $ino: no orphan"; return 1; }
	done
	[ "$(echo "$out" | grep -c 'is an orphan')" = "$(echo $1 | wc -w)" ] &&
		! echo "$out" | grep -v -e 'is an orphan: ' -e 'was not cleanly unmounted' -e ' inodes (' \
			-e "$(echo $1 | wc -w) errors found, left uncorrected" ||
		{ echo "fsck reports more than the orphans"; return 1; }
	snap_loop=$(losetup -f) && losetup -r "$snap_loop" $snap || return 1
	mount -o ro -t toyfs "$snap_loop" /mnt/tmpfile && [ ! -e /mnt/tmpfile/tmpfile-linked ] &&
		[ ! -e /mnt/tmpfile/unlinked-open ]
	result=$?
	umount /mnt/tmpfile
	losetup -d "$snap_loop"
	return $result
}

# xfstests' way (generic/004): Debian's xfs_io -T writes 5000 bytes into
# an O_TMPFILE file and links it (flink, linkat through /proc/self/fd);
# a second one to the same name fails; the file has one link and its
# bytes, after a remount too.
o_tmpfile_by_xfs_io() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	debian_view $mnt || return 1
	in_debian xfs_io -T -c "pwrite -S 0x61 0 5000" -c "flink $mnt/xfsio-tmp" $mnt >/dev/null &&
		! in_debian xfs_io -T -c "pwrite -S 0x62 0 10" -c "flink $mnt/xfsio-tmp" $mnt \
			>/dev/null 2>&1
	status=$?
	debian_unview $mnt
	head -c 5000 /dev/zero | tr '\0' a >/tmp/xfsio-tmp
	[ $status -eq 0 ] && [ "$(stat -c '%h %s' $mnt/xfsio-tmp)" = "1 5000" ] &&
		cmp /tmp/xfsio-tmp $mnt/xfsio-tmp && remount && cmp /tmp/xfsio-tmp $mnt/xfsio-tmp &&
		rm $mnt/xfsio-tmp
}

# FS_IOC_GETFLAGS and FS_IOC_SETFLAGS of a directory (toyfs-probe
# dir-flags): none shown, 0 taken, FS_COMPR_FL and others refused with
# EOPNOTSUPP, on the mounted plain image and on an LZ4 one (where a file
# takes FS_COMPR_FL); with Debian's e2fsprogs, `lsattr -d` of a directory
# lists it (it said ENOTTY) and `chattr +c` of one fails, `chattr -c`
# passes.
lsattr_and_chattr_of_a_directory() {
	toyfs-probe dir-flags $mnt plain || return 1
	new_loop_image /tmp/dirflags.img 4M -b 1024 -c lz4 || return 1
	mkdir -p /mnt/dirflags && mount -t toyfs "$loop" /mnt/dirflags &&
		toyfs-probe dir-flags /mnt/dirflags lz4 && umount /mnt/dirflags &&
		fsck.toyfs -n -f "$loop"
	drop_loop_image $? || return 1
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root: lsattr and chattr not run"; return 0; }
	mkdir $mnt/attrs && debian_view $mnt || return 1
	in_debian lsattr -d $mnt/attrs && in_debian chattr -c $mnt/attrs &&
		! in_debian chattr +c $mnt/attrs && [ "$(in_debian lsattr -d $mnt/attrs | cut -c1-20)" = "--------------------" ]
	status=$?
	debian_unview $mnt
	rmdir $mnt/attrs && [ $status -eq 0 ]
}

# fsync of a file writes its new indirect block when that block was
# another file's indirect block, freed by a truncation while the other
# file stays cached (ext2 bforgets a freed indirect block,
# ext2_free_branches): on an image of 1 KiB blocks, file a of 13 blocks
# (the 13th through a single-indirect block), the image then filled and
# synced with an empty file b, a truncated to 12 blocks (its indirect
# block and 13th block the only free ones); "world" written at block 13
# of b with conv=fsync takes them (the indirect block first).  The image is copied
# as a crash would leave it, and the copy, mounted read-only, must read
# "world" there.  The freed block's buffer stayed on a's list of its own
# metadata buffers, where b's marking left it (mmb_mark_buffer_dirty
# keeps a buffer on the list it is on): b's fsync wrote b's data and
# inode but not the indirect block naming the data, and the copy read
# zeros.
fsync_writes_an_indirect_block_another_file_freed() {
	copy=/tmp/reused-indirect-copy.img m=/mnt/reused
	rm -f $copy && new_loop_image /tmp/reused-indirect.img 1M -b 1024 || return 1
	mkdir -p $m && mount -t toyfs "$loop" $m && reused_indirect_body
	status=$?
	umount $m 2>/dev/null
	rm -f $copy
	drop_loop_image $status
}

# The body of fsync_writes_an_indirect_block_another_file_freed.
reused_indirect_body() {
	head -c 13312 /dev/urandom >$m/a && mkdir $m/s || return 1
	dd if=/dev/zero of=$m/fill bs=4096 2>/dev/null
	k=0
	while head -c 1024 /dev/zero >$m/s/$k 2>/dev/null; do k=$((k + 1)); done
	rm -f $m/s/$k && : >$m/b && sync && full=$(stat -f -c %f $m) &&
		truncate -s 12288 $m/a && freed=$(stat -f -c %f $m) || return 1
	echo "free blocks: $full with the image full, $freed after the truncation"
	[ "$full" = 0 ] && [ "$freed" = 2 ] || return 1
	printf world | dd of=$m/b bs=1 seek=13312 conv=notrunc,fsync 2>/dev/null &&
		cp "$image" $copy || return 1
	copy_loop=$(losetup -f) && losetup -r "$copy_loop" $copy || return 1
	mkdir -p /mnt/reused-copy && mount -o ro -t toyfs "$copy_loop" /mnt/reused-copy &&
		got=$(dd if=/mnt/reused-copy/b bs=1 skip=13312 count=5 2>/dev/null | tr '\0' 0)
	status=$?
	umount /mnt/reused-copy 2>/dev/null
	losetup -d "$copy_loop"
	echo "b at 13312 on the copy after its fsync: '$got'"
	[ $status -eq 0 ] && [ "$got" = world ]
}

# fsync of a file whose inode was evicted and read again writes the
# indirect blocks that its writeback changed before the eviction (ext2
# writes an inode's metadata buffers at eviction, ext2_evict_inode's
# mmb_sync): on an image of 1 KiB blocks, 128-byte fragments and LZ4,
# file a of 16 compressible blocks (4 through its single-indirect block)
# is written back by the flusher (writeback compresses each block and
# names its new run in the indirect block, after the device's buffers of
# that pass were written: the device's expiry of 2 s then starts again),
# the caches dropped (a, clean, is evicted), then a is opened and
# fsynced, and the image copied as a crash would leave it; the copy,
# mounted read-only, must hold a's bytes.  The evicted inode's list of
# its own metadata buffers went with it, the indirect block dirty in the
# device's cache: the fsync of the inode read again did not write it,
# and the copy's a read plain runs the map no longer named.
fsync_after_eviction_writes_the_indirect_block() {
	copy=/tmp/evicted-copy.img m=/mnt/evicted vm=/proc/sys/vm
	rm -f $copy && new_loop_image /tmp/evicted.img 4M -b 1024 -f 128 -c lz4 || return 1
	expire=$(cat $vm/dirty_expire_centisecs) every=$(cat $vm/dirty_writeback_centisecs)
	mkdir -p $m && mount -t toyfs "$loop" $m && evicted_body
	status=$?
	echo "$expire" >$vm/dirty_expire_centisecs
	echo "$every" >$vm/dirty_writeback_centisecs
	umount $m 2>/dev/null
	rm -f $copy
	drop_loop_image $status
}

# The body of fsync_after_eviction_writes_the_indirect_block.
evicted_body() {
	head -c 16384 /dev/zero | tr '\0' a >/tmp/evicted-a || return 1
	# The new intervals wake the flusher, which writes everything; then
	# the device's buffers are made dirty before a, for the flusher to
	# write them first.
	echo 200 >$vm/dirty_expire_centisecs && echo 50 >$vm/dirty_writeback_centisecs &&
		sync && sleep 0.5 && touch $m/x && sleep 0.3 &&
		cp /tmp/evicted-a $m/a && before=$(stat -c %b $m/a) || return 1
	# Up to 30 s for the flusher: a loaded host slows a debug guest.
	i=0
	while [ "$(stat -c %b $m/a)" = "$before" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	after=$(stat -c %b $m/a)
	echo "st_blocks $before before the flusher, $after after ($i tenths of a second)"
	[ "$after" -lt "$before" ] && sleep 0.3 && echo 3 >/proc/sys/vm/drop_caches &&
		dd if=/dev/null of=$m/a conv=notrunc,fsync 2>/dev/null && cp "$image" $copy || return 1
	copy_loop=$(losetup -f) && losetup -r "$copy_loop" $copy || return 1
	mkdir -p /mnt/evicted-copy && mount -o ro -t toyfs "$copy_loop" /mnt/evicted-copy &&
		cmp /tmp/evicted-a /mnt/evicted-copy/a
	status=$?
	umount /mnt/evicted-copy 2>/dev/null
	losetup -d "$copy_loop"
	return $status
}

# The copy of $image taken now (the disk as a crash would leave it:
# what the loop device wrote, not what toyfs holds in its caches) on a
# read-only loop device, mounted read-only at /mnt/crash; $@ runs there
# (its working directory), then the copy goes.
on_crash_copy() {
	snap=/tmp/crash-copy.img
	cp "$image" $snap && snap_loop=$(losetup -f) && losetup -r "$snap_loop" $snap || return 1
	mkdir -p /mnt/crash && mount -o ro -t toyfs "$snap_loop" /mnt/crash ||
		{ losetup -d "$snap_loop"; rm -f $snap; return 1; }
	(cd /mnt/crash && "$@")
	result=$?
	umount /mnt/crash && losetup -d "$snap_loop" && rm -f $snap && return $result
}

# fsync and fdatasync after each kind of change, on a new 8 MiB image of
# 1 KiB blocks (mkfs.toyfs options $@) on a loop device: file f is written
# (20000 bytes) and fsynced with its directory, then each change alone is
# made and only f synced (`sync f`: fsync; `sync -d f`: fdatasync), and a
# copy of the image taken then (on_crash_copy) must show it: bytes
# overwritten in place (fdatasync), an append of odd size (fdatasync: the
# size and the bytes, so a size change must dirty the inode for
# fdatasync, I_DIRTY_DATASYNC), a truncation into a block (fdatasync),
# bytes written into holes inside the file, one reached by the inode's
# direct pointers, one by its indirect block (fdatasync: the block map),
# mtime set by touch and the mode by chmod (fsync).  toyfs's fsync writes
# the inode only if it changed since, for fdatasync only in its size or
# block map, as ext2's (Documentation/toyfs.rst, "fsync").
fsync_and_fdatasync_make_each_change_durable() {
	dmnt=/mnt/durable dref=/tmp/durable-ref
	new_loop_image /tmp/durable.img 8M -b 1024 "$@" || return 1
	mkdir -p $dmnt && mount -t toyfs "$loop" $dmnt || drop_loop_image 1 || return 1
	fsync_changes
	status=$?
	umount $dmnt && fsck.toyfs -n -f "$loop" >/dev/null || status=1
	rm -f $dref
	drop_loop_image $status
}

# The steps of fsync_and_fdatasync_make_each_change_durable, on $dmnt.
fsync_changes() {
	head -c 20000 /tmp/pattern >$dref && cp $dref $dmnt/f && sync $dmnt/f $dmnt || return 1
	same() { cmp $dref f && [ "$(stat -c %s f)" = "$(stat -c %s $dref)" ]; }
	# Data in place: no size or map change.  mtime set far back first, so
	# that the write changes it.
	touch -m -d @981173106 $dmnt/f && sync $dmnt/f &&
		dd if=/dev/urandom of=/tmp/durable-bytes bs=700 count=1 2>/dev/null &&
		dd if=/tmp/durable-bytes of=$dmnt/f bs=1 seek=3000 conv=notrunc 2>/dev/null &&
		dd if=/tmp/durable-bytes of=$dref bs=1 seek=3000 conv=notrunc 2>/dev/null &&
		sync -d $dmnt/f && on_crash_copy same || { echo "data in place"; return 1; }
	# The write set mtime (I_DIRTY_SYNC alone, which fdatasync leaves):
	# fsync writes it.
	mtime=$(stat -c %Y $dmnt/f) && sync $dmnt/f &&
		on_crash_copy sh -c "[ \"\$(stat -c %Y f)\" = $mtime ]" || { echo "mtime of the write"; return 1; }
	# Size up, odd, across a block.
	head -c 1777 /tmp/pattern >/tmp/durable-more &&
		cat /tmp/durable-more >>$dmnt/f && cat /tmp/durable-more >>$dref &&
		sync -d $dmnt/f && on_crash_copy same || { echo "append"; return 1; }
	# Size down, into a block.
	truncate -s 15555 $dmnt/f && truncate -s 15555 $dref &&
		sync -d $dmnt/f && on_crash_copy same || { echo "truncation"; return 1; }
	# Holes inside the file (direct pointers, then the indirect block),
	# filled without a size change.
	truncate -s 70000 $dmnt/f && truncate -s 70000 $dref && sync $dmnt/f || return 1
	for at in 16400 52000; do
		dd if=/tmp/durable-bytes of=$dmnt/f bs=1 seek=$at conv=notrunc 2>/dev/null &&
			dd if=/tmp/durable-bytes of=$dref bs=1 seek=$at conv=notrunc 2>/dev/null &&
			sync -d $dmnt/f && on_crash_copy same || { echo "hole at $at"; return 1; }
	done
	# Timestamps and mode set by setattr: fsync.
	touch -m -d @981173000 $dmnt/f && sync $dmnt/f &&
		on_crash_copy sh -c '[ "$(stat -c %Y f)" = 981173000 ]' || { echo "mtime"; return 1; }
	chmod 604 $dmnt/f && sync $dmnt/f &&
		on_crash_copy sh -c '[ "$(stat -c %a f)" = 604 ]' || { echo "mode"; return 1; }
}

# Sectors written to block device $1 so far (/sys/block/*/stat, field 7).
sectors_written() { awk '{ print $7 }' "/sys/block/${1#/dev/}/stat"; }

# What fsync and fdatasync of a file write when its inode did not change,
# counted at the loop device under a new 8 MiB image of 1 KiB blocks
# (ext2's simple_fsync: the inode only if I_DIRTY_SYNC or
# I_DIRTY_DATASYNC, for fdatasync only I_DIRTY_DATASYNC): after `sync`,
# fsync and fdatasync of the unchanged file write nothing; after 100
# bytes written in place inside one block (which set mtime: I_DIRTY_SYNC
# alone),
# fdatasync writes their block only (2 sectors), fsync then the inode
# (2 sectors), and a second fsync nothing.  The flusher's periodic
# writeback is off meanwhile (dirty_writeback_centisecs 0), so that the
# counts are the syncs' own.
fsync_writes_the_inode_only_if_it_changed() {
	with_flusher_off_on_durable_image file_then_fsync_counts
}

# The body of fsync_writes_the_inode_only_if_it_changed.
file_then_fsync_counts() {
	head -c 20000 /tmp/pattern >$dmnt/f && touch -m -d @981173106 $dmnt/f && sync && fsync_counts
}

# Runs "$@" on a new 8 MiB image of 1 KiB blocks mounted on $dmnt, the
# flusher's periodic writeback off meanwhile (dirty_writeback_centisecs
# 0, so that the writes counted are the caller's own); fsck after.
with_flusher_off_on_durable_image() {
	dmnt=/mnt/durable
	new_loop_image /tmp/durable.img 8M -b 1024 || return 1
	mkdir -p $dmnt && mount -t toyfs "$loop" $dmnt || drop_loop_image 1 || return 1
	period=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	echo 0 >/proc/sys/vm/dirty_writeback_centisecs
	"$@"
	status=$?
	echo "$period" >/proc/sys/vm/dirty_writeback_centisecs
	umount $dmnt && fsck.toyfs -n -f "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# The counts of fsync_writes_the_inode_only_if_it_changed; each step
# prints the sectors it wrote.
fsync_counts() {
	written() { before=$(sectors_written "$loop") && "$@" && echo $(($(sectors_written "$loop") - before)); }
	clean=$(written sync $dmnt/f) && echo "fsync, unchanged: $clean" &&
		clean_data=$(written sync -d $dmnt/f) && echo "fdatasync, unchanged: $clean_data" &&
		dd if=/tmp/pattern of=$dmnt/f bs=100 count=1 seek=31 conv=notrunc 2>/dev/null &&
		in_place=$(written sync -d $dmnt/f) && echo "fdatasync after a write in place: $in_place" &&
		times=$(written sync $dmnt/f) && echo "fsync after it: $times" &&
		again=$(written sync $dmnt/f) && echo "fsync again: $again" || return 1
	[ "$clean" = 0 ] && [ "$clean_data" = 0 ] && [ "$in_place" = 2 ] && [ "$times" = 2 ] &&
		[ "$again" = 0 ]
}

# The flusher's writeback (WB_SYNC_NONE) of dirty inodes puts them into
# the device's cache and waits for nothing, as ext2's write_inode
# without `sync`: the inode-table blocks are written once, by the
# `sync_blockdev` at the end of `syncfs`, not once per inode.  32 files
# of a new image of 1 KiB blocks (8 inodes a table block) are chmodded,
# the periodic flusher off, and `sync -f` (syncfs: writeback_inodes_sb,
# WB_SYNC_NONE, first) writes each of their table blocks (2 sectors)
# once, and a few blocks besides (the superblock...: 14 sectors in all
# for 5 table blocks; up to 4 other blocks allowed); toyfs wrote and
# waited for the table block of every inode (70 sectors).
background_inode_writeback_waits_for_nothing() {
	with_flusher_off_on_durable_image chmods_then_syncfs
}

# The body of background_inode_writeback_waits_for_nothing.
chmods_then_syncfs() {
	for i in $(seq 32); do : >$dmnt/f$i || return 1; done
	sync && chmod 600 $dmnt/f* && before=$(sectors_written "$loop") && sync -f $dmnt &&
		written=$(($(sectors_written "$loop") - before)) &&
		blocks=$(stat -c %i $dmnt/f* | awk '{ print int($1 / 8) }' | sort -u | wc -l) &&
		echo "syncfs after 32 chmods wrote $written sectors; the inodes are in $blocks table blocks" &&
		[ "$written" -le $((2 * blocks + 8)) ]
}

# A sync after an append to each of 32 files writes their bitmap block
# once, not once per inode: a waited write_inode (the WB_SYNC_ALL pass)
# writes the bitmap blocks whose bits its file changed, and
# write_dirty_buffer writes a bitmap block only while it is dirty, so
# the 31 files after the first find it clean (review: "N files, N serial
# bitmap writes").  On a new image of 1 KiB blocks, the periodic flusher
# off: the 32 data blocks (64 sectors), the inodes' table blocks (2
# sectors each), the bitmap block (2) and up to 4 other blocks (the
# superblock...); a bitmap block written per file would add 62.
# syncfs (sync -f), not sync(2): sync(2) wakes the flusher for its
# WB_SYNC_NONE pass and queues the WB_SYNC_ALL one as a work item, which
# wb_do_writeback runs before the WB_SYNC_NONE pass if the flusher had
# not started yet; then no inode was stored into the device's cache
# first and each file's waited write_inode writes its table block
# itself (64 + 2 * 32 + 2 + 2 = 132 sectors, seen once on a loaded
# host, against 78): the count was the scheduler's.  syncfs's passes
# run in order (writeback_inodes_sb, then sync_inodes_sb).
sync_writes_the_bitmap_once_for_all_files() {
	with_flusher_off_on_durable_image appends_then_sync
}

# The body of sync_writes_the_bitmap_once_for_all_files.
appends_then_sync() {
	for i in $(seq 32); do : >$dmnt/f$i || return 1; done
	sync && for i in $(seq 32); do head -c 1000 /tmp/pattern >>$dmnt/f$i || return 1; done &&
		before=$(sectors_written "$loop") && sync -f $dmnt &&
		written=$(($(sectors_written "$loop") - before)) &&
		blocks=$(stat -c %i $dmnt/f* | awk '{ print int($1 / 8) }' | sort -u | wc -l) &&
		echo "syncfs after 32 appends wrote $written sectors; the inodes are in $blocks table blocks" &&
		[ "$written" -le $((64 + 2 * blocks + 2 + 8)) ]
}

# Image $1 of $2 bytes filled with STALE (the bytes `STALEDA\n` over and
# over: blocks no one wrote since) before mkfs.toyfs with the options
# after them, on $loop (new_loop_image).
stale_loop_image() {
	image=$1
	rm -f "$image" && yes STALEDA | head -c "$2" >"$image" || return 1
	shift 2
	mkfs.toyfs -q "$@" "$image" && loop=$(losetup -f) && losetup "$loop" "$image"
}

# fallocate zeroes its new blocks on the disk before the map names them:
# with the disk's writes waiting (the image's loop file on ext2 on a
# ramdisk, frozen), FIBMAP of the first block fallocate allocates either
# waits for the map or names a block that reads as zeros from the image,
# never STALE.  toyfs named the blocks of a chunk and zeroed them after,
# the map unlocked: a pointer to another file's old bytes could reach the
# disk meanwhile (toyfs-probe crash_order.rs).
fallocate_zeroes_blocks_before_linking() {
	backing=/mnt/race-backing
	mkdir -p $backing /mnt/race && mke2fs -q -b 1024 /dev/ram9 >/dev/null 2>&1 &&
		mount -t ext2 /dev/ram9 $backing || return 1
	stale_loop_image $backing/race.img $((2 << 20)) -b 1024 || { umount $backing; return 1; }
	mount -t toyfs "$loop" /mnt/race && toyfs-probe fallocate-race /mnt/race $backing/race.img $backing
	status=$?
	umount /mnt/race && fsck.toyfs -n "$loop" >/dev/null || status=1
	drop_loop_image $status
	umount $backing && [ $status -eq 0 ]
}

# Right after fallocate (mode 0) of a file of $1 bytes of holes, on an
# image of 1 KiB blocks filled with STALE (mkfs.toyfs options after $1),
# the disk already holds every block the map names as it must: a copy
# of the image then (a crash) holds no block of STALE that the sync
# after it writes.  300 KiB takes the single- and double-indirect
# blocks, which toyfs zeroed in the cache only, and with fragments a
# tail, zeroed in its block's buffer only, both left for the device's
# writeback, after which the pointers to them (other files' old bytes
# as indirect blocks or as the tail) could already be on the disk.
fallocate_writes_new_blocks_before_naming_them() {
	length=$1
	shift
	stale_loop_image /tmp/stale.img $((8 << 20)) -b 1024 "$@" || return 1
	mkdir -p /mnt/stale
	copy=/tmp/stale-copy.img
	mount -t toyfs "$loop" /mnt/stale && truncate -s "$length" /mnt/stale/f && sync &&
		toyfs-probe fallocate /mnt/stale/f "$length" && cp /tmp/stale.img $copy && sync &&
		toyfs-probe stale-written $copy /tmp/stale.img 1024
	status=$?
	rm -f $copy
	umount /mnt/stale && fsck.toyfs -n "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# fallocate failing with an I/O error (fail_make_request: at its first
# write, and after 200000 bytes of writes went through) returns EIO and
# changes nothing: size, st_blocks, free blocks, extents, bytes; fsck
# clean after (toyfs-probe crash_order.rs).
fallocate_error_changes_nothing() {
	loop_probe_with_errors fallocate-error 8M -b 1024
}

# The bytes of file $1 other than 00 and 01, counted (`uniq -c`): none if
# the file holds only those.
bytes_not_0_or_1() { od -An -v -tx1 "$1" | tr -s ' ' '\n' | grep -vx -e '' -e 00 -e 01 | sort | uniq -c; }

# xfstests generic/042 without its shutdown (toyfs has no
# FS_IOC_SHUTDOWN): on an image filled with STALE before mkfs.toyfs (the
# options $2...), f's name synced, 32 KiB of 0x01 written and fsynced
# (f's inode and map on the disk), 32 KiB more written (left dirty: their
# blocks allocated, the map naming them in memory only), the flusher's
# periodic writeback off, and fallocate $1 (falloc -k, fpunch, fzero -k
# of xfs_io) is run on the last 4 KiB, which may write back part of the
# file and its map.  A copy of the image taken at once (a crash then,
# mid-writeback) must hold f, and no stale byte in it: only 0x01 and
# zeros (a map or size written ahead of the blocks' data would show the
# image's STALE bytes).  A copy after sync
# holds exactly the reference, written by xfs_io on the chroot's tmpfs
# (which has no ZERO_RANGE): the 64 KiB, and zeros written over the last
# 4 KiB for fpunch and fzero.
fallocate_mid_writeback_on() {
	cmd=$1 m=/mnt/stale042 r=/debian/tmp/stale042-ref
	shift
	case $cmd in
	falloc*) ref_cmd="-c 'pwrite -q -S 1 0 64k'" ;;
	*) ref_cmd="-c 'pwrite -q -S 1 0 64k' -c 'pwrite -q -S 0 60k 4k'" ;;
	esac
	stale_loop_image /tmp/stale042.img $((8 << 20)) "$@" || return 1
	mkdir -p $m && mount -t toyfs "$loop" $m || drop_loop_image 1 || return 1
	debian_view $m || { umount $m; drop_loop_image 1; return 1; }
	xfs_io_cmds="-c 'pwrite -q -S 1 0 32k' -c fsync -c 'pwrite -q -S 1 32k 32k' -c '$cmd 60k 4k'"
	no_stale() {
		[ -e f ] || { echo "crash copy: no f, its name was synced"; return 1; }
		found=$(bytes_not_0_or_1 f)
		[ -z "$found" ] || { echo "crash copy: f ($(stat -c %s f) bytes) holds stale bytes:" $found; return 1; }
	}
	synced_as_ref() { cmp f $r && [ "$(stat -c %s f)" = "$(stat -c %s $r)" ]; }
	knob=/proc/sys/vm/dirty_writeback_centisecs period=$(cat /proc/sys/vm/dirty_writeback_centisecs)
	rm -f $r && eval "in_debian xfs_io -f $ref_cmd /tmp/stale042-ref" &&
		: >$m/f && sync && echo 0 >$knob &&
		eval "in_debian xfs_io $xfs_io_cmds $m/f" && on_crash_copy no_stale &&
		sync && on_crash_copy synced_as_ref
	status=$?
	echo "$period" >$knob
	rm -f $r
	debian_unview $m
	umount $m && fsck.toyfs -n -f "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# generic/042's three commands on plain images of 1 KiB and 4 KiB blocks
# (the range a block and less than a block) and with 512-byte fragments.
fallocate_mid_writeback_shows_no_stale_bytes() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	for opts in "-b 1024" "-b 4096" "-b 4096 -f 512"; do
		for cmd in "falloc -k" fpunch "fzero -k"; do
			# shellcheck disable=SC2086 # the mkfs options, split
			fallocate_mid_writeback_on "$cmd" $opts || { echo "mkfs.toyfs $opts, $cmd"; return 1; }
		done
	done
}

# xfstests generic/101 with a copy of the image for its power cut
# (on_crash_copy): on an image filled with STALE (mkfs.toyfs options
# $@), files of 64 KiB of 0xaa are truncated down into a block (7000
# bytes) and then grown, and fsynced: the copy reads zeros from 7000 to
# the new size, never the old 0xaa nor stale bytes.  f: written and
# fsynced first, truncated up to 99 KiB; g: the same with its bytes
# still dirty at the truncations; h: fsynced first, grown by a write of
# 0xbb at 99 KiB.  The files and their directory entries are synced
# empty first (an fsync does not write a new name).  Each must equal
# what the same commands leave on the chroot's tmpfs.
truncate_down_up_fsync_on() {
	m=/mnt/trunc101 r=/debian/tmp/trunc101
	stale_loop_image /tmp/trunc101.img $((8 << 20)) "$@" || return 1
	mkdir -p $m && mount -t toyfs "$loop" $m || drop_loop_image 1 || return 1
	debian_view $m || { umount $m; drop_loop_image 1; return 1; }
	rm -rf $r && mkdir -p $r && : >$m/f && : >$m/g && : >$m/h && sync
	for d in /tmp/trunc101 $m; do
		in_debian xfs_io -f -c "pwrite -q -S 0xaa 0 64k" -c fsync -c "truncate 7000" \
			-c "truncate 99k" -c fsync $d/f &&
			in_debian xfs_io -f -c "pwrite -q -S 0xaa 0 64k" -c "truncate 7000" \
				-c "truncate 99k" -c fsync $d/g &&
			in_debian xfs_io -f -c "pwrite -q -S 0xaa 0 64k" -c fsync -c "truncate 7000" \
				-c "pwrite -q -S 0xbb 99k 1000" -c fsync $d/h || break
	done
	as_ref() {
		for n in f g h; do
			cmp $n $r/$n && [ "$(stat -c %s $n)" = "$(stat -c %s $r/$n)" ] ||
				{ echo "crash copy: $n differs ($(stat -c %s $n) bytes)"; return 1; }
		done
	}
	[ -e $r/h ] && on_crash_copy as_ref
	status=$?
	rm -rf $r
	debian_unview $m
	umount $m && fsck.toyfs -n -f "$loop" >/dev/null || status=1
	drop_loop_image $status
}

# On plain images of 1 KiB and 4 KiB blocks (7000 inside a block and a
# page either way) and with 512-byte fragments (the tail a run).
truncate_down_up_fsync_then_crash_reads_zeros() {
	[ -n "$VMMVC_DEBIAN" ] || { echo "no Debian root"; return 1; }
	for opts in "-b 1024" "-b 4096" "-b 4096 -f 512"; do
		# shellcheck disable=SC2086 # the mkfs options, split
		truncate_down_up_fsync_on $opts || { echo "mkfs.toyfs $opts"; return 1; }
	done
}

. /guest/debian.sh
ktap_suite toyfs 109
for cmd in zero read write protzero; do eval "before_$cmd=$(mvc_calls $cmd)"; done
dd if=/dev/urandom of=/tmp/pattern bs=4096 count=32 2>/dev/null
ktap_case insmod_toyfs insmod /modules/toyfs.ko
ktap_case mkfs_on_ramdisk mkfs.toyfs -q $dev
ktap_case mount mount -t toyfs $dev $mnt
ktap_case unaligned_writes_and_reads unaligned_writes_and_reads
ktap_case sparse_gap_reads_as_zeros sparse_gap_reads_as_zeros
ktap_case truncate_into_block_then_extend_shows_zeros truncate_into_block_then_extend_shows_zeros
ktap_case remembered_run_forgotten_when_its_blocks_are_freed remembered_run_forgotten_when_its_blocks_are_freed
ktap_case mmap_store_into_hole_is_read_back mmap_store_into_hole_is_read_back
ktap_case mmap_store_past_eof_not_exposed_by_extend mmap_store_past_eof_not_exposed_by_extend
ktap_case create_lookup_readdir_unlink create_lookup_readdir_unlink
ktap_case mkdir_rename_rmdir_keep_links_right mkdir_rename_rmdir_keep_links_right
ktap_case bad_superblocks_are_refused bad_superblocks_are_refused
ktap_case remount_read_only_and_back remount_read_only_and_back
ktap_case remount_keeps_bytes_and_fsck_is_clean remount_keeps_bytes_and_fsck_is_clean
ktap_case mkfs_refuses_a_mounted_device mkfs_refuses_a_mounted_device
ktap_case freed_blocks_below_the_last_allocation_are_reused freed_blocks_below_the_last_allocation_are_reused
ktap_case full_disk_gives_enospc_and_stays_consistent full_disk_gives_enospc_and_stays_consistent
ktap_case symlink_without_room_leaves_the_directory_as_it_was symlink_without_room_leaves_the_directory_as_it_was
ktap_case inodes_freed_beside_allocations_are_given_once inodes_freed_beside_allocations_are_given_once
ktap_case create_failing_at_the_inode_table_leaves_the_directory_as_it_was create_failing_at_the_inode_table_leaves_the_directory_as_it_was
ktap_case namespace_times_links_and_frees_as_ext2 namespace_times_links_and_frees_as_ext2
ktap_case punch_hole_reads_zeros_and_frees_blocks probe punch
ktap_case punch_hole_in_a_mapped_page_refaults probe punch-mapped
ktap_case zero_range_zeroes_and_keeps_blocks probe zero-range
ktap_case allocate_fills_holes_and_grows probe allocate
ktap_case keep_size_past_the_end_preallocates keep_size_preallocates
ktap_case keep_size_under_the_triple_indirect_block keep_size_under_the_triple_indirect_block
ktap_case refused_fallocate_changes_nothing probe refused
ktap_case punch_and_zero_range_race_mapped_stores_and_writeback probe race-owned-blocks $race_rounds
ktap_case seek_data_and_hole_follow_the_map probe seek
ktap_case seek_crosses_missing_indirect_subtrees_at_once seek_crosses_missing_indirect_subtrees_at_once
ktap_case truncation_frees_indirect_blocks_left_empty truncation_frees_indirect_blocks_left_empty
ktap_case fiemap_reports_the_runs probe fiemap
ktap_case fiemap_into_a_mapping_of_the_file_does_not_deadlock fiemap_into_own_mapping
ktap_case sequential_runs_keep_their_offset_in_a_page probe fiemap-aligned
ktap_case punched_holes_stay_holes_at_writeback probe punch-holes
ktap_case truncation_after_a_split_writes_the_zeroed_tail probe truncate-split
ktap_case truncation_into_a_dirty_folio_leaves_zeros_past_the_end probe truncate-dirty-folio
ktap_case hard_links_share_the_inode probe links
ktap_case rename_noreplace_refuses_a_taken_name probe rename
ktap_case rename_exchange_swaps_names_links_and_dotdot rename_exchange
ktap_case mmap_store_past_eof_is_zeroed_at_writeback probe eof-tail
ktap_case mmap_store_racing_an_extending_write_stays_out probe extend-race
ktap_case copy_file_range_and_sendfile_into_toyfs probe splice
ktap_case short_copy_keeps_the_blocks_it_did_not_reach probe short-copy
ktap_case compaction_migrates_toyfs_folios compaction_migrates_toyfs_folios
ktap_case fsync_reports_a_write_error_on_its_own_file fsync_reports_a_write_error_on_its_own_file
ktap_case fsync_takes_no_error_of_another_files_metadata fsync_takes_no_error_of_another_files_metadata
ktap_case a_failed_write_leaves_no_stale_block a_failed_write_leaves_no_stale_block
ktap_case a_failed_block_read_leaves_its_folio_unread a_failed_block_read_leaves_its_folio_unread
ktap_case mounts_on_a_4kn_device mounts_on_a_4kn_device
ktap_case o_direct_open_write_read_coherent odirect_probe
ktap_case o_direct_whole_blocks_bypass_the_page_cache probe odirect-bypass
ktap_case o_direct_races_frees_and_allocations probe odirect-race $odirect_changes
ktap_case o_direct_read_never_sees_a_block_page_mkwrite_just_gave probe odirect-mkwrite
ktap_case xfs_io_direct_round_trip xfs_io_direct_round_trip
ktap_case o_direct_edges o_direct_edges
ktap_case fio_direct_on_toyfs fio_direct_on_toyfs
ktap_case nowait_refused_and_io_uring_nonblocking_io_whole probe nowait
ktap_case symlinks_as_on_ext2 symlinks_as_on_ext2
ktap_case special_files_as_on_ext2 special_files_as_on_ext2
ktap_case special_files_feature_not_set_without_an_inode special_files_feature_needs_a_special_file no_inode
ktap_case special_files_feature_not_set_without_room_for_the_entry special_files_feature_needs_a_special_file no_entry_block
ktap_case lsattr_and_chattr_of_a_directory lsattr_and_chattr_of_a_directory
ktap_case o_tmpfile_by_xfs_io_flink o_tmpfile_by_xfs_io
ktap_case counters_show_vm_mvc_did_the_partial_pages counters_show_vm_mvc_did_the_partial_pages
# After the counters: images with fragments read tails through vm_mvc.
# (Direct reads of tails and compressed blocks: through the page cache.)
ktap_case o_direct_reads_tails_and_compressed_blocks o_direct_reads_tails_and_compressed_blocks
ktap_case file_handles_open_the_right_file_or_give_estale file_handles
ktap_case file_handles_survive_a_remount file_handles_survive_a_remount
ktap_case file_handles_race_creation_and_removal file_handles_race_creation_and_removal
ktap_case frozen_filesystem_is_not_changed_until_thawed frozen_filesystem_is_not_changed_until_thawed
ktap_case bmap_maps_whole_plain_blocks_and_swapon_takes_a_plain_file bmap_and_swap_files
# After the counters: tails (an image with fragments) move data through vm_mvc.
ktap_case o_direct_on_an_lz4_image odirect_on_an_lz4_image
ktap_case aio_extending_direct_writes_race aio_extending_direct_writes_race
ktap_case seek_over_tails_compressed_and_packed_blocks seek_over_tails_compressed_and_packed_blocks
ktap_case symlinks_on_fragments_and_lz4 symlinks_on_fragments_and_lz4
ktap_case o_tmpfile_links_and_orphans o_tmpfile -b 1024
ktap_case o_tmpfile_links_and_orphans_with_fragments o_tmpfile -b 4096 -f 512
ktap_case o_tmpfile_links_and_orphans_with_lz4 o_tmpfile -b 1024 -c lz4
ktap_case fallocate_enospc_gives_blocks_back fallocate_enospc_gives_blocks_back
ktap_case fallocate_zeroes_blocks_before_linking fallocate_zeroes_blocks_before_linking
ktap_case fallocate_writes_indirect_blocks_before_naming_them fallocate_writes_new_blocks_before_naming_them 307200
ktap_case fallocate_zeroes_tail_before_linking fallocate_writes_new_blocks_before_naming_them 307500 -f 128
ktap_case fallocate_error_changes_nothing fallocate_error_changes_nothing
ktap_case fallocate_mid_writeback_shows_no_stale_bytes fallocate_mid_writeback_shows_no_stale_bytes
ktap_case truncate_down_up_fsync_then_crash_reads_zeros truncate_down_up_fsync_then_crash_reads_zeros
ktap_case largest_file_is_the_block_maps_and_efbig_past_it largest_file_is_the_block_maps_and_efbig_past_it
ktap_case large_file_through_the_triple_indirect_block large_file_through_the_triple_indirect_block plain
ktap_case large_file_through_the_triple_indirect_block_with_fragments large_file_through_the_triple_indirect_block fragments
ktap_case large_file_through_the_triple_indirect_block_with_lz4 large_file_through_the_triple_indirect_block lz4
ktap_case tail_write_error_is_kept_and_reported tail_write_error_is_kept_and_reported
ktap_case reused_block_error_goes_to_its_new_owner reused_block_error_goes_to_its_new_owner
ktap_case evicted_tail_keeps_a_failed_write evicted_tail_keeps_a_failed_write
ktap_case evicted_bitmap_write_error_reaches_syncfs evicted_bitmap_write_error_reaches_syncfs
ktap_case packed_buffers_keep_failed_writes packed_buffers_keep_failed_writes
ktap_case mkdir_failing_at_the_inode_table_leaves_nothing mkdir_failing_at_the_inode_table_leaves_nothing
ktap_case create_without_room_leaves_a_tail_directory_as_it_was create_without_room_leaves_a_tail_directory_as_it_was
ktap_case fsync_writes_an_indirect_block_another_file_freed fsync_writes_an_indirect_block_another_file_freed
ktap_case fsync_after_eviction_writes_the_indirect_block fsync_after_eviction_writes_the_indirect_block
ktap_case fsync_and_fdatasync_make_each_change_durable fsync_and_fdatasync_make_each_change_durable
ktap_case fsync_and_fdatasync_make_each_change_durable_with_fragments fsync_and_fdatasync_make_each_change_durable -f 256
ktap_case fsync_and_fdatasync_make_each_change_durable_with_lz4 fsync_and_fdatasync_make_each_change_durable -f 512 -c lz4
ktap_case fsync_writes_the_inode_only_if_it_changed fsync_writes_the_inode_only_if_it_changed
ktap_case background_inode_writeback_waits_for_nothing background_inode_writeback_waits_for_nothing
ktap_case sync_writes_the_bitmap_once_for_all_files sync_writes_the_bitmap_once_for_all_files
ktap_case room_found_again_where_entries_left room_found_again_where_entries_left
ktap_case room_found_in_a_tail_made_whole room_found_in_a_tail_made_whole
ktap_case rename_into_a_tail_made_whole_elsewhere rename_into_a_tail_made_whole_elsewhere
# The parts after this one format $dev again: no write error left on it.
ktap_case umount_clean_and_rmmod sh -c "umount $mnt && fsck.toyfs -n $dev &&
	dd if=/dev/null of=$dev conv=fsync && rmmod toyfs"
ktap_end
