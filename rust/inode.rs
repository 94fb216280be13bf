// SPDX-License-Identifier: GPL-2.0

//! A counted inode reference and the page-cache lookups vm_mvc makes in it.
//!
//! This is AIX's memory object behind a sid: the file's page cache.

use crate::{
    folio::{Folio, FolioLock},
    sys,
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::ARef, //
};

/// An inode on which a reference is held; `iput` on drop.
///
/// # Invariants
///
/// `inode` points to a live inode and the instance owns one reference.
pub(crate) struct InodeRef {
    inode: NonNull<bindings::inode>,
}

// SAFETY: Inode references may be taken and dropped from any thread.
unsafe impl Send for InodeRef {}
// SAFETY: The methods only read fields fixed for the inode's lifetime.
unsafe impl Sync for InodeRef {}

impl InodeRef {
    /// Takes another reference on an inode the caller already holds one on.
    ///
    /// # Safety
    ///
    /// `inode` points to an inode with a reference count that the caller
    /// keeps above zero for the duration of this call (`ihold` rule).
    pub(crate) unsafe fn hold(inode: NonNull<bindings::inode>) -> Self {
        // SAFETY: The caller guarantees that the inode is referenced.
        unsafe { bindings::ihold(inode.as_ptr()) };
        // INVARIANT: `ihold` just took the reference this instance owns.
        Self { inode }
    }

    /// The raw inode pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.inode.as_ptr()
    }

    /// The inode's page cache.
    pub(crate) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: The inode is alive (type invariant); `i_mapping` is set at
        // inode creation and not changed for a regular file.
        unsafe { (*self.as_ptr()).i_mapping }
    }

    /// Inode number, for messages.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: The inode is alive (type invariant); `i_ino` is fixed.
        unsafe { (*self.as_ptr()).i_ino }
    }

    /// Whether page `index` lies below the filesystem's maximum file size.
    pub(crate) fn index_in_range(&self, index: usize) -> bool {
        // SAFETY: The inode and its super block are alive (type invariant);
        // `s_maxbytes` is set at mount.
        let max_bytes = unsafe { (*(*self.as_ptr()).i_sb).s_maxbytes };
        // CAST: `s_maxbytes` is a positive `loff_t`.
        let max_pages = (max_bytes as u64).div_ceil(PAGE_SIZE as u64);
        (index as u64) < max_pages
    }

    /// Whether the page cache is shmem's (tmpfs, `shmem_file_setup`), which
    /// creates its folios only through `shmem_get_folio`.
    pub(crate) fn is_shmem(&self) -> bool {
        // SAFETY: The mapping is alive while the inode is (type invariant).
        unsafe { sys::shmem_mapping(self.mapping()) }
    }

    /// Looks up the folio holding page `index`, without creating it.
    ///
    /// `ENOENT` if the page is not in the page cache (AIX: "not mapped to a
    /// real frame"); shadow, swap and DAX entries count as absent.
    pub(crate) fn find_folio(&self, index: usize) -> Result<ARef<Folio>> {
        // SAFETY: The mapping is alive while the inode is (type invariant).
        let folio = unsafe { sys::vm_mvc_filemap_get_folio(self.mapping(), index) };
        let folio = NonNull::new(from_err_ptr(folio)?).ok_or(ENOENT)?;
        // SAFETY: `filemap_get_folio` returned a reference, which moves in.
        Ok(unsafe { ARef::from_raw(folio.cast::<Folio>()) })
    }

    /// Finds or creates the folio holding page `index`, locked
    /// (`filemap_grab_folio`: FGP_LOCK | FGP_ACCESSED | FGP_CREAT).
    pub(crate) fn grab_folio(&self, index: usize) -> Result<FolioLock> {
        // SAFETY: The mapping is alive while the inode is (type invariant).
        let folio = unsafe { sys::vm_mvc_filemap_grab_folio(self.mapping(), index) };
        let folio = NonNull::new(from_err_ptr(folio)?).ok_or(ENOMEM)?;
        // SAFETY: `filemap_grab_folio` returned the folio locked and with a
        // reference, both of which move in.
        Ok(unsafe { FolioLock::from_raw_locked(folio) })
    }
}

impl Clone for InodeRef {
    /// Takes another reference on the inode (`ihold`).
    fn clone(&self) -> Self {
        // SAFETY: `self` owns a reference (type invariant), so the count is
        // above zero for the duration of the call.
        unsafe { Self::hold(self.inode) }
    }
}

impl Drop for InodeRef {
    fn drop(&mut self) {
        // SAFETY: This instance owns one reference (type invariant); `iput`
        // may sleep, and vm_mvc runs in process context only.
        unsafe { bindings::iput(self.as_ptr()) };
    }
}
