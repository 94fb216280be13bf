// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress extend-fault DIR ROUNDS`: a store through a shared
//! mapping into a file's last block, a hole, racing with a write that
//! extends the file past that block (or further into it), on an image
//! with fragments.
//!
//! The file is cut to nothing and grown by `ftruncate` to a size inside
//! a block: its last block is a hole.  One thread stores a byte into
//! that block through a shared mapping (the fault allocates the hole,
//! `page_mkwrite`, with the fragments the size it reads needs there);
//! the other writes past the old end at the same time.  A fault that
//! allocated the block by the old size after the write had fitted the
//! last block to the new size, and before the size grew, left a dirty
//! block in a run too short for the bytes the new size gives it: the
//! next writeback failed with `EUCLEAN` ("dirty block in a run too short
//! for its bytes"), and the `msync` of a correct program with it (the
//! torture's `churn`, base kernel, 2026-12-07).  Every round's `msync`
//! must succeed and the file read as its model (zeros but the stored
//! byte and the written bytes); the last file is read again from the
//! disk, and fsck.toyfs runs after (the caller).
//!
//! The two threads start each round together, each after a random
//! delay of up to about the time a store's fault and the write take,
//! so that the fault sweeps the write's window.  Rounds whose store and
//! write overlapped in time are counted: on more than one CPU there must
//! be some, or the run tested nothing.

use crate::mapping::Mapping;
use crate::sys::PAGE;
use crate::worker::{drop_caches, open, read_upto};
use seeded_rng::Rng;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The largest old size: its last block lies in one of the first pages.
const OLD_PAGES: u64 = 4;
/// Length of the mapping: the file never grows past it.
const MAP_LEN: usize = 16 * PAGE as usize;
/// The stored byte (never written by the write, whose bytes are below
/// it).
const MARK: u8 = 0xfe;

/// What the storing thread is told of a round and tells back.
struct Shared {
    /// The round under way, plus one; 0 before the first.
    round: AtomicU64,
    /// Where the round's store goes, and its delay in nanoseconds.
    store_at: AtomicU64,
    store_delay: AtomicU64,
    /// The round the storer finished last, plus one.
    stored: AtomicU64,
    /// When its store started and ended, in nanoseconds from `epoch`.
    store_start: AtomicU64,
    store_end: AtomicU64,
    stop: AtomicBool,
}

/// Nanoseconds since `epoch`.
fn since(epoch: Instant) -> u64 {
    epoch.elapsed().as_nanos() as u64
}

/// Spins until `epoch` + `at` nanoseconds.
fn spin_until(epoch: Instant, at: u64) {
    let deadline = epoch + Duration::from_nanos(at);
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Runs `rounds` races in `dir`; returns a summary.
pub fn run(dir: &str, rounds: u64) -> Result<String, String> {
    let path = format!("{dir}/extend-fault");
    let file = open(&path)?;
    let map = Mapping::new(&file, MAP_LEN).map_err(|err| format!("mmap {path}: {err}"))?;
    let shared = Shared {
        round: AtomicU64::new(0),
        store_at: AtomicU64::new(0),
        store_delay: AtomicU64::new(0),
        stored: AtomicU64::new(0),
        store_start: AtomicU64::new(0),
        store_end: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    let epoch = Instant::now();
    std::thread::scope(|scope| {
        let storer = scope.spawn(|| {
            let mut done = 0;
            while !shared.stop.load(Ordering::Acquire) {
                let round = shared.round.load(Ordering::Acquire);
                if round == done {
                    std::hint::spin_loop();
                    continue;
                }
                let start = since(epoch);
                spin_until(epoch, start + shared.store_delay.load(Ordering::Relaxed));
                let at = shared.store_at.load(Ordering::Relaxed) as usize;
                shared.store_start.store(since(epoch), Ordering::Relaxed);
                map.store(at, &[MARK]);
                shared.store_end.store(since(epoch), Ordering::Relaxed);
                done = round;
                shared.stored.store(done, Ordering::Release);
            }
        });
        let result = rounds_of(&file, &map, &shared, epoch, rounds);
        shared.stop.store(true, Ordering::Release);
        let joined = storer.join();
        match (result, joined) {
            (Err(err), _) => Err(err),
            (Ok(_), Err(_)) => Err("the storing thread panicked".into()),
            (Ok(summary), Ok(())) => Ok(summary),
        }
    })
}

/// The writing thread's side of `rounds` rounds; returns the summary.
fn rounds_of(
    file: &std::fs::File,
    map: &Mapping,
    shared: &Shared,
    epoch: Instant,
    rounds: u64,
) -> Result<String, String> {
    let mut rng = Rng::new(0xe7fa);
    // About how long a store's fault and a write take (averages, which
    // a preempted thread moves little): the range of the delays.
    let (mut fault_ns, mut write_ns) = (1_000u64, 1_000u64);
    let mut overlapped = 0u64;
    let mut model = Vec::new();
    for round in 0..rounds {
        let failed = |what: &str, err: std::io::Error| format!("round {round}: {what}: {err}");
        // The old size ends inside a block (of any size up to a page);
        // the store goes below it, into the page of its last block.
        let page = rng.below(OLD_PAGES);
        let old = page * PAGE + 1 + rng.below(PAGE - 1);
        let store_at = page * PAGE + rng.below(old - page * PAGE);
        // The write starts past the old end: in a later page mostly,
        // else in the old end's page (and block, with blocks of a page).
        let at = if rng.one_in(4) {
            old + rng.below((page + 1) * PAGE - old)
        } else {
            (page + 1) * PAGE + rng.below(2 * PAGE)
        };
        let len = 1 + rng.below(3000);
        let bytes: Vec<u8> = (0..len).map(|i| (round + i) as u8 % MARK).collect();
        file.set_len(0)
            .and_then(|()| file.set_len(old))
            .map_err(|err| failed(&format!("truncate to {old}"), err))?;
        model.clear();
        model.resize(old as usize, 0);
        model[store_at as usize] = MARK;
        let end = (at + len) as usize;
        model.resize(model.len().max(end), 0);
        model[at as usize..end].copy_from_slice(&bytes);

        let span = fault_ns.max(write_ns);
        let write_delay = rng.below(span);
        shared.store_at.store(store_at, Ordering::Relaxed);
        shared
            .store_delay
            .store(rng.below(span + span / 2), Ordering::Relaxed);
        let start = since(epoch);
        shared.round.store(round + 1, Ordering::Release);
        spin_until(epoch, start + write_delay);
        let write_start = since(epoch);
        let written = file.write_all_at(&bytes, at);
        let write_end = since(epoch);
        while shared.stored.load(Ordering::Acquire) != round + 1 {
            std::hint::spin_loop();
        }
        written.map_err(|err| failed(&format!("write of {len} bytes at {at}"), err))?;
        let (store_start, store_end) = (
            shared.store_start.load(Ordering::Relaxed),
            shared.store_end.load(Ordering::Relaxed),
        );
        fault_ns = (7 * fault_ns + (store_end - store_start)) / 8;
        write_ns = (7 * write_ns + (write_end - write_start)) / 8;
        if store_start < write_end && write_start < store_end {
            overlapped += 1;
        }
        map.sync().map_err(|err| {
            failed(
                &format!(
                    "msync after a store at {store_at} (file of {old} bytes, last block a \
                     hole) raced with a write of {len} bytes at {at}"
                ),
                err,
            )
        })?;
        let read = read_upto(file, 0, model.len() + 1).map_err(|err| failed("read", err))?;
        if read != model {
            return Err(differs(round, "read", &read, &model));
        }
    }
    drop_caches()?;
    let read =
        read_upto(file, 0, model.len() + 1).map_err(|err| format!("read from the disk: {err}"))?;
    if read != model {
        return Err(differs(rounds - 1, "read from the disk", &read, &model));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus > 1 && overlapped == 0 {
        return Err(format!(
            "no store overlapped a write in {rounds} rounds on {cpus} CPUs: nothing was raced"
        ));
    }
    Ok(format!(
        "{rounds} stores into a hole at the end of the file raced with writes extending it \
         ({overlapped} overlapped in time); every msync succeeded and every file read as its \
         model"
    ))
}

/// The message of a file that does not read as its model.
fn differs(round: u64, how: &str, read: &[u8], model: &[u8]) -> String {
    let at = read
        .iter()
        .zip(model)
        .position(|(got, want)| got != want)
        .unwrap_or(read.len().min(model.len()));
    format!(
        "round {round}: {how}: {} bytes, differing from the model of {} bytes at byte {at}",
        read.len(),
        model.len()
    )
}
