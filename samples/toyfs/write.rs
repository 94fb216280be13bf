// SPDX-License-Identifier: GPL-2.0

//! Writing file data into the page cache: `write_begin` and `write_end`
//! of buffered writes, and `page_mkwrite` of shared mappings.
//!
//! A write allocates the holes it covers (all or none), reads only the
//! blocks it covers in part and that are not uptodate, and has vm_mvc
//! ZERO what it leaves of a block it allocated (the block is written
//! whole at writeback, so it is never read nor zeroed on disk).  The
//! blocks it covers become uptodate and dirty one by one, in the folio's
//! state.

use crate::{
    format::{address::Extent, geometry::Geometry},
    inode::{BlockMap, Fresh, Run},
    packed::read_packed,
    read::read_block,
    vfs::{
        lock_cached_folio, pagecache_isize_extended, toyfs_err, with_folio, FolioState, Inode,
        LockedFolio, MAX_FOLIO_BLOCKS, PAGE_SIZE,
    },
    vm_mvc_client::Op,
};
use core::{ops::Range, sync::atomic::Ordering};
use kernel::prelude::*;

/// A growth of a file under way, from before its last block gets the run
/// the new size needs there (`grow_tail`, `unpack`) until `i_size` has
/// grown (`InodeInfo::growing`): meanwhile writeback stores the block
/// holding the end of the file plain (`packed::write_compressed`), in the
/// run it has (which holds the bytes of either size), never compressed
/// by the old size, which would leave a block before the last recording
/// fewer bytes than the file has there.  Ends when dropped.
pub(crate) struct Growth<'a>(&'a Inode);

impl<'a> Growth<'a> {
    /// Notes a growth of `inode` until the guard is dropped (or
    /// [`Growth::end`] is called, for `write_begin` to `write_end`).
    pub(crate) fn begin(inode: &'a Inode) -> Self {
        Self::note(inode);
        Self(inode)
    }

    /// Notes a growth of `inode` that [`Growth::end`] ends.  Only on an
    /// image with LZ4 (fixed at mkfs time, so `end` skips it likewise):
    /// only writeback that compresses reads the count
    /// (`packed::write_compressed`), and taking the map's lock twice per
    /// appending write for nothing was part of toyfs's own cost per
    /// append (Documentation/performance.rst, "Appends: one walk, the
    /// last run remembered").
    pub(crate) fn note(inode: &Inode) {
        if !inode.sb().info().geometry.has_compression() {
            return;
        }
        let _map = inode.info().map.lock();
        inode.info().growing.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends a growth of `inode` noted by [`Growth::note`], once `i_size`
    /// has grown (or the growth failed): under the map's lock, so that a
    /// writeback that finds no growth under it reads the new size.
    pub(crate) fn end(inode: &Inode) {
        if !inode.sb().info().geometry.has_compression() {
            return;
        }
        let _map = inode.info().map.lock();
        inode.info().growing.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Growth<'_> {
    fn drop(&mut self) {
        Self::end(self.0);
    }
}

/// The blocks of a folio that bytes `from..to` of it touch.
fn blocks_touched(geometry: &Geometry, from: usize, to: usize) -> Range<usize> {
    let shift = geometry.block_shift();
    from >> shift..(to + geometry.block_bytes() - 1) >> shift
}

/// Bytes `from..to` of a locked folio that a buffered write covers, with
/// their bounds proved once, where `write_begin` and `write_end` get
/// them from the VFS ([`FolioBytes::clipped`], [`FolioBytes::exact`]):
/// inside the folio, whose size is below 4 GiB (toyfs's folios hold at
/// most `MAX_FOLIO_BLOCKS` blocks).  Carried as `u32`, so that the block
/// and byte arithmetic on them (`to + block_size - 1`, `k * block_size`,
/// the file block `first + k`, `from + copied`) cannot overflow, and the
/// compiler, which sees the bound, needs no overflow branch for it.
#[derive(Clone, Copy)]
pub(crate) struct FolioBytes {
    // INVARIANT: `from <= to <= folio.size() <= u32::MAX`.
    from: u32,
    to: u32,
}

impl FolioBytes {
    /// Bytes `pos..pos + len` of `folio`, cut at its end (the VFS asks
    /// `write_begin` for bytes that may run past the folio it gets):
    /// `EINVAL` if `pos` is not in the folio.
    pub(crate) fn clipped(folio: &LockedFolio<'_>, pos: u64, len: usize) -> Result<Self> {
        let size = u32::try_from(folio.size()).map_err(|_| EINVAL)?;
        let from = pos
            .checked_sub(folio.pos())
            .and_then(|from| u32::try_from(from).ok())
            .filter(|&from| from < size)
            .ok_or(EINVAL)?;
        // Saturating: `len` may be any `usize` (`zero_post_eof`, for a
        // truncation that extends the file and for `fallocate`, passes
        // the bytes up to the new size), cut at the folio's end.
        let to = u64::from(from)
            .saturating_add(len as u64)
            .min(u64::from(size));
        // CAST: at most `size`.
        Ok(Self {
            from,
            to: to as u32,
        })
    }

    /// Bytes `pos..pos + len` of `folio`, all of them in it (`write_end`
    /// gets what `write_begin` returned): `EINVAL` if they are not.
    pub(crate) fn exact(folio: &LockedFolio<'_>, pos: u64, len: usize) -> Result<Self> {
        let bytes = Self::clipped(folio, pos, len)?;
        if bytes.len() != len {
            return Err(EINVAL);
        }
        Ok(bytes)
    }

    /// The first byte's offset in the folio.
    #[inline]
    pub(crate) fn from(self) -> usize {
        self.from as usize
    }

    /// The offset just past the last byte.
    #[inline]
    pub(crate) fn to(self) -> usize {
        self.to as usize
    }

    /// How many bytes.
    #[inline]
    pub(crate) fn len(self) -> usize {
        // OVERFLOW: `from <= to`.
        self.to.wrapping_sub(self.from) as usize
    }
}

/// `write_begin` for `len` bytes at `pos` of `folio`: allocates the holes
/// the write covers (all or none, `ENOSPC`), ZEROes what it leaves of the
/// new blocks, and reads the blocks it covers in part.
///
/// `pos` is the file offset of byte `bytes.from()` of `folio`, `bytes`
/// proved inside it ([`FolioBytes::clipped`]).
pub(crate) fn prepare_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    bytes: FolioBytes,
) -> Result {
    if bytes.len() == 0 {
        return Ok(());
    }
    let geometry = inode.sb().info().geometry;
    let shift = geometry.block_shift();
    let block_size = geometry.block_bytes();
    let state = folio.state_or_attach(shift)?;
    let (from, to) = (bytes.from(), bytes.to());
    // Not empty; offsets below `2^32`, so blocks below `2^24`.
    let blocks = blocks_touched(&geometry, from, to);
    let first = folio.pos() >> shift;
    let mut map = {
        let mut map = BlockMap::lock(inode)?;
        map.allocate(
            first + blocks.start as u64..first + blocks.end as u64,
            inode.size().max(pos + bytes.len() as u64),
            Fresh::Unwritten,
            // CAST: a block of this folio (`allocate` calls it for the
            // range's blocks only, at or past `first`).
            |n| state.set_new(n.wrapping_sub(first) as usize, 1),
        )?;
        map
    };
    // Only the first and the last block can be covered in part.  The
    // last is `blocks.end - 1`: `blocks` is not empty.
    let edges = [blocks.start, blocks.end.wrapping_sub(1)];
    for (i, &k) in edges.iter().enumerate() {
        if i == 1 && edges[0] == edges[1] {
            break;
        }
        let (start, end) = (k * block_size, (k + 1) * block_size);
        if (from <= start && to >= end) || state.is_uptodate(k, 1) {
            continue;
        }
        if state.is_new(k) {
            if from > start {
                folio.mvc(start, from - start, Op::Zero.nodirty())?;
            }
            if to < end {
                folio.mvc(to, end - to, Op::Zero.nodirty())?;
            }
            continue;
        }
        match map.lookup_run(first + k as u64, 1)? {
            // Past the end of the file, where nothing is stored: zeros.
            Run::Hole { .. } => folio.mvc(start, block_size, Op::Zero.nodirty())?,
            Run::Data { first: block, .. } => read_block(inode, folio, k, block)?,
            // A tail, through the buffer cache.
            Run::Packed { extent } => read_packed(inode, folio, k, &extent)?,
            // Moved out before the file was opened for writing
            // (`tails::unpack`): never here.
            Run::Tail { .. } => return Err(EIO),
        }
        state.set_uptodate(k, 1);
    }
    if geometry.has_compression() {
        let size = inode.size().max(pos + bytes.len() as u64);
        for k in blocks {
            unpack(&mut map, inode, folio, state, k, size)?;
        }
    }
    Ok(())
}

/// Before block `k` of the locked `folio` of `inode` is dirtied, with
/// `map` locked: if the map stores it compressed, it is read (if not
/// uptodate: a write may cover it whole and still copy short), given a
/// plain run of the fragments a file of `size` bytes needs there
/// (`BlockMap::set_run`: the start of its run, or a new run, `ENOSPC`)
/// and marked dirty.  Writeback never needs room: it compresses a dirty
/// block into fewer fragments than its plain run and frees that run (or
/// its rest), so every path that dirties a block makes sure its run
/// holds it plain (Documentation/toyfs.rst, "Compression").
pub(crate) fn unpack(
    map: &mut BlockMap<'_>,
    inode: &Inode,
    folio: &LockedFolio<'_>,
    state: &FolioState,
    k: usize,
    size: u64,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let shift = geometry.block_shift();
    let n = (folio.pos() >> shift) + k as u64;
    let length = geometry.file_block_length(size, n);
    let extent = match map.lookup_run(n, 1)? {
        Run::Packed { extent } if extent.compressed && length > 0 => extent,
        _ => return Ok(()),
    };
    if !state.is_uptodate(k, 1) {
        read_packed(inode, folio, k, &extent)?;
        if state.set_uptodate(k, 1) {
            folio.mark_uptodate();
        }
    }
    map.set_run(n, geometry.fragments_for(length))?;
    state.set_dirty(k, 1);
    folio.mark_dirty();
    Ok(())
}

/// Runs `attempt`, and once more after an `ENOSPC` if writeback may
/// make the room (as btrfs flushes delalloc on `ENOSPC`, and ext4 commits
/// its journal, `ext4_should_retry_alloc`):
///
/// - on an image with LZ4 (or with runs moved out of the file's map
///   kept allocated until the map is on the disk,
///   `InodeInfo::deferred`), the file is written back and waited for
///   and its inode written, which frees those runs
///   (`inode::write_deferred`): its dirty blocks hold whole plain runs
///   (`unpack`, new blocks) until writeback compresses them and frees
///   what they do not need.  Should that writeback fail, the `ENOSPC`
///   stands;
/// - then, while other files hold runs kept allocated so
///   (`SbInfo::held_runs`: a tail moved, a block compressed, their
///   inodes not written since), and always on an image with LZ4, the
///   filesystem's dirty inodes are written back
///   (`SuperBlock::write_back_inodes`), whose `write_inode` frees the
///   held runs (`inode::write_inode`, which writes and waits for an
///   inode holding runs whoever asks) and whose compression frees what
///   the other files' new blocks do not need: those hold whole plain
///   runs until writeback compresses them, and runs allocated since
///   their inode was stored (`InodeInfo::fresh`) are freed at once, not
///   held, so `held_runs` does not count that room (review 2026-12-06:
///   a write failed with `ENOSPC` where `sync` and the same write
///   succeeded).  Without LZ4 and without held runs an `ENOSPC` writes
///   no other file: a full image stays as cheap to fail on as before.
///
/// For `write_begin`, `page_mkwrite`, a truncation and the edges of a
/// punched hole alike; called with no folio locked (writeback locks
/// them) and no lock that writeback takes (the inode's lock and its
/// `invalidate_lock` are not among them), and `attempt` must leave
/// nothing done that it does not redo when run again.
pub(crate) fn retry_after_writeback<T>(
    inode: &Inode,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let err = match attempt() {
        Err(err) if err == ENOSPC => err,
        result => return result,
    };
    let sb = inode.sb();
    let own = sb.info().geometry.has_compression() || !inode.info().deferred.lock().is_empty();
    if own {
        inode.write_and_wait().map_err(|_| err)?;
        // What writeback moved out of the map (the plain runs of the
        // blocks it compressed) is freed once the map is on the disk.
        crate::inode::write_deferred(inode).map_err(|_| err)?;
    }
    // Other files' held runs, read after this file's are freed, and
    // with LZ4 their blocks not compressed yet.
    let others = (sb.info().geometry.has_compression()
        || sb.info().held_runs.load(Ordering::Relaxed) > 0)
        && sb.write_back_inodes();
    if own || others {
        attempt()
    } else {
        Err(err)
    }
}

/// The blocks of one folio that its `write_begin` allocated (the
/// folio state's new blocks, `FolioState::is_new`), as file blocks:
/// what [`after_write`] gives back past the end of the file if the write
/// fell short of them.  Blocks of the range that were there before (a
/// preallocation past the end, `fallocate` with `KEEP_SIZE`) are not
/// among them and stay.
#[derive(Clone, Copy, Default)]
pub(crate) struct NewInFolio {
    /// The folio's first file block.
    first: u64,
    /// Block `k` of the folio as bit `k % 64` of word `k / 64`.
    bits: [u64; MAX_FOLIO_BLOCKS.div_ceil(64)],
}

impl NewInFolio {
    /// The new blocks of the locked `folio`, whose state is `state`, read
    /// before `clear_new`.
    fn of(folio: &LockedFolio<'_>, state: &FolioState) -> Self {
        if !state.has_new() {
            return Self::default();
        }
        Self {
            first: folio.pos() >> state.block_shift(),
            // The state's own words, in the same layout.
            bits: state.new_words(),
        }
    }

    /// Whether there are any.
    fn any(&self) -> bool {
        self.bits.iter().any(|&word| word != 0)
    }

    /// Whether file block `n` is one of them.
    fn contains(&self, n: u64) -> bool {
        match n.checked_sub(self.first) {
            // CAST: below `MAX_FOLIO_BLOCKS`.
            Some(k) if k < MAX_FOLIO_BLOCKS as u64 => {
                self.bits[k as usize / 64] >> (k % 64) & 1 != 0
            }
            _ => false,
        }
    }
}

/// `write_begin` failed after allocating blocks (an I/O error reading an
/// edge, an allocation failing part-way): each new block of `folio`
/// becomes zeros, uptodate and dirty, as `folio_zero_new_buffers` does, so
/// that what its disk block held before is never read as file data; the
/// caller frees those past the end of the file.
pub(crate) fn abandon_new_blocks(folio: &LockedFolio<'_>) -> NewInFolio {
    let Some(state) = folio.state() else {
        return NewInFolio::default();
    };
    let new = NewInFolio::of(folio, state);
    let block_size = 1usize << state.block_shift();
    let mut dirtied = false;
    for k in 0..state.blocks() {
        if !state.is_new(k) {
            continue;
        }
        // A locked folio and a range inside it: vm_mvc has nothing to
        // refuse.
        if folio
            .mvc(k * block_size, block_size, Op::Zero.nodirty())
            .is_ok()
        {
            if state.set_uptodate(k, 1) {
                folio.mark_uptodate();
            }
            state.set_dirty(k, 1);
            dirtied = true;
        }
    }
    state.clear_new();
    if dirtied {
        folio.mark_dirty();
    }
    new
}

/// `write_end`: `copied` of `len` bytes at `pos` reached `folio`.
/// Returns the bytes accepted, the file growing to cover them (`i_size`
/// under the folio lock, as `generic_write_end`), and the blocks its
/// `write_begin` allocated, for [`after_write`].
pub(crate) fn finish_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    len: usize,
    copied: usize,
) -> (usize, NewInFolio) {
    let geometry = inode.sb().info().geometry;
    let block_size = geometry.block_bytes();
    let Some(state) = folio.state() else {
        return (0, NewInFolio::default());
    };
    // The bytes `write_begin` returned the folio for: inside it, proved
    // once ([`FolioBytes`]).  The VFS passes the same `pos` and `len` as to
    // `write_begin`, which proved them, and never copies more than `len`.
    let Ok(bytes) = FolioBytes::exact(folio, pos, len) else {
        return (0, NewInFolio::default());
    };
    let new = NewInFolio::of(folio, state);
    // An overwrite allocated nothing: no new block to walk over below.
    let has_new = new.any();
    let (from, to, len) = (bytes.from(), bytes.to(), bytes.len());
    let copied = copied.min(len);
    let mut accepted = copied;
    if copied < len {
        // A block the copy stopped inside keeps its other bytes only if
        // they were valid already (read, or zeroed as new).
        let stop = from + copied;
        let k = stop / block_size;
        if stop % block_size != 0 && !state.is_uptodate(k, 1) && !state.is_new(k) {
            accepted = (k * block_size).saturating_sub(from);
        }
        // The rest of a new block becomes zeros: it is written whole.
        for k in blocks_touched(&geometry, from, to) {
            if state.is_new(k) {
                let start = (k * block_size).max(from + accepted);
                let end = ((k + 1) * block_size).min(to);
                if start < end && folio.mvc(start, end - start, Op::Zero.nodirty()).is_err() {
                    // vm_mvc cannot fail on a locked folio with a valid
                    // range; should it, the block stays as it was.
                    toyfs_err!("inode {}: zeroing a new block failed\n", inode.ino());
                }
            }
        }
    }
    // Valid now, and dirty: the blocks the accepted bytes touched (inner
    // ones written whole, the edges read or new), and each new block (its
    // bytes written or zeroed).  Not the blocks between them: after a
    // short copy, a block the write covered whole but the copy never
    // reached was neither read nor written (a hull of the two sets made
    // its stale folio bytes file data).
    let written = if accepted == 0 {
        0..0
    } else {
        blocks_touched(&geometry, from, from + accepted)
    };
    let mut dirtied = false;
    let mut all_uptodate = false;
    let mut validate = |first: usize, count: usize| {
        all_uptodate = state.set_uptodate(first, count);
        state.set_dirty(first, count);
        dirtied = true;
    };
    if !written.is_empty() {
        validate(written.start, written.len());
    }
    if has_new {
        for k in blocks_touched(&geometry, from, to) {
            if state.is_new(k) && !written.contains(&k) {
                validate(k, 1);
            }
        }
        state.clear_new();
    }
    if all_uptodate {
        folio.mark_uptodate();
    }
    if dirtied {
        folio.mark_dirty();
    }
    let end = pos + accepted as u64;
    if accepted > 0 && end > inode.size() {
        inode.set_size(end);
    }
    (accepted, new)
}

/// After `write_end` unlocked the folio: a file that grew from `old_size`
/// through a write at `pos` gets its inode dirtied (not under the folio
/// lock: `__mark_inode_dirty` may write the inode) and the bytes between
/// the old end and the write zeroed ([`size_extended`]); blocks that
/// `write_begin` allocated past the end of the file (`new`) are freed if
/// the write, up to `end`, fell short of them, as the format allows no
/// block past the end but a preallocated one, and so are the fragments
/// of a tail it grew (`grown`: [`grow_tail`] for more than the folio it
/// got, which may end before the tail) that the size does not need
/// ([`trim_tail`]: only frees).  Only those new blocks are freed (and
/// the indirect blocks they leave empty): blocks preallocated
/// (`fallocate` with `KEEP_SIZE`) inside the write's range and past it
/// stay, as a failed write keeps the preallocation on XFS
/// (`xfs_file_buffered_write` punches only the delalloc blocks it
/// reserved).  The write stands whatever happens here, as after ext2's
/// failed writes (`ext2_write_failed`): an error (an indirect block that
/// cannot be read) is logged, and the blocks it kept are fsck.toyfs's to
/// find.
pub(crate) fn after_write(
    inode: &Inode,
    old_size: u64,
    pos: u64,
    end: u64,
    grown: bool,
    new: &NewInFolio,
) {
    let size = inode.size();
    if size > old_size {
        size_extended(inode, old_size, pos.min(size));
        inode.mark_dirty();
    }
    if end > size || grown {
        let geometry = inode.sb().info().geometry;
        // The blocks `write_begin` may have allocated past the new end.
        let past = geometry.blocks_for(size).max(geometry.block_of(pos))..geometry.blocks_for(end);
        let freed = BlockMap::lock(inode)
            .and_then(|mut map| {
                let mut n = past.start;
                while n < past.end {
                    if !new.contains(n) {
                        n += 1;
                        continue;
                    }
                    let start = n;
                    while n < past.end && new.contains(n) {
                        n += 1;
                    }
                    map.free_range(start..n)?;
                }
                Ok(())
            })
            .and_then(|()| trim_tail(inode, size));
        if let Err(err) = freed {
            toyfs_err!(
                "inode {}: freeing after a short write: {:?}\n",
                inode.ino(),
                err
            );
        }
    }
}

/// With FRAGMENTS, before a file of `from` bytes grows to `to` (a write,
/// a truncation up, `fallocate`): its last block, if a tail, gets the
/// fragments the new size needs there, a whole block if the file grows
/// past it, as UFS reallocates fragments (`BlockMap::set_run`).  Its
/// bytes come from the folio, read if need be, and reach the new run at
/// writeback (the block is marked dirty).  Called with no folio of the
/// file locked.  Returns what became of the last block: a hole has no
/// run to grow, and a store through a mapping may give it one for the
/// old size until `i_size` grows ([`Refitted::Hole`]).
pub(crate) fn grow_tail(inode: &Inode, from: u64, to: u64) -> Result<Refitted> {
    let geometry = inode.sb().info().geometry;
    let tail = geometry.offset_in_block(from);
    if !geometry.has_fragments() || to <= from || tail == 0 {
        return Ok(Refitted::Unchanged);
    }
    let start = from - tail;
    let want = if to >= start + u64::from(geometry.block_size()) {
        geometry.fragments_per_block()
    } else {
        // CAST: below a block.
        geometry.fragments_for((to - start) as u32)
    };
    reallocate_tail(inode, geometry.block_of(from), want, Refit::Grow)
}

/// With FRAGMENTS, after a short write or a failed `fallocate` that
/// allocated for more than the file's `size` bytes (which did not go
/// down): its last block, if a plain run of more fragments than its bytes
/// need, keeps only those (as a truncation down does,
/// `file::cut_last_block`).  A compressed last block is
/// left as it is: writeback compressed it at this size, into fewer
/// fragments than the plain run.  Only frees, so never fails for want of
/// room (as ext2 only frees after a failed write, `ext2_write_failed`).
pub(crate) fn trim_tail(inode: &Inode, size: u64) -> Result {
    refit_last_block(inode, size, Refit::Trim(size))
}

/// [`trim_tail`]: the last block of a file of `size` bytes, if a tail,
/// refitted as `refit` says.
fn refit_last_block(inode: &Inode, size: u64, refit: Refit) -> Result {
    let geometry = inode.sb().info().geometry;
    let tail = geometry.offset_in_block(size);
    if !geometry.has_fragments() || tail == 0 {
        return Ok(());
    }
    // CAST: below a block.
    let want = geometry.fragments_for(tail as u32);
    reallocate_tail(inode, geometry.block_of(size), want, refit).map(|_| ())
}

/// What [`grow_tail`] did with a file's last block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refitted {
    /// It got a new run (`BlockMap::set_run`), dirty.
    NewRun,
    /// Its run stays: none to change (no FRAGMENTS, a file ending on a
    /// block boundary), or one the size needs already.
    Unchanged,
    /// It is a hole, which keeps no run: `page_mkwrite` allocates such a
    /// block with the fragments the size it reads needs there, so a
    /// growth that does not hold the `invalidate_lock` exclusive (a
    /// write) takes it before it looks again, until `i_size` grew
    /// (`ops::aops::write_begin`).
    Hole,
}

/// What [`reallocate_tail`] does with a file's last block.
#[derive(Clone, Copy)]
enum Refit {
    /// Before the file grows: a plain run of fewer fragments than
    /// wanted, or a compressed block, gets a run of as many (it may
    /// allocate).
    Grow,
    /// After a short write or a failed `fallocate` (the size given did
    /// not go down): only a plain run of more fragments than wanted keeps
    /// as many; never allocates.
    Trim(u64),
}

/// `grow_tail` (`Refit::Grow`) and `trim_tail` (`Refit::Trim`): file
/// block `n`, if its run is one that `refit` changes, gets `want`
/// fragments (`BlockMap::set_run`) under the lock of its folio, read if
/// need be and out of writeback, and is marked dirty; a shrinking
/// block's bytes from the size on are zeroed in the folio first.
fn reallocate_tail(inode: &Inode, n: u64, want: u32, refit: Refit) -> Result<Refitted> {
    let geometry = inode.sb().info().geometry;
    let start = n << geometry.block_shift();
    let needed = |extent: Option<Extent>| {
        // Growing, a compressed block gets a plain run in any case: it
        // is dirtied (`unpack`).
        extent.is_some_and(|e| match refit {
            Refit::Grow => e.compressed || e.count < want,
            Refit::Trim(_) => !e.compressed && e.count > want,
        })
    };
    match BlockMap::lock(inode)?.lookup_extent(n)? {
        None => return Ok(Refitted::Hole),
        extent if !needed(extent) => return Ok(Refitted::Unchanged),
        _ => {}
    }
    let mut changed = false;
    with_folio(inode, start, |folio| {
        folio.wait_writeback();
        let mut map = BlockMap::lock(inode)?;
        if !needed(map.lookup_extent(n)?) {
            return Ok(());
        }
        if let Refit::Trim(size) = refit {
            // CAST: offsets within the folio.
            let (offset, block) = (
                (size - folio.pos()) as usize,
                (start - folio.pos()) as usize,
            );
            let end = block + geometry.block_bytes();
            folio.mvc(offset, end - offset, Op::Zero.nodirty())?;
        }
        changed = map.set_run(n, want)?;
        // Dirty before the map is unlocked: an `fsync` that finds the run
        // moved (`InodeInfo::moved`, under the map lock) then finds the
        // folio to write.
        mark_block_dirty(folio, start, geometry.block_shift());
        drop(map);
        Ok(())
    })?;
    Ok(if changed {
        Refitted::NewRun
    } else {
        Refitted::Unchanged
    })
}

/// Marks the block of the locked `folio` holding byte `pos` of the file
/// dirty, and the folio (which writeback takes as every block dirty if
/// it has no block state).
fn mark_block_dirty(folio: &LockedFolio<'_>, pos: u64, shift: u32) {
    if let Ok(state) = folio.state_or_attach(shift) {
        // CAST: an offset within the folio.
        state.set_dirty(((pos - folio.pos()) >> shift) as usize, 1);
    }
    folio.mark_dirty();
}

/// Before the file grows from `from` bytes (its size) to `to`: the bytes
/// of the cached folio holding `from` that lie past it, up to `to`,
/// become zeros with the folio locked and its mappings write-protected
/// (vm_mvc PROTZERO, `VM_MVC_NODIRTY`: the disk holds zeros past the end
/// of the file already).  A store through a mapping past the end (never
/// file data) must not become file data once the file grows over it, and
/// after `i_size` grew it is too late: a writeback that runs before the
/// zeroing sees the store inside the file, writes it and cleans the
/// folio, and `pagecache_isize_extended` zeroes only a dirty folio, so
/// the store stays, in the cache and on the disk (ext4 zeroes before the
/// size grows too, `ext4_block_zero_eof`).  A store after this faults
/// into `page_mkwrite`: under the `invalidate_lock` of a truncate or a
/// `fallocate` it waits until the size grew, and its bytes are data; a
/// write does not hold that lock, and [`size_extended`] zeroes what such
/// a store left past the old end.  Only the page holding `from` can be
/// mapped past it; nothing cached, nothing to zero.
pub(crate) fn zero_post_eof(inode: &Inode, from: u64, to: u64) -> Result {
    if from >= to || from % PAGE_SIZE as u64 == 0 {
        return Ok(());
    }
    let Some(folio) = lock_cached_folio(inode, from) else {
        return Ok(());
    };
    // Offsets within the folio, proved once: `lock_cached_folio` gives
    // the folio holding `from`, and the bytes up to `to` are cut at its
    // end (a length past `usize` too).
    let len = usize::try_from(to - from).unwrap_or(usize::MAX);
    let bytes = FolioBytes::clipped(&folio, from, len)?;
    folio.mvc(bytes.from(), bytes.len(), Op::ProtZero.nodirty())
}

/// The file grew from `from` bytes to at least `to` (after `i_size`
/// grew): the bytes of the old end-of-file page past `from` and before
/// `to` must read as zeros, but an mmap store past the old end since
/// [`zero_post_eof`] may have changed them.  `pagecache_isize_extended`
/// write-protects that page and zeroes them when the page gets a new hole
/// block; [`zero_gap`] does the rest.
pub(crate) fn size_extended(inode: &Inode, from: u64, to: u64) {
    if from >= to {
        return;
    }
    pagecache_isize_extended(inode, from, to);
    zero_gap(inode, from, to);
}

/// What `pagecache_isize_extended(inode, from, to)` leaves of zeroing the
/// bytes between the old end of file `from` and `to`: when the old
/// end-of-file block reaches `to`, or ends its page, no hole block appears
/// and the kernel zeroes nothing; vm_mvc ZEROes those bytes of the old
/// end-of-file block by `(sid, pno)` (`ENOENT`: not cached).  The folio's
/// dirty state stays (`VM_MVC_NODIRTY`): on disk those bytes are zero
/// already (writeback zeroes past the end of the file, truncation writes
/// the zeroed tail), so only the cached copy can differ, and only where a
/// store through a mapping dirtied the folio anyway.
pub(crate) fn zero_gap(inode: &Inode, from: u64, to: u64) {
    let geometry = inode.sb().info().geometry;
    let block_size = u64::from(geometry.block_size());
    let page_size = PAGE_SIZE as u64;
    let in_block = geometry.offset_in_block(from);
    if from >= to || in_block == 0 {
        return;
    }
    // Without an overflow branch: INVARIANT: `0 < in_block < block_size`,
    // so `left`, the bytes from `from` to the end of its block
    // (`block_end`), is 1 to `block_size - 1`; `from < to`.  The block
    // ends its page (`block_end % page_size == 0`) when its last byte,
    // `from | (block_size - 1)`, is the page's last.
    let left = block_size.wrapping_sub(in_block);
    let wanted = to - from;
    let ends_page = (from | (block_size - 1)) & (page_size - 1) == page_size - 1;
    let kernel_zeroes = block_size < page_size && wanted > left && !ends_page;
    if kernel_zeroes {
        return;
    }
    // CAST: a page number and offsets within a page.
    let result = inode.sid().mvc(
        (from / page_size) as usize,
        (from % page_size) as usize,
        wanted.min(left) as usize,
        Op::Zero.nodirty(),
    );
    match result {
        // Not cached, or not uptodate (a failed read, which `read_folio`
        // redoes with the new size): nothing cached to zero.
        Err(err) if err != ENOENT && err != ENODATA => {
            toyfs_err!(
                "inode {}: zeroing past the old end: {:?}\n",
                inode.ino(),
                err
            )
        }
        _ => {}
    }
}

/// `page_mkwrite`: gives every compressed block of the folio inside the
/// file a plain run (`unpack`) and every hole a block, all or none
/// (`ENOSPC`; so for a folio holding a packed tail), before the folio
/// becomes writable, and marks
/// the folio's blocks dirty.  The bytes of those blocks are zeros already:
/// `read_folio` ZEROed them.  The folio is dirty before the map lock
/// goes, as `unpack` dirties a block before it does: a direct read that
/// finds a new block in the map (`file::direct_io_fits`, under the map
/// lock) then finds its folio dirty, and its writeback (which waits for
/// the folio lock held here) writes the folio's bytes before the read's
/// bio reads the block, whose disk bytes are an earlier owner's.
///
/// `Ok(false)` for a folio wholly past the end of the file, truncated
/// meanwhile: the fault is retried (`VM_FAULT_NOPAGE`) and then meets the
/// truncation (`SIGBUS` from `filemap_fault` past the end), as
/// `iomap_page_mkwrite`'s `EFAULT` becomes in `block_page_mkwrite_return`,
/// not a `SIGBUS` for a folio that a retry may find in the file again.
/// Every shrink of the size truncates the page cache under the
/// `invalidate_lock` held here, which the caller's check of the folio's
/// mapping meets first: no path of toyfs reaches this today.
pub(crate) fn page_mkwrite(inode: &Inode, folio: &LockedFolio<'_>) -> Result<bool> {
    let size = inode.size();
    if folio.pos() >= size {
        return Ok(false);
    }
    let geometry = inode.sb().info().geometry;
    let shift = geometry.block_shift();
    let state = folio.state_or_attach(shift)?;
    let first = folio.pos() >> shift;
    let inside = geometry
        .blocks_for(size - folio.pos())
        .min(state.blocks() as u64);
    // Held until the function returns, after the folio is dirty.
    let mut map = BlockMap::lock(inode)?;
    // A packed tail left by an open without room (`ops::file::open`)
    // cannot move here, under the mapping's lock (it needs the inode's):
    // a store into its folio fails as for want of room, dirtying nothing.
    if map
        .packed_tail()
        .is_some_and(|n| (first..first + inside).contains(&n))
    {
        return Err(ENOSPC);
    }
    if geometry.has_compression() {
        // CAST: blocks of this folio.
        for k in 0..inside as usize {
            unpack(&mut map, inode, folio, state, k, size)?;
        }
    }
    let allocated = map.allocate(first..first + inside, size, Fresh::Unwritten, |_| ());
    // Blocks allocated before an error part-way (an I/O error on an
    // indirect block) hold their disk's old bytes: dirty, the folio's
    // zeros overwrite them (holes left dirty stay holes at writeback).
    mark_all_dirty(folio, state);
    allocated.map(|()| true)
}

/// Marks every block of `folio` dirty, and the folio.
fn mark_all_dirty(folio: &LockedFolio<'_>, state: &FolioState) {
    state.set_dirty(0, state.blocks());
    folio.mark_dirty();
}
