// SPDX-License-Identifier: GPL-2.0

//! Locked page-cache folios of toyfs files, and the file-wide page-cache
//! calls (`truncate_setsize`, `truncate_pagecache_range`).

use super::{folio_state::FolioState, Inode, PAGE_SIZE};
use crate::{
    sys,
    vm_mvc_client::{self, Cmd},
};
use core::marker::PhantomData;
use kernel::{bindings, prelude::*};

/// A scope in which allocations do not recurse into filesystems
/// (`memalloc_nofs_save`), for those made while a folio is locked or
/// while writing back: reclaim must not wait on toyfs itself.
pub(crate) struct NofsScope(u32);

impl NofsScope {
    /// Enters the scope until the value is dropped.
    pub(crate) fn enter() -> Self {
        // SAFETY: Any task context; restored on drop.
        Self(unsafe { sys::toyfs_memalloc_nofs_save() })
    }
}

impl Drop for NofsScope {
    fn drop(&mut self) {
        // SAFETY: Saved by `enter` in this task.
        unsafe { sys::toyfs_memalloc_nofs_restore(self.0) };
    }
}

/// A page-cache folio of a toyfs file that the caller holds locked for
/// `'a`.  Folios may be large: `size` is a power-of-two multiple of the
/// page size, and of the block size.
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

    /// The raw folio.
    pub(crate) fn as_ptr(&self) -> *mut bindings::folio {
        self.folio
    }

    /// The file offset of the folio's first byte.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: The folio is referenced (type invariant).
        let pos = unsafe { sys::toyfs_folio_pos(self.folio) };
        // CAST: file offsets are never negative.
        pos as u64
    }

    /// Bytes of the folio.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: The folio is referenced (type invariant).
        unsafe { sys::toyfs_folio_size(self.folio) }
    }

    /// Runs the vm_mvc command `op` on `len` bytes at `offset` of the
    /// folio, through `vm_mvc_folio_range` (the caller holds the lock).
    pub(crate) fn mvc<'a>(&self, offset: usize, len: usize, cmd: impl Into<Cmd<'a>>) -> Result {
        // SAFETY: The folio is locked and referenced (type invariant).
        unsafe { vm_mvc_client::mvc_locked_folio_range(self.folio, offset, len, cmd) }
    }

    /// Whether every byte of the folio is valid.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: The folio is referenced (type invariant).
        unsafe { sys::toyfs_folio_test_uptodate(self.folio) }
    }

    /// Whether the folio is dirty.
    pub(crate) fn is_dirty(&self) -> bool {
        // SAFETY: The folio is referenced (type invariant).
        unsafe { sys::toyfs_folio_test_dirty(self.folio) }
    }

    /// Marks every byte of the folio valid.
    pub(crate) fn mark_uptodate(&self) {
        // SAFETY: The folio is locked (type invariant).
        unsafe { sys::toyfs_folio_mark_uptodate(self.folio) };
    }

    /// Marks the folio dirty (its blocks' dirty bits are the caller's).
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The folio is locked (type invariant), so truncation
        // cannot race, and in its mapping.
        unsafe { bindings::filemap_dirty_folio(bindings::folio_mapping(self.folio), self.folio) };
    }

    /// Ends the writeback of the folio.
    pub(crate) fn end_writeback(&self) {
        // SAFETY: The folio is under writeback, started by the caller.
        unsafe { bindings::folio_end_writeback(self.folio) };
    }

    /// The folio's block state, if it has one.
    pub(crate) fn state(&self) -> Option<&FolioState> {
        // SAFETY: The folio is locked (type invariant), so its state is
        // neither attached nor freed meanwhile.
        unsafe { state_of(self.folio) }
    }

    /// The folio's block state, attached now (as uptodate and dirty as the
    /// folio) if it has none, for blocks of `1 << block_shift` bytes.
    /// The allocation does not recurse into filesystems (a NOFS scope).
    pub(crate) fn state_or_attach(&self, block_shift: u32) -> Result<&FolioState> {
        self.state_or_attach_as(block_shift, self.is_dirty())
    }

    /// [`Self::state_or_attach`] for writeback, which is given only dirty
    /// folios, their dirty flag already cleared for I/O: a folio without
    /// state gets every block dirty (as iomap's writeback takes it).
    pub(crate) fn state_or_attach_for_writeback(&self, block_shift: u32) -> Result<&FolioState> {
        self.state_or_attach_as(block_shift, true)
    }

    fn state_or_attach_as(&self, block_shift: u32, dirty: bool) -> Result<&FolioState> {
        if let Some(state) = self.state() {
            return Ok(state);
        }
        let blocks = self.size() >> block_shift;
        let state = {
            let _nofs = NofsScope::enter();
            KBox::new(
                FolioState::new(blocks, block_shift, self.is_uptodate(), dirty),
                GFP_KERNEL,
            )?
        };
        // SAFETY: The folio is locked and has no private data: `state` is
        // its private data until `detach_state` takes it back.
        unsafe { sys::toyfs_folio_attach_private(self.folio, KBox::into_raw(state).cast()) };
        self.state().ok_or(EINVAL)
    }

    /// Ends the read of the folio (`folio_end_read`), which unlocks it.
    pub(crate) fn end_read(self, uptodate: bool) {
        // SAFETY: The folio is locked for reading (type invariant); the
        // lock goes with `self`.
        unsafe { bindings::folio_end_read(self.folio, uptodate) };
    }

    /// Waits for the folio's writeback, if any, to end.
    pub(crate) fn wait_writeback(&self) {
        // SAFETY: The folio is locked and referenced (type invariant).
        unsafe { bindings::folio_wait_writeback(self.folio) };
    }

    /// Starts writeback of the folio.
    pub(crate) fn start_writeback(&self) {
        // SAFETY: The folio is locked with its dirty bit cleared for I/O.
        unsafe { sys::toyfs_folio_start_writeback(self.folio) };
    }
}

/// The block state of `folio`, if any.
///
/// # Safety
///
/// `folio` is referenced and its state neither attached nor freed for
/// `'a`: the caller holds it locked, or it is locked for reading or under
/// writeback (see the module documentation of `folio_state`).
pub(crate) unsafe fn state_of<'a>(folio: *mut bindings::folio) -> Option<&'a FolioState> {
    // SAFETY: The caller's guarantee; toyfs folios have only a
    // `FolioState` as private data.
    unsafe {
        sys::toyfs_folio_get_private(folio)
            .cast::<FolioState>()
            .as_ref()
    }
}

/// Frees the block state of `folio`, if any.
///
/// # Safety
///
/// The caller holds `folio` locked, and it is under no I/O.
pub(crate) unsafe fn detach_state(folio: *mut bindings::folio) {
    // SAFETY: The caller's guarantee.
    let state = unsafe { sys::toyfs_folio_detach_private(folio) };
    if !state.is_null() {
        // SAFETY: Attached by `state_or_attach` from `KBox::into_raw`, and
        // detached once.
        drop(unsafe { KBox::from_raw(state.cast::<FolioState>()) });
    }
}

/// Calls `f` with the folio of `inode` holding byte `pos`, read if not
/// cached (`read_mapping_folio`), locked.
pub(crate) fn with_folio(
    inode: &Inode,
    pos: u64,
    f: impl FnOnce(&LockedFolio<'_>) -> Result,
) -> Result {
    // SAFETY: The inode is live, its mapping too.
    let mapping = unsafe { (*inode.as_ptr()).i_mapping };
    // CAST: page numbers of toyfs files fit `usize`.
    let index = (pos / PAGE_SIZE as u64) as usize;
    // SAFETY: As above; the folio comes back referenced, or an error.
    let folio = unsafe { sys::toyfs_read_mapping_folio(mapping, index, core::ptr::null_mut()) };
    kernel::error::from_err_ptr(folio)?;
    // SAFETY: Referenced above; locked here, unlocked and put below.
    unsafe { sys::toyfs_folio_lock(folio) };
    // SAFETY: Locked and referenced until the end of this function.
    let locked = unsafe { LockedFolio::from_raw(folio) };
    // SAFETY: Locked above.
    let still_ours = unsafe { bindings::folio_mapping(folio) } == mapping;
    let result = if still_ours { f(&locked) } else { Ok(()) };
    // SAFETY: Ours, see above.
    unsafe {
        bindings::folio_unlock(folio);
        sys::toyfs_folio_put(folio);
    }
    result
}

/// Calls `f` with the folios of `inode` holding bytes `first` and
/// `second` (`first <= second`), each read if not cached
/// (`read_mapping_folio`), locked in the order of their index (as the
/// page cache locks several folios of one file): `[first's, second's]`,
/// or one folio if it holds both.  A folio no longer in the file's
/// mapping when locked is left out, as [`with_folio`] leaves it.
pub(crate) fn with_two_folios(
    inode: &Inode,
    first: u64,
    second: u64,
    f: impl FnOnce(&[&LockedFolio<'_>]) -> Result,
) -> Result {
    // SAFETY: The inode is live, its mapping too.
    let mapping = unsafe { (*inode.as_ptr()).i_mapping };
    // CAST: page numbers of toyfs files fit `usize`.
    let index = |pos: u64| (pos / PAGE_SIZE as u64) as usize;
    // SAFETY: As above; the folio comes back referenced, or an error.
    let a = unsafe { sys::toyfs_read_mapping_folio(mapping, index(first), core::ptr::null_mut()) };
    kernel::error::from_err_ptr(a)?;
    // SAFETY: As above.
    let b = unsafe { sys::toyfs_read_mapping_folio(mapping, index(second), core::ptr::null_mut()) };
    if let Err(err) = kernel::error::from_err_ptr(b) {
        // SAFETY: Referenced above, not locked.
        unsafe { sys::toyfs_folio_put(a) };
        return Err(err);
    }
    let held = [a, b];
    let count = if a == b {
        // One large folio holds both: one lock, one reference.
        // SAFETY: The second reference taken above.
        unsafe { sys::toyfs_folio_put(b) };
        1
    } else {
        2
    };
    let folios = held.get(..count).ok_or(EINVAL)?;
    // `first <= second` in different folios: `a`'s index is the lower.
    for &folio in folios {
        // SAFETY: Referenced above; unlocked and put below.
        unsafe { sys::toyfs_folio_lock(folio) };
    }
    // SAFETY: Locked and referenced until the end of this function (`b`
    // is `a` when one folio holds both).
    let [a, b] = held.map(|folio| unsafe { LockedFolio::from_raw(folio) });
    let ours = |folio: &LockedFolio<'_>| {
        // SAFETY: Locked above.
        let of = unsafe { bindings::folio_mapping(folio.folio) };
        of == mapping
    };
    let result = match (ours(&a), count == 2 && ours(&b)) {
        (true, true) => f(&[&a, &b]),
        (true, false) => f(&[&a]),
        (false, true) => f(&[&b]),
        (false, false) => Ok(()),
    };
    for &folio in folios {
        // SAFETY: Locked and referenced above.
        unsafe {
            bindings::folio_unlock(folio);
            sys::toyfs_folio_put(folio);
        }
    }
    result
}

/// A cached folio, locked and referenced until dropped.
pub(crate) struct CachedFolio(LockedFolio<'static>);

impl core::ops::Deref for CachedFolio {
    type Target = LockedFolio<'static>;

    fn deref(&self) -> &LockedFolio<'static> {
        &self.0
    }
}

impl Drop for CachedFolio {
    fn drop(&mut self) {
        // SAFETY: Locked and referenced by `lock_cached_folio`.
        unsafe {
            bindings::folio_unlock(self.0.folio);
            sys::toyfs_folio_put(self.0.folio);
        }
    }
}

/// The folio of `inode` holding byte `pos`, locked, if it is cached
/// (`filemap_lock_folio`; nothing is read).
pub(crate) fn lock_cached_folio(inode: &Inode, pos: u64) -> Option<CachedFolio> {
    // SAFETY: The inode is live, its mapping too.
    let mapping = unsafe { (*inode.as_ptr()).i_mapping };
    // CAST: page numbers of toyfs files fit `usize`.
    let index = (pos / PAGE_SIZE as u64) as usize;
    // SAFETY: As above; the folio comes back locked and referenced, or an
    // error.
    let folio = unsafe { sys::toyfs_filemap_lock_folio(mapping, index) };
    kernel::error::from_err_ptr(folio).ok()?;
    // SAFETY: Locked and referenced until `CachedFolio` is dropped.
    Some(CachedFolio(unsafe { LockedFolio::from_raw(folio) }))
}

/// `truncate_pagecache_range`: the page cache of bytes `start..=end`
/// (whole pages) goes, mappings included.
pub(crate) fn truncate_pagecache_range(inode: &Inode, start: u64, end: u64) {
    // SAFETY: The inode is live; the caller holds its lock and the
    // `invalidate_lock`.
    // CAST: offsets below the largest file.
    unsafe { bindings::truncate_pagecache_range(inode.as_ptr(), start as i64, end as i64) };
}

/// `pagecache_isize_extended`: the file grew from `from` to `to` bytes.
pub(crate) fn pagecache_isize_extended(inode: &Inode, from: u64, to: u64) {
    // SAFETY: The inode is live and its size already `to` or more.
    // CAST: sizes are below the largest file.
    unsafe { bindings::pagecache_isize_extended(inode.as_ptr(), from as i64, to as i64) };
}

/// Truncates the page cache to the inode's new size (`truncate_setsize`,
/// which also calls `pagecache_isize_extended` when growing).
pub(crate) fn truncate_setsize(inode: &Inode, size: u64) {
    // SAFETY: The inode is live; the caller holds its lock.
    // CAST: sizes are below the largest file.
    unsafe { bindings::truncate_setsize(inode.as_ptr(), size as i64) };
}
