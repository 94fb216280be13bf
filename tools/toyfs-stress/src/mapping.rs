// SPDX-License-Identifier: GPL-2.0
//! A shared, writable mapping of a file (x86-64 Linux system calls; std
//! has no mmap and the workspace has no external crates).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const SYS_MMAP: usize = 9;
const SYS_MUNMAP: usize = 11;
const SYS_MSYNC: usize = 26;
const PROT_READ: usize = 1;
const PROT_WRITE: usize = 2;
const MAP_SHARED: usize = 1;
const MS_SYNC: usize = 4;

/// A raw system call with up to six arguments; returns the kernel's value
/// (a negative errno on failure).
///
/// # Safety
///
/// The arguments must be valid for system call `number`.
unsafe fn syscall(number: usize, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: The x86-64 system call convention; the caller vouches for
    // the arguments.  `syscall` clobbers rcx and r11 only.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// Turns a system call's return value into a result.
fn check(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret as i32));
    }
    Ok(ret as usize)
}

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
