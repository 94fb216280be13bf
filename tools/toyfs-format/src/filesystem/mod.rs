// SPDX-License-Identifier: GPL-2.0
//! A small userspace reader and writer of toyfs images.
//!
//! Enough to put files with holes and directories into an image (for tests,
//! and for images prepared on the host) and to read them back; it follows
//! the same allocation rules the kernel side must keep, which fsck checks.

mod data;
mod mapping;
mod namespace;
mod tails;

pub use tails::PackedTails;

use crate::address::Extent;
use crate::bitmap::Bitmap;
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
    /// No block below it has a free fragment.
    free_block_hint: u32,
    /// No inode below it is free.
    free_inode_hint: u32,
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
            bitmap: Bitmap::from_bytes(bytes, geometry.fragment_count()),
            now,
            free_block_hint: geometry.first_data_block(),
            free_inode_hint: 1,
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

    /// Takes `extent`'s fragments in the bitmap and the free count.
    pub(super) fn take(&mut self, extent: Extent) -> Result<(), FsError> {
        // A bitmap with free bits but a zero free count is damaged: refuse
        // rather than let the count wrap.
        self.superblock.free_blocks = self
            .superblock
            .free_blocks
            .checked_sub(extent.count)
            .ok_or(FsError::NoSpace)?;
        for fragment in extent.fragments() {
            self.bitmap.set(fragment);
        }
        let per_block = self.geometry().fragments_per_block();
        let full = ((1u16 << per_block) - 1) as u8;
        while self.free_block_hint < self.geometry().block_count()
            && self.bitmap.block_mask(self.free_block_hint, per_block) == full
        {
            self.free_block_hint += 1;
        }
        Ok(())
    }

    /// Allocates the lowest run of `count` free fragments inside one
    /// block (`count` of a block: the lowest free block).  Not zeroed.
    pub(super) fn allocate_run(&mut self, count: u32) -> Result<Extent, FsError> {
        let geometry = *self.geometry();
        let fragment = self
            .bitmap
            .find_run(
                count,
                geometry.fragments_per_block(),
                self.free_block_hint,
                geometry.block_count(),
            )
            .ok_or(FsError::NoSpace)?;
        let extent = Extent {
            fragment,
            count,
            compressed: false,
        };
        self.take(extent)?;
        Ok(extent)
    }

    /// Allocates the lowest free whole block, zeroed.
    pub(super) fn allocate_whole_block(&mut self) -> Result<u32, FsError> {
        let extent = self.allocate_run(self.geometry().fragments_per_block())?;
        let block = extent.block(self.geometry());
        self.write_block(block, &vec![0u8; self.geometry().block_size() as usize])?;
        Ok(block)
    }

    fn allocate_inode(&mut self, inode: &Inode) -> Result<u32, FsError> {
        for ino in self.free_inode_hint..=self.geometry().inode_count() {
            if self.read_inode(ino)?.is_free() {
                self.superblock.free_inodes = self
                    .superblock
                    .free_inodes
                    .checked_sub(1)
                    .ok_or(FsError::NoFreeInodes)?;
                self.write_inode(ino, inode)?;
                self.free_inode_hint = ino + 1;
                return Ok(ino);
            }
        }
        Err(FsError::NoFreeInodes)
    }

    fn release_inode(&mut self, ino: u32) -> Result<(), FsError> {
        self.write_inode(ino, &Inode::default())?;
        self.superblock.free_inodes = self.superblock.free_inodes.saturating_add(1);
        self.free_inode_hint = self.free_inode_hint.min(ino);
        Ok(())
    }

    /// Frees `extent`'s fragments.
    pub(super) fn release(&mut self, extent: Extent) {
        for fragment in extent.fragments() {
            self.bitmap.clear(fragment);
        }
        self.superblock.free_blocks = self.superblock.free_blocks.saturating_add(extent.count);
        self.free_block_hint = self.free_block_hint.min(extent.block(self.geometry()));
    }

    /// Frees whole block `block`.
    pub(super) fn release_block(&mut self, block: u32) {
        self.release(self.geometry().whole_block(block));
    }

    /// The bytes of `extent`'s run.
    pub(super) fn read_run(&self, extent: &Extent) -> Result<Vec<u8>, FsError> {
        let mut bytes = vec![0u8; extent.byte_len(self.geometry())];
        self.device
            .read_at(extent.byte_offset(self.geometry()), &mut bytes)?;
        Ok(bytes)
    }

    /// Writes `bytes`, exactly the length of `extent`'s run, into it.
    pub(super) fn write_run(&mut self, extent: &Extent, bytes: &[u8]) -> Result<(), FsError> {
        let offset = extent.byte_offset(self.geometry());
        self.device.write_at(offset, bytes)?;
        Ok(())
    }
}

/// Reads and validates the superblock of `device`.
pub fn read_superblock<D: BlockDevice + ?Sized>(device: &D) -> Result<Superblock, FsError> {
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    device.read_at(0, &mut bytes)?;
    Superblock::decode(&bytes).map_err(FsError::Superblock)
}
