# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# The debug kernel's allocation-failure injection (failslab and
# fail_page_alloc, Documentation/fault-injection/fault-injection.rst),
# restricted to tasks that set /proc/<pid>/make-it-fail (task-filter).
# Sourced by userdev-tests.sh.
#
#   fault_injection_available     true if the kernel has both knobs
#   fault_injection_on PERCENT    fails PERCENT % of the filtered tasks'
#                                 allocations, sleeping ones included
#   fault_injection_off           fails nothing

fault_injection_dirs="/sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc"

fault_injection_available() {
	for dir in $fault_injection_dirs; do
		[ -d "$dir" ] || return 1
	done
}

fault_injection_on() {
	for dir in $fault_injection_dirs; do
		# No message and no stack trace a failure: the console must stay
		# clean for results.py, which fails a run on any "Call Trace:".
		echo 0 >"$dir/verbose" &&
			echo Y >"$dir/task-filter" &&
			echo N >"$dir/ignore-gfp-wait" &&
			echo 1 >"$dir/interval" &&
			echo 0 >"$dir/space" &&
			echo -1 >"$dir/times" &&
			echo "$1" >"$dir/probability" || return 1
	done
}

fault_injection_off() {
	for dir in $fault_injection_dirs; do
		echo 0 >"$dir/probability" && echo 0 >"$dir/times" || return 1
	done
}
