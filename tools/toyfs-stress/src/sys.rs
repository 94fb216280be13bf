// SPDX-License-Identifier: GPL-2.0
//! The raw x86-64 Linux system calls std does not offer: mmap, msync,
//! fallocate, the SEEK_DATA/SEEK_HOLE whences of lseek and the inode flags
//! ioctls (the workspace uses no external crates, so no libc).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

pub(crate) const SYS_LSEEK: usize = 8;
pub(crate) const SYS_MMAP: usize = 9;
pub(crate) const SYS_MUNMAP: usize = 11;
const SYS_IOCTL: usize = 16;
pub(crate) const SYS_MSYNC: usize = 26;
const SYS_SYNC: usize = 162;
const SYS_FADVISE64: usize = 221;
const SYS_SYNC_FILE_RANGE: usize = 277;
const SYS_FALLOCATE: usize = 285;

/// The size of a page (x86-64).
pub const PAGE: u64 = 4096;

/// `fallocate` mode bits (include/uapi/linux/falloc.h).
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
/// Deallocates the range (with `FALLOC_FL_KEEP_SIZE`).
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
/// Zeroes the range.
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;

/// `FS_IOC_GETFLAGS` and `FS_IOC_SETFLAGS` (include/uapi/linux/fs.h):
/// encoded with a `long`, but every filesystem reads and writes an `int`.
const FS_IOC_GETFLAGS: usize = 0x8008_6601;
const FS_IOC_SETFLAGS: usize = 0x4008_6602;
/// The inode flag `chattr +c` sets: compress the file's data.
pub const FS_COMPR_FL: u32 = 0x0000_0004;

const SEEK_DATA: usize = 3;
const SEEK_HOLE: usize = 4;

/// A raw system call with up to six arguments; returns the kernel's value
/// (a negative errno on failure).
///
/// # Safety
///
/// The arguments must be valid for system call `number`.
pub(crate) unsafe fn syscall(number: usize, args: [usize; 6]) -> isize {
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
pub(crate) fn check(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret as i32));
    }
    Ok(ret as usize)
}

/// `fallocate(fd, mode, offset, len)`.
pub fn fallocate(file: &File, mode: u32, offset: u64, len: u64) -> io::Result<()> {
    let fd = file.as_raw_fd() as usize;
    // SAFETY: Integer arguments only; no memory of this program is named.
    check(unsafe {
        syscall(
            SYS_FALLOCATE,
            [fd, mode as usize, offset as usize, len as usize, 0, 0],
        )
    })
    .map(|_| ())
}

/// `sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`: starts writeback of
/// the file's dirty pages, waits for nothing else (no metadata, no cache
/// flush), so that it can run over and over.
pub fn start_writeback(file: &File) -> io::Result<()> {
    const SYNC_FILE_RANGE_WRITE: usize = 2;
    let fd = file.as_raw_fd() as usize;
    // SAFETY: Integer arguments only.
    check(unsafe { syscall(SYS_SYNC_FILE_RANGE, [fd, 0, 0, SYNC_FILE_RANGE_WRITE, 0, 0]) })
        .map(|_| ())
}

/// `sync()`: every filesystem's dirty data and metadata, and the block
/// devices' caches, to the disks.
pub fn sync_filesystems() {
    // SAFETY: No arguments; `sync` cannot fail.
    unsafe { syscall(SYS_SYNC, [0; 6]) };
}

/// `posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)`: the file's clean,
/// unmapped pages leave the page cache, so that the next read comes from
/// the disk.
pub fn evict(file: &File) -> io::Result<()> {
    const POSIX_FADV_DONTNEED: usize = 4;
    let fd = file.as_raw_fd() as usize;
    // SAFETY: Integer arguments only.
    check(unsafe { syscall(SYS_FADVISE64, [fd, 0, 0, POSIX_FADV_DONTNEED, 0, 0]) }).map(|_| ())
}

/// `lseek(fd, offset, SEEK_DATA or SEEK_HOLE)`: the offset found, or
/// `None` for `ENXIO` (no data, or `offset` at or past the end).
pub fn seek(file: &File, offset: u64, data: bool) -> io::Result<Option<u64>> {
    let fd = file.as_raw_fd() as usize;
    let whence = if data { SEEK_DATA } else { SEEK_HOLE };
    // SAFETY: Integer arguments only.  The file position moves, which no
    // caller relies on (they all use pread/pwrite).
    match check(unsafe { syscall(SYS_LSEEK, [fd, offset as usize, whence, 0, 0, 0]) }) {
        Ok(found) => Ok(Some(found as u64)),
        Err(err) if err.raw_os_error() == Some(ENXIO) => Ok(None),
        Err(err) => Err(err),
    }
}

const ENXIO: i32 = 6;
/// The operation is not supported (`fallocate` modes a filesystem lacks).
pub const EOPNOTSUPP: i32 = 95;

/// The file's inode flags (`FS_IOC_GETFLAGS`, what `lsattr` shows).
pub fn inode_flags(file: &File) -> io::Result<u32> {
    let fd = file.as_raw_fd() as usize;
    let mut flags: u32 = 0;
    let ptr = &mut flags as *mut u32 as usize;
    // SAFETY: `ptr` points to an int that lives across the call, which is
    // all the kernel writes.
    check(unsafe { syscall(SYS_IOCTL, [fd, FS_IOC_GETFLAGS, ptr, 0, 0, 0]) })?;
    Ok(flags)
}

/// Sets the file's inode flags (`FS_IOC_SETFLAGS`, what `chattr` does).
pub fn set_inode_flags(file: &File, flags: u32) -> io::Result<()> {
    let fd = file.as_raw_fd() as usize;
    let ptr = &flags as *const u32 as usize;
    // SAFETY: `ptr` points to an int that lives across the call; the
    // kernel only reads it.
    check(unsafe { syscall(SYS_IOCTL, [fd, FS_IOC_SETFLAGS, ptr, 0, 0, 0]) }).map(|_| ())
}
