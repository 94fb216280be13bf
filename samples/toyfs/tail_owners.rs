// SPDX-License-Identifier: GPL-2.0

//! Which in-use inodes name which tail block with their packed tail
//! (PACKED_TAILS): what the last tail counted in a tail block checks
//! before that block is freed (`tails::drop_tail`), since the header's
//! count alone cannot show damage that lowered it.
//!
//! Read from the inode table once a mount, the first time a tail
//! block's count comes down to its last tail, then kept: the kernel never
//! packs a tail, so after the mount pairs only go, each when its tail
//! leaves its block ([`forget`], from `tails::drop_tail`, which every
//! path that lets a tail go calls once the inode without it is stored or
//! written).  A pass over the inode table for each tail block freed made
//! the removal of a tree of packed files quadratic: 1,200 tail blocks of
//! 8,192 inodes were some 10 million inode reads
//! (Documentation/performance.rst, "Removing packed tails").

use crate::{
    format::{address::ExtentError, block_map::slot_of, inode::Inode as DiskInode, le::get_u32},
    meta::{corrupt, InodeSlot},
    vfs::{Buffer, NofsScope, SuperBlock},
};
use kernel::{prelude::*, rbtree::RBTree};

/// The `(tail block, inode)` pairs of the packed tails on the disk, in
/// that order; `None` until read.
#[derive(Default)]
pub(crate) struct TailOwners {
    pairs: Option<RBTree<(u32, u32), ()>>,
}

/// Inode `ino`'s packed tail has left tail block `block`, and its inode
/// without it is stored: it names the block no more.
pub(crate) fn forget(sb: &SuperBlock, ino: u32, block: u32) {
    if let Some(pairs) = sb.info().tail_owners.lock().pairs.as_mut() {
        pairs.remove(&(block, ino));
    }
}

/// An in-use inode other than `ino` whose packed tail is in tail block
/// `block`, if there is one (`ino` itself is forgotten first,
/// [`forget`]).  The pairs are read from the inode table the first time
/// (which holds every change of an inode's tail before its tail leaves
/// its block: `tails::cut_off` and `tails::unpack` write the inode
/// first, `tails::release` stores it); without memory for them, the
/// table is searched for this block alone.  A pointer that cannot be
/// followed (an indirect block unreadable, or named outside the data
/// blocks or not as a whole plain block) is the error (`EUCLEAN`,
/// `EIO`), and nothing is kept: the next call reads the table again.
pub(crate) fn other_owner(sb: &SuperBlock, ino: u32, block: u32) -> Result<Option<u32>> {
    let mut owners = sb.info().tail_owners.lock();
    if owners.pairs.is_none() {
        // Reclaim must not come back into toyfs for this memory: it may
        // evict an inode, whose tail would wait for this lock.
        let _nofs = NofsScope::enter();
        match read_pairs(sb) {
            Ok(pairs) => owners.pairs = Some(pairs),
            Err(err) if err == ENOMEM => {
                drop(owners);
                return search_table(sb, ino, block);
            }
            Err(err) => return Err(err),
        }
    }
    let Some(pairs) = owners.pairs.as_ref() else {
        return Ok(None);
    };
    // The block's first pair, and the next one should the first be
    // `ino`'s: one pair at most is.
    let Some(first) = pairs.cursor_lower_bound(&(block, 0)) else {
        return Ok(None);
    };
    let next = first.peek_next().map(|(&pair, ())| pair);
    Ok([Some(*first.current().0), next]
        .into_iter()
        .flatten()
        .find(|&(tail_block, owner)| tail_block == block && owner != ino)
        .map(|(_, owner)| owner))
}

/// Every `(tail block, inode)` pair of the inode table.
fn read_pairs(sb: &SuperBlock) -> Result<RBTree<(u32, u32), ()>> {
    let mut pairs = RBTree::new();
    for ino in 1..=sb.info().geometry.inode_count() {
        let disk = InodeSlot::read(sb, ino)?.get();
        if let Some(block) = packed_tail_block(sb, ino, &disk)? {
            pairs.try_create_and_insert((block, ino), (), GFP_KERNEL)?;
        }
    }
    Ok(pairs)
}

/// [`other_owner`] without the pairs: one pass over the inode table.
fn search_table(sb: &SuperBlock, ino: u32, block: u32) -> Result<Option<u32>> {
    for other in (1..=sb.info().geometry.inode_count()).filter(|&other| other != ino) {
        let disk = InodeSlot::read(sb, other)?.get();
        if packed_tail_block(sb, other, &disk)? == Some(block) {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

/// The tail block holding the packed tail of inode `ino`, `disk` as its
/// slot holds it: none if it is free or has no packed tail (its
/// `tail_offset` 0, or a size at a block boundary), else the block its
/// last block's pointer (in the inode, or an entry of an indirect block)
/// names as a whole plain block.
fn packed_tail_block(sb: &SuperBlock, ino: u32, disk: &DiskInode) -> Result<Option<u32>> {
    let geometry = sb.info().geometry;
    if disk.is_free() || disk.tail_offset == 0 || geometry.offset_in_block(disk.size) == 0 {
        return Ok(None);
    }
    let n = geometry.block_of(disk.size);
    let Some(slot) = slot_of(n, geometry.pointers_per_block()) else {
        return Ok(None);
    };
    let mut raw = disk.pointer(slot.inode_pointer());
    let (entries, levels) = slot.indirect_entries();
    for &entry in &entries[..levels] {
        let Some(extent) = geometry.decode_pointer(raw) else {
            return Ok(None);
        };
        geometry
            .judge_extent(&extent)
            .map_err(|error| corrupt(sb, ino, error.rule()))?;
        if !extent.is_whole_block(&geometry) {
            return Err(corrupt(sb, ino, ExtentError::NotWholeBlock.rule()));
        }
        let indirect = Buffer::read(sb, extent.block(&geometry))?;
        // CAST: an entry of a block, below its pointers.
        raw = get_u32(indirect.lock().data(), 4 * entry as usize);
    }
    Ok(geometry
        .decode_pointer(raw)
        .filter(|extent| extent.is_whole_block(&geometry))
        .map(|extent| extent.block(&geometry)))
}
