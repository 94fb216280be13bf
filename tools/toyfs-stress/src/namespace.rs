// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress namespace SEED OPS DIR [DEVICE FSTYPE FSCK]`: fsstress's
//! namespace churn, checked against a model of the tree.
//!
//! One thread creates, writes, links, unlinks, renames (files, symbolic
//! links, FIFOs and directories, across directories, over files and
//! empty directories), makes symbolic links (targets of 1 to 4095 bytes,
//! and one of 4096, `ENAMETOOLONG`) and FIFOs, makes and removes
//! directories under DIR, with names from a few short
//! ones (so that they collide) and long ones up to `NAME_MAX` and one
//! past it.  Each call must succeed or fail with the errno Linux gives
//! (POSIX's where it fixes one): `EEXIST`, `ENOENT`, `EISDIR`,
//! `ENOTDIR`, `ENOTEMPTY`, `EINVAL` (a directory into itself), `EPERM`
//! (a link to a directory), `ENAMETOOLONG`.  Every 50 calls, and after
//! each remount (every 400 calls with DEVICE: unmount, FSCK, mount) the
//! whole tree is compared with the model: the names of each directory,
//! each entry's type (`lstat`'s and `readdir`'s `d_type`), each file's
//! bytes, each symbolic link's target, and their link counts, one inode for
//! all the names of a file, and each directory's link count (2 and one
//! for each subdirectory).

use crate::sys::{EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EPERM};
use seeded_rng::Rng;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use toyfs_format::FileType;

/// What a name in the model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    /// Anything but a directory (a regular file, a symbolic link, a
    /// FIFO), by its number in `Model::files` and `Model::kinds`.
    File(usize),
}

/// What a non-directory of the model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Regular,
    /// Its target is its `Model::files` bytes.
    Symlink,
    Fifo,
}

/// The tree under DIR.
struct Model {
    /// Every name by its path below DIR (no leading slash; DIR itself,
    /// the root, is "" and not listed).
    entries: BTreeMap<String, Entry>,
    /// The bytes of each file ever made (a symbolic link's target; none
    /// for a FIFO), by number.
    files: Vec<Vec<u8>>,
    /// What each is, by number.
    kinds: Vec<Kind>,
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn join(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

impl Model {
    fn children(&self, dir: &str) -> Vec<(&str, Entry)> {
        self.entries
            .iter()
            .filter(|(path, _)| parent(path) == dir)
            .map(|(path, &entry)| (path.as_str(), entry))
            .collect()
    }

    fn links(&self, file: usize) -> u64 {
        let named = self.entries.values().filter(|&&e| e == Entry::File(file));
        named.count() as u64
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.entries.get(path) == Some(&Entry::Dir)
    }

    /// A new non-directory `path` of `kind` holding `bytes`.
    fn add(&mut self, path: String, kind: Kind, bytes: Vec<u8>) {
        self.files.push(bytes);
        self.kinds.push(kind);
        self.entries.insert(path, Entry::File(self.files.len() - 1));
    }
}

/// One run.
struct Namespace {
    rng: Rng,
    root: String,
    model: Model,
    /// The last calls, for the message of a failure.
    history: Vec<String>,
    /// How many calls gave each errno (0: success).
    results: BTreeMap<i32, u64>,
    /// Whether every symbolic link target up to 4095 bytes must be
    /// taken (toyfs); elsewhere one of a block or more may be refused
    /// with `ENAMETOOLONG` (ext2's limit is its block size).
    all_targets: bool,
}

/// What a call returned, as an errno (0: success).
fn errno<T>(result: &io::Result<T>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(err) => err.raw_os_error().unwrap_or(-1),
    }
}

impl Namespace {
    fn real(&self, path: &str) -> String {
        join(&self.root, path)
    }

    /// A name: mostly one of a few short ones, sometimes a long one, now
    /// and then one byte past `NAME_MAX`.
    fn name(&mut self) -> String {
        match self.rng.below(40) {
            0 => "n".repeat(256),
            1..=3 => format!("{}{}", "l".repeat(250), self.rng.below(3)),
            _ => ["a", "b", "c", "d", "e", "f"][self.rng.below(6) as usize].to_string(),
        }
    }

    /// A directory (the root too).
    fn some_dir(&mut self) -> String {
        let dirs: Vec<&String> = self
            .model
            .entries
            .iter()
            .filter(|(_, &e)| e == Entry::Dir)
            .map(|(path, _)| path)
            .collect();
        match self.rng.below(dirs.len() as u64 + 1) as usize {
            0 => String::new(),
            i => dirs[i - 1].clone(),
        }
    }

    /// A name that exists, or a new one in an existing directory.
    fn some_path(&mut self) -> String {
        if self.model.entries.is_empty() || self.rng.one_in(8) {
            let dir = self.some_dir();
            let name = self.name();
            return join(&dir, &name);
        }
        let i = self.rng.below(self.model.entries.len() as u64) as usize;
        self.model.entries.keys().nth(i).expect("in range").clone()
    }

    fn check(&mut self, what: String, got: i32, want: &[i32]) -> Result<bool, String> {
        *self.results.entry(got).or_default() += 1;
        self.history.push(what.clone());
        if self.history.len() > 40 {
            self.history.remove(0);
        }
        if !want.contains(&got) {
            return Err(format!("{what}: errno {got}, expected one of {want:?}"));
        }
        Ok(got == 0)
    }

    fn too_long(path: &str) -> bool {
        path.rsplit('/').next().is_some_and(|name| name.len() > 255)
    }

    fn create(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let len = self.rng.below(3000) as usize;
        let data = self.rng.bytes(len);
        let want = match self.model.entries.get(&path) {
            _ if Self::too_long(&path) => ENAMETOOLONG,
            Some(_) => EEXIST,
            None => 0,
        };
        let result = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.real(&path))
            .and_then(|mut file| file.write_all(&data));
        let got = errno(&result);
        if self.check(format!("create {path} ({len} bytes)"), got, &[want])? {
            self.model.add(path, Kind::Regular, data);
        }
        Ok(())
    }

    /// `symlink(target, path)`: a target of printable bytes, mostly
    /// short, sometimes of 4095 bytes (`PATH_MAX - 1`) or one more, which
    /// the VFS refuses (`ENAMETOOLONG`) before it looks at the name.
    fn symlink(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let len = match self.rng.below(20) {
            0 => 4095,
            1 => 4096,
            _ => 1 + self.rng.below(300) as usize,
        };
        let target: Vec<u8> = self
            .rng
            .bytes(len)
            .into_iter()
            .map(|byte| b'!' + byte % 90)
            .collect();
        let want = match self.model.entries.get(&path) {
            _ if len > 4095 => ENAMETOOLONG,
            _ if Self::too_long(&path) => ENAMETOOLONG,
            Some(_) => EEXIST,
            None => 0,
        };
        // ext2 refuses a target that with its NUL is larger than a block
        // (1024 bytes at the least), after the checks of the name.
        let want: &[i32] = match want {
            0 if len >= 1024 && !self.all_targets => &[0, ENAMETOOLONG],
            _ => &[want],
        };
        let text = String::from_utf8(target.clone()).expect("printable");
        let got = errno(&std::os::unix::fs::symlink(&text, self.real(&path)));
        if self.check(format!("symlink ({len} bytes) {path}"), got, want)? {
            self.model.add(path, Kind::Symlink, target);
        }
        Ok(())
    }

    /// `mkfifo(path)`.
    fn mkfifo(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let want = match self.model.entries.get(&path) {
            _ if Self::too_long(&path) => ENAMETOOLONG,
            Some(_) => EEXIST,
            None => 0,
        };
        let got = errno(&crate::sys::mkfifo(&self.real(&path)));
        if self.check(format!("mkfifo {path}"), got, &[want])? {
            self.model.add(path, Kind::Fifo, Vec::new());
        }
        Ok(())
    }

    fn mkdir(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let want = match self.model.entries.get(&path) {
            _ if Self::too_long(&path) => ENAMETOOLONG,
            Some(_) => EEXIST,
            None => 0,
        };
        let got = errno(&fs::create_dir(self.real(&path)));
        if self.check(format!("mkdir {path}"), got, &[want])? {
            self.model.entries.insert(path, Entry::Dir);
        }
        Ok(())
    }

    fn unlink(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let want = match self.model.entries.get(&path) {
            _ if Self::too_long(&path) => ENAMETOOLONG,
            None => ENOENT,
            Some(Entry::Dir) => EISDIR,
            Some(Entry::File(_)) => 0,
        };
        let got = errno(&fs::remove_file(self.real(&path)));
        if self.check(format!("unlink {path}"), got, &[want])? {
            self.model.entries.remove(&path);
        }
        Ok(())
    }

    fn rmdir(&mut self) -> Result<(), String> {
        let path = self.some_path();
        let want = match self.model.entries.get(&path) {
            _ if Self::too_long(&path) => ENAMETOOLONG,
            None => ENOENT,
            Some(Entry::File(_)) => ENOTDIR,
            Some(Entry::Dir) if !self.model.children(&path).is_empty() => ENOTEMPTY,
            Some(Entry::Dir) => 0,
        };
        let got = errno(&fs::remove_dir(self.real(&path)));
        if self.check(format!("rmdir {path}"), got, &[want])? {
            self.model.entries.remove(&path);
        }
        Ok(())
    }

    fn link(&mut self) -> Result<(), String> {
        let from = self.some_path();
        let to = self.some_path();
        // Linux looks the source up, then creates the target's name, then
        // refuses a directory.
        let want = match (self.model.entries.get(&from), self.model.entries.get(&to)) {
            _ if Self::too_long(&from) => ENAMETOOLONG,
            (None, _) => ENOENT,
            _ if Self::too_long(&to) => ENAMETOOLONG,
            (_, Some(_)) => EEXIST,
            (Some(Entry::Dir), None) => EPERM,
            (Some(Entry::File(_)), None) => 0,
        };
        let got = errno(&fs::hard_link(self.real(&from), self.real(&to)));
        if self.check(format!("link {from} {to}"), got, &[want])? {
            let entry = self.model.entries[&from];
            self.model.entries.insert(to, entry);
        }
        Ok(())
    }

    /// The errnos `rename(from, to)` may give (0: it succeeds), as
    /// Linux checks them: the names, a directory into itself, a target
    /// that is an ancestor of the source, then the types.
    fn rename_errnos(&self, from: &str, to: &str) -> Vec<i32> {
        let (old, new) = (self.model.entries.get(from), self.model.entries.get(to));
        if Self::too_long(from) {
            return vec![ENAMETOOLONG];
        }
        let Some(&old) = old else {
            return vec![ENOENT];
        };
        if Self::too_long(to) {
            return vec![ENAMETOOLONG];
        }
        if old == Entry::Dir && to != from && within(to, from) {
            return vec![EINVAL];
        }
        if new.is_some() && from != to && within(from, to) {
            return vec![ENOTEMPTY];
        }
        match (old, new) {
            (_, None) => vec![0],
            _ if from == to => vec![0],
            (Entry::File(a), Some(&Entry::File(b))) if a == b => vec![0],
            (Entry::Dir, Some(Entry::File(_))) => vec![ENOTDIR],
            (Entry::File(_), Some(Entry::Dir)) => vec![EISDIR],
            (Entry::Dir, Some(Entry::Dir)) if !self.model.children(to).is_empty() => {
                vec![ENOTEMPTY, EEXIST]
            }
            _ => vec![0],
        }
    }

    fn rename(&mut self) -> Result<(), String> {
        let from = self.some_path();
        let to = match self.rng.below(6) {
            // Into a directory of itself, or onto an ancestor.
            0 if self.model.is_dir(&from) => {
                let name = self.name();
                join(&from, &name)
            }
            1 => parent(&from).to_string(),
            _ => self.some_path(),
        };
        if to.is_empty() || from.is_empty() {
            return Ok(());
        }
        let want = self.rename_errnos(&from, &to);
        let got = errno(&fs::rename(self.real(&from), self.real(&to)));
        let old = self.model.entries.get(&from).copied();
        let same_file = matches!(
            (old, self.model.entries.get(&to)),
            (Some(Entry::File(a)), Some(&Entry::File(b))) if a == b
        );
        if self.check(format!("rename {from} {to}"), got, &want)? && from != to && !same_file {
            // The target and everything below it goes; the source and
            // everything below it moves.
            self.model.entries.retain(|path, _| !within(path, &to));
            let moved: Vec<(String, Entry)> = self
                .model
                .entries
                .iter()
                .filter(|(path, _)| within(path, &from))
                .map(|(path, &e)| (format!("{to}{}", &path[from.len()..]), e))
                .collect();
            self.model.entries.retain(|path, _| !within(path, &from));
            self.model.entries.extend(moved);
        }
        Ok(())
    }

    fn write(&mut self) -> Result<(), String> {
        let files: Vec<(String, usize)> = self
            .model
            .entries
            .iter()
            .filter_map(|(path, &e)| match e {
                Entry::File(id) if self.model.kinds[id] == Kind::Regular => {
                    Some((path.clone(), id))
                }
                _ => None,
            })
            .collect();
        if files.is_empty() {
            return Ok(());
        }
        let (path, id) = files[self.rng.below(files.len() as u64) as usize].clone();
        let size = self.model.files[id].len() as u64;
        let offset = self.rng.below(size + 500);
        let len = 1 + self.rng.below(2000) as usize;
        let data = self.rng.bytes(len);
        let result = OpenOptions::new()
            .write(true)
            .open(self.real(&path))
            .and_then(|file| {
                use std::os::unix::fs::FileExt;
                file.write_all_at(&data, offset)
            });
        let got = errno(&result);
        if self.check(format!("write {len} at {offset} of {path}"), got, &[0])? {
            let bytes = &mut self.model.files[id];
            let end = offset as usize + len;
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[offset as usize..end].copy_from_slice(&data);
        }
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), String> {
        let dir = self.some_dir();
        let result = File::open(self.real(&dir)).and_then(|d| d.sync_all());
        let got = errno(&result);
        self.check(format!("fsync of directory {dir:?}"), got, &[0])
            .map(|_| ())
    }

    /// The tree against the model.
    fn verify(&self, when: &str) -> Result<(), String> {
        let failed = |err: String| format!("{when}: {err}");
        let mut inodes: BTreeMap<usize, u64> = BTreeMap::new();
        let dirs = std::iter::once(String::new()).chain(
            self.model
                .entries
                .iter()
                .filter(|(_, &e)| e == Entry::Dir)
                .map(|(path, _)| path.clone()),
        );
        for dir in dirs {
            // Each name with its type from `d_type` (std asks `lstat`
            // only for `DT_UNKNOWN`).
            let mut names: Vec<(String, &str)> = fs::read_dir(self.real(&dir))
                .map_err(|err| failed(format!("readdir {dir:?}: {err}")))?
                .map(|entry| {
                    entry.and_then(|e| {
                        let kind = FileType::word_of(e.file_type()?);
                        Ok((e.file_name().to_string_lossy().into_owned(), kind))
                    })
                })
                .collect::<io::Result<_>>()
                .map_err(|err| failed(format!("readdir {dir:?}: {err}")))?;
            names.sort();
            let children = self.model.children(&dir);
            let mut want: Vec<(String, &str)> = children
                .iter()
                .map(|&(path, entry)| {
                    let name = path.rsplit('/').next().expect("a name").to_string();
                    let kind = match entry {
                        Entry::Dir => FileType::Directory.word(),
                        Entry::File(id) => type_name_of(self.model.kinds[id]),
                    };
                    (name, kind)
                })
                .collect();
            want.sort();
            if names != want {
                return Err(failed(format!(
                    "directory {dir:?} lists {names:?}, expected {want:?}"
                )));
            }
            let meta = fs::symlink_metadata(self.real(&dir))
                .map_err(|err| failed(format!("stat {dir:?}: {err}")))?;
            let subdirs = children.iter().filter(|(_, e)| *e == Entry::Dir).count() as u64;
            if !meta.is_dir() || meta.nlink() != 2 + subdirs {
                return Err(failed(format!(
                    "directory {dir:?}: {} links, expected {} (2 and {subdirs} subdirectories)",
                    meta.nlink(),
                    2 + subdirs
                )));
            }
            for (path, entry) in children {
                let Entry::File(id) = entry else { continue };
                let meta = fs::symlink_metadata(self.real(path))
                    .map_err(|err| failed(format!("stat {path}: {err}")))?;
                let kind = self.model.kinds[id];
                let seen = FileType::word_of(meta.file_type());
                if seen != type_name_of(kind) || meta.nlink() != self.model.links(id) {
                    return Err(failed(format!(
                        "{path}: a {seen} with {} links, expected a {} with {}",
                        meta.nlink(),
                        type_name_of(kind),
                        self.model.links(id)
                    )));
                }
                if *inodes.entry(id).or_insert(meta.ino()) != meta.ino() {
                    return Err(failed(format!(
                        "{path}: inode {}, another name of the file has {}",
                        meta.ino(),
                        inodes[&id]
                    )));
                }
                let got = match kind {
                    Kind::Regular => fs::read(self.real(path)),
                    Kind::Symlink => fs::read_link(self.real(path))
                        .map(|target| target.into_os_string().into_encoded_bytes()),
                    Kind::Fifo => Ok(Vec::new()),
                }
                .map_err(|err| failed(format!("read {path}: {err}")))?;
                if got != self.model.files[id] {
                    return Err(failed(format!(
                        "{path}: {} bytes differ from the model's {}",
                        got.len(),
                        self.model.files[id].len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The word of a model's file kind: [`FileType::word`], as the type read
/// back is named.
fn type_name_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Regular => FileType::Regular,
        Kind::Symlink => FileType::Symlink,
        Kind::Fifo => FileType::Fifo,
    }
    .word()
}

/// Runs `line` (a program and its arguments); its failure as an error.
pub(crate) fn command(line: &[&str]) -> Result<(), String> {
    let status = Command::new(line[0])
        .args(&line[1..])
        .status()
        .map_err(|err| format!("{line:?}: {err}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{line:?}: {status}")),
    }
}

/// Runs `ops` calls in `dir` from `seed`; with `device`, `dir` is
/// unmounted, checked with `fsck` and mounted again as `fstype` every 400
/// calls and at the end.
pub fn run(
    seed: u64,
    ops: u64,
    dir: &str,
    device: Option<(&str, &str, &str)>,
) -> Result<String, String> {
    let root = format!("{dir}/ns");
    fs::create_dir(&root).map_err(|err| format!("mkdir {root}: {err}"))?;
    let mut run = Namespace {
        rng: Rng::new(seed),
        root,
        model: Model {
            entries: BTreeMap::new(),
            files: Vec::new(),
            kinds: Vec::new(),
        },
        history: Vec::new(),
        results: BTreeMap::new(),
        all_targets: device.is_some_and(|(_, fstype, _)| fstype == "toyfs"),
    };
    let replay = |err: String, history: &[String]| {
        format!(
            "seed {seed}: {err}\n  last calls: {}\ntoyfs-stress: replay: toyfs-stress namespace {seed} {ops} {dir}{}",
            crate::worker::history_lines(history.iter().map(String::as_str)),
            device.map_or(String::new(), |(d, t, f)| format!(" {d} {t} '{f}'"))
        )
    };
    for op in 1..=ops {
        // Past 150 names, mostly removals: the tree stays small enough
        // for a 4 MiB ramdisk.
        let crowded = run.model.entries.len() > 150;
        let result = match run.rng.below(if crowded { 4 } else { 22 }) {
            0 => run.unlink(),
            1 => run.rmdir(),
            2 | 3 => run.rename(),
            4..=6 => run.create(),
            7..=8 => run.mkdir(),
            9..=10 => run.link(),
            11..=14 => run.rename(),
            15..=17 => run.write(),
            18 => run.symlink(),
            19 => run.mkfifo(),
            _ => run.sync_dir(),
        };
        result.map_err(|err| replay(format!("call {op}: {err}"), &run.history))?;
        let remount = op % 400 == 0 || op == ops;
        if let (true, Some((device, fstype, fsck))) = (remount, device) {
            command(&["umount", dir])
                .and_then(|()| {
                    let mut line: Vec<&str> = fsck.split_whitespace().collect();
                    line.push(device);
                    command(&line)
                })
                .and_then(|()| command(&["mount", "-t", fstype, device, dir]))
                .map_err(|err| replay(format!("after call {op}: {err}"), &run.history))?;
        }
        if op % 50 == 0 || remount {
            run.verify(&format!("after call {op}"))
                .map_err(|err| replay(err, &run.history))?;
        }
    }
    fs::remove_dir_all(&run.root).map_err(|err| format!("rm -r {}: {err}", run.root))?;
    let results: Vec<String> = run
        .results
        .iter()
        .map(|(errno, count)| format!("{count} x {errno}"))
        .collect();
    Ok(format!(
        "seed {seed}: {ops} calls on names, every result and the tree as expected \
         (errnos: {})",
        results.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(entries: &[(&str, Entry)]) -> Namespace {
        Namespace {
            rng: Rng::new(1),
            root: "/nowhere".into(),
            model: Model {
                entries: entries.iter().map(|&(p, e)| (p.to_string(), e)).collect(),
                files: vec![Vec::new(); 3],
                kinds: vec![Kind::Regular; 3],
            },
            history: Vec::new(),
            results: BTreeMap::new(),
            all_targets: true,
        }
    }

    #[test]
    fn rename_errnos_follow_linux() {
        let ns = run_with(&[
            ("d", Entry::Dir),
            ("d/e", Entry::Dir),
            ("d/e/f", Entry::File(0)),
            ("g", Entry::Dir),
            ("h", Entry::File(0)),
            ("i", Entry::File(1)),
        ]);
        assert_eq!(ns.rename_errnos("d", "d/e/x"), [EINVAL], "into itself");
        assert_eq!(
            ns.rename_errnos("d/e/f", "d"),
            [ENOTEMPTY],
            "onto an ancestor"
        );
        assert_eq!(ns.rename_errnos("d", "h"), [ENOTDIR]);
        assert_eq!(ns.rename_errnos("h", "g"), [EISDIR]);
        assert_eq!(ns.rename_errnos("g", "d"), [ENOTEMPTY, EEXIST]);
        assert_eq!(ns.rename_errnos("d", "g"), [0], "over an empty directory");
        assert_eq!(ns.rename_errnos("h", "d/e/f"), [0], "two names of one file");
        assert_eq!(ns.rename_errnos("h", "i"), [0]);
        assert_eq!(ns.rename_errnos("x", "i"), [ENOENT]);
        let long = "n".repeat(256);
        assert_eq!(ns.rename_errnos("x", &long), [ENOENT], "the source first");
        assert_eq!(ns.rename_errnos("h", &long), [ENAMETOOLONG]);
        assert!(within("d/e/f", "d") && within("d", "d") && !within("dd", "d"));
        assert_eq!(ns.model.links(0), 2);
        assert_eq!(ns.model.children("d").len(), 1);
    }
}
