// SPDX-License-Identifier: GPL-2.0

//! What every change of metadata needs: inode-table slots, checked block
//! pointers, and the report of a broken rule of the format.

use crate::{
    balloc,
    format::{constants::INODE_SIZE, inode::Inode as DiskInode},
    vfs::{Buffer, SuperBlock},
};
use kernel::prelude::*;

/// Logs (ratelimited per filesystem) a broken rule of the format met in
/// inode `ino` of `sb`, 0 for none, and returns `EUCLEAN`
/// (`EFSCORRUPTED`).
pub(crate) fn corrupt(sb: &SuperBlock, ino: u32, rule: &str) -> Error {
    if sb.info().errors.allow(sb.id_cstr()) {
        kernel::pr_err!("{}: corrupted: inode {}: {}\n", sb.id(), ino, rule);
    }
    EUCLEAN
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
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(&self.table.lock().data()[self.offset..self.offset + INODE_SIZE]);
        DiskInode::decode(&raw)
    }

    /// Changes the inode with `change`, and marks the block dirty.
    pub(crate) fn update(&self, change: impl FnOnce(&mut DiskInode)) {
        let range = self.offset..self.offset + INODE_SIZE;
        let mut table = self.table.lock();
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(&table.data()[range.clone()]);
        let mut inode = DiskInode::decode(&raw);
        change(&mut inode);
        table.data_mut()[range].copy_from_slice(&inode.encode());
        drop(table);
        self.table.mark_dirty();
    }

    /// Writes the inode-table block now and waits.
    pub(crate) fn sync(&self) -> Result {
        self.table.sync()
    }
}

/// Checks a pointer read from inode `ino` or its indirect blocks before
/// it is followed: 0 (a hole), or a data block that the bitmap marks in
/// use.  A pointer into free space would expose what a deleted file left
/// there; one into metadata, the inode table.
pub(crate) fn check_pointer(sb: &SuperBlock, ino: u32, block: u32) -> Result<u32> {
    if block == 0 {
        return Ok(0);
    }
    if !sb.info().geometry.is_data_block(block) {
        return Err(corrupt(sb, ino, "block pointer outside the data blocks"));
    }
    if !balloc::is_in_use(sb, block) {
        return Err(corrupt(sb, ino, "block pointer names a free block"));
    }
    Ok(block)
}

/// Whether `check_entry` would accept `block`, without reporting
/// anything: for the pointers a lookup reads ahead of what it was asked
/// for, which stop the run rather than fail it.
pub(crate) fn is_sound(sb: &SuperBlock, block: u32, above: &[u32]) -> bool {
    block == 0
        || (sb.info().geometry.is_data_block(block)
            && balloc::is_in_use(sb, block)
            && !above.contains(&block))
}

/// `check_pointer` for an entry of an indirect block, which must not name
/// one of the indirect blocks `above` it on its path (a loop would read
/// pointers as data, or free an indirect block twice).
pub(crate) fn check_entry(sb: &SuperBlock, ino: u32, block: u32, above: &[u32]) -> Result<u32> {
    if block != 0 && above.contains(&block) {
        return Err(corrupt(
            sb,
            ino,
            "indirect block names itself or an indirect block above it",
        ));
    }
    check_pointer(sb, ino, block)
}
