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
. "$(dirname "$0")/debian-root.sh"

# The words, in this order, are the build root's cache key (key_of).
PACKAGES="rustc rust-src bindgen clang lld llvm libclang-dev make flex bison bc
libelf-dev libssl-dev cpio xz-utils gcc libc6-dev busybox-static kmod python3
rustfmt rust-clippy perl qemu-system-x86 ca-certificates
$GUEST_PACKAGES python3-sphinx"

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

main() {
	if host_is_suitable; then
		echo host
		return
	fi
	# shellcheck disable=SC2086 # one word per package
	cached_debian_root buildroot $PACKAGES
}

main "$@"
