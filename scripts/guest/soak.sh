#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make soak` (vmmvc_mode=soak, debug kernel): the randomized toyfs tester
# (toyfs-stress run) for TOYFS_SOAK_SEEDS seeds of TOYFS_SOAK_OPS operations
# each, one KTAP case per seed, on one mounted toyfs; then an unmount and a
# clean fsck.  The seeds are fixed (1, 2, ...) so that a failure can be run
# again; TOYFS_SOAK_FIRST_SEED moves them.
. /guest/ktap.sh

dev=/dev/ram0
mnt=/mnt/toyfs
seeds=${TOYFS_SOAK_SEEDS:-8}
ops=${TOYFS_SOAK_OPS:-125000}
first=${TOYFS_SOAK_FIRST_SEED:-1}
mkdir -p $mnt

# Elapsed guest seconds around one seed (diagnostics, never asserted).
one_seed() {
	start=$(cut -d. -f1 /proc/uptime)
	toyfs-stress run --threads 2 --shared 3 --fsck "fsck.toyfs -n" "$1" "$ops" $mnt $dev || return 1
	echo "seed $1: $ops operations in $(( $(cut -d. -f1 /proc/uptime) - start )) s"
}

# kmemleak's scan at the end (init) means something only if it finds a leak
# planted on purpose, as in `make check`.
[ -e /sys/kernel/debug/kmemleak ] && /guest/kmemleak.sh plant

# KUnit ran in `make check`; the soak loads the modules quietly.
echo "no_suite.no_case" >/sys/module/kunit/parameters/filter_glob
say "vm_mvc-soak: $seeds seeds x $ops operations from seed $first"
ktap_suite toyfs_soak $((seeds + 2))
ktap_case load_mkfs_mount sh -c \
	"insmod /modules/vm_mvc.ko && insmod /modules/toyfs.ko && mkfs.toyfs -q $dev && mount -t toyfs $dev $mnt"
seed=$first
while [ "$seed" -lt $((first + seeds)) ]; do
	ktap_case "randomized_operations_seed_$seed" one_seed "$seed"
	seed=$((seed + 1))
done
ktap_case umount_fsck_clean_unload sh -c \
	"umount $mnt && fsck.toyfs -n $dev && rmmod toyfs && rmmod vm_mvc"
ktap_end
