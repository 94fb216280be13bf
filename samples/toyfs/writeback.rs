// SPDX-License-Identifier: GPL-2.0

//! Writeback: the dirty blocks of each folio inside the file go by bio
//! straight from the folio to the device, a run of blocks contiguous on
//! disk in one bio, also across folios.  Blocks that are not dirty are not
//! written; bytes past the end of the file are zeroed in the folio first.
//! A file with the compressed flag (LZ4) has each dirty block compressed
//! on its own into the first fragments of its run when that saves a
//! fragment (`packed::write_compressed`), and written plain otherwise.

use crate::{
    format::geometry::Geometry,
    format::inode::FLAG_COMPRESSED,
    inode::{BlockMap, Run},
    packed::{write_compressed, write_packed},
    vfs::{BioBatch, Direction, FolioState, Inode, LockedFolio, PAGE_SIZE},
    vm_mvc_client::Op,
};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// One writeback pass over a file's dirty folios.
pub(crate) struct Writer<'a> {
    inode: &'a Inode,
    geometry: Geometry,
    batch: BioBatch<'a>,
    /// The last run of blocks mapped, for the folios that follow: the
    /// map's generation and the filesystem's count of frees
    /// (`SbInfo::frees`) then, its first file block, first disk block and
    /// length.  A folio is locked when its blocks are looked up here, and
    /// freeing blocks of this file bumps the generation first, so a
    /// remembered run that still has the current generation names blocks
    /// this file still holds; as for the map's own run
    /// (`InodeInfo::last_run`), a free anywhere in the filesystem makes it
    /// stale too: on a damaged image another file may name the same
    /// blocks, or an indirect block above them, and free them, and the
    /// pass is not to write this file's bytes into a block now free (or
    /// soon another file's), so the run is looked up and checked again.
    cached: Option<(u64, u64, u64, u32, u64)>,
}

/// What became of a folio given to [`Writer::write_folio`].
pub(crate) enum Outcome {
    /// Under writeback, or written already.
    Written,
    /// Nothing was written and the folio is to be dirtied again (no
    /// memory: nothing is lost).
    Redirty,
}

impl<'a> Writer<'a> {
    /// A writeback pass over `inode`.
    pub(crate) fn new(inode: &'a Inode) -> Self {
        let sb = inode.sb();
        Self {
            inode,
            geometry: sb.info().geometry,
            batch: BioBatch::new(sb, Direction::Write),
            cached: None,
        }
    }

    /// Where dirty file blocks `n..n + todo` (inside the file; `ahead`
    /// more may be mapped for the folios to come) go: the first disk block
    /// and how many are contiguous from it, or, for a hole, how many
    /// blocks it spans.
    fn map(&mut self, n: u64, todo: u64, ahead: u64) -> Result<Run> {
        let generation = self.inode.info().map_generation.load(Ordering::Acquire);
        // Read before the lookup below, as `BlockMap::lookup_remembered`
        // does: a free after it leaves the run remembered stale.
        let frees = self.inode.sb().info().frees.load(Ordering::Acquire);
        if let Some((cached_generation, cached_frees, start, first, count)) = self.cached {
            if cached_generation == generation
                && cached_frees == frees
                && (start..start + count).contains(&n)
            {
                let skip = n - start;
                return Ok(Run::Data {
                    // CAST: `skip` is below a run's length, a block count.
                    first: first + skip as u32,
                    count: (count - skip).min(todo),
                });
            }
        }
        let map = BlockMap::lock(self.inode)?;
        let generation = map.generation();
        Ok(match map.lookup_run(n, todo.max(ahead.min(256)))? {
            Run::Data { first, count } => {
                self.cached = Some((generation, frees, n, first, count));
                Run::Data {
                    first,
                    count: count.min(todo),
                }
            }
            Run::Hole { count } => Run::Hole {
                count: count.min(todo),
            },
            run @ (Run::Packed { .. } | Run::Tail { .. }) => run,
        })
    }

    /// Writes the dirty blocks of `folio`, locked by `writeback_iter` with
    /// its dirty bit cleared; the caller unlocks it.
    pub(crate) fn write_folio(&mut self, folio: &LockedFolio<'_>) -> Result<Outcome> {
        let size = self.inode.size();
        if folio.pos() >= size {
            // Wholly past the end (a truncation is under way): nothing to
            // write, and truncation removes it.
            return Ok(Outcome::Written);
        }
        let shift = self.geometry.block_shift();
        let state = match folio.state_or_attach_for_writeback(shift) {
            Ok(state) => state,
            Err(err) if err == ENOMEM => return Ok(Outcome::Redirty),
            Err(err) => return Err(err),
        };
        let inside = self
            .geometry
            .blocks_for(size - folio.pos())
            .min(state.blocks() as u64) as usize;
        zero_past_eof(folio, size);
        // Blocks past the end of the file are not written.
        state.clear_dirty(inside, state.blocks() - inside);
        state.begin_write();
        folio.start_writeback();
        let result = self.write_dirty(folio, state, inside);
        if state.finish_write(1) {
            folio.end_writeback();
        }
        match result {
            Err(err) if err == ENOMEM => Ok(Outcome::Redirty),
            Err(err) => Err(err),
            Ok(()) => Ok(Outcome::Written),
        }
    }

    /// Adds the dirty blocks among the first `inside` of `folio` to the
    /// batch, clearing their dirty bits.  A hole among them stays a hole
    /// and clean, as iomap's writeback skips holes: its bytes are zeros no
    /// store made, since every path that stores into a hole allocates it
    /// first (`write_begin`, `page_mkwrite`), and a folio is dirtied as a
    /// whole (a store through a mapping, a folio without block state).
    /// On error, the blocks not yet under way stay dirty.
    fn write_dirty(
        &mut self,
        folio: &LockedFolio<'_>,
        state: &FolioState,
        inside: usize,
    ) -> Result {
        let block_size = self.geometry.block_bytes();
        let shift = self.geometry.block_shift();
        let first = folio.pos() >> shift;
        let compress = self.geometry.has_compression()
            && BlockMap::lock(self.inode)?.flags() & FLAG_COMPRESSED != 0;
        let mut k = 0;
        while k < inside {
            if !state.is_dirty(k) {
                k += 1;
                continue;
            }
            let mut todo = 1;
            while k + todo < inside && state.is_dirty(k + todo) {
                todo += 1;
            }
            let n = first + k as u64;
            // A compressed file's blocks are not looked up ahead: each
            // block compressed frees blocks (`BlockMap::replace_run`),
            // which makes the run remembered stale at once, and looking
            // 256 pointers ahead for every block, each checked against
            // the bitmap, was a sixth of a sequential compressed write
            // (Documentation/performance.rst, "the write row").
            let ahead = if compress {
                0
            } else {
                self.geometry
                    .blocks_for(self.inode.size())
                    .saturating_sub(n)
            };
            let run = self.map(n, todo as u64, ahead)?;
            // CAST: at most `todo`, a block count of the folio.
            let count = run.count() as usize;
            match run {
                Run::Data { first: block, .. } if compress => {
                    // One block at a time, each compressed if it shrinks;
                    // a block written plain joins the batch's bio.
                    let whole = self.geometry.whole_block(block);
                    if !write_compressed(self.inode, folio, k, n, &whole)? {
                        state.add_write(block_size);
                        self.batch.add(folio, k * block_size, block_size, block);
                    }
                    state.clear_dirty(k, 1);
                    k += 1;
                    continue;
                }
                Run::Data { first: block, .. } => {
                    state.clear_dirty(k, count);
                    state.add_write(count * block_size);
                    let (offset, len) = (k * block_size, count * block_size);
                    if k + count < state.blocks() {
                        // The folio's next block is not written (clean,
                        // past the end, or elsewhere on disk): nothing
                        // joins this bio but this folio's blocks.
                        self.batch.add_last(folio, offset, len, block);
                    } else {
                        // Later folios join it up to the end of the file
                        // at most, each in one segment: at most a page's
                        // blocks each.
                        let after = ahead.saturating_sub(count as u64) << shift;
                        let following = after.div_ceil(PAGE_SIZE as u64);
                        self.batch.add_before(folio, offset, len, block, following);
                    }
                }
                // A packed tail is never dirty: it leaves its tail block
                // before the file can change (`tails::unpack`).
                Run::Tail { .. } => return Err(EIO),
                Run::Packed { extent } => {
                    // Copied to the buffer cache now; on error the block
                    // stays dirty.  A compressed run is dirty only if its
                    // folio was dirtied without `page_mkwrite`: it is
                    // stored compressed again if that fits, else given a
                    // plain run here (`write_unpacked`).
                    let packed = (compress || extent.compressed)
                        && write_compressed(self.inode, folio, k, n, &extent)?;
                    if !packed && extent.compressed {
                        self.write_unpacked(folio, state, k, n)?;
                    } else if !packed {
                        write_packed(self.inode, folio, k, &extent)?;
                    }
                    state.clear_dirty(k, 1);
                }
                Run::Hole { .. } => state.clear_dirty(k, count),
            }
            k += count;
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// Writes dirty block `k` (file block `n`) of `folio`, stored
    /// compressed, whose bytes no longer fit its compressed run: it gets
    /// the plain run a file of its size needs there now
    /// (`BlockMap::set_run`, which may allocate: `ENOSPC`, reported as the
    /// writeback's error), and is written to it, by bio for a whole block
    /// (in the batch), else into the buffer cache (`write_packed`).
    ///
    /// Every path of toyfs that dirties a compressed block gives it a
    /// plain run first (`write::unpack`), but a pinned page is dirtied
    /// behind the filesystem's back: `pin_user_pages(FOLL_WRITE)` (an
    /// `O_DIRECT` read into a shared mapping of the file) faults into
    /// `page_mkwrite` once; a writeback meanwhile cleans the folio and
    /// compresses the block, and the pin's holder then stores into the
    /// page and dirties it on `unpin_user_pages_dirty_lock`, with no
    /// fault.  Such a block used to be refused (`EUCLEAN`, "dirty block
    /// in a run too short for its bytes") and its bytes lost once the
    /// folio, left clean, was evicted (review rev7).  ext4 warns and
    /// drops the dirty state of such a folio
    /// (`mpage_prepare_extent_to_map`); toyfs writes it.
    fn write_unpacked(
        &mut self,
        folio: &LockedFolio<'_>,
        state: &FolioState,
        k: usize,
        n: u64,
    ) -> Result {
        let geometry = self.geometry;
        let length = geometry.file_block_length(self.inode.size(), n);
        let new = {
            let mut map = BlockMap::lock(self.inode)?;
            map.set_run(n, geometry.fragments_for(length))?;
            map.lookup_extent(n)?.ok_or(EINVAL)?
        };
        if new.is_whole_block(&geometry) {
            let block_size = geometry.block_bytes();
            state.add_write(block_size);
            self.batch
                .add(folio, k * block_size, block_size, new.block(&geometry));
            Ok(())
        } else {
            write_packed(self.inode, folio, k, &new)
        }
    }
}

/// ZEROes the bytes of `folio` past the end of a file of `size` bytes,
/// leaving the folio's dirty state alone (`VM_MVC_NODIRTY`): mmap may have
/// stored there, and those bytes must neither reach the disk nor be seen
/// by a later mapper (as `block_write_full_folio` and
/// `iomap_writeback_handle_eof` do).
fn zero_past_eof(folio: &LockedFolio<'_>, size: u64) {
    let end = folio.pos() + folio.size() as u64;
    if size >= end {
        return;
    }
    // CAST: an offset in the folio.
    let offset = (size - folio.pos()) as usize;
    // A locked folio and a range inside it: vm_mvc has nothing to refuse.
    let _ = folio.mvc(offset, folio.size() - offset, Op::Zero.nodirty());
}
