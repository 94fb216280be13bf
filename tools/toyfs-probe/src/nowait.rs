// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe nowait DIR`: requests that must not wait, buffered and
//! direct (Documentation/toyfs.rst, "Direct I/O").  toyfs sets no
//! `FMODE_NOWAIT`, so `RWF_NOWAIT` (`preadv2`, `pwritev2`) is refused by
//! the VFS with `EOPNOTSUPP`, reads and writes, buffered and `O_DIRECT`
//! alike, changing nothing (bytes, size, mtime).  io_uring on a file
//! opened `O_NONBLOCK` is the one way `IOCB_NOWAIT` reaches toyfs: every
//! request is first tried with it and, answered `EAGAIN` (a write always,
//! a read that would wait), done again from a worker; each must then do
//! all its bytes, as the model of the file says: buffered and direct
//! writes (whole blocks, unaligned, past the end over a hole) and reads,
//! a direct read of a range with a dirty folio among them.

use crate::Check;
use std::ffi::{c_int, c_long, c_uint, c_void};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

const O_DIRECT: c_int = 0o40000;
const O_NONBLOCK: c_int = 0o4000;
const RWF_NOWAIT: c_int = 8;
const EOPNOTSUPP: i32 = 95;

const SYS_IO_URING_SETUP: c_long = 425;
const SYS_IO_URING_ENTER: c_long = 426;
const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const IORING_ENTER_GETEVENTS: c_uint = 1;
const IORING_OP_READ: u8 = 22;
const IORING_OP_WRITE: u8 = 23;
const PROT_READ_WRITE: c_int = 3;
const MAP_SHARED_POPULATE: c_int = 0x01 | 0x8000;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
    fn preadv2(fd: c_int, iov: *const IoVec, count: c_int, offset: i64, flags: c_int) -> isize;
    fn pwritev2(fd: c_int, iov: *const IoVec, count: c_int, offset: i64, flags: c_int) -> isize;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn close(fd: c_int) -> c_int;
}

/// `struct io_sqring_offsets` and `struct io_cqring_offsets`: ten words
/// each (the last two one `user_addr`).
#[repr(C)]
#[derive(Default)]
struct RingOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags_or_overflow: u32,
    dropped_or_cqes: u32,
    array_or_flags: u32,
    resv: [u32; 3],
}

/// `struct io_uring_params`.
#[repr(C)]
#[derive(Default)]
struct Params {
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

/// A mapping of the ring's memory, unmapped on drop.
struct Mapping {
    at: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(fd: c_int, len: usize, offset: i64) -> io::Result<Self> {
        // SAFETY: A new shared mapping of the ring's file; no memory of
        // ours is touched.
        let at = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ_WRITE,
                MAP_SHARED_POPULATE,
                fd,
                offset,
            )
        };
        if at == MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { at: at.cast(), len })
    }

    /// The 32-bit word at byte `offset`, which the kernel shares.
    fn word(&self, offset: u32) -> &AtomicU32 {
        assert!(offset as usize + 4 <= self.len);
        // SAFETY: Inside the mapping (checked), 4-aligned as every ring
        // field; atomic, as the kernel changes it concurrently.
        unsafe { &*self.at.add(offset as usize).cast::<AtomicU32>() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Mapped in `new`, not used after.
        unsafe { munmap(self.at.cast(), self.len) };
    }
}

/// An io_uring of a few entries, one request at a time.
struct Ring {
    fd: c_int,
    params: Params,
    sq: Mapping,
    cq: Mapping,
    sqes: Mapping,
}

impl Ring {
    fn new() -> io::Result<Self> {
        let mut params = Params::default();
        // SAFETY: `io_uring_setup(2)` with a `struct io_uring_params`.
        let fd = unsafe { syscall(SYS_IO_URING_SETUP, 4 as c_uint, &mut params as *mut Params) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = fd as c_int;
        let rings = || -> io::Result<(Mapping, Mapping, Mapping)> {
            let sq_len = params.sq_off.array_or_flags as usize + 4 * params.sq_entries as usize;
            let cq_len = params.cq_off.dropped_or_cqes as usize + 16 * params.cq_entries as usize;
            Ok((
                Mapping::new(fd, sq_len, IORING_OFF_SQ_RING)?,
                Mapping::new(fd, cq_len, IORING_OFF_CQ_RING)?,
                Mapping::new(fd, 64 * params.sq_entries as usize, IORING_OFF_SQES)?,
            ))
        };
        match rings() {
            Ok((sq, cq, sqes)) => Ok(Self {
                fd,
                params,
                sq,
                cq,
                sqes,
            }),
            Err(e) => {
                // SAFETY: Our ring's descriptor, not used after.
                unsafe { close(fd) };
                Err(e)
            }
        }
    }

    /// One read or write (`opcode`) of `len` bytes at `offset` of `file`
    /// from or into `buf`, submitted and waited for: its result (bytes, or
    /// a negative errno).
    fn rw(&self, opcode: u8, file: &File, buf: *mut u8, len: u32, offset: u64) -> io::Result<i32> {
        let sq = &self.params.sq_off;
        let tail = self.sq.word(sq.tail).load(Ordering::Acquire);
        let index = tail & self.sq.word(sq.ring_mask).load(Ordering::Relaxed);
        let mut sqe = [0u8; 64];
        sqe[0] = opcode;
        sqe[4..8].copy_from_slice(&file.as_raw_fd().to_ne_bytes());
        sqe[8..16].copy_from_slice(&offset.to_ne_bytes());
        sqe[16..24].copy_from_slice(&(buf as u64).to_ne_bytes());
        sqe[24..28].copy_from_slice(&len.to_ne_bytes());
        sqe[32..40].copy_from_slice(&u64::from(tail).to_ne_bytes());
        assert!(index < self.params.sq_entries);
        // SAFETY: Entry `index` of the SQE array (below `sq_entries`,
        // checked), which the kernel reads only once the tail passes it.
        unsafe {
            std::ptr::copy_nonoverlapping(sqe.as_ptr(), self.sqes.at.add(64 * index as usize), 64)
        };
        self.sq
            .word(sq.array_or_flags + 4 * index)
            .store(index, Ordering::Relaxed);
        self.sq
            .word(sq.tail)
            .store(tail.wrapping_add(1), Ordering::Release);
        // SAFETY: `io_uring_enter(2)` on our ring: one to submit, one to
        // wait for, no signal mask.
        let entered = unsafe {
            syscall(
                SYS_IO_URING_ENTER,
                self.fd,
                1 as c_uint,
                1 as c_uint,
                IORING_ENTER_GETEVENTS,
                std::ptr::null::<c_void>(),
                0usize,
            )
        };
        if entered < 0 {
            return Err(io::Error::last_os_error());
        }
        let cq = &self.params.cq_off;
        let head = self.cq.word(cq.head).load(Ordering::Relaxed);
        if self.cq.word(cq.tail).load(Ordering::Acquire) == head {
            return Err(io::Error::other(
                "io_uring_enter returned with no completion",
            ));
        }
        let at =
            cq.dropped_or_cqes + 16 * (head & self.cq.word(cq.ring_mask).load(Ordering::Relaxed));
        let res = self.cq.word(at + 8).load(Ordering::Relaxed) as i32;
        self.cq
            .word(cq.head)
            .store(head.wrapping_add(1), Ordering::Release);
        Ok(res)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: Our ring's descriptor; the mappings go after it (fields
        // drop after this), which the kernel allows.
        unsafe { close(self.fd) };
    }
}

/// A buffer of `len` bytes at a 4 KiB-aligned address.
struct Aligned {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Self {
        let buf = vec![0u8; len + 4096];
        let start = buf.as_ptr().align_offset(4096);
        Self { buf, start, len }
    }

    fn from(bytes: &[u8]) -> Self {
        let mut aligned = Self::new(bytes.len());
        aligned.bytes_mut().copy_from_slice(bytes);
        aligned
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// Bytes that differ from one write to the next: `seed` and the offset.
fn stamp(seed: u8, offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// Stores `bytes` at `offset` of `model`, growing it with zeros.
fn model_write(model: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
    if model.len() < offset + bytes.len() {
        model.resize(offset + bytes.len(), 0);
    }
    model[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// `preadv2` or `pwritev2` with `RWF_NOWAIT` of `buf` at `offset`.
fn rw_nowait(file: &File, write: bool, buf: &mut Aligned, offset: i64) -> io::Result<isize> {
    let iov = IoVec {
        base: buf.bytes_mut().as_mut_ptr().cast(),
        len: buf.len,
    };
    let fd = file.as_raw_fd();
    // SAFETY: One iovec over our buffer, valid for the call.
    let n = unsafe {
        if write {
            pwritev2(fd, &iov, 1, offset, RWF_NOWAIT)
        } else {
            preadv2(fd, &iov, 1, offset, RWF_NOWAIT)
        }
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n)
    }
}

/// The file's bytes, read with `pread` through the page cache.
fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))
}

pub(crate) fn nowait(dir: &Path) -> Check {
    let path = dir.join("nowait");
    let open = |flags: c_int| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .custom_flags(flags)
            .open(&path)
            .map_err(|e| format!("open {} ({flags:#o}): {e}", path.display()))
    };
    let buffered = open(O_NONBLOCK)?;
    let direct = open(O_NONBLOCK | O_DIRECT)?;
    let plain = open(0)?;
    let ring = Ring::new().map_err(|e| format!("io_uring_setup: {e}"))?;
    let mut model = Vec::new();

    // Writes through io_uring, each tried first with IOCB_NOWAIT.
    let writes: [(&File, &str, usize, usize); 5] = [
        (&buffered, "buffered", 0, 10_000),
        (&direct, "direct whole blocks", 4096, 8192),
        (&direct, "direct unaligned", 5000, 777),
        (&buffered, "buffered past a hole", 20_000, 100),
        (&direct, "direct past the end", 24_576, 4096),
    ];
    for (seed, &(file, what, offset, len)) in writes.iter().enumerate() {
        let bytes = stamp(seed as u8, offset, len);
        let buf = Aligned::from(&bytes);
        // CAST: lengths of a few KiB.
        let res = ring
            .rw(
                IORING_OP_WRITE,
                file,
                buf.bytes().as_ptr().cast_mut(),
                len as u32,
                offset as u64,
            )
            .map_err(|e| format!("io_uring {what} write: {e}"))?;
        ensure!(
            res == len as i32,
            "io_uring {what} write of {len} at {offset}: {res}"
        );
        model_write(&mut model, offset, &bytes);
        ensure!(
            read_all(&path)? == model,
            "after the io_uring {what} write: not the model's bytes"
        );
    }

    // Reads through io_uring: buffered, direct (the whole file; its last
    // block is short), and direct over a folio dirtied by a plain write.
    let size = model.len();
    let mut buf = Aligned::new(size.next_multiple_of(4096));
    for (file, what) in [(&buffered, "buffered"), (&direct, "direct")] {
        buf.bytes_mut().fill(0);
        // CAST: a few KiB.
        let res = ring
            .rw(
                IORING_OP_READ,
                file,
                buf.bytes_mut().as_mut_ptr(),
                buf.len as u32,
                0,
            )
            .map_err(|e| format!("io_uring {what} read: {e}"))?;
        ensure!(
            res == size as i32,
            "io_uring {what} read of {}: {res}, expected {size}",
            buf.len
        );
        ensure!(
            buf.bytes()[..size] == model[..],
            "io_uring {what} read: not the model's bytes"
        );
    }
    let dirty = stamp(9, 8192, 300);
    plain
        .write_all_at(&dirty, 8192)
        .map_err(|e| format!("pwrite: {e}"))?;
    model_write(&mut model, 8192, &dirty);
    buf.bytes_mut().fill(0);
    let res = ring
        .rw(
            IORING_OP_READ,
            &direct,
            buf.bytes_mut().as_mut_ptr(),
            12_288,
            4096,
        )
        .map_err(|e| format!("io_uring direct read over a dirty folio: {e}"))?;
    ensure!(
        res == 12_288,
        "io_uring direct read over a dirty folio: {res}"
    );
    ensure!(
        buf.bytes()[..12_288] == model[4096..16_384],
        "io_uring direct read over a dirty folio: not the bytes just written"
    );

    // RWF_NOWAIT: refused, buffered and direct, reads and writes, the
    // file unchanged.
    plain.sync_all().map_err(|e| format!("fsync: {e}"))?;
    let mtime = |file: &File| {
        file.metadata()
            .map(|m| (m.mtime(), m.mtime_nsec(), m.len()))
    };
    let before = mtime(&plain).map_err(|e| format!("stat: {e}"))?;
    let blocking = [(open(0)?, "buffered"), (open(O_DIRECT)?, "direct")];
    for (file, what) in &blocking {
        for (write, offset) in [(false, 0), (true, 0), (true, 4096), (true, 40_960)] {
            let mut buf = Aligned::from(&stamp(77, 0, 4096));
            let call = if write { "pwritev2" } else { "preadv2" };
            match rw_nowait(file, write, &mut buf, offset) {
                Err(e) if e.raw_os_error() == Some(EOPNOTSUPP) => {}
                other => {
                    return Err(format!(
                        "{what} {call} RWF_NOWAIT at {offset}: {other:?}, not EOPNOTSUPP"
                    ))
                }
            }
        }
    }
    ensure!(
        read_all(&path)? == model,
        "a refused RWF_NOWAIT write changed the file"
    );
    let after = mtime(&plain).map_err(|e| format!("stat: {e}"))?;
    ensure!(
        after == before,
        "a refused RWF_NOWAIT write changed mtime or size: {before:?}, {after:?}"
    );
    drop(ring);
    std::fs::remove_file(&path).map_err(|e| format!("rm: {e}"))?;
    println!(
        "io_uring on O_NONBLOCK files: 5 writes and 3 reads whole; RWF_NOWAIT refused 8 times"
    );
    Ok(())
}
