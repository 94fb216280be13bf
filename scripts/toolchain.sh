#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Provides the kernel toolchain: rustc >= 1.85 with rust-src, bindgen >= 0.71.1,
# clang/lld/llvm >= 17, the kernel build tools, busybox and QEMU; and the
# filesystem developer's tools the guest borrows from the build root
# (xfs_io, fio, stress-ng, e2fsprogs) and Sphinx for `make htmldocs`.
#
# The host is used when it already has a suitable set.  Otherwise a Debian
# trixie build root is made with debootstrap in the cache and everything runs
# inside it, so the host's libc is never upgraded.  Prints "host" or the build
# root path.  A second run only checks a stamp.
. "$(dirname "$0")/lib.sh"

PACKAGES="rustc rust-src bindgen clang lld llvm libclang-dev make flex bison bc
libelf-dev libssl-dev cpio xz-utils gcc libc6-dev busybox-static kmod python3
rustfmt rust-clippy perl qemu-system-x86 ca-certificates
xfsprogs fio stress-ng e2fsprogs python3-sphinx"

version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

host_is_suitable() {
	local v
	[ -z "${VM_MVC_FORCE_BUILDROOT:-}" ] || return 1
	v=$(rustc --version 2>/dev/null | awk '{print $2}') || return 1
	version_at_least "$v" 1.85 || return 1
	[ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ] || return 1
	v=$(bindgen --version 2>/dev/null | awk '{print $2}') || return 1
	version_at_least "$v" 0.71.1 || return 1
	v=$(clang -dumpversion 2>/dev/null) || return 1
	version_at_least "$v" 17 || return 1
	local tool
	for tool in ld.lld llvm-ar make flex bison bc cpio python3 \
		qemu-system-x86_64 busybox sphinx-build; do
		command -v "$tool" >/dev/null || return 1
	done
	busybox --list >/dev/null 2>&1 || return 1
}

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

make_buildroot() {
	local root=$1 mirror
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
	timed "installing the toolchain packages in the build root" \
		quietly "$root.log" chroot "$root.tmp" /bin/sh -c "apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(echo $PACKAGES)"
	chroot "$root.tmp" apt-get clean
	mv "$root.tmp" "$root"
}

main() {
	if host_is_suitable; then
		echo host
		return
	fi
	[ "$(id -u)" = 0 ] || die "the build root needs root (debootstrap, chroot)"
	local root
	lock buildroot
	root=$CACHE/buildroot-$(key_of trixie $PACKAGES)
	if [ -d "$root" ]; then
		log "reusing build root $root"
	else
		make_buildroot "$root"
	fi
	echo "$root"
}

main "$@"
