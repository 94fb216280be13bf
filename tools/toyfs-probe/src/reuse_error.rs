// SPDX-License-Identifier: GPL-2.0
//! Write errors of buffers that outlive their owner (review rev9, two
//! low findings), with fail_make_request failing the device while armed
//! (MAKE-IT-FAIL is its `make-it-fail` file).
//!
//! `toyfs-probe reused-block-error DIR MAKE-IT-FAIL` (an image of 1 KiB
//! blocks and 128-byte fragments, nothing else on it): every name is
//! made first (the root directory grows to two fragments or more); files
//! `a1` and `a2` get a tail of 7 fragments each, alone in its block,
//! written back (the block's buffer goes on the file's own list of
//! buffers, `mmb_mark_buffer_dirty`) and synced; a filling file takes
//! every other whole block; `a1` and `a2` are truncated to nothing, which
//! frees both blocks whole while their buffers stay on `a1`'s and `a2`'s
//! lists.  A new directory takes one of them as its block, file `b` the
//! other for its tail of 7 fragments (no block partly in use has room).  `sync(2)`
//! while the device fails: the writes of both fail.  `fsync` of `a1` and
//! of `a2` must then succeed (neither has anything of its own unwritten),
//! and `fsync` of `b` must report `EIO`, once.  Before the blocks left
//! the old lists when taken again, `a1`'s and `a2`'s `fsync` reported
//! the directory's and `b`'s errors, and `b`'s none.
//!
//! `toyfs-probe evicted-tail-error DIR MAKE-IT-FAIL` (an image of 4 KiB
//! blocks and 512-byte fragments: one buffer to a page of the device, so
//! that dropping the caches drops the tail's): file `e`'s tail is written
//! and synced, then written again and written back, and `sync(2)` while
//! the device fails fails its write.  With the device working, `e` is
//! closed and the caches dropped twice (its inode evicted, then the
//! device's pages dropped).  `e` read again must hold the second bytes
//! (before, the evicted inode let go of the failed buffer, the cache
//! dropped it, and `e` read the disk's older bytes, every `fsync` of it
//! returning 0), and `syncfs` must report the failed write.
//!
//! `toyfs-probe evicted-bitmap-error DIR MAKE-IT-FAIL` (an image of 4 KiB
//! blocks, one bitmap block): two descriptors of DIR are opened; file
//! `x` is written and `z` too, and both synced with `syncfs(2)`, whose
//! first pass (`writeback_inodes_sb`, `WB_SYNC_NONE`, waited for) writes
//! `x`'s inode without `sync`, which leaves the bitmap block in `x`'s mask
//! of bitmap blocks to write at its `fsync` or eviction; `sync(2)` would
//! not do: its flusher pass runs beside its `WB_SYNC_ALL` pass, and a
//! `write_inode` with `sync` writes and takes the mask (CI of c5cb3c2:
//! both syncfs returned 0 once); `z` is removed, which frees its blocks in the
//! bitmap block, dirty in the cache; with the device failing the caches
//! are dropped, which evicts `x`, whose eviction writes the bitmap block:
//! the write fails.  With the device working, `syncfs` through each
//! descriptor must report `EIO` (before, the error was on the device's
//! mapping alone: the first `syncfs`'s `sync_blockdev` took it and the
//! second returned 0), and the bitmap block must reach the disk (dirty
//! again: before, nothing wrote it, and fsck found `z`'s blocks in use).
//!
//! `toyfs-probe packed-buffers-error DIR MAKE-IT-FAIL` (an image of 4 KiB
//! blocks, 512-byte fragments and LZ4, the same for the device's pages):
//! file `p`'s two blocks, each of bytes that compress to 6 fragments
//! (so not both in one disk block), are written, written back
//! (compressed, each into the device's buffer of its disk block) and
//! synced, then written again with other bytes and written back, and
//! `sync(2)` while the device fails fails the writes of both buffers.
//! With the device working and `p` still open, the caches are dropped:
//! `p` read again must hold the second bytes in both blocks (before,
//! toyfs kept a reference to the buffer written back last alone, the
//! cache dropped the other one, whose write had failed, and `p` read
//! the disk's older bytes there; review rev9 low, `InodeInfo::packed`).

use crate::sys;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

type Check = Result<(), String>;

/// `EIO`.
const EIO: i32 = 5;
/// `ENOSPC`.
const ENOSPC: i32 = 28;

/// Sets the device failing (true) or working.
pub(crate) fn fail(make_it_fail: &Path, on: bool) -> Check {
    fs::write(make_it_fail, if on { "1" } else { "0" }).map_err(|e| format!("make-it-fail: {e}"))
}

/// `len` bytes of `byte` at the start of `file`, then its dirty pages
/// written back and waited for (`sync_file_range`), without `fsync`.
fn write_back(file: &File, byte: u8, len: usize) -> Check {
    file.write_all_at(&vec![byte; len], 0)
        .map_err(|e| format!("write: {e}"))?;
    sys::sync_range(file, 0, 0, sys::SYNC_RANGE_AND_WAIT).map_err(|e| format!("writeback: {e}"))
}

/// The disk block of `file`'s one extent (a tail), `block` bytes each.
fn tail_block(file: &File, block: u64, what: &str) -> Result<u64, String> {
    let extents = sys::fiemap(file).map_err(|e| format!("{what}: fiemap: {e}"))?;
    if extents.len() != 1 {
        return Err(format!("{what}: extents {extents:?}, expected one tail"));
    }
    Ok(extents[0].1 / block)
}

/// `fsync` of `file` must succeed.
fn fsync_ok(file: &File, what: &str) -> Check {
    file.sync_all().map_err(|e| format!("fsync of {what}: {e}"))
}

/// Fills the filesystem of `dir` with whole blocks (a file whose size
/// stays a multiple of the block size, `block`): the free space left is
/// the fragments no whole block has.
fn fill(dir: &Path, block: u64) -> Check {
    let file = crate::create_empty(dir, "reuse-fill")?;
    let chunk = vec![0x5a; block as usize];
    let mut size = 0;
    loop {
        match file.write_at(&chunk, size) {
            Ok(n) if n as u64 == block => size += block,
            Ok(_) => break,
            Err(e) if e.raw_os_error() == Some(ENOSPC) => break,
            Err(e) => return Err(format!("fill: {e}")),
        }
    }
    // A short last write would have left a tail: whole blocks only.
    file.set_len(size).map_err(|e| format!("fill: {e}"))?;
    file.sync_all().map_err(|e| format!("fill: fsync: {e}"))
}

/// Bytes of a tail of 7 fragments of 128 bytes: more than any block
/// partly in use has free once the root directory takes two fragments,
/// so such a tail goes into a block all free.
const TAIL: usize = 800;

/// `toyfs-probe reused-block-error DIR MAKE-IT-FAIL`.
pub fn reused_block_error(dir: &Path, make_it_fail: &Path) -> Check {
    let block = crate::block_size(dir)?;
    // Every name first: the root directory (one fragment from mkfs,
    // in the first data block) grows now, into its own block, and
    // needs no room later, when only the blocks freed are free.  The
    // directory's name is held by a file until then.
    let long = "reuse-name-that-makes-the-root-directory-grow";
    for i in 0..4 {
        crate::create_empty(dir, &format!("{long}-{i}"))?;
    }
    let (a1, a2) = (
        crate::create_empty(dir, "reuse-a1")?,
        crate::create_empty(dir, "reuse-a2")?,
    );
    let b = crate::create_empty(dir, "reuse-b")?;
    crate::create_empty(dir, "reuse-dir")?;
    // Each tail alone in its block, written back: its buffer on the
    // file's list.
    write_back(&a1, b'1', TAIL)?;
    write_back(&a2, b'2', TAIL)?;
    let freed = [tail_block(&a1, block, "a1")?, tail_block(&a2, block, "a2")?];
    if freed[0] == freed[1] {
        return Err(format!(
            "a1 and a2 share block {}: the test needs two",
            freed[0]
        ));
    }
    sys::sync_all_filesystems();
    fill(dir, block)?;
    a1.set_len(0).map_err(|e| format!("truncate a1: {e}"))?;
    a2.set_len(0).map_err(|e| format!("truncate a2: {e}"))?;
    sys::sync_all_filesystems();
    let (free, _) = sys::free_counts(dir).map_err(|e| format!("statfs: {e}"))?;
    println!("freed blocks {freed:?}; free fragments {free}");
    // The two blocks freed are the only ones with room for a whole block
    // or for `TAIL`: the directory takes one, `b`'s tail the other.
    let sub = dir.join("reuse-dir");
    fs::remove_file(&sub).map_err(|e| format!("unlink: {e}"))?;
    fs::create_dir(&sub).map_err(|e| format!("mkdir: {e}"))?;
    write_back(&b, b'b', TAIL)?;
    let taken = tail_block(&b, block, "b")?;
    println!("b's tail in block {taken}");
    if !freed.contains(&taken) {
        return Err(format!(
            "b's tail is in block {taken}, not one a1 or a2 freed: the test tested nothing"
        ));
    }
    fail(make_it_fail, true)?;
    sys::sync_all_filesystems();
    fail(make_it_fail, false)?;
    let results = [a1.sync_all(), a2.sync_all(), b.sync_all(), b.sync_all()];
    println!(
        "fsync after the failed sync: a1 {:?}, a2 {:?}, b {:?}, b again {:?}",
        results[0], results[1], results[2], results[3]
    );
    let eio = |r: &io::Result<()>| r.as_ref().err().and_then(io::Error::raw_os_error) == Some(EIO);
    let checked = if results[0].is_err() || results[1].is_err() {
        Err(
            "fsync of a1 or a2, which changed nothing since they were synced, failed: \
             it took the error of a block they freed"
                .to_string(),
        )
    } else if !eio(&results[2]) || results[3].is_err() {
        Err("fsync of b, whose tail's write failed, did not report EIO once".to_string())
    } else {
        Ok(())
    };
    // The blocks whose writes failed are read again from memory (kept,
    // dirty again: `Buffer::read`) and written, for a clean fsck; the
    // first `fsync` of a directory takes the device's error (a
    // directory's `fsync` writes the device, `sync_blockdev`).
    for path in [dir, sub.as_path()] {
        fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .count();
    }
    let _ = File::open(dir).and_then(|d| d.sync_all());
    sys::sync_all_filesystems();
    for path in [dir, sub.as_path()] {
        File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("fsync of {} once the device works: {e}", path.display()))?;
    }
    checked
}

/// `toyfs-probe evicted-tail-error DIR MAKE-IT-FAIL`.
pub fn evicted_tail_error(dir: &Path, make_it_fail: &Path) -> Check {
    let path = dir.join("evicted-tail");
    {
        let e = crate::create_empty(dir, "evicted-tail")?;
        write_back(&e, b'A', 100)?;
        fsync_ok(&e, "e")?;
        write_back(&e, b'B', 100)?;
        fail(make_it_fail, true)?;
        sys::sync_all_filesystems();
        fail(make_it_fail, false)?;
    }
    // The inode evicted, then the device's pages dropped.
    crate::drop_caches()?;
    crate::drop_caches()?;
    let mut bytes = Vec::new();
    File::open(&path)
        .and_then(|mut e| e.read_to_end(&mut bytes))
        .map_err(|e| format!("read e again: {e}"))?;
    let want = vec![b'B'; 100];
    let read = if bytes == want {
        Ok(())
    } else {
        Err(format!(
            "e read again after its eviction holds {:?}, expected 100 bytes of B (the write that failed in the background)",
            String::from_utf8_lossy(&bytes)
        ))
    };
    let d = File::open(dir).map_err(|e| e.to_string())?;
    let first = sys::syncfs_of(&d);
    let reported = if first.as_ref().err().and_then(io::Error::raw_os_error) == Some(EIO) {
        Ok(())
    } else {
        Err(format!(
            "syncfs after the failed write: {first:?}, expected EIO"
        ))
    };
    read.and(reported)
}

/// `toyfs-probe evicted-bitmap-error DIR MAKE-IT-FAIL`.
pub fn evicted_bitmap_error(dir: &Path, make_it_fail: &Path) -> Check {
    let open_dir = || File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()));
    let (first, second) = (open_dir()?, open_dir()?);
    let block = crate::block_size(dir)? as usize;
    for (name, byte) in [("evicted-bitmap-x", b'x'), ("evicted-bitmap-z", b'z')] {
        crate::create_empty(dir, name)?
            .write_all_at(&vec![byte; 3 * block], 0)
            .map_err(|e| format!("write {name}: {e}"))?;
    }
    sys::syncfs_of(&first).map_err(|e| format!("syncfs before the failure: {e}"))?;
    fs::remove_file(dir.join("evicted-bitmap-z")).map_err(|e| format!("unlink z: {e}"))?;
    fail(make_it_fail, true)?;
    let dropped = crate::drop_caches();
    fail(make_it_fail, false)?;
    dropped?;
    let results = [sys::syncfs_of(&first), sys::syncfs_of(&second)];
    println!(
        "syncfs after x's eviction failed to write the bitmap: first {:?}, second {:?}",
        results[0], results[1]
    );
    let eio = |r: &io::Result<()>| r.as_ref().err().and_then(io::Error::raw_os_error) == Some(EIO);
    if results.iter().all(eio) {
        Ok(())
    } else {
        Err("syncfs through each descriptor open before the failed write must report EIO".into())
    }
}

/// A block of `len` bytes that LZ4 compresses to about 3 KiB: bytes of a
/// generator seeded by `seed` for the first 2900, then `seed` repeated.
fn part_compressible(seed: u8, len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(seed);
    (0..len)
        .map(|i| {
            if i >= 2900 {
                return seed;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// `toyfs-probe packed-buffers-error DIR MAKE-IT-FAIL`.
pub fn packed_buffers_error(dir: &Path, make_it_fail: &Path) -> Check {
    let block = crate::block_size(dir)?;
    let p = crate::create_empty(dir, "packed-buffers")?;
    let bytes = |round: u8| -> Vec<u8> {
        let mut bytes = part_compressible(round, block as usize);
        bytes.extend(part_compressible(round + 1, block as usize));
        bytes
    };
    for (round, sync) in [(b'A', true), (b'C', false)] {
        p.write_all_at(&bytes(round), 0)
            .map_err(|e| format!("write: {e}"))?;
        sys::sync_range(&p, 0, 0, sys::SYNC_RANGE_AND_WAIT)
            .map_err(|e| format!("writeback: {e}"))?;
        if sync {
            fsync_ok(&p, "p")?;
        }
    }
    let extents = sys::fiemap(&p).map_err(|e| format!("fiemap: {e}"))?;
    let blocks: Vec<u64> = extents
        .iter()
        .filter(|extent| extent.3 & sys::FIEMAP_EXTENT_ENCODED != 0)
        .map(|extent| extent.1 / block)
        .collect();
    if blocks.len() != 2 || blocks[0] == blocks[1] {
        return Err(format!(
            "p's extents {extents:?}: not two compressed blocks in two disk blocks, nothing tested"
        ));
    }
    fail(make_it_fail, true)?;
    sys::sync_all_filesystems();
    fail(make_it_fail, false)?;
    crate::drop_caches()?;
    let mut read = vec![0; 2 * block as usize];
    p.read_exact_at(&mut read, 0)
        .map_err(|e| format!("read p again: {e}"))?;
    // What failed is written again (the error itself is the mapping's
    // to report, once), before the unmount.
    let _ = p.sync_all();
    let want = bytes(b'C');
    match read.iter().zip(&want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(at) => Err(format!(
            "p read again after the caches were dropped differs from the write that failed in the background at byte {at} (block {})",
            at as u64 / block
        )),
    }
}
