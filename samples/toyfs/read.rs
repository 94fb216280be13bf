// SPDX-License-Identifier: GPL-2.0

//! Reading file data into the page cache: `read_folio` and `readahead`
//! move whole blocks by bio straight from the device into the file's
//! folios; vm_mvc ZEROes what no block backs (holes, and everything past
//! the end of the file, the EOF block's tail included).  A block stored
//! in part of a disk block (a tail or a compressed block, with the
//! FRAGMENTS feature) comes through the buffer cache (packed.rs): one
//! lookup of a disk block's buffer for the packed blocks read one after
//! the other from it.
//!
//! Only the blocks not yet uptodate are read (a folio partly written by
//! `write_begin` keeps its other blocks), and a run of blocks contiguous
//! on disk is mapped with one walk and read with one bio, also across
//! folios in readahead.  A folio that one run covers (blocks contiguous
//! on disk, or a hole) and that ends inside the file is read without
//! block state, as mpage reads a page without buffer heads: no
//! allocation per folio on the common path; so is a folio of one
//! compressed block.

use crate::{
    format::{address::Extent, geometry::Geometry, tail_block::TailPlace},
    inode::{BlockMap, Run},
    packed::read_packed_from,
    tails::read_tail_from,
    vfs::{read_and_wait, BioBatch, Buffer, Direction, FolioState, Inode, LockedFolio},
    vm_mvc_client::Op,
};
use kernel::prelude::*;

/// One read of one or more folios of a file.
pub(crate) struct Reader<'a> {
    inode: &'a Inode,
    geometry: Geometry,
    batch: BioBatch<'a>,
    /// The last run mapped: its first file block and the run, reused by
    /// the folios that follow it.
    cached: Option<(u64, Run)>,
    /// The disk block of the last packed block read, and its buffer: the
    /// packed blocks that follow in it (a compressed file's blocks share
    /// disk blocks, several to one) are read from it with no new lookup
    /// of the buffer cache (`sb_bread`).
    packed: Option<(u32, Buffer)>,
}

impl<'a> Reader<'a> {
    /// A read of folios of `inode`.
    pub(crate) fn new(inode: &'a Inode) -> Self {
        let sb = inode.sb();
        Self {
            inode,
            geometry: sb.info().geometry,
            batch: BioBatch::new(sb, Direction::Read),
            cached: None,
            packed: None,
        }
    }

    /// The run of file blocks from `n` on, at most `max` long; it maps
    /// ahead up to `ahead` blocks (inside the file) for the folios to come.
    fn run_at(&mut self, n: u64, max: u64, ahead: u64) -> Result<Run> {
        if let Some((start, run)) = self.cached {
            if (start..start + run.count()).contains(&n) {
                let skip = n - start;
                let count = (run.count() - skip).min(max);
                return Ok(match run {
                    Run::Hole { .. } => Run::Hole { count },
                    // CAST: `skip` is below the run's length, a block count.
                    Run::Data { first, .. } => Run::Data {
                        first: first + skip as u32,
                        count,
                    },
                    // One block: `skip` is 0.
                    Run::Packed { .. } | Run::Tail { .. } => run,
                });
            }
        }
        let run = BlockMap::lock(self.inode)?.lookup_run(n, max.max(ahead.min(256)))?;
        self.cached = Some((n, run));
        Ok(match run {
            Run::Hole { count } => Run::Hole {
                count: count.min(max),
            },
            Run::Data { first, count } => Run::Data {
                first,
                count: count.min(max),
            },
            Run::Packed { .. } | Run::Tail { .. } => run,
        })
    }

    /// Reads the blocks of the locked `folio` that are not uptodate.  The
    /// folio's read ends, unlocking it, once they all are: here or in the
    /// bio's completion.  An error (a damaged map, no memory) is returned
    /// after the blocks already under way are accounted for.
    pub(crate) fn read_folio(&mut self, folio: LockedFolio<'_>) -> Result {
        // A folio read whole needs no block state (as mpage reads a page
        // without buffer heads): the first block's lookup failing is
        // kept for `fill`, which would only repeat it.
        let mut failed_first = None;
        if folio.state().is_none() {
            match self.read_whole(&folio) {
                Ok(Whole::Submitted) => return Ok(()),
                Ok(Whole::Filled) => {
                    folio.end_read(true);
                    return Ok(());
                }
                Ok(Whole::Partly) => {}
                Err(Failure::Lookup(err)) => failed_first = Some(err),
                Err(Failure::Fill(err)) => {
                    folio.end_read(false);
                    return Err(err);
                }
            }
        }
        let shift = self.geometry.block_shift();
        let (result, end) = match folio.state_or_attach(shift) {
            Err(err) => (Err(err), Some(false)),
            Ok(state) => {
                state.begin_read();
                let result = self.fill(&folio, state, failed_first);
                let end = state
                    .finish_read(1)
                    .then(|| state.is_uptodate(0, state.blocks()));
                (result, end)
            }
        };
        if let Some(uptodate) = end {
            folio.end_read(uptodate);
        }
        result
    }

    /// Reads `folio` (without block state) as a whole if one run covers
    /// it: blocks contiguous on disk go by one bio segment, whose
    /// completion ends the read (`read_end_io`); a hole, or a folio wholly
    /// past the end of the file, becomes zeros, and a folio of one
    /// compressed block its bytes (the caller ends the read).  A folio
    /// holding the end of the file, or several runs, needs per-block
    /// state: `Whole::Partly`, nothing done.
    fn read_whole(&mut self, folio: &LockedFolio<'_>) -> core::result::Result<Whole, Failure> {
        let geometry = self.geometry;
        let size = self.inode.size();
        let (pos, len) = (folio.pos(), folio.size());
        let zero = |folio: &LockedFolio<'_>| {
            folio
                .mvc(0, len, Op::Zero.nodirty())
                .map(|()| Whole::Filled)
                .map_err(Failure::Fill)
        };
        if pos >= size {
            return zero(folio);
        }
        if pos + len as u64 > size {
            return Ok(Whole::Partly);
        }
        let shift = geometry.block_shift();
        let (first, blocks) = (pos >> shift, (len >> shift) as u64);
        let inside = geometry.blocks_for(size) - first;
        let run = self
            .run_at(first, blocks, inside)
            .map_err(Failure::Lookup)?;
        if run.count() != blocks {
            return Ok(Whole::Partly);
        }
        match run {
            Run::Hole { .. } => zero(folio),
            Run::Data { first: block, .. } => {
                self.batch.add(folio, 0, len, block);
                Ok(Whole::Submitted)
            }
            // A folio of one block, a compressed one (a tail ends the
            // file, above): through the buffer cache, without block state.
            Run::Packed { extent } => self
                .read_packed(folio, 0, &extent)
                .map(|()| Whole::Filled)
                .map_err(Failure::Fill),
            // The end of the file, which is partial: not met above.
            Run::Tail { .. } => Ok(Whole::Partly),
        }
    }

    /// Block `k` of the locked `folio` from `extent`, a tail or a
    /// compressed block (`packed::read_packed_from`), with the buffer of
    /// its disk block kept for the packed blocks that follow.
    fn read_packed(&mut self, folio: &LockedFolio<'_>, k: usize, extent: &Extent) -> Result {
        let block = extent.block(&self.geometry);
        self.with_buffer(block, |inode, buffer| {
            read_packed_from(inode, folio, k, extent, buffer)
        })
    }

    /// Calls `f` with the buffer of disk block `block`: the one kept from
    /// the last packed block read if it is that block's, else read (and
    /// kept in its place for the next).
    fn with_buffer(&mut self, block: u32, f: impl FnOnce(&Inode, &Buffer) -> Result) -> Result {
        let buffer = match self.packed.take() {
            Some((last, buffer)) if last == block => buffer,
            _ => Buffer::read(self.inode.sb(), block)?,
        };
        let result = f(self.inode, &buffer);
        self.packed = Some((block, buffer));
        result
    }

    /// Block `k` of the locked `folio` from the packed tail at `place`
    /// of tail block `block` (`tails::read_tail_from`), with the buffer
    /// kept as for [`Self::read_packed`].
    fn read_tail(
        &mut self,
        folio: &LockedFolio<'_>,
        k: usize,
        block: u32,
        place: TailPlace,
    ) -> Result {
        self.with_buffer(block, |inode, buffer| {
            read_tail_from(inode, folio, k, place, buffer)
        })
    }

    /// `read_folio`'s work on each block, under the read's bias;
    /// `failed_first` is the error of the lookup of the folio's first
    /// block if [`Self::read_whole`] met one.
    fn fill(
        &mut self,
        folio: &LockedFolio<'_>,
        state: &FolioState,
        failed_first: Option<Error>,
    ) -> Result {
        let geometry = self.geometry;
        let shift = geometry.block_shift();
        let block_size = geometry.block_bytes();
        let blocks = state.blocks();
        let first = folio.pos() >> shift;
        let size = self.inode.size();
        let inside = geometry.blocks_for(size).saturating_sub(first);
        let mut failed = None;
        let mut k = 0;
        if let Some(err) = failed_first {
            // As a failed lookup below: that block only.
            failed = Some(err);
            k = 1;
        }
        while k < blocks {
            if state.is_uptodate(k, 1) {
                k += 1;
                continue;
            }
            let n = first + k as u64;
            if k as u64 >= inside {
                // Past the end of the file: zeros to the end of the folio.
                folio.mvc(
                    k * block_size,
                    (blocks - k) * block_size,
                    Op::Zero.nodirty(),
                )?;
                state.set_uptodate(k, blocks - k);
                break;
            }
            let mut todo = 1;
            while k + todo < blocks
                && ((k + todo) as u64) < inside
                && !state.is_uptodate(k + todo, 1)
            {
                todo += 1;
            }
            let run = match self.run_at(n, todo as u64, inside - k as u64) {
                Ok(run) => run,
                Err(err) => {
                    // A damaged pointer fails its block only: the other
                    // blocks of a large folio are still read, and `read`
                    // finds them uptodate (`is_partially_uptodate`).
                    failed = failed.or(Some(err));
                    k += 1;
                    continue;
                }
            };
            // CAST: at most `todo`, a block count of the folio.
            let count = run.count() as usize;
            match run {
                Run::Hole { .. } => {
                    folio.mvc(k * block_size, count * block_size, Op::Zero.nodirty())?;
                    state.set_uptodate(k, count);
                }
                Run::Data { first: block, .. } => {
                    let eof_in_run =
                        (k + count) as u64 == inside && geometry.offset_in_block(size) != 0;
                    // The end-of-file block is read apart, to ZERO its
                    // bytes past the end of the file.
                    let whole = count - usize::from(eof_in_run);
                    if whole > 0 {
                        state.add_read(whole * block_size);
                        self.batch
                            .add(folio, k * block_size, whole * block_size, block);
                    }
                    if eof_in_run {
                        let last = k + whole;
                        // CAST: `whole` is below the run's length.
                        read_block(self.inode, folio, last, block + whole as u32)?;
                        state.set_uptodate(last, 1);
                    }
                }
                // A tail or a compressed block, through the buffer cache;
                // damaged, it fails its block only, as a bad pointer.
                Run::Packed { extent } => match self.read_packed(folio, k, &extent) {
                    Ok(()) => {
                        state.set_uptodate(k, 1);
                    }
                    Err(err) => failed = failed.or(Some(err)),
                },
                // A packed tail, likewise.
                Run::Tail { block, place } => match self.read_tail(folio, k, block, place) {
                    Ok(()) => {
                        state.set_uptodate(k, 1);
                    }
                    Err(err) => failed = failed.or(Some(err)),
                },
            }
            k += count;
        }
        failed.map_or(Ok(()), Err)
    }
}

/// What [`Reader::read_whole`] did with a folio.
enum Whole {
    /// Under way by bio; the completion ends the read.
    Submitted,
    /// Filled by vm_mvc (zeros, or a packed block's bytes) and uptodate;
    /// the caller ends the read.
    Filled,
    /// Nothing: the folio needs per-block state.
    Partly,
}

/// Why [`Reader::read_whole`] failed.
enum Failure {
    /// The lookup of the folio's first block.
    Lookup(Error),
    /// Filling the folio: vm_mvc, or reading or decompressing its
    /// packed block.
    Fill(Error),
}

/// Reads block `k` of the locked `folio` of `inode` from disk block
/// `block`, and waits; of the file's last block, ZEROes the bytes past the
/// end of the file (which an older writer, or a damaged image, may have
/// left non-zero on disk).
pub(crate) fn read_block(inode: &Inode, folio: &LockedFolio<'_>, k: usize, block: u32) -> Result {
    let geometry = inode.sb().info().geometry;
    let block_size = geometry.block_bytes();
    let offset = k * block_size;
    read_and_wait(inode.sb(), folio, offset, block_size, block)?;
    let start = folio.pos() + offset as u64;
    let valid = inode.size().saturating_sub(start).min(block_size as u64) as usize;
    if valid < block_size {
        folio.mvc(offset + valid, block_size - valid, Op::Zero.nodirty())?;
    }
    Ok(())
}
