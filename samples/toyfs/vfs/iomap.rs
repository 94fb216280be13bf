// SPDX-License-Identifier: GPL-2.0

//! The kernel's iomap, for toyfs's true direct I/O: the operation table
//! `iomap_dio_rw` asks for the disk extents of a range, and the extent
//! toyfs answers with (Documentation/toyfs.rst, "Direct I/O").

use super::SuperBlock;
use crate::sys;
use kernel::ffi::{c_int, c_uint};

/// `iomap_begin`'s signature.
pub(crate) type IomapBegin = unsafe extern "C" fn(
    *mut kernel::bindings::inode,
    i64,
    i64,
    c_uint,
    *mut sys::iomap,
    *mut sys::iomap,
) -> c_int;

/// A filesystem's iomap operations (`struct iomap_ops`): `iomap_begin`
/// only, which iomap calls for each extent (no `iomap_end`: nothing is
/// reserved or allocated).
pub(crate) struct IomapOps(sys::iomap_ops);

// SAFETY: A table of function pointers, never written after it is made.
unsafe impl Sync for IomapOps {}

impl IomapOps {
    /// The table with `begin` as its `iomap_begin`.
    pub(crate) const fn new(begin: IomapBegin) -> Self {
        Self(sys::iomap_ops {
            iomap_begin: Some(begin),
            iomap_end: None,
            iomap_next: None,
        })
    }

    /// The table, for `iomap_dio_rw`.
    pub(crate) fn as_ptr(&'static self) -> *const sys::iomap_ops {
        &self.0
    }
}

/// An extent of a file for direct I/O, in bytes: `length` bytes of the
/// file from `offset` are stored contiguously from byte `disk` of the
/// device.
pub(crate) struct IoExtent {
    /// File offset.
    pub(crate) offset: u64,
    /// Device offset.
    pub(crate) disk: u64,
    /// Bytes.
    pub(crate) length: u64,
}

/// Fills the `struct iomap` an `iomap_begin` call is to return with
/// `extent` (`IOMAP_MAPPED`), on the device of `sb`.
///
/// # Safety
///
/// `iomap` is the `iomap` argument of an `iomap_begin` call, during it.
pub(crate) unsafe fn fill_iomap(iomap: *mut sys::iomap, sb: &SuperBlock, extent: IoExtent) {
    // SAFETY: The caller's guarantee: iomap's own structure, ours to fill
    // for the call.
    unsafe {
        (*iomap).flags = 0;
        // CAST: a small constant.
        (*iomap).type_ = sys::IOMAP_MAPPED as u16;
        // CAST: offsets inside the largest file.
        (*iomap).offset = extent.offset as i64;
        (*iomap).addr = extent.disk;
        (*iomap).length = extent.length;
        (*iomap).bdev = sb.bdev().cast();
    }
}
