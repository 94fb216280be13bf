#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Provides an unpacked Linux 7.3 source tree from Debian's linux-source-7.3
# package (trixie-backports) and prints its path.  The package is resolved by
# name, since backports keep only recent versions; the tarball and the tree
# are cached.  Runs inside the toolchain (scripts/in-toolchain.sh).
. "$(dirname "$0")/lib.sh"

pkg=linux-source-$KERNEL_SERIES
lock kernel-source
tarball=$(ls -1 "$DATA"/$pkg-*.tar.xz 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$tarball" ]; then
	version=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	if [ -z "$version" ] || [ "$version" = "(none)" ]; then
		apt-get update -qq
		version=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	fi
	[ -n "$version" ] && [ "$version" != "(none)" ] ||
		die "$pkg is not in the configured apt sources (trixie-backports)"
	tmp=$(mktemp -d)
	chmod 755 "$tmp" # apt's sandbox user writes the download there
	timed "downloading $pkg $version" \
		sh -c "cd '$tmp' && apt-get download -qq '$pkg=$version'"
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	tarball=$DATA/$pkg-$version.tar.xz
	mv "$tmp"/x/usr/src/$pkg.tar.xz "$tarball"
	rm -rf "$tmp"
else
	log "reusing $tarball"
fi

tree=${tarball%.tar.xz}
if [ ! -f "$tree/.unpacked" ]; then
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	timed "unpacking $(basename "$tarball")" \
		tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
	touch "$tree.tmp/.unpacked"
	mv "$tree.tmp" "$tree"
fi
echo "$tree"
