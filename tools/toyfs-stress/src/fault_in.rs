// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress fault-in DIR [--compress] [--any-alignment]`: reads and writes whose
//! buffer is a mapping of the file they read or write (xfstests
//! generic/647 and generic/729, `src/mmap-rw-fault.c`), so that copying
//! to or from the caller's memory faults a page of the same file in while
//! the filesystem is in the middle of the call.
//!
//! Each step starts from a new file of two pages: the first a hole, the
//! second written with `O_DIRECT` (on the disk, not cached), then opened
//! again (buffered or `O_DIRECT`) and both pages mapped, private (as
//! mmap-rw-fault does) or shared (where the copy also stores into the
//! file through the mapping).  The steps: a read of page 1 into the
//! mapping of page 0; a write of the mapping of page 1 to page 0; a read
//! of the hole (page 0) into the mapping of page 0 itself; a write of the
//! mapping of page 1 onto page 1 itself (generic/729); and, shared, an
//! unaligned write of the mapping of page 1 onto itself shifted by a few
//! bytes (buffered, and with `--any-alignment`, for a filesystem whose
//! `O_DIRECT` takes any alignment as toyfs's and tmpfs's do, `O_DIRECT`
//! too; ext2's refuses it with `EINVAL`).  Every call must return in full; after it and an `fsync`, the
//! file must hold what the call and the stores through the mapping put
//! there, in the page cache and again from the disk.  A filesystem that
//! holds a folio lock while copying from or to a mapping of that folio
//! hangs here (the kernel's `generic_perform_write` copies with page
//! faults off, and faults the source in between).  Last, as xfstests
//! generic/246 (`src/t_mmap_writev.c`): a `pwritev` of two buffers and
//! then of a mapping of another file, not faulted in yet, must write all
//! three.  With `--compress`
//! (toyfs with LZ4), every file has `FS_COMPR_FL`.

use crate::mapping::Mapping;
use crate::sys::{self, PAGE};
use crate::worker::{open, read_upto};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};

const P: usize = PAGE as usize;

/// A buffer of `len` bytes at a page boundary inside `backing`.
fn aligned(backing: &mut Vec<u8>, len: usize) -> &mut [u8] {
    backing.resize(len + P, 0);
    let start = backing.as_ptr().align_offset(P);
    &mut backing[start..start + len]
}

/// One step: its name, the byte of page 1, whether the file is opened
/// with `O_DIRECT`, whether the mapping is private, and what it does.
struct Step {
    name: &'static str,
    fill: u8,
    direct: bool,
    private: bool,
    call: Call,
}

#[derive(Clone, Copy)]
enum Call {
    /// `pread` of page 1 into the mapping of page 0.
    ReadPage1IntoPage0,
    /// `pwrite` of the mapping of page 1 to page 0.
    WritePage1ToPage0,
    /// `pread` of page 0 (the hole) into the mapping of page 0.
    ReadHoleIntoItself,
    /// `pwrite` of the mapping of page 1 onto page 1.
    WritePage1OntoItself,
    /// `pwrite` of 3000 bytes of the mapping at 4196 to offset 4146.
    WriteShiftedOntoItself,
}

/// Makes `path` anew: page 0 a hole, page 1 all `fill`, written with
/// `O_DIRECT`; the compressed flag first if asked.
fn init(path: &str, fill: u8, compress: bool) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let file = open(path)?;
    if compress {
        let flags = sys::inode_flags(&file).map_err(|err| format!("FS_IOC_GETFLAGS: {err}"))?;
        sys::set_inode_flags(&file, flags | sys::FS_COMPR_FL)
            .map_err(|err| format!("FS_IOC_SETFLAGS: {err}"))?;
    }
    drop(file);
    let direct = OpenOptions::new()
        .write(true)
        .custom_flags(sys::O_DIRECT)
        .open(path)
        .map_err(|err| format!("open {path} O_DIRECT: {err}"))?;
    let mut backing = Vec::new();
    let buf = aligned(&mut backing, P);
    buf.fill(fill);
    direct
        .write_all_at(buf, PAGE)
        .map_err(|err| format!("O_DIRECT write of page 1 of {path}: {err}"))
}

/// What the file must hold after `step` (two pages).
fn expected(step: &Step) -> Vec<u8> {
    let mut want = vec![0u8; 2 * P];
    want[P..].fill(step.fill);
    match step.call {
        // A shared mapping of page 0 is the file's page 0: the read stored
        // page 1's bytes there.
        Call::ReadPage1IntoPage0 if !step.private => want[..P].fill(step.fill),
        Call::WritePage1ToPage0 => want[..P].fill(step.fill),
        _ => {}
    }
    want
}

fn check(file: &File, want: &[u8], what: &str) -> Result<(), String> {
    let got = read_upto(file, 0, want.len() + 1).map_err(|err| format!("{what}: read: {err}"))?;
    if got.len() != want.len() {
        return Err(format!(
            "{what}: {} bytes, expected {}",
            got.len(),
            want.len()
        ));
    }
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(at) => Err(format!(
            "{what}: byte {at} is {:#x}, expected {:#x}",
            got[at], want[at]
        )),
        None => Ok(()),
    }
}

fn step(dir: &str, step: &Step, compress: bool) -> Result<(), String> {
    let path = format!("{dir}/fault-in");
    let what = format!(
        "{} ({}, {} mapping)",
        step.name,
        if step.direct { "O_DIRECT" } else { "buffered" },
        if step.private { "private" } else { "shared" }
    );
    init(&path, step.fill, compress).map_err(|err| format!("{what}: {err}"))?;
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if step.direct {
        options.custom_flags(sys::O_DIRECT);
    }
    let file = options
        .open(&path)
        .map_err(|err| format!("{what}: open: {err}"))?;
    let map =
        Mapping::with(&file, 2 * P, step.private).map_err(|err| format!("{what}: mmap: {err}"))?;
    let (done, len) = match step.call {
        Call::ReadPage1IntoPage0 => (map.pread_into(&file, 0, P, PAGE), P),
        Call::WritePage1ToPage0 => (map.pwrite_from(&file, P, P, 0), P),
        Call::ReadHoleIntoItself => (map.pread_into(&file, 0, P, 0), P),
        Call::WritePage1OntoItself => (map.pwrite_from(&file, P, P, PAGE), P),
        Call::WriteShiftedOntoItself => (map.pwrite_from(&file, P + 100, 3000, PAGE + 50), 3000),
    };
    let done = done.map_err(|err| format!("{what}: {err}"))?;
    if done != len {
        return Err(format!("{what}: {done} bytes of {len}"));
    }
    let want = expected(step);
    let in_map = map.load(0, 2 * P);
    match step.call {
        Call::ReadPage1IntoPage0 | Call::ReadHoleIntoItself => {
            // The caller's memory holds what was read.
            let read = &want[if matches!(step.call, Call::ReadPage1IntoPage0) {
                P..2 * P
            } else {
                0..P
            }];
            if in_map[..P] != *read {
                return Err(format!(
                    "{what}: the mapping of page 0 does not hold the bytes read"
                ));
            }
        }
        Call::WriteShiftedOntoItself => {
            // Page 1 is all one byte: any order of the copy leaves it so.
        }
        _ => {}
    }
    if !step.private && in_map != want {
        return Err(format!(
            "{what}: the shared mapping differs from the file's bytes"
        ));
    }
    file.sync_all()
        .map_err(|err| format!("{what}: fsync: {err}"))?;
    drop(map);
    drop(file);
    let plain = open(&path)?;
    check(&plain, &want, &format!("{what}, cached"))?;
    sys::evict(&plain).map_err(|err| format!("{what}: fadvise: {err}"))?;
    check(&plain, &want, &format!("{what}, from the disk"))?;
    std::fs::remove_file(&path).map_err(|err| format!("{what}: unlink: {err}"))
}

/// generic/246: `pwritev` of "a" x 10, "b" x 10 and a mapping of a file
/// of "c" x 10 (not faulted in) into a new file.
fn writev_step(dir: &str) -> Result<(), String> {
    let (source, target) = (
        format!("{dir}/writev-source"),
        format!("{dir}/writev-target"),
    );
    let what = "pwritev from a mapping of another file";
    std::fs::write(&source, [b'c'; 10]).map_err(|err| format!("{what}: {err}"))?;
    let file = open(&source)?;
    sys::evict(&file).map_err(|err| format!("{what}: fadvise: {err}"))?;
    let map = Mapping::with(&file, 4 * P, false).map_err(|err| format!("{what}: mmap: {err}"))?;
    let _ = std::fs::remove_file(&target);
    let out = open(&target)?;
    let done = map
        .pwritev_after(&out, &[&[b'a'; 10], &[b'b'; 10]], 0, 10, 0)
        .map_err(|err| format!("{what}: {err}"))?;
    let want = [[b'a'; 10], [b'b'; 10], [b'c'; 10]].concat();
    if done != want.len() {
        return Err(format!("{what}: {done} bytes of {}", want.len()));
    }
    out.sync_all()
        .map_err(|err| format!("{what}: fsync: {err}"))?;
    check(&out, &want, what)?;
    sys::evict(&out).map_err(|err| format!("{what}: fadvise: {err}"))?;
    check(&out, &want, &format!("{what}, from the disk"))?;
    drop(map);
    for path in [&source, &target] {
        std::fs::remove_file(path).map_err(|err| format!("{what}: unlink: {err}"))?;
    }
    Ok(())
}

/// Runs every step in `dir`; returns a summary.
pub fn run(dir: &str, compress: bool, any_alignment: bool) -> Result<String, String> {
    let mut steps = Vec::new();
    for private in [true, false] {
        for direct in [false, true] {
            let fill = b'a' + steps.len() as u8;
            steps.push(Step {
                name: "read of page 1 into the mapping of page 0",
                fill,
                direct,
                private,
                call: Call::ReadPage1IntoPage0,
            });
            steps.push(Step {
                name: "write of the mapping of page 1 to page 0",
                fill: fill + 1,
                direct,
                private,
                call: Call::WritePage1ToPage0,
            });
            steps.push(Step {
                name: "read of the hole into its own mapping",
                fill: fill + 2,
                direct,
                private,
                call: Call::ReadHoleIntoItself,
            });
            steps.push(Step {
                name: "write of the mapping of page 1 onto itself",
                fill: fill + 3,
                direct,
                private,
                call: Call::WritePage1OntoItself,
            });
            if !private && (!direct || any_alignment) {
                steps.push(Step {
                    name: "unaligned write of the mapping of page 1 onto itself",
                    fill: fill + 4,
                    direct,
                    private,
                    call: Call::WriteShiftedOntoItself,
                });
            }
        }
    }
    for one in &steps {
        step(dir, one, compress)?;
    }
    writev_step(dir)?;
    Ok(format!(
        "{} reads and writes from and into mappings of their own file and a writev from a \
         mapping of another file, each in full, the files as expected cached and from the disk",
        steps.len()
    ))
}
