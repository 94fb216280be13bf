// SPDX-License-Identifier: GPL-2.0

//! The operations of regular files: attributes, reads and writes, fsync
//! and mmap.

use super::raw::inode;
use crate::{file, inode::write_inode, sys, vfs::LockedFolio};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
};

pub(crate) const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    setattr: Some(setattr),
    ..pin_init::zeroed()
};

/// The VFS's `setattr` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `setattr`.
pub(crate) unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // SAFETY: The VFS passes a dentry of ours with its inode locked.
    let raw = unsafe { (*dentry).d_inode };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    from_result(|| {
        // SAFETY: As above; `attr` is valid for the call.
        to_result(unsafe { bindings::setattr_prepare(idmap, dentry, attr) })?;
        // SAFETY: As above.
        let (valid, size) = unsafe { ((*attr).ia_valid, (*attr).ia_size) };
        if valid & bindings::ATTR_SIZE != 0 && size as u64 != inode.size() {
            // CAST: `setattr_prepare` checked the size against s_maxbytes.
            file::set_size(inode, size as u64)?;
        }
        // SAFETY: As above.
        unsafe { bindings::setattr_copy(idmap, raw, attr) };
        inode.mark_dirty();
        Ok(0)
    })
}

/// The VFS's `fsync` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fsync`.
pub(crate) unsafe extern "C" fn fsync(
    file: *mut bindings::file,
    start: i64,
    end: i64,
    _datasync: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes an open file of ours.
        to_result(unsafe { bindings::file_write_and_wait_range(file, start, end) })?;
        // SAFETY: As above.
        let inode = unsafe { inode(sys::toyfs_file_inode(file)) };
        write_inode(inode, true)?;
        // SAFETY: The superblock of an open file has its block device.
        to_result(unsafe { bindings::sync_blockdev((*inode.sb().as_ptr()).s_bdev) })?;
        Ok(0)
    })
}

pub(crate) const FILE_OPS: bindings::file_operations = bindings::file_operations {
    llseek: Some(bindings::generic_file_llseek),
    read_iter: Some(bindings::generic_file_read_iter),
    write_iter: Some(write_iter),
    mmap: Some(mmap),
    open: Some(bindings::generic_file_open),
    fsync: Some(fsync),
    splice_read: Some(bindings::filemap_splice_read),
    ..pin_init::zeroed()
};

/// The VFS's `write_iter` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_iter`.
unsafe extern "C" fn write_iter(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The VFS passes a kiocb of an open file of ours.
    let raw = unsafe { sys::toyfs_file_inode((*iocb).ki_filp) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; the lock is released below on every path.
    unsafe { sys::toyfs_inode_lock(raw) };
    let result = (|| -> Result<isize> {
        // SAFETY: The inode is locked, as `generic_write_checks` needs.
        let count = unsafe { bindings::generic_write_checks(iocb, from) };
        if count <= 0 {
            return to_result(count as c_int).map(|()| 0);
        }
        // SAFETY: As above.
        let pos = unsafe { (*iocb).ki_pos } as u64;
        file::prepare_extend(inode, pos)?;
        // SAFETY: As above.
        Ok(unsafe { bindings::__generic_file_write_iter(iocb, from) })
    })();
    // SAFETY: Locked above.
    unsafe { sys::toyfs_inode_unlock(raw) };
    match result {
        // SAFETY: The write is done and the inode unlocked, as
        // `generic_write_sync` needs.
        Ok(written) if written > 0 => unsafe { sys::toyfs_generic_write_sync(iocb, written) },
        Ok(written) => written,
        Err(err) => err.to_errno() as isize,
    }
}

/// The VFS's `mmap` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `mmap`.
unsafe extern "C" fn mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    // SAFETY: The VFS maps an open file of ours into a new vma.
    unsafe {
        sys::toyfs_file_accessed(file);
        (*vma).vm_ops = &VM_OPS;
    }
    0
}

const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(bindings::filemap_fault),
    map_pages: Some(bindings::filemap_map_pages),
    page_mkwrite: Some(page_mkwrite),
    ..pin_init::zeroed()
};

/// The VFS's `page_mkwrite` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `page_mkwrite`.
unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: The fault handler passes a write fault on a page of a
    // shared mapping of one of our files; the page is referenced.
    let (file, page) = unsafe { ((*(*vmf).__bindgen_anon_1.vma).vm_file, (*vmf).page) };
    // SAFETY: As above.
    let raw = unsafe { sys::toyfs_file_inode(file) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; ended below on every path.
    unsafe {
        sys::toyfs_sb_start_pagefault((*raw).i_sb);
        bindings::file_update_time(file);
    }
    // SAFETY: The page is referenced by the fault.
    let folio = unsafe { sys::toyfs_page_folio(page) };
    // SAFETY: As above; unlocked below unless handed locked to the fault.
    unsafe { sys::toyfs_folio_lock(folio) };
    // SAFETY: Locked above.
    let still_ours = unsafe { bindings::folio_mapping(folio) == (*raw).i_mapping };
    let ret = if !still_ours {
        // Truncated while we waited for the lock: let the fault retry.
        bindings::vm_fault_reason_VM_FAULT_NOPAGE
    } else {
        // SAFETY: Locked and referenced until we return.
        let locked = unsafe { LockedFolio::from_raw(folio) };
        match file::page_mkwrite(inode, &locked) {
            Ok(()) => {
                locked.mark_dirty();
                // SAFETY: Locked; stable pages must be waited for before the
                // store.
                unsafe { bindings::folio_wait_stable(folio) };
                bindings::vm_fault_reason_VM_FAULT_LOCKED
            }
            Err(err) if err == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
        }
    };
    if ret != bindings::vm_fault_reason_VM_FAULT_LOCKED {
        // SAFETY: Locked above and not handed on.
        unsafe { bindings::folio_unlock(folio) };
    }
    // SAFETY: Started above.
    unsafe { sys::toyfs_sb_end_pagefault((*raw).i_sb) };
    ret
}
