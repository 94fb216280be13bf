#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test kernel for a flavour and prints its build directory, which
# is also the KDIR for the out-of-tree modules.  Flavours: base and debug
# (QEMU, x86), uml and uml-debug (User-Mode Linux, ARCH=um; uml-debug is
# uml.config with the same checkers as debug).
#
# The config is tinyconfig plus the committed fragments,
# merged with the kernel's own merge_config.sh; every requested option is
# then checked.  A flavour may carry kernel patches (scripts/kernel-patches),
# applied to a copy of the source.  The build directory is keyed by source
# version, fragment and patch contents and toolchain versions: an unchanged
# key is never rebuilt.  Runs inside the toolchain.
#
# VM_MVC_KCONFIG_EXTRA=NAME[,NAME...] merges scripts/kconfig/extra-NAME.config
# after the flavour's fragments (a later fragment's line for an option wins)
# and builds into a directory of its own, kbuild-FLAVOUR+NAME...-KEY: a
# build-flag experiment (Documentation/performance.rst) that leaves the
# default kernels of `make check` and `make bench` alone.
. "$(dirname "$0")/lib.sh"

flavour=${1:-base}
kconfig=$TOP/scripts/kconfig
# The make variables of every kernel make below and the kernel image built
# beside the modules.
kvars=(LLVM=1) image=bzImage keyextra=() patches=()
case $flavour in
base) fragments=("$kconfig/base.config") ;;
debug) fragments=("$kconfig/base.config" "$kconfig/debug.config") ;;
uml | uml-debug)
	kvars+=(ARCH=um) image=linux keyextra=(ARCH=um)
	fragments=("$kconfig/uml.config")
	if [ "$flavour" = uml-debug ]; then
		fragments+=("$kconfig/debug.config" "$kconfig/uml-debug.config")
		# lockdep and kmemleak need the kernel's static data between
		# __bss_start and __bss_stop (the patch says why).
		patches=("$TOP/scripts/kernel-patches/um-lbss-in-bss.patch")
	fi
	;;
*) die "unknown kernel flavour '$flavour' (base, debug, uml or uml-debug)" ;;
esac
variant= extras=${VM_MVC_KCONFIG_EXTRA:-}
for extra in ${extras//,/ }; do
	[ -f "$kconfig/extra-$extra.config" ] ||
		die "VM_MVC_KCONFIG_EXTRA: no scripts/kconfig/extra-$extra.config"
	fragments+=("$kconfig/extra-$extra.config")
	variant+=+$extra
done
flavour_dir=$flavour$variant

src=$("$TOP/scripts/kernel-source.sh")
toolchain_versions=$(rustc --version; bindgen --version; clang --version | head -n1)
key=$(key_of "$(basename "$src")" "${fragments[@]}" "${patches[@]}" "$toolchain_versions" "${keyextra[@]}")
out=$DATA/kbuild-$flavour_dir-$key
# One lock per build directory: a run that reuses a built kernel never waits
# for the build of another key (another branch's fragments).
lock "kbuild-$flavour_dir-$key"

if [ -f "$out/.built" ]; then
	log "reusing $flavour kernel $out"
	echo "$out"
	exit 0
fi

# Prints a copy of the source tree $1 with the patches $2... applied, made
# once per set of patches.  The copy is of hard links, and each file that a
# patch changes is first replaced by a copy of its own, so the shared tree
# is never written.  busybox's patch: the toolchain has no other.
patched_source() {
	local base=$1 tree patch file
	shift
	tree=$DATA/$(basename "$base")-patched-$(key_of "$@")
	lock "$(basename "$tree")"
	if [ ! -f "$tree/.patched" ]; then
		rm -rf "$tree" "$tree.tmp"
		cp -al "$base" "$tree.tmp" || die "cannot copy $base"
		for patch in "$@"; do
			for file in $(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch"); do
				cp --remove-destination "$base/$file" "$tree.tmp/$file" || die "cannot copy $file"
			done
			(cd "$tree.tmp" && busybox patch -p1 -i "$patch") >&2 ||
				die "$(basename "$patch") does not apply to $(basename "$base")"
			log "applied $(basename "$patch")"
		done
		touch "$tree.tmp/.patched" && mv "$tree.tmp" "$tree" || die "cannot make $tree"
	fi
	echo "$tree"
}

# Fails, naming each option that Kconfig dropped or changed.  Where two
# fragments set one option, the later one's line is the one checked.
verify_config() {
	local config=$1 missing=() line opt
	local -A want=()
	local -a order=()
	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=*) opt=${line%%=*} ;;
			"# CONFIG_"*" is not set")
				opt=${line#\# }
				opt=${opt%% *}
				;;
			*) continue ;;
			esac
			[ -n "${want[$opt]+set}" ] || order+=("$opt")
			want[$opt]=$line
		done <"$frag"
	done
	for opt in "${order[@]}"; do
		line=${want[$opt]}
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$config" || missing+=("$line")
			;;
		*)
			! grep -q "^$opt=" "$config" || missing+=("$line")
			;;
		esac
	done
	if [ ${#missing[@]} -gt 0 ]; then
		printf 'Kconfig dropped requested options:\n' >&2
		printf '  %s\n' "${missing[@]}" >&2
		return 1
	fi
}

configure() {
	make -C "$src" O="$out" "${kvars[@]}" tinyconfig >/dev/null
	(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$out" \
		"$out/.config" "${fragments[@]}") >/dev/null
	make -C "$src" O="$out" "${kvars[@]}" olddefconfig >/dev/null
	verify_config "$out/.config" "${fragments[@]}"
	make -C "$src" O="$out" "${kvars[@]}" rustavailable >/dev/null
}

[ ${#patches[@]} -eq 0 ] || src=$(patched_source "$src" "${patches[@]}") || exit
rm -rf "$out"
mkdir -p "$out"
timed "configuring $flavour_dir kernel in $out" configure
timed "building $flavour_dir kernel (about 10 min on 2 cores)" \
	make -C "$src" O="$out" "${kvars[@]}" -j"$(nproc)" "$image" modules \
	>"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log"; die "kernel build failed (log: $out/build.log)"; }
[ -x "$out/usr/gen_init_cpio" ] || die "the kernel build made no usr/gen_init_cpio"
touch "$out/.built"
echo "$out"
