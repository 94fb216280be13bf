#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make shell`: vm_mvc and toyfs loaded (their KUnit suites skipped), a
# toyfs mounted at /mnt/toyfs, and Debian's bash on ttyS1, which QEMU
# connects to the terminal.  Leaving the shell unmounts toyfs, checks it
# with fsck.toyfs and returns to init, which powers the guest off.
. /guest/ktap.sh
. /guest/debian.sh
tty=/dev/ttyS1
image=/tmp/toyfs.img # in the chroot: /debian/tmp outside
say() { echo "$*" >$tty; }

[ -n "$VMMVC_DEBIAN" ] || {
	say "make shell: QEMU shared no Debian root (scripts/guest-root.sh)"
	exit 1
}
# Boot quickly: the suites run at `make check`, not at every shell.
kunit_quiet
insmod /modules/vm_mvc.ko && insmod /modules/toyfs.ko || exit 1
kunit_loud

# 256 MiB, sparse in the guest's memory; a loop device, like a disk.
truncate -s 256M /debian$image && mkdir -p /debian/mnt/toyfs || exit 1
loop=$(in_debian losetup --find --show $image) &&
	in_debian mkfs.toyfs -q "$loop" &&
	in_debian mount -t toyfs "$loop" /mnt/toyfs || exit 1

# The terminal's size, which a serial line cannot tell (guest-boot.sh); set
# once the shell holds the line open (closing it forgets the size).
size=$(sed -n 's/.*vmmvc_tty=\([0-9]*\)x\([0-9]*\).*/rows \1 cols \2/p' /proc/cmdline)
hostname vm_mvc-guest

cat >$tty <<MSG

vm_mvc test kernel $(uname -r), Debian userspace over virtio-9p (read-only).
Loaded: vm_mvc, toyfs.  toyfs on $loop ($(in_debian stat -f -c '%S' /mnt/toyfs)-byte blocks) at /mnt/toyfs.
Tools: xfs_io, fio, stress-ng, mkfs.ext4; mkfs.toyfs, fsck.toyfs and the
modules are in /opt (bin, modules); vm_mvc's counters: /sys/kernel/debug/vm_mvc/stats.
Another block size: umount /mnt/toyfs; mkfs.toyfs -b 512 $loop; mount -t toyfs $loop /mnt/toyfs
Kernel messages: dmesg (the console goes to build/shell-*/console.log).
Leave with exit or Ctrl-D (the guest powers off); Ctrl-A x stops QEMU at once.

MSG
# A session of its own with ttyS1 as its controlling terminal: job
# control and Ctrl-C work.  debian_chroot names the prompt (bash.bashrc).
setsid -c chroot /debian /usr/bin/env -i HOME=/root TERM=linux LANG=C.UTF-8 \
	PATH="$DEBIAN_PATH" debian_chroot=vm_mvc \
	/bin/sh -c '[ -z "$1" ] || stty $1; cd /mnt/toyfs; exec bash -i' - "$size" \
	<$tty >$tty 2>&1
say ""

# Clean up like a shutdown would: whatever the user left mounted under the
# chroot's /mnt is unmounted, then toyfs is checked (read-only).
in_debian umount -R /mnt 2>/dev/null
if in_debian fsck.toyfs -n "$loop" >$tty 2>&1; then
	say "fsck.toyfs: $loop is clean; powering off"
else
	say "fsck.toyfs: $loop has errors (above); powering off"
fi
