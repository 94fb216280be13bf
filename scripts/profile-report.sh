#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench VM_MVC_PROFILE=1`, after the guest ran: the flat profile of
# every phase (profile-report.py) in OUT/profile.txt.  Runs inside the
# toolchain, where llvm-cxxfilt is.  Usage: profile-report.sh FLAVOUR OUT
. "$(dirname "$0")/lib.sh"

flavour=$1 out=$2
[ -s "$out/profile.samples" ] || die "no profile samples in $out (QEMU monitor not reached?)"
exec python3 "$TOP/scripts/profile-report.py" "$out" "$("$TOP/scripts/kdir.sh" "$flavour")"
