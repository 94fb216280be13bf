// SPDX-License-Identifier: GPL-2.0
//! The layout (defined in samples/toyfs/format/geometry.rs) and its
//! messages.

use std::fmt;

pub use crate::disk::geometry::*;

use crate::constants::{MAX_BLOCK_SIZE, MIN_BLOCK_SIZE};

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlockSizeNotPowerOfTwo(size) => {
                write!(f, "block size {size} is not a power of two")
            }
            Self::BlockSizeOutOfRange(size) => write!(
                f,
                "block size {size} is out of range ({MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE})"
            ),
            Self::TooFewBlocks {
                block_count,
                minimum,
            } => write!(
                f,
                "{block_count} blocks cannot hold the metadata and the root directory (at least {minimum} needed)"
            ),
            Self::NoInodes => write!(f, "inode count is 0; at least 1 (the root directory) is needed"),
            Self::BadFragmentSize {
                fragment_size,
                block_size,
            } => write!(
                f,
                "fragment size {fragment_size} is not a power of two from {} to {block_size} (B/8 to B)",
                block_size / 8
            ),
            Self::TooManyFragments {
                block_count,
                maximum,
            } => write!(
                f,
                "{block_count} blocks have more fragments than a block pointer names (at most {maximum} blocks)"
            ),
            Self::CompressionNeedsFragments => write!(
                f,
                "LZ4 compression needs fragments of at most half a block"
            ),
            Self::PackedTailsNeedFragments => write!(
                f,
                "packed tails need fragments smaller than a block"
            ),
            Self::PackedLz4NeedsBoth => write!(
                f,
                "compressed packed tails need packed tails and LZ4 compression"
            ),
            Self::BadDefaultFlags(flags) => write!(
                f,
                "default inode flags {flags:#x}: only compressed (0x4), and only with LZ4"
            ),
            Self::TooManyInodes {
                inode_count,
                maximum,
            } => write!(
                f,
                "{inode_count} inodes do not fit: the inode table would leave no block for the root directory (at most {maximum})"
            ),
        }
    }
}

impl std::error::Error for GeometryError {}
