// SPDX-License-Identifier: GPL-2.0
//! From the options and what is at DEVICE to a layout, or a refusal.

use toyfs_format::constants::{
    LARGE_IMAGE_BLOCK_SIZE, LARGE_IMAGE_BYTES, MIN_BLOCK_COUNT, SMALL_IMAGE_BLOCK_SIZE,
};
use toyfs_format::features::{Features, MAX_FRAGMENT_SHIFT};
use toyfs_format::geometry::{max_inodes, validate_block_size};
use toyfs_format::Geometry;

use super::{MkfsError, MkfsOptions};
use crate::size::SizeArg;

/// Default bytes of filesystem per inode.
const BYTES_PER_INODE: u64 = 4096;
/// Fewest inodes made by default, space permitting.
const MIN_DEFAULT_INODES: u32 = 16;

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
pub fn default_inode_count(block_size: u32, block_count: u32, features: &Features) -> u32 {
    let by_size = u64::from(block_count) * u64::from(block_size) / BYTES_PER_INODE;
    let wanted = by_size.clamp(u64::from(MIN_DEFAULT_INODES), u64::from(u32::MAX)) as u32;
    wanted.min(max_inodes(
        block_size,
        block_count,
        features.fragment_shift(block_size),
    ))
}

/// The block size mkfs picks when `-b` gives none, as mke2fs does from
/// /etc/mke2fs.conf's usage types: 1 KiB for a filesystem of less than
/// 512 MiB ("floppy", "small"), 4 KiB from 512 MiB.
pub fn default_block_size(filesystem_bytes: u64) -> u32 {
    if filesystem_bytes < LARGE_IMAGE_BYTES {
        SMALL_IMAGE_BLOCK_SIZE
    } else {
        LARGE_IMAGE_BLOCK_SIZE
    }
}

/// The features the options ask for on blocks of `block_size`: fragments
/// with `-f` (of `block_size / 8` when only `-c` or `-p` asks for them),
/// LZ4 with `-c`, PACKED_TAILS with `-p`, and PACKED_LZ4 (packed tails
/// compressed) with both.
pub fn features(options: &MkfsOptions, block_size: u32) -> Features {
    let fragment_size = match (
        options.fragment_size,
        options.compression || options.pack_tails,
    ) {
        (Some(size), _) => Some(size),
        (None, true) => Some(block_size >> MAX_FRAGMENT_SHIFT),
        (None, false) => None,
    };
    Features {
        fragment_size,
        lz4: options.compression,
        default_flags: if options.compression {
            toyfs_format::inode::FLAG_COMPRESSED
        } else {
            0
        },
        // Set when `-d` copies the first symbolic link or special file
        // (`Filesystem::make_special`), not before: features.rs says why.
        special_files: false,
        // Set by the first inode that needs it (features.rs).
        large_files: false,
        // Set by the first allocation past the end of a file.
        prealloc: false,
        packed_tails: options.pack_tails,
        packed_lz4: options.pack_tails && options.compression,
        // Set by the kernel before the first inode it allocates is
        // written; mkfs's inodes have generation 0 (features.rs).
        generations: false,
    }
}

/// The bytes the filesystem is to cover before a block size is known:
/// SIZE (a plain count is in KiB when `-b` gives no block size, as for
/// mke2fs), else the whole of DEVICE.
fn wanted_bytes(options: &MkfsOptions, target: Target) -> Result<u64, MkfsError> {
    match options.size {
        Some(SizeArg::Blocks(blocks)) => {
            let unit = options.block_size.unwrap_or(SMALL_IMAGE_BLOCK_SIZE);
            // Too many blocks to count in bytes is too many blocks.
            blocks
                .checked_mul(u64::from(unit))
                .ok_or(MkfsError::TooManyBlocks(blocks))
        }
        Some(SizeArg::Bytes(bytes)) => Ok(bytes),
        None => match target {
            Target::Missing | Target::File(0) | Target::BlockDevice(0) => {
                Err(MkfsError::SizeUnknown(options.device.clone()))
            }
            Target::File(bytes) | Target::BlockDevice(bytes) => Ok(bytes),
        },
    }
}

/// Turns the options and what is at DEVICE into a layout, refusing
/// anything that does not make a valid filesystem.
pub fn plan(
    options: &MkfsOptions,
    target: Target,
    wanted_inodes: u32,
) -> Result<Geometry, MkfsError> {
    let bytes = wanted_bytes(options, target)?;
    let block_size = options
        .block_size
        .unwrap_or_else(|| default_block_size(bytes));
    validate_block_size(block_size).map_err(MkfsError::Geometry)?;
    let features = features(options, block_size);
    features.validate(block_size).map_err(MkfsError::Geometry)?;
    let blocks = match options.size {
        // A byte size must be whole blocks of the block size asked for;
        // one mkfs picked loses a partial last block, as mke2fs's does.
        Some(SizeArg::Bytes(bytes))
            if options.block_size.is_some() && bytes % u64::from(block_size) != 0 =>
        {
            return Err(MkfsError::SizeNotBlockMultiple { bytes, block_size });
        }
        // A device that is not a whole number of blocks loses its tail.
        _ => bytes / u64::from(block_size),
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
        None if block_count >= MIN_BLOCK_COUNT => {
            let default = default_inode_count(block_size, block_count, &features);
            let fitting = max_inodes(block_size, block_count, features.fragment_shift(block_size));
            default.max(wanted_inodes.min(fitting))
        }
        // Too few blocks: Geometry::new says so before it looks at inodes.
        None => 1,
    };
    Geometry::with_features(block_size, block_count, inode_count, features)
        .map_err(MkfsError::Geometry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mkfs::parse_args;

    fn options(list: &[&str]) -> MkfsOptions {
        parse_args(list.iter().map(|arg| arg.to_string())).unwrap()
    }

    #[test]
    fn plans_from_size_or_device() {
        let geometry = plan(&options(&["img", "1M"]), Target::Missing, 0).unwrap();
        assert_eq!(
            (geometry.block_count(), geometry.inode_count()),
            (1024, 256)
        );
        let geometry = plan(&options(&["-b", "512", "img"]), Target::File(1_000_000), 0).unwrap();
        assert_eq!(
            geometry.block_count(),
            1953,
            "a partial last block is dropped"
        );
        let geometry = plan(&options(&["img"]), Target::BlockDevice(64 << 20), 0).unwrap();
        assert_eq!(
            (geometry.block_count(), geometry.inode_count()),
            (65536, 16384)
        );
        // Tiny filesystems get as many inodes as fit, up to 16.
        assert_eq!(
            plan(&options(&["-b", "512", "img", "4"]), Target::Missing, 0)
                .unwrap()
                .inode_count(),
            4
        );
        assert_eq!(
            plan(&options(&["img", "20"]), Target::Missing, 0)
                .unwrap()
                .inode_count(),
            16
        );
    }

    #[test]
    fn block_size_by_image_size_as_mke2fs() {
        let block = |list: &[&str], target| {
            let geometry = plan(&options(list), target, 0).unwrap();
            (geometry.block_size(), geometry.block_count())
        };
        assert_eq!(default_block_size(0), 1024);
        assert_eq!(default_block_size((512 << 20) - 1), 1024);
        assert_eq!(default_block_size(512 << 20), 4096);
        assert_eq!(block(&["img", "2M"], Target::Missing), (1024, 2048));
        assert_eq!(block(&["img", "511M"], Target::Missing), (1024, 523264));
        assert_eq!(block(&["img", "512M"], Target::Missing), (4096, 131072));
        assert_eq!(block(&["img", "4G"], Target::Missing), (4096, 1 << 20));
        // A plain SIZE without -b is in KiB, as for mke2fs.
        assert_eq!(block(&["img", "524287"], Target::Missing), (1024, 524287));
        assert_eq!(block(&["img", "524288"], Target::Missing), (4096, 131072));
        // A partial last block of a picked block size is dropped.
        assert_eq!(block(&["img", "524289"], Target::Missing), (4096, 131072));
        assert_eq!(block(&["img", "524289K"], Target::Missing), (4096, 131072));
        assert_eq!(
            block(&["img"], Target::BlockDevice((1 << 30) + 1000)),
            (4096, 262144)
        );
        assert_eq!(
            block(&["img"], Target::File((512 << 20) - 1024)),
            (1024, 524287)
        );
        // -b wins, and its SIZE counts its blocks.
        assert_eq!(
            block(&["-b", "1024", "img", "1G"], Target::Missing),
            (1024, 1 << 20)
        );
        assert_eq!(block(&["-b", "512", "img", "8"], Target::Missing), (512, 8));
        assert_eq!(
            block(&["-b", "2048", "img", "2G"], Target::Missing),
            (2048, 1 << 20)
        );
        // Fragments of B / 8 with -c follow the picked block size.
        let lz4 = plan(&options(&["-c", "lz4", "img", "1G"]), Target::Missing, 0).unwrap();
        assert_eq!((lz4.block_size(), lz4.fragment_size()), (4096, 512));
        let lz4 = plan(&options(&["-c", "lz4", "img", "8M"]), Target::Missing, 0).unwrap();
        assert_eq!((lz4.block_size(), lz4.fragment_size()), (1024, 128));
        // -f 128 is too small a fragment for the 4 KiB blocks of 1 GiB.
        assert_eq!(
            plan(&options(&["-f", "128", "img", "1G"]), Target::Missing, 0)
                .unwrap_err()
                .to_string(),
            "fragment size 128 is not a power of two from 512 to 4096 (B/8 to B)"
        );
    }

    #[test]
    fn plan_refusals() {
        let refuse =
            |list: &[&str], target| plan(&options(list), target, 0).unwrap_err().to_string();
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
        assert_eq!(default_inode_count(1024, 1024, &Features::NONE), 256);
        assert_eq!(default_inode_count(1024, 32, &Features::NONE), 16);
        assert_eq!(default_inode_count(512, 4, &Features::NONE), 4);
        // 16 TiB: one inode per block, capped by the 32-bit inode number.
        assert_eq!(
            default_inode_count(4096, u32::MAX, &Features::NONE),
            u32::MAX
        );
    }

    #[test]
    fn fragments_and_compression() {
        let geometry = plan(
            &options(&["-b", "4096", "-f", "512", "-c", "lz4", "img", "64M"]),
            Target::Missing,
            0,
        )
        .unwrap();
        assert_eq!(geometry.fragment_size(), 512);
        assert!(geometry.has_compression());
        assert_eq!(geometry.default_file_flags(), 4);
        let only_c = plan(&options(&["-c", "lz4", "img", "1M"]), Target::Missing, 0).unwrap();
        assert_eq!(only_c.fragment_size(), 128, "B/8 by default with -c");
        let plain_fragments =
            plan(&options(&["-f", "1024", "img", "1M"]), Target::Missing, 0).unwrap();
        assert!(plain_fragments.has_fragments() && !plain_fragments.has_compression());
        let refuse = |list: &[&str]| {
            plan(&options(list), Target::Missing, 0)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refuse(&["-b", "4096", "-f", "256", "img", "1M"]),
            "fragment size 256 is not a power of two from 512 to 4096 (B/8 to B)"
        );
        assert_eq!(
            refuse(&["-f", "1024", "-c", "lz4", "img", "1M"]),
            "LZ4 compression needs fragments of at most half a block"
        );
    }

    #[test]
    fn enough_inodes_for_the_tree_when_they_fit() {
        let plan_for = |wanted| {
            plan(&options(&["img", "1M"]), Target::Missing, wanted)
                .unwrap()
                .inode_count()
        };
        assert_eq!(plan_for(10), 256, "the default when it is enough");
        assert_eq!(plan_for(1000), 1000);
        assert_eq!(plan_for(1_000_000), 8168, "no more than fit");
    }
}
