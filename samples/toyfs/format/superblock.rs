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
//!     20    4 free_blocks         zero bits of the bitmap (free fragments)
//!     24    4 free_inodes         inodes whose mode is 0
//!     28    4 state               1 clean, 2 mounted or not cleanly unmounted
//!     32    4 bitmap_start        1
//!     36    4 bitmap_blocks       ceil(block_count * B / F / (8 * block_size))
//!     40    4 inode_table_start   bitmap_start + bitmap_blocks
//!     44    4 inode_table_blocks  ceil(inode_count * 128 / block_size)
//!     48    4 first_data_block    inode_table_start + inode_table_blocks
//!     52    4 root_ino            1
//!     56    4 inode_size          128
//!     60    4 feature_incompat    FRAGMENTS 0x1, LZ4 0x2, SPECIAL_FILES 0x4,
//!                                  LARGE_FILES 0x8, PREALLOC 0x10,
//!                                  PACKED_TAILS 0x20, GENERATIONS 0x40,
//!                                  PACKED_LZ4 0x80;
//!                                  others refused
//!     64    4 fragment_size       F with FRAGMENTS, else 0
//!     68    4 default_flags       inode flags of new regular files (LZ4 only)
//!     72   52 reserved            zero
//!    124    4 checksum            CRC-32C of bytes 0..124
//! ```
//!
//! The layout fields at 32..60 are derivable; they are stored so a reader
//! that finds them different from its own computation knows the image is
//! not the format it implements.  Bytes 60..72 were reserved before the
//! features existed: an image without features has zeros there, and a
//! reader that predates them refuses an image with them.

use super::constants::{BITMAP_START, INODE_SIZE, MAGIC, ROOT_INO, SUPERBLOCK_SIZE, VERSION};
use super::features::{
    Features, FEATURE_FRAGMENTS, FEATURE_GENERATIONS, FEATURE_LARGE_FILES, FEATURE_LZ4,
    FEATURE_PACKED_LZ4, FEATURE_PACKED_TAILS, FEATURE_PREALLOC, FEATURE_SPECIAL_FILES,
    KNOWN_FEATURES,
};
use super::geometry::{Geometry, GeometryError};
use super::le::{get_u32, put_u32};

/// Byte offset of the checksum; it covers every byte before it.
pub const CHECKSUM_OFFSET: usize = 124;
const RESERVED: core::ops::Range<usize> = 72..124;
/// Byte offset of `feature_incompat`.
pub const FEATURES_OFFSET: usize = 60;
/// Byte offset of `fragment_size`.
pub const FRAGMENT_SIZE_OFFSET: usize = 64;
/// Byte offset of `default_flags`.
pub const DEFAULT_FLAGS_OFFSET: usize = 68;

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
    /// `feature_incompat` bits this format does not define.
    UnknownFeatures(u32),
}

impl SuperblockError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::BadMagic(_) => "bad magic",
            Self::UnsupportedVersion(_) => "unknown version",
            Self::BadChecksum { .. } => "bad checksum",
            Self::Geometry(error) => error.rule(),
            Self::LayoutMismatch { .. } => "layout field differs from its computed value",
            Self::BadState(_) => "state is neither clean nor dirty",
            Self::FreeCountTooLarge { .. } => "free count larger than what can be free",
            Self::ReservedNotZero { .. } => "nonzero reserved bytes",
            Self::UnknownFeatures(_) => "unknown incompatible features",
        }
    }
}

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

    /// Encodes to the 128 on-disk bytes, checksum included; `crc32c`
    /// computes CRC-32C as [`CHECKSUM_OFFSET`] documents (the kernel's
    /// `~crc32c(~0, ...)`, or the tools' own).
    pub fn encode_with(&self, crc32c: fn(&[u8]) -> u32) -> [u8; SUPERBLOCK_SIZE] {
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
            (FEATURES_OFFSET, g.features().incompat()),
            (
                FRAGMENT_SIZE_OFFSET,
                g.features().fragment_size.unwrap_or(0),
            ),
            (DEFAULT_FLAGS_OFFSET, g.features().default_flags),
        ] {
            put_u32(&mut bytes, offset, value);
        }
        let checksum = crc32c(&bytes[..CHECKSUM_OFFSET]);
        put_u32(&mut bytes, CHECKSUM_OFFSET, checksum);
        bytes
    }

    /// Decodes and validates, checking the checksum with `crc32c` (as in
    /// [`Superblock::encode_with`]); the error names the first thing wrong.
    pub fn decode_with(
        bytes: &[u8; SUPERBLOCK_SIZE],
        crc32c: fn(&[u8]) -> u32,
    ) -> Result<Self, SuperblockError> {
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
        let incompat = get_u32(bytes, FEATURES_OFFSET);
        if incompat & !KNOWN_FEATURES != 0 {
            return Err(SuperblockError::UnknownFeatures(incompat & !KNOWN_FEATURES));
        }
        let fragment_size = get_u32(bytes, FRAGMENT_SIZE_OFFSET);
        if incompat & FEATURE_FRAGMENTS == 0 && fragment_size != 0 {
            return Err(SuperblockError::LayoutMismatch {
                field: "fragment_size",
                stored: fragment_size,
                expected: 0,
            });
        }
        let features = Features {
            fragment_size: (incompat & FEATURE_FRAGMENTS != 0).then_some(fragment_size),
            lz4: incompat & FEATURE_LZ4 != 0,
            default_flags: get_u32(bytes, DEFAULT_FLAGS_OFFSET),
            special_files: incompat & FEATURE_SPECIAL_FILES != 0,
            large_files: incompat & FEATURE_LARGE_FILES != 0,
            prealloc: incompat & FEATURE_PREALLOC != 0,
            packed_tails: incompat & FEATURE_PACKED_TAILS != 0,
            packed_lz4: incompat & FEATURE_PACKED_LZ4 != 0,
            generations: incompat & FEATURE_GENERATIONS != 0,
        };
        let geometry = Geometry::with_features(
            get_u32(bytes, 8),
            get_u32(bytes, 12),
            get_u32(bytes, 16),
            features,
        )
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
        // The root directory holds at least one fragment.
        check_free_count(
            "free_blocks",
            free_blocks,
            geometry.data_fragment_count() - 1,
        )?;
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
