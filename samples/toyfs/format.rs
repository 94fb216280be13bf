// SPDX-License-Identifier: GPL-2.0

//! The on-disk format of Documentation/toyfs.rst, version 1: decoding,
//! validation and encoding of the superblock, inodes and directory entries.
//!
//! Pure byte work on slices, no kernel objects: every offset here is one of
//! the format document's tables.  A rule that a reader must check is
//! reported as the `&'static str` naming it, for the mount's (`EINVAL`) or
//! the inode's (`EUCLEAN`) log message.

/// `"TOYF"` read as a little-endian `u32`.
pub(crate) const MAGIC: u32 = 0x4659_4f54;
/// The only format version.
const VERSION: u32 = 1;
/// Bytes of the superblock, checksum included.
pub(crate) const SUPERBLOCK_SIZE: usize = 128;
/// Bytes covered by the superblock checksum.
const CHECKSUMMED: usize = 124;
/// `state`: cleanly unmounted, free counts exact.
pub(crate) const STATE_CLEAN: u32 = 1;
/// `state`: mounted read-write (or crashed), free counts may be stale.
pub(crate) const STATE_DIRTY: u32 = 2;
/// Bytes of an inode.
pub(crate) const INODE_SIZE: usize = 128;
/// The root directory's inode number.
pub(crate) const ROOT_INO: u32 = 1;
/// Direct block pointers in an inode.
pub(crate) const DIRECT_POINTERS: usize = 12;
/// Longest name of a directory entry.
pub(crate) const MAX_NAME_LEN: usize = 255;
/// Fixed part of a directory entry.
pub(crate) const DIRENT_HEADER_SIZE: usize = 8;
/// `file_type` of a regular file's entry.
pub(crate) const DIRENT_REGULAR: u8 = 1;
/// `file_type` of a directory's entry.
pub(crate) const DIRENT_DIRECTORY: u8 = 2;

/// File type bits of `mode`.
pub(crate) const S_IFMT: u16 = 0o170_000;
/// A regular file.
pub(crate) const S_IFREG: u16 = 0o100_000;
/// A directory.
pub(crate) const S_IFDIR: u16 = 0o040_000;

// Superblock offsets.
const SB_MAGIC: usize = 0;
const SB_VERSION: usize = 4;
const SB_BLOCK_SIZE: usize = 8;
const SB_BLOCK_COUNT: usize = 12;
const SB_INODE_COUNT: usize = 16;
const SB_FREE_BLOCKS: usize = 20;
const SB_FREE_INODES: usize = 24;
const SB_STATE: usize = 28;
const SB_BITMAP_START: usize = 32;
const SB_BITMAP_BLOCKS: usize = 36;
const SB_INODE_TABLE_START: usize = 40;
const SB_INODE_TABLE_BLOCKS: usize = 44;
const SB_FIRST_DATA_BLOCK: usize = 48;
const SB_ROOT_INO: usize = 52;
const SB_INODE_SIZE: usize = 56;
const SB_RESERVED: core::ops::Range<usize> = 60..124;
const SB_CHECKSUM: usize = 124;

// Inode offsets.
const I_MODE: usize = 0;
const I_NLINK: usize = 2;
const I_UID: usize = 4;
const I_GID: usize = 8;
const I_FLAGS: usize = 12;
const I_SIZE: usize = 16;
const I_ATIME_SEC: usize = 24;
const I_MTIME_SEC: usize = 32;
const I_CTIME_SEC: usize = 40;
const I_ATIME_NSEC: usize = 48;
const I_MTIME_NSEC: usize = 52;
const I_CTIME_NSEC: usize = 56;
const I_BLOCKS: usize = 60;
const I_DIRECT: usize = 64;
const I_SINGLE_INDIRECT: usize = 112;
const I_DOUBLE_INDIRECT: usize = 116;
const I_RESERVED: core::ops::Range<usize> = 120..128;

/// Reads the little-endian `u16` at `at`.
pub(crate) fn get_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Reads the little-endian `u32` at `at`.
pub(crate) fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads the little-endian `u64` at `at`.
fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from(get_u32(bytes, at)) | (u64::from(get_u32(bytes, at + 4)) << 32)
}

/// Writes `value` little-endian at `at`.
pub(crate) fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// Writes `value` little-endian at `at`.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Writes `value` little-endian at `at`.
fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// CRC-32C (Castagnoli, reflected), initial value all ones, result
/// inverted: the superblock checksum.  Bitwise, because it covers 124
/// bytes on mount and on the rare superblock writes only.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The layout of a filesystem, computed from its three sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// `B`.
    pub(crate) block_size: u32,
    /// Blocks of the filesystem.
    pub(crate) block_count: u32,
    /// Inodes of the inode table.
    pub(crate) inode_count: u32,
    /// Blocks of the bitmap, from block 1.
    pub(crate) bitmap_blocks: u32,
    /// First block of the inode table.
    pub(crate) inode_table_start: u32,
    /// Blocks of the inode table.
    pub(crate) inode_table_blocks: u32,
    /// First block that a pointer may name.
    pub(crate) first_data_block: u32,
}

impl Geometry {
    /// The layout for the sizes, or the rule they break.
    pub(crate) fn new(
        block_size: u32,
        block_count: u32,
        inode_count: u32,
    ) -> Result<Self, &'static str> {
        if !(512..=4096).contains(&block_size) || !block_size.is_power_of_two() {
            return Err("block size is not a power of two in 512..=4096");
        }
        if block_count < 4 {
            return Err("fewer than 4 blocks");
        }
        if inode_count == 0 {
            return Err("inode count is 0");
        }
        let bitmap_blocks = block_count.div_ceil(8 * block_size);
        let table_bytes = u64::from(inode_count) * INODE_SIZE as u64;
        let inode_table_blocks = u32::try_from(table_bytes.div_ceil(u64::from(block_size)))
            .map_err(|_| "inode table too large")?;
        let inode_table_start = 1 + bitmap_blocks;
        let first_data_block = inode_table_start
            .checked_add(inode_table_blocks)
            .ok_or("inode table too large")?;
        if first_data_block >= block_count {
            return Err("inode table leaves no data block");
        }
        Ok(Self {
            block_size,
            block_count,
            inode_count,
            bitmap_blocks,
            inode_table_start,
            inode_table_blocks,
            first_data_block,
        })
    }

    /// `B` as a `usize`.
    pub(crate) fn block_bytes(&self) -> usize {
        self.block_size as usize
    }

    /// `log2(B)`: the block size is a power of two, so byte offsets are
    /// split into blocks with shifts and masks (no division that the
    /// compiler would guard with a panic).
    pub(crate) fn block_shift(&self) -> u32 {
        self.block_size.trailing_zeros()
    }

    /// The file block holding byte `pos`.
    pub(crate) fn block_of(&self, pos: u64) -> u64 {
        pos >> self.block_shift()
    }

    /// The offset of byte `pos` in its block.
    pub(crate) fn offset_in_block(&self, pos: u64) -> u64 {
        pos & (u64::from(self.block_size) - 1)
    }

    /// Blocks needed for `bytes` bytes.
    pub(crate) fn blocks_for(&self, bytes: u64) -> u64 {
        self.block_of(bytes + u64::from(self.block_size) - 1)
    }

    /// `log2(8 * B)`: the blocks one bitmap block covers.
    pub(crate) fn bitmap_shift(&self) -> u32 {
        self.block_shift() + 3
    }

    /// `log2(P)`.
    fn pointers_shift(&self) -> u32 {
        self.block_shift() - 2
    }

    /// `P`: block pointers in an indirect block.
    pub(crate) fn pointers_per_block(&self) -> u64 {
        1 << self.pointers_shift()
    }

    /// File blocks the block map can address.
    pub(crate) fn max_file_blocks(&self) -> u64 {
        let p = self.pointers_per_block();
        DIRECT_POINTERS as u64 + p + p * p
    }

    /// Largest file size in bytes.
    pub(crate) fn max_file_size(&self) -> u64 {
        self.max_file_blocks() * u64::from(self.block_size)
    }

    /// Whether a nonzero pointer names a data block.
    pub(crate) fn is_data_block(&self, block: u32) -> bool {
        (self.first_data_block..self.block_count).contains(&block)
    }

    /// Data blocks of the filesystem (the most that can be free).
    pub(crate) fn data_blocks(&self) -> u32 {
        self.block_count - self.first_data_block
    }

    /// Block and byte offset of inode `ino` (1-based) in the inode table.
    pub(crate) fn inode_location(&self, ino: u32) -> (u32, usize) {
        let byte = u64::from(ino - 1) * INODE_SIZE as u64;
        // CAST: the table has fewer than 2^32 blocks (checked in `new`)
        // and an offset in a block is below 4096.
        (
            self.inode_table_start + self.block_of(byte) as u32,
            self.offset_in_block(byte) as usize,
        )
    }
}

/// The superblock's fields that change while mounted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Superblock {
    /// Layout.
    pub(crate) geometry: Geometry,
    /// Free data blocks, exact when clean.
    pub(crate) free_blocks: u32,
    /// Free inodes, exact when clean.
    pub(crate) free_inodes: u32,
    /// `STATE_CLEAN` or `STATE_DIRTY`.
    pub(crate) state: u32,
}

/// Decodes and validates the first `SUPERBLOCK_SIZE` bytes of the device,
/// or names the rule of "What a reader must reject" that they break.
pub(crate) fn parse_superblock(raw: &[u8]) -> Result<Superblock, &'static str> {
    if raw.len() < SUPERBLOCK_SIZE {
        return Err("short superblock");
    }
    if get_u32(raw, SB_MAGIC) != MAGIC {
        return Err("bad magic");
    }
    if get_u32(raw, SB_VERSION) != VERSION {
        return Err("unknown version");
    }
    if get_u32(raw, SB_CHECKSUM) != crc32c(&raw[..CHECKSUMMED]) {
        return Err("bad checksum");
    }
    let geometry = Geometry::new(
        get_u32(raw, SB_BLOCK_SIZE),
        get_u32(raw, SB_BLOCK_COUNT),
        get_u32(raw, SB_INODE_COUNT),
    )?;
    let layout = [
        (SB_BITMAP_START, 1),
        (SB_BITMAP_BLOCKS, geometry.bitmap_blocks),
        (SB_INODE_TABLE_START, geometry.inode_table_start),
        (SB_INODE_TABLE_BLOCKS, geometry.inode_table_blocks),
        (SB_FIRST_DATA_BLOCK, geometry.first_data_block),
        (SB_ROOT_INO, ROOT_INO),
        (SB_INODE_SIZE, INODE_SIZE as u32),
    ];
    if layout.iter().any(|&(at, value)| get_u32(raw, at) != value) {
        return Err("layout field differs from its computed value");
    }
    let state = get_u32(raw, SB_STATE);
    if state != STATE_CLEAN && state != STATE_DIRTY {
        return Err("state is neither clean nor dirty");
    }
    let free_blocks = get_u32(raw, SB_FREE_BLOCKS);
    let free_inodes = get_u32(raw, SB_FREE_INODES);
    // The root directory holds one inode and one data block.
    if free_blocks >= geometry.data_blocks() || free_inodes >= geometry.inode_count {
        return Err("free count larger than what can be free");
    }
    if raw[SB_RESERVED].iter().any(|&byte| byte != 0) {
        return Err("nonzero reserved bytes");
    }
    Ok(Superblock {
        geometry,
        free_blocks,
        free_inodes,
        state,
    })
}

/// Rewrites the free counts and the state of the superblock at the start
/// of `raw`, and its checksum.
pub(crate) fn update_superblock(raw: &mut [u8], free_blocks: u32, free_inodes: u32, state: u32) {
    put_u32(raw, SB_FREE_BLOCKS, free_blocks);
    put_u32(raw, SB_FREE_INODES, free_inodes);
    put_u32(raw, SB_STATE, state);
    let checksum = crc32c(&raw[..CHECKSUMMED]);
    put_u32(raw, SB_CHECKSUM, checksum);
}

/// The attributes of an inode, as the VFS inode holds them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InodeAttrs {
    /// Type and permissions.
    pub(crate) mode: u16,
    /// Links.
    pub(crate) nlink: u16,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Bytes.
    pub(crate) size: u64,
    /// Access time, seconds and nanoseconds.
    pub(crate) atime: (i64, u32),
    /// Modification time.
    pub(crate) mtime: (i64, u32),
    /// Change time.
    pub(crate) ctime: (i64, u32),
    /// Blocks allocated, in units of `B`.
    pub(crate) blocks: u32,
}

/// Decodes an in-use inode's attributes, or names the rule it breaks.
pub(crate) fn parse_inode(raw: &[u8], geometry: &Geometry) -> Result<InodeAttrs, &'static str> {
    let mode = get_u16(raw, I_MODE);
    let kind = mode & S_IFMT;
    if kind != S_IFREG && kind != S_IFDIR {
        return Err("mode is neither a regular file nor a directory");
    }
    if get_u32(raw, I_FLAGS) != 0 || raw[I_RESERVED].iter().any(|&byte| byte != 0) {
        return Err("nonzero flags or reserved bytes");
    }
    let nsec = |at| {
        let value = get_u32(raw, at);
        if value >= 1_000_000_000 {
            Err("nanoseconds of a billion or more")
        } else {
            Ok(value)
        }
    };
    let attrs = InodeAttrs {
        mode,
        nlink: get_u16(raw, I_NLINK),
        uid: get_u32(raw, I_UID),
        gid: get_u32(raw, I_GID),
        size: get_u64(raw, I_SIZE),
        // CAST: the seconds fields are signed.
        atime: (get_u64(raw, I_ATIME_SEC) as i64, nsec(I_ATIME_NSEC)?),
        mtime: (get_u64(raw, I_MTIME_SEC) as i64, nsec(I_MTIME_NSEC)?),
        ctime: (get_u64(raw, I_CTIME_SEC) as i64, nsec(I_CTIME_NSEC)?),
        blocks: get_u32(raw, I_BLOCKS),
    };
    // An in-use inode that a directory entry leads to has a link (a
    // directory two: its entry and its "."): with none, eviction would
    // free an inode that is still named, and `drop_nlink` would warn.
    let min_links = if kind == S_IFDIR { 2 } else { 1 };
    if attrs.nlink < min_links {
        return Err("link count below 1 (2 for a directory)");
    }
    if attrs.blocks > geometry.data_blocks() {
        return Err("blocks count larger than the data blocks");
    }
    if attrs.size > geometry.max_file_size() {
        return Err("size larger than the block map can address");
    }
    if kind == S_IFDIR && (attrs.size == 0 || geometry.offset_in_block(attrs.size) != 0) {
        return Err("directory size is 0 or not a multiple of the block size");
    }
    Ok(attrs)
}

/// Writes the attributes into `raw`, leaving the block map and the blocks
/// count (which the allocator keeps on disk) as they are.
pub(crate) fn encode_inode_attrs(raw: &mut [u8], attrs: &InodeAttrs) {
    put_u16(raw, I_MODE, attrs.mode);
    put_u16(raw, I_NLINK, attrs.nlink);
    put_u32(raw, I_UID, attrs.uid);
    put_u32(raw, I_GID, attrs.gid);
    put_u64(raw, I_SIZE, attrs.size);
    // CAST: the seconds fields are signed, stored as their bits.
    put_u64(raw, I_ATIME_SEC, attrs.atime.0 as u64);
    put_u64(raw, I_MTIME_SEC, attrs.mtime.0 as u64);
    put_u64(raw, I_CTIME_SEC, attrs.ctime.0 as u64);
    put_u32(raw, I_ATIME_NSEC, attrs.atime.1);
    put_u32(raw, I_MTIME_NSEC, attrs.mtime.1);
    put_u32(raw, I_CTIME_NSEC, attrs.ctime.1);
}

/// Sets the size of an inode.
pub(crate) fn set_inode_size(raw: &mut [u8], size: u64) {
    put_u64(raw, I_SIZE, size);
}

/// The blocks count of an inode.
pub(crate) fn inode_blocks(raw: &[u8]) -> u32 {
    get_u32(raw, I_BLOCKS)
}

/// Sets the blocks count of an inode.
pub(crate) fn set_inode_blocks(raw: &mut [u8], blocks: u32) {
    put_u32(raw, I_BLOCKS, blocks);
}

/// Where a pointer of the inode itself lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InodePointer {
    /// `direct[n]`.
    Direct(usize),
    /// `single_indirect`.
    SingleIndirect,
    /// `double_indirect`.
    DoubleIndirect,
}

impl InodePointer {
    /// Byte offset of the pointer in the inode.
    pub(crate) fn offset(self) -> usize {
        match self {
            InodePointer::Direct(n) => I_DIRECT + 4 * n,
            InodePointer::SingleIndirect => I_SINGLE_INDIRECT,
            InodePointer::DoubleIndirect => I_DOUBLE_INDIRECT,
        }
    }
}

/// The path from the inode to the pointer of a file block: the inode's
/// pointer, then the entries to follow in up to two indirect blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapPath {
    /// The pointer in the inode.
    pub(crate) root: InodePointer,
    /// Entries in the indirect blocks, outermost first; `depth` of them.
    pub(crate) entries: [usize; 2],
    /// Indirect blocks to go through: 0, 1 or 2.
    pub(crate) depth: usize,
}

/// The map path of file block `n`, or `None` past the largest file.
pub(crate) fn map_path(geometry: &Geometry, n: u64) -> Option<MapPath> {
    let p = geometry.pointers_per_block();
    // CAST: every index below is smaller than `P` <= 1024 or 12.
    if n < DIRECT_POINTERS as u64 {
        return Some(MapPath {
            root: InodePointer::Direct(n as usize),
            entries: [0, 0],
            depth: 0,
        });
    }
    let n = n - DIRECT_POINTERS as u64;
    if n < p {
        return Some(MapPath {
            root: InodePointer::SingleIndirect,
            entries: [n as usize, 0],
            depth: 1,
        });
    }
    let m = n - p;
    if m < p * p {
        return Some(MapPath {
            root: InodePointer::DoubleIndirect,
            entries: [
                (m >> geometry.pointers_shift()) as usize,
                (m & (p - 1)) as usize,
            ],
            depth: 2,
        });
    }
    None
}

/// One directory entry as found in a block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DirEntry<'a> {
    /// Offset of the entry in its block.
    pub(crate) offset: usize,
    /// Inode named, 0 for an unused entry.
    pub(crate) ino: u32,
    /// Bytes to the next entry.
    pub(crate) rec_len: usize,
    /// The `file_type` byte.
    pub(crate) file_type: u8,
    /// The name.
    pub(crate) name: &'a [u8],
}

/// Smallest `rec_len` for a name of `name_len` bytes.
pub(crate) fn entry_size(name_len: usize) -> usize {
    (DIRENT_HEADER_SIZE + name_len).next_multiple_of(4)
}

/// The entries of a directory block, checked as they are walked; an
/// `Err` names the broken rule and ends the walk.
pub(crate) struct DirEntries<'a> {
    block: &'a [u8],
    offset: usize,
    broken: bool,
}

impl<'a> DirEntries<'a> {
    /// Walks `block` from offset 0.
    pub(crate) fn new(block: &'a [u8]) -> Self {
        Self {
            block,
            offset: 0,
            broken: false,
        }
    }

    /// Decodes the entry at `offset`.
    fn entry_at(&self, offset: usize) -> Result<DirEntry<'a>, &'static str> {
        let block = self.block;
        if offset + DIRENT_HEADER_SIZE > block.len() {
            return Err("directory entry header past the end of the block");
        }
        let ino = get_u32(block, offset);
        let rec_len = usize::from(get_u16(block, offset + 4));
        let name_len = usize::from(block[offset + 6]);
        if rec_len % 4 != 0 || offset + rec_len > block.len() {
            return Err("rec_len unaligned or past the end of the block");
        }
        let name: &[u8] = if ino == 0 {
            &[]
        } else {
            if rec_len < entry_size(name_len) || name_len == 0 {
                return Err("rec_len too small for the name");
            }
            &block[offset + DIRENT_HEADER_SIZE..offset + DIRENT_HEADER_SIZE + name_len]
        };
        if rec_len < DIRENT_HEADER_SIZE {
            return Err("rec_len too small for the name");
        }
        if name.iter().any(|&byte| byte == b'/' || byte == 0) {
            return Err("name contains '/' or NUL");
        }
        Ok(DirEntry {
            offset,
            ino,
            rec_len,
            file_type: block[offset + 7],
            name,
        })
    }
}

impl<'a> Iterator for DirEntries<'a> {
    type Item = Result<DirEntry<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.broken || self.offset >= self.block.len() {
            return None;
        }
        let entry = self.entry_at(self.offset);
        match entry {
            Ok(found) => self.offset += found.rec_len,
            Err(_) => self.broken = true,
        }
        Some(entry)
    }
}

/// Writes an entry header and name at `offset` of a directory block.
pub(crate) fn write_entry(
    block: &mut [u8],
    offset: usize,
    ino: u32,
    rec_len: usize,
    file_type: u8,
    name: &[u8],
) {
    put_u32(block, offset, ino);
    // CAST: rec_len is at most a block, 4096.
    put_u16(block, offset + 4, rec_len as u16);
    // CAST: names are at most 255 bytes (checked by the caller).
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = file_type;
    block[offset + DIRENT_HEADER_SIZE..offset + DIRENT_HEADER_SIZE + name.len()]
        .copy_from_slice(name);
}

/// Sets the `rec_len` of the entry at `offset`.
pub(crate) fn set_rec_len(block: &mut [u8], offset: usize, rec_len: usize) {
    // CAST: rec_len is at most a block, 4096.
    put_u16(block, offset + 4, rec_len as u16);
}

/// Marks the entry at `offset` unused.
pub(crate) fn clear_entry_ino(block: &mut [u8], offset: usize) {
    put_u32(block, offset, 0);
}
