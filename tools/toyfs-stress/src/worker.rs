// SPDX-License-Identifier: GPL-2.0
//! One thread of `toyfs-stress run` on files of its own: seeded random
//! writes, reads, truncates, stores and loads through mappings that stay
//! mapped across truncates and extensions, syncs, `fallocate`,
//! `SEEK_DATA`/`SEEK_HOLE`, `chattr +c`/`-c`, copies, changes of names,
//! FIEMAP and `O_DIRECT` reads and writes, every result checked
//! against the model
//! (src/model.rs).  Offsets cluster where the block map changes: the first
//! blocks, the start of the indirect and of the double-indirect blocks,
//! and the end of the file.

mod vfs;

use crate::far::FarFile;
use crate::mapping::Mapping;
use crate::model::FileModel;
use crate::options::Options;
use crate::sys::{self, PAGE};
use seeded_rng::Rng;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::sync::atomic::{AtomicBool, Ordering};

/// Files of each thread.
const FILES: usize = 2;
/// Above this many bytes of blocks that may be allocated, a file is cut
/// down: the files of every thread fit a 4 MiB ramdisk, at any block size.
const BLOCK_BUDGET: u64 = 256 * 1024;

/// The result of an operation, or what went wrong.
pub type Outcome = Result<(), String>;

/// Reads up to `len` bytes at `offset` (fewer at the end of the file).
pub fn read_upto(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = file.read_at(&mut buf[done..], offset + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Opens (creating) `path` for reading and writing.
pub fn open(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|err| format!("open {path}: {err}"))
}

/// The last `SHOWN` of `changes`, joined with "; " in lines of up to
/// about 700 bytes: a guest's console takes lines of 1 KiB at most
/// (`/dev/kmsg` refuses a longer one with `EINVAL`, and the line is lost).
pub fn history_lines<'s>(changes: impl DoubleEndedIterator<Item = &'s str>) -> String {
    const SHOWN: usize = 60;
    let mut last: Vec<&str> = changes.rev().take(SHOWN).collect();
    last.reverse();
    let mut out = String::new();
    let mut line = 0;
    for (i, change) in last.iter().enumerate() {
        if i > 0 {
            out += ";";
            line += 1;
            if line + change.len() > 700 {
                out += "\n    ";
                line = 0;
            } else {
                out += " ";
                line += 1;
            }
        }
        out += change;
        line += change.len();
    }
    out
}

/// `text` with every line longer than 800 bytes cut into lines of 800
/// (continued with four spaces): a guest's console drops a line of more
/// than 1 KiB whole (`/dev/kmsg`), FIEMAP's extents in a message too.
pub fn console_lines(text: &str) -> String {
    const WIDTH: usize = 800;
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out += "\n";
        }
        let mut rest = line;
        while rest.len() > WIDTH {
            let mut cut = WIDTH;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out += &rest[..cut];
            out += "\n    ";
            rest = &rest[cut..];
        }
        out += rest;
    }
    out
}

/// What a failed call was, for `map_err`.
fn failed(what: &str) -> impl FnOnce(io::Error) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// The length of every live mapping: the largest file and its last page.
pub fn mapping_len(options: &Options) -> usize {
    (options.max_size.div_ceil(PAGE) * PAGE + PAGE) as usize
}

/// Drops clean caches (a line in the kernel log each time: rarely).
pub fn drop_caches() -> Outcome {
    std::fs::write("/proc/sys/vm/drop_caches", "3").map_err(|err| format!("drop_caches: {err}"))
}

/// Runs `main` while another thread calls `writeback` over and over
/// (each call starts writeback of a file: `sys::start_writeback`) until
/// `main` returns, then joins that thread.  `main`'s error comes first,
/// then the thread's: its first failed call ends it, or its panic.
pub fn beside_writeback<T>(
    mut writeback: impl FnMut() -> Outcome + Send,
    main: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                writeback()?;
            }
            Ok(())
        });
        let result = main();
        stop.store(true, Ordering::Relaxed);
        let written = writer
            .join()
            .unwrap_or(Err("the writeback thread panicked".into()));
        result.and_then(|value| written.map(|()| value))
    })
}

struct Slot {
    path: String,
    file: Option<File>,
    model: FileModel,
    /// Mapped once and kept across truncates and extensions.
    map: Option<Mapping>,
    /// The file opened again with `O_DIRECT` (with `--direct`), kept
    /// open like `file`.
    direct: Option<File>,
    /// Whether the file has `FS_COMPR_FL` (with `--chattr-compress`).
    compressed: bool,
    /// The last operations on the file but reads, for the message of a
    /// failure.
    history: VecDeque<String>,
    /// Its hard links and saved times (src/worker/vfs.rs).
    names: vfs::Names,
}

/// Changes of a file a failure message recalls.
const HISTORY: usize = 100000;

/// One thread and its files.
pub struct Worker<'a> {
    options: &'a Options,
    /// Thread number, for messages and file names.
    pub id: usize,
    slots: Vec<Slot>,
    rng: Rng,
    /// Operations done so far (the number a failure names).
    pub done: u64,
    /// The far file (`--far`, src/far.rs).
    far: Option<FarFile>,
    /// The tree of the exchanges (`--exchange`, src/worker/vfs.rs).
    tree: Option<vfs::Tree>,
    /// Hard links made so far (their names are numbered).
    links_made: u64,
    /// Operations of src/worker/vfs.rs done, by kind.
    vfs_counts: [u64; 6],
}

impl<'a> Worker<'a> {
    /// Thread `id` of the run, its files created empty.
    pub fn new(options: &'a Options, id: usize) -> Result<Self, String> {
        let granule = options.seek.filter(|&g| g > 0);
        let own_dir = format!("{}/d{id}", options.dir);
        if options.hardlinks || options.exchange {
            match std::fs::create_dir(&own_dir) {
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(format!("mkdir {own_dir}: {err}"))
                }
                _ => {}
            }
        }
        let slots = (0..FILES)
            .map(|index| Slot {
                // With --exchange the second file is in the thread's
                // directory: the exchanges cross parents.
                path: match options.exchange && index == 1 {
                    true => format!("{own_dir}/stress-{id}-{index}"),
                    false => format!("{}/stress-{id}-{index}", options.dir),
                },
                file: None,
                model: FileModel::new(
                    granule.unwrap_or(options.block_size),
                    granule.is_some(),
                    options.folio_max,
                ),
                map: None,
                direct: None,
                compressed: false,
                history: VecDeque::new(),
                names: vfs::Names::default(),
            })
            .collect();
        let far = match options.far {
            Some(limit) => Some(FarFile::new(options, id, limit)?),
            None => None,
        };
        let mut worker = Self {
            options,
            id,
            slots,
            rng: Rng::for_thread(options.seed, id),
            done: 0,
            far,
            tree: None,
            links_made: 0,
            vfs_counts: [0; 6],
        };
        if options.vfs_ops() {
            // A new inode: hard links of an earlier run in DIR may name
            // the old one.
            for slot in &worker.slots {
                match std::fs::remove_file(&slot.path) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => {
                        return Err(format!("unlink {}: {err}", slot.path))
                    }
                    _ => {}
                }
            }
        }
        worker.open()?;
        for slot in &mut worker.slots {
            slot.file()
                .set_len(0)
                .map_err(|err| format!("truncate {}: {err}", slot.path))?;
            if options.chattr_compress {
                // A new file may inherit the flag (a filesystem's default).
                slot.compressed = slot.compr_flag()?;
            }
        }
        Ok(worker)
    }

    /// Unmaps and closes the files (before an unmount).
    pub fn close(&mut self) {
        self.save_times();
        if let Some(far) = &mut self.far {
            far.close();
        }
        for slot in &mut self.slots {
            slot.map = None;
            slot.direct = None;
            slot.file = None;
        }
    }

    /// Opens the files again after a mount; what the page cache held is
    /// gone.
    pub fn open(&mut self) -> Outcome {
        for slot in &mut self.slots {
            slot.file = Some(open(&slot.path)?);
            slot.model.reloaded();
        }
        if let Some(far) = &mut self.far {
            far.open()?;
        }
        self.check_saved_times()
    }

    /// Checks every file whole.
    pub fn check_all(&self, what: &str) -> Outcome {
        (0..FILES).try_for_each(|index| self.check_file(index, what))?;
        self.check_more(what)
    }

    /// Runs `ops` operations; stops early when `stop` says another thread
    /// failed.
    pub fn run(&mut self, ops: u64, stop: &std::sync::atomic::AtomicBool) -> Outcome {
        for _ in 0..ops {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            self.step()?;
            self.done += 1;
        }
        Ok(())
    }

    /// An offset where the block map is interesting, below the largest
    /// size.
    fn pick_offset(&mut self, size: u64) -> u64 {
        let options = self.options;
        let around = |rng: &mut Rng, at: u64, spread: u64| {
            (at + rng.below(2 * spread)).saturating_sub(spread)
        };
        let offset = match self.rng.below(20) {
            0..=5 => around(&mut self.rng, size, 6000),
            6..=9 => self.rng.below(32 * 1024),
            10..=12 => around(&mut self.rng, options.indirect_start(), 8192),
            13..=16 => around(&mut self.rng, options.double_indirect_start(), 16 * 1024),
            17..=18 => around(&mut self.rng, size / PAGE * PAGE, 600),
            _ => self.rng.below(options.max_size),
        };
        offset.min(options.max_size - 1)
    }

    /// A length for a write or a range, not past the largest size.
    fn pick_len(&mut self, offset: u64) -> u64 {
        let len = match self.rng.below(10) {
            0..=3 => 1 + self.rng.below(300),
            4..=8 => 1 + self.rng.below(9000),
            _ => 1 + self.rng.below(64 * 1024),
        };
        len.min(self.options.max_size - offset)
    }

    fn step(&mut self) -> Outcome {
        let index = self.rng.below(FILES as u64) as usize;
        self.operate(index).map_err(|err| {
            let slot = &self.slots[index];
            format!(
                "{err}\n  last operations on {}: {}",
                slot.path,
                history_lines(slot.history.iter().map(String::as_str))
            )
        })
    }

    /// Records `what` happened to every file (a remount, dropped caches).
    pub fn note_all(&mut self, what: &str) {
        (0..FILES).for_each(|index| self.note(index, what.into()));
    }

    fn note(&mut self, index: usize, change: String) {
        let history = &mut self.slots[index].history;
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(change);
    }

    fn operate(&mut self, index: usize) -> Outcome {
        let size = self.slots[index].model.size();
        if self.slots[index].model.allocated_bytes() > BLOCK_BUDGET {
            let new = self.rng.below(size / 2 + 1);
            return self.truncate(index, new);
        }
        let options = self.options;
        if options.direct.is_some() && self.rng.one_in(8) {
            return self.direct(index, size);
        }
        match self.rng.below(100) {
            0..=21 => self.write(index, size),
            22..=33 => {
                let offset = self.rng.below(size + 5000);
                let len = self.pick_len(0).min(10_000) as usize;
                self.read(index, offset, len, "read")
            }
            34..=42 => {
                let new = match self.rng.below(10) {
                    0..=3 => (size + self.rng.below(6000)).saturating_sub(3000),
                    4..=6 => self.pick_offset(size),
                    7 => self.rng.below(options.max_size),
                    8 => size / 2,
                    _ => (size / PAGE + self.rng.below(3)) * PAGE,
                };
                self.truncate(index, new.min(options.max_size))
            }
            43..=52 if size > 0 => self.mapped_store(index, size),
            53..=54 if options.eof_pollution && size % PAGE != 0 => self.pollute(index, size),
            55..=62 if size > 0 => self.mapped_load(index, size),
            63..=67 => self.sync(index),
            68..=75 if options.fallocates() => self.fallocate(index, size),
            76..=81 if options.seek.is_some() => self.seek(index, size),
            82..=83 => {
                self.slots[index].map = None;
                self.note(index, "munmap".into());
                Ok(())
            }
            84 if self.rng.one_in(20) => {
                drop_caches()?;
                self.note_all("drop_caches");
                self.check_all("after drop_caches")
            }
            85 | 86 => self.check_file(index, "check"),
            87 | 88 if options.chattr_compress => self.chattr_compress(index),
            89 | 90 if options.copy => self.copy(index),
            91 | 92 if options.links => self.relink(index),
            93 | 94 if options.fiemap => self.fiemap(index),
            95..=99 if options.vfs_ops() => self.vfs_op(index),
            _ => {
                let offset = self.rng.below(size + 100);
                self.read(index, offset, 4096, "read")
            }
        }
    }

    fn check_file(&self, index: usize, what: &str) -> Outcome {
        let slot = &self.slots[index];
        let size = slot
            .file()
            .metadata()
            .map_err(|err| format!("{what}: stat {}: {err}", slot.path))?
            .len();
        if size != slot.model.size() {
            return Err(format!(
                "{what}: {} has size {size}, expected {}",
                slot.path,
                slot.model.size()
            ));
        }
        if self.options.chattr_compress && slot.compr_flag()? != slot.compressed {
            return Err(format!(
                "{what}: {} has lost its chattr {}c",
                slot.path,
                if slot.compressed { '+' } else { '-' }
            ));
        }
        self.read(index, 0, size as usize + 100, what)?;
        self.check_names(index, what)
    }

    fn read(&self, index: usize, offset: u64, len: usize, what: &str) -> Outcome {
        let slot = &self.slots[index];
        let got = read_upto(slot.file(), offset, len)
            .map_err(|err| format!("{what}: read {len} at {offset}: {err}"))?;
        slot.model
            .compare(offset, &got)
            .map_err(|err| format!("{what} of {}: {err}", slot.path))
    }

    fn write(&mut self, index: usize, size: u64) -> Outcome {
        let offset = self.pick_offset(size);
        let len = self.pick_len(offset);
        let data = self.rng.data(len as usize, self.options.compressible);
        let slot = &mut self.slots[index];
        slot.file()
            .write_all_at(&data, offset)
            .map_err(|err| format!("write {len} at {offset} of {}: {err}", slot.path))?;
        slot.model.write(offset, &data);
        self.note(index, format!("write {len} at {offset}"));
        Ok(())
    }

    fn truncate(&mut self, index: usize, new: u64) -> Outcome {
        let slot = &mut self.slots[index];
        slot.file()
            .set_len(new)
            .map_err(|err| format!("truncate {} to {new}: {err}", slot.path))?;
        slot.model.truncate(new);
        self.note(index, format!("truncate to {new}"));
        Ok(())
    }

    fn mapped_store(&mut self, index: usize, size: u64) -> Outcome {
        let offset = self.rng.below(size);
        let len = if self.rng.one_in(4) {
            1 + self.rng.below(5000)
        } else {
            1 + self.rng.below(300)
        }
        .min(size - offset);
        let data = self.rng.data(len as usize, self.options.compressible);
        let sync = self.rng.one_in(4);
        let map = self.mapping(index)?;
        map.store(offset as usize, &data);
        if sync {
            map.sync().map_err(|err| format!("msync: {err}"))?;
        }
        self.slots[index].model.mapped_store(offset, &data);
        self.note(
            index,
            format!(
                "mapped store {len} at {offset}{}",
                if sync { ", msync" } else { "" }
            ),
        );
        Ok(())
    }

    /// A store past the end of the file, inside its last page.
    fn pollute(&mut self, index: usize, size: u64) -> Outcome {
        let end = size.div_ceil(PAGE) * PAGE;
        let offset = size + self.rng.below(end - size);
        let len = 1 + self.rng.below(end - offset);
        let data = self.rng.data(len as usize, self.options.compressible);
        self.mapping(index)?.store(offset as usize, &data);
        self.slots[index].model.pollute(offset, len);
        self.note(
            index,
            format!("mapped store {len} at {offset} past the end"),
        );
        Ok(())
    }

    fn mapped_load(&mut self, index: usize, size: u64) -> Outcome {
        let offset = self.rng.below(size);
        let len = (1 + self.rng.below(4000)).min(size - offset);
        let map = self.mapping(index)?;
        let got = map.load(offset as usize, len as usize);
        // fsx's check_eofpage: past the end, the last page holds zeros.
        let tail = map.load(size as usize, (size.div_ceil(PAGE) * PAGE - size) as usize);
        let slot = &mut self.slots[index];
        slot.model
            .compare(offset, &got)
            .and_then(|()| slot.model.check_eof_page(&tail))
            .map_err(|err| format!("mapped load of {}: {err}", slot.path))?;
        slot.model.mapped_load(offset, offset + len);
        slot.model.mapped_load(size - 1, size);
        self.note(index, format!("mapped load {len} at {offset}"));
        Ok(())
    }

    fn sync(&mut self, index: usize) -> Outcome {
        let slot = &self.slots[index];
        let (how, result) = match self.rng.below(3) {
            0 => ("fsync", slot.file().sync_all()),
            1 => ("fdatasync", slot.file().sync_data()),
            _ => match &slot.map {
                Some(map) => ("msync", map.sync()),
                None => ("msync", Ok(())),
            },
        };
        result.map_err(|err| format!("{how} of {}: {err}", slot.path))?;
        self.note(index, how.into());
        Ok(())
    }

    fn fallocate(&mut self, index: usize, size: u64) -> Outcome {
        let options = self.options;
        let offset = self.pick_offset(size);
        let len = match self.rng.below(3) {
            0 => options.block_size * (1 + self.rng.below(3)),
            _ => self.pick_len(offset),
        }
        .min(options.max_size - offset);
        let keep = self.rng.one_in(2);
        let modes: Vec<u32> = [
            (options.punch, sys::FALLOC_FL_PUNCH_HOLE),
            (options.zero, sys::FALLOC_FL_ZERO_RANGE),
            (options.allocate, 0),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, mode)| *mode)
        .collect();
        let mode = modes[self.rng.below(modes.len() as u64) as usize];
        let flags = match mode {
            sys::FALLOC_FL_PUNCH_HOLE => mode | sys::FALLOC_FL_KEEP_SIZE,
            _ if keep => mode | sys::FALLOC_FL_KEEP_SIZE,
            _ => mode,
        };
        let slot = &mut self.slots[index];
        if flags == sys::FALLOC_FL_KEEP_SIZE && !options.keep_past_end && offset + len > size {
            // A filesystem that keeps no block past the end refuses, and
            // nothing changes (the reads after check the bytes).
            return match sys::fallocate(slot.file(), flags, offset, len) {
                Err(err) if err.raw_os_error() == Some(sys::EOPNOTSUPP) => {
                    self.note(index, format!("fallocate({flags:#x}) {len} at {offset}: EOPNOTSUPP"));
                    Ok(())
                }
                other => Err(format!(
                    "fallocate({flags:#x}, {offset}, {len}) of {} (size {size}): {other:?}, expected EOPNOTSUPP",
                    slot.path
                )),
            };
        }
        sys::fallocate(slot.file(), flags, offset, len).map_err(|err| {
            format!(
                "fallocate({flags:#x}, {offset}, {len}) of {}: {err}",
                slot.path
            )
        })?;
        let keep = flags & sys::FALLOC_FL_KEEP_SIZE != 0;
        match mode {
            sys::FALLOC_FL_PUNCH_HOLE => slot.model.punch_hole(offset, len),
            sys::FALLOC_FL_ZERO_RANGE => slot.model.zero_range(offset, len, keep),
            _ => slot.model.allocate(offset, len, keep),
        }
        self.note(index, format!("fallocate({flags:#x}) {len} at {offset}"));
        Ok(())
    }

    fn seek(&mut self, index: usize, size: u64) -> Outcome {
        let offset = match self.rng.below(4) {
            0 => (self.rng.below(size + 1) / self.options.block_size) * self.options.block_size,
            _ => self.rng.below(size + 2000),
        };
        let slot = &self.slots[index];
        let failed = |err: io::Error| format!("lseek of {}: {err}", slot.path);
        let data = sys::seek(slot.file(), offset, true).map_err(failed)?;
        slot.model.check_seek_data(offset, data)?;
        let hole = sys::seek(slot.file(), offset, false).map_err(failed)?;
        let next = match hole {
            Some(hole) if hole < size => {
                let next = sys::seek(slot.file(), hole, true).map_err(failed)?;
                slot.model.check_seek_data(hole, next)?;
                next
            }
            _ => None,
        };
        slot.model.check_seek_hole(offset, hole, next)
    }

    /// `chattr +c` or `-c`: the flag must be what it was set to, and only
    /// it changes; the bytes stay (the checks of later reads).
    fn chattr_compress(&mut self, index: usize) -> Outcome {
        let slot = &mut self.slots[index];
        let failed = |err: io::Error| format!("FS_IOC_SETFLAGS of {}: {err}", slot.path);
        let flags = sys::inode_flags(slot.file()).map_err(failed)?;
        if (flags & sys::FS_COMPR_FL != 0) != slot.compressed {
            return Err(format!(
                "{}: flags {flags:#x}, but chattr {}c was the last",
                slot.path,
                if slot.compressed { '+' } else { '-' }
            ));
        }
        sys::set_inode_flags(slot.file(), flags ^ sys::FS_COMPR_FL).map_err(failed)?;
        let now = sys::inode_flags(slot.file()).map_err(failed)?;
        if now != flags ^ sys::FS_COMPR_FL {
            return Err(format!(
                "{}: flags {flags:#x} set to {:#x} read back as {now:#x}",
                slot.path,
                flags ^ sys::FS_COMPR_FL
            ));
        }
        slot.compressed = !slot.compressed;
        let what = format!("chattr {}c", if slot.compressed { '+' } else { '-' });
        self.note(index, what);
        Ok(())
    }

    /// Copies bytes of one of the thread's files into file `index` with
    /// `copy_file_range` (also inside the file), `sendfile`, or `splice`
    /// into a pipe and out of it, asking for `len` bytes from an offset
    /// that may lie past the end of the source: the copy must stop at
    /// that end, and ranges of one file that overlap must be refused
    /// with `EINVAL` (changing nothing).
    fn copy(&mut self, index: usize) -> Outcome {
        let how = self.rng.below(3);
        let source = match how {
            0 if self.rng.one_in(3) => index,
            _ => (index + 1) % FILES,
        };
        let from_size = self.slots[source].model.size();
        let from = self.rng.below(from_size + 2000);
        let to = self.pick_offset(self.slots[index].model.size());
        let len = self.pick_len(to);
        let count = len.min(from_size.saturating_sub(from));
        let data = match count {
            0 => Vec::new(),
            _ => self.slots[source].model.bytes()[from as usize..(from + count) as usize].to_vec(),
        };
        let (src, dst) = (self.slots[source].file(), self.slots[index].file());
        let name = ["copy_file_range", "sendfile", "splice"][how as usize];
        let what = format!(
            "{name} {len} at {from} of {} to {to} of {}",
            self.slots[source].path, self.slots[index].path
        );
        if source == index && to < from + count && from < to + count {
            return match sys::copy_file_range(src, from, dst, to, len as usize) {
                Err(err) if err.raw_os_error() == Some(sys::EINVAL) => {
                    self.note(index, format!("{what}: EINVAL"));
                    Ok(())
                }
                other => Err(format!(
                    "{what}: {other:?}, expected EINVAL (overlapping ranges)"
                )),
            };
        }
        let pipe = match how {
            2 => Some(sys::Pipe::new().map_err(|err| format!("pipe: {err}"))?),
            _ => None,
        };
        // The first call asks for `len` bytes, and the kernel cuts the
        // copy to the end of the source; later calls (after a short copy)
        // for the rest of it, and the last one, for more, must copy none.
        // (Inside one file, a copy past the old end makes the source
        // longer: no call after the first asks beyond its old end.)
        let mut done = 0;
        let mut ask = len;
        loop {
            let (at, to_at, left) = (from + done, to + done, (ask - done) as usize);
            if left == 0 {
                break;
            }
            let moved = match &pipe {
                None if how == 0 => sys::copy_file_range(src, at, dst, to_at, left),
                None => sys::sendfile(src, at, dst, to_at, left),
                Some(pipe) => pipe.fill(src, at, left.min(65536)).and_then(|filled| {
                    let mut drained = 0;
                    while drained < filled {
                        match pipe.drain(dst, to_at + drained as u64, filled - drained)? {
                            0 => return Err(io::Error::other("the pipe's bytes stayed")),
                            n => drained += n,
                        }
                    }
                    Ok(filled)
                }),
            }
            .map_err(|err| format!("{what}: after {done} bytes: {err}"))?;
            if moved == 0 {
                break;
            }
            done += moved as u64;
            if done > count {
                break;
            }
            ask = match source == index {
                true => count,
                false if done < count => count,
                false => len,
            };
        }
        if done != count {
            return Err(format!(
                "{what}: copied {done} bytes, expected {count} (source size {from_size})"
            ));
        }
        if count > 0 {
            self.slots[index].model.write(to, &data);
        }
        self.note(index, what);
        Ok(())
    }

    /// Changes the names of file `index`, open and maybe mapped, and
    /// restores its name: a hard link renamed onto the file's own name
    /// (which must do nothing, POSIX), a rename away and back, a link and
    /// an unlink of the old name and back; or scratch files in a directory
    /// of the thread, one renamed over another.  The link count must
    /// follow, and the name end up on the open file's inode; the directory
    /// is sometimes `fsync`ed after.
    fn relink(&mut self, index: usize) -> Outcome {
        let how = self.rng.below(4);
        let sync_dir = self.rng.one_in(2);
        if how == 3 {
            self.scratch(sync_dir)?;
            self.note(index, "scratch files".into());
            return Ok(());
        }
        let slot = &self.slots[index];
        let path = slot.path.as_str();
        let alias = format!("{path}.alias");
        let alias = alias.as_str();
        // The hard links the model keeps (--hardlinks) count too.
        let extra = slot.names.aliases.len() as u64;
        let links = |want: u64, when: &str| -> Outcome {
            let want = want + extra;
            let nlink = slot.file().metadata().map_err(failed("fstat"))?.nlink();
            match nlink == want {
                true => Ok(()),
                false => Err(format!("{path} has {nlink} links {when}, expected {want}")),
            }
        };
        let what = match how {
            0 => {
                std::fs::hard_link(path, alias).map_err(failed("link"))?;
                links(2, "after link")?;
                // Two names of one file: rename does nothing.
                std::fs::rename(alias, path).map_err(failed("rename onto a link"))?;
                std::fs::metadata(alias)
                    .map_err(failed("a rename onto another link of the file removed it"))?;
                links(2, "after a rename onto another of its names")?;
                std::fs::remove_file(alias).map_err(failed("unlink"))?;
                links(1, "after unlink")?;
                "link, rename onto itself, unlink"
            }
            1 => {
                std::fs::rename(path, alias).map_err(failed("rename"))?;
                links(1, "after rename")?;
                std::fs::rename(alias, path).map_err(failed("rename back"))?;
                "rename and back"
            }
            _ => {
                std::fs::hard_link(path, alias).map_err(failed("link"))?;
                std::fs::remove_file(path).map_err(failed("unlink"))?;
                links(1, "after link and unlink")?;
                std::fs::hard_link(alias, path).map_err(failed("link back"))?;
                std::fs::remove_file(alias).map_err(failed("unlink"))?;
                links(1, "after link back and unlink")?;
                "link, unlink, link back, unlink"
            }
        };
        let named = std::fs::metadata(path).map_err(failed("stat"))?.ino();
        let open = slot.file().metadata().map_err(failed("fstat"))?.ino();
        if named != open {
            return Err(format!(
                "{what}: {path} is inode {named}, the open file {open}"
            ));
        }
        if sync_dir {
            self.sync_dir(&self.options.dir)?;
        }
        let note = format!(
            "{what}{}",
            if sync_dir {
                ", fsync of the directory"
            } else {
                ""
            }
        );
        self.note(index, note);
        Ok(())
    }

    /// Scratch files in a new directory of the thread: two written, one
    /// renamed over the other, which must then hold the first one's bytes
    /// under the second one's name alone; both gone and the directory
    /// removed after.
    fn scratch(&mut self, sync_dir: bool) -> Outcome {
        let dir = format!("{}/scratch-{}", self.options.dir, self.id);
        let (a, b) = (format!("{dir}/a"), format!("{dir}/b"));
        let len_a = self.rng.below(9000) as usize;
        let first = self.rng.data(len_a, self.options.compressible);
        let len_b = self.rng.below(9000) as usize;
        let second = self.rng.data(len_b, self.options.compressible);
        std::fs::create_dir(&dir).map_err(failed(&format!("mkdir in {dir}")))?;
        std::fs::write(&a, &first).map_err(failed(&format!("write a in {dir}")))?;
        std::fs::write(&b, &second).map_err(failed(&format!("write b in {dir}")))?;
        if self.rng.one_in(2) {
            File::open(&a)
                .and_then(|file| file.sync_all())
                .map_err(failed(&format!("fsync a in {dir}")))?;
        }
        std::fs::rename(&a, &b).map_err(failed(&format!("rename a over b in {dir}")))?;
        if sync_dir {
            self.sync_dir(&dir)?;
        }
        if std::fs::metadata(&a).is_ok() {
            return Err(format!("{a} is still there after its rename over {b}"));
        }
        let got = std::fs::read(&b).map_err(failed(&format!("read b in {dir}")))?;
        if got != first {
            return Err(format!(
                "{b} holds {} bytes after a ({len_a} bytes) was renamed over it, not a's",
                got.len()
            ));
        }
        let nlink = std::fs::metadata(&b)
            .map_err(failed(&format!("stat b in {dir}")))?
            .nlink();
        if nlink != 1 {
            return Err(format!("{b} has {nlink} links, expected 1"));
        }
        std::fs::remove_file(&b).map_err(failed(&format!("unlink b in {dir}")))?;
        std::fs::remove_dir(&dir).map_err(failed(&format!("rmdir in {dir}")))
    }

    /// `fsync` of directory `dir`.
    fn sync_dir(&self, dir: &str) -> Outcome {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|err| format!("fsync of the directory {dir}: {err}"))
    }

    /// FIEMAP of file `index` (its dirty data written first) checked
    /// against the model (`FileModel::check_fiemap`).
    fn fiemap(&mut self, index: usize) -> Outcome {
        let slot = &self.slots[index];
        let extents =
            sys::fiemap(slot.file()).map_err(|err| format!("FIEMAP of {}: {err}", slot.path))?;
        slot.model
            .check_fiemap(
                &extents,
                self.options.block_size,
                self.options.keep_past_end,
            )
            .map_err(|err| format!("{}: {err}", slot.path))?;
        self.note(index, format!("fiemap: {} extents", extents.len()));
        Ok(())
    }

    /// An `O_DIRECT` write or read of file `index` (fsx's `-Z`, here mixed
    /// with the buffered, mapped and copying operations on the same
    /// file): half of them of whole blocks at a block boundary from a
    /// page-aligned buffer (toyfs sends those inside the file by bio
    /// past the page cache), half at any offset and length, from a buffer
    /// at an odd address (toyfs does them through the page cache), or
    /// rounded to the alignment the filesystem wants (`--direct A`).  A
    /// write is the model's write, a read is checked against the model.
    fn direct(&mut self, index: usize, size: u64) -> Outcome {
        let options = self.options;
        let block = options.block_size;
        let write = self.rng.one_in(2);
        let (mut offset, mut len, mut skew) = if self.rng.one_in(2) {
            let offset = self.pick_offset(size) / block * block;
            let blocks = match self.rng.below(4) {
                0 => 1 + self.rng.below(64),
                _ => 1 + self.rng.below(8),
            };
            // `max_size` is a whole number of blocks above `offset`.
            let len = (blocks * block).min((options.max_size - offset) / block * block);
            (offset, len, 0)
        } else {
            let offset = match write {
                true => self.pick_offset(size),
                false => self.rng.below(size + 5000),
            };
            let len = self.pick_len(offset.min(options.max_size - 1));
            (offset, len, 1 + self.rng.below(PAGE - 1) as usize)
        };
        let align = options.direct.unwrap_or(0);
        if align > 1 {
            offset = offset / align * align;
            len = len.div_ceil(align).max(1) * align;
            skew = skew / align as usize * align as usize;
        }
        if write {
            len = len.min(options.max_size.saturating_sub(offset));
            if len == 0 {
                return Ok(());
            }
        }
        let slot = &mut self.slots[index];
        if slot.direct.is_none() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(sys::O_DIRECT)
                .open(&slot.path)
                .map_err(|err| format!("open {} O_DIRECT: {err}", slot.path))?;
            slot.direct = Some(file);
        }
        let file = slot.direct.as_ref().expect("just opened");
        // A buffer at `skew` bytes past a page boundary.
        let mut buf = vec![0u8; len as usize + 2 * PAGE as usize];
        let start = buf.as_ptr().align_offset(PAGE as usize) + skew;
        let buf = &mut buf[start..start + len as usize];
        let what = format!(
            "O_DIRECT {} {len} at {offset} (buffer at page offset {skew})",
            if write { "write" } else { "read" }
        );
        if write {
            let data = self.rng.data(len as usize, options.compressible);
            buf.copy_from_slice(&data);
            file.write_all_at(buf, offset)
                .map_err(|err| format!("{what} of {}: {err}", slot.path))?;
            slot.model.write(offset, &data);
            self.note(index, what);
            return Ok(());
        }
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(err) => {
                    return Err(format!(
                        "{what} of {}: after {done} bytes: {err}",
                        slot.path
                    ))
                }
            }
        }
        slot.model
            .compare(offset, &buf[..done])
            .map_err(|err| format!("{what} of {}: {err}", slot.path))
    }

    /// The file's live mapping, made if there is none.
    fn mapping(&mut self, index: usize) -> Result<&Mapping, String> {
        let len = mapping_len(self.options);
        let slot = &mut self.slots[index];
        if slot.map.is_none() {
            let map = Mapping::new(slot.file(), len)
                .map_err(|err| format!("mmap {len} of {}: {err}", slot.path))?;
            slot.map = Some(map);
        }
        Ok(slot.map.as_ref().expect("just mapped"))
    }
}

impl Slot {
    fn file(&self) -> &File {
        self.file.as_ref().expect("files are open between rounds")
    }

    /// Whether the file has `FS_COMPR_FL` now.
    fn compr_flag(&self) -> Result<bool, String> {
        sys::inode_flags(self.file())
            .map(|flags| flags & sys::FS_COMPR_FL != 0)
            .map_err(|err| format!("FS_IOC_GETFLAGS of {}: {err}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::history_lines;

    #[test]
    fn a_long_history_is_cut_into_lines_a_console_keeps() {
        let changes: Vec<String> = (0..100)
            .map(|i| format!("write {i} at {}", i * 1000))
            .collect();
        let text = history_lines(changes.iter().map(String::as_str));
        // The last 60 changes, in order, in lines of at most about 700
        // bytes.
        assert!(text.starts_with("write 40 at 40000; write 41"));
        assert!(text.ends_with("write 99 at 99000"));
        assert!(text.lines().count() > 1);
        assert!(text.lines().all(|line| line.len() <= 720));
        assert_eq!(history_lines(["one"].into_iter()), "one");
    }

    #[test]
    fn long_lines_are_cut_for_the_console() {
        let text = format!("short\n{}", "x".repeat(2000));
        let out = super::console_lines(&text);
        assert!(out.lines().all(|line| line.len() <= 804));
        assert_eq!(out.lines().count(), 4);
        assert_eq!(
            out.replace("\n    ", "").replace('\n', ""),
            text.replace('\n', "")
        );
    }
}
