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
    format::{address::Extent, geometry::Geometry},
    meta::corrupt,
    vfs::{toyfs_err, SuperBlock},
};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// The byte of the bitmap holding block `block`'s bit, and the bit's mask.
fn bit_of<'a>(sb: &'a SuperBlock, block: u32) -> (&'a core::sync::atomic::AtomicU8, u8) {
    let info = sb.info();
    let (index, bit) = info.geometry.bitmap_position(block);
    // The bitmap covers every block below `block_count`, which callers
    // check first (`is_data_block`).
    let byte = &info.bitmap[index as usize].atomic_bytes()[bit / 8];
    (byte, 1 << (bit % 8))
}

/// Whether the bitmap marks data block `block` in use.
pub(crate) fn is_in_use(sb: &SuperBlock, block: u32) -> bool {
    let (byte, mask) = bit_of(sb, block);
    byte.load(Ordering::Acquire) & mask != 0
}

/// Whether the bitmap marks every fragment of `extent` in use (its block
/// is a data block: `Geometry::judge_extent` accepted it).
pub(crate) fn extent_in_use(sb: &SuperBlock, extent: &Extent) -> bool {
    extent.fragments().all(|fragment| is_in_use(sb, fragment))
}

/// Marks the bitmap block holding block `block`'s bit dirty.
fn mark_bitmap_dirty(sb: &SuperBlock, block: u32) {
    let info = sb.info();
    let (index, _) = info.geometry.bitmap_position(block);
    info.bitmap[index as usize].mark_dirty();
}

/// Blocks set aside for one allocation; those not taken go back to the
/// free count on drop.
pub(crate) struct Reservation<'a> {
    sb: &'a SuperBlock,
    left: u32,
}

/// Sets aside `count` free blocks, or fails with `ENOSPC` having set
/// aside none.
pub(crate) fn reserve(sb: &SuperBlock, count: u32) -> Result<Reservation<'_>> {
    let mut alloc = sb.info().alloc.lock();
    if count > alloc.free_blocks {
        return Err(ENOSPC);
    }
    alloc.free_blocks -= count;
    Ok(Reservation { sb, left: count })
}

/// The first free data block at or after `goal`, wrapping around to the
/// first data block.
fn find_free(sb: &SuperBlock, geometry: &Geometry, goal: u32) -> Option<u32> {
    let (first, end) = (geometry.first_data_block(), geometry.block_count());
    let goal = if (first..end).contains(&goal) {
        goal
    } else {
        first
    };
    let search = |from: u32, to: u32| {
        let mut block = from;
        while block < to {
            let (byte, mask) = bit_of(sb, block);
            let bits = byte.load(Ordering::Acquire);
            if bits == 0xff && mask == 1 && block + 8 <= to {
                // A whole byte in use: the next 8 blocks at once.
                block += 8;
                continue;
            }
            if bits & mask == 0 {
                return Some(block);
            }
            block += 1;
        }
        None
    };
    search(goal, end).or_else(|| search(first, goal))
}

impl Reservation<'_> {
    /// Takes up to `max` contiguous free blocks of the reservation, from
    /// the first free one at or after `goal`: `(first, count)`.
    pub(crate) fn take_run(&mut self, goal: u32, max: u32) -> Result<(u32, u32)> {
        let sb = self.sb;
        let geometry = sb.info().geometry;
        let want = max.min(self.left);
        if want == 0 {
            return Err(ENOSPC);
        }
        let mut alloc = sb.info().alloc.lock();
        if alloc.bitmap_damaged {
            return Err(corrupt(sb, 0, "bitmap: a metadata or padding bit is clear"));
        }
        let Some(first) = find_free(sb, &geometry, goal) else {
            toyfs_err!(
                "{}: free block count says free, bitmap says full\n",
                sb.id()
            );
            return Err(ENOSPC);
        };
        let mut count = 0;
        while count < want
            && first + count < geometry.block_count()
            && !is_in_use(sb, first + count)
        {
            let (byte, mask) = bit_of(sb, first + count);
            byte.fetch_or(mask, Ordering::AcqRel);
            if count == 0 || geometry.bitmap_position(first + count).1 == 0 {
                mark_bitmap_dirty(sb, first + count);
            }
            count += 1;
        }
        alloc.hint = first + count;
        self.left -= count;
        Ok((first, count))
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.left > 0 {
            self.sb.info().alloc.lock().free_blocks += self.left;
        }
    }
}

/// Marks data blocks `first..first + count` of inode `ino` free.
pub(crate) fn free_run(sb: &SuperBlock, ino: u32, first: u32, count: u32) -> Result {
    let geometry = sb.info().geometry;
    let mut alloc = sb.info().alloc.lock();
    for block in first..first + count {
        if !geometry.is_data_block(block) {
            return Err(corrupt(sb, ino, "block pointer outside the data blocks"));
        }
        let (byte, mask) = bit_of(sb, block);
        if byte.fetch_and(!mask, Ordering::AcqRel) & mask == 0 {
            return Err(corrupt(sb, ino, "block freed twice"));
        }
        if block == first || geometry.bitmap_position(block).1 == 0 {
            mark_bitmap_dirty(sb, block);
        }
        alloc.free_blocks += 1;
    }
    Ok(())
}

/// Whether the bitmap marks every metadata block, and every padding bit
/// past the last block, in use, as the format requires.
pub(crate) fn reserved_bits_set(sb: &SuperBlock) -> bool {
    let geometry = sb.info().geometry;
    let bits = u64::from(geometry.bitmap_blocks()) << geometry.bitmap_shift();
    let padding = u64::from(geometry.block_count())..bits;
    (0..geometry.first_data_block()).all(|block| is_in_use(sb, block))
        // CAST: below the bitmap's bits, at most 2^32 + 2^15.
        && padding.into_iter().all(|bit| {
            let (index, bit) = (bit >> geometry.bitmap_shift(), bit & ((1 << geometry.bitmap_shift()) - 1));
            let byte = &sb.info().bitmap[index as usize].atomic_bytes()[bit as usize / 8];
            byte.load(Ordering::Acquire) & (1 << (bit % 8)) != 0
        })
}

/// The free data blocks according to the bitmap (the count of a dirty
/// superblock may be stale): its zero bits from the first data block to
/// the last block, a byte at a time.
pub(crate) fn count_free(sb: &SuperBlock) -> u32 {
    let geometry = sb.info().geometry;
    let (first, end) = (geometry.first_data_block(), geometry.block_count());
    let mut free = 0;
    let mut block = first;
    while block < end {
        let (byte, mask) = bit_of(sb, block);
        if mask == 1 && block + 8 <= end {
            free += (!byte.load(Ordering::Acquire)).count_ones();
            block += 8;
        } else {
            free += u32::from(byte.load(Ordering::Acquire) & mask == 0);
            block += 1;
        }
    }
    free
}
