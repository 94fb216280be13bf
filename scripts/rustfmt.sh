#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Formats (fmt) or checks (fmt-check) the project's Rust files with the
# kernel's .rustfmt.toml.  `make rustfmt M=...` would format the kernel tree
# instead, so rustfmt is called on our files directly.  The userspace
# workspace under tools/ is checked too, with the same rustfmt (the
# toolchain's: the build root has rustfmt but no cargo, so not `cargo fmt`)
# and the same settings: the kernel's .rustfmt.toml is rustfmt's defaults
# for edition 2021, which is what `cargo fmt` applies to tools/ (edition
# 2021 in tools/Cargo.toml), and tools/toyfs-format includes the kernel's
# samples/toyfs/format, which must read the same to both.  Every file
# under tools/ is named, as every one under rust/ and samples/ is: a file
# no crate includes is checked too.  Both sets are checked before the
# status is given.
. "$(dirname "$0")/lib.sh"

kdir=$("$TOP/scripts/kdir.sh" "$1")
config=$kdir/.rustfmt.toml
[ -f "$config" ] || config=$kdir/source/.rustfmt.toml
case $2 in
fmt) check=() ;;
fmt-check) check=(--check) ;;
*) die "usage: rustfmt.sh FLAVOUR fmt|fmt-check" ;;
esac
cd "$TOP"
status=0
# The module's files, then the userspace tools' (not cargo's target/).
for set in "rust samples" "tools"; do
	# shellcheck disable=SC2086 # the set is words
	mapfile -t files < <(find $set -name target -prune -o -name '*.rs' ! -name '*generated*' -print |
		sort)
	[ ${#files[@]} -gt 0 ] || continue
	rustfmt --edition 2021 "${check[@]}" --config-path "$config" "${files[@]}" || status=$?
done
exit $status
