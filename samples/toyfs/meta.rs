// SPDX-License-Identifier: GPL-2.0

//! The metadata lock of a toyfs and what every metadata change needs
//! under it: inode-table slots, checked block pointers, and the
//! corruption report.
//!
//! One mutex per filesystem (`SbInfo::counts`) serialises every change of
//! metadata: bitmap, inode table, indirect and directory blocks.  It is
//! held only around buffer-head work, never across a vm_mvc call by
//! `(sid, pno)`, a copy to or from user memory, or an allocation that could
//! enter reclaim, so that page faults and writeback may take it under the
//! folio lock.  The operations themselves are `impl Meta` blocks in the
//! files of their subject (balloc.rs, ialloc.rs, inode.rs, dir.rs,
//! mount.rs).

use crate::{
    format::{constants::INODE_SIZE, geometry::Geometry, inode::Inode as DiskInode},
    info::Counts,
    vfs::{Buffer, SuperBlock},
};
use kernel::{prelude::*, sync::MutexGuard};

/// Logs (ratelimited per filesystem) a broken rule of the format met in
/// inode `ino` of `sb`, 0 for none, and returns `EUCLEAN`
/// (`EFSCORRUPTED`).
pub(crate) fn corrupt(sb: &SuperBlock, ino: u32, rule: &str) -> Error {
    if sb.info().errors.allow(sb.id_cstr()) {
        kernel::pr_err!("{}: corrupted: inode {}: {}\n", sb.id(), ino, rule);
    }
    EUCLEAN
}

/// The metadata lock held, with what the locked operations need.
pub(crate) struct Meta<'a> {
    pub(crate) sb: &'a SuperBlock,
    pub(crate) geometry: Geometry,
    pub(crate) counts: MutexGuard<'a, Counts>,
}

/// The inode-table block holding one inode, and where in it.
pub(crate) struct InodeSlot {
    table: Buffer,
    offset: usize,
}

impl InodeSlot {
    /// The inode's 128 bytes, decoded.
    pub(crate) fn get(&self) -> DiskInode {
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(&self.table.data()[self.offset..self.offset + INODE_SIZE]);
        DiskInode::decode(&raw)
    }

    /// Stores `inode` in the slot and marks the block dirty.
    pub(crate) fn set(&mut self, inode: &DiskInode) {
        let offset = self.offset;
        self.table.data_mut()[offset..offset + INODE_SIZE].copy_from_slice(&inode.encode());
        self.table.mark_dirty();
    }

    /// Writes the inode-table block now and waits.
    pub(crate) fn sync(&self) -> Result {
        self.table.sync()
    }
}

impl<'a> Meta<'a> {
    /// Takes the metadata lock of `sb`.
    pub(crate) fn lock(sb: &'a SuperBlock) -> Self {
        let info = sb.info();
        Self {
            sb,
            geometry: info.geometry,
            counts: info.counts.lock(),
        }
    }

    /// The inode-table slot of inode `ino`.
    pub(crate) fn inode_slot(&self, ino: u32) -> Result<InodeSlot> {
        if ino == 0 || ino > self.geometry.inode_count() {
            return Err(corrupt(self.sb, ino, "inode number out of range"));
        }
        let (block, offset) = self.geometry.inode_location(ino);
        Ok(InodeSlot {
            table: Buffer::read(self.sb, block)?,
            offset,
        })
    }

    /// Checks a pointer read from inode `ino` or its indirect blocks
    /// before it is followed: 0 (a hole), or a data block that the bitmap
    /// marks in use.  A pointer into free space would expose what a
    /// deleted file left there; one into metadata, the inode table.
    pub(crate) fn check_pointer(&self, ino: u32, block: u32) -> Result<u32> {
        if block == 0 {
            return Ok(0);
        }
        if !self.geometry.is_data_block(block) {
            return Err(corrupt(
                self.sb,
                ino,
                "block pointer outside the data blocks",
            ));
        }
        if !self.is_marked_used(block)? {
            return Err(corrupt(self.sb, ino, "block pointer names a free block"));
        }
        Ok(block)
    }

    /// `check_pointer` for an entry of an indirect block, which must not
    /// name one of the indirect blocks `above` it on its path (a loop
    /// would read pointers as data, or free an indirect block twice).
    pub(crate) fn check_entry(&self, ino: u32, block: u32, above: &[u32]) -> Result<u32> {
        if block != 0 && above.contains(&block) {
            return Err(corrupt(
                self.sb,
                ino,
                "indirect block names itself or an indirect block above it",
            ));
        }
        self.check_pointer(ino, block)
    }
}
