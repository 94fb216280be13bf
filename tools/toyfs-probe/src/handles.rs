// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe handles DIR`: file handles (`name_to_handle_at`,
//! `open_by_handle_at`), as NFS and xfstests' open_by_handle tests use
//! them.  A handle of a file and of a directory opens them again once
//! the caches are dropped (the file's bytes, the directory's entries and
//! its path, which exportfs rebuilds through "..": `get_parent`); a bad
//! handle gives `ESTALE`: inode number 0 or past the table, a wrong
//! generation, a wrong type, a handle too short, a deleted file's, and a
//! deleted file's once its inode number belongs to a new file (the
//! generation tells them apart), a removed directory's.  A file unlinked
//! while open still opens by its handle until closed, as on ext2, ext4
//! and XFS.

use crate::sys::{self, Handle};
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

type Check = Result<(), String>;

/// `FILEID_INO32_GEN`: a 32-bit inode number and a 32-bit generation.
const FILEID_INO32_GEN: i32 = 1;
/// `ESTALE`.
pub(crate) const ESTALE: i32 = 116;

/// The bytes of file `k` of the probe: three 4 KiB blocks and a tail.
fn model(k: u8) -> Vec<u8> {
    (0..3 * 4096 + 777)
        .map(|i: usize| (i % 251) as u8 ^ k)
        .collect()
}

pub(crate) fn handle_of(path: &Path) -> Result<Handle, String> {
    let handle = sys::name_to_handle(path)
        .map_err(|e| format!("name_to_handle_at {}: {e}", path.display()))?;
    let ino = fs::symlink_metadata(path)
        .map_err(|e| format!("stat {}: {e}", path.display()))?
        .ino();
    if handle.kind != FILEID_INO32_GEN || handle.bytes.len() != 8 {
        return Err(format!(
            "{}: handle of type {} and {} bytes, expected FILEID_INO32_GEN (1) and 8",
            path.display(),
            handle.kind,
            handle.bytes.len()
        ));
    }
    if u64::from(word(&handle, 0)) != ino {
        return Err(format!(
            "{}: handle names inode {}, stat says {ino}",
            path.display(),
            word(&handle, 0)
        ));
    }
    Ok(handle)
}

/// Word `n` of a handle (0: the inode number, 1: the generation).
pub(crate) fn word(handle: &Handle, n: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&handle.bytes[4 * n..4 * n + 4]);
    u32::from_le_bytes(bytes)
}

/// `handle` with word `n` set to `value`.
pub(crate) fn with_word(handle: &Handle, n: usize, value: u32) -> Handle {
    let mut changed = handle.clone();
    changed.bytes[4 * n..4 * n + 4].copy_from_slice(&value.to_le_bytes());
    changed
}

pub(crate) fn drop_caches() -> Check {
    sys::sync_all_filesystems();
    fs::write("/proc/sys/vm/drop_caches", "3").map_err(|e| format!("drop_caches: {e}"))
}

/// Opens `handle`, which must give `ESTALE`.
fn stale(mount: &File, handle: &Handle, flags: i32, what: &str) -> Check {
    match sys::open_by_handle(mount, handle, flags) {
        Err(e) if e.raw_os_error() == Some(ESTALE) => Ok(()),
        Err(e) => Err(format!(
            "{what}: open_by_handle_at gave {e}, expected ESTALE"
        )),
        Ok(file) => {
            let ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
            Err(format!(
                "{what}: open_by_handle_at opened a file (inode {ino}), expected ESTALE"
            ))
        }
    }
}

/// Opens `handle` as a regular file, which must hold `expected`.
fn reads(mount: &File, handle: &Handle, expected: &[u8], what: &str) -> Check {
    let mut file = sys::open_by_handle(mount, handle, 0)
        .map_err(|e| format!("{what}: open_by_handle_at: {e}"))?;
    let ino = file
        .metadata()
        .map_err(|e| format!("{what}: fstat: {e}"))?
        .ino();
    if ino != u64::from(word(handle, 0)) {
        return Err(format!(
            "{what}: opened inode {ino}, the handle names {}",
            word(handle, 0)
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("{what}: read: {e}"))?;
    if bytes != expected {
        let at = bytes.iter().zip(expected).position(|(a, b)| a != b);
        return Err(format!(
            "{what}: read {} bytes, expected {}; first difference at {at:?}",
            bytes.len(),
            expected.len()
        ));
    }
    Ok(())
}

/// `toyfs-probe handles DIR`.
pub fn handles(root: &Path) -> Check {
    let io = |what: &str, r: std::io::Result<()>| r.map_err(|e| format!("{what}: {e}"));
    let top = root.join("handles");
    let _ = fs::remove_dir_all(&top);
    io("mkdir", fs::create_dir(&top))?;
    let file = top.join("file");
    let sub = top.join("sub");
    io("write file", fs::write(&file, model(1)))?;
    io("mkdir sub", fs::create_dir(&sub))?;
    io("write inner", fs::write(sub.join("inner"), b"inner bytes"))?;
    let mount = File::open(root).map_err(|e| format!("open {}: {e}", root.display()))?;
    let file_handle = handle_of(&file)?;
    let dir_handle = handle_of(&sub)?;
    drop_caches()?;

    // The file and the directory, from the disk.
    reads(&mount, &file_handle, &model(1), "the file's handle")?;
    let dir = sys::open_by_handle(&mount, &dir_handle, sys::O_DIRECTORY)
        .map_err(|e| format!("the directory's handle: open_by_handle_at: {e}"))?;
    let meta = dir.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !meta.is_dir() || meta.ino() != u64::from(word(&dir_handle, 0)) {
        return Err(format!(
            "the directory's handle opened inode {} (directory: {})",
            meta.ino(),
            meta.is_dir()
        ));
    }
    // exportfs connected the directory to its path through "..".
    let fd_path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let linked = fs::read_link(&fd_path).map_err(|e| format!("readlink {fd_path}: {e}"))?;
    let canonical = fs::canonicalize(&sub).map_err(|e| format!("realpath: {e}"))?;
    if linked != canonical {
        return Err(format!(
            "the directory opened by handle is {}, expected {}",
            linked.display(),
            canonical.display()
        ));
    }
    let inner = fs::read(Path::new(&fd_path).join("inner"))
        .map_err(|e| format!("read inner through the directory opened by handle: {e}"))?;
    if inner != b"inner bytes" {
        return Err("inner read through the directory's handle holds other bytes".into());
    }
    drop(dir);

    // Bad handles.
    let (ino, generation) = (word(&file_handle, 0), word(&file_handle, 1));
    stale(&mount, &with_word(&file_handle, 0, 0), 0, "inode 0")?;
    stale(
        &mount,
        &with_word(&file_handle, 0, u32::MAX),
        0,
        "inode 2^32-1",
    )?;
    stale(
        &mount,
        &with_word(&file_handle, 1, generation.wrapping_add(1)),
        0,
        "generation + 1",
    )?;
    stale(
        &mount,
        &with_word(&file_handle, 1, generation ^ 0x1_0000),
        0,
        "generation ^ 0x10000",
    )?;
    let short = Handle {
        kind: FILEID_INO32_GEN,
        bytes: file_handle.bytes[..4].to_vec(),
    };
    stale(&mount, &short, 0, "a handle of 4 bytes")?;
    let other_type = Handle {
        kind: 0x81,
        bytes: file_handle.bytes.clone(),
    };
    stale(&mount, &other_type, 0, "a handle of type 0x81")?;
    reads(&mount, &file_handle, &model(1), "the file's handle, again")?;

    // A file unlinked while open opens by its handle until closed.
    let open_file = top.join("open");
    io("write open", fs::write(&open_file, model(2)))?;
    let open_handle = handle_of(&open_file)?;
    let kept = File::open(&open_file).map_err(|e| format!("open: {e}"))?;
    io("unlink open", fs::remove_file(&open_file))?;
    drop_caches()?;
    reads(
        &mount,
        &open_handle,
        &model(2),
        "an unlinked file still open",
    )?;
    drop(kept);
    drop_caches()?;
    stale(&mount, &open_handle, 0, "an unlinked file once closed")?;

    // A deleted file: stale, also once a new file has its inode number.
    io("unlink file", fs::remove_file(&file))?;
    drop_caches()?;
    stale(&mount, &file_handle, 0, "a deleted file (a free inode)")?;
    let mut reused = None;
    for k in 0..1000 {
        let path = top.join(format!("new{k}"));
        io("create new", fs::write(&path, model(3)))?;
        let new_ino = fs::metadata(&path).map_err(|e| format!("stat: {e}"))?.ino();
        if new_ino == u64::from(ino) {
            reused = Some(path);
            break;
        }
    }
    let Some(reused) = reused else {
        return Err(format!(
            "no new file got inode {ino} back in 1000 creations: the reuse is not tested"
        ));
    };
    let new_handle = handle_of(&reused)?;
    if word(&new_handle, 1) == generation {
        return Err(format!(
            "the new file in inode {ino} has the deleted file's generation {generation}"
        ));
    }
    drop_caches()?;
    stale(
        &mount,
        &file_handle,
        0,
        "a deleted file's handle, its inode number reused",
    )?;
    reads(&mount, &new_handle, &model(3), "the new file's handle")?;

    // A removed directory.
    io("unlink inner", fs::remove_file(sub.join("inner")))?;
    io("rmdir sub", fs::remove_dir(&sub))?;
    drop_caches()?;
    stale(&mount, &dir_handle, sys::O_DIRECTORY, "a removed directory")?;
    io("clean up", fs::remove_dir_all(&top))
}

/// `toyfs-probe handle-save PATH OUT`: writes the handle of `path` to
/// `out` (its type, then its bytes in hex), for `handle-check` after a
/// remount.
pub fn handle_save(path: &Path, out: &Path) -> Check {
    let handle = handle_of(path)?;
    let hex: String = handle.bytes.iter().map(|b| format!("{b:02x}")).collect();
    fs::write(out, format!("{} {hex}\n", handle.kind))
        .map_err(|e| format!("write {}: {e}", out.display()))
}

/// `toyfs-probe handle-check MOUNT SAVED EXPECTED`: the handle that
/// `handle-save` wrote to `saved` opens, on the filesystem mounted at
/// `mount`, a file holding the bytes of file `expected`.
pub fn handle_check(mount: &Path, saved: &Path, expected: &Path) -> Check {
    let text = fs::read_to_string(saved).map_err(|e| format!("read {}: {e}", saved.display()))?;
    let mut words = text.split_whitespace();
    let bad = || format!("{}: not a saved handle", saved.display());
    let kind = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    let hex = words.next().ok_or_else(bad)?;
    let bytes = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let handle = Handle { kind, bytes };
    let expected = fs::read(expected).map_err(|e| format!("read {}: {e}", expected.display()))?;
    let mount = File::open(mount).map_err(|e| format!("open {}: {e}", mount.display()))?;
    reads(&mount, &handle, &expected, "the saved handle")
}

/// `toyfs-probe fibmap DIR BLOCK-SIZE tail|whole`: `FIBMAP` (`bmap`) of
/// a file of three whole blocks, a hole of two, two whole blocks and 100
/// bytes: each whole block's disk block is the one FIEMAP maps it to,
/// the hole's blocks and those past the end are 0, and so is the last
/// block when it is a tail in fragments (`tail`; `whole` on an image
/// without fragments, where it is a whole plain block).
pub fn fibmap(root: &Path, block_size: &str, last: &str) -> Check {
    use std::io::{Seek, SeekFrom, Write};
    let b: u64 = block_size
        .parse()
        .map_err(|_| format!("block size {block_size}"))?;
    let tail = match last {
        "tail" => true,
        "whole" => false,
        _ => return Err(format!("{last}: tail or whole")),
    };
    let path = root.join("fibmap");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| format!("create: {e}"))?;
    let bytes = |k: u64, len: u64| -> Vec<u8> { (0..len).map(|i| ((i + k) % 253) as u8).collect() };
    let write_at = |file: &mut File, at: u64, data: &[u8]| -> Check {
        file.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        file.write_all(data)
            .map_err(|e| format!("write at {at}: {e}"))
    };
    write_at(&mut file, 0, &bytes(1, 3 * b))?;
    write_at(&mut file, 5 * b, &bytes(2, 2 * b + 100))?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    let extents = sys::fiemap(&file).map_err(|e| format!("FIEMAP: {e}"))?;
    // FIEMAP's disk block of file block `n`, if an extent maps its start
    // to the start of a disk block.
    let mapped = |n: u64| -> Option<u64> {
        extents.iter().find_map(|&(logical, physical, length, _)| {
            let at = n * b;
            (at >= logical && at < logical + length && (physical + at - logical) % b == 0)
                .then(|| (physical + at - logical) / b)
        })
    };
    for n in 0..10u64 {
        let got = u64::from(sys::fibmap(&file, n as u32).map_err(|e| format!("FIBMAP {n}: {e}"))?);
        let expected = match n {
            0..=2 | 5 | 6 => mapped(n).ok_or(format!("FIEMAP maps no whole block {n}"))?,
            7 if !tail => mapped(7).ok_or("FIEMAP maps no whole last block")?,
            _ => 0,
        };
        if got != expected {
            return Err(format!(
                "FIBMAP of block {n} is {got}, expected {expected} (FIEMAP: {extents:?})"
            ));
        }
    }
    drop(file);
    fs::remove_file(&path).map_err(|e| format!("unlink: {e}"))
}

/// `toyfs-probe swapon-refused FILE`: `swapon(2)` of FILE (a swap file
/// with holes, or on an LZ4 image) must fail with `EINVAL`; if it does
/// not, FILE is taken back with `swapoff` and the check fails.
pub fn swapon_refused(path: &Path) -> Check {
    const EINVAL: i32 = 22;
    match sys::swap_on(path) {
        Err(e) if e.raw_os_error() == Some(EINVAL) => Ok(()),
        Err(e) => Err(format!("swapon {}: {e}, expected EINVAL", path.display())),
        Ok(()) => {
            let off = sys::swap_off(path).map_err(|e| format!(", and swapoff: {e}"));
            Err(format!(
                "swapon {} succeeded{}",
                path.display(),
                off.err().unwrap_or_default()
            ))
        }
    }
}
