// SPDX-License-Identifier: GPL-2.0
//! `/dev/vm_mvc_testdev` (samples/vm_mvc_testdev): its ioctls, with the
//! argument layouts of the module's uapi.rs.

use crate::sys::{ioctl_ptr, Mapping};
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};

/// The device node.
pub const PATH: &str = "/dev/vm_mvc_testdev";

/// `VM_MVC_ZERO`.
pub const ZERO: i32 = 1;
/// `VM_MVC_READ`.
pub const READ: i32 = 2;
/// `VM_MVC_WRITE`.
pub const WRITE: i32 = 3;
/// `VM_MVC_PROTZERO`.
pub const PROTZERO: i32 = 4;
/// `VM_MVC_NODIRTY`, or-ed into a command.
pub const NODIRTY: i32 = 0x100;

/// `MvcArgs::flags`: attach the buffer as a source only (no FOLL_WRITE).
pub const BUF_SOURCE_ONLY: u32 = 1;
/// `MvcArgs::flags`: attach the buffer as a destination only.
pub const BUF_DEST_ONLY: u32 = 4;
/// `MvcArgs::flags`: the device sleeps 200 ms between attaching the buffer
/// and calling vm_mvc.
pub const PAUSE_AFTER_ATTACH: u32 = 2;

/// `_IOC(dir, '|', nr, size)` of asm-generic/ioctl.h.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'|' as u32) << 8) | nr
}
const WRITE_DIR: u32 = 1;
const READ_WRITE_DIR: u32 = 3;

/// SID_CREATE.
pub const SID_CREATE: u32 = ioc(READ_WRITE_DIR, 0x90, std::mem::size_of::<SidCreateArgs>());
/// SID_DELETE.
pub const SID_DELETE: u32 = ioc(WRITE_DIR, 0x91, 8);
/// LEAK.
pub const LEAK: u32 = ioc(WRITE_DIR, 0x92, 8);
/// MVC.
pub const MVC: u32 = ioc(WRITE_DIR, 0x93, std::mem::size_of::<MvcArgs>());

/// The argument of SID_CREATE.
#[repr(C)]
#[derive(Default)]
pub struct SidCreateArgs {
    /// In: the file descriptor.
    pub fd: i32,
    /// Zero.
    pub reserved: u32,
    /// Out: the sid.
    pub sid: i64,
}

/// The argument of MVC: `vm_mvc(sid, pno, pgoffs, count, cmd, xmem, ptr)`
/// with `buf_len` bytes at `buf` attached as the descriptor (none if 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MvcArgs {
    /// The sid.
    pub sid: i64,
    /// The page number.
    pub pno: i64,
    /// Offset in the page.
    pub pgoffs: i32,
    /// Bytes.
    pub count: i32,
    /// The command.
    pub cmd: i32,
    /// [`BUF_SOURCE_ONLY`] or [`BUF_DEST_ONLY`], [`PAUSE_AFTER_ATTACH`], or 0.
    pub flags: u32,
    /// Start of the buffer attached for the call.
    pub buf: u64,
    /// Length of that buffer, 0 for none.
    pub buf_len: u64,
    /// The address vm_mvc copies at.
    pub ptr: u64,
}

impl MvcArgs {
    /// `cmd` on `count` bytes at `pgoffs` of page `pno` of `sid`, with no
    /// buffer.
    pub fn new(sid: i64, pno: i64, pgoffs: i32, count: i32, cmd: i32) -> Self {
        Self {
            sid,
            pno,
            pgoffs,
            count,
            cmd,
            ..Self::default()
        }
    }

    /// The same with `len` bytes at `offset` of `mapping` as the buffer,
    /// copying at its first byte.
    pub fn with_buffer(self, mapping: &Mapping, offset: usize, len: usize) -> Self {
        let addr = mapping.addr(offset) as u64;
        self.with_raw_buffer(addr, len as u64, addr)
    }

    /// The same with any buffer range and copy address.
    pub fn with_raw_buffer(self, buf: u64, buf_len: u64, ptr: u64) -> Self {
        Self {
            buf,
            buf_len,
            ptr,
            ..self
        }
    }

    /// The same with the buffer attached as a source only.
    pub fn source_only(self) -> Self {
        Self {
            flags: self.flags | BUF_SOURCE_ONLY,
            ..self
        }
    }

    /// The same with the buffer attached as a destination only.
    pub fn dest_only(self) -> Self {
        Self {
            flags: self.flags | BUF_DEST_ONLY,
            ..self
        }
    }

    /// The same with a pause between attaching the buffer and the call.
    pub fn paused(self) -> Self {
        Self {
            flags: self.flags | PAUSE_AFTER_ATTACH,
            ..self
        }
    }
}

/// An open file of the test device.
pub struct TestDev {
    file: File,
}

impl TestDev {
    /// Opens the device; the errno on failure.
    pub fn open() -> Result<Self, i32> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(PATH)
            .map_err(|err| err.raw_os_error().unwrap_or(0))?;
        Ok(Self { file })
    }

    /// Creates a sid for the file behind `fd`; the sid.
    pub fn create_sid_fd(&self, fd: i32) -> Result<i64, i32> {
        let mut args = SidCreateArgs {
            fd,
            ..SidCreateArgs::default()
        };
        ioctl_ptr(&self.file, SID_CREATE, &mut args)?;
        Ok(args.sid)
    }

    /// Creates a sid for `file`; the sid.
    pub fn create_sid(&self, file: &File) -> Result<i64, i32> {
        self.create_sid_fd(file.as_raw_fd())
    }

    /// Deletes a sid this open file created.
    pub fn delete_sid(&self, sid: i64) -> Result<(), i32> {
        let mut sid = sid;
        ioctl_ptr(&self.file, SID_DELETE, &mut sid)
    }

    /// Leaves a sid live, its file reference dropped.
    pub fn leak(&self, sid: i64) -> Result<(), i32> {
        let mut sid = sid;
        ioctl_ptr(&self.file, LEAK, &mut sid)
    }

    /// Calls vm_mvc.
    pub fn mvc(&self, args: MvcArgs) -> Result<(), i32> {
        let mut args = args;
        ioctl_ptr(&self.file, MVC, &mut args)
    }
}

impl AsRawFd for TestDev {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_numbers_match_the_modules_uapi() {
        // samples/vm_mvc_testdev/uapi.rs: no padding, 64-bit fields aligned.
        assert_eq!(std::mem::size_of::<SidCreateArgs>(), 16);
        assert_eq!(std::mem::size_of::<MvcArgs>(), 56);
        assert_eq!(std::mem::offset_of!(MvcArgs, buf), 32);
        // _IOWR('|', 0x90, 16) and _IOW('|', 0x93, 56) as the C macros make them.
        assert_eq!(SID_CREATE, 0xc010_7c90);
        assert_eq!(MVC, 0x4038_7c93);
    }
}
