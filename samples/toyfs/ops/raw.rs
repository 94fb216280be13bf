// SPDX-License-Identifier: GPL-2.0

//! What every trampoline needs to turn its raw arguments into toyfs
//! objects.

use crate::vfs::Inode;
use kernel::bindings;

/// The toyfs inode behind a VFS inode pointer.
///
/// # Safety
///
/// `inode` is a live toyfs inode for `'a`.
pub(crate) unsafe fn inode<'a>(inode: *mut bindings::inode) -> &'a Inode {
    // SAFETY: The caller's guarantee.
    unsafe { Inode::from_raw(inode) }
}
