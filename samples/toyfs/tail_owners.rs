// SPDX-License-Identifier: GPL-2.0

//! Which in-use inodes name which tail block with their packed tail
//! (PACKED_TAILS): what the last tail counted in a tail block checks
//! before that block is freed (`tails::drop_tail`), since the header's
//! count alone cannot show damage that lowered it.
//!
//! Read from the inode table once a mount, the first time a tail
//! block's count comes down to its last tail, then kept: the kernel never
//! packs a tail, so after the mount pairs only go, each when its tail
//! leaves its block ([`Held::forget`], from `tails::drop_tail`, which
//! every path that lets a tail go calls once the inode without it is
//! stored or written).  A pass over the inode table for each tail block
//! freed made the removal of a tree of packed files quadratic: 1,200 tail
//! blocks of 8,192 inodes were some 10 million inode reads
//! (Documentation/performance.rst, "Removing packed tails").  A read
//! that fails (an inode whose tail's path cannot be followed) is kept
//! too: the owners are unknown for the rest of the mount, and every tail
//! block whose last counted tail leaves it is kept for fsck
//! ([`Held::other_owner`]).

use crate::{
    format::{address::ExtentError, block_map::slot_of, inode::Inode as DiskInode, le::get_u32},
    meta::{corrupt, InodeSlot},
    vfs::{Buffer, NofsScope, SuperBlock},
};
use kernel::{prelude::*, rbtree::RBTree, sync::MutexGuard};

/// The `(tail block, inode)` pairs of the packed tails on the disk, in
/// that order; `None` until read.  Or, once a read of them failed, the
/// error that made the owners unknown, kept for the rest of the mount.
/// And the tail blocks freed during the mount.
#[derive(Default)]
pub(crate) struct TailOwners {
    pairs: Option<RBTree<(u32, u32), ()>>,
    unknown: Option<Error>,
    /// The tail blocks freed during the mount by the last tail their
    /// count counted: never a tail block again (the kernel never packs a
    /// tail).  A tail that leaves one afterwards was in it beyond its
    /// count (damage), and leaves the block alone ([`Held::freed`]):
    /// a tail's inode is stored without it before it leaves its block
    /// ([`Held::other_owner`]), so the pairs read in between miss it, and
    /// the last counted tail, finding no other owner, frees the block.
    freed: RBTree<u32, ()>,
}

/// The pairs held by one tail leaving its tail block (`tails::drop_tail`)
/// from before it forgets its own pair until the block's count has
/// dropped, or the block is kept or freed: the tails of one block leave
/// it one after the other.  Two last tails of a block counted 1 (a count
/// lowered by damage) leaving at once each forgot their own pair, then
/// found the count at 1 and no other owner, and both freed the block (the
/// second free "block freed twice"; another file's block, had the block
/// been given to it in between).  Held, allocations do not recurse into
/// filesystems: reclaim may evict a toyfs inode, whose tail would wait
/// for the pairs.
pub(crate) struct Held<'a> {
    sb: &'a SuperBlock,
    owners: MutexGuard<'a, TailOwners>,
    // Dropped after `owners`: left once the lock is released.
    _nofs: NofsScope,
}

/// Holds the pairs of `sb` ([`Held`]).  Taken with no buffer locked and
/// no allocator lock held.
pub(crate) fn hold(sb: &SuperBlock) -> Held<'_> {
    let nofs = NofsScope::enter();
    Held {
        sb,
        owners: sb.info().tail_owners.lock(),
        _nofs: nofs,
    }
}

impl Held<'_> {
    /// Inode `ino`'s packed tail leaves tail block `block`, and its inode
    /// without it is stored: it names the block no more.
    pub(crate) fn forget(&mut self, ino: u32, block: u32) {
        if let Some(pairs) = self.owners.pairs.as_mut() {
            pairs.remove(&(block, ino));
        }
    }

    /// Whether tail block `block` was freed during the mount
    /// ([`TailOwners::freed`]).
    pub(crate) fn freed(&self, block: u32) -> bool {
        self.owners.freed.get(&block).is_some()
    }

    /// Records that tail block `block` is freed now: first, since that
    /// takes memory (`ENOMEM`, and the block is not freed).
    pub(crate) fn record_freed(&mut self, block: u32) -> Result {
        self.owners
            .freed
            .try_create_and_insert(block, (), GFP_KERNEL)?;
        Ok(())
    }

    /// An in-use inode other than `ino` whose packed tail is in tail
    /// block `block`, if there is one (`ino` itself is forgotten first,
    /// [`Held::forget`]).  The pairs are read from the inode table the
    /// first time (which holds every change of an inode's tail before its
    /// tail leaves its block: `tails::cut_off` and `tails::unpack` write
    /// the inode first, `tails::release` stores it); without memory for
    /// them, the table is searched for this block alone.
    ///
    /// A pointer that cannot be followed (an inode-table or indirect
    /// block unreadable, or a pointer named outside the data blocks or
    /// not as a whole plain block) makes the owners unknown: its error
    /// (`EUCLEAN`, `EIO`) is returned, now and for every later call of
    /// the mount, which reads the table no more (once each last tail, it
    /// made `rm -r` quadratic again), and a message naming the device
    /// says so once.  The caller keeps the block (left for fsck): a
    /// block another inode may name is never freed.
    pub(crate) fn other_owner(&mut self, ino: u32, block: u32) -> Result<Option<u32>> {
        if let Some(err) = self.owners.unknown {
            return Err(err);
        }
        if self.owners.pairs.is_none() {
            match read_pairs(self.sb) {
                Ok(pairs) => self.owners.pairs = Some(pairs),
                Err(err) if err == ENOMEM => {
                    return search_table(self.sb, ino, block).map_err(|err| self.unknown(err));
                }
                Err(err) => return Err(self.unknown(err)),
            }
        }
        let Some(pairs) = self.owners.pairs.as_ref() else {
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

    /// Records `err`, a failed read of the owners, as the mount's answer
    /// from now on (but `ENOMEM`, which may pass), with its message; returns it.
    fn unknown(&mut self, err: Error) -> Error {
        if err == ENOMEM {
            return err;
        }
        self.owners.unknown = Some(err);
        let sb = self.sb;
        if sb.info().errors.allow(sb.id_cstr()) {
            pr_err!(
                "{}: tail block owners unknown ({:?}): a tail block whose last counted tail leaves it is kept for fsck until the next mount\n",
                sb.id(),
                err
            );
        }
        err
    }
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
