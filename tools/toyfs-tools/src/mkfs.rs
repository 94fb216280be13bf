// SPDX-License-Identifier: GPL-2.0
//! mkfs.toyfs: options, the layout they ask for, and writing it.
//!
//! ```text
//! mkfs.toyfs [-b BLOCK_SIZE] [-N INODES] [-q] DEVICE [SIZE]
//! ```
//!
//! SIZE is in blocks, or in bytes with a K, M or G suffix, as for mke2fs.
//! Without it the filesystem fills DEVICE.  A regular file is created or
//! extended to SIZE (never shrunk); a block device must be large enough.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use toyfs_format::constants::{DEFAULT_BLOCK_SIZE, MIN_BLOCK_COUNT};
use toyfs_format::geometry::{max_inodes, validate_block_size};
use toyfs_format::{
    format, BlockDevice, FileDevice, FsError, Geometry, GeometryError, RootAttributes, Timestamp,
};

use crate::size::{parse_count, parse_size, NumberError, SizeArg};

/// Usage text for `-h` and after a usage error.
pub const USAGE: &str = "usage: mkfs.toyfs [-b BLOCK_SIZE] [-N INODES] [-q] DEVICE [SIZE]
  -b BLOCK_SIZE  512, 1024 (default), 2048 or 4096 bytes
  -N INODES      number of inodes (default: one per 4 KiB, at least 16)
  -q             print nothing on success
  SIZE           blocks, or bytes with a K, M or G suffix; default: all of DEVICE";

/// Default bytes of filesystem per inode.
const BYTES_PER_INODE: u64 = 4096;
/// Fewest inodes made by default, space permitting.
const MIN_DEFAULT_INODES: u32 = 16;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MkfsOptions {
    /// `-b`.
    pub block_size: u32,
    /// `-N`, if given.
    pub inode_count: Option<u32>,
    /// `-q`.
    pub quiet: bool,
    /// The image file or block device.
    pub device: PathBuf,
    /// SIZE, if given.
    pub size: Option<SizeArg>,
}

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
            Self::Geometry(error) => write!(f, "{error}"),
            Self::Io {
                path,
                action,
                error,
            } => write!(f, "cannot {action} {}: {error}", path.display()),
            Self::Format(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for MkfsError {}

impl MkfsError {
    /// Whether the usage text helps.
    fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::UnknownOption(_)
                | Self::MissingValue(_)
                | Self::MissingDevice
                | Self::ExtraArgument(_)
        )
    }
}

fn parse_u32(what: &'static str, text: &str) -> Result<u32, MkfsError> {
    let value = parse_count(text).map_err(|error| MkfsError::Number { what, error })?;
    u32::try_from(value).map_err(|_| MkfsError::TooLarge { what, value })
}

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<MkfsOptions, MkfsError> {
    let mut args = args.into_iter();
    let mut block_size = DEFAULT_BLOCK_SIZE;
    let mut inode_count = None;
    let mut quiet = false;
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-b" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-b"))?;
                block_size = parse_u32("block size", &value)?;
            }
            "-N" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-N"))?;
                inode_count = Some(parse_u32("inode count", &value)?);
            }
            "-q" => quiet = true,
            "-h" | "--help" => return Err(MkfsError::HelpRequested),
            "--" => positional.extend(args.by_ref()),
            option if option.starts_with('-') && option.len() > 1 => {
                return Err(MkfsError::UnknownOption(arg))
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let device = PathBuf::from(positional.next().ok_or(MkfsError::MissingDevice)?);
    let size = positional
        .next()
        .map(|text| {
            parse_size(&text).map_err(|error| MkfsError::Number {
                what: "size",
                error,
            })
        })
        .transpose()?;
    if let Some(extra) = positional.next() {
        return Err(MkfsError::ExtraArgument(extra));
    }
    Ok(MkfsOptions {
        block_size,
        inode_count,
        quiet,
        device,
        size,
    })
}

/// What is at DEVICE before mkfs touches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Nothing yet: a new image file.
    Missing,
    /// A regular file of this many bytes.
    File(u64),
    /// A block device of this many bytes.
    BlockDevice(u64),
}

/// The default inode count: one per 4 KiB, at least 16, at most what fits.
pub fn default_inode_count(block_size: u32, block_count: u32) -> u32 {
    let by_size = u64::from(block_count) * u64::from(block_size) / BYTES_PER_INODE;
    let wanted = by_size.clamp(u64::from(MIN_DEFAULT_INODES), u64::from(u32::MAX)) as u32;
    wanted.min(max_inodes(block_size, block_count))
}

/// Turns the options and what is at DEVICE into a layout, refusing
/// anything that does not make a valid filesystem.
pub fn plan(options: &MkfsOptions, target: Target) -> Result<Geometry, MkfsError> {
    let block_size = options.block_size;
    validate_block_size(block_size).map_err(MkfsError::Geometry)?;
    let blocks = match options.size {
        Some(SizeArg::Blocks(blocks)) => blocks,
        Some(SizeArg::Bytes(bytes)) => {
            if bytes % u64::from(block_size) != 0 {
                return Err(MkfsError::SizeNotBlockMultiple { bytes, block_size });
            }
            bytes / u64::from(block_size)
        }
        None => match target {
            Target::Missing | Target::File(0) | Target::BlockDevice(0) => {
                return Err(MkfsError::SizeUnknown(options.device.clone()))
            }
            // A device that is not a whole number of blocks loses its tail.
            Target::File(bytes) | Target::BlockDevice(bytes) => bytes / u64::from(block_size),
        },
    };
    let block_count = u32::try_from(blocks).map_err(|_| MkfsError::TooManyBlocks(blocks))?;
    if let Target::BlockDevice(device_bytes) = target {
        let filesystem_bytes = blocks * u64::from(block_size);
        if filesystem_bytes > device_bytes {
            return Err(MkfsError::DeviceTooSmall {
                device_bytes,
                filesystem_bytes,
            });
        }
    }
    let inode_count = match options.inode_count {
        Some(count) => count,
        None if block_count >= MIN_BLOCK_COUNT => default_inode_count(block_size, block_count),
        // Too few blocks: Geometry::new says so before it looks at inodes.
        None => 1,
    };
    Geometry::new(block_size, block_count, inode_count).map_err(MkfsError::Geometry)
}

fn inspect(path: &Path) -> Result<Target, MkfsError> {
    let io_error = |action, error| MkfsError::Io {
        path: path.to_owned(),
        action,
        error,
    };
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Target::Missing),
        Err(error) => return Err(io_error("inspect", error)),
    };
    if metadata.is_file() {
        Ok(Target::File(metadata.len()))
    } else if metadata.file_type().is_block_device() {
        let device = FileDevice::new(File::open(path).map_err(|error| io_error("open", error))?);
        Ok(Target::BlockDevice(
            device.size().map_err(|error| io_error("size", error))?,
        ))
    } else {
        Err(MkfsError::NotFileOrBlockDevice(path.to_owned()))
    }
}

/// Makes the filesystem the options ask for; returns its layout.
pub fn make_filesystem(options: &MkfsOptions) -> Result<Geometry, MkfsError> {
    let path = &options.device;
    let target = inspect(path)?;
    let geometry = plan(options, target)?;
    let io_error = |action, error| MkfsError::Io {
        path: path.clone(),
        action,
        error,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(target == Target::Missing)
        .truncate(false)
        .open(path)
        .map_err(|error| io_error("open", error))?;
    if let Target::Missing | Target::File(_) = target {
        let current = file
            .metadata()
            .map_err(|error| io_error("inspect", error))?
            .len();
        if current < geometry.byte_size() {
            file.set_len(geometry.byte_size())
                .map_err(|error| io_error("extend", error))?;
        }
    }
    let mut device = FileDevice::new(file);
    let root = RootAttributes {
        uid: 0,
        gid: 0,
        permissions: 0o755,
        time: Timestamp::now(),
    };
    format(&mut device, &geometry, root).map_err(MkfsError::Format)?;
    device
        .into_file()
        .sync_all()
        .map_err(|error| io_error("sync", error))?;
    Ok(geometry)
}

/// The whole program; returns the exit status.
pub fn run<I: IntoIterator<Item = String>>(args: I) -> i32 {
    let result = parse_args(args).and_then(|options| {
        let geometry = make_filesystem(&options)?;
        if !options.quiet {
            println!(
                "{}: {} blocks of {} bytes, {} inodes, {} metadata blocks, {} blocks free",
                options.device.display(),
                geometry.block_count(),
                geometry.block_size(),
                geometry.inode_count(),
                geometry.first_data_block(),
                geometry.data_block_count() - 1,
            );
        }
        Ok(())
    });
    match result {
        Ok(()) => 0,
        Err(MkfsError::HelpRequested) => {
            println!("{USAGE}");
            0
        }
        Err(error) => {
            eprintln!("mkfs.toyfs: {error}");
            if error.is_usage() {
                eprintln!("{USAGE}");
            }
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    fn options(list: &[&str]) -> MkfsOptions {
        parse_args(args(list)).unwrap()
    }

    #[test]
    fn parses_options_and_positionals() {
        assert_eq!(
            options(&["img"]),
            MkfsOptions {
                block_size: 1024,
                inode_count: None,
                quiet: false,
                device: "img".into(),
                size: None
            }
        );
        assert_eq!(
            options(&["-b", "4096", "-N", "77", "-q", "img", "8M"]),
            MkfsOptions {
                block_size: 4096,
                inode_count: Some(77),
                quiet: true,
                device: "img".into(),
                size: Some(SizeArg::Bytes(8 << 20))
            }
        );
        assert_eq!(options(&["--", "-img", "10"]).device, PathBuf::from("-img"));
        assert_eq!(options(&["img", "10"]).size, Some(SizeArg::Blocks(10)));
    }

    #[test]
    fn refuses_bad_command_lines() {
        let error = |list: &[&str]| parse_args(args(list)).unwrap_err().to_string();
        assert_eq!(error(&[]), "no DEVICE given");
        assert_eq!(error(&["-b"]), "option -b needs a value");
        assert_eq!(error(&["-N"]), "option -N needs a value");
        assert_eq!(
            error(&["-b", "1k", "img"]),
            "block size: \"1k\" is not a number"
        );
        assert_eq!(
            error(&["-b", "99999999999", "img"]),
            "block size 99999999999 is larger than 4294967295"
        );
        assert_eq!(error(&["img", "10x"]), "size: \"10x\" is not a number");
        assert_eq!(error(&["-v", "img"]), "unknown option \"-v\"");
        assert_eq!(error(&["a", "1", "b"]), "unexpected argument \"b\"");
        assert!(matches!(
            parse_args(args(&["-h"])),
            Err(MkfsError::HelpRequested)
        ));
    }

    #[test]
    fn plans_from_size_or_device() {
        let geometry = plan(&options(&["img", "1M"]), Target::Missing).unwrap();
        assert_eq!(
            (geometry.block_count(), geometry.inode_count()),
            (1024, 256)
        );
        let geometry = plan(&options(&["-b", "512", "img"]), Target::File(1_000_000)).unwrap();
        assert_eq!(
            geometry.block_count(),
            1953,
            "a partial last block is dropped"
        );
        let geometry = plan(&options(&["img"]), Target::BlockDevice(64 << 20)).unwrap();
        assert_eq!(
            (geometry.block_count(), geometry.inode_count()),
            (65536, 16384)
        );
        // Tiny filesystems get as many inodes as fit, up to 16.
        assert_eq!(
            plan(&options(&["-b", "512", "img", "4"]), Target::Missing)
                .unwrap()
                .inode_count(),
            4
        );
        assert_eq!(
            plan(&options(&["img", "20"]), Target::Missing)
                .unwrap()
                .inode_count(),
            16
        );
    }

    #[test]
    fn plan_refusals() {
        let refuse = |list: &[&str], target| plan(&options(list), target).unwrap_err().to_string();
        assert_eq!(
            refuse(&["img", "2M"], Target::BlockDevice(1 << 20)),
            "the device holds 1048576 bytes, fewer than the 2097152 asked for"
        );
        assert_eq!(
            refuse(&["img"], Target::Missing),
            "img is empty or does not exist: give a SIZE"
        );
        assert_eq!(
            refuse(&["img"], Target::File(0)),
            "img is empty or does not exist: give a SIZE"
        );
        assert_eq!(
            refuse(&["-b", "4096", "img", "4294967296"], Target::Missing),
            "4294967296 blocks is more than the 4294967295 a 32-bit block number can name"
        );
        assert_eq!(
            refuse(&["-b", "4096", "img", "6K"], Target::Missing),
            "size 6144 bytes is not a multiple of the block size 4096"
        );
        assert_eq!(
            refuse(&["-b", "3000", "img", "6K"], Target::Missing),
            "block size 3000 is not a power of two"
        );
        assert_eq!(
            refuse(&["-N", "9", "-b", "512", "img", "4"], Target::Missing),
            "9 inodes do not fit: the inode table would leave no block for the root directory (at most 4)"
        );
    }

    #[test]
    fn default_inode_count_is_one_per_4k_at_least_16() {
        assert_eq!(default_inode_count(1024, 1024), 256);
        assert_eq!(default_inode_count(1024, 32), 16);
        assert_eq!(default_inode_count(512, 4), 4);
        // 16 TiB: one inode per block, capped by the 32-bit inode number.
        assert_eq!(default_inode_count(4096, u32::MAX), u32::MAX);
    }
}
