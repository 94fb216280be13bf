#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Formats (fmt) or checks (fmt-check) the project's Rust files with the
# kernel's .rustfmt.toml.  `make rustfmt M=...` would format the kernel tree
# instead, so rustfmt is called on our files directly.  Userspace code under
# tools/ is cargo's and formatted with `cargo fmt`.
. "$(dirname "$0")/lib.sh"

kdir=$("$TOP/scripts/kdir.sh" "$1")
config=$kdir/.rustfmt.toml
[ -f "$config" ] || config=$kdir/source/.rustfmt.toml
mapfile -t files < <(cd "$TOP" && find rust samples -name '*.rs' ! -name '*generated*' | sort)
[ ${#files[@]} -gt 0 ] || exit 0
cd "$TOP"
case $2 in
fmt) exec rustfmt --edition 2021 --config-path "$config" "${files[@]}" ;;
fmt-check) exec rustfmt --edition 2021 --check --config-path "$config" "${files[@]}" ;;
esac
