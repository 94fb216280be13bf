// SPDX-License-Identifier: GPL-2.0

//! The superblock of a mounted toyfs.

use super::inode::{InodeRef, NewInode};
use crate::{info::SbInfo, sys};
use core::ptr::NonNull;
use kernel::{bindings, prelude::*, str::CStr, types::Opaque};

///
/// # Invariants
///
/// The superblock is live, its block size is set, and `s_fs_info` points to
/// its `SbInfo` for as long as a `&SuperBlock` exists.
#[repr(transparent)]
pub(crate) struct SuperBlock(Opaque<bindings::super_block>);

impl SuperBlock {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller's
        // guarantee.
        unsafe { &*ptr.cast() }
    }

    /// The raw superblock.
    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The in-memory filesystem state.
    pub(crate) fn info(&self) -> &SbInfo {
        // SAFETY: `s_fs_info` points to the `SbInfo`, which lives as long
        // as the superblock (type invariant).
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<SbInfo>() }
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &kernel::str::BStr {
        // SAFETY: `s_id` is set before `fill_super` and never changes.
        let id = unsafe { &(*self.as_ptr()).s_id };
        // SAFETY: `c_char` and `u8` have the same size and alignment.
        let bytes = unsafe { core::slice::from_raw_parts(id.as_ptr().cast::<u8>(), id.len()) };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        kernel::str::BStr::from_bytes(&bytes[..len])
    }

    /// The device name (`s_id`) as a C string, for C callees that print it.
    pub(crate) fn id_cstr(&self) -> &CStr {
        // SAFETY: `s_id` is set before `fill_super`, never changes, and is
        // NUL-terminated within its array (`strscpy`/`snprintf`).
        unsafe { CStr::from_char_ptr((*self.as_ptr()).s_id.as_ptr()) }
    }

    /// `log2` of the block size (`s_blocksize_bits`).
    pub(crate) fn block_shift(&self) -> u32 {
        // SAFETY: The block size is set and does not change (type
        // invariant).
        unsafe { (*self.as_ptr()).s_blocksize_bits.into() }
    }

    /// The block device (`s_bdev`), open for the superblock's life.
    pub(crate) fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: The superblock is live; `s_bdev` is set for its life
        // (FS_REQUIRES_DEV).
        unsafe { (*self.as_ptr()).s_bdev }
    }

    /// Writes the filesystem's dirty inodes back, their data and the
    /// inodes, and waits until the flusher has (`writeback_inodes_sb`,
    /// `WB_SYNC_NONE`: a folio under writeback already, or an inode being
    /// written by another task, is left to that writeback).  Under
    /// `s_umount` held for reading, taken only if free
    /// (`down_read_trylock`, as `try_to_writeback_inodes_sb` takes it,
    /// without that function's skip while other writeback is under way):
    /// an unmount, a remount or a freeze holding it for writing may wait
    /// for the caller (a freeze for its `sb_start_write`), and nothing is
    /// written then.  Returns whether the writeback ran.  For a task
    /// holding no folio lock (the flusher takes them) and no lock that
    /// writeback takes.
    pub(crate) fn write_back_inodes(&self) -> bool {
        // SAFETY: The superblock is live (type invariant).
        let umount = unsafe { &raw mut (*self.as_ptr()).s_umount };
        // SAFETY: `s_umount` of a live superblock, initialized.
        if unsafe { bindings::down_read_trylock(umount) } == 0 {
            return false;
        }
        // SAFETY: A live superblock, its `s_umount` held for reading as
        // `writeback_inodes_sb` asks.
        unsafe {
            bindings::writeback_inodes_sb(
                self.as_ptr(),
                bindings::wb_reason_WB_REASON_FS_FREE_SPACE,
            )
        };
        // SAFETY: Taken for reading above.
        unsafe { bindings::up_read(umount) };
        true
    }

    /// Writes every dirty buffer of the block device and waits for them
    /// (`sync_blockdev`): the bitmap, the inode table, directory blocks and
    /// indirect blocks, in the device's order.
    pub(crate) fn sync_device(&self) -> Result {
        // SAFETY: The device of a mounted filesystem is open (`bdev`).
        kernel::error::to_result(unsafe { bindings::sync_blockdev(self.bdev()) })
    }

    /// Records a failed write on the superblock (`s_wb_err`), for
    /// `syncfs` to report (`errseq_check_and_advance`), as
    /// `mapping_set_error` records one of a file's mapping there too: for
    /// a write whose buffer is on no inode's list, whose error
    /// `mark_buffer_write_io_error` records only on the device's mapping.
    pub(crate) fn record_write_error(&self) {
        self.record_error(EIO);
    }

    /// Records `err` on the superblock (`s_wb_err`), for `syncfs` to
    /// report: what a call that succeeded left undone, as the error it is
    /// (`EIO`, or `EUCLEAN` for damage found); `errseq` keeps the latest.
    pub(crate) fn record_error(&self, err: Error) {
        // SAFETY: The superblock is live (type invariant); `errseq_set`
        // changes `s_wb_err` atomically (`cmpxchg`).
        unsafe { bindings::errseq_set(&raw mut (*self.as_ptr()).s_wb_err, err.to_errno()) };
    }

    /// Whether the filesystem is mounted read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: The superblock is live (type invariant).
        unsafe { sys::toyfs_sb_rdonly(self.as_ptr()) }
    }

    /// Holds off a freeze for a change the filesystem makes on its own,
    /// outside any system call that changed it (`sb_start_intwrite`,
    /// released when the guard drops): freeing an inode at its last
    /// `iput`.  Waits while the filesystem is frozen, so that a frozen
    /// image is not changed until it is thawed.  For a task that holds
    /// no freeze protection of a later level, as the freeze levels' order
    /// asks.
    pub(crate) fn start_internal_write(&self) -> Unfrozen<'_> {
        // SAFETY: The superblock is live (type invariant).
        unsafe { sys::toyfs_sb_start_intwrite(self.as_ptr()) };
        // INVARIANT: Taken just above, at that level; released only by
        // the drop.
        Unfrozen {
            sb: self,
            internal: true,
        }
    }

    /// [`Self::start_internal_write`] without waiting: `None` once a
    /// freeze has written the filesystem and is freezing it, or froze it
    /// (`sb_start_intwrite_trylock`).  For writeback's `write_inode`,
    /// which must not write a frozen image (eiofix (c)), and must not
    /// wait for the thaw while the flusher holds the superblock.
    pub(crate) fn try_start_internal_write(&self) -> Option<Unfrozen<'_>> {
        // SAFETY: The superblock is live (type invariant).
        if !unsafe { sys::toyfs_sb_start_intwrite_trylock(self.as_ptr()) } {
            return None;
        }
        // INVARIANT: Taken just above, at that level; released only by
        // the drop.
        Some(Unfrozen {
            sb: self,
            internal: true,
        })
    }

    /// Holds off a freeze for a change as a write system call does
    /// (`sb_start_write`, released when the guard drops): waits while
    /// the filesystem is frozen.  For a change the VFS makes no freeze
    /// protection for: moving a packed tail at an open for writing.  For
    /// a task holding no freeze protection and no inode lock.
    pub(crate) fn start_write(&self) -> Unfrozen<'_> {
        // SAFETY: The superblock is live (type invariant).
        unsafe { sys::toyfs_sb_start_write(self.as_ptr()) };
        // INVARIANT: Taken just above, at that level; released only by
        // the drop.
        Unfrozen {
            sb: self,
            internal: false,
        }
    }

    /// The VFS inode `ino` (`iget_locked`): cached, or new and locked for
    /// the caller to fill from the disk.
    pub(crate) fn iget_locked(&self, ino: u32) -> Result<Iget> {
        // SAFETY: The superblock is live (type invariant).
        let inode = unsafe { bindings::iget_locked(self.as_ptr(), ino.into()) };
        let inode = NonNull::new(inode).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode.
        let state = unsafe { sys::toyfs_inode_state_read_once(inode.as_ptr()) };
        if state & bindings::inode_state_flags_enum_I_NEW == 0 {
            // SAFETY: A cached toyfs inode, referenced.
            return Ok(Iget::Cached(unsafe { InodeRef::from_raw(inode) }));
        }
        // SAFETY: A new, locked inode whose reference is ours.
        Ok(Iget::New(unsafe { NewInode::from_raw(inode) }))
    }
}

/// A change to a superblock under way that a freeze waits for
/// ([`SuperBlock::start_internal_write`], [`SuperBlock::start_write`]).
///
/// # Invariants
///
/// The superblock's freeze protection is held by this guard, once: the
/// `SB_FREEZE_FS` level (`sb_start_intwrite`) if `internal`, else the
/// `SB_FREEZE_WRITE` level (`sb_start_write`).
pub(crate) struct Unfrozen<'a> {
    sb: &'a SuperBlock,
    internal: bool,
}

impl Drop for Unfrozen<'_> {
    fn drop(&mut self) {
        let sb = self.sb.as_ptr();
        // SAFETY: The protection of that level is held, once (type
        // invariant), on a live superblock.
        unsafe {
            if self.internal {
                sys::toyfs_sb_end_intwrite(sb);
            } else {
                sys::toyfs_sb_end_write(sb);
            }
        }
    }
}

/// What `iget_locked` found.
pub(crate) enum Iget {
    /// An inode in use, set up.
    Cached(InodeRef),
    /// A new inode to fill.
    New(NewInode),
}
