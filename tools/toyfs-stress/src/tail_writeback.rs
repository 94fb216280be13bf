// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress tail-writeback DIR ROUNDS`: on a toyfs image with LZ4
//! (4 KiB blocks, 512-byte fragments, `mkfs.toyfs -c lz4`), a compressed
//! file's last block changes size (`fallocate`, a truncation up, a
//! write into a later page, a truncation down into a compressed block)
//! while another thread starts writeback of the file over and over.
//!
//! Before the size changes, toyfs gives the last block (and, cut, the
//! new last block) the run the new size needs there; writeback stores a
//! block by the size it reads (a compressed block records the file's
//! bytes in it, a tail its run).  A writeback between the two used to
//! store the block by the old size: a compressed middle block recording
//! fewer bytes than a block (`fsck.toyfs`: "compressed block of 2000
//! bytes, the file has 4096 there"), or, cut, a block of old bytes
//! for a run already cut to the new size (`EUCLEAN`, "dirty block in a
//! run too short for its bytes", from the writeback and the next
//! `fdatasync`).  `fallocate` holds the window open across its zeroing
//! I/O; the other three are a few instructions wide.  The writeback
//! thread runs beside the resizing one on another CPU: on one CPU
//! (User-Mode Linux) the scheduler seldom runs it inside the window (it
//! counts the writebacks it started there).  Each round has its
//! own file, kept for the `fsck.toyfs -f` after the run; each file reads
//! back as its model after an `fdatasync`.

use crate::sys::{self, PAGE};
use crate::worker::{beside_writeback, open, read_upto};
use seeded_rng::Rng;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file's bytes in its last block before it grows: one compressed
/// tail of four plain fragments.
const TAIL: usize = 2000;

/// What the writeback thread knows of the round under way: its number,
/// and the file's size and `st_blocks` just before its size change.
struct Round {
    number: AtomicU64,
    size: AtomicU64,
    blocks: AtomicU64,
}

/// Runs `rounds` size changes in `dir`; returns a summary.
pub fn run(dir: &str, rounds: u64) -> Result<String, String> {
    let mut rng = Rng::new(0x7a11);
    let round = Round {
        number: AtomicU64::new(0),
        size: AtomicU64::new(u64::MAX),
        blocks: AtomicU64::new(0),
    };
    let writebacks = AtomicU64::new(0);
    let in_window = AtomicU64::new(0);
    let path = |round: u64| format!("{dir}/tail-writeback-{round}");
    // The writeback thread's round and its file.
    let mut number = u64::MAX;
    let mut file = None;
    beside_writeback(
        || {
            let now = round.number.load(Ordering::Acquire);
            if now != number {
                number = now;
                file = Some(open(&path(number))?);
            }
            let Some(file) = &file else { return Ok(()) };
            // The last block got its new run (`st_blocks` changed) and
            // the size has not changed yet: the window.
            let meta = file
                .metadata()
                .map_err(|err| format!("round {number}: fstat: {err}"))?;
            if meta.len() == round.size.load(Ordering::Acquire)
                && meta.blocks() != round.blocks.load(Ordering::Acquire)
            {
                in_window.fetch_add(1, Ordering::Relaxed);
            }
            sys::start_writeback(file)
                .map_err(|err| format!("round {number}: sync_file_range: {err}"))?;
            writebacks.fetch_add(1, Ordering::Relaxed);
            Ok(())
        },
        || {
            (0..rounds).try_for_each(|number| {
                // The writeback thread opens the file too: it is created first.
                let file = open(&path(number))?;
                sys::set_inode_flags(&file, sys::FS_COMPR_FL)
                    .map_err(|err| format!("round {number}: FS_IOC_SETFLAGS: {err}"))?;
                round.size.store(u64::MAX, Ordering::Release);
                round.number.store(number, Ordering::Release);
                one_round(&file, &mut rng, number, &round)
            })
        },
    )?;
    Ok(format!(
        "{rounds} last blocks of compressed files resized, {} writebacks started meanwhile \
         ({} between a new run of the last block and the new size); every file reads as its \
         model",
        writebacks.load(Ordering::Relaxed),
        in_window.load(Ordering::Relaxed)
    ))
}

/// One round on `file` (new, compressed): written and synced, so that its
/// last block is compressed on the disk, then resized as `round % 4`
/// says, synced again and read back.
fn one_round(
    file: &std::fs::File,
    rng: &mut Rng,
    round: u64,
    shared: &Round,
) -> Result<(), String> {
    let failed = |what: &str, err: std::io::Error| format!("round {round}: {what}: {err}");
    let mut model = rng.data(TAIL, true);
    let how = match round % 4 {
        0 => "fallocate",
        1 => "truncate up",
        2 => "write past the page",
        _ => "truncate down",
    };
    if round % 4 == 3 {
        // Block 1 compressed, 1020 random bytes and 3076 that compress;
        // cut to its random bytes, which stored at the old size (zeros
        // to the end of the block) do not fit the two fragments the
        // new size gives it.
        model = rng.data(PAGE as usize, true);
        model.extend(rng.bytes(1020));
        model.extend(rng.data(PAGE as usize - 1020 + 100, true));
    }
    let meta = file
        .write_all_at(&model, 0)
        .and_then(|()| file.sync_data())
        .and_then(|()| file.metadata())
        .map_err(|err| failed("write and fdatasync", err))?;
    shared.blocks.store(meta.blocks(), Ordering::Release);
    shared.size.store(meta.len(), Ordering::Release);
    let resized = match round % 4 {
        0 => {
            // Zeroed 256 KiB at a time, each a sleep on the I/O.
            let len = 4 << 20;
            model.resize(model.len() + len, 0);
            sys::fallocate(file, 0, 0, model.len() as u64)
        }
        1 => {
            model.resize(TAIL + 2 * PAGE as usize + rng.below(PAGE) as usize, 0);
            file.set_len(model.len() as u64)
        }
        2 => {
            let at = 3 * PAGE as usize + rng.below(PAGE) as usize;
            let bytes = rng.data(100, true);
            model.resize(at, 0);
            model.extend(&bytes);
            file.write_all_at(&bytes, at as u64)
        }
        _ => {
            model.truncate(PAGE as usize + 1020);
            file.set_len(model.len() as u64)
        }
    };
    resized.map_err(|err| failed(how, err))?;
    file.sync_data()
        .map_err(|err| failed(&format!("fdatasync after the {how}"), err))?;
    let read = read_upto(file, 0, model.len() + 1).map_err(|err| failed("read", err))?;
    if read != model {
        let at = read
            .iter()
            .zip(&model)
            .position(|(got, want)| got != want)
            .unwrap_or(read.len().min(model.len()));
        return Err(format!(
            "round {round}: after a {how} to {} bytes with writeback running, the file \
             reads {} bytes, differing from its model at byte {at}",
            model.len(),
            read.len()
        ));
    }
    Ok(())
}
