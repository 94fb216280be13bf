#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The partial-page cases of tests/xfs_io (xfs_io scripts with golden
# output) on toyfs at three block sizes, with fragments and with LZ4 and,
# on demand, as the reference, on ext2, ext4 and tmpfs, in one boot: one
# KTAP suite per filesystem, one case per script, and an fsck of each disk
# filesystem at the end.  Runs in the Debian chroot (debian.sh), from
# check.sh.
#
# A case that needs what the filesystem lacks (fallocate modes, SEEK_HOLE)
# is skipped with its reason; so is a (case, filesystem) pair listed in
# tests/xfs_io/known-bugs, whose reason names the bug.  Everything else must
# print exactly its .out file.
. /opt/guest/ktap.sh
cases_dir=/opt/guest/tests/xfs_io
# FSTYP:BLOCK_SIZE[:MKFS_OPTIONS], MKFS_OPTIONS being more options of
# mkfs.FSTYP with "_" for each space (toyfs:4096:-f_512_-c_lz4 is
# mkfs.toyfs -b 4096 -f 512 -c lz4); tmpfs has the page size and no mkfs.
# The fragment and LZ4 layouts are where vm_mvc reads and writes the
# partial pieces (a last block in fragments, read and written through the
# block device's cache; each block decompressed into the page); with
# "-c lz4" every new file is compressed (the image's default_flags).
# PARTIAL_PAGE_FILESYSTEMS (spaces or commas between specs) replaces the
# list; in it the word "references" stands for the reference filesystems.
# Fragments with and without LZ4, two layouts for the CI's time (the
# third, toyfs:4096:-f_512_-c_lz4, passed every case on 2026-12-06).
filesystems=(toyfs:512 toyfs:1024 toyfs:4096 toyfs:4096:-f_512
	toyfs:1024:-f_128_-c_lz4)
# The references check the golden outputs (and known-bugs), not toyfs:
# on demand, for a change to tests/xfs_io (about 120 s on the base
# kernel, a tenth of its run).
references=(ext2:1024 ext4:1024 tmpfs:4096)
if [ -n "${PARTIAL_PAGE_FILESYSTEMS:-}" ]; then
	IFS=' ,' read -ra specs <<<"$PARTIAL_PAGE_FILESYSTEMS"
	filesystems=()
	for spec in "${specs[@]}"; do
		if [ "$spec" = references ]; then
			filesystems+=("${references[@]}")
		else
			filesystems+=("$spec")
		fi
	done
fi
mapfile -t all_cases < <(cd $cases_dir && ls | grep -v -e '\.' -e '^known-bugs$')
# Cases that read and write no partial block (names, timestamps, limits
# checked before any block is touched) run on the plain filesystems only:
# a layout given by mkfs options changes nothing they look at, and
# times-after-changes alone sleeps 10 s.
layout_blind_cases=" rename-over-open rlimit-fsize times-after-changes "
work=/tmp/partial-page
mkdir -p $work

# The reason a known bug skips CASE on the filesystem SPEC, if one does.
known_bug() {
	local case=$1 fs=$2 pattern reason
	while read -r name pattern reason; do
		case $name in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2053 # the pattern is a glob on purpose
		[ "$name" = "$case" ] && [[ $fs == $pattern ]] && { echo "$reason"; return 0; }
	done <$cases_dir/known-bugs
	return 1
}

# Shows what differs from the golden output (and the case's stderr).
compare() {
	local case=$1 out=$2
	diff -u "$cases_dir/$case.out" "$out" && [ ! -s "$out.err" ] && return 0
	[ ! -s "$out.err" ] || { echo "stderr:"; cat "$out.err"; }
	return 1
}

mkfs_and_mount() { # FSTYP BLOCK_SIZE MKFS_OPTIONS DEV MNT
	local options
	read -ra options <<<"${3//_/ }"
	case $1 in
	toyfs) mkfs.toyfs -q -b "$2" "${options[@]}" "$4" ;;
	ext2 | ext4) "mkfs.$1" -q -F -b "$2" "${options[@]}" "$4" ;;
	tmpfs)
		[ -z "$3" ] || { echo "tmpfs has no mkfs options: $3"; return 1; }
		mount -t tmpfs -o size=16m tmpfs "$5"
		return
		;;
	esac && mount -t "$1" "$4" "$5"
}

# fsck of the disk filesystem; toyfs's -f decompresses every compressed
# block too, and on an LZ4 layout some of the cases' blocks must be
# compressed, or the layout tested nothing of LZ4.
fsck_clean() { # FSTYP MKFS_OPTIONS DEV
	local report compressed
	case $1 in
	toyfs)
		report=$(fsck.toyfs -n -f -v "$3") || { echo "$report"; return 1; }
		case $2 in *-c_lz4*) ;; *) return 0 ;; esac
		compressed=$(sed -n 's/.* file data (\([0-9]*\) compressed.*/\1/p' <<<"$report")
		[ "${compressed:-0}" -gt 0 ] || { echo "$report"; echo "no block compressed"; return 1; }
		;;
	ext2 | ext4) e2fsck -f -n "$3" ;;
	esac
}

for spec in "${filesystems[@]}"; do
	IFS=: read -r fstyp bs mkfs_options <<<"$spec"
	# toyfs:4096:-f_512_-c_lz4 is suite partial_page_toyfs_4096_f_512_c_lz4.
	suite=$(tr -cs 'a-z0-9' _ <<<"partial_page_${fstyp}_${bs}_$mkfs_options")
	suite=${suite%_}
	mnt=/mnt/$suite dev=none
	mkdir -p "$mnt"
	if [ "$fstyp" != tmpfs ]; then
		# Small: the cases need little room, and the image is in /tmp
		# (toyfs's mount reads its bitmap, a bit per block, and no
		# inode table: the scale part mounts 4 GiB).
		truncate -s 16M "$work/$suite.img"
		dev=$(losetup --find --show "$work/$suite.img")
	fi
	cases=()
	for case in "${all_cases[@]}"; do
		[ -n "$mkfs_options" ] && [[ $layout_blind_cases == *" $case "* ]] || cases+=("$case")
	done
	count=${#cases[@]}
	[ "$fstyp" = tmpfs ] || count=$((count + 1))
	ktap_suite "$suite" "$count"
	# A filesystem the kernel lacks fails here too: every test kernel has
	# all of them (scripts/kconfig), so none is skipped for that.
	if ! out=$(mkfs_and_mount "$fstyp" "$bs" "$mkfs_options" "$dev" "$mnt" 2>&1); then
		for case in "${cases[@]}"; do
			ktap_case "${case//-/_}" sh -c 'echo "$1"; exit 1' - "mkfs or mount failed: $out"
		done
		if [ "$fstyp" != tmpfs ]; then
			ktap_case fsck sh -c 'echo "$1"; exit 1' - "mkfs or mount failed: $out"
			losetup -d "$dev"
			rm -f "$work/$suite.img"
		fi
		ktap_end
		continue
	fi
	for case in "${cases[@]}"; do
		name=${case//-/_}
		if reason=$(known_bug "$case" "$spec"); then
			ktap_skip "$name" "$reason"
			continue
		fi
		out=$work/$suite-$case
		rm -f "$out.notrun"
		mkdir -p "$mnt/$case"
		rc=0 start=$(date +%s%N)
		(cd $cases_dir && TEST_DIR=$mnt/$case TEST_DEV=$dev TEST_MNT=$mnt FSTYP=$fstyp \
			NOTRUN=$out.notrun timeout 300 bash "./$case" >"$out" 2>"$out.err") || rc=$?
		say "    # $name: $((($(date +%s%N) - start) / 1000000)) ms"
		if [ -s "$out.notrun" ]; then
			ktap_skip "$name" "$(cat "$out.notrun")"
		elif [ $rc -ne 0 ]; then
			ktap_case "$name" sh -c 'cat "$1" "$1.err"; echo "exit status $2"; exit 1' - "$out" $rc
		else
			ktap_case "$name" compare "$case" "$out"
		fi
	done
	umount "$mnt"
	if [ "$fstyp" != tmpfs ]; then
		ktap_case fsck fsck_clean "$fstyp" "$mkfs_options" "$dev"
		losetup -d "$dev"
		rm -f "$work/$suite.img"
	fi
	ktap_end
done
