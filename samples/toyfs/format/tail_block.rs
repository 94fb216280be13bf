// SPDX-License-Identifier: GPL-2.0
//! A tail block, with the PACKED_TAILS feature: one whole plain block
//! holding the last blocks (*packed tails*) of several regular files, each
//! at a byte offset of its own, as reiserfs packs tails into shared
//! items.  mkfs packs them; the kernel reads them in place and moves a
//! file's tail into fragments of its own before the file changes.
//!
//! ```text
//! offset size field
//!      0    4 magic            TAIL_MAGIC ("TAIL")
//!      4    4 tails            inodes whose tail lies in this block, >= 1
//!      8      tails            each file's bytes at its inode's tail_offset
//! ```
//!
//! A file with a packed tail has a nonzero `tail_offset` (inode bytes
//! 124..128): its last block, of `L = size % B` bytes (not 0), is bytes
//! `tail_offset..tail_offset + L` of the block its last pointer names,
//! a whole plain block.  No two tails overlap, and none overlaps the
//! header.

use super::geometry::Geometry;
use super::le::{get_u32, put_u32};

/// "TAIL" in ASCII, read as a little-endian `u32`.
pub const TAIL_MAGIC: u32 = u32::from_le_bytes(*b"TAIL");
/// Bytes of the header; the smallest `tail_offset`.
pub const TAIL_HEADER_SIZE: u32 = 8;

/// Why a tail block's header is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailBlockError {
    /// The magic number is not [`TAIL_MAGIC`].
    BadMagic,
    /// The count of tails is 0, or more than the block could hold.
    BadCount,
}

impl TailBlockError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::BadMagic => "tail block without its magic number",
            Self::BadCount => "tail block with a count of 0 or above its room",
        }
    }
}

/// The count of tails in the header `block` (the block's first bytes, at
/// least [`TAIL_HEADER_SIZE`]), checked: the magic number, and between 1
/// and the most one-byte tails the block holds.
pub fn parse_header(block: &[u8], geometry: &Geometry) -> Result<u32, TailBlockError> {
    if block.len() < TAIL_HEADER_SIZE as usize {
        return Err(TailBlockError::BadMagic);
    }
    if get_u32(block, 0) != TAIL_MAGIC {
        return Err(TailBlockError::BadMagic);
    }
    let tails = get_u32(block, 4);
    if tails == 0 || tails > geometry.block_size() - TAIL_HEADER_SIZE {
        return Err(TailBlockError::BadCount);
    }
    Ok(tails)
}

/// Writes the header of a tail block of `tails` tails into `block`.
pub fn put_header(block: &mut [u8], tails: u32) {
    put_u32(block, 0, TAIL_MAGIC);
    put_u32(block, 4, tails);
}

/// Whether a file of `size` bytes may have its last block packed at
/// `tail_offset` (nonzero) of a tail block of `geometry`: the last block
/// is partial, and its bytes lie past the header and inside the block.
pub fn tail_fits(geometry: &Geometry, size: u64, tail_offset: u32) -> bool {
    let tail = geometry.offset_in_block(size);
    tail != 0
        && tail_offset >= TAIL_HEADER_SIZE
        && u64::from(tail_offset) + tail <= u64::from(geometry.block_size())
}

#[cfg(test)]
mod tests {
    use super::super::features::Features;
    use super::*;

    fn geometry() -> Geometry {
        let features = Features {
            packed_tails: true,
            ..Features::fragments(512)
        };
        Geometry::with_features(4096, 64, 16, features).unwrap()
    }

    #[test]
    fn header_round_trips_and_is_checked() {
        let geometry = geometry();
        let mut block = vec![0u8; 4096];
        assert_eq!(
            parse_header(&block, &geometry),
            Err(TailBlockError::BadMagic)
        );
        put_header(&mut block, 3);
        assert_eq!(&block[..4], b"TAIL");
        assert_eq!(parse_header(&block, &geometry), Ok(3));
        put_header(&mut block, 0);
        assert_eq!(
            parse_header(&block, &geometry),
            Err(TailBlockError::BadCount)
        );
        put_header(&mut block, 4089);
        assert_eq!(
            parse_header(&block, &geometry),
            Err(TailBlockError::BadCount)
        );
        assert_eq!(
            parse_header(&block[..7], &geometry),
            Err(TailBlockError::BadMagic)
        );
    }

    #[test]
    fn a_tail_lies_past_the_header_and_inside_its_block() {
        let geometry = geometry();
        assert!(tail_fits(&geometry, 100, 8));
        assert!(tail_fits(&geometry, 4096 + 4088, 8));
        assert!(!tail_fits(&geometry, 4096 + 4089, 8));
        assert!(!tail_fits(&geometry, 100, 7));
        assert!(!tail_fits(&geometry, 4096, 8));
        assert!(tail_fits(&geometry, 96, 4000));
        assert!(!tail_fits(&geometry, 97, 4000));
    }
}
