// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe frozen DIR DEVICE`: a frozen filesystem (`FIFREEZE`) is
//! a consistent image that nothing changes until it is thawed, which is
//! what a snapshot of its device relies on (xfstests generic/068 freezes
//! under fsstress and checks the filesystem after).  Two things the VFS
//! does without freeze protection may change a filesystem:
//!
//! - the last close of a file unlinked while open, and of an `O_TMPFILE`
//!   file never linked, frees the inode and its blocks; during a freeze
//!   that must wait for the thaw, as ext2 and ext4 make it wait
//!   (`sb_start_intwrite` in their `evict_inode`);
//! - an open for writing, where toyfs moves a packed tail into fragments
//!   of its own: `DIR/packed`, if there is such a file, a packed tail
//!   (`FIEMAP_EXTENT_DATA_TAIL`), is opened for writing and closed.
//!
//! The device's bytes, as its page cache holds them (the filesystem's
//! buffers are that cache), must be the same before and after those and
//! a `sync(2)` while frozen; after the thaw the closes end, the blocks
//! and inodes are free again and `packed` holds its bytes.
//!
//! No write at all may reach the device while it is frozen, not even of
//! the bytes it holds: its count of writes completed
//! (`/sys/class/block/NAME/stat`) is the same after the `sync(2)` calls
//! and a `syncfs(2)` of the frozen filesystem as right after the freeze.
//! Until 2026-12-07 each of them wrote toyfs's superblock block again,
//! the same bytes (`sync_fs`).

use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

type Check = Result<(), String>;

/// `O_TMPFILE` as `open(2)` takes it: `__O_TMPFILE | O_DIRECTORY`.
const O_TMPFILE: i32 = 0o20_200_000;

/// Every byte of `device`, read through its page cache.
fn device_bytes(device: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    File::open(device)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("read {}: {e}", device.display()))?;
    Ok(bytes)
}

/// The writes `device` completed so far: the fifth field of its
/// `/sys/class/block/NAME/stat` (Documentation/block/stat.rst).
fn writes_completed(device: &Path) -> Result<u64, String> {
    let real = fs::canonicalize(device).map_err(|e| format!("{}: {e}", device.display()))?;
    let name = real
        .file_name()
        .ok_or_else(|| format!("{}: no device name", real.display()))?;
    let path = Path::new("/sys/class/block").join(name).join("stat");
    let stat = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    stat.split_whitespace()
        .nth(4)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| format!("{}: no count of writes in {stat:?}", path.display()))
}

/// Free fragments and free inodes of the filesystem of `dir`.
fn free_counts(dir: &Path) -> Result<(u64, u64), String> {
    sys::free_counts(dir).map_err(|e| format!("statfs {}: {e}", dir.display()))
}

/// A file of `len` bytes of `byte`, written and synced, open.
fn written(file: &mut File, len: usize, byte: u8) -> Check {
    file.write_all(&vec![byte; len])
        .map_err(|e| format!("write: {e}"))?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))
}

/// The bytes of `path`, if it is a file whose last block is a packed
/// tail; `None` if there is no such file.
fn packed_bytes(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let Ok(file) = File::open(path) else {
        return Ok(None);
    };
    let extents = sys::fiemap(&file).map_err(|e| format!("FIEMAP {}: {e}", path.display()))?;
    ensure!(
        extents
            .last()
            .is_some_and(|e| e.3 & sys::FIEMAP_EXTENT_DATA_TAIL != 0),
        "{} is no packed tail: extents {extents:?}",
        path.display()
    );
    fs::read(path)
        .map(Some)
        .map_err(|e| format!("read {}: {e}", path.display()))
}

/// The check (module documentation).  `device` is the block device the
/// filesystem of `dir` is mounted from.
pub fn check(dir: &Path, device: &Path) -> Check {
    let packed = dir.join("packed");
    let packed_before = packed_bytes(&packed)?;
    let free_before = free_counts(dir)?;
    // Blocks past the direct pointers: an indirect block is freed too.
    let path = dir.join("frozen-unlinked");
    let mut unlinked = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| format!("create {}: {e}", path.display()))?;
    written(&mut unlinked, 200_000, 0x75)?;
    fs::remove_file(&path).map_err(|e| format!("unlink {}: {e}", path.display()))?;
    let mut tmpfile = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(O_TMPFILE)
        .open(dir)
        .map_err(|e| format!("O_TMPFILE in {}: {e}", dir.display()))?;
    written(&mut tmpfile, 30_000, 0x74)?;
    let free_open = free_counts(dir)?;
    ensure!(
        free_open.0 < free_before.0 && free_open.1 + 2 == free_before.1,
        "the two files took no block or not two inodes: (free blocks, free inodes) {free_before:?} before, {free_open:?} after"
    );

    let root = File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()))?;
    sys::freeze(&root).map_err(|e| format!("FIFREEZE: {e}"))?;
    let writes_frozen = writes_completed(device);
    // Each step in a thread of its own, which may wait for the thaw; the
    // device read after each, past a sync(2): what a snapshot would
    // take (the filesystem's dirty buffers reach the device, sync_bdevs).
    let frozen = device_bytes(device);
    let opener = {
        let packed = packed_before.as_ref().map(|_| packed.clone());
        thread::spawn(move || {
            packed
                .map(|p| OpenOptions::new().write(true).open(p))
                .transpose()
                .map(drop)
        })
    };
    thread::sleep(Duration::from_secs(1));
    sys::sync_all_filesystems();
    let after_open = device_bytes(device);
    let closed = Arc::new(AtomicBool::new(false));
    let closer = {
        let closed = Arc::clone(&closed);
        thread::spawn(move || {
            drop(unlinked);
            drop(tmpfile);
            closed.store(true, Ordering::SeqCst);
        })
    };
    thread::sleep(Duration::from_secs(2));
    sys::sync_all_filesystems();
    let after_close = device_bytes(device);
    let closed_while_frozen = closed.load(Ordering::SeqCst);
    let synced = sys::syncfs_of(&root).map_err(|e| format!("syncfs while frozen: {e}"));
    let writes_synced = writes_completed(device);
    let thawed = sys::thaw(&root).map_err(|e| format!("FITHAW: {e}"));
    let opened = opener
        .join()
        .map_err(|_| "the opening thread panicked".to_string())?;
    closer
        .join()
        .map_err(|_| "the closing thread panicked".to_string())?;
    thawed?;
    opened.map_err(|e| format!("open {} for writing while frozen: {e}", packed.display()))?;
    let (frozen, after_open, after_close) = (frozen?, after_open?, after_close?);
    synced?;
    let (writes_frozen, writes_synced) = (writes_frozen?, writes_synced?);
    ensure!(
        writes_synced == writes_frozen,
        "{} writes reached {} while it was frozen (sync(2) and syncfs(2)): {writes_frozen} completed at the freeze, {writes_synced} before the thaw",
        writes_synced - writes_frozen.min(writes_synced),
        device.display()
    );
    let mut changes = Vec::new();
    for (what, before, after) in [
        (
            "an open for writing of the packed file",
            &frozen,
            &after_open,
        ),
        (
            "the last closes of an unlinked and an O_TMPFILE file",
            &after_open,
            &after_close,
        ),
    ] {
        if let Some(at) = before.iter().zip(after).position(|(a, b)| a != b) {
            changes.push(format!(
                "{what} changed the frozen device at byte {at} (block {} of 1 KiB): 0x{:02x} became 0x{:02x}",
                at / 1024,
                before[at],
                after[at],
            ));
        }
    }
    ensure!(
        changes.is_empty(),
        "{} (the closes {} while frozen)",
        changes.join("; "),
        if closed_while_frozen {
            "returned"
        } else {
            "waited"
        }
    );
    sys::sync_all_filesystems();
    let free_after = free_counts(dir)?;
    // The open for writing moved the packed file's tail out of its tail
    // block, which the file beside it still names: the tail takes the
    // fragments its bytes need (statfs counts in `f_frsize` units).
    let unit = sys::fragment_size(dir).map_err(|e| format!("statfs {}: {e}", dir.display()))?;
    let moved = packed_before
        .as_ref()
        .map_or(0, |bytes| (bytes.len() as u64).div_ceil(unit.max(1)));
    ensure!(
        free_after.0 + moved == free_before.0 && free_after.1 == free_before.1,
        "after the thaw (free blocks, free inodes) {free_after:?}, {free_before:?} before the two files, {moved} taken by the packed tail's move"
    );
    if let Some(bytes) = &packed_before {
        let now = fs::read(&packed).map_err(|e| format!("read {}: {e}", packed.display()))?;
        ensure!(&now == bytes, "{} changed its bytes", packed.display());
    }
    println!(
        "device unchanged and not written while frozen ({} bytes{}, syncfs included); the closes {} the thaw; (free blocks, free inodes) {free_before:?} again but the {moved} of the moved tail",
        frozen.len(),
        if packed_before.is_some() { ", a packed file opened for writing" } else { "" },
        if closed_while_frozen { "did not wait for" } else { "waited for" },
    );
    Ok(())
}
