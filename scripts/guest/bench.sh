#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In-guest runner for `make bench`: loads vm_mvc without running its KUnit
# suites, then the benchmark module, and runs each table by writing its
# name to debugfs.  The module prints "vm_mvc_bench: ..." lines on the
# console; scripts/bench-report.py reads them from the console log.
# The table "fs" (part 3: toyfs vs ext2 vs tmpfs) is fsbench.sh, the table
# "compress" (issue 13 item 6: LZ4 against plain toyfs) compressbench.sh.
run=/sys/kernel/debug/vm_mvc_bench/run

echo "no_suite.no_case" >/sys/module/kunit/parameters/filter_glob
insmod /modules/vm_mvc.ko || exit 1
# vmmvc_bench_args=a=1,b=2 (VM_MVC_BENCH_ARGS): the module's parameters.
args=$(sed -n 's/.*vmmvc_bench_args=\([a-z0-9_=,]*\).*/\1/p' /proc/cmdline | tr , ' ')
# shellcheck disable=SC2086 # one word per parameter
if ! insmod /modules/vm_mvc_bench.ko $args; then
	rmmod vm_mvc
	exit 1
fi
echo "vm_mvc_bench: platform cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) kernel=$(uname -r)" >/dev/kmsg
# Let the rest of the boot (deferred work, the other CPU) settle first.
sleep 3
# vmmvc_bench=a,b on the kernel command line (VM_MVC_BENCH_TABLES) picks tables.
tables=$(sed -n 's/.*vmmvc_bench=\([a-z,]*\).*/\1/p' /proc/cmdline | tr , ' ')
for table in ${tables:-percall profile user bandwidth order sids fs compress}; do
	case $table in
	fs)
		/guest/fsbench.sh
		continue
		;;
	compress)
		/guest/compressbench.sh
		continue
		;;
	esac
	echo "$table" >"$run" ||
		echo "vm_mvc_bench: table=$table failed" >/dev/kmsg
done
rmmod vm_mvc_bench
# Whatever the tables took must be back: no live sid, no pinned page.
grep -E '^(sids|user_pages):' /sys/kernel/debug/vm_mvc/stats | while read -r line; do
	echo "vm_mvc_bench: stats $line" >/dev/kmsg
done
rmmod vm_mvc
echo "vm_mvc_bench: done" >/dev/kmsg
