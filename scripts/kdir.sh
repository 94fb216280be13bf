#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prints the kernel build directory to build against: $KDIR when the user
# gave one, else our test kernel of the given flavour (built if missing).
. "$(dirname "$0")/lib.sh"

if [ -n "${KDIR:-}" ]; then
	[ -f "$KDIR/Module.symvers" ] || die "KDIR=$KDIR is not a built kernel tree (no Module.symvers)"
	grep -q '^CONFIG_RUST=y' "$KDIR/.config" || die "KDIR=$KDIR has no CONFIG_RUST=y"
	echo "$KDIR"
else
	"$TOP/scripts/kernel-build.sh" "${1:-base}"
fi
