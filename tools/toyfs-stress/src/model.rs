// SPDX-License-Identifier: GPL-2.0
//! What one file must contain, and what `SEEK_DATA`/`SEEK_HOLE` may say
//! about it.
//!
//! The bytes are exact.  Allocation is known only roughly, per *granule*
//! (the filesystem's block, or the page for tmpfs): a granule is `Data`
//! once `write(2)` or a mapped store put bytes in it, `Hole` when nothing
//! can have allocated it (never written, punched out, or cut off by a
//! truncate), and `Either` when the filesystem may or may not hold a
//! block there (a zeroed range, a preallocation, the rest of a page that
//! a mapped store made writable, or a hole a mapped load faulted in).  Any answer of the seek calls must be
//! sound (no byte of data is inside a reported hole); with granules known,
//! it must also be precise (no `Data` granule reported as hole, no `Hole`
//! granule reported as data).
//!
//! Stores through a mapping past the end of the file, inside its last
//! page ("EOF pollution", as fsx's `-e`), are not file data: the bytes
//! they cover are uncertain until the page tail is cut off by a truncate,
//! and bytes they cover must read as zero once the file grows over them.

use std::collections::BTreeSet;

use crate::sys::{
    Extent, FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_UNKNOWN, FIEMAP_EXTENT_UNWRITTEN, PAGE,
};

/// What a granule of the file may hold on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granule {
    /// Nothing can be allocated there: it must be reported as a hole.
    Hole,
    /// Written: it must be reported as data.
    Data,
    /// Either answer is right.
    Either,
}

/// The model of one file.
pub struct FileModel {
    bytes: Vec<u8>,
    /// Granule size (the block size where the seek checks are not precise).
    granule: u64,
    /// Whether the seek answers must follow the granules.
    precise: bool,
    /// The largest folio of the file: a fault may allocate all of it.
    folio: u64,
    /// States of the granules from offset 0; past the end: `Hole`.
    granules: Vec<Granule>,
    /// For `maybe_blocks`: the bound on `st_blocks` (`--st-blocks`).
    blocks: BlockBound,
    /// Bytes `size..polluted_to` of the mapped last page may hold stores
    /// made past the end of the file (0: none).
    polluted_to: u64,
}

/// One answer of `SEEK_DATA` or `SEEK_HOLE` that breaks the model.
pub type SeekError = String;

fn round_up(value: u64, to: u64) -> u64 {
    value.div_ceil(to) * to
}

impl FileModel {
    /// An empty file whose allocation is tracked in granules of `granule`
    /// bytes; `precise`: the seek calls must report them exactly; `folio`:
    /// the largest folio (a power of two, at least a page).
    pub fn new(granule: u64, precise: bool, folio: u64) -> Self {
        assert!(granule > 0, "granules of no bytes");
        Self {
            bytes: Vec::new(),
            granule,
            precise,
            folio: folio.max(PAGE),
            granules: Vec::new(),
            polluted_to: 0,
            blocks: BlockBound::default(),
        }
    }

    /// The size of the file.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The end of the last page of the file, where a mapping of it stops
    /// being accessible.
    pub fn page_end(&self) -> u64 {
        round_up(self.size(), PAGE)
    }

    /// Bytes of the granules that may have blocks: a bound on the disk
    /// space the file takes.
    pub fn allocated_bytes(&self) -> u64 {
        let held = self.granules.iter().filter(|&&g| g != Granule::Hole);
        held.count() as u64 * self.granule
    }

    fn granule_at(&self, index: u64) -> Granule {
        self.granules
            .get(index as usize)
            .copied()
            .unwrap_or(Granule::Hole)
    }

    /// Applies `change` to the state of each granule that `start..end`
    /// overlaps; `whole` tells it whether the range covers the granule.
    fn mark(&mut self, start: u64, end: u64, change: impl Fn(Granule, bool) -> Granule) {
        if start >= end {
            return;
        }
        let g = self.granule;
        let (first, last) = (start / g, (end - 1) / g);
        if self.granules.len() <= last as usize {
            self.granules.resize(last as usize + 1, Granule::Hole);
        }
        for index in first..=last {
            let whole = start <= index * g && (index + 1) * g <= end;
            let state = &mut self.granules[index as usize];
            *state = change(*state, whole);
            if *state != Granule::Hole {
                self.blocks.chains.insert(index);
            }
        }
    }

    /// Granules entirely at or past `from` become holes.
    fn free_from(&mut self, from: u64) {
        let keep = from.div_ceil(self.granule) as usize;
        self.granules.truncate(keep);
        self.blocks.cut(keep as u64);
    }

    /// A new size, without touching granules: zeros past the old end.
    fn resize(&mut self, size: u64) {
        if size > self.size() && self.blocks.dirty_to > self.size() {
            // Blocks of a folio dirtied through a mapping, past the old
            // end: a filesystem that allocates at writeback (ext2)
            // allocates them once the file has grown over them.
            let (g, end) = (self.granule, size.min(self.blocks.dirty_to));
            let late = self.size() / g..end.div_ceil(g);
            self.blocks.late.extend(late.clone());
            self.blocks.chains.extend(late);
        }
        self.bytes.resize(size as usize, 0);
    }

    /// `write(2)` of `data` at `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if end > self.size() {
            self.resize(end);
        }
        self.bytes[offset as usize..end as usize].copy_from_slice(data);
        self.mark(offset, end, |_, _| Granule::Data);
    }

    /// A store of `data` at `offset` (inside the file) through a mapping:
    /// the fault may allocate the rest of the page up to the end.
    pub fn mapped_store(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        assert!(end <= self.size(), "mapped store past the end");
        self.bytes[offset as usize..end as usize].copy_from_slice(data);
        self.touch_pages(offset, end);
        self.mark(offset, end, |_, _| Granule::Data);
        self.blocks.dirty_to = self.blocks.dirty_to.max(round_up(end, self.folio));
    }

    /// A load of `start..end` through a mapping: a read fault may fill a
    /// hole with a page (tmpfs does), which then counts as data.
    pub fn mapped_load(&mut self, start: u64, end: u64) {
        self.touch_pages(start, end);
    }

    /// The folios of `start..end`, up to the end of the file, may have had
    /// blocks allocated by a fault (ext4's large folios do).
    fn touch_pages(&mut self, start: u64, end: u64) {
        let from = start / self.folio * self.folio;
        let to = round_up(end, self.folio).min(self.size());
        self.mark(from, to, |state, _| match state {
            Granule::Hole => Granule::Either,
            other => other,
        });
    }

    /// A store of `len` bytes at `offset`, past the end of the file inside
    /// its last page, through a mapping.  Returns false (and changes
    /// nothing) if the range is not there.
    pub fn pollute(&mut self, offset: u64, len: u64) -> bool {
        if offset < self.size() || offset + len > self.page_end() || len == 0 {
            return false;
        }
        let size = self.size();
        self.touch_pages(offset.min(size.saturating_sub(1)), size);
        self.polluted_to = self.polluted_to.max(offset + len);
        let dirty_to = round_up(offset + len, self.folio);
        self.blocks.dirty_to = self.blocks.dirty_to.max(dirty_to);
        true
    }

    /// `ftruncate` to `size`.
    pub fn truncate(&mut self, size: u64) {
        if size < self.size() {
            // The kernel zeroes the rest of the new last page, pollution
            // included, and drops the pages after it.
            self.polluted_to = 0;
            // The folio of the new end stays dirty (without buffers, the
            // whole of it, which a writeback maps up to the end then).
            let folio_end = round_up(size, self.folio);
            self.blocks.dirty_to = self.blocks.dirty_to.min(folio_end);
            self.free_from(size);
        }
        self.resize(size);
    }

    /// `fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`.
    pub fn punch_hole(&mut self, offset: u64, len: u64) {
        let size = self.size();
        let end = (offset + len).min(size);
        if offset < end {
            self.bytes[offset as usize..end as usize].fill(0);
        }
        // The granule of the end of the file, punched from its start past
        // the end: the filesystem clamps the punch to the end, where that
        // granule is not covered whole, so it may keep its block (toyfs
        // zeroes it in place) or free it (ext4 punches to the end of the
        // page).  Its state before the punch decides, not the range.
        let g = self.granule;
        let last = size.saturating_sub(1) / g;
        let eof_granule = (size % g != 0 && offset <= last * g && offset + len >= size)
            .then(|| self.granule_at(last));
        // Preallocated granules past the end may stay: tmpfs (and XFS)
        // free them, ext4 and toyfs punch only up to the end of the
        // file (`end.min(size)` in toyfs's fallocate).
        let past_end = size.div_ceil(g);
        let kept: Vec<(usize, Granule)> = (past_end.max(offset / g)..(offset + len).div_ceil(g))
            .filter_map(|index| {
                let state = self.granules.get(index as usize).copied()?;
                Some((index as usize, state))
            })
            .collect();
        self.mark(offset, offset + len, |state, whole| {
            if whole {
                Granule::Hole
            } else {
                state
            }
        });
        for (index, state) in kept {
            self.granules[index] = state;
        }
        if let Some(before) = eof_granule {
            self.granules[last as usize] = match before {
                Granule::Data => Granule::Either,
                other => other,
            };
        }
    }

    /// `fallocate(FALLOC_FL_ZERO_RANGE [| FALLOC_FL_KEEP_SIZE])`.
    pub fn zero_range(&mut self, offset: u64, len: u64, keep_size: bool) {
        let end = offset + len;
        if !keep_size && end > self.size() {
            self.resize(end);
        }
        let zero_end = end.min(self.size());
        if offset < zero_end {
            self.bytes[offset as usize..zero_end as usize].fill(0);
        }
        // Zeroed blocks may be kept, unwritten or freed.
        self.mark(offset, end, |state, whole| match (state, whole) {
            (Granule::Data, false) => Granule::Data,
            _ => Granule::Either,
        });
    }

    /// `fallocate(0 or FALLOC_FL_KEEP_SIZE)`: blocks reserved, bytes kept.
    pub fn allocate(&mut self, offset: u64, len: u64, keep_size: bool) {
        let end = offset + len;
        if !keep_size && end > self.size() {
            self.resize(end);
        }
        self.mark(offset, end, |state, _| match state {
            Granule::Hole => Granule::Either,
            other => other,
        });
    }

    /// The data is back from the disk (unmount and mount): pollution of
    /// the page cache is gone.
    pub fn reloaded(&mut self) {
        self.polluted_to = 0;
    }

    /// Checks `got`, read at `offset` from the file (`read(2)`, which stops
    /// at the end), against the model.
    pub fn compare(&self, offset: u64, got: &[u8]) -> Result<(), String> {
        let size = self.size();
        let start = offset.min(size) as usize;
        let end = (offset + got.len() as u64).min(size) as usize;
        let want = &self.bytes[start..end];
        if got.len() != want.len() {
            return Err(format!(
                "{} bytes at {offset}, expected {} (size {size})",
                got.len(),
                want.len()
            ));
        }
        match got.iter().zip(want).position(|(a, b)| a != b) {
            Some(at) => Err(format!(
                "byte {} is {:#x}, expected {:#x} (size {size})",
                offset as usize + at,
                got[at],
                want[at]
            )),
            None => Ok(()),
        }
    }

    /// Checks the bytes of the mapped last page past the end of the file
    /// (`got`, from `size` to the end of the page): zeros, as fsx's
    /// `check_eofpage` wants, unless stores past the end made them
    /// uncertain.
    pub fn check_eof_page(&self, got: &[u8]) -> Result<(), String> {
        let size = self.size();
        let clean_from = self.polluted_to.max(size);
        match got
            .iter()
            .enumerate()
            .position(|(i, &b)| b != 0 && size + i as u64 >= clean_from)
        {
            Some(at) => Err(format!(
                "mapped byte {} past the end (size {size}) is {:#x}, expected 0",
                size + at as u64,
                got[at]
            )),
            None => Ok(()),
        }
    }

    fn all_zero(&self, start: u64, end: u64) -> Result<(), SeekError> {
        let end = end.min(self.size());
        if start >= end {
            return Ok(());
        }
        match self.bytes[start as usize..end as usize]
            .iter()
            .position(|&b| b != 0)
        {
            Some(at) => Err(format!(
                "byte {} is {:#x}, inside what was reported as a hole",
                start + at as u64,
                self.bytes[start as usize + at]
            )),
            None => Ok(()),
        }
    }

    /// The first granule overlapping `start..end` (inside the file) whose
    /// state is `state`, as its offset.
    fn find(&self, start: u64, end: u64, state: Granule) -> Option<u64> {
        let end = end.min(self.size());
        if !self.precise || start >= end {
            return None;
        }
        let g = self.granule;
        (start / g..=(end - 1) / g)
            .find(|&index| self.granule_at(index) == state)
            .map(|index| (index * g).max(start))
    }

    /// Checks FIEMAP's `extents` of the file, taken after its dirty data
    /// was written (`FIEMAP_FLAG_SYNC`): in order and not overlapping;
    /// none past the last `block` of the file unless `past_end` (the
    /// filesystem keeps preallocated blocks there); the last one flagged
    /// `FIEMAP_EXTENT_LAST`; every byte of data inside an extent that is
    /// not `FIEMAP_EXTENT_UNWRITTEN`; with granules known, every `Data`
    /// granule covered and no `Hole` granule touched (inside the file).
    pub fn check_fiemap(
        &self,
        extents: &[Extent],
        block: u64,
        past_end: bool,
    ) -> Result<(), String> {
        let size = self.size();
        let what = |err: String| format!("FIEMAP (size {size}) gave {extents:x?}: {err}");
        check_extent_order(extents, size, block, past_end).map_err(what)?;
        if extents
            .last()
            .is_some_and(|last| last.flags & FIEMAP_EXTENT_LAST == 0)
        {
            return Err(what("the last extent is not flagged last".into()));
        }
        // The extent holding byte `at`, if any (`extents` are in order).
        let holding = |at: u64| {
            let after = extents.partition_point(|e| e.logical + e.length <= at);
            extents.get(after).filter(|e| e.logical <= at)
        };
        let mut at = 0;
        while let Some(found) = self.bytes[at..].iter().position(|&b| b != 0) {
            let byte = (at + found) as u64;
            match holding(byte) {
                Some(e) if e.flags & FIEMAP_EXTENT_UNWRITTEN == 0 => {
                    at = (e.logical + e.length).min(size) as usize;
                }
                Some(e) => return Err(what(format!("byte {byte} of data is in unwritten {e:x?}"))),
                None => return Err(what(format!("byte {byte} of data is in no extent"))),
            }
        }
        if !self.precise {
            return Ok(());
        }
        let g = self.granule;
        for index in 0..size.div_ceil(g) {
            let (start, stop) = (index * g, ((index + 1) * g).min(size));
            match self.granule_at(index) {
                Granule::Data => {
                    let mut at = start;
                    while at < stop {
                        match holding(at) {
                            Some(e) => at = e.logical + e.length,
                            None => {
                                return Err(what(format!(
                                    "byte {at} of written granule {index} is in no extent"
                                )))
                            }
                        }
                    }
                }
                Granule::Hole => {
                    let after = extents.partition_point(|e| e.logical + e.length <= start);
                    if let Some(e) = extents.get(after).filter(|e| e.logical < stop) {
                        return Err(what(format!(
                            "{e:x?} maps granule {index}, which nothing allocated"
                        )));
                    }
                }
                Granule::Either => {}
            }
        }
        Ok(())
    }

    /// Checks `SEEK_DATA` from `offset`, which answered `found` (`None`
    /// for `ENXIO`).
    pub fn check_seek_data(&self, offset: u64, found: Option<u64>) -> Result<(), SeekError> {
        let size = self.size();
        let what = format!("SEEK_DATA from {offset} (size {size}) gave {found:?}");
        let Some(data) = found else {
            if offset >= size {
                return Ok(());
            }
            self.all_zero(offset, size)
                .map_err(|err| format!("{what}: {err}"))?;
            return match self.find(offset, size, Granule::Data) {
                Some(at) => Err(format!("{what}: data written at {at}")),
                None => Ok(()),
            };
        };
        if offset >= size || data < offset || data >= size {
            return Err(format!("{what}: outside {offset}..{size}"));
        }
        self.all_zero(offset, data)
            .map_err(|err| format!("{what}: {err}"))?;
        if let Some(at) = self.find(offset, data, Granule::Data) {
            return Err(format!("{what}: skips data written at {at}"));
        }
        if self.precise && self.granule_at(data / self.granule) == Granule::Hole {
            return Err(format!("{what}: inside a granule nothing allocated"));
        }
        Ok(())
    }

    /// Checks `SEEK_HOLE` from `offset`, which answered `found`; the hole
    /// it reports runs to `next_data` (`SEEK_DATA` from the hole), whose
    /// own check is `check_seek_data`'s.
    pub fn check_seek_hole(
        &self,
        offset: u64,
        found: Option<u64>,
        next_data: Option<u64>,
    ) -> Result<(), SeekError> {
        let size = self.size();
        let what = format!("SEEK_HOLE from {offset} (size {size}) gave {found:?}");
        let Some(hole) = found else {
            return if offset >= size {
                Ok(())
            } else {
                Err(format!("{what}: ENXIO inside the file"))
            };
        };
        if offset >= size || hole < offset || hole > size {
            return Err(format!("{what}: outside {offset}..={size}"));
        }
        if let Some(at) = self.find(offset, hole, Granule::Hole) {
            return Err(format!("{what}: skips the hole at {at}"));
        }
        if hole < size {
            if self.precise && self.granule_at(hole / self.granule) == Granule::Data {
                return Err(format!("{what}: inside a written granule"));
            }
            self.all_zero(hole, next_data.unwrap_or(size))
                .map_err(|err| format!("{what}: {err}"))?;
        }
        Ok(())
    }
}

/// Checks that FIEMAP's `extents` of a file of `size` bytes are in order
/// and do not overlap, none at byte 0 of the disk (unless its place is
/// unknown), none past the last `block` of the file unless `past_end`.
pub fn check_extent_order(
    extents: &[Extent],
    size: u64,
    block: u64,
    past_end: bool,
) -> Result<(), String> {
    let mut end = 0;
    for extent in extents {
        if extent.length == 0 || extent.logical < end {
            return Err(format!("{extent:x?} is empty or overlaps"));
        }
        end = extent.logical + extent.length;
        if extent.physical == 0 && extent.flags & FIEMAP_EXTENT_UNKNOWN == 0 {
            return Err(format!("{extent:x?} is at byte 0 of the disk"));
        }
        if !past_end && end > round_up(size, block) {
            return Err(format!("{extent:x?} is past the last block"));
        }
    }
    Ok(())
}

/// What bounds the blocks of a file (`st_blocks`, `--st-blocks`) beyond
/// its granules that are not holes.
#[derive(Default)]
struct BlockBound {
    /// Granules whose blocks a writeback may have allocated after the
    /// file grew over them (`FileModel::resize`).
    late: BTreeSet<u64>,
    /// The end of the folios dirtied through a mapping since the last
    /// truncation down (0: none).
    dirty_to: u64,
    /// Granules the indirect blocks of the map may still reach: every
    /// granule that may have been allocated since a truncation below it
    /// (a punched hole may leave its indirect blocks), and the last
    /// granule at a truncation (an indirect block across the new end may
    /// stay, emptied: toyfs keeps it, ext2 frees it).
    chains: BTreeSet<u64>,
}

impl BlockBound {
    /// A truncation to `keep` granules.
    fn cut(&mut self, keep: u64) {
        self.late.split_off(&keep);
        if !self.chains.split_off(&keep).is_empty() && keep > 0 {
            self.chains.insert(keep - 1);
        }
    }
}

/// The blocks of `block` bytes that granules (of `g` bytes) cover.
fn granule_blocks(granules: impl Iterator<Item = u64>, g: u64, block: u64) -> Vec<u64> {
    let mut blocks: Vec<u64> = granules
        .flat_map(|index| (index * g) / block..(index * g + g).div_ceil(block))
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    blocks
}

impl FileModel {
    /// The blocks of `block` bytes (by index) that may be allocated: those
    /// of the granules that are not holes, and those a writeback may have
    /// allocated late (`--st-blocks`).
    pub fn maybe_blocks(&self, block: u64) -> Vec<u64> {
        let held = self.granules.iter().enumerate();
        let held = held.filter(|(_, &state)| state != Granule::Hole);
        let held = held.map(|(index, _)| index as u64);
        granule_blocks(
            held.chain(self.blocks.late.iter().copied()),
            self.granule,
            block,
        )
    }

    /// The blocks whose indirect blocks the map may hold (`BlockBound`).
    pub fn chain_blocks(&self, block: u64) -> Vec<u64> {
        granule_blocks(self.blocks.chains.iter().copied(), self.granule, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_truncates_and_zero_ranges_give_the_bytes() {
        let mut model = FileModel::new(1024, true, PAGE);
        model.write(10, b"abc");
        assert_eq!(model.bytes(), b"\0\0\0\0\0\0\0\0\0\0abc");
        model.truncate(11);
        model.truncate(14);
        assert_eq!(&model.bytes()[10..], b"a\0\0\0");
        model.write(0, &[7; 5000]);
        model.punch_hole(1000, 3000);
        assert!(model.bytes()[1000..4000].iter().all(|&b| b == 0));
        assert_eq!(model.bytes()[999], 7);
        assert_eq!(model.bytes()[4000], 7);
        model.zero_range(4990, 100, true);
        assert_eq!(model.size(), 5000);
        model.zero_range(4990, 100, false);
        assert_eq!(model.size(), 5090);
        model.allocate(6000, 10, true);
        assert_eq!(model.size(), 5090);
        model.allocate(6000, 10, false);
        assert_eq!(model.size(), 6010);
    }

    #[test]
    fn granules_follow_writes_punches_and_truncates() {
        let mut model = FileModel::new(1024, true, PAGE);
        model.write(0, &[1; 4096]);
        model.punch_hole(1000, 2100);
        // 0 keeps data in byte 0..1000, 1024..2048 is punched out, 2048..3072
        // too (3100 covers it), 3072..4096 keeps data.
        assert_eq!(model.granule_at(0), Granule::Data);
        assert_eq!(model.granule_at(1), Granule::Hole);
        assert_eq!(model.granule_at(2), Granule::Hole);
        assert_eq!(model.granule_at(3), Granule::Data);
        model.truncate(1500);
        assert_eq!(model.granules.len(), 2);
        model.truncate(9000);
        assert_eq!(model.granule_at(5), Granule::Hole);
        model.mapped_store(5000, b"x");
        // The page 4096..8192 may be allocated all through.
        assert_eq!(model.granule_at(4), Granule::Data);
        assert_eq!(model.granule_at(5), Granule::Either);
        assert_eq!(model.granule_at(7), Granule::Either);
        assert_eq!(model.granule_at(8), Granule::Hole);
    }

    #[test]
    fn a_punch_clamped_at_the_end_may_keep_the_last_block() {
        // 2.5 granules of data; a punch from granule 2 far past the end.
        let mut model = FileModel::new(2048, true, PAGE);
        model.write(0, &[1; 5120]);
        model.punch_hole(4096, 8192);
        assert!(model.bytes()[4096..].iter().all(|&b| b == 0));
        // toyfs keeps the block of bytes 4096..5120 (zeroed), ext4 frees
        // it: either answer is right, a hole is not required.
        assert_eq!(model.granule_at(2), Granule::Either);
        assert!(model.check_seek_data(4096, Some(4096)).is_ok());
        assert!(model.check_seek_data(4096, None).is_ok());
        assert!(model.check_seek_hole(0, Some(4096), None).is_ok());
        assert!(model.check_seek_hole(0, Some(5120), None).is_ok());
        // Granules past the end stay holes.
        assert_eq!(model.granule_at(3), Granule::Hole);
        // From inside the granule: it is not covered, it keeps its data.
        let mut model = FileModel::new(2048, true, PAGE);
        model.write(0, &[1; 5120]);
        model.punch_hole(4100, 8192);
        assert_eq!(model.granule_at(2), Granule::Data);
        // A granule of the end that was never written stays a hole.
        let mut model = FileModel::new(2048, true, PAGE);
        model.write(0, &[1; 100]);
        model.truncate(5120);
        model.punch_hole(4096, 8192);
        assert_eq!(model.granule_at(2), Granule::Hole);
        // An end on a granule boundary: the last granule is covered whole.
        let mut model = FileModel::new(2048, true, PAGE);
        model.write(0, &[1; 6144]);
        model.punch_hole(4096, 8192);
        assert_eq!(model.granule_at(2), Granule::Hole);
    }

    #[test]
    fn a_punch_past_the_end_may_keep_preallocated_blocks() {
        // compact_memory_toyfs, seed 3 on the debug kernel: blocks
        // preallocated past the end (FALLOC_FL_KEEP_SIZE), a punch past
        // the end, then a write past them: toyfs punches only up to the
        // end, so the blocks stay (zeroed), as on ext4; tmpfs frees them.
        let mut model = FileModel::new(1024, true, PAGE);
        model.write(0, &[1; 4096]);
        model.allocate(4000, 3000, true);
        assert_eq!(model.granule_at(5), Granule::Either);
        model.punch_hole(4500, 10_000);
        model.write(9000, b"x");
        assert_eq!(model.granule_at(5), Granule::Either, "kept or freed");
        assert_eq!(model.granule_at(7), Granule::Hole, "never allocated");
        assert!(model.bytes()[4096..9000].iter().all(|&b| b == 0));
        // Inside the file a punch still frees whole granules.
        model.punch_hole(1024, 1024);
        assert_eq!(model.granule_at(1), Granule::Hole);
    }

    #[test]
    fn seek_answers_are_judged() {
        let mut model = FileModel::new(1024, true, PAGE);
        model.truncate(10_000);
        model.write(5000, b"data");
        // Data starts in granule 4 (4096..5120).
        assert!(model.check_seek_data(0, Some(4096)).is_ok());
        assert!(
            model.check_seek_data(0, Some(5000)).is_err(),
            "inside the written block"
        );
        assert!(model.check_seek_data(0, Some(0)).is_err(), "a hole granule");
        assert!(model.check_seek_data(0, Some(6000)).is_err(), "skips data");
        assert!(model.check_seek_data(0, None).is_err());
        assert!(model.check_seek_data(6000, None).is_ok());
        assert!(model.check_seek_data(10_000, None).is_ok());
        assert!(model.check_seek_data(10_000, Some(10_000)).is_err());
        assert!(model.check_seek_hole(0, Some(0), Some(4096)).is_ok());
        assert!(model.check_seek_hole(4096, Some(5120), None).is_ok());
        assert!(model.check_seek_hole(4096, Some(4096), None).is_err());
        assert!(model.check_seek_hole(100, Some(10_000), None).is_err());
        assert!(model.check_seek_hole(9999, None, None).is_err());
        assert!(model.check_seek_hole(10_000, None, None).is_ok());
        // Soundness alone (ext2's generic llseek: all data, no holes).
        let mut loose = FileModel::new(1024, false, PAGE);
        loose.truncate(10_000);
        loose.write(5000, b"data");
        assert!(loose.check_seek_data(0, Some(0)).is_ok());
        assert!(loose.check_seek_hole(0, Some(10_000), None).is_ok());
        assert!(loose.check_seek_hole(0, Some(4999), Some(5001)).is_err());
    }

    fn extent(logical: u64, length: u64, flags: u32) -> Extent {
        Extent {
            logical,
            physical: 1 << 20,
            length,
            flags,
        }
    }

    #[test]
    fn fiemap_answers_are_judged() {
        let mut model = FileModel::new(1024, true, PAGE);
        model.truncate(10_000);
        model.write(5000, b"data");
        model.write(9000, &[1; 1000]);
        let last = FIEMAP_EXTENT_LAST;
        // Granules 4 (4096..5120) and 8 to 9 (8192..10000) were written.
        let good = [extent(4096, 1024, 0), extent(8192, 2048, last)];
        assert!(model.check_fiemap(&good, 1024, false).is_ok());
        // The tail of a last block in fragments: 8192..10240 ends past
        // the size, inside the last block.
        let tail = [
            extent(4096, 1024, 0),
            extent(8192, 1024, 0),
            extent(9216, 1024, last),
        ];
        assert!(model.check_fiemap(&tail, 1024, false).is_ok());
        let unflagged = [extent(4096, 1024, 0), extent(8192, 2048, 0)];
        assert!(model.check_fiemap(&unflagged, 1024, false).is_err());
        let missing = [extent(8192, 2048, last)];
        assert!(
            model.check_fiemap(&missing, 1024, false).is_err(),
            "data in no extent"
        );
        let hole = [
            extent(0, 1024, 0),
            extent(4096, 1024, 0),
            extent(8192, 2048, last),
        ];
        assert!(
            model.check_fiemap(&hole, 1024, false).is_err(),
            "a hole granule mapped"
        );
        let overlap = [
            extent(4096, 2048, 0),
            extent(5120, 1024, 0),
            extent(8192, 2048, last),
        ];
        assert!(model.check_fiemap(&overlap, 1024, false).is_err());
        let past = [extent(4096, 1024, 0), extent(8192, 3072, last)];
        assert!(
            model.check_fiemap(&past, 1024, false).is_err(),
            "past the last block"
        );
        assert!(
            model.check_fiemap(&past, 1024, true).is_ok(),
            "preallocated past the end"
        );
        let unwritten = [
            extent(4096, 1024, FIEMAP_EXTENT_UNWRITTEN),
            extent(8192, 2048, last),
        ];
        assert!(model.check_fiemap(&unwritten, 1024, false).is_err());
        let mut at_zero = good;
        at_zero[0].physical = 0;
        assert!(model.check_fiemap(&at_zero, 1024, false).is_err());
        // Soundness alone: holes may be mapped, data may not be missed.
        let mut loose = FileModel::new(1024, false, PAGE);
        loose.truncate(10_000);
        loose.write(5000, b"data");
        assert!(loose
            .check_fiemap(&[extent(0, 10_240, last)], 1024, false)
            .is_ok());
        assert!(loose
            .check_fiemap(&[extent(5002, 100, last)], 1024, false)
            .is_err());
        assert!(loose.check_fiemap(&[], 1024, false).is_err());
    }

    impl FileModel {
        fn polluted(&self) -> bool {
            self.polluted_to > self.size()
        }
    }

    #[test]
    fn eof_page_is_zero_unless_polluted() {
        let mut model = FileModel::new(1024, false, PAGE);
        model.write(0, &[1; 100]);
        assert!(model.check_eof_page(&[0; 3996]).is_ok());
        let mut tail = vec![0; 3996];
        tail[50] = 9;
        assert!(model.check_eof_page(&tail).is_err());
        assert!(!model.pollute(4096, 1));
        assert!(model.pollute(150, 1));
        assert!(model.polluted());
        assert!(model.check_eof_page(&tail).is_ok());
        // Growing over the polluted byte: it must read as zero.
        model.truncate(200);
        assert!(!model.polluted());
        assert!(model
            .compare(0, &[[1; 100].as_slice(), &[0; 100]].concat())
            .is_ok());
        model.pollute(300, 10);
        model.truncate(150);
        assert!(!model.polluted());
    }

    #[test]
    fn maybe_blocks_are_the_granules_not_holes() {
        let mut model = FileModel::new(1024, true, PAGE);
        model.write(0, &[1; 100]);
        model.truncate(10_000);
        model.write(5000, &[1; 2000]);
        assert_eq!(model.maybe_blocks(1024), [0, 4, 5, 6]);
        // Granules of a page, blocks of 1 KiB: four blocks each.
        let mut page = FileModel::new(PAGE, true, PAGE);
        page.write(5000, b"x");
        assert_eq!(page.maybe_blocks(1024), [4, 5, 6, 7]);
        page.truncate(0);
        assert!(page.maybe_blocks(1024).is_empty());
        assert!(page.chain_blocks(1024).is_empty());
    }

    #[test]
    fn the_block_bound_keeps_chains_and_late_blocks() {
        // Data in the double-indirect level (1 KiB blocks: from block
        // 268), then a truncation into the single-indirect level: the
        // indirect block across the new end may stay.
        let mut model = FileModel::new(1024, true, PAGE);
        model.write(300 * 1024, b"x");
        model.truncate(100 * 1024 + 1);
        assert!(model.maybe_blocks(1024).is_empty());
        assert_eq!(model.chain_blocks(1024), [100]);
        // A punched block's indirect blocks may stay.
        model.write(50 * 1024, &[1; 1024]);
        model.punch_hole(50 * 1024, 1024);
        assert!(model.maybe_blocks(1024).is_empty());
        assert_eq!(model.chain_blocks(1024), [50, 100]);
        // A store through a mapping dirties the folio past the end: once
        // the file grows over it, a writeback may allocate those blocks.
        let mut model = FileModel::new(1024, true, PAGE);
        model.truncate(1000);
        model.mapped_store(10, b"x");
        assert_eq!(model.maybe_blocks(1024), [0]);
        model.truncate(8192);
        assert_eq!(model.maybe_blocks(1024), [0, 1, 2, 3]);
        // A truncation down drops them, but the folio of the new end
        // may stay dirty: growing again, its blocks may be allocated.
        model.truncate(1000);
        assert_eq!(model.maybe_blocks(1024), [0]);
        model.truncate(8192);
        assert_eq!(model.maybe_blocks(1024), [0, 1, 2, 3]);
        model.truncate(5000);
        model.truncate(9000);
        assert_eq!(model.maybe_blocks(1024), [0, 1, 2, 3]);
    }
}
