// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress mmap-fsync DIR SECONDS BOUND`: on a toyfs image with LZ4
//! (`mkfs.toyfs -c lz4`), two threads store into every page of a
//! compressed file of 1 MiB through a shared mapping, all the time,
//! while a third calls `fsync` on it over and over for `SECONDS`
//! seconds; each `fsync` must return within `BOUND` seconds.
//!
//! Each store into a page that writeback cleaned faults (`page_mkwrite`),
//! which gives the compressed block a plain run again, and writeback
//! compresses it into a new run: a run moved while `fsync` wrote the
//! moved blocks, so `fsync` wrote them again, round after round, holding
//! the inode lock (which keeps `write` and truncations out, but not a
//! store through a mapping) from its second round on, and never
//! returned while the stores went on (fsrev #2).  toyfs's `fsync` holds
//! the mapping's `invalidate_lock` from its third round on, which makes
//! the fault wait.  The storing threads run on another CPU (QEMU's two
//! vCPUs): on one CPU they store only while `fsync` sleeps.
//!
//! So that a livelocked `fsync` fails the run rather than hangs it, the
//! storing threads stop storing once an `fsync` has run for `BOUND`
//! seconds: that `fsync` then returns, and is reported with how long it
//! took.  Then the file must read by `read` as the mapping shows it; it
//! is kept for the caller's `fsck.toyfs -f`.

use crate::mapping::Mapping;
use crate::sys::{self, PAGE};
use crate::worker::{open, read_upto};
use seeded_rng::Rng;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The file's pages (1 MiB): enough blocks that an `fsync` round, which
/// writes them all, lasts long enough for a store to fault inside it.
const PAGES: usize = 256;

/// The storing threads, each on its own share of the pages: with the
/// `fsync` thread, more than the two vCPUs, so that one of them stores
/// whenever `fsync` runs.
const STORERS: usize = 2;

/// Runs `fsync` for `seconds` seconds beside the storing threads, in a new
/// compressed file in `dir`; returns a summary.
pub fn run(dir: &str, seconds: u64, bound: u64) -> Result<String, String> {
    let path = format!("{dir}/mmap-fsync");
    // A new, empty file, whose flag may change.
    match std::fs::remove_file(&path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("unlink {path}: {err}"))
        }
        _ => {}
    }
    let file = open(&path)?;
    sys::set_inode_flags(&file, sys::FS_COMPR_FL)
        .map_err(|err| format!("FS_IOC_SETFLAGS: {err}"))?;
    let len = PAGES * PAGE as usize;
    // Bytes that compress: each block is stored compressed by writeback,
    // and stays compressible under the stores below.
    let data = Rng::new(0x6d6d_6170).data(len, true);
    file.write_all_at(&data, 0)
        .and_then(|()| file.sync_all())
        .map_err(|err| format!("write and fsync: {err}"))?;
    let map = Mapping::new(&file, len).map_err(|err| format!("mmap: {err}"))?;
    let epoch = Instant::now();
    // When the `fsync` under way started (nanoseconds since `epoch`, plus
    // one), 0 between two.
    let started = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let gave_up = AtomicBool::new(false);
    let stores = AtomicU64::new(0);
    let bound = Duration::from_secs(bound);
    let (fsyncs, longest, slow) = std::thread::scope(|scope| {
        let storers: Vec<_> = (0..STORERS)
            .map(|storer| {
                let (map, stop, started, gave_up, stores) =
                    (&map, &stop, &started, &gave_up, &stores);
                scope.spawn(move || {
                    let mut value = 0u8;
                    let share = PAGES / STORERS;
                    while !stop.load(Ordering::Relaxed) {
                        let since = started.load(Ordering::Acquire);
                        if since != 0 && epoch.elapsed() > Duration::from_nanos(since - 1) + bound {
                            // Livelocked: let that `fsync` end, and fail.
                            gave_up.store(true, Ordering::Release);
                            return;
                        }
                        value = value.wrapping_add(1);
                        // One byte of each page, the same offset in each:
                        // a run of one byte value in the data stays one.
                        for page in storer * share..(storer + 1) * share {
                            map.store(page * PAGE as usize + 100, &[value]);
                        }
                        stores.fetch_add(share as u64, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let result = (|| {
            let mut fsyncs = 0u64;
            let mut longest = Duration::ZERO;
            let mut slow = 0u64;
            let deadline = epoch + Duration::from_secs(seconds);
            while Instant::now() < deadline && !gave_up.load(Ordering::Acquire) {
                let begin = Instant::now();
                // CAST: nanoseconds of a run far shorter than 584 years.
                started.store((begin - epoch).as_nanos() as u64 + 1, Ordering::Release);
                let synced = file.sync_all();
                started.store(0, Ordering::Release);
                let took = begin.elapsed();
                longest = longest.max(took);
                slow += u64::from(took > Duration::from_secs(1));
                synced.map_err(|err| format!("fsync {fsyncs}: {err}"))?;
                fsyncs += 1;
                if took > bound {
                    return Err(format!(
                        "fsync {fsyncs} took {:.1} s with a store through a shared \
                         mapping going on ({} stores): it returned only when the \
                         stores stopped",
                        took.as_secs_f64(),
                        stores.load(Ordering::Relaxed)
                    ));
                }
            }
            Ok((fsyncs, longest, slow))
        })();
        stop.store(true, Ordering::Relaxed);
        for storer in storers {
            storer
                .join()
                .map_err(|_| "a storing thread panicked".to_string())?;
        }
        result
    })?;
    if stores.load(Ordering::Relaxed) == 0 {
        return Err("the storing threads stored nothing".into());
    }
    map.sync().map_err(|err| format!("msync: {err}"))?;
    let shown = map.load(0, len);
    drop(map);
    let read = read_upto(&file, 0, len + 1).map_err(|err| format!("read: {err}"))?;
    if read != shown {
        return Err(format!(
            "the file reads {} bytes that differ from what its mapping showed",
            read.len()
        ));
    }
    Ok(format!(
        "{fsyncs} fsyncs of a compressed file in {seconds} s, {} stores through a shared \
         mapping beside them; the longest fsync {:.2} s (bound {} s), {slow} over 1 s",
        stores.load(Ordering::Relaxed),
        longest.as_secs_f64(),
        bound.as_secs()
    ))
}
