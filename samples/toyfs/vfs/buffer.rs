// SPDX-License-Identifier: GPL-2.0

//! Buffer heads of the filesystem's device: the blocks of metadata
//! (bitmap, inode table, indirect and directory blocks).  File data never
//! goes through them; it moves by bio between the device and the file's
//! folios.
//!
//! A block's bytes are reached only with the buffer locked
//! (`lock_buffer`), or as atomics: a damaged image may name one block
//! twice (two directories, or a directory and an indirect block), and two
//! threads must then never hold `&mut [u8]` to the same bytes.

use super::{toyfs_err, Inode, SuperBlock};
use crate::sys;
use core::{ptr::NonNull, sync::atomic::AtomicU8};
use kernel::{bindings, error::to_result, prelude::*};

/// A buffer head of the filesystem's device, released on drop.
///
/// # Invariants
///
/// `bh` is a referenced, uptodate buffer head of `len` bytes of data.
pub(crate) struct Buffer {
    bh: NonNull<sys::buffer_head>,
    len: usize,
}

// SAFETY: A buffer head reference may be used and released by any thread;
// its bytes are reached only under the buffer lock or as atomics.
unsafe impl Send for Buffer {}

// SAFETY: As above: `&Buffer` gives no unsynchronised access to the bytes.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// # Safety
    ///
    /// `bh` is null or a referenced, uptodate buffer head whose reference
    /// the caller hands over.
    unsafe fn from_raw(bh: *mut sys::buffer_head) -> Result<Self> {
        let bh = NonNull::new(bh).ok_or(EIO)?;
        // SAFETY: The caller's guarantee.
        let len = unsafe { (*bh.as_ptr()).b_size };
        // INVARIANT: the caller's guarantee.
        Ok(Self { bh, len })
    }

    /// Reads block `block` of the device (`sb_getblk`, then the disk if
    /// the buffer is not uptodate, as `sb_bread`); `EIO` if it cannot.
    /// A cached buffer whose last write failed is not read: its bytes are
    /// newer than the disk's (`fs/buffer.c` clears the uptodate flag of a
    /// buffer whose write failed, and `sb_bread` would read the old bytes
    /// over them, and a later write of the block would make that loss
    /// silent and durable), so they are kept and written again
    /// ([`keep_failed_write`]), as ext4 keeps them
    /// (`ext4_buffer_uptodate`).
    pub(crate) fn read(sb: &SuperBlock, block: u32) -> Result<Self> {
        // SAFETY: `sb` is a live superblock with a block device and its
        // block size set (type invariant of `SuperBlock`).
        let bh = unsafe { sys::toyfs_sb_getblk(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh).ok_or(ENOMEM)?;
        // SAFETY: The reference of `sb_getblk` is ours and handed over.
        unsafe { Self::bring_uptodate(bh, block) }
    }

    /// Reads block `block` of the device as [`Buffer::read`] does, where
    /// `self` holds the block before it: the buffer after this one in its
    /// folio of the device's cache if that is block `block`'s, with no
    /// lookup (a walk of the blocks of a directory in their order, four
    /// 1 KiB blocks to a 4 KiB folio, looks up only the first of each
    /// folio: every `sb_getblk` that misses the per-CPU buffer-head LRU
    /// looks the folio up, locks it and walks its buffers, and installing
    /// the buffer in the LRU disables interrupts), else through
    /// [`Buffer::read`].
    pub(crate) fn read_next(&self, sb: &SuperBlock, block: u32) -> Result<Self> {
        let bh = self.bh.as_ptr();
        // Why the ring is stable: `bh` is referenced (type invariant), so
        // none of its folio's buffers is freed nor the ring changed
        // (`drop_buffers` frees them only when none is busy;
        // `buffer_migrate_folio_norefs` refuses a folio with a referenced
        // buffer; the ring is whole before the buffers are published), and
        // a device buffer's mapping (`BH_Mapped`, `b_blocknr`) never changes.
        // SAFETY: so `b_this_page` is a live buffer head of the same folio;
        // its reference is taken while `bh`'s holds the ring.
        let next = unsafe {
            let next = (*bh).b_this_page;
            if next != bh && sys::toyfs_buffer_mapped(next) && (*next).b_blocknr == u64::from(block)
            {
                sys::toyfs_get_bh(next);
                NonNull::new(next)
            } else {
                None
            }
        };
        match next {
            // SAFETY: The reference just taken is ours and handed over.
            Some(next) => unsafe { Self::bring_uptodate(next, block) },
            None => Self::read(sb, block),
        }
    }

    /// The rest of [`Buffer::read`] once it has the buffer head `bh` of
    /// block `block`: kept if its last write failed, read if it is not
    /// uptodate.
    ///
    /// # Safety
    ///
    /// `bh` is a referenced buffer head of the filesystem's device, not
    /// locked by the caller, whose reference the caller hands over.
    unsafe fn bring_uptodate(bh: NonNull<sys::buffer_head>, block: u32) -> Result<Self> {
        if keep_failed_write(bh) {
            toyfs_err!(
                "block {}: its last write failed; kept in memory and written again\n",
                block
            );
        }
        // This is `bh_read`.  A buffer uptodate is not read
        // (`bh_uptodate_or_lock` returns true); else it comes back locked,
        // and bytes about to be read from the disk are no longer checked
        // ([`BufferGuard::checked`]), cleared under the lock that the read
        // then holds (`__bh_read` unlocks it and waits), as ext4 clears
        // `BH_Verified` before a read (`__ext4_read_bh`).
        // SAFETY: `bh` is referenced, by us, and not locked by us.
        let failed = unsafe {
            if sys::bh_uptodate_or_lock(bh.as_ptr()) != 0 {
                false
            } else {
                sys::toyfs_clear_buffer_checked(bh.as_ptr());
                sys::__bh_read(bh.as_ptr(), 0, true) < 0
            }
        };
        if failed {
            // SAFETY: The reference handed over is ours.
            unsafe { sys::toyfs_brelse(bh.as_ptr()) };
            return Err(EIO);
        }
        // SAFETY: Referenced, and uptodate once `bh_read` succeeded.
        unsafe { Self::from_raw(bh.as_ptr()) }
    }

    /// The buffer of block `block`, without reading it, made all zeros
    /// but for what `fill` writes into them, under one hold of its lock,
    /// then uptodate: a new block of metadata ("a writer zeroes what it
    /// allocates").  Not marked dirty: the caller marks it
    /// ([`Buffer::mark_dirty`], [`Buffer::mark_dirty_for`]).  Whoever
    /// goes through the buffer lock (a write of the buffer: writeback of
    /// the device, another file's `fsync` of a block its tail shares)
    /// finds the block's bytes as they were or as `fill` left them, never
    /// the zeros in between: a directory's tail grown into the whole
    /// block that held it (`dir::add_at`) was made zeros and dirty, and
    /// its entries copied back only under a second hold of the lock, a
    /// write in between putting zeros over the directory on the disk
    /// (review rev8, S).
    pub(crate) fn new_block(
        sb: &SuperBlock,
        block: u32,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Self> {
        Self::make(sb, block, |data| {
            data.fill(0);
            fill(data);
        })
    }

    /// [`Buffer::new_block`] holding `bytes`, zeros after them: the
    /// block's old bytes are replaced by the new ones directly, not
    /// zeroed first, so that not even a reader of the device's page
    /// cache, which takes no buffer lock, finds them zeros (a directory
    /// tail grown in place into its block, `dir::add_at`).
    pub(crate) fn new_block_from(sb: &SuperBlock, block: u32, bytes: &[u8]) -> Result<Self> {
        Self::make(sb, block, |data| {
            let split = bytes.len().min(data.len());
            let (head, rest) = data.split_at_mut(split);
            if let Some(bytes) = bytes.get(..split) {
                head.copy_from_slice(bytes);
            }
            rest.fill(0);
        })
    }

    /// The buffer of block `block`, not read, its bytes all written by
    /// `write` under one hold of its lock, then uptodate.
    ///
    /// The block is wholly the caller's from now on, its bytes all new:
    /// if its cached buffer is still on the list of an inode it last
    /// belonged to (see [`Buffer::leave_lists`]), it is taken off first,
    /// and the caller's [`Buffer::mark_dirty_for`] puts it on its own
    /// list, or its [`Buffer::mark_dirty`] on none.
    fn make(sb: &SuperBlock, block: u32, write: impl FnOnce(&mut [u8])) -> Result<Self> {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_getblk(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh).ok_or(ENOMEM)?;
        // SAFETY: Referenced by `sb_getblk`, for us; not locked by us.
        unsafe { leave_list(sb, bh) };
        // SAFETY: `sb_getblk` returned a referenced buffer head, not
        // locked by us; `lock_buffer` waits for any I/O on it.
        unsafe { sys::toyfs_lock_buffer(bh.as_ptr()) };
        {
            // SAFETY: `b_data` points to `b_size` bytes that stay mapped
            // while the buffer head is referenced; under its lock, held
            // to the end of this block, this is the only slice to them.
            let data = unsafe {
                core::slice::from_raw_parts_mut(
                    (*bh.as_ptr()).b_data.cast::<u8>(),
                    (*bh.as_ptr()).b_size,
                )
            };
            write(data);
        }
        // SAFETY: Referenced and locked by us; its bytes written, it is
        // uptodate, and the lock goes.
        unsafe {
            sys::toyfs_clear_buffer_checked(bh.as_ptr());
            sys::toyfs_set_buffer_uptodate(bh.as_ptr());
            sys::unlock_buffer(bh.as_ptr());
        }
        // SAFETY: Referenced and now uptodate.
        unsafe { Self::from_raw(bh.as_ptr()) }
    }

    /// Whether block `block`'s cached buffer, if any, is on an inode's
    /// list of indirect blocks ([`Buffer::keep`]'s bit): a freed block
    /// whose buffer is not needs no walk of the list
    /// (`inode::forget_freed_indirect`).  Never reads the disk.
    pub(crate) fn is_kept(sb: &SuperBlock, block: u32) -> bool {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_find_get_block(sb.as_ptr(), block.into()) };
        let Some(bh) = NonNull::new(bh) else {
            return false;
        };
        // SAFETY: Referenced by `sb_find_get_block`, for us; the bit is
        // read atomically, and the reference is ours to drop.
        unsafe {
            let kept = sys::toyfs_buffer_kept(bh.as_ptr());
            sys::toyfs_brelse(bh.as_ptr());
            kept
        }
    }

    /// The cached buffer of block `block`, a block all of whose fragments
    /// were free and that is being taken for metadata (a tail, a
    /// directory's block or tail), if the cache holds one, is taken off
    /// the list of whichever inode's own buffers it is still on
    /// ([`Buffer::mark_dirty_for`]).  A block freed by one file (an
    /// indirect block, a block of tails) stays on that file's list while
    /// the file is cached: nothing takes a freed block's buffer off its
    /// list, and `mmb_mark_buffer_dirty` leaves a buffer where it is.  Its
    /// next owner's writes would then be that file's: written by its
    /// `fsync`, and a failed write reported on its mapping, not on the
    /// owner's (review rev9).  ext2 takes the indirect blocks it frees off
    /// the list (`bforget` in `ext2_free_branches`).
    ///
    /// Only the list changes, and an uptodate buffer is (left) dirty, to
    /// be written by the device's writeback (see `leave_list`).  Another
    /// file that took fragments of the block after the caller and marked
    /// the buffer for its own list before this (a window of one
    /// allocation) loses it from that list: its `fsync` still writes the
    /// block (`inode::sync_packed`) and reports a failure of that write.
    pub(crate) fn leave_lists(sb: &SuperBlock, block: u32) {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_find_get_block(sb.as_ptr(), block.into()) };
        if let Some(bh) = NonNull::new(bh) {
            // SAFETY: Referenced by `sb_find_get_block`, for us, not
            // locked by us; the reference is ours to drop.
            unsafe {
                leave_list(sb, bh);
                sys::toyfs_brelse(bh.as_ptr());
            }
        }
    }

    /// Locks the buffer for access to its bytes.
    pub(crate) fn lock(&self) -> BufferGuard<'_> {
        // SAFETY: The buffer head is referenced (type invariant).
        unsafe { sys::toyfs_lock_buffer(self.bh.as_ptr()) };
        BufferGuard { buffer: self }
    }

    /// The block's bytes as atomics, for a block only ever reached this way
    /// (the bitmap): no lock needed.
    pub(crate) fn atomic_bytes(&self) -> &[AtomicU8] {
        // SAFETY: `b_data` points to `len` bytes that stay mapped while the
        // buffer is referenced (type invariant).  `AtomicU8` has the layout
        // of `u8`, and the callers reach these bytes only as atomics.
        unsafe {
            core::slice::from_raw_parts((*self.bh.as_ptr()).b_data.cast::<AtomicU8>(), self.len)
        }
    }

    /// Marks the buffer dirty (`mark_buffer_dirty`).  The bytes of a
    /// `Buffer` are the block's truth from its read on (a block whose
    /// cached copy is dropped, `Buffer::forget_copy`, is held by no
    /// `Buffer`): if a write of them failed since, which cleared the
    /// uptodate flag (`mark_buffer_dirty` warns on a buffer without it),
    /// the flag is set again and the bytes are written again.
    pub(crate) fn mark_dirty(&self) {
        self.keep_uptodate();
        // SAFETY: The buffer head is referenced (type invariant).
        unsafe { sys::mark_buffer_dirty(self.bh.as_ptr()) };
    }

    /// Sets the uptodate flag again if a failed write cleared it (see
    /// [`Buffer::mark_dirty`]).
    fn keep_uptodate(&self) {
        // SAFETY: The buffer head is referenced (type invariant); its
        // bytes were read (or zeroed) and never discarded.
        unsafe {
            if !sys::toyfs_buffer_uptodate(self.bh.as_ptr()) {
                sys::toyfs_set_buffer_uptodate(self.bh.as_ptr());
            }
        }
    }

    /// Writes the buffer now and waits (`sync_dirty_buffer`); the caller
    /// does not hold it locked.  `EIO` also when the buffer was clean
    /// because a write of its bytes that another started (writeback of the
    /// device) failed, as `ext2_sync_inode` looks at the buffer's
    /// `write_io_error` after `sync_dirty_buffer`, which returns 0 then:
    /// the bytes are not on the disk (they are kept, to be written again,
    /// [`keep_failed_write`]).  A superblock written for a feature
    /// (`mount::set_feature`) would otherwise count as on the disk.
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: The buffer head is referenced (type invariant).
        to_result(unsafe { sys::sync_dirty_buffer(self.bh.as_ptr()) })?;
        // SAFETY: As above; a write submitted clears the flag
        // (`submit_bh_wbc`), so set now it is the last write's.
        if unsafe { sys::toyfs_buffer_write_io_error(self.bh.as_ptr()) } {
            keep_failed_write(self.bh);
            return Err(EIO);
        }
        Ok(())
    }

    /// Marks the buffer dirty on `inode`'s list of its own metadata
    /// buffers (`mmb_mark_buffer_dirty`), which its `fsync` writes
    /// ([`Inode::sync_own_buffers`]) and where a failed write of the
    /// buffer is reported (on the inode's mapping).  A buffer already on
    /// another inode's list stays there (a block that a damaged image names
    /// twice).  As [`Buffer::mark_dirty`], a failed write since the read
    /// leaves the bytes to be written again.
    ///
    /// Under the filesystem's `buffer_lists` lock (`SbInfo::buffer_lists`):
    /// another inode's `mmb_sync` may be moving the buffer on its list.
    pub(crate) fn mark_dirty_for(&self, inode: &Inode) {
        self.keep_uptodate();
        let _lists = inode.sb().info().buffer_lists.lock();
        // SAFETY: The buffer head is referenced (type invariant); the list
        // is the live inode's, set up by `alloc_inode`.
        unsafe { sys::mmb_mark_buffer_dirty(self.bh.as_ptr(), inode.own_buffers()) };
    }

    /// Starts the write of a buffer kept for the whole mount (a bitmap
    /// block), if it is dirty or an earlier write of it failed (then it is
    /// marked dirty again, [`Buffer::mark_dirty`]; `write_dirty_buffer`);
    /// [`Buffer::wait_written`] waits for it.
    pub(crate) fn start_write_from_memory(&self) {
        // SAFETY: The buffer head is referenced (type invariant).
        if !unsafe { sys::toyfs_buffer_uptodate(self.bh.as_ptr()) } {
            self.mark_dirty();
        }
        // SAFETY: As above; the caller does not hold it locked.
        unsafe { sys::write_dirty_buffer(self.bh.as_ptr(), REQ_SYNC) };
    }

    /// Another reference to the same buffer head (`get_bh`), for a list
    /// that keeps the buffer, its bytes and its error, in the cache.
    pub(crate) fn share(&self) -> Buffer {
        // SAFETY: The buffer head is referenced (type invariant), so a
        // new reference may be taken.
        unsafe { sys::toyfs_get_bh(self.bh.as_ptr()) };
        // INVARIANT: `bh` is referenced by the reference just taken, which
        // the new `Buffer` owns; `len` is its block size.
        Buffer {
            bh: self.bh,
            len: self.len,
        }
    }

    /// The block of the device this buffer holds.
    pub(crate) fn block(&self) -> u64 {
        // SAFETY: The buffer head is referenced (type invariant); a
        // buffer of the device is mapped to its block when made
        // (`sb_getblk`), and `b_blocknr` does not change after that.
        unsafe { (*self.bh.as_ptr()).b_blocknr }
    }

    /// Another reference to the buffer, for the list of an inode's
    /// indirect blocks (`InodeInfo::indirect`), unless the buffer is on
    /// such a list already: the buffer head's "kept" bit
    /// (`BH_PrivateStart + 1`), tested and set here, is cleared when the
    /// [`KeptBuffer`] is dropped, so that the list holds each buffer once
    /// (review 2026-12-07, keptfix2 2).
    pub(crate) fn keep(&self) -> Option<KeptBuffer> {
        // SAFETY: The buffer head is referenced (type invariant); the
        // bit is changed atomically.
        if unsafe { sys::toyfs_test_and_set_buffer_kept(self.bh.as_ptr()) } {
            return None;
        }
        // INVARIANT: the bit was set just above, for this `KeptBuffer`.
        Some(KeptBuffer {
            buffer: self.share(),
        })
    }

    /// Whether `other` is this buffer (the same block's buffer head).
    pub(crate) fn is_same(&self, other: &Buffer) -> bool {
        self.bh == other.bh
    }

    /// Whether the buffer's bytes are on the disk as far as the buffer
    /// knows: not dirty, no I/O in flight (nor a copy into it), and its
    /// last write (if any) did not fail.
    pub(crate) fn is_written(&self) -> bool {
        let bh = self.bh.as_ptr();
        // SAFETY: The buffer head is referenced (type invariant).
        unsafe {
            !sys::toyfs_buffer_dirty(bh)
                && !sys::toyfs_buffer_locked(bh)
                && !sys::toyfs_buffer_write_io_error(bh)
        }
    }

    /// Waits for a write started by [`Buffer::start_write_from_memory`];
    /// `EIO` if the buffer's last write failed.
    pub(crate) fn wait_written(&self) -> Result {
        wait_written(self.bh)
    }

    /// The cached buffer of block `block`, if any, is no longer kept for a
    /// failed write ([`keep_failed_write`]): bytes that a failed write left
    /// in it never go over the block again; nor checked as a directory
    /// block ([`BufferGuard::checked`]).  For a block written by bio
    /// from now on (`vfs::forget_bdev_aliases`, after `clean_bdev_aliases`
    /// cleaned it).  Its uptodate flag stays as it is: the buffer may
    /// still be on the list of a file whose tail it held
    /// ([`Buffer::mark_dirty_for`]), and `mmb_sync` in that file's `fsync`
    /// takes a buffer that is not uptodate once its write is waited for
    /// as a failed write (`EIO`), so clearing the flag here, while that
    /// `fsync` waited for the buffer's write, failed it (an `fsync` or
    /// `msync` of another file returning `EIO` with no I/O error, found
    /// by fsx on images with fragments).  A copy older than the file's
    /// writes by bio is forgotten when the block holds fragments again
    /// ([`Buffer::forget_copy`]).  Nor is it taken off that list
    /// (`__bforget`, as [`Buffer::forget_copy`] does): it is clean
    /// (`clean_bdev_aliases`), so that file's `mmb_sync` drops it from the
    /// list without writing it, a failed write of it was recorded on that
    /// file's mapping when it failed, and the `buffer_lists` lock that
    /// `__bforget` needs would make every whole-block allocation of a
    /// block with a cached buffer wait for other files' `fsync` writes.
    pub(crate) fn forget_failed_write(sb: &SuperBlock, block: u32) {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_find_get_block(sb.as_ptr(), block.into()) };
        if let Some(bh) = NonNull::new(bh) {
            // SAFETY: Referenced by `sb_find_get_block`, for us, not
            // locked by us; the reference is ours to drop.
            unsafe {
                forget(bh, false);
                sys::toyfs_brelse(bh.as_ptr());
            }
        }
    }

    /// Block `block` has no copy in the cache that [`Buffer::read`] would
    /// take as uptodate: its buffer, made if need be (`sb_getblk`), is no
    /// longer uptodate, nor kept for a failed write, and the next
    /// [`Buffer::read`] reads the disk.  Unlike [`Buffer::forget_failed_write`]
    /// this also catches a folio of the device's page cache that holds the
    /// block without buffers (a read of the device, by `mpage_readahead`):
    /// `sb_getblk` gives that folio buffers, marked uptodate when the folio
    /// is (`folio_init_buffers`), with bytes from before the file's last
    /// write by bio.  For a whole block of a file that is to be written
    /// through the buffer cache from now on (`vfs::forget_block_copy`),
    /// which nobody holds a `Buffer` of.
    ///
    /// The buffer may still be on the list of a file whose tail the block
    /// held before it was allocated whole ([`Buffer::mark_dirty_for`]),
    /// and `mmb_sync` in that file's `fsync` takes a buffer it waited for
    /// that is not uptodate as a failed write (`EIO`): so the buffer is
    /// taken off any such list (`bforget`, `remove_assoc_queue`: it holds
    /// nothing of that file any more), and its flag cleared, under the
    /// filesystem's `buffer_lists` lock, which that `fsync` holds from its
    /// look at the buffer to its test of the flag.  Clearing the flag
    /// with the buffer on the list made that `fsync` return `EIO` with no
    /// I/O error (toyfs-probe freed-tail-fsync truncate).
    pub(crate) fn forget_copy(sb: &SuperBlock, block: u32) -> Result {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_getblk(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh).ok_or(ENOMEM)?;
        let _lists = sb.info().buffer_lists.lock();
        // SAFETY: Referenced by `sb_getblk`, for us, not locked by us.
        unsafe { forget(bh, true) };
        // SAFETY: The reference of `sb_getblk` is ours and handed over
        // (`__bforget` drops it); the buffer is clean (`clean_bdev_aliases`
        // in `forget_block_copy`), so only its list changes; the lists
        // are changed under `buffer_lists`, held.
        unsafe { sys::__bforget(bh.as_ptr()) };
        Ok(())
    }

    /// Starts the write of the buffer of block `block` if the buffer
    /// cache holds it (`sb_find_get_block_nonatomic`, never a read) and it
    /// is dirty (`write_dirty_buffer`), or its last write failed (it is
    /// written again, [`keep_failed_write`]): a block that file data
    /// reaches through the cache (a tail, or compressed blocks, in a block
    /// shared with other files' fragments).  [`CachedWrite::wait`] waits
    /// for it; starting every write of a file before waiting for the first
    /// lets the device work on them together.  `None`: the cache does not
    /// hold the block, nothing to write.  A buffer the cache holds without
    /// its bytes (a neighbour of a block read in the same folio) is not
    /// dirty and is not written.
    pub(crate) fn start_cached(sb: &SuperBlock, block: u32) -> Option<CachedWrite> {
        // SAFETY: As in `read`.
        let bh = unsafe { sys::toyfs_sb_find_get_block(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh)?;
        start_write(bh);
        // INVARIANT: the reference of `sb_find_get_block_nonatomic`.
        Some(CachedWrite { bh })
    }

    /// Writes the buffer now and waits, if it is dirty or its last write
    /// failed (it is written again, [`keep_failed_write`]), as
    /// [`Buffer::start_cached`] and [`CachedWrite::wait`] do for a block
    /// the caller holds the buffer of: `EIO` if the write fails, the
    /// buffer kept dirty, its bytes with it, to be written again.
    pub(crate) fn write_now(&self) -> Result {
        start_write(self.bh);
        let result = wait_written(self.bh);
        if result.is_err() {
            keep_failed_write(self.bh);
        }
        result
    }
}

/// A reference to a buffer on the list of an inode's indirect blocks
/// (`InodeInfo::indirect`), made by [`Buffer::keep`]; its buffer head's
/// "kept" bit is cleared on drop, with the reference still held.
///
/// # Invariants
///
/// The kept bit of `buffer`'s buffer head was set for this value, and
/// no other value holds it.
pub(crate) struct KeptBuffer {
    buffer: Buffer,
}

impl core::ops::Deref for KeptBuffer {
    type Target = Buffer;

    fn deref(&self) -> &Buffer {
        &self.buffer
    }
}

impl Drop for KeptBuffer {
    fn drop(&mut self) {
        // SAFETY: The buffer head is referenced by `self.buffer`, dropped
        // after this; the bit is ours (type invariant), cleared once.
        unsafe { sys::toyfs_clear_buffer_kept(self.buffer.bh.as_ptr()) };
    }
}

/// A write of a cached buffer started by [`Buffer::start_cached`]; the
/// buffer head's reference is dropped by [`CachedWrite::wait`], or on
/// drop without waiting.
///
/// # Invariants
///
/// `bh` is a referenced buffer head, the reference ours.
pub(crate) struct CachedWrite {
    bh: NonNull<sys::buffer_head>,
}

impl CachedWrite {
    /// Waits for the write; `EIO` if it failed (or if no write was
    /// started and the last one failed): what the block holds on disk is
    /// not what the files wrote; the buffer keeps its bytes, dirty, to be
    /// written again ([`keep_failed_write`]).
    pub(crate) fn wait(self) -> Result {
        let result = wait_written(self.bh);
        if result.is_err() {
            keep_failed_write(self.bh);
        }
        result
    }
}

impl Drop for CachedWrite {
    fn drop(&mut self) {
        // SAFETY: The reference is ours (type invariant), dropped once.
        unsafe { sys::toyfs_brelse(self.bh.as_ptr()) };
    }
}

/// Takes buffer head `bh` off the list of an inode's own buffers it is
/// on, if any ([`Buffer::leave_lists`], [`Buffer::new_block`]), and
/// leaves it dirty if it is uptodate.  `__bforget` (with an extra
/// reference, which it drops) is the kernel's one way off a list, and it
/// clears the dirty flag: another owner of the block's fragments may have
/// marked the buffer dirty just before without any lock we hold (a
/// directory's tail, `Buffer::mark_dirty`), and its bytes must not stay
/// unwritten.  So the buffer is marked dirty again, under its lock, taken
/// first: no write of it ends (clearing the uptodate flag if it fails)
/// meanwhile, and `mark_buffer_dirty` finds it uptodate.  At worst that
/// writes bytes of free fragments once more.  A buffer that is not
/// uptodate holds nothing anyone marked dirty (a writer reads it first,
/// under its lock).  Under the filesystem's `buffer_lists` lock (another
/// inode's `mmb_sync` may be working through that list), taken, with the
/// buffer's, only for a buffer seen on a list: a buffer goes onto a list
/// only under that lock (`Buffer::mark_dirty_for`), by an owner of the
/// block, which the caller is.  The caller holds no buffer locked: the
/// `buffer_lists` lock comes first (`mmb_sync` locks the buffers it
/// writes).
///
/// # Safety
///
/// `bh` is a buffer head of `sb`'s device referenced by the caller, who
/// does not hold it locked.
unsafe fn leave_list(sb: &SuperBlock, bh: NonNull<sys::buffer_head>) {
    // SAFETY: `bh` is referenced (the caller's); `b_mmb` is a pointer
    // changed by `fs/buffer.c` under a list's lock, read here once, as
    // `READ_ONCE`, only to know whether to take the lock.
    let listed = unsafe { !core::ptr::read_volatile(&raw const (*bh.as_ptr()).b_mmb).is_null() };
    if !listed {
        return;
    }
    let _lists = sb.info().buffer_lists.lock();
    // SAFETY: `bh` is referenced by the caller, not locked by it (so
    // `lock_buffer` may wait); the reference taken is dropped by
    // `__bforget`, lists changed under `buffer_lists` (held); a buffer
    // found uptodate is re-dirtied under its lock, still held.
    unsafe {
        sys::toyfs_lock_buffer(bh.as_ptr());
        let uptodate = sys::toyfs_buffer_uptodate(bh.as_ptr());
        sys::toyfs_get_bh(bh.as_ptr());
        sys::__bforget(bh.as_ptr());
        if uptodate {
            sys::mark_buffer_dirty(bh.as_ptr());
        }
        sys::unlock_buffer(bh.as_ptr());
    }
}

/// Starts the write of referenced buffer `bh`, not locked by the caller,
/// if it is dirty or its last write failed ([`keep_failed_write`];
/// `write_dirty_buffer`).
fn start_write(bh: NonNull<sys::buffer_head>) {
    keep_failed_write(bh);
    // SAFETY: The caller holds a reference to `bh`, not its lock.
    unsafe { sys::write_dirty_buffer(bh.as_ptr(), REQ_SYNC) };
}

/// `REQ_SYNC`: a write that its caller waits for.
const REQ_SYNC: u32 = 1 << bindings::req_flag_bits___REQ_SYNC;

/// If the last write of referenced buffer `bh` failed and left it not
/// uptodate (`bh_end_write`, `bh_end_async_write`), its bytes, newer than
/// the disk's, are made uptodate again and the buffer dirty, to be
/// written again; true if so.  The error stays recorded where the failed
/// write put it (the device's mapping, the mapping of the inode whose
/// list held the buffer, and the buffer's `write_io_error` flag, which
/// the next write clears).  A buffer whose bytes were discarded on
/// purpose (`Buffer::forget_failed_write`, `Buffer::forget_copy`) has no
/// error flag.
fn keep_failed_write(bh: NonNull<sys::buffer_head>) -> bool {
    // SAFETY: The caller holds a reference to `bh`.  Without the lock
    // first: the common case, an uptodate buffer, never waits for a write
    // in flight.
    let failed = unsafe {
        !sys::toyfs_buffer_uptodate(bh.as_ptr()) && sys::toyfs_buffer_write_io_error(bh.as_ptr())
    };
    if !failed {
        return false;
    }
    // SAFETY: The caller holds a reference to `bh`, not its lock; its
    // flags are read again and changed under its lock, after any I/O on
    // it.
    let kept = unsafe {
        sys::toyfs_lock_buffer(bh.as_ptr());
        let kept = !sys::toyfs_buffer_uptodate(bh.as_ptr())
            && sys::toyfs_buffer_write_io_error(bh.as_ptr());
        if kept {
            sys::toyfs_set_buffer_uptodate(bh.as_ptr());
        }
        sys::unlock_buffer(bh.as_ptr());
        kept
    };
    if kept {
        // SAFETY: As above; uptodate now.
        unsafe { sys::mark_buffer_dirty(bh.as_ptr()) };
    }
    kept
}

/// Buffer head `bh` is no longer kept for a failed write
/// (`keep_failed_write`) nor checked, and no longer uptodate if `stale`
/// ([`Buffer::forget_copy`], stale, and [`Buffer::forget_failed_write`]).
///
/// # Safety
///
/// `bh` is a buffer head referenced by the caller, who does not hold it
/// locked.
unsafe fn forget(bh: NonNull<sys::buffer_head>, stale: bool) {
    // SAFETY: `bh` is referenced (the caller's); its flags change under its
    // lock, after any I/O on it (`lock_buffer` waits for that).
    unsafe {
        sys::toyfs_lock_buffer(bh.as_ptr());
        if stale {
            sys::toyfs_clear_buffer_uptodate(bh.as_ptr());
        }
        sys::toyfs_clear_buffer_write_io_error(bh.as_ptr());
        sys::toyfs_clear_buffer_checked(bh.as_ptr());
        sys::unlock_buffer(bh.as_ptr());
    }
}

/// Waits for the I/O of referenced buffer `bh`; `EIO` if its last write
/// failed (`buffer_write_io_error`, which a new write clears).
fn wait_written(bh: NonNull<sys::buffer_head>) -> Result {
    // SAFETY: The caller holds a reference to `bh`.
    let failed = unsafe {
        sys::toyfs_wait_on_buffer(bh.as_ptr());
        sys::toyfs_buffer_write_io_error(bh.as_ptr())
    };
    if failed {
        Err(EIO)
    } else {
        Ok(())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: The reference taken by `sb_getblk` is ours (type
        // invariant) and dropped once.
        unsafe { sys::toyfs_brelse(self.bh.as_ptr()) };
    }
}

/// A buffer locked by [`Buffer::lock`]; unlocked on drop.
///
/// # Invariants
///
/// The caller of `lock` holds the buffer lock for the guard's life.
pub(crate) struct BufferGuard<'a> {
    buffer: &'a Buffer,
}

impl BufferGuard<'_> {
    /// The block's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        let buffer = self.buffer;
        // SAFETY: `b_data` points to `len` bytes that stay mapped while the
        // buffer is referenced; the buffer lock (type invariant) keeps
        // every other toyfs access out.
        unsafe {
            core::slice::from_raw_parts((*buffer.bh.as_ptr()).b_data.cast::<u8>(), buffer.len)
        }
    }

    /// The block's bytes, to change; `Buffer::mark_dirty` then schedules
    /// the write.  The block is no longer checked
    /// ([`BufferGuard::checked`]): whatever changes it, a directory
    /// operation or another owner that a damaged image gave the block, the
    /// next directory walk checks it again.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let buffer = self.buffer;
        // SAFETY: As in `data`; `&mut self` makes this the only slice
        // through this lock, and the flag changes under it.
        unsafe {
            sys::toyfs_clear_buffer_checked(buffer.bh.as_ptr());
            core::slice::from_raw_parts_mut((*buffer.bh.as_ptr()).b_data.cast::<u8>(), buffer.len)
        }
    }

    /// Whether the block's bytes were checked as a directory block
    /// (`samples/toyfs/dir.rs`) since they were last read from the disk
    /// or changed through [`BufferGuard::data_mut`]: the buffer's
    /// `BH_PrivateStart` bit, as ext2 keeps a directory folio's checked
    /// flag (`folio_test_checked`) and ext4 a buffer's `BH_Verified`.  A
    /// buffer made anew (its folio left the cache) starts unchecked; a
    /// buffer read again from the disk ([`Buffer::read`]), made anew
    /// ([`Buffer::new_block`]) or forgotten ([`Buffer::forget_failed_write`],
    /// [`Buffer::forget_copy`]) is unchecked again.
    pub(crate) fn checked(&self) -> bool {
        // SAFETY: The buffer head is referenced (type invariant of
        // `Buffer`); the flag changes under the lock held.
        unsafe { sys::toyfs_buffer_checked(self.buffer.bh.as_ptr()) }
    }

    /// Whether the disk holds the block's bytes as far as the buffer
    /// knows: not dirty, uptodate and its last write (if any) not failed
    /// (a failed write clears the uptodate flag and sets
    /// `write_io_error`).  Under the buffer lock no write of it is in
    /// flight (a write holds the lock until it ends), so a clean buffer's
    /// last write has ended.  The device may still hold the bytes in its
    /// write cache: `fsync` flushes it.
    pub(crate) fn is_on_disk(&self) -> bool {
        let bh = self.buffer.bh.as_ptr();
        // SAFETY: The buffer head is referenced (type invariant of
        // `Buffer`); its flags are read under the lock held.
        unsafe {
            !sys::toyfs_buffer_dirty(bh)
                && sys::toyfs_buffer_uptodate(bh)
                && !sys::toyfs_buffer_write_io_error(bh)
        }
    }

    /// Records that the block's bytes, unchanged since, were checked as a
    /// directory block ([`BufferGuard::checked`]).
    pub(crate) fn set_checked(&mut self) {
        // SAFETY: As in `checked`.
        unsafe { sys::toyfs_set_buffer_checked(self.buffer.bh.as_ptr()) };
    }
}

impl Drop for BufferGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `Buffer::lock` (type invariant).
        unsafe { sys::unlock_buffer(self.buffer.bh.as_ptr()) };
    }
}
