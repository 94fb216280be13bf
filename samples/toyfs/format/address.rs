// SPDX-License-Identifier: GPL-2.0
//! Block pointers: what a nonzero `u32` of the block map names.
//!
//! Without the FRAGMENTS feature a pointer is a block number.  With it, a
//! pointer names a run of fragments inside one block:
//!
//! ```text
//! bits  0..=27  first fragment, counted from the start of the device
//! bits 28..=30  fragments in the run, minus 1 (1 to 8)
//! bit  31       the run holds an LZ4-compressed block (see `compressed`)
//! ```
//!
//! A run never crosses a block boundary, so a whole block is a run of
//! `B / F` fragments starting at a multiple of `B / F`, and a tail or a
//! compressed block is read with one block read.  0 is a hole, as before.

use super::geometry::Geometry;

/// Bits of a pointer that hold the first fragment.
pub const FRAGMENT_MASK: u32 = (1 << 28) - 1;
/// Shift of the count field.
pub const COUNT_SHIFT: u32 = 28;
/// Mask of the count field after the shift.
pub const COUNT_MASK: u32 = 0x7;
/// The "compressed" bit.
pub const COMPRESSED_BIT: u32 = 1 << 31;

/// A run of fragments named by a nonzero block pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// First fragment (the block number without fragments).
    pub fragment: u32,
    /// Fragments in the run, 1 to 8.
    pub count: u32,
    /// Whether the run holds an LZ4-compressed block.
    pub compressed: bool,
}

/// Why an extent cannot be what a pointer names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentError {
    /// Past the end of the filesystem.
    OutOfRange,
    /// Into the superblock, the bitmap or the inode table.
    IntoMetadata,
    /// A run that crosses a block boundary.
    CrossesBlock,
    /// The compressed bit on an image without the LZ4 feature.
    CompressedWithoutFeature,
    /// Not a whole plain block where one is required (an indirect block).
    NotWholeBlock,
    /// A directory block with the compressed bit.
    CompressedDirectory,
}

impl ExtentError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::OutOfRange => "block pointer past the end of the filesystem",
            Self::IntoMetadata => "block pointer into metadata",
            Self::CrossesBlock => "fragment run crosses a block boundary",
            Self::CompressedWithoutFeature => "compressed block without the LZ4 feature",
            Self::NotWholeBlock => "indirect block is not a whole plain block",
            Self::CompressedDirectory => "compressed directory block",
        }
    }
}

impl Extent {
    /// The block holding the run.
    #[inline]
    pub fn block(&self, geometry: &Geometry) -> u32 {
        geometry.block_of_fragment(self.fragment)
    }

    /// Byte offset of the run in its block.
    #[inline]
    pub fn offset_in_block(&self, geometry: &Geometry) -> usize {
        let in_block = self.fragment & (geometry.fragments_per_block() - 1);
        (in_block as usize) << geometry.fragment_size().trailing_zeros()
    }

    /// Bytes of the run.
    #[inline]
    pub fn byte_len(&self, geometry: &Geometry) -> usize {
        (self.count as usize) << geometry.fragment_size().trailing_zeros()
    }

    /// Byte offset of the run in the image.
    #[inline]
    pub fn byte_offset(&self, geometry: &Geometry) -> u64 {
        u64::from(self.fragment) << geometry.fragment_size().trailing_zeros()
    }

    /// Whether the run is a whole plain block.
    #[inline]
    pub fn is_whole_block(&self, geometry: &Geometry) -> bool {
        !self.compressed
            && self.count == geometry.fragments_per_block()
            && self.fragment & (geometry.fragments_per_block() - 1) == 0
    }

    /// The fragments of the run.
    #[inline]
    pub fn fragments(&self) -> core::ops::Range<u32> {
        self.fragment..self.fragment + self.count
    }
}

impl Geometry {
    /// The run a nonzero pointer names, unchecked; `None` for a hole.
    #[inline]
    pub fn decode_pointer(&self, raw: u32) -> Option<Extent> {
        if raw == 0 {
            return None;
        }
        if !self.has_fragments() {
            return Some(Extent {
                fragment: raw,
                count: 1,
                compressed: false,
            });
        }
        Some(Extent {
            fragment: raw & FRAGMENT_MASK,
            count: ((raw >> COUNT_SHIFT) & COUNT_MASK) + 1,
            compressed: raw & COMPRESSED_BIT != 0,
        })
    }

    /// The pointer naming `extent`, which must be valid for this image
    /// (see [`Geometry::judge_extent`]).
    #[inline]
    pub fn encode_pointer(&self, extent: Extent) -> u32 {
        if !self.has_fragments() {
            return extent.fragment;
        }
        let compressed = if extent.compressed { COMPRESSED_BIT } else { 0 };
        compressed
            | ((extent.count - 1) & COUNT_MASK) << COUNT_SHIFT
            | extent.fragment & FRAGMENT_MASK
    }

    /// The whole plain block `block` as an extent.
    #[inline]
    pub fn whole_block(&self, block: u32) -> Extent {
        Extent {
            fragment: block << self.fragment_shift(),
            count: self.fragments_per_block(),
            compressed: false,
        }
    }

    /// Checks what every pointer must satisfy, whatever it points to.
    #[inline]
    pub fn judge_extent(&self, extent: &Extent) -> Result<(), ExtentError> {
        let per_block = self.fragments_per_block();
        let block = extent.block(self);
        if block >= self.block_count() {
            return Err(ExtentError::OutOfRange);
        }
        if block < self.first_data_block() {
            return Err(ExtentError::IntoMetadata);
        }
        // `offset + count > per_block` without the sum (`count` is any
        // `u32`): INVARIANT: the offset in the block is below `per_block`.
        let offset = extent.fragment & (per_block - 1);
        if extent.count > per_block.wrapping_sub(offset) {
            return Err(ExtentError::CrossesBlock);
        }
        if extent.compressed && !self.has_compression() {
            return Err(ExtentError::CompressedWithoutFeature);
        }
        Ok(())
    }

    /// Decodes and checks a pointer to an indirect block, which must be a
    /// whole plain block; returns the block.
    #[inline]
    pub fn judge_whole_block_pointer(&self, raw: u32) -> Result<Option<u32>, ExtentError> {
        let Some(extent) = self.decode_pointer(raw) else {
            return Ok(None);
        };
        self.judge_extent(&extent)?;
        if !extent.is_whole_block(self) {
            return Err(ExtentError::NotWholeBlock);
        }
        Ok(Some(extent.block(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::Features;
    use super::*;

    fn fragmented() -> Geometry {
        Geometry::with_features(4096, 1024, 64, Features::compressed(512)).unwrap()
    }

    #[test]
    fn without_fragments_a_pointer_is_a_block_number() {
        let geometry = Geometry::new(1024, 1024, 64).unwrap();
        let extent = geometry.decode_pointer(500).unwrap();
        assert_eq!(
            extent,
            Extent {
                fragment: 500,
                count: 1,
                compressed: false
            }
        );
        assert_eq!(geometry.encode_pointer(extent), 500);
        assert!(extent.is_whole_block(&geometry));
        assert_eq!(extent.byte_offset(&geometry), 500 * 1024);
        assert_eq!(geometry.decode_pointer(0), None);
        assert_eq!(
            geometry.judge_extent(&geometry.decode_pointer(1024).unwrap()),
            Err(ExtentError::OutOfRange)
        );
        assert_eq!(
            geometry.judge_extent(&geometry.decode_pointer(1).unwrap()),
            Err(ExtentError::IntoMetadata)
        );
    }

    #[test]
    fn fragment_pointers_round_trip_at_their_bits() {
        let geometry = fragmented();
        let extent = Extent {
            fragment: 8 * 100 + 5,
            count: 3,
            compressed: true,
        };
        let raw = geometry.encode_pointer(extent);
        assert_eq!(raw, 0x8000_0000 | 2 << 28 | 805);
        assert_eq!(geometry.decode_pointer(raw), Some(extent));
        assert_eq!(extent.block(&geometry), 100);
        assert_eq!(extent.offset_in_block(&geometry), 5 * 512);
        assert_eq!(extent.byte_len(&geometry), 1536);
        assert_eq!(geometry.judge_extent(&extent), Ok(()));
        let whole = geometry.whole_block(100);
        assert_eq!(geometry.encode_pointer(whole), 7 << 28 | 800);
        assert!(whole.is_whole_block(&geometry));
        assert_eq!(
            geometry.judge_whole_block_pointer(7 << 28 | 800),
            Ok(Some(100))
        );
    }

    #[test]
    fn runs_stay_in_one_block_of_the_data_region() {
        let geometry = fragmented();
        let run = |fragment, count| Extent {
            fragment,
            count,
            compressed: false,
        };
        assert_eq!(
            geometry.judge_extent(&run(8 * 100 + 6, 3)),
            Err(ExtentError::CrossesBlock)
        );
        assert_eq!(geometry.judge_extent(&run(8 * 100 + 5, 3)), Ok(()));
        assert_eq!(
            geometry.judge_extent(&run(8 * 1024, 1)),
            Err(ExtentError::OutOfRange)
        );
        assert_eq!(
            geometry.judge_extent(&run(geometry.first_data_fragment() - 1, 1)),
            Err(ExtentError::IntoMetadata)
        );
        assert_eq!(
            geometry.judge_whole_block_pointer(geometry.encode_pointer(run(800, 7))),
            Err(ExtentError::NotWholeBlock)
        );
        let plain = Geometry::with_features(4096, 1024, 64, Features::fragments(512)).unwrap();
        let compressed = Extent {
            compressed: true,
            ..run(800, 2)
        };
        assert_eq!(
            plain.judge_extent(&compressed),
            Err(ExtentError::CompressedWithoutFeature)
        );
    }
}
