// SPDX-License-Identifier: GPL-2.0

//! Buffer heads of the filesystem's device: the blocks of metadata.

use super::SuperBlock;
use crate::sys;
use core::ptr::NonNull;
use kernel::{error::to_result, prelude::*};

/// A buffer head of the filesystem's device, released on drop.
///
/// # Invariants
///
/// `bh` is a referenced, uptodate buffer head of `len` bytes of data.
pub(crate) struct Buffer {
    bh: NonNull<sys::buffer_head>,
    len: usize,
}

impl Buffer {
    /// Reads block `block` of the device (`sb_bread`); `EIO` if it cannot.
    pub(crate) fn read(sb: &SuperBlock, block: u32) -> Result<Self> {
        // SAFETY: `sb` is a live superblock with a block device and its
        // block size set (type invariant of `SuperBlock`).
        let bh = unsafe { sys::toyfs_sb_bread(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh).ok_or(EIO)?;
        // SAFETY: `sb_bread` returned a referenced buffer head.
        let len = unsafe { (*bh.as_ptr()).b_size };
        // INVARIANT: `sb_bread` returns referenced, uptodate buffers.
        Ok(Self { bh, len })
    }

    /// The block's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `b_data` points to `len` bytes that stay mapped while the
        // buffer is referenced (type invariant); writers of metadata
        // blocks hold the filesystem lock, of data blocks the folio lock.
        unsafe { core::slice::from_raw_parts((*self.bh.as_ptr()).b_data.cast::<u8>(), self.len) }
    }

    /// The block's bytes, to change; `mark_dirty` then schedules the write.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: As in `data`; `&mut self` makes this the only slice
        // through this handle.
        unsafe {
            core::slice::from_raw_parts_mut((*self.bh.as_ptr()).b_data.cast::<u8>(), self.len)
        }
    }

    /// Marks the buffer dirty (`mark_buffer_dirty`).
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The buffer head is referenced (type invariant).
        unsafe { sys::mark_buffer_dirty(self.bh.as_ptr()) };
    }

    /// Writes the buffer now and waits (`sync_dirty_buffer`).
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: The buffer head is referenced (type invariant).
        to_result(unsafe { sys::sync_dirty_buffer(self.bh.as_ptr()) })
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: The reference taken by `sb_bread` is ours (type
        // invariant) and dropped once.
        unsafe { sys::toyfs_brelse(self.bh.as_ptr()) };
    }
}
