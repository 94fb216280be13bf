// SPDX-License-Identifier: GPL-2.0
//! File contents: write, read and truncate, one file block at a time.
//!
//! A file block is loaded whole (plain, a tail, or decompressed), changed,
//! and stored again the way the format wants it for its length: a whole
//! block, the fewest fragments for the last block, or compressed in the
//! fewest fragments when the inode asks for compression and that saves a
//! fragment.  Growing a file stores its old last block again at its new
//! length (a tail becomes a whole block), as UFS reallocates fragments.

use super::mapping::PointerPlace;
use super::Filesystem;
use crate::address::Extent;
use crate::block_map::{
    double_indirect_first_block, single_indirect_first_block, triple_indirect_first_block,
    PointerSite,
};
use crate::compressed::{fragments_if_smaller, CompressedHeader, HEADER_SIZE};
use crate::constants::DIRECT_POINTERS;
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::inode::{FileType, Inode, FLAG_COMPRESSED};
use crate::le::{get_u32, put_u32};
use crate::lz4;

impl<D: BlockDevice> Filesystem<D> {
    /// Writes `data` at `offset` of regular file or directory `ino`,
    /// allocating what it needs; the size grows to cover it.
    ///
    /// Refuses with [`FsError::NoSpace`] before changing anything when the
    /// free fragments cannot hold the worst case: a whole block for every
    /// block written or stored again, and the indirect blocks.
    pub fn write(&mut self, ino: u32, offset: u64, data: &[u8]) -> Result<(), FsError> {
        let mut inode = self.read_in_use_inode(ino)?;
        if data.is_empty() {
            return Ok(());
        }
        self.unpack_tail(ino, &mut inode)?;
        let end = offset.saturating_add(data.len() as u64);
        self.size_allowed(end)?;
        let geometry = *self.geometry();
        let first = geometry.block_of(offset);
        let last = geometry.block_of(end - 1);
        let mut needed = self.fragments_needed(ino, &inode, first, last)?;
        let old_last = self.partial_last_block(&inode, end);
        if let Some(old_last) = old_last.filter(|&block| block < first) {
            needed += self.fragments_needed(ino, &inode, old_last, old_last)?;
        }
        if needed > u64::from(self.superblock.free_blocks) {
            return Err(FsError::NoSpace);
        }
        self.note_large_size(end);
        let size = inode.size.max(end);
        if let Some(old_last) = old_last.filter(|&block| block < first) {
            self.restore_block(ino, &mut inode, old_last, size)?;
        }
        let block_size = geometry.block_bytes();
        let mut position = offset;
        while position < end {
            let file_block = geometry.block_of(position);
            let in_block = geometry.offset_in_block(position) as usize;
            let len = (block_size - in_block).min((end - position) as usize);
            let mut bytes = self.load_block(ino, &inode, file_block)?;
            let source = (position - offset) as usize;
            bytes[in_block..in_block + len].copy_from_slice(&data[source..source + len]);
            self.store_block(ino, &mut inode, file_block, &mut bytes, size)?;
            position += len as u64;
        }
        inode.size = size;
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.write_inode(ino, &inode)
    }

    /// Reads up to `len` bytes at `offset`, stopping at the end of the file.
    pub fn read(&self, ino: u32, offset: u64, len: usize) -> Result<Vec<u8>, FsError> {
        let inode = self.read_in_use_inode(ino)?;
        let end = inode.size.min(offset.saturating_add(len as u64));
        let geometry = *self.geometry();
        let mut data = Vec::new();
        let mut position = offset;
        while position < end {
            let in_block = geometry.offset_in_block(position) as usize;
            let len = (geometry.block_bytes() - in_block).min((end - position) as usize);
            let bytes = self.load_block(ino, &inode, geometry.block_of(position))?;
            data.extend_from_slice(&bytes[in_block..in_block + len]);
            position += len as u64;
        }
        Ok(data)
    }

    /// Sets the file to compress the blocks it stores from now on, or not
    /// (`chattr +c` / `-c`); blocks already stored stay as they are.
    pub fn set_compressed(&mut self, ino: u32, compressed: bool) -> Result<(), FsError> {
        let mut inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Regular) {
            return Err(FsError::NotARegularFile(ino));
        }
        if compressed && !self.geometry().has_compression() {
            return Err(FsError::NoCompression);
        }
        if compressed {
            inode.flags |= FLAG_COMPRESSED;
        } else {
            inode.flags &= !FLAG_COMPRESSED;
        }
        inode.ctime = self.now;
        self.write_inode(ino, &inode)
    }

    /// The last block of a file whose size is not a whole number of blocks
    /// and is below `new_size`: the block a growth must store again.
    fn partial_last_block(&self, inode: &Inode, new_size: u64) -> Option<u64> {
        let geometry = self.geometry();
        (new_size > inode.size && geometry.offset_in_block(inode.size) != 0)
            .then(|| geometry.block_of(inode.size))
    }

    /// The `B` bytes of `file_block`: zeros for a hole, the bytes of a
    /// plain run followed by zeros, or a compressed block decompressed.
    pub(super) fn load_block(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Vec<u8>, FsError> {
        let block_size = self.geometry().block_bytes();
        if inode.tail_offset != 0 && file_block == self.geometry().block_of(inode.size) {
            let mut bytes = self.packed_tail_bytes(ino, inode)?;
            bytes.resize(block_size, 0);
            return Ok(bytes);
        }
        let Some(extent) = self.map_extent(ino, inode, file_block)? else {
            return Ok(vec![0u8; block_size]);
        };
        let mut bytes = self.read_run(&extent)?;
        if extent.compressed {
            let corrupt = |error| FsError::BadCompressedBlock {
                ino,
                file_block,
                error,
            };
            let (header, data) =
                CompressedHeader::parse(&bytes, self.geometry()).map_err(corrupt)?;
            bytes = lz4::decompress(data, usize::from(header.length)).map_err(corrupt)?;
        }
        bytes.resize(block_size, 0);
        Ok(bytes)
    }

    /// Stores `bytes` (a whole block) as file block `file_block` of a file
    /// of `size` bytes: the bytes past `size` are zeroed, and the block
    /// goes compressed or plain into the fewest fragments, in place when
    /// the run keeps its size and kind.
    fn store_block(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        file_block: u64,
        bytes: &mut [u8],
        size: u64,
    ) -> Result<(), FsError> {
        let geometry = *self.geometry();
        let length = geometry.file_block_length(size, file_block);
        bytes[length as usize..].fill(0);
        let place = self.make_place(ino, inode, file_block)?;
        let pointer = self.pointer_at(inode, place)?;
        let old = match place {
            PointerPlace::Direct(index) => {
                self.checked_data(ino, inode, PointerSite::Direct(index), pointer)?
            }
            PointerPlace::Entry {
                indirect_block,
                index,
            } => self.checked_data(
                ino,
                inode,
                PointerSite::IndirectEntry {
                    indirect_block,
                    index,
                },
                pointer,
            )?,
        };
        let compress = inode.flags & FLAG_COMPRESSED != 0 && geometry.has_compression();
        let (run, compressed) = match compress
            .then(|| lz4::compress(&bytes[..length as usize]))
            .and_then(|data| Some((fragments_if_smaller(&geometry, data.len(), length)?, data)))
        {
            Some((count, data)) => {
                let mut run =
                    vec![0u8; (count as usize) << geometry.fragment_size().trailing_zeros()];
                let header = CompressedHeader {
                    // CAST: fewer bytes than a block, which is at most 4096.
                    compressed_len: data.len() as u16,
                    length: length as u16,
                };
                header.write(&mut run);
                run[HEADER_SIZE..HEADER_SIZE + data.len()].copy_from_slice(&data);
                (run, true)
            }
            None => {
                let count = geometry.fragments_for(length);
                let len = (count as usize) << geometry.fragment_size().trailing_zeros();
                (bytes[..len].to_vec(), false)
            }
        };
        let count = geometry.fragments_for(run.len() as u32);
        let extent = match old {
            Some(old) if old.count == count && old.compressed == compressed => old,
            _ => {
                let new = self.replace_run(old, count)?;
                let old_count = old.map_or(0, |old| old.count);
                inode.blocks = inode.blocks.saturating_sub(old_count).saturating_add(count);
                Extent { compressed, ..new }
            }
        };
        self.write_run(&extent, &run)?;
        self.set_pointer(inode, place, geometry.encode_pointer(extent))
    }

    /// Frees `old` and allocates `count` fragments instead; if none are
    /// free, `old` stays allocated and nothing changes.
    fn replace_run(&mut self, old: Option<Extent>, count: u32) -> Result<Extent, FsError> {
        if let Some(old) = old {
            self.release(old);
        }
        self.allocate_run(count).inspect_err(|_| {
            if let Some(old) = old {
                // Just released, so the free count covers it.
                let _ = self.take(old);
            }
        })
    }

    /// Stores file block `file_block` again for a file of `size` bytes,
    /// if it is allocated: after a size change it has another length.
    fn restore_block(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        file_block: u64,
        size: u64,
    ) -> Result<(), FsError> {
        if self.map_extent(ino, inode, file_block)?.is_none() {
            return Ok(());
        }
        let mut bytes = self.load_block(ino, inode, file_block)?;
        self.store_block(ino, inode, file_block, &mut bytes, size)
    }

    /// Refuses a file size past the largest file (`FileTooLarge`).
    fn size_allowed(&self, size: u64) -> Result<(), FsError> {
        let maximum = self.geometry().largest_file_size();
        if size > maximum {
            return Err(FsError::FileTooLarge { end: size, maximum });
        }
        Ok(())
    }

    /// Sets the LARGE_FILES feature, written with the superblock at the
    /// next flush, for a file about to be `size` bytes past the
    /// double-indirect level's reach, as the kernel does before such an
    /// inode reaches the disk (format/features.rs).
    fn note_large_size(&mut self, size: u64) {
        if size > self.geometry().double_reach_size() {
            self.superblock.geometry = self.superblock.geometry.with_large_files(true);
        }
    }

    /// Truncates or extends regular file `ino` to `size`: blocks past the
    /// new end are freed, and the new (or old) last block is stored again
    /// at its new length, its bytes past the end zeroed.
    pub fn truncate(&mut self, ino: u32, size: u64) -> Result<(), FsError> {
        let mut inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Regular) {
            return Err(FsError::NotARegularFile(ino));
        }
        self.size_allowed(size)?;
        self.unpack_tail(ino, &mut inode)?;
        let geometry = *self.geometry();
        if let Some(old_last) = self.partial_last_block(&inode, size) {
            let needed = self.fragments_needed(ino, &inode, old_last, old_last)?;
            if needed > u64::from(self.superblock.free_blocks) {
                return Err(FsError::NoSpace);
            }
            self.restore_block(ino, &mut inode, old_last, size)?;
        }
        let keep = size.div_ceil(u64::from(geometry.block_size()));
        for index in keep.min(DIRECT_POINTERS as u64) as usize..DIRECT_POINTERS {
            let site = PointerSite::Direct(index);
            if let Some(extent) = self.checked_data(ino, &inode, site, inode.direct[index])? {
                self.release(extent);
                inode.blocks = inode.blocks.saturating_sub(extent.count);
                inode.direct[index] = 0;
            }
        }
        let per_block = u64::from(geometry.pointers_per_block());
        let single =
            self.checked_indirect(ino, PointerSite::SingleIndirect, inode.single_indirect)?;
        let single_first = single_indirect_first_block();
        if single != 0
            && keep < single_first + per_block
            && self.free_indirect_from(ino, &mut inode, single, 1, single_first, keep)?
        {
            inode.single_indirect = 0;
        }
        let double =
            self.checked_indirect(ino, PointerSite::DoubleIndirect, inode.double_indirect)?;
        let double_first = double_indirect_first_block(geometry.pointers_per_block());
        if double != 0 && self.free_indirect_from(ino, &mut inode, double, 2, double_first, keep)? {
            inode.double_indirect = 0;
        }
        let triple =
            self.checked_indirect(ino, PointerSite::TripleIndirect, inode.triple_indirect)?;
        let triple_first = triple_indirect_first_block(geometry.pointers_per_block());
        if triple != 0 && self.free_indirect_from(ino, &mut inode, triple, 3, triple_first, keep)? {
            inode.triple_indirect = 0;
        }
        if size < inode.size && geometry.offset_in_block(size) != 0 {
            self.restore_block(ino, &mut inode, keep - 1, size)?;
        }
        self.note_large_size(size);
        inode.size = size;
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.write_inode(ino, &inode)
    }

    /// Frees what indirect block `block` (at `level`, covering file blocks
    /// from `first`) names at or past file block `keep`, and the block
    /// itself if it covers nothing below `keep` or is left without a
    /// pointer (as the kernel's `BlockMap::prune` and ext2's
    /// `ext2_free_branches`); returns whether it did.
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
        let whole = self.geometry().fragments_per_block();
        // File blocks covered by one entry: P^(level - 1).
        let span = u64::from(per_block).pow(u32::from(level) - 1);
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
            let raw = get_u32(&bytes, 4 * index as usize);
            let freed = if level == 1 {
                match self.checked_data(ino, inode, site, raw)? {
                    Some(extent) => {
                        self.release(extent);
                        inode.blocks = inode.blocks.saturating_sub(extent.count);
                        true
                    }
                    None => false,
                }
            } else {
                match self.checked_indirect(ino, site, raw)? {
                    0 => false,
                    child => {
                        self.free_indirect_from(ino, inode, child, level - 1, child_first, keep)?
                    }
                }
            };
            if freed {
                put_u32(&mut bytes, 4 * index as usize, 0);
            }
        }
        if first >= keep || bytes.iter().all(|&byte| byte == 0) {
            self.release_block(block);
            inode.blocks = inode.blocks.saturating_sub(whole);
            return Ok(true);
        }
        self.write_block(block, &bytes)?;
        Ok(false)
    }
}
