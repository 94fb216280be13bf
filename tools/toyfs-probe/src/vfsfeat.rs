// SPDX-License-Identifier: GPL-2.0
//! `O_TMPFILE` files (`toyfs-probe tmpfile`) and the flags of a
//! directory (`toyfs-probe dir-flags`), as ext2 has them, and
//! `RENAME_EXCHANGE` (`toyfs-probe rename-exchange`).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{block_size, drop_caches, pattern, same, sys, Check};

/// `ENOENT`.
const ENOENT: i32 = 2;
/// `EOPNOTSUPP`.
const EOPNOTSUPP: i32 = 95;
/// `FS_COMPR_FL`, the one flag toyfs keeps (on regular files).
const FS_COMPR_FL: u32 = 0x4;
/// `FS_NOATIME_FL`, a flag toyfs does not keep.
const FS_NOATIME_FL: u32 = 0x80;

fn errno(result: &io::Result<()>) -> Option<i32> {
    result.as_ref().err().and_then(io::Error::raw_os_error)
}

/// A new `O_TMPFILE` file in `dir`; `exclusive`: with `O_EXCL`, never
/// to be linked.
fn open_tmpfile(dir: &Path, exclusive: bool) -> Result<File, String> {
    let excl = if exclusive { sys::O_EXCL } else { 0 };
    OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(sys::O_TMPFILE | excl)
        .open(dir)
        .map_err(|e| format!("open O_TMPFILE in {}: {e}", dir.display()))
}

/// The bytes of a file of `b`-byte blocks: a whole block, a hole of one
/// block, two whole blocks and a tail of 700 bytes (a fragment tail on an
/// image with fragments, compressed blocks on one with LZ4: the pattern
/// has a period of 251 bytes).
fn model(b: u64) -> Vec<u8> {
    let len = 4 * b + 700;
    (0..len)
        .map(|at| {
            if (b..2 * b).contains(&at) {
                0
            } else {
                pattern(at)
            }
        })
        .collect()
}

/// Writes `model` to `file` (not the hole of `model`'s second block).
fn write_model(file: &File, model: &[u8], b: u64) -> Check {
    let b = b as usize;
    file.write_all_at(&model[..b], 0)
        .and_then(|()| file.write_all_at(&model[2 * b..], 2 * b as u64))
        .map_err(|e| format!("write: {e}"))
}

fn nlink(file: &File) -> Result<u64, String> {
    Ok(file.metadata().map_err(|e| format!("fstat: {e}"))?.nlink())
}

/// `O_TMPFILE` in `dir`, on the toyfs of the loop device whose backing
/// file is `image`:
///
/// - a tmpfile written, synced and closed gives back every block and its
///   inode;
/// - one opened with `O_EXCL` cannot be linked (`ENOENT`, by
///   `AT_EMPTY_PATH` and by `/proc/self/fd`);
/// - a tmpfile holding the bytes of [`model`] (whole blocks, a hole, a
///   tail), one of 100 bytes, the `O_EXCL` one and a file unlinked while
///   open are all open, synced, when `image` is copied to `snapshot`
///   (the disk as a crash would leave it): their inode numbers are
///   printed, the orphans fsck must report there;
/// - the first is then linked as `tmpfile-linked` (`linkat` with
///   `AT_EMPTY_PATH`), the second as `tmpfile-proc` (`/proc/self/fd/N`
///   with `AT_SYMLINK_FOLLOW`): each has one link, reads back its bytes
///   from the cache and from the disk, and keeps its inode number;
///   `model_out` gets the first one's bytes, for the check after a
///   remount.
pub fn tmpfile(dir: &Path, image: &Path, snapshot: &Path, model_out: &Path) -> Check {
    let b = block_size(dir)?;
    let model = model(b);

    sys::sync_all_filesystems();
    let before = sys::free_counts(dir).map_err(|e| format!("statfs: {e}"))?;
    {
        let scratch = open_tmpfile(dir, false)?;
        ensure!(nlink(&scratch)? == 0, "a new tmpfile has links");
        write_model(&scratch, &model, b)?;
        scratch.sync_all().map_err(|e| format!("fsync: {e}"))?;
        let during = sys::free_counts(dir).map_err(|e| format!("statfs: {e}"))?;
        ensure!(
            during.0 < before.0 && during.1 == before.1 - 1,
            "an open tmpfile: free (fragments, inodes) {during:?}, before {before:?}"
        );
    }
    sys::sync_all_filesystems();
    let after = sys::free_counts(dir).map_err(|e| format!("statfs: {e}"))?;
    ensure!(
        after == before,
        "a closed tmpfile: free (fragments, inodes) {after:?}, before {before:?}"
    );

    let linked = open_tmpfile(dir, false)?;
    write_model(&linked, &model, b)?;
    linked.sync_all().map_err(|e| format!("fsync: {e}"))?;
    let by_proc = open_tmpfile(dir, false)?;
    let small = &model[..100];
    by_proc
        .write_all_at(small, 0)
        .map_err(|e| format!("write: {e}"))?;
    let never = open_tmpfile(dir, true)?;
    never
        .write_all_at(b"never linked", 0)
        .map_err(|e| format!("write: {e}"))?;
    let unlinked_path = dir.join("unlinked-open");
    let unlinked = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&unlinked_path)
        .map_err(|e| format!("create: {e}"))?;
    write_model(&unlinked, &model, b)?;
    fs::remove_file(&unlinked_path).map_err(|e| format!("unlink: {e}"))?;

    for (how, result) in [
        (
            "AT_EMPTY_PATH",
            sys::link_open_file(&never, &dir.join("never-a")),
        ),
        (
            "/proc/self/fd",
            sys::link_following(
                Path::new(&format!("/proc/self/fd/{}", never.as_raw_fd())),
                &dir.join("never-b"),
            ),
        ),
    ] {
        ensure!(
            errno(&result) == Some(ENOENT),
            "link of an O_EXCL tmpfile by {how}: {result:?}, expected ENOENT"
        );
    }

    // The disk as a crash would leave it, with the four open.
    sys::sync_all_filesystems();
    fs::copy(image, snapshot).map_err(|e| format!("copy the image: {e}"))?;
    let mut orphans = Vec::new();
    for file in [&linked, &by_proc, &never, &unlinked] {
        let meta = file.metadata().map_err(|e| format!("fstat: {e}"))?;
        ensure!(
            meta.nlink() == 0,
            "inode {}: {} links",
            meta.ino(),
            meta.nlink()
        );
        orphans.push(meta.ino().to_string());
    }
    println!("{}", orphans.join(" "));

    let ino = linked.metadata().map_err(|e| e.to_string())?.ino();
    let first = dir.join("tmpfile-linked");
    sys::link_open_file(&linked, &first).map_err(|e| format!("link by AT_EMPTY_PATH: {e}"))?;
    let second = dir.join("tmpfile-proc");
    sys::link_following(
        Path::new(&format!("/proc/self/fd/{}", by_proc.as_raw_fd())),
        &second,
    )
    .map_err(|e| format!("link by /proc/self/fd: {e}"))?;
    for (path, file, bytes) in [(&first, &linked, &model[..]), (&second, &by_proc, small)] {
        let meta = fs::metadata(path).map_err(|e| format!("stat {}: {e}", path.display()))?;
        ensure!(
            meta.nlink() == 1 && nlink(file)? == 1 && meta.len() == bytes.len() as u64,
            "{}: {} links, {} bytes",
            path.display(),
            meta.nlink(),
            meta.len()
        );
        let mut named = File::open(path).map_err(|e| e.to_string())?;
        same(&mut named, bytes, "the linked tmpfile")?;
    }
    ensure!(
        fs::metadata(&first).map_err(|e| e.to_string())?.ino() == ino,
        "the link names another inode"
    );
    drop((linked, by_proc, never, unlinked));
    sys::sync_all_filesystems();
    drop_caches()?;
    let mut named = File::open(&first).map_err(|e| e.to_string())?;
    same(&mut named, &model, "the linked tmpfile, from the disk")?;
    fs::write(model_out, &model).map_err(|e| format!("{}: {e}", model_out.display()))
}

/// `FS_IOC_GETFLAGS` and `FS_IOC_SETFLAGS` (`lsattr -d`, `chattr`) on
/// directory `dir` and on a file in it, as ext2 takes them, with the
/// flags toyfs keeps: a directory shows none, takes 0 and refuses
/// `FS_COMPR_FL` and any other flag with `EOPNOTSUPP`, changing nothing;
/// a file takes `FS_COMPR_FL` on an image with LZ4 (`lz4` true) and
/// refuses it with `EOPNOTSUPP` without.
pub fn dir_flags(dir: &Path, lz4: bool) -> Check {
    let sub = dir.join("flags-dir");
    let _ = fs::remove_dir(&sub);
    fs::create_dir(&sub).map_err(|e| format!("mkdir: {e}"))?;
    let opened = File::open(&sub).map_err(|e| format!("open the directory: {e}"))?;
    let get = |file: &File, what: &str| {
        sys::get_flags(file).map_err(|e| format!("FS_IOC_GETFLAGS of {what}: {e}"))
    };
    ensure!(
        get(&opened, "a directory")? == 0,
        "a new directory has flags"
    );
    sys::set_flags(&opened, 0).map_err(|e| format!("FS_IOC_SETFLAGS 0 of a directory: {e}"))?;
    for flag in [FS_COMPR_FL, FS_NOATIME_FL] {
        let set = sys::set_flags(&opened, flag);
        ensure!(
            errno(&set) == Some(EOPNOTSUPP),
            "FS_IOC_SETFLAGS {flag:#x} of a directory: {set:?}, expected EOPNOTSUPP"
        );
        ensure!(
            get(&opened, "a directory")? == 0,
            "a refused flag {flag:#x} stayed on the directory"
        );
    }
    let path = sub.join("file");
    let file = File::create(&path).map_err(|e| format!("create: {e}"))?;
    let default = get(&file, "a new file")?;
    let set = sys::set_flags(&file, FS_COMPR_FL);
    if lz4 {
        set.map_err(|e| format!("FS_IOC_SETFLAGS FS_COMPR_FL of a file: {e}"))?;
        ensure!(
            get(&file, "a file")? == FS_COMPR_FL,
            "FS_COMPR_FL did not stay"
        );
    } else {
        ensure!(
            errno(&set) == Some(EOPNOTSUPP) && get(&file, "a file")? == default,
            "FS_IOC_SETFLAGS FS_COMPR_FL of a file without LZ4: {set:?}"
        );
    }
    let noatime = sys::set_flags(&file, FS_NOATIME_FL);
    ensure!(
        errno(&noatime) == Some(EOPNOTSUPP),
        "FS_IOC_SETFLAGS FS_NOATIME_FL of a file: {noatime:?}"
    );
    drop((file, opened));
    fs::remove_file(&path).map_err(|e| e.to_string())?;
    fs::remove_dir(&sub).map_err(|e| e.to_string())
}

/// `RENAME_EXCHANGE`.
const RENAME_EXCHANGE: i32 = 2;
/// `RENAME_WHITEOUT`.
const RENAME_WHITEOUT: i32 = 4;
/// `EINVAL`.
const EINVAL: i32 = 22;

fn ino(path: &Path) -> Result<u64, String> {
    Ok(fs::symlink_metadata(path)
        .map_err(|e| format!("stat {}: {e}", path.display()))?
        .ino())
}

fn links(path: &Path) -> Result<u64, String> {
    Ok(fs::metadata(path)
        .map_err(|e| format!("stat {}: {e}", path.display()))?
        .nlink())
}

fn exchange(a: &Path, b: &Path) -> Check {
    sys::rename_flags(a, b, RENAME_EXCHANGE)
        .map_err(|e| format!("exchange {} {}: {e}", a.display(), b.display()))
}

/// The names, link counts and ".." of the tree `rename_exchange` made.
fn exchanged_tree(p1: &Path, p2: &Path, inos: &[u64; 4]) -> Check {
    let [file, dir, x, y] = *inos;
    let read = |path: &Path| fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    ensure!(
        read(&p1.join("a"))? == b"bbbb" && read(&p1.join("b"))? == b"aaa",
        "two files in one directory: not swapped"
    );
    ensure!(
        ino(&p1.join("f"))? == dir
            && ino(&p2.join("d"))? == file
            && read(&p1.join("f/inner"))? == b"inner"
            && read(&p2.join("d"))? == b"file",
        "a file and a directory across parents: not swapped"
    );
    ensure!(
        ino(&p1.join("f/.."))? == ino(p1)? && ino(&p1.join("x/.."))? == ino(p1)?,
        "\"..\" of a directory moved into p1 does not name p1"
    );
    ensure!(
        ino(&p1.join("x"))? == y && ino(&p2.join("y"))? == x && ino(&p2.join("y/.."))? == ino(p2)?,
        "two directories across parents: not swapped"
    );
    // p1: ".", its entry, and the ".." of f and x; p2: of y only.
    ensure!(
        links(p1)? == 4 && links(p2)? == 3,
        "parents' links: p1 {}, p2 {}",
        links(p1)?,
        links(p2)?
    );
    Ok(())
}

/// `RENAME_EXCHANGE` (`renameat2`, fsstress's `rexchange`): two files
/// of one directory, a file and a directory of two parents (the parents'
/// link counts and the directory's ".." follow it), two directories of
/// two parents (counts unchanged, each ".." the other parent), checked
/// from the cache and from the disk; an exchange with a missing name is
/// `ENOENT`, of a directory with something below it `EINVAL`,
/// `RENAME_WHITEOUT` `EINVAL` (not implemented, as on ext2), each
/// changing nothing.  The tree stays, under `rx`, for fsck.
pub fn rename_exchange(dir: &Path) -> Check {
    let base = dir.join("rx");
    let _ = fs::remove_dir_all(&base);
    let (p1, p2) = (base.join("p1"), base.join("p2"));
    for path in [&base, &p1, &p2] {
        fs::create_dir(path).map_err(|e| format!("mkdir: {e}"))?;
    }
    let write = |path: PathBuf, bytes: &[u8]| {
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(p1.join("a"), b"aaa")?;
    write(p1.join("b"), b"bbbb")?;
    exchange(&p1.join("a"), &p1.join("b"))?;

    write(p1.join("f"), b"file")?;
    fs::create_dir(p2.join("d")).map_err(|e| e.to_string())?;
    write(p2.join("d/inner"), b"inner")?;
    let (file, dir_ino) = (ino(&p1.join("f"))?, ino(&p2.join("d"))?);
    ensure!(
        links(&p1)? == 2 && links(&p2)? == 3,
        "links before: {} {}",
        links(&p1)?,
        links(&p2)?
    );
    exchange(&p1.join("f"), &p2.join("d"))?;

    fs::create_dir(p1.join("x")).map_err(|e| e.to_string())?;
    fs::create_dir(p2.join("y")).map_err(|e| e.to_string())?;
    let (x, y) = (ino(&p1.join("x"))?, ino(&p2.join("y"))?);
    exchange(&p1.join("x"), &p2.join("y"))?;
    let inos = [file, dir_ino, x, y];
    exchanged_tree(&p1, &p2, &inos)?;

    for (what, result, expected) in [
        (
            "with a missing name",
            sys::rename_flags(&p1.join("a"), &p1.join("missing"), RENAME_EXCHANGE),
            ENOENT,
        ),
        (
            "of a directory with a file below it",
            sys::rename_flags(&p1.join("f"), &p1.join("f/inner"), RENAME_EXCHANGE),
            EINVAL,
        ),
        (
            "RENAME_WHITEOUT",
            sys::rename_flags(&p1.join("a"), &p1.join("w"), RENAME_WHITEOUT),
            EINVAL,
        ),
    ] {
        ensure!(
            errno(&result) == Some(expected),
            "exchange {what}: {result:?}, expected errno {expected}"
        );
    }
    exchanged_tree(&p1, &p2, &inos)?;
    sys::sync_all_filesystems();
    drop_caches()?;
    exchanged_tree(&p1, &p2, &inos)
}
