// SPDX-License-Identifier: GPL-2.0
//! The source image every damage starts from, and the raw edits a damage
//! makes to it behind the format's back.
//!
//! The image is 1 MiB of 1 KiB blocks; the guest test puts it on a loop
//! device of exactly its size, so that nothing past it can be read.

use toyfs_format::address::Extent;
use toyfs_format::bitmap::Bitmap;
use toyfs_format::constants::{BITMAP_START, INODE_SIZE, ROOT_INO, SUPERBLOCK_SIZE};
use toyfs_format::crc32c::crc32c;
use toyfs_format::dirent::parse_dir_block;
use toyfs_format::features::Features;
use toyfs_format::superblock::CHECKSUM_OFFSET;
use toyfs_format::{
    format, BlockDevice, Filesystem, Geometry, GeometryError, Inode, MemoryDevice, RootAttributes,
    Timestamp,
};

use crate::error::{Result, ToolError};
use crate::pattern::pattern;

/// Block size of the source image.
pub const BLOCK_SIZE: u32 = 1024;
/// Blocks of the source image: 1 MiB, small enough to copy hundreds of
/// times under an emulated debug kernel.
pub const BLOCK_COUNT: u32 = 1024;
/// Inodes of the source image.
pub const INODE_COUNT: u32 = 128;
/// Files in `/many`.
pub const MANY_FILES: usize = 40;

const TIME: Timestamp = Timestamp {
    sec: 1_750_000_000,
    nsec: 0,
};

/// Byte ranges written to each regular file of the source image.
pub const FILES: &[(&str, &[(u64, u64)])] = &[
    // Part of one block.
    ("small", &[(0, 100)]),
    // Ten blocks over three pages, the last one partial.
    ("pages", &[(0, 10_000)]),
    // Direct and single-indirect blocks, then a hole, then two blocks
    // under the double-indirect block (file block 268 is its first).
    ("big", &[(0, 14 * 1024), (300 * 1024, 302 * 1024)]),
    ("dir/nested", &[(0, 3000)]),
    ("dir/sub/deep", &[(0, 5000)]),
];

/// The name of file `index` of `/many`; long, so that the directory
/// takes two blocks.
pub fn many_name(index: usize) -> String {
    format!("entry-with-a-longer-name-{index:02}")
}

/// Which source image a damage starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// [`make_source`]: 1 KiB blocks, no optional feature.
    Plain,
    /// [`make_fragment_source`]: 4 KiB blocks in fragments of 512 bytes,
    /// LZ4 compression.
    Fragments,
}

impl Source {
    /// Both sources, the plain one first.
    pub const ALL: [Self; 2] = [Self::Plain, Self::Fragments];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Fragments => "fragments",
        }
    }

    /// The source called `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|source| source.name() == name)
            .ok_or_else(|| ToolError(format!("no source image {name:?}: plain or fragments")))
    }

    /// Builds the image.
    pub fn make(self) -> Result<MemoryDevice> {
        match self {
            Self::Plain => make_source(),
            Self::Fragments => make_fragment_source(),
        }
    }
}

/// Block size of the fragment source image.
pub const FRAGMENT_BLOCK_SIZE: u32 = 4096;
/// Fragment size of the fragment source image.
pub const FRAGMENT_SIZE: u32 = 512;

/// A file of a source image: path, byte ranges written in that order,
/// and whether the file compresses (`chattr -c` otherwise).
pub type SourceFile = (&'static str, &'static [(u64, u64)], bool);

/// Files of the fragment source image.
pub const FRAGMENT_FILES: &[SourceFile] = &[
    // A tail of one fragment: compressing it would not save one.
    ("small", &[(0, 100)], true),
    // Two compressed blocks and a compressed tail.
    ("pages", &[(0, 10_000)], true),
    // Compressed blocks under the direct, single-indirect and (from file
    // block 12 + 1024) double-indirect pointers, holes between.
    (
        "big",
        &[(0, 14 * 4096), (1036 * 4096, 1036 * 4096 + 6000)],
        true,
    ),
    // Grown by appends: its tail moved to more fragments, then to whole
    // blocks.
    (
        "grown",
        &[
            (0, 700),
            (700, 1400),
            (1400, 2100),
            (2100, 2800),
            (2800, 3500),
            (3500, 4200),
            (4200, 4900),
        ],
        true,
    ),
    // Plain: a tail of 6 fragments; two whole blocks and a tail of 2.
    ("plain/tail", &[(0, 3000)], false),
    ("plain/blocks", &[(0, 9000)], false),
    ("dir/nested", &[(0, 3000)], true),
    ("dir/sub/deep", &[(0, 5000)], true),
    // Plain, their last blocks packed into one tail block (PACKED_TAILS):
    // a tail alone, after two whole blocks, after a whole block.
    ("plain/packed-a", &[(0, 300)], false),
    ("plain/packed-b", &[(0, 9000)], false),
    ("plain/packed-c", &[(0, 6100)], false),
    // Compressed, its last block packed compressed (PACKED_LZ4) into the
    // same tail block, after a compressed block.
    ("packed-z", &[(0, 4096 + 2000)], true),
];

/// Files of the fragment source image whose last blocks are packed.
pub const PACKED_FILES: [&str; 4] = [
    "plain/packed-a",
    "plain/packed-b",
    "plain/packed-c",
    "packed-z",
];

/// Builds the source image: the files of [`FILES`] filled with their
/// [`pattern`], `/hardlink` naming `/dir/nested`, and [`MANY_FILES`]
/// files of 200 bytes in `/many`.
pub fn make_source() -> Result<MemoryDevice> {
    let files: Vec<_> = FILES
        .iter()
        .map(|&(path, ranges)| (path, ranges, false))
        .collect();
    build(Geometry::new(BLOCK_SIZE, BLOCK_COUNT, INODE_COUNT), &files)
}

/// Builds the fragment source image (1 MiB): the same tree as
/// [`make_source`] with the files of [`FRAGMENT_FILES`], so that tails of
/// several files share blocks and compressed and plain blocks mix, and
/// the last blocks of [`PACKED_FILES`] packed into a tail block, as
/// `mkfs.toyfs -c lz4 -p` packs them (that of `packed-z` compressed).
pub fn make_fragment_source() -> Result<MemoryDevice> {
    let device = build(
        Geometry::with_features(
            FRAGMENT_BLOCK_SIZE,
            BLOCK_COUNT / 4,
            INODE_COUNT,
            Features {
                packed_tails: true,
                packed_lz4: true,
                ..Features::compressed(FRAGMENT_SIZE)
            },
        ),
        FRAGMENT_FILES,
    )?;
    let mut fs = Filesystem::open(device, TIME)?;
    let packed = PACKED_FILES
        .iter()
        .map(|path| resolve(&fs, path))
        .collect::<Result<Vec<_>>>()?;
    fs.pack_tails(&packed)?;
    Ok(fs.close()?)
}

fn build(
    geometry: std::result::Result<Geometry, GeometryError>,
    files: &[SourceFile],
) -> Result<MemoryDevice> {
    let geometry = geometry.map_err(|error| ToolError(error.to_string()))?;
    let mut device = MemoryDevice::new(geometry.byte_size() as usize);
    let root = RootAttributes {
        uid: 0,
        gid: 0,
        permissions: 0o755,
        time: TIME,
    };
    format(&mut device, &geometry, root)?;
    let mut fs = Filesystem::open(device, TIME)?;
    let dir = fs.mkdir(ROOT_INO, b"dir", 0o755)?;
    fs.mkdir(dir, b"sub", 0o755)?;
    if files.iter().any(|(path, ..)| path.starts_with("plain/")) {
        fs.mkdir(ROOT_INO, b"plain", 0o755)?;
    }
    for &(path, ranges, compressed) in files {
        let (parent, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (resolve(&fs, parent)?, name),
            None => (ROOT_INO, path),
        };
        let ino = fs.create(parent, name.as_bytes(), 0o644)?;
        if geometry.has_compression() {
            fs.set_compressed(ino, compressed)?;
        }
        for &(start, end) in ranges {
            fs.write(ino, start, &pattern(ino, start, (end - start) as usize))?;
        }
    }
    let nested = resolve(&fs, "dir/nested")?;
    fs.link(ROOT_INO, b"hardlink", nested)?;
    let many = fs.mkdir(ROOT_INO, b"many", 0o755)?;
    for index in 0..MANY_FILES {
        let ino = fs.create(many, many_name(index).as_bytes(), 0o644)?;
        fs.write(ino, 0, &pattern(ino, 0, 200))?;
    }
    Ok(fs.close()?)
}

/// The inode of `path` (relative to the root, `/`-separated).
pub fn resolve<D: BlockDevice>(fs: &Filesystem<D>, path: &str) -> Result<u32> {
    let mut ino = ROOT_INO;
    for name in path.split('/').filter(|name| !name.is_empty()) {
        ino = fs
            .lookup(ino, name.as_bytes())?
            .ok_or_else(|| ToolError(format!("no {path} in the image")))?;
    }
    Ok(ino)
}

/// An image being damaged: its bytes, and what the undamaged format says
/// about them (read before the edit that breaks it).
pub struct Image {
    /// The bytes.
    pub device: MemoryDevice,
    /// The layout from the superblock.
    pub geometry: Geometry,
}

impl Image {
    /// Opens `device`, which must still hold a readable superblock.
    pub fn new(device: MemoryDevice) -> Result<Self> {
        let geometry = *Filesystem::open(device.clone(), TIME)?.geometry();
        Ok(Self { device, geometry })
    }

    fn fs(&self) -> Result<Filesystem<MemoryDevice>> {
        Ok(Filesystem::open(self.device.clone(), TIME)?)
    }

    /// The inode number of `path`.
    pub fn ino(&self, path: &str) -> Result<u32> {
        resolve(&self.fs()?, path)
    }

    /// Inode `ino` as stored.
    pub fn inode(&self, ino: u32) -> Inode {
        let offset = self.inode_offset(ino);
        let mut bytes = [0u8; INODE_SIZE];
        bytes.copy_from_slice(&self.device.bytes()[offset..offset + INODE_SIZE]);
        Inode::decode(&bytes)
    }

    /// Rewrites inode `ino` after `edit`.
    pub fn edit_inode(&mut self, ino: u32, edit: impl FnOnce(&mut Inode)) {
        let mut inode = self.inode(ino);
        edit(&mut inode);
        let offset = self.inode_offset(ino);
        self.device.bytes_mut()[offset..offset + INODE_SIZE].copy_from_slice(&inode.encode());
    }

    fn inode_offset(&self, ino: u32) -> usize {
        self.geometry
            .inode_offset(ino)
            .expect("inode numbers come from the image's own directories") as usize
    }

    /// The block holding file block `file_block` of `ino` (0 for a hole).
    pub fn block_of(&self, ino: u32, file_block: u64) -> Result<u32> {
        let fs = self.fs()?;
        let inode = fs.read_inode(ino)?;
        Ok(fs.map_block(ino, &inode, file_block)?.unwrap_or(0))
    }

    /// The run holding block `file_block` of inode `ino`, if any.
    pub fn extent_of(&self, ino: u32, file_block: u64) -> Result<Option<Extent>> {
        let fs = self.fs()?;
        let inode = fs.read_inode(ino)?;
        Ok(fs.map_extent(ino, &inode, file_block)?)
    }

    /// The bytes of run `extent`, to change.
    pub fn run_mut(&mut self, extent: &Extent) -> &mut [u8] {
        let start = extent.byte_offset(&self.geometry) as usize;
        let len = extent.byte_len(&self.geometry);
        &mut self.device.bytes_mut()[start..start + len]
    }

    /// The bytes of block `block`.
    pub fn block_mut(&mut self, block: u32) -> &mut [u8] {
        let start = self.geometry.block_offset(block) as usize;
        let len = self.geometry.block_size() as usize;
        &mut self.device.bytes_mut()[start..start + len]
    }

    /// Byte offset in the image of the entry `name` of directory `dir`.
    pub fn entry_offset(&self, dir: u32, name: &str) -> Result<usize> {
        let block_size = self.geometry.block_size();
        let size = self.inode(dir).blocks_within_size(block_size);
        let dir_size = self.inode(dir).size;
        for file_block in 0..size {
            let extent = self
                .extent_of(dir, file_block)?
                .ok_or_else(|| ToolError(format!("directory {dir} has a hole")))?;
            let start = extent.byte_offset(&self.geometry) as usize;
            let len = self.geometry.file_block_length(dir_size, file_block) as usize;
            let bytes = &self.device.bytes()[start..start + len];
            let entries = parse_dir_block(bytes)
                .map_err(|error| ToolError(format!("directory {dir}: {error}")))?;
            if let Some(entry) = entries.iter().find(|entry| entry.name == name.as_bytes()) {
                return Ok(start + entry.offset);
            }
        }
        Err(ToolError(format!("no entry {name} in directory {dir}")))
    }

    /// The bitmap as stored.
    pub fn bitmap(&self) -> Bitmap {
        let start = self.geometry.block_offset(BITMAP_START) as usize;
        let len = (self.geometry.bitmap_blocks() * self.geometry.block_size()) as usize;
        Bitmap::from_bytes(
            self.device.bytes()[start..start + len].to_vec(),
            self.geometry.fragment_count(),
        )
    }

    /// Sets bitmap bit `unit` (a fragment, or a block without fragments)
    /// to `used`, leaving the free count alone.
    pub fn set_bitmap_bit(&mut self, unit: u32, used: bool) {
        let byte = self.geometry.block_offset(BITMAP_START) as usize + unit as usize / 8;
        let mask = 1u8 << (unit % 8);
        let bytes = self.device.bytes_mut();
        if used {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
    }

    /// The first data block (fragment, with fragments) the bitmap marks
    /// free.
    pub fn first_free_block(&self) -> Option<u32> {
        self.bitmap()
            .first_free_from(self.geometry.first_data_fragment())
    }

    /// Edits the superblock bytes; with `reseal` the checksum is
    /// recomputed, so that the edited field is what a reader trips on.
    pub fn edit_superblock(&mut self, reseal: bool, edit: impl FnOnce(&mut [u8])) {
        let bytes = &mut self.device.bytes_mut()[..SUPERBLOCK_SIZE];
        edit(bytes);
        if reseal {
            reseal_superblock(bytes);
        }
    }
}

/// Recomputes the checksum of the superblock bytes `bytes`.
pub fn reseal_superblock(bytes: &mut [u8]) {
    let checksum = crc32c(&bytes[..CHECKSUM_OFFSET]);
    bytes[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4].copy_from_slice(&checksum.to_le_bytes());
}
