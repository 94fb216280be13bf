// SPDX-License-Identifier: GPL-2.0

//! Locked page-cache folios of toyfs files, and the file-wide page-cache
//! calls (vm_mvc's sid, `truncate_setsize`).

use super::{Inode, PAGE_SIZE};
use crate::{
    sys,
    vm_mvc_client::{self, Op},
};
use core::marker::PhantomData;
use kernel::{bindings, prelude::*};

/// A page-cache folio of a toyfs file that the caller holds locked for
/// `'a`.  toyfs does not enable large folios: a folio is one page.
///
/// # Invariants
///
/// `folio` is locked and referenced for `'a` and belongs to a toyfs file.
pub(crate) struct LockedFolio<'a> {
    folio: *mut bindings::folio,
    _locked: PhantomData<&'a ()>,
}

impl LockedFolio<'_> {
    /// # Safety
    ///
    /// The caller holds `folio` locked and referenced for the lifetime.
    pub(crate) unsafe fn from_raw(folio: *mut bindings::folio) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            folio,
            _locked: PhantomData,
        }
    }

    /// The file offset of the folio's first byte.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: The folio is referenced (type invariant).
        let pos = unsafe { sys::toyfs_folio_pos(self.folio) };
        // CAST: file offsets are never negative.
        pos as u64
    }

    /// The page number (`pno`) of the folio in its file.
    pub(crate) fn index(&self) -> usize {
        // CAST: page numbers of files below the largest toyfs file fit.
        (self.pos() / PAGE_SIZE as u64) as usize
    }

    /// Runs the vm_mvc command `op` on `len` bytes at `offset` of the
    /// page, through `vm_mvc_folio` (the caller holds the lock).
    pub(crate) fn mvc(&self, offset: usize, len: usize, op: Op<'_>) -> Result {
        // SAFETY: The folio is locked and referenced (type invariant).
        unsafe { vm_mvc_client::mvc_locked_folio(self.folio, self.index(), offset, len, op) }
    }

    /// Whether every byte of the folio is valid.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: The folio is referenced (type invariant).
        unsafe { sys::toyfs_folio_test_uptodate(self.folio) }
    }

    /// Marks every byte of the folio valid.
    pub(crate) fn mark_uptodate(&self) {
        // SAFETY: The folio is locked (type invariant).
        unsafe { sys::toyfs_folio_mark_uptodate(self.folio) };
    }

    /// Marks the folio dirty.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The folio is locked (type invariant), so truncation
        // cannot race.
        unsafe { bindings::folio_mark_dirty(self.folio) };
    }
}

/// Truncates the page cache to the inode's new size (`truncate_setsize`,
/// which also calls `pagecache_isize_extended` when growing).
pub(crate) fn truncate_setsize(inode: &Inode, size: u64) {
    // SAFETY: The inode is live; the caller holds its lock.
    // CAST: sizes are below the largest file.
    unsafe { bindings::truncate_setsize(inode.as_ptr(), size as i64) };
}
