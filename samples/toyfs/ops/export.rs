// SPDX-License-Identifier: GPL-2.0

//! The export operations of toyfs: file handles for
//! `name_to_handle_at`, `open_by_handle_at` and NFS, as ext2's
//! (fs/ext2/super.c, `ext2_export_ops`).
//!
//! A handle is the kernel's `FILEID_INO32_GEN` (with the parent's,
//! `FILEID_INO32_GEN_PARENT`): the inode number and its generation
//! (`generic_encode_ino32_fh`).  The generation is the inode's 16-bit
//! number of the GENERATIONS feature (format/inode.rs), one more for each
//! inode a slot holds: a handle of a deleted file names no file that
//! reused its inode number (before 65,535 more files did), and gives
//! `ESTALE`, as does a handle of inode 0, of an inode past the table, or
//! of a free inode (`namei::iget_by_handle`).  A directory's parent is
//! its ".." entry (`get_parent`); its name in the parent is found by the
//! exportfs default, a `readdir` of the parent.

use super::namei::{iget, iget_by_handle};
use crate::{namei, sys, vfs::SuperBlock};
use kernel::{bindings, ffi::c_int, prelude::*};

/// `s_export_op` of toyfs.
pub(super) static EXPORT_OPS: sys::export_operations = sys::export_operations {
    encode_fh: Some(sys::generic_encode_ino32_fh),
    fh_to_dentry: Some(fh_to_dentry),
    fh_to_parent: Some(fh_to_parent),
    get_parent: Some(get_parent),
    // SAFETY: Every other member is a nullable function pointer or the
    // `flags` word, for which all zeros are "none" (the exportfs
    // defaults).
    ..unsafe { core::mem::zeroed() }
};

/// The `get_inode` of `generic_fh_to_dentry` and `generic_fh_to_parent`:
/// the inode `ino` of generation `generation`, referenced, or `ESTALE`
/// (an `ERR_PTR`).
///
/// # Safety
///
/// Called only by the exportfs helpers, with a mounted toyfs superblock.
unsafe extern "C" fn get_inode(
    sb: *mut bindings::super_block,
    ino: u64,
    generation: u32,
) -> *mut bindings::inode {
    // SAFETY: A handle is decoded on a mounted toyfs (the caller's
    // guarantee): `s_fs_info` is set up.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    match iget_by_handle(sb, ino, generation) {
        Ok(inode) => inode.into_raw(),
        Err(err) => err.to_ptr(),
    }
}

/// The VFS's `fh_to_dentry` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fh_to_dentry`.
unsafe extern "C" fn fh_to_dentry(
    sb: *mut bindings::super_block,
    fid: *mut sys::fid,
    fh_len: c_int,
    fh_type: c_int,
) -> *mut bindings::dentry {
    // SAFETY: The caller's arguments, passed on; `get_inode` takes a
    // toyfs superblock, which this is.
    unsafe { sys::generic_fh_to_dentry(sb, fid, fh_len, fh_type, Some(get_inode)) }
}

/// The VFS's `fh_to_parent` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fh_to_parent`.
unsafe extern "C" fn fh_to_parent(
    sb: *mut bindings::super_block,
    fid: *mut sys::fid,
    fh_len: c_int,
    fh_type: c_int,
) -> *mut bindings::dentry {
    // SAFETY: As in `fh_to_dentry`.
    unsafe { sys::generic_fh_to_parent(sb, fid, fh_len, fh_type, Some(get_inode)) }
}

/// The VFS's `get_parent` for toyfs: the directory ".." of directory
/// `child` names (`ext2_get_parent`), looked up and read with the
/// directory's `i_rwsem` shared, as the VFS's `lookup` is (exportfs
/// calls this with no lock held).  The lock is held across the `iget`:
/// a rename that moves `child` to another directory and an `rmdir` of it
/// take it exclusively, so while it is held ".." names the directory
/// that holds `child`, which cannot be removed (it is not empty).  A
/// removed `child` has no parent: `ESTALE`, as exportfs reports a handle
/// of a removed directory (ext2's empty `rmdir`'ed directory has no ".."
/// either).  A ".." that names no inode in use in a directory still
/// linked is damage (`EUCLEAN`, from `iget`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `get_parent`.
unsafe extern "C" fn get_parent(child: *mut bindings::dentry) -> *mut bindings::dentry {
    // SAFETY: exportfs asks for the parent of a positive dentry of a
    // toyfs directory, whose inode it holds.
    let dir = unsafe { super::raw::inode((*child).d_inode) };
    let parent = {
        let _shared = dir.lock_shared();
        if dir.nlink() == 0 {
            Err(ESTALE)
        } else {
            namei::lookup(dir, b"..").and_then(|ino| match ino {
                // Child then parent, as nothing takes them the other way
                // round: `iget` takes no `i_rwsem`.
                Some(ino) => iget(dir.sb(), ino),
                // Every toyfs directory has "..": one without is damaged.
                None => Err(EUCLEAN),
            })
        }
    };
    let raw = match parent {
        Ok(parent) => parent.into_raw(),
        Err(err) => err.to_ptr(),
    };
    // SAFETY: `d_obtain_alias` takes the inode reference, or passes an
    // `ERR_PTR` on as its result.
    unsafe { bindings::d_obtain_alias(raw) }
}
