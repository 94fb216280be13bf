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
//! fewer bytes than a block (what `fsck.toyfs` reports, "length ...
//! other than the file's bytes there"), or, cut, a block of old bytes
//! for a run already cut to the new size (`EUCLEAN`, "dirty block in a
//! run too short for its bytes", from the writeback and the next
//! `fdatasync`).  `fallocate` holds the window open across its zeroing
//! I/O; the other three are a few instructions wide.  Each round has its
//! own file, kept for the `fsck.toyfs -f` after the run; each file reads
//! back as its model after an `fdatasync`.

use crate::rng::Rng;
use crate::sys::{self, PAGE};
use crate::worker::{open, read_upto};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The file's bytes in its last block before it grows: one compressed
/// tail of four plain fragments.
const TAIL: usize = 2000;

/// Runs `rounds` size changes in `dir`; returns a summary.
pub fn run(dir: &str, rounds: u64) -> Result<String, String> {
    let mut rng = Rng::new(0x7a11);
    let stop = AtomicBool::new(false);
    // The round whose file the writeback thread writes back.
    let current = AtomicU64::new(0);
    let writebacks = AtomicU64::new(0);
    let path = |round: u64| format!("{dir}/tail-writeback-{round}");
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut round = u64::MAX;
            let mut file = None;
            while !stop.load(Ordering::Relaxed) {
                let now = current.load(Ordering::Acquire);
                if now != round {
                    round = now;
                    file = Some(open(&path(round))?);
                }
                if let Some(file) = &file {
                    sys::start_writeback(file)
                        .map_err(|err| format!("round {round}: sync_file_range: {err}"))?;
                    writebacks.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<(), String>(())
        });
        let result = (0..rounds).try_for_each(|round| {
            // The writeback thread opens the file too: it is created first.
            let file = open(&path(round))?;
            sys::set_inode_flags(&file, sys::FS_COMPR_FL)
                .map_err(|err| format!("round {round}: FS_IOC_SETFLAGS: {err}"))?;
            current.store(round, Ordering::Release);
            one_round(&file, &mut rng, round)
        });
        stop.store(true, Ordering::Relaxed);
        let written = writer
            .join()
            .unwrap_or(Err("the writeback thread panicked".into()));
        result.and(written)
    })?;
    Ok(format!(
        "{rounds} last blocks of compressed files resized, {} writebacks started meanwhile; \
         every file reads as its model",
        writebacks.load(Ordering::Relaxed)
    ))
}

/// One round on `file` (new, compressed): written and synced, so that its
/// last block is compressed on the disk, then resized as `round % 4`
/// says, synced again and read back.
fn one_round(file: &std::fs::File, rng: &mut Rng, round: u64) -> Result<(), String> {
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
    file.write_all_at(&model, 0)
        .and_then(|()| file.sync_data())
        .map_err(|err| failed("write and fdatasync", err))?;
    let resized = match round % 4 {
        0 => {
            let len = 1 << 20;
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
