// SPDX-License-Identifier: GPL-2.0
//! File contents: write, read and truncate.

use super::Filesystem;
use crate::block_map::{double_indirect_first_block, single_indirect_first_block, PointerSite};
use crate::constants::DIRECT_POINTERS;
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::inode::{FileType, Inode};
use crate::le::{get_u32, put_u32};

impl<D: BlockDevice> Filesystem<D> {
    /// Writes `data` at byte `offset` of regular file or directory `ino`,
    /// allocating only the blocks the bytes land in: everything skipped
    /// over stays a hole.  Extends the size when writing past it.
    /// Refuses with `NoSpace`, changing nothing, when the blocks the write
    /// needs are not all free.
    pub fn write(&mut self, ino: u32, offset: u64, data: &[u8]) -> Result<(), FsError> {
        let mut inode = self.read_in_use_inode(ino)?;
        if data.is_empty() {
            return Ok(());
        }
        let end = offset.saturating_add(data.len() as u64);
        let maximum = self.geometry().max_file_size();
        if end > maximum {
            return Err(FsError::FileTooLarge { end, maximum });
        }
        let block_size = u64::from(self.geometry().block_size());
        let needed =
            self.blocks_needed(ino, &inode, offset / block_size, (end - 1) / block_size)?;
        if needed > u64::from(self.superblock.free_blocks) {
            return Err(FsError::NoSpace);
        }
        let mut position = offset;
        while position < end {
            let file_block = position / block_size;
            let in_block = (position % block_size) as usize;
            let len = (block_size as usize - in_block).min((end - position) as usize);
            let block = self.ensure_block(ino, &mut inode, file_block)?;
            let mut bytes = self.read_block(block)?;
            let source = (position - offset) as usize;
            bytes[in_block..in_block + len].copy_from_slice(&data[source..source + len]);
            self.write_block(block, &bytes)?;
            position += len as u64;
        }
        inode.size = inode.size.max(end);
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.write_inode(ino, &inode)
    }

    /// Reads up to `len` bytes at `offset`, stopping at the size; holes read as zeros.
    pub fn read(&self, ino: u32, offset: u64, len: usize) -> Result<Vec<u8>, FsError> {
        let inode = self.read_in_use_inode(ino)?;
        let end = inode.size.min(offset.saturating_add(len as u64));
        let block_size = u64::from(self.geometry().block_size());
        let mut data = Vec::new();
        let mut position = offset;
        while position < end {
            let in_block = (position % block_size) as usize;
            let len = (block_size as usize - in_block).min((end - position) as usize);
            match self.map_block(ino, &inode, position / block_size)? {
                Some(block) => {
                    data.extend_from_slice(&self.read_block(block)?[in_block..in_block + len])
                }
                None => data.resize(data.len() + len, 0),
            }
            position += len as u64;
        }
        Ok(data)
    }

    /// Sets the size of regular file `ino`, as the kernel's setattr does
    /// on disk.  Shrinking frees every block at or past the new EOF, and
    /// every indirect block that only covers such blocks, then zeroes the
    /// new last block past EOF (the tail rule).  Growing only sets the
    /// size: the new range is holes, and the old tail is already zero.
    pub fn truncate(&mut self, ino: u32, size: u64) -> Result<(), FsError> {
        let mut inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Regular) {
            return Err(FsError::NotARegularFile(ino));
        }
        let maximum = self.geometry().max_file_size();
        if size > maximum {
            return Err(FsError::FileTooLarge { end: size, maximum });
        }
        let block_size = u64::from(self.geometry().block_size());
        let keep = size.div_ceil(block_size);
        for index in keep.min(DIRECT_POINTERS as u64) as usize..DIRECT_POINTERS {
            let block =
                self.checked_pointer(ino, PointerSite::Direct(index), inode.direct[index])?;
            if block != 0 {
                self.release_block(block);
                inode.blocks = inode.blocks.saturating_sub(1);
                inode.direct[index] = 0;
            }
        }
        let per_block = u64::from(self.geometry().pointers_per_block());
        let single =
            self.checked_pointer(ino, PointerSite::SingleIndirect, inode.single_indirect)?;
        let single_first = single_indirect_first_block();
        if single != 0
            && keep < single_first + per_block
            && self.free_indirect_from(ino, &mut inode, single, 1, single_first, keep)?
        {
            inode.single_indirect = 0;
        }
        let double =
            self.checked_pointer(ino, PointerSite::DoubleIndirect, inode.double_indirect)?;
        let double_first = double_indirect_first_block(self.geometry().pointers_per_block());
        if double != 0 && self.free_indirect_from(ino, &mut inode, double, 2, double_first, keep)? {
            inode.double_indirect = 0;
        }
        let tail = (size % block_size) as usize;
        if size < inode.size && tail != 0 {
            if let Some(block) = self.map_block(ino, &inode, keep - 1)? {
                let mut bytes = self.read_block(block)?;
                bytes[tail..].fill(0);
                self.write_block(block, &bytes)?;
            }
        }
        inode.size = size;
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.write_inode(ino, &inode)
    }

    /// Frees what indirect block `block` (of `level`, covering file blocks
    /// from `first`) maps at or past file block `keep`, and `block` itself
    /// when it covers nothing below `keep`.  Returns whether `block` was freed.
    fn free_indirect_from(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        block: u32,
        level: u8,
        first: u64,
        keep: u64,
    ) -> Result<bool, FsError> {
        let per_block = self.geometry().pointers_per_block();
        // File blocks covered by one entry.
        let span = if level == 1 { 1 } else { u64::from(per_block) };
        let mut bytes = self.read_block(block)?;
        for index in 0..per_block {
            let child_first = first + u64::from(index) * span;
            if child_first + span <= keep {
                continue;
            }
            let site = PointerSite::IndirectEntry {
                indirect_block: block,
                index,
            };
            let child = self.checked_pointer(ino, site, get_u32(&bytes, 4 * index as usize))?;
            let freed = match (child, level) {
                (0, _) => false,
                (_, 1) => {
                    self.release_block(child);
                    inode.blocks = inode.blocks.saturating_sub(1);
                    true
                }
                _ => self.free_indirect_from(ino, inode, child, level - 1, child_first, keep)?,
            };
            if freed {
                put_u32(&mut bytes, 4 * index as usize, 0);
            }
        }
        if first >= keep {
            self.release_block(block);
            inode.blocks = inode.blocks.saturating_sub(1);
            return Ok(true);
        }
        self.write_block(block, &bytes)?;
        Ok(false)
    }
}
