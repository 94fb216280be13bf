// SPDX-License-Identifier: GPL-2.0

//! The `dir_context` of a directory listing.

use crate::sys;
use kernel::{
    bindings,
    ffi::{c_char, c_int, c_uint},
};

/// A directory being listed: `readdir` hands out entries through it.
pub(crate) struct DirEmitter {
    ctx: *mut bindings::dir_context,
}

impl DirEmitter {
    /// # Safety
    ///
    /// `ctx` is the `dir_context` of an `iterate_shared` call that lasts
    /// as long as the emitter.
    pub(crate) unsafe fn from_raw(ctx: *mut bindings::dir_context) -> Self {
        Self { ctx }
    }

    /// The position (byte offset in the directory) to go on from.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: `ctx` is valid for the `iterate_shared` call.
        unsafe { (*self.ctx).pos as u64 }
    }

    /// Sets the position.
    pub(crate) fn set_pos(&mut self, pos: u64) {
        // SAFETY: As in `pos`.
        // CAST: directory sizes are far below `i64::MAX`.
        unsafe { (*self.ctx).pos = pos as i64 };
    }

    /// Emits an entry whose on-disk `file_type` byte is `file_type`
    /// (ext2's `FT_*` values), as the `DT_*` type `fs_ftype_to_dtype`
    /// gives it (`DT_UNKNOWN` for a byte toyfs does not write); false
    /// when the caller's buffer is full.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u32, file_type: u8) -> bool {
        // SAFETY: A pure function of its argument (any value is valid).
        let kind = c_uint::from(unsafe { bindings::fs_ftype_to_dtype(file_type.into()) });
        // SAFETY: As in `pos`; the name is valid for the call.
        // CAST: names are at most 255 bytes.
        unsafe {
            sys::toyfs_dir_emit(
                self.ctx,
                name.as_ptr().cast::<c_char>(),
                name.len() as c_int,
                ino.into(),
                kind,
            )
        }
    }
}
