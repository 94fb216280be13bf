// SPDX-License-Identifier: GPL-2.0

//! The ioctls of `/dev/vm_mvc_testdev` and their arguments.
//!
//! Every argument is a `#[repr(C)]` struct of fixed-size integers with no
//! padding, read from (and for SID_CREATE written back to) the address passed
//! as the ioctl argument; tools/vm_mvc-usertest declares the same layout.
//!
//! | ioctl | argument | does |
//! | --- | --- | --- |
//! | `SID_CREATE` `_IOWR('|', 0x90, SidCreateArgs)` | `fd` in, `sid` out | `vm_mvc_sid_create` on the regular file behind `fd`, whose reference the device keeps |
//! | `SID_DELETE` `_IOW('|', 0x91, i64)` | a sid | `vm_mvc_sid_delete` of a sid this open file created, then drops the file reference |
//! | `LEAK` `_IOW('|', 0x92, i64)` | a sid | drops the file reference of a sid this open file created, leaving the sid live |
//! | `MVC` `_IOW('|', 0x93, MvcArgs)` | a call | `vm_mvc` with a user buffer attached for the call; ZERO, WRITE and PROTZERO only on a sid whose `fd` was open for writing |
//!
//! Errors: `EPERM` without `CAP_SYS_ADMIN` (open and every ioctl),
//! `ENOTTY` for another ioctl number, `EFAULT` if the argument cannot be
//! copied; SID_CREATE: `EBADF` for a bad fd, `EINVAL` if it is not a
//! regular file, then vm_mvc's errnos; SID_DELETE and LEAK: `EBADF` for a
//! sid this open file did not create (or already deleted or leaked); MVC:
//! `EBADF` first for ZERO, WRITE or PROTZERO (with or without
//! `VM_MVC_NODIRTY`) on a sid created (through any open file of the
//! device) for a descriptor not open for writing (no `FMODE_WRITE`, e.g.
//! `O_RDONLY`), as write(2) and fallocate(2) on it; then the errnos of
//! `vm_mvc_xmattach` for the buffer, then those of `vm_mvc`
//! (Documentation/vm_mvc.rst).

use kernel::{
    ioctl::{
        _IOW,
        _IOWR, //
    },
    prelude::*,
    uaccess::UserSliceReader, //
};

/// The ioctl type of the kernel's samples (ioctl-number.rst: `'|'` 80-9F).
const IOCTL_TYPE: u32 = b'|' as u32;

/// Creates a sid for the file behind a descriptor; writes the sid back.
pub(crate) const SID_CREATE: u32 = _IOWR::<SidCreateArgs>(IOCTL_TYPE, 0x90);
/// Deletes a sid this open file created.
pub(crate) const SID_DELETE: u32 = _IOW::<i64>(IOCTL_TYPE, 0x91);
/// Leaves a sid live with no reference on its file: for the test of
/// vm_mvc's warning about sids still live at unload, and nothing else.
/// Once the file's inode is evicted the sid breaks vm_mvc's lifetime rule:
/// no call may use it then.
pub(crate) const LEAK: u32 = _IOW::<i64>(IOCTL_TYPE, 0x92);
/// Calls vm_mvc.
pub(crate) const MVC: u32 = _IOW::<MvcArgs>(IOCTL_TYPE, 0x93);

/// `MvcArgs::flags`: attach the buffer as a source only
/// (`VM_MVC_XMEM_SOURCE`, pinned without `FOLL_WRITE`), so that it can
/// only be the source of a WRITE.  Without this or [`MVC_BUF_DEST_ONLY`]
/// the buffer is attached both ways.
pub(crate) const MVC_BUF_SOURCE_ONLY: u32 = 1;
/// `MvcArgs::flags`: attach the buffer as a destination only
/// (`VM_MVC_XMEM_DEST`), so that it can only receive a READ.
pub(crate) const MVC_BUF_DEST_ONLY: u32 = 4;
/// `MvcArgs::flags`: sleep [`PAUSE_MS`] between attaching the buffer and
/// calling vm_mvc, so that another thread can unmap the buffer while it is
/// attached (pinned).
pub(crate) const MVC_PAUSE_AFTER_ATTACH: u32 = 2;
/// The length of that pause, in milliseconds.
pub(crate) const PAUSE_MS: i64 = 200;

/// The argument of [`SID_CREATE`].
#[repr(C)]
pub(crate) struct SidCreateArgs {
    /// In: a file descriptor of the calling process.
    pub(crate) fd: i32,
    /// Zero.
    pub(crate) reserved: u32,
    /// Out: the sid.
    pub(crate) sid: i64,
}

/// The argument of [`MVC`]: `vm_mvc(sid, pno, pgoffs, count, cmd, xmem,
/// ptr)`, where `xmem` describes `buf_len` bytes at `buf`, attached (and
/// pinned) for the call, or is a null descriptor if `buf_len` is 0.
#[repr(C)]
pub(crate) struct MvcArgs {
    /// Passed to vm_mvc unchecked.
    pub(crate) sid: i64,
    /// Passed to vm_mvc unchecked.
    pub(crate) pno: i64,
    /// Passed to vm_mvc unchecked.
    pub(crate) pgoffs: i32,
    /// Passed to vm_mvc unchecked.
    pub(crate) count: i32,
    /// Passed to vm_mvc unchecked.
    pub(crate) cmd: i32,
    /// [`MVC_BUF_SOURCE_ONLY`] or [`MVC_BUF_DEST_ONLY`], and
    /// [`MVC_PAUSE_AFTER_ATTACH`], or 0.
    pub(crate) flags: u32,
    /// Start of the user buffer.
    pub(crate) buf: u64,
    /// Length of the user buffer; 0 for no buffer.
    pub(crate) buf_len: u64,
    /// The address vm_mvc copies at (`ptr`), normally inside the buffer.
    pub(crate) ptr: u64,
}

impl SidCreateArgs {
    /// Reads the argument from user space.
    pub(crate) fn read(reader: &mut UserSliceReader) -> Result<Self> {
        Ok(Self {
            fd: reader.read()?,
            reserved: reader.read()?,
            sid: reader.read()?,
        })
    }
}

impl MvcArgs {
    /// Reads the argument from user space.
    pub(crate) fn read(reader: &mut UserSliceReader) -> Result<Self> {
        Ok(Self {
            sid: reader.read()?,
            pno: reader.read()?,
            pgoffs: reader.read()?,
            count: reader.read()?,
            cmd: reader.read()?,
            flags: reader.read()?,
            buf: reader.read()?,
            buf_len: reader.read()?,
            ptr: reader.read()?,
        })
    }
}
