#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Disk write errors (fail_make_request, base kernel): `toyfs-stress
# io-errors` makes the device fail during the fsync of one file, which
# must report EIO while the other files' fsyncs report nothing; then an
# unmount, a clean fsck (toyfs), a mount, and every other file must hold
# its bytes.  ext2 on the same load is the reference.  Part "ioerrors" of
# check.sh; runs with vm_mvc loaded and toyfs not, and leaves them so.
. /guest/ktap.sh
. /guest/toyfs-common.sh

mnt=/mnt/ioerr

# $1 fstype, $2 device (made and mounted on $mnt by the caller).
errors_reported_on_the_right_file() {
	manifest=/tmp/io-errors-$1
	rm -rf "$manifest" "$manifest.d"
	toyfs-stress io-errors $mnt "$2" "$manifest"
	rc=$?
	umount $mnt || return 1
	if [ "$1" = toyfs ]; then fsck_clean "$2" || return 1; fi
	mount -t "$1" "$2" $mnt || return 1
	manifest_holds "$manifest"
	held=$?
	umount $mnt && [ $rc -eq 0 ] && [ $held -eq 0 ]
}

on_ext2() {
	mke2fs -b 1024 /dev/ram6 >/dev/null && mount -t ext2 /dev/ram6 $mnt &&
		errors_reported_on_the_right_file ext2 /dev/ram6
}

on_toyfs() {
	mkfs.toyfs -q /dev/ram7 && mount -t toyfs /dev/ram7 $mnt &&
		errors_reported_on_the_right_file toyfs /dev/ram7
}

mkdir -p $mnt
ktap_suite io_errors 4
ktap_case insmod_toyfs insmod /modules/toyfs.ko
if [ ! -e /sys/kernel/debug/fail_make_request ] || [ ! -e /sys/block/ram6/make-it-fail ]; then
	reason="no fail_make_request (CONFIG_FAIL_MAKE_REQUEST)"
	ktap_skip write_errors_ext2 "$reason"
	ktap_skip write_errors_toyfs "$reason"
else
	ktap_case write_errors_ext2 on_ext2
	toyfs_case write_errors_toyfs io_errors on_toyfs
fi
ktap_case rmmod_toyfs rmmod toyfs
ktap_end
