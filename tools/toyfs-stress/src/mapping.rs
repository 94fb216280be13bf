// SPDX-License-Identifier: GPL-2.0
//! A shared, writable mapping of a file (x86-64 Linux system calls; std
//! has no mmap and the workspace has no external crates).

use crate::sys::{check, syscall, SYS_MMAP, SYS_MSYNC, SYS_MUNMAP};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const PROT_READ: usize = 1;
const PROT_WRITE: usize = 2;
const MAP_SHARED: usize = 1;
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
        let fd = file.as_raw_fd() as usize;
        // SAFETY: A new mapping chosen by the kernel (address 0), which
        // touches no memory of this program.
        let addr = check(unsafe {
            syscall(
                SYS_MMAP,
                [0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0],
            )
        })?;
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
