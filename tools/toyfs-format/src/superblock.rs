// SPDX-License-Identifier: GPL-2.0
//! The superblock: 128 bytes at the start of block 0.
//!
//! ```text
//! offset size field
//!      0    4 magic               "TOYF"
//!      4    4 version             1
//!      8    4 block_size          512, 1024, 2048 or 4096
//!     12    4 block_count         blocks in the filesystem, metadata included
//!     16    4 inode_count         inodes in the table; numbers 1..=inode_count
//!     20    4 free_blocks         zero bits of the bitmap
//!     24    4 free_inodes         inodes whose mode is 0
//!     28    4 state               1 clean, 2 mounted or not cleanly unmounted
//!     32    4 bitmap_start        1
//!     36    4 bitmap_blocks       ceil(block_count / (8 * block_size))
//!     40    4 inode_table_start   bitmap_start + bitmap_blocks
//!     44    4 inode_table_blocks  ceil(inode_count * 128 / block_size)
//!     48    4 first_data_block    inode_table_start + inode_table_blocks
//!     52    4 root_ino            1
//!     56    4 inode_size          128
//!     60   64 reserved            zero
//!    124    4 checksum            CRC-32C of bytes 0..124
//! ```
//!
//! The layout fields at 32..60 are derivable; they are stored so a reader
//! that finds them different from its own computation knows the image is
//! not the format it implements.

use std::fmt;

use crate::constants::{BITMAP_START, INODE_SIZE, MAGIC, ROOT_INO, SUPERBLOCK_SIZE, VERSION};
use crate::crc32c::crc32c;
use crate::geometry::{Geometry, GeometryError};
use crate::le::{get_u32, put_u32};

/// Byte offset of the checksum; it covers every byte before it.
pub const CHECKSUM_OFFSET: usize = 124;
const RESERVED: std::ops::Range<usize> = 60..124;

/// Whether the filesystem was unmounted cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsState {
    /// Unmounted cleanly: free counts are exact.
    Clean,
    /// Mounted read-write, or the last mount did not end cleanly.
    Dirty,
}

impl FsState {
    /// On-disk value of `Clean`.
    pub const CLEAN_VALUE: u32 = 1;
    /// On-disk value of `Dirty`.
    pub const DIRTY_VALUE: u32 = 2;

    fn to_raw(self) -> u32 {
        match self {
            Self::Clean => Self::CLEAN_VALUE,
            Self::Dirty => Self::DIRTY_VALUE,
        }
    }

    fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            Self::CLEAN_VALUE => Some(Self::Clean),
            Self::DIRTY_VALUE => Some(Self::Dirty),
            _ => None,
        }
    }
}

/// A decoded, validated superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// The layout its sizes describe.
    pub geometry: Geometry,
    /// Free data blocks.
    pub free_blocks: u32,
    /// Free inodes.
    pub free_inodes: u32,
    /// Clean or dirty.
    pub state: FsState,
}

/// Why 128 bytes are not a toyfs superblock; checked in the order listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuperblockError {
    /// The first four bytes are not "TOYF".
    BadMagic(u32),
    /// A version other than 1.
    UnsupportedVersion(u32),
    /// The stored CRC-32C does not match the bytes.
    BadChecksum {
        /// Value at offset 124.
        stored: u32,
        /// CRC-32C of bytes 0..124.
        computed: u32,
    },
    /// Block size, block count or inode count do not make a layout.
    Geometry(GeometryError),
    /// A layout field differs from what the sizes imply.
    LayoutMismatch {
        /// Name of the field, as in the format description.
        field: &'static str,
        /// Value on disk.
        stored: u32,
        /// Value the sizes imply.
        expected: u32,
    },
    /// A state other than 1 (clean) or 2 (dirty).
    BadState(u32),
    /// A free count larger than what can be free.
    FreeCountTooLarge {
        /// `free_blocks` or `free_inodes`.
        field: &'static str,
        /// Value on disk.
        stored: u32,
        /// Most that can be free.
        maximum: u32,
    },
    /// A nonzero byte in the reserved area.
    ReservedNotZero {
        /// Offset of the first nonzero byte.
        offset: usize,
    },
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
        }
    }
}

impl std::error::Error for SuperblockError {}

impl Superblock {
    /// A superblock for a freshly laid-out filesystem.
    pub fn new(geometry: Geometry, free_blocks: u32, free_inodes: u32, state: FsState) -> Self {
        Self {
            geometry,
            free_blocks,
            free_inodes,
            state,
        }
    }

    /// Encodes to the 128 on-disk bytes, checksum included.
    pub fn encode(&self) -> [u8; SUPERBLOCK_SIZE] {
        let g = &self.geometry;
        let mut bytes = [0u8; SUPERBLOCK_SIZE];
        for (offset, value) in [
            (0, MAGIC),
            (4, VERSION),
            (8, g.block_size()),
            (12, g.block_count()),
            (16, g.inode_count()),
            (20, self.free_blocks),
            (24, self.free_inodes),
            (28, self.state.to_raw()),
            (32, BITMAP_START),
            (36, g.bitmap_blocks()),
            (40, g.inode_table_start()),
            (44, g.inode_table_blocks()),
            (48, g.first_data_block()),
            (52, ROOT_INO),
            (56, INODE_SIZE as u32),
        ] {
            put_u32(&mut bytes, offset, value);
        }
        let checksum = crc32c(&bytes[..CHECKSUM_OFFSET]);
        put_u32(&mut bytes, CHECKSUM_OFFSET, checksum);
        bytes
    }

    /// Decodes and validates; the error names the first thing wrong.
    pub fn decode(bytes: &[u8; SUPERBLOCK_SIZE]) -> Result<Self, SuperblockError> {
        let magic = get_u32(bytes, 0);
        if magic != MAGIC {
            return Err(SuperblockError::BadMagic(magic));
        }
        let version = get_u32(bytes, 4);
        if version != VERSION {
            return Err(SuperblockError::UnsupportedVersion(version));
        }
        let stored = get_u32(bytes, CHECKSUM_OFFSET);
        let computed = crc32c(&bytes[..CHECKSUM_OFFSET]);
        if stored != computed {
            return Err(SuperblockError::BadChecksum { stored, computed });
        }
        let geometry = Geometry::new(get_u32(bytes, 8), get_u32(bytes, 12), get_u32(bytes, 16))
            .map_err(SuperblockError::Geometry)?;
        for (offset, field, expected) in [
            (32, "bitmap_start", BITMAP_START),
            (36, "bitmap_blocks", geometry.bitmap_blocks()),
            (40, "inode_table_start", geometry.inode_table_start()),
            (44, "inode_table_blocks", geometry.inode_table_blocks()),
            (48, "first_data_block", geometry.first_data_block()),
            (52, "root_ino", ROOT_INO),
            (56, "inode_size", INODE_SIZE as u32),
        ] {
            let stored = get_u32(bytes, offset);
            if stored != expected {
                return Err(SuperblockError::LayoutMismatch {
                    field,
                    stored,
                    expected,
                });
            }
        }
        let raw_state = get_u32(bytes, 28);
        let state = FsState::from_raw(raw_state).ok_or(SuperblockError::BadState(raw_state))?;
        // The root directory always holds one inode and one data block.
        let free_blocks = get_u32(bytes, 20);
        check_free_count("free_blocks", free_blocks, geometry.data_block_count() - 1)?;
        let free_inodes = get_u32(bytes, 24);
        check_free_count("free_inodes", free_inodes, geometry.inode_count() - 1)?;
        if let Some(offset) = RESERVED.clone().find(|&offset| bytes[offset] != 0) {
            return Err(SuperblockError::ReservedNotZero { offset });
        }
        Ok(Self {
            geometry,
            free_blocks,
            free_inodes,
            state,
        })
    }
}

fn check_free_count(field: &'static str, stored: u32, maximum: u32) -> Result<(), SuperblockError> {
    if stored > maximum {
        return Err(SuperblockError::FreeCountTooLarge {
            field,
            stored,
            maximum,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
