// SPDX-License-Identifier: GPL-2.0
//! Runs a mounted damaged image through everything a user can do: walks
//! and reads every file, checking each page against [`Reference`], then
//! writes a little; then the named damage's own expectation.
//!
//! A violation is a read that returned bytes other than the blocks the
//! damaged map names (another file's, stale, or the page cache of
//! something else), a read that succeeded on a damaged path, an error
//! other than the documented ones, or a named damage that went unnoticed.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::named::{Damage, Expect};
use crate::pattern::{owners, pattern};
use crate::reference::{PageView, Reference, PAGE_SIZE};

/// `EIO`.
pub const EIO: i32 = 5;
/// `ELOOP`: the VFS refuses a directory named below itself.
pub const ELOOP: i32 = 40;
/// `EUCLEAN`, the kernel's `EFSCORRUPTED`.
pub const EUCLEAN: i32 = 117;

/// Directories deeper than this are not walked.
const MAX_DEPTH: usize = 8;
/// Pages checked per file: a damaged size may claim 64 MiB of holes.
const MAX_PAGES: usize = 2048;
/// Existing files that the write phase appends to.
const APPENDS: usize = 8;

/// What an exercise found.
#[derive(Default)]
pub struct Outcome {
    /// Rules broken, one line each.
    pub violations: Vec<String>,
    /// Operations that failed as documented, one line each.
    pub errors: Vec<String>,
    /// Regular files read.
    pub files: usize,
    /// Pages read and matched.
    pub pages: usize,
    /// Files whose pages the write phase may change.
    written: Vec<PathBuf>,
}

impl Outcome {
    /// Records a failed operation; an errno outside `allowed` is a
    /// violation.
    fn failed(&mut self, what: &str, path: &Path, error: &io::Error, allowed: &[i32]) {
        let line = format!("{what} {}: {error}", path.display());
        if error
            .raw_os_error()
            .is_some_and(|errno| allowed.contains(&errno))
        {
            self.errors.push(line);
        } else {
            self.violations.push(format!("unexpected error: {line}"));
        }
    }

    /// Whether an operation on `path` (or below it) failed with one of
    /// `errnos`.
    fn saw_error_at(&self, path: &Path, errnos: &[i32]) -> bool {
        let path = format!(" {}", path.display());
        self.errors.iter().any(|line| {
            let at_path = line
                .match_indices(&path)
                .any(|(at, _)| matches!(line.as_bytes().get(at + path.len()), Some(b':' | b'/')));
            at_path
                && errnos
                    .iter()
                    .any(|errno| line.ends_with(&format!("(os error {errno})")))
        })
    }
}

/// Errors a damaged object may give on a read-only operation.
const READ_ERRORS: &[i32] = &[EUCLEAN, EIO, ELOOP];

/// Exercises the filesystem mounted at `mount`, made from `image` (the
/// damaged bytes as written to the device), with the expectation of
/// `damage` if it is a named one.
pub fn exercise(mount: &Path, reference: &Reference, damage: Option<&Damage>) -> Outcome {
    let mut outcome = Outcome::default();
    walk(mount, reference, &mut outcome);
    if let Some(Expect::Fails(path) | Expect::VfsLoop(path)) = damage.map(|damage| damage.expect) {
        probe(&mount.join(path), reference, &mut outcome);
    }
    let write_errors_before = outcome.errors.len();
    write_phase(mount, &mut outcome);
    match damage.map(|damage| damage.expect) {
        Some(Expect::Fails(path)) => {
            if !outcome.saw_error_at(&mount.join(path), &[EUCLEAN, EIO]) {
                outcome
                    .violations
                    .push(format!("no EUCLEAN or EIO on the damaged /{path}"));
            }
        }
        Some(Expect::VfsLoop(path)) => {
            if !outcome.saw_error_at(&mount.join(path), &[ELOOP]) {
                outcome
                    .violations
                    .push(format!("no ELOOP on the looping /{path}"));
            }
        }
        Some(Expect::WriteFails) => {
            let failed = outcome.errors[write_errors_before..]
                .iter()
                .any(|line| line.ends_with("(os error 117)"));
            if !failed {
                outcome
                    .violations
                    .push("no write failed with EUCLEAN".into());
            }
        }
        Some(Expect::SecondUnlinkFails(first, second)) => {
            if let Err(error) = fs::remove_file(mount.join(first)) {
                outcome
                    .violations
                    .push(format!("unlink /{first} failed: {error}"));
            }
            match fs::remove_file(mount.join(second)) {
                Err(error) if error.raw_os_error() == Some(EUCLEAN) => {
                    outcome.errors.push(format!("unlink /{second}: {error}"))
                }
                other => outcome.violations.push(format!(
                    "unlink /{second}, the second name of a one-link inode: {other:?}, not EUCLEAN"
                )),
            }
        }
        Some(Expect::RenameFails(from, to)) => {
            match fs::rename(mount.join(from), mount.join(to)) {
                Err(error) if error.raw_os_error() == Some(EUCLEAN) => outcome
                    .errors
                    .push(format!("rename /{from} /{to}: {error}")),
                other => outcome
                    .violations
                    .push(format!("rename /{from} to /{to}: {other:?}, not EUCLEAN")),
            }
            if fs::symlink_metadata(mount.join(from)).is_err() {
                outcome
                    .violations
                    .push(format!("the failed rename removed /{from}"));
            }
        }
        Some(Expect::Undetected | Expect::Refused) | None => {}
    }
    outcome
}

/// Reads every directory and regular file below `mount`.
fn walk(mount: &Path, reference: &Reference, outcome: &mut Outcome) {
    let mut seen = HashSet::new();
    let mut queue = vec![(mount.to_path_buf(), 0)];
    while let Some((dir, depth)) = queue.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                outcome.failed("readdir", &dir, &error, READ_ERRORS);
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    outcome.failed("readdir", &dir, &error, READ_ERRORS);
                    break;
                }
            };
            let path = entry.path();
            let metadata = match fs::symlink_metadata(&path) {
                Ok(metadata) => metadata,
                Err(error) => {
                    outcome.failed("stat", &path, &error, READ_ERRORS);
                    continue;
                }
            };
            if metadata.is_dir() {
                if depth < MAX_DEPTH && seen.insert(metadata.ino()) {
                    queue.push((path, depth + 1));
                }
            } else if metadata.is_file() {
                check_file(&path, &metadata, reference, outcome);
            } else {
                outcome.violations.push(format!(
                    "{}: mode {:#o} is neither a file nor a directory",
                    path.display(),
                    metadata.mode()
                ));
            }
        }
    }
}

/// Looks at the damaged object itself, in case the walk could not reach
/// it (its directory failed to read).
fn probe(path: &Path, reference: &Reference, outcome: &mut Outcome) {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            if let Err(error) =
                fs::read_dir(path).and_then(|entries| entries.collect::<io::Result<Vec<_>>>())
            {
                outcome.failed("readdir", path, &error, READ_ERRORS);
            }
        }
        Ok(metadata) => check_file(path, &metadata, reference, outcome),
        Err(error) => outcome.failed("stat", path, &error, READ_ERRORS),
    }
}

/// Reads `path` page by page and compares each page with the reference.
fn check_file(path: &Path, metadata: &fs::Metadata, reference: &Reference, outcome: &mut Outcome) {
    // CAST: toyfs inode numbers are u32.
    let Some(inode) = reference.inode(metadata.ino() as u32) else {
        outcome.violations.push(format!(
            "{}: inode {} is outside the inode table",
            path.display(),
            metadata.ino()
        ));
        return;
    };
    if inode.size != metadata.len() {
        outcome.violations.push(format!(
            "{}: size {} but inode {} says {}",
            path.display(),
            metadata.len(),
            metadata.ino(),
            inode.size
        ));
        return;
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) => return outcome.failed("open", path, &error, READ_ERRORS),
    };
    outcome.files += 1;
    let pages = inode.size.div_ceil(PAGE_SIZE as u64);
    let wanted = (0..pages)
        .filter(|&page| page < 8 || page + 1 == pages || reference.page_has_blocks(&inode, page))
        .take(MAX_PAGES);
    let mut failed = false;
    for page in wanted {
        let mut bytes = vec![0u8; PAGE_SIZE];
        let read = read_page(&file, page, &mut bytes);
        match (read, reference.page_view(&inode, page)) {
            (Ok(len), PageView::Bytes(expected)) => {
                bytes.truncate(len);
                if bytes == expected {
                    outcome.pages += 1;
                } else {
                    outcome
                        .violations
                        .push(mismatch(path, page, &bytes, &expected));
                }
            }
            (Ok(_), PageView::Fails) => outcome.violations.push(format!(
                "{}: page {page} read although its block map is damaged",
                path.display()
            )),
            (Err(error), PageView::Fails) => {
                failed = true;
                outcome.failed(
                    &format!("read page {page} of"),
                    path,
                    &error,
                    &[EUCLEAN, EIO],
                );
            }
            (Err(error), PageView::Bytes(_)) => outcome.violations.push(format!(
                "{}: page {page} failed ({error}) although its block map is sound",
                path.display()
            )),
        }
    }
    if !failed && outcome.written.len() < APPENDS {
        outcome.written.push(path.to_path_buf());
    }
}

/// Reads page `page`, up to the end of the file.
fn read_page(file: &File, page: u64, bytes: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        match file.read_at(&mut bytes[done..], page * PAGE_SIZE as u64 + done as u64)? {
            0 => break,
            len => done += len,
        }
    }
    Ok(done)
}

fn mismatch(path: &Path, page: u64, got: &[u8], expected: &[u8]) -> String {
    let at = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let offset = page * PAGE_SIZE as u64;
    format!(
        "{}: page {page} differs from the blocks its map names at byte {at} \
         (read {} bytes of inodes {:?}, expected {} bytes of inodes {:?})",
        path.display(),
        got.len(),
        owners(got, offset),
        expected.len(),
        owners(expected, offset)
    )
}

/// Creates, appends, truncates, renames and removes a little; errors are
/// recorded, not judged (a damaged bitmap may fail any allocation), but a
/// new file that was written completely must read back.
fn write_phase(mount: &Path, outcome: &mut Outcome) {
    let new_file = mount.join("new-file");
    let result = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&new_file)
        .and_then(|mut file| {
            // CAST: toyfs inode numbers are u32.
            let ino = file.metadata()?.ino() as u32;
            let data = pattern(ino, 0, 6000);
            file.write_all(&data)?;
            file.sync_all()?;
            Ok(data)
        });
    match result {
        Ok(data) => match fs::read(&new_file) {
            Ok(read) if read == data => {}
            Ok(_) => outcome
                .violations
                .push("new-file does not read back what was written".into()),
            Err(error) => outcome.failed("read back", &new_file, &error, &[EUCLEAN, EIO]),
        },
        Err(error) => record(outcome, "write", &new_file, &error),
    }
    for path in std::mem::take(&mut outcome.written) {
        let appended = OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(&[0xa5; 1500]));
        if let Err(error) = appended {
            record(outcome, "append", &path, &error);
        }
        let truncated = File::options().write(true).open(&path).and_then(|file| {
            let size = file.metadata()?.len();
            file.set_len(size / 2)
        });
        if let Err(error) = truncated {
            record(outcome, "truncate", &path, &error);
        }
    }
    let new_dir = mount.join("new-dir");
    let steps: [(&str, &dyn Fn() -> io::Result<()>); 4] = [
        ("mkdir", &|| fs::create_dir(&new_dir)),
        ("create", &|| fs::write(new_dir.join("x"), b"x")),
        ("rename", &|| fs::rename(&new_file, new_dir.join("y"))),
        ("unlink", &|| fs::remove_file(new_dir.join("x"))),
    ];
    for (what, step) in steps {
        if let Err(error) = step() {
            record(outcome, what, &new_dir, &error);
        }
    }
}

/// Records a failed write-phase operation: any errno is acceptable there.
fn record(outcome: &mut Outcome, what: &str, path: &Path, error: &io::Error) {
    outcome
        .errors
        .push(format!("{what} {}: {error}", path.display()));
}
