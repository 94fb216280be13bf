#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Part "torture", suite toyfs_torture_layouts (after torture.sh): on a new
# 512 MiB image of each layout the suites use (512, 1024, 2048 and
# 4096-byte blocks; fragments; LZ4; images made with mkfs.toyfs -d, and
# with -p -d: packed tails, plain and LZ4) and
# on ext2 (the reference), one case each:
#
#   LAYOUT_pressure    first, on the LZ4 layouts (their paths are a
#                      superset of the plain ones': fragments, tails,
#                      decompression; b1024_f128_lz4 in make check, for
#                      the CI's time), the layout under memory pressure:
#                      a tmpfs file holds all of MemAvailable but 64 MiB
#                      (no swap: it cannot be reclaimed), while a 128 MiB
#                      file of random bytes is read again and again
#                      against its md5 sum (it cannot stay cached: its
#                      folios are reclaimed and read again), two fsx
#                      (tests/fsx mapped and small) change files of
#                      their own, on -d layouts the copied tree is
#                      compared with /usr/include/linux, and the page
#                      cache, dentries and inodes are dropped
#                      (drop_caches 1, 2, 3: toyfs's metadata buffers
#                      read again, once the file was read twice) and
#                      memory compacted; for 4 x a third of
#                      TORTURE_SECONDS.  It fails if after the first
#                      read, before any drop_caches, three quarters of
#                      the file were still cached (mincore): reclaim
#                      took none of its folios, no pressure.  Skipped
#                      on User-Mode Linux, whose page cache the held
#                      tmpfs did not squeeze
#   LAYOUT_packed      on the layouts made with -p (packed tails, plain
#                      and LZ4) only, first: toyfs-probe packed-torture
#                      on the copied tree's own packed files, fsx's way
#                      (writes, truncations, mapped stores, punched
#                      holes around the tail, against a model), two at
#                      a time beside readers of their neighbours in the
#                      same tail block (read and mmap, against the
#                      tree: a change must never show in a neighbour;
#                      past the end of the mapped last page, zeros); at
#                      the end the whole tree, from the cache and from
#                      the disk
#   LAYOUT_fio_verify  tests/fio/verify.fio (crc32c, psync and mmap),
#                      one round
#   LAYOUT_stress_ng   the stress-ng stressors torture.sh does not run
#                      (filesystem class and the file-backed ones of the
#                      io and vm classes) and torture.sh's at their
#                      default sizes, all at once, one worker each,
#                      --verify; every one must pass or be skipped by
#                      stress-ng itself, with no error line of its own
#   LAYOUT_sendfile    stress-ng's sendfile alone (below)
#   LAYOUT_churn       toyfs-stress churn: six threads changing names and
#                      data of one tree at once (fsstress's way), the
#                      tree walked, unmounted, fsck'd, mounted and walked
#                      again the same
#   LAYOUT_fsck        unmount, fsck.toyfs -f -n (e2fsck -f -n): clean
#
# TORTURE_LAYOUTS names the layouts (comma-separated), "all" for every
# one; make check runs four that cover each block size, fragments, LZ4
# and -d (b512, b1024_f128_lz4, b2048_f256_d, b4096_f512), make torture
# all.  The pressure runs 4 x a third of TORTURE_SECONDS; stress-ng, sendfile, the churn and packed-torture each
# run for a third of TORTURE_SECONDS, from 2 to 10 seconds.  TORTURE_SEED
# (1) seeds the churn, packed-torture and the pressure's first fsx round;
# a failure prints the make command that runs it again.  Runs in the Debian chroot
# (debian.sh), from check.sh, with toyfs loaded.
. /opt/guest/ktap.sh
seconds=$((${TORTURE_SECONDS:-15} / 3))
[ $seconds -ge 2 ] || seconds=2
[ $seconds -le 10 ] || seconds=10
torture_seed=${TORTURE_SEED:-1}
work=/tmp/torture-layouts mnt=/mnt/torture-layouts
# NAME:mkfs.toyfs options (spaces as underscores).  -d copies a tree of
# the Debian root: files of every size, directories with tails.
all="ext2:ext2 b512:-b_512 b1024:-b_1024 b2048:-b_2048 b4096:-b_4096 b1024_f128:-b_1024_-f_128
b4096_f512:-b_4096_-f_512 b4096_f512_lz4:-b_4096_-f_512_-c_lz4 b1024_f128_lz4:-b_1024_-f_128_-c_lz4
b2048_f256_d:-b_2048_-f_256_-d_/usr/include/linux b512_lz4_d:-b_512_-c_lz4_-d_/usr/include/linux
b1024_f128_p_d:-b_1024_-f_128_-p_-d_/usr/include/linux
b4096_f512_lz4_p_d:-b_4096_-f_512_-c_lz4_-p_-d_/usr/include/linux"
wanted=${TORTURE_LAYOUTS:-b512,b1024_f128_lz4,b2048_f256_d,b4096_f512}
layouts=
for l in $all; do
	case ",$wanted," in *",${l%%:*},"* | *,all,*) layouts="$layouts $l" ;; esac
done
# stress-ng 0.19.02's filesystem class less what torture.sh runs, and
# the io and vm stressors that work on files in --temp-path.  handle
# works on /dev/zero (devtmpfs), not on the temp path, and needs
# CONFIG_FHANDLE (ENOSYS, counted as a failure, without it); io-uring,
# inotify, dnotify and fanotify need CONFIG_IO_URING, INOTIFY_USER,
# DNOTIFY and FANOTIFY (the kernels have them since 2026-12-05).  Left
# out: verity, binderfs, bind-mount, rawdev and statmount, which need
# kernel options the test kernels lack or a device of their own
# (stress-ng skips them).
# xattr and acl are skipped by stress-ng: toyfs keeps no extended
# attributes (EOPNOTSUPP).  sendfile runs alone: its setup, a
# posix_fallocate of 4 MiB in 1 MiB steps, did not end within 5 s beside
# the others on 8 of 10 toyfs layouts and on ext4 (not on ext2, which
# has no fallocate: glibc writes a byte a block), and stress-ng 0.19.02
# then fakes EINTR ("fallocate failed, errno=4") and counts a failure;
# alone it takes well under a second.
stressors="access acl aio aiol chattr chdir chmod chown copy-file dirdeep dirmany dup fault fcntl
fd-fork fiemap fifo file-ioctl filename flock fstat getdent inode-flags io ioprio lease link
locka lockf lockmix lockofd loop madvise mknod mmapcow mmapfiles mmapfork mmaptorture mremap
msync msyncmany open pseek revio rmap splice swap symlink tee touch umask unlink utime
xattr handle io-uring inotify dnotify fanotify
hdd seek mmap fsize filerace iomix metamix readahead sync-file fallocate fpunch dentry dir rename"
mkdir -p $work $mnt

# mkfs.toyfs options $1 (or "ext2") on a new 512 MiB image (sparse, in
# the chroot's tmpfs); mounted; the loop device in $dev, the type and
# its fsck in $fstype and $fsck.
new_layout() {
	opts=$(echo "$1" | tr _ ' ')
	fstype=toyfs fsck="fsck.toyfs -f -n"
	if [ "$opts" = ext2 ]; then
		fstype=ext2 fsck="e2fsck -f -n"
		rm -f $work/img && truncate -s 512M $work/img && dev=$(losetup --find --show $work/img) &&
			mke2fs -q -t ext2 "$dev" && mount -t ext2 "$dev" $mnt
		return
	fi
	rm -f $work/img && truncate -s 512M $work/img || return 1
	# shellcheck disable=SC2086 # the options are words
	mkfs.toyfs -q $opts $work/img && dev=$(losetup --find --show $work/img) || return 1
	mount -t toyfs "$dev" $mnt
}

# One round of tests/fio/verify.fio (its jobs are bounded by their
# files: seconds).
fio_round() {
	mkdir -p $mnt/fio && FIO_DIR=$mnt/fio FIO_RUNTIME=60 fio --output=$work/fio.log \
		/opt/guest/tests/fio/verify.fio
	rc=$?
	grep -E 'err=|verify|bad|crc' $work/fio.log | grep -v 'err= 0'
	[ $rc -eq 0 ] || cat $work/fio.log
	rm -rf $mnt/fio
	return $rc
}

# Every stressor passed or was skipped by stress-ng; any it failed, or
# did not report, is named with its lines of the log.
stress_ng_round() {
	local args=() s rc failed=0
	for s in $stressors; do args+=("--$s" 1); done
	mkdir -p $mnt/stress-ng
	(cd $work && timeout -k 10 $((seconds * 10 + 120)) stress-ng --temp-path $mnt/stress-ng \
		--verify --timeout "${seconds}s" --metrics-brief "${args[@]}" >$work/stress-ng.log 2>&1)
	rc=$?
	listed() {
		sed -n "s/.*] $1: [0-9]*: //p" $work/stress-ng.log | tr ' ' '\n' | grep -v '^(' | grep .
	}
	ok=$( (listed passed; listed skipped) | sort -u)
	for s in $stressors; do
		if ! grep -qx -- "$s" <<<"$ok" || grep -q -- "error: \[[0-9]*\] $s: " $work/stress-ng.log; then
			echo "stress-ng $s failed:"
			grep -e "\] $s: " $work/stress-ng.log | head -20
			failed=1
		fi
	done
	grep -E '(passed|failed|skipped):' $work/stress-ng.log
	echo "stress-ng status $rc"
	rm -rf $mnt/stress-ng
	return $failed
}

# toyfs-stress churn, six threads, seed $torture_seed, then the remount
# and fsck.
churn_round() {
	toyfs-stress churn 6 $torture_seed $seconds $mnt "$dev" $fstype "$fsck" >$work/churn.log 2>&1
	rc=$?
	# The counts and the verdict; the whole log on failure.
	if [ $rc -eq 0 ]; then grep -v '^churn: thread' $work/churn.log; else cat $work/churn.log; fi
	[ $rc -eq 0 ] || echo "to run it again: make torture TORTURE_SEED=$torture_seed TORTURE_LAYOUTS=$name"
	rm -rf $mnt/churn
	return $rc
}

umount_fsck() {
	umount $mnt || { echo "umount failed"; return 1; }
	$fsck "$dev"
}

# LAYOUT_pressure (above): RAM left to everything else while the holder
# runs, and the size of the file that must not fit in it.
pressure_headroom_mib=64 pressure_file_mib=128

# The value of counter $1 in /proc/vmstat.
vmstat_value() {
	awk -v name="$1" '$1 == name { print $2 }' /proc/vmstat
}

# The page cache less tmpfs (the images are in tmpfs), in pages.
file_cache_pages() {
	echo $(($(vmstat_value nr_file_pages) - $(vmstat_value nr_shmem)))
}

# fsx with configuration $1 (tests/fsx) on new files of $dir/fsx, a
# round of 300 operations after another (seeds from $torture_seed), until second
# $end; the first failure's log is left in $work/pressure-$1.log.
pressure_fsx() {
	local cfg=$1 seed=$torture_seed file=$dir/fsx/$1
	while [ $SECONDS -lt "$end" ] || [ $seed -eq "$torture_seed" ]; do
		rm -f "$file" && : >"$file" || return 1
		case $opts in
		*lz4*) [ "$(toyfs-stress compr "$file" +c)" = c ] || { echo "chattr +c $file failed"; return 1; } ;;
		esac
		fsx -q -f /opt/guest/tests/fsx/$cfg.toml -S $seed -N 300 -P $work "$file" \
			>$work/pressure-$cfg.log 2>&1 &&
			grep -q 'All operations completed A-OK!' $work/pressure-$cfg.log || {
			echo "fsx $cfg, seed $seed, failed under pressure:"
			head -n 25 $work/pressure-$cfg.log
			echo "..."
			tail -n 20 $work/pressure-$cfg.log
			return 1
		}
		seed=$((seed + 1))
	done
	echo "fsx $cfg: $((seed - torture_seed)) rounds of 300 operations"
}

# How many MiB of file $1 are in the page cache (mincore(2) of a
# mapping of it, which reads nothing).
cached_mib() {
	python3 -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
page = os.sysconf("SC_PAGE_SIZE")
addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
pages = (size + page - 1) // page
vec = (ctypes.c_ubyte * pages)()
if addr in (None, ctypes.c_void_p(-1).value) or libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) != 0:
    sys.exit("mmap or mincore failed: " + os.strerror(ctypes.get_errno()))
print(sum(b & 1 for b in vec) * page >> 20)' "$1"
}

# The file $dir/big read again and again against its sum ($1), and on
# -d layouts the tree against /usr/include/linux, until second $end.
pressure_readers() {
	local sum=$1 reads=0
	# Held open, so that drop_caches 2 cannot evict the inode between two
	# reads: its shadow entries, which count the refaults, would go with it.
	exec 3<$dir/big
	# At least twice, and once more after the caches were dropped.
	while [ $SECONDS -lt "$end" ] || [ $reads -lt 2 ] || [ ! -e $work/pressure-dropped ]; do
		[ "$(md5sum <$dir/big)" = "$sum" ] || { echo "$dir/big changed under pressure (read $reads)"; return 1; }
		case $opts in
		*-d*) diff -r -x pressure /usr/include/linux $mnt >$work/pressure-diff.log 2>&1 || {
			echo "the tree differs under pressure:"
			head -n 20 $work/pressure-diff.log
			return 1
		} ;;
		esac
		reads=$((reads + 1))
		[ $reads -ne 1 ] || cached_mib $dir/big >$work/pressure-cached
		[ $reads -ne 2 ] || : >$work/pressure-read-twice
	done
	exec 3<&-
	echo "the ${pressure_file_mib} MiB file read $reads times${tree:+, the tree compared as often}"
}

# LAYOUT_pressure (above), on the layout mounted at $mnt (mkfs.toyfs
# options $opts, new_layout's).
pressure_round() {
	local dir=$mnt/pressure free held refaults rounds=0 compactions=0 failed=0 pids pid sum low
	local tree= pages readers cached start=$SECONDS
	case $opts in *-d*) tree=1 ;; esac
	mkdir -p $dir/fsx && rm -f $work/pressure-read-twice $work/pressure-dropped $work/pressure-cached || return 1
	sum=$(head -c ${pressure_file_mib}M /dev/urandom | tee $dir/big | md5sum) || return 1
	sync && echo 3 >/proc/sys/vm/drop_caches
	# MemAvailable: with MemFree less 32 MiB held, QEMU's page cache fell
	# to 1 MiB and the case took 148 s.
	free=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
	held=$((free - pressure_headroom_mib))
	echo "MemAvailable $free MiB; $held MiB held"
	# In a tmpfs of its own: the kernel's memory, mapped by no process
	# (User-Mode Linux maps each page of a process on the host, past
	# vm.max_map_count for a process of 1.6 GiB), and without swap it
	# cannot be reclaimed.
	mkdir -p $work/hold && mount -t tmpfs -o size=${held}m tmpfs $work/hold &&
		fallocate -l ${held}M $work/hold/held || { umount $work/hold; return 1; }
	refaults=$(vmstat_value workingset_refault_file)
	low=$(file_cache_pages)
	end=$((SECONDS + 4 * seconds))
	pressure_fsx mapped >$work/pressure-mapped.out 2>&1 &
	pids=$!
	pressure_fsx small >$work/pressure-small.out 2>&1 &
	pids="$pids $!"
	pressure_readers "$sum" >$work/pressure-readers.out 2>&1 &
	readers=$!
	pids="$pids $readers"
	# Until $end, and on a slow kernel until each drop_caches ran once.
	while [ $SECONDS -lt $end ] || { [ $rounds -lt 3 ] && kill -0 $readers 2>/dev/null; }; do
		# Not before the file was read twice: drop_caches 1 clears the
		# shadow entries reclaim left, and the second read must find them.
		if [ -e $work/pressure-read-twice ]; then
			echo $((rounds % 3 + 1)) >/proc/sys/vm/drop_caches
			rounds=$((rounds + 1))
			[ $rounds -ne 3 ] || : >$work/pressure-dropped
		fi
		echo 1 >/proc/sys/vm/compact_memory
		compactions=$((compactions + 1))
		pages=$(file_cache_pages)
		[ "$pages" -ge "$low" ] || low=$pages
		sleep 0.5
	done
	for pid in $pids; do wait "$pid" || failed=1; done
	cat $work/pressure-mapped.out $work/pressure-small.out $work/pressure-readers.out
	refaults=$(($(vmstat_value workingset_refault_file) - refaults))
	cached=$(cat $work/pressure-cached 2>/dev/null)
	echo "drop_caches $rounds times, compact_memory $compactions times; page cache (less tmpfs) down to $((low / 256)) MiB;" \
		"after the first read ${cached:-?} MiB of the ${pressure_file_mib} MiB file cached; $refaults file pages reclaimed and read again"
	umount $work/hold
	# Before drop_caches ran, only reclaim could have taken its folios.
	[ -n "$cached" ] && [ "$cached" -lt $((pressure_file_mib * 3 / 4)) ] ||
		{ echo "the file stayed cached (${cached:-?} MiB of ${pressure_file_mib}): no pressure"; failed=1; }
	rm -rf $dir
	echo "$((SECONDS - start)) s"
	return $failed
}

# The packed files' torture, seed $torture_seed, on the layout mounted at
# $mnt.
packed_round() {
	toyfs-probe packed-torture $mnt /usr/include/linux $torture_seed $seconds >$work/packed.log 2>&1
	rc=$?
	cat $work/packed.log
	[ $rc -eq 0 ] || echo "to run it again: make torture TORTURE_SEED=$torture_seed TORTURE_LAYOUTS=$name" \
		"(in make shell: toyfs-probe packed-torture $mnt /usr/include/linux $torture_seed $seconds)"
	return $rc
}

packed=$(echo "$layouts" | tr ' ' '\n' | grep -c -- '_-p_')
ktap_suite toyfs_torture_layouts $((6 * $(echo $layouts | wc -w) + packed))
for l in $layouts; do
	name=${l%%:*} dev=
	if ! new_layout "${l#*:}" >$work/mkfs.log 2>&1; then
		cases="pressure fio_verify stress_ng sendfile churn fsck"
		case $l in *_-p_*) cases="packed $cases" ;; esac
		for c in $cases; do
			ktap_case "${name}_$c" sh -c "cat $work/mkfs.log; echo 'mkfs.toyfs ${l#*:} or mount failed'; exit 1"
		done
	else
		if [ "${name#*lz4}" = "$name" ]; then
			ktap_skip "${name}_pressure" "run on the LZ4 layouts only (the CI's time)"
		elif grep -q '^vendor_id.*User Mode Linux' /proc/cpuinfo; then
			# The held tmpfs did not squeeze UML's page cache: the whole
			# file stayed cached (mincore), with MemAvailable or MemFree
			# less 32 MiB held; not understood yet.
			ktap_skip "${name}_pressure" "User-Mode Linux: the held memory does not squeeze its page cache"
		else
			ktap_case "${name}_pressure" pressure_round
		fi
		case $l in *_-p_*) ktap_case "${name}_packed" packed_round ;; esac
		ktap_case "${name}_fio_verify" fio_round
		ktap_case "${name}_stress_ng" stress_ng_round
		stressors=sendfile ktap_case "${name}_sendfile" stress_ng_round
		ktap_case "${name}_churn" churn_round
		ktap_case "${name}_fsck" umount_fsck
	fi
	umount $mnt 2>/dev/null
	[ -z "$dev" ] || losetup -d "$dev"
	rm -f $work/img
done
ktap_end
