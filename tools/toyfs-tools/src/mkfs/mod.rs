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

mod error;
mod options;
mod plan;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use toyfs_format::{format, BlockDevice, FileDevice, Geometry, RootAttributes, Timestamp};

pub use error::MkfsError;
pub use options::{parse_args, MkfsOptions, USAGE};
pub use plan::{default_inode_count, plan, Target};

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
