# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# The Debian userspace of the guest: the root that QEMU shares read-only
# over virtio-9p (mount tag "debian"; scripts/guest-root.sh), or that
# User-Mode Linux reaches through hostfs, is mounted at
# /debian and prepared as a chroot, so that xfs_io, fio, stress-ng and
# mkfs.ext4 run on the test kernel next to the busybox image.  Sourced by
# init.
#
# Inside the chroot, /opt is this image (read-only view of the initramfs):
# /opt/bin holds mkfs.toyfs and fsck.toyfs, /opt/guest the guest scripts,
# /opt/modules the modules.  /tmp, /run and /mnt are the chroot's own
# tmpfs: what it mounts under /mnt is /debian/mnt outside.
#
#   debian_mount    mounts it all; fails if QEMU shares no Debian root
#   in_debian CMD   runs CMD in the chroot with a clean environment

DEBIAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin

debian_mount() {
	mkdir -p /debian
	if grep -qx debian /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag 2>/dev/null; then
		# cache=loose: the root never changes under the guest, so its page
		# cache may keep what it read (binaries start without a round trip).
		mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose debian /debian || return 1
	elif grep -q ' vmmvc_debian=hostfs' /proc/cmdline; then
		# User-Mode Linux: the same root straight from the host, whose
		# path is hostfs= on the command line (scripts/guest-boot.sh).
		mount -t hostfs -o ro hostfs /debian || return 1
	else
		return 1
	fi
	# What udev would make: bash's <(...) needs /dev/fd.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	for fd in 0:stdin 1:stdout 2:stderr; do
		[ -e /dev/${fd#*:} ] || ln -s /proc/self/fd/${fd%:*} /dev/${fd#*:}
	done
	mount -t proc proc /debian/proc &&
		mount -t sysfs sysfs /debian/sys &&
		mount -t debugfs debugfs /debian/sys/kernel/debug &&
		mount -o rbind /dev /debian/dev &&
		mount -t tmpfs tmpfs /debian/run &&
		mount -o bind / /debian/opt &&
		mount -t tmpfs tmpfs /debian/tmp &&
		mount -t tmpfs tmpfs /debian/mnt
}

in_debian() {
	chroot /debian /usr/bin/env -i HOME=/root TERM="${TERM:-linux}" LANG=C.UTF-8 \
		PATH="$DEBIAN_PATH" "$@"
}
