#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: load the modules and show them working.
set -x
insmod /modules/vm_mvc.ko
grep vm_mvc /proc/modules
