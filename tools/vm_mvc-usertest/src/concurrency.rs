// SPDX-License-Identifier: GPL-2.0
//! Case 4 of issue 6: threads doing read, write, truncate and mmap on the
//! same files while other threads call vm_mvc on them through the test
//! device, with random commands, pages, offsets and counts.  Nothing is
//! checked about the bytes of these files (every thread changes them); what
//! is checked is that every call returns success or a documented errno,
//! that the kernel reports nothing (the console is judged by
//! scripts/results.py), and that pins and sids are back to the baseline.
//! A model-checked tester (toyfs-stress, on files of its own) may run
//! alongside as COMMAND: its exit status is part of the result.

use crate::counters::Counters;
use crate::device::{MvcArgs, TestDev, PROTZERO, READ, WRITE, ZERO};
use crate::rng::Rng;
use crate::sys::{errno::*, Mapping, Prot, PAGE_SIZE};
use crate::{errno_name, Outcome};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Files shared by all threads.
const FILES: usize = 3;
/// Files never shrink below this, so that the mapped first pages always
/// lie inside the file (a store past the end would be SIGBUS).
const MIN_SIZE: u64 = 2 * PAGE_SIZE as u64;
/// Nor grow past this.
const MAX_SIZE: u64 = 64 * 1024;
/// Threads of each kind.
const THREADS: usize = 2;

/// What all threads share.
struct Shared {
    paths: Vec<String>,
    stop: AtomicBool,
    ops: AtomicU64,
    calls: AtomicU64,
}

fn open_all(paths: &[String]) -> Result<Vec<File>, String> {
    paths
        .iter()
        .map(|path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| format!("{path}: {e}"))
        })
        .collect()
}

/// read, write, truncate, mmap and fsync, each of which must succeed.
fn file_thread(shared: &Shared, seed: u64) -> Outcome {
    let files = open_all(&shared.paths)?;
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; 6000];
    while !shared.stop.load(Ordering::Relaxed) {
        let file = &files[rng.index(FILES)];
        let len = 1 + rng.index(buf.len());
        let offset = rng.below(MAX_SIZE - len as u64);
        match rng.below(10) {
            0..=2 => {
                buf[..len].fill(rng.next_u64() as u8);
                file.write_all_at(&buf[..len], offset)
                    .map_err(|e| format!("write {len} at {offset}: {e}"))?
            }
            3..=4 => {
                file.read_at(&mut buf[..len], offset)
                    .map_err(|e| format!("read {len} at {offset}: {e}"))?;
            }
            5..=6 => {
                let size = MIN_SIZE + rng.below(MAX_SIZE - MIN_SIZE);
                file.set_len(size)
                    .map_err(|e| format!("truncate to {size}: {e}"))?
            }
            7..=8 => {
                let map = Mapping::shared(file, MIN_SIZE as usize, Prot::ReadWrite)
                    .map_err(|e| format!("mmap: {e}"))?;
                let at = rng.index(MIN_SIZE as usize - 64);
                map.store(at, &[rng.next_u64() as u8; 64]);
                map.load(rng.index(MIN_SIZE as usize - 512), 512);
            }
            _ => file.sync_all().map_err(|e| format!("fsync: {e}"))?,
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// A random vm_mvc call on one of the files; sids are deleted and
/// created again now and then, and stale or bad arguments are passed on
/// purpose, each with its own expected errno.
fn mvc_thread(shared: &Shared, seed: u64) -> Outcome {
    let files = open_all(&shared.paths)?;
    let dev = TestDev::open().map_err(|e| format!("open the device: {}", errno_name(e)))?;
    let mut sids = files
        .iter()
        .map(|file| {
            dev.create_sid(file)
                .map_err(|e| format!("sid create: {}", errno_name(e)))
        })
        .collect::<Result<Vec<i64>, String>>()?;
    // Buffers: anonymous memory, or the first pages of the shared files
    // themselves, so that pinning them faults into toyfs (page_mkwrite)
    // and a call may copy between a page and a mapping of that very page.
    let anonymous =
        Mapping::anonymous(2 * PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    let mut buffers = vec![anonymous];
    for file in &files {
        let mapping = Mapping::shared(file, MIN_SIZE as usize, Prot::ReadWrite);
        buffers.push(mapping.map_err(|e| format!("mmap: {e}"))?);
    }
    let mut rng = Rng::new(seed);
    let pages = MAX_SIZE as usize / PAGE_SIZE + 2;
    while !shared.stop.load(Ordering::Relaxed) {
        let index = rng.index(FILES);
        let cmd = [ZERO, READ, WRITE, PROTZERO][rng.index(4)];
        let pgoffs = rng.index(PAGE_SIZE);
        let count = rng.index(PAGE_SIZE - pgoffs + 1);
        let buffer = &buffers[if rng.below(4) == 0 {
            1 + rng.index(FILES)
        } else {
            0
        }];
        let at = rng.index(PAGE_SIZE);
        let args = MvcArgs::new(
            sids[index],
            rng.index(pages) as i64,
            pgoffs as i32,
            count as i32,
            cmd,
        )
        .with_buffer(buffer, at, PAGE_SIZE);
        // `None`: success, or a page that is not cached (or was truncated
        // while vm_mvc waited for its lock), or, for READ, not uptodate.
        let (args, fails_with) = match rng.below(50) {
            0 => {
                // A new sid for the file; the old one is stale.
                let stale = sids[index];
                dev.delete_sid(stale)
                    .map_err(|e| format!("sid delete: {}", errno_name(e)))?;
                sids[index] = dev
                    .create_sid(&files[index])
                    .map_err(|e| format!("sid create: {}", errno_name(e)))?;
                (MvcArgs { sid: stale, ..args }, Some(EBADF))
            }
            1 => (
                MvcArgs {
                    count: PAGE_SIZE as i32 + 1,
                    ..args
                },
                Some(EINVAL),
            ),
            2 => (MvcArgs { cmd: 0, ..args }, Some(EINVAL)),
            _ => (args, None),
        };
        match (fails_with, dev.mvc(args)) {
            (None, Ok(()) | Err(ENOENT | ENODATA)) => {}
            (Some(want), Err(got)) if got == want => {}
            (_, result) => {
                let got = result.map_or_else(errno_name, |()| "success".into());
                return Err(format!("{args:?}: {got}"));
            }
        }
        shared.calls.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Runs the threads on files in `dir`; see the file's comment.
pub fn run(dir: &str, seconds: u64, seed: u64, command: &[String]) -> Outcome {
    let before = Counters::now()?;
    let paths: Vec<String> = (0..FILES).map(|i| format!("{dir}/shared-{i}")).collect();
    for path in &paths {
        let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
        file.set_len(MIN_SIZE * 2).map_err(|e| e.to_string())?;
    }
    let shared = Shared {
        paths,
        stop: AtomicBool::new(false),
        ops: AtomicU64::new(0),
        calls: AtomicU64::new(0),
    };
    let mut child = match command.split_first() {
        Some((program, args)) => Some(
            Command::new(program)
                .args(args)
                .spawn()
                .map_err(|e| format!("{program}: {e}"))?,
        ),
        None => None,
    };
    let start = Instant::now();
    let (threads, child_status) = std::thread::scope(|scope| {
        let shared = &shared;
        let mut threads = Vec::new();
        for i in 0..THREADS as u64 {
            threads.push(scope.spawn(move || file_thread(shared, seed + i)));
            threads.push(scope.spawn(move || mvc_thread(shared, seed + 100 + i)));
        }
        // Until the command has ended and SECONDS have passed, or a
        // thread fails.
        let mut status = None;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if threads.iter().any(|t| t.is_finished()) {
                break;
            }
            if let (Some(child), None) = (child.as_mut(), &status) {
                match child.try_wait() {
                    Ok(Some(exit)) => status = Some(Ok(exit)),
                    Ok(None) => {}
                    Err(e) => status = Some(Err(e.to_string())),
                }
            }
            let command_done = child.is_none() || status.is_some();
            if command_done && start.elapsed() >= Duration::from_secs(seconds) {
                break;
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        let results: Vec<Outcome> = threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect();
        (results, status)
    });
    let child_status = match (child.as_mut(), child_status) {
        (Some(_), Some(status)) => Some(status?),
        // Stopped early by a failing thread: wait for the command anyway.
        (Some(child), None) => Some(child.wait().map_err(|e| e.to_string())?),
        (None, _) => None,
    };
    println!(
        "{:.1} s: {} file operations, {} vm_mvc calls by {} + {} threads",
        start.elapsed().as_secs_f64(),
        shared.ops.load(Ordering::Relaxed),
        shared.calls.load(Ordering::Relaxed),
        THREADS,
        THREADS
    );
    threads.into_iter().collect::<Outcome>()?;
    if let Some(status) = child_status {
        if !status.success() {
            return Err(format!("{}: {status}", command.join(" ")));
        }
    }
    // The files are toyfs's, which keeps a sid per cached inode: the live
    // count moves with its inode cache, so only the pins are compared (the
    // device's own sids are checked by the single-threaded cases).
    before.check_pins_balanced().map(|_| ())
}
