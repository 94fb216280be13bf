// SPDX-License-Identifier: GPL-2.0
//! Errors of the userspace reader and writer ([`crate::Filesystem`], [`crate::format`]).

use std::{fmt, io};

use crate::block_walk::PointerFault;
use crate::dirent::{DirBlockError, NameError};
use crate::superblock::SuperblockError;

/// Why an operation on an image failed.
#[derive(Debug)]
pub enum FsError {
    /// Reading or writing the device failed.
    Io(io::Error),
    /// The superblock is not valid.
    Superblock(SuperblockError),
    /// The device is smaller than the filesystem.
    DeviceTooSmall {
        /// Bytes of the device.
        device_bytes: u64,
        /// Bytes the filesystem needs.
        filesystem_bytes: u64,
    },
    /// An inode number outside `1..=inode_count`.
    InodeOutOfRange(u32),
    /// An operation on a free inode.
    InodeFree(u32),
    /// A directory operation on something else.
    NotADirectory(u32),
    /// A hard link to something other than a regular file.
    NotARegularFile(u32),
    /// A name that cannot be a directory entry.
    InvalidName(NameError),
    /// The name is already in the directory.
    NameExists,
    /// No free data block.
    NoSpace,
    /// No free inode.
    NoFreeInodes,
    /// A write past the largest file the block map can address.
    FileTooLarge {
        /// End of the write in bytes.
        end: u64,
        /// Largest file size.
        maximum: u64,
    },
    /// A block pointer that may not be followed.
    BadPointer(PointerFault),
    /// A directory block whose entry chain is broken.
    BrokenDirectory {
        /// The directory.
        ino: u32,
        /// Where and how.
        error: DirBlockError,
    },
    /// nlink would exceed 65535.
    TooManyLinks(u32),
    /// A compressed block that cannot be decompressed.
    BadCompressedBlock {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// What is wrong with it.
        error: crate::compressed::CompressedError,
    },
    /// Compression asked for on an image without the LZ4 feature.
    NoCompression,
    /// A symbolic link target that is empty, longer than 4095 bytes, or
    /// holds a NUL byte.
    BadSymlinkTarget {
        /// Its length.
        len: usize,
    },
    /// `mknod` of a type that is not a FIFO, socket or device.
    NotASpecialType,
    /// Tails packed on an image without the PACKED_TAILS feature.
    NoPackedTails,
    /// A packed tail whose tail block is not one: no whole plain block,
    /// or a header that breaks a rule.
    BadTailBlock {
        /// The file.
        ino: u32,
        /// What is wrong, in a few words.
        rule: &'static str,
    },
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "I/O error: {error}"),
            Self::Superblock(error) => write!(f, "{error}"),
            Self::DeviceTooSmall {
                device_bytes,
                filesystem_bytes,
            } => write!(
                f,
                "the device holds {device_bytes} bytes but the filesystem needs {filesystem_bytes}"
            ),
            Self::InodeOutOfRange(ino) => write!(f, "inode {ino} is out of range"),
            Self::InodeFree(ino) => write!(f, "inode {ino} is free"),
            Self::NotADirectory(ino) => write!(f, "inode {ino} is not a directory"),
            Self::NotARegularFile(ino) => write!(f, "inode {ino} is not a regular file"),
            Self::InvalidName(error) => write!(f, "{error}"),
            Self::NameExists => write!(f, "the name already exists"),
            Self::NoSpace => write!(f, "no free block or fragments"),
            Self::NoFreeInodes => write!(f, "no free inode"),
            Self::FileTooLarge { end, maximum } => {
                write!(
                    f,
                    "a write ending at {end} is past the largest file size {maximum}"
                )
            }
            Self::BadPointer(fault) => write!(f, "{fault}"),
            Self::BrokenDirectory { ino, error } => write!(f, "directory {ino}: {error}"),
            Self::TooManyLinks(ino) => write!(f, "inode {ino} has 65535 links already"),
            Self::BadCompressedBlock {
                ino,
                file_block,
                error,
            } => write!(f, "inode {ino} file block {file_block}: {}", error.rule()),
            Self::NoCompression => write!(f, "the image has no LZ4 feature"),
            Self::NoPackedTails => write!(f, "the image has no PACKED_TAILS feature"),
            Self::BadTailBlock { ino, rule } => {
                write!(f, "inode {ino}: packed tail: {rule}")
            }
            Self::BadSymlinkTarget { len } => write!(
                f,
                "a symbolic link target of {len} bytes: it must be 1 to 4095 bytes without NUL"
            ),
            Self::NotASpecialType => {
                write!(f, "not a FIFO, socket, character or block device")
            }
        }
    }
}

impl std::error::Error for FsError {}

impl From<io::Error> for FsError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}
