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
//!
//! With PACKED_LZ4, a `tail_offset` with bit 31 ([`TAIL_COMPRESSED`])
//! set names a *compressed* packed tail at the offset its low bits say:
//! a compressed block (`super::compressed`: the 4-byte header, then the
//! LZ4 data) of `length = L`, taking `4 + compressed_len` bytes of the
//! tail block, fewer than `L`.

use super::compressed::{CompressedError, CompressedHeader, HEADER_SIZE};
use super::geometry::Geometry;
use super::le::{get_u32, put_u32};

/// "TAIL" in ASCII, read as a little-endian `u32`.
pub const TAIL_MAGIC: u32 = u32::from_le_bytes(*b"TAIL");
/// Bytes of the header; the smallest `tail_offset`.
pub const TAIL_HEADER_SIZE: u32 = 8;

/// Bit of `tail_offset` that says the packed tail is LZ4-compressed
/// (PACKED_LZ4); the other bits are its byte offset.
pub const TAIL_COMPRESSED: u32 = 1 << 31;

/// Where a packed tail lies in its tail block, and how it is stored: a
/// nonzero `tail_offset` decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailPlace {
    /// Byte offset of the tail (of its header, compressed) in the block.
    pub offset: u32,
    /// Stored as a compressed block (`super::compressed`).
    pub compressed: bool,
}

impl TailPlace {
    /// `tail_offset` decoded.
    pub fn of(tail_offset: u32) -> Self {
        Self {
            offset: tail_offset & !TAIL_COMPRESSED,
            compressed: tail_offset & TAIL_COMPRESSED != 0,
        }
    }

    /// The `tail_offset` naming this place.
    pub fn encode(&self) -> u32 {
        if self.compressed {
            self.offset | TAIL_COMPRESSED
        } else {
            self.offset
        }
    }
}

/// A packed tail as its tail block stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredTail<'a> {
    /// The file's `L` bytes themselves.
    Plain(&'a [u8]),
    /// A compressed block of `length = L`: its header and its LZ4 data.
    Compressed(CompressedHeader, &'a [u8]),
}

impl StoredTail<'_> {
    /// Bytes of the tail block the tail takes from its offset.
    pub fn stored_len(&self) -> u32 {
        match self {
            // CAST: at most a block.
            Self::Plain(bytes) => bytes.len() as u32,
            Self::Compressed(header, _) => header.stored_len(),
        }
    }
}

/// Why a packed tail cannot be read from its tail block (whose header
/// is sound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailError {
    /// Its bytes run past the end of the block.
    PastBlock,
    /// A compressed tail whose header breaks a rule of compressed blocks.
    Compressed(CompressedError),
    /// A compressed tail whose `length` is not the file's bytes in its
    /// last block.
    Length {
        /// The header's `length`.
        length: u16,
        /// `L`, the file's bytes in its last block.
        expected: u32,
    },
    /// A compressed tail that does not take fewer bytes than plain.
    NotSmaller {
        /// Bytes it takes.
        stored: u32,
        /// `L`.
        plain: u32,
    },
}

impl TailError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::PastBlock => "packed tail past the end of its tail block",
            Self::Compressed(error) => error.rule(),
            Self::Length { .. } => "compressed packed tail of another length than the file's",
            Self::NotSmaller { .. } => "compressed packed tail not smaller than the plain one",
        }
    }
}

/// The packed tail of a file whose last block holds `len` (`L`) bytes,
/// at `place` of tail block `block` (its bytes, whose header the caller
/// checked): `L` bytes from the offset, or a compressed block there whose
/// header is sound, whose `length` is `L` and which takes fewer than `L`
/// bytes.  The LZ4 data itself is not looked at.
pub fn stored_tail<'a>(
    block: &'a [u8],
    geometry: &Geometry,
    place: TailPlace,
    len: u32,
) -> Result<StoredTail<'a>, TailError> {
    let from = block
        .get(place.offset as usize..)
        .ok_or(TailError::PastBlock)?;
    if !place.compressed {
        return from
            .get(..len as usize)
            .map(StoredTail::Plain)
            .ok_or(TailError::PastBlock);
    }
    let (header, data) = CompressedHeader::parse(from, geometry).map_err(TailError::Compressed)?;
    if u32::from(header.length) != len {
        return Err(TailError::Length {
            length: header.length,
            expected: len,
        });
    }
    if header.stored_len() >= len {
        return Err(TailError::NotSmaller {
            stored: header.stored_len(),
            plain: len,
        });
    }
    Ok(StoredTail::Compressed(header, data))
}

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
/// is partial, and its bytes lie past the header and inside the block;
/// compressed ([`TAIL_COMPRESSED`], with PACKED_LZ4), its header and at
/// least one byte of data do, and it is more than that header and byte
/// (a compressed tail takes fewer bytes than the plain one).
pub fn tail_fits(geometry: &Geometry, size: u64, tail_offset: u32) -> bool {
    let tail = geometry.offset_in_block(size);
    let place = TailPlace::of(tail_offset);
    // CAST: a constant.
    let least = HEADER_SIZE as u64 + 1;
    let stored = if place.compressed { least } else { tail };
    tail != 0
        && (!place.compressed || (geometry.has_packed_lz4() && tail > least))
        && place.offset >= TAIL_HEADER_SIZE
        && u64::from(place.offset) + stored <= u64::from(geometry.block_size())
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

    fn lz4_geometry() -> Geometry {
        let features = Features {
            packed_tails: true,
            packed_lz4: true,
            ..Features::compressed(512)
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

    #[test]
    fn a_compressed_tail_needs_the_feature_and_room_for_its_header() {
        let plain = geometry();
        let lz4 = lz4_geometry();
        let at = |offset| offset | TAIL_COMPRESSED;
        assert!(!tail_fits(&plain, 100, at(8)));
        assert!(tail_fits(&lz4, 100, at(8)));
        assert!(tail_fits(&lz4, 100, 8));
        // The header and a byte of data inside the block.
        assert!(tail_fits(&lz4, 3000, at(4091)));
        assert!(!tail_fits(&lz4, 3000, at(4092)));
        assert!(!tail_fits(&lz4, 3000, at(7)));
        // A tail of 5 bytes or fewer cannot shrink.
        assert!(!tail_fits(&lz4, 5, at(8)));
        assert!(tail_fits(&lz4, 6, at(8)));
        assert!(!tail_fits(&lz4, 4096, at(8)));
        assert_eq!(
            TailPlace::of(at(100)),
            TailPlace {
                offset: 100,
                compressed: true
            }
        );
        assert_eq!(TailPlace::of(at(100)).encode(), at(100));
        assert_eq!(TailPlace::of(100).encode(), 100);
    }

    #[test]
    fn a_stored_tail_is_checked_against_the_file() {
        let geometry = lz4_geometry();
        let mut block = vec![0u8; 4096];
        put_header(&mut block, 2);
        block[8..108].fill(7);
        let plain = TailPlace::of(8);
        assert_eq!(
            stored_tail(&block, &geometry, plain, 100),
            Ok(StoredTail::Plain(&block[8..108]))
        );
        assert_eq!(
            stored_tail(&block, &geometry, TailPlace::of(4000), 100),
            Err(TailError::PastBlock)
        );
        let compressed = TailPlace::of(200 | TAIL_COMPRESSED);
        CompressedHeader {
            compressed_len: 10,
            length: 100,
        }
        .write(&mut block[200..]);
        let (header, data) = match stored_tail(&block, &geometry, compressed, 100) {
            Ok(StoredTail::Compressed(header, data)) => (header, data),
            other => panic!("{other:?}"),
        };
        assert_eq!((header.stored_len(), data.len()), (14, 10));
        assert_eq!(
            stored_tail(&block, &geometry, compressed, 99),
            Err(TailError::Length {
                length: 100,
                expected: 99
            })
        );
        CompressedHeader {
            compressed_len: 96,
            length: 100,
        }
        .write(&mut block[200..]);
        assert_eq!(
            stored_tail(&block, &geometry, compressed, 100),
            Err(TailError::NotSmaller {
                stored: 100,
                plain: 100
            })
        );
        CompressedHeader {
            compressed_len: 0,
            length: 100,
        }
        .write(&mut block[200..]);
        assert_eq!(
            stored_tail(&block, &geometry, compressed, 100),
            Err(TailError::Compressed(CompressedError::Empty))
        );
        CompressedHeader {
            compressed_len: 10,
            length: 100,
        }
        .write(&mut block[4090..]);
        assert!(matches!(
            stored_tail(
                &block,
                &geometry,
                TailPlace::of(4090 | TAIL_COMPRESSED),
                100
            ),
            Err(TailError::Compressed(CompressedError::PastRun { .. }))
        ));
    }
}
