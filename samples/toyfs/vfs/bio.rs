// SPDX-License-Identifier: GPL-2.0

//! File data moving by bio, whole blocks straight between the device and
//! the file's folios (`bio_add_folio`), as iomap and mpage do.
//!
//! A [`BioBatch`] gathers the blocks it is given into as few bios as the
//! disk layout allows: a block that follows the previous one on disk joins
//! its bio.  Reads end in [`read_end_io`], which marks the blocks uptodate
//! in the folio's state and ends the read of a folio when its last block
//! arrives (a folio read whole has no state: its one segment ends it); writes end in [`write_end_io`], which records an error on the
//! file's own mapping (where `fsync` of that file finds it) and the bytes
//! whose write failed or succeeded in the file's `InodeInfo::failed`
//! (which `write_inode` judges a moved block's new run by), and ends the
//! folio's writeback after its last block.

use super::{
    folio::{state_of, LockedFolio, NofsScope},
    Inode, SuperBlock,
};
use crate::sys;
use core::ptr::NonNull;
use kernel::{bindings, error::to_result, ffi::c_uint, prelude::*};

/// Which way a batch moves data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Device to folios.
    Read,
    /// Folios to device.
    Write,
}

/// Bios being filled, submitted when full, when the next block is not
/// contiguous on disk, or on drop.
pub(crate) struct BioBatch<'a> {
    sb: &'a SuperBlock,
    direction: Direction,
    /// The bio being filled and the sector its next block must start at.
    open: Option<(NonNull<bindings::bio>, u64)>,
}

impl<'a> BioBatch<'a> {
    /// An empty batch for the device of `sb`.
    pub(crate) fn new(sb: &'a SuperBlock, direction: Direction) -> Self {
        Self {
            sb,
            direction,
            open: None,
        }
    }

    /// Adds `len` bytes at `offset` of `folio` (whole blocks) that move
    /// to or from the device from block `block` on.  The caller has
    /// counted them as in flight in the folio's state.
    pub(crate) fn add(&mut self, folio: &LockedFolio<'_>, offset: usize, len: usize, block: u32) {
        self.add_sized(folio, offset, len, block, bindings::BIO_MAX_VECS as u16);
    }

    /// [`Self::add`] for blocks that no block of a later folio follows on
    /// disk (writeback of a folio whose dirty blocks end before its last
    /// block: the block after them is not written): a bio it opens has
    /// one vector, kept in the bio itself (as `submit_bh` of ext2's
    /// writeback allocates for each buffer), instead of `BIO_MAX_VECS`,
    /// a 4 KiB vector array taken from and given back to its slab for a
    /// bio of one segment, per dirty block of a random overwrite.  Should
    /// a block join it after all (a file laid out backwards on disk), the
    /// full bio is submitted and a new one opened, as for any full bio.
    pub(crate) fn add_last(
        &mut self,
        folio: &LockedFolio<'_>,
        offset: usize,
        len: usize,
        block: u32,
    ) {
        self.add_sized(folio, offset, len, block, 1);
    }

    /// [`Self::add`] for blocks that at most `following` segments of
    /// later folios can join (writeback: one for each folio before the
    /// end of the file, `bio_add_folio` taking a folio's blocks as one
    /// segment): a bio it opens has room for `1 + following` of them, at
    /// most `BIO_MAX_VECS`.  The folio holding the end of a file opens a
    /// bio of one vector, kept in the bio itself, where `BIO_MAX_VECS`
    /// took a 4 KiB vector array from its slab and gave it back for each
    /// `fsync` of an append.  A bound too low would only cost a bio more:
    /// a full bio is submitted and a new one opened.
    pub(crate) fn add_before(
        &mut self,
        folio: &LockedFolio<'_>,
        offset: usize,
        len: usize,
        block: u32,
        following: u64,
    ) {
        let most = u64::from(bindings::BIO_MAX_VECS) - 1;
        // CAST: at most `BIO_MAX_VECS`, which is 256.
        let vectors = following.min(most) as u16 + 1;
        self.add_sized(folio, offset, len, block, vectors);
    }

    /// [`Self::add`], a bio it opens having room for `vectors` segments.
    fn add_sized(
        &mut self,
        folio: &LockedFolio<'_>,
        offset: usize,
        len: usize,
        block: u32,
        vectors: u16,
    ) {
        let shift = self.sb.block_shift() - 9;
        let sector = u64::from(block) << shift;
        let end = sector + (len as u64 >> 9);
        if let Some((bio, next)) = self.open {
            if next == sector {
                // SAFETY: `bio` is ours until submitted; the folio is
                // locked and referenced.
                if unsafe { bindings::bio_add_folio(bio.as_ptr(), folio.as_ptr(), len, offset) } {
                    self.open = Some((bio, end));
                    return;
                }
            }
            self.submit();
        }
        let bio = self.alloc(sector, vectors);
        // SAFETY: A new bio has room for a folio segment.
        let added = unsafe { bindings::bio_add_folio(bio.as_ptr(), folio.as_ptr(), len, offset) };
        // A new bio of at least one vector always takes its first
        // segment (a folio is far smaller than a bio's size limit).
        debug_assert!(added);
        self.open = Some((bio, end));
    }

    /// A new bio at `sector` with room for `vectors` segments, ending in
    /// this batch's completion.
    fn alloc(&self, sector: u64, vectors: u16) -> NonNull<bindings::bio> {
        let op = match self.direction {
            Direction::Read => bindings::req_op_REQ_OP_READ,
            Direction::Write => bindings::req_op_REQ_OP_WRITE,
        };
        loop {
            let _nofs = NofsScope::enter();
            // SAFETY: The superblock's device is open for its life; with
            // a gfp that may sleep, `bio_alloc` draws on a mempool and
            // does not fail, but the loop does not rely on it.
            let bio = unsafe {
                sys::toyfs_bio_alloc(self.sb.bdev(), vectors, op as c_uint, bindings::GFP_KERNEL)
            };
            if let Some(bio) = NonNull::new(bio) {
                // SAFETY: The bio is new and ours.
                unsafe {
                    (*bio.as_ptr()).bi_iter.bi_sector = sector;
                    (*bio.as_ptr()).bi_end_io = Some(match self.direction {
                        Direction::Read => read_end_io,
                        Direction::Write => write_end_io,
                    });
                }
                return bio;
            }
        }
    }

    /// Submits the bio being filled, if any.
    pub(crate) fn submit(&mut self) {
        if let Some((bio, _)) = self.open.take() {
            // SAFETY: A filled bio, handed to the block layer, which calls
            // its `bi_end_io` once.
            unsafe { bindings::submit_bio(bio.as_ptr()) };
        }
    }
}

impl Drop for BioBatch<'_> {
    fn drop(&mut self) {
        self.submit();
    }
}

/// Runs `f` with the task's block I/O plugged (`blk_start_plug` ...
/// `blk_finish_plug`), as `mpage_writepages` runs ext2's writeback: the
/// bios `f` submits wait in the task's plug list and reach the device's
/// queue together when `f` returns (or when the task sleeps first, the
/// scheduler flushes the plug), where a device with a request queue
/// merges those that touch and dispatches the rest in one go.  Nested in
/// another plug, it adds nothing: the outer one is flushed by its owner.
pub(crate) fn plugged<R>(f: impl FnOnce() -> R) -> R {
    let mut plug = core::mem::MaybeUninit::<bindings::blk_plug>::uninit();
    // SAFETY: `blk_start_plug` initialises the plug (and may make it
    // `current->plug`); it stays in this frame, unmoved, until
    // `blk_finish_plug` below takes it back on the only way out.
    unsafe { bindings::blk_start_plug(plug.as_mut_ptr()) };
    let result = f();
    // SAFETY: Started above, in this task.
    unsafe { bindings::blk_finish_plug(plug.as_mut_ptr()) };
    result
}

/// Reads `len` bytes at `offset` of `folio` from block `block` on, and
/// waits: the blocks a write covers only in part.
pub(crate) fn read_and_wait(
    sb: &SuperBlock,
    folio: &LockedFolio<'_>,
    offset: usize,
    len: usize,
    block: u32,
) -> Result {
    let _nofs = NofsScope::enter();
    // SAFETY: As in `BioBatch::alloc`.
    let bio = unsafe {
        sys::toyfs_bio_alloc(
            sb.bdev(),
            1,
            bindings::req_op_REQ_OP_READ as c_uint,
            bindings::GFP_KERNEL,
        )
    };
    let bio = NonNull::new(bio).ok_or(ENOMEM)?.as_ptr();
    // SAFETY: A new bio of ours, with one vector for the folio segment;
    // `submit_bio_wait` returns once it completed, and `bio_put` frees it.
    unsafe {
        (*bio).bi_iter.bi_sector = u64::from(block) << (sb.block_shift() - 9);
        if !bindings::bio_add_folio(bio, folio.as_ptr(), len, offset) {
            bindings::bio_put(bio);
            return Err(EIO);
        }
        let result = to_result(bindings::submit_bio_wait(bio));
        bindings::bio_put(bio);
        result
    }
}

/// Calls `each` with the folio, offset and length of every segment of
/// `bio`.
///
/// # Safety
///
/// `bio` is a completed bio whose folios are referenced.
unsafe fn for_each_folio(
    bio: *mut bindings::bio,
    mut each: impl FnMut(*mut bindings::folio, usize, usize),
) {
    let mut iter = bindings::folio_iter::default();
    // SAFETY: The caller's guarantee; the iterator walks the bio's vectors.
    unsafe { sys::toyfs_bio_first_folio(&mut iter, bio, 0) };
    while !iter.folio.is_null() {
        each(iter.folio, iter.offset, iter.length);
        // SAFETY: As above.
        unsafe { sys::toyfs_bio_next_folio(&mut iter, bio) };
    }
}

/// The `bi_end_io` of reads.
///
/// # Safety
///
/// Called by the block layer once, for a bio built by a `BioBatch` of
/// `Direction::Read`.
unsafe extern "C" fn read_end_io(bio: *mut bindings::bio) {
    // SAFETY: The completed bio is ours until `bio_put`.
    let ok = unsafe { (*bio).bi_status } == 0;
    // SAFETY: The bio's folios are locked for reading, each with a state
    // that counts these bytes as in flight or, read whole, without one.
    unsafe {
        for_each_folio(bio, |folio, offset, len| {
            let Some(state) = state_of(folio) else {
                // A folio read whole, without block state (`read_whole`):
                // this segment is all of it.
                bindings::folio_end_read(folio, ok);
                return;
            };
            if ok {
                let shift = state.block_shift();
                state.set_uptodate(offset >> shift, len >> shift);
            }
            if state.finish_read(len) {
                bindings::folio_end_read(folio, state.is_uptodate(0, state.blocks()));
            }
        });
        bindings::bio_put(bio);
    }
}

/// The `bi_end_io` of writeback.
///
/// # Safety
///
/// Called by the block layer once, for a bio built by a `BioBatch` of
/// `Direction::Write`.
unsafe extern "C" fn write_end_io(bio: *mut bindings::bio) {
    // SAFETY: The completed bio is ours until `bio_put`.
    let error = unsafe { bindings::blk_status_to_errno((*bio).bi_status) };
    // SAFETY: The bio's folios are under writeback, with a state that
    // counts these bytes as in flight, and in their file's mapping, whose
    // host is a live toyfs inode: its eviction waits for the writeback
    // of its folios (`truncate_inode_pages_final`) before it frees it.
    unsafe {
        for_each_folio(bio, |folio, offset, len| {
            let mapping = bindings::folio_mapping(folio);
            // CAST: file offsets are never negative.
            let start = sys::toyfs_folio_pos(folio) as u64 + offset as u64;
            let bytes = start..start + len as u64;
            // The file's own note of its failed writes, which `write_inode`
            // judges a moved block's new run by (`InodeInfo::failed`): the
            // inode outlives its folios' writeback.
            let failed = &Inode::from_raw((*mapping).host).info().failed;
            if error != 0 {
                sys::toyfs_mapping_set_error(mapping, error);
                failed.record_failed(bytes);
            } else {
                failed.record_written(bytes);
            }
            match state_of(folio) {
                Some(state) if !state.finish_write(len) => {}
                _ => bindings::folio_end_writeback(folio),
            }
        });
        bindings::bio_put(bio);
    }
}
