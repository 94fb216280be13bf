// SPDX-License-Identifier: GPL-2.0
//! mkfs.toyfs: options, the layout they ask for, and writing it.
//!
//! ```text
//! mkfs.toyfs [-b BLOCK_SIZE] [-f FRAG] [-c lz4] [-N INODES] [-d DIR] [-q] DEVICE [SIZE]
//! ```
//!
//! SIZE is in blocks (KiB without `-b`), or in bytes with a K, M or G
//! suffix, as for mke2fs.  Without `-b` the block size follows the size as
//! mke2fs picks it: 1 KiB below 512 MiB, 4 KiB from there.
//! Without it the filesystem fills DEVICE.  A regular file is created or
//! extended to SIZE (never shrunk); a block device must be large enough.

mod error;
mod options;
mod plan;
mod populate;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use toyfs_format::{
    format, BlockDevice, FileDevice, Filesystem, Geometry, RootAttributes, Timestamp,
};

pub use error::MkfsError;
pub use options::{parse_args, MkfsOptions, USAGE};
pub use plan::{default_block_size, default_inode_count, features, plan, Target};
pub use populate::{count_inodes, populate, Populated};

/// `O_EXCL` and `EBUSY` of the Linux architectures with the generic
/// numbering (x86, arm, arm64, riscv, ...); the tools depend on no libc crate.
const O_EXCL: i32 = 0o200;
const EBUSY: i32 = 16;

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
pub fn make_filesystem(options: &MkfsOptions) -> Result<(Geometry, Option<Populated>), MkfsError> {
    let path = &options.device;
    let target = inspect(path)?;
    let wanted_inodes = match &options.source {
        Some(source) => count_inodes(source)?,
        None => 0,
    };
    let geometry = plan(options, target, wanted_inodes)?;
    let io_error = |action, error| MkfsError::Io {
        path: path.clone(),
        action,
        error,
    };
    let mut open = OpenOptions::new();
    open.read(true)
        .write(true)
        .create(target == Target::Missing)
        .truncate(false);
    if let Target::BlockDevice(_) = target {
        // Linux opens a block device with O_EXCL only if nothing holds it
        // (a mounted filesystem, a device-mapper table, an md array), as
        // mke2fs relies on: formatting one of those would destroy it.
        open.custom_flags(O_EXCL);
    }
    let file = open
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(EBUSY) => MkfsError::DeviceInUse(path.clone()),
            _ => io_error("open", error),
        })?;
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
    let now = Timestamp::now();
    let root = RootAttributes {
        uid: 0,
        gid: 0,
        permissions: 0o755,
        time: now,
    };
    format(&mut device, &geometry, root).map_err(MkfsError::Format)?;
    let mut populated = None;
    if let Some(source) = &options.source {
        let mut fs = Filesystem::open(device, now).map_err(MkfsError::Format)?;
        populated = Some(populate(&mut fs, source)?);
        device = fs.close().map_err(MkfsError::Format)?;
    }
    device
        .into_file()
        .sync_all()
        .map_err(|error| io_error("sync", error))?;
    Ok((geometry, populated))
}

/// The whole program; returns the exit status.
pub fn run<I: IntoIterator<Item = String>>(args: I) -> i32 {
    let result = parse_args(args).and_then(|options| {
        let (geometry, populated) = make_filesystem(&options)?;
        if let Some(populated) = &populated {
            for (path, why) in &populated.skipped {
                eprintln!("mkfs.toyfs: skipped {}: {why}", path.display());
            }
        }
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
            if geometry.has_fragments() {
                println!(
                    "{}: fragments of {} bytes{}",
                    options.device.display(),
                    geometry.fragment_size(),
                    if geometry.has_compression() {
                        ", LZ4 compression on by default"
                    } else {
                        ""
                    }
                );
            }
            if let Some(populated) = &populated {
                println!(
                    "{}: copied {} files ({} bytes), {} directories and {} symbolic links and special files from {}",
                    options.device.display(),
                    populated.files,
                    populated.bytes,
                    populated.directories,
                    populated.special,
                    options.source.as_deref().unwrap_or(Path::new("")).display(),
                );
                if geometry.has_packed_tails() {
                    println!(
                        "{}: packed {} tails ({} compressed) into {} tail blocks (they held {} fragments)",
                        options.device.display(),
                        populated.packed.tails,
                        populated.packed.compressed,
                        populated.packed.blocks,
                        populated.packed.fragments_before,
                    );
                }
            }
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
