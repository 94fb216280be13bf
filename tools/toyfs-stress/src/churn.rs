// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress churn THREADS SEED SECONDS DIR [DEVICE FSTYPE FSCK]`:
//! fsstress's way, many threads on one shared tree at once.
//!
//! THREADS threads run for SECONDS on the tree under `DIR/churn`, each
//! with a generator of its own from SEED (printed, with each thread's
//! operation counts): two of every three change names (create, `mkdir`,
//! `rmdir`, `unlink`, `link`, `symlink`, `mknod` of FIFOs, sockets and
//! character devices, `rename` and `renameat2` with `RENAME_NOREPLACE`
//! and `RENAME_EXCHANGE`, of files and directories across directories),
//! every third changes data (writes at any offset, truncates,
//! `fallocate` of every mode toyfs has, stores through a mapping,
//! `fsync`, reads, listings) of whatever it finds at a path, all on a
//! small set of names, three directories deep, so that they collide all
//! the time.  Nothing can be predicted of such a race, so there is no
//! model: each call must succeed or fail with an errno that the race
//! explains (`ENOENT`, `EEXIST`, `ENOTEMPTY`, `EISDIR`, `ENOTDIR`,
//! `EINVAL`, `EMLINK`, `EPERM` for a link to a directory, `ENAMETOOLONG`
//! for a long symbolic link followed, `ELOOP`/`ENXIO` for what
//! `O_NOFOLLOW | O_NONBLOCK` opens, `ENOSPC`); any other (`EIO`,
//! `EUCLEAN`, `ENOMEM`, `ESTALE`, ...) fails the run with the thread's
//! last operations.  `EOPNOTSUPP` from `fallocate` is accepted only on an
//! FSTYPE other than toyfs (ext2, the reference, has no `fallocate`).
//! Then, with the threads stopped, the whole tree is walked (`lstat`,
//! every file read to its end, every directory listed with
//! `getdents64`: no name twice, the link count of each directory 2 and
//! one per subdirectory, each file's link count the names it has) and,
//! with DEVICE, `sync`, unmount, FSCK, mount: the tree must read back
//! the same (names, types, inode numbers, link counts, sizes, the bytes'
//! hash, symbolic links' targets, devices' numbers).

use crate::mapping::Mapping;
use crate::namespace::command;
use crate::sys::{self, EOPNOTSUPP};
use crate::threads::join_all;
use seeded_rng::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

const O_NOFOLLOW: i32 = 0o400_000;
const O_NONBLOCK: i32 = 0o4000;

/// The errnos a race between the threads explains.
const EXPECTED: &[i32] = &[
    1,  // EPERM: a link to a directory
    2,  // ENOENT
    6,  // ENXIO: a socket opened
    17, // EEXIST
    20, // ENOTDIR
    21, // EISDIR
    22, // EINVAL: a directory into itself
    27, // EFBIG: none expected, but the largest file of 512-byte blocks is small
    28, // ENOSPC
    31, // EMLINK
    36, // ENAMETOOLONG: a long symbolic link's target followed
    39, // ENOTEMPTY
    40, // ELOOP: O_NOFOLLOW on a symbolic link
];

/// The short names every thread uses: they collide.
const NAMES: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h"];

/// A thread's state: its generator, the root, and its last operations.
struct Thread<'a> {
    rng: Rng,
    root: &'a str,
    /// Held for writing by a truncation, for reading by a store through
    /// a mapping: a store past the end of a file is SIGBUS.
    shrink: &'a RwLock<()>,
    /// `fallocate` may be `EOPNOTSUPP` (FSTYPE other than toyfs: ext2
    /// has none).
    no_fallocate: bool,
    log: VecDeque<String>,
    counts: BTreeMap<&'static str, (u64, u64)>,
}

impl Thread<'_> {
    /// A path of one to three levels below the root.
    fn path(&mut self) -> String {
        let depth = 1 + self.rng.below(3);
        let mut path = self.root.to_string();
        for _ in 0..depth {
            path.push('/');
            path.push_str(NAMES[self.rng.below(NAMES.len() as u64) as usize]);
        }
        path
    }

    /// Records operation `what` and its outcome; an errno the race does
    /// not explain is the run's failure.
    fn done<T>(
        &mut self,
        what: &'static str,
        detail: String,
        outcome: io::Result<T>,
    ) -> Result<(), String> {
        let entry = self.counts.entry(what).or_default();
        let line = match &outcome {
            Ok(_) => {
                entry.0 += 1;
                format!("{what} {detail}: ok")
            }
            Err(err) => {
                entry.1 += 1;
                format!("{what} {detail}: {err}")
            }
        };
        if self.log.len() == 64 {
            self.log.pop_front();
        }
        self.log.push_back(line);
        let unsupported = self.no_fallocate && what == "fallocate";
        match outcome {
            Err(err) if unsupported && err.raw_os_error() == Some(EOPNOTSUPP) => Ok(()),
            Err(err)
                if !err
                    .raw_os_error()
                    .is_some_and(|errno| EXPECTED.contains(&errno)) =>
            {
                Err(format!("{what} {detail}: {err} (no race explains it)"))
            }
            _ => Ok(()),
        }
    }

    /// The regular file at `path`, or `None` for anything else that
    /// opened (a FIFO or a device: their answers to `fallocate` or
    /// `fsync` are the VFS's, not toyfs's).
    fn open(&self, path: &str, write: bool) -> io::Result<Option<File>> {
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(O_NOFOLLOW | O_NONBLOCK)
            .open(path)?;
        Ok(file.metadata()?.is_file().then_some(file))
    }

    /// One operation on names.
    fn names_op(&mut self) -> Result<(), String> {
        let (a, b) = (self.path(), self.path());
        match self.rng.below(14) {
            0 | 1 => {
                let len = self.rng.below(3 * 4096) as usize;
                let bytes = self.rng.bytes(len);
                let outcome = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&a)
                    .and_then(|file| file.write_all_at(&bytes, 0));
                self.done("create", format!("{a} {len}"), outcome)
            }
            2 | 3 => self.done("mkdir", a.clone(), fs::create_dir(&a)),
            4 => self.done("rmdir", a.clone(), fs::remove_dir(&a)),
            5 => self.done("unlink", a.clone(), fs::remove_file(&a)),
            6 => self.done("link", format!("{a} {b}"), fs::hard_link(&a, &b)),
            7 => {
                // A target inside the tree (it may name anything or
                // nothing) or a long one.
                let target = if self.rng.one_in(4) {
                    "x".repeat(1 + self.rng.below(1000) as usize)
                } else {
                    b.clone()
                };
                let outcome = std::os::unix::fs::symlink(&target, &a);
                self.done("symlink", format!("{a} -> {} bytes", target.len()), outcome)
            }
            8 => {
                // A FIFO, a socket, or /dev/null's number (1, 3).
                let (kind, mode, dev) = match self.rng.below(3) {
                    0 => ("fifo", 0o010_644, 0),
                    1 => ("sock", 0o140_644, 0),
                    _ => ("chr", 0o020_644, (1 << 8) | 3),
                };
                let outcome = sys::mknod(&a, mode, dev);
                self.done("mknod", format!("{kind} {a}"), outcome)
            }
            9..=11 => self.done("rename", format!("{a} {b}"), fs::rename(&a, &b)),
            12 => self.done(
                "rename_noreplace",
                format!("{a} {b}"),
                sys::rename_flags(&a, &b, sys::RENAME_NOREPLACE),
            ),
            _ => self.done(
                "rename_exchange",
                format!("{a} {b}"),
                sys::rename_flags(&a, &b, sys::RENAME_EXCHANGE),
            ),
        }
    }

    /// One operation on the data of whatever is at a path.
    fn data_op(&mut self) -> Result<(), String> {
        let a = self.path();
        let offset = self.rng.below(192 * 1024);
        let len = 1 + self.rng.below(20_000) as usize;
        match self.rng.below(10) {
            0..=2 => {
                let bytes = self.rng.bytes(len);
                let outcome = self.open(&a, true).and_then(|file| match file {
                    Some(file) => file.write_all_at(&bytes, offset),
                    None => Ok(()),
                });
                self.done("write", format!("{a} {offset} {len}"), outcome)
            }
            3 => {
                let outcome = self.open(&a, true).and_then(|file| match file {
                    Some(file) => {
                        let _shrink = self.shrink.write().unwrap_or_else(|err| err.into_inner());
                        file.set_len(offset)
                    }
                    None => Ok(()),
                });
                self.done("truncate", format!("{a} {offset}"), outcome)
            }
            4 => {
                // Punch, or zero, inside the file or across its end;
                // allocate inside it or past it, growing it or not
                // (KEEP_SIZE: blocks past the end).
                let mode = [
                    sys::FALLOC_FL_PUNCH_HOLE | sys::FALLOC_FL_KEEP_SIZE,
                    sys::FALLOC_FL_ZERO_RANGE,
                    sys::FALLOC_FL_ZERO_RANGE | sys::FALLOC_FL_KEEP_SIZE,
                    0,
                    sys::FALLOC_FL_KEEP_SIZE,
                ][self.rng.below(5) as usize];
                let outcome = self.open(&a, true).and_then(|file| match file {
                    Some(file) => sys::fallocate(&file, mode, offset, len as u64),
                    None => Ok(()),
                });
                self.done(
                    "fallocate",
                    format!("{a} {mode:#x} {offset} {len}"),
                    outcome,
                )
            }
            5 => {
                // A store through a shared mapping into the file's
                // last page, or inside it, then msync.
                let outcome = self.open(&a, true).and_then(|file| {
                    let Some(file) = file else { return Ok(()) };
                    let _shrink = self.shrink.read().unwrap_or_else(|err| err.into_inner());
                    let size = file.metadata()?.len();
                    if size == 0 {
                        return Ok(());
                    }
                    let at = (offset % size) as usize;
                    let map = Mapping::new(&file, (at / 4096 + 1) * 4096)?;
                    map.store(at, &[0x5a]);
                    map.sync()
                });
                self.done("mapwrite", format!("{a} {offset}"), outcome)
            }
            6 => {
                let data_only = self.rng.one_in(2);
                let outcome = self.open(&a, true).and_then(|file| match file {
                    None => Ok(()),
                    Some(file) if data_only => file.sync_data(),
                    Some(file) => file.sync_all(),
                });
                self.done("fsync", a.clone(), outcome)
            }
            7 => {
                let outcome = self.open(&a, false).and_then(|file| {
                    let Some(file) = file else { return Ok(()) };
                    let mut buf = vec![0; 64 * 1024];
                    let mut at = 0;
                    loop {
                        match file.read_at(&mut buf, at)? {
                            0 => break,
                            n => at += n as u64,
                        }
                    }
                    Ok(())
                });
                self.done("read", a.clone(), outcome)
            }
            8 => {
                let outcome = fs::read_dir(&a).and_then(|dir| {
                    for entry in dir {
                        let entry = entry?;
                        match entry.path().symlink_metadata() {
                            Err(err) if err.raw_os_error() == Some(2) => {}
                            other => {
                                other?;
                            }
                        }
                    }
                    Ok(())
                });
                self.done("readdir", a.clone(), outcome)
            }
            _ => self.done("stat", a.clone(), fs::symlink_metadata(&a)),
        }
    }
}

/// What the walk saw of one name.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    kind: &'static str,
    ino: u64,
    nlink: u64,
    size: u64,
    /// FNV-1a of a file's bytes, a symbolic link's target; a device's
    /// number.
    hash: u64,
}

fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for &byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Walks the tree under `dir` into `seen` (paths relative to `root`),
/// checking each directory's listing and link count.
fn walk(root: &str, dir: &str, seen: &mut BTreeMap<String, Seen>) -> Result<(), String> {
    let handle = File::open(dir).map_err(|err| format!("open {dir}: {err}"))?;
    let mut names = Vec::new();
    loop {
        let got = sys::getdents(&handle, 4096).map_err(|err| format!("getdents64 {dir}: {err}"))?;
        if got.is_empty() {
            break;
        }
        names.extend(
            got.into_iter()
                .map(|entry| String::from_utf8_lossy(&entry.name).into_owned()),
        );
    }
    names.sort();
    if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!("{dir}: {} listed twice", twice[0]));
    }
    let mut subdirs = 0;
    for name in names.iter().filter(|name| *name != "." && *name != "..") {
        let path = format!("{dir}/{name}");
        let meta = fs::symlink_metadata(&path).map_err(|err| format!("lstat {path}: {err}"))?;
        let kind = meta.file_type();
        let (kind, hash) = if kind.is_dir() {
            subdirs += 1;
            ("dir", 0)
        } else if kind.is_file() {
            let bytes = fs::read(&path).map_err(|err| format!("read {path}: {err}"))?;
            if bytes.len() as u64 != meta.len() {
                return Err(format!(
                    "{path}: read {} bytes of {}",
                    bytes.len(),
                    meta.len()
                ));
            }
            ("file", fnv(&bytes, 0xcbf2_9ce4_8422_2325))
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(|err| format!("readlink {path}: {err}"))?;
            (
                "symlink",
                fnv(target.as_os_str().as_encoded_bytes(), 0xcbf2_9ce4_8422_2325),
            )
        } else if kind.is_fifo() {
            ("fifo", 0)
        } else if kind.is_socket() {
            ("socket", 0)
        } else if kind.is_char_device() {
            ("chr", meta.rdev())
        } else {
            ("other", meta.rdev())
        };
        let relative = path[root.len()..].to_string();
        seen.insert(
            relative,
            Seen {
                kind,
                ino: meta.ino(),
                nlink: meta.nlink(),
                size: if kind == "dir" { 0 } else { meta.len() },
                hash,
            },
        );
        if kind == "dir" {
            walk(root, &path, seen)?;
        }
    }
    let nlink = fs::symlink_metadata(dir)
        .map_err(|err| format!("lstat {dir}: {err}"))?
        .nlink();
    if nlink != 2 + subdirs {
        return Err(format!(
            "{dir}: link count {nlink}, with {subdirs} subdirectories"
        ));
    }
    Ok(())
}

/// The whole tree, checked: each file's link count is its names.
fn tree(root: &str) -> Result<BTreeMap<String, Seen>, String> {
    let mut seen = BTreeMap::new();
    walk(root, root, &mut seen)?;
    let mut names: BTreeMap<u64, u64> = BTreeMap::new();
    for entry in seen.values().filter(|entry| entry.kind != "dir") {
        *names.entry(entry.ino).or_default() += 1;
    }
    for (path, entry) in seen.iter().filter(|(_, entry)| entry.kind != "dir") {
        if names[&entry.ino] != entry.nlink {
            return Err(format!(
                "{path}: link count {}, {} names in the tree",
                entry.nlink, names[&entry.ino]
            ));
        }
    }
    Ok(seen)
}

/// Runs the churn; returns the summary line.
pub fn run(
    threads: usize,
    seed: u64,
    seconds: u64,
    dir: &str,
    device: Option<(&str, &str, &str)>,
) -> Result<String, String> {
    let root = format!("{dir}/churn");
    fs::create_dir_all(&root).map_err(|err| format!("mkdir {root}: {err}"))?;
    println!("churn: seed {seed}, {threads} threads, {seconds} s, under {root}");
    let stop = AtomicBool::new(false);
    let shrink = RwLock::new(());
    let no_fallocate = device.is_some_and(|(_, fstype, _)| fstype != "toyfs");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let results: Vec<Result<(u64, String), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let (root, stop, shrink) = (&root, &stop, &shrink);
                scope.spawn(move || {
                    let mut thread = Thread {
                        rng: Rng::for_thread(seed, index),
                        root,
                        shrink,
                        no_fallocate,
                        log: VecDeque::new(),
                        counts: BTreeMap::new(),
                    };
                    let data = index % 3 == 2;
                    let mut ops = 0u64;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let outcome = if data { thread.data_op() } else { thread.names_op() };
                        ops += 1;
                        if let Err(err) = outcome {
                            stop.store(true, Ordering::Relaxed);
                            let log: Vec<_> = thread.log.into_iter().collect();
                            return Err(format!(
                                "thread {index} (seed {seed}), operation {ops}: {err}\nits last operations:\n{}",
                                log.join("\n")
                            ));
                        }
                    }
                    let counts: Vec<_> = thread
                        .counts
                        .iter()
                        .map(|(what, (ok, failed))| format!("{what} {ok}/{}", ok + failed))
                        .collect();
                    Ok((ops, format!("thread {index}: {ops} operations ({})", counts.join(", "))))
                })
            })
            .collect();
        join_all(handles)
    });
    let mut total = 0;
    let mut failure = None;
    for result in results {
        match result {
            Ok((ops, line)) => {
                total += ops;
                println!("churn: {line}");
            }
            Err(err) => failure = failure.or(Some(err)),
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    let before = tree(&root)?;
    let files = before.values().filter(|entry| entry.kind != "dir").count();
    println!(
        "churn: {total} operations; the tree holds {} names ({files} not directories)",
        before.len()
    );
    if let Some((device, fstype, fsck)) = device {
        sys::sync_filesystems();
        command(&["umount", dir])?;
        let fsck: Vec<&str> = fsck.split_whitespace().chain([device]).collect();
        command(&fsck)?;
        command(&["mount", "-t", fstype, device, dir])?;
        let after = tree(&root)?;
        if after != before {
            let differ = before
                .iter()
                .find(|(path, entry)| after.get(*path) != Some(entry))
                .map(|(path, entry)| {
                    format!("{path}: {entry:?} before, {:?} after", after.get(path))
                })
                .or_else(|| {
                    after
                        .keys()
                        .find(|path| !before.contains_key(*path))
                        .map(|path| format!("{path}: new after the remount"))
                })
                .unwrap_or_default();
            return Err(format!("the tree changed over the remount: {differ}"));
        }
    }
    Ok(format!("churn: {total} operations, the tree checked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread<'a>(shrink: &'a RwLock<()>, no_fallocate: bool) -> Thread<'a> {
        Thread {
            rng: Rng::new(1),
            root: "/nonexistent",
            shrink,
            no_fallocate,
            log: VecDeque::new(),
            counts: BTreeMap::new(),
        }
    }

    fn errno(errno: i32) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(errno))
    }

    #[test]
    fn only_a_race_explains_an_errno() {
        let shrink = RwLock::new(());
        let mut t = thread(&shrink, false);
        assert!(t.done("rename", "a b".into(), errno(2)).is_ok(), "ENOENT");
        assert!(t.done("rmdir", "a".into(), errno(39)).is_ok(), "ENOTEMPTY");
        assert!(t.done("write", "a".into(), errno(5)).is_err(), "EIO");
        assert!(t.done("mkdir", "a".into(), errno(117)).is_err(), "EUCLEAN");
        assert!(t.done("fallocate", "a".into(), errno(EOPNOTSUPP)).is_err());
        assert_eq!(t.log.len(), 5);
        assert_eq!(t.counts["rename"], (0, 1));
        let mut reference = thread(&shrink, true);
        assert!(reference
            .done("fallocate", "a".into(), errno(EOPNOTSUPP))
            .is_ok());
        assert!(reference
            .done("truncate", "a".into(), errno(EOPNOTSUPP))
            .is_err());
    }

    #[test]
    fn the_walk_sees_a_changed_byte_and_a_new_name() {
        let dir = std::env::temp_dir().join(format!("churn-walk-{}", std::process::id()));
        let root = dir.to_str().unwrap().to_string();
        fs::create_dir_all(dir.join("d")).unwrap();
        fs::write(dir.join("d/f"), b"abc").unwrap();
        fs::hard_link(dir.join("d/f"), dir.join("g")).unwrap();
        std::os::unix::fs::symlink("d/f", dir.join("s")).unwrap();
        let before = tree(&root).unwrap();
        assert_eq!(before.len(), 4);
        assert_eq!(before["/g"].nlink, 2);
        assert_eq!(tree(&root).unwrap(), before);
        fs::write(dir.join("d/f"), b"abd").unwrap();
        assert_ne!(tree(&root).unwrap(), before, "a changed byte");
        fs::write(dir.join("d/f"), b"abc").unwrap();
        fs::create_dir(dir.join("e")).unwrap();
        assert_ne!(tree(&root).unwrap(), before, "a new name");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn churn_on_the_host_passes() {
        let dir = std::env::temp_dir().join(format!("churn-run-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let result = run(4, 7, 1, dir.to_str().unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}
