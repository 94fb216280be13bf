#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the out-of-tree kbuild for this project: make -C $KDIR M=$TOP LLVM=1
# (and ARCH=um against a User-Mode Linux kernel).
# Usage: kmake.sh FLAVOUR TARGET [MAKE-ARGS...]
. "$(dirname "$0")/lib.sh"

flavour=$1
shift
kdir=$("$TOP/scripts/kdir.sh" "$flavour")
mapfile -t kvars < <(kbuild_vars "$kdir")
exec make -C "$kdir" M="$TOP" "${kvars[@]}" -j"$(nproc)" "$@"
