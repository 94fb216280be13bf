// SPDX-License-Identifier: GPL-2.0

//! The address-space operations of regular files: reading, writing and
//! writing back their folios.

use super::raw::inode;
use crate::{file, sys, vfs::LockedFolio, vfs::PAGE_SIZE};
use kernel::{
    bindings,
    error::from_result,
    ffi::{c_int, c_uint, c_void},
};

pub(crate) const ADDRESS_SPACE_OPS: bindings::address_space_operations =
    bindings::address_space_operations {
        read_folio: Some(read_folio),
        writepages: Some(writepages),
        dirty_folio: Some(dirty_folio),
        write_begin: Some(write_begin),
        write_end: Some(write_end),
        ..pin_init::zeroed()
    };

/// The VFS's `read_folio` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `read_folio`.
unsafe extern "C" fn read_folio(_file: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: The page cache passes a locked, referenced, !uptodate folio
    // of one of our files.
    let (locked, inode) = unsafe {
        (
            LockedFolio::from_raw(folio),
            inode(sys::toyfs_folio_inode(folio)),
        )
    };
    let result = file::fill_folio(inode, &locked);
    if result.is_ok() {
        locked.mark_uptodate();
    }
    // SAFETY: `read_folio` unlocks the folio on every path.
    unsafe { bindings::folio_unlock(folio) };
    from_result(|| result.map(|()| 0))
}

/// `dirty_folio`: `filemap_dirty_folio`, but never for a folio that is not
/// uptodate.
///
/// vm_mvc marks the folio dirty on every ZERO, PROTZERO and WRITE, also
/// through `vm_mvc_folio` while `read_folio` or `write_begin` is filling a
/// !uptodate folio from the disk.  Such a folio holds nothing to write
/// back yet, and `__folio_mark_dirty` warns about dirtying it (which
/// `panic_on_warn` makes fatal); `write_end` and `page_mkwrite` dirty it
/// again once it is uptodate.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `dirty_folio`.
unsafe extern "C" fn dirty_folio(
    mapping: *mut bindings::address_space,
    folio: *mut bindings::folio,
) -> bool {
    // SAFETY: The caller holds the folio locked or otherwise stable.
    if !unsafe { sys::toyfs_folio_test_uptodate(folio) } {
        return false;
    }
    // SAFETY: As above.
    unsafe { bindings::filemap_dirty_folio(mapping, folio) }
}

/// The VFS's `write_begin` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_begin`.
unsafe extern "C" fn write_begin(
    iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    foliop: *mut *mut bindings::folio,
    _fsdata: *mut *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes our mapping, inode locked.
    let inode = unsafe { inode((*mapping).host) };
    let index = pos as u64 / PAGE_SIZE as u64;
    // SAFETY: As above.
    let folio =
        unsafe { sys::toyfs_write_begin_get_folio(iocb, mapping, index as usize, len as usize) };
    if let Err(err) = kernel::error::from_err_ptr(folio) {
        return err.to_errno();
    }
    // SAFETY: `write_begin_get_folio` returns the folio locked and
    // referenced; on error we release both below.
    let locked = unsafe { LockedFolio::from_raw(folio) };
    match file::prepare_write(inode, &locked, pos as u64, len as usize) {
        Ok(()) => {
            // SAFETY: Handed to `write_end` locked and referenced.
            unsafe { *foliop = folio };
            0
        }
        Err(err) => {
            // SAFETY: Ours, see above.
            unsafe {
                bindings::folio_unlock(folio);
                sys::toyfs_folio_put(folio);
            }
            err.to_errno()
        }
    }
}

/// The VFS's `write_end` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_end`.
unsafe extern "C" fn write_end(
    _iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    copied: c_uint,
    folio: *mut bindings::folio,
    _fsdata: *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes the folio `write_begin`
    // returned, locked and referenced, of our mapping, inode locked.
    let (inode, locked) = unsafe { (inode((*mapping).host), LockedFolio::from_raw(folio)) };
    let copied = file::finish_write(inode, &locked, pos as u64, len as usize, copied as usize);
    // SAFETY: Ours since `write_begin`.
    unsafe {
        bindings::folio_unlock(folio);
        sys::toyfs_folio_put(folio);
    }
    file::trim_failed_write(inode, pos as u64 + u64::from(len));
    // CAST: at most `len`.
    copied as c_int
}

/// The VFS's `writepages` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `writepages`.
unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: Writeback of our mapping.
    let inode = unsafe { inode((*mapping).host) };
    let mut folio = core::ptr::null_mut();
    let mut error: c_int = 0;
    loop {
        // SAFETY: The iteration protocol of `writeback_iter`: it returns
        // each dirty folio locked, with its dirty bit cleared for I/O, and
        // records the `error` of the previous one.
        folio = unsafe { bindings::writeback_iter(mapping, wbc, folio, &mut error) };
        if folio.is_null() {
            return error;
        }
        // SAFETY: As above; unlocked below.
        let locked = unsafe { LockedFolio::from_raw(folio) };
        if file::is_inside_eof(inode, &locked) {
            // SAFETY: The folio is locked and its dirty bit cleared.
            unsafe { sys::toyfs_folio_start_writeback(folio) };
            error = match file::write_folio(inode, &locked) {
                Ok(()) => 0,
                Err(err) => {
                    // SAFETY: The mapping is ours.
                    unsafe { sys::toyfs_mapping_set_error(mapping, err.to_errno()) };
                    err.to_errno()
                }
            };
            // SAFETY: Started above.  The bytes are in the buffer heads,
            // which are written with the block device's own writeback.
            unsafe { bindings::folio_end_writeback(folio) };
        }
        // SAFETY: Locked by `writeback_iter`.
        unsafe { bindings::folio_unlock(folio) };
    }
}
