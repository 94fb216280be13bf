// SPDX-License-Identifier: GPL-2.0
//! The far file of a thread of `toyfs-stress run --far LIMIT`: offsets
//! past the reach of the double-indirect blocks, into the triple-indirect
//! level (from 64 MiB with 1 KiB blocks, 4 GiB with 4 KiB ones), up to
//! the filesystem's largest file `LIMIT` (`s_maxbytes`), where a write
//! stops short and a write or truncation past it fails with `EFBIG`,
//! changing nothing.  Such a file is sparse: its model (`SparseModel`)
//! keeps only the pages written, and an upper bound on the blocks that
//! may be allocated.  Writes, reads, truncations up and down across the
//! levels, stores and loads through a mapping of a window of the file,
//! punched holes, `SEEK_DATA`/`SEEK_HOLE` and FIEMAP (sound: no byte of
//! data in a hole), and `st_blocks` (no more than the model's blocks and
//! the indirect blocks over them), every result checked against the
//! model.

use crate::mapping::Mapping;
use crate::model::check_extent_order;
use crate::options::Options;
use crate::sys::{self, Extent, FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_UNWRITTEN, PAGE};
use crate::worker::{read_upto, Outcome};
use seeded_rng::Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

/// Blocks (with the indirect ones over them) that the far file of a
/// thread may hold before it is cut down: 128 KiB at any block size.
const FAR_BUDGET: u64 = 128 * 1024;
/// How far the far file reaches at most (if the limit allows): 16 GiB,
/// the largest file with 1 KiB blocks, or twice the triple-indirect
/// start, whichever is larger.
const FAR_REACH: u64 = 16 << 30;
/// Limits from here up are not tested at their edge (tmpfs's
/// `MAX_LFS_FILESIZE`: offsets there overflow `loff_t` arithmetic
/// before any filesystem sees them).
const EDGE_BELOW: u64 = 1 << 48;
/// Changes of the far file a failure message recalls.
const HISTORY: usize = 200;

fn round_up(value: u64, to: u64) -> u64 {
    value.div_ceil(to) * to
}

/// The number of indirect blocks a block map of `block`-byte blocks with
/// 12 direct pointers and single-, double- and triple-indirect blocks
/// of 32-bit pointers (toyfs's and ext2's) needs to reach `blocks`.
pub fn indirect_blocks(blocks: impl Iterator<Item = u64>, block: u64) -> u64 {
    let per = block / 4;
    let mut needed = BTreeSet::new();
    for n in blocks {
        if n < 12 {
            continue;
        }
        let n = n - 12;
        if n < per {
            needed.insert((1, 0));
            continue;
        }
        let n = n - per;
        if n < per * per {
            needed.insert((2, 0));
            needed.insert((21, n / per));
            continue;
        }
        let n = n - per * per;
        needed.insert((3, 0));
        needed.insert((32, n / (per * per)));
        needed.insert((31, n / per));
    }
    needed.len() as u64
}

/// What a sparse file must contain.
pub struct SparseModel {
    size: u64,
    /// The pages written (by index, `PAGE` bytes each, zeros past the
    /// end); every other byte is zero.
    pages: BTreeMap<u64, Vec<u8>>,
    /// Blocks (by index) that may hold a block on disk.
    maybe: BTreeSet<u64>,
    /// Blocks whose indirect blocks the map may still hold: those that
    /// may have been allocated since a truncation below them (a punch
    /// may leave the indirect blocks), and the last block at a
    /// truncation (an emptied indirect block across the end may stay).
    chains: BTreeSet<u64>,
    /// The end of the folios dirtied through a mapping since the last
    /// truncation down: a filesystem that allocates at writeback (ext2)
    /// allocates their blocks past the end once the file grows over them.
    dirty_to: u64,
    /// The block size.
    block: u64,
    /// The largest folio: a fault may allocate all of it.
    folio: u64,
}

impl SparseModel {
    /// An empty file of `block`-byte blocks, with folios up to `folio`.
    pub fn new(block: u64, folio: u64) -> Self {
        Self {
            size: 0,
            pages: BTreeMap::new(),
            maybe: BTreeSet::new(),
            chains: BTreeSet::new(),
            dirty_to: 0,
            block,
            folio: folio.max(PAGE),
        }
    }

    /// The size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The pages written, by index.
    pub fn pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages.keys().copied()
    }

    fn maybe_range(&mut self, start: u64, end: u64) {
        if start < end {
            let (first, last) = (start / self.block, (end - 1) / self.block);
            self.maybe.extend(first..=last);
            self.chains.extend(first..=last);
        }
    }

    fn store(&mut self, offset: u64, data: &[u8]) {
        let mut at = 0;
        while at < data.len() {
            let pos = offset + at as u64;
            let (index, skip) = (pos / PAGE, (pos % PAGE) as usize);
            let n = (PAGE as usize - skip).min(data.len() - at);
            let page = self
                .pages
                .entry(index)
                .or_insert_with(|| vec![0; PAGE as usize]);
            page[skip..skip + n].copy_from_slice(&data[at..at + n]);
            at += n;
        }
    }

    /// Zeroes `start..end` (inside the pages kept).
    fn zero(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        for (&index, page) in self.pages.range_mut(start / PAGE..=(end - 1) / PAGE) {
            let from = start.max(index * PAGE) - index * PAGE;
            let to = end.min((index + 1) * PAGE) - index * PAGE;
            page[from as usize..to as usize].fill(0);
        }
    }

    /// `write(2)` of `data` at `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        self.grow(end);
        self.store(offset, data);
        self.size = self.size.max(end);
        self.maybe_range(offset, end);
    }

    /// A store through a mapping (inside the file): the fault may
    /// allocate its folios up to the end of the file.
    pub fn mapped_store(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        assert!(end <= self.size, "mapped store past the end");
        self.store(offset, data);
        self.touch(offset, end);
        self.dirty_to = self.dirty_to.max(round_up(end, self.folio));
    }

    /// The size grows to `size` (or stays): blocks of folios dirtied past
    /// the old end may be allocated.
    fn grow(&mut self, size: u64) {
        if size > self.size && self.dirty_to > self.size {
            self.maybe_range(self.size, size.min(self.dirty_to));
        }
    }

    /// A load through a mapping: a read fault may fill a hole (tmpfs).
    pub fn touch(&mut self, start: u64, end: u64) {
        let from = start / self.folio * self.folio;
        let to = round_up(end, self.folio).min(self.size);
        self.maybe_range(from, to);
    }

    /// `ftruncate` to `size`.
    pub fn truncate(&mut self, size: u64) {
        if size < self.size {
            self.zero(size, round_up(size, PAGE));
            self.pages.split_off(&size.div_ceil(PAGE));
            let keep = size.div_ceil(self.block);
            self.maybe.split_off(&keep);
            if !self.chains.split_off(&keep).is_empty() && keep > 0 {
                self.chains.insert(keep - 1);
            }
            self.dirty_to = self.dirty_to.min(round_up(size, self.folio));
        }
        self.grow(size);
        self.size = size;
    }

    /// `fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`: blocks
    /// covered whole are freed; the block of the end of the file, cut by
    /// the end, may stay.
    pub fn punch(&mut self, offset: u64, len: u64) {
        let end = offset + len;
        self.zero(offset, end.min(self.size));
        let first = offset.div_ceil(self.block);
        let last = end / self.block;
        // The block of the end of the file, punched from its start past
        // the end: the filesystem clamps the punch to the end, where the
        // block is not covered whole, so it may keep it (toyfs zeroes it
        // in place) or free it (as `FileModel::punch_hole`).
        let eof_block =
            (self.size % self.block != 0 && end >= self.size).then(|| self.size / self.block);
        if first < last {
            let gone: Vec<u64> = self.maybe.range(first..last).copied().collect();
            for block in gone.into_iter().filter(|&b| Some(b) != eof_block) {
                self.maybe.remove(&block);
            }
        }
    }

    /// The bytes `offset..offset + len`, cut at the end of the file.
    pub fn bytes(&self, offset: u64, len: u64) -> Vec<u8> {
        let end = (offset + len).min(self.size);
        if offset >= end {
            return Vec::new();
        }
        let mut out = vec![0; (end - offset) as usize];
        for (&index, page) in self.pages.range(offset / PAGE..=(end - 1) / PAGE) {
            let from = offset.max(index * PAGE);
            let to = end.min((index + 1) * PAGE);
            out[(from - offset) as usize..(to - offset) as usize].copy_from_slice(
                &page[(from - index * PAGE) as usize..(to - index * PAGE) as usize],
            );
        }
        out
    }

    /// Checks `got`, read at `offset` (`read(2)`, which stops at the end).
    pub fn compare(&self, offset: u64, got: &[u8]) -> Result<(), String> {
        let want = self.bytes(offset, got.len() as u64);
        if got.len() != want.len() {
            return Err(format!(
                "{} bytes at {offset}, expected {} (size {})",
                got.len(),
                want.len(),
                self.size
            ));
        }
        match got.iter().zip(&want).position(|(a, b)| a != b) {
            Some(at) => Err(format!(
                "byte {} is {:#x}, expected {:#x} (size {})",
                offset + at as u64,
                got[at],
                want[at],
                self.size
            )),
            None => Ok(()),
        }
    }

    /// The first byte that is not zero in `start..end` (cut at the end).
    pub fn first_data(&self, start: u64, end: u64) -> Option<u64> {
        let end = end.min(self.size);
        if start >= end {
            return None;
        }
        self.pages
            .range(start / PAGE..=(end - 1) / PAGE)
            .find_map(|(&index, page)| {
                let from = start.max(index * PAGE);
                let to = end.min((index + 1) * PAGE);
                let slice = &page[(from - index * PAGE) as usize..(to - index * PAGE) as usize];
                slice
                    .iter()
                    .position(|&b| b != 0)
                    .map(|at| from + at as u64)
            })
    }

    /// Checks `SEEK_DATA` from `offset` (`None`: `ENXIO`): sound.
    pub fn check_seek_data(&self, offset: u64, found: Option<u64>) -> Result<(), String> {
        let size = self.size;
        let what = format!("SEEK_DATA from {offset} (size {size}) gave {found:?}");
        match found {
            None if offset >= size => Ok(()),
            None => match self.first_data(offset, size) {
                Some(at) => Err(format!("{what}: byte {at} is data")),
                None => Ok(()),
            },
            Some(data) if offset >= size || data < offset || data >= size => {
                Err(format!("{what}: outside {offset}..{size}"))
            }
            Some(data) => match self.first_data(offset, data) {
                Some(at) => Err(format!("{what}: skips the data at {at}")),
                None => Ok(()),
            },
        }
    }

    /// Checks `SEEK_HOLE` from `offset` (`None`: `ENXIO`), whose hole
    /// runs to `next_data`: sound.
    pub fn check_seek_hole(
        &self,
        offset: u64,
        found: Option<u64>,
        next_data: Option<u64>,
    ) -> Result<(), String> {
        let size = self.size;
        let what = format!("SEEK_HOLE from {offset} (size {size}) gave {found:?}");
        match found {
            None if offset >= size => Ok(()),
            None => Err(format!("{what}: ENXIO inside the file")),
            Some(hole) if offset >= size || hole < offset || hole > size => {
                Err(format!("{what}: outside {offset}..={size}"))
            }
            Some(hole) => match self.first_data(hole, next_data.unwrap_or(size)) {
                Some(at) => Err(format!("{what}: the hole holds data at {at}")),
                None => Ok(()),
            },
        }
    }

    /// Checks FIEMAP's `extents` (taken after a sync): in order, not
    /// overlapping, the last flagged so; none past the last block unless
    /// `past_end`; every byte of data inside a written extent.
    #[cfg(test)]
    pub fn check_fiemap(&self, extents: &[Extent], past_end: bool) -> Result<(), String> {
        self.check_fiemap_range(extents, 0, self.size, past_end)
    }

    /// Checks FIEMAP's `extents` of the bytes `start..end` (inside the
    /// file) as `check_fiemap` does; the last extent flagged so when the
    /// range reaches the end of the file.
    pub fn check_fiemap_range(
        &self,
        extents: &[Extent],
        start: u64,
        end: u64,
        past_end: bool,
    ) -> Result<(), String> {
        let size = self.size;
        let (range_start, range_end) = (start, end.min(size));
        let what = |err: String| format!("FIEMAP of {start}..{end} (size {size}): {err}");
        check_extent_order(extents, size, self.block, past_end).map_err(what)?;
        if range_end == size
            && extents
                .last()
                .is_some_and(|last| last.flags & FIEMAP_EXTENT_LAST == 0)
        {
            return Err(what("the last extent is not flagged last".into()));
        }
        let mut at = range_start;
        while let Some(byte) = self.first_data(at, range_end) {
            let after = extents.partition_point(|e| e.logical + e.length <= byte);
            match extents.get(after).filter(|e| e.logical <= byte) {
                Some(e) if e.flags & FIEMAP_EXTENT_UNWRITTEN == 0 => at = e.logical + e.length,
                Some(e) => return Err(what(format!("byte {byte} of data is in unwritten {e:x?}"))),
                None => return Err(what(format!("byte {byte} of data is in no extent"))),
            }
        }
        Ok(())
    }

    /// The most blocks of the file: those that may be allocated and the
    /// indirect blocks over them.
    pub fn blocks_bound(&self) -> u64 {
        self.maybe.len() as u64 + indirect_blocks(self.chains.iter().copied(), self.block)
    }
}

/// The far file of one thread and its model.
pub struct FarFile {
    path: String,
    file: Option<File>,
    model: SparseModel,
    /// The largest file (`s_maxbytes`).
    limit: u64,
    /// Where the triple-indirect blocks start.
    triple: u64,
    /// The reach of the offsets picked (below `limit`).
    top: u64,
    history: VecDeque<String>,
}

impl FarFile {
    /// Thread `id`'s far file, created empty.
    pub fn new(options: &Options, id: usize, limit: u64) -> Result<Self, String> {
        let path = format!("{}/stress-{id}-far", options.dir);
        let file = crate::worker::open(&path)?;
        file.set_len(0)
            .map_err(|err| format!("truncate {path}: {err}"))?;
        let triple = options.triple_indirect_start();
        Ok(Self {
            path,
            file: Some(file),
            model: SparseModel::new(options.block_size, options.folio_max),
            limit,
            triple,
            top: limit.min(FAR_REACH.max(2 * triple)),
            history: VecDeque::new(),
        })
    }

    fn file(&self) -> &File {
        self.file.as_ref().expect("files are open between rounds")
    }

    /// Closes the file (before an unmount).
    pub fn close(&mut self) {
        self.file = None;
    }

    /// Opens it again after a mount.
    pub fn open(&mut self) -> Outcome {
        self.file = Some(crate::worker::open(&self.path)?);
        self.note("remount".into());
        Ok(())
    }

    fn note(&mut self, change: String) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(change);
    }

    fn failure(&self, err: String) -> String {
        format!(
            "{err}\n  last operations on {}: {}",
            self.path,
            crate::worker::history_lines(self.history.iter().map(String::as_str))
        )
    }

    /// Whether the limit is tested at its edge.
    fn edges(&self) -> bool {
        self.limit < EDGE_BELOW
    }

    /// An offset where the map is interesting: the start of the
    /// triple-indirect level, where a new double- or single-indirect
    /// block of it starts, the end of the file, the data written, the
    /// limit; below `limit`.
    fn pick(&mut self, rng: &mut Rng, options: &Options) -> u64 {
        let around = |rng: &mut Rng, at: u64, spread: u64| {
            (at + rng.below(2 * spread)).saturating_sub(spread)
        };
        let block = options.block_size;
        let per = block / 4;
        let offset = match rng.below(20) {
            0..=4 => around(rng, self.triple, 16 * 1024),
            5 => around(rng, options.double_indirect_start(), 8192),
            6..=8 => self.triple + rng.below(self.top - self.triple),
            9..=11 => around(rng, self.model.size(), 6000),
            12..=13 => {
                let pages: Vec<u64> = self.model.pages().collect();
                match pages.is_empty() {
                    true => rng.below(self.top),
                    false => {
                        let page = pages[rng.below(pages.len() as u64) as usize];
                        around(rng, page * PAGE, 5000)
                    }
                }
            }
            14..=16 => {
                // The first block under a new single-indirect block of
                // the triple level, or under a new double-indirect one.
                let step = match rng.one_in(2) {
                    true => per * block,
                    false => per * per * block,
                };
                let k = 1 + rng.below(((self.top - self.triple) / step).clamp(1, 8));
                around(rng, self.triple + k * step, 2 * block)
            }
            17 if self.edges() => self.limit - rng.below(3 * block).min(self.limit),
            _ => rng.below(self.top),
        };
        offset.min(self.limit - 1)
    }

    /// One operation on the far file.
    pub fn step(&mut self, rng: &mut Rng, options: &Options) -> Outcome {
        let budget = FAR_BUDGET / options.block_size;
        if self.model.blocks_bound() > budget {
            let new = match rng.one_in(2) {
                true => rng.below(self.triple),
                false => self.model.size() / 2,
            };
            return self.truncate(new).map_err(|err| self.failure(err));
        }
        let result = match rng.below(16) {
            0..=4 => self.write(rng, options),
            5..=7 => {
                let offset = self.pick(rng, options);
                let len = 1 + rng.below(9000);
                self.read(offset, len, "read")
            }
            8..=9 => {
                let new = match rng.below(6) {
                    0 => rng.below(self.triple),
                    1 => 0,
                    2 if self.edges() => self.limit + 1 + rng.below(options.block_size),
                    3 if self.edges() => self.limit,
                    _ => self.pick(rng, options),
                };
                self.truncate(new)
            }
            10..=11 if self.model.size() > 0 => self.mapped(rng, options),
            12 if options.punch => {
                let offset = self.pick(rng, options);
                let len = 1 + rng.below(3 * options.block_size);
                self.punch(offset, len)
            }
            13 if options.seek.is_some() => {
                let offset = self.pick(rng, options);
                self.seek(offset)
            }
            14 if options.fiemap => {
                let offset = self.pick(rng, options);
                self.fiemap(offset, options)
            }
            _ => {
                let sync = self.file().sync_all();
                sync.map_err(|err| format!("fsync of {}: {err}", self.path))?;
                self.note("fsync".into());
                self.check_blocks(options, "after fsync")
            }
        };
        result.map_err(|err| self.failure(err))
    }

    fn write(&mut self, rng: &mut Rng, options: &Options) -> Outcome {
        let offset = self.pick(rng, options);
        let len = match rng.below(3) {
            0 => options.block_size,
            _ => 1 + rng.below(9000),
        };
        let data = rng.data(len as usize, options.compressible);
        let what = format!("write {len} at {offset} of {}", self.path);
        if offset >= self.limit {
            return self.refused(self.file().write_at(&data, offset), &what);
        }
        let fits = len.min(self.limit - offset) as usize;
        let mut done = 0;
        while done < fits {
            let n = self
                .file()
                .write_at(&data[done..], offset + done as u64)
                .map_err(|err| format!("{what}: after {done} bytes: {err}"))?;
            if n == 0 {
                return Err(format!("{what}: wrote nothing after {done} bytes"));
            }
            done += n;
        }
        if done != fits {
            return Err(format!("{what}: wrote {done} bytes, expected {fits}"));
        }
        self.model.write(offset, &data[..fits]);
        self.note(format!("write {fits} at {offset}"));
        if fits < data.len() {
            // Nothing more past the largest file.
            self.refused(self.file().write_at(&data[fits..], self.limit), &what)?;
        }
        Ok(())
    }

    /// `result` must be `EFBIG`; the file is checked unchanged.
    fn refused<T: std::fmt::Debug>(&mut self, result: io::Result<T>, what: &str) -> Outcome {
        match result {
            Err(err) if err.raw_os_error() == Some(sys::EFBIG) => {
                self.note(format!("{what}: EFBIG"));
                self.check_size(what)
            }
            other => Err(format!(
                "{what} (largest file {}): {other:?}, expected EFBIG",
                self.limit
            )),
        }
    }

    fn check_size(&self, what: &str) -> Outcome {
        let size = self
            .file()
            .metadata()
            .map_err(|err| format!("{what}: fstat: {err}"))?
            .len();
        match size == self.model.size() {
            true => Ok(()),
            false => Err(format!(
                "{what}: size {size}, expected {}",
                self.model.size()
            )),
        }
    }

    fn read(&self, offset: u64, len: u64, what: &str) -> Outcome {
        let got = read_upto(self.file(), offset, len as usize)
            .map_err(|err| format!("{what}: read {len} at {offset} of {}: {err}", self.path))?;
        self.model
            .compare(offset, &got)
            .map_err(|err| format!("{what} of {}: {err}", self.path))
    }

    fn truncate(&mut self, new: u64) -> Outcome {
        let what = format!("truncate {} to {new}", self.path);
        if new > self.limit {
            return self.refused(self.file().set_len(new), &what);
        }
        self.file()
            .set_len(new)
            .map_err(|err| format!("{what}: {err}"))?;
        self.model.truncate(new);
        self.note(format!("truncate to {new}"));
        // The level cut off reads as zeros when the file grows back.
        self.read(new.saturating_sub(100), 200, "read after truncate")
    }

    /// A store or a load through a shared mapping of a window of the
    /// file (a few pages inside it).
    fn mapped(&mut self, rng: &mut Rng, options: &Options) -> Outcome {
        let size = self.model.size();
        let offset = self.pick(rng, options).min(size - 1).min(self.top);
        let start = offset / PAGE * PAGE;
        let pages = 1 + rng.below(3);
        let len = (pages * PAGE) as usize;
        let map = Mapping::window(self.file(), start, len)
            .map_err(|err| format!("mmap {len} at {start} of {}: {err}", self.path))?;
        let inside = (size - start).min(len as u64);
        let at = offset - start;
        let n = (1 + rng.below(3000)).min(inside - at);
        if rng.one_in(2) {
            let data = rng.data(n as usize, options.compressible);
            map.store(at as usize, &data);
            if rng.one_in(2) {
                map.sync().map_err(|err| format!("msync: {err}"))?;
            }
            self.model.mapped_store(offset, &data);
            self.note(format!("mapped store {n} at {offset}"));
            return Ok(());
        }
        let got = map.load(at as usize, n as usize);
        self.model.touch(offset, offset + n);
        self.model
            .compare(offset, &got)
            .map_err(|err| format!("mapped load {n} at {offset} of {}: {err}", self.path))
    }

    fn punch(&mut self, offset: u64, len: u64) -> Outcome {
        let mode = sys::FALLOC_FL_PUNCH_HOLE | sys::FALLOC_FL_KEEP_SIZE;
        if offset + len > self.limit {
            // vfs_fallocate: a range past the largest file.
            let what = format!("punch {len} at {offset} of {}", self.path);
            return self.refused(sys::fallocate(self.file(), mode, offset, len), &what);
        }
        sys::fallocate(self.file(), mode, offset, len)
            .map_err(|err| format!("punch {len} at {offset} of {}: {err}", self.path))?;
        self.model.punch(offset, len);
        self.note(format!("punch {len} at {offset}"));
        Ok(())
    }

    fn seek(&self, offset: u64) -> Outcome {
        let failed = |err: io::Error| format!("lseek of {}: {err}", self.path);
        let data = sys::seek(self.file(), offset, true).map_err(failed)?;
        self.model.check_seek_data(offset, data)?;
        let hole = sys::seek(self.file(), offset, false).map_err(failed)?;
        let next = match hole {
            Some(hole) if hole < self.model.size() => {
                let next = sys::seek(self.file(), hole, true).map_err(failed)?;
                self.model.check_seek_data(hole, next)?;
                next
            }
            _ => None,
        };
        self.model.check_seek_hole(offset, hole, next)
    }

    /// FIEMAP of 4 MiB of the file from a block at `offset`, or of the
    /// whole file while it is small: ext2 maps a hole one block at a
    /// time (`ext2_iomap_begin`), 16 million calls for a 16 GiB file.
    fn fiemap(&mut self, offset: u64, options: &Options) -> Outcome {
        const WINDOW: u64 = 4 << 20;
        let start = match self.model.size() <= WINDOW {
            true => 0,
            false => offset / options.block_size * options.block_size,
        };
        let extents = sys::fiemap_range(self.file(), start, WINDOW)
            .map_err(|err| format!("FIEMAP of {}: {err}", self.path))?;
        let end = start + WINDOW;
        self.model
            .check_fiemap_range(&extents, start, end, options.keep_past_end)
            .map_err(|err| format!("{}: {err}", self.path))?;
        self.note(format!(
            "fiemap of {start}..{end}: {} extents",
            extents.len()
        ));
        Ok(())
    }

    /// `st_blocks` (with `--st-blocks`) within the model's bound.
    fn check_blocks(&self, options: &Options, what: &str) -> Outcome {
        if !options.st_blocks {
            return Ok(());
        }
        let meta = self
            .file()
            .metadata()
            .map_err(|err| format!("{what}: fstat {}: {err}", self.path))?;
        let bound = self.model.blocks_bound() * options.block_size / 512;
        match meta.blocks() <= bound {
            true => Ok(()),
            false => Err(format!(
                "{what}: {} has st_blocks {}, at most {bound} expected ({} blocks may be allocated)",
                self.path,
                meta.blocks(),
                self.model.maybe.len()
            )),
        }
    }

    /// Checks the whole file: its size, every page written and the
    /// blocks around it, a few pages elsewhere, `st_blocks`.
    pub fn check(&self, options: &Options, what: &str) -> Outcome {
        let result = (|| {
            self.check_size(what)?;
            let block = options.block_size.max(PAGE);
            for index in self.model.pages() {
                self.read(index * PAGE, PAGE, what)?;
                self.read((index * PAGE).saturating_sub(block), block, what)?;
                self.read((index + 1) * PAGE, block, what)?;
            }
            for eighth in 0..8 {
                self.read(self.model.size() / 8 * eighth, PAGE, what)?;
            }
            self.check_blocks(options, what)
        })();
        result.map_err(|err| self.failure(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_blocks_follow_the_levels() {
        // 1 KiB blocks: 256 pointers a block.
        let none = indirect_blocks(0..12, 1024);
        assert_eq!(none, 0);
        assert_eq!(indirect_blocks([12, 267].into_iter(), 1024), 1);
        // The first double-indirect block: its root and one single.
        assert_eq!(indirect_blocks([268].into_iter(), 1024), 2);
        assert_eq!(indirect_blocks([268, 268 + 255].into_iter(), 1024), 2);
        assert_eq!(indirect_blocks([268, 268 + 256].into_iter(), 1024), 3);
        // The first triple-indirect block (byte 67,383,296): root,
        // double and single under it.
        let triple = 12 + 256 + 256 * 256;
        assert_eq!(triple * 1024, 67_383_296);
        assert_eq!(indirect_blocks([triple].into_iter(), 1024), 3);
        // One more single under the same double, then a new double.
        assert_eq!(indirect_blocks([triple, triple + 256].into_iter(), 1024), 4);
        let next_double = triple + 256 * 256;
        assert_eq!(indirect_blocks([triple, next_double].into_iter(), 1024), 5);
        // Every level at once.
        assert_eq!(indirect_blocks([0, 12, 268, triple].into_iter(), 1024), 6);
    }

    #[test]
    fn a_sparse_file_reads_as_written() {
        let mut model = SparseModel::new(1024, PAGE);
        let far = 67_383_296 + 1000;
        model.write(far, &[7; 5000]);
        assert_eq!(model.size(), far + 5000);
        assert_eq!(model.bytes(far - 2, 4), [0, 0, 7, 7]);
        assert!(model.compare(far + 4998, &[7, 7]).is_ok());
        assert!(
            model.compare(far + 4998, &[7, 7, 0]).is_err(),
            "past the end"
        );
        assert!(model.compare(far - 1, &[7]).is_err());
        assert_eq!(model.first_data(0, u64::MAX), Some(far));
        // Data blocks 65,804 to 65,809, and 3 indirect blocks.
        assert_eq!(model.blocks_bound(), 6 + 3);
        // Truncating into the data: the rest reads as zeros when the file
        // grows again, and the blocks past the end are gone.
        model.truncate(far + 10);
        model.truncate(far + 9000);
        assert_eq!(model.bytes(far + 8, 4), [7, 7, 0, 0]);
        assert_eq!(model.blocks_bound(), 1 + 3);
        // Below the triple-indirect level: its indirect blocks go too,
        // but for those across the new end (here the single-indirect
        // block: none, block 0 is direct).
        model.truncate(1000);
        assert_eq!(model.blocks_bound(), 0);
        model.write(300 * 1024, b"x");
        model.truncate(100 * 1024 + 1);
        assert_eq!(model.blocks_bound(), 1, "the single-indirect block");
        assert_eq!(model.pages().count(), 0);
        assert!(model.compare(0, &[0; 1000]).is_ok());
    }

    #[test]
    fn punches_and_mapped_stores_in_a_sparse_file() {
        let mut model = SparseModel::new(1024, PAGE);
        model.write(0, &[1; 4096]);
        model.punch(1000, 2100);
        assert_eq!(model.bytes(999, 2), [1, 0]);
        assert_eq!(model.bytes(3099, 2), [0, 1]);
        // Block 1 (1024..2048) covered whole; 0 and 3 not, 2 (2048..3072)
        // whole.
        assert_eq!(model.maybe.iter().copied().collect::<Vec<_>>(), [0, 3]);
        model.truncate(100_000);
        model.mapped_store(50_000, &[9; 10]);
        // The page of the store may be allocated: blocks 48 to 51.
        assert!((48..52).all(|b| model.maybe.contains(&b)));
        assert!(!model.maybe.contains(&52));
        assert_eq!(model.first_data(4096, 100_000), Some(50_000));
        // A punch from the start of the last block (partial) past the
        // end: the block may stay (toyfs keeps it, zeroed).
        let mut tail = SparseModel::new(1024, PAGE);
        tail.write(0, &[1; 2500]);
        tail.punch(2048, 4096);
        assert_eq!(tail.maybe.iter().copied().collect::<Vec<_>>(), [0, 1, 2]);
        tail.punch(1024, 4096);
        assert_eq!(tail.maybe.iter().copied().collect::<Vec<_>>(), [0, 2]);
        // Blocks 48 to 51 are under the single-indirect block.
        assert_eq!(model.blocks_bound(), model.maybe.len() as u64 + 1);
        // A store past the end of a folio, then growth over it.
        let mut model = SparseModel::new(1024, PAGE);
        model.truncate(1000);
        model.mapped_store(10, b"x");
        model.truncate(8192);
        assert_eq!(
            model.maybe.iter().copied().collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn seek_and_fiemap_answers_in_a_sparse_file() {
        let mut model = SparseModel::new(1024, PAGE);
        let far = 70_000_000;
        model.truncate(80_000_000);
        model.write(far, b"data");
        assert!(model.check_seek_data(0, Some(far)).is_ok());
        assert!(model.check_seek_data(0, Some(far - 1000)).is_ok(), "sound");
        assert!(model.check_seek_data(0, Some(far + 1)).is_err());
        assert!(model.check_seek_data(0, None).is_err());
        assert!(model.check_seek_data(far + 4, None).is_ok());
        assert!(model.check_seek_hole(0, Some(0), Some(far)).is_ok());
        assert!(model.check_seek_hole(0, Some(far + 2), None).is_err());
        assert!(model.check_seek_hole(0, None, None).is_err());
        let extent = |logical, length, flags| Extent {
            logical,
            physical: 1 << 20,
            length,
            flags,
        };
        let good = [extent(far / 1024 * 1024, 1024, FIEMAP_EXTENT_LAST)];
        assert!(model.check_fiemap(&good, false).is_ok());
        assert!(model.check_fiemap(&[], false).is_err(), "data in no extent");
        let unflagged = [extent(far / 1024 * 1024, 1024, 0)];
        assert!(model.check_fiemap(&unflagged, false).is_err());
        let past = [
            extent(far / 1024 * 1024, 1024, 0),
            extent(80_000_000, 1024, FIEMAP_EXTENT_LAST),
        ];
        assert!(model.check_fiemap(&past, false).is_err());
        assert!(model.check_fiemap(&past, true).is_ok());
        // A window that misses the end: no extent flagged last is
        // needed, data inside it must be mapped.
        assert!(model
            .check_fiemap_range(&unflagged, far - 10, far + 10, false)
            .is_ok());
        assert!(model
            .check_fiemap_range(&[], far - 10, far + 10, false)
            .is_err());
        assert!(model.check_fiemap_range(&[], 0, far - 10, false).is_ok());
    }
}
