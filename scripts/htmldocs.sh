#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make htmldocs`: Documentation/ with Sphinx into build/html, every warning
# an error (-W), as the kernel's own `make htmldocs SPHINXOPTS=-W`.  Runs
# inside the toolchain; `make check` runs it as one of the style gates.
. "$(dirname "$0")/lib.sh"

out=${VM_MVC_BUILD_DIR:-$TOP/build}/html
command -v sphinx-build >/dev/null || die "no sphinx-build (Debian's python3-sphinx)"
# -n: references to missing targets are warnings too; -E: no stale
# environment, so a warning is never hidden by a cached earlier build.
exec sphinx-build -W --keep-going -n -E -q -b html -d "$out/.doctrees" \
	"$TOP/Documentation" "$out"
