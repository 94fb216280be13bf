// SPDX-License-Identifier: GPL-2.0
//! Fixed numbers of the toyfs format, version 1.

/// `"TOYF"` as the first four bytes of the image.
pub const MAGIC: u32 = u32::from_le_bytes(*b"TOYF");
/// The only format version this crate reads and writes.
pub const VERSION: u32 = 1;

/// Smallest block size mkfs accepts.
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest block size mkfs accepts: one x86 page.
pub const MAX_BLOCK_SIZE: u32 = 4096;
/// mkfs's block size, when `-b` does not give one, for an image of fewer
/// than [`LARGE_IMAGE_BYTES`]: a quarter page, so partial pages are the
/// normal case (mke2fs's "floppy" and "small" usage types: 1 KiB blocks).
pub const SMALL_IMAGE_BLOCK_SIZE: u32 = 1024;
/// mkfs's block size, when `-b` does not give one, for an image of at least
/// [`LARGE_IMAGE_BYTES`]: one page, as mke2fs's default usage type.  With
/// 1 KiB blocks the largest file would be far smaller than such an image.
pub const LARGE_IMAGE_BLOCK_SIZE: u32 = 4096;
/// The image size from which mkfs's default block size is
/// [`LARGE_IMAGE_BLOCK_SIZE`]: 512 MiB, where /etc/mke2fs.conf's "small"
/// usage type ends.
pub const LARGE_IMAGE_BYTES: u64 = 512 << 20;

/// Bytes of the superblock at the start of block 0 (the rest of the block is zero).
pub const SUPERBLOCK_SIZE: usize = 128;
/// Bytes of one inode in the inode table.
pub const INODE_SIZE: usize = 128;

/// Block number of the superblock.
pub const SUPERBLOCK_BLOCK: u32 = 0;
/// First block of the block bitmap.
pub const BITMAP_START: u32 = 1;

/// Inode number of the root directory.  Inode numbers start at 1; 0 means
/// "no inode" in a directory entry.
pub const ROOT_INO: u32 = 1;

/// Direct block pointers in an inode.
pub const DIRECT_POINTERS: usize = 12;
/// Bytes of one block pointer.
pub const POINTER_SIZE: u32 = 4;

/// Longest file name in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Smallest image mkfs makes: superblock, one bitmap block, one inode-table
/// block and the root directory's block.
pub const MIN_BLOCK_COUNT: u32 = 4;
