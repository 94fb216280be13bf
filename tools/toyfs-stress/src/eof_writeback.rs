// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress eof-writeback DIR ROUNDS`: stores through a mapping past
//! the end of a file, then an extension of the file by a write or a
//! truncate, while another thread starts writeback of the file over and
//! over.
//!
//! The stores are made, and return, before the extension starts: they are
//! past the end, never file data, and once the file has grown over them
//! they must read as zero.  A writeback that runs after the size grew and
//! before the filesystem zeroed them sees them inside the file: it writes
//! them and cleans the folio, and `pagecache_isize_extended` zeroes only a
//! dirty folio, so they stay, in the cache and on the disk (the shared
//! file of `toyfs-stress run --eof-pollution` found it).  A filesystem
//! must zero them before the size grows (ext4's `ext4_block_zero_eof`).
//! The window is a few instructions wide: many rounds, and a writeback
//! that never rests.  After each round the file's pages are evicted and
//! the bytes read again from the disk: with blocks of a page, the cached
//! bytes were zeroed after the size grew, but a writeback before had
//! written them.

use crate::mapping::Mapping;
use crate::sys::{self, PAGE};
use crate::worker::{beside_writeback, open, read_upto};
use seeded_rng::Rng;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Length of the mapping: the file never grows past it.
const MAP_LEN: usize = 8 * PAGE as usize;
/// The value of the stores past the end (never written as data).
const MARK: u8 = 0xee;

/// Runs `rounds` extensions in `dir`; returns a summary.
pub fn run(dir: &str, rounds: u64) -> Result<String, String> {
    let path = format!("{dir}/eof-writeback");
    let file = open(&path)?;
    let mut rng = Rng::new(0xe0b);
    let writebacks = AtomicU64::new(0);
    beside_writeback(
        || {
            sys::start_writeback(&file).map_err(|err| format!("sync_file_range: {err}"))?;
            writebacks.fetch_add(1, Ordering::Relaxed);
            Ok(())
        },
        || (0..rounds).try_for_each(|round| one_round(&file, &path, &mut rng, round)),
    )?;
    Ok(format!(
        "{rounds} extensions after stores past the end, {} writebacks started meanwhile; \
         every stored byte reads as zero",
        writebacks.load(Ordering::Relaxed)
    ))
}

/// One round: a file of a random size inside a page, stores past its end
/// to the end of the page through a mapping, an extension past that
/// page; the stored bytes must read as zero from the cache, through the
/// mapping, and from the disk once the file's pages are evicted.
fn one_round(file: &File, path: &str, rng: &mut Rng, round: u64) -> Result<(), String> {
    let size = PAGE * rng.below(3) + 1 + rng.below(PAGE - 1);
    let page_end = size.div_ceil(PAGE) * PAGE;
    let grow_to = page_end + rng.below(3 * PAGE);
    let by_write = rng.one_in(2);
    let how = if by_write { "write" } else { "truncate" };
    let failed = |what: &str, bytes: &[u8]| match bytes.iter().position(|&b| b != 0) {
        Some(at) => Err(format!(
            "round {round}: byte {}, stored through a mapping while the file ended at \
             {size}, reads {:#x} through the {what} after a {how} extended the file to {}, \
             with writeback running: a store past the end became file data",
            size + at as u64,
            bytes[at],
            grow_to + 1
        )),
        None => Ok(()),
    };
    file.set_len(0)
        .and_then(|()| file.write_all_at(&vec![0x11; size as usize], 0))
        .map_err(|err| format!("round {round}: prepare {path}: {err}"))?;
    let map = Mapping::new(file, MAP_LEN).map_err(|err| format!("mmap {path}: {err}"))?;
    // Past the end, to the end of the page: a write fault (`page_mkwrite`)
    // dirties the folio.
    map.store(size as usize, &vec![MARK; (page_end - size) as usize]);
    let grown = if by_write {
        file.write_all_at(&[0x22], grow_to)
    } else {
        file.set_len(grow_to + 1)
    };
    grown.map_err(|err| format!("round {round}: {how} to {grow_to}: {err}"))?;
    let len = (page_end - size) as usize;
    let read = |what: &str| {
        read_upto(file, size, len).map_err(|err| format!("round {round}: {what}: {err}"))
    };
    failed("read", &read("read")?)?;
    failed("mapping", &map.load(size as usize, len))?;
    drop(map);
    file.sync_data()
        .and_then(|()| sys::evict(file))
        .map_err(|err| format!("round {round}: fdatasync and evict: {err}"))?;
    failed("read from the disk", &read("read from the disk")?)
}
