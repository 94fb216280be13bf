// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe handle-races DIR [ROUNDS]`: `open_by_handle_at` racing
//! the changes that make a handle stale, where the only outcomes allowed
//! are the file or `ESTALE` (which exportfs also reports for every other
//! error of the filesystem's, so the caller checks too that the kernel
//! logged no "corrupted" line: a slot caught between two states is not
//! damage).
//!
//! - A symbolic link made and removed over and over, its inode number
//!   reused each time, while another thread opens handles of that number
//!   (the next generation): the handle's read of the inode may come
//!   between `ialloc::claim`, which writes the link with size 0, and the
//!   writing of its target (toyfs's `ReadFor::Handle`).
//! - Directories `p/c` whose `c` is opened by its handle (dentry caches
//!   dropped: exportfs rebuilds its path through "..", toyfs's
//!   `get_parent`), while another thread moves `c` to `q` and removes
//!   `p`: the ".." read must never name a removed `p`.

use crate::handles::{drop_caches, handle_of, with_word, word, ESTALE};
use crate::sys::{self, Handle};
use std::fs::{self, File};
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;

type Check = Result<(), String>;

/// `O_PATH`: a symbolic link opened as itself.
const O_PATH: i32 = 0o10_000_000;

/// How many times each outcome of the opens came.
#[derive(Default)]
struct Outcomes {
    opened: u64,
    stale: u64,
}

impl Outcomes {
    /// Counts the outcome of an open of `handle`, meant to name inode
    /// `ino`: the file it names (that inode), or `ESTALE`.
    fn count(&mut self, opened: std::io::Result<File>, ino: u32, what: &str) -> Check {
        match opened {
            Ok(file) => {
                let got = file
                    .metadata()
                    .map_err(|e| format!("{what}: fstat: {e}"))?
                    .ino();
                if got != u64::from(ino) {
                    return Err(format!(
                        "{what}: opened inode {got}, the handle names {ino}"
                    ));
                }
                self.opened += 1;
            }
            Err(e) if e.raw_os_error() == Some(ESTALE) => self.stale += 1,
            Err(e) => {
                return Err(format!(
                    "{what}: open_by_handle_at gave {e}, expected ESTALE"
                ))
            }
        }
        Ok(())
    }
}

/// Joins two threads' results, the first error first.
fn both(a: std::thread::Result<Check>, b: std::thread::Result<Check>) -> Check {
    a.unwrap_or(Err("a thread panicked".into()))?;
    b.unwrap_or(Err("a thread panicked".into()))
}

/// A symbolic link made and removed `rounds` times in `top` while its
/// inode number is opened by handle.
fn symlink_creation(mount: &File, top: &Path, rounds: u32) -> Check {
    let link = top.join("link");
    let io = |what: &str, r: std::io::Result<()>| r.map_err(|e| format!("{what}: {e}"));
    io("symlink", symlink("target", &link))?;
    let first = handle_of(&link)?;
    io("unlink", fs::remove_file(&link))?;
    // The inode number and generation of the last link made, one word.
    let last = AtomicU64::new(u64::from(word(&first, 0)) << 32 | u64::from(word(&first, 1)));
    let done = AtomicBool::new(false);
    let mut outcomes = Outcomes::default();
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        let maker = scope.spawn(|| -> Check {
            start.wait();
            let made = (|| -> Check {
                for _ in 0..rounds {
                    io("symlink", symlink("target", &link))?;
                    let handle = handle_of(&link)?;
                    let (ino, generation) = (word(&handle, 0), word(&handle, 1));
                    last.store(
                        u64::from(ino) << 32 | u64::from(generation),
                        Ordering::Relaxed,
                    );
                    io("unlink", fs::remove_file(&link))?;
                }
                Ok(())
            })();
            done.store(true, Ordering::Relaxed);
            made
        });
        let opener = scope.spawn(|| -> Check {
            start.wait();
            while !done.load(Ordering::Relaxed) {
                // The number the next link most likely gets (the lowest
                // free, unless an open here kept the last one), and the
                // generation it gets there.
                let last = last.load(Ordering::Relaxed);
                // CAST: the two halves of the word.
                let (ino, generation) = ((last >> 32) as u32, last as u32);
                let handle = with_word(&with_word(&first, 0, ino), 1, generation.wrapping_add(1));
                let opened = sys::open_by_handle(mount, &handle, O_PATH);
                outcomes.count(opened, ino, "a handle of a link being made")?;
            }
            Ok(())
        });
        both(maker.join(), opener.join())
    })?;
    println!(
        "symbolic link made {rounds} times: its next generation's handle opened {} times, \
         ESTALE {} times",
        outcomes.opened, outcomes.stale
    );
    Ok(())
}

/// Directories `p{i}/c`, `pairs` of them, opened by the handle of `c`
/// from cold caches while `c` moves to `q` and `p{i}` is removed, for
/// `rounds` rounds.
fn parent_removal(mount: &File, top: &Path, rounds: u32) -> Check {
    const PAIRS: usize = 8;
    let io = |what: &str, r: std::io::Result<()>| r.map_err(|e| format!("{what}: {e}"));
    let moved_to = top.join("q");
    io("mkdir q", fs::create_dir(&moved_to))?;
    let mut outcomes = Outcomes::default();
    for round in 0..rounds {
        let parents: Vec<_> = (0..PAIRS).map(|i| top.join(format!("p{i}"))).collect();
        let mut handles: Vec<Handle> = Vec::new();
        for parent in &parents {
            io("mkdir p", fs::create_dir(parent))?;
            io("mkdir p/c", fs::create_dir(parent.join("c")))?;
            handles.push(handle_of(&parent.join("c"))?);
        }
        drop_caches()?;
        let start = Barrier::new(2);
        std::thread::scope(|scope| {
            let mover = scope.spawn(|| -> Check {
                start.wait();
                for (i, parent) in parents.iter().enumerate() {
                    let to = moved_to.join(format!("c{round}-{i}"));
                    io("rename p/c", fs::rename(parent.join("c"), to))?;
                    io("rmdir p", fs::remove_dir(parent))?;
                }
                Ok(())
            });
            let opener = scope.spawn(|| -> Check {
                start.wait();
                for handle in &handles {
                    let opened = sys::open_by_handle(mount, handle, sys::O_DIRECTORY);
                    let what = "a handle of a directory whose parent goes";
                    outcomes.count(opened, word(handle, 0), what)?;
                }
                Ok(())
            });
            both(mover.join(), opener.join())
        })?;
    }
    println!(
        "directories moved out of a parent then removed, {} of them: opened by handle {} times, \
         ESTALE {} times",
        rounds as usize * PAIRS,
        outcomes.opened,
        outcomes.stale
    );
    io("clean up q", fs::remove_dir_all(&moved_to))
}

/// `toyfs-probe handle-races DIR [ROUNDS]`.
pub fn handle_races(root: &Path, rounds: u32) -> Check {
    let top = root.join("handle-races");
    let _ = fs::remove_dir_all(&top);
    fs::create_dir(&top).map_err(|e| format!("mkdir: {e}"))?;
    let mount = File::open(root).map_err(|e| format!("open {}: {e}", root.display()))?;
    symlink_creation(&mount, &top, rounds * 50)?;
    parent_removal(&mount, &top, rounds)?;
    fs::remove_dir_all(&top).map_err(|e| format!("clean up: {e}"))
}
