#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# fsx, the file system exerciser, for the guest's `fsx` part
# (scripts/guest/fsx-tests.sh): the crate fsx (fsx-rs, a Rust port of
# FreeBSD's fsx by Alan Somers; Apple Public Source License 2.0) at the
# version and checksum pinned below, fetched from crates.io with cargo,
# patched with tools/fsx/fsx-VERSION.patch (what it changes is at its top),
# its unit tests run (a failure stops the build), and built statically
# with the crate's own Cargo.lock (--locked), as the guest tools of tools/
# are.  Debian packages no fsx (nor xfstests).
#
# The binary and the crate's LICENSE are cached in $DATA/fsx-VERSION-KEY,
# KEY the hash of the version, the checksum, the patch, the Rust toolchain
# and the build flags; the binary is then copied where guest-boot.sh takes
# the tools/ binaries from (the image's /bin/fsx), with the licence beside
# it (/guest/fsx.LICENSE).  Runs on the host, with rustup's cargo (as
# scripts/guest.sh builds tools/).  Prints the binary's path in the cache.
. "$(dirname "$0")/lib.sh"

FSX_VERSION=0.3.2
# sha256 of fsx-0.3.2.crate, as crates.io's index has it ("cksum").
FSX_SHA256=72680bb1e43d40729d5f6e9de5bbe604820ff51e4707e109cb5082ec67d022a2
TARGET=x86_64-unknown-linux-gnu
RUSTFLAGS_STATIC="-C target-feature=+crt-static"

PATH=$PATH:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin
command -v cargo >/dev/null || die "building fsx needs cargo (the machine's rustup toolchain)"
patchfile=$TOP/tools/fsx/fsx-$FSX_VERSION.patch
[ -f "$patchfile" ] || die "no $patchfile"
key=$(key_of "$FSX_VERSION" "$FSX_SHA256" "$patchfile" "$(rustc -vV)" "$(cargo -V)" \
	"$TARGET" "$RUSTFLAGS_STATIC")
dir=$DATA/fsx-$FSX_VERSION-$key

# The .crate file in cargo's download cache, fetched there by cargo itself
# (a throw-away manifest that depends on exactly this version) if it is
# not there yet; cargo checks it against the index, and we against the
# pinned checksum.
crate_file() {
	local registry=${CARGO_HOME:-${HOME:-/root}/.cargo}/registry/cache file scratch
	file=$(compgen -G "$registry/*/fsx-$FSX_VERSION.crate" | head -n1 || true)
	if [ -z "$file" ]; then
		scratch=$1/fetch
		mkdir -p "$scratch"
		cat >"$scratch/Cargo.toml" <<-EOF
			[package]
			name = "fsx-fetch"
			version = "0.0.0"
			edition = "2021"
			publish = false
			[lib]
			path = "lib.rs"
			[dependencies]
			fsx = "=$FSX_VERSION"
		EOF
		: >"$scratch/lib.rs"
		(cd "$scratch" && cargo fetch) >&2 || die "cargo could not fetch fsx $FSX_VERSION"
		file=$(compgen -G "$registry/*/fsx-$FSX_VERSION.crate" | head -n1 || true)
		[ -n "$file" ] || die "cargo fetched fsx $FSX_VERSION, but it is not in $registry"
	fi
	echo "$file"
}

build() {
	local tmp crate sum src logfile
	tmp=$(mktemp -d "$DATA/fsx-build.XXXXXX")
	crate=$(crate_file "$tmp")
	sum=$(sha256sum "$crate" | cut -d' ' -f1)
	[ "$sum" = "$FSX_SHA256" ] ||
		die "$crate: sha256 $sum, not the pinned $FSX_SHA256 (scripts/fsx.sh)"
	tar -xzf "$crate" -C "$tmp"
	src=$tmp/fsx-$FSX_VERSION
	# git apply, not patch (not on every machine): the ceiling keeps git
	# from taking a repository above the cache for the patch's root.
	(cd "$src" && GIT_CEILING_DIRECTORIES=$tmp git apply "$patchfile") ||
		die "tools/fsx/fsx-$FSX_VERSION.patch does not apply to fsx $FSX_VERSION"
	logfile=$tmp/build.log
	# The patch's unit tests first, in a binary of their own (`rustc
	# --test`: the crate's dev-dependencies are not fetched); the build
	# below reuses the dependencies compiled for it.
	(cd "$src" && RUSTFLAGS="$RUSTFLAGS_STATIC" CARGO_TARGET_DIR=$tmp/target \
		cargo rustc --release --locked --target "$TARGET" --bin fsx -- --test &&
		mv "$tmp/target/$TARGET/release/fsx" "$tmp/fsx-unit-tests" &&
		"$tmp/fsx-unit-tests") >"$logfile" 2>&1 ||
		{ tail -n 20 "$logfile" >&2; die "the unit tests of the fsx patch failed (log: $logfile)"; }
	(cd "$src" && RUSTFLAGS="$RUSTFLAGS_STATIC" CARGO_TARGET_DIR=$tmp/target \
		cargo build --release --locked --target "$TARGET") >>"$logfile" 2>&1 ||
		{ tail -n 20 "$logfile" >&2; die "building fsx failed (log: $logfile)"; }
	mkdir -p "$tmp/out"
	cp "$tmp/target/$TARGET/release/fsx" "$src/LICENSE" "$tmp/out/"
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	rm -rf "$tmp"
}

if [ -x "$dir/fsx" ]; then
	log "reusing fsx $dir"
else
	lock fsx
	[ -x "$dir/fsx" ] || timed "building fsx $FSX_VERSION (crates.io, tools/fsx patch)" build
fi
tools=$(toyfs_tools_dir)
mkdir -p "$tools"
cp "$dir/fsx" "$tools/fsx.new" && mv "$tools/fsx.new" "$tools/fsx"
cp "$dir/LICENSE" "$tools/fsx.LICENSE"
echo "$dir/fsx"
