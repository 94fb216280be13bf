// SPDX-License-Identifier: GPL-2.0
//! A small userspace reader and writer of toyfs images.
//!
//! Enough to put files with holes and directories into an image (for tests,
//! and for images prepared on the host) and to read them back; it follows
//! the same allocation rules the kernel side must keep, which fsck checks.

mod data;
mod mapping;
mod namespace;

use crate::bitmap::Bitmap;
use crate::block_map::PointerSite;
use crate::block_walk::{judge_pointer, PointerFault};
use crate::constants::{BITMAP_START, INODE_SIZE, SUPERBLOCK_BLOCK, SUPERBLOCK_SIZE};
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode, Timestamp};
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
}

/// Reads and validates the superblock of `device`.
pub fn read_superblock<D: BlockDevice + ?Sized>(device: &D) -> Result<Superblock, FsError> {
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    device.read_at(0, &mut bytes)?;
    Superblock::decode(&bytes).map_err(FsError::Superblock)
}
