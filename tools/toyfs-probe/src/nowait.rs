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

use crate::sys::{rw_nowait, Ring};
use crate::Check;
use std::ffi::c_int;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

const O_DIRECT: c_int = 0o40000;
const O_NONBLOCK: c_int = 0o4000;
const EOPNOTSUPP: i32 = 95;

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
        let res = ring
            .write(file, buf.bytes(), offset as u64)
            .map_err(|e| format!("io_uring {what} write: {e}"))?;
        // CAST: lengths of a few KiB.
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
        let res = ring
            .read(file, buf.bytes_mut(), 0)
            .map_err(|e| format!("io_uring {what} read: {e}"))?;
        // CAST: a few KiB.
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
        .read(&direct, &mut buf.bytes_mut()[..12_288], 4096)
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
            match rw_nowait(file, write, buf.bytes_mut(), offset) {
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
