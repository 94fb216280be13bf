// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress live-extend FILE [--allocates-at-fault]`: a store through
//! a mapping that stays writable across an extension must still get its
//! block.
//!
//! The file ends inside its first page; a store makes that page writable
//! and dirty.  A truncate then extends the file, so the page's blocks past
//! the old end are now inside it but have none: the extension must
//! write-protect the live mapping (what `pagecache_isize_extended` and
//! vm_mvc's PROTZERO are for), so that the next store there faults and
//! `page_mkwrite` allocates.  With `--allocates-at-fault` (toyfs; ext2
//! allocates at writeback instead) the file's `st_blocks` must have grown
//! with that store, before any msync; on every filesystem, after
//! writeback and dropped caches, the bytes are the ones stored and the
//! gap reads as zero.

use crate::mapping::Mapping;
use crate::worker::{drop_caches, open, read_upto};
use std::os::unix::fs::{FileExt, MetadataExt};

const OLD_END: u64 = 1500;
const NEW_END: u64 = 8192;
/// Inside the first page, past the old end, in a block the file did not
/// have (with blocks of 512 to 2048 bytes).
const LATE_STORE: u64 = 3000;

/// Runs the sequence on `path` (created or emptied); returns a summary.
pub fn run(path: &str, allocates_at_fault: bool) -> Result<String, String> {
    let file = open(path)?;
    let blocks = |what: &str| {
        file.metadata()
            .map(|meta| meta.blocks())
            .map_err(|err| format!("stat {path} {what}: {err}"))
    };
    file.set_len(0)
        .and_then(|()| file.write_all_at(&[0x11; OLD_END as usize], 0))
        .and_then(|()| file.sync_all())
        .map_err(|err| format!("prepare {path}: {err}"))?;
    let map = Mapping::new(&file, NEW_END as usize).map_err(|err| format!("mmap {path}: {err}"))?;
    map.store(100, &[0x22]);
    let before = blocks("before the extension")?;
    file.set_len(NEW_END)
        .map_err(|err| format!("truncate {path} to {NEW_END}: {err}"))?;
    map.store(LATE_STORE as usize, &[0x33]);
    let after = blocks("after the store")?;
    if allocates_at_fault && after <= before {
        return Err(format!(
            "{path}: st_blocks {before} before the extension, {after} after a store at \
             {LATE_STORE} through the live mapping: the store found the page still writable, \
             and got no block"
        ));
    }
    map.sync().map_err(|err| format!("msync {path}: {err}"))?;
    drop(map);
    drop_caches()?;
    let got = read_upto(&file, 0, NEW_END as usize).map_err(|err| format!("read {path}: {err}"))?;
    let mut want = vec![0u8; NEW_END as usize];
    want[..OLD_END as usize].fill(0x11);
    want[100] = 0x22;
    want[LATE_STORE as usize] = 0x33;
    if let Some(at) = got.iter().zip(&want).position(|(a, b)| a != b) {
        return Err(format!(
            "{path}: byte {at} is {:#x} after writeback, expected {:#x}",
            got[at], want[at]
        ));
    }
    Ok(format!(
        "st_blocks {before} -> {after} with the store after the extension; bytes as stored"
    ))
}
