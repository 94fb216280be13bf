// SPDX-License-Identifier: GPL-2.0
//! The order in which `fallocate` makes its blocks ready and names them,
//! seen from the disk: a loop device's backing file is the disk, read
//! while the filesystem runs (Documentation/toyfs.rst, "Crash
//! consistency").  The image was filled with STALE (bytes `STALEDA\n`
//! over and over, as `yes STALEDA` writes them) before `mkfs.toyfs`:
//! every block no one wrote since reads as STALE.
//!
//! `toyfs-probe fallocate-race DIR IMAGE BACKING` (IMAGE on the
//! filesystem mounted at BACKING, which it freezes: the loop device's
//! writes wait): file `race` of 256 KiB of holes, synced; with BACKING
//! frozen, one thread's `fallocate` of it waits for its first write;
//! another asks `FIBMAP` for block 0 and, answered, reads that block from
//! IMAGE; once it has answered or waits, BACKING is thawed.  The block
//! must be zeros: named before its zeros were written (toyfs named a
//! chunk of 64 blocks, unlocked the map and zeroed them after), it held
//! STALE, and a pointer to it reaching the disk then (the device's
//! writeback of an indirect block, a `sync` writing the inode) showed
//! another file's old bytes in the file after a crash.  Now `FIBMAP`
//! waits for the map, held until the zeros are written.
//!
//! `toyfs-probe stale-written COPY IMAGE BLOCK-SIZE`: COPY, a copy of
//! IMAGE taken right after an `fallocate`, before a `sync`, must hold no
//! block of STALE that IMAGE, after the `sync`, holds changed: what the
//! `sync` wrote over STALE was a block the map already named (a new
//! indirect block, a new tail's block), whose bytes had not reached the
//! disk, and whose pointer the device's writeback could write first.
//!
//! `toyfs-probe fallocate-error DIR MAKE-IT-FAIL` (fail_make_request
//! armed, MAKE-IT-FAIL the device's `make-it-fail`): `fallocate` of 2 MiB
//! past a file of 5000 bytes while the device fails, at once and after
//! letting the first 200000 bytes of writes through (fail_make_request's
//! `space`), must fail with `EIO` and change nothing: size, `st_blocks`,
//! the free blocks, the extents and the bytes.

use crate::freed_tail::{thread_state, wait_until, Frozen};
use crate::{sys, Check};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

/// The bytes a block of the image holds if nothing wrote it since it was
/// filled (`yes STALEDA`).
const STALE: &[u8; 8] = b"STALEDA\n";

/// Whether `block` is all STALE.
fn is_stale(block: &[u8]) -> bool {
    block
        .chunks(STALE.len())
        .all(|chunk| chunk == &STALE[..chunk.len()])
}

/// `fallocate-race`, see the module's documentation.
pub fn fallocate_race(dir: &Path, image: &Path, backing: &Path) -> Check {
    let b = fs::metadata(dir).map_err(|e| e.to_string())?.blksize();
    let len = 256 << 10;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("race"))
        .map_err(|e| format!("create: {e}"))?;
    // Inside the file: FIBMAP answers only for blocks before its end.
    file.set_len(len).map_err(|e| format!("truncate: {e}"))?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    sys::sync_all_filesystems();
    let disk = File::open(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let backing = File::open(backing).map_err(|e| format!("{}: {e}", backing.display()))?;
    let mut frozen = Frozen::new(&backing)?;
    let (allocator_tid, reader_tid) = (AtomicI32::new(0), AtomicI32::new(0));
    let waits = |tid: &AtomicI32| {
        let tid = tid.load(Ordering::Acquire);
        tid != 0 && thread_state(tid) == Some('D')
    };
    std::thread::scope(|scope| -> Check {
        let allocator = scope.spawn(|| {
            allocator_tid.store(sys::thread_id(), Ordering::Release);
            sys::fallocate_file(&file, 0, 0, len)
        });
        if !wait_until(|| waits(&allocator_tid)) {
            return Err("fallocate never waited for the frozen disk".into());
        }
        let reader = scope.spawn(|| -> Result<(u32, Vec<u8>), String> {
            reader_tid.store(sys::thread_id(), Ordering::Release);
            let physical = sys::fibmap(&file, 0).map_err(|e| format!("FIBMAP: {e}"))?;
            let mut block = vec![0u8; b as usize];
            disk.read_exact_at(&mut block, u64::from(physical) * b)
                .map_err(|e| format!("read block {physical}: {e}"))?;
            Ok((physical, block))
        });
        if !wait_until(|| reader.is_finished() || waits(&reader_tid)) {
            return Err("FIBMAP neither answered nor waited".into());
        }
        let answered_frozen = reader.is_finished();
        frozen.thaw()?;
        let named = reader
            .join()
            .map_err(|_| "the FIBMAP thread panicked".to_string())?;
        allocator
            .join()
            .map_err(|_| "the fallocate thread panicked".to_string())?
            .map_err(|e| format!("fallocate: {e}"))?;
        let (physical, block) = named?;
        println!(
            "FIBMAP of block 0 answered {} the disk was thawed: disk block {physical}",
            if answered_frozen { "before" } else { "after" }
        );
        if physical == 0 {
            return Err("block 0 not allocated".into());
        }
        if block.iter().any(|&byte| byte != 0) {
            return Err(format!(
                "file block 0 named at disk block {physical} while its zeros waited for the \
                 frozen disk: it held {} there",
                if is_stale(&block) {
                    "STALE"
                } else {
                    "bytes not zero"
                }
            ));
        }
        Ok(())
    })
}

/// `fallocate(2)` of bytes `0..len` of `path` (mode 0).
pub fn fallocate_path(path: &Path, len: u64) -> Check {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    sys::fallocate_file(&file, 0, 0, len).map_err(|e| format!("fallocate: {e}"))
}

/// `stale-written`, see the module's documentation.
pub fn stale_written(copy: &Path, image: &Path, block_size: &str) -> Check {
    let b: usize = block_size
        .parse()
        .map_err(|_| format!("block size {block_size}"))?;
    let read = |path: &Path| fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let (before, after) = (read(copy)?, read(image)?);
    if before.len() != after.len() || b == 0 {
        return Err("the copy and the image differ in size".into());
    }
    let written: Vec<usize> = before
        .chunks(b)
        .zip(after.chunks(b))
        .enumerate()
        .filter(|(_, (old, new))| is_stale(old) && old != new)
        .map(|(index, _)| index)
        .collect();
    if !written.is_empty() {
        return Err(format!(
            "blocks {written:?} held STALE after fallocate and were written by the sync after it"
        ));
    }
    Ok(())
}

/// What `fallocate-error` compares before and after: size, `st_blocks`,
/// free blocks, extents and bytes.
#[derive(Debug, PartialEq)]
struct FileState {
    size: u64,
    blocks: u64,
    free: (u64, u64),
    extents: Vec<sys::Extent>,
    bytes: Vec<u8>,
}

fn file_state(dir: &Path, file: &File) -> Result<FileState, String> {
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let mut bytes = vec![0u8; meta.len() as usize];
    file.read_exact_at(&mut bytes, 0)
        .map_err(|e| format!("read: {e}"))?;
    Ok(FileState {
        size: meta.len(),
        blocks: meta.blocks(),
        free: sys::free_counts(dir).map_err(|e| format!("statfs: {e}"))?,
        extents: sys::fiemap(file).map_err(|e| format!("FIEMAP: {e}"))?,
        bytes,
    })
}

/// `fallocate-error`, see the module's documentation.
pub fn fallocate_error(dir: &Path, make_it_fail: &Path) -> Check {
    let space = Path::new("/sys/kernel/debug/fail_make_request/space");
    let path = dir.join("fallocate-error");
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8 + 1).collect();
    fs::write(&path, &bytes).map_err(|e| format!("write: {e}"))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    let set = |path: &Path, value: &str| {
        fs::write(path, value).map_err(|e| format!("{}: {e}", path.display()))
    };
    for budget in ["0", "200000"] {
        let before = file_state(dir, &file)?;
        set(space, budget)?;
        set(make_it_fail, "1")?;
        let result = sys::fallocate_file(&file, 0, 0, 2 << 20);
        set(make_it_fail, "0")?;
        set(space, "0")?;
        match result {
            Err(e) if e.raw_os_error() == Some(5) => {}
            other => {
                return Err(format!(
                    "fallocate with the device failing after {budget} bytes: {other:?}, not EIO"
                ))
            }
        }
        let after = file_state(dir, &file)?;
        if after != before {
            return Err(format!(
                "after {budget} bytes: the failed fallocate changed the file: size {} -> {}, \
                 st_blocks {} -> {}, free {:?} -> {:?}, extents {:?} -> {:?}, bytes {}",
                before.size,
                after.size,
                before.blocks,
                after.blocks,
                before.free,
                after.free,
                before.extents,
                after.extents,
                if before.bytes == after.bytes {
                    "the same"
                } else {
                    "changed"
                }
            ));
        }
    }
    Ok(())
}
