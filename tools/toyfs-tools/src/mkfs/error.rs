// SPDX-License-Identifier: GPL-2.0
//! Everything mkfs.toyfs refuses or fails at, each with what to say.

use std::path::PathBuf;
use std::{fmt, io};

use toyfs_format::{FsError, GeometryError};

use super::USAGE;
use crate::size::NumberError;

/// Everything mkfs.toyfs refuses or fails at.
#[derive(Debug)]
pub enum MkfsError {
    /// `-h`: not an error, but no filesystem either.
    HelpRequested,
    /// An option that does not exist.
    UnknownOption(String),
    /// An option without its value.
    MissingValue(&'static str),
    /// No DEVICE.
    MissingDevice,
    /// More than DEVICE and SIZE.
    ExtraArgument(String),
    /// A malformed number.
    Number {
        /// What the number is for.
        what: &'static str,
        /// What is wrong.
        error: NumberError,
    },
    /// `-b` or `-N` beyond 32 bits.
    TooLarge {
        /// What the number is for.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A byte size that is not a whole number of blocks.
    SizeNotBlockMultiple {
        /// The size in bytes.
        bytes: u64,
        /// The block size.
        block_size: u32,
    },
    /// More blocks than a 32-bit block number can name.
    TooManyBlocks(u64),
    /// No SIZE and a device that is empty or missing.
    SizeUnknown(PathBuf),
    /// SIZE larger than the block device.
    DeviceTooSmall {
        /// Bytes of the device.
        device_bytes: u64,
        /// Bytes asked for.
        filesystem_bytes: u64,
    },
    /// DEVICE is neither a regular file nor a block device.
    NotFileOrBlockDevice(PathBuf),
    /// DEVICE is a block device that something holds: mounted, or part of
    /// a device-mapper table or an md array.
    DeviceInUse(PathBuf),
    /// The sizes do not make a filesystem.
    Geometry(GeometryError),
    /// Opening, sizing or writing DEVICE failed.
    Io {
        /// The device.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The failure.
        error: io::Error,
    },
    /// Writing the filesystem failed.
    Format(FsError),
    /// `-c` with something else than lz4.
    UnknownCompression(String),
    /// Reading the tree of `-d` failed.
    Source {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        error: io::Error,
    },
    /// Copying a file of the tree of `-d` into the image failed.
    Populate {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        error: FsError,
    },
}

impl fmt::Display for MkfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HelpRequested => write!(f, "{USAGE}"),
            Self::UnknownOption(option) => write!(f, "unknown option \"{option}\""),
            Self::MissingValue(option) => write!(f, "option {option} needs a value"),
            Self::MissingDevice => write!(f, "no DEVICE given"),
            Self::ExtraArgument(argument) => write!(f, "unexpected argument \"{argument}\""),
            Self::Number { what, error } => write!(f, "{what}: {error}"),
            Self::TooLarge { what, value } => {
                write!(f, "{what} {value} is larger than {}", u32::MAX)
            }
            Self::SizeNotBlockMultiple { bytes, block_size } => write!(
                f,
                "size {bytes} bytes is not a multiple of the block size {block_size}"
            ),
            Self::TooManyBlocks(blocks) => write!(
                f,
                "{blocks} blocks is more than the {} a 32-bit block number can name",
                u32::MAX
            ),
            Self::SizeUnknown(path) => write!(
                f,
                "{} is empty or does not exist: give a SIZE",
                path.display()
            ),
            Self::DeviceTooSmall {
                device_bytes,
                filesystem_bytes,
            } => write!(
                f,
                "the device holds {device_bytes} bytes, fewer than the {filesystem_bytes} asked for"
            ),
            Self::NotFileOrBlockDevice(path) => {
                write!(
                    f,
                    "{} is neither a regular file nor a block device",
                    path.display()
                )
            }
            Self::DeviceInUse(path) => write!(
                f,
                "{} is in use (mounted, or held by device-mapper or md); not making a filesystem",
                path.display()
            ),
            Self::Geometry(error) => write!(f, "{error}"),
            Self::Io {
                path,
                action,
                error,
            } => write!(f, "cannot {action} {}: {error}", path.display()),
            Self::Format(error) => write!(f, "{error}"),
            Self::UnknownCompression(name) => {
                write!(f, "compression \"{name}\" is not known; only lz4")
            }
            Self::Source { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Self::Populate { path, error } => {
                write!(f, "cannot copy {} into the image: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for MkfsError {}

impl MkfsError {
    /// Whether the usage text helps.
    pub(super) fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::UnknownOption(_)
                | Self::MissingValue(_)
                | Self::MissingDevice
                | Self::ExtraArgument(_)
        )
    }
}
