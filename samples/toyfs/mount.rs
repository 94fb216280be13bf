// SPDX-License-Identifier: GPL-2.0

//! The filesystem as a whole: the superblock at mount, remount, sync and
//! unmount, and statfs (ext2's super.c; the VFS glue is in
//! ops/super_ops.rs).

use crate::{
    format::{
        constants::{SUPERBLOCK_BLOCK, SUPERBLOCK_SIZE},
        superblock::{FsState, Superblock},
    },
    meta::Meta,
    vfs::{crc32c, toyfs_err, Buffer, SuperBlock},
};
use kernel::prelude::*;

/// What `statfs` reports.
pub(crate) struct Stat {
    pub(crate) block_size: u32,
    pub(crate) blocks: u32,
    pub(crate) free_blocks: u32,
    pub(crate) inodes: u32,
    pub(crate) free_inodes: u32,
}

/// Validates the superblock read at mount and the device size.
pub(crate) fn parse_mount_superblock(block0: &[u8], device_bytes: u64) -> Result<Superblock> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    raw.copy_from_slice(block0.get(..SUPERBLOCK_SIZE).ok_or(EINVAL)?);
    let disk = Superblock::decode_with(&raw, crc32c).map_err(|error| {
        toyfs_err!("not a valid toyfs superblock: {}\n", error.rule());
        EINVAL
    })?;
    let geometry = disk.geometry;
    let features = geometry.features().incompat();
    if features != 0 {
        // Fragments and LZ4 (Documentation/toyfs.rst, "Features") are read
        // by the tools only so far.
        toyfs_err!(
            "not a valid toyfs superblock: incompatible features {:#x} (fragments, LZ4) are not supported\n",
            features
        );
        return Err(EINVAL);
    }
    let needed = geometry.byte_size();
    if device_bytes < needed {
        toyfs_err!(
            "device of {} bytes is smaller than the filesystem ({} bytes)\n",
            device_bytes,
            needed
        );
        return Err(EINVAL);
    }
    if disk.state == FsState::Dirty {
        kernel::pr_notice!("not cleanly unmounted: recounting the free blocks and inodes\n");
    }
    Ok(disk)
}

impl Meta<'_> {
    /// Writes the superblock with the free counts and `state`.
    fn write_superblock(&self, state: FsState, sync: bool) -> Result {
        let superblock = Superblock {
            geometry: self.geometry,
            free_blocks: self.counts.free_blocks,
            free_inodes: self.counts.free_inodes,
            state,
        };
        let mut block0 = Buffer::read(self.sb, SUPERBLOCK_BLOCK)?;
        block0.data_mut()[..SUPERBLOCK_SIZE].copy_from_slice(&superblock.encode_with(crc32c));
        block0.mark_dirty();
        if sync {
            block0.sync()?;
        }
        Ok(())
    }
}

/// Mounts: a read-write mount recomputes the free counts and writes the
/// dirty state before changing anything else.
pub(crate) fn mount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    start_writing(sb)
}

/// Recomputes the free counts (the superblock's may be stale) and writes
/// the dirty state: the filesystem is about to change.
fn start_writing(sb: &SuperBlock) -> Result {
    let mut meta = Meta::lock(sb);
    meta.recount()?;
    meta.write_superblock(FsState::Dirty, true)
}

/// `mount -o remount`: going read-only writes the clean state (the VFS
/// caller has synced everything), going read-write starts as a mount
/// does.
pub(crate) fn remount(sb: &SuperBlock, read_only: bool) -> Result {
    match (sb.is_read_only(), read_only) {
        (false, true) => unmount(sb),
        (true, false) => start_writing(sb),
        _ => Ok(()),
    }
}

/// Unmounts: writes the exact counts and the clean state.
pub(crate) fn unmount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    Meta::lock(sb).write_superblock(FsState::Clean, true)
}

/// `sync_fs`: the counts reach the disk; the state stays dirty while
/// mounted read-write.
pub(crate) fn sync_fs(sb: &SuperBlock, wait: bool) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    Meta::lock(sb).write_superblock(FsState::Dirty, wait)
}

/// `statfs`.
pub(crate) fn statfs(sb: &SuperBlock) -> Stat {
    let meta = Meta::lock(sb);
    Stat {
        block_size: meta.geometry.block_size(),
        blocks: meta.geometry.block_count(),
        free_blocks: meta.counts.free_blocks,
        inodes: meta.geometry.inode_count(),
        free_inodes: meta.counts.free_inodes,
    }
}
