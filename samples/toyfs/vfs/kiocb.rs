// SPDX-License-Identifier: GPL-2.0

//! A read or a write as `read_iter` and `write_iter` receive it: the
//! kernel's I/O control block (`struct kiocb`) and the caller's buffers
//! (`struct iov_iter`), with the generic steps, page cache and iomap,
//! toyfs's `O_DIRECT` is made of (Documentation/toyfs.rst, "Direct
//! I/O"), and the open flag that lets a file take `O_DIRECT` at all.

use super::{Inode, InodeGuard, IomapOps};
use crate::sys;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{bindings, error::to_result, prelude::*};

/// Lets a file being opened take `O_DIRECT` (`FMODE_CAN_ODIRECT`, which
/// `do_dentry_open` and `fcntl(F_SETFL)` look for; the VFS sets it itself
/// only for a mapping with a `direct_IO` operation, which toyfs has not).
///
/// # Safety
///
/// `file` is the file the VFS passes to `open`, during that call: not yet
/// seen by anyone else, so its `f_mode` may be written.
pub(crate) unsafe fn allow_direct_io(file: *mut bindings::file) {
    // SAFETY: The caller's guarantee.
    unsafe { (*file).f_mode |= sys::TOYFS_FMODE_CAN_ODIRECT };
}

/// One read or write of a regular file of toyfs: the arguments of one
/// `read_iter` or `write_iter` call, valid and ours for `'a`.
pub(crate) struct Kiocb<'a> {
    iocb: NonNull<bindings::kiocb>,
    iter: NonNull<bindings::iov_iter>,
    _call: PhantomData<&'a mut bindings::kiocb>,
}

impl<'a> Kiocb<'a> {
    /// The request of a `read_iter` or `write_iter` call.
    ///
    /// # Safety
    ///
    /// `iocb` and `iter` are the arguments of a `read_iter` or
    /// `write_iter` call on an open regular file of toyfs, used by nothing
    /// else during `'a`, which the call outlives.
    pub(crate) unsafe fn from_raw(
        iocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> Self {
        Self {
            // SAFETY: The VFS never passes null ones (the caller's
            // guarantee).
            iocb: unsafe { NonNull::new_unchecked(iocb) },
            // SAFETY: As above.
            iter: unsafe { NonNull::new_unchecked(iter) },
            _call: PhantomData,
        }
    }

    fn flags(&self) -> i32 {
        // SAFETY: The request is valid for `'a` (type invariant).
        unsafe { (*self.iocb.as_ptr()).ki_flags }
    }

    /// Whether the file was opened (or set by `fcntl`) with `O_DIRECT`
    /// (`IOCB_DIRECT`).
    pub(crate) fn is_direct(&self) -> bool {
        // CAST: a flag bit, below `i32::MAX`.
        self.flags() & bindings::IOCB_DIRECT as i32 != 0
    }

    /// Whether the caller may not be made to wait (`IOCB_NOWAIT`: io_uring
    /// on a file opened `O_NONBLOCK`); `EAGAIN` sends it to a worker.
    pub(crate) fn is_nowait(&self) -> bool {
        self.flags() & sys::TOYFS_IOCB_NOWAIT != 0
    }

    /// Bytes left to move (`iov_iter_count`).
    pub(crate) fn count(&self) -> usize {
        // SAFETY: As in `flags`.
        unsafe { sys::toyfs_iov_iter_count(self.iter.as_ptr()) }
    }

    /// The request's position in the file (`ki_pos`).
    pub(crate) fn position(&self) -> u64 {
        // SAFETY: As in `flags`.  CAST: a position of a regular file, not
        // negative (`rw_verify_area`).
        unsafe { (*self.iocb.as_ptr()).ki_pos as u64 }
    }

    /// The alignment of the caller's buffers (`iov_iter_alignment`): the
    /// bitwise or of their addresses and lengths.
    pub(crate) fn buffer_alignment(&self) -> u64 {
        // SAFETY: As in `flags`.
        unsafe { bindings::iov_iter_alignment(self.iter.as_ptr()) as u64 }
    }

    /// Moves the request's bytes by bio straight between the caller's
    /// pages and the disk extents `ops` gives (`iomap_dio_rw`, which first
    /// writes back and drops the page cache's folios of the range), and
    /// waits for them (`IOMAP_DIO_FORCE_WAIT`: an asynchronous request is
    /// done before its inode lock goes, so no truncation frees its blocks
    /// meanwhile), the inode locked.  Bytes moved (the request's position
    /// and buffers advanced), `ENOTBLK` (negative) if nothing was and the
    /// page cache is to do it, or another negative errno.  `O_SYNC` and
    /// `O_DSYNC` are left to the caller ([`Self::write_sync`] once the
    /// inode is unlocked): iomap would call `fsync` under the lock.
    pub(crate) fn direct_rw(&mut self, ops: &'static IomapOps, _locked: &InodeGuard<'_>) -> isize {
        let sync = sys::TOYFS_IOCB_DSYNC | sys::TOYFS_IOCB_SYNC;
        let flags = self.flags();
        // SAFETY: As in `flags`; the request is ours for the call, and its
        // flags are restored below.
        unsafe { (*self.iocb.as_ptr()).ki_flags = flags & !sync };
        // SAFETY: As in `flags`; the inode is locked, as iomap needs, and
        // `ops` lives for ever; no completion operations, no private data,
        // nothing done before.
        let done = unsafe {
            sys::iomap_dio_rw(
                self.iocb.as_ptr(),
                self.iter.as_ptr(),
                ops.as_ptr(),
                core::ptr::null(),
                sys::IOMAP_DIO_FORCE_WAIT,
                core::ptr::null_mut(),
                0,
            )
        };
        // SAFETY: As above.
        unsafe { (*self.iocb.as_ptr()).ki_flags = flags };
        done
    }

    /// Marks the file's access time for update (`file_accessed`), as a
    /// read does: a direct read that iomap does in full reaches no
    /// `filemap_read`, which marks it otherwise.
    pub(crate) fn accessed(&self) {
        // SAFETY: As in `flags`: the file is open for the call.
        unsafe { sys::toyfs_file_accessed((*self.iocb.as_ptr()).ki_filp) }
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &'a Inode {
        // SAFETY: The file is open for the call, and its inode one of
        // ours (the caller's guarantee at `from_raw`).
        unsafe { Inode::from_raw(sys::toyfs_file_inode((*self.iocb.as_ptr()).ki_filp)) }
    }

    /// The generic buffered read (`generic_file_read_iter`): bytes read,
    /// or a negative errno.  Not for a direct request, which it would hand
    /// to the `direct_IO` toyfs has not.
    pub(crate) fn read_buffered(&mut self) -> isize {
        if self.is_direct() {
            return EINVAL.to_errno() as isize;
        }
        // SAFETY: As in `flags`; not direct, so the page cache only.
        unsafe { bindings::generic_file_read_iter(self.iocb.as_ptr(), self.iter.as_ptr()) }
    }

    /// The generic buffered write (`generic_file_write_iter`: the inode
    /// lock, the checks, `O_SYNC`): bytes written, or a negative errno.
    /// Not for a direct request, as [`Self::read_buffered`].
    pub(crate) fn write_buffered(&mut self) -> isize {
        if self.is_direct() {
            return EINVAL.to_errno() as isize;
        }
        // SAFETY: As in `read_buffered`.
        unsafe { bindings::generic_file_write_iter(self.iocb.as_ptr(), self.iter.as_ptr()) }
    }

    /// Writes the file's dirty folios in the `count` bytes from the
    /// request's position and waits for them (`kiocb_write_and_wait`);
    /// with `IOCB_NOWAIT`, `EAGAIN` if one needs it.  Their write errors
    /// (also earlier ones not yet reported) are returned.
    pub(crate) fn write_back(&self, count: usize) -> Result {
        if count == 0 {
            return Ok(());
        }
        // SAFETY: As in `flags`.
        to_result(unsafe { bindings::kiocb_write_and_wait(self.iocb.as_ptr(), count) })
    }

    /// Reads through the page cache from the request's position
    /// (`filemap_read`, which a direct request takes as any other):
    /// bytes read, or a negative errno if none were.
    ///
    /// `done` bytes were read before (by [`Self::direct_rw`]): the result
    /// counts them, and an error after them is not reported.
    pub(crate) fn read_cached(&mut self, done: usize) -> isize {
        // SAFETY: As in `flags`.  CAST: a byte count of one request.
        unsafe { bindings::filemap_read(self.iocb.as_ptr(), self.iter.as_ptr(), done as isize) }
    }

    /// The checks of a write (`generic_write_checks`), the inode locked
    /// ([`InodeGuard`]): the position set for `O_APPEND`, the request cut
    /// to `RLIMIT_FSIZE` and the largest file; the bytes to write (0:
    /// nothing to do), or the error (`EFBIG`, `ETXTBSY`, `EINVAL`...).
    pub(crate) fn write_checks(&mut self, _locked: &InodeGuard<'_>) -> Result<usize> {
        // SAFETY: As in `flags`; the inode is locked, as the checks need.
        let checked =
            unsafe { bindings::generic_write_checks(self.iocb.as_ptr(), self.iter.as_ptr()) };
        // CAST: an errno, or a count of bytes below `isize::MAX`.
        to_result(checked.min(0) as i32).map(|()| checked as usize)
    }

    /// Removes the set-id bits and updates mtime and ctime, as a write
    /// does before it changes anything (`file_modified`), the inode locked.
    pub(crate) fn file_modified(&self, _locked: &InodeGuard<'_>) -> Result {
        // SAFETY: As in `flags`; the inode is locked.
        to_result(unsafe { bindings::file_modified((*self.iocb.as_ptr()).ki_filp) })
    }

    /// A direct write done through the page cache, the inode locked and
    /// the write checked: the bytes are written to the folios
    /// (`generic_perform_write`, with toyfs's `write_begin` and
    /// `write_end`), then written back and waited for, and the clean
    /// folios of the range dropped (`direct_write_fallback`, as the kernel
    /// finishes a direct write that fell back to the page cache).  Bytes
    /// written, or a negative errno: on a write error the position goes
    /// back and the error is returned, as `direct_write_fallback` does.
    pub(crate) fn write_through_cache(&mut self, _locked: &InodeGuard<'_>) -> isize {
        // SAFETY: As in `flags`; the inode is locked and the write
        // checked, as `generic_perform_write` needs.
        let buffered =
            unsafe { bindings::generic_perform_write(self.iocb.as_ptr(), self.iter.as_ptr()) };
        if buffered <= 0 {
            return buffered;
        }
        // SAFETY: As above; `buffered` bytes were written just before the
        // request's position, which `generic_perform_write` advanced.
        unsafe {
            bindings::direct_write_fallback(self.iocb.as_ptr(), self.iter.as_ptr(), 0, buffered)
        }
    }

    /// `O_SYNC` and `O_DSYNC` of a write of `written` bytes
    /// (`generic_write_sync`), the inode unlocked: `written`, or the
    /// error of the `fsync`.
    pub(crate) fn write_sync(&mut self, written: isize) -> isize {
        // SAFETY: As in `flags`.
        unsafe { sys::toyfs_generic_write_sync(self.iocb.as_ptr(), written) }
    }
}
