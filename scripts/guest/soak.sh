#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make soak` (vmmvc_mode=soak, debug kernel): the randomized toyfs tester
# (toyfs-stress run) for TOYFS_SOAK_SEEDS seeds of TOYFS_SOAK_OPS operations
# each, one KTAP case per seed, each on a new toyfs with the model's
# options (toyfs_features: fallocate, seeks, large folios, stores past the
# end), fsck between rounds and after it.  The seeds take the rows of
# stress-tests.sh (toyfs-common.sh) in turn: 1024-byte blocks, 1024-byte
# blocks with 128-byte fragments, LZ4 (4096-byte blocks, 512-byte
# fragments), 512-byte blocks, 4096-byte blocks with 512-byte fragments,
# 2048 and 4096-byte blocks; so every 7 seeds cover each kind of image
# toyfs writes.  The seeds are fixed (1, 2, ...) so that a failure can be
# run again; TOYFS_SOAK_FIRST_SEED moves them (and the rows with them).
# Then part fsx of make check (fsx-tests.sh) with FSX_SOAK_OPS operations
# per fsx process.
. /guest/ktap.sh
. /guest/toyfs-common.sh

dev=/dev/ram0
mnt=/mnt/toyfs
threads="--threads 2 --shared 3"
seeds=${TOYFS_SOAK_SEEDS:-8}
ops=${TOYFS_SOAK_OPS:-125000}
first=${TOYFS_SOAK_FIRST_SEED:-1}
mkdir -p $mnt

# Seed $1's row (toyfs-common.sh), and the elapsed guest seconds around
# it (diagnostics, never asserted).
one_seed() {
	seed=$1
	start=$(cut -d. -f1 /proc/uptime)
	case $(((seed - 1) % 7)) in
	0) echo "1024-byte blocks"; toyfs_row 1024 $dev "$ops" ;;
	1) echo "1024-byte blocks, 128-byte fragments"; toyfs_fragments_row 1024 128 $dev "$ops" ;;
	2) echo "4096-byte blocks, LZ4"; toyfs_compress_row 4096 512 $dev "$ops" ;;
	3) echo "512-byte blocks"; toyfs_row 512 $dev "$ops" ;;
	4) echo "4096-byte blocks, 512-byte fragments"; toyfs_fragments_row 4096 512 $dev "$ops" ;;
	5) echo "2048-byte blocks"; toyfs_row 2048 $dev "$ops" ;;
	*) echo "4096-byte blocks"; toyfs_row 4096 $dev "$ops" ;;
	esac || return 1
	echo "seed $seed: $ops operations in $(($(cut -d. -f1 /proc/uptime) - start)) s"
}

# kmemleak's scan at the end (init) means something only if it finds a leak
# planted on purpose, as in `make check`.
[ -e /sys/kernel/debug/kmemleak ] && /guest/kmemleak.sh plant

# KUnit ran in `make check`; the soak loads the modules quietly.
echo "no_suite.no_case" >/sys/module/kunit/parameters/filter_glob
say "vm_mvc-soak: $seeds seeds x $ops operations from seed $first"
ktap_suite toyfs_soak $((seeds + 2))
ktap_case load sh -c "insmod /modules/vm_mvc.ko && insmod /modules/toyfs.ko"
seed=$first
while [ "$seed" -lt $((first + seeds)) ]; do
	ktap_case "randomized_operations_seed_$seed" one_seed "$seed"
	seed=$((seed + 1))
done
ktap_case unload sh -c "rmmod toyfs && rmmod vm_mvc"
ktap_end

# Then fsx for longer than in make check (fsx-tests.sh, its fixed seeds):
# FSX_SOAK_OPS operations per process (6000; 0 leaves it out).
fsx_ops=${FSX_SOAK_OPS:-6000}
if [ "$fsx_ops" != 0 ]; then
	say "vm_mvc-soak: fsx, $fsx_ops operations per process"
	insmod /modules/vm_mvc.ko
	FSX_OPS=$fsx_ops /guest/fsx-tests.sh
	ktap_suite fsx_soak_unload 1
	ktap_case rmmod_vm_mvc rmmod vm_mvc
	ktap_end
fi
