// SPDX-License-Identifier: GPL-2.0
//! A shared (or private), writable mapping of a file (x86-64 Linux system calls; std
//! has no mmap and the workspace has no external crates).

use crate::sys::{
    check, syscall, SYS_MMAP, SYS_MSYNC, SYS_MUNMAP, SYS_PREAD64, SYS_PWRITE64, SYS_PWRITEV,
};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const PROT_READ: usize = 1;
const PROT_WRITE: usize = 2;
const MAP_SHARED: usize = 1;
const MAP_PRIVATE: usize = 2;
const MS_SYNC: usize = 4;

/// `len` bytes of a file from offset 0, mapped shared and writable;
/// unmapped on drop.
pub struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    /// Maps the first `len` bytes (`len` > 0) of `file`.
    pub fn new(file: &File, len: usize) -> io::Result<Self> {
        Self::with(file, len, false)
    }

    /// Maps the first `len` bytes (`len` > 0) of `file`, shared or, with
    /// `private`, copy-on-write (`MAP_PRIVATE`).
    pub fn with(file: &File, len: usize, private: bool) -> io::Result<Self> {
        let fd = file.as_raw_fd() as usize;
        let kind = if private { MAP_PRIVATE } else { MAP_SHARED };
        // SAFETY: A new mapping chosen by the kernel (address 0), which
        // touches no memory of this program.
        let addr =
            check(unsafe { syscall(SYS_MMAP, [0, len, PROT_READ | PROT_WRITE, kind, fd, 0]) })?;
        Ok(Self { addr, len })
    }

    /// Maps `len` bytes (`len` > 0) of `file` from `offset` (a multiple
    /// of the page), shared: offset 0 of the mapping is `offset` of the
    /// file.
    pub fn window(file: &File, offset: u64, len: usize) -> io::Result<Self> {
        let fd = file.as_raw_fd() as usize;
        let prot = PROT_READ | PROT_WRITE;
        // SAFETY: A new mapping chosen by the kernel (address 0), which
        // touches no memory of this program.
        let addr =
            check(unsafe { syscall(SYS_MMAP, [0, len, prot, MAP_SHARED, fd, offset as usize]) })?;
        Ok(Self { addr, len })
    }

    /// Stores `bytes` at `offset` of the mapping.
    pub fn store(&self, offset: usize, bytes: &[u8]) {
        assert!(
            offset + bytes.len() <= self.len,
            "store outside the mapping"
        );
        for (i, &byte) in bytes.iter().enumerate() {
            // SAFETY: Inside the mapping (asserted); volatile because the
            // point is the store reaching the page, fault included.
            unsafe { std::ptr::write_volatile((self.addr + offset + i) as *mut u8, byte) };
        }
    }

    /// Loads `len` bytes at `offset` of the mapping.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= self.len, "load outside the mapping");
        (0..len)
            // SAFETY: Inside the mapping (asserted).
            .map(|i| unsafe { std::ptr::read_volatile((self.addr + offset + i) as *const u8) })
            .collect()
    }

    /// `pread(2)` of `len` bytes at `offset` of `file` into the mapping at
    /// `at`: the kernel's copy to this memory faults the mapping's pages
    /// in (of the same file, maybe).  Returns the bytes read.
    pub fn pread_into(&self, file: &File, at: usize, len: usize, offset: u64) -> io::Result<usize> {
        self.transfer(SYS_PREAD64, file, at, len, offset)
    }

    /// `pwrite(2)` of `len` bytes of the mapping from `at` to `offset` of
    /// `file`.  Returns the bytes written.
    pub fn pwrite_from(
        &self,
        file: &File,
        at: usize,
        len: usize,
        offset: u64,
    ) -> io::Result<usize> {
        self.transfer(SYS_PWRITE64, file, at, len, offset)
    }

    /// `pread(2)` or `pwrite(2)` (`number`) between `len` bytes of the
    /// mapping from `at` and `offset` of `file`.
    fn transfer(
        &self,
        number: usize,
        file: &File,
        at: usize,
        len: usize,
        offset: u64,
    ) -> io::Result<usize> {
        assert!(at + len <= self.len, "I/O outside the mapping");
        let fd = file.as_raw_fd() as usize;
        // SAFETY: The buffer is inside this mapping (asserted), which no
        // Rust reference covers: the kernel reads it, or writes it as a
        // store through the mapping would.
        check(unsafe { syscall(number, [fd, self.addr + at, len, offset as usize, 0, 0]) })
    }

    /// `pwritev(2)` to `offset` of `file` of the buffers `head`, then of
    /// `len` bytes of the mapping from `at` (xfstests' t_mmap_writev).
    /// Returns the bytes written.
    pub fn pwritev_after(
        &self,
        file: &File,
        head: &[&[u8]],
        at: usize,
        len: usize,
        offset: u64,
    ) -> io::Result<usize> {
        assert!(at + len <= self.len, "write outside the mapping");
        let mut iov: Vec<[usize; 2]> = head
            .iter()
            .map(|buf| [buf.as_ptr() as usize, buf.len()])
            .collect();
        iov.push([self.addr + at, len]);
        let fd = file.as_raw_fd() as usize;
        // SAFETY: `iov` is an array of `struct iovec` (base, length) that
        // outlives the call; each names memory of `head`, alive across the
        // call, or of this mapping (asserted); the kernel only reads them.
        check(unsafe {
            syscall(
                SYS_PWRITEV,
                [fd, iov.as_ptr() as usize, iov.len(), offset as usize, 0, 0],
            )
        })
    }

    /// Writes the mapping's dirty pages back and waits (`msync(MS_SYNC)`).
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: The range is this mapping.
        check(unsafe { syscall(SYS_MSYNC, [self.addr, self.len, MS_SYNC, 0, 0, 0]) }).map(|_| ())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: The range is this mapping, not used after this.
        unsafe { syscall(SYS_MUNMAP, [self.addr, self.len, 0, 0, 0, 0]) };
    }
}
