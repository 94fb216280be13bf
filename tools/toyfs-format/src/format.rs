// SPDX-License-Identifier: GPL-2.0
//! Writes an empty filesystem: what mkfs.toyfs does.

use crate::address::Extent;
use crate::constants::{BITMAP_START, ROOT_INO, SUPERBLOCK_BLOCK};
use crate::device::BlockDevice;
use crate::dirent::new_dir_block;
use crate::error::FsError;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode, Timestamp};
use crate::superblock::{FsState, Superblock};

/// Owner, permissions and time of the root directory mkfs creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootAttributes {
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits.
    pub permissions: u16,
    /// atime, mtime and ctime.
    pub time: Timestamp,
}

/// Bytes zeroed per write, so a large inode table is not one huge buffer.
const ZERO_CHUNK: usize = 1 << 20;

/// Lays `geometry` out on `device`: zeroed metadata, a bitmap with the
/// metadata and the root directory's block, the root inode and its block,
/// and last the superblock, so an interrupted mkfs leaves no valid magic
/// over half-written metadata.  Data blocks other than the root's are not
/// touched: the bitmap says they are free.
pub fn format<D: BlockDevice + ?Sized>(
    device: &mut D,
    geometry: &Geometry,
    root: RootAttributes,
) -> Result<Superblock, FsError> {
    let device_bytes = device.size()?;
    if device_bytes < geometry.byte_size() {
        return Err(FsError::DeviceTooSmall {
            device_bytes,
            filesystem_bytes: geometry.byte_size(),
        });
    }
    // The superblock's block is zeroed too: an old superblock must not
    // survive.  Only what does not read as zeros is written: the inode
    // table is a 32nd of the image with the default inode count, and a
    // sparse image file (or a loop device over one, on tmpfs too) stays
    // sparse instead of gaining it, as mke2fs's lazy inode tables do not
    // write theirs.
    let metadata_end = geometry.block_offset(geometry.first_data_block());
    let zeros = vec![0u8; ZERO_CHUNK];
    let mut old = vec![0u8; ZERO_CHUNK];
    let mut offset = geometry.block_offset(SUPERBLOCK_BLOCK);
    while offset < metadata_end {
        let len = (metadata_end - offset).min(ZERO_CHUNK as u64) as usize;
        device.read_at(offset, &mut old[..len])?;
        if old[..len] != zeros[..len] {
            device.write_at(offset, &zeros[..len])?;
        }
        offset += len as u64;
    }

    let root_block = geometry.first_data_block();
    device.write_at(
        geometry.block_offset(root_block),
        &new_dir_block(geometry.fragment_size(), ROOT_INO, ROOT_INO),
    )?;
    let mut inode = Inode::new(FileType::Directory, root.permissions, root.time);
    inode.uid = root.uid;
    inode.gid = root.gid;
    inode.nlink = 2;
    // One fragment, a whole block without fragments.
    let root_run = Extent {
        fragment: geometry.first_data_fragment(),
        count: 1,
        compressed: false,
    };
    inode.size = u64::from(geometry.fragment_size());
    inode.blocks = 1;
    inode.direct[0] = geometry.encode_pointer(root_run);
    let inode_offset = geometry
        .inode_offset(ROOT_INO)
        .ok_or(FsError::InodeOutOfRange(ROOT_INO))?;
    device.write_at(inode_offset, &inode.encode())?;

    // The region reads as zeros now: only the bitmap blocks with a bit
    // set are written (the metadata's at the start, the padding's at the
    // end), so that a sparse image stays sparse here too (the bitmap of
    // 16 GiB of 1 KiB blocks with 128-byte fragments is 16 MiB), and
    // none is held whole in memory (2^32 - 1 blocks have 512 MiB of it).
    for index in 0..geometry.bitmap_blocks() {
        if let Some(block) = new_bitmap_block(geometry, index, root_run.fragment) {
            device.write_at(geometry.block_offset(BITMAP_START + index), &block)?;
        }
    }

    let superblock = Superblock::new(
        *geometry,
        geometry.data_fragment_count() - 1,
        geometry.inode_count() - 1,
        FsState::Clean,
    );
    device.write_at(
        geometry.block_offset(SUPERBLOCK_BLOCK),
        &superblock.encode(),
    )?;
    Ok(superblock)
}

/// Bitmap block `index` of a new filesystem, whose only data fragment in
/// use is `root`: the bits of the metadata's fragments, of `root` and of
/// the padding past the last fragment set (`Bitmap::new` block by
/// block); `None` if it has none.
fn new_bitmap_block(geometry: &Geometry, index: u32, root: u32) -> Option<Vec<u8>> {
    let bits = u64::from(geometry.block_size()) * 8;
    let start = u64::from(index) * bits;
    let end = start + bits;
    let metadata = start..end.min(u64::from(geometry.first_data_fragment()));
    let padding = start.max(u64::from(geometry.fragment_count()))..end;
    let root = u64::from(root);
    let has_root = (start..end).contains(&root);
    if metadata.is_empty() && padding.is_empty() && !has_root {
        return None;
    }
    let mut block = vec![0u8; geometry.block_size() as usize];
    let mut set = |bit: u64| {
        let at = bit - start;
        block[(at / 8) as usize] |= 1 << (at % 8);
    };
    metadata.for_each(&mut set);
    padding.for_each(&mut set);
    if has_root {
        set(root);
    }
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitmap::Bitmap;
    use crate::features::Features;

    #[test]
    fn bitmap_blocks_are_those_of_the_whole_bitmap() {
        let fragments = |size| Features {
            fragment_size: Some(size),
            ..Features::NONE
        };
        for (block_size, blocks, features) in [
            (512, 300, Features::NONE),
            (1024, 20000, Features::NONE),
            (1024, 9000, fragments(128)),
            (4096, 70000, fragments(512)),
            (2048, 40, Features::NONE),
        ] {
            let geometry = Geometry::with_features(block_size, blocks, 64, features).unwrap();
            let root = geometry.first_data_fragment();
            let mut whole = Bitmap::new(&geometry);
            whole.set(root);
            let mut pieces = Vec::new();
            for index in 0..geometry.bitmap_blocks() {
                pieces.extend(
                    new_bitmap_block(&geometry, index, root)
                        .unwrap_or_else(|| vec![0; block_size as usize]),
                );
            }
            assert_eq!(pieces, whole.as_bytes(), "{block_size} {blocks}");
        }
    }
}
