// SPDX-License-Identifier: GPL-2.0
//! The bitmap: bit `f % 8` (least significant first) of byte `f / 8` is 1
//! when fragment `f` is in use (block `f` in an image without fragments).
//!
//! The fragments of metadata blocks (0..first_data_block) are always 1.
//! The bits after the last fragment, up to the end of the last bitmap
//! block, are 1 too, so an allocator scanning for a 0 bit never finds a
//! fragment outside the image.

use crate::geometry::Geometry;

/// The count of set bits from a bit on in one bitmap block of atomics,
/// as the kernel module checks a run of pointers (shared format code).
pub use crate::disk::bitmap::set_run;

/// The bitmap held in memory.  Bits are indexed by fragment number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    bytes: Vec<u8>,
    fragment_count: u32,
}

impl Bitmap {
    /// The bitmap of an empty filesystem: metadata and padding bits set.
    pub fn new(geometry: &Geometry) -> Self {
        let len = geometry.bitmap_blocks() as usize * geometry.block_size() as usize;
        let mut bitmap = Self {
            bytes: vec![0; len],
            fragment_count: geometry.fragment_count(),
        };
        for fragment in 0..geometry.first_data_fragment() {
            bitmap.set(fragment);
        }
        for bit in u64::from(geometry.fragment_count())..(len as u64 * 8) {
            bitmap.bytes[(bit / 8) as usize] |= 1 << (bit % 8);
        }
        bitmap
    }

    /// Wraps bytes read from disk, `fragment_count` bits of which stand
    /// for fragments.
    pub fn from_bytes(bytes: Vec<u8>, fragment_count: u32) -> Self {
        Self {
            bytes,
            fragment_count,
        }
    }

    /// The on-disk bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether fragment `fragment` is in use.
    pub fn is_set(&self, fragment: u32) -> bool {
        self.bytes[(fragment / 8) as usize] & (1 << (fragment % 8)) != 0
    }

    /// Marks fragment `fragment` in use.
    pub fn set(&mut self, fragment: u32) {
        self.bytes[(fragment / 8) as usize] |= 1 << (fragment % 8);
    }

    /// Marks fragment `fragment` free.
    pub fn clear(&mut self, fragment: u32) {
        self.bytes[(fragment / 8) as usize] &= !(1 << (fragment % 8));
    }

    /// Free fragments.
    pub fn count_free(&self) -> u32 {
        (0..self.fragment_count)
            .filter(|&fragment| !self.is_set(fragment))
            .count() as u32
    }

    /// The first free fragment at or after `start`.
    pub fn first_free_from(&self, start: u32) -> Option<u32> {
        (start..self.fragment_count).find(|&fragment| !self.is_set(fragment))
    }

    /// The in-use bits of the `per_block` fragments of block `block`, as
    /// the low bits of a byte (`per_block` is 1, 2, 4 or 8).
    pub fn block_mask(&self, block: u32, per_block: u32) -> u8 {
        let first = u64::from(block) * u64::from(per_block);
        let byte = self.bytes[(first / 8) as usize];
        let all = ((1u16 << per_block) - 1) as u8;
        (byte >> (first % 8)) & all
    }

    /// The first run of `count` free fragments inside one block of
    /// `per_block` fragments, searching blocks `first_block..end_block`
    /// from the lowest; the run starts as low in its block as it can.
    pub fn find_run(
        &self,
        count: u32,
        per_block: u32,
        first_block: u32,
        end_block: u32,
    ) -> Option<u32> {
        let want = ((1u16 << count) - 1) as u8;
        (first_block..end_block).find_map(|block| {
            let used = self.block_mask(block, per_block);
            (0..=per_block - count)
                .find(|&start| used & (want << start) == 0)
                .map(|start| block * per_block + start)
        })
    }

    /// The first padding bit (past the last fragment) that is 0, if any.
    pub fn first_clear_padding_bit(&self) -> Option<u64> {
        (u64::from(self.fragment_count)..self.bytes.len() as u64 * 8)
            .find(|&bit| self.bytes[(bit / 8) as usize] & (1 << (bit % 8)) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Features;

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

    #[test]
    fn one_bit_per_fragment_and_runs_inside_one_block() {
        let geometry = Geometry::with_features(4096, 100, 8, Features::fragments(512)).unwrap();
        // Superblock, one bitmap block, one inode-table block.
        assert_eq!(geometry.first_data_block(), 3);
        let mut bitmap = Bitmap::new(&geometry);
        assert_eq!(bitmap.count_free(), 97 * 8);
        assert_eq!(&bitmap.as_bytes()[..4], &[0xff, 0xff, 0xff, 0]);
        assert_eq!(bitmap.as_bytes()[100], 0xff, "padding from fragment 800");
        // Block 3: fragments 0..3 and 5 used, so a run of 3 only fits in block 4.
        for fragment in [24, 25, 26, 29] {
            bitmap.set(fragment);
        }
        assert_eq!(bitmap.block_mask(3, 8), 0b0010_0111);
        assert_eq!(bitmap.find_run(2, 8, 3, 100), Some(27));
        assert_eq!(bitmap.find_run(1, 8, 3, 100), Some(27));
        assert_eq!(bitmap.find_run(3, 8, 3, 100), Some(32));
        assert_eq!(bitmap.find_run(2, 8, 99, 100), Some(99 * 8));
        let quarters = Geometry::with_features(4096, 100, 8, Features::fragments(1024)).unwrap();
        let mut bitmap = Bitmap::new(&quarters);
        bitmap.set(13);
        assert_eq!(bitmap.block_mask(3, 4), 0b0010);
        assert_eq!(bitmap.find_run(2, 4, 3, 100), Some(14));
        assert_eq!(bitmap.find_run(4, 4, 3, 100), Some(16));
    }
}
