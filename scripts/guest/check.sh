#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest test runner for `make check`.  Loading each module runs its KUnit
# suites (KTAP on the console); the in-guest suites print KTAP themselves.
. /guest/ktap.sh

# Later loads of a module must not run its KUnit suites again: kunit_quiet
# (ktap.sh) sets a glob that matches no suite.

# `make check VM_MVC_ONLY=toyfs,module` runs only the parts named (quick runs
# while working on one); every part runs by default.
only=$(sed -n 's/.*vmmvc_only=\([a-z_,]*\).*/\1/p' /proc/cmdline)
part() {
	[ -z "$only" ] && return 0
	case ",$only," in *",$1,"*) return 0 ;; esac
	return 1
}

# Debug kernel: the scan at the end of the run (init) must report a leak
# planted here on purpose, or it proves nothing.
if part kmemleak && [ -e /sys/kernel/debug/kmemleak ]; then
	/guest/kmemleak.sh plant
fi

# The first load runs every KUnit suite of vm_mvc (part "kunit").
part kunit || kunit_quiet
insmod /modules/vm_mvc.ko
loaded=$?
kunit_loud

# The C client's KUnit suite (vm_mvc_c_client) runs at its insmod; it uses
# vm_mvc's exports, so it comes after vm_mvc and goes before vm_mvc's rmmod.
if part kunit; then
	insmod /modules/vm_mvc_c_client.ko
	client_loaded=$?
	ktap_suite vm_mvc_c_client_module 2
	# Loaded, and its suite ran: KUnit's debugfs keeps the results of each
	# suite that ran until its module goes (ok or not ok, judged by its KTAP).
	ktap_case insmod_vm_mvc_c_client sh -c "test $client_loaded -eq 0 &&
		grep -q 'ok 1 vm_mvc_c_client$' /sys/kernel/debug/kunit/vm_mvc_c_client/results"
	ktap_case rmmod_vm_mvc_c_client rmmod vm_mvc_c_client
	ktap_end

	# The counters of every call above, in debugfs.
	ktap_suite vm_mvc_debugfs 1
	ktap_case stats_count_the_calls sh -c \
		'grep -E "^zero: calls [1-9]" /sys/kernel/debug/vm_mvc/stats && grep "^user_pages: .* live 0$" /sys/kernel/debug/vm_mvc/stats'
	ktap_end
fi

# toyfs uses vm_mvc's exports: its tests run while vm_mvc is loaded.
part toyfs && /guest/toyfs-tests.sh
# toyfs on damaged images (named damages and the seeded byte-flipper).
part corrupt && /guest/corrupt-tests.sh
# toyfs images with fragments and LZ4 (mkfs.toyfs -d), mounted read-only:
# every file against its source tree, by read and by mmap.
part fragments && /guest/fragments-tests.sh
# toyfs at xfstests' sizes: a 4 GiB sparse image, thousands of files, a
# directory of 10,000 entries, the largest file (scale-tests.sh).
part scale && /guest/scale-tests.sh
# The randomized tester on toyfs of each block size, its model on tmpfs
# and ext2, and memory compaction under it.
part stress && /guest/stress-tests.sh
# Disk write errors reported by the fsync of the right file, on ext2 and
# toyfs.
part ioerrors && /guest/io-error-tests.sh
# fsx (the file system exerciser), several processes at once on toyfs of
# every layout: plain, fragments, LZ4; fsck and remount after each.
part fsx && /guest/fsx-tests.sh

# The parts with Debian's userspace (debian.sh), toyfs loaded for them
# (KUnit quiet) and unloaded after, as the parts before leave it:
# partial_page, the xfs_io cases of tests/xfs_io on toyfs (and, with
# PARTIAL_PAGE_FILESYSTEMS=references, on ext2, ext4 and tmpfs); torture,
# fio with verification and stress-ng on toyfs.
#
# On the debug kernel they run only when named (make check DEBUG=1
# VM_MVC_ONLY=partial_page,torture, make torture DEBUG=1): under KASAN
# and TCG they take longer than the rest of the suite, past CI's budget.
if part partial_page || part torture; then
	if [ -z "$only" ] && [ -e /sys/kernel/debug/kmemleak ]; then
		reason="debug kernel: too slow for the whole suite; run make check DEBUG=1 VM_MVC_ONLY=partial_page,torture"
		ktap_suite debian_userspace 2
		ktap_skip partial_page "$reason"
		ktap_skip torture "$reason"
		ktap_end
	elif [ -n "$VMMVC_DEBIAN" ]; then
		. /guest/debian.sh
		kunit_quiet
		insmod /modules/toyfs.ko
		kunit_loud
		# PARTIAL_PAGE_FILESYSTEMS (kernel command line): which filesystems.
		part partial_page && in_debian PARTIAL_PAGE_FILESYSTEMS="${PARTIAL_PAGE_FILESYSTEMS:-}" \
			/opt/guest/partial-page-cases.sh
		# TORTURE_SECONDS (kernel command line): how long fio and stress-ng run.
		# TORTURE_SEED: its rows of toyfs-stress full (1).
		part torture && in_debian TORTURE_SECONDS="${TORTURE_SECONDS:-15}" TORTURE_SEED="${TORTURE_SEED:-1}" \
			/opt/guest/torture.sh
		# The same tools and toyfs-stress churn on each toyfs layout
		# (TORTURE_LAYOUTS: which; make check four, make torture all).
		# TORTURE_SEED: the churn's, packed-torture's and the pressure
		# fsx's seed (1).
		part torture && in_debian TORTURE_SECONDS="${TORTURE_SECONDS:-15}" \
			TORTURE_LAYOUTS="${TORTURE_LAYOUTS:-}" TORTURE_SEED="${TORTURE_SEED:-1}" \
			/opt/guest/torture-layouts.sh
		# Nothing left mounted or held: the parts after load toyfs again.
		ktap_suite debian_parts_cleanup 1
		ktap_case rmmod_toyfs rmmod toyfs
		ktap_end
	else
		ktap_suite debian_userspace 1
		ktap_skip debian_root "QEMU shared no Debian root (scripts/guest-root.sh)"
		ktap_end
	fi
fi

# vm_mvc with user buffers through a test device; ends by unloading vm_mvc
# (a leaked sid) and loading it again, so it runs with toyfs unloaded.
part userdev && /guest/userdev-tests.sh

# Unloads and reloads vm_mvc and toyfs (KUnit quiet); leaves vm_mvc loaded.
part lifecycle && /guest/lifecycle.sh

# toyfs under failslab and fail_page_alloc (debug kernel; skipped otherwise).
part faults && /guest/faults.sh

if part module; then
	ktap_suite vm_mvc_module 3
	ktap_case insmod_vm_mvc test $loaded -eq 0
	ktap_case rmmod_vm_mvc sh -c 'rmmod vm_mvc && ! grep -q "^vm_mvc " /proc/modules'
	kunit_quiet
	ktap_case reload_vm_mvc sh -c 'insmod /modules/vm_mvc.ko && grep -q "^vm_mvc .* Live " /proc/modules'
	kunit_loud
	ktap_end
fi
