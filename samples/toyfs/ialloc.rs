// SPDX-License-Identifier: GPL-2.0

//! Inode allocation: free inodes of the inode table and their count
//! (ext2's ialloc.c).  Which inodes are in use is kept in memory while
//! mounted read-write (`Allocator::inodes_in_use`), built from the inode
//! table when the filesystem is first mounted or remounted read-write
//! (`mount::start_writing`), before any inode is allocated or freed, so
//! that finding a free inode reads nothing and every free is recorded.

use crate::{
    format::{
        constants::{INODE_SIZE, ROOT_INO},
        inode::{Inode as DiskInode, S_IFMT, S_IFREG},
    },
    meta::InodeSlot,
    vfs::{Buffer, SuperBlock},
};
use kernel::prelude::*;

/// Reads the inode table: one bit per inode in use, and the free count.
pub(crate) fn scan_inode_table(sb: &SuperBlock) -> Result<(KVec<u64>, u32)> {
    let geometry = sb.info().geometry;
    let count = geometry.inode_count() as usize;
    let mut in_use = KVec::from_elem(0u64, count.div_ceil(64), GFP_KERNEL)?;
    let mut free = 0;
    let per_block = geometry.block_bytes() / INODE_SIZE;
    for index in 0..geometry.inode_table_blocks() {
        let table = Buffer::read(sb, geometry.inode_table_start() + index)?;
        let table = table.lock();
        for slot in 0..per_block {
            let n = index as usize * per_block + slot;
            if n >= count {
                break;
            }
            let mut raw = [0u8; INODE_SIZE];
            raw.copy_from_slice(&table.data()[slot * INODE_SIZE..(slot + 1) * INODE_SIZE]);
            if DiskInode::decode(&raw).is_free() {
                free += 1;
            } else {
                in_use[n / 64] |= 1 << (n % 64);
            }
        }
    }
    Ok((in_use, free))
}

/// Takes a free inode number (in memory only, until `claim`), or fails
/// with `ENOSPC`.
pub(crate) fn take(sb: &SuperBlock) -> Result<u32> {
    let mut alloc = sb.info().alloc.lock();
    let count = sb.info().geometry.inode_count() as usize;
    let found = alloc
        .inodes_in_use
        .iter()
        .enumerate()
        .find_map(|(word, &bits)| {
            let n = word * 64 + (!bits).trailing_zeros() as usize;
            (bits != !0 && n < count).then_some(n)
        })
        .ok_or(ENOSPC)?;
    // CAST: below `inode_count`, a `u32`.
    let ino = found as u32 + 1;
    if ino == ROOT_INO {
        // The root is always in use: a damaged table said otherwise.
        return Err(ENOSPC);
    }
    alloc.inodes_in_use[found / 64] |= 1 << (found % 64);
    alloc.free_inodes = alloc.free_inodes.saturating_sub(1);
    Ok(ino)
}

/// Gives inode number `ino`, taken but not claimed, back.
pub(crate) fn put_back(sb: &SuperBlock, ino: u32) {
    let n = (ino - 1) as usize;
    let mut alloc = sb.info().alloc.lock();
    if let Some(word) = alloc.inodes_in_use.get_mut(n / 64) {
        *word &= !(1 << (n % 64));
    }
    alloc.free_inodes += 1;
}

/// Writes taken inode `ino` as a new file of `mode` with `nlink` links (a
/// regular file with the image's default flags); a directory gets
/// `dir_block`, already filled, as its one block; a device keeps `rdev`
/// (`new_encode_dev`) in `direct[0]` (0 for every other type).
pub(crate) fn claim(
    sb: &SuperBlock,
    ino: u32,
    mode: u16,
    nlink: u16,
    dir_block: Option<u32>,
    rdev: u32,
) -> Result {
    let geometry = sb.info().geometry;
    let block_size = geometry.block_size();
    InodeSlot::read(sb, ino)?.update(|inode| {
        *inode = DiskInode {
            mode,
            nlink,
            // A regular file of an image with LZ4 is compressed if the
            // image says so (`mkfs.toyfs -c lz4`).
            flags: if mode & S_IFMT == S_IFREG {
                geometry.default_file_flags()
            } else {
                0
            },
            ..DiskInode::default()
        };
        inode.direct[0] = rdev;
        if let Some(block) = dir_block {
            inode.size = u64::from(block_size);
            inode.direct[0] = geometry.encode_pointer(geometry.whole_block(block));
            inode.blocks = geometry.fragments_per_block();
        }
    });
    Ok(())
}

/// Gives inode `ino` back: its 128 bytes become zero (free).
pub(crate) fn free_inode(sb: &SuperBlock, ino: u32) -> Result {
    InodeSlot::read(sb, ino)?.update(|inode| *inode = DiskInode::default());
    put_back(sb, ino);
    Ok(())
}
