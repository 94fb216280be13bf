// SPDX-License-Identifier: GPL-2.0
//! A compressed block: one file block of at most `B` bytes, compressed on
//! its own with LZ4 (the block format `LZ4_compress_default` writes and
//! `LZ4_decompress_safe` reads, no frame), stored in the fewest fragments
//! of a run whose pointer has the compressed bit.
//!
//! ```text
//! offset size field
//!      0    2 compressed_len   bytes of LZ4 data, at least 1
//!      2    2 length           bytes it decompresses to: 1..=B
//!      4    n data             compressed_len bytes of LZ4 block data
//!  4 + n      padding          zero to the end of the run
//! ```
//!
//! The bytes of the file block from `length` to `B` read as zeros.  A
//! block is stored compressed only when that takes fewer fragments than
//! storing it plain; otherwise it is stored plain.

use super::geometry::Geometry;
use super::le::{get_u16, put_u16};

/// Bytes of the header before the LZ4 data.
pub const HEADER_SIZE: usize = 4;

/// The header of a compressed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompressedHeader {
    /// Bytes of LZ4 data after the header.
    pub compressed_len: u16,
    /// Bytes the data decompresses to.
    pub length: u16,
}

/// Why a compressed run cannot be decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressedError {
    /// `compressed_len` is 0.
    Empty,
    /// The header and `compressed_len` bytes do not fit in the run.
    PastRun {
        /// `compressed_len`.
        compressed_len: u16,
        /// Bytes of the run.
        run_len: usize,
    },
    /// `length` is 0 or more than a block.
    BadLength {
        /// `length`.
        length: u16,
    },
    /// The LZ4 data is malformed, or decompresses to another length than
    /// the header says.
    Corrupt,
}

impl CompressedError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Empty => "compressed block of length 0",
            Self::PastRun { .. } => "compressed length past its fragments",
            Self::BadLength { .. } => "compressed block decompresses to 0 or more than a block",
            Self::Corrupt => "compressed data does not decompress to its length",
        }
    }
}

impl CompressedHeader {
    /// Reads and checks the header at the start of `run`, the bytes of
    /// the run, in an image of `geometry`; returns it and the LZ4 data.
    pub fn parse<'a>(
        run: &'a [u8],
        geometry: &Geometry,
    ) -> Result<(Self, &'a [u8]), CompressedError> {
        let run_len = run.len();
        if run_len < HEADER_SIZE {
            return Err(CompressedError::PastRun {
                compressed_len: 0,
                run_len,
            });
        }
        let header = Self {
            compressed_len: get_u16(run, 0),
            length: get_u16(run, 2),
        };
        if header.compressed_len == 0 {
            return Err(CompressedError::Empty);
        }
        let end = HEADER_SIZE + usize::from(header.compressed_len);
        if end > run_len {
            return Err(CompressedError::PastRun {
                compressed_len: header.compressed_len,
                run_len,
            });
        }
        if header.length == 0 || u32::from(header.length) > geometry.block_size() {
            return Err(CompressedError::BadLength {
                length: header.length,
            });
        }
        Ok((header, &run[HEADER_SIZE..end]))
    }

    /// Writes the header into the first [`HEADER_SIZE`] bytes of `run`.
    pub fn write(&self, run: &mut [u8]) {
        put_u16(run, 0, self.compressed_len);
        put_u16(run, 2, self.length);
    }

    /// Bytes the stored block takes before padding.
    pub fn stored_len(&self) -> u32 {
        HEADER_SIZE as u32 + u32::from(self.compressed_len)
    }
}

/// Whether `compressed_len` bytes of LZ4 data for a block of `length`
/// bytes are worth storing compressed: they take fewer fragments than the
/// plain block.  Returns the fragments they take if so.
pub fn fragments_if_smaller(
    geometry: &Geometry,
    compressed_len: usize,
    length: u32,
) -> Option<u32> {
    let stored = u32::try_from(HEADER_SIZE + compressed_len).ok()?;
    let compressed = geometry.fragments_for(stored);
    (compressed < geometry.fragments_for(length)).then_some(compressed)
}

#[cfg(test)]
mod tests {
    use super::super::features::Features;
    use super::*;

    fn geometry() -> Geometry {
        Geometry::with_features(4096, 1024, 64, Features::compressed(512)).unwrap()
    }

    #[test]
    fn header_round_trips_and_bounds_the_data() {
        let geometry = geometry();
        let mut run = [0u8; 1024];
        let header = CompressedHeader {
            compressed_len: 700,
            length: 4096,
        };
        header.write(&mut run);
        assert_eq!(&run[..4], &[0xbc, 0x02, 0x00, 0x10]);
        let (parsed, data) = CompressedHeader::parse(&run, &geometry).unwrap();
        assert_eq!(parsed, header);
        assert_eq!(data.len(), 700);
        assert_eq!(header.stored_len(), 704);
    }

    #[test]
    fn rejects_empty_overlong_and_oversized() {
        let geometry = geometry();
        let parse = |compressed_len, length| {
            let mut run = [0u8; 512];
            CompressedHeader {
                compressed_len,
                length,
            }
            .write(&mut run);
            CompressedHeader::parse(&run, &geometry).map(|(header, _)| header)
        };
        assert_eq!(parse(0, 100), Err(CompressedError::Empty));
        assert_eq!(
            parse(509, 100),
            Err(CompressedError::PastRun {
                compressed_len: 509,
                run_len: 512
            })
        );
        assert!(parse(508, 100).is_ok());
        assert_eq!(parse(10, 0), Err(CompressedError::BadLength { length: 0 }));
        assert_eq!(
            parse(10, 4097),
            Err(CompressedError::BadLength { length: 4097 })
        );
        assert_eq!(
            CompressedHeader::parse(&[1, 0], &geometry),
            Err(CompressedError::PastRun {
                compressed_len: 0,
                run_len: 2
            })
        );
    }

    #[test]
    fn compressed_only_when_a_fragment_is_saved() {
        let geometry = geometry();
        // 4 + 1020 bytes fit 2 fragments; a whole block needs 8.
        assert_eq!(fragments_if_smaller(&geometry, 1020, 4096), Some(2));
        assert_eq!(fragments_if_smaller(&geometry, 1021, 4096), Some(3));
        assert_eq!(fragments_if_smaller(&geometry, 3580, 4096), Some(7));
        assert_eq!(fragments_if_smaller(&geometry, 3581, 4096), None);
        // A 1000-byte tail takes 2 fragments plain: only 508 bytes or fewer pay.
        assert_eq!(fragments_if_smaller(&geometry, 508, 1000), Some(1));
        assert_eq!(fragments_if_smaller(&geometry, 509, 1000), None);
    }
}
