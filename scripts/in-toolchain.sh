#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs a command with the kernel toolchain: directly on a suitable host, or
# inside the trixie build root.  The clone and the cache data are mounted at
# their own paths, in a private mount namespace that disappears with the
# command, so nothing stays mounted on the host.
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: in-toolchain.sh COMMAND [ARG...]"
root=$("$TOP/scripts/toolchain.sh")
if [ "$root" = host ]; then
	exec "$@"
fi

cwd=$PWD
# Also a user's own kernel tree (KDIR=) with, for an O= build, its source
# tree, an output folder given with VM_MVC_BUILD_DIR, and the guest's Debian
# root (scripts/guest-root.sh), which QEMU shares with the guest.  Each is
# bound alone, without what is mounted below it: shared as the guest root,
# the build root is the bare tree, not the clone or /proc mounted into it.
mounts=("$TOP" "$DATA")
if [ -n "${KDIR:-}" ]; then
	KDIR=$(cd "$KDIR" && pwd -P)
	mounts+=("$KDIR")
	[ ! -L "$KDIR/source" ] || mounts+=("$(readlink -f "$KDIR/source")")
fi
if [ -n "${VM_MVC_BUILD_DIR:-}" ]; then
	mkdir -p "$VM_MVC_BUILD_DIR"
	VM_MVC_BUILD_DIR=$(cd "$VM_MVC_BUILD_DIR" && pwd -P)
	mounts+=("$VM_MVC_BUILD_DIR")
fi
[ -z "${VM_MVC_GUEST_ROOT:-}" ] || mounts+=("$VM_MVC_GUEST_ROOT")
# The settings the scripts read, passed through the clean environment.
passenv=()
for var in KDIR VM_MVC_KCONFIG_EXTRA VM_MVC_ACCEL VM_MVC_TIMEOUT VM_MVC_BUILD_DIR VM_MVC_GUEST_ROOT VM_MVC_BENCH_TABLES \
	VM_MVC_BENCH_ARGS VM_MVC_BENCH_FS_ROWS VM_MVC_BENCH_FS_ROUNDS VM_MVC_BENCH_FS_IOSTAT VM_MVC_BENCH_FS_PREFILL \
	VM_MVC_BENCH_COMPRESS_ROWS VM_MVC_BENCH_COMPRESS_ROUNDS \
	VM_MVC_ONLY VM_MVC_PROFILE BUSYBOX TOYFS_STRESS_OPS TOYFS_STRESS_SEED TOYFS_RUN_GAPS \
	TORTURE_SECONDS TORTURE_LAYOUTS TORTURE_SEED CORRUPT_FLIP_IMAGES FSX_OPS FSX_SEED FSX_SOAK_OPS \
	PARTIAL_PAGE_FILESYSTEMS TOYFS_SOAK_SEEDS TOYFS_SOAK_OPS TOYFS_SOAK_FIRST_SEED; do
	[ -z "${!var:-}" ] || passenv+=("$var=${!var}")
done
export TOP DATA CACHE
export MOUNTS="${mounts[*]}" PASSENV="${passenv[*]}"
# The script is an argument, not standard input: `make shell` passes the
# terminal through to QEMU.
inner=$(cat <<'INNER'
set -euo pipefail
root=$1 cwd=$2
shift 2
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
for dir in $MOUNTS; do
	mkdir -p "$root$dir"
	mount --bind "$dir" "$root$dir"
done
exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 VM_MVC_CACHE="$CACHE" $PASSENV \
	/bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
INNER
)
exec unshare --mount --propagation private /bin/bash -c "$inner" in-toolchain "$root" "$cwd" "$@"
