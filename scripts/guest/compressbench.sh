#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest table "compress" of `make bench` (issue 13 item 6): reads from
# toyfs images made with mkfs.toyfs -d, LZ4-compressed against the same
# bytes plain, both with 4 KiB blocks in 512-byte fragments, each image on
# its own brd ramdisk, mounted read-only for the reads.
#   docs:  the kernel's Documentation/ tree (guest-boot.sh puts it in the
#          bench image as /guest/docs), read cold: every file in name
#          order after drop_caches, the directory walk included; also
#          with the files' tails packed (mkfs.toyfs -p: fs=packed, and
#          with -c lz4 -p, the tails that compress packed compressed:
#          fs=lz4packed), each against the same tree plain.
#   text:  a 64 MiB file of that tree's text over and over (fsbench text),
#          read cold from start to end in 4 KiB and in 1 MiB requests;
#          then written: the same bytes from tmpfs to a new file on a
#          fresh image of each kind mounted read-write, in 1 MiB writes,
#          and fsynced (fsbench copy), the LZ4 side compressed by the
#          kernel's writeback.
# Each result is one "vm_mvc_bench: table=compress image=... fs=plain|lz4|packed|lz4packed
# op=... req=... round=... bytes=... ns=... mbps=... mvc_read=...
# mvc_write=... mvc_zero=... mvc_protzero=..." line on the console (the
# mvc_ fields: the vm_mvc calls the row made, untimed);
# scripts/bench-report.py takes the median over the rounds.  The order of
# plain and lz4 alternates between rounds.  Run by bench.sh with vm_mvc
# loaded.
#
# make bench VM_MVC_BENCH_COMPRESS_ROWS=tree_cold (vmmvc_compressrows= on
# the kernel command line): only those rows, each named by its op, or by
# its op and request size where it has two: tree_cold, read_cold (both
# sizes, or read_cold_4k, read_cold_1m), write_seq.  Without a text row
# the 64 MiB text file and its images are not made at all.
# VM_MVC_BENCH_COMPRESS_ROUNDS=N (vmmvc_compressrounds=): N rounds
# instead of 5.  With VM_MVC_PROFILE=1 each row is announced as a phase
# (bench-common.sh, scripts/profile-sample.py).
docs=/guest/docs
rounds=$(sed -n 's/.*vmmvc_compressrounds=\([0-9]*\).*/\1/p' /proc/cmdline)
rounds=${rounds:-5}
rows=$(sed -n 's/.*vmmvc_compressrows=\([a-z0-9_,]*\).*/\1/p' /proc/cmdline)
size=64M

# note, drop_caches, mvc_calls, selected (VM_MVC_BENCH_COMPRESS_ROWS), phase.
. /guest/bench-common.sh

# Whether any row of the 64 MiB text file is to run.
text_rows() {
	selected read_cold 4096 || selected read_cold 1048576 || selected write_seq 1048576
}

if [ ! -d $docs ]; then
	note "table=compress skipped: no $docs in the guest image"
	exit 0
fi
if ! insmod /modules/toyfs.ko; then
	note "table=compress failed: insmod toyfs"
	exit 0
fi
# The modules' symbols, for profile-report.py (the kernel's are in System.map).
[ -z "$profiling" ] || grep -E '\[(toyfs|vm_mvc)\]$' /proc/kallsyms |
	while read -r line; do echo "vm_mvc_profile: ksym $line" >/dev/kmsg; done

# image, kind, ramdisk: docs and text, plain and lz4; docs packed too.
images="docs plain /dev/ram2
docs lz4 /dev/ram3
docs packed /dev/ram6
docs lz4packed /dev/ram7"
text_images="text plain /dev/ram4
text lz4 /dev/ram5"
if text_rows; then
	images="$images
$text_images"
fi

# The mkfs.toyfs options of an image of kind $1.
mkfs_options() {
	case $1 in
	plain) echo "-b 4096 -f 512" ;;
	lz4) echo "-b 4096 -f 512 -c lz4" ;;
	packed) echo "-b 4096 -f 512 -p" ;;
	lz4packed) echo "-b 4096 -f 512 -c lz4 -p" ;;
	esac
}

# Makes and mounts the images; says what each holds (fsck.toyfs -v).
setup() {
	if text_rows; then
		mkdir -p /tmp/text && fsbench text /tmp/text/file $size $docs || return 1
	fi
	echo "$images" | while read -r image kind dev; do
		src=$docs
		[ "$image" = docs ] || src=/tmp/text
		options=$(mkfs_options "$kind")
		# shellcheck disable=SC2086 # the options are words
		mkfs.toyfs -q $options -d $src "$dev" || return 1
		usage=$(fsck.toyfs -v -n "$dev" | sed -n 's/.*: fragments in use: //p')
		note "compress image=$image fs=$kind mkfs.toyfs $options -d: $usage"
		mkdir -p "/mnt/$image-$kind"
		mount -o ro -t toyfs "$dev" "/mnt/$image-$kind" || return 1
	done
}

teardown() {
	echo "$images" | while read -r image kind dev; do
		umount "/mnt/$image-$kind" 2>/dev/null
	done
	rm -rf /tmp/text
	rmmod toyfs
}

# Runs fsbench and prints its result as a table line.
# Usage: measure IMAGE KIND OP REQUEST ROUND FSBENCH-ARGS...
measure() {
	image=$1 kind=$2 op=$3 req=$4 round=$5 result=
	shift 5
	selected "$op" "$req" || return 0
	drop_caches
	phase "compress image=$image fs=$kind op=$op req=$req"
	calls_before=$(mvc_calls)
	if result=$(fsbench "$@"); then
		# shellcheck disable=SC2046,SC2086 # eight numbers, one word each
		set -- $calls_before $(mvc_calls)
		calls="mvc_read=$(($5 - $1)) mvc_write=$(($6 - $2)) mvc_zero=$(($7 - $3)) mvc_protzero=$(($8 - $4))"
		note "table=compress image=$image fs=$kind op=$op req=$req round=$round $result $calls"
	else
		note "table=compress image=$image fs=$kind op=$op req=$req round=$round failed"
	fi
	phase other
}

if ! setup; then
	note "table=compress failed: making or mounting the images"
	teardown
	exit 0
fi
note "compress docs_files=$(find $docs -type f | wc -l) text=$size rounds=$rounds${rows:+ rows=$rows}"
r=1
while [ "$r" -le "$rounds" ]; do
	order="plain lz4 packed lz4packed"
	[ $((r % 2)) = 1 ] || order="lz4packed packed lz4 plain"
	for kind in $order; do
		measure docs "$kind" tree_cold 1048576 "$r" readtree "/mnt/docs-$kind" 1M
		case $kind in
		plain | lz4) ;;
		*) continue ;;
		esac
		for req in 4096 1048576; do
			measure text "$kind" read_cold "$req" "$r" read "/mnt/text-$kind/file" "$req"
		done
	done
	r=$((r + 1))
done
# The sequential write: fresh images on the text ramdisks, read-write.
selected write_seq 1048576 || {
	teardown
	exit 0
}
echo "$images" | grep '^text' | while read -r image kind dev; do
	options=$(mkfs_options "$kind")
	umount "/mnt/text-$kind" &&
		# shellcheck disable=SC2086 # the options are words
		mkfs.toyfs -q $options "$dev" && mount -t toyfs "$dev" "/mnt/text-$kind" ||
		note "table=compress failed: a read-write image of kind $kind"
done
r=1
while [ "$r" -le "$rounds" ]; do
	order="plain lz4"
	[ $((r % 2)) = 1 ] || order="lz4 plain"
	for kind in $order; do
		rm -f "/mnt/text-$kind/file"
		measure text "$kind" write_seq 1048576 "$r" copy /tmp/text/file "/mnt/text-$kind/file" 1M
	done
	r=$((r + 1))
done
# What the kernel's writeback stored, against mkfs.toyfs's (setup).
echo "$images" | grep '^text' | while read -r image kind dev; do
	umount "/mnt/text-$kind" || continue
	usage=$(fsck.toyfs -f -v -n "$dev" | sed -n 's/.*: fragments in use: //p')
	note "compress image=$image fs=$kind written by the kernel: $usage"
done
teardown
