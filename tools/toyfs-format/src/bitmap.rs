// SPDX-License-Identifier: GPL-2.0
//! The block bitmap: bit `b % 8` (least significant first) of byte `b / 8`
//! is 1 when block `b` is in use.
//!
//! Metadata blocks (0..first_data_block) are always 1.  The bits after the
//! last block, up to the end of the last bitmap block, are 1 too, so an
//! allocator scanning for a 0 bit never finds a block outside the image.

use crate::geometry::Geometry;

/// The bitmap of a whole filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    bytes: Vec<u8>,
    block_count: u32,
}

impl Bitmap {
    /// The bitmap of an empty filesystem: metadata and padding set, data clear.
    pub fn new(geometry: &Geometry) -> Self {
        let len = geometry.bitmap_blocks() as usize * geometry.block_size() as usize;
        let mut bitmap = Self {
            bytes: vec![0; len],
            block_count: geometry.block_count(),
        };
        for block in 0..geometry.first_data_block() {
            bitmap.set(block);
        }
        for bit in u64::from(geometry.block_count())..(len as u64 * 8) {
            bitmap.bytes[(bit / 8) as usize] |= 1 << (bit % 8);
        }
        bitmap
    }

    /// The bitmap as read from its blocks; `bytes` is all of them.
    pub fn from_bytes(bytes: Vec<u8>, block_count: u32) -> Self {
        Self { bytes, block_count }
    }

    /// The bytes to write to the bitmap blocks.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether `block` is marked in use.
    pub fn is_set(&self, block: u32) -> bool {
        self.bytes[(block / 8) as usize] & (1 << (block % 8)) != 0
    }

    /// Marks `block` in use.
    pub fn set(&mut self, block: u32) {
        self.bytes[(block / 8) as usize] |= 1 << (block % 8);
    }

    /// Marks `block` free.
    pub fn clear(&mut self, block: u32) {
        self.bytes[(block / 8) as usize] &= !(1 << (block % 8));
    }

    /// Blocks of the filesystem marked free.
    pub fn count_free(&self) -> u32 {
        (0..self.block_count)
            .filter(|&block| !self.is_set(block))
            .count() as u32
    }

    /// The first free block at or after `start`.
    pub fn first_free_from(&self, start: u32) -> Option<u32> {
        (start..self.block_count).find(|&block| !self.is_set(block))
    }

    /// The first padding bit (past the last block) that is 0, if any.
    pub fn first_clear_padding_bit(&self) -> Option<u64> {
        (u64::from(self.block_count)..self.bytes.len() as u64 * 8)
            .find(|&bit| self.bytes[(bit / 8) as usize] & (1 << (bit % 8)) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_marks_metadata_and_padding() {
        let geometry = Geometry::new(512, 100, 8).unwrap();
        assert_eq!(geometry.first_data_block(), 4);
        let bitmap = Bitmap::new(&geometry);
        assert_eq!(bitmap.as_bytes().len(), 512);
        assert_eq!(bitmap.as_bytes()[0], 0b0000_1111);
        assert_eq!(
            bitmap.as_bytes()[12],
            0b1111_0000,
            "blocks 96..100 free, 100.. padding"
        );
        assert!(bitmap.as_bytes()[13..].iter().all(|&b| b == 0xff));
        assert_eq!(bitmap.count_free(), 96);
        assert_eq!(bitmap.first_clear_padding_bit(), None);
        assert_eq!(bitmap.first_free_from(0), Some(4));
    }

    #[test]
    fn set_clear_and_search() {
        let geometry = Geometry::new(512, 100, 8).unwrap();
        let mut bitmap = Bitmap::new(&geometry);
        bitmap.set(4);
        bitmap.set(5);
        assert_eq!(bitmap.first_free_from(0), Some(6));
        bitmap.clear(4);
        assert_eq!(bitmap.first_free_from(0), Some(4));
        assert!(bitmap.is_set(5));
        assert_eq!(bitmap.count_free(), 95);
        for block in 4..100 {
            bitmap.set(block);
        }
        assert_eq!(bitmap.first_free_from(0), None);
        let mut bytes = bitmap.as_bytes().to_vec();
        bytes[20] = 0xfe;
        assert_eq!(
            Bitmap::from_bytes(bytes, 100).first_clear_padding_bit(),
            Some(160)
        );
    }
}
