// SPDX-License-Identifier: GPL-2.0
//! The few C library calls std lacks: ioctl, mmap, munmap, setuid.  Every
//! `unsafe` block of the crate is here.

use std::ffi::{c_int, c_long, c_ulong, c_void};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: c_long,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn setuid(uid: u32) -> c_int;
}

/// Bytes of a base page on x86-64.
pub const PAGE_SIZE: usize = 4096;

/// Error numbers the tests expect (x86-64 Linux values).
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: i32 = 1;
    /// No such page.
    pub const ENOENT: i32 = 2;
    /// I/O error.
    pub const EIO: i32 = 5;
    /// Bad sid or file descriptor.
    pub const EBADF: i32 = 9;
    /// Out of memory.
    pub const ENOMEM: i32 = 12;
    /// Read into a read-only buffer.
    pub const EACCES: i32 = 13;
    /// Bad address.
    pub const EFAULT: i32 = 14;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Unknown ioctl.
    pub const ENOTTY: i32 = 25;
    /// No space left.
    pub const ENOSPC: i32 = 28;
    /// Folio not uptodate.
    pub const ENODATA: i32 = 61;
}

/// `ioctl(fd, request, arg)` with a pointer argument; the errno on failure.
///
/// The kernel reads (and may write) the bytes of `arg` only, as the
/// request's size says; the argument types of tools/vm_mvc-usertest are
/// `#[repr(C)]` with exactly that size.
pub fn ioctl_ptr<T>(fd: &impl AsRawFd, request: u32, arg: *mut T) -> Result<(), i32> {
    ioctl_raw(fd.as_raw_fd(), request, arg as usize)
}

/// `ioctl(fd, request, arg)` with any argument value, also addresses that
/// are not this program's memory: the kernel checks them, and writes only
/// through a valid pointer to memory the caller owns (see [`ioctl_ptr`]).
pub fn ioctl_raw(fd: RawFd, request: u32, arg: usize) -> Result<(), i32> {
    // SAFETY: The device's ioctls only read and write user memory through
    // copy_from_user/copy_to_user, which fault safely on a bad address;
    // callers pass either such a bad address on purpose or a pointer to
    // their own argument of the right size.
    let ret = unsafe { ioctl(fd, c_ulong::from(request), arg) };
    if ret < 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// The errno of the last failed call.
pub fn last_errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Memory protection of a [`Mapping`].
#[derive(Clone, Copy)]
pub enum Prot {
    /// `PROT_READ`.
    Read,
    /// `PROT_READ | PROT_WRITE`.
    ReadWrite,
}

/// A mapping, unmapped on drop unless [`Mapping::unmap`] did it already.
/// Bytes are accessed through volatile loads and stores because the kernel
/// writes them too (vm_mvc READ into pinned pages).
pub struct Mapping {
    addr: usize,
    len: usize,
    /// Cleared by the one thread that unmaps the whole mapping.
    mapped: AtomicBool,
}

impl Mapping {
    /// `len` bytes of fresh anonymous private memory, prefaulted if
    /// writable.
    pub fn anonymous(len: usize, prot: Prot) -> io::Result<Self> {
        let this = Self::map(len, prot, 0x22, -1)?; // MAP_PRIVATE | MAP_ANONYMOUS
        if matches!(prot, Prot::ReadWrite) {
            for page in (0..len).step_by(PAGE_SIZE) {
                this.store(page, &[0]);
            }
        }
        Ok(this)
    }

    /// The first `len` bytes of `file`, shared.
    pub fn shared(file: &impl AsRawFd, len: usize, prot: Prot) -> io::Result<Self> {
        Self::map(len, prot, 0x01, file.as_raw_fd()) // MAP_SHARED
    }

    fn map(len: usize, prot: Prot, flags: c_int, fd: c_int) -> io::Result<Self> {
        let prot = match prot {
            Prot::Read => 1,
            Prot::ReadWrite => 3,
        };
        // SAFETY: A new mapping at an address the kernel chooses: no
        // memory of this program changes.
        let addr = unsafe { mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
        if addr as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            addr: addr as usize,
            len,
            mapped: AtomicBool::new(true),
        })
    }

    /// The address of byte `offset`.
    pub fn addr(&self, offset: usize) -> usize {
        self.addr + offset
    }

    /// Stores `bytes` at `offset`.
    pub fn store(&self, offset: usize, bytes: &[u8]) {
        assert!(
            self.is_mapped() && offset + bytes.len() <= self.len,
            "store outside the mapping"
        );
        for (i, &byte) in bytes.iter().enumerate() {
            // SAFETY: Inside the live, writable mapping (asserted; callers
            // store only into writable ones).
            unsafe { std::ptr::write_volatile((self.addr + offset + i) as *mut u8, byte) };
        }
    }

    /// Loads `len` bytes at `offset`.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(
            self.is_mapped() && offset + len <= self.len,
            "load outside the mapping"
        );
        (0..len)
            // SAFETY: Inside the live mapping (asserted).
            .map(|i| unsafe { std::ptr::read_volatile((self.addr + offset + i) as *const u8) })
            .collect()
    }

    /// Unmaps all but the first `keep` bytes (whole pages), leaving a
    /// mapping followed by a hole.
    pub fn unmap_tail(&mut self, keep: usize) -> io::Result<()> {
        assert!(keep % PAGE_SIZE == 0 && keep < self.len, "bad tail");
        // SAFETY: The tail of this mapping, which no longer covers it.
        let ret = unsafe { munmap((self.addr + keep) as *mut c_void, self.len - keep) };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        self.len = keep;
        Ok(())
    }

    fn is_mapped(&self) -> bool {
        self.mapped.load(Ordering::Acquire)
    }

    /// Unmaps the whole mapping now, from whichever thread; nothing loads
    /// or stores there afterwards (asserted), and drop does not unmap
    /// again (the range may hold another mapping by then).
    pub fn unmap(&self) -> io::Result<()> {
        if !self.mapped.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // SAFETY: This mapping, unmapped once; no Rust reference points
        // into it (accesses are by address and volatile, and checked
        // against `mapped`).
        if unsafe { munmap(self.addr as *mut c_void, self.len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Nothing to do about a failure here, and `unmap` cannot fail on
        // a range this process mapped.
        let _ = self.unmap();
    }
}

/// An address range that is not mapped: mapped, then unmapped at once.
pub fn unmapped_range(len: usize) -> io::Result<usize> {
    let mapping = Mapping::anonymous(len, Prot::Read)?;
    let addr = mapping.addr(0);
    mapping.unmap()?;
    Ok(addr)
}

/// Drops this process's privileges to user `uid` (all its capabilities).
pub fn become_user(uid: u32) -> io::Result<()> {
    // SAFETY: setuid changes credentials only.
    if unsafe { setuid(uid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
