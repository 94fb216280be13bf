#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prints the Debian root the guest gets read-only over virtio-9p (xfs_io,
# fio, stress-ng, e2fsprogs; scripts/guest/debian.sh).  That is the build
# root when the toolchain runs in one: it already carries those packages.
# When the host's own toolchain is used, a trixie root with only the guest's
# packages is made once with debootstrap in the cache.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-root.sh"

root=$("$TOP/scripts/toolchain.sh")
if [ "$root" != host ]; then
	echo "$root"
	exit 0
fi
# shellcheck disable=SC2086 # one word per package
cached_debian_root guestroot $GUEST_PACKAGES kmod
