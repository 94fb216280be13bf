#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the modules and the guest image, then boots the test kernel in QEMU
# (or, for a User-Mode Linux kernel, runs it as a process) with the console
# in OUT/console.log.  Runs inside the toolchain.
# Usage: guest-boot.sh FLAVOUR run|check|bench|soak|shell OUT
#
# `run` and `shell` have the console in the file only: the demo, or the
# interactive shell, is on the guest's second serial port (ttyS1), which is
# the terminal (UML: `run` shows the console with the demo; no `shell`).
# VM_MVC_GUEST_ROOT, when set, is the Debian root that QEMU shares
# read-only over virtio-9p (mount tag "debian"; guest/debian.sh).
#
# QEMU uses TCG unless a short KVM probe boot succeeds (on some machines a
# KVM guest hangs in the firmware); VM_MVC_ACCEL=tcg|kvm overrides the probe.
. "$(dirname "$0")/lib.sh"

flavour=$1 mode=$2 out=$3
kdir=$("$TOP/scripts/kdir.sh" "$flavour")
bzimage=$kdir/arch/x86/boot/bzImage
mapfile -t kvars < <(kbuild_vars "$kdir")
uml=
[[ " ${kvars[*]} " != *" ARCH=um "* ]] || uml=$kdir/linux

build_modules() {
	: >"$out/modules.log"
	quietly "$out/modules.log" make -C "$kdir" M="$TOP" "${kvars[@]}" -j"$(nproc)" modules
	grep -E 'warning:|error:' "$out/modules.log" >&2 || true
}
timed "building the modules against $kdir" build_modules

make_image() {
	local busybox=${BUSYBOX:-$(command -v busybox)}
	[ -x "$busybox" ] || die "no busybox (install busybox-static or set BUSYBOX)"
	! llvm-readelf -d "$busybox" 2>/dev/null | grep -q NEEDED ||
		die "$busybox is dynamically linked; the guest needs busybox-static"
	# tests/ (the xfs_io cases, fio's job file) goes whole to /guest/tests.
	local spec=$out/initramfs.spec path
	cp "$TOP/scripts/guest/initramfs.spec" "$spec"
	(cd "$TOP" && find tests | sort) | while read -r path; do
		if [ -d "$TOP/$path" ]; then
			echo "dir /guest/$path 0755 0 0"
		else
			echo "file /guest/$path $TOP/$path $(stat -c %a "$TOP/$path") 0 0"
		fi
	done >>"$spec"
	# make bench: the kernel's Documentation/ for the compress table
	# (guest/compressbench.sh), regular files and directories only.
	if [ "$mode" = bench ]; then
		local docs
		docs=$("$TOP/scripts/kernel-source.sh")/Documentation
		echo "dir /guest/docs 0755 0 0" >>"$spec"
		(cd "$docs" && find . -mindepth 1 \( -type d -o -type f \) | sort) | while read -r path; do
			path=${path#./}
			if [ -d "$docs/$path" ]; then
				echo "dir /guest/docs/$path 0755 0 0"
			else
				echo "file /guest/docs/$path $docs/$path 0644 0 0"
			fi
		done >>"$spec"
	fi
	BUSYBOX=$busybox TOP=$TOP TOOLS=$(toyfs_tools_dir) "$kdir/usr/gen_init_cpio" \
		-o "$out/initramfs.cpio" "$spec"
}
timed "making the guest image with usr/gen_init_cpio" make_image

# The kernel command line's settings for the guest scripts, for QEMU and
# UML alike.  Usage: guest_cmdline MODE
guest_cmdline() {
	local bootmode=$1 cmdline
	cmdline="panic=-1 oops=panic printk.devkmsg=on vmmvc_mode=$bootmode"
	# slab_debug=F: SLUB's consistency checks, and no per-CPU sheaves, whose
	# stale pointers hide leaks from kmemleak (scripts/guest/kmemleak.sh).
	case $flavour in
	debug | uml-debug) cmdline+=" panic_on_warn=1 kmemleak=on slab_debug=F" ;;
	esac
	# An unknown NAME=VALUE parameter reaches /init as an environment
	# variable: the length and the seed of the randomized toyfs runs.
	[ -z "${TOYFS_STRESS_OPS:-}" ] || cmdline+=" TOYFS_STRESS_OPS=$TOYFS_STRESS_OPS"
	[ -z "${TOYFS_STRESS_SEED:-}" ] || cmdline+=" TOYFS_STRESS_SEED=$TOYFS_STRESS_SEED"
	# make check TOYFS_RUN_GAPS=1: the cases skipped for a known toyfs gap
	# run anyway (scripts/guest/toyfs-common.sh).
	[ -z "${TOYFS_RUN_GAPS:-}" ] || cmdline+=" TOYFS_RUN_GAPS=$TOYFS_RUN_GAPS"
	# How long fio and stress-ng run, each (guest/torture.sh).
	[ -z "${TORTURE_SECONDS:-}" ] || cmdline+=" TORTURE_SECONDS=$TORTURE_SECONDS"
	# Which toyfs layouts guest/torture-layouts.sh runs on ("all", or names).
	[ -z "${TORTURE_LAYOUTS:-}" ] || cmdline+=" TORTURE_LAYOUTS=$TORTURE_LAYOUTS"
	# The seed of its churn, packed-torture and pressure fsx rounds.
	[ -z "${TORTURE_SEED:-}" ] || cmdline+=" TORTURE_SEED=$TORTURE_SEED"
	# Which filesystems the partial_page part runs on (comma-separated,
	# guest/partial-page-cases.sh).
	[ -z "${PARTIAL_PAGE_FILESYSTEMS:-}" ] || cmdline+=" PARTIAL_PAGE_FILESYSTEMS=$PARTIAL_PAGE_FILESYSTEMS"
	# Images per seed of the corrupted-image flipper (corrupt-tests.sh).
	[ -z "${CORRUPT_FLIP_IMAGES:-}" ] || cmdline+=" CORRUPT_FLIP_IMAGES=$CORRUPT_FLIP_IMAGES"
	# make check FSX_OPS=N FSX_SEED=N: the fsx part's length and seeds
	# (guest/fsx-tests.sh).
	[ -z "${FSX_OPS:-}" ] || cmdline+=" FSX_OPS=$FSX_OPS"
	[ -z "${FSX_SEED:-}" ] || cmdline+=" FSX_SEED=$FSX_SEED"
	# make soak TOYFS_SOAK_SEEDS=8 TOYFS_SOAK_OPS=125000 FSX_SOAK_OPS=6000
	# (scripts/guest/soak.sh).
	local var
	for var in TOYFS_SOAK_SEEDS TOYFS_SOAK_OPS TOYFS_SOAK_FIRST_SEED FSX_SOAK_OPS; do
		[ -z "${!var:-}" ] || cmdline+=" $var=${!var}"
	done
	# make check VM_MVC_ONLY=toyfs,module: only those parts (check.sh).
	[ -z "${VM_MVC_ONLY:-}" ] || cmdline+=" vmmvc_only=$VM_MVC_ONLY"
	# make bench VM_MVC_BENCH_TABLES=percall,profile: only those tables.
	[ -z "${VM_MVC_BENCH_TABLES:-}" ] || cmdline+=" vmmvc_bench=$VM_MVC_BENCH_TABLES"
	# make bench VM_MVC_BENCH_ARGS=bw_mib=64,bw_large=0: vm_mvc_bench's
	# module parameters, for shorter runs.
	[ -z "${VM_MVC_BENCH_ARGS:-}" ] || cmdline+=" vmmvc_bench_args=$VM_MVC_BENCH_ARGS"
	# make bench VM_MVC_BENCH_FS_ROWS=appendsync,read_cold_1m
	# VM_MVC_BENCH_FS_ROUNDS=9: those rows of the filesystem table only,
	# and its number of rounds (fsbench.sh).
	[ -z "${VM_MVC_BENCH_FS_ROWS:-}" ] || cmdline+=" vmmvc_fsrows=$VM_MVC_BENCH_FS_ROWS"
	[ -z "${VM_MVC_BENCH_FS_ROUNDS:-}" ] || cmdline+=" vmmvc_fsrounds=$VM_MVC_BENCH_FS_ROUNDS"
	# VM_MVC_BENCH_FS_IOSTAT=1: toyfs and ext2 on loop devices, each row
	# with the devices' I/O counts (fsbench.sh).
	[ -z "${VM_MVC_BENCH_FS_IOSTAT:-}" ] || cmdline+=" vmmvc_fsiostat=1"
	# VM_MVC_BENCH_FS_PREFILL=0: the devices are not written whole before
	# mkfs (fsbench.sh; on by default).
	[ "${VM_MVC_BENCH_FS_PREFILL:-1}" != 0 ] || cmdline+=" vmmvc_fsprefill=0"
	# make bench VM_MVC_BENCH_COMPRESS_ROWS=tree_cold
	# VM_MVC_BENCH_COMPRESS_ROUNDS=3: the same for the compression table
	# (compressbench.sh).
	[ -z "${VM_MVC_BENCH_COMPRESS_ROWS:-}" ] ||
		cmdline+=" vmmvc_compressrows=$VM_MVC_BENCH_COMPRESS_ROWS"
	[ -z "${VM_MVC_BENCH_COMPRESS_ROUNDS:-}" ] ||
		cmdline+=" vmmvc_compressrounds=$VM_MVC_BENCH_COMPRESS_ROUNDS"
	# The filesystem table's 64 MiB files (fsbench.sh): 96 MiB ramdisks
	# instead of 4 MiB; brd allocates a page when it is first written.  Only
	# for bench: the toyfs tests count on the 4 MiB default.
	[ "$bootmode" != bench ] || cmdline+=" brd.rd_size=98304"
	echo "$cmdline"
}

# Boots the image once in QEMU.  Usage: boot ACCEL MODE TIMEOUT LOG
boot() {
	# 4-level paging: the common path (under KASAN an early-boot interrupt
	# once hit a wild access with TCG's LA57).
	local accel=$1 bootmode=$2 limit=$3 console=$4 cmdline cpu=max,la57=off
	# tsc=reliable: no clocksource watchdog noise from an emulated TSC.
	cmdline="console=ttyS0 tsc=reliable $(guest_cmdline "$bootmode")"
	[ "$accel" = kvm ] && cpu=host
	# make shell: the size of the terminal, for the guest's ttyS1.
	local rows_cols
	if [ "$bootmode" = shell ] && rows_cols=$(stty size 2>/dev/null); then
		cmdline+=" vmmvc_tty=${rows_cols/ /x}"
	fi
	local share=()
	[ -z "${VM_MVC_GUEST_ROOT:-}" ] || share=(-virtfs
		"local,path=$VM_MVC_GUEST_ROOT,mount_tag=debian,security_model=none,readonly=on")
	# make bench VM_MVC_PROFILE=1: QEMU's monitor on a socket, sampled by
	# profile-sample.py while the guest runs (the guest has no perf).
	local monitor=none sampler=
	if [ -n "${VM_MVC_PROFILE:-}" ] && { [ "$bootmode" = bench ] || [ "$bootmode" = check ]; }; then
		cmdline+=" vmmvc_profile=1"
		monitor=unix:$out/monitor.sock,server=on,wait=off
		rm -f "$out/monitor.sock"
		python3 "$TOP/scripts/profile-sample.py" "$out/monitor.sock" "$console" \
			"$out/profile.samples" &
		sampler=$!
	fi
	local qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp 2 -m 2048 -no-reboot
		-display none -kernel "$bzimage" -initrd "$out/initramfs.cpio" -append "$cmdline"
		"${share[@]}")
	local rc=0
	case $bootmode in
	run)
		timeout -k 5 "$limit" "${qemu[@]}" -monitor none -serial "file:$console" \
			-serial stdio </dev/null || rc=$?
		;;
	shell)
		# No time limit, and the terminal stays QEMU's (timeout would put
		# it in a background process group).  Ctrl-C goes to the guest;
		# Ctrl-A x stops QEMU.
		: >"$console"
		"${qemu[@]}" -serial "file:$console" \
			-chardev stdio,id=term,mux=on,signal=off -serial chardev:term \
			-mon chardev=term || rc=$?
		;;
	*)
		timeout -k 5 "$limit" "${qemu[@]}" -monitor "$monitor" -serial stdio \
			</dev/null >"$console" 2>&1 || rc=$?
		;;
	esac
	[ -z "$sampler" ] || wait "$sampler" || true
	return $rc
}

# Runs the User-Mode Linux kernel once: a host process, with the same
# image (initrd=) and guest scripts as QEMU.  One CPU (ncpus=2 needs
# seccomp=on, and a clang-built UML then panics at once); the console on
# stdout; slab_nomerge keeps buffer_head's own line in /proc/slabinfo, which
# the toyfs tests read.  The memory is a file in /dev/shm.  On a panic UML
# aborts: no core file.  Usage: boot_uml MODE TIMEOUT LOG
boot_uml() {
	local bootmode=$1 limit=$2 console=$3 rc=0 cmdline pid
	# make shell: Debian's userspace comes over virtio-9p, which UML has not.
	[ "$bootmode" != shell ] || die "make shell needs QEMU (the Debian root is shared over virtio-9p)"
	cmdline="mem=2048M initrd=$out/initramfs.cpio con=null con0=null,fd:1 slab_nomerge"
	# retain_initrd: um reads the image into memblock_alloc() memory, which
	# kmemleak tracks as an object it scans for the whole run, and the
	# generic free_initrd_mem() gives those pages to the page allocator
	# without telling kmemleak.  Every stale pointer left in them (the
	# planted leak's, in insmod's freed stack) then counted as a reference
	# and the kmemleak self-test found nothing (Documentation/testing.rst).
	# Kept, the pages hold only the image's bytes.
	[ "$flavour" != uml-debug ] || cmdline+=" retain_initrd"
	# The Debian root through hostfs (QEMU's virtio-9p share; debian.sh).
	[ -z "${VM_MVC_GUEST_ROOT:-}" ] || cmdline+=" hostfs=$VM_MVC_GUEST_ROOT vmmvc_debian=hostfs"
	cmdline+=" $(guest_cmdline "$bootmode")"
	# make bench UML=1 VM_MVC_PROFILE=1: the host's perf samples the UML
	# process (profile-uml.py, started by guest.sh outside the toolchain's
	# root), phase by phase as under QEMU.
	[ -z "${VM_MVC_PROFILE:-}" ] || [ "$bootmode" != bench ] || cmdline+=" vmmvc_profile=1"
	# shellcheck disable=SC2086 # the command line is words
	(ulimit -c 0 && exec timeout -k 5 "$limit" "$uml" $cmdline) </dev/null >"$console" 2>&1 &
	pid=$!
	# make run: no second serial line; the demo is on the console, shown live.
	[ "$bootmode" != run ] || tail -n +1 --pid=$pid -F "$console" 2>/dev/null
	wait $pid || rc=$?
	return $rc
}

choose_accel() {
	if [ -n "$uml" ]; then
		echo uml
		return
	fi
	if [ -n "${VM_MVC_ACCEL:-}" ]; then
		echo "$VM_MVC_ACCEL"
		return
	fi
	local probe
	probe=$DATA/kvm-probe-$(key_of "$bzimage" "$(uname -r)")
	if [ ! -f "$probe" ]; then
		if [ -w /dev/kvm ] && boot kvm probe 20 "$out/kvm-probe.log" &&
			grep -q 'vm_mvc-guest: end probe' "$out/kvm-probe.log"; then
			echo kvm >"$probe"
		else
			echo tcg >"$probe"
		fi
	fi
	cat "$probe"
}
accel=$(choose_accel)
echo "$accel" >"$out/accel"

case $flavour/$mode in
*/shell) limit=none ;;
# One million randomized operations under KASAN and TCG: about an hour.
*/soak) limit=${VM_MVC_TIMEOUT:-10800} ;;
# The limits catch a hung guest; each is about twice what its suite takes on
# a quiet machine, because a host whose CPUs are shared runs TCG at half
# speed or less (2026-12-03: 35-45% steal time, the base guest at 900 s
# with 5 parts still to go), and `VM_MVC_CI_PARALLEL=1 .ci/run` runs the
# two guests side by side on two cores: there the base guest took 1343 s
# (915 s alone; its partial_page part's 9p traffic keeps a second core
# busy) and the debug guest 2475 s (1764 s alone).
debug/*) limit=${VM_MVC_TIMEOUT:-3300} ;;
# User-Mode Linux's debug kernel needs about 30 minutes for the suite that
# QEMU's debug guest runs in 12-20: there every interrupt disable and
# enable is a host sigprocmask, and lockdep does a pair per lock taken
# (Documentation/testing.rst, "The debug UML kernel").
uml-debug/*) limit=${VM_MVC_TIMEOUT:-3600} ;;
*) limit=${VM_MVC_TIMEOUT:-2400} ;;
esac
console=$out/console.log
rm -f "$out/timeout"
limit_text="time limit $limit s"
[ "$flavour/${VM_MVC_TIMEOUT:-}" != uml-debug/ ] ||
	limit_text+=": UML debug is slow, Documentation/testing.rst"
[ "$mode" != shell ] || limit_text="no time limit"
log "booting the $flavour kernel ($accel, $limit_text); console: $console"
start=$SECONDS
rc=0
if [ -n "$uml" ]; then
	boot_uml "$mode" "$limit" "$console" || rc=$?
else
	boot "$accel" "$mode" "$limit" "$console" || rc=$?
fi
log "guest ran for $((SECONDS - start)) s"
case $rc in
0) ;;
124 | 137) echo "$limit" >"$out/timeout"; log "guest timed out after $limit s" ;;
*) log "the guest ($accel) exited with status $rc" ;;
esac
case $mode in
check | soak) ;; # results.py judges the console
run | shell)
	# The console was kept off the terminal; shown when something went wrong.
	# What results.py fails a check on (its FORBIDDEN), in short.
	problems='Kernel panic|BUG:|Oops|WARNING:|UBSAN:|Call Trace:|unreferenced object|'
	problems+="insmod: can't insert|\\] +not ok [0-9]|vm_mvc-guest: $mode failed"
	problem=$(grep -m1 -E "$problems" "$console" || true)
	if [ "$rc" != 0 ] || [ -n "$problem" ] || ! grep -q "vm_mvc-guest: end $mode" "$console"; then
		tail -n 60 "$console" >&2
		die "the guest's $mode failed${problem:+ (console: $problem)}; console: $console"
	fi
	;;
*) [ "$rc" = 0 ] ;;
esac
