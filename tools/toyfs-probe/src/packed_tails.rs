// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe packed-tails DIR MODEL`: every way a file whose last block
//! is a packed tail (`mkfs.toyfs -p`) can change, each on its own file of
//! the toyfs at DIR and on the same file of a copy of the tree on tmpfs
//! at MODEL; then every file of DIR reads as MODEL's, from the page cache
//! and from the disk.  The files (made by the caller, each with a packed
//! tail): `rdwr` opened for reading and writing and closed; `ro` opened
//! for reading only (its tail stays packed); `append`; `overwrite` (a
//! byte range inside the tail); `down` and `up` truncated by path
//! (`truncate(2)`, no file opened) into the tail (a plain one stays
//! packed, shorter) and past its block;
//! `otrunc` opened with `O_TRUNC`; `mmap` stored into through a shared
//! mapping; `remove` unlinked; `open-unlinked` unlinked while open, then
//! read, then closed.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::{drop_caches, sys, Check};

/// Applies every change to `dir` and `model` alike, then compares them.
pub fn change(dir: &Path, model: &Path) -> Check {
    for root in [dir, model] {
        apply(root).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    compare(dir, model, "from the page cache")?;
    drop_caches()?;
    compare(dir, model, "from the disk")
}

fn apply(root: &Path) -> Result<(), String> {
    let at = |name: &str| root.join(name);
    fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    drop(
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(at("rdwr"))
            .map_err(io("open rdwr"))?,
    );
    let mut read = Vec::new();
    File::open(at("ro"))
        .and_then(|mut file| file.read_to_end(&mut read))
        .map_err(io("read ro"))?;
    OpenOptions::new()
        .append(true)
        .open(at("append"))
        .and_then(|mut file| file.write_all(b"appended past the packed tail"))
        .map_err(io("append"))?;
    let size = fs::metadata(at("overwrite"))
        .map_err(io("stat overwrite"))?
        .len();
    OpenOptions::new()
        .write(true)
        .open(at("overwrite"))
        .and_then(|file| file.write_all_at(b"OVERWRITTEN", size - 20))
        .map_err(io("overwrite"))?;
    let size = fs::metadata(at("down")).map_err(io("stat down"))?.len();
    sys::truncate_path(&at("down"), size - 7).map_err(io("truncate down"))?;
    let size = fs::metadata(at("up")).map_err(io("stat up"))?.len();
    sys::truncate_path(&at("up"), size + 9000).map_err(io("truncate up"))?;
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(at("otrunc"))
        .and_then(|mut file| file.write_all(b"new"))
        .map_err(io("O_TRUNC"))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(at("mmap"))
        .map_err(io("open mmap"))?;
    let size = file.metadata().map_err(io("stat mmap"))?.len() as usize;
    {
        let map = sys::Mapping::new(&file, size).map_err(io("mmap"))?;
        map.store(size - 3, b"MAP");
        map.sync().map_err(io("msync"))?;
    }
    drop(file);
    fs::remove_file(at("remove")).map_err(io("unlink remove"))?;
    let mut open = File::open(at("open-unlinked")).map_err(io("open open-unlinked"))?;
    fs::remove_file(at("open-unlinked")).map_err(io("unlink open-unlinked"))?;
    let mut bytes = Vec::new();
    open.read_to_end(&mut bytes)
        .map_err(io("read open-unlinked"))?;
    Ok(())
}

/// Every file of `model` reads in `dir` as in `model`, and `dir` has no
/// other.
fn compare(dir: &Path, model: &Path, how: &str) -> Check {
    let names = |root: &Path| -> Result<Vec<_>, String> {
        let mut names: Vec<std::ffi::OsString> = fs::read_dir(root)
            .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(|e: std::io::Error| format!("{}: {e}", root.display()))?;
        names.sort();
        Ok(names)
    };
    let (want, got) = (names(model)?, names(dir)?);
    if want != got {
        return Err(format!(
            "{how}: the names are {got:?}, the model's {want:?}"
        ));
    }
    for name in want {
        let (want, got) = (fs::read(model.join(&name)), fs::read(dir.join(&name)));
        let (want, got) = (
            want.map_err(|e| format!("{name:?}: {e}"))?,
            got.map_err(|e| format!("{how}: {name:?}: {e}"))?,
        );
        if want != got {
            let at = want
                .iter()
                .zip(&got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()));
            return Err(format!(
                "{how}: {name:?}: {} bytes, the model {}, first difference at {at}",
                got.len(),
                want.len()
            ));
        }
    }
    Ok(())
}

/// `toyfs-probe open-beside-write DIR BACKING`: opening a file for
/// writing on an image with packed tails waits for nothing of a file
/// that has none (review rev10: every such open took the file's inode
/// lock and `invalidate_lock`, to move a packed tail it might have, and
/// waited for any write of the file under way, as no open on ext2 does).
/// DIR is a toyfs with PACKED_TAILS on a loop device whose file is on
/// the filesystem mounted at BACKING; `busy` and `other` (made by the
/// caller) are whole plain blocks, no packed tail.  With BACKING frozen
/// (the loop device's writes wait), a direct write of `busy`'s first
/// block waits for its bio holding `busy`'s inode lock; meanwhile
/// another thread opens `other`, then `busy`, for writing: both opens
/// must return while the write still waits.  Thawed, the write ends.
pub fn open_beside_write(dir: &Path, backing: &Path) -> Result<(), String> {
    use crate::freed_tail::{thread_state, wait_until, Frozen};
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicI32, Ordering};

    let block = crate::block_size(dir)? as usize;
    let direct = OpenOptions::new()
        .write(true)
        .custom_flags(sys::O_DIRECT)
        .open(dir.join("busy"))
        .map_err(|e| format!("open busy with O_DIRECT: {e}"))?;
    direct
        .sync_all()
        .map_err(|e| format!("fsync of busy: {e}"))?;
    let backing = File::open(backing).map_err(|e| format!("{}: {e}", backing.display()))?;
    let mut frozen = Frozen::new(&backing)?;
    let writer_tid = AtomicI32::new(0);
    let (waited, opened, write_waits, thawed, written, opens) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            writer_tid.store(sys::thread_id(), Ordering::SeqCst);
            crate::write_aligned(&direct, &vec![b'W'; block], 0)
        });
        // Waiting for its bio, the loop device's write held by the freeze.
        let waited = wait_until(|| {
            let tid = writer_tid.load(Ordering::SeqCst);
            tid != 0 && thread_state(tid) == Some('D')
        });
        let opener = s.spawn(|| -> Result<(), String> {
            for name in ["other", "busy"] {
                OpenOptions::new()
                    .write(true)
                    .open(dir.join(name))
                    .map_err(|e| format!("open {name} for writing: {e}"))?;
            }
            Ok(())
        });
        let opened = wait_until(|| opener.is_finished());
        let write_waits = !writer.is_finished();
        let thawed = frozen.thaw();
        let written = writer
            .join()
            .unwrap_or_else(|_| Err("the writer panicked".into()));
        let opens = opener
            .join()
            .unwrap_or_else(|_| Err("the opener panicked".into()));
        (waited, opened, write_waits, thawed, written, opens)
    });
    thawed?;
    written?;
    opens?;
    if !waited || !write_waits {
        return Err(
            "the direct write of busy did not wait for the frozen device: nothing tested".into(),
        );
    }
    if !opened {
        return Err(
            "opening a file without a packed tail for writing waited for a write of it under way"
                .into(),
        );
    }
    Ok(())
}
