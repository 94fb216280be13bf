#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Reads a `make check` guest console log and the host test counts, prints
# every result and the summary line; exits non-zero if anything failed.
# Runs inside the toolchain.  Usage: results.sh FLAVOUR OUT
. "$(dirname "$0")/lib.sh"

kdir=$("$TOP/scripts/kdir.sh" "$1")
kunit=$kdir/source/tools/testing/kunit/kunit.py
[ -f "$kunit" ] || kunit=$kdir/tools/testing/kunit/kunit.py
exec python3 "$TOP/scripts/results.py" --kunit "$kunit" --out "$2" --flavour "$1"
