// SPDX-License-Identifier: GPL-2.0
//! The system calls std does not offer, from the C library std links.

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

extern "C" {
    fn copy_file_range(
        fd_in: c_int,
        off_in: *mut i64,
        fd_out: c_int,
        off_out: *mut i64,
        len: usize,
        flags: u32,
    ) -> isize;
    fn sendfile(out_fd: c_int, in_fd: c_int, offset: *mut i64, count: usize) -> isize;
    fn fallocate(fd: c_int, mode: c_int, offset: i64, len: i64) -> c_int;
    fn lseek(fd: c_int, offset: i64, whence: c_int) -> i64;
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn renameat2(
        olddirfd: c_int,
        oldpath: *const c_char,
        newdirfd: c_int,
        newpath: *const c_char,
        flags: c_int,
    ) -> c_int;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    fn msync(addr: *mut c_void, len: usize, flags: c_int) -> c_int;
    fn mprotect(addr: *mut c_void, len: usize, prot: c_int) -> c_int;
    fn pwrite(fd: c_int, buf: *const c_void, count: usize, offset: i64) -> isize;
    fn pread(fd: c_int, buf: *mut c_void, count: usize, offset: i64) -> isize;
    fn sysconf(name: c_int) -> c_long;
    fn sync();
    fn syncfs(fd: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn mincore(addr: *mut c_void, len: usize, vec: *mut u8) -> c_int;
    fn getrlimit(resource: c_int, rlim: *mut [u64; 2]) -> c_int;
    fn setrlimit(resource: c_int, rlim: *const [u64; 2]) -> c_int;
    fn signal(signum: c_int, handler: usize) -> usize;
    fn sched_setaffinity(pid: c_int, size: usize, mask: *const u64) -> c_int;
    fn sync_file_range(fd: c_int, offset: i64, nbytes: i64, flags: u32) -> c_int;
    fn gettid() -> c_int;
    fn sched_setscheduler(pid: c_int, policy: c_int, param: *const c_int) -> c_int;
    fn truncate(path: *const c_char, length: i64) -> c_int;
    fn name_to_handle_at(
        dirfd: c_int,
        pathname: *const c_char,
        handle: *mut RawHandle,
        mount_id: *mut c_int,
        flags: c_int,
    ) -> c_int;
    fn open_by_handle_at(mount_fd: c_int, handle: *mut RawHandle, flags: c_int) -> c_int;
    fn swapon(path: *const c_char, flags: c_int) -> c_int;
    fn swapoff(path: *const c_char) -> c_int;
    fn posix_fadvise(fd: c_int, offset: i64, len: i64, advice: c_int) -> c_int;
    fn readahead(fd: c_int, offset: i64, count: usize) -> isize;
    fn syscall(number: c_long, ...) -> c_long;
    fn preadv2(fd: c_int, iov: *const IoVec, count: c_int, offset: i64, flags: c_int) -> isize;
    fn pwritev2(fd: c_int, iov: *const IoVec, count: c_int, offset: i64, flags: c_int) -> isize;
}

/// `struct iovec`.
#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

/// `RWF_NOWAIT`.
const RWF_NOWAIT: c_int = 8;

/// `preadv2` (`write` false) or `pwritev2` of `buf` at `offset` with
/// `RWF_NOWAIT`: the bytes moved.
pub fn rw_nowait(file: &File, write: bool, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let iov = IoVec {
        base: buf.as_mut_ptr().cast(),
        len: buf.len(),
    };
    let fd = file.as_raw_fd();
    // SAFETY: One iovec over `buf`, valid for the call (a write only
    // reads it).  CAST: offsets of a small file.
    let n = unsafe {
        if write {
            pwritev2(fd, &iov, 1, offset as i64, RWF_NOWAIT)
        } else {
            preadv2(fd, &iov, 1, offset as i64, RWF_NOWAIT)
        }
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // CAST: not negative.
    Ok(n as usize)
}

/// The system calls of io_uring (`io_uring_setup`, `io_uring_enter`).
const SYS_IO_URING_SETUP: c_long = 425;
const SYS_IO_URING_ENTER: c_long = 426;
/// Where `mmap` finds the submission ring, the completion ring and the
/// submission entries of a ring's descriptor.
const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const IORING_ENTER_GETEVENTS: c_uint = 1;
/// `IORING_OP_READ`, `IORING_OP_WRITE`.
const IORING_OP_READ: u8 = 22;
const IORING_OP_WRITE: u8 = 23;

/// `struct io_sqring_offsets` and `struct io_cqring_offsets`: the
/// fields a ring's users need, and the rest as words.
#[repr(C)]
#[derive(Default)]
struct RingOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    /// `flags` (submission), `overflow` (completion).
    fifth: u32,
    /// `dropped` (submission), `cqes` (completion).
    sixth: u32,
    /// `array` (submission), `flags` (completion).
    seventh: u32,
    resv: [u32; 3],
}

/// `struct io_uring_params`.
#[repr(C)]
#[derive(Default)]
struct RingParams {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: RingOffsets,
    cq_off: RingOffsets,
}

/// An io_uring of four entries that does one request at a time.
pub struct Ring {
    params: RingParams,
    sq: Mapping,
    cq: Mapping,
    sqes: Mapping,
    /// The ring's descriptor, closed after the mappings go.
    ring: File,
}

impl Ring {
    /// A new ring (`io_uring_setup`), its rings mapped.
    pub fn new() -> io::Result<Self> {
        let mut params = RingParams::default();
        // SAFETY: `io_uring_setup(2)` with a `struct io_uring_params`.
        let fd = unsafe {
            syscall(
                SYS_IO_URING_SETUP,
                4 as c_uint,
                &mut params as *mut RingParams,
            )
        };
        // CAST: a descriptor, or -1.
        let fd = fd as c_int;
        check(fd)?;
        // SAFETY: A new descriptor, ours alone.
        let ring = unsafe { File::from_raw_fd(fd) };
        let sq_len = params.sq_off.seventh as usize + 4 * params.sq_entries as usize;
        let cq_len = params.cq_off.sixth as usize + 16 * params.cq_entries as usize;
        Ok(Self {
            sq: Mapping::map_at(&ring, sq_len, 3, IORING_OFF_SQ_RING)?,
            cq: Mapping::map_at(&ring, cq_len, 3, IORING_OFF_CQ_RING)?,
            sqes: Mapping::map_at(&ring, 64 * params.sq_entries as usize, 3, IORING_OFF_SQES)?,
            params,
            ring,
        })
    }

    /// A read of `buf.len()` bytes at `offset` of `file` into `buf`,
    /// submitted and waited for: its result (bytes, or a negative errno).
    pub fn read(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<i32> {
        self.submit_and_wait(IORING_OP_READ, file, buf.as_mut_ptr(), buf.len(), offset)
    }

    /// A write of `buf` at `offset` of `file`, as [`Self::read`].
    pub fn write(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<i32> {
        self.submit_and_wait(
            IORING_OP_WRITE,
            file,
            buf.as_ptr().cast_mut(),
            buf.len(),
            offset,
        )
    }

    fn submit_and_wait(
        &self,
        opcode: u8,
        file: &File,
        buf: *mut u8,
        len: usize,
        offset: u64,
    ) -> io::Result<i32> {
        let sq = &self.params.sq_off;
        let tail = self.sq.word(sq.tail).load(Ordering::Acquire);
        let index = tail & self.sq.word(sq.ring_mask).load(Ordering::Relaxed);
        let mut sqe = [0u8; 64];
        sqe[0] = opcode;
        sqe[4..8].copy_from_slice(&file.as_raw_fd().to_ne_bytes());
        sqe[8..16].copy_from_slice(&offset.to_ne_bytes());
        sqe[16..24].copy_from_slice(&(buf as u64).to_ne_bytes());
        // CAST: requests of a few KiB.
        sqe[24..28].copy_from_slice(&(len as u32).to_ne_bytes());
        sqe[32..40].copy_from_slice(&u64::from(tail).to_ne_bytes());
        // The kernel reads entry `index` only once the tail passes it.
        self.sqes.store(64 * index as usize, &sqe);
        self.sq
            .word(sq.seventh + 4 * index)
            .store(index, Ordering::Relaxed);
        self.sq
            .word(sq.tail)
            .store(tail.wrapping_add(1), Ordering::Release);
        // SAFETY: `io_uring_enter(2)` on our ring: one to submit, one to
        // wait for, no signal mask.  The buffer lives until we return,
        // when the request is complete.
        let entered = unsafe {
            syscall(
                SYS_IO_URING_ENTER,
                self.ring.as_raw_fd(),
                1 as c_uint,
                1 as c_uint,
                IORING_ENTER_GETEVENTS,
                std::ptr::null::<c_void>(),
                0usize,
            )
        };
        // CAST: 0 or 1, or -1.
        check(entered as c_int)?;
        let cq = &self.params.cq_off;
        let head = self.cq.word(cq.head).load(Ordering::Relaxed);
        if self.cq.word(cq.tail).load(Ordering::Acquire) == head {
            return Err(io::Error::other(
                "io_uring_enter returned with no completion",
            ));
        }
        let mask = self.cq.word(cq.ring_mask).load(Ordering::Relaxed);
        // `struct io_uring_cqe`: user_data, res, flags.
        let res = self
            .cq
            .word(cq.sixth + 16 * (head & mask) + 8)
            .load(Ordering::Relaxed);
        self.cq
            .word(cq.head)
            .store(head.wrapping_add(1), Ordering::Release);
        // CAST: the request's result, a signed word.
        Ok(res as i32)
    }
}

/// `swapon(path, 0)`.
pub fn swap_on(path: &Path) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: A NUL-terminated path that lives across the call.
    check(unsafe { swapon(path.as_ptr(), 0) })
}

/// `swapoff(path)`.
pub fn swap_off(path: &Path) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: A NUL-terminated path that lives across the call.
    check(unsafe { swapoff(path.as_ptr()) })
}

/// `MAX_HANDLE_SZ`: the most bytes a file handle holds.
const MAX_HANDLE_SZ: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct RawHandle {
    handle_bytes: u32,
    handle_type: c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

/// A file handle (`name_to_handle_at`): its type and its bytes, which a
/// test may change to make a bad one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    /// `handle_type`: for ext2-like filesystems `FILEID_INO32_GEN` (1).
    pub kind: c_int,
    /// The handle's bytes (`handle_bytes` of them).
    pub bytes: Vec<u8>,
}

/// The file handle of `path` (`name_to_handle_at(AT_FDCWD, path, ...,
/// 0)`: a symbolic link at the end is not followed).
pub fn name_to_handle(path: &Path) -> io::Result<Handle> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut raw = RawHandle {
        // CAST: 128.
        handle_bytes: MAX_HANDLE_SZ as u32,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: c_int = 0;
    // SAFETY: A NUL-terminated path, a handle with room for
    // `handle_bytes` bytes and an int, all living across the call.
    check(unsafe { name_to_handle_at(AT_FDCWD, path.as_ptr(), &mut raw, &mut mount_id, 0) })?;
    let len = (raw.handle_bytes as usize).min(MAX_HANDLE_SZ);
    Ok(Handle {
        kind: raw.handle_type,
        bytes: raw.f_handle[..len].to_vec(),
    })
}

/// Opens the file `handle` names on the filesystem of `mount` (any file
/// open there) with `flags` (`open_by_handle_at`, which needs
/// `CAP_DAC_READ_SEARCH`).
pub fn open_by_handle(mount: &File, handle: &Handle, flags: c_int) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    if handle.bytes.len() > MAX_HANDLE_SZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut raw = RawHandle {
        // CAST: at most 128.
        handle_bytes: handle.bytes.len() as u32,
        handle_type: handle.kind,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    raw.f_handle[..handle.bytes.len()].copy_from_slice(&handle.bytes);
    // SAFETY: A valid descriptor and a handle of `handle_bytes` bytes
    // living across the call.
    let fd = unsafe { open_by_handle_at(mount.as_raw_fd(), &mut raw, flags | O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: A new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `O_CLOEXEC`.
const O_CLOEXEC: c_int = 0o2_000_000;
/// `O_DIRECTORY`.
pub const O_DIRECTORY: c_int = 0o200_000;

/// `truncate(path, len)`: the size set by path, with no file opened.
pub fn truncate_path(path: &Path, len: u64) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let len = i64::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: A NUL-terminated path that lives across the call.
    check(unsafe { truncate(path.as_ptr(), len) })
}

/// `SYNC_FILE_RANGE_WRITE`: start the writeback of the range's dirty
/// pages, as background writeback does (`WB_SYNC_NONE`).
const SYNC_FILE_RANGE_WRITE: u32 = 2;

/// `sync_file_range(file, 0, 0, SYNC_FILE_RANGE_WRITE)`: starts the
/// writeback of the whole file in the calling task with `WB_SYNC_NONE`,
/// which promises nothing about what reaches the disk.
pub fn start_writeback(file: &File) -> io::Result<()> {
    // SAFETY: A valid descriptor; no memory is passed.
    check(unsafe { sync_file_range(file.as_raw_fd(), 0, 0, SYNC_FILE_RANGE_WRITE) })
}

/// `SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
/// SYNC_FILE_RANGE_WAIT_AFTER`: write the range's dirty pages and wait
/// (`WB_SYNC_ALL`), with none of `fsync`'s metadata.
pub const SYNC_RANGE_AND_WAIT: u32 = 1 | SYNC_FILE_RANGE_WRITE | 4;
/// `SYNC_FILE_RANGE_WRITE` alone: start the writes, do not wait.
pub const SYNC_RANGE_START: u32 = SYNC_FILE_RANGE_WRITE;

/// `sync_file_range(file, offset, len, flags)`, `flags` one of
/// [`SYNC_RANGE_AND_WAIT`] and [`SYNC_RANGE_START`]; `file` may be a
/// block device.
pub fn sync_range(file: &File, offset: u64, len: u64, flags: u32) -> io::Result<()> {
    // SAFETY: A valid descriptor; no memory is passed.
    check(unsafe { sync_file_range(file.as_raw_fd(), offset as i64, len as i64, flags) })
}

/// The calling thread's id (`gettid`), as /proc/self/task names it.
pub fn thread_id() -> i32 {
    // SAFETY: No arguments; cannot fail.
    unsafe { gettid() }
}

/// Runs the calling thread first-in first-out at real-time priority 1
/// (`SCHED_FIFO`): once woken it runs before every ordinary thread of its
/// CPU, at the kernel's next point of preemption.
pub fn run_realtime() -> io::Result<()> {
    const SCHED_FIFO: c_int = 1;
    // struct sched_param: one int, the priority.
    let priority: c_int = 1;
    // SAFETY: A valid `struct sched_param` that lives across the call;
    // pid 0 is the calling thread.
    check(unsafe { sched_setscheduler(0, SCHED_FIFO, &priority) })
}

/// `FIFREEZE`, `_IOWR('X', 119, int)`.
const FIFREEZE: c_ulong = 0xc004_5877;
/// `FITHAW`, `_IOWR('X', 120, int)`.
const FITHAW: c_ulong = 0xc004_5878;

/// Freezes the filesystem that `dir` (open) is on (`FIFREEZE`): its
/// writers wait until [`thaw`].
pub fn freeze(dir: &File) -> io::Result<()> {
    // SAFETY: A valid descriptor; the argument is ignored.
    check(unsafe { ioctl(dir.as_raw_fd(), FIFREEZE, 0) })
}

/// Thaws the filesystem that [`freeze`] froze (`FITHAW`).
pub fn thaw(dir: &File) -> io::Result<()> {
    // SAFETY: As in `freeze`.
    check(unsafe { ioctl(dir.as_raw_fd(), FITHAW, 0) })
}

/// Keeps the calling thread on CPU `cpu` (`sched_setaffinity`; `EINVAL`
/// if that CPU is not online).
pub fn run_on_cpu(cpu: u32) -> io::Result<()> {
    let mask = [1u64 << (cpu % 64)];
    // SAFETY: A CPU mask of `size_of_val(&mask)` bytes that lives across
    // the call; pid 0 is the calling thread.
    check(unsafe { sched_setaffinity(0, std::mem::size_of_val(&mask), mask.as_ptr()) })
}

/// `RLIMIT_FSIZE`.
const RLIMIT_FSIZE: c_int = 1;

/// Limits the size of files this process writes (`RLIMIT_FSIZE`, soft
/// and hard) to `bytes`, with `SIGXFSZ` ignored, so that going past it is
/// `EFBIG` and not the signal's death.  For the rest of the process.
pub fn limit_file_size(bytes: u64) -> io::Result<()> {
    const SIGXFSZ: c_int = 25;
    const SIG_IGN: usize = 1;
    // SAFETY: Ignoring a signal installs no handler of ours.
    unsafe { signal(SIGXFSZ, SIG_IGN) };
    // SAFETY: A valid `struct rlimit` (current, maximum) that lives
    // across the call.
    check(unsafe { setrlimit(RLIMIT_FSIZE, &[bytes, bytes]) })
}

/// `sync(2)`: writes every dirty inode and block device; reports nothing.
pub fn sync_all_filesystems() {
    // SAFETY: No arguments.
    unsafe { sync() };
}

/// `syncfs(2)` of the filesystem holding `file`: its errors, the
/// superblock's (`s_wb_err`) since `file` was opened among them.
pub fn syncfs_of(file: &File) -> io::Result<()> {
    // SAFETY: A valid descriptor; no memory is passed.
    check(unsafe { syncfs(file.as_raw_fd()) })
}

/// `RLIMIT_FSIZE`'s soft limit, `None` if unlimited (`RLIM_INFINITY`).
pub fn file_size_limit() -> io::Result<Option<u64>> {
    // struct rlimit: rlim_cur, rlim_max.
    let mut limit = [0u64; 2];
    // SAFETY: A buffer of the size and layout of `struct rlimit` that
    // lives across the call.
    check(unsafe { getrlimit(RLIMIT_FSIZE, &mut limit) })?;
    Ok((limit[0] != u64::MAX).then_some(limit[0]))
}

/// `FALLOC_FL_KEEP_SIZE`.
pub const KEEP_SIZE: c_int = 1;
/// `FALLOC_FL_PUNCH_HOLE`.
pub const PUNCH_HOLE: c_int = 2;
/// `FALLOC_FL_ZERO_RANGE`.
pub const ZERO_RANGE: c_int = 0x10;
/// `FALLOC_FL_COLLAPSE_RANGE`, which toyfs does not implement.
pub const COLLAPSE_RANGE: c_int = 0x08;
/// `FALLOC_FL_INSERT_RANGE`, which toyfs does not implement.
pub const INSERT_RANGE: c_int = 0x20;
/// `FALLOC_FL_UNSHARE_RANGE`, which toyfs does not implement.
pub const UNSHARE_RANGE: c_int = 0x40;
/// `FALLOC_FL_WRITE_ZEROES`, which toyfs does not implement.
pub const WRITE_ZEROES: c_int = 0x80;

/// `O_SYNC` (`__O_SYNC | O_DSYNC`, the generic value x86 uses).
pub const O_SYNC: c_int = 0o4_010_000;
/// `O_DIRECT` (the generic value x86 uses).
pub const O_DIRECT: c_int = 0o40_000;
const F_GETFL: c_int = 3;
const F_SETFL: c_int = 4;

const SEEK_DATA: c_int = 3;
const SEEK_HOLE: c_int = 4;
const AT_FDCWD: c_int = -100;
const RENAME_NOREPLACE: c_int = 1;
/// `FS_IOC_FIEMAP`, `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: c_ulong = 0xc020_660b;
const FIEMAP_FLAG_SYNC: u32 = 1;
/// `FIEMAP_EXTENT_LAST`.
pub const FIEMAP_EXTENT_LAST: u32 = 1;
/// `FIEMAP_EXTENT_ENCODED`: the data is compressed.
pub const FIEMAP_EXTENT_ENCODED: u32 = 0x8;
/// `FIEMAP_EXTENT_NOT_ALIGNED`.
pub const FIEMAP_EXTENT_NOT_ALIGNED: u32 = 0x100;
/// `FIEMAP_EXTENT_DATA_TAIL`: the block holds other files' data too.
pub const FIEMAP_EXTENT_DATA_TAIL: u32 = 0x400;

fn check(ret: c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The file status flags of `file` (`fcntl(F_GETFL)`).
pub fn status_flags(file: &File) -> io::Result<c_int> {
    // SAFETY: A valid descriptor; `F_GETFL` takes no argument.
    let flags = unsafe { fcntl(file.as_raw_fd(), F_GETFL) };
    check(flags).map(|()| flags)
}

/// Sets the file status flags of `file` (`fcntl(F_SETFL)`).
pub fn set_status_flags(file: &File, flags: c_int) -> io::Result<()> {
    // SAFETY: A valid descriptor; `F_SETFL` takes an int.
    check(unsafe { fcntl(file.as_raw_fd(), F_SETFL, flags) })
}

/// `fallocate(2)`.
pub fn fallocate_file(file: &File, mode: c_int, offset: u64, len: u64) -> io::Result<()> {
    // SAFETY: A valid descriptor and plain integers.
    check(unsafe { fallocate(file.as_raw_fd(), mode, offset as i64, len as i64) })
}

/// `lseek(2)` with `SEEK_DATA` (`data`) or `SEEK_HOLE`.
pub fn seek(file: &File, offset: u64, data: bool) -> io::Result<u64> {
    let whence = if data { SEEK_DATA } else { SEEK_HOLE };
    // SAFETY: A valid descriptor and plain integers.
    let ret = unsafe { lseek(file.as_raw_fd(), offset as i64, whence) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as u64)
}

/// One FIEMAP extent: logical, physical, length, flags.
pub type Extent = (u64, u64, u64, u32);

/// `O_NOATIME`: a read that dirties no inode (no write reaches the disk).
pub const O_NOATIME: c_int = 0o1_000_000;

/// Drops the file's clean cached folios (`POSIX_FADV_DONTNEED`); the
/// buffer cache, which holds the file's metadata, stays.
pub fn drop_file_cache(file: &File) -> io::Result<()> {
    // SAFETY: A valid descriptor; no memory is passed.
    match unsafe { posix_fadvise(file.as_raw_fd(), 0, 0, 4) } {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// `readahead(2)` of `count` bytes at `offset`: the reads are submitted
/// when it returns, not waited for.
pub fn read_ahead(file: &File, offset: u64, count: usize) -> io::Result<()> {
    // SAFETY: A valid descriptor; no memory is passed.
    if unsafe { readahead(file.as_raw_fd(), offset as i64, count) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The size of a page (`sysconf(_SC_PAGESIZE)`).
pub fn page_size() -> u64 {
    // SAFETY: `_SC_PAGESIZE` (30); no memory is touched.
    unsafe { sysconf(30) as u64 }
}

/// The disk block of file block `block` by `FIBMAP` (0: none), which
/// needs `CAP_SYS_RAWIO`.
pub fn fibmap(file: &File, block: u32) -> io::Result<u32> {
    const FIBMAP: c_ulong = 1;
    let mut value = block as c_int;
    // SAFETY: A valid descriptor and an int the kernel reads and writes
    // (`ioctl_fibmap`), living across the call.
    check(unsafe { ioctl(file.as_raw_fd(), FIBMAP, &mut value) })?;
    Ok(value as u32)
}

/// The file's extents by `FS_IOC_FIEMAP` (synced first), at most 64.
pub fn fiemap(file: &File) -> io::Result<Vec<Extent>> {
    fiemap_at_most(file, 64)
}

/// [`fiemap`], at most `max` extents.
pub fn fiemap_at_most(file: &File, max: usize) -> io::Result<Vec<Extent>> {
    // struct fiemap (32 bytes) then `max` struct fiemap_extent (56 bytes).
    let mut buf = vec![0u64; (32 + 56 * max) / 8];
    buf[1] = u64::MAX; // fm_length
    buf[2] = u64::from(FIEMAP_FLAG_SYNC); // fm_flags; fm_mapped_extents above
    buf[3] = max as u64; // fm_extent_count; fm_reserved above
                         // SAFETY: A valid descriptor and a buffer of the size the request
                         // describes (fm_extent_count extents).
    check(unsafe { ioctl(file.as_raw_fd(), FS_IOC_FIEMAP, buf.as_mut_ptr()) })?;
    let mapped = (buf[2] >> 32) as u32 as usize;
    Ok((0..mapped.min(max))
        .map(|i| {
            let e = 4 + 7 * i;
            (buf[e], buf[e + 1], buf[e + 2], buf[e + 5] as u32)
        })
        .collect())
}

/// `FS_IOC_FIEMAP` with the request in a shared mapping of a file, at
/// byte `offset` of it: the header is stored there, the extents (at most
/// `max`) land right after it; returns how many extents were mapped.
pub fn fiemap_into(file: &File, map: &Mapping, offset: usize, max: usize) -> io::Result<u32> {
    let mut header = [0u8; 32];
    header[8..16].copy_from_slice(&u64::MAX.to_ne_bytes()); // fm_length
    header[24..28].copy_from_slice(&(max as u32).to_ne_bytes()); // fm_extent_count
    assert!(offset + 32 + 56 * max <= map.len);
    map.store(offset, &header);
    // SAFETY: A valid descriptor; the request and its `max` extents lie
    // inside the mapping (asserted above), which stays mapped meanwhile.
    check(unsafe {
        ioctl(
            file.as_raw_fd(),
            FS_IOC_FIEMAP,
            (map.addr() + offset) as *mut u64,
        )
    })?;
    let mapped = map.load(offset + 20, 4);
    Ok(u32::from_ne_bytes([
        mapped[0], mapped[1], mapped[2], mapped[3],
    ]))
}

/// `copy_file_range(2)` of `len` bytes at `offset` of both files.
pub fn copy_range(from: &File, to: &File, offset: u64, len: usize) -> io::Result<usize> {
    let (mut off_in, mut off_out) = (offset as i64, offset as i64);
    // SAFETY: Valid descriptors and offsets that live across the call.
    let ret = unsafe {
        copy_file_range(
            from.as_raw_fd(),
            &mut off_in,
            to.as_raw_fd(),
            &mut off_out,
            len,
            0,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as usize)
}

/// `sendfile(2)` of `len` bytes from offset 0 of `from` to `to`'s position.
pub fn send_file(from: &File, to: &File, len: usize) -> io::Result<usize> {
    let mut offset = 0i64;
    // SAFETY: Valid descriptors and an offset that lives across the call.
    let ret = unsafe { sendfile(to.as_raw_fd(), from.as_raw_fd(), &mut offset, len) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as usize)
}

/// `LOOP_SET_BLOCK_SIZE`: the logical block size of a loop device.
pub fn set_loop_block_size(device: &File, size: u64) -> io::Result<()> {
    const LOOP_SET_BLOCK_SIZE: c_ulong = 0x4c09;
    // SAFETY: A valid descriptor; the argument is a plain integer.
    check(unsafe { ioctl(device.as_raw_fd(), LOOP_SET_BLOCK_SIZE, size as c_ulong) })
}

/// `renameat2(old, new, RENAME_NOREPLACE)`.
pub fn rename_noreplace(old: &Path, new: &Path) -> io::Result<()> {
    rename_flags(old, new, RENAME_NOREPLACE)
}

/// Gives back the page at `page` (`MADV_DONTNEED`), of memory the caller
/// owns and no longer reads.
pub fn drop_page(page: &mut [u8]) -> io::Result<()> {
    // SAFETY: The caller's page-aligned range, which it owns; the kernel
    // maps zero pages back in if it is touched again.
    check(unsafe { madvise(page.as_mut_ptr().cast(), page.len(), 4) })
}

/// Asks for base pages in `range` (`MADV_NOHUGEPAGE`), so that giving one
/// back frees it.  A kernel without transparent huge pages (User-Mode
/// Linux) refuses the advice with `EINVAL`: its pages are all base pages.
pub fn no_huge_pages(range: &mut [u8]) -> io::Result<()> {
    // SAFETY: The caller's page-aligned range; advice only.
    match check(unsafe { madvise(range.as_mut_ptr().cast(), range.len(), 15) }) {
        Err(err) if err.raw_os_error() == Some(EINVAL) && !huge_pages_configured() => Ok(()),
        other => other,
    }
}

/// `EINVAL`.
const EINVAL: i32 = 22;

/// Whether the kernel has transparent huge pages (their sysfs directory).
fn huge_pages_configured() -> bool {
    Path::new("/sys/kernel/mm/transparent_hugepage").exists()
}

/// A shared writable mapping of a file, unmapped on drop.
pub struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `file` from offset 0.
    pub fn new(file: &File, len: usize) -> io::Result<Self> {
        Self::map(file, len, 3)
    }

    /// Maps `len` (> 0) bytes of `file` from offset 0 for reading only
    /// (`PROT_READ`): a file opened read-only, on a read-only mount.
    pub fn read_only(file: &File, len: usize) -> io::Result<Self> {
        Self::map(file, len, 1)
    }

    fn map(file: &File, len: usize, prot: c_int) -> io::Result<Self> {
        Self::map_at(file, len, prot, 0)
    }

    fn map_at(file: &File, len: usize, prot: c_int, offset: i64) -> io::Result<Self> {
        // SAFETY: A new mapping chosen by the kernel, `MAP_SHARED` with
        // `prot` (`PROT_READ`, `PROT_WRITE` or both).
        let addr = unsafe { mmap(std::ptr::null_mut(), len, prot, 1, file.as_raw_fd(), offset) };
        if addr as c_long == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            addr: addr.cast(),
            len,
        })
    }

    /// Stores `bytes` at `offset`.
    pub fn store(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len);
        for (i, &b) in bytes.iter().enumerate() {
            // SAFETY: Inside the mapping (checked above); volatile, as the
            // kernel may look at the page meanwhile.
            unsafe { self.addr.add(offset + i).write_volatile(b) };
        }
    }

    /// Stores `value` at `offset` (a multiple of 8) in one 8-byte store,
    /// little-endian.
    pub fn store_word(&self, offset: usize, value: u64) {
        assert!(offset % 8 == 0 && offset + 8 <= self.len);
        // SAFETY: Inside the mapping and aligned (checked above; the
        // mapping starts on a page); volatile, as in `store`.
        unsafe {
            self.addr
                .add(offset)
                .cast::<u64>()
                .write_volatile(value.to_le())
        };
    }

    /// Loads `len` bytes at `offset`.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= self.len);
        (0..len)
            // SAFETY: Inside the mapping (checked above).
            .map(|i| unsafe { self.addr.add(offset + i).read_volatile() })
            .collect()
    }

    /// The 32-bit word at `offset` (a multiple of 4), which the kernel
    /// may change meanwhile (an io_uring ring's).
    fn word(&self, offset: u32) -> &AtomicU32 {
        let offset = offset as usize;
        assert!(offset % 4 == 0 && offset + 4 <= self.len);
        // SAFETY: Inside the mapping and aligned (checked above; the
        // mapping starts on a page), for as long as `self`; atomic.
        unsafe { &*self.addr.add(offset).cast::<AtomicU32>() }
    }

    /// The mapping's first address.
    pub fn addr(&self) -> usize {
        self.addr as usize
    }

    /// Which pages of the mapping are in the page cache (`mincore(2)`,
    /// which faults nothing in): one flag a page.
    pub fn resident(&self) -> io::Result<Vec<bool>> {
        // SAFETY: `_SC_PAGESIZE` (30); no memory is touched.
        let page = unsafe { sysconf(30) } as usize;
        let mut vec = vec![0u8; self.len.div_ceil(page)];
        // SAFETY: The mapping is ours; `vec` holds a byte a page of it.
        check(unsafe { mincore(self.addr.cast(), self.len, vec.as_mut_ptr()) })?;
        Ok(vec.iter().map(|&b| b & 1 != 0).collect())
    }

    /// `msync(MS_SYNC)` of the whole mapping.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: The mapping is ours.
        check(unsafe { msync(self.addr.cast(), self.len, 4) })
    }
}

/// Sets the inode flags of `file` to `flags` (`FS_IOC_SETFLAGS`,
/// include/uapi/linux/fs.h: encoded with a `long`, but every filesystem
/// reads an `int`); 0 clears `FS_COMPR_FL` (`chattr -c`).
pub fn set_inode_flags(file: &File, flags: c_int) -> io::Result<()> {
    const FS_IOC_SETFLAGS: c_ulong = 0x4008_6602;
    // SAFETY: A valid descriptor and a pointer to an `int` that lives
    // across the call, which the kernel only reads.
    check(unsafe { ioctl(file.as_raw_fd(), FS_IOC_SETFLAGS, &flags as *const c_int) })
}

/// Two pages side by side in the address space: a page of one file, then
/// the first page of another, each a shared writable mapping; unmapped
/// on drop.
pub struct PairMapping {
    addr: *mut u8,
}

impl PairMapping {
    const PAGE: usize = 4096;

    /// Maps the page of `first` at `offset` (a multiple of a page), and
    /// right after it the first page of `second`.
    pub fn new(first: &File, offset: u64, second: &File) -> io::Result<Self> {
        const PROT_RW: c_int = 3;
        const MAP_SHARED: c_int = 1;
        const MAP_PRIVATE: c_int = 2;
        const MAP_FIXED: c_int = 0x10;
        const MAP_ANONYMOUS: c_int = 0x20;
        // SAFETY: A new private anonymous mapping chosen by the kernel,
        // reserving the two pages.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                2 * Self::PAGE,
                0,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr as c_long == -1 {
            return Err(io::Error::last_os_error());
        }
        let pair = Self { addr: addr.cast() };
        for (at, file, offset) in [(0, first, offset as i64), (Self::PAGE, second, 0)] {
            // SAFETY: `MAP_FIXED` over a page of the reservation above,
            // which this value owns; nothing else uses that memory.
            let mapped = unsafe {
                mmap(
                    pair.addr.add(at).cast(),
                    Self::PAGE,
                    PROT_RW,
                    MAP_SHARED | MAP_FIXED,
                    file.as_raw_fd(),
                    offset,
                )
            };
            if mapped as c_long == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(pair)
    }

    /// `pread(file, both pages, offset)` into the two pages: the kernel
    /// stores into them (with `O_DIRECT`, through the pages it pins,
    /// `pin_user_pages(FOLL_WRITE)`, one after the other, and dirties
    /// when it unpins).
    pub fn read_into(&self, file: &File, offset: u64) -> io::Result<usize> {
        // SAFETY: The two pages of the mapping, mapped until drop; the
        // bytes are shared memory that this process does not read
        // meanwhile.
        let ret = unsafe {
            pread(
                file.as_raw_fd(),
                self.addr.cast(),
                2 * Self::PAGE,
                offset as i64,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ret as usize)
    }
}

impl Drop for PairMapping {
    fn drop(&mut self) {
        // SAFETY: The two pages mapped by `new`, used by nothing else.
        unsafe { munmap(self.addr.cast(), 2 * Self::PAGE) };
    }
}

// SAFETY: The mapping is plain memory; the threads that share it use
// volatile accesses.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Mapped by `new`, unmapped once.
        unsafe { munmap(self.addr.cast(), self.len) };
    }
}

/// `len` bytes of one value that end where a page nobody may access
/// (`PROT_NONE`) begins: a `write(2)` of more than `len` bytes from them
/// copies `len` bytes and then faults (a short copy).
pub struct FaultingBuffer {
    addr: *mut u8,
    page: usize,
    len: usize,
}

impl FaultingBuffer {
    /// `len` (at most a page) bytes of `byte`.
    pub fn new(len: usize, byte: u8) -> io::Result<Self> {
        // SAFETY: `_SC_PAGESIZE` (30); no memory is touched.
        let page = unsafe { sysconf(30) } as usize;
        assert!(len <= page);
        // SAFETY: A new private anonymous mapping of two pages
        // (`PROT_READ | PROT_WRITE`, `MAP_PRIVATE | MAP_ANONYMOUS`).
        let addr = unsafe { mmap(std::ptr::null_mut(), 2 * page, 3, 0x22, -1, 0) };
        if addr as c_long == -1 {
            return Err(io::Error::last_os_error());
        }
        let this = Self {
            addr: addr.cast(),
            page,
            len,
        };
        // SAFETY: The second page of the mapping made above.
        check(unsafe { mprotect(this.addr.add(page).cast(), page, 0) })?;
        // SAFETY: The first page is ours and writable.
        unsafe { this.addr.write_bytes(byte, page) };
        Ok(this)
    }

    /// `pwrite(2)` of `count` bytes from the buffer's `len` bytes, and
    /// those of the page past them, to `offset` of `file`.
    pub fn pwrite(&self, file: &File, count: usize, offset: u64) -> io::Result<usize> {
        // SAFETY: The kernel reads the user memory and stops with EFAULT
        // at the inaccessible page; nothing in this process is written.
        let ret = unsafe {
            pwrite(
                file.as_raw_fd(),
                self.addr.add(self.page - self.len).cast(),
                count,
                offset as i64,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ret as usize)
    }
}

impl Drop for FaultingBuffer {
    fn drop(&mut self) {
        // SAFETY: Mapped by `new`, unmapped once.
        unsafe { munmap(self.addr.cast(), 2 * self.page) };
    }
}

extern "C" {
    fn utimensat(dirfd: c_int, path: *const c_char, times: *const [i64; 4], flags: c_int) -> c_int;
    fn statvfs(path: *const c_char, buf: *mut [u64; 16]) -> c_int;
    fn mknod(path: *const c_char, mode: u32, dev: u64) -> c_int;
}

/// Sets the access and modification times of `path` (not following a
/// symbolic link) to `seconds` (`utimensat`).
pub fn set_times(path: &Path, seconds: i64) -> io::Result<()> {
    const AT_SYMLINK_NOFOLLOW: c_int = 0x100;
    let flags = if path.starts_with("/proc") {
        0
    } else {
        AT_SYMLINK_NOFOLLOW
    };
    let path = CString::new(path.as_os_str().as_bytes())?;
    let times = [seconds, 0, seconds, 0];
    // SAFETY: A NUL-terminated path and two `struct timespec` that live
    // across the call.
    check(unsafe { utimensat(AT_FDCWD, path.as_ptr(), &times, flags) })
}

/// Free fragments (`f_bfree`) and free inodes (`f_ffree`) of the
/// filesystem holding `path` (`statvfs`).
pub fn free_counts(path: &Path) -> io::Result<(u64, u64)> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    // struct statvfs on x86_64: f_bsize, f_frsize, f_blocks, f_bfree,
    // f_bavail, f_files, f_ffree, ... (8 bytes each), within 128 bytes.
    let mut buf = [0u64; 16];
    // SAFETY: A NUL-terminated path, and a buffer larger than
    // `struct statvfs`, both living across the call.
    check(unsafe { statvfs(path.as_ptr(), &mut buf) })?;
    Ok((buf[3], buf[6]))
}

/// The unit of [`free_counts`]'s blocks: `statvfs`'s `f_frsize` (a
/// fragment on a toyfs with fragments).
pub fn fragment_size(path: &Path) -> io::Result<u64> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    let mut buf = [0u64; 16];
    // SAFETY: As in `free_counts`.
    check(unsafe { statvfs(path.as_ptr(), &mut buf) })?;
    Ok(buf[1])
}

/// `mknod(path, mode, dev)`.
pub fn make_node(path: &Path, mode: u32, dev: u64) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: A NUL-terminated path that lives across the call.
    check(unsafe { mknod(path.as_ptr(), mode, dev) })
}

/// Sets atime and mtime of `path` (not following a symbolic link) to
/// the given seconds and nanoseconds (`utimensat`).
pub fn set_times_ns(path: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    const AT_SYMLINK_NOFOLLOW: c_int = 0x100;
    let path = CString::new(path.as_os_str().as_bytes())?;
    let times = [atime.0, atime.1, mtime.0, mtime.1];
    // SAFETY: A NUL-terminated path and two `struct timespec` that live
    // across the call.
    check(unsafe { utimensat(AT_FDCWD, path.as_ptr(), &times, AT_SYMLINK_NOFOLLOW) })
}

extern "C" {
    fn linkat(
        olddirfd: c_int,
        oldpath: *const c_char,
        newdirfd: c_int,
        newpath: *const c_char,
        flags: c_int,
    ) -> c_int;
}

/// `O_TMPFILE` (with the `O_DIRECTORY` it implies), for
/// `OpenOptionsExt::custom_flags`.
pub const O_TMPFILE: c_int = 0o20_200_000;
/// `O_EXCL`: with `O_TMPFILE`, the file may never be linked.
pub const O_EXCL: c_int = 0o200;

/// `linkat(file, "", AT_FDCWD, new, AT_EMPTY_PATH)`: a name for the open
/// `file` (an `O_TMPFILE` file, or one unlinked while open).
pub fn link_open_file(file: &File, new: &Path) -> io::Result<()> {
    const AT_EMPTY_PATH: c_int = 0x1000;
    let new = CString::new(new.as_os_str().as_bytes())?;
    // SAFETY: A valid descriptor, an empty and a NUL-terminated path that
    // live across the call.
    check(unsafe {
        linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            AT_FDCWD,
            new.as_ptr(),
            AT_EMPTY_PATH,
        )
    })
}

/// `linkat(AT_FDCWD, old, AT_FDCWD, new, AT_SYMLINK_FOLLOW)`: with `old`
/// a `/proc/self/fd/N`, a name for that open file.
pub fn link_following(old: &Path, new: &Path) -> io::Result<()> {
    const AT_SYMLINK_FOLLOW: c_int = 0x400;
    let old = CString::new(old.as_os_str().as_bytes())?;
    let new = CString::new(new.as_os_str().as_bytes())?;
    // SAFETY: Two NUL-terminated paths that live across the call.
    check(unsafe {
        linkat(
            AT_FDCWD,
            old.as_ptr(),
            AT_FDCWD,
            new.as_ptr(),
            AT_SYMLINK_FOLLOW,
        )
    })
}

/// `FS_IOC_GETFLAGS` of `file` (`lsattr`).
pub fn get_flags(file: &File) -> io::Result<u32> {
    const FS_IOC_GETFLAGS: c_ulong = 0x8008_6601;
    let mut flags: c_int = 0;
    // SAFETY: A valid descriptor and an int the kernel writes, living
    // across the call (the kernel's `ioctl_getflags` writes an int).
    check(unsafe { ioctl(file.as_raw_fd(), FS_IOC_GETFLAGS, &mut flags) })?;
    Ok(flags as u32)
}

/// `FS_IOC_SETFLAGS` of `file` with `flags` (`chattr`).
pub fn set_flags(file: &File, flags: u32) -> io::Result<()> {
    const FS_IOC_SETFLAGS: c_ulong = 0x4008_6602;
    let flags = flags as c_int;
    // SAFETY: A valid descriptor and an int the kernel reads, living
    // across the call.
    check(unsafe { ioctl(file.as_raw_fd(), FS_IOC_SETFLAGS, &flags) })
}

/// `renameat2(old, new, flags)`, `flags` `RENAME_NOREPLACE` (1),
/// `RENAME_EXCHANGE` (2) or `RENAME_WHITEOUT` (4).
pub fn rename_flags(old: &Path, new: &Path, flags: c_int) -> io::Result<()> {
    let old = CString::new(old.as_os_str().as_bytes())?;
    let new = CString::new(new.as_os_str().as_bytes())?;
    // SAFETY: Two NUL-terminated paths that live across the call.
    check(unsafe { renameat2(AT_FDCWD, old.as_ptr(), AT_FDCWD, new.as_ptr(), flags) })
}
