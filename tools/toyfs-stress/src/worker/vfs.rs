// SPDX-License-Identifier: GPL-2.0
//! The operations of a thread of `toyfs-stress run` on names, links and
//! times (src/options.rs: `--hardlinks`, `--tmpfile`, `--exchange`,
//! `--times`, `--st-blocks`, `--far`), each checked against the model:
//!
//! - hard links of the thread's files, in the run's directory and in
//!   one of the thread's, kept across operations and remounts: the model
//!   counts them, `st_nlink` must follow, every name is the file's inode
//!   and reads as the file; `link` onto a name `EEXIST`;
//! - `O_TMPFILE` files (`st_nlink` 0) written, truncated and stored into
//!   through a mapping, then named with `linkat(AT_EMPTY_PATH)` or through
//!   `/proc/self/fd` and renamed (or exchanged) over a file of the
//!   thread, whose inode, open and unlinked, must still read as before;
//!   or closed without a name (freed: fsck between rounds finds no
//!   orphan); one opened with `O_EXCL` refuses a name (`ENOENT`);
//! - `renameat2(RENAME_EXCHANGE)` of the thread's two files, open and
//!   mapped, in two directories: each name is then the other inode, and
//!   their models are swapped; with a hard link of the same inode, or a
//!   name with itself, nothing changes; `RENAME_NOREPLACE` onto a name
//!   `EEXIST`, and of a name that is missing `ENOENT`;
//! - a tree of the thread (two directories, files and directories in
//!   them) whose entries are exchanged (file with file, directory with
//!   directory, file with directory, across parents; an ancestor with
//!   its descendant `EINVAL`) and moved with `RENAME_NOREPLACE`: the
//!   tree is then compared with its model (names, types, bytes, each
//!   directory's `..` and link count), and again after every remount;
//! - times: a write or a truncation that changes the size sets the
//!   modification and change times (equal, and the former no longer the
//!   old one it was set to), a read and `fsync` change neither, `link`
//!   and `unlink` not the modification time of the file but that of its
//!   directory, as a rename or an exchange does of both directories; the
//!   times of every file are the same after a remount;
//! - `st_blocks` no more than the blocks the model allows and the
//!   indirect blocks over them (src/far.rs `indirect_blocks`).

use super::{failed, mapping_len, read_upto, Outcome, Slot, Worker, FILES};
use crate::far::indirect_blocks;
use crate::mapping::Mapping;
use crate::model::FileModel;
use crate::sys;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};

/// The modification time the checks of times set first (2001): a time
/// that no call made now gives.
const PAST: i64 = 1_000_000_000;
/// Hard links of one file at most, besides its own name.
const ALIASES: usize = 3;

/// The modification and change times (seconds and nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Times {
    fn of(meta: &Metadata) -> Self {
        Self {
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// What the names of a file of the thread are, besides its own path.
#[derive(Default)]
pub struct Names {
    /// Its hard links (paths).
    pub(super) aliases: Vec<String>,
    /// Its times when it was closed for an unmount.
    saved: Option<Times>,
}

/// What an entry of the tree of a thread is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
}

/// The tree of a thread for the exchanges, by path below its root.
#[derive(Default)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{dir}/"))
}

impl Tree {
    /// Swaps the subtrees `a` and `b` (neither within the other), as
    /// `RENAME_EXCHANGE` does.
    fn exchange(&mut self, a: &str, b: &str) {
        let take = |entries: &mut BTreeMap<String, Node>, root: &str| {
            let moved: Vec<String> = entries
                .keys()
                .filter(|path| within(path, root))
                .cloned()
                .collect();
            moved
                .into_iter()
                .map(|path| {
                    let node = entries.remove(&path).expect("listed");
                    (path[root.len()..].to_string(), node)
                })
                .collect::<Vec<_>>()
        };
        let under_a = take(&mut self.entries, a);
        let under_b = take(&mut self.entries, b);
        for (rest, node) in under_a {
            self.entries.insert(format!("{b}{rest}"), node);
        }
        for (rest, node) in under_b {
            self.entries.insert(format!("{a}{rest}"), node);
        }
    }

    /// Moves the subtree `from` to `to` (a new name outside it).
    fn rename(&mut self, from: &str, to: &str) {
        let moved: Vec<String> = self
            .entries
            .keys()
            .filter(|path| within(path, from))
            .cloned()
            .collect();
        for path in moved {
            let node = self.entries.remove(&path).expect("listed");
            self.entries
                .insert(format!("{to}{}", &path[from.len()..]), node);
        }
    }

    /// What a `renameat2(a, b, flags)` must return (0 or an errno), as
    /// Linux's `do_renameat2` and `vfs_rename` decide, and the change of
    /// the model it makes.
    fn expect_rename(&mut self, a: &str, b: &str, flags: u32) -> i32 {
        // The parent of the target is looked up first.
        match self.entries.get(parent(b)) {
            Some(Node::File(_)) => return sys::ENOTDIR,
            None if !parent(b).is_empty() => return sys::ENOENT,
            _ => {}
        }
        let (a_there, b_there) = (self.entries.contains_key(a), self.entries.contains_key(b));
        if !a_there || (flags == sys::RENAME_EXCHANGE && !b_there) {
            return sys::ENOENT;
        }
        if flags == sys::RENAME_NOREPLACE && b_there {
            return sys::EEXIST;
        }
        if a == b {
            return 0;
        }
        // The source an ancestor of the target, or (for an exchange) the
        // target an ancestor of the source.
        if within(b, a) || (flags == sys::RENAME_EXCHANGE && within(a, b)) {
            return sys::EINVAL;
        }
        match flags {
            sys::RENAME_EXCHANGE => self.exchange(a, b),
            _ => self.rename(a, b),
        }
        0
    }
}

/// `fstat` of an open file.
fn fstat(file: &File, path: &str) -> Result<Metadata, String> {
    file.metadata()
        .map_err(|err| format!("fstat of {path}: {err}"))
}

/// `stat` of a path.
fn stat(path: &str) -> Result<Metadata, String> {
    fs::metadata(path).map_err(|err| format!("stat {path}: {err}"))
}

/// What a call returned, as an errno (0: success).
fn errno<T>(result: &io::Result<T>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(err) => err.raw_os_error().unwrap_or(-1),
    }
}

impl Slot {
    /// Swaps everything of two slots but their paths: the names now
    /// name the other inode.
    fn swap_inodes(&mut self, other: &mut Slot) {
        std::mem::swap(&mut self.file, &mut other.file);
        std::mem::swap(&mut self.model, &mut other.model);
        std::mem::swap(&mut self.map, &mut other.map);
        std::mem::swap(&mut self.direct, &mut other.direct);
        std::mem::swap(&mut self.compressed, &mut other.compressed);
        std::mem::swap(&mut self.names.aliases, &mut other.names.aliases);
    }
}

impl Worker<'_> {
    /// The thread's own directory (with `--hardlinks` or `--exchange`):
    /// hard links go there too, and with `--exchange` its second file is
    /// there, so that the exchanges of the two cross parents.
    pub(super) fn own_dir(&self) -> String {
        format!("{}/d{}", self.options.dir, self.id)
    }

    fn tree_root(&self) -> String {
        format!("{}/x{}", self.options.dir, self.id)
    }

    /// One of the operations of this module.
    pub(super) fn vfs_op(&mut self, index: usize) -> Outcome {
        let options = self.options;
        let mut ops: Vec<u8> = Vec::new();
        for (on, op, weight) in [
            (options.hardlinks, 0, 2),
            (options.tmpfile, 1, 2),
            (options.exchange, 2, 1),
            (options.exchange, 3, 2),
            (options.times, 4, 2),
            (options.far.is_some(), 5, 4),
        ] {
            if on {
                ops.extend(std::iter::repeat_n(op, weight));
            }
        }
        let op = ops[self.rng.below(ops.len() as u64) as usize];
        self.vfs_counts[op as usize] += 1;
        match op {
            0 => self.hard_link(index),
            1 => self.tmpfile(index),
            2 => self.exchange_files(),
            3 => self.exchange_tree(),
            4 => self.times(index),
            _ => {
                let far = self.far.as_mut().expect("--far");
                far.step(&mut self.rng, self.options)
            }
        }
    }

    /// How many of each operation of this module the thread did.
    pub fn vfs_summary(workers: &[Self]) -> String {
        let mut counts = [0; 6];
        for worker in workers {
            for (sum, n) in counts.iter_mut().zip(worker.vfs_counts) {
                *sum += n;
            }
        }
        format!(
            "{} hard links made or removed, {} O_TMPFILE files, {} exchanges of the files, \
             {} changes of the trees, {} checks of times, {} operations on the far files",
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
        )
    }

    /// The link count (1 and the hard links the model knows), every hard
    /// link naming the inode, `st_blocks` within its bound: part of every
    /// check of a file.
    pub(super) fn check_names(&self, index: usize, what: &str) -> Outcome {
        let options = self.options;
        let slot = &self.slots[index];
        let meta = fstat(slot.file(), &slot.path)?;
        if options.hardlinks || options.tmpfile || options.exchange {
            let want = 1 + slot.names.aliases.len() as u64;
            if meta.nlink() != want {
                return Err(format!(
                    "{what}: {} has {} links, expected {want} (hard links {:?})",
                    slot.path,
                    meta.nlink(),
                    slot.names.aliases
                ));
            }
            for name in std::iter::once(&slot.path).chain(&slot.names.aliases) {
                let ino = stat(name)?.ino();
                if ino != meta.ino() {
                    return Err(format!(
                        "{what}: {name} is inode {ino}, the file of {} is {}",
                        slot.path,
                        meta.ino()
                    ));
                }
            }
        }
        if options.st_blocks {
            let blocks = slot.model.maybe_blocks(options.block_size);
            let chains = slot.model.chain_blocks(options.block_size);
            let indirect = indirect_blocks(chains.into_iter(), options.block_size);
            let bound = (blocks.len() as u64 + indirect) * options.block_size / 512;
            if meta.blocks() > bound {
                return Err(format!(
                    "{what}: {} (size {}) has st_blocks {}, at most {bound} expected ({} blocks may be allocated, {indirect} indirect)",
                    slot.path,
                    meta.len(),
                    meta.blocks(),
                    blocks.len()
                ));
            }
        }
        Ok(())
    }

    /// The far file and the tree, checked whole (between rounds).
    pub(super) fn check_more(&self, what: &str) -> Outcome {
        if let Some(far) = &self.far {
            far.check(self.options, what)?;
        }
        if self.options.exchange {
            self.check_tree(what)?;
        }
        Ok(())
    }

    /// Before an unmount: the times of every file (with `--times`),
    /// after an `fsync`: a filesystem that allocates blocks at writeback
    /// sets the change time then (ext2's `ext2_splice_branch`), as the
    /// unmount's writeback would.
    pub(super) fn save_times(&mut self) {
        if !self.options.times {
            return;
        }
        for slot in &mut self.slots {
            slot.names.saved = slot
                .file
                .as_ref()
                .filter(|file| file.sync_all().is_ok())
                .and_then(|file| file.metadata().ok())
                .map(|meta| Times::of(&meta));
        }
    }

    /// After the mount: the times saved must be the same.
    pub(super) fn check_saved_times(&mut self) -> Outcome {
        for slot in &mut self.slots {
            let Some(saved) = slot.names.saved.take() else {
                continue;
            };
            let now = Times::of(&fstat(slot.file(), &slot.path)?);
            if now != saved {
                return Err(format!(
                    "{}: times {now:?} after a remount, {saved:?} before",
                    slot.path
                ));
            }
        }
        Ok(())
    }

    /// A hard link of file `index` made (in the run's directory or the
    /// thread's), or one removed.
    fn hard_link(&mut self, index: usize) -> Outcome {
        let times = self.options.times;
        let own = self.own_dir();
        let make = {
            let aliases = &self.slots[index].names.aliases;
            aliases.is_empty() || (aliases.len() < ALIASES && self.rng.one_in(2))
        };
        let dir = match self.rng.one_in(2) {
            true => own.clone(),
            false => self.options.dir.clone(),
        };
        self.links_made += 1;
        let name = format!("{dir}/h{}-{index}-{}", self.id, self.links_made);
        let slot = &self.slots[index];
        let path = slot.path.clone();
        let before = fstat(slot.file(), &path)?;
        let aliases = slot.names.aliases.clone();
        let names: Vec<&String> = std::iter::once(&path).chain(&aliases).collect();
        let source = names[self.rng.below(names.len() as u64) as usize].clone();
        if times {
            sys::set_mtime(&path, PAST).map_err(failed("utimensat"))?;
            sys::set_mtime(&own, PAST).map_err(failed("utimensat of the directory"))?;
        }
        let set = Times::of(&fstat(self.slots[index].file(), &path)?);
        let (what, target_dir, nlink) = if make {
            if let Some(taken) = aliases.first().filter(|_| self.rng.one_in(3)) {
                let result = fs::hard_link(&source, taken);
                if errno(&result) != sys::EEXIST {
                    return Err(format!(
                        "link {source} onto {taken}, a name of the same file: {result:?}, expected EEXIST"
                    ));
                }
            }
            fs::hard_link(&source, &name).map_err(failed(&format!("link {source} {name}")))?;
            self.slots[index].names.aliases.push(name.clone());
            (format!("link {source} {name}"), dir, before.nlink() + 1)
        } else {
            let gone = self.rng.below(aliases.len() as u64) as usize;
            let gone = self.slots[index].names.aliases.remove(gone);
            fs::remove_file(&gone).map_err(failed(&format!("unlink {gone}")))?;
            if fs::symlink_metadata(&gone).is_ok() {
                return Err(format!("{gone} is still there after its unlink"));
            }
            let dir = parent(&gone).to_string();
            (format!("unlink {gone}"), dir, before.nlink() - 1)
        };
        let slot = &self.slots[index];
        let after = fstat(slot.file(), &path)?;
        if after.nlink() != nlink {
            return Err(format!(
                "{what}: {path} has {} links, expected {nlink}",
                after.nlink()
            ));
        }
        if make {
            // The new name reads as the file.
            let file = File::open(&name).map_err(failed(&format!("open {name}")))?;
            let size = slot.model.size();
            let offset = self.rng.below(size + 1);
            let got = read_upto(&file, offset, 8192).map_err(failed(&format!("read {name}")))?;
            slot.model
                .compare(offset, &got)
                .map_err(|err| format!("{what}: read through {name}: {err}"))?;
        }
        if times {
            let now = Times::of(&after);
            if now.mtime != set.mtime || now.ctime < set.ctime {
                return Err(format!(
                    "{what}: {path} has times {now:?}, {set:?} before (the modification time must stay)"
                ));
            }
            if target_dir == own {
                let dir_now = Times::of(&stat(&own)?);
                if dir_now.mtime.0 == PAST {
                    return Err(format!(
                        "{what}: the directory {own} kept its modification time {dir_now:?}"
                    ));
                }
            }
        }
        self.note(index, what);
        self.check_names(index, "after a link or unlink")
    }

    /// Times: the modification time set to `PAST`, then a write, a
    /// truncation, a read or an `fsync`.
    fn times(&mut self, index: usize) -> Outcome {
        let path = self.slots[index].path.clone();
        // Nothing left to write back: a writeback that allocates blocks
        // sets the change time (ext2).
        let file = self.slots[index].file();
        file.sync_all().map_err(failed(&format!("fsync {path}")))?;
        sys::set_mtime(&path, PAST).map_err(failed(&format!("utimensat {path}")))?;
        let meta = fstat(self.slots[index].file(), &path)?;
        let set = Times::of(&meta);
        if set.mtime != (PAST, 0) {
            return Err(format!("{path}: utimensat to {PAST} gave {set:?}"));
        }
        let size = meta.len();
        let (what, changes) = match self.rng.below(4) {
            0 => {
                self.write(index, size)?;
                ("a write", true)
            }
            1 => {
                let mut new = self.pick_offset(size);
                if new == size {
                    new = size.saturating_sub(1);
                }
                if new == size {
                    new = 1;
                }
                self.truncate(index, new)?;
                ("a truncation that changes the size", true)
            }
            2 => {
                let offset = self.rng.below(size + 100);
                self.read(index, offset, 5000, "read")?;
                ("a read", false)
            }
            _ => {
                let file = self.slots[index].file();
                file.sync_all().map_err(failed("fsync"))?;
                ("fsync", false)
            }
        };
        let now = Times::of(&fstat(self.slots[index].file(), &path)?);
        let right = match changes {
            true => now.mtime.0 != PAST && now.mtime == now.ctime && now.ctime >= set.ctime,
            false => now == set,
        };
        if !right {
            return Err(format!(
                "{path}: times {now:?} after {what}, {set:?} before ({})",
                match changes {
                    true => "both must be set to now",
                    false => "neither may change",
                }
            ));
        }
        self.note(index, format!("times checked across {what}"));
        Ok(())
    }

    /// `RENAME_EXCHANGE` of the thread's two files (in two directories
    /// with `--exchange`), and the refusals around it.
    fn exchange_files(&mut self) -> Outcome {
        let (p0, p1) = (self.slots[0].path.clone(), self.slots[1].path.clone());
        let ino =
            |slot: &Slot| fstat(slot.file(), &slot.path).map(|meta| (meta.ino(), meta.nlink()));
        let (before0, before1) = (ino(&self.slots[0])?, ino(&self.slots[1])?);
        // Refusals first: each changes nothing (checked after).
        let noreplace = sys::rename_flags(&p0, &p1, sys::RENAME_NOREPLACE);
        if errno(&noreplace) != sys::EEXIST {
            return Err(format!(
                "renameat2({p0}, {p1}, RENAME_NOREPLACE): {noreplace:?}, expected EEXIST"
            ));
        }
        let missing = format!("{p0}.missing");
        let gone = sys::rename_flags(&p0, &missing, sys::RENAME_EXCHANGE);
        if errno(&gone) != sys::ENOENT {
            return Err(format!(
                "renameat2({p0}, {missing}, RENAME_EXCHANGE): {gone:?}, expected ENOENT"
            ));
        }
        // With a hard link of the same file, or with itself: nothing.
        let same = match self.slots[0].names.aliases.first() {
            Some(alias) if self.rng.one_in(2) => alias.clone(),
            _ => p0.clone(),
        };
        sys::rename_flags(&p0, &same, sys::RENAME_EXCHANGE)
            .map_err(failed(&format!("renameat2({p0}, {same}, RENAME_EXCHANGE)")))?;
        let own = self.own_dir();
        if self.options.times {
            sys::set_mtime(&own, PAST).map_err(failed("utimensat of the directory"))?;
        }
        sys::rename_flags(&p0, &p1, sys::RENAME_EXCHANGE)
            .map_err(failed(&format!("renameat2({p0}, {p1}, RENAME_EXCHANGE)")))?;
        let (named0, named1) = (stat(&p0)?.ino(), stat(&p1)?.ino());
        if (named0, named1) != (before1.0, before0.0) {
            return Err(format!(
                "renameat2({p0}, {p1}, RENAME_EXCHANGE): the names are inodes {named0} and {named1}, expected {} and {}",
                before1.0, before0.0
            ));
        }
        let (after0, after1) = (ino(&self.slots[0])?, ino(&self.slots[1])?);
        if (after0, after1) != (before0, before1) {
            return Err(format!(
                "renameat2({p0}, {p1}, RENAME_EXCHANGE): the open files are (inode, links) {after0:?} and {after1:?}, expected {before0:?} and {before1:?}"
            ));
        }
        if self.options.times && stat(&own)?.mtime() == PAST {
            return Err(format!(
                "renameat2({p0}, {p1}, RENAME_EXCHANGE): {own} kept its modification time"
            ));
        }
        let (first, second) = self.slots.split_at_mut(1);
        first[0].swap_inodes(&mut second[0]);
        for index in 0..FILES {
            self.note(index, format!("renameat2({p0}, {p1}, RENAME_EXCHANGE)"));
        }
        (0..FILES).try_for_each(|index| self.check_names(index, "after an exchange"))
    }

    /// An `O_TMPFILE` file written, then named over file `index`, or
    /// freed.
    fn tmpfile(&mut self, index: usize) -> Outcome {
        let options = self.options;
        let path = self.slots[index].path.clone();
        let dir = parent(&path).to_string();
        let exclusive = self.rng.one_in(6);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o644)
            .custom_flags(sys::O_TMPFILE | if exclusive { sys::O_EXCL } else { 0 })
            .open(&dir)
            .map_err(failed(&format!("open O_TMPFILE in {dir}")))?;
        if fstat(&file, "the O_TMPFILE file")?.nlink() != 0 {
            return Err(format!("an O_TMPFILE file in {dir} has a link"));
        }
        let granule = options.seek.filter(|&g| g > 0);
        let mut model = FileModel::new(
            granule.unwrap_or(options.block_size),
            granule.is_some(),
            options.folio_max,
        );
        let mut map: Option<Mapping> = None;
        let mut log = Vec::new();
        for _ in 0..1 + self.rng.below(6) {
            let size = model.size();
            match self.rng.below(4) {
                0 | 1 => {
                    let offset = self.pick_offset(size);
                    let len = self.pick_len(offset).min(20_000);
                    let data = self.rng.data(len as usize, options.compressible);
                    file.write_all_at(&data, offset).map_err(failed(&format!(
                        "write {len} at {offset} of an O_TMPFILE file"
                    )))?;
                    model.write(offset, &data);
                    log.push(format!("write {len} at {offset}"));
                }
                2 => {
                    let new = self.pick_offset(size);
                    file.set_len(new)
                        .map_err(failed(&format!("truncate an O_TMPFILE file to {new}")))?;
                    model.truncate(new);
                    log.push(format!("truncate to {new}"));
                }
                _ if size > 0 => {
                    let offset = self.rng.below(size);
                    let len = (1 + self.rng.below(3000)).min(size - offset);
                    let data = self.rng.data(len as usize, options.compressible);
                    if map.is_none() {
                        let len = mapping_len(options);
                        map = Some(Mapping::new(&file, len).map_err(failed("mmap O_TMPFILE"))?);
                    }
                    map.as_ref().expect("mapped").store(offset as usize, &data);
                    model.mapped_store(offset, &data);
                    log.push(format!("mapped store {len} at {offset}"));
                }
                _ => {}
            }
        }
        let got = read_upto(&file, 0, model.size() as usize + 100)
            .map_err(failed("read an O_TMPFILE file"))?;
        model
            .compare(0, &got)
            .map_err(|err| format!("an O_TMPFILE file after {}: {err}", log.join(", ")))?;
        let tmp_name = format!("{path}.tmp");
        let proc = self.rng.one_in(2);
        let how = if proc {
            "/proc/self/fd"
        } else {
            "AT_EMPTY_PATH"
        };
        if exclusive {
            let result = sys::link_open_file(&file, &tmp_name, proc);
            if errno(&result) != sys::ENOENT {
                return Err(format!(
                    "linkat ({how}) of an O_TMPFILE file opened with O_EXCL: {result:?}, expected ENOENT"
                ));
            }
            self.note(
                index,
                format!("O_TMPFILE|O_EXCL ({}): no name", log.join(", ")),
            );
            return Ok(());
        }
        match self.rng.below(4) {
            0 => {
                self.note(
                    index,
                    format!("O_TMPFILE ({}) closed unnamed", log.join(", ")),
                );
                return Ok(());
            }
            1 => {
                sys::link_open_file(&file, &tmp_name, proc)
                    .map_err(failed(&format!("linkat ({how}) O_TMPFILE {tmp_name}")))?;
                fs::remove_file(&tmp_name).map_err(failed(&format!("unlink {tmp_name}")))?;
                if fstat(&file, &tmp_name)?.nlink() != 0 {
                    return Err(format!("{tmp_name}: linked and unlinked, it has a link"));
                }
                self.note(
                    index,
                    format!("O_TMPFILE ({}) named and unnamed", log.join(", ")),
                );
                return Ok(());
            }
            _ => {}
        }
        sys::link_open_file(&file, &tmp_name, proc)
            .map_err(failed(&format!("linkat ({how}) O_TMPFILE {tmp_name}")))?;
        if fstat(&file, &tmp_name)?.nlink() != 1 {
            return Err(format!(
                "{tmp_name}: a named O_TMPFILE file has not one link"
            ));
        }
        let named = File::open(&tmp_name).map_err(failed(&format!("open {tmp_name}")))?;
        let got = read_upto(&named, 0, model.size() as usize + 100)
            .map_err(failed(&format!("read {tmp_name}")))?;
        model
            .compare(0, &got)
            .map_err(|err| format!("{tmp_name}, a named O_TMPFILE file: {err}"))?;
        // The file's hard links go first: its inode is to lose its last
        // name.
        for alias in std::mem::take(&mut self.slots[index].names.aliases) {
            fs::remove_file(&alias).map_err(failed(&format!("unlink {alias}")))?;
        }
        let exchange = options.exchange && self.rng.one_in(2);
        if exchange {
            sys::rename_flags(&tmp_name, &path, sys::RENAME_EXCHANGE).map_err(failed(&format!(
                "renameat2({tmp_name}, {path}, RENAME_EXCHANGE)"
            )))?;
            fs::remove_file(&tmp_name).map_err(failed(&format!("unlink {tmp_name}")))?;
        } else {
            fs::rename(&tmp_name, &path).map_err(failed(&format!("rename {tmp_name} {path}")))?;
        }
        // The old inode, open and unlinked, still reads as it did.
        let slot = &mut self.slots[index];
        let old = fstat(slot.file(), &path)?;
        if old.nlink() != 0 {
            return Err(format!(
                "{path}: replaced by an O_TMPFILE file, the old inode has {} links",
                old.nlink()
            ));
        }
        let offset = self.rng.below(slot.model.size() + 1);
        let got =
            read_upto(slot.file(), offset, 20_000).map_err(failed("read an unlinked file"))?;
        slot.model
            .compare(offset, &got)
            .map_err(|err| format!("{path}, unlinked while open: {err}"))?;
        let new_ino = stat(&path)?.ino();
        if new_ino != fstat(&file, &path)?.ino() {
            return Err(format!("{path} is not the O_TMPFILE file named over it"));
        }
        slot.map = map;
        slot.direct = None;
        slot.file = Some(file);
        slot.model = model;
        if options.chattr_compress {
            slot.compressed = slot.compr_flag()?;
        }
        let what = format!(
            "O_TMPFILE ({}) named by linkat ({how}) and {} over the file",
            log.join(", "),
            if exchange { "exchanged" } else { "renamed" }
        );
        self.note(index, what);
        self.check_names(index, "after an O_TMPFILE file replaced it")
    }

    /// The tree of the thread made anew: directories `p` and `q`, files
    /// and directories in them.
    fn build_tree(&mut self) -> Outcome {
        let root = self.tree_root();
        if fs::symlink_metadata(&root).is_ok() {
            fs::remove_dir_all(&root).map_err(failed(&format!("rm -r {root}")))?;
        }
        let mut tree = Tree::default();
        let add_dir = |tree: &mut Tree, path: &str| -> Outcome {
            fs::create_dir(format!("{root}/{path}")).map_err(failed(&format!("mkdir {path}")))?;
            tree.entries.insert(path.into(), Node::Dir);
            Ok(())
        };
        fs::create_dir(&root).map_err(failed(&format!("mkdir {root}")))?;
        add_dir(&mut tree, "p")?;
        add_dir(&mut tree, "q")?;
        for (dir, name) in [("p", "a"), ("p", "b"), ("q", "c"), ("q", "d")] {
            let path = format!("{dir}/{name}");
            match self.rng.below(3) {
                0 => {
                    add_dir(&mut tree, &path)?;
                    if self.rng.one_in(2) {
                        add_dir(&mut tree, &format!("{path}/s"))?;
                    }
                    let len = self.rng.below(3000) as usize;
                    let data = self.rng.data(len, self.options.compressible);
                    fs::write(format!("{root}/{path}/f"), &data)
                        .map_err(failed(&format!("write {path}/f")))?;
                    tree.entries.insert(format!("{path}/f"), Node::File(data));
                }
                _ => {
                    let len = self.rng.below(5000) as usize;
                    let data = self.rng.data(len, self.options.compressible);
                    fs::write(format!("{root}/{path}"), &data)
                        .map_err(failed(&format!("write {path}")))?;
                    tree.entries.insert(path, Node::File(data));
                }
            }
        }
        self.tree = Some(tree);
        Ok(())
    }

    /// Exchanges and moves in the tree of the thread, each result as
    /// the model says, then the tree compared with the model.
    fn exchange_tree(&mut self) -> Outcome {
        if self.tree.is_none() || self.rng.one_in(4) {
            if self.tree.is_some() {
                self.check_tree("before the tree is made anew")?;
            }
            self.build_tree()?;
        }
        let root = self.tree_root();
        let times = self.options.times;
        let mut log = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let tree = self.tree.as_ref().expect("built");
            let paths: Vec<String> = tree.entries.keys().cloned().collect();
            let a = paths[self.rng.below(paths.len() as u64) as usize].clone();
            let exchange = self.rng.below(4) != 0;
            let b = match exchange {
                true => paths[self.rng.below(paths.len() as u64) as usize].clone(),
                false => {
                    let dirs: Vec<&String> = paths
                        .iter()
                        .filter(|p| tree.entries[*p] == Node::Dir)
                        .collect();
                    let name = ["m", "n", "a", "c"][self.rng.below(4) as usize];
                    match self.rng.below(dirs.len() as u64 + 1) as usize {
                        0 => name.to_string(),
                        i => format!("{}/{name}", dirs[i - 1]),
                    }
                }
            };
            let flags = match exchange {
                true => sys::RENAME_EXCHANGE,
                false => sys::RENAME_NOREPLACE,
            };
            let name = ["", "RENAME_NOREPLACE", "RENAME_EXCHANGE"][flags as usize];
            let (real_a, real_b) = (format!("{root}/{a}"), format!("{root}/{b}"));
            let parents = [parent(&real_a).to_string(), parent(&real_b).to_string()];
            if times {
                for dir in &parents {
                    sys::set_mtime(dir, PAST).map_err(failed(&format!("utimensat {dir}")))?;
                }
            }
            let want = self
                .tree
                .as_mut()
                .expect("built")
                .expect_rename(&a, &b, flags);
            let got = errno(&sys::rename_flags(&real_a, &real_b, flags));
            let what = format!("renameat2({a}, {b}, {name})");
            log.push(format!("{what}: {got}"));
            if got != want {
                self.tree = None;
                return Err(format!(
                    "{what} in {root}: errno {got}, expected {want} (0: success); before it: {}",
                    log.join("; ")
                ));
            }
            if times && got == 0 && a != b {
                for dir in &parents {
                    if stat(dir)?.mtime() == PAST {
                        return Err(format!(
                            "{what} in {root}: {dir} kept its modification time"
                        ));
                    }
                }
            }
        }
        self.check_tree(&format!("after {}", log.join("; ")))
    }

    /// The tree on the filesystem against its model: every name, its type,
    /// a file's bytes and single link, a directory's `..` and link count.
    fn check_tree(&self, what: &str) -> Outcome {
        let Some(tree) = &self.tree else {
            return Ok(());
        };
        let root = self.tree_root();
        let mut found = BTreeMap::new();
        let mut dirs = VecDeque::from([String::new()]);
        while let Some(dir) = dirs.pop_front() {
            let real = match dir.as_str() {
                "" => root.clone(),
                _ => format!("{root}/{dir}"),
            };
            let meta = stat(&real)?;
            let dotdot = stat(&format!("{real}/.."))?.ino();
            let parent_real = parent(&real);
            let parent_ino = stat(parent_real)?.ino();
            if dotdot != parent_ino {
                return Err(format!(
                    "{what}: {real}/.. is inode {dotdot}, its parent {parent_real} is {parent_ino}"
                ));
            }
            let mut subdirs = 0;
            for entry in fs::read_dir(&real).map_err(failed(&format!("readdir {real}")))? {
                let entry = entry.map_err(failed(&format!("readdir {real}")))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = match dir.as_str() {
                    "" => name,
                    _ => format!("{dir}/{name}"),
                };
                let full = format!("{root}/{path}");
                let entry_meta =
                    fs::symlink_metadata(&full).map_err(failed(&format!("lstat {full}")))?;
                if entry_meta.is_dir() {
                    subdirs += 1;
                    dirs.push_back(path.clone());
                    found.insert(path, Node::Dir);
                } else {
                    if entry_meta.nlink() != 1 {
                        return Err(format!("{what}: {full} has {} links", entry_meta.nlink()));
                    }
                    let data = fs::read(&full).map_err(failed(&format!("read {full}")))?;
                    found.insert(path, Node::File(data));
                }
            }
            if meta.nlink() != 2 + subdirs {
                return Err(format!(
                    "{what}: {real} has {} links, expected {} (2 and {subdirs} subdirectories)",
                    meta.nlink(),
                    2 + subdirs
                ));
            }
        }
        if found != tree.entries {
            let names = |entries: &BTreeMap<String, Node>| {
                entries
                    .iter()
                    .map(|(path, node)| match node {
                        Node::Dir => format!("{path}/"),
                        Node::File(data) => format!("{path} ({} bytes)", data.len()),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let differ = found
                .iter()
                .find(|(path, node)| tree.entries.get(*path) != Some(node))
                .map(|(path, _)| path.clone());
            return Err(format!(
                "{what}: the tree {root} holds {}, expected {} (first difference: {differ:?})",
                names(&found),
                names(&tree.entries)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[(&str, bool)]) -> Tree {
        let mut tree = Tree::default();
        for &(path, dir) in paths {
            let node = match dir {
                true => Node::Dir,
                false => Node::File(path.as_bytes().to_vec()),
            };
            tree.entries.insert(path.into(), node);
        }
        tree
    }

    fn listing(tree: &Tree) -> Vec<String> {
        tree.entries
            .iter()
            .map(|(path, node)| match node {
                Node::Dir => format!("{path}/"),
                Node::File(data) => format!("{path}={}", String::from_utf8_lossy(data)),
            })
            .collect()
    }

    /// Each `(a, b, flags, errno)` of `cases` in turn: what the model
    /// says `renameat2(a, b, flags)` returns.
    fn expect(model: &mut Tree, cases: &[(&str, &str, u32, i32)]) {
        for &(a, b, flags, want) in cases {
            let got = model.expect_rename(a, b, flags);
            assert_eq!(got, want, "renameat2({a}, {b}, {flags})");
        }
    }

    #[test]
    fn an_exchange_swaps_subtrees_across_parents() {
        let mut model = tree(&[
            ("p", true),
            ("p/a", true),
            ("p/a/f", false),
            ("q", true),
            ("q/c", false),
        ]);
        // A directory with a file, across parents: each takes the other's
        // place.
        expect(&mut model, &[("p/a", "q/c", sys::RENAME_EXCHANGE, 0)]);
        let swapped = ["p/", "p/a=q/c", "q/", "q/c/", "q/c/f=p/a/f"];
        assert_eq!(listing(&model), swapped);
        let x = sys::RENAME_EXCHANGE;
        expect(
            &mut model,
            &[
                // An ancestor with its descendant, either way round.
                ("q", "q/c/f", x, sys::EINVAL),
                ("q/c/f", "q", x, sys::EINVAL),
                // A name with itself: nothing.
                ("p/a", "p/a", x, 0),
                // A missing name.
                ("p/a", "p/z", x, sys::ENOENT),
                ("p/z", "p/a", x, sys::ENOENT),
            ],
        );
        assert_eq!(listing(&model), swapped);
    }

    #[test]
    fn noreplace_moves_or_refuses() {
        let mut model = tree(&[("p", true), ("p/a", false), ("q", true), ("q/s", true)]);
        let n = sys::RENAME_NOREPLACE;
        expect(
            &mut model,
            &[
                ("p/a", "q/s", n, sys::EEXIST),
                ("q", "q/s/m", n, sys::EINVAL),
                // The target's parent is a file, or missing.
                ("p/a", "p/a/m", n, sys::ENOTDIR),
                ("p/a", "p/z/m", n, sys::ENOENT),
                ("q", "p/m", n, 0),
            ],
        );
        assert_eq!(listing(&model), ["p/", "p/a=p/a", "p/m/", "p/m/s/"]);
        // Onto itself: it exists, EEXIST (as Linux checks first).
        expect(&mut model, &[("p/m", "p/m", n, sys::EEXIST)]);
    }
}
