// SPDX-License-Identifier: GPL-2.0

//! Inode allocation: free inodes of the inode table and their count
//! (ext2's ialloc.c).

use crate::{
    format::{
        constants::{INODE_SIZE, ROOT_INO},
        inode::Inode as DiskInode,
    },
    meta::Meta,
    vfs::Buffer,
};
use kernel::prelude::*;

impl Meta<'_> {
    /// Calls `found` with each inode number and its inode of the table,
    /// in order, until it returns true; returns whether one did.
    fn scan_inodes(&self, mut found: impl FnMut(u32, &DiskInode) -> bool) -> Result<bool> {
        let geometry = self.geometry;
        let per_block = geometry.block_bytes() / INODE_SIZE;
        for index in 0..geometry.inode_table_blocks() {
            let table = Buffer::read(self.sb, geometry.inode_table_start() + index)?;
            for slot in 0..per_block {
                // CAST: inode numbers fit `u32` (the table has inode_count).
                let ino = (index as usize * per_block + slot + 1) as u32;
                if ino > geometry.inode_count() {
                    return Ok(false);
                }
                let mut raw = [0u8; INODE_SIZE];
                raw.copy_from_slice(&table.data()[slot * INODE_SIZE..(slot + 1) * INODE_SIZE]);
                if found(ino, &DiskInode::decode(&raw)) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The free inodes of the inode table.
    pub(crate) fn count_free_inodes(&self) -> Result<u32> {
        let mut free = 0;
        self.scan_inodes(|_, inode| {
            free += u32::from(inode.is_free());
            false
        })?;
        Ok(free)
    }

    /// A free inode number, or `ENOSPC`.
    pub(crate) fn find_free_inode(&self) -> Result<u32> {
        let mut free = 0;
        if self.scan_inodes(|ino, inode| {
            free = ino;
            ino != ROOT_INO && inode.is_free()
        })? {
            return Ok(free);
        }
        Err(ENOSPC)
    }

    /// Takes free inode `ino` for a new file of `mode` with `nlink` links;
    /// a directory gets `dir_block`, already filled, as its one block.
    pub(crate) fn claim_inode(
        &mut self,
        ino: u32,
        mode: u16,
        nlink: u16,
        dir_block: Option<u32>,
    ) -> Result {
        let mut slot = self.inode_slot(ino)?;
        let mut inode = DiskInode {
            mode,
            nlink,
            ..DiskInode::default()
        };
        if let Some(block) = dir_block {
            inode.size = u64::from(self.geometry.block_size());
            inode.direct[0] = block;
            inode.blocks = 1;
        }
        slot.set(&inode);
        self.counts.free_inodes = self.counts.free_inodes.saturating_sub(1);
        Ok(())
    }

    /// Gives inode `ino` back: its 128 bytes become zero (free).
    pub(crate) fn release_inode(&mut self, ino: u32) -> Result {
        self.inode_slot(ino)?.set(&DiskInode::default());
        self.counts.free_inodes += 1;
        Ok(())
    }
}
