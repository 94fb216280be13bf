#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Part "fsx" of check.sh: fsx, the file system exerciser (/bin/fsx: fsx-rs
# with tools/fsx's patch, scripts/fsx.sh), several processes at once on
# one toyfs of each layout: 512, 1024 and 4 KiB blocks, fragments (-b
# 4096 -f 512, -b 1024 -f 128, and -b 2048 -f 256 -p on an image made
# with -d /guest: files beside a populated tree whose tails are packed)
# and LZ4 (-b 4096 -f 512 and -b 1024 -f 128 with -c lz4, every file
# chattr +c).  On each image one fsx per configuration of
# tests/fsx/*.toml runs on a file of its own, all at once; every
# configuration has fsx's fallocate operations too (tools/fsx's patch:
# fallocate of mode 0 and KEEP_SIZE, ZERO_RANGE with and without
# KEEP_SIZE, anywhere below the file's largest size, past its end too;
# punch hole; collapse and insert range and clone, which fsx probes and
# turns off on toyfs, as xfstests' fsx does):
#
#   mapped      every operation, buffered and through mappings, any offset
#   small       a file of a few blocks: tails, fragments, partial pages
#   holes       no mappings, 1 MiB: truncate, punch hole, posix_fallocate
#   direct      O_DIRECT (-Z) on 4 KiB boundaries (whole blocks go by bio)
#               beside mapped reads and writes of the same file
#   direct1     O_DIRECT at any offset and length (the page cache's part)
#   big         xfstests generic/075 and 112's -l 10m: a file to 10 MiB
#               (double- and, with 512-byte blocks, triple-indirect blocks)
#   direct512   generic/091's -Z -r 512 -w 512 -t 512 -R -W -o 128000:
#               O_DIRECT on 512-byte boundaries, no mappings
#   direct512m  generic/263's -Z -r 512 -w 512 -t 512 -o 8192: the same
#               beside mapped reads and writes
#
# each checking every byte it reads (read, mmap, sendfile) against its
# model, and the bytes past the end of the file in a mapped last page.
# One case per image and configuration, so that a failure names both;
# then one case per image: the files' md5 sums, unmount, fsck.toyfs -f
# -n (no damage, cleanly unmounted), mount, the same sums, and again
# from the disk after drop_caches, unmount and fsck.
#
# The seeds are fixed: image I (0-7) and configuration C (0-7) use seed
# FSX_SEED * 100 + I * 10 + C (FSX_SEED 1 by default); a failing case
# prints the make command and the fsx command that run it again.  The
# length: FSX_OPS operations per process (kernel command line, `make
# check FSX_OPS=N`), by default 3000 on QEMU's base kernel, 175 on the
# debug kernels (KASAN, lockdep) and 15000 on User-Mode Linux (native)
# (Documentation/testing.rst has the times; the time of each image's
# processes is printed).  A process that has not ended after 600 + N / 4
# seconds is stopped (timeout) and its case fails.
# Runs with vm_mvc loaded and toyfs not, and leaves them so.
. /guest/ktap.sh

work=/tmp/fsx
mnt=/mnt/fsx
cfgdir=/guest/tests/fsx
configs="mapped small holes direct direct1 big direct512 direct512m"
# NAME:mkfs.toyfs options (spaces as underscores).
images="b512:-b_512 b4096:-b_4096 b1024:-b_1024 b2048_f256_pd:-b_2048_-f_256_-p_-d_/guest b4096_f512:-b_4096_-f_512
b1024_f128:-b_1024_-f_128 b4096_f512_lz4:-b_4096_-f_512_-c_lz4 b1024_f128_lz4:-b_1024_-f_128_-c_lz4"
# What fsx's probes must find toyfs refuses (its fallocate modes 0,
# KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE it must take), as
# "does not support NAME," lines of its output, sorted.
refused="clone range,collapse range,insert range,"
# The debug kernels are there for what KASAN and lockdep see on toyfs's
# paths, which each kind of operation reaches at its first calls; the
# long sequences that find wrong bytes are the base kernel's (3000) and
# UML's.  175 still makes each of the 64 processes do its rarest kinds
# (weight 1 in 49 to 76) two to four times on average, and each image's
# eight processes together 18 to 28 times.
if grep -q panic_on_warn=1 /proc/cmdline; then
	ops=${FSX_OPS:-175}
elif grep -q '^vendor_id.*User Mode Linux' /proc/cpuinfo; then
	ops=${FSX_OPS:-15000}
else
	ops=${FSX_OPS:-3000}
fi
base=${FSX_SEED:-1}
mkdir -p $work $mnt

# The options of fsx for configuration $1.
fsx_flags() {
	case $1 in direct*) echo "-Z" ;; esac
}

# Runs every configuration on a new toyfs made with options $2 (image $1,
# index $3), all at once, and waits for them; their exit statuses and
# output are left in $work/$1/CONFIG.{rc,log}, the files' sums in
# $work/$1/sums.  The image stays mounted.
run_image() {
	name=$1 opts=$(echo "$2" | tr _ ' ') index=$3
	art=$work/$name img=$work/$name.img
	rm -rf "$art" "$img" && mkdir -p "$art" || return 1
	# 40 MiB: big's 10 MiB file beside the others, and -d's tree.
	# shellcheck disable=SC2086 # the options are words
	mkfs.toyfs -q $opts "$img" 40M && dev=$(losetup -f) && losetup "$dev" "$img" || return 1
	echo "$dev" >"$art/dev"
	mount -t toyfs "$dev" $mnt || return 1
	start=$(cut -d. -f1 /proc/uptime)
	c=0
	for cfg in $configs; do
		: >$mnt/$cfg || return 1
		case $opts in
		*lz4*) [ "$(toyfs-stress compr $mnt/$cfg +c)" = c ] ||
			{ echo "chattr +c $mnt/$cfg failed"; return 1; } ;;
		esac
		seed=$((base * 100 + index * 10 + c))
		echo "$seed" >"$art/$cfg.seed"
		# shellcheck disable=SC2046 # the flags are words
		(
			cd "$art" || exit 1
			timeout $((600 + ops / 4)) fsx $(fsx_flags $cfg) -q -f $cfgdir/$cfg.toml -S $seed -N $ops \
				-P "$art" $mnt/$cfg >"$art/$cfg.log" 2>&1
			echo $? >"$art/$cfg.rc"
		) &
		c=$((c + 1))
	done
	wait
	echo "$(echo $configs | wc -w) fsx processes of $ops operations at once:" \
		"$(($(cut -d. -f1 /proc/uptime) - start)) s"
	(cd $mnt && md5sum $configs) >"$art/sums"
}

# Configuration $2's fsx on image $1 (mkfs.toyfs options $3) completed
# every operation; its output, and how to run it again, if not.
fsx_passed() {
	name=$1 cfg=$2 opts=$(echo "$3" | tr _ ' ') lz4=
	case $opts in *lz4*) lz4=1 ;; esac
	fsx_passed_in "$work/$name" "$cfg" "$opts" && fsx_probed "$work/$name/$cfg.log" || {
		echo "to run it again: make check VM_MVC_ONLY=fsx FSX_SEED=$base FSX_OPS=$ops" \
			"(all of image $name's processes at once);"
		# make shell's Debian sees this image's /guest at /opt/guest.
		echo "alone, in make shell: mkfs.toyfs $(echo "$opts" | sed 's| /guest| /opt/guest|') /tmp/img 40M && mkdir -p $mnt &&" \
			"mount -o loop -t toyfs /tmp/img $mnt && touch $mnt/$cfg &&${lz4:+ toyfs-stress compr $mnt/$cfg +c &&}" \
			"fsx $(fsx_flags $cfg) -f /opt/guest/tests/fsx/$cfg.toml" \
			"-S $(cat "$work/$name/$cfg.seed") -N $ops -P /tmp $mnt/$cfg"
		return 1
	}
}

# The fsx whose output, exit status and seed are $1/$2.{log,rc,seed}
# (or $1/{log,rc,seed} for $2 empty) completed every operation; if not,
# what it printed (on mkfs.toyfs options $3).
fsx_passed_in() {
	art=$1 cfg=$2 opts=$3
	rc=$(cat "$art/$cfg${cfg:+.}rc" 2>/dev/null)
	if [ "$rc" = 0 ] && grep -q 'All operations completed A-OK!' "$art/$cfg${cfg:+.}log"; then
		return 0
	fi
	seed=$(cat "$art/$cfg${cfg:+.}seed")
	echo "fsx $cfg (seed $seed) on mkfs.toyfs $opts failed (exit status ${rc:-none}):"
	# The error and the seed come first; the end of the operation log last.
	head -n 25 "$art/$cfg${cfg:+.}log"
	echo "..."
	tail -n 40 "$art/$cfg${cfg:+.}log"
	return 1
}

# The fsx whose output is $1 turned off exactly the operations toyfs
# refuses ($refused) after probing them: toyfs takes fallocate of mode 0
# and KEEP_SIZE (past the end of the file too), PUNCH_HOLE|KEEP_SIZE and
# ZERO_RANGE, so fsx ran them.
fsx_probed() {
	got=$(sed -n 's/^fsx: filesystem does not support \(.*\), disabling!$/\1/p' "$1" | sort | tr '\n' ,)
	[ "$got" = "$refused" ] ||
		{ echo "fsx turned off \"$got\", not \"$refused\""; return 1; }
}

# Image $1 after its fsx run: md5 sums, unmount, fsck, mount, the same
# sums, drop_caches, the same sums from the disk, unmount, fsck.
remount_same() {
	art=$work/$1 dev=$(cat "$work/$1/dev")
	umount $mnt || { echo "umount failed"; return 1; }
	fsck_clean_f "$dev" || return 1
	mount -t toyfs "$dev" $mnt || { echo "mount after fsck failed"; return 1; }
	(cd $mnt && md5sum -c "$art/sums") || { echo "the files changed over the remount"; umount $mnt; return 1; }
	sync && echo 3 >/proc/sys/vm/drop_caches
	(cd $mnt && md5sum -c "$art/sums") || { echo "the files changed over drop_caches"; umount $mnt; return 1; }
	umount $mnt && fsck_clean_f "$dev"
}

# fsck.toyfs -f -n finds no damage on $1 and calls it cleanly unmounted.
fsck_clean_f() {
	out=$(fsck.toyfs -f -n "$1") || { echo "$out"; echo "fsck.toyfs -f -n failed"; return 1; }
	! echo "$out" | grep -q 'not cleanly unmounted' || { echo "$out"; return 1; }
}

# fsx itself finds a write that did not happen: --inject 34 (fsx's own
# option for its tests) skips step 34 of seed 5, a write, and the read
# of step 38 must report the miscompare (in /tmp, the initramfs:
# this checks the tool and fsx_passed_in, not toyfs).  -F -z -C -I -J
# turn off the operations whose weights tools/fsx's patch added, so that
# seed 5 makes the same operations as before them.
fsx_reports_a_lost_write() {
	dir=$work/self-test
	rm -rf $dir && mkdir -p $dir || return 1
	fsx -q -F -z -C -I -J -f $cfgdir/small.toml -S 5 -N 500 --inject 34 -P $dir $dir/f >$dir/log 2>&1
	echo $? >$dir/rc
	echo 5 >$dir/seed
	if fsx_passed_in $dir "" "" >$dir/report; then
		cat $dir/log
		echo "fsx did not report the lost write of step 34"
		return 1
	fi
	grep -q 'miscompare: offset= 0x141a' $dir/log && [ -f $dir/f.fsxgood ] ||
		{ cat $dir/report; echo "no miscompare reported, or no f.fsxgood"; return 1; }
}

# Whatever a failed image left: unmounted, loop device and image gone.
cleanup_image() {
	umount $mnt 2>/dev/null
	[ ! -f "$work/$1/dev" ] || losetup -d "$(cat "$work/$1/dev")" 2>/dev/null
	rm -f "$work/$1.img"
	return 0
}

n_images=$(echo $images | wc -w)
n_configs=$(echo $configs | wc -w)
say "vm_mvc-guest: fsx: $n_configs processes x $ops operations on $n_images images, seeds from $((base * 100))"
ktap_suite toyfs_fsx $((3 + n_images * (n_configs + 2)))
ktap_case fsx_reports_a_lost_write fsx_reports_a_lost_write
ktap_case insmod_toyfs insmod /modules/toyfs.ko
index=0
for image in $images; do
	name=${image%%:*} opts=${image#*:}
	ktap_case "${name}_run" run_image "$name" "$opts" $index
	for cfg in $configs; do
		ktap_case "${name}_$cfg" fsx_passed "$name" "$cfg" "$opts"
	done
	ktap_case "${name}_fsck_remount_same" remount_same "$name"
	cleanup_image "$name"
	index=$((index + 1))
done
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
