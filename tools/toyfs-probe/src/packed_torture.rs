// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe packed-torture MOUNT SOURCE SEED SECONDS`: fsx's way on
//! the packed files themselves (`mkfs.toyfs -p -d SOURCE`), not on new
//! files, with readers of the neighbours that share each one's tail
//! block.  The files of MOUNT whose last block shares its block on disk
//! with another file's (a packed tail, `FIEMAP_EXTENT_DATA_TAIL`, or a
//! compressed one, `FIEMAP_EXTENT_ENCODED`, at the same block) are grouped
//! by that block.  Each round takes a group and two of its files still
//! untouched; a writer thread for each changes its file from the tree's
//! bytes as its first change (one of: opened for writing, `truncate(2)`
//! into the tail or past it, written, opened with `O_TRUNC` and written,
//! stored into through a shared mapping), then makes random changes around
//! the tail (`pwrite`, `ftruncate`, `truncate(2)`, shared-mapping stores,
//! punched holes, `fsync`), checking the whole file by `read` and by a
//! mapping against its model now and then, and once in four unlinks it at
//! the end (the last tail to leave a tail block frees it); meanwhile two
//! reader threads read every other file of the group, by `read` and by a
//! mapping (the bytes past the end of the mapped last page must be zeros,
//! not a neighbour's), against what each must hold: the tail block is
//! shared, and a change of one file must never show in another.  The
//! caches are dropped every fourth round; rounds go on for SECONDS or
//! until no group has two untouched files.  At the end every file of
//! SOURCE reads in MOUNT as it must (an unlinked one is gone), from the
//! page cache and from the disk.  A failure names the round, the file,
//! the first wrong byte and the writer's last operations; the same SEED
//! picks the same groups, files and operations.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::{block_size, drop_caches, first_difference, sys, Check};
use seeded_rng::Rng;

/// Changes a writer makes to its file after its first one, each round.
const CHANGES: usize = 60;
/// Operations of a writer's log printed when it fails.
const LOG_TAIL: usize = 24;

/// 1 to `max` bytes: random, or runs of one byte (which LZ4 shrinks).
fn random_data(rng: &mut Rng, max: u64) -> Vec<u8> {
    let len = 1 + rng.below(max) as usize;
    let runs = rng.below(2) == 0;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        let byte = rng.below(256) as u8;
        let run = if runs { 1 + rng.below(64) as usize } else { 1 };
        data.resize((data.len() + run).min(len), byte);
    }
    data
}

/// The first wrong byte of `got` against `want`, or a size that differs.
fn difference(got: &[u8], want: &[u8]) -> Option<String> {
    first_difference(got, want).map(|at| match (got.get(at), want.get(at)) {
        (Some(g), Some(w)) => format!("byte {at} is {g:#04x}, must be {w:#04x}"),
        _ => format!("{} bytes, must be {}", got.len(), want.len()),
    })
}

/// `path` by `read(2)` and by a read-only shared mapping of its last page
/// too: the bytes must be `want`, and those past the end of the mapped
/// last page zeros.
fn check_file(path: &Path, want: &[u8], page: usize) -> Check {
    let what = |how: &str, e: String| format!("{} by {how}: {e}", path.display());
    let got = fs::read(path).map_err(|e| what("read", e.to_string()))?;
    if let Some(wrong) = difference(&got, want) {
        return Err(what("read", wrong));
    }
    if want.is_empty() {
        return Ok(());
    }
    let file = File::open(path).map_err(|e| what("open", e.to_string()))?;
    let mapped_len = want.len().div_ceil(page) * page;
    let map =
        sys::Mapping::read_only(&file, mapped_len).map_err(|e| what("mmap", e.to_string()))?;
    let mut expected = want.to_vec();
    expected.resize(mapped_len, 0);
    match difference(&map.load(0, mapped_len), &expected) {
        Some(wrong) => Err(what("mmap", wrong)),
        None => Ok(()),
    }
}

/// Every regular file below `source`, by its path relative to it.
fn tree(source: &Path, below: &Path, files: &mut Vec<PathBuf>) -> Check {
    let dir = source.join(below);
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = below.join(entry.file_name());
        if kind.is_dir() {
            tree(source, &name, files)?;
        } else if kind.is_file() {
            files.push(name);
        }
    }
    Ok(())
}

/// The block on disk of `path`'s last block if it is a packed tail or a
/// compressed block (stored at a byte offset of a block others share).
fn shared_last_block(path: &Path, b: u64) -> Result<Option<u64>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let extents = sys::fiemap(&file).map_err(|e| format!("FIEMAP {}: {e}", path.display()))?;
    let tail_flags = sys::FIEMAP_EXTENT_DATA_TAIL | sys::FIEMAP_EXTENT_ENCODED;
    Ok(extents
        .last()
        .filter(|&&(_, _, _, flags)| flags & tail_flags != 0)
        .map(|&(_, physical, _, _)| physical / b))
}

/// One writer's file and what it did, for a failure's report.
struct Writer {
    path: PathBuf,
    model: Vec<u8>,
    log: Vec<String>,
    /// Unlinked at the end of its round.
    removed: bool,
}

impl Writer {
    /// A size near the tail: from the block before the last one to two
    /// blocks past the end.
    fn size_near_tail(&self, rng: &mut Rng, b: u64) -> u64 {
        let size = self.model.len() as u64;
        let from = (size / b * b).saturating_sub(b);
        from + rng.below(size + 2 * b - from + 1)
    }

    fn resize(&mut self, size: u64) {
        self.model.resize(size as usize, 0);
    }

    fn io(&self, what: &str) -> impl Fn(std::io::Error) -> String + '_ {
        let what = what.to_string();
        move |e| format!("{}: {what}: {e}", self.path.display())
    }

    fn write_at(&mut self, file: &File, offset: u64, data: &[u8]) -> Check {
        file.write_all_at(data, offset).map_err(self.io("pwrite"))?;
        let end = offset as usize + data.len();
        if end > self.model.len() {
            self.model.resize(end, 0);
        }
        self.model[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    fn store(&mut self, file: &File, offset: usize, data: &[u8], sync: bool) -> Check {
        let map = sys::Mapping::new(file, self.model.len()).map_err(self.io("mmap"))?;
        map.store(offset, data);
        if sync {
            map.sync().map_err(self.io("msync"))?;
        }
        self.model[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// The first change of the file, still packed: how it leaves its
    /// tail block.
    fn first_change(&mut self, rng: &mut Rng, b: u64) -> Check {
        let size = self.model.len() as u64;
        match rng.below(6) {
            0 => {
                self.log.push("open for writing, close".into());
                OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .map_err(self.io("open"))?;
            }
            1 | 2 => {
                // Into the tail (a plain one stays packed, shorter), or
                // past its block.
                let to = if rng.below(2) == 0 {
                    size / b * b + rng.below(size % b + 1)
                } else {
                    size + 1 + rng.below(2 * b)
                };
                self.log.push(format!("truncate(2) {size} -> {to}"));
                sys::truncate_path(&self.path, to).map_err(self.io("truncate(2)"))?;
                self.resize(to);
            }
            3 => {
                let file = self.open()?;
                let offset = self.size_near_tail(rng, b);
                let data = random_data(rng, b);
                self.log.push(format!("pwrite {offset} +{}", data.len()));
                self.write_at(&file, offset, &data)?;
            }
            4 => {
                let data = random_data(rng, 2 * b);
                self.log
                    .push(format!("open with O_TRUNC, write +{}", data.len()));
                let file = OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(self.io("open with O_TRUNC"))?;
                self.model.clear();
                self.write_at(&file, 0, &data)?;
            }
            _ => {
                let file = self.open()?;
                let offset = rng.below(size) as usize;
                let data = random_data(rng, size - offset as u64);
                self.log
                    .push(format!("mmap store {offset} +{}", data.len()));
                self.store(&file, offset, &data, true)?;
            }
        }
        Ok(())
    }

    fn open(&self) -> Result<File, String> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(self.io("open"))
    }

    /// One random change, or a check of the whole file.
    fn change(&mut self, file: &File, rng: &mut Rng, b: u64, page: usize) -> Check {
        let size = self.model.len() as u64;
        match rng.below(10) {
            0..=2 => {
                let offset = self.size_near_tail(rng, b);
                let data = random_data(rng, b);
                self.log.push(format!("pwrite {offset} +{}", data.len()));
                self.write_at(file, offset, &data)?;
            }
            3 => {
                let to = self.size_near_tail(rng, b);
                self.log.push(format!("ftruncate {size} -> {to}"));
                file.set_len(to).map_err(self.io("ftruncate"))?;
                self.resize(to);
            }
            4 => {
                let to = self.size_near_tail(rng, b);
                self.log.push(format!("truncate(2) {size} -> {to}"));
                sys::truncate_path(&self.path, to).map_err(self.io("truncate(2)"))?;
                self.resize(to);
            }
            5 if size > 0 => {
                let offset = (size.saturating_sub(2 * b) + rng.below(2 * b.min(size))) as usize;
                let offset = offset.min(size as usize - 1);
                let data = random_data(rng, (size - offset as u64).min(b));
                let sync = rng.below(2) == 0;
                self.log
                    .push(format!("mmap store {offset} +{} sync {sync}", data.len()));
                self.store(file, offset, &data, sync)?;
            }
            6 if size > 0 => {
                let offset = self.size_near_tail(rng, b).min(size - 1);
                let len = (1 + rng.below(b)).min(size - offset);
                self.log.push(format!("punch hole {offset} +{len}"));
                sys::fallocate_file(file, sys::PUNCH_HOLE | sys::KEEP_SIZE, offset, len)
                    .map_err(self.io("punch hole"))?;
                self.model[offset as usize..(offset + len) as usize].fill(0);
            }
            7 => {
                self.log.push("fsync".into());
                file.sync_all().map_err(self.io("fsync"))?;
            }
            _ => {
                self.log.push("check by read and mmap".into());
                check_file(&self.path, &self.model, page)?;
            }
        }
        Ok(())
    }

    /// The first change, then [`CHANGES`] more, then the whole file
    /// checked.
    fn run(&mut self, rng: &mut Rng, b: u64, page: usize) -> Check {
        self.first_change(rng, b)?;
        let file = self.open()?;
        for _ in 0..CHANGES {
            self.change(&file, rng, b, page)?;
        }
        check_file(&self.path, &self.model, page)?;
        // Once in four, the file goes: the last of a tail block's tails
        // to leave frees it, and a later run may be allocated there.
        if rng.below(4) == 0 {
            self.log.push("unlink".into());
            fs::remove_file(&self.path).map_err(self.io("unlink"))?;
            self.removed = true;
        }
        Ok(())
    }

    fn failed(&self, round: u64, error: String) -> String {
        let from = self.log.len().saturating_sub(LOG_TAIL);
        format!(
            "round {round}: writer of {}: {error}\n  its last operations:\n    {}",
            self.path.display(),
            self.log[from..].join("\n    ")
        )
    }
}

/// See the module's documentation.
pub fn packed_torture(mount: &Path, source: &Path, seed: u64, seconds: u64) -> Check {
    let b = block_size(mount)?;
    let page = sys::page_size() as usize;
    let mut names = Vec::new();
    tree(source, Path::new(""), &mut names)?;
    names.sort();
    // What each file must hold: the tree's bytes until a writer changes it.
    let mut want: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let mut groups: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    for name in &names {
        let from = source.join(name);
        want.insert(
            name.clone(),
            fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?,
        );
        if let Some(block) = shared_last_block(&mount.join(name), b)? {
            groups.entry(block).or_default().push(name.clone());
        }
    }
    // Each group's files still untouched, and those changed already.
    let mut groups: Vec<(Vec<PathBuf>, Vec<PathBuf>)> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| (g, Vec::new()))
        .collect();
    let shared: usize = groups.iter().map(|(g, _)| g.len()).sum();
    if groups.is_empty() {
        return Err(format!(
            "{}: no block holds the last blocks of two files: nothing packed to test",
            mount.display()
        ));
    }
    println!(
        "{} files, {shared} of them in {} shared tail blocks",
        names.len(),
        groups.len()
    );
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let (mut round, mut changed, mut removed) = (0u64, 0usize, Vec::new());
    while started.elapsed() < Duration::from_secs(seconds) {
        let open: Vec<usize> = (0..groups.len())
            .filter(|&i| !groups[i].0.is_empty() && groups[i].0.len() + groups[i].1.len() > 1)
            .collect();
        if open.is_empty() {
            break;
        }
        let (untouched, done) = &mut groups[open[rng.below(open.len() as u64) as usize]];
        // Two at once where a neighbour is left to read.
        let count = 2.min(untouched.len()).min(untouched.len() + done.len() - 1);
        let victims: Vec<PathBuf> = (0..count)
            .map(|_| untouched.swap_remove(rng.below(untouched.len() as u64) as usize))
            .collect();
        let neighbours: Vec<(PathBuf, Vec<u8>)> = untouched
            .iter()
            .chain(done.iter())
            .map(|name| (mount.join(name), want[name].clone()))
            .collect();
        done.extend(victims.iter().cloned());
        let mut writers: Vec<(Writer, Rng)> = victims
            .iter()
            .map(|name| {
                (
                    Writer {
                        path: mount.join(name),
                        model: want[name].clone(),
                        log: Vec::new(),
                        removed: false,
                    },
                    Rng::new(rng.below(u64::MAX)),
                )
            })
            .collect();
        let finished = AtomicBool::new(false);
        let (written, read) = std::thread::scope(|s| {
            let readers: Vec<_> = (0..2)
                .map(|r| {
                    let (neighbours, finished) = (&neighbours, &finished);
                    s.spawn(move || -> Check {
                        loop {
                            let last = finished.load(Ordering::SeqCst);
                            // The two readers in opposite orders.
                            let mut order: Vec<_> = neighbours.iter().collect();
                            if r == 1 {
                                order.reverse();
                            }
                            for (path, bytes) in order {
                                check_file(path, bytes, page)?;
                            }
                            if last {
                                return Ok(());
                            }
                        }
                    })
                })
                .collect();
            let written: Vec<_> = writers
                .iter_mut()
                .map(|(writer, rng)| s.spawn(move || writer.run(rng, b, page)))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err("a writer panicked".into())))
                .collect();
            finished.store(true, Ordering::SeqCst);
            let read: Vec<Check> = readers
                .into_iter()
                .map(|r| r.join().unwrap_or_else(|_| Err("a reader panicked".into())))
                .collect();
            (written, read)
        });
        for ((writer, _), result) in writers.iter().zip(written) {
            result.map_err(|e| writer.failed(round, e))?;
        }
        for result in read {
            result.map_err(|e| format!("round {round}: reader of the neighbours: {e}"))?;
        }
        for ((writer, _), name) in writers.into_iter().zip(&victims) {
            if writer.removed {
                want.remove(name);
                removed.push(name.clone());
            } else {
                want.insert(name.clone(), writer.model);
            }
        }
        done.retain(|name| want.contains_key(name));
        changed += victims.len();
        round += 1;
        if round % 4 == 0 {
            drop_caches()?;
        }
    }
    for how in ["from the page cache", "from the disk"] {
        if how == "from the disk" {
            drop_caches()?;
        }
        for (name, bytes) in &want {
            check_file(&mount.join(name), bytes, page)
                .map_err(|e| format!("at the end, {how}: {e}"))?;
        }
        for name in &removed {
            let path = mount.join(name);
            if fs::symlink_metadata(&path).is_ok() {
                return Err(format!("at the end, {how}: {} is back", path.display()));
            }
        }
    }
    println!(
        "seed {seed}: {round} rounds, {changed} packed files changed beside their neighbours, {} of them then unlinked",
        removed.len()
    );
    Ok(())
}
