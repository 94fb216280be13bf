# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for `make htmldocs` (scripts/htmldocs.sh), which
# builds this folder with -W (every warning is an error) into build/html.

project = 'vm_mvc'
copyright = 'The vm_mvc authors'
root_doc = 'index'
# Sphinx's own default theme: nothing beyond Debian's python3-sphinx.
html_theme = 'alabaster'
html_title = 'vm_mvc for Linux'
# Nothing but reStructuredText; `literal` blocks are not highlighted as
# Python (most are shell sessions, C or tables).
highlight_language = 'none'
exclude_patterns = []
