// SPDX-License-Identifier: GPL-2.0

//! Block allocation: the bitmap and the free-block count (ext2's
//! balloc.c).

use crate::{
    format::constants::BITMAP_START,
    meta::{corrupt, Meta},
    vfs::{toyfs_err, Buffer},
};
use kernel::prelude::*;

impl Meta<'_> {
    /// The bitmap block and bit of data block `block`.
    fn bitmap_bit(&self, block: u32) -> Result<(Buffer, usize)> {
        let (index, bit) = self.geometry.bitmap_position(block);
        Ok((Buffer::read(self.sb, BITMAP_START + index)?, bit))
    }

    /// Whether the bitmap marks data block `block` in use.
    pub(crate) fn is_marked_used(&self, block: u32) -> Result<bool> {
        let (bitmap, bit) = self.bitmap_bit(block)?;
        Ok(bitmap.data()[bit / 8] & (1 << (bit % 8)) != 0)
    }

    /// Fails with `ENOSPC` unless `needed` blocks are free.
    pub(crate) fn reserve(&self, needed: u32) -> Result {
        if needed > self.counts.free_blocks {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Allocates a data block, zeroed on disk ("a writer zeroes what it
    /// allocates"), and marks it in use.
    pub(crate) fn alloc_block(&mut self) -> Result<u32> {
        if self.counts.free_blocks == 0 {
            return Err(ENOSPC);
        }
        let bits_per_block = 8 * self.geometry.block_size();
        let bitmap_blocks = self.geometry.bitmap_blocks();
        let (hint_index, hint_byte) = self.counts.alloc_hint;
        // The hint's bitmap block from the hint's byte, the others in turn,
        // then the hint's block again from its start.
        for step in 0..=bitmap_blocks {
            let mut index = hint_index + step;
            if index >= bitmap_blocks {
                index -= bitmap_blocks;
            }
            let start = if step == 0 { hint_byte } else { 0 };
            let mut bitmap = Buffer::read(self.sb, BITMAP_START + index)?;
            let from_start = bitmap.data().get(start..).unwrap_or_default();
            let Some(found) = from_start.iter().position(|&byte| byte != 0xff) else {
                continue;
            };
            let byte = start + found;
            let bit = (!bitmap.data()[byte]).trailing_zeros();
            // CAST: a byte offset in a block of at most 4096 bytes.
            let block = index * bits_per_block + 8 * byte as u32 + bit;
            if !self.geometry.is_data_block(block) {
                return Err(corrupt(
                    self.sb,
                    0,
                    "bitmap: a metadata or padding bit is clear",
                ));
            }
            let mut data = Buffer::read(self.sb, block)?;
            data.data_mut().fill(0);
            data.mark_dirty();
            bitmap.data_mut()[byte] |= 1 << bit;
            bitmap.mark_dirty();
            self.counts.free_blocks -= 1;
            self.counts.alloc_hint = (index, byte);
            return Ok(block);
        }
        toyfs_err!("free block count says free, bitmap says full\n");
        Err(ENOSPC)
    }

    /// Marks data block `block` free.
    pub(crate) fn free_block(&mut self, ino: u32, block: u32) -> Result {
        self.check_pointer(ino, block)?;
        let (mut bitmap, bit) = self.bitmap_bit(block)?;
        let byte = &mut bitmap.data_mut()[bit / 8];
        if *byte & (1 << (bit % 8)) == 0 {
            return Err(corrupt(self.sb, ino, "block freed twice"));
        }
        *byte &= !(1 << (bit % 8));
        bitmap.mark_dirty();
        self.counts.free_blocks += 1;
        Ok(())
    }

    /// Recounts the free blocks and inodes from the bitmap and the inode
    /// table (the counts of a dirty superblock may be stale).
    pub(crate) fn recount(&mut self) -> Result {
        let geometry = self.geometry;
        let mut free_blocks = 0;
        let mut block = geometry.first_data_block();
        while block < geometry.block_count() {
            let (index, _) = geometry.bitmap_position(block);
            let bitmap = Buffer::read(self.sb, BITMAP_START + index)?;
            let end = geometry
                .block_count()
                .min((index + 1) << geometry.bitmap_shift());
            for b in block..end {
                let (_, bit) = geometry.bitmap_position(b);
                if bitmap.data()[bit / 8] & (1 << (bit % 8)) == 0 {
                    free_blocks += 1;
                }
            }
            block = end;
        }
        self.counts.free_blocks = free_blocks;
        self.counts.free_inodes = self.count_free_inodes()?;
        Ok(())
    }
}
