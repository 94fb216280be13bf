// SPDX-License-Identifier: GPL-2.0

//! Block allocation: the bitmap and the free-block count (ext2's
//! balloc.c).
//!
//! The bitmap blocks stay in memory for the whole mount (`SbInfo::bitmap`)
//! and their bits are read and written as atomics, so that a pointer can
//! be checked against the bitmap without a lock, and the allocator's lock
//! never waits for I/O.  An allocation first reserves all the blocks it
//! may need (all or none: `ENOSPC`), then takes runs of contiguous free
//! blocks from a goal on.

use crate::{
    format::{address::Extent, bitmap, geometry::Geometry},
    meta::corrupt,
    vfs::{toyfs_err, Buffer, SuperBlock},
};
use core::{
    ops::Range,
    sync::atomic::{AtomicU8, Ordering},
};
use kernel::prelude::*;

/// The byte of the bitmap holding fragment `fragment`'s bit (block
/// `fragment` without FRAGMENTS), and the bit's mask.
#[inline]
fn bit_of<'a>(sb: &'a SuperBlock, fragment: u32) -> (&'a core::sync::atomic::AtomicU8, u8) {
    let info = sb.info();
    let (index, bit) = info.geometry.bitmap_position(fragment);
    // The bitmap covers every fragment below `fragment_count`, which
    // callers check first (`is_data_block`, `judge_extent`).
    let byte = &info.bitmap[index as usize].atomic_bytes()[bit / 8];
    (byte, 1 << (bit % 8))
}

/// The bits of data block `block`'s fragments (one bit without
/// FRAGMENTS), from bit 0 for its first fragment: the `B / F` (at most 8,
/// a power of two) bits of one bitmap byte.
#[inline]
fn block_bits(sb: &SuperBlock, geometry: &Geometry, block: u32) -> u8 {
    let fragment = block << geometry.fragment_shift();
    let (byte, _) = bit_of(sb, fragment);
    let all = (1u16 << geometry.fragments_per_block()) - 1;
    // CAST: `all` is at most 0xff.
    (byte.load(Ordering::Acquire) >> (fragment % 8)) & all as u8
}

/// Whether the bitmap marks data fragment `fragment` (block without
/// FRAGMENTS) in use.
#[inline]
pub(crate) fn is_in_use(sb: &SuperBlock, fragment: u32) -> bool {
    let (byte, mask) = bit_of(sb, fragment);
    byte.load(Ordering::Acquire) & mask != 0
}

/// How many of the `count` fragments (blocks without FRAGMENTS) from
/// `first` on the bitmap marks in use one after the other, from the first:
/// `count` if all are.  The fragments are below `fragment_count`.  A
/// lookup checks the pointers of a run this way, up to eight bits at a
/// time (`bitmap::set_run`), where [`is_in_use`] for each would locate
/// every bit anew.
pub(crate) fn in_use_prefix(sb: &SuperBlock, first: u32, count: u32) -> u32 {
    let info = sb.info();
    let mut done = 0;
    while done < count {
        let (index, bit) = info.geometry.bitmap_position(first + done);
        let bytes = info.bitmap[index as usize].atomic_bytes();
        // CAST: at most `count - done`, a `u32`.
        let here = (bytes.len() * 8 - bit).min((count - done) as usize);
        let set = bitmap::set_run(bytes, bit, here);
        // CAST: at most `here`.
        done += set as u32;
        if set < here {
            break;
        }
    }
    done
}

/// Whether the bitmap marks every fragment of `extent` in use (its block
/// is a data block: `Geometry::judge_extent` accepted it).  A block's
/// fragments are the bits of one bitmap byte (`block_bits`), so a run
/// within one block is tested with one load and a mask; a run that is
/// not (never accepted by `judge_extent`) bit by bit.
#[inline]
pub(crate) fn extent_in_use(sb: &SuperBlock, extent: &Extent) -> bool {
    let shift = extent.fragment % 8;
    if extent.count == 0 || shift + extent.count > 8 {
        return extent.fragments().all(|fragment| is_in_use(sb, fragment));
    }
    let (byte, _) = bit_of(sb, extent.fragment);
    // CAST: `shift + count` is at most 8, so the mask fits a byte.
    let mask = (((1u16 << extent.count) - 1) << shift) as u8;
    byte.load(Ordering::Acquire) & mask == mask
}

/// The bit of bitmap block `index` in a mask of bitmap blocks
/// (`InodeInfo::bitmap_blocks`): bit `index % 64`.
#[inline]
pub(crate) fn bitmap_bit(index: usize) -> u64 {
    1 << (index % 64)
}

/// Marks the bitmap block holding fragment `fragment`'s bit dirty, and
/// returns its bit in a mask of bitmap blocks.  The bitmap in memory is
/// the truth for the whole mount: a block whose last write failed is
/// written again.
fn mark_bitmap_dirty(sb: &SuperBlock, fragment: u32) -> u64 {
    let info = sb.info();
    let (index, _) = info.geometry.bitmap_position(fragment);
    info.bitmap[index as usize].mark_dirty();
    bitmap_bit(index as usize)
}

/// Fragments (blocks without FRAGMENTS) set aside for one allocation;
/// those not taken go back to the free count on drop.
pub(crate) struct Reservation<'a> {
    sb: &'a SuperBlock,
    left: u32,
    /// The bitmap blocks changed by the fragments taken (`bitmap_bit`).
    changed: u64,
    /// Blocks all free until fragments of them were taken (for a tail),
    /// the first `fresh_len`: their cached buffers leave the lists of
    /// the files that freed them when the reservation is dropped (see
    /// [`Reservation::take_fragments`]).
    fresh: [u32; FRESH_MAX],
    fresh_len: usize,
}

/// The fresh blocks a [`Reservation`] notes: one allocation takes
/// fragments for one tail, at most.
const FRESH_MAX: usize = 4;

/// Sets aside `count` free fragments (blocks without FRAGMENTS), or
/// fails with `ENOSPC` having set aside none.
pub(crate) fn reserve(sb: &SuperBlock, count: u32) -> Result<Reservation<'_>> {
    let mut alloc = sb.info().alloc.lock();
    if count > alloc.free_blocks {
        return Err(ENOSPC);
    }
    alloc.free_blocks -= count;
    Ok(Reservation {
        sb,
        left: count,
        changed: 0,
        fresh: [0; FRESH_MAX],
        fresh_len: 0,
    })
}

/// The first data block at or after `goal` (wrapping around to the first
/// data block) for which `fits` holds, given the bits of its fragments.
fn find_block(
    sb: &SuperBlock,
    geometry: &Geometry,
    goal: u32,
    fits: impl Fn(u8) -> bool,
) -> Option<u32> {
    let (first, end) = (geometry.first_data_block(), geometry.block_count());
    let goal = if (first..end).contains(&goal) {
        goal
    } else {
        first
    };
    find_block_in(sb, geometry, goal..end, &fits)
        .or_else(|| find_block_in(sb, geometry, first..goal, &fits))
}

/// The first block of `blocks` (data blocks) for which `fits` holds.
///
/// Where each block's bits lie is worked out here, from shifts read once
/// per scan, rather than by [`block_bits`] for each block: writeback
/// scans a window of 128 blocks for each block it compresses
/// (`take_shared_fragments`), and the geometry's accessors, called anew
/// for every block of every scan, were a fifth of the time of a
/// sequential compressed write (Documentation/performance.rst, "the
/// write row").
fn find_block_in(
    sb: &SuperBlock,
    geometry: &Geometry,
    blocks: Range<u32>,
    fits: impl Fn(u8) -> bool,
) -> Option<u32> {
    let bitmap = &sb.info().bitmap;
    let shift = geometry.fragment_shift();
    let bitmap_shift = geometry.bitmap_shift();
    let whole_bytes = shift == 0;
    // CAST: at most 0xff, `B / F` being at most 8.
    let all = ((1u16 << (1u32 << shift)) - 1) as u8;
    // The bitmap block of the blocks being looked at, and its index.
    let mut bytes: Option<(u32, &[AtomicU8])> = None;
    let mut block = blocks.start;
    while block < blocks.end {
        let fragment = block << shift;
        let index = fragment >> bitmap_shift;
        let in_block = match bytes {
            Some((at, in_block)) if at == index => in_block,
            _ => {
                // The bitmap covers every fragment below
                // `fragment_count`, as `bit_of` relies on: `blocks` are
                // data blocks.
                let in_block = bitmap.get(index as usize)?.atomic_bytes();
                bytes = Some((index, in_block));
                in_block
            }
        };
        // CAST: a bit index in a block of at most 4096 bytes.
        let bit = (fragment & ((1 << bitmap_shift) - 1)) as usize;
        let byte = in_block.get(bit / 8)?.load(Ordering::Acquire);
        // `blocks.end - block`, not `block + 8`: with `u32::MAX` blocks
        // that would overflow at the last byte.
        if whole_bytes && block % 8 == 0 && blocks.end - block >= 8 && byte == 0xff {
            // A whole byte in use: the next 8 blocks at once.
            block += 8;
            continue;
        }
        if fits((byte >> (fragment % 8)) & all) {
            return Some(block);
        }
        block += 1;
    }
    None
}

/// How far past its goal [`Reservation::take_run_in_step`] looks for a
/// run in step before it takes the first free run.
const STEP_WINDOW: u32 = 1024;

/// The first block `b` of `goal, goal + step, ...` within
/// [`STEP_WINDOW`] blocks of `goal` (data blocks only) whose blocks
/// `b..b + count` are all free (every fragment of each).
fn find_run_in_step(
    sb: &SuperBlock,
    geometry: &Geometry,
    goal: u32,
    count: u32,
    step: u32,
) -> Option<u32> {
    let (first, end) = (geometry.first_data_block(), geometry.block_count());
    let last = goal.saturating_add(STEP_WINDOW).min(end);
    let mut block = goal;
    while block >= first && block.saturating_add(count) <= last {
        if (block..block + count).all(|b| block_bits(sb, geometry, b) == 0) {
            return Some(block);
        }
        block = block.saturating_add(step);
    }
    None
}

/// The first of `count` contiguous clear bits among the `per_block` low
/// bits of `bits`.
fn free_fragments_in(bits: u8, per_block: u32, count: u32) -> Option<u32> {
    let want = (1u16 << count) - 1;
    (0..=per_block - count).find(|&at| u16::from(bits) & (want << at) == 0)
}

impl Reservation<'_> {
    /// Marks fragments `first..first + count` in use, taken from the
    /// reservation; the allocator's lock is held.
    fn claim(&mut self, first: u32, count: u32) {
        for fragment in first..first + count {
            let (byte, mask) = bit_of(self.sb, fragment);
            byte.fetch_or(mask, Ordering::AcqRel);
            if fragment == first || self.sb.info().geometry.bitmap_position(fragment).1 == 0 {
                self.changed |= mark_bitmap_dirty(self.sb, fragment);
            }
        }
        self.left -= count;
    }

    /// The bitmap blocks that the fragments taken so far changed
    /// (`bitmap_bit`).
    pub(crate) fn changed(&self) -> u64 {
        self.changed
    }

    /// Takes up to `max` contiguous free whole blocks of the reservation,
    /// from the first free one at or after block `goal`: `(first block,
    /// count)`.  With FRAGMENTS a whole block is one with all its
    /// fragments free.
    pub(crate) fn take_run(&mut self, goal: u32, max: u32) -> Result<(u32, u32)> {
        self.take_run_in_step(goal, max, 1)
    }

    /// [`Reservation::take_run`], preferring a run that starts `step`
    /// blocks (a power of two) apart from `goal`: the first of those
    /// blocks within [`STEP_WINDOW`] blocks of `goal` whose next
    /// `min(max, step)` blocks are all free; else as `take_run`.  A run of
    /// file data put at the same offset in a page of the device as in a
    /// page of the file stays so (`inode::page_aligned`).
    pub(crate) fn take_run_in_step(
        &mut self,
        goal: u32,
        max: u32,
        step: u32,
    ) -> Result<(u32, u32)> {
        let sb = self.sb;
        let geometry = sb.info().geometry;
        let per_block = geometry.fragments_per_block();
        let want = max.min(self.left / per_block);
        if want == 0 {
            return Err(ENOSPC);
        }
        let alloc = sb.info().alloc.lock();
        if alloc.bitmap_damaged {
            return Err(corrupt(sb, 0, "bitmap: a metadata or padding bit is clear"));
        }
        let in_step = if step > 1 {
            find_run_in_step(sb, &geometry, goal, want.min(step), step)
        } else {
            None
        };
        let Some(first) = in_step.or_else(|| find_block(sb, &geometry, goal, |bits| bits == 0))
        else {
            drop(alloc);
            return Err(self.full());
        };
        let mut count = 0;
        while count < want
            && first + count < geometry.block_count()
            && block_bits(sb, &geometry, first + count) == 0
        {
            self.claim((first + count) << geometry.fragment_shift(), per_block);
            count += 1;
        }
        let mut alloc = alloc;
        alloc.hint = first + count;
        Ok((first, count))
    }

    /// Takes `count` (below `B / F`) contiguous free fragments in one
    /// block of the reservation, for a tail: in a block already partly in
    /// use if one near block `goal` has room (as UFS fills its fragmented
    /// blocks first; anywhere on a nearly full image), else at the start
    /// of a free block, else in a block partly in use anywhere.
    ///
    /// A block all free until now is noted: its cached buffer may still
    /// be on the list of the file that freed it (`Buffer::leave_lists`),
    /// and leaves it when the reservation is dropped, not here: a caller
    /// may hold an indirect block's buffer locked (`BlockMap::allocate`),
    /// and the `buffer_lists` lock is taken before buffer locks
    /// (`mmb_sync` locks the buffers it writes).
    pub(crate) fn take_fragments(&mut self, goal: u32, count: u32) -> Result<Extent> {
        match self.take_fragments_in(goal, count, true)? {
            Some((extent, fresh)) => {
                if fresh && self.fresh_len < FRESH_MAX {
                    self.fresh[self.fresh_len] = extent.block(&self.sb.info().geometry);
                    self.fresh_len += 1;
                }
                Ok(extent)
            }
            None => Err(self.full()),
        }
    }

    /// `take_fragments` in a block already partly in use only (with
    /// `free_block`, as `take_fragments` says); `None` if none has room.
    /// With the run, whether its block was all free before.
    /// Without `free_block` only the blocks less than [`SHARED_WINDOW`]
    /// away from `goal` are looked at, unless the image is nearly full
    /// ([`NEARLY_FULL`]).
    fn take_fragments_in(
        &mut self,
        goal: u32,
        count: u32,
        free_block: bool,
    ) -> Result<Option<(Extent, bool)>> {
        let sb = self.sb;
        let geometry = sb.info().geometry;
        let per_block = geometry.fragments_per_block();
        if count == 0 || count >= per_block || count > self.left {
            return Err(ENOSPC);
        }
        let mut alloc = sb.info().alloc.lock();
        if alloc.bitmap_damaged {
            return Err(corrupt(sb, 0, "bitmap: a metadata or padding bit is clear"));
        }
        let full = ((1u16 << per_block) - 1) as u8;
        let partly = |bits: u8| {
            bits != 0 && bits != full && free_fragments_in(bits, per_block, count).is_some()
        };
        // Within the window lie the blocks that the tails and compressed
        // blocks written just before left partly used.  Writeback asks
        // for each block it compresses, and each new file's tail asks: a
        // scan of the whole bitmap each time made a sequential compressed
        // write tens of times slower than a plain one, and creating small
        // files quadratic in their number (each fresh block came after a
        // scan of every block for a partly used one).  On a nearly full
        // image the whole bitmap is searched first: a whole block freed
        // there is what `write_begin` and the others wait for after
        // `ENOSPC` (`write::retry_after_writeback`), and free fragments
        // are best used up before the last free blocks.
        let (first, end) = (geometry.first_data_block(), geometry.block_count());
        let near = goal.saturating_sub(SHARED_WINDOW).max(first)
            ..goal.saturating_add(SHARED_WINDOW).min(end);
        let data = geometry.fragment_count() - geometry.first_data_fragment();
        let nearly_full = alloc.free_blocks < data / NEARLY_FULL;
        let anywhere = || find_block(sb, &geometry, goal, partly);
        let near_or_anywhere = find_block_in(sb, &geometry, near, partly)
            .or_else(|| nearly_full.then(anywhere).flatten());
        let found = if free_block {
            // Then a free block, and only if there is none a block partly
            // used anywhere: `ENOSPC` only when none has room.
            near_or_anywhere.or_else(|| {
                let fresh = find_block(sb, &geometry, goal, |bits| bits == 0);
                if let Some(block) = fresh {
                    // The next tails start their search here.
                    alloc.hint = block;
                }
                fresh.or_else(|| (!nearly_full).then(anywhere).flatten())
            })
        } else {
            near_or_anywhere
        };
        let Some(block) = found else {
            return Ok(None);
        };
        let bits = block_bits(sb, &geometry, block);
        let at = free_fragments_in(bits, per_block, count).ok_or(ENOSPC)?;
        let fragment = (block << geometry.fragment_shift()) + at;
        self.claim(fragment, count);
        Ok(Some((
            Extent {
                fragment,
                count,
                compressed: false,
            },
            bits == 0,
        )))
    }

    /// For `old`, a run in use that is to hold `count` fragments (more
    /// than it has, at most `B / F`): a run of `count` fragments in
    /// `old`'s own block made of `old` and free fragments, whose free
    /// ones, `count - old.count`, are taken from the reservation.  `old`
    /// extended in place if the fragments right after it are free (UFS's
    /// `ffs_fragextend`), else the first such run that holds `old` (for
    /// `B / F` the block itself, its other fragments free); `None`,
    /// having taken nothing, if the block has none.  Nothing of `old` is
    /// given up, so nothing is freed.
    pub(crate) fn take_around(&mut self, old: &Extent, count: u32) -> Result<Option<Extent>> {
        let sb = self.sb;
        let geometry = sb.info().geometry;
        let per_block = geometry.fragments_per_block();
        if count <= old.count || count > per_block {
            return Err(EINVAL);
        }
        if count - old.count > self.left {
            return Err(ENOSPC);
        }
        let alloc = sb.info().alloc.lock();
        if alloc.bitmap_damaged {
            return Err(corrupt(sb, 0, "bitmap: a metadata or padding bit is clear"));
        }
        let block = old.block(&geometry);
        let first = block << geometry.fragment_shift();
        let start = old.fragment - first;
        // The block's fragments in use by others than `old` (at most 8
        // bits, `count` at most 8: no shift overflows a `u16`).
        let own = ((1u16 << old.count) - 1) << start;
        let others = u16::from(block_bits(sb, &geometry, block)) & !own;
        let want = (1u16 << count) - 1;
        let fits = |at: u32| others & (want << at) == 0;
        // The runs of `count` within the block that hold `old`.
        let runs = (start + old.count).saturating_sub(count)..=start.min(per_block - count);
        let at = if runs.contains(&start) && fits(start) {
            Some(start)
        } else {
            runs.into_iter().find(|&at| fits(at))
        };
        let Some(at) = at else {
            return Ok(None);
        };
        // `old` lies within `at..at + count`: the free fragments before
        // it and after it.
        if at < start {
            self.claim(first + at, start - at);
        }
        let end = start + old.count;
        if at + count > end {
            self.claim(first + end, at + count - end);
        }
        Ok(Some(Extent {
            fragment: first + at,
            count,
            compressed: false,
        }))
    }

    /// The free count says free, the bitmap has no room of the shape
    /// asked for: `ENOSPC` (with fragments, free space may be scattered
    /// over partly used blocks, as in UFS).
    fn full(&self) -> Error {
        if !self.sb.info().geometry.has_fragments() {
            toyfs_err!(
                "{}: free block count says free, bitmap says full\n",
                self.sb.id()
            );
        }
        ENOSPC
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        // Before the allocator's lock: never held while waiting for I/O.
        for &block in &self.fresh[..self.fresh_len] {
            Buffer::leave_lists(self.sb, block);
        }
        if self.left > 0 {
            self.sb.info().alloc.lock().free_blocks += self.left;
        }
    }
}

/// How far from its own block a compressed block's data may go to share
/// a block already partly in use (`take_shared_fragments`), unless the
/// image is nearly full.
const SHARED_WINDOW: u32 = 64;

/// An image with less than this fraction (1/N) of its data fragments free
/// is nearly full (`take_shared_fragments`).
const NEARLY_FULL: u32 = 8;

/// `count` (below `B / F`) contiguous free fragments in a block already
/// partly in use, less than [`SHARED_WINDOW`] blocks from block `goal`
/// (the block the compressed block leaves; anywhere on a nearly full
/// image), for a compressed block that
/// leaves its whole block (`packed::write_compressed`): `None`, having
/// taken nothing, if no such block has room or fewer than `count`
/// fragments are free.  Never a fresh block: the point is to keep whole
/// blocks whole.
pub(crate) fn take_shared_fragments(
    sb: &SuperBlock,
    goal: u32,
    count: u32,
) -> Result<Option<Extent>> {
    let Ok(mut reservation) = reserve(sb, count) else {
        return Ok(None);
    };
    Ok(reservation
        .take_fragments_in(goal, count, false)?
        .map(|(extent, _)| extent))
}

/// Marks data fragments `first..first + count` (blocks without
/// FRAGMENTS) of inode `ino` free; returns the bitmap blocks changed
/// (`bitmap_bit`).  All or none: every fragment is checked (a data
/// fragment, in use) under the allocator's lock before any is freed, so
/// that a damaged image (`EUCLEAN`) leaves the bitmap and the free count
/// as they were.  No I/O: the bitmap is in memory for the whole mount.
pub(crate) fn free_run(sb: &SuperBlock, ino: u32, first: u32, count: u32) -> Result<u64> {
    let geometry = sb.info().geometry;
    let mut alloc = sb.info().alloc.lock();
    let mut changed = 0;
    let end = first
        .checked_add(count)
        .ok_or_else(|| corrupt(sb, ino, "block pointer outside the data blocks"))?;
    for fragment in first..end {
        if !geometry.is_data_block(geometry.block_of_fragment(fragment)) {
            return Err(corrupt(sb, ino, "block pointer outside the data blocks"));
        }
        if !is_in_use(sb, fragment) {
            return Err(corrupt(sb, ino, "block freed twice"));
        }
    }
    // The free count of a cleanly unmounted superblock is the disk's,
    // checked only against the data fragments (`Superblock::parse`): a
    // damaged one may say more free than the bitmap has, and grow past
    // `u32::MAX` as fragments the bitmap marks in use are freed.
    let free = alloc
        .free_blocks
        .checked_add(count)
        .ok_or_else(|| corrupt(sb, ino, "free count larger than what can be free"))?;
    for fragment in first..end {
        let (byte, mask) = bit_of(sb, fragment);
        byte.fetch_and(!mask, Ordering::AcqRel);
        if fragment == first || geometry.bitmap_position(fragment).1 == 0 {
            changed |= mark_bitmap_dirty(sb, fragment);
        }
    }
    alloc.free_blocks = free;
    // After the bits: a path checked from now on sees them (`LastPath`).
    sb.info().frees.fetch_add(1, Ordering::AcqRel);
    Ok(changed)
}

/// Marks the fragments of `extent` of inode `ino` free; returns the
/// bitmap blocks changed (`bitmap_bit`).
pub(crate) fn free_extent(sb: &SuperBlock, ino: u32, extent: &Extent) -> Result<u64> {
    free_run(sb, ino, extent.fragment, extent.count)
}

/// Marks whole data blocks `first..first + count` of inode `ino` free;
/// returns the bitmap blocks changed (`bitmap_bit`).
pub(crate) fn free_blocks(sb: &SuperBlock, ino: u32, first: u32, count: u32) -> Result<u64> {
    let shift = sb.info().geometry.fragment_shift();
    free_run(sb, ino, first << shift, count << shift)
}

/// Whether the bitmap marks every metadata fragment, and every padding
/// bit past the last fragment, in use, as the format requires.
pub(crate) fn reserved_bits_set(sb: &SuperBlock) -> bool {
    let geometry = sb.info().geometry;
    let bits = u64::from(geometry.bitmap_blocks()) << geometry.bitmap_shift();
    let padding = u64::from(geometry.fragment_count())..bits;
    (0..geometry.first_data_fragment()).all(|fragment| is_in_use(sb, fragment))
        // CAST: below the bitmap's bits, at most 2^32 + 2^15.
        && padding.into_iter().all(|bit| {
            let (index, bit) = (bit >> geometry.bitmap_shift(), bit & ((1 << geometry.bitmap_shift()) - 1));
            let byte = &sb.info().bitmap[index as usize].atomic_bytes()[bit as usize / 8];
            byte.load(Ordering::Acquire) & (1 << (bit % 8)) != 0
        })
}

/// The free data fragments (blocks without FRAGMENTS) according to the
/// bitmap (the count of a dirty superblock may be stale): its zero bits
/// from the first data fragment to the last, a byte at a time.
pub(crate) fn count_free(sb: &SuperBlock) -> u32 {
    let geometry = sb.info().geometry;
    let (first, end) = (geometry.first_data_fragment(), geometry.fragment_count());
    let mut free = 0;
    let mut fragment = first;
    while fragment < end {
        let (byte, mask) = bit_of(sb, fragment);
        // `end - fragment`, not `fragment + 8`: an image of `u32::MAX`
        // blocks would overflow at its last byte.
        if mask == 1 && end - fragment >= 8 {
            free += (!byte.load(Ordering::Acquire)).count_ones();
            fragment += 8;
        } else {
            free += u32::from(byte.load(Ordering::Acquire) & mask == 0);
            fragment += 1;
        }
    }
    free
}
