// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress fail-nth`: every allocation of one system call failed in
//! turn (`/proc/thread-self/fail-nth`, Documentation/fault-injection:
//! "Systematic faults using fail-nth").
//!
//! For each operation (create, create growing its directory, mkdir, rename,
//! rename over a file, unlink, rmdir, an extending write, a shrinking
//! truncate, fsync, an `O_TMPFILE` file made and closed) and each
//! N = 1, 2, ...: the objects are set up, the N-th fault point of the call
//! is made to fail, and the outcome checked: a call that fails returns
//! `ENOMEM`, `EIO` or `ENOSPC` and changes nothing (an extending write
//! neither the bytes nor `st_blocks`); one that succeeds
//! (the failure was absorbed) leaves the state of a success.  It stops when
//! the call runs to its end before the N-th fault point.  The objects of
//! the last round stay, described by a manifest (src/faults.rs) for the
//! check after unmount, fsck and mount.

use crate::faults::{tolerated, write_manifest};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

/// More fault points than any of these calls has; reaching it is a failure
/// (the loop would not have ended).
const MAX_NTH: u32 = 2000;

type Check = Result<(), String>;

/// This thread's `fail-nth`.
struct FailNth(File);

impl FailNth {
    fn open() -> Result<Self, String> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open("/proc/thread-self/fail-nth")
            .map(Self)
            .map_err(|err| format!("/proc/thread-self/fail-nth: {err}"))
    }

    fn arm(&self, nth: u32) -> Result<(), String> {
        self.0
            .write_at(nth.to_string().as_bytes(), 0)
            .map(|_| ())
            .map_err(|err| format!("fail-nth {nth}: {err}"))
    }

    /// Whether the armed fault was injected; disarms.
    fn disarm(&self) -> Result<bool, String> {
        let mut buf = [0u8; 16];
        let len = self
            .0
            .read_at(&mut buf, 0)
            .map_err(|err| format!("reading fail-nth: {err}"))?;
        self.arm(0)?;
        let left = std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .ok_or("fail-nth: not a number")?;
        Ok(left == 0)
    }
}

/// What a file must hold, or that it must not exist (`None`).
fn expect_file(path: &str, want: Option<&[u8]>) -> Check {
    match (fs::read(path), want) {
        (Ok(got), Some(want)) if got == want => Ok(()),
        (Ok(got), Some(want)) => Err(format!(
            "{path}: {} bytes, expected {}{}",
            got.len(),
            want.len(),
            match got.iter().zip(want).position(|(a, b)| a != b) {
                Some(at) => format!(", first difference at {at}"),
                None => String::new(),
            }
        )),
        (Ok(_), None) => Err(format!("{path} exists")),
        (Err(err), None) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        (Err(err), _) => Err(format!("{path}: {err}")),
    }
}

fn expect_dir(path: &str, exists: bool) -> Check {
    match fs::metadata(path) {
        Ok(meta) if exists && meta.is_dir() => Ok(()),
        Err(err) if !exists && err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => Err(format!("{path}: {other:?}, expected exists: {exists}")),
    }
}

fn nlink(path: &str) -> Result<u64, String> {
    fs::metadata(path)
        .map(|meta| meta.nlink())
        .map_err(|err| format!("{path}: {err}"))
}

/// `st_blocks` of `path`.
fn blocks(path: &str) -> Result<u64, String> {
    fs::metadata(path)
        .map(|meta| meta.blocks())
        .map_err(|err| format!("{path}: {err}"))
}

fn expect_nlink(path: &str, want: u64) -> Check {
    match nlink(path)? {
        got if got == want => Ok(()),
        got => Err(format!("{path}: nlink {got}, expected {want}")),
    }
}

/// Removes `path`, file or directory, if it exists.
fn clear(path: &str) -> Check {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir(path),
        Ok(_) => fs::remove_file(path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => Err(err),
    };
    result.map_err(|err| format!("removing {path}: {err}"))
}

fn put(path: &str, data: &[u8]) -> Check {
    fs::write(path, data).map_err(|err| format!("writing {path}: {err}"))
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// One operation under test.
trait Operation {
    fn name(&self) -> &'static str;
    /// Makes the state before the call (injection off).
    fn set_up(&mut self) -> Check;
    /// The one system call; its byte count where it has one.
    fn call(&mut self) -> io::Result<usize>;
    /// Checks the state after the call (injection off).
    fn check(&mut self, outcome: &io::Result<usize>) -> Check;
}

/// Fails the N-th fault point of `op`'s call for N = 1, 2, ... until the
/// call no longer reaches it; returns a summary.
fn systematic(nth: &FailNth, op: &mut dyn Operation) -> Result<String, String> {
    let (mut failed, mut absorbed) = (0, 0);
    let name = op.name();
    for n in 1..=MAX_NTH {
        let context = |err: String| format!("{name} with fault point {n} failing: {err}");
        op.set_up().map_err(context)?;
        nth.arm(n)?;
        let outcome = op.call();
        let injected = nth.disarm()?;
        if let Err(err) = &outcome {
            if !tolerated(err) {
                return Err(context(format!(
                    "{err} (only ENOMEM, EIO, ENOSPC are expected)"
                )));
            }
            if !injected {
                return Err(context(format!("{err} with no fault injected")));
            }
            failed += 1;
        } else if injected {
            absorbed += 1;
        }
        op.check(&outcome).map_err(context)?;
        if !injected {
            return Ok(format!(
                "{}: {} fault points, {failed} made the call fail, {absorbed} were absorbed",
                op.name(),
                n - 1
            ));
        }
    }
    Err(format!("{}: more than {MAX_NTH} fault points", op.name()))
}

struct Create {
    path: String,
}

impl Operation for Create {
    fn name(&self) -> &'static str {
        "create"
    }
    fn set_up(&mut self) -> Check {
        clear(&self.path)
    }
    fn call(&mut self) -> io::Result<usize> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path)
            .map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        expect_file(&self.path, outcome.as_ref().ok().map(|_| &[][..]))
    }
}

/// A create that needs a new directory block: the directory is made
/// again each round with three entries of long names, which fill its
/// first block.
struct CreateInFullDir {
    dir: String,
}

impl CreateInFullDir {
    fn entry(&self, number: u32) -> String {
        format!("{}/{}{number}", self.dir, "n".repeat(250))
    }
}

impl Operation for CreateInFullDir {
    fn name(&self) -> &'static str {
        "create growing its directory"
    }
    fn set_up(&mut self) -> Check {
        for number in 0..4 {
            clear(&self.entry(number))?;
        }
        clear(&self.dir)?;
        fs::create_dir(&self.dir).map_err(|err| format!("mkdir {}: {err}", self.dir))?;
        (0..3).try_for_each(|number| put(&self.entry(number), b""))
    }
    fn call(&mut self) -> io::Result<usize> {
        File::create_new(self.entry(3)).map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        (0..3).try_for_each(|number| expect_file(&self.entry(number), Some(b"")))?;
        expect_file(&self.entry(3), outcome.as_ref().ok().map(|_| &[][..]))
    }
}

struct Mkdir {
    parent: String,
    path: String,
    parent_links: u64,
}

impl Operation for Mkdir {
    fn name(&self) -> &'static str {
        "mkdir"
    }
    fn set_up(&mut self) -> Check {
        clear(&self.path)?;
        self.parent_links = nlink(&self.parent)?;
        Ok(())
    }
    fn call(&mut self) -> io::Result<usize> {
        fs::create_dir(&self.path).map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        expect_dir(&self.path, outcome.is_ok())?;
        expect_nlink(&self.parent, self.parent_links + u64::from(outcome.is_ok()))?;
        if outcome.is_err() {
            // A directory block the failed call wrote and freed again
            // goes to the next file: its buffer, left dirty in the
            // device's cache, must not reach the disk over that file's
            // data (a failing iget freed it without cleaning the buffer).
            let after = format!("{}.file", self.path);
            let data = pattern(4096, 0x5c);
            put(&after, &data)?;
            crate::sys::sync_filesystems();
            crate::worker::drop_caches()?;
            expect_file(&after, Some(&data))?;
            clear(&after)?;
        }
        Ok(())
    }
}

struct Rmdir {
    parent: String,
    path: String,
    parent_links: u64,
}

impl Operation for Rmdir {
    fn name(&self) -> &'static str {
        "rmdir"
    }
    fn set_up(&mut self) -> Check {
        if fs::metadata(&self.path).is_err() {
            fs::create_dir(&self.path).map_err(|err| format!("mkdir {}: {err}", self.path))?;
        }
        self.parent_links = nlink(&self.parent)?;
        Ok(())
    }
    fn call(&mut self) -> io::Result<usize> {
        fs::remove_dir(&self.path).map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        expect_dir(&self.path, outcome.is_err())?;
        expect_nlink(&self.parent, self.parent_links - u64::from(outcome.is_ok()))
    }
}

/// `rename(from, to)`; `to` holds `target` first when it is `Some`.
struct Rename {
    from: String,
    to: String,
    moved: Vec<u8>,
    target: Option<Vec<u8>>,
}

impl Operation for Rename {
    fn name(&self) -> &'static str {
        if self.target.is_some() {
            "rename over a file"
        } else {
            "rename"
        }
    }
    fn set_up(&mut self) -> Check {
        clear(&self.to)?;
        put(&self.from, &self.moved)?;
        match &self.target {
            Some(target) => put(&self.to, target),
            None => Ok(()),
        }
    }
    fn call(&mut self) -> io::Result<usize> {
        fs::rename(&self.from, &self.to).map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        if outcome.is_ok() {
            expect_file(&self.from, None)?;
            expect_file(&self.to, Some(&self.moved))
        } else {
            expect_file(&self.from, Some(&self.moved))?;
            expect_file(&self.to, self.target.as_deref())
        }
    }
}

struct Unlink {
    path: String,
    data: Vec<u8>,
}

impl Operation for Unlink {
    fn name(&self) -> &'static str {
        "unlink"
    }
    fn set_up(&mut self) -> Check {
        put(&self.path, &self.data)
    }
    fn call(&mut self) -> io::Result<usize> {
        fs::remove_file(&self.path).map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        let want = outcome.is_err().then_some(&self.data[..]);
        expect_file(&self.path, want)
    }
}

/// A write past the end of a file, over a hole and across pages.
struct Extend {
    path: String,
    before: Vec<u8>,
    data: Vec<u8>,
    offset: usize,
    file: Option<File>,
    /// `st_blocks` before the call: a failed write gives back what it
    /// allocated, a tail grown for it included (FRAGMENTS).
    blocks: u64,
}

impl Operation for Extend {
    fn name(&self) -> &'static str {
        "extending write"
    }
    fn set_up(&mut self) -> Check {
        clear(&self.path)?;
        put(&self.path, &self.before)?;
        self.blocks = blocks(&self.path)?;
        let file = OpenOptions::new().write(true).open(&self.path);
        self.file = Some(file.map_err(|err| format!("open {}: {err}", self.path))?);
        Ok(())
    }
    fn call(&mut self) -> io::Result<usize> {
        match &self.file {
            Some(file) => file.write_at(&self.data, self.offset as u64),
            None => Ok(0),
        }
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        self.file = None;
        let mut want = self.before.clone();
        match outcome {
            Ok(written) => {
                // A short write is a success: the bytes it counts are there.
                want.resize(self.offset, 0);
                want.extend_from_slice(&self.data[..*written]);
            }
            Err(_) => match blocks(&self.path)? {
                got if got == self.blocks => {}
                got => {
                    return Err(format!(
                        "{}: st_blocks {} before the failed write, {got} after",
                        self.path, self.blocks
                    ))
                }
            },
        }
        expect_file(&self.path, Some(&want))
    }
}

/// A truncate into the middle of a block of a longer file.
struct Shrink {
    path: String,
    before: Vec<u8>,
    size: usize,
}

impl Operation for Shrink {
    fn name(&self) -> &'static str {
        "shrinking truncate"
    }
    fn set_up(&mut self) -> Check {
        clear(&self.path)?;
        put(&self.path, &self.before)
    }
    fn call(&mut self) -> io::Result<usize> {
        OpenOptions::new()
            .write(true)
            .open(&self.path)?
            .set_len(self.size as u64)
            .map(|_| 0)
    }
    fn check(&mut self, outcome: &io::Result<usize>) -> Check {
        match outcome {
            Ok(_) => expect_file(&self.path, Some(&self.before[..self.size])),
            Err(_) => expect_file(&self.path, Some(&self.before)),
        }
    }
}

/// fsync of freshly written data: it may fail, the data read back may not
/// change.
struct Fsync {
    path: String,
    data: Vec<u8>,
    file: Option<File>,
}

impl Operation for Fsync {
    fn name(&self) -> &'static str {
        "fsync"
    }
    fn set_up(&mut self) -> Check {
        clear(&self.path)?;
        put(&self.path, &self.data)?;
        let file = File::open(&self.path);
        self.file = Some(file.map_err(|err| format!("open {}: {err}", self.path))?);
        Ok(())
    }
    fn call(&mut self) -> io::Result<usize> {
        match &self.file {
            Some(file) => file.sync_all().map(|_| 0),
            None => Ok(0),
        }
    }
    fn check(&mut self, _outcome: &io::Result<usize>) -> Check {
        self.file = None;
        expect_file(&self.path, Some(&self.data))
    }
}

/// An `O_TMPFILE` file made in `dir` and closed: whether the call fails
/// or not, the filesystem's free inodes are as before once the file is
/// closed (review rev11: when the new inode's set-up failed, its
/// eviction freed the inode, and so did `tmpfile`'s error path: one free
/// inode too many, and a race with a create could free another file's).
struct Tmpfile {
    dir: String,
    free: u64,
    file: Option<File>,
}

impl Tmpfile {
    fn free_inodes(&self) -> Result<u64, String> {
        File::open(&self.dir)
            .and_then(|dir| crate::sys::free_inodes(&dir))
            .map_err(|err| format!("fstatfs {}: {err}", self.dir))
    }
}

impl Operation for Tmpfile {
    fn name(&self) -> &'static str {
        "O_TMPFILE"
    }
    fn set_up(&mut self) -> Check {
        self.file = None;
        self.free = self.free_inodes()?;
        Ok(())
    }
    fn call(&mut self) -> io::Result<usize> {
        use std::os::unix::fs::OpenOptionsExt;
        // Closed by `check`, with no fault armed.
        self.file = Some(
            OpenOptions::new()
                .read(true)
                .write(true)
                .mode(0o600)
                .custom_flags(crate::sys::O_TMPFILE)
                .open(&self.dir)?,
        );
        Ok(0)
    }
    fn check(&mut self, _outcome: &io::Result<usize>) -> Check {
        self.file = None;
        match self.free_inodes()? {
            free if free == self.free => Ok(()),
            free => Err(format!(
                "{} free inodes once the file is closed, {} before",
                free, self.free
            )),
        }
    }
}

/// Runs every operation in `dir` (which must exist), then writes
/// `manifest`; returns one summary line per operation.
pub(crate) fn run(dir: &str, manifest: &str) -> Result<String, String> {
    let nth = FailNth::open()?;
    let path = |name: &str| format!("{dir}/{name}");
    let sub = path("sub");
    fs::create_dir(&sub).map_err(|err| format!("mkdir {sub}: {err}"))?;
    let mut ops: Vec<Box<dyn Operation>> = vec![
        Box::new(Create {
            path: path("created"),
        }),
        Box::new(CreateInFullDir { dir: path("full") }),
        Box::new(Mkdir {
            parent: sub.clone(),
            path: format!("{sub}/made"),
            parent_links: 0,
        }),
        Box::new(Rmdir {
            parent: dir.to_string(),
            path: path("removed-dir"),
            parent_links: 0,
        }),
        Box::new(Rename {
            from: path("renamed-from"),
            to: format!("{sub}/renamed-to"),
            moved: pattern(3000, 1),
            target: None,
        }),
        Box::new(Rename {
            from: path("moved-over"),
            to: format!("{sub}/target"),
            moved: pattern(5000, 2),
            target: Some(pattern(7000, 3)),
        }),
        Box::new(Unlink {
            path: path("unlinked"),
            data: pattern(2000, 4),
        }),
        Box::new(Extend {
            path: path("extended"),
            before: pattern(1500, 5),
            data: pattern(9000, 6),
            offset: 5000,
            file: None,
            blocks: 0,
        }),
        Box::new(Shrink {
            path: path("shrunk"),
            before: pattern(20_000, 7),
            size: 2500,
        }),
        Box::new(Fsync {
            path: path("synced"),
            data: pattern(6000, 8),
            file: None,
        }),
        Box::new(Tmpfile {
            dir: dir.to_string(),
            free: 0,
            file: None,
        }),
    ];
    let mut summary = Vec::new();
    for op in &mut ops {
        summary.push(systematic(&nth, op.as_mut())?);
    }
    // What the last rounds left, each a success: checked after remount.
    let mut files = Vec::new();
    for name in ["created", "extended", "shrunk", "synced"] {
        files.push((
            path(name),
            fs::read(path(name)).map_err(|err| err.to_string())?,
        ));
    }
    for name in ["renamed-to", "target"] {
        let name = format!("{sub}/{name}");
        files.push((
            name.clone(),
            fs::read(&name).map_err(|err| err.to_string())?,
        ));
    }
    let files: Vec<_> = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    let absent = ["renamed-from", "moved-over", "unlinked", "removed-dir"].map(path);
    write_manifest(
        manifest,
        &files,
        &absent,
        &[sub.clone(), format!("{sub}/made")],
    )?;
    Ok(summary.join("\n"))
}
