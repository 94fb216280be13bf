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
# toyfs on a ramdisk: a sparse file written and read back through vm_mvc.
mkfs.toyfs -q /dev/ram0
mkdir -p /mnt/toyfs
mount -t toyfs /dev/ram0 /mnt/toyfs
printf 'hello past a hole' | dd of=/mnt/toyfs/sparse bs=1 seek=10000 2>/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches
stat -c '%n: %s bytes, %b sectors' /mnt/toyfs/sparse
od -An -c -j 9996 /mnt/toyfs/sparse
ls -la /mnt/toyfs
df /mnt/toyfs
cat /sys/kernel/debug/vm_mvc/stats
umount /mnt/toyfs
fsck.toyfs -n /dev/ram0
