#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, after the guest ran: turns the "vm_mvc_bench:" lines of the
# console log into CSV files, tables and plots in OUT (bench-report.py).
# The plots need matplotlib: taken from the host's python3 if it has it,
# else installed from PyPI with pip into a venv in the cache.  Without it
# the tables and CSV files are still written.  Usage: bench-report.sh OUT
. "$(dirname "$0")/lib.sh"

out=$1
python=python3
command -v python3 >/dev/null || die "make bench needs python3 on the host"

if ! python3 -c 'import matplotlib' 2>/dev/null; then
	venv=$CACHE/bench-venv
	lock bench-venv
	if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
		log "installing matplotlib from PyPI into $venv ..."
		if python3 -m venv "$venv" >"$CACHE/bench-venv.log" 2>&1 &&
			"$venv/bin/pip" install --quiet matplotlib >>"$CACHE/bench-venv.log" 2>&1; then
			log "matplotlib installed"
		else
			log "could not install matplotlib (log: $CACHE/bench-venv.log); no plots"
		fi
	fi
	"$venv/bin/python" -c 'import matplotlib' 2>/dev/null && python=$venv/bin/python
fi
exec "$python" "$TOP/scripts/bench-report.py" "$out"
