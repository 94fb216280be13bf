// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress faults`: a seeded file and directory workload that runs
//! with fault injection switched on for this process only
//! (`/proc/self/make-it-fail`, with failslab and fail_page_alloc set to
//! `task-filter=Y` by the caller, scripts/guest/faults.sh).
//!
//! Every system call may fail, but only with `ENOMEM`, `EIO` or `ENOSPC`;
//! any other error fails the run.  A read of a file none of whose
//! operations failed must return exactly what was written.  An operation
//! that fails leaves its objects uncertain (a failed write may have written
//! part, a failed rename may have happened or not): they are abandoned,
//! never touched again and not checked.  Names are never reused, so no
//! later operation can trip over an abandoned one.
//!
//! At the end injection is switched off, every file still certain is
//! fsynced (which must succeed) and a manifest is written for the check
//! after unmount, fsck and mount:
//!
//! ```text
//! file PATH REFERENCE   PATH must hold exactly the bytes of REFERENCE
//! absent PATH           PATH was removed (unlink, rename, rmdir) and must not exist
//! dir PATH              PATH must be a directory
//! ```

use seeded_rng::Rng;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// Largest file the workload writes: a few pages, direct and indirect
/// blocks (1 KiB blocks), small enough that the buffers never grow.
const MAX_SIZE: usize = 48 * 1024;
/// Files that may exist at once; their buffers are allocated up front.
const MAX_FILES: usize = 24;

pub(crate) const ENOMEM: i32 = 12;
pub(crate) const EIO: i32 = 5;
pub(crate) const ENOSPC: i32 = 28;

/// The errors an allocation failure may honestly surface as.
pub(crate) fn tolerated(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(ENOMEM | EIO | ENOSPC))
}

/// This process's `/proc/self/make-it-fail`, opened before injection
/// starts so that switching it off needs no allocation that could fail.
struct FailSwitch(File);

impl FailSwitch {
    fn open() -> Result<Self, String> {
        OpenOptions::new()
            .write(true)
            .open("/proc/self/make-it-fail")
            .map(Self)
            .map_err(|err| format!("/proc/self/make-it-fail: {err}"))
    }

    fn set(&self, on: bool) -> io::Result<()> {
        self.0.write_at(if on { b"1" } else { b"0" }, 0).map(|_| ())
    }

    /// Switches injection off; retried, since the write itself may fail
    /// while it is on.
    fn off(&self) -> Result<(), String> {
        let mut last = None;
        for _ in 0..1000 {
            match self.set(false) {
                Ok(()) => return Ok(()),
                Err(err) => last = Some(err),
            }
        }
        Err(format!("cannot switch fault injection off: {last:?}"))
    }
}

/// A file none of whose operations failed, and what it holds.
struct Certain {
    path: String,
    data: Vec<u8>,
}

/// The workload's state.
struct Workload {
    rng: Rng,
    files: Vec<Certain>,
    /// Directories that exist for certain; the first is the top one.
    dirs: Vec<String>,
    /// Directories never used for a file or a directory: rmdir candidates.
    empty_dirs: Vec<String>,
    /// Names removed for certain.
    absent: Vec<String>,
    /// Buffers of `MAX_SIZE` capacity, allocated and touched before
    /// injection starts (a failed heap growth would abort the process).
    spare: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    next_name: u64,
    abandoned: u64,
    failures: [u64; 3],
}

type Outcome = Result<(), String>;

impl Workload {
    fn new(seed: u64, dir: &str) -> Self {
        let buffer = || {
            let mut buf = vec![1u8; MAX_SIZE];
            buf.clear();
            buf
        };
        Self {
            rng: Rng::new(seed),
            files: Vec::with_capacity(MAX_FILES),
            dirs: vec![dir.to_string()],
            empty_dirs: Vec::new(),
            absent: Vec::new(),
            spare: (0..MAX_FILES).map(|_| buffer()).collect(),
            scratch: vec![1u8; MAX_SIZE + 4096],
            next_name: 0,
            abandoned: 0,
            failures: [0; 3],
        }
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        let dir = &self.dirs[self.rng.below(self.dirs.len() as u64) as usize];
        self.empty_dirs.retain(|empty| empty != dir);
        self.next_name += 1;
        format!("{dir}/{prefix}{}", self.next_name)
    }

    /// Sorts a failure: counted if tolerated, the run's end if not.
    fn failed(&mut self, what: &str, err: &io::Error) -> Outcome {
        match err.raw_os_error() {
            Some(ENOMEM) => self.failures[0] += 1,
            Some(EIO) => self.failures[1] += 1,
            Some(ENOSPC) => self.failures[2] += 1,
            _ => {}
        }
        if tolerated(err) {
            Ok(())
        } else {
            Err(format!(
                "{what}: {err} (only ENOMEM, EIO, ENOSPC are expected)"
            ))
        }
    }

    /// Forgets file `index` after a failed operation on it.
    fn abandon(&mut self, index: usize) {
        let file = self.files.swap_remove(index);
        self.spare.push(file.data);
        self.abandoned += 1;
    }

    fn open(path: &str) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }

    fn create(&mut self) -> Outcome {
        if self.files.len() == MAX_FILES {
            return Ok(());
        }
        let path = self.fresh_name("f");
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => {
                let mut data = self.spare.pop().unwrap_or_default();
                data.clear();
                self.files.push(Certain { path, data });
                Ok(())
            }
            Err(err) => {
                self.abandoned += 1;
                self.failed(&format!("create {path}"), &err)
            }
        }
    }

    fn write(&mut self, index: usize) -> Outcome {
        let size = self.files[index].data.len();
        let offset = self.rng.below((size + 4000).min(MAX_SIZE - 1) as u64) as usize;
        let len = 1 + self.rng.below(8000.min(MAX_SIZE - offset) as u64) as usize;
        for byte in &mut self.scratch[..len] {
            *byte = self.rng.next_u64() as u8;
        }
        let path = &self.files[index].path;
        let result = Self::open(path)
            .and_then(|file| file.write_all_at(&self.scratch[..len], offset as u64));
        match result {
            Ok(()) => {
                let data = &mut self.files[index].data;
                if data.len() < offset + len {
                    data.resize(offset + len, 0);
                }
                data[offset..offset + len].copy_from_slice(&self.scratch[..len]);
                Ok(())
            }
            Err(err) => {
                let what = format!("write {len} at {offset} of {path}");
                self.abandon(index);
                self.failed(&what, &err)
            }
        }
    }

    fn read(&mut self, index: usize) -> Outcome {
        let size = self.files[index].data.len();
        let offset = self.rng.below(size as u64 + 2000) as usize;
        let len = 1 + self.rng.below(MAX_SIZE as u64) as usize;
        let path = self.files[index].path.clone();
        let opened = match File::open(&path) {
            Ok(opened) => opened,
            Err(err) => return self.failed(&format!("open {path}"), &err),
        };
        let mut done = 0;
        while done < len {
            match opened.read_at(&mut self.scratch[done..len], (offset + done) as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                // A failed read changes nothing: the file stays certain.
                Err(err) => return self.failed(&format!("read {len} at {offset} of {path}"), &err),
            }
        }
        let got = &self.scratch[..done];
        let want = &self.files[index].data[offset.min(size)..(offset + len).min(size)];
        if got != want {
            let first = got.iter().zip(want).position(|(a, b)| a != b);
            return Err(format!(
                "read {len} at {offset} of {path} (size {size}): {done} bytes, {} expected, \
                 first difference at {first:?}",
                want.len()
            ));
        }
        Ok(())
    }

    fn truncate(&mut self, index: usize) -> Outcome {
        let new = self.rng.below(MAX_SIZE as u64) as usize;
        let path = &self.files[index].path;
        match Self::open(path).and_then(|file| file.set_len(new as u64)) {
            Ok(()) => {
                self.files[index].data.resize(new, 0);
                Ok(())
            }
            Err(err) => {
                let what = format!("truncate {path} to {new}");
                self.abandon(index);
                self.failed(&what, &err)
            }
        }
    }

    fn fsync(&mut self, index: usize) -> Outcome {
        let path = &self.files[index].path;
        match Self::open(path).and_then(|file| file.sync_all()) {
            Ok(()) => Ok(()),
            // A failed fsync may have lost written data (a writeback
            // error is reported once): the file is no longer certain.
            Err(err) => {
                let what = format!("fsync {path}");
                self.abandon(index);
                self.failed(&what, &err)
            }
        }
    }

    fn rename(&mut self, index: usize) -> Outcome {
        let to = self.fresh_name("r");
        let from = self.files[index].path.clone();
        match fs::rename(&from, &to) {
            Ok(()) => {
                self.absent.push(from);
                self.files[index].path = to;
                Ok(())
            }
            Err(err) => {
                self.abandon(index);
                self.failed(&format!("rename {from} to {to}"), &err)
            }
        }
    }

    fn unlink(&mut self, index: usize) -> Outcome {
        let file = self.files.swap_remove(index);
        self.spare.push(file.data);
        match fs::remove_file(&file.path) {
            Ok(()) => {
                self.absent.push(file.path);
                Ok(())
            }
            Err(err) => {
                self.abandoned += 1;
                self.failed(&format!("unlink {}", file.path), &err)
            }
        }
    }

    fn mkdir(&mut self) -> Outcome {
        if self.dirs.len() > 8 {
            return Ok(());
        }
        let path = self.fresh_name("d");
        match fs::create_dir(&path) {
            Ok(()) => {
                self.dirs.push(path.clone());
                self.empty_dirs.push(path);
                Ok(())
            }
            Err(err) => {
                self.abandoned += 1;
                self.failed(&format!("mkdir {path}"), &err)
            }
        }
    }

    fn rmdir(&mut self) -> Outcome {
        let Some(path) = self.empty_dirs.pop() else {
            return Ok(());
        };
        self.dirs.retain(|dir| *dir != path);
        match fs::remove_dir(&path) {
            Ok(()) => {
                self.absent.push(path);
                Ok(())
            }
            Err(err) => {
                self.abandoned += 1;
                self.failed(&format!("rmdir {path}"), &err)
            }
        }
    }

    fn step(&mut self) -> Outcome {
        let choice = self.rng.below(100);
        if self.files.is_empty() || choice < 12 {
            return self.create();
        }
        let index = self.rng.below(self.files.len() as u64) as usize;
        match choice {
            12..=36 => self.write(index),
            37..=54 => self.read(index),
            55..=64 => self.truncate(index),
            65..=76 => self.fsync(index),
            77..=83 => self.rename(index),
            84..=90 => self.unlink(index),
            91..=95 => self.mkdir(),
            _ => self.rmdir(),
        }
    }

    /// With injection off: every certain file must fsync, then the
    /// manifest is written.
    fn finish(&self, manifest: &str) -> Outcome {
        for file in &self.files {
            Self::open(&file.path)
                .and_then(|opened| opened.sync_all())
                .map_err(|err| format!("fsync {} with injection off: {err}", file.path))?;
        }
        let files: Vec<_> = self
            .files
            .iter()
            .map(|file| (file.path.as_str(), file.data.as_slice()))
            .collect();
        write_manifest(manifest, &files, &self.absent, &self.dirs)
    }
}

/// Writes `manifest` (format in the module comment), with one reference
/// file per entry of `files` in the directory `manifest.d`.
pub(crate) fn write_manifest(
    manifest: &str,
    files: &[(&str, &[u8])],
    absent: &[String],
    dirs: &[String],
) -> Outcome {
    let refs = format!("{manifest}.d");
    fs::create_dir_all(&refs).map_err(|err| format!("{refs}: {err}"))?;
    let mut out = String::new();
    for (number, (path, data)) in files.iter().enumerate() {
        let reference = format!("{refs}/{number}");
        fs::write(&reference, data).map_err(|err| format!("{reference}: {err}"))?;
        out += &format!("file {path} {reference}\n");
    }
    for path in absent {
        out += &format!("absent {path}\n");
    }
    for path in dirs {
        out += &format!("dir {path}\n");
    }
    File::create(manifest)
        .and_then(|mut file| file.write_all(out.as_bytes()))
        .map_err(|err| format!("{manifest}: {err}"))
}

/// Runs `ops` operations under injection in `dir` (which must exist), then
/// writes `manifest`; returns a one-line summary.
pub(crate) fn run(seed: u64, ops: u64, dir: &str, manifest: &str) -> Result<String, String> {
    let switch = FailSwitch::open()?;
    let mut workload = Workload::new(seed, dir);
    switch
        .set(true)
        .map_err(|err| format!("cannot switch fault injection on: {err}"))?;
    let mut result = Ok(());
    for op in 0..ops {
        result = workload
            .step()
            .map_err(|err| format!("seed {seed} op {op}: {err}"));
        if result.is_err() {
            break;
        }
    }
    switch.off()?;
    result?;
    workload.finish(manifest)?;
    let [enomem, eio, enospc] = workload.failures;
    Ok(format!(
        "seed {seed}: {ops} operations; failed with ENOMEM {enomem}, EIO {eio}, ENOSPC {enospc}; \
         {} files certain, {} objects abandoned, {} names removed",
        workload.files.len(),
        workload.abandoned,
        workload.absent.len()
    ))
}
