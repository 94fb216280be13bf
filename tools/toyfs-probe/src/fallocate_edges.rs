// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe fallocate-edges DIR MODEL`: `PUNCH_HOLE | KEEP_SIZE`,
//! `ZERO_RANGE` and `ZERO_RANGE | KEEP_SIZE` at the edges of blocks, of
//! the last block and of the end of the file, each on its own file of the
//! toyfs at DIR (the files [`names`] gives, made by the caller: with
//! `mkfs.toyfs -c lz4` compressed blocks, with `-p` a packed tail too),
//! whose copy in MODEL (not toyfs) becomes what ext4 and XFS leave
//! ([`expected`]).  Each file must then read as its model, have its size,
//! read as zeros wherever `SEEK_HOLE` and `SEEK_DATA` say it has a hole,
//! have a hole at every block a punch covered whole, and (after `fsync`)
//! have no more `st_blocks` after a punch than before it; from the page
//! cache and again from the disk.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::{drop_caches, sys, Check};

/// The ranges, as `(offset, len)` from the file's size `len` and its
/// block size `b`: across a block boundary, inside one block, whole
/// blocks, whole blocks with partial edges, inside the last block, from
/// the last block's start to the end, from inside the block before the
/// last to past the end, wholly past the end, the last byte, the whole
/// file, and from just before the end to past it.
fn ranges(len: u64, b: u64) -> [(u64, u64); 11] {
    let last = len - len % b;
    [
        (b / 2, b),
        (b + 1, b - 2),
        (b, 2 * b),
        (b / 3, 3 * b + b / 2),
        (last + 3, (len - last) / 2),
        (last, len - last),
        (last - b / 2, 3 * b),
        (len + 100, 3 * b),
        (len - 1, 1),
        (0, len),
        (len - 3, 2 * b),
    ]
}

/// The modes, with the name each case's file starts with.
const MODES: [(&str, i32); 3] = [
    ("punch", sys::PUNCH_HOLE | sys::KEEP_SIZE),
    ("zero", sys::ZERO_RANGE),
    ("zerokeep", sys::ZERO_RANGE | sys::KEEP_SIZE),
];

/// The names of the files of a tree for `fallocate-edges`, one a line:
/// `toyfs-probe fallocate-names`.
pub fn names() -> Check {
    for (mode, _) in MODES {
        for i in 0..11 {
            println!("{mode}{i}");
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn bytes_of(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: read: {e}", path.display()))?;
    Ok(bytes)
}

/// Every hole `SEEK_DATA` and `SEEK_HOLE` give in `file` reads as zeros in
/// `bytes`, and each of `whole` (file blocks) is in one.
fn holes_read_as_zeros(file: &File, bytes: &[u8], b: u64, whole: &[u64]) -> Check {
    let len = bytes.len() as u64;
    let mut pos = 0;
    let mut holes = Vec::new();
    while pos < len {
        let hole = sys::seek(file, pos, false).map_err(|e| format!("SEEK_HOLE {pos}: {e}"))?;
        if hole >= len {
            break;
        }
        let data = match sys::seek(file, hole, true) {
            Ok(data) => data,
            // ENXIO: a hole to the end.
            Err(e) if e.raw_os_error() == Some(6) => len,
            Err(e) => return Err(format!("SEEK_DATA {hole}: {e}")),
        };
        if data <= hole {
            return Err(format!(
                "SEEK_HOLE {pos} gave {hole}, SEEK_DATA then {data}"
            ));
        }
        if let Some(at) = (hole..data.min(len)).find(|&i| bytes[i as usize] != 0) {
            return Err(format!(
                "hole {hole}..{data}: byte {at} is {}",
                bytes[at as usize]
            ));
        }
        holes.push(hole..data);
        pos = data;
    }
    for &n in whole {
        let block = n * b..((n + 1) * b).min(len);
        if !holes
            .iter()
            .any(|h| h.start <= block.start && block.end <= h.end)
        {
            return Err(format!(
                "block {n} punched whole is not a hole (holes {holes:?})"
            ));
        }
    }
    Ok(())
}

/// Each file of `dir` reads as its model in `model`, has its size, and
/// its holes as [`holes_read_as_zeros`] says.
fn compare(dir: &Path, model: &Path, b: u64, what: &str) -> Check {
    for (mode, flags) in MODES {
        for i in 0..11 {
            let name = format!("{mode}{i}");
            let (path, mpath) = (dir.join(&name), model.join(&name));
            let (got, want) = (bytes_of(&path)?, bytes_of(&mpath)?);
            let case = format!("{name} ({what})");
            if got.len() != want.len() {
                return Err(format!(
                    "{case}: {} bytes, expected {}",
                    got.len(),
                    want.len()
                ));
            }
            if let Some(at) = (0..got.len()).find(|&k| got[k] != want[k]) {
                return Err(format!(
                    "{case}: byte {at} is {}, expected {}",
                    got[at], want[at]
                ));
            }
            let file = File::open(&path).map_err(|e| format!("{case}: {e}"))?;
            let whole = if flags & sys::PUNCH_HOLE != 0 {
                punched_whole(&mpath, b, i)?
            } else {
                Vec::new()
            };
            holes_read_as_zeros(&file, &got, b, &whole).map_err(|e| format!("{case}: {e}"))?;
        }
    }
    Ok(())
}

/// The file blocks case `i`'s punch covers whole, inside the file.
fn punched_whole(model: &Path, b: u64, i: usize) -> Result<Vec<u64>, String> {
    let len = fs::metadata(model).map_err(|e| e.to_string())?.len();
    let (offset, count) = ranges(len, b)[i];
    let end = (offset + count).min(len);
    Ok((offset.div_ceil(b)..end / b).collect())
}

/// The bytes `fallocate(flags, offset, count)` leaves of a file of
/// `bytes`, as ext4 and XFS leave them: the range inside the file reads
/// as zeros, and `ZERO_RANGE` without `KEEP_SIZE` grows the file to its
/// end.  (tmpfs has no `ZERO_RANGE`.)
fn expected(mut bytes: Vec<u8>, flags: i32, offset: u64, count: u64) -> Vec<u8> {
    // CAST: files of a few blocks.
    let (offset, end) = (offset as usize, (offset + count) as usize);
    if flags & sys::KEEP_SIZE == 0 && end > bytes.len() {
        bytes.resize(end, 0);
    }
    let len = bytes.len();
    if let Some(range) = bytes.get_mut(offset.min(len)..end.min(len)) {
        range.fill(0);
    }
    bytes
}

/// Applies every case to the files of `dir`, and what it must leave to
/// the same files of `model` (their copy), then compares them from the
/// page cache and from the disk.  With `after_each`, a program run after
/// each case's `fallocate` and a `syncfs` with the case's file name as
/// its argument (its model written): a script that copies the image as a
/// crash would leave it and checks the copy (the file reads as its
/// model, fsck finds it clean); its failure fails the run.
pub fn run(dir: &Path, model: &Path, after_each: Option<&Path>) -> Check {
    let b = fs::metadata(dir).map_err(|e| e.to_string())?.blksize();
    for (mode, flags) in MODES {
        for i in 0..11 {
            let name = format!("{mode}{i}");
            let mpath = model.join(&name);
            let bytes = bytes_of(&mpath)?;
            let (offset, count) = ranges(bytes.len() as u64, b)[i];
            let file = open(&dir.join(&name))?;
            file.sync_all().map_err(|e| format!("{name}: fsync: {e}"))?;
            let before = file.metadata().map_err(|e| e.to_string())?.blocks();
            sys::fallocate_file(&file, flags, offset, count)
                .map_err(|e| format!("{name}: {offset}+{count}: {e}"))?;
            if flags & sys::PUNCH_HOLE != 0 {
                file.sync_all().map_err(|e| format!("{name}: fsync: {e}"))?;
                let after = file.metadata().map_err(|e| e.to_string())?.blocks();
                if after > before {
                    return Err(format!(
                        "{name}: punch {offset}+{count}: st_blocks {before} before, {after} after"
                    ));
                }
            }
            fs::write(&mpath, expected(bytes, flags, offset, count))
                .map_err(|e| format!("{}: {e}", mpath.display()))?;
            if let Some(program) = after_each {
                sys::syncfs_of(&file).map_err(|e| format!("{name}: syncfs: {e}"))?;
                let status = Command::new(program)
                    .arg(&name)
                    .status()
                    .map_err(|e| format!("{}: {e}", program.display()))?;
                if !status.success() {
                    return Err(format!(
                        "{name}: {offset}+{count}: the crash copy after the sync: {} {status}",
                        program.display()
                    ));
                }
            }
        }
    }
    compare(dir, model, b, "from the page cache")?;
    sys::syncfs_of(&File::open(dir).map_err(|e| e.to_string())?)
        .map_err(|e| format!("syncfs: {e}"))?;
    drop_caches()?;
    compare(dir, model, b, "from the disk")
}

/// `toyfs-probe fallocate-check DIR MODEL`: the files of a tree that
/// `fallocate-edges` changed read as their models (after a remount).
pub fn check(dir: &Path, model: &Path) -> Check {
    let b = fs::metadata(dir).map_err(|e| e.to_string())?.blksize();
    compare(dir, model, b, "after a remount")
}

/// `toyfs-probe fallocate-mmap FILE MODEL MODE`: `fallocate(MODE |
/// KEEP_SIZE, ...)` (`MODE` `punch` or `zero`) over pages of FILE (an LZ4
/// file, or one whose last block is a packed tail) that a shared mapping
/// of the whole file has written before: from the middle of the block
/// before the last to 3 bytes before the end, across that block's edge,
/// its pages and the last block's.  Through the mapping, bytes are stored
/// inside the range and on both sides of it before the call; after it
/// the range must read as zeros (the stores' pages were unmapped: a load
/// faults them in again), and a store into the range must fault and
/// keep its bytes around zeros.  A read-only mapping made before the
/// file is opened for writing (its pages read while the tail is still
/// packed, in place) must see the same bytes.  The file must read as its model through
/// the mapping, by `read(2)`, and after `msync`, `fsync` and the cache
/// dropped; the model is written to MODEL for the caller's check after a
/// remount.
pub fn mmap(file_path: &Path, model: &Path, mode: &str) -> Check {
    let flags = match mode {
        "punch" => sys::PUNCH_HOLE | sys::KEEP_SIZE,
        "zero" => sys::ZERO_RANGE | sys::KEEP_SIZE,
        _ => return Err(format!("mode {mode:?}: punch or zero")),
    };
    // A read-only mapping first, its pages faulted in while the file is
    // as mkfs left it (a packed tail read in place), kept throughout.
    let reader = File::open(file_path).map_err(|e| format!("{}: {e}", file_path.display()))?;
    // CAST: files of a few blocks.
    let first_len = reader.metadata().map_err(|e| e.to_string())?.len() as usize;
    let reading = sys::Mapping::read_only(&reader, first_len).map_err(|e| format!("mmap: {e}"))?;
    if reading.load(0, first_len) != bytes_of(file_path)? {
        return Err("the read-only mapping does not read as read(2)".into());
    }
    let file = open(file_path)?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let (len, b) = (meta.len(), meta.blksize());
    let last = len - len % b;
    if last < b || last == len {
        return Err(format!(
            "{len} bytes in blocks of {b}: no partial last block after another"
        ));
    }
    let (offset, end) = (last - b / 2, len - 3);
    let mut want = bytes_of(file_path)?;
    // CAST: files of a few blocks.
    let map = sys::Mapping::new(&file, len as usize).map_err(|e| format!("mmap: {e}"))?;
    let store = |want: &mut Vec<u8>, at: u64, byte: u8, count: usize| {
        // CAST: as above.
        let at = at as usize;
        let bytes = vec![byte; count];
        map.store(at, &bytes);
        want[at..at + count].copy_from_slice(&bytes);
    };
    // Before: on both sides of the range, at its edges and inside it.
    for (at, byte) in [
        (offset - 5, b'a'),
        (offset, b'b'),
        (last - 2, b'c'),
        (last + 1, b'd'),
        (end - 4, b'e'),
        (end, b'f'),
    ] {
        store(&mut want, at, byte, 4.min((len - at) as usize));
    }
    sys::fallocate_file(&file, flags, offset, end - offset)
        .map_err(|e| format!("{mode} {offset}..{end}: {e}"))?;
    want[offset as usize..end as usize].fill(0);
    // CAST: as above.
    let seen = map.load(offset as usize, (end - offset) as usize);
    if let Some(at) = seen.iter().position(|&byte| byte != 0) {
        return Err(format!(
            "{mode} {offset}..{end}: byte {} reads {} through the mapping",
            offset + at as u64,
            seen[at]
        ));
    }
    // After: into the range, in both blocks, and at its first byte.
    for (at, byte) in [(offset, b'g'), (last - 1, b'h'), (last + 5, b'i')] {
        store(&mut want, at, byte, 2);
    }
    let compare = |what: &str, got: Vec<u8>| -> Check {
        if got.len() != want.len() {
            return Err(format!(
                "{what}: {} bytes, expected {}",
                got.len(),
                want.len()
            ));
        }
        match (0..got.len()).find(|&k| got[k] != want[k]) {
            Some(at) => Err(format!(
                "{mode} {offset}..{end}, {what}: byte {at} is {}, expected {}",
                got[at], want[at]
            )),
            None => Ok(()),
        }
    };
    // CAST: as above.
    compare("through the mapping", map.load(0, len as usize))?;
    compare("read(2)", bytes_of(file_path)?)?;
    compare("through the read-only mapping", reading.load(0, first_len))?;
    map.sync().map_err(|e| format!("msync: {e}"))?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    drop(map);
    drop_caches()?;
    compare("from the disk", bytes_of(file_path)?)?;
    fs::write(model, &want).map_err(|e| format!("{}: {e}", model.display()))
}
