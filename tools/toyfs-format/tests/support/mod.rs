// SPDX-License-Identifier: GPL-2.0
//! Builds small images in memory for the integration tests, and edits them
//! behind the library's back to damage them.
#![allow(dead_code)] // Each test file uses a different part of it.

use toyfs_format::check::{check, Finding};
use toyfs_format::constants::{ROOT_INO, SUPERBLOCK_SIZE};
use toyfs_format::crc32c::crc32c;
use toyfs_format::dirent::parse_dir_block;
use toyfs_format::features::Features;
use toyfs_format::superblock::CHECKSUM_OFFSET;
use toyfs_format::{
    format, BlockDevice, Filesystem, Geometry, Inode, MemoryDevice, RootAttributes, Timestamp,
};

pub const NOW: Timestamp = Timestamp {
    sec: 1_750_000_000,
    nsec: 123,
};

/// An empty filesystem in memory.
pub fn empty(block_size: u32, block_count: u32, inode_count: u32) -> MemoryDevice {
    empty_with(block_size, block_count, inode_count, Features::NONE)
}

/// An empty filesystem with `features` in memory.
pub fn empty_with(
    block_size: u32,
    block_count: u32,
    inode_count: u32,
    features: Features,
) -> MemoryDevice {
    let geometry = Geometry::with_features(block_size, block_count, inode_count, features).unwrap();
    let mut device = MemoryDevice::new(geometry.byte_size() as usize);
    let root = RootAttributes {
        uid: 0,
        gid: 0,
        permissions: 0o755,
        time: NOW,
    };
    format(&mut device, &geometry, root).unwrap();
    device
}

/// Inode numbers of what [`populated`] creates.
pub struct Files {
    /// "/small": 100 bytes in one block.
    pub small: u32,
    /// "/sparse": data in a direct block, a single-indirect block and a
    /// double-indirect block, holes everywhere else.
    pub sparse: u32,
    /// "/dir".
    pub dir: u32,
    /// "/dir/nested", also linked as "/hardlink".
    pub nested: u32,
    /// "/dir/sub".
    pub sub: u32,
}

/// Offsets and bytes written to "/sparse", in block units of `block_size`.
pub fn sparse_writes(block_size: u32) -> Vec<(u64, Vec<u8>)> {
    let bs = u64::from(block_size);
    let per_block = bs / 4;
    vec![
        (3, b"direct".to_vec()),
        (20 * bs + 5, b"single indirect".to_vec()),
        // Straddles two blocks inside the double-indirect range.
        ((12 + per_block + 3) * bs - 4, b"double indirect".to_vec()),
    ]
}

/// A filesystem with files, holes, a subdirectory tree and a hard link;
/// fsck-clean.
pub fn populated(block_size: u32) -> (MemoryDevice, Files) {
    let device = empty(block_size, 2048, 64);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let small = fs.create(ROOT_INO, b"small", 0o644).unwrap();
    fs.write(small, 0, &[0x5a; 100]).unwrap();
    let sparse = fs.create(ROOT_INO, b"sparse", 0o600).unwrap();
    for (offset, data) in sparse_writes(block_size) {
        fs.write(sparse, offset, &data).unwrap();
    }
    let dir = fs.mkdir(ROOT_INO, b"dir", 0o755).unwrap();
    let nested = fs.create(dir, b"nested", 0o644).unwrap();
    fs.write(nested, 0, b"nested file").unwrap();
    fs.link(ROOT_INO, b"hardlink", nested).unwrap();
    let sub = fs.mkdir(dir, b"sub", 0o700).unwrap();
    let device = fs.close().unwrap();
    assert_eq!(
        findings(&device),
        [],
        "the populated image must start clean"
    );
    (
        device,
        Files {
            small,
            sparse,
            dir,
            nested,
            sub,
        },
    )
}

/// What fsck finds.
pub fn findings(device: &MemoryDevice) -> Vec<Finding> {
    check(device).unwrap().findings
}

pub fn geometry(device: &MemoryDevice) -> Geometry {
    Filesystem::open(device.clone(), NOW)
        .unwrap()
        .geometry()
        .to_owned()
}

pub fn read_inode(device: &MemoryDevice, ino: u32) -> Inode {
    Filesystem::open(device.clone(), NOW)
        .unwrap()
        .read_inode(ino)
        .unwrap()
}

/// Rewrites inode `ino` after `edit`, as a buggy kernel would.
pub fn edit_inode(device: &mut MemoryDevice, ino: u32, edit: impl FnOnce(&mut Inode)) {
    let mut inode = read_inode(device, ino);
    edit(&mut inode);
    let offset = geometry(device).inode_offset(ino).unwrap();
    device.write_at(offset, &inode.encode()).unwrap();
}

/// Edits the superblock bytes and reseals the checksum, so the edited
/// field, not the checksum, is what a reader trips on.
pub fn edit_superblock(device: &mut MemoryDevice, edit: impl FnOnce(&mut [u8])) {
    let bytes = &mut device.bytes_mut()[..SUPERBLOCK_SIZE];
    edit(bytes);
    let checksum = crc32c(&bytes[..CHECKSUM_OFFSET]);
    bytes[CHECKSUM_OFFSET..].copy_from_slice(&checksum.to_le_bytes());
}

/// Byte offset in the image of block `block`.
pub fn block_offset(device: &MemoryDevice, block: u32) -> usize {
    geometry(device).block_offset(block) as usize
}

/// Block holding file block `file_block` of `ino`.
pub fn data_block(device: &MemoryDevice, ino: u32, file_block: u64) -> u32 {
    let fs = Filesystem::open(device.clone(), NOW).unwrap();
    let inode = fs.read_inode(ino).unwrap();
    fs.map_block(ino, &inode, file_block).unwrap().unwrap()
}

/// Byte offset in the image of the entry `name` of directory `dir`.
pub fn entry_offset(device: &MemoryDevice, dir: u32, name: &[u8]) -> usize {
    let dir_inode = read_inode(device, dir);
    let block_size = geometry(device).block_size() as usize;
    for file_block in 0..dir_inode.blocks_within_size(block_size as u32) {
        let start = block_offset(device, data_block(device, dir, file_block));
        let entries = parse_dir_block(&device.bytes()[start..start + block_size]).unwrap();
        if let Some(entry) = entries.iter().find(|entry| entry.name == name) {
            return start + entry.offset;
        }
    }
    panic!("no entry {name:?} in directory {dir}");
}

/// Sets or clears bitmap bit `block`, superblock untouched.
pub fn set_bitmap_bit(device: &mut MemoryDevice, block: u32, value: bool) {
    let byte = block_offset(device, 1) + block as usize / 8;
    let mask = 1u8 << (block % 8);
    let bytes = device.bytes_mut();
    if value {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
}

/// Adjusts the superblock's free block count by `delta`.
pub fn adjust_free_blocks(device: &mut MemoryDevice, delta: i64) {
    edit_superblock(device, |bytes| {
        let free = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        let free = (i64::from(free) + delta) as u32;
        bytes[20..24].copy_from_slice(&free.to_le_bytes());
    });
}

/// Bytes LZ4 cannot shrink, different for every `seed`.
pub fn noise(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}
