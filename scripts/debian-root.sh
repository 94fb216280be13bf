# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Makes a Debian trixie root with debootstrap: the build root of
# toolchain.sh and, when the host's own toolchain is used, the guest root
# of guest-root.sh.  Sourced after lib.sh, never run.

# What the guest borrows from Debian (scripts/guest/debian.sh): xfs_io,
# fio, stress-ng, mkfs.ext2/ext4.  The build root carries them too.
GUEST_PACKAGES="xfsprogs fio stress-ng e2fsprogs"

# The Debian mirror the host's apt already uses; the project names none.
debian_mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
	local m
	m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	[ -n "$m" ] || die "no Debian mirror in the host's apt sources; set DEBIAN_MIRROR"
	echo "$m"
}

# Usage: make_debian_root DIR PACKAGES...  (made in DIR.tmp, then renamed)
make_debian_root() {
	local root=$1 mirror
	shift
	[ "$(id -u)" = 0 ] || die "a Debian root needs root (debootstrap, chroot)"
	mirror=$(debian_mirror)
	command -v debootstrap >/dev/null || {
		log "installing debootstrap on the host"
		apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
	}
	rm -rf "$root.tmp"
	: >"$root.log"
	timed "debootstrap trixie into $root" \
		quietly "$root.log" debootstrap --variant=minbase trixie "$root.tmp" "$mirror"
	cat >"$root.tmp/etc/apt/sources.list" <<-SRC
	deb $mirror trixie main
	deb $mirror trixie-backports main
	SRC
	cp /etc/resolv.conf "$root.tmp/etc/resolv.conf" 2>/dev/null || true
	timed "installing $# packages in $root" \
		quietly "$root.log" chroot "$root.tmp" /bin/sh -c "apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $*"
	chroot "$root.tmp" apt-get clean
	mv "$root.tmp" "$root"
}

# Usage: cached_debian_root NAME PACKAGES...: the root $CACHE/NAME-KEY, KEY
# naming the suite and the packages, made unless it is there; prints its
# path.  Holds the lock NAME while it looks and makes.
cached_debian_root() {
	local name=$1 root
	shift
	lock "$name"
	root=$CACHE/$name-$(key_of trixie "$@")
	if [ -d "$root" ]; then
		log "reusing $name $root"
	else
		make_debian_root "$root" "$@"
	fi
	echo "$root"
}
