#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest tests of vm_mvc's user-buffer path through the test device
# (samples/vm_mvc_testdev) and tools/vm_mvc-usertest: bad input from user
# space (issue 6 case 3), concurrency on toyfs (case 4), allocation
# failures on the debug kernel (case 1, vm_mvc's half) and a sid left
# attached at unload (case 5).  Run by check.sh (part "userdev") with
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

# Case 5: a sid left attached (the LEAK ioctl) is detached when vm_mvc is
# unloaded, with a warning naming it; the filesystem then unmounts cleanly.
leak_file=$mnt/leaked
sid_left_attached_is_released_at_unload() {
	mount -t tmpfs tmpfs $mnt && echo leaked >$leak_file || return 1
	out=$(vm_mvc-usertest leak $leak_file) || return 1
	echo "$out"
	sid=${out#sid } sid=${sid%% *} ino=${out##* }
	rmmod vm_mvc_testdev && rmmod vm_mvc || return 1
	dmesg | grep "sid $sid (inode $ino) still attached at unload" || return 1
	umount $mnt || return 1
	! dmesg | grep -q 'Busy inodes'
}

ktap_suite vm_mvc_unload 2
ktap_case sid_left_attached_is_released_at_unload sid_left_attached_is_released_at_unload
# Loaded again for the parts that follow; its KUnit suites ran already.
kunit_quiet
ktap_case reload_vm_mvc sh -c 'insmod /modules/vm_mvc.ko && grep -q "^vm_mvc .* Live " /proc/modules'
kunit_loud
ktap_end
