// SPDX-License-Identifier: GPL-2.0
//! The superblock (defined in samples/toyfs/format/superblock.rs), its
//! checksum computed here, and its messages.

use std::fmt;

pub use crate::disk::superblock::*;

use crate::constants::{MAGIC, SUPERBLOCK_SIZE, VERSION};
use crate::crc32c::crc32c;

impl Superblock {
    /// Encodes to the 128 on-disk bytes, checksum included.
    pub fn encode(&self) -> [u8; SUPERBLOCK_SIZE] {
        self.encode_with(crc32c)
    }

    /// Decodes and validates; the error names the first thing wrong.
    pub fn decode(bytes: &[u8; SUPERBLOCK_SIZE]) -> Result<Self, SuperblockError> {
        Self::decode_with(bytes, crc32c)
    }
}

impl fmt::Display for SuperblockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(magic) => write!(
                f,
                "bad magic {magic:#010x} (expected {MAGIC:#010x}, \"TOYF\"): not a toyfs image"
            ),
            Self::UnsupportedVersion(version) => {
                write!(
                    f,
                    "unsupported format version {version} (this tool reads version {VERSION})"
                )
            }
            Self::BadChecksum { stored, computed } => write!(
                f,
                "superblock checksum {stored:#010x} does not match its contents ({computed:#010x})"
            ),
            Self::Geometry(error) => write!(f, "superblock sizes are invalid: {error}"),
            Self::LayoutMismatch {
                field,
                stored,
                expected,
            } => write!(
                f,
                "superblock {field} is {stored}, but the sizes imply {expected}"
            ),
            Self::BadState(state) => write!(
                f,
                "superblock state {state} is neither 1 (clean) nor 2 (dirty)"
            ),
            Self::FreeCountTooLarge {
                field,
                stored,
                maximum,
            } => write!(
                f,
                "superblock {field} is {stored}, more than the {maximum} that can be free"
            ),
            Self::ReservedNotZero { offset } => {
                write!(f, "superblock reserved byte at offset {offset} is not zero")
            }
            Self::UnknownFeatures(bits) => write!(
                f,
                "superblock feature_incompat has bits {bits:#x} this tool does not know"
            ),
        }
    }
}

impl std::error::Error for SuperblockError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Geometry, GeometryError};
    use crate::le::{get_u32, put_u32};

    fn sample() -> Superblock {
        Superblock::new(
            Geometry::new(1024, 1024, 256).unwrap(),
            989,
            255,
            FsState::Clean,
        )
    }

    /// Changes one field and re-seals the checksum, so the field check is what fails.
    fn with_field(offset: usize, value: u32) -> [u8; SUPERBLOCK_SIZE] {
        let mut bytes = sample().encode();
        put_u32(&mut bytes, offset, value);
        let checksum = crc32c(&bytes[..CHECKSUM_OFFSET]);
        put_u32(&mut bytes, CHECKSUM_OFFSET, checksum);
        bytes
    }

    #[test]
    fn round_trips() {
        for state in [FsState::Clean, FsState::Dirty] {
            let superblock = Superblock { state, ..sample() };
            assert_eq!(Superblock::decode(&superblock.encode()), Ok(superblock));
        }
    }

    #[test]
    fn encodes_the_documented_bytes() {
        let bytes = sample().encode();
        assert_eq!(&bytes[0..4], b"TOYF");
        let words: Vec<u32> = (0..15).map(|i| get_u32(&bytes, i * 4)).collect();
        assert_eq!(
            words,
            [MAGIC, 1, 1024, 1024, 256, 989, 255, 1, 1, 1, 2, 32, 34, 1, 128]
        );
        assert!(bytes[60..124].iter().all(|&b| b == 0));
        assert_eq!(get_u32(&bytes, 124), crc32c(&bytes[..124]));
    }

    #[test]
    fn rejects_bad_magic_version_and_checksum() {
        assert_eq!(
            Superblock::decode(&with_field(0, 0xef53)),
            Err(SuperblockError::BadMagic(0xef53))
        );
        assert_eq!(
            Superblock::decode(&with_field(4, 2)),
            Err(SuperblockError::UnsupportedVersion(2))
        );
        let mut bytes = sample().encode();
        bytes[20] ^= 1;
        assert!(matches!(
            Superblock::decode(&bytes),
            Err(SuperblockError::BadChecksum { .. })
        ));
    }

    #[test]
    fn rejects_bad_sizes_and_layout_fields() {
        assert_eq!(
            Superblock::decode(&with_field(8, 1000)),
            Err(SuperblockError::Geometry(
                GeometryError::BlockSizeNotPowerOfTwo(1000)
            ))
        );
        assert_eq!(
            Superblock::decode(&with_field(16, 0)),
            Err(SuperblockError::Geometry(GeometryError::NoInodes))
        );
        assert_eq!(
            Superblock::decode(&with_field(48, 33)),
            Err(SuperblockError::LayoutMismatch {
                field: "first_data_block",
                stored: 33,
                expected: 34
            })
        );
        assert_eq!(
            Superblock::decode(&with_field(56, 256)),
            Err(SuperblockError::LayoutMismatch {
                field: "inode_size",
                stored: 256,
                expected: 128
            })
        );
    }

    #[test]
    fn rejects_bad_state_counts_and_reserved_bytes() {
        assert_eq!(
            Superblock::decode(&with_field(28, 0)),
            Err(SuperblockError::BadState(0))
        );
        assert_eq!(
            Superblock::decode(&with_field(20, 990)),
            Err(SuperblockError::FreeCountTooLarge {
                field: "free_blocks",
                stored: 990,
                maximum: 989
            })
        );
        assert_eq!(
            Superblock::decode(&with_field(24, 256)),
            Err(SuperblockError::FreeCountTooLarge {
                field: "free_inodes",
                stored: 256,
                maximum: 255
            })
        );
        assert_eq!(
            Superblock::decode(&with_field(100, 1)),
            Err(SuperblockError::ReservedNotZero { offset: 100 })
        );
    }

    #[test]
    fn features_round_trip_at_their_offsets() {
        use crate::features::Features;
        let geometry = Geometry::with_features(4096, 1024, 256, Features::compressed(512)).unwrap();
        let superblock = Superblock::new(geometry, 1000, 255, FsState::Clean);
        let bytes = superblock.encode();
        assert_eq!(get_u32(&bytes, 60), 0x3, "FRAGMENTS | LZ4");
        assert_eq!(get_u32(&bytes, 64), 512);
        assert_eq!(get_u32(&bytes, 68), 0x4, "new files compressed");
        assert!(bytes[72..124].iter().all(|&b| b == 0));
        assert_eq!(Superblock::decode(&bytes), Ok(superblock));
        // 1024 blocks of 8 fragments: 8192 bits, one bitmap block.
        assert_eq!(get_u32(&bytes, 36), 1);
        let plain = sample().encode();
        assert!(
            plain[60..124].iter().all(|&b| b == 0),
            "no features, no bytes"
        );
    }

    #[test]
    fn special_files_is_a_feature_bit_of_its_own() {
        let plain = sample();
        let special = Superblock {
            geometry: plain.geometry.with_special_files(true),
            ..plain
        };
        let bytes = special.encode();
        assert_eq!(get_u32(&bytes, 60), 0x4, "SPECIAL_FILES");
        let decoded = Superblock::decode(&bytes).unwrap();
        assert!(decoded.geometry.has_special_files());
        assert_eq!(decoded, special);
        // Nothing else of the layout changes.
        assert_eq!(decoded.geometry.with_special_files(false), plain.geometry);
        assert!(!Superblock::decode(&plain.encode())
            .unwrap()
            .geometry
            .has_special_files());
    }

    #[test]
    fn large_files_is_a_feature_bit_of_its_own() {
        let plain = Superblock::decode(&with_field(60, 0)).unwrap();
        let large = Superblock {
            geometry: plain.geometry.with_large_files(true),
            ..plain
        };
        let decoded = Superblock::decode(&large.encode()).unwrap();
        assert!(decoded.geometry.has_large_files());
        assert_eq!(get_u32(&large.encode(), 60), 0x8);
        assert_eq!(decoded.geometry.with_large_files(false), plain.geometry);
    }

    #[test]
    fn prealloc_is_a_feature_bit_of_its_own() {
        let plain = sample();
        let prealloc = Superblock {
            geometry: plain.geometry.with_prealloc(true),
            ..plain
        };
        let bytes = prealloc.encode();
        assert_eq!(get_u32(&bytes, 60), 0x10, "PREALLOC");
        let decoded = Superblock::decode(&bytes).unwrap();
        assert!(decoded.geometry.has_prealloc());
        assert_eq!(decoded, prealloc);
        assert_eq!(decoded.geometry.with_prealloc(false), plain.geometry);
        assert!(!Superblock::decode(&plain.encode())
            .unwrap()
            .geometry
            .has_prealloc());
    }

    #[test]
    fn rejects_unknown_and_inconsistent_features() {
        // FRAGMENTS, LARGE_FILES, PREALLOC, PACKED_TAILS, GENERATIONS and
        // PACKED_LZ4 are known; 0x100 is not.
        assert_eq!(
            Superblock::decode(&with_field(60, 0x179)),
            Err(SuperblockError::UnknownFeatures(0x100))
        );
        assert_eq!(
            Superblock::decode(&with_field(64, 512)),
            Err(SuperblockError::LayoutMismatch {
                field: "fragment_size",
                stored: 512,
                expected: 0
            })
        );
        // FRAGMENTS with a fragment size of 0.
        assert_eq!(
            Superblock::decode(&with_field(60, 0x1)),
            Err(SuperblockError::Geometry(GeometryError::BadFragmentSize {
                fragment_size: 0,
                block_size: 1024
            }))
        );
        // LZ4 without fragments.
        assert_eq!(
            Superblock::decode(&with_field(60, 0x2)),
            Err(SuperblockError::Geometry(
                GeometryError::CompressionNeedsFragments
            ))
        );
        assert_eq!(
            Superblock::decode(&with_field(68, 0x4)),
            Err(SuperblockError::Geometry(GeometryError::BadDefaultFlags(
                0x4
            )))
        );
    }
}
