// SPDX-License-Identifier: GPL-2.0
//! The raw x86-64 Linux system calls std does not offer: mmap, msync,
//! fallocate, the SEEK_DATA/SEEK_HOLE whences of lseek, the inode flags
//! and FIEMAP ioctls, copy_file_range, sendfile and splice (the workspace
//! uses no external crates, so no libc).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

pub(crate) const SYS_LSEEK: usize = 8;
pub(crate) const SYS_PREAD64: usize = 17;
pub(crate) const SYS_PWRITE64: usize = 18;
pub(crate) const SYS_PWRITEV: usize = 296;
pub(crate) const SYS_MMAP: usize = 9;
pub(crate) const SYS_MUNMAP: usize = 11;
const SYS_IOCTL: usize = 16;
const SYS_SENDFILE: usize = 40;
pub(crate) const SYS_MSYNC: usize = 26;
const SYS_SYNC: usize = 162;
const SYS_FADVISE64: usize = 221;
const SYS_SYNC_FILE_RANGE: usize = 277;
const SYS_SPLICE: usize = 275;
const SYS_FALLOCATE: usize = 285;
const SYS_PIPE2: usize = 293;
const SYS_COPY_FILE_RANGE: usize = 326;
const SYS_MKNODAT: usize = 259;
const SYS_FSTATFS: usize = 138;

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

/// `mknodat(AT_FDCWD, path, S_IFIFO | 0o644, 0)`: `mkfifo(3)`.
pub fn mkfifo(path: &str) -> io::Result<()> {
    const S_IFIFO: usize = 0o010_000;
    mknod(path, S_IFIFO | 0o644, 0)
}

/// `mknodat(AT_FDCWD, path, mode, dev)`.
pub fn mknod(path: &str, mode: usize, dev: usize) -> io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call;
    // the rest are integers.
    check(unsafe {
        syscall(
            SYS_MKNODAT,
            [AT_FDCWD as usize, path.as_ptr() as usize, mode, dev, 0, 0],
        )
    })
    .map(|_| ())
}

/// The free inodes of the filesystem holding `file` (`fstatfs`'s
/// `f_ffree`).
pub fn free_inodes(file: &File) -> io::Result<u64> {
    // `struct statfs` of x86-64: fifteen 8-byte words up to `f_spare`
    // (`f_fsid` is two 4-byte words in one); `f_ffree` is the seventh.
    const F_FFREE: usize = 6;
    let mut words = [0u64; 15];
    let fd = file.as_raw_fd() as usize;
    // SAFETY: `words` is a writable `struct statfs` (120 bytes) that
    // outlives the call.
    check(unsafe { syscall(SYS_FSTATFS, [fd, words.as_mut_ptr() as usize, 0, 0, 0, 0]) })?;
    Ok(words[F_FFREE])
}

/// The fragments (or blocks) of the filesystem holding `file`, in all and
/// free (`fstatfs`'s `f_blocks` and `f_bfree`, counted in `f_frsize`
/// units).
pub fn fragment_counts(file: &File) -> io::Result<(u64, u64)> {
    // `struct statfs` of x86-64 (above): `f_blocks` is the third word,
    // `f_bfree` the fourth.
    const F_BLOCKS: usize = 2;
    const F_BFREE: usize = 3;
    let mut words = [0u64; 15];
    let fd = file.as_raw_fd() as usize;
    // SAFETY: `words` is a writable `struct statfs` (120 bytes) that
    // outlives the call.
    check(unsafe { syscall(SYS_FSTATFS, [fd, words.as_mut_ptr() as usize, 0, 0, 0, 0]) })?;
    Ok((words[F_BLOCKS], words[F_BFREE]))
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

/// `O_DIRECT` (the generic value x86 uses).
pub const O_DIRECT: i32 = 0o40_000;

/// The errnos the testers expect by name (include/uapi/asm-generic/errno-base.h
/// and errno.h).
pub const EPERM: i32 = 1;
/// No such file or directory.
pub const ENOENT: i32 = 2;
const ENXIO: i32 = 6;
/// The name exists.
pub const EEXIST: i32 = 17;
/// A directory was needed.
pub const ENOTDIR: i32 = 20;
/// A directory where none may be.
pub const EISDIR: i32 = 21;
/// An invalid argument (`copy_file_range` of overlapping ranges of one
/// file, a directory renamed into itself).
pub const EINVAL: i32 = 22;
/// A name longer than `NAME_MAX`.
pub const ENAMETOOLONG: i32 = 36;
/// A directory that is not empty.
pub const ENOTEMPTY: i32 = 39;
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

/// `copy_file_range(in, &in_offset, out, &out_offset, len, 0)`: the bytes
/// copied (0 at the end of `input`).
pub fn copy_file_range(
    input: &File,
    in_offset: u64,
    output: &File,
    out_offset: u64,
    len: usize,
) -> io::Result<usize> {
    let (fd_in, fd_out) = (input.as_raw_fd() as usize, output.as_raw_fd() as usize);
    let mut off_in = in_offset as i64;
    let mut off_out = out_offset as i64;
    let (p_in, p_out) = (
        &mut off_in as *mut i64 as usize,
        &mut off_out as *mut i64 as usize,
    );
    // SAFETY: `p_in` and `p_out` point to 64-bit offsets that live across
    // the call, which is all the kernel reads and writes.
    check(unsafe { syscall(SYS_COPY_FILE_RANGE, [fd_in, p_in, fd_out, p_out, len, 0]) })
}

/// `sendfile(out, in, &in_offset, len)` after `lseek(out, out_offset,
/// SEEK_SET)`: the bytes copied (0 at the end of `input`).
pub fn sendfile(
    input: &File,
    in_offset: u64,
    output: &File,
    out_offset: u64,
    len: usize,
) -> io::Result<usize> {
    const SEEK_SET: usize = 0;
    let (fd_in, fd_out) = (input.as_raw_fd() as usize, output.as_raw_fd() as usize);
    // SAFETY: Integer arguments only; the position of `output` moves,
    // which no caller relies on but this one.
    check(unsafe { syscall(SYS_LSEEK, [fd_out, out_offset as usize, SEEK_SET, 0, 0, 0]) })?;
    let mut off_in = in_offset as i64;
    let p_in = &mut off_in as *mut i64 as usize;
    // SAFETY: `p_in` points to a 64-bit offset that lives across the call.
    check(unsafe { syscall(SYS_SENDFILE, [fd_out, fd_in, p_in, len, 0, 0]) })
}

/// A pipe: its read and write ends, closed on drop.
pub struct Pipe {
    read: File,
    write: File,
}

impl Pipe {
    /// `pipe2(fds, O_CLOEXEC)`.
    pub fn new() -> io::Result<Self> {
        use std::os::fd::FromRawFd;
        const O_CLOEXEC: usize = 0o2000000;
        let mut fds = [0i32; 2];
        let ptr = fds.as_mut_ptr() as usize;
        // SAFETY: `ptr` points to two ints that live across the call,
        // which is all the kernel writes.
        check(unsafe { syscall(SYS_PIPE2, [ptr, O_CLOEXEC, 0, 0, 0, 0]) })?;
        // SAFETY: Two new descriptors that nothing else owns.
        let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        Ok(Self { read, write })
    }

    /// `splice(file, &offset, pipe, NULL, len, 0)`: up to `len` bytes of
    /// `file` at `offset` into the pipe; the bytes moved (0 at the end).
    pub fn fill(&self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        let mut off = offset as i64;
        let p = &mut off as *mut i64 as usize;
        let (fd, pipe) = (file.as_raw_fd() as usize, self.write.as_raw_fd() as usize);
        // SAFETY: `p` points to a 64-bit offset that lives across the call.
        check(unsafe { syscall(SYS_SPLICE, [fd, p, pipe, 0, len, 0]) })
    }

    /// `splice(pipe, NULL, file, &offset, len, 0)`: up to `len` bytes of
    /// the pipe to `file` at `offset`; the bytes moved.
    pub fn drain(&self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        let mut off = offset as i64;
        let p = &mut off as *mut i64 as usize;
        let (pipe, fd) = (self.read.as_raw_fd() as usize, file.as_raw_fd() as usize);
        // SAFETY: `p` points to a 64-bit offset that lives across the call.
        check(unsafe { syscall(SYS_SPLICE, [pipe, 0, fd, p, len, 0]) })
    }
}

/// One extent FIEMAP reported (`struct fiemap_extent`).
#[derive(Clone, Copy, Debug)]
pub struct Extent {
    /// Its first byte in the file.
    pub logical: u64,
    /// Its first byte on the disk.
    pub physical: u64,
    /// Its length in bytes.
    pub length: u64,
    /// `FIEMAP_EXTENT_*`.
    pub flags: u32,
}

/// The last extent of the file.
pub const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// Where the data is, is not known yet.
pub const FIEMAP_EXTENT_UNKNOWN: u32 = 0x2;
/// Allocated, but reads as zeros.
pub const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;

/// FIEMAP (`FS_IOC_FIEMAP` with `FIEMAP_FLAG_SYNC`: the file's dirty data
/// written first) of the whole file: every extent, in order.
pub fn fiemap(file: &File) -> io::Result<Vec<Extent>> {
    fiemap_range(file, 0, u64::MAX)
}

/// FIEMAP as [`fiemap`], of the bytes `start..start + len` only: every
/// extent that overlaps them.
pub fn fiemap_range(file: &File, start: u64, len: u64) -> io::Result<Vec<Extent>> {
    let end = start.saturating_add(len);
    const FS_IOC_FIEMAP: usize = 0xC020_660B;
    const FIEMAP_FLAG_SYNC: u64 = 0x1;
    // struct fiemap: 4 u64 words (start, length, flags | mapped << 32,
    // count | reserved << 32), then the extents of 7 u64 words each.
    const COUNT: usize = 128;
    let fd = file.as_raw_fd() as usize;
    let mut extents = Vec::new();
    let mut start = start;
    loop {
        let mut buf = vec![0u64; 4 + 7 * COUNT];
        buf[0] = start;
        buf[1] = end - start;
        buf[2] = FIEMAP_FLAG_SYNC;
        buf[3] = COUNT as u64;
        let ptr = buf.as_mut_ptr() as usize;
        // SAFETY: `ptr` points to a `struct fiemap` with room for `COUNT`
        // extents, which lives across the call.
        check(unsafe { syscall(SYS_IOCTL, [fd, FS_IOC_FIEMAP, ptr, 0, 0, 0]) })?;
        let mapped = (buf[2] >> 32) as usize;
        for i in 0..mapped.min(COUNT) {
            let words = &buf[4 + 7 * i..4 + 7 * (i + 1)];
            extents.push(Extent {
                logical: words[0],
                physical: words[1],
                length: words[2],
                flags: words[5] as u32,
            });
        }
        match extents.last() {
            Some(last)
                if mapped == COUNT
                    && last.flags & FIEMAP_EXTENT_LAST == 0
                    && last.logical + last.length < end =>
            {
                start = last.logical + last.length;
            }
            _ => return Ok(extents),
        }
    }
}

const SYS_GETDENTS64: usize = 217;
const SEEK_SET: usize = 0;

/// One entry of `getdents64` (`struct linux_dirent64`).
pub struct Dirent {
    /// `d_ino`.
    pub ino: u64,
    /// `d_off`: the position (`telldir`) just past this entry.
    pub off: i64,
    /// `d_name`, without its NUL.
    pub name: Vec<u8>,
}

/// `getdents64(fd, buf, len)`: the entries one call returns (none at the
/// end of the directory), with a buffer of `len` bytes.
pub fn getdents(dir: &File, len: usize) -> io::Result<Vec<Dirent>> {
    let mut buf = vec![0u8; len];
    let fd = dir.as_raw_fd() as usize;
    // SAFETY: `buf` is writable for `len` bytes for the call.
    let got = check(unsafe {
        syscall(
            SYS_GETDENTS64,
            [fd, buf.as_mut_ptr() as usize, len, 0, 0, 0],
        )
    })?;
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 19 <= got {
        let field = |from: usize, len: usize| &buf[at + from..at + from + len];
        let ino = u64::from_ne_bytes(field(0, 8).try_into().unwrap());
        let off = i64::from_ne_bytes(field(8, 8).try_into().unwrap());
        let reclen = usize::from(u16::from_ne_bytes(field(16, 2).try_into().unwrap()));
        if reclen < 20 || at + reclen > got {
            return Err(io::Error::other(format!(
                "getdents64: bad d_reclen {reclen}"
            )));
        }
        let name = &buf[at + 19..at + reclen];
        let end = name
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(name.len());
        entries.push(Dirent {
            ino,
            off,
            name: name[..end].to_vec(),
        });
        at += reclen;
    }
    Ok(entries)
}

/// `lseek(fd, pos, SEEK_SET)` on a directory: `seekdir`.
pub fn seek_dir(dir: &File, pos: i64) -> io::Result<()> {
    let fd = dir.as_raw_fd() as usize;
    // SAFETY: Integer arguments only.
    check(unsafe { syscall(SYS_LSEEK, [fd, pos as usize, SEEK_SET, 0, 0, 0]) }).map(|_| ())
}

const SYS_LINKAT: usize = 265;
const SYS_UTIMENSAT: usize = 280;
const SYS_RENAMEAT2: usize = 316;
const AT_FDCWD: isize = -100;

/// `O_TMPFILE` with the `O_DIRECTORY` it includes (include/uapi/asm-generic/fcntl.h).
pub const O_TMPFILE: i32 = 0o20_200_000;
/// `O_EXCL`: with `O_TMPFILE`, the file may never be linked.
pub const O_EXCL: i32 = 0o200;
/// A file larger than the filesystem's largest (`s_maxbytes`).
pub const EFBIG: i32 = 27;
/// `renameat2` flags (include/uapi/linux/fs.h).
pub const RENAME_NOREPLACE: u32 = 1;
/// Swap the two names.
pub const RENAME_EXCHANGE: u32 = 2;

fn c_path(path: &str) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(path).map_err(|_| io::Error::from_raw_os_error(EINVAL))
}

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, flags)`.
pub fn rename_flags(from: &str, to: &str, flags: u32) -> io::Result<()> {
    let (from, to) = (c_path(from)?, c_path(to)?);
    // SAFETY: Two NUL-terminated strings that outlive the call; the rest
    // are integers.
    check(unsafe {
        syscall(
            SYS_RENAMEAT2,
            [
                AT_FDCWD as usize,
                from.as_ptr() as usize,
                AT_FDCWD as usize,
                to.as_ptr() as usize,
                flags as usize,
                0,
            ],
        )
    })
    .map(|_| ())
}

/// Names the open `file` `to`: `linkat(fd, "", AT_FDCWD, to,
/// AT_EMPTY_PATH)`, or with `proc`, `linkat(AT_FDCWD,
/// "/proc/self/fd/N", AT_FDCWD, to, AT_SYMLINK_FOLLOW)` (how an
/// `O_TMPFILE` file gets its name).
pub fn link_open_file(file: &File, to: &str, proc: bool) -> io::Result<()> {
    const AT_SYMLINK_FOLLOW: usize = 0x400;
    const AT_EMPTY_PATH: usize = 0x1000;
    let fd = file.as_raw_fd();
    let (dirfd, from, flags) = match proc {
        true => (
            AT_FDCWD as usize,
            c_path(&format!("/proc/self/fd/{fd}"))?,
            AT_SYMLINK_FOLLOW,
        ),
        false => (fd as usize, c_path("")?, AT_EMPTY_PATH),
    };
    let to = c_path(to)?;
    // SAFETY: Two NUL-terminated strings that outlive the call; the rest
    // are integers.
    check(unsafe {
        syscall(
            SYS_LINKAT,
            [
                dirfd,
                from.as_ptr() as usize,
                AT_FDCWD as usize,
                to.as_ptr() as usize,
                flags,
                0,
            ],
        )
    })
    .map(|_| ())
}

/// Sets the modification time of `path` to `sec` seconds (and the
/// access time with it): `utimensat(AT_FDCWD, path, times, 0)`; the
/// kernel sets the change time to now.
pub fn set_mtime(path: &str, sec: i64) -> io::Result<()> {
    let path = c_path(path)?;
    let times: [i64; 4] = [sec, 0, sec, 0];
    // SAFETY: `path` is NUL-terminated and `times` two `struct timespec`,
    // both outliving the call, which only reads them.
    check(unsafe {
        syscall(
            SYS_UTIMENSAT,
            [
                AT_FDCWD as usize,
                path.as_ptr() as usize,
                times.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    })
    .map(|_| ())
}
