// SPDX-License-Identifier: GPL-2.0
//! A read error on one block of a folio of several blocks (folioaudit),
//! with fail_make_request failing the device while armed (MAKE-IT-FAIL
//! is its `make-it-fail` file, KNOBS the fail_make_request directory).
//!
//! `toyfs-probe read-error DIR MAKE-IT-FAIL KNOBS`: file `read-error` is
//! written last block first, so that no block follows the one before it
//! on disk and readahead reads each block by a bio of its own; it is
//! synced, read once (its indirect block stays in the buffer cache) and
//! its folios dropped (`POSIX_FADV_DONTNEED`).  `readahead(2)` then runs
//! with the device failing one bio, the first: block 0's.  As iomap's
//! `iomap_read_end_io`, the folio holding block 0 must stay !uptodate
//! with block 0 unread, never zeros as for a hole, and its other blocks
//! read: with every bio failing, a read of block 1 returns its bytes
//! from the cache (`is_partially_uptodate`, when a folio holds several
//! blocks) and a read of block 0 reports `EIO`; with the device working,
//! every byte reads right.

use crate::{pattern, reuse_error::fail, sys};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

type Check = Result<(), String>;

/// `EIO`.
const EIO: i32 = 5;

/// Blocks of the file: four pages' worth, at least four.
fn file_blocks(block: u64) -> u64 {
    (4 * sys::page_size() / block).max(4)
}

/// The probe; see the module's documentation.
pub(crate) fn read_error(dir: &Path, make_it_fail: &Path, knobs: &Path) -> Check {
    let b = crate::block_size(dir)?;
    let blocks = file_blocks(b);
    let len = blocks * b;
    let model: Vec<u8> = (0..len).map(pattern).collect();
    let path = dir.join("read-error");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(sys::O_NOATIME)
        .open(&path)
        .map_err(|e| format!("create {}: {e}", path.display()))?;
    for n in (0..blocks).rev() {
        let at = (n * b) as usize;
        file.write_all_at(&model[at..at + b as usize], n * b)
            .map_err(|e| format!("write block {n}: {e}"))?;
    }
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    let extents = sys::fiemap(&file).map_err(|e| format!("fiemap: {e}"))?;
    ensure!(
        extents
            .iter()
            .any(|&(logical, _, length, _)| logical == 0 && length == b),
        "block 0 is not alone in its extent ({extents:?}): one bio would read more than it"
    );
    read_back(&file, &model, "written")?;
    sys::drop_file_cache(&file).map_err(|e| format!("fadvise: {e}"))?;
    let map = sys::Mapping::read_only(&file, len as usize).map_err(|e| format!("mmap: {e}"))?;
    let cached = map.resident().map_err(|e| format!("mincore: {e}"))?;
    ensure!(
        !cached.iter().any(|&page| page),
        "pages still cached after POSIX_FADV_DONTNEED: {cached:?}"
    );
    drop(map);
    // Nothing dirty left to write meanwhile: the one failure is the
    // readahead's.
    sys::sync_all_filesystems();

    knob(knobs, "times", "1")?;
    fail(make_it_fail, true)?;
    let ahead = sys::read_ahead(&file, 0, len as usize);
    // Every bio fails from here on.
    let every = knob(knobs, "times", "-1");
    let second = read_at(&file, b, b);
    let first = read_at(&file, 0, b);
    fail(make_it_fail, false)?;
    ahead.map_err(|e| format!("readahead: {e}"))?;
    every?;
    if b < sys::page_size() {
        // Block 1 shares block 0's folio and was read by the readahead.
        let second = second.map_err(|e| format!("block 1 beside the failed block 0: {e}"))?;
        ensure!(
            second == model[b as usize..2 * b as usize],
            "block 1 beside the failed block 0 reads wrong bytes"
        );
    }
    match first {
        Err(e) if e.raw_os_error() == Some(EIO) => {}
        Err(e) => return Err(format!("block 0, whose read failed: {e}, expected EIO")),
        Ok(bytes) if bytes.iter().all(|&x| x == 0) => {
            return Err("block 0, whose read failed, reads zeros as a hole".into())
        }
        Ok(bytes) if bytes == model[..b as usize] => {
            return Err(
                "block 0 read right: its read did not fail (was it not the first bio?)".into(),
            )
        }
        Ok(_) => return Err("block 0, whose read failed, reads wrong bytes".into()),
    }
    read_back(&file, &model, "the device working again")
}

/// `len` bytes of `file` at `offset`.
fn read_at(file: &fs::File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
}

/// The whole of `file` reads `model`.
fn read_back(file: &fs::File, model: &[u8], when: &str) -> Check {
    let bytes = read_at(file, 0, model.len() as u64).map_err(|e| format!("{when}: read: {e}"))?;
    match bytes.iter().zip(model).position(|(a, b)| a != b) {
        Some(at) => Err(format!(
            "{when}: byte {at} reads {:#x}, not {:#x}",
            bytes[at], model[at]
        )),
        None => Ok(()),
    }
}

/// Writes `value` to fail_make_request's knob `name`.
fn knob(knobs: &Path, name: &str, value: &str) -> Check {
    fs::write(knobs.join(name), value).map_err(|e| format!("fail_make_request/{name}: {e}"))
}
