// SPDX-License-Identifier: GPL-2.0

//! What every change of metadata needs: inode-table slots, checked block
//! pointers, the report of a broken rule of the format, and the report of
//! what a change left for fsck.

use crate::{
    balloc,
    format::{
        address::{Extent, ExtentError},
        constants::INODE_SIZE,
        inode::Inode as DiskInode,
    },
    vfs::{Buffer, SuperBlock},
};
use kernel::prelude::*;

/// Logs (ratelimited per filesystem) a broken rule of the format met in
/// inode `ino` of `sb`, 0 for none, and returns `EUCLEAN`
/// (`EFSCORRUPTED`).
#[cold]
pub(crate) fn corrupt(sb: &SuperBlock, ino: u32, rule: &str) -> Error {
    if sb.info().errors.allow(sb.id_cstr()) {
        kernel::pr_err!("{}: corrupted: inode {}: {}\n", sb.id(), ino, rule);
    }
    EUCLEAN
}

/// Reports (ratelimited, naming the device) that a change of inode
/// `ino` (`what`: its packed tail left its file, a failed creation
/// undone) was made without `left` being let go of (`err`): the inode is
/// as the call left it, and fsck finds the rest.
pub(crate) fn report_left_for_fsck(sb: &SuperBlock, ino: u32, what: &str, left: &str, err: Error) {
    if sb.info().errors.allow(sb.id_cstr()) {
        kernel::pr_err!(
            "{}: inode {}: {} ({:?}): {} left for fsck\n",
            sb.id(),
            ino,
            what,
            err,
            left
        );
    }
}

/// The inode-table block holding one inode, and where in it.  Its 128
/// bytes are read and changed under the buffer's lock, since the block
/// holds other inodes too.
pub(crate) struct InodeSlot {
    table: Buffer,
    offset: usize,
}

impl InodeSlot {
    /// The slot of inode `ino` of `sb`.
    pub(crate) fn read(sb: &SuperBlock, ino: u32) -> Result<Self> {
        let geometry = sb.info().geometry;
        if ino == 0 || ino > geometry.inode_count() {
            return Err(corrupt(sb, ino, "inode number out of range"));
        }
        let (block, offset) = geometry.inode_location(ino);
        Ok(Self {
            table: Buffer::read(sb, block)?,
            offset,
        })
    }

    /// The inode's 128 bytes, decoded.
    pub(crate) fn get(&self) -> DiskInode {
        self.get_and_whether_on_disk().0
    }

    /// The inode's 128 bytes, decoded, and whether the disk holds them
    /// ([`crate::vfs::BufferGuard::is_on_disk`]: not if writeback stored
    /// the inode into the block without waiting and the block is not
    /// written yet, or its write failed).
    pub(crate) fn get_and_whether_on_disk(&self) -> (DiskInode, bool) {
        let table = self.table.lock();
        (
            DiskInode::decode(slot_bytes(table.data(), self.offset)),
            table.is_on_disk(),
        )
    }

    /// Changes the inode with `change`, and marks the block dirty.
    pub(crate) fn update(&self, change: impl FnOnce(&mut DiskInode)) {
        self.update_then(change, || ());
    }

    /// [`InodeSlot::update`], calling `then` once the inode is changed,
    /// before the block's lock goes: whoever reads the block under its
    /// lock sees the change and what `then` did, or neither.
    pub(crate) fn update_then(&self, change: impl FnOnce(&mut DiskInode), then: impl FnOnce()) {
        let range = self.offset..self.offset + INODE_SIZE;
        let mut table = self.table.lock();
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(&table.data()[range.clone()]);
        let mut inode = DiskInode::decode(&raw);
        change(&mut inode);
        table.data_mut()[range].copy_from_slice(&inode.encode());
        then();
        drop(table);
        self.table.mark_dirty();
    }

    /// The slot's 128 bytes become `inode` (every byte of a slot is one
    /// of its fields: nothing of the slot is kept, so nothing is read
    /// and decoded first, as [`InodeSlot::update`] does), and the block
    /// is marked dirty: true.  With `unless_on_disk`, for a write that
    /// must then reach the disk ([`InodeSlot::sync`]): false and nothing
    /// marked if the slot holds those bytes already and the disk holds
    /// the block ([`crate::vfs::BufferGuard::is_on_disk`]: written by the
    /// device's writeback since the inode was last stored there without
    /// waiting), as `sync_dirty_buffer` writes nothing for ext2's clean
    /// inode block.
    pub(crate) fn store(&self, inode: &DiskInode, unless_on_disk: bool) -> bool {
        let encoded = inode.encode();
        let range = self.offset..self.offset + INODE_SIZE;
        let mut table = self.table.lock();
        if unless_on_disk && table.data()[range.clone()] == encoded && table.is_on_disk() {
            return false;
        }
        table.data_mut()[range].copy_from_slice(&encoded);
        drop(table);
        self.table.mark_dirty();
        true
    }

    /// Writes the inode-table block now and waits.
    pub(crate) fn sync(&self) -> Result {
        self.table.sync()
    }
}

/// The 128 bytes of the inode at `offset` of inode-table block `data`,
/// in place: decoded there, not copied out first (every `iget` of a cold
/// `stat` reads one, and the copy cost a `memset` and a `memcpy` call).
/// A free inode's (all zero) if the slot is not within the block, which
/// `Geometry::inode_location` never gives.
fn slot_bytes(data: &[u8], offset: usize) -> &[u8; INODE_SIZE] {
    const FREE: &[u8; INODE_SIZE] = &[0; INODE_SIZE];
    data.get(offset..)
        .and_then(<[u8]>::first_chunk)
        .unwrap_or(FREE)
}

/// Checks a pointer read from inode `ino` or its indirect blocks before
/// it is followed, and decodes it: `None` for 0 (a hole), else the run of
/// fragments it names (a whole block without the FRAGMENTS feature),
/// which must lie in the data blocks, within one block, be marked in use
/// by the bitmap, and not be one of the indirect blocks `above` it on its
/// path.  A pointer into free space would expose what a deleted file left
/// there; one into metadata, the inode table; a loop would read pointers
/// as data, or free an indirect block twice.
pub(crate) fn check_extent(
    sb: &SuperBlock,
    ino: u32,
    raw: u32,
    above: &[u32],
) -> Result<Option<Extent>> {
    let geometry = sb.info().geometry;
    let Some(extent) = geometry.decode_pointer(raw) else {
        return Ok(None);
    };
    if let Err(error) = geometry.judge_extent(&extent) {
        let rule = match error {
            ExtentError::OutOfRange | ExtentError::IntoMetadata => {
                "block pointer outside the data blocks"
            }
            _ => error.rule(),
        };
        return Err(corrupt(sb, ino, rule));
    }
    if above.contains(&extent.block(&geometry)) {
        return Err(corrupt(
            sb,
            ino,
            "indirect block names itself or an indirect block above it",
        ));
    }
    if !balloc::extent_in_use(sb, &extent) {
        return Err(corrupt(sb, ino, "block pointer names a free block"));
    }
    Ok(Some(extent))
}

/// Whether `check_extent` would accept `raw`, without reporting anything:
/// for the pointers a lookup reads ahead of what it was asked for, which
/// stop the run rather than fail it.  The run it names, if any.
pub(crate) fn sound_extent(sb: &SuperBlock, raw: u32, above: &[u32]) -> Option<Option<Extent>> {
    let geometry = sb.info().geometry;
    let Some(extent) = geometry.decode_pointer(raw) else {
        return Some(None);
    };
    let sound = geometry.judge_extent(&extent).is_ok()
        && !above.contains(&extent.block(&geometry))
        && balloc::extent_in_use(sb, &extent);
    sound.then_some(Some(extent))
}

/// `check_extent` for a pointer that must name a whole plain block (an
/// indirect block, or a data block of a filesystem being written): the
/// block, or 0 for a hole.
pub(crate) fn check_entry(sb: &SuperBlock, ino: u32, raw: u32, above: &[u32]) -> Result<u32> {
    let geometry = sb.info().geometry;
    match check_extent(sb, ino, raw, above)? {
        None => Ok(0),
        Some(extent) if extent.is_whole_block(&geometry) => Ok(extent.block(&geometry)),
        Some(_) => Err(corrupt(sb, ino, ExtentError::NotWholeBlock.rule())),
    }
}

/// `check_entry` for a pointer of the inode itself.
pub(crate) fn check_pointer(sb: &SuperBlock, ino: u32, raw: u32) -> Result<u32> {
    check_entry(sb, ino, raw, &[])
}
