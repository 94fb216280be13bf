# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Helpers of the toyfs guest tests, sourced after ktap.sh.
#
#   fsck_clean DEV           fsck.toyfs finds no damage and the clean state
#   manifest_holds MANIFEST  the files, removals and directories a
#                            `toyfs-stress faults|io-errors` manifest lists
#   toyfs_gap GAP            the reason a case cannot pass on toyfs yet
#   toyfs_case NAME GAP CMD  ktap_case, or ktap_skip with toyfs_gap's reason
#                            (`make check TOYFS_RUN_GAPS=1` runs it anyway:
#                            whether a fix makes it pass)

fsck_clean() {
	out=$(fsck.toyfs -n "$1") || { echo "$out"; return 1; }
	echo "$out"
	! echo "$out" | grep -q 'not cleanly unmounted'
}

manifest_holds() {
	bad=0
	while read -r kind path ref; do
		case $kind in
		file) cmp "$path" "$ref" || bad=1 ;;
		absent) [ ! -e "$path" ] || { echo "$path still exists"; bad=1; } ;;
		dir) [ -d "$path" ] || { echo "$path is not a directory"; bad=1; } ;;
		esac
	done <"$1"
	echo "$(grep -c '^file ' "$1") files and $(grep -c '^absent ' "$1") removals checked"
	return $bad
}

# Cases that fail on toyfs today because of a known bug or a missing
# feature (issue 12, branch toyfs-io), and pass on ext2 or tmpfs: each is
# reported as skipped with its reason, never left out.  A line goes when
# toyfs-io lands the fix or the feature, and the case runs from then on.
toyfs_gap() {
	case $1 in
	compact_memory) echo "toyfs has no migrate_folio: migrating its folios WARNs (issue 12 item 3)" ;;
	fallocate) echo "toyfs has no fallocate yet: PUNCH_HOLE, ZERO_RANGE, KEEP_SIZE (issue 12 item 4)" ;;
	seek_holes) echo "toyfs reports no holes to SEEK_HOLE/SEEK_DATA yet, generic_file_llseek (issue 12 item 4)" ;;
	eof_race) echo "an extending write zeroes the old last page before it raises i_size: a store past the end in between becomes file data (issue 12 item 3)" ;;
	io_errors) echo "toyfs's fsync reports the block device's write errors, on any file, and loses metadata (issue 12 item 3)" ;;
	*) return 1 ;;
	esac
}

toyfs_case() {
	name=$1 gap=$2
	shift 2
	if [ -z "${TOYFS_RUN_GAPS:-}" ] && reason=$(toyfs_gap "$gap"); then
		ktap_skip "$name" "$reason"
	else
		ktap_case "$name" "$@"
	fi
}
