// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress readdir-unlink DIR COUNT SEED`: a listing of a large
//! directory, resumed again and again from a saved position, while
//! another thread unlinks entries of it.
//!
//! DIR (new or empty) gets the files `f0` to `f{COUNT-1}`.  Then a
//! thread unlinks every third of them (`f0`, `f3`, ...) in a random
//! order while this one lists DIR over and over (at least twice, until
//! the unlinks are done), as `readdir` with `telldir` and `seekdir`
//! does through glibc: `getdents64` into a small buffer, only some of
//! the entries taken, the position of the last one taken (its `d_off`)
//! saved, the directory closed, opened again and `seekdir`ed there.
//! POSIX leaves open whether an entry unlinked or added during a listing
//! is returned; every other one must be, exactly once.  So in each
//! listing every survivor (`f1`, `f2`, `f4`, ...) is listed exactly once,
//! an unlinked name at most once, and nothing else but `.` and `..`.

use crate::sys::{getdents, seek_dir};
use seeded_rng::Rng;
use std::collections::HashMap;
use std::fs::{self, File};
use std::thread;

/// Bytes of each `getdents64` buffer: a few dozen entries.
const BUFFER: usize = 1024;

/// Lists `dir` once, resuming from a saved position after each call.
fn list(dir: &str, count: u32, rng: &mut Rng) -> Result<HashMap<Vec<u8>, u32>, String> {
    let mut seen = HashMap::new();
    let mut pos = 0i64;
    // Every call takes at least one entry: more calls than entries
    // means the listing goes round.
    let (mut calls, limit) = (0u64, u64::from(count) + 3);
    loop {
        let file = File::open(dir).map_err(|err| format!("open {dir}: {err}"))?;
        seek_dir(&file, pos).map_err(|err| format!("seekdir {dir} to {pos}: {err}"))?;
        let entries = getdents(&file, BUFFER).map_err(|err| format!("{dir}: {err}"))?;
        if entries.is_empty() {
            return Ok(seen);
        }
        // Take some of them (at least one), as a program that reads a
        // few entries, calls telldir, and comes back later does.
        let take = 1 + rng.below(entries.len() as u64) as usize;
        for entry in &entries[..take] {
            if entry.ino == 0 {
                return Err(format!(
                    "{dir}: entry {:?} with inode 0",
                    String::from_utf8_lossy(&entry.name)
                ));
            }
            *seen.entry(entry.name.clone()).or_insert(0) += 1;
        }
        // A cookie (ext4's are hashes), not an offset to compare: a
        // listing that never ends is caught by the call count instead.
        pos = entries[take - 1].off;
        calls += 1;
        if calls > limit {
            return Err(format!("{dir}: no end after {calls} getdents64 calls"));
        }
    }
}

/// Runs the test; returns a summary.
pub fn run(dir: &str, count: u32, seed: u64) -> Result<String, String> {
    fs::create_dir_all(dir).map_err(|err| format!("mkdir {dir}: {err}"))?;
    for i in 0..count {
        File::create(format!("{dir}/f{i}")).map_err(|err| format!("create {dir}/f{i}: {err}"))?;
    }
    let mut doomed: Vec<u32> = (0..count).step_by(3).collect();
    let mut rng = Rng::new(seed);
    for i in (1..doomed.len()).rev() {
        doomed.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let unlinker = {
        let dir = dir.to_owned();
        thread::spawn(move || -> Result<(), String> {
            for i in doomed {
                fs::remove_file(format!("{dir}/f{i}"))
                    .map_err(|err| format!("unlink {dir}/f{i}: {err}"))?;
            }
            Ok(())
        })
    };
    let mut listings = 0;
    let mut result = Ok(());
    while result.is_ok() && (listings < 2 || !unlinker.is_finished()) {
        result = list(dir, count, &mut rng).and_then(|seen| judge(dir, count, &seen));
        listings += 1;
    }
    unlinker
        .join()
        .map_err(|_| "the unlinking thread panicked".to_string())??;
    result?;
    // Once more with nothing changing: exactly the survivors.
    let seen = list(dir, count, &mut rng)?;
    judge(dir, count, &seen)?;
    let survivors = (0..count).filter(|i| i % 3 != 0).count();
    if seen.len() != survivors + 2 {
        return Err(format!(
            "{dir}: {} names listed after the unlinks, {} expected",
            seen.len(),
            survivors + 2
        ));
    }
    Ok(format!(
        "{listings} listings of {count} entries beside the unlinks, each survivor once"
    ))
}

/// Checks one listing.
fn judge(dir: &str, count: u32, seen: &HashMap<Vec<u8>, u32>) -> Result<(), String> {
    for i in (0..count).filter(|i| i % 3 != 0) {
        let times = seen.get(format!("f{i}").as_bytes()).copied().unwrap_or(0);
        if times != 1 {
            return Err(format!("{dir}: f{i}, never unlinked, listed {times} times"));
        }
    }
    for (name, &times) in seen {
        let text = String::from_utf8_lossy(name);
        let known = name == b"."
            || name == b".."
            || text
                .strip_prefix('f')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n < count);
        if !known {
            return Err(format!("{dir}: {text:?} listed, never created"));
        }
        if times > 1 {
            return Err(format!("{dir}: {text:?} listed {times} times"));
        }
    }
    Ok(())
}
