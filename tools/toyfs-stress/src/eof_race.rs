// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress eof-race DIR ROUNDS`: stores through a mapping past the
//! end of a file, racing with a write or a truncate that extends it.
//!
//! A store made while the byte is past the end is not file data: once the
//! file grows over it, it must read as zero (review-toyfs.md finding 3: an
//! extending write that zeroes the old last page *before* it raises the
//! size lets a store made in between become data).  One thread extends
//! the file; the other stores into the old last page past the end, each
//! byte once, and after each store reads the size: if the file has not
//! grown yet, that store was made past the end, and is recorded.  After the
//! extension every recorded byte must read as zero, through `read(2)` and
//! through the mapping.  A store the size check cannot place (the file
//! grew meanwhile) is legitimately data and is not checked.

use crate::mapping::Mapping;
use crate::sys::PAGE;
use crate::worker::{open, read_upto};
use seeded_rng::Rng;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Length of the mapping: the file never grows past it.
const MAP_LEN: usize = 16 * PAGE as usize;
/// The value of the racing stores (never written by the extender).
const MARK: u8 = 0xee;

/// Runs `rounds` races in `dir`; returns a summary.
pub fn run(dir: &str, rounds: u64) -> Result<String, String> {
    let path = format!("{dir}/eof-race");
    let file = open(&path)?;
    let map = Mapping::new(&file, MAP_LEN).map_err(|err| format!("mmap {path}: {err}"))?;
    let mut rng = Rng::new(0xe0f);
    let mut checked = 0usize;
    for round in 0..rounds {
        // The old end, inside a page; the new end past that page.
        let size = PAGE * rng.below(6) + 1 + rng.below(PAGE - 200);
        let page_end = size.div_ceil(PAGE) * PAGE;
        let grow_to = page_end + rng.below(3 * PAGE);
        let by_write = rng.one_in(2);
        file.set_len(0)
            .and_then(|()| file.write_all_at(&vec![0x11; size as usize], 0))
            .map_err(|err| format!("round {round}: prepare {path}: {err}"))?;
        // Fault the last page in, writable.
        map.store(size as usize - 1, &[0x11]);
        // The bytes past the end in a random order, each stored once.
        let mut offsets: Vec<u64> = (size..page_end).collect();
        for i in (1..offsets.len()).rev() {
            offsets.swap(i, rng.below(i as u64 + 1) as usize);
        }

        let stop = AtomicBool::new(false);
        let (recorded, result) = std::thread::scope(|scope| {
            let storer = scope.spawn(|| {
                let mut recorded = Vec::new();
                for &offset in &offsets {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    map.store(offset as usize, &[MARK]);
                    match file.metadata() {
                        Ok(meta) if meta.len() == size => recorded.push(offset),
                        _ => break,
                    }
                }
                recorded
            });
            // Let the storer start, then extend.
            for _ in 0..rng.below(2000) {
                std::hint::spin_loop();
            }
            let result = if by_write {
                file.write_all_at(&[0x22], grow_to)
            } else {
                file.set_len(grow_to + 1)
            };
            stop.store(true, Ordering::Relaxed);
            (storer.join().unwrap_or_default(), result)
        });
        let how = if by_write { "write" } else { "truncate" };
        result.map_err(|err| format!("round {round}: {how} to {grow_to}: {err}"))?;

        let read = read_upto(&file, 0, page_end as usize)
            .map_err(|err| format!("round {round}: read: {err}"))?;
        let mapped = map.load(0, page_end as usize);
        for &offset in &recorded {
            for (got, what) in [
                (read[offset as usize], "read"),
                (mapped[offset as usize], "mapping"),
            ] {
                if got != 0 {
                    return Err(format!(
                        "round {round}: byte {offset}, stored through a mapping while the file \
                         ended at {size}, reads {got:#x} through the {what} after a {how} \
                         extended it to {}: a store past the end became file data",
                        grow_to + 1
                    ));
                }
            }
        }
        checked += recorded.len();
    }
    Ok(format!(
        "{rounds} extensions raced with stores past the end; {checked} bytes stored past the end read as zero"
    ))
}
