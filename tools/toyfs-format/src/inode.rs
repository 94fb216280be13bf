// SPDX-License-Identifier: GPL-2.0
//! Inodes (defined in samples/toyfs/format/inode.rs), the clock, and
//! their messages.

use std::fmt;

pub use crate::disk::inode::*;

use crate::geometry::Geometry;

impl Inode {
    /// Everything wrong with the fields of an in-use inode, in field order.
    pub fn problems(&self, geometry: &Geometry) -> Vec<InodeProblem> {
        self.field_problems(geometry).collect()
    }
}

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => Self {
                sec: since.as_secs() as i64,
                nsec: since.subsec_nanos(),
            },
            // A clock before 1970: store it as negative seconds plus positive nanoseconds.
            Err(error) => {
                let before = error.duration();
                let nsec = before.subsec_nanos();
                Self {
                    sec: -(before.as_secs() as i64) - i64::from(nsec != 0),
                    nsec: if nsec == 0 { 0 } else { NSEC_PER_SEC - nsec },
                }
            }
        }
    }
}

impl FileType {
    /// The type of a `std::fs::FileType` (from `d_type` or `lstat`), if it
    /// is one toyfs stores.
    pub fn of(kind: std::fs::FileType) -> Option<Self> {
        use std::os::unix::fs::FileTypeExt;
        [
            (kind.is_file(), Self::Regular),
            (kind.is_dir(), Self::Directory),
            (kind.is_symlink(), Self::Symlink),
            (kind.is_fifo(), Self::Fifo),
            (kind.is_socket(), Self::Socket),
            (kind.is_char_device(), Self::CharDevice),
            (kind.is_block_device(), Self::BlockDevice),
        ]
        .into_iter()
        .find_map(|(is, file_type)| is.then_some(file_type))
    }

    /// The type in one word, as the guest tools print and compare it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Directory => "directory",
            Self::Symlink => "symlink",
            Self::Fifo => "fifo",
            Self::Socket => "socket",
            Self::CharDevice => "character",
            Self::BlockDevice => "block",
        }
    }

    /// The word of [`FileType::of`] `kind`, "unknown" for a type toyfs
    /// does not store.
    pub fn word_of(kind: std::fs::FileType) -> &'static str {
        Self::of(kind).map_or("unknown", Self::word)
    }
}

impl fmt::Display for InodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFileType { mode } => {
                write!(f, "mode {mode:#o} is not a file type toyfs stores")
            }
            Self::SpecialWithoutFeature { mode } => write!(
                f,
                "mode {mode:#o} is a symbolic link or special file, and the image lacks the SPECIAL_FILES feature"
            ),
            Self::SpecialWithBlocks => write!(
                f,
                "a FIFO, socket or device has a size, blocks or block pointers"
            ),
            Self::SymlinkSize { size } => write!(
                f,
                "symbolic link of size {size}: a target is 1 to 4095 bytes"
            ),
            Self::BadFlags(flags) => write!(
                f,
                "flags are {flags:#x}; only compressed (0x4) on a regular file of an image with LZ4"
            ),
            Self::TripleWithoutFeature => write!(
                f,
                "a triple-indirect block, and the image lacks the LARGE_FILES feature"
            ),
            Self::ReservedNotZero => write!(f, "reserved bytes 124..128 are not zero"),
            Self::GenerationWithoutFeature { generation } => write!(
                f,
                "generation {generation} (bytes 14..16), and the image lacks the GENERATIONS feature"
            ),
            Self::BadTailOffset { offset } => {
                let place = crate::tail_block::TailPlace::of(*offset);
                write!(f, "tail offset {}", place.offset)?;
                if place.compressed {
                    write!(
                        f,
                        " (compressed: needs PACKED_LZ4, the header and a byte of data inside the block, and a tail of more than 5 bytes)"
                    )?;
                }
                write!(
                    f,
                    ": a packed tail is a regular file's partial last block, past the tail block's 8-byte header and inside the block"
                )
            }
            Self::NsecOutOfRange { field, nsec } => {
                write!(f, "{field} nanoseconds {nsec} are not below 1000000000")
            }
            Self::SizeTooLarge { size, maximum } => write!(
                f,
                "size {size} is larger than the block map can address ({maximum})"
            ),
            Self::DirectorySize { size, unit } => write!(
                f,
                "directory size {size} is not a positive multiple of the block (fragment) size {unit}"
            ),
            Self::Free => write!(f, "the inode is free (mode 0)"),
            Self::TooFewLinks { nlink, minimum } => {
                write!(f, "link count {nlink} is below {minimum}")
            }
            Self::BlocksTooLarge { blocks, maximum } => write!(
                f,
                "blocks count {blocks} is larger than the {maximum} data blocks"
            ),
        }
    }
}
