// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the vm_mvc module.
 *
 * Rust reaches the kernel only through bindgen's view of it, and static
 * inline functions have no symbol to link against.  Each helper here
 * forwards to one such inline with the same signature and no logic of its
 * own, in the manner of rust/helpers/ (which out-of-tree modules cannot
 * extend).  The EXPORT_SYMBOL_GPL lines for the C ABI implemented in Rust
 * are here too, because modpost reads exports from C objects only.
 */

#include <linux/module.h>
#include <vm_mvc.h>
