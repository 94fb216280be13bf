// SPDX-License-Identifier: GPL-2.0
//! Where everything is: the layout that block size, block count, inode
//! count and the features determine.
//!
//! ```text
//! block 0                      superblock
//! 1 .. 1+bitmap_blocks          bitmap, one bit per fragment of the image
//! .. +inode_table_blocks        inode table, inode_count inodes of 128 bytes
//! first_data_block .. end       data: file blocks, directory blocks, indirect blocks
//! ```
//!
//! The allocation unit is the *fragment* of `F` bytes, `B / 8 <= F <= B`.
//! Without the FRAGMENTS feature `F = B` and a fragment is a block, so one
//! set of rules describes both kinds of image.

use super::constants::{
    BITMAP_START, DIRECT_POINTERS, INODE_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_COUNT, MIN_BLOCK_SIZE,
    POINTER_SIZE,
};
use super::features::Features;
use super::inode::FLAG_COMPRESSED;

/// Most fragments an image with the FRAGMENTS feature may have: a block
/// pointer names a fragment in 28 bits (see [`super::address`]).
pub const MAX_FRAGMENTS: u32 = 1 << 28;

/// A validated layout.  Construct it with [`Geometry::new`] or
/// [`Geometry::with_features`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    block_count: u32,
    inode_count: u32,
    bitmap_blocks: u32,
    inode_table_blocks: u32,
    // INVARIANT: `BITMAP_START + bitmap_blocks` and `inode_table_start +
    // inode_table_blocks`, below `block_count` (`max_inodes`), summed once
    // in `with_features`: every pointer checked (`meta::check_extent`) and
    // every run freed compares with the first data block, and the sums
    // carried an overflow branch into each of them.
    inode_table_start: u32,
    first_data_block: u32,
    // INVARIANT: `features` passed `Features::validate` for the block size.
    features: Features,
    // INVARIANT: `log2(block_size)` and `features.fragment_shift(block_size)`,
    // worked out once: every block pointer followed uses them, and under
    // the kernel's `opt-level=s` and overflow checks the computations
    // stayed calls (Documentation/performance.rst, "Appends and
    // truncations under TCG").  The block size is `1 << block_shift`.
    block_shift: BlockShift,
    fragment_shift: FragmentShift,
}

/// `log2` of a valid block size (512 to 4096).  An enum, not a `u32`, so
/// that the compiler knows its range wherever it is read: a shift by it,
/// the block size `1 << block_shift`, the pointers per block and the
/// products of a few of those need no overflow check
/// (Documentation/performance.rst, "Bounds proved once: the overflow
/// branches of the cycles' hot paths").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum BlockShift {
    B512 = 9,
    B1K = 10,
    B2K = 11,
    B4K = 12,
}

impl BlockShift {
    /// The shift of a block size that passed [`validate_block_size`].
    fn of(block_size: u32) -> Option<Self> {
        match block_size {
            512 => Some(Self::B512),
            1024 => Some(Self::B1K),
            2048 => Some(Self::B2K),
            4096 => Some(Self::B4K),
            _ => None,
        }
    }
}

/// `log2(B / F)` of a valid layout: 0 to 3 (fragments of `B / 8` at
/// least).  An enum for the same reason as [`BlockShift`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum FragmentShift {
    Whole = 0,
    Halves = 1,
    Quarters = 2,
    Eighths = 3,
}

impl FragmentShift {
    /// The shift `Features::fragment_shift` gave for a validated layout.
    fn of(shift: u32) -> Option<Self> {
        match shift {
            0 => Some(Self::Whole),
            1 => Some(Self::Halves),
            2 => Some(Self::Quarters),
            3 => Some(Self::Eighths),
            _ => None,
        }
    }
}

/// Why a block size, block count and inode count do not make a toyfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// The block size is not a power of two.
    BlockSizeNotPowerOfTwo(u32),
    /// The block size is a power of two outside 512..=4096.
    BlockSizeOutOfRange(u32),
    /// Fewer blocks than superblock, bitmap, one inode-table block and the
    /// root directory need.
    TooFewBlocks {
        /// Blocks asked for.
        block_count: u32,
        /// Fewest blocks that hold the metadata and the root directory.
        minimum: u32,
    },
    /// An inode count of zero: there would be no root directory.
    NoInodes,
    /// The inode table would leave no block for the root directory.
    TooManyInodes {
        /// Inodes asked for.
        inode_count: u32,
        /// Most inodes that fit with this block size and block count.
        maximum: u32,
    },
    /// A fragment size that is not a power of two from `B / 8` to `B`.
    BadFragmentSize {
        /// The fragment size.
        fragment_size: u32,
        /// The block size.
        block_size: u32,
    },
    /// More fragments than a block pointer can name.
    TooManyFragments {
        /// Blocks asked for.
        block_count: u32,
        /// Most blocks whose fragments a pointer can name.
        maximum: u32,
    },
    /// LZ4 compression without fragments of at most half a block: a
    /// compressed block could never be stored in fewer fragments.
    CompressionNeedsFragments,
    /// Packed tails without fragments smaller than a block: a tail would
    /// save nothing over a fragment.
    PackedTailsNeedFragments,
    /// Compressed packed tails (PACKED_LZ4) without both PACKED_TAILS and
    /// LZ4.
    PackedLz4NeedsBoth,
    /// Default inode flags other than "compressed" on an image with LZ4.
    BadDefaultFlags(u32),
}

impl GeometryError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::BlockSizeNotPowerOfTwo(_) | Self::BlockSizeOutOfRange(_) => {
                "block size is not a power of two in 512..=4096"
            }
            Self::TooFewBlocks { .. } => "fewer than 4 blocks",
            Self::NoInodes => "inode count is 0",
            Self::TooManyInodes { .. } => "inode table leaves no data block",
            Self::BadFragmentSize { .. } => "fragment size is not a power of two in B/8..=B",
            Self::TooManyFragments { .. } => "more than 2^28 fragments",
            Self::CompressionNeedsFragments => "LZ4 without fragments of at most B/2",
            Self::PackedTailsNeedFragments => "packed tails without fragments smaller than B",
            Self::PackedLz4NeedsBoth => "compressed packed tails without packed tails and LZ4",
            Self::BadDefaultFlags(_) => "default flags other than compressed with LZ4",
        }
    }
}

/// Checks that `block_size` is a power of two in 512..=4096.
pub fn validate_block_size(block_size: u32) -> Result<(), GeometryError> {
    if !block_size.is_power_of_two() {
        return Err(GeometryError::BlockSizeNotPowerOfTwo(block_size));
    }
    if !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(GeometryError::BlockSizeOutOfRange(block_size));
    }
    Ok(())
}

/// Blocks of bitmap that `block_count << fragment_shift` bits need.
fn bitmap_blocks_for(block_size: u32, block_count: u32, fragment_shift: u32) -> u32 {
    // At most 2^32 / 4096 bits per block: always fits in u32.
    // A shift, not a division: the block size is a power of two.
    let shift = block_size.trailing_zeros() + 3;
    let bits = u64::from(block_count) << fragment_shift;
    ((bits + (1 << shift) - 1) >> shift) as u32
}

/// Most inodes whose table leaves one data block for the root directory,
/// with `fragment_shift = log2(B / F)` (0 without fragments).
///
/// `block_size` must be valid, `fragment_shift <= 3` and
/// `block_count >= MIN_BLOCK_COUNT`.
pub fn max_inodes(block_size: u32, block_count: u32, fragment_shift: u32) -> u32 {
    let bitmap = bitmap_blocks_for(block_size, block_count, fragment_shift);
    let table_blocks = u64::from(block_count).saturating_sub(u64::from(bitmap) + 2);
    let fitting = table_blocks * u64::from(block_size) / INODE_SIZE as u64;
    fitting.min(u64::from(u32::MAX)) as u32
}

impl Geometry {
    /// Lays out a filesystem without optional features (blocks are the
    /// allocation unit), or says precisely why it cannot be laid out.
    pub fn new(block_size: u32, block_count: u32, inode_count: u32) -> Result<Self, GeometryError> {
        Self::with_features(block_size, block_count, inode_count, Features::NONE)
    }

    /// Lays out a filesystem with `features`, or says precisely why it
    /// cannot be laid out.
    pub fn with_features(
        block_size: u32,
        block_count: u32,
        inode_count: u32,
        features: Features,
    ) -> Result<Self, GeometryError> {
        validate_block_size(block_size)?;
        features.validate(block_size)?;
        if block_count < MIN_BLOCK_COUNT {
            return Err(GeometryError::TooFewBlocks {
                block_count,
                minimum: MIN_BLOCK_COUNT,
            });
        }
        let fragment_shift = features.fragment_shift(block_size);
        if features.has_fragments()
            && u64::from(block_count) << fragment_shift > u64::from(MAX_FRAGMENTS)
        {
            return Err(GeometryError::TooManyFragments {
                block_count,
                maximum: MAX_FRAGMENTS >> fragment_shift,
            });
        }
        if inode_count == 0 {
            return Err(GeometryError::NoInodes);
        }
        // Never 0: four or more blocks always leave one for the inode table.
        let maximum = max_inodes(block_size, block_count, fragment_shift);
        if inode_count > maximum {
            return Err(GeometryError::TooManyInodes {
                inode_count,
                maximum,
            });
        }
        let inode_table_blocks =
            (u64::from(inode_count) * INODE_SIZE as u64 + u64::from(block_size) - 1)
                >> block_size.trailing_zeros();
        // CAST: fewer than `block_count` (`inode_count <= maximum`).
        let inode_table_blocks = inode_table_blocks as u32;
        // Never `None`: `validate_block_size` and `Features::validate`
        // passed (a fragment of `B / 8` to `B`).
        let Some(block_shift) = BlockShift::of(block_size) else {
            return Err(GeometryError::BlockSizeOutOfRange(block_size));
        };
        let Some(fragment_shift_of) = FragmentShift::of(fragment_shift) else {
            return Err(GeometryError::BadFragmentSize {
                fragment_size: block_size >> fragment_shift.min(31),
                block_size,
            });
        };
        let bitmap_blocks = bitmap_blocks_for(block_size, block_count, fragment_shift);
        // Below `block_count` (`inode_count <= maximum`): no sum overflows.
        let inode_table_start = BITMAP_START + bitmap_blocks;
        Ok(Self {
            block_count,
            inode_count,
            bitmap_blocks,
            inode_table_blocks,
            inode_table_start,
            first_data_block: inode_table_start + inode_table_blocks,
            features,
            block_shift,
            fragment_shift: fragment_shift_of,
        })
    }

    /// The optional features of the image.
    #[inline]
    pub fn features(&self) -> Features {
        self.features
    }

    /// The same layout with the SPECIAL_FILES feature on or off: it
    /// changes no layout, and is set on a mounted image the first time a
    /// special file is made (`features.rs`).
    pub fn with_special_files(mut self, on: bool) -> Self {
        self.features.special_files = on;
        self
    }

    /// The same layout with the LARGE_FILES feature on or off: it changes
    /// no layout, and is set on a mounted image the first time an inode
    /// needs it (`features.rs`).
    pub fn with_large_files(mut self, on: bool) -> Self {
        self.features.large_files = on;
        self
    }

    /// Whether inodes may be larger than the double-indirect level
    /// reaches (the LARGE_FILES feature).
    pub fn has_large_files(&self) -> bool {
        self.features.large_files
    }

    /// The same layout with the PREALLOC feature on or off: it changes
    /// no layout, and is set on a mounted image by the first allocation
    /// past the end of a file (`features.rs`).
    pub fn with_prealloc(mut self, on: bool) -> Self {
        self.features.prealloc = on;
        self
    }

    /// Whether regular files may have blocks past their end (the
    /// PREALLOC feature).
    pub fn has_prealloc(&self) -> bool {
        self.features.prealloc
    }

    /// The same layout with the GENERATIONS feature on or off: it changes
    /// no layout, and is set on a mounted image before the first inode
    /// the kernel allocates is written (`features.rs`).
    pub fn with_generations(mut self, on: bool) -> Self {
        self.features.generations = on;
        self
    }

    /// Whether inodes carry a generation number (the GENERATIONS
    /// feature).
    pub fn has_generations(&self) -> bool {
        self.features.generations
    }

    /// Whether inodes may be symbolic links and special files (the
    /// SPECIAL_FILES feature).
    #[inline]
    pub fn has_special_files(&self) -> bool {
        self.features.special_files
    }

    /// Whether block pointers name fragments (the FRAGMENTS feature).
    #[inline]
    pub fn has_fragments(&self) -> bool {
        self.features.has_fragments()
    }

    /// Whether blocks may be LZ4-compressed (the LZ4 feature).
    #[inline]
    pub fn has_compression(&self) -> bool {
        self.features.lz4
    }

    /// Whether a file's last block may be a packed tail (the PACKED_TAILS
    /// feature).
    #[inline]
    pub fn has_packed_tails(&self) -> bool {
        self.features.packed_tails
    }

    /// Whether a packed tail may be LZ4-compressed (the PACKED_LZ4
    /// feature).
    #[inline]
    pub fn has_packed_lz4(&self) -> bool {
        self.features.packed_lz4
    }

    /// `log2(B / F)`: 0 when a fragment is a block.
    #[inline]
    pub fn fragment_shift(&self) -> u32 {
        self.fragment_shift as u32
    }

    /// `F`: bytes per fragment, the allocation unit.
    #[inline]
    pub fn fragment_size(&self) -> u32 {
        self.block_size() >> self.fragment_shift()
    }

    /// Fragments per block: 1, 2, 4 or 8.
    #[inline]
    pub fn fragments_per_block(&self) -> u32 {
        1 << self.fragment_shift()
    }

    /// Fragments of the whole image: bits of the bitmap that stand for
    /// something.
    #[inline]
    pub fn fragment_count(&self) -> u32 {
        // CAST: checked against `MAX_FRAGMENTS` in `with_features` when
        // the shift is not 0.
        self.block_count << self.fragment_shift()
    }

    /// First fragment of the data region.
    #[inline]
    pub fn first_data_fragment(&self) -> u32 {
        self.first_data_block() << self.fragment_shift()
    }

    /// Fragments of the data region.
    #[inline]
    pub fn data_fragment_count(&self) -> u32 {
        self.data_block_count() << self.fragment_shift()
    }

    /// The block holding fragment `fragment`.
    #[inline]
    pub fn block_of_fragment(&self, fragment: u32) -> u32 {
        fragment >> self.fragment_shift()
    }

    /// Fragments needed for `bytes` bytes, rounded up.
    #[inline]
    pub fn fragments_for(&self, bytes: u32) -> u32 {
        let shift = self.fragment_size().trailing_zeros();
        (bytes >> shift) + u32::from(bytes & (self.fragment_size() - 1) != 0)
    }

    /// Bytes of file block `file_block` that lie below `size`: `B` for a
    /// block before the last, the tail for the last, 0 past the end.
    #[inline]
    pub fn file_block_length(&self, size: u64, file_block: u64) -> u32 {
        let start = file_block << self.block_shift();
        // CAST: at most `block_size`.
        size.saturating_sub(start).min(u64::from(self.block_size())) as u32
    }

    /// Default inode flags of a new regular file.
    pub fn default_file_flags(&self) -> u32 {
        self.features.default_flags & FLAG_COMPRESSED
    }

    /// Bytes per block.
    #[inline]
    pub fn block_size(&self) -> u32 {
        1 << self.block_shift()
    }

    /// Blocks in the filesystem, metadata included.
    #[inline]
    pub fn block_count(&self) -> u32 {
        self.block_count
    }

    /// Inodes in the inode table; valid inode numbers are `1..=inode_count`.
    #[inline]
    pub fn inode_count(&self) -> u32 {
        self.inode_count
    }

    /// Blocks of the block bitmap.
    #[inline]
    pub fn bitmap_blocks(&self) -> u32 {
        self.bitmap_blocks
    }

    /// First block of the inode table.
    #[inline]
    pub fn inode_table_start(&self) -> u32 {
        self.inode_table_start
    }

    /// Blocks of the inode table.
    #[inline]
    pub fn inode_table_blocks(&self) -> u32 {
        self.inode_table_blocks
    }

    /// First block that may be referenced by an inode; everything before it
    /// is metadata.
    #[inline]
    pub fn first_data_block(&self) -> u32 {
        self.first_data_block
    }

    /// Blocks available for file data, directories and indirect blocks.
    #[inline]
    pub fn data_block_count(&self) -> u32 {
        // OVERFLOW: `first_data_block < block_count`.
        self.block_count.wrapping_sub(self.first_data_block)
    }

    /// Byte offset of block `block` in the image.
    #[inline]
    pub fn block_offset(&self, block: u32) -> u64 {
        u64::from(block) * u64::from(self.block_size())
    }

    /// Bytes of the whole filesystem.
    pub fn byte_size(&self) -> u64 {
        self.block_offset(self.block_count)
    }

    /// Byte offset of inode `ino` in the image, if `ino` is in `1..=inode_count`.
    pub fn inode_offset(&self, ino: u32) -> Option<u64> {
        if ino == 0 || ino > self.inode_count {
            return None;
        }
        Some(self.block_offset(self.inode_table_start()) + u64::from(ino - 1) * INODE_SIZE as u64)
    }

    /// Block pointers in one indirect block.
    #[inline]
    pub fn pointers_per_block(&self) -> u32 {
        self.block_size() / POINTER_SIZE
    }

    /// File blocks the direct, single- and double-indirect pointers
    /// address: `12 + P + P^2`.
    pub fn double_reach_blocks(&self) -> u64 {
        let per_block = u64::from(self.pointers_per_block());
        DIRECT_POINTERS as u64 + per_block + per_block * per_block
    }

    /// Bytes of [`Geometry::double_reach_blocks`]: the largest size an
    /// inode may have without the LARGE_FILES feature.
    pub fn double_reach_size(&self) -> u64 {
        self.double_reach_blocks() * u64::from(self.block_size())
    }

    /// File blocks the whole block map addresses, triple-indirect level
    /// included: `12 + P + P^2 + P^3`.  A truncation frees up to here.
    pub fn map_reach_blocks(&self) -> u64 {
        let per_block = u64::from(self.pointers_per_block());
        self.double_reach_blocks() + per_block * per_block * per_block
    }

    /// File blocks of the largest file: the map's reach, or fewer if the
    /// `u32` blocks count (fragments, data and indirect) of a file whose
    /// every block is allocated would overflow first (as ext2 bounds a
    /// file by its 32-bit `i_blocks`).  With `M = (2^32 - 1) / (B / F)`
    /// blocks and an indirect block for every `P - 1` data blocks at
    /// most (plus one per level), `D` data blocks fit when
    /// `D * P / (P - 1) + 3 <= M`.  The count bound is the smaller only
    /// for 4 KiB blocks with fragments of 1 KiB or less; otherwise the
    /// map's reach is.
    pub fn max_file_blocks(&self) -> u64 {
        let per_block = u64::from(self.pointers_per_block());
        let count = u64::from(u32::MAX) >> self.fragment_shift();
        let by_count = count.saturating_sub(3) * (per_block - 1) / per_block;
        self.map_reach_blocks().min(by_count)
    }

    /// The largest file in bytes, whatever the image's features:
    /// `s_maxbytes` (the kernel sets LARGE_FILES before an inode past
    /// [`Geometry::double_reach_size`] reaches the disk).
    pub fn largest_file_size(&self) -> u64 {
        self.max_file_blocks() * u64::from(self.block_size())
    }

    /// Largest size an inode may have in this image: past
    /// [`Geometry::double_reach_size`] only with LARGE_FILES.
    pub fn max_file_size(&self) -> u64 {
        if self.has_large_files() {
            self.largest_file_size()
        } else {
            self.double_reach_size()
        }
    }

    /// Whether `block` may be named by a block pointer: inside the
    /// filesystem and not metadata.
    #[inline]
    pub fn is_data_block(&self, block: u32) -> bool {
        block >= self.first_data_block() && block < self.block_count
    }

    /// Bytes per block as a `usize`.
    #[inline]
    pub fn block_bytes(&self) -> usize {
        self.block_size() as usize
    }

    /// `log2(block_size)`: the block size is a power of two, so byte
    /// offsets are split into blocks with shifts and masks (no division
    /// that the compiler would guard with a panic).
    #[inline]
    pub fn block_shift(&self) -> u32 {
        self.block_shift as u32
    }

    /// The file block holding byte `pos`.
    #[inline]
    pub fn block_of(&self, pos: u64) -> u64 {
        pos >> self.block_shift()
    }

    /// The offset of byte `pos` in its block.
    #[inline]
    pub fn offset_in_block(&self, pos: u64) -> u64 {
        pos & (u64::from(self.block_size()) - 1)
    }

    /// Blocks needed for `bytes` bytes.
    #[inline]
    pub fn blocks_for(&self, bytes: u64) -> u64 {
        self.block_of(bytes) + u64::from(self.offset_in_block(bytes) != 0)
    }

    /// `log2(8 * block_size)`: the fragments one bitmap block covers.
    #[inline]
    pub fn bitmap_shift(&self) -> u32 {
        self.block_shift() + 3
    }

    /// The bitmap block (counted from [`BITMAP_START`]) and the bit in it
    /// that stand for fragment `fragment` (block `fragment` without
    /// fragments).
    #[inline]
    pub fn bitmap_position(&self, fragment: u32) -> (u32, usize) {
        let shift = self.bitmap_shift();
        // CAST: a bit index in a block of at most 4096 bytes.
        (fragment >> shift, (fragment & ((1 << shift) - 1)) as usize)
    }

    /// `log2(pointers_per_block)`.
    #[inline]
    pub fn pointers_shift(&self) -> u32 {
        self.block_shift() - 2
    }

    /// Block and byte offset in it of inode `ino`, which must be in
    /// `1..=inode_count`.
    #[inline]
    pub fn inode_location(&self, ino: u32) -> (u32, usize) {
        let byte = u64::from(ino - 1) * INODE_SIZE as u64;
        // CAST: the table has fewer than 2^32 blocks (checked in `new`)
        // and an offset in a block is below 4096.
        (
            self.inode_table_start() + self.block_of(byte) as u32,
            self.offset_in_block(byte) as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_one_mebibyte_filesystem_with_1k_blocks() {
        let geometry = Geometry::new(1024, 1024, 256).unwrap();
        assert_eq!(geometry.bitmap_blocks(), 1);
        assert_eq!(geometry.inode_table_start(), 2);
        assert_eq!(geometry.inode_table_blocks(), 32);
        assert_eq!(geometry.first_data_block(), 34);
        assert_eq!(geometry.data_block_count(), 990);
        assert_eq!(geometry.inode_offset(1), Some(2048));
        assert_eq!(geometry.inode_offset(256), Some(2048 + 255 * 128));
        assert_eq!(geometry.inode_offset(0), None);
        assert_eq!(geometry.inode_offset(257), None);
        assert!(!geometry.is_data_block(33));
        assert!(geometry.is_data_block(34));
        assert!(geometry.is_data_block(1023));
        assert!(!geometry.is_data_block(1024));
    }

    #[test]
    fn bitmap_grows_by_one_block_per_8_block_size_blocks() {
        assert_eq!(Geometry::new(512, 4096, 4).unwrap().bitmap_blocks(), 1);
        assert_eq!(Geometry::new(512, 4097, 4).unwrap().bitmap_blocks(), 2);
        assert_eq!(
            Geometry::new(4096, u32::MAX, 4).unwrap().bitmap_blocks(),
            131_072
        );
    }

    #[test]
    fn max_file_size_per_block_size() {
        let max = |size| Geometry::new(size, 64, 1).unwrap().max_file_size();
        assert_eq!(max(512), (12 + 128 + 128 * 128) * 512);
        assert_eq!(max(1024), (12 + 256 + 256 * 256) * 1024);
        assert_eq!(max(4096), (12 + 1024 + 1024 * 1024) * 4096);
        let large = |size, features| {
            let geometry = Geometry::with_features(size, 64, 1, features).unwrap();
            (
                geometry.with_large_files(true).max_file_size(),
                geometry.largest_file_size(),
            )
        };
        let reach = |p: u64, b: u64| (12 + p + p * p + p * p * p) * b;
        // The map's reach wins for B <= 2048, and without fragments.
        assert_eq!(
            large(512, Features::NONE),
            (reach(128, 512), reach(128, 512))
        );
        assert_eq!(large(512, Features::fragments(64)).1, reach(128, 512));
        assert_eq!(large(1024, Features::NONE).1, reach(256, 1024));
        assert_eq!(large(1024, Features::compressed(128)).1, reach(256, 1024));
        assert_eq!(large(2048, Features::fragments(256)).1, reach(512, 2048));
        assert_eq!(large(4096, Features::NONE).1, reach(1024, 4096));
        assert_eq!(large(4096, Features::fragments(2048)).1, reach(1024, 4096));
        // The u32 blocks count wins for 4 KiB blocks of 1 KiB or 512-byte
        // fragments.
        let by_count = |m: u64| (m - 3) * 1023 / 1024 * 4096;
        assert_eq!(
            large(4096, Features::fragments(1024)).1,
            by_count(u64::from(u32::MAX) / 4)
        );
        assert_eq!(
            large(4096, Features::compressed(512)).1,
            by_count(u64::from(u32::MAX) / 8)
        );
        assert!(large(4096, Features::compressed(512)).1 < reach(1024, 4096));
    }

    #[test]
    fn block_size_must_be_a_power_of_two_in_range() {
        for bad in [0, 1000, 1536, 4095] {
            assert_eq!(
                Geometry::new(bad, 64, 1),
                Err(GeometryError::BlockSizeNotPowerOfTwo(bad))
            );
        }
        for bad in [1, 256, 8192, 65536] {
            assert_eq!(
                Geometry::new(bad, 64, 1),
                Err(GeometryError::BlockSizeOutOfRange(bad))
            );
        }
        for good in [512, 1024, 2048, 4096] {
            assert!(Geometry::new(good, 64, 1).is_ok());
        }
    }

    /// The shifts kept as enums (`BlockShift`, `FragmentShift`) give back
    /// every valid block and fragment size, and what follows from them.
    #[test]
    fn shifts_give_back_every_block_and_fragment_size() {
        for block_shift in 9..=12u32 {
            let block_size = 1u32 << block_shift;
            for fragment_shift in 0..=3u32 {
                let fragment_size = block_size >> fragment_shift;
                let features = if fragment_shift == 0 {
                    Features::NONE
                } else {
                    Features::fragments(fragment_size)
                };
                let geometry = Geometry::with_features(block_size, 4096, 8, features).unwrap();
                assert_eq!(geometry.block_size(), block_size);
                assert_eq!(geometry.block_bytes(), block_size as usize);
                assert_eq!(geometry.block_shift(), block_shift);
                assert_eq!(geometry.fragment_shift(), fragment_shift);
                assert_eq!(geometry.fragment_size(), fragment_size);
                assert_eq!(geometry.fragments_per_block(), 1 << fragment_shift);
                assert_eq!(geometry.pointers_per_block(), block_size / 4);
                assert_eq!(geometry.pointers_shift(), block_shift - 2);
                assert_eq!(geometry.block_of(u64::MAX), u64::MAX >> block_shift);
                assert_eq!(
                    geometry.offset_in_block(u64::MAX),
                    u64::from(block_size) - 1
                );
            }
        }
    }

    #[test]
    fn smallest_filesystem_is_four_blocks() {
        assert_eq!(
            Geometry::new(1024, 3, 1),
            Err(GeometryError::TooFewBlocks {
                block_count: 3,
                minimum: 4
            })
        );
        let smallest = Geometry::new(1024, 4, 8).unwrap();
        assert_eq!(smallest.first_data_block(), 3);
        assert_eq!(smallest.data_block_count(), 1);
    }

    #[test]
    fn inode_count_must_be_positive_and_fit() {
        assert_eq!(Geometry::new(1024, 64, 0), Err(GeometryError::NoInodes));
        // 64 blocks: superblock, 1 bitmap block, 1 root block leave 61 blocks of 8 inodes.
        assert_eq!(max_inodes(1024, 64, 0), 61 * 8);
        assert!(Geometry::new(1024, 64, 61 * 8).is_ok());
        assert_eq!(
            Geometry::new(1024, 64, 61 * 8 + 1),
            Err(GeometryError::TooManyInodes {
                inode_count: 61 * 8 + 1,
                maximum: 61 * 8
            })
        );
    }

    #[test]
    fn splits_offsets_and_finds_bits_and_inodes() {
        let geometry = Geometry::new(1024, 20000, 256).unwrap();
        assert_eq!(geometry.block_of(1023), 0);
        assert_eq!(geometry.block_of(1024), 1);
        assert_eq!(geometry.offset_in_block(5000), 5000 - 4096);
        assert_eq!(geometry.blocks_for(0), 0);
        assert_eq!(geometry.blocks_for(1), 1);
        assert_eq!(geometry.blocks_for(2048), 2);
        assert_eq!(geometry.blocks_for(u64::MAX), (u64::MAX >> 10) + 1);
        assert_eq!(geometry.bitmap_position(8191), (0, 8191));
        assert_eq!(geometry.bitmap_position(8192), (1, 0));
        assert_eq!(
            geometry.inode_location(1),
            (geometry.inode_table_start(), 0)
        );
        assert_eq!(
            geometry.inode_location(9),
            (geometry.inode_table_start() + 1, 0)
        );
        assert_eq!(
            geometry.inode_location(10),
            (geometry.inode_table_start() + 1, 128)
        );
        assert_eq!(geometry.pointers_shift(), 8);
    }
}
