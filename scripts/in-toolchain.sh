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
export TOP DATA CACHE
exec unshare --mount --propagation private /bin/bash -s "$root" "$cwd" "$@" <<'INNER'
set -euo pipefail
root=$1 cwd=$2
shift 2
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
for dir in "$TOP" "$DATA"; do
	mkdir -p "$root$dir"
	mount --bind "$dir" "$root$dir"
done
exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 VM_MVC_CACHE="$CACHE" VM_MVC_IN_BUILDROOT=1 \
	/bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
INNER
