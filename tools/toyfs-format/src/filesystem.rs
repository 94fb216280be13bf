// SPDX-License-Identifier: GPL-2.0
//! A small userspace reader and writer of toyfs images.
//!
//! Enough to put files with holes and directories into an image (for tests,
//! and for images prepared on the host) and to read them back; it follows
//! the same allocation rules the kernel side must keep, which fsck checks.

use std::collections::HashSet;

use crate::bitmap::Bitmap;
use crate::block_map::{
    double_indirect_first_block, single_indirect_first_block, slot_of, MapSlot, PointerSite,
};
use crate::block_walk::{judge_pointer, PointerFault};
use crate::constants::{
    BITMAP_START, DIRECT_POINTERS, INODE_SIZE, SUPERBLOCK_BLOCK, SUPERBLOCK_SIZE,
};
use crate::device::BlockDevice;
use crate::dirent::{
    dirent_type, empty_dir_block, insert_entry, new_dir_block, parse_dir_block, validate_name,
};
use crate::error::FsError;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode, Timestamp};
use crate::le::{get_u32, put_u32};
use crate::superblock::{FsState, Superblock};

/// An open image.  Changes to the bitmap and free counts reach the device
/// at [`Filesystem::flush`]; blocks and inodes are written as they change.
#[derive(Debug)]
pub struct Filesystem<D> {
    device: D,
    superblock: Superblock,
    bitmap: Bitmap,
    now: Timestamp,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Opens the image on `device`; `now` stamps every inode change.
    pub fn open(device: D, now: Timestamp) -> Result<Self, FsError> {
        let superblock = read_superblock(&device)?;
        let geometry = superblock.geometry;
        let device_bytes = device.size()?;
        if device_bytes < geometry.byte_size() {
            return Err(FsError::DeviceTooSmall {
                device_bytes,
                filesystem_bytes: geometry.byte_size(),
            });
        }
        let mut bytes =
            vec![0u8; geometry.bitmap_blocks() as usize * geometry.block_size() as usize];
        device.read_at(geometry.block_offset(BITMAP_START), &mut bytes)?;
        Ok(Self {
            device,
            superblock,
            bitmap: Bitmap::from_bytes(bytes, geometry.block_count()),
            now,
        })
    }

    /// The layout.
    pub fn geometry(&self) -> &Geometry {
        &self.superblock.geometry
    }

    /// The device, for inspection.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The superblock as it will be written at the next flush.
    pub fn superblock(&self) -> &Superblock {
        &self.superblock
    }

    /// Writes the bitmap and the superblock, marked clean.
    pub fn flush(&mut self) -> Result<(), FsError> {
        let geometry = *self.geometry();
        self.device
            .write_at(geometry.block_offset(BITMAP_START), self.bitmap.as_bytes())?;
        self.superblock.state = FsState::Clean;
        self.device.write_at(
            geometry.block_offset(SUPERBLOCK_BLOCK),
            &self.superblock.encode(),
        )?;
        Ok(())
    }

    /// Flushes and gives the device back.
    pub fn close(mut self) -> Result<D, FsError> {
        self.flush()?;
        Ok(self.device)
    }

    /// Reads inode `ino`, free or not.
    pub fn read_inode(&self, ino: u32) -> Result<Inode, FsError> {
        let offset = self.inode_offset(ino)?;
        let mut bytes = [0u8; INODE_SIZE];
        self.device.read_at(offset, &mut bytes)?;
        Ok(Inode::decode(&bytes))
    }

    /// Writes inode `ino`.
    pub fn write_inode(&mut self, ino: u32, inode: &Inode) -> Result<(), FsError> {
        let offset = self.inode_offset(ino)?;
        self.device.write_at(offset, &inode.encode())?;
        Ok(())
    }

    fn inode_offset(&self, ino: u32) -> Result<u64, FsError> {
        self.geometry()
            .inode_offset(ino)
            .ok_or(FsError::InodeOutOfRange(ino))
    }

    fn read_in_use_inode(&self, ino: u32) -> Result<Inode, FsError> {
        let inode = self.read_inode(ino)?;
        if inode.is_free() {
            return Err(FsError::InodeFree(ino));
        }
        Ok(inode)
    }

    fn read_directory(&self, ino: u32) -> Result<Inode, FsError> {
        let inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Directory) {
            return Err(FsError::NotADirectory(ino));
        }
        Ok(inode)
    }

    fn read_block(&self, block: u32) -> Result<Vec<u8>, FsError> {
        let mut bytes = vec![0u8; self.geometry().block_size() as usize];
        self.device
            .read_at(self.geometry().block_offset(block), &mut bytes)?;
        Ok(bytes)
    }

    fn write_block(&mut self, block: u32, bytes: &[u8]) -> Result<(), FsError> {
        let offset = self.geometry().block_offset(block);
        self.device.write_at(offset, bytes)?;
        Ok(())
    }

    /// Takes the first free data block, zeroed on disk: a new indirect
    /// block must read as all holes, and a new data block must not expose
    /// what an earlier file left there.
    fn allocate_block(&mut self) -> Result<u32, FsError> {
        let block = self
            .bitmap
            .first_free_from(self.geometry().first_data_block())
            .ok_or(FsError::NoSpace)?;
        // A bitmap with free bits but a zero free count is damaged: refuse
        // rather than let the count wrap.
        self.superblock.free_blocks = self
            .superblock
            .free_blocks
            .checked_sub(1)
            .ok_or(FsError::NoSpace)?;
        self.bitmap.set(block);
        self.write_block(block, &vec![0u8; self.geometry().block_size() as usize])?;
        Ok(block)
    }

    /// Takes the first free inode and writes `inode` there.
    fn allocate_inode(&mut self, inode: &Inode) -> Result<u32, FsError> {
        for ino in 1..=self.geometry().inode_count() {
            if self.read_inode(ino)?.is_free() {
                self.superblock.free_inodes = self
                    .superblock
                    .free_inodes
                    .checked_sub(1)
                    .ok_or(FsError::NoFreeInodes)?;
                self.write_inode(ino, inode)?;
                return Ok(ino);
            }
        }
        Err(FsError::NoFreeInodes)
    }

    /// Undoes [`Self::allocate_inode`] when a later step of a creation fails.
    fn release_inode(&mut self, ino: u32) -> Result<(), FsError> {
        self.write_inode(ino, &Inode::default())?;
        self.superblock.free_inodes = self.superblock.free_inodes.saturating_add(1);
        Ok(())
    }

    /// Frees a block: undoes [`Self::allocate_block`] when a later step of a
    /// creation fails, and frees blocks past EOF in [`Self::truncate`].
    fn release_block(&mut self, block: u32) {
        self.bitmap.clear(block);
        self.superblock.free_blocks = self.superblock.free_blocks.saturating_add(1);
    }

    fn checked_pointer(&self, ino: u32, site: PointerSite, block: u32) -> Result<u32, FsError> {
        if block != 0 {
            judge_pointer(self.geometry(), block).map_err(|why| {
                FsError::BadPointer(PointerFault {
                    ino,
                    site,
                    block,
                    why,
                })
            })?;
        }
        Ok(block)
    }

    fn indirect_entry(&self, ino: u32, indirect_block: u32, index: u32) -> Result<u32, FsError> {
        let bytes = self.read_block(indirect_block)?;
        let block = get_u32(&bytes, 4 * index as usize);
        let site = PointerSite::IndirectEntry {
            indirect_block,
            index,
        };
        self.checked_pointer(ino, site, block)
    }

    /// The block holding `file_block` of inode `ino`, or `None` for a hole.
    pub fn map_block(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<u32>, FsError> {
        let Some(slot) = slot_of(file_block, self.geometry().pointers_per_block()) else {
            return Ok(None);
        };
        let block = match slot {
            MapSlot::Direct(index) => {
                self.checked_pointer(ino, PointerSite::Direct(index), inode.direct[index])?
            }
            MapSlot::Single(index) => {
                match self.checked_pointer(
                    ino,
                    PointerSite::SingleIndirect,
                    inode.single_indirect,
                )? {
                    0 => 0,
                    single => self.indirect_entry(ino, single, index)?,
                }
            }
            MapSlot::Double { outer, inner } => {
                match self.checked_pointer(
                    ino,
                    PointerSite::DoubleIndirect,
                    inode.double_indirect,
                )? {
                    0 => 0,
                    double => match self.indirect_entry(ino, double, outer)? {
                        0 => 0,
                        single => self.indirect_entry(ino, single, inner)?,
                    },
                }
            }
        };
        Ok((block != 0).then_some(block))
    }

    /// Returns the pointer in entry `index` of `indirect_block`, allocating
    /// a block for it when it is a hole.
    fn ensure_indirect_entry(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        indirect_block: u32,
        index: u32,
    ) -> Result<u32, FsError> {
        match self.indirect_entry(ino, indirect_block, index)? {
            0 => {
                let block = self.allocate_block()?;
                inode.blocks = inode.blocks.saturating_add(1);
                let mut bytes = self.read_block(indirect_block)?;
                put_u32(&mut bytes, 4 * index as usize, block);
                self.write_block(indirect_block, &bytes)?;
                Ok(block)
            }
            block => Ok(block),
        }
    }

    /// Returns the pointer in `field`, allocating a block when it is a hole.
    fn ensure_inode_pointer(
        &mut self,
        ino: u32,
        blocks: &mut u32,
        site: PointerSite,
        field: &mut u32,
    ) -> Result<u32, FsError> {
        if self.checked_pointer(ino, site, *field)? == 0 {
            *field = self.allocate_block()?;
            *blocks = blocks.saturating_add(1);
        }
        Ok(*field)
    }

    /// The block holding `file_block`, allocated (with any indirect blocks
    /// on its path) if it was a hole.  `inode` is updated, not written.
    fn ensure_block(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        file_block: u64,
    ) -> Result<u32, FsError> {
        let slot = slot_of(file_block, self.geometry().pointers_per_block()).ok_or(
            FsError::FileTooLarge {
                end: (file_block + 1) * u64::from(self.geometry().block_size()),
                maximum: self.geometry().max_file_size(),
            },
        )?;
        let mut blocks = inode.blocks;
        let block = match slot {
            MapSlot::Direct(index) => self.ensure_inode_pointer(
                ino,
                &mut blocks,
                PointerSite::Direct(index),
                &mut inode.direct[index],
            )?,
            MapSlot::Single(index) => {
                let single = self.ensure_inode_pointer(
                    ino,
                    &mut blocks,
                    PointerSite::SingleIndirect,
                    &mut inode.single_indirect,
                )?;
                inode.blocks = blocks;
                return self.ensure_indirect_entry(ino, inode, single, index);
            }
            MapSlot::Double { outer, inner } => {
                let double = self.ensure_inode_pointer(
                    ino,
                    &mut blocks,
                    PointerSite::DoubleIndirect,
                    &mut inode.double_indirect,
                )?;
                inode.blocks = blocks;
                let single = self.ensure_indirect_entry(ino, inode, double, outer)?;
                return self.ensure_indirect_entry(ino, inode, single, inner);
            }
        };
        inode.blocks = blocks;
        Ok(block)
    }

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

    /// Blocks a write over file blocks `first..=last` allocates: each hole's
    /// data block and each missing indirect block on the way to it.
    fn blocks_needed(
        &self,
        ino: u32,
        inode: &Inode,
        first: u64,
        last: u64,
    ) -> Result<u64, FsError> {
        /// An indirect block the write would create.
        #[derive(PartialEq, Eq, Hash)]
        enum NewIndirect {
            Single,
            Double,
            DoubleEntry(u32),
        }
        let mut new_indirect = HashSet::new();
        let mut needed = 0;
        for file_block in first..=last {
            if self.map_block(ino, inode, file_block)?.is_some() {
                continue;
            }
            needed += 1;
            match slot_of(file_block, self.geometry().pointers_per_block()) {
                Some(MapSlot::Single(_)) if inode.single_indirect == 0 => {
                    new_indirect.insert(NewIndirect::Single);
                }
                Some(MapSlot::Double { outer, .. }) => {
                    let double = inode.double_indirect;
                    if double == 0 {
                        new_indirect.insert(NewIndirect::Double);
                    }
                    if double == 0 || self.indirect_entry(ino, double, outer)? == 0 {
                        new_indirect.insert(NewIndirect::DoubleEntry(outer));
                    }
                }
                _ => {}
            }
        }
        Ok(needed + new_indirect.len() as u64)
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

    /// The inode named `name` in directory `dir`.
    pub fn lookup(&self, dir: u32, name: &[u8]) -> Result<Option<u32>, FsError> {
        let inode = self.read_directory(dir)?;
        for file_block in 0..inode.blocks_within_size(self.geometry().block_size()) {
            let Some(block) = self.map_block(dir, &inode, file_block)? else {
                continue;
            };
            let entries = parse_dir_block(&self.read_block(block)?)
                .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
            if let Some(entry) = entries
                .iter()
                .find(|entry| entry.ino != 0 && entry.name == name)
            {
                return Ok(Some(entry.ino));
            }
        }
        Ok(None)
    }

    /// Adds `name` -> `child` to directory `dir`, growing it by a block when full.
    fn add_entry(
        &mut self,
        dir: u32,
        name: &[u8],
        child: u32,
        file_type: FileType,
    ) -> Result<(), FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = self.read_directory(dir)?;
        let block_size = self.geometry().block_size();
        let type_byte = dirent_type(file_type);
        for file_block in 0..inode.blocks_within_size(block_size) {
            let Some(block) = self.map_block(dir, &inode, file_block)? else {
                continue;
            };
            let mut bytes = self.read_block(block)?;
            let added = insert_entry(&mut bytes, child, type_byte, name)
                .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
            if added {
                self.write_block(block, &bytes)?;
                inode.mtime = self.now;
                inode.ctime = self.now;
                return self.write_inode(dir, &inode);
            }
        }
        let mut bytes = empty_dir_block(block_size);
        insert_entry(&mut bytes, child, type_byte, name)
            .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
        let old_size = inode.size;
        self.write_inode(dir, &inode)?;
        self.write(dir, old_size, &bytes)
    }

    /// Refuses a name before anything is allocated for it, so a refusal
    /// leaves nothing behind.  (Running out of space half-way can still
    /// leave an unreferenced inode or block, which fsck reports.)
    fn check_new_name(&self, dir: u32, name: &[u8]) -> Result<(), FsError> {
        validate_name(name).map_err(FsError::InvalidName)?;
        if self.lookup(dir, name)?.is_some() {
            return Err(FsError::NameExists);
        }
        Ok(())
    }

    /// Creates an empty regular file `name` in `dir`.
    pub fn create(&mut self, dir: u32, name: &[u8], permissions: u16) -> Result<u32, FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = Inode::new(FileType::Regular, permissions, self.now);
        inode.nlink = 1;
        let ino = self.allocate_inode(&inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Regular) {
            self.release_inode(ino)?;
            return Err(error);
        }
        Ok(ino)
    }

    /// Adds another name for regular file `ino` in `dir` (a hard link).
    pub fn link(&mut self, dir: u32, name: &[u8], ino: u32) -> Result<(), FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Regular) {
            // Hard links to directories would break the tree fsck checks.
            return Err(FsError::NotARegularFile(ino));
        }
        inode.nlink = inode
            .nlink
            .checked_add(1)
            .ok_or(FsError::TooManyLinks(ino))?;
        inode.ctime = self.now;
        self.add_entry(dir, name, ino, FileType::Regular)?;
        self.write_inode(ino, &inode)
    }

    /// Creates directory `name` in `dir`, with "." and "..".
    pub fn mkdir(&mut self, dir: u32, name: &[u8], permissions: u16) -> Result<u32, FsError> {
        self.check_new_name(dir, name)?;
        let mut parent = self.read_directory(dir)?;
        parent.nlink = parent
            .nlink
            .checked_add(1)
            .ok_or(FsError::TooManyLinks(dir))?;
        let mut inode = Inode::new(FileType::Directory, permissions, self.now);
        inode.nlink = 2;
        let ino = self.allocate_inode(&inode)?;
        let block = match self.allocate_block() {
            Ok(block) => block,
            Err(error) => {
                self.release_inode(ino)?;
                return Err(error);
            }
        };
        self.write_block(
            block,
            &new_dir_block(self.geometry().block_size(), ino, dir),
        )?;
        inode.direct[0] = block;
        inode.blocks = 1;
        inode.size = u64::from(self.geometry().block_size());
        self.write_inode(ino, &inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Directory) {
            self.release_block(block);
            self.release_inode(ino)?;
            return Err(error);
        }
        // Re-read: add_entry may have grown the parent.
        let mut grown = self.read_inode(dir)?;
        grown.nlink = parent.nlink;
        self.write_inode(dir, &grown)?;
        Ok(ino)
    }
}

/// Reads and validates the superblock of `device`.
pub fn read_superblock<D: BlockDevice + ?Sized>(device: &D) -> Result<Superblock, FsError> {
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    device.read_at(0, &mut bytes)?;
    Superblock::decode(&bytes).map_err(FsError::Superblock)
}
