#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio with crc32c verification (tests/fio/verify.fio) and stress-ng's
# filesystem stressors with --verify on a toyfs of 1 KiB blocks, bounded in
# time, then fsck.toyfs.  One KTAP case for fio, one per stressor (as
# stress-ng reports it: passed, failed, or skipped with its reason), one
# for the fsck.  Runs in the Debian chroot (debian.sh), from check.sh;
# TORTURE_SECONDS (default 15) bounds fio and stress-ng each.
#
# Then the rows of toyfs-stress full (toyfs-common.sh, toyfs_full_row;
# part stress runs them for 6 s from TOYFS_STRESS_SEED) on 4 MiB images
# where ENOSPC is frequent, from TORTURE_SEED (1), each for a twentieth
# of TORTURE_SECONDS, 5 to 30 s (make torture: 30, about 2.5 minutes in
# all, of the 9 its time limit spares on UML); skipped below 30
# TORTURE_SECONDS (make check's 15: part stress has them).
. /opt/guest/ktap.sh
. /opt/guest/toyfs-common.sh
seconds=${TORTURE_SECONDS:-15}
torture_seed=${TORTURE_SEED:-1}
full_seconds=$((seconds / 20))
[ $full_seconds -ge 5 ] || full_seconds=5
[ $full_seconds -le 30 ] || full_seconds=30
block_size=${TORTURE_BLOCK_SIZE:-1024}
work=/tmp/torture mnt=/mnt/torture
# Stressors of stress-ng's filesystem class (and mmap, readahead, seek)
# that move file data or change sizes and names; --verify checks the data
# where the stressor can.  Each with one worker, two for hdd.
# (copy-file is not among them: it wants files of 128 MiB at least.)
stressors=(hdd:2 seek:1 mmap:1 fsize:1 filerace:1 iomix:1 metamix:1 readahead:1
	sync-file:1 fallocate:1 fpunch:1 dentry:1 dir:1 rename:1)
# What a stressor needs that a filesystem may lack: fsize expects
# fallocate past RLIMIT_FSIZE to fail with EFBIG, and fails the same way
# on ext2, which has no fallocate either.  fpunch --verify reads back
# zeroes after FALLOC_FL_ZERO_RANGE without looking at its result; where
# that is refused, stress-ng falls back to lseek + write of zeroes on a
# descriptor its four processes share, so another process's lseek sends
# the zeroes elsewhere: "data at file offset ... was 0xff and not zero"
# on ext2 and toyfs alike (and on tmpfs, whose plain fallocate zeroes
# nothing), more often the longer it runs.
needs_fallocate=" fsize fpunch "
# stress-ng 0.19.02 ignores --sync-file-bytes (with it, 4m or 2M, it still
# says "using 1G file system space per stressor instance"; its option
# table names the setting "sync-file-bytes", the stressor looks up
# "sync_file-bytes") and asks fallocate for 1 GiB, past the largest toyfs file of 1 KiB blocks
# before the triple-indirect level (64 MiB + 268 KiB; 16 GiB since, where
# it is ENOSPC on this image): EFBIG from vfs_fallocate, as on any filesystem whose
# s_maxbytes is smaller, and the stressor reported "passed" after half a
# second having synced nothing (only an "error:" line said so).  With
# --minimize its file is 1 MiB; it runs in a stress-ng of its own, beside
# the others, so that --minimize changes nothing else.
alone=" sync-file "
mkdir -p $work $mnt

ktap_suite toyfs_torture $((${#stressors[@]} + 7))
# 64 MiB: the files below fit, and the image in /tmp costs little memory.
# (toyfs's mount time grows with its bitmap only, a bit per block: a
# clean mount reads no inode table since 2026-12-04; the scale part
# mounts 4 GiB.)
truncate -s 64M $work/toyfs.img
dev=$(losetup --find --show $work/toyfs.img)
ktap_case mkfs_and_mount sh -c "mkfs.toyfs -q -b $block_size $dev && mount -t toyfs $dev $mnt"

# The jobs are bounded by their files' sizes (a few seconds on UML), and
# runtime only caps them: again on new files (the old ones removed, their
# blocks freed) until TORTURE_SECONDS are up.
fio_verify() {
	mkdir -p $mnt/fio
	local start=$SECONDS rounds=0 rc=0 left=$seconds
	while [ $rounds -eq 0 ] || [ $left -gt 0 ]; do
		rm -rf $mnt/fio/*
		FIO_DIR=$mnt/fio FIO_RUNTIME=$left fio --output=$work/fio.log \
			/opt/guest/tests/fio/verify.fio
		rc=$?
		rounds=$((rounds + 1))
		left=$((seconds - (SECONDS - start)))
		[ $rc -eq 0 ] || break
	done
	# The jobs' lines and any error of the last round; the whole log only
	# on failure.
	grep -E '^[a-z0-9-]+: \(groupid|err=|verify|bad|crc' $work/fio.log
	echo "fio: $rounds rounds in $((SECONDS - start)) s"
	[ $rc -eq 0 ] || cat $work/fio.log
	return $rc
}
ktap_case fio_verify fio_verify

# fallocate(2) on toyfs: "not supported" is the answer until it has it.
missing=
probe=$mnt/.fallocate-probe
if xfs_io -f -c "falloc 0 4096" $probe 2>&1 | grep -q "not supported"; then
	missing="fallocate"
fi
rm -f $probe

args=() alone_args=()
for s in "${stressors[@]}"; do
	name=${s%:*}
	[ -n "$missing" ] && [[ $needs_fallocate == *" $name "* ]] && continue
	if [[ $alone == *" $name "* ]]; then
		alone_args+=("--$name" "${s#*:}")
	else
		args+=("--$name" "${s#*:}")
	fi
done
mkdir -p $mnt/stress-ng $mnt/stress-ng-alone
(cd $work && stress-ng --temp-path $mnt/stress-ng-alone --verify --timeout "${seconds}s" \
	--minimize --metrics-brief "${alone_args[@]}" >$work/stress-ng-alone.log 2>&1) &
alone_pid=$!
# --hdd-write-size below a page; files of 2 MiB: all fit at once.
(cd $work && stress-ng --temp-path $mnt/stress-ng --verify --timeout "${seconds}s" \
	--hdd-bytes 2M --hdd-write-size 1536 --hdd-opts wr-rnd,rd-rnd \
	--mmap-file --mmap-bytes 2M --seek-size 2M --fallocate-bytes 2M \
	--fpunch-bytes 2M --iomix-bytes 2M --sync-file-bytes 2M \
	--readahead-bytes 2M \
	--metrics-brief "${args[@]}" >$work/stress-ng.log 2>&1)
status=$?
wait $alone_pid || status=$?
cat $work/stress-ng-alone.log >>$work/stress-ng.log
# "passed: N: hdd (2) seek (1) ..." and the same for failed and skipped.
listed() {
	sed -n "s/.*] $1: [0-9]*: //p" $work/stress-ng.log | tr ' ' '\n' | grep -v '^(' | grep .
}
passed=$(listed passed) failed=$(listed failed) skipped=$(listed skipped)
for s in "${stressors[@]}"; do
	name=${s%:*}
	if [ -n "$missing" ] && [[ $needs_fallocate == *" $name "* ]]; then
		ktap_skip "stress_ng_${name//-/_}" "needs $missing, which toyfs lacks"
	elif grep -qx -- "$name" <<<"$failed"; then
		ktap_case "stress_ng_${name//-/_}" sh -c \
			"grep -e '$name' -e 'fail' $work/stress-ng.log; exit 1"
	elif grep -q -- "error: \[[0-9]*\] $name: " $work/stress-ng.log; then
		# An error stress-ng printed but did not count (sync-file's
		# failed fallocate was one).
		ktap_case "stress_ng_${name//-/_}" sh -c \
			"grep -e '\] $name: ' $work/stress-ng.log; exit 1"
	elif grep -qx -- "$name" <<<"$skipped"; then
		reason=$(grep -m1 "$name: .*skipp\|$name: .*not supported\|$name: .*not implemented" \
			$work/stress-ng.log | sed 's/.*\] //')
		ktap_skip "stress_ng_${name//-/_}" "stress-ng skipped it: ${reason:-no reason given}"
	elif grep -qx -- "$name" <<<"$passed"; then
		ktap_case "stress_ng_${name//-/_}" true
	else
		ktap_case "stress_ng_${name//-/_}" sh -c \
			"echo 'stress-ng (status $status) reported nothing on $name'; tail -n 30 $work/stress-ng.log; exit 1"
	fi
done

ktap_case umount_and_fsck sh -c "umount $mnt && fsck.toyfs -n $dev"
losetup -d "$dev"
rm -f $work/toyfs.img

for row in b1024_f128_lz4_p:-b_1024_-f_128_-c_lz4_-p b4096_f512_lz4_p:-b_4096_-f_512_-c_lz4_-p \
	b1024_f128_p:-b_1024_-f_128_-p b4096:-b_4096; do
	if [ "$seconds" -lt 30 ]; then
		ktap_skip "full_image_${row%%:*}" "TORTURE_SECONDS below 30: part stress runs the row"
	else
		ktap_case "full_image_${row%%:*}" toyfs_full_row "${row%%:*}" "${row#*:}" /opt/guest \
			"$torture_seed" $full_seconds /mnt/full \
			"make torture TORTURE_SEED=$torture_seed TORTURE_SECONDS=$seconds"
	fi
done
ktap_end
