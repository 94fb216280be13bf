#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest tests of vm_mvc's user-buffer path through the test device
# (samples/vm_mvc_testdev) and tools/vm_mvc-usertest: bad input from user
# space (issue 6 case 3), concurrency on toyfs (case 4), allocation
# failures on the debug kernel (case 1, vm_mvc's half), what reaches the
# disk of toyfs and ext2 with and without dirtying (issue 10), and a sid
# left live at unload (case 5).  Run by check.sh (part "userdev") with
# vm_mvc loaded and toyfs not; the last suite unloads vm_mvc and loads it
# again.
. /guest/ktap.sh
. /guest/fault-injection.sh

dev=/dev/ram2
mnt=/mnt/userdev
node=/dev/vm_mvc_testdev
mkdir -p $mnt

# Case 3: each bad input gets its documented errno and changes nothing;
# positive cases show each command working on user buffers.
cases=$(vm_mvc-usertest list)
ktap_suite vm_mvc_userdev $(($(echo "$cases" | wc -l) + 2))
ktap_case insmod_vm_mvc_testdev insmod /modules/vm_mvc_testdev.ko
ktap_case node_is_root_only sh -c "ls -l $node && [ \"\$(stat -c %a:%u $node)\" = 600:0 ]"
for case in $cases; do
	ktap_case "$case" vm_mvc-usertest case "$case"
done
ktap_end

# Case 4: file I/O and vm_mvc on the same toyfs files from several
# threads, while toyfs-stress checks its own files against its model.
concurrent_io_and_vm_mvc() {
	seed=$(($(date +%s) % 100000))
	mkdir -p $mnt/single || return 1
	vm_mvc-usertest concurrency $mnt 10 $seed -- \
		toyfs-stress run $seed 1000 $mnt/single
}

ktap_suite vm_mvc_concurrency 5
ktap_case toyfs_loaded sh -c 'grep -q "^toyfs " /proc/modules || insmod /modules/toyfs.ko'
ktap_case mkfs_and_mount sh -c "mkfs.toyfs -q $dev && mount -t toyfs $dev $mnt"
ktap_case concurrent_io_and_vm_mvc concurrent_io_and_vm_mvc
ktap_case umount_and_fsck_clean sh -c "umount $mnt && fsck.toyfs -n $dev"
# Unloaded for the last suite, which unloads vm_mvc.
ktap_case rmmod_toyfs rmmod toyfs
ktap_end

# Case 1, vm_mvc's half: allocation failures injected into the test
# program only, at a few probabilities.
fault_file=/tmp/userdev-faults
under_allocation_failures() {
	dd if=/dev/urandom of=$fault_file bs=4096 count=4 2>/dev/null || return 1
	fault_injection_on "$1" || { fault_injection_off; return 1; }
	vm_mvc-usertest faults $fault_file 60 "$1"
	status=$?
	fault_injection_off || return 1
	return $status
}

ktap_suite vm_mvc_fault_injection 3
for percent in 5 20 50; do
	if fault_injection_available; then
		ktap_case "user_buffers_with_${percent}_percent_failing_allocations" \
			under_allocation_failures $percent
	else
		ktap_skip "user_buffers_with_${percent}_percent_failing_allocations" \
			"no failslab/fail_page_alloc in this kernel (make check DEBUG=1)"
	fi
done
ktap_end

# vm_mvc 2 (issue 10): vm_mvc on files of block-backed filesystems, toyfs
# and ext2 (1 KiB blocks, on a loop device), and what reaches the disk
# after writeback and drop_caches: a WRITE that dirties (the default), one
# that does not (VM_MVC_NODIRTY), and on ext2 a ZERO inside a hole, which
# makes writeback allocate the hole only when it dirties (buffer heads:
# dirtying the folio dirties every block of it).
wb=/mnt/writeback
image=/tmp/writeback-ext2.img
mkdir -p $wb/toyfs $wb/ext2
hexbytes() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
repeat() {
	i=0
	while [ $i -lt "$2" ]; do printf %s "$1"; i=$((i + 1)); done
}
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }
# A page of 0x41 bytes, on the disk, then cached uptodate and clean.
cached_page() {
	dd if=/dev/zero bs=4096 count=1 2>/dev/null | tr '\0' A >"$1" &&
		drop_caches && cat "$1" >/dev/null
}

write_dirties_and_reaches_the_disk() {
	f=$1/dirtied
	cached_page $f && vm_mvc-usertest mvc $f 0 100 50 write 42 || return 1
	drop_caches
	[ "$(hexbytes $f 96 58)" = "$(repeat 41 4)$(repeat 42 50)$(repeat 41 4)" ]
}

write_nodirty_stays_off_the_disk() {
	f=$1/clean
	cached_page $f && vm_mvc-usertest mvc $f 0 100 50 write,nodirty 42 || return 1
	# The page cache holds the bytes until the clean page is dropped...
	[ "$(vm_mvc-usertest mvc $f 0 100 50 read)" = "$(repeat 42 50)" ] || return 1
	drop_caches
	# ... and the disk never got them.
	[ "$(hexbytes $f 96 58)" = "$(repeat 41 58)" ]
}

zero_in_a_hole_allocates_it_only_when_dirtying() {
	for how in zero zero,nodirty; do
		f=$1/holes-${how%,*}${how#zero}
		dd if=/dev/zero bs=1024 count=1 2>/dev/null | tr '\0' A >$f &&
			truncate -s 4096 $f && drop_caches && cat $f >/dev/null || return 1
		before=$(stat -c %b $f)
		vm_mvc-usertest mvc $f 0 2048 100 $how || return 1
		drop_caches
		after=$(stat -c %b $f)
		echo "$how in a hole: $before -> $after sectors"
		[ "$(hexbytes $f 1020 8)" = "$(repeat 41 4)$(repeat 00 4)" ] || return 1
		if [ $how = zero ]; then
			[ "$after" -gt "$before" ] || return 1
		else
			[ "$after" -eq "$before" ] || return 1
		fi
	done
}

ext2_on_loop() {
	dd if=/dev/zero of=$image bs=1M count=8 2>/dev/null && loop=$(losetup -f) &&
		losetup $loop $image && mke2fs -q -b 1024 $loop >/dev/null &&
		mount -t ext2 $loop $wb/ext2 && echo $loop >/tmp/writeback-loop
}

ktap_suite vm_mvc_writeback 9
ktap_case toyfs_mounted sh -c "insmod /modules/toyfs.ko && mkfs.toyfs -q $dev && mount -t toyfs $dev $wb/toyfs"
ktap_case toyfs_write_dirties_and_reaches_the_disk write_dirties_and_reaches_the_disk $wb/toyfs
ktap_case toyfs_write_nodirty_stays_off_the_disk write_nodirty_stays_off_the_disk $wb/toyfs
ktap_case toyfs_unmounted_clean sh -c "umount $wb/toyfs && fsck.toyfs -n $dev && rmmod toyfs"
ktap_case ext2_on_a_loop_device ext2_on_loop
ktap_case ext2_write_dirties_and_reaches_the_disk write_dirties_and_reaches_the_disk $wb/ext2
ktap_case ext2_write_nodirty_stays_off_the_disk write_nodirty_stays_off_the_disk $wb/ext2
ktap_case ext2_zero_in_a_hole_allocates_it_only_when_dirtying \
	zero_in_a_hole_allocates_it_only_when_dirtying $wb/ext2
ktap_case ext2_unmounted sh -c "umount $wb/ext2 && losetup -d \$(cat /tmp/writeback-loop) && rm -f $image"
ktap_end

# Case 5: a sid left live (the LEAK ioctl) is freed when vm_mvc is
# unloaded, with a warning naming it, and without touching its inode: the
# file's filesystem is unmounted first, so the inode is gone by then
# (KASAN, in the debug kernel, sees any touch).
leak_file=$mnt/leaked
sid_left_live_is_freed_at_unload_without_its_inode() {
	mount -t tmpfs tmpfs $mnt && echo leaked >$leak_file || return 1
	out=$(vm_mvc-usertest leak $leak_file) || return 1
	echo "$out"
	sid=${out#sid } sid=${sid%% *} ino=${out##* }
	umount $mnt || return 1
	! dmesg | grep -q 'Busy inodes' || return 1
	rmmod vm_mvc_testdev && rmmod vm_mvc || return 1
	dmesg | grep "sid $sid (inode $ino) still live at unload; freed without touching the inode" || return 1
	! dmesg | grep -E 'BUG: KASAN|general protection fault|Oops'
}

ktap_suite vm_mvc_unload 2
ktap_case sid_left_live_is_freed_at_unload_without_its_inode sid_left_live_is_freed_at_unload_without_its_inode
# Loaded again for the parts that follow; its KUnit suites ran already.
kunit_quiet
ktap_case reload_vm_mvc sh -c 'insmod /modules/vm_mvc.ko && grep -q "^vm_mvc .* Live " /proc/modules'
kunit_loud
ktap_end
