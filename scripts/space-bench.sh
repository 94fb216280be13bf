#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Space used by a tree of many small text files, the Documentation/ folder
# of the kernel source the project downloads (issue 13, item 6): toyfs
# with 512-byte fragments of 4 KiB blocks, plain and LZ4-compressed
# (mkfs.toyfs -d), against ext2 with 1 KiB and 4 KiB blocks (mke2fs -d).
# The space a tree takes is what it adds to the used space of an empty
# filesystem of the same size and inode count: its data, directory and
# indirect blocks, not the metadata every image has.  Prints the figures
# and the ratios to ext2-1K with the issue's targets (0.9x plain, 0.6x
# compressed), met or MISSED, and writes them to $1 (CSV) if given.
# The images are made on the host: space does not depend on the kernel.
# Runs inside the toolchain (mke2fs, dumpe2fs): make bench calls it.
. "$(dirname "$0")/lib.sh"

csv=${1:-}
src=$("$TOP/scripts/kernel-source.sh")/Documentation
[ -d "$src" ] || die "no $src"
tools=$(toyfs_tools_dir)
mkfs_toyfs=$tools/mkfs-toyfs
fsck_toyfs=$tools/fsck-toyfs
[ -x "$mkfs_toyfs" ] && [ -x "$fsck_toyfs" ] || die "no toyfs tools in $tools (scripts/guest.sh builds them)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

files=$(find "$src" -type f | wc -l)
dirs=$(find "$src" -type d | wc -l)
bytes=$(find "$src" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
inodes=$(( (files + dirs) * 5 / 4 + 64 ))
size=512M

# Bytes used by a toyfs image, from fsck.toyfs -v ("U/T fragments").
toyfs_used() {
	local image=$1 fragment=$2 line
	line=$("$fsck_toyfs" -v -n "$image" | grep -Eo '[0-9]+/[0-9]+ fragments') ||
		die "fsck.toyfs -v on $image printed no fragment count"
	echo $(( ${line%%/*} * fragment ))
}

# Bytes used by an ext2 image, from its superblock.
ext2_used() {
	local info count free bsize
	info=$(dumpe2fs -h "$1" 2>/dev/null) || die "dumpe2fs $1 failed"
	count=$(echo "$info" | awk -F: '/^Block count/ { print $2 + 0 }')
	free=$(echo "$info" | awk -F: '/^Free blocks/ { print $2 + 0 }')
	bsize=$(echo "$info" | awk -F: '/^Block size/ { print $2 + 0 }')
	echo $(( (count - free) * bsize ))
}

# The bytes tree $2 adds on filesystem kind $1 (options in the rest).
tree_bytes() {
	local kind=$1 tree=$2 empty=$work/empty image=$work/image before after
	shift 2
	mkdir -p "$empty"
	rm -f "$image"
	case $kind in
	toyfs)
		local fragment=$1
		shift
		"$mkfs_toyfs" -q -N "$inodes" "$@" -d "$empty" "$image" $size || die "mkfs.toyfs $* failed"
		before=$(toyfs_used "$image" "$fragment")
		rm -f "$image"
		"$mkfs_toyfs" -q -N "$inodes" "$@" -d "$tree" "$image" $size 2>/dev/null || die "mkfs.toyfs $* -d failed"
		after=$(toyfs_used "$image" "$fragment")
		;;
	ext2)
		mke2fs -q -F -t ext2 -N "$inodes" "$@" -d "$empty" "$image" $size >/dev/null || die "mke2fs $* failed"
		before=$(ext2_used "$image")
		rm -f "$image"
		mke2fs -q -F -t ext2 -N "$inodes" "$@" -d "$tree" "$image" $size >/dev/null || die "mke2fs $* -d failed"
		after=$(ext2_used "$image")
		;;
	esac
	rm -f "$image"
	echo $(( after - before ))
}

log "space: $files files, $dirs directories, $bytes bytes in $src"
ext2_1k=$(tree_bytes ext2 "$src" -b 1024)
ext2_4k=$(tree_bytes ext2 "$src" -b 4096)
# toyfs rows: label, options; 512-byte fragments of 4 KiB blocks (as AIX's
# JFS) and of 1 KiB blocks, plain (target 0.9x) and with LZ4 (0.6x).
rows=(
	"toyfs -b 4096 -f 512|-b 4096 -f 512|0.9"
	"toyfs -b 4096 -f 512 -c lz4|-b 4096 -f 512 -c lz4|0.6"
	"toyfs -b 1024 -f 512|-b 1024 -f 512|0.9"
	"toyfs -b 1024 -f 512 -c lz4|-b 1024 -f 512 -c lz4|0.6"
)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "met" : "MISSED" }'; }
printf '%-28s %12s %9s  %s\n' "Documentation/ ($files files)" bytes "x ext2-1K" target
printf '%-28s %12d %9s\n' "file bytes" "$bytes" "$(ratio "$bytes" "$ext2_1k")"
printf '%-28s %12d %9s\n' "ext2 -b 1024" "$ext2_1k" 1.000
printf '%-28s %12d %9s\n' "ext2 -b 4096" "$ext2_4k" "$(ratio "$ext2_4k" "$ext2_1k")"
[ -z "$csv" ] || {
	echo "filesystem,bytes,ratio_to_ext2_1k,target,verdict"
	echo "ext2 -b 1024,$ext2_1k,1.000,,"
	echo "ext2 -b 4096,$ext2_4k,$(ratio "$ext2_4k" "$ext2_1k"),,"
} >"$csv"
for row in "${rows[@]}"; do
	IFS='|' read -r label options target <<<"$row"
	# shellcheck disable=SC2086 # the options are words
	used=$(tree_bytes toyfs "$src" 512 $options)
	r=$(ratio "$used" "$ext2_1k")
	printf '%-28s %12d %9s  <= %sx: %s\n' "$label" "$used" "$r" "$target" "$(verdict "$r" "$target")"
	[ -z "$csv" ] || echo "$label,$used,$r,$target,$(verdict "$r" "$target")" >>"$csv"
done
echo "(symbolic links, $(find "$src" -type l | wc -l) of them, are on ext2 only: toyfs stores regular files and directories)"
