#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: load vm_mvc and its users (their KUnit suites run at load and
# exercise every command), then show what vm_mvc did.
set -x
insmod /modules/vm_mvc.ko
for module in /modules/*.ko; do
	[ "$module" = /modules/vm_mvc.ko ] || insmod "$module"
done
grep -e vm_mvc -e toyfs /proc/modules
cat /sys/kernel/debug/vm_mvc/stats 2>/dev/null
