// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress full`: several threads on files of their own on a small
//! image, so that `ENOSPC` is frequent, each file against a model.
//!
//! Each thread keeps `FILES` files of its own, first filled in turns by
//! appends of 32 KiB until the image is full (an append that meets
//! `ENOSPC`), and then does, at random, writes
//! (inside the file and past its end, random or compressible bytes),
//! truncations (down, into the last block, up), punched holes, reads
//! (checked against the model), `fsync`, `fdatasync`, a writeback started
//! with `sync_file_range`, the file's clean pages dropped
//! (`POSIX_FADV_DONTNEED`: the next read is from the disk), appends of 32
//! KiB to a file until `ENOSPC` (the image full again after what the
//! others freed), and unlinks (the file made again, empty).  toyfs allocates in the call that dirties
//! a block and writeback never needs room (Documentation/toyfs.rst,
//! "Compression"), so:
//!
//! - a write stores what it returns (a short count on `ENOSPC`), and its
//!   `ENOSPC` stores nothing; a truncation's or a punch's `ENOSPC`
//!   changes nothing; any other error, and any error of `fsync`, fails;
//! - after the threads: every file read whole against its model, `sync`,
//!   unmount, `fsck` (clean), mount, and every file again from the disk
//!   (a file `fsync`ed and not changed since is named so in a failure);
//! - then every file unlinked, `sync`: the fragments (or blocks) `statfs`
//!   counts in use must be what `fsck -v` counts after the unmount (a
//!   run held for the map on the disk, `InodeInfo::deferred`, and never
//!   given back would be missing from `f_bfree`), and fsck clean.
//!
//! The run fails if no call met `ENOSPC` (the image never filled).
//!
//! The seed picks every operation; the threads' interleaving, and so which
//! call meets `ENOSPC`, cannot be replayed exactly.

use crate::threads::join_all;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use seeded_rng::Rng;

use crate::model::FileModel;
use crate::sys;

/// Files per thread.
const FILES: usize = 6;
/// The largest size a file is given.
const MAX_SIZE: u64 = 384 * 1024;
/// The largest write.
const MAX_WRITE: u64 = 48 * 1024;
/// `ENOSPC`.
const ENOSPC: i32 = 28;
/// The appends that fill the image first.
const FILL: u64 = 32 * 1024;

/// One file of a thread.
struct Slot {
    path: String,
    file: File,
    model: FileModel,
    /// `fsync`ed (or `fdatasync`ed) and not changed since.
    synced: bool,
}

/// Counts of calls: made, failed with `ENOSPC`.
#[derive(Default, Clone, Copy)]
struct Count {
    calls: u64,
    enospc: u64,
}

/// What one thread does and knows.
struct Thread<'a> {
    index: usize,
    root: &'a str,
    compress: bool,
    rng: Rng,
    slots: Vec<Option<Slot>>,
    /// The name of each slot's next file.
    generation: u64,
    log: VecDeque<String>,
    /// write, truncate, punch, create, other.
    counts: [Count; 5],
}

fn is_enospc(err: &io::Error) -> bool {
    err.raw_os_error() == Some(ENOSPC)
}

impl Thread<'_> {
    fn note(&mut self, line: String) {
        if self.log.len() == 32 {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Makes every file and appends 32 KiB to each in turn until an
    /// append meets `ENOSPC` (or is short), or the files are `MAX_SIZE`.
    fn fill(&mut self) -> Result<(), String> {
        for k in 0..FILES {
            self.create(k)?;
        }
        for _ in 0..MAX_SIZE / FILL {
            for k in 0..FILES {
                let Some(mut slot) = self.slots[k].take() else {
                    continue;
                };
                let compressible = self.rng.one_in(2);
                let data = self.rng.data(FILL as usize, compressible);
                let offset = slot.model.size();
                let result = slot.file.write_at(&data, offset);
                let what = format!("{}: fill {FILL} at {offset}", slot.path);
                let full = !self.counted(0, &what, &result)?;
                let done = result.unwrap_or(0);
                slot.model.write(offset, &data[..done]);
                self.slots[k] = Some(slot);
                if full || done < FILL as usize {
                    self.note(format!("{what}: {done}, the image is full"));
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Counts a call of kind `kind`; `Ok(false)` for `ENOSPC`, an error
    /// for any other failure.
    fn counted<T>(
        &mut self,
        kind: usize,
        what: &str,
        result: &io::Result<T>,
    ) -> Result<bool, String> {
        self.counts[kind].calls += 1;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_enospc(err) => {
                self.counts[kind].enospc += 1;
                self.note(format!("{what}: ENOSPC"));
                Ok(false)
            }
            Err(err) => Err(format!("{what}: {err}")),
        }
    }

    /// Makes the file of slot `k` (empty); `ENOSPC` leaves the slot empty.
    fn create(&mut self, k: usize) -> Result<(), String> {
        self.generation += 1;
        let path = format!("{}/t{}-{k}.{}", self.root, self.index, self.generation);
        let result = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path);
        let what = format!("create {path}");
        if !self.counted(3, &what, &result)? {
            return Ok(());
        }
        let file = result.map_err(|err| format!("{path}: {err}"))?;
        if self.compress {
            let flags =
                sys::inode_flags(&file).map_err(|err| format!("{path}: FS_IOC_GETFLAGS: {err}"))?;
            sys::set_inode_flags(&file, flags | sys::FS_COMPR_FL)
                .map_err(|err| format!("{path}: chattr +c: {err}"))?;
        }
        self.note(what);
        self.slots[k] = Some(Slot {
            path,
            file,
            model: FileModel::new(sys::PAGE, false, sys::PAGE),
            synced: false,
        });
        Ok(())
    }

    /// One random operation.
    fn op(&mut self) -> Result<(), String> {
        let k = self.rng.below(FILES as u64) as usize;
        let Some(mut slot) = self.slots[k].take() else {
            return self.create(k);
        };
        let result = self.op_on(&mut slot);
        match result {
            Ok(true) => self.slots[k] = Some(slot),
            Ok(false) => {
                // Unlinked: made again.
                drop(slot);
                self.create(k)?;
            }
            Err(err) => {
                let state = if slot.synced {
                    "fsynced and unchanged since"
                } else {
                    "changed since its last fsync"
                };
                return Err(format!(
                    "{}: {err} ({state}, size {})",
                    slot.path,
                    slot.model.size()
                ));
            }
        }
        Ok(())
    }

    /// An operation on `slot`; `Ok(false)` if it unlinked the file.
    fn op_on(&mut self, slot: &mut Slot) -> Result<bool, String> {
        let size = slot.model.size();
        let choice = self.rng.below(100);
        match choice {
            0..=34 => {
                // A write: inside the file, at its end or past it.
                let offset = match self.rng.below(3) {
                    0 => self.rng.below(size.max(1)),
                    1 => size,
                    _ => size + self.rng.below(3 * sys::PAGE),
                }
                .min(MAX_SIZE - 1);
                let len = (1 + self.rng.below(MAX_WRITE)).min(MAX_SIZE - offset);
                let compressible = self.rng.one_in(2);
                let data = self.rng.data(len as usize, compressible);
                let result = slot.file.write_at(&data, offset);
                let what = format!("write {len} at {offset}");
                if self.counted(0, &what, &result)? {
                    let done = result.unwrap_or(0);
                    self.note(format!("{what}: {done}"));
                    if done > 0 {
                        slot.model.write(offset, &data[..done]);
                        slot.synced = false;
                    }
                }
            }
            35..=46 => {
                let to = match self.rng.below(3) {
                    0 => self.rng.below(size + 1),
                    1 => size.saturating_sub(1 + self.rng.below(sys::PAGE)),
                    _ => size + self.rng.below(16 * 1024),
                }
                .min(MAX_SIZE);
                let result = slot.file.set_len(to);
                let what = format!("truncate {size} to {to}");
                if self.counted(1, &what, &result)? {
                    self.note(what);
                    slot.model.truncate(to);
                    slot.synced = false;
                }
            }
            47..=56 => {
                let offset = self.rng.below(size + sys::PAGE);
                let len = 1 + self.rng.below(64 * 1024);
                let mode = sys::FALLOC_FL_PUNCH_HOLE | sys::FALLOC_FL_KEEP_SIZE;
                let result = sys::fallocate(&slot.file, mode, offset, len);
                let what = format!("punch {len} at {offset}");
                if self.counted(2, &what, &result)? {
                    self.note(what);
                    slot.model.punch_hole(offset, len);
                    slot.synced = false;
                }
            }
            57..=74 => {
                let offset = self.rng.below(size + 100);
                let len = 1 + self.rng.below(64 * 1024);
                let mut buf = vec![0u8; len as usize];
                let got = read_full(&slot.file, &mut buf, offset)
                    .map_err(|err| format!("read {len} at {offset}: {err}"))?;
                self.note(format!("read {len} at {offset}: {got}"));
                slot.model
                    .compare(offset, &buf[..got])
                    .map_err(|err| format!("read {len} at {offset}: {err}"))?;
            }
            75..=82 => {
                let data = self.rng.one_in(2);
                let result = if data {
                    slot.file.sync_data()
                } else {
                    slot.file.sync_all()
                };
                let what = if data { "fdatasync" } else { "fsync" };
                self.counts[4].calls += 1;
                result.map_err(|err| format!("{what}: {err}"))?;
                self.note(what.into());
                slot.synced = true;
            }
            83..=88 => {
                self.counts[4].calls += 1;
                sys::start_writeback(&slot.file)
                    .map_err(|err| format!("sync_file_range: {err}"))?;
                self.note("sync_file_range".into());
            }
            89..=93 => {
                // The image full again: appends until ENOSPC.
                let mut appended = 0;
                while slot.model.size() + FILL <= MAX_SIZE {
                    let compressible = self.rng.one_in(2);
                    let data = self.rng.data(FILL as usize, compressible);
                    let offset = slot.model.size();
                    let result = slot.file.write_at(&data, offset);
                    let what = format!("append {FILL} at {offset}");
                    let full = !self.counted(0, &what, &result)?;
                    let done = result.unwrap_or(0);
                    slot.model.write(offset, &data[..done]);
                    appended += done;
                    if full || done < FILL as usize {
                        break;
                    }
                }
                self.note(format!("appended {appended} until ENOSPC"));
                slot.synced &= appended == 0;
            }
            94..=96 => {
                self.counts[4].calls += 1;
                sys::evict(&slot.file).map_err(|err| format!("fadvise DONTNEED: {err}"))?;
                self.note("fadvise DONTNEED".into());
            }
            _ => {
                self.counts[4].calls += 1;
                fs::remove_file(&slot.path).map_err(|err| format!("unlink: {err}"))?;
                self.note(format!("unlink {}", slot.path));
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `pread` until `buf` is full or the end of the file.
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = file.read_at(&mut buf[got..], offset + got as u64)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Reads the file at `path` whole and compares it with `model`.
fn check_file(path: &str, model: &FileModel, synced: bool) -> Result<(), String> {
    let state = if synced {
        "fsynced and unchanged since"
    } else {
        "changed since its last fsync"
    };
    let got = fs::read(path).map_err(|err| format!("{path} ({state}): {err}"))?;
    model
        .compare(0, &got)
        .and_then(|()| {
            if got.len() as u64 == model.size() {
                Ok(())
            } else {
                Err(format!("{} bytes, expected {}", got.len(), model.size()))
            }
        })
        .map_err(|err| format!("{path} ({state}): {err}"))
}

/// `statfs` of `dir`: the fragments (or blocks) in all and free.
fn fragments(dir: &str) -> Result<(u64, u64), String> {
    let file = File::open(dir).map_err(|err| format!("{dir}: {err}"))?;
    sys::fragment_counts(&file).map_err(|err| format!("statfs {dir}: {err}"))
}

/// Runs `line`; its output, or an error with it.
fn output(line: &[&str]) -> Result<String, String> {
    let out = Command::new(line[0])
        .args(&line[1..])
        .output()
        .map_err(|err| format!("{line:?}: {err}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{line:?}: {}\n{text}", out.status))
    }
}

/// `fsck -v`'s count of fragments (or blocks) in use and in all, from its
/// line "DEV: I/N inodes (...), USED/TOTAL fragments".
fn fsck_in_use(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|line| line.contains(" inodes ("))?;
    let tail = line.rsplit("), ").next()?;
    let counts = tail.split_whitespace().next()?;
    let (used, total) = counts.split_once('/')?;
    Some((used.parse().ok()?, total.parse().ok()?))
}

/// The run; returns the summary line.
pub fn run(
    threads: usize,
    seed: u64,
    seconds: u64,
    dir: &str,
    device: &str,
    fsck: &str,
    compress: bool,
) -> Result<String, String> {
    let root = format!("{dir}/full");
    fs::create_dir_all(&root).map_err(|err| format!("mkdir {root}: {err}"))?;
    let (total, free_before) = fragments(dir)?;
    println!(
        "full: seed {seed}, {threads} threads x {FILES} files, {seconds} s, under {root}; {free_before} of {total} fragments free"
    );
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    type Done = Result<(Vec<(String, FileModel, bool)>, String, u64), String>;
    let results: Vec<Done> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let (root, stop) = (&root, &stop);
                scope.spawn(move || -> Done {
                    let mut thread = Thread {
                        index,
                        root,
                        compress,
                        rng: Rng::for_thread(seed, index),
                        slots: (0..FILES).map(|_| None).collect(),
                        generation: 0,
                        log: VecDeque::new(),
                        counts: [Count::default(); 5],
                    };
                    let mut ops = 0u64;
                    if let Err(err) = thread.fill() {
                        stop.store(true, Ordering::Relaxed);
                        return Err(format!("thread {index} (seed {seed}), filling: {err}"));
                    }
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        ops += 1;
                        if let Err(err) = thread.op() {
                            stop.store(true, Ordering::Relaxed);
                            let log: Vec<_> = thread.log.into_iter().collect();
                            return Err(format!(
                                "thread {index} (seed {seed}), operation {ops}: {err}\nits last operations:\n{}",
                                log.join("\n")
                            ));
                        }
                    }
                    let names = ["write", "truncate", "punch", "create", "other"];
                    let counts: Vec<_> = names
                        .iter()
                        .zip(thread.counts)
                        .map(|(name, count)| format!("{name} {} ({} ENOSPC)", count.calls, count.enospc))
                        .collect();
                    let line = format!("thread {index}: {ops} operations: {}", counts.join(", "));
                    let enospc = thread.counts.iter().map(|count| count.enospc).sum::<u64>();
                    let mut files = Vec::new();
                    for slot in thread.slots.into_iter().flatten() {
                        check_file(&slot.path, &slot.model, slot.synced)?;
                        files.push((slot.path, slot.model, slot.synced));
                    }
                    Ok((files, line, enospc))
                })
            })
            .collect();
        join_all(handles)
    });
    let mut files = Vec::new();
    let mut failure = None;
    let mut enospc = 0;
    for result in results {
        match result {
            Ok((mine, line, count)) => {
                println!("full: {line}");
                files.extend(mine);
                enospc += count;
            }
            Err(err) => failure = failure.or(Some(err)),
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if enospc == 0 {
        return Err("no call met ENOSPC: the image never filled".into());
    }
    let (_, free_full) = fragments(dir)?;
    let synced = files.iter().filter(|(_, _, synced)| *synced).count();
    println!(
        "full: {} files checked ({synced} fsynced and unchanged since), {free_full} fragments free",
        files.len()
    );
    let mut fsck_line: Vec<&str> = fsck.split_whitespace().collect();
    fsck_line.push(device);
    sys::sync_filesystems();
    output(&["umount", dir])?;
    output(&fsck_line)?;
    output(&["mount", "-t", "toyfs", device, dir])?;
    for (path, model, synced) in &files {
        check_file(path, model, *synced).map_err(|err| format!("after the remount: {err}"))?;
    }
    for (path, _, _) in &files {
        fs::remove_file(path).map_err(|err| format!("unlink {path}: {err}"))?;
    }
    sys::sync_filesystems();
    let (_, free_after) = fragments(dir)?;
    output(&["umount", dir])?;
    fsck_line.insert(1, "-v");
    let text = output(&fsck_line)?;
    let (used, fsck_total) = fsck_in_use(&text).ok_or(format!("no count of fsck -v:\n{text}"))?;
    if fsck_total != total || used + free_after != total {
        return Err(format!(
            "every file deleted: statfs says {} of {total} in use, fsck {used} of {fsck_total}\n{text}",
            total - free_after
        ));
    }
    output(&["mount", "-t", "toyfs", device, dir])?;
    Ok(format!(
        "full: {enospc} calls met ENOSPC; {} files checked after the remount, then deleted: {free_after} fragments free ({free_before} before), as fsck counts",
        files.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsck_counts_are_read() {
        let text = "/dev/loop0: 3/128 inodes (1 file, 2 directories), 81/4096 fragments\n/dev/loop0: clean\n";
        assert_eq!(fsck_in_use(text), Some((81, 4096)));
        assert_eq!(fsck_in_use("/dev/loop0: clean\n"), None);
    }

    #[test]
    fn threads_on_the_host_keep_their_models() {
        let dir = std::env::temp_dir().join(format!("full-run-{}", std::process::id()));
        let root = format!("{}/full", dir.to_str().unwrap());
        fs::create_dir_all(&root).unwrap();
        let stop = Instant::now() + Duration::from_millis(300);
        let mut thread = Thread {
            index: 0,
            root: &root,
            compress: false,
            rng: Rng::new(5),
            slots: (0..FILES).map(|_| None).collect(),
            generation: 0,
            log: VecDeque::new(),
            counts: [Count::default(); 5],
        };
        thread.fill().unwrap();
        while Instant::now() < stop {
            thread.op().unwrap();
        }
        for slot in thread.slots.iter().flatten() {
            check_file(&slot.path, &slot.model, slot.synced).unwrap();
        }
        assert!(thread.counts[0].calls > 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
