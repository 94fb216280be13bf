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

# Cases that fail on toyfs because of a known bug or a missing feature,
# and pass on ext2 or tmpfs: a line `GAP) echo "REASON" ;;` each, and
# the case goes through toyfs_case, reported as skipped with its reason,
# never left out.  The line goes with the fix, and the case runs from
# then on.  None today: issue 12's fixes closed migrate_folio, fallocate,
# SEEK_DATA/SEEK_HOLE, the extending-write race and fsync's write errors.
toyfs_gap() {
	case $1 in
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
