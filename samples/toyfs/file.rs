// SPDX-License-Identifier: GPL-2.0

//! A regular file as a whole: its size (`setattr`), its flags
//! (`chattr`), `fallocate`, `SEEK_HOLE`/`SEEK_DATA` and FIEMAP.

use crate::{
    balloc,
    format::inode::FLAG_COMPRESSED,
    inode::{BlockMap, Fresh, OldPath, Run},
    mount,
    packed::zero_fragments_on_disk,
    tails::{self, Cut},
    vfs::{
        lock_cached_folio, resched_unless_killed, truncate_pagecache_range, truncate_setsize,
        with_folio, with_two_folios, zero_blocks, Inode, IoExtent, LockedFolio, PAGE_SIZE,
    },
    vm_mvc_client::Op,
    write::{
        grow_tail, retry_after_writeback, trim_tail, unpack, zero_gap, zero_post_eof, FolioBytes,
        Growth,
    },
};
use core::ops::Range;
use kernel::prelude::*;

/// `setattr` of the size, under the inode's lock and its
/// `invalidate_lock` (no folio is instantiated meanwhile).  Whatever can
/// fail for want of room (with LZ4 the block cut, or grown, gets a plain
/// run first, which the file's dirty blocks may hold the room of until
/// written back) comes before the size changes, as in ext2's
/// `ext2_setsize`: an `ENOSPC` changes nothing.  Down, the new last
/// block's run and `i_size` change under the lock of its folio
/// (`cut_last_block`), so that writeback, which stores a block by the
/// size it reads under that lock, sees both old or both new; up, the
/// file is growing (`Growth`) until `i_size` has grown.
///
/// To the size the file has, only the blocks preallocated past its end
/// go (`fallocate` with `KEEP_SIZE`), as ext4 and XFS free them on any
/// truncation; nothing else changes.
///
/// The outer error: the size did not change (to the same size, the
/// preallocated blocks freed before an error stay freed, as before).
/// The inner one, an error after a truncation down passed its point of
/// no return (an indirect block that cannot be read while the blocks
/// past the size are freed, the write of the inode that cuts a packed
/// tail off, `tails::cut_off`): the size has changed, and so have mtime
/// and ctime, as ext2's `ext2_setsize` sets them once `truncate_setsize`
/// ran; the caller applies the call's other attributes too and returns
/// the error (Documentation/toyfs.rst, "Packed tails").
pub(crate) fn set_size(inode: &Inode, size: u64) -> Result<Result> {
    let old = inode.size();
    let _invalidate = inode.lock_invalidate();
    if size == old {
        BlockMap::lock(inode)?.truncate(size)?;
        return Ok(Ok(()));
    }
    // A packed tail leaves its tail block first (`ENOSPC`, `EIO`:
    // nothing changed) if the file grows, or keeps some of its bytes
    // compressed; to the same size it stays, and a truncation otherwise
    // needs no room for it (`tails::cut`).
    let cut = if size < old {
        tails::cut(inode, size)?
    } else {
        Cut::NoTail
    };
    if size > old || cut == Cut::Unpack {
        tails::unpack(inode)?;
    }
    if size < old {
        let off = match cut {
            Cut::Off { n, block } => Some((n, block)),
            _ => None,
        };
        // A tail cut in place keeps its run (it has none of its own):
        // the page cache past the size goes by `truncate_setsize`.
        let old_path = if cut != Cut::InPlace {
            retry_after_writeback(inode, || cut_last_block(inode, size, off.map(|(n, _)| n)))?
        } else {
            OldPath::default()
        };
        // The point of no return: what follows only frees (an error is
        // an indirect block that cannot be read, as ext2's
        // `__ext2_truncate_blocks` meets after `truncate_setsize`) or
        // writes the inode that cuts the tail off.  The size has changed
        // whatever it returns: the times are set, then the error returned.
        truncate_setsize(inode, size);
        let freed = BlockMap::lock(inode)
            .and_then(|mut map| map.truncate(size))
            .and_then(|()| match off {
                Some((_, block)) => tails::cut_off(inode, block, &old_path),
                None => Ok(()),
            });
        inode.touch_mtime_ctime();
        return Ok(freed);
    } else {
        let _growth = Growth::begin(inode);
        zero_post_eof(inode, old, size)?;
        retry_after_writeback(inode, || grow_tail(inode, old, size))?;
        // `truncate_setsize` calls `pagecache_isize_extended`.
        truncate_setsize(inode, size);
        zero_gap(inode, old, size);
    }
    inode.touch_mtime_ctime();
    Ok(Ok(()))
}

/// The flags `FS_IOC_GETFLAGS` shows of a regular file or a directory:
/// `FS_COMPR_FL` (`FLAG_COMPRESSED`) on a compressed file, else none (a
/// directory has none).
pub(crate) fn flags(inode: &Inode) -> Result<u32> {
    Ok(BlockMap::lock(inode)?.flags())
}

/// `FS_IOC_SETFLAGS` with `flags` on a regular file or a directory,
/// under the inode's lock: only `FS_COMPR_FL`, only on a regular file and
/// only on an image with LZ4 (`EOPNOTSUPP` otherwise, as ext4 answers a
/// flag it does not keep; 0 is taken everywhere, and changes nothing on
/// a directory).  A directory keeps no flag: what a new file gets is the
/// image's (`mkfs.toyfs -c lz4`), not inherited from its directory.  The
/// flag decides how the blocks written back from now on are stored; the
/// blocks on disk stay as they are until rewritten
/// (Documentation/toyfs.rst, "Compressed flag").
pub(crate) fn set_flags(inode: &Inode, flags: u32) -> Result {
    let geometry = inode.sb().info().geometry;
    let allowed = if geometry.has_compression() && !inode.is_dir() {
        FLAG_COMPRESSED
    } else {
        0
    };
    if flags & !allowed != 0 {
        return Err(EOPNOTSUPP);
    }
    let mut map = BlockMap::lock(inode)?;
    if map.flags() == flags {
        return Ok(());
    }
    map.set_flags(flags)?;
    drop(map);
    inode.touch_ctime();
    inode.mark_dirty();
    Ok(())
}

/// A truncation to `size`, up to its point of no return: the bytes of
/// the new last block past `size` become zeros through the page cache
/// (the block is read if it is not cached) and that block dirty, so that
/// they reach the disk (as `iomap_truncate_page` and
/// `block_truncate_page` do): the format keeps the bytes past the end of
/// the file zero, and a later extension shows them.  Everything that can
/// fail comes before those bytes change, so that an error leaves the
/// file's bytes and size as they were: with LZ4 a compressed block gets
/// a plain run first (`ENOSPC`, its bytes kept), of the fragments the
/// new size needs, or a whole block's while a packed tail past it is to
/// be cut off; then the packed tail is cut off (`BlockMap::cut_tail`,
/// whose copies of an indirect block are written: `EIO` changes
/// nothing).  Once nothing can fail but a read of a buffer just read,
/// with FRAGMENTS a plain run of more fragments keeps only those
/// (freeing the rest, after the folio's writeback: no bio to the old
/// whole block is in flight once its fragments can be given to another
/// file), and the bytes are zeroed.  Then `i_size` becomes
/// `size`, still under the folio's lock: a writeback of the block by the
/// old size would find a run cut for the new one (`EUCLEAN`, "dirty
/// block in a run too short for its bytes"), and one by the new size
/// between the size change and a later refit would have compressed the
/// block again, for the refit to give it a plain run after the point of
/// no return.  Returns the old path of a packed tail cut off
/// (`BlockMap::cut_tail`), for `tails::cut_off` to free.
fn cut_last_block(inode: &Inode, size: u64, packed_off: Option<u64>) -> Result<OldPath> {
    let geometry = inode.sb().info().geometry;
    let tail = geometry.offset_in_block(size);
    let n = geometry.block_of(size);
    // The packed tail cut off (at file block `m`) leaves the map before
    // a byte or the size changes (the map finds a packed tail at the
    // block holding the end of the file).
    let let_go = |map: &mut BlockMap<'_>| match packed_off {
        Some(m) => map.cut_tail(m),
        None => Ok(OldPath::default()),
    };
    if tail == 0 || BlockMap::lock(inode)?.lookup_extent(n)?.is_none() {
        return let_go(&mut BlockMap::lock(inode)?);
    }
    // OVERFLOW: `tail < B` (`offset_in_block`): the bytes from `size` to
    // the end of its block, 1 to `B - 1` of them.
    let to_block_end = geometry.block_bytes().wrapping_sub(tail as usize);
    let mut old_path = OldPath::default();
    with_folio(inode, size, |folio| {
        folio.wait_writeback();
        // Offsets within the folio, proved once (`EINVAL` if the folio
        // did not hold `size`; `with_folio` gives the one that does).
        let bytes = FolioBytes::clipped(folio, size, to_block_end)?;
        // What can fail comes before a byte changes: zeroed first, the
        // bytes stayed zero under the old size when the cut failed.  The
        // plain run is for the old size while the cut can still fail.
        let plain_for = if packed_off.is_some() {
            inode.size()
        } else {
            size
        };
        plain_runs_in_folio(inode, folio, bytes, plain_for)?;
        let mut map = BlockMap::lock(inode)?;
        // CAST: below a block.
        let want = geometry.fragments_for(tail as u32);
        let shrink = geometry.has_fragments()
            && map
                .lookup_extent(n)?
                .is_some_and(|e| !e.compressed && e.count > want);
        old_path = let_go(&mut map)?;
        // Only frees, and no I/O error reaches it: the path to block `n`
        // is the one read above or the copies `cut_tail` just wrote (in
        // the buffer cache, unless reclaimed in between), and the bitmap
        // is in memory.  A damaged bitmap (`EUCLEAN`, "block freed
        // twice") no longer fails it once the pointer is set: `set_run`
        // completes then (the fragments stay as the bitmap has them).
        if shrink {
            map.set_run(n, want)?;
        }
        drop(map);
        zero_and_dirty(inode, folio, bytes, size)?;
        inode.set_size(size);
        Ok(())
    })?;
    Ok(old_path)
}

/// The blocks of a folio that `bytes` of it touch (not empty), as
/// `first..end`: offsets below `2^32` (`FolioBytes`), so neither the
/// rounding up nor the count can overflow, and neither has a branch.
fn blocks_of(bytes: FolioBytes, shift: u32) -> (usize, usize) {
    // OVERFLOW: `from < to < 2^32` for bytes that are not empty: `to - 1`
    // does not go below 0, nor `last + 1` past `2^32`.
    let first = bytes.from() >> shift;
    let last = bytes.to().wrapping_sub(1) >> shift;
    (first, last.wrapping_add(1))
}

/// With LZ4: gives the blocks of `folio` of `inode` that `bytes` of it
/// touch plain runs for a file of `size` bytes (`write::unpack`:
/// `ENOSPC`, their bytes kept), before any of those bytes changes.
/// Without LZ4 nothing.
fn plain_runs_in_folio(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    bytes: FolioBytes,
    size: u64,
) -> Result {
    let geometry = inode.sb().info().geometry;
    if bytes.len() == 0 || !geometry.has_compression() {
        return Ok(());
    }
    let shift = geometry.block_shift();
    let state = folio.state_or_attach(shift)?;
    let mut map = BlockMap::lock(inode)?;
    let (first, end) = blocks_of(bytes, shift);
    for k in first..end {
        unpack(&mut map, inode, folio, state, k, size)?;
    }
    Ok(())
}

/// ZEROes `bytes` of `folio` (uptodate) of `inode`, a file that is to be
/// `size` bytes, and marks dirty exactly the blocks they touch: vm_mvc
/// with `VM_MVC_NODIRTY`, then the folio's block state and the folio.
/// Writeback writes those blocks and no other (vm_mvc's own dirtying
/// would mark every block of the folio).  Without memory for a block
/// state the folio is dirtied alone, which writeback takes as every
/// block dirty.
fn zero_and_dirty(inode: &Inode, folio: &LockedFolio<'_>, bytes: FolioBytes, size: u64) -> Result {
    if bytes.len() == 0 {
        return Ok(());
    }
    let shift = inode.sb().info().geometry.block_shift();
    let (first, end) = blocks_of(bytes, shift);
    // A compressed block gets a plain run first (`write::unpack`).
    plain_runs_in_folio(inode, folio, bytes, size)?;
    folio.mvc(bytes.from(), bytes.len(), Op::Zero.nodirty())?;
    if let Ok(state) = folio.state_or_attach(shift) {
        // OVERFLOW: `first < end` (`blocks_of`).
        state.set_dirty(first, end.wrapping_sub(first));
    }
    folio.mark_dirty();
    Ok(())
}

/// `fallocate` modes toyfs implements.
pub(crate) const KEEP_SIZE: u32 = 0x01;
/// Frees the blocks of the range: it reads as zeros.
pub(crate) const PUNCH_HOLE: u32 = 0x02;
/// The range reads as zeros, with blocks allocated.
pub(crate) const ZERO_RANGE: u32 = 0x10;

/// Whether toyfs takes `fallocate(mode, offset, len)` on `inode`, under
/// the inode's lock, before anything changes (the caller's
/// `file_modified` included, as ext4 and XFS refuse a mode before they
/// touch the file): `EOPNOTSUPP` for a mode toyfs does not implement
/// (`COLLAPSE_RANGE`, `INSERT_RANGE`, `UNSHARE_RANGE`, `WRITE_ZEROES`);
/// `EFBIG` for a size past the largest file or the caller's
/// `RLIMIT_FSIZE` (which sends `SIGXFSZ`), as a write.  `KEEP_SIZE` past
/// the end of the file is taken: it preallocates (`vfs_fallocate` bounded
/// the range by the largest file already).
pub(crate) fn check_fallocate(inode: &Inode, mode: u32, offset: u64, len: u64) -> Result {
    if mode & !(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE) != 0
        || (mode & PUNCH_HOLE != 0 && mode != PUNCH_HOLE | KEEP_SIZE)
    {
        return Err(EOPNOTSUPP);
    }
    let end = offset.checked_add(len).ok_or(EFBIG)?;
    if mode & KEEP_SIZE == 0 && end > inode.size() {
        inode.check_new_size(end)?;
    }
    Ok(())
}

/// The file blocks `fallocate(mode, offset, offset + len = end)`
/// allocates in a file of `size` bytes, and the size to allocate them
/// for (which decides the fragments of the last block, with FRAGMENTS).
/// Without `KEEP_SIZE`: the range's blocks, for the size the file grows
/// to.  With `KEEP_SIZE` (alone or with `ZERO_RANGE`): the range's blocks
/// inside the file and, past its end, preallocated, from the first block
/// wholly past the end to the end of the range, in whole plain blocks:
/// the file's last block, partly inside it, is allocated only if the
/// range starts inside the file (a tail with FRAGMENTS, as the file's
/// size says) (Documentation/toyfs.rst, "Preallocation").  None for
/// `PUNCH_HOLE`.
fn allocated_blocks(inode: &Inode, mode: u32, offset: u64, end: u64) -> (Range<u64>, u64) {
    let geometry = inode.sb().info().geometry;
    let size = inode.size();
    if mode & PUNCH_HOLE != 0 {
        (0..0, size)
    } else if mode & KEEP_SIZE != 0 {
        let first = if offset < size {
            geometry.block_of(offset)
        } else {
            geometry.block_of(offset).max(geometry.blocks_for(size))
        };
        (first..geometry.blocks_for(end).max(first), size)
    } else {
        (
            geometry.block_of(offset)..geometry.blocks_for(end),
            end.max(size),
        )
    }
}

/// `fallocate(mode, offset, len)`, under the inode's lock, once
/// [`check_fallocate`] took it: allocation (0, or `KEEP_SIZE`, which
/// past the end of the file preallocates), `PUNCH_HOLE | KEEP_SIZE` and
/// `ZERO_RANGE` (with or without `KEEP_SIZE`, which past the end
/// preallocates too, as ext4's and XFS's do).  The room for every hole
/// to allocate is checked before anything changes, so that an `ENOSPC`
/// changes nothing; what fails later (an I/O error, another file taking
/// the room meanwhile) gives back what was allocated.  The first block
/// preallocated past the end of a file of the image sets the PREALLOC
/// feature first (`mount::enable_prealloc`).  `modified` stamps the
/// file modified (the caller's `file_modified`): called once the room
/// was counted, so that a damaged map (`EUCLEAN`) or want of room
/// (`ENOSPC`) leaves the times and the set-id bits as they were.
pub(crate) fn fallocate(
    inode: &Inode,
    mode: u32,
    offset: u64,
    len: u64,
    modified: impl FnOnce() -> Result,
) -> Result {
    check_fallocate(inode, mode, offset, len)?;
    let end = offset + len;
    let size = inode.size();
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let _invalidate = inode.lock_invalidate();
    // A packed tail left by an open without room moves first
    // (`ENOSPC`, nothing changed).
    tails::unpack(inode)?;
    let (blocks, for_size) = allocated_blocks(inode, mode, offset, end);
    // Room for every hole, before anything changes (with LZ4 once more
    // after the file was written back: its dirty blocks hold plain runs
    // that writeback compresses).
    if !blocks.is_empty() {
        retry_after_writeback(inode, || {
            let needed = BlockMap::lock(inode)?.count_missing(blocks.clone(), for_size)?;
            balloc::reserve(sb, needed).map(drop)
        })?;
    }
    modified()?;
    if blocks.end > geometry.blocks_for(size) && mode & KEEP_SIZE != 0 {
        mount::enable_prealloc(sb)?;
    }
    // Until `truncate_setsize` below, or the error.
    let _growth = (mode & KEEP_SIZE == 0 && end > size).then(|| Growth::begin(inode));
    if mode & KEEP_SIZE == 0 && end > size {
        zero_post_eof(inode, size, end)?;
        retry_after_writeback(inode, || grow_tail(inode, size, end))?;
    }
    // The file blocks that got new blocks, given back on error.
    let mut new = NewBlocks::default();
    // What fails from here on leaves the file as it was: the blocks
    // allocated go back (blocks preallocated before stay), and a tail
    // grown above for the new size shrinks again (both only free); the
    // map's roots may not have reached the inode table (`write_inode`
    // stores them).
    // The runs that leaves held (the map stored meanwhile: on an image
    // with LZ4 the `ENOSPC` retry writes the filesystem back, this file's
    // inode with the tail grown above among it, which makes its
    // fragments no longer fresh) are freed by writing the inode: the call
    // fails with the free count as it was (`failed_zero_range_keeps_the_tail`);
    // if that write fails they wait for the next writeback.
    let undo = |err: Error, new: &NewBlocks| -> Result {
        inode.mark_dirty();
        new.free(inode)?;
        trim_tail(inode, inode.size())?;
        let _ = crate::inode::write_deferred(inode);
        Err(err)
    };
    if mode & PUNCH_HOLE != 0 {
        // With LZ4 an edge's compressed block needs a plain run
        // (`ENOSPC`): nothing is freed before both edges have theirs.
        if let Err(err) = punch(inode, offset, end.min(size)) {
            return undo(err, &new);
        }
    }
    if mode & ZERO_RANGE != 0 {
        // The compressed blocks to zero get plain runs first, keeping
        // their bytes (`ENOSPC` changes no byte), as ext4 and XFS
        // allocate before they zero.
        let whole = whole_blocks(inode, offset, end.min(size));
        if let Err(err) = retry_after_writeback(inode, || plain_runs(inode, whole.clone())) {
            return undo(err, &new);
        }
    }
    if !blocks.is_empty() {
        if let Err(err) = allocate_zeroed(inode, blocks, for_size, &mut new) {
            return undo(err, &new);
        }
    }
    if mode & ZERO_RANGE != 0 {
        if let Err(err) = zero_stored(inode, offset, end.min(size), &new) {
            return undo(err, &new);
        }
    }
    if mode & (KEEP_SIZE | PUNCH_HOLE) == 0 && end > size {
        truncate_setsize(inode, end);
        zero_gap(inode, size, end);
    }
    inode.touch_mtime_ctime();
    inode.mark_dirty();
    Ok(())
}

/// Makes bytes `offset..end` (inside the file) read as zeros and frees
/// the blocks wholly inside them.  The bytes of a block that stays (at
/// either edge) are ZEROed through the page cache, read if need be; the
/// page cache of the freed blocks goes: whole pages by
/// `truncate_pagecache_range`, the freed blocks of a page that stays by
/// vm_mvc PROTZERO (its mappings are write-protected, so the next store
/// faults and `page_mkwrite` gives the block back) with their dirty bits
/// cleared, so that writeback does not allocate them again.
fn punch(inode: &Inode, offset: u64, end: u64) -> Result {
    if offset >= end {
        return Ok(());
    }
    let whole = zero_edges_of(inode, offset, end)?;
    if whole.is_empty() {
        return Ok(());
    }
    let block_size = u64::from(inode.sb().info().geometry.block_size());
    forget_cached_blocks(inode, whole.start * block_size..whole.end * block_size)?;
    BlockMap::lock(inode)?.free_range(whole)
}

/// The file blocks wholly inside bytes `offset..end`.
fn whole_blocks(inode: &Inode, offset: u64, end: u64) -> Range<u64> {
    let geometry = inode.sb().info().geometry;
    let first = geometry.blocks_for(offset);
    first..geometry.block_of(end).max(first)
}

/// ZEROes the bytes of `offset..end` (not empty) in the blocks at either
/// edge that the range covers in part, through the page cache
/// ([`zero_edges`]: an error zeroes nothing), and returns the file
/// blocks wholly inside the range.
fn zero_edges_of(inode: &Inode, offset: u64, end: u64) -> Result<Range<u64>> {
    let block_size = u64::from(inode.sb().info().geometry.block_size());
    let whole = whole_blocks(inode, offset, end);
    // The edges: bytes in blocks that stay (one range if the range is
    // inside one block).
    let head = offset..end.min(whole.start * block_size);
    let tail = (whole.end * block_size).max(offset)..end;
    // With LZ4 an edge's block gets a plain run first, both edges' before
    // either is zeroed (`zero_edges`).
    let tail = if tail == head { offset..offset } else { tail };
    retry_after_writeback(inode, || zero_edges(inode, head.clone(), tail.clone()))?;
    Ok(whole)
}

/// `ZERO_RANGE` of bytes `offset..end` (inside the file), once its holes
/// have zeroed blocks (`new`, [`allocate_zeroed`]) and its compressed
/// blocks plain runs ([`plain_runs`]): the edges are ZEROed through the
/// page cache ([`zero_edges`]), the whole blocks' cached bytes are
/// forgotten ([`forget_cached_blocks`]: clean, out of writeback) and then
/// the blocks stored before are zeroed on the disk (`blkdev_issue_zeroout`;
/// a run of fragments through the buffer cache), the new ones being
/// zeros already.  A block that writeback compressed again meanwhile is
/// ZEROed through the page cache (a plain run again, `write::unpack`).
fn zero_stored(inode: &Inode, offset: u64, end: u64, new: &NewBlocks) -> Result {
    if offset >= end {
        return Ok(());
    }
    let whole = zero_edges_of(inode, offset, end)?;
    if whole.is_empty() {
        return Ok(());
    }
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let shift = geometry.block_shift();
    forget_cached_blocks(inode, whole.start << shift..whole.end << shift)?;
    let mut n = whole.start;
    while n < whole.end {
        let run = BlockMap::lock(inode)?.lookup_run(n, whole.end - n)?;
        let count = run.count();
        match run {
            Run::Data { first, .. } => {
                for (from, len) in new.stored_before(n, count) {
                    // CAST: within the run of `count` blocks from `first`.
                    let (from, len) = ((from - n) as u32, len as u32);
                    zero_blocks(sb, first + from, len)?;
                }
            }
            Run::Packed { extent } if !extent.compressed => {
                zero_fragments_on_disk(sb, &extent)?;
            }
            Run::Packed { .. } => {
                let at = n << shift;
                let len = geometry.block_bytes();
                retry_after_writeback(inode, || {
                    with_folio(inode, at, |folio| {
                        let bytes = FolioBytes::clipped(folio, at, len)?;
                        zero_and_dirty(inode, folio, bytes, inode.size())
                    })
                })?;
            }
            Run::Hole { .. } | Run::Tail { .. } => {}
        }
        n += count;
        resched_unless_killed()?;
    }
    Ok(())
}

/// With LZ4: gives each compressed block of file blocks `blocks` a plain
/// run, its bytes kept and the block dirty (`write::unpack`, `ENOSPC`),
/// before `ZERO_RANGE` changes anything: a block that fails changes no
/// byte, and those done before hold their bytes plain until writeback
/// compresses them again.
fn plain_runs(inode: &Inode, blocks: Range<u64>) -> Result {
    let geometry = inode.sb().info().geometry;
    if !geometry.has_compression() {
        return Ok(());
    }
    let shift = geometry.block_shift();
    for n in blocks {
        let compressed = BlockMap::lock(inode)?
            .lookup_extent(n)?
            .is_some_and(|extent| extent.compressed);
        if compressed {
            with_folio(inode, n << shift, |folio| {
                folio.wait_writeback();
                let state = folio.state_or_attach(shift)?;
                // CAST: a block of the folio.
                let k = ((n << shift) - folio.pos()) as usize >> shift;
                let mut map = BlockMap::lock(inode)?;
                unpack(&mut map, inode, folio, state, k, inode.size())
            })?;
        }
        resched_unless_killed()?;
    }
    Ok(())
}

/// Bytes `whole` (whole blocks) are about to lose their blocks, or their
/// bytes on the disk: whole pages leave the page cache, the rest of a
/// page is forgotten in place ([`forget_freed_bytes`]), and every block
/// of them is clean and out of writeback ([`clean_freed`]).
fn forget_cached_blocks(inode: &Inode, whole: Range<u64>) -> Result {
    let page = PAGE_SIZE as u64;
    let pages = whole.start.next_multiple_of(page)..whole.end - whole.end % page;
    if pages.start < pages.end {
        truncate_pagecache_range(inode, pages.start, pages.end - 1);
        forget_freed_bytes(inode, whole.start..pages.start)?;
        forget_freed_bytes(inode, pages.end..whole.end)?;
    } else {
        // Within two pages at most: split at the page boundary.
        let boundary = whole.start.next_multiple_of(page).min(whole.end);
        forget_freed_bytes(inode, whole.start..boundary)?;
        forget_freed_bytes(inode, boundary..whole.end)?;
    }
    // A store before the call dirtied whole folios, and a large folio
    // partly inside the range kept its bytes' dirty bits: the blocks
    // must be clean, and out of any writeback, before they go or are
    // zeroed on the disk.
    clean_freed(inode, whole);
    Ok(())
}

/// Clears the dirty bits of the blocks of bytes `range` in the folios
/// still cached, then waits for any writeback of those folios: a
/// writeback that picked the blocks up before must be done before they
/// are freed and given to another file.
fn clean_freed(inode: &Inode, range: Range<u64>) {
    let mut pos = range.start;
    while pos < range.end {
        let Some(folio) = lock_cached_folio(inode, pos) else {
            pos = (pos + 1).next_multiple_of(PAGE_SIZE as u64);
            continue;
        };
        let end = (folio.pos() + folio.size() as u64).min(range.end);
        if let Some(state) = folio.state() {
            let shift = state.block_shift();
            // CAST: offsets within the folio.
            let first = ((pos - folio.pos()) >> shift) as usize;
            state.clear_dirty(first, ((end - pos) >> shift) as usize);
        }
        folio.wait_writeback();
        pos = end;
    }
}

/// ZEROes bytes `head` and `tail`, each inside one block that stays
/// allocated (either may be empty), through the page cache (the blocks
/// are read if need be) so that the zeros reach the disk.  With LZ4 the
/// blocks of both get their plain runs (`write::unpack`, `ENOSPC`) under
/// the locks of both folios before either is zeroed, so that an error
/// zeroes nothing (review rev7: on a full image the head was zeroed and
/// the tail then failed, the punch returning `ENOSPC` with part of its
/// range zeroed).  A block that fails changes no byte: a block given a
/// plain run stays dirty with its bytes, for writeback to compress again.
fn zero_edges(inode: &Inode, head: Range<u64>, tail: Range<u64>) -> Result {
    let geometry = inode.sb().info().geometry;
    // A hole reads as zeros already.
    let stored = |range: Range<u64>| -> Result<Option<Range<u64>>> {
        if range.start >= range.end {
            return Ok(None);
        }
        let n = geometry.block_of(range.start);
        Ok(BlockMap::lock(inode)?.lookup_extent(n)?.map(|_| range))
    };
    let edges = [stored(head)?, stored(tail)?];
    let (first, second) = match &edges {
        [None, None] => return Ok(()),
        [Some(only), None] | [None, Some(only)] => (only.start, only.start),
        [Some(head), Some(tail)] => (head.start, tail.start),
    };
    with_two_folios(inode, first, second, |folios| {
        let size = inode.size();
        let shift = geometry.block_shift();
        // Each edge with the locked folio holding it, and its offset there.
        let placed = |range: &Range<u64>| {
            folios
                .iter()
                .copied()
                .find(|folio| {
                    (folio.pos()..folio.pos() + folio.size() as u64).contains(&range.start)
                })
                // CAST: an offset within the folio.
                .map(|folio| {
                    (
                        folio,
                        (range.start - folio.pos()) as usize,
                        range.end - range.start,
                        range.start,
                    )
                })
        };
        if geometry.has_compression() {
            let mut map = BlockMap::lock(inode)?;
            for (folio, offset, _, _) in edges.iter().flatten().filter_map(placed) {
                let state = folio.state_or_attach(shift)?;
                unpack(&mut map, inode, folio, state, offset >> shift, size)?;
            }
        }
        for (folio, _, len, start) in edges.iter().flatten().filter_map(placed) {
            // CAST: at most a block.
            let bytes = FolioBytes::clipped(folio, start, len as usize)?;
            zero_and_dirty(inode, folio, bytes, size)?;
        }
        Ok(())
    })
}

/// Bytes `range` (whole blocks, within one page) are about to lose their
/// blocks: in a cached folio they become zeros with vm_mvc PROTZERO
/// (`VM_MVC_NODIRTY`: the dirty bits it takes from the page tables still
/// dirty the folio, hence every block), and their blocks clean, under
/// one hold of the folio lock and after any writeback of it, so that no
/// writeback can pick them up before they are freed.
fn forget_freed_bytes(inode: &Inode, range: Range<u64>) -> Result {
    if range.start >= range.end {
        return Ok(());
    }
    let Some(folio) = lock_cached_folio(inode, range.start) else {
        return Ok(());
    };
    folio.wait_writeback();
    // CAST: offsets within the folio.
    let offset = (range.start - folio.pos()) as usize;
    let len = (range.end - range.start) as usize;
    if folio.is_uptodate() {
        folio.mvc(offset, len, Op::ProtZero.nodirty())?;
    } else {
        folio.mvc(offset, len, Op::Zero.nodirty())?;
    }
    if let Some(state) = folio.state() {
        let shift = state.block_shift();
        state.clear_dirty(offset >> shift, len >> shift);
    }
    Ok(())
}

/// Allocates the holes of file blocks `range` of a file that is to be
/// `size` bytes, their blocks zeros on the disk before the map names
/// them ([`Fresh::Zeroed`]; the caller holds the `invalidate_lock`, so no
/// folio of the range is instantiated meanwhile), 64 at a time: the new
/// ones fit a mask, and the map stays locked across one chunk's zeroing
/// at most.  Every file block that got a new block is added to `new`,
/// also on error, for the caller to give back.
fn allocate_zeroed(inode: &Inode, range: Range<u64>, size: u64, new: &mut NewBlocks) -> Result {
    let mut n = range.start;
    while n < range.end {
        let chunk = n..(n + 64).min(range.end);
        let mut mask = 0u64;
        let allocated = BlockMap::lock(inode)?.allocate(chunk.clone(), size, Fresh::Zeroed, |m| {
            mask |= 1 << (m - chunk.start)
        });
        if let Err(err) = new.add(chunk.start, mask) {
            // No memory to remember them: they go back now.
            free_new_blocks(inode, chunk.start, mask)?;
            return Err(err);
        }
        allocated?;
        n = chunk.end;
    }
    Ok(())
}

/// The file blocks an `fallocate` gave new blocks, as runs of file
/// blocks: given back if the call fails after all.
#[derive(Default)]
struct NewBlocks(KVec<Range<u64>>);

impl NewBlocks {
    /// Adds file blocks `first + j` for each bit `j` set in `mask`.
    fn add(&mut self, first: u64, mask: u64) -> Result {
        let mut j = 0;
        while j < 64 && mask >> j != 0 {
            if mask & (1 << j) == 0 {
                j += 1;
                continue;
            }
            let start = first + j;
            while j < 64 && mask & (1 << j) != 0 {
                j += 1;
            }
            let run = start..first + j;
            match self.0.last_mut() {
                Some(last) if last.end == run.start => last.end = run.end,
                _ => self.0.push(run, GFP_KERNEL)?,
            }
        }
        Ok(())
    }

    /// The parts of file blocks `n..n + count` that were stored before
    /// (none of them new), as `(first, count)`.
    fn stored_before(&self, n: u64, count: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let end = n + count;
        let mut at = n;
        let mut runs = self
            .0
            .iter()
            .filter(move |run| run.end > n && run.start < end);
        core::iter::from_fn(move || loop {
            if at >= end {
                return None;
            }
            match runs.next() {
                Some(run) => {
                    let part = (at, run.start.saturating_sub(at));
                    at = at.max(run.end);
                    if part.1 > 0 {
                        return Some(part);
                    }
                }
                None => {
                    let part = (at, end - at);
                    at = end;
                    return Some(part);
                }
            }
        })
    }

    /// Frees them all.
    fn free(&self, inode: &Inode) -> Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut map = BlockMap::lock(inode)?;
        for run in self.0.iter() {
            map.free_range(run.clone())?;
        }
        Ok(())
    }
}

/// Frees the file blocks `first + j` for each bit `j` set in `new`: new
/// blocks of `allocate_zeroed` that [`NewBlocks`] could not take.
fn free_new_blocks(inode: &Inode, first: u64, new: u64) -> Result {
    if new == 0 {
        return Ok(());
    }
    let mut map = BlockMap::lock(inode)?;
    for j in (0..64).filter(|j| new & (1 << j) != 0) {
        map.free_range(first + j..first + j + 1)?;
    }
    Ok(())
}

/// The lookups of the block map that a walk over it (`SEEK_DATA`,
/// `SEEK_HOLE`, FIEMAP) makes under one hold of the map lock: between two
/// such parts the lock is let go and [`resched_unless_killed`] called, so
/// that a walk over a large sparse file (thousands of runs, indirect
/// blocks read from the disk) neither keeps writeback and page faults
/// from the map nor the CPU from other tasks for all its length, and
/// ends when its task is killed.  Each part starts from where the last
/// one ended, and finds the map as it is then: the caller holds the inode
/// lock (shared), so no write, truncation or `fallocate` changes the
/// size or the map meanwhile; a store through a mapping may fill a hole
/// and writeback move a block, as they may at any time around the call.
const WALK_PART: u32 = 64;

/// `SEEK_DATA` or `SEEK_HOLE` from `offset`: the next byte in a block
/// (data), or in a hole or at the end of the file (hole); `ENXIO` at or
/// past the end.  Holes a run of missing indirect blocks at a time, as
/// FIEMAP walks them ([`BlockMap::lookup_sparse_run`]): a hole across
/// the triple-indirect level is a lookup or two, not one for each
/// last-level block's span (a million for a hole of 4 TiB with 4 KiB
/// blocks).  [`WALK_PART`] lookups under one hold of the map lock.
pub(crate) fn seek_hole_data(inode: &Inode, offset: u64, data: bool) -> Result<u64> {
    let size = inode.size();
    if offset >= size {
        return Err(ENXIO);
    }
    let geometry = inode.sb().info().geometry;
    let end = geometry.blocks_for(size);
    let mut n = geometry.block_of(offset);
    while n < end {
        let map = BlockMap::lock(inode)?;
        for _ in 0..WALK_PART {
            if n >= end {
                break;
            }
            let run = map.lookup_sparse_run(n, end - n)?;
            let is_data = !matches!(run, Run::Hole { .. });
            if is_data == data {
                return Ok((n * u64::from(geometry.block_size())).max(offset));
            }
            n += run.count();
        }
        drop(map);
        resched_unless_killed()?;
    }
    if data {
        Err(ENXIO)
    } else {
        Ok(size)
    }
}

/// How the bytes of a FIEMAP extent are stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Plain whole blocks, read as they are.
    Plain,
    /// A tail: plain, in fragments of a block other files share
    /// (`FIEMAP_EXTENT_DATA_TAIL`).
    Tail,
    /// A compressed block (`FIEMAP_EXTENT_ENCODED`): its physical bytes
    /// are not the file's.
    Compressed,
}

/// One FIEMAP extent, in bytes.
#[derive(Clone, Copy)]
pub(crate) struct MappedExtent {
    pub(crate) logical: u64,
    pub(crate) physical: u64,
    pub(crate) length: u64,
    pub(crate) stored: Stored,
}

impl MappedExtent {
    /// Whether `next` is plain whole blocks that follow this extent's,
    /// in the file and on disk: the two are one extent.
    fn continues_with(&self, next: &MappedExtent) -> bool {
        self.stored == Stored::Plain
            && next.stored == Stored::Plain
            && self.logical + self.length == next.logical
            && self.physical + self.length == next.physical
    }
}

/// FIEMAP: calls `extent(mapped, last)` with each run of blocks of bytes
/// `start..start + len`: whole blocks contiguous in the file and on disk
/// (across the map's indirect blocks too), or one tail or compressed
/// block (its logical block, at the byte offset of its run); stops when
/// it returns true.  On an image with PREALLOC the blocks preallocated
/// past the end of the file are reported too, as plain extents: they
/// hold zeros on the disk, written at allocation (toyfs has no unwritten
/// extents, so no `FIEMAP_EXTENT_UNWRITTEN`, which ext4 and XFS set).
/// Every [`WALK_PART`] lookups [`resched_unless_killed`]: `EINTR` for a
/// task being killed.
pub(crate) fn fiemap(
    inode: &Inode,
    start: u64,
    len: u64,
    mut extent: impl FnMut(MappedExtent, bool) -> Result<bool>,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let block_size = u64::from(geometry.block_size());
    let mapped_end = if inode.sb().info().geometry_now().has_prealloc() {
        geometry.max_file_blocks()
    } else {
        geometry.blocks_for(inode.size())
    };
    let end = mapped_end.min(geometry.blocks_for(start.saturating_add(len)));
    let mut n = geometry.block_of(start);
    let mut pending: Option<MappedExtent> = None;
    let mut lookups = 0;
    while n < end {
        lookups += 1;
        if lookups % WALK_PART == 0 {
            resched_unless_killed()?;
        }
        // The map lock only for the lookup: `extent` copies to user
        // memory, whose fault may be into this very file (`read_folio`,
        // `page_mkwrite`), which takes the map lock.
        // Holes a missing indirect block at a time: with PREALLOC the walk
        // goes on to the largest file, across the triple-indirect level.
        let run = BlockMap::lock(inode)?.lookup_sparse_run(n, end - n)?;
        let mapped = match run {
            Run::Hole { .. } => None,
            Run::Data { first, count } => Some(MappedExtent {
                logical: n * block_size,
                physical: u64::from(first) * block_size,
                length: count * block_size,
                stored: Stored::Plain,
            }),
            Run::Packed { extent } if extent.compressed => Some(MappedExtent {
                logical: n * block_size,
                physical: extent.byte_offset(&geometry),
                length: block_size,
                stored: Stored::Compressed,
            }),
            Run::Packed { extent } => Some(MappedExtent {
                logical: n * block_size,
                physical: extent.byte_offset(&geometry),
                length: extent.byte_len(&geometry) as u64,
                stored: Stored::Tail,
            }),
            // The file's bytes in its tail block (`FIEMAP_EXTENT_DATA_TAIL`).
            Run::Tail { block, place } if !place.compressed => Some(MappedExtent {
                logical: n * block_size,
                physical: u64::from(block) * block_size + u64::from(place.offset),
                length: geometry.offset_in_block(inode.size()),
                stored: Stored::Tail,
            }),
            // A compressed block there (PACKED_LZ4), as one in fragments.
            Run::Tail { block, place } => Some(MappedExtent {
                logical: n * block_size,
                physical: u64::from(block) * block_size + u64::from(place.offset),
                length: block_size,
                stored: Stored::Compressed,
            }),
        };
        if let Some(mapped) = mapped {
            match pending.as_mut() {
                // A run that goes on where the last one ended, on disk
                // too (the lookup stops at the end of an indirect
                // block): one extent, as a filesystem of extents reports
                // it.
                Some(previous) if previous.continues_with(&mapped) => {
                    previous.length += mapped.length;
                }
                _ => {
                    if let Some(previous) = pending.replace(mapped) {
                        if extent(previous, false)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        n += run.count();
    }
    if let Some(last) = pending {
        extent(last, true)?;
    }
    Ok(())
}

/// Whether a direct request of `count` bytes at `pos`, from buffers of
/// alignment `alignment` ([`crate::vfs::Kiocb::buffer_alignment`]), goes
/// by bio straight between the caller's pages and the disk (iomap's
/// direct I/O) rather than through the page cache: whole blocks (offset,
/// size and buffers aligned to the block size, which is at least the
/// device's logical block), inside the file, of a file without the
/// compressed flag (whose writeback moves blocks into compressed runs),
/// and every block of the range a whole plain block on disk.  Tails,
/// compressed blocks, holes and the bytes past the end go through the
/// page cache.  The inode is locked (shared for a read), so no write,
/// truncation, hole punched or flag change moves or frees a block until
/// the request is done.  Holes are left out for reads too: a store
/// through a mapping may fill one meanwhile (`page_mkwrite` takes no
/// inode lock), and the block it gets holds a deleted file's bytes on
/// disk until its folio is written back, which a read by bio would
/// return.
pub(crate) fn direct_io_fits(inode: &Inode, pos: u64, count: u64, alignment: u64) -> Result<bool> {
    let geometry = inode.sb().info().geometry;
    let block = geometry.block_bytes() as u64;
    let end = match pos.checked_add(count) {
        Some(end) if count > 0 && end <= inode.size() => end,
        _ => return Ok(false),
    };
    if (pos | count | alignment) & (block - 1) != 0 {
        return Ok(false);
    }
    let map = BlockMap::lock(inode)?;
    if geometry.has_compression() && map.flags() & FLAG_COMPRESSED != 0 {
        return Ok(false);
    }
    let (mut n, last) = (pos / block, end / block);
    while n < last {
        match map.lookup_run(n, last - n)? {
            Run::Data { count, .. } => n += count,
            Run::Hole { .. } | Run::Packed { .. } | Run::Tail { .. } => return Ok(false),
        }
    }
    Ok(true)
}

/// The extent iomap's direct I/O asks for (`iomap_begin`) from `pos` (a
/// block boundary: [`direct_io_fits`] checked the request), at most
/// `length` bytes: a run of whole plain blocks contiguous on disk.
/// Anything else (not met while the inode lock held since the check
/// keeps the map as it was) is `ENOTBLK`: the request goes through the
/// page cache.
pub(crate) fn direct_extent(inode: &Inode, pos: u64, length: u64) -> Result<IoExtent> {
    let shift = inode.sb().info().geometry.block_shift();
    let n = pos >> shift;
    let blocks = length.div_ceil(1 << shift).max(1);
    match BlockMap::lock(inode)?.lookup_run(n, blocks)? {
        Run::Data { first, count } => Ok(IoExtent {
            offset: n << shift,
            disk: u64::from(first) << shift,
            length: count << shift,
        }),
        Run::Hole { .. } | Run::Packed { .. } | Run::Tail { .. } => Err(ENOTBLK),
    }
}

/// `bmap` (`FIBMAP`, and `swapon` through `generic_swapfile_activate`):
/// the disk block of file block `n` when it is a whole plain block inside
/// the file, of a file without the compressed flag; 0 (what `bmap` calls
/// a hole) for a hole, a tail in fragments, a compressed block, a packed
/// tail, a block at or past the end, every block of a file with the
/// compressed flag (its writeback moves blocks into compressed runs, as
/// `direct_io_fits` says), and a block map that breaks a rule.  The
/// file's dirty folios are written first, as `iomap_bmap` writes them:
/// a block that writeback would still move or fill is where it stays
/// once this returns, unless the file is written again (which a swap
/// file's `S_SWAPFILE` refuses).  ext2's `generic_block_bmap` answers
/// the same for its blocks, which are all plain.
pub(crate) fn bmap(inode: &Inode, n: u64) -> u64 {
    let geometry = inode.sb().info().geometry;
    if inode.write_and_wait().is_err() {
        return 0;
    }
    if n >= geometry.blocks_for(inode.size()) {
        return 0;
    }
    let Ok(map) = BlockMap::lock(inode) else {
        return 0;
    };
    if geometry.has_compression() && map.flags() & FLAG_COMPRESSED != 0 {
        return 0;
    }
    match map.lookup_run(n, 1) {
        Ok(Run::Data { first, .. }) => first.into(),
        _ => 0,
    }
}
