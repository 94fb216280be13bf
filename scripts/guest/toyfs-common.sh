# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Helpers of the toyfs guest tests, sourced after ktap.sh.
#
#   fsck_clean DEV           fsck.toyfs finds no damage and the clean state
#   manifest_holds MANIFEST  the files, removals and directories a
#                            `toyfs-stress faults|io-errors` manifest lists
#   toyfs_gap GAP            the reason a case cannot pass on toyfs yet
#   toyfs_case NAME GAP CMD  ktap_case, or ktap_skip with toyfs_gap's reason
#                            (`make check TOYFS_RUN_GAPS=1` runs it anyway:
#                            whether a fix makes it pass)
#   toyfs_features B         toyfs-stress run's options of the model for
#                            toyfs with B-byte blocks
#   toyfs_row B DEV OPS, toyfs_fragments_row B F DEV OPS,
#   toyfs_compress_row B F DEV OPS
#                            toyfs-stress run on a new toyfs: plain blocks,
#                            fragments, LZ4 (uses $mnt, $threads, $seed)
#   toyfs_full_row NAME OPTS TREE SEED SECONDS MNT AGAIN
#                            toyfs-stress full on a new 4 MiB toyfs: ENOSPC
#                            all the time (src/full.rs)

fsck_clean() {
	out=$(fsck.toyfs -n "$1") || { echo "$out"; return 1; }
	echo "$out"
	! echo "$out" | grep -q 'not cleanly unmounted'
}

manifest_holds() {
	bad=0
	while read -r kind path ref; do
		case $kind in
		file) cmp "$path" "$ref" || bad=1 ;;
		absent) [ ! -e "$path" ] || { echo "$path still exists"; bad=1; } ;;
		dir) [ -d "$path" ] || { echo "$path is not a directory"; bad=1; } ;;
		esac
	done <"$1"
	echo "$(grep -c '^file ' "$1") files and $(grep -c '^absent ' "$1") removals checked"
	return $bad
}

# Cases that fail on toyfs because of a known bug or a missing feature,
# and pass on ext2 or tmpfs: a line `GAP) echo "REASON" ;;` each, and
# the case goes through toyfs_case, reported as skipped with its reason,
# never left out.  The line goes with the fix, and the case runs from
# then on.  None today: issue 12's fixes closed migrate_folio, fallocate,
# SEEK_DATA/SEEK_HOLE, the extending-write race and fsync's write errors.
toyfs_gap() {
	case $1 in
	*) return 1 ;;
	esac
}

toyfs_case() {
	name=$1 gap=$2
	shift 2
	if [ -z "${TOYFS_RUN_GAPS:-}" ] && reason=$(toyfs_gap "$gap"); then
		ktap_skip "$name" "$reason"
	else
		ktap_case "$name" "$@"
	fi
}

# The model's options for toyfs with $1-byte blocks (proven on tmpfs and
# ext2 in stress-tests.sh, and on ext4): fallocate punching, zeroing and
# preallocating, KEEP_SIZE inside the file and past its end (toyfs
# preallocates there, as ext4 does); SEEK_DATA/SEEK_HOLE exact to the
# block; folios of up to 64 blocks, all of whose holes inside the file a
# write fault allocates (page_mkwrite; toyfs's MAX_FOLIO_BLOCKS); stores
# past the end that an extension must zero; copy_file_range, sendfile and
# splice; links, renames and unlinks under the open files; FIEMAP;
# O_DIRECT reads and writes at any alignment (fsx -Z, xfstests
# generic/091 and 263), whole blocks by bio and the rest through the
# page cache.
toyfs_features() {
	echo "--fallocate punch,zero,keep --seek $1 --folio-max $((64 * $1)) --eof-pollution" \
		"--copy --links --fiemap --direct 0"
}

# toyfs's largest file (s_maxbytes) with $1-byte blocks and $2-byte
# fragments ("" without FRAGMENTS): Documentation/toyfs.rst, "Block map".
toyfs_max_file() {
	case $1/$2 in
	512/*) echo 1082202112 ;;
	1024/*) echo 17247252480 ;;
	2048/*) echo 275415851008 ;;
	4096/1024) echo 4393751527424 ;;
	4096/512) echo 2196875755520 ;;
	4096/*) echo 4402345721856 ;;
	esac
}

# toyfs-stress run's options of names, links and times for toyfs with
# $1-byte blocks and $2-byte fragments: hard links counted, O_TMPFILE
# files named over files or freed, RENAME_EXCHANGE and RENAME_NOREPLACE
# of files and of a tree's files and directories across parents,
# modification and change times, st_blocks, and a file reaching into the
# triple-indirect level up to the largest file (src/worker/vfs.rs,
# src/far.rs).
toyfs_vfs() {
	echo "--hardlinks --tmpfile --exchange --times --st-blocks --far $(toyfs_max_file "$1" "$2")"
}

# The randomized tester's rows (toyfs-stress run on a new toyfs mounted
# at $mnt, with $threads and $seed; unmount and fsck between rounds and
# at the end), for the short runs of stress-tests.sh and the soak.
#
# toyfs with $1-byte blocks on $2, $3 operations.
toyfs_row() {
	mkfs.toyfs -q -b "$1" "$2" && mount -t toyfs "$2" $mnt || return 1
	toyfs-stress run $threads --block-size "$1" $(toyfs_features "$1") $(toyfs_vfs "$1" "") \
		--fsck "fsck.toyfs -n" "$seed" "$3" $mnt "$2"
	rc=$?
	umount $mnt && fsck_clean "$2" && [ $rc -eq 0 ]
}

# toyfs with $1-byte blocks and $2-byte fragments (mkfs.toyfs -f) on $3,
# $4 operations: every file's last block a tail in the fewest fragments,
# moved to more fragments or to a whole block as the file grows (writes,
# truncations, fallocate, write faults) and shrunk in place as it
# shrinks; fsck.toyfs -f checks the fragments' owners and the fewest
# fragments between rounds and at the end.
toyfs_fragments_row() {
	mkfs.toyfs -q -b "$1" -f "$2" "$3" && mount -t toyfs "$3" $mnt || return 1
	toyfs-stress run $threads --block-size "$1" $(toyfs_features "$1") $(toyfs_vfs "$1" "$2") \
		--fsck "fsck.toyfs -f -n" "$seed" "$4" $mnt "$3"
	rc=$?
	umount $mnt && fsck_clean "$3" && [ $rc -eq 0 ]
}

# toyfs with LZ4 (mkfs.toyfs -c lz4), $1-byte blocks and $2-byte
# fragments, on $3, $4 operations of data that compresses: files switched between
# compressed and plain (chattr +c/-c), their blocks compressed at
# writeback into the first fragments of their runs and given plain runs
# again when dirtied, tails growing and shrinking under writes,
# truncations and write faults; fsck.toyfs -f decompresses every block
# between rounds and at the end, and some must be compressed then.
toyfs_compress_row() {
	mkfs.toyfs -q -b "$1" -f "$2" -c lz4 "$3" && mount -t toyfs "$3" $mnt || return 1
	toyfs-stress run $threads --block-size "$1" $(toyfs_features "$1") $(toyfs_vfs "$1" "$2") --chattr-compress \
		--compressible --fsck "fsck.toyfs -f -n" "$seed" "$4" $mnt "$3"
	rc=$?
	umount $mnt && fsck_clean "$3" || return 1
	# Blocks were stored compressed (fsck.toyfs -f decompressed them).
	usage=$(fsck.toyfs -f -n -v "$3" | sed -n 's/.*fragments in use: //p') || return 1
	echo "$usage"
	echo "$usage" | grep -q 'file data ([1-9][0-9]* compressed;' && [ $rc -eq 0 ]
}

# toyfs-stress full (tools/toyfs-stress/src/full.rs): 4 threads, 6 files
# each, filled until ENOSPC and then for $5 seconds from seed $4 (some
# call must meet ENOSPC), on a new toyfs of 4 MiB made with
# mkfs.toyfs options $2 (spaces as underscores; "-d TREE" is added to
# options with -p, TREE $3) on a loop device, mounted at $6: writes
# inside and past the end, truncations, punched holes, fsync, writeback
# started and pages dropped, unlinks, where ENOSPC is frequent, each file
# against its model; the files checked again after a remount and an
# fsck, then deleted, and statfs's count of fragments in use must be
# fsck's.  On -p images the tree's files (packed tails, among whose
# blocks the threads' runs come and go) keep their bytes (md5sum -c), and the image
# is clean at the end.  $7: the make command that runs the row again.
toyfs_full_row() {
	name=$1 opts=$(echo "$2" | tr _ ' ') tree=$3 full_seed=$4 full_seconds=$5 full_mnt=$6
	img=/tmp/full-$name.img compress= rc=0
	case $opts in *lz4*) compress=--compress ;; esac
	case $opts in *-p*) opts="$opts -d $tree" ;; esac
	mkdir -p "$full_mnt" && rm -f $img || return 1
	# shellcheck disable=SC2086 # the options are words
	mkfs.toyfs -q $opts $img 4M && loop=$(losetup -f) && losetup "$loop" $img || return 1
	if mount -t toyfs "$loop" "$full_mnt"; then
		(cd "$full_mnt" && find . -type f | sort | xargs -r md5sum) >/tmp/full-$name.sums
		echo "$(wc -l </tmp/full-$name.sums) files of the tree; $(df -k "$full_mnt" | tail -n 1)"
		# shellcheck disable=SC2086 # no option, or one
		toyfs-stress full 4 "$full_seed" "$full_seconds" "$full_mnt" "$loop" "fsck.toyfs -f -n" $compress || rc=1
		if [ ! -s /tmp/full-$name.sums ]; then
			: # no tree (an image made without -d)
		elif (cd "$full_mnt" && md5sum -c /tmp/full-$name.sums >/tmp/full-$name.check 2>&1); then
			echo "the tree's files unchanged"
		else
			grep -v ': OK$' /tmp/full-$name.check | head -n 20
			echo "the tree's files changed"
			rc=1
		fi
		umount "$full_mnt" || rc=1
	else
		rc=1
	fi
	fsck.toyfs -f -n "$loop" || rc=1
	losetup -d "$loop"
	rm -f $img /tmp/full-$name.sums /tmp/full-$name.check
	[ $rc -eq 0 ] || echo "row $name, seed $full_seed, $full_seconds s; to run it again: $7"
	return $rc
}
