// SPDX-License-Identifier: GPL-2.0
//! One inode: 128 bytes in the inode table.
//!
//! ```text
//! offset size field
//!      0    2 mode               POSIX type and permission bits; 0 = free inode
//!      2    2 nlink
//!      4    4 uid
//!      8    4 gid
//!     12    2 flags              FLAG_COMPRESSED (with LZ4, regular files); else 0
//!     14    2 generation         with GENERATIONS, the inode's generation
//!                                (file handles); else zero (the high half
//!                                of a 4-byte flags field before the
//!                                feature)
//!     16    8 size               bytes
//!     24    8 atime_sec          signed seconds since the epoch
//!     32    8 mtime_sec
//!     40    8 ctime_sec
//!     48    4 atime_nsec         0..=999_999_999
//!     52    4 mtime_nsec
//!     56    4 ctime_nsec
//!     60    4 blocks             fragments allocated: data and indirect
//!     64   48 direct[12]         pointers to file blocks 0..12; 0 = hole;
//!                                a device's number in direct[0]
//!    112    4 single_indirect    block of pointers to file blocks 12..12+P
//!    116    4 double_indirect    block of pointers to single-indirect blocks
//!    120    4 triple_indirect    block of pointers to double-indirect blocks
//!                                (LARGE_FILES); else zero
//!    124    4 tail_offset        with PACKED_TAILS, nonzero: the last block
//!                                is a packed tail at this byte offset of
//!                                the block its pointer names (tail_block);
//!                                else zero
//! ```
//!
//! A free inode (mode 0) is 128 zero bytes, but for its generation with
//! the GENERATIONS feature: a freed inode keeps it, so that the next
//! inode of the slot gets the one after ([`next_generation`]) and a file
//! handle of the freed one names no other file.
//!
//! With the SPECIAL_FILES feature an inode may also be a symbolic link, a
//! FIFO, a socket, or a character or block device, as in ext2.  A
//! symbolic link keeps its target as file data, without the NUL (ext2's
//! "slow" symlink): size is the target's length, 1..=[`MAX_SYMLINK_LEN`],
//! and its blocks are those of a regular file of that size.  A device
//! keeps its number in `direct[0]`, in the kernel's `new_encode_dev`
//! encoding ([`encode_dev`]), as ext2 keeps it in `i_block[1]`; a FIFO
//! or socket has 0 there.  None of the four has blocks: size, blocks and
//! every other pointer are 0.

use super::block_map::InodePointer;
use super::constants::{DIRECT_POINTERS, INODE_SIZE};
use super::geometry::Geometry;
use super::le::{get_i64, get_u16, get_u32, get_u64, put_i64, put_u16, put_u32, put_u64};
use super::tail_block::tail_fits;

/// Mask of the file type bits of `mode`.
pub const S_IFMT: u16 = 0o170_000;
/// File type bits of a regular file.
pub const S_IFREG: u16 = 0o100_000;
/// File type bits of a directory.
pub const S_IFDIR: u16 = 0o040_000;
/// File type bits of a symbolic link.
pub const S_IFLNK: u16 = 0o120_000;
/// File type bits of a FIFO.
pub const S_IFIFO: u16 = 0o010_000;
/// File type bits of a socket.
pub const S_IFSOCK: u16 = 0o140_000;
/// File type bits of a character device.
pub const S_IFCHR: u16 = 0o020_000;
/// File type bits of a block device.
pub const S_IFBLK: u16 = 0o060_000;

/// Longest symbolic link target in bytes: `PATH_MAX - 1`, which also fits
/// the one page the kernel reads it into (`page_get_link`).
pub const MAX_SYMLINK_LEN: u64 = 4095;

/// The device number `major:minor` in the kernel's `new_encode_dev`
/// encoding (12-bit major, 20-bit minor, as `stat` sees them), which a
/// device inode keeps in `direct[0]`.
pub fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

/// `(major, minor)` of a device number in the `new_encode_dev` encoding
/// (the kernel's `new_decode_dev`).
pub fn decode_dev(dev: u32) -> (u32, u32) {
    ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00))
}

/// Inode flag: blocks this file writes are LZ4-compressed when that saves
/// a fragment.  The value of `FS_COMPR_FL`, which `chattr +c` sets.
pub const FLAG_COMPRESSED: u32 = 0x4;

/// The file types version 1 stores: regular files and directories, and
/// with the SPECIAL_FILES feature the other five.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// `S_IFREG`.
    Regular,
    /// `S_IFDIR`.
    Directory,
    /// `S_IFLNK`: the target is the file's data.
    Symlink,
    /// `S_IFIFO`.
    Fifo,
    /// `S_IFSOCK`.
    Socket,
    /// `S_IFCHR`: the device number in `direct[0]`.
    CharDevice,
    /// `S_IFBLK`: the device number in `direct[0]`.
    BlockDevice,
}

impl FileType {
    /// The type encoded in `mode`, if it is one toyfs stores.
    pub fn from_mode(mode: u16) -> Option<Self> {
        match mode & S_IFMT {
            S_IFREG => Some(Self::Regular),
            S_IFDIR => Some(Self::Directory),
            S_IFLNK => Some(Self::Symlink),
            S_IFIFO => Some(Self::Fifo),
            S_IFSOCK => Some(Self::Socket),
            S_IFCHR => Some(Self::CharDevice),
            S_IFBLK => Some(Self::BlockDevice),
            _ => None,
        }
    }

    /// The `S_IF*` bits of this type.
    pub fn mode_bits(self) -> u16 {
        match self {
            Self::Regular => S_IFREG,
            Self::Directory => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
        }
    }

    /// Whether an inode of this type may exist only with the
    /// SPECIAL_FILES feature: all but regular files and directories.
    pub fn needs_special_files(self) -> bool {
        !matches!(self, Self::Regular | Self::Directory)
    }

    /// Whether an inode of this type has no data blocks at all: a FIFO,
    /// socket or device (its size, blocks and pointers are 0, but a
    /// device's number in `direct[0]`).
    pub fn is_special(self) -> bool {
        matches!(
            self,
            Self::Fifo | Self::Socket | Self::CharDevice | Self::BlockDevice
        )
    }

    /// Whether an inode of this type keeps a device number in `direct[0]`.
    pub fn is_device(self) -> bool {
        matches!(self, Self::CharDevice | Self::BlockDevice)
    }
}

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds, negative before 1970.
    pub sec: i64,
    /// Nanoseconds, below one billion in a valid inode.
    pub nsec: u32,
}

/// A decoded inode.  Decoding never fails; [`Inode::field_problems`] validates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits; 0 for a free inode.
    pub mode: u16,
    /// Directory entries naming it (plus "." and subdirectories' ".." for a directory).
    pub nlink: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// [`FLAG_COMPRESSED`] or 0 (stored in 16 bits).
    pub flags: u32,
    /// With the GENERATIONS feature, the number the kernel gave the inode
    /// when it allocated it, which file handles carry; 0 for inodes made
    /// by mkfs, and without the feature.
    pub generation: u16,
    /// Length in bytes.
    pub size: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last data change.
    pub mtime: Timestamp,
    /// Last inode change.
    pub ctime: Timestamp,
    /// Fragments allocated to the file, data and indirect blocks (blocks
    /// without the FRAGMENTS feature).
    pub blocks: u32,
    /// Blocks of file blocks 0..12; 0 is a hole.
    pub direct: [u32; DIRECT_POINTERS],
    /// Block of pointers to the next `block_size / 4` file blocks; 0 is a hole.
    pub single_indirect: u32,
    /// Block of pointers to single-indirect blocks; 0 is a hole.
    pub double_indirect: u32,
    /// Block of pointers to double-indirect blocks, with LARGE_FILES; 0 is
    /// a hole.
    pub triple_indirect: u32,
    /// With PACKED_TAILS, nonzero: the byte offset of the file's last
    /// block in the tail block its pointer names (`super::tail_block`).
    /// 0 otherwise (the reserved bytes of version 1 before the feature).
    pub tail_offset: u32,
}

/// Something wrong with an inode's own fields (block pointers are checked
/// by the block-map walk, which knows where each one points).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InodeProblem {
    /// A mode with a file type toyfs does not store.
    UnknownFileType {
        /// The mode.
        mode: u16,
    },
    /// A symbolic link or special file in an image without the
    /// SPECIAL_FILES feature.
    SpecialWithoutFeature {
        /// The mode.
        mode: u16,
    },
    /// A FIFO, socket or device with a size, blocks, or a pointer (a
    /// device's `direct[0]` aside).
    SpecialWithBlocks,
    /// A symbolic link whose size is 0 or above [`MAX_SYMLINK_LEN`].
    SymlinkSize {
        /// The size.
        size: u64,
    },
    /// Flags other than [`FLAG_COMPRESSED`], or that flag on a directory
    /// or without the LZ4 feature.
    BadFlags(u32),
    /// A triple-indirect block in an image without the LARGE_FILES
    /// feature.
    TripleWithoutFeature,
    /// Nonzero reserved bytes (a tail offset without PACKED_TAILS).
    ReservedNotZero,
    /// A generation in an image without the GENERATIONS feature.
    GenerationWithoutFeature {
        /// The generation.
        generation: u16,
    },
    /// A tail offset on an inode other than a regular file whose last
    /// block is partial, or one that puts the tail in the tail block's
    /// header or past its end (`super::tail_block::tail_fits`).
    BadTailOffset {
        /// The offset.
        offset: u32,
    },
    /// A nanosecond field of a billion or more.
    NsecOutOfRange {
        /// `atime`, `mtime` or `ctime`.
        field: &'static str,
        /// The value.
        nsec: u32,
    },
    /// A size beyond what the block map can address.
    SizeTooLarge {
        /// The size.
        size: u64,
        /// Largest addressable size.
        maximum: u64,
    },
    /// A directory whose size is not a whole number of fragments (of
    /// blocks without fragments), or is 0.
    DirectorySize {
        /// The size.
        size: u64,
        /// The fragment size (the block size without fragments).
        unit: u32,
    },
    /// A free inode (mode 0) where an in-use one was expected.
    Free,
    /// Fewer links than the entry naming it implies.
    TooFewLinks {
        /// The link count.
        nlink: u16,
        /// 1, or 2 for a directory.
        minimum: u16,
    },
    /// More blocks than the filesystem's data blocks.
    BlocksTooLarge {
        /// The blocks count.
        blocks: u32,
        /// The data blocks.
        maximum: u32,
    },
}

/// The generation the next inode of a slot gets, after an inode of
/// generation `previous` (0 for a slot never used with the GENERATIONS
/// feature): one more, never 0 (mkfs's inodes have 0), so that only
/// after 65,535 inodes more in the same slot does a generation come
/// back.
pub fn next_generation(previous: u16) -> u16 {
    match previous.wrapping_add(1) {
        0 => 1,
        next => next,
    }
}

/// Nanoseconds in a second: the bound of a valid nanosecond field.
pub const NSEC_PER_SEC: u32 = 1_000_000_000;

impl Inode {
    /// Decodes the 128 on-disk bytes.
    pub fn decode(bytes: &[u8; INODE_SIZE]) -> Self {
        let mut direct = [0u32; DIRECT_POINTERS];
        for (index, pointer) in direct.iter_mut().enumerate() {
            *pointer = get_u32(bytes, 64 + 4 * index);
        }
        Self {
            mode: get_u16(bytes, 0),
            nlink: get_u16(bytes, 2),
            uid: get_u32(bytes, 4),
            gid: get_u32(bytes, 8),
            flags: get_u16(bytes, 12).into(),
            generation: get_u16(bytes, 14),
            size: get_u64(bytes, 16),
            atime: Timestamp {
                sec: get_i64(bytes, 24),
                nsec: get_u32(bytes, 48),
            },
            mtime: Timestamp {
                sec: get_i64(bytes, 32),
                nsec: get_u32(bytes, 52),
            },
            ctime: Timestamp {
                sec: get_i64(bytes, 40),
                nsec: get_u32(bytes, 56),
            },
            blocks: get_u32(bytes, 60),
            direct,
            single_indirect: get_u32(bytes, 112),
            double_indirect: get_u32(bytes, 116),
            triple_indirect: get_u32(bytes, 120),
            tail_offset: get_u32(bytes, 124),
        }
    }

    /// Encodes to the 128 on-disk bytes.
    pub fn encode(&self) -> [u8; INODE_SIZE] {
        let mut bytes = [0u8; INODE_SIZE];
        put_u16(&mut bytes, 0, self.mode);
        put_u16(&mut bytes, 2, self.nlink);
        put_u32(&mut bytes, 4, self.uid);
        put_u32(&mut bytes, 8, self.gid);
        // CAST: flags are 16 bits on the disk; a value above (never made:
        // `BadFlags`) keeps its low half.
        put_u16(&mut bytes, 12, self.flags as u16);
        put_u16(&mut bytes, 14, self.generation);
        put_u64(&mut bytes, 16, self.size);
        put_i64(&mut bytes, 24, self.atime.sec);
        put_i64(&mut bytes, 32, self.mtime.sec);
        put_i64(&mut bytes, 40, self.ctime.sec);
        put_u32(&mut bytes, 48, self.atime.nsec);
        put_u32(&mut bytes, 52, self.mtime.nsec);
        put_u32(&mut bytes, 56, self.ctime.nsec);
        put_u32(&mut bytes, 60, self.blocks);
        for (index, pointer) in self.direct.iter().enumerate() {
            put_u32(&mut bytes, 64 + 4 * index, *pointer);
        }
        put_u32(&mut bytes, 112, self.single_indirect);
        put_u32(&mut bytes, 116, self.double_indirect);
        put_u32(&mut bytes, 120, self.triple_indirect);
        put_u32(&mut bytes, 124, self.tail_offset);
        bytes
    }

    /// A new inode of `file_type` with permission bits `permissions`, all
    /// three times `now`, no blocks and size 0.
    pub fn new(file_type: FileType, permissions: u16, now: Timestamp) -> Self {
        Self {
            mode: file_type.mode_bits() | (permissions & !S_IFMT),
            atime: now,
            mtime: now,
            ctime: now,
            ..Self::default()
        }
    }

    /// The inode's own pointer `pointer`.
    pub fn pointer(&self, pointer: InodePointer) -> u32 {
        match pointer {
            InodePointer::Direct(index) => self.direct[index],
            InodePointer::SingleIndirect => self.single_indirect,
            InodePointer::DoubleIndirect => self.double_indirect,
            InodePointer::TripleIndirect => self.triple_indirect,
        }
    }

    /// The inode's own pointer `pointer`, to change.
    pub fn pointer_mut(&mut self, pointer: InodePointer) -> &mut u32 {
        match pointer {
            InodePointer::Direct(index) => &mut self.direct[index],
            InodePointer::SingleIndirect => &mut self.single_indirect,
            InodePointer::DoubleIndirect => &mut self.double_indirect,
            InodePointer::TripleIndirect => &mut self.triple_indirect,
        }
    }

    /// Whether the inode is free (mode 0).
    pub fn is_free(&self) -> bool {
        self.mode == 0
    }

    /// Whether a free inode is as a free inode must be on an image of
    /// `geometry`: 128 zero bytes, but for a generation with the
    /// GENERATIONS feature.
    pub fn is_clean_free(&self, geometry: &Geometry) -> bool {
        let kept = if geometry.has_generations() {
            self.generation
        } else {
            0
        };
        *self
            == Self {
                generation: kept,
                ..Self::default()
            }
    }

    /// The file type, if the mode holds one toyfs stores.
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    /// File blocks that hold bytes below `size`: `ceil(size / block_size)`.
    pub fn blocks_within_size(&self, block_size: u32) -> u64 {
        self.size.div_ceil(u64::from(block_size))
    }

    /// The flags this inode may have in an image of `geometry`.
    pub fn allowed_flags(&self, geometry: &Geometry) -> u32 {
        if geometry.has_compression() && self.file_type() == Some(FileType::Regular) {
            FLAG_COMPRESSED
        } else {
            0
        }
    }

    /// Whether a FIFO, socket or device inode has a size, blocks or
    /// pointers; `device`: `direct[0]` holds its number and is not one.
    fn has_blocks(&self, device: bool) -> bool {
        let first = usize::from(device);
        self.size != 0
            || self.blocks != 0
            || self.direct[first..].iter().any(|&pointer| pointer != 0)
            || self.single_indirect != 0
            || self.double_indirect != 0
            || self.triple_indirect != 0
    }

    /// The device number of a character or block device inode: its
    /// `direct[0]` in the `new_encode_dev` encoding; 0 for other types.
    pub fn rdev(&self) -> u32 {
        match self.file_type() {
            Some(file_type) if file_type.is_device() => self.direct[0],
            _ => 0,
        }
    }

    /// Everything wrong with the fields of an in-use inode, in field order.
    pub fn field_problems(&self, geometry: &Geometry) -> impl Iterator<Item = InodeProblem> {
        let file_type = self.file_type();
        let nsec = |field, time: Timestamp| {
            (time.nsec >= NSEC_PER_SEC).then_some(InodeProblem::NsecOutOfRange {
                field,
                nsec: time.nsec,
            })
        };
        let unit = geometry.fragment_size();
        let special = file_type.is_some_and(FileType::is_special);
        [
            file_type
                .is_none()
                .then_some(InodeProblem::UnknownFileType { mode: self.mode }),
            (file_type.is_some_and(FileType::needs_special_files) && !geometry.has_special_files())
                .then_some(InodeProblem::SpecialWithoutFeature { mode: self.mode }),
            (special && self.has_blocks(file_type.is_some_and(FileType::is_device)))
                .then_some(InodeProblem::SpecialWithBlocks),
            (file_type == Some(FileType::Symlink)
                && (self.size == 0 || self.size > MAX_SYMLINK_LEN))
                .then_some(InodeProblem::SymlinkSize { size: self.size }),
            (self.flags & !self.allowed_flags(geometry) != 0)
                .then_some(InodeProblem::BadFlags(self.flags)),
            (self.generation != 0 && !geometry.has_generations()).then_some(
                InodeProblem::GenerationWithoutFeature {
                    generation: self.generation,
                },
            ),
            nsec("atime", self.atime),
            nsec("mtime", self.mtime),
            nsec("ctime", self.ctime),
            (self.size > geometry.max_file_size()).then_some(InodeProblem::SizeTooLarge {
                size: self.size,
                maximum: geometry.max_file_size(),
            }),
            (file_type == Some(FileType::Directory)
                && (self.size == 0 || self.size & u64::from(unit - 1) != 0))
                .then_some(InodeProblem::DirectorySize {
                    size: self.size,
                    unit,
                }),
            (self.triple_indirect != 0 && !geometry.has_large_files())
                .then_some(InodeProblem::TripleWithoutFeature),
            (self.tail_offset != 0 && !geometry.has_packed_tails())
                .then_some(InodeProblem::ReservedNotZero),
            (self.tail_offset != 0
                && geometry.has_packed_tails()
                && (file_type != Some(FileType::Regular)
                    || !tail_fits(geometry, self.size, self.tail_offset)))
            .then_some(InodeProblem::BadTailOffset {
                offset: self.tail_offset,
            }),
        ]
        .into_iter()
        .flatten()
    }

    /// The first reason a reader that finds the inode through a directory
    /// entry must refuse it: a problem of its fields, a free inode, a link
    /// count below what the entry implies (eviction would free an inode
    /// that is still named), or more blocks than there are.  fsck counts
    /// links and blocks itself; the kernel cannot, so it checks these at
    /// `iget`.
    pub fn reader_problem(&self, geometry: &Geometry) -> Option<InodeProblem> {
        if self.is_free() {
            return Some(InodeProblem::Free);
        }
        if let Some(problem) = self.field_problems(geometry).next() {
            return Some(problem);
        }
        let minimum = if self.file_type() == Some(FileType::Directory) {
            2
        } else {
            1
        };
        if self.nlink < minimum {
            return Some(InodeProblem::TooFewLinks {
                nlink: self.nlink,
                minimum,
            });
        }
        if self.blocks > geometry.data_fragment_count() {
            return Some(InodeProblem::BlocksTooLarge {
                blocks: self.blocks,
                maximum: geometry.data_fragment_count(),
            });
        }
        None
    }
}

impl InodeProblem {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::UnknownFileType { .. } => "mode is not a file type toyfs stores",
            Self::SpecialWithoutFeature { .. } => {
                "symbolic link or special file without the SPECIAL_FILES feature"
            }
            Self::SpecialWithBlocks => "FIFO, socket or device with a size, blocks or pointers",
            Self::SymlinkSize { .. } => "symbolic link of size 0 or above 4095",
            Self::BadFlags(_) => "flags other than compressed on a regular file with LZ4",
            Self::TripleWithoutFeature => "triple-indirect block without the LARGE_FILES feature",
            Self::ReservedNotZero => "nonzero reserved bytes",
            Self::GenerationWithoutFeature { .. } => "generation without the GENERATIONS feature",
            Self::BadTailOffset { .. } => {
                "tail offset not in a regular file's partial last block past the tail header"
            }
            Self::NsecOutOfRange { .. } => "nanoseconds of a billion or more",
            Self::SizeTooLarge { .. } => "size larger than the block map can address",
            Self::DirectorySize { .. } => {
                "directory size is 0 or not a multiple of the fragment (block) size"
            }
            Self::Free => "a directory entry names a free inode",
            Self::TooFewLinks { .. } => "link count below 1 (2 for a directory)",
            Self::BlocksTooLarge { .. } => "blocks count larger than the data blocks",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Inode {
        let mut inode = Inode::new(
            FileType::Regular,
            0o644,
            Timestamp {
                sec: -5,
                nsec: 999_999_999,
            },
        );
        inode.nlink = 3;
        inode.uid = 1000;
        inode.gid = 100;
        inode.size = 0x1_0000_0001;
        inode.mtime.sec = 1_700_000_000;
        inode.ctime.nsec = 7;
        inode.blocks = 9;
        inode.direct = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        inode.single_indirect = 13;
        inode.double_indirect = 14;
        inode
    }

    #[test]
    fn round_trips() {
        let inode = sample();
        assert_eq!(Inode::decode(&inode.encode()), inode);
        let free = Inode::default();
        assert_eq!(free.encode(), [0u8; INODE_SIZE]);
        assert!(Inode::decode(&[0u8; INODE_SIZE]).is_free());
    }

    #[test]
    fn encodes_the_documented_offsets() {
        let bytes = sample().encode();
        assert_eq!(get_u16(&bytes, 0), 0o100_644);
        assert_eq!(get_u16(&bytes, 2), 3);
        assert_eq!(get_u32(&bytes, 4), 1000);
        assert_eq!(get_u32(&bytes, 8), 100);
        assert_eq!(&bytes[16..24], &[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(get_i64(&bytes, 24), -5);
        assert_eq!(get_i64(&bytes, 32), 1_700_000_000);
        assert_eq!(get_u32(&bytes, 48), 999_999_999);
        assert_eq!(get_u32(&bytes, 56), 7);
        assert_eq!(get_u32(&bytes, 60), 9);
        assert_eq!(get_u32(&bytes, 64), 1);
        assert_eq!(get_u32(&bytes, 108), 12);
        assert_eq!(get_u32(&bytes, 112), 13);
        assert_eq!(get_u32(&bytes, 116), 14);
    }

    #[test]
    fn the_generation_is_the_high_half_of_the_old_flags_word() {
        let mut inode = sample();
        inode.flags = FLAG_COMPRESSED;
        inode.generation = 0xbeef;
        let bytes = inode.encode();
        assert_eq!(get_u16(&bytes, 12), 4);
        assert_eq!(get_u16(&bytes, 14), 0xbeef);
        assert_eq!(get_u32(&bytes, 12), 0xbeef_0004);
        assert_eq!(Inode::decode(&bytes), inode);
        // Allowed with GENERATIONS only.
        let plain = Geometry::new(1024, 1024, 64).unwrap();
        let with = plain.with_generations(true);
        inode.flags = 0;
        inode.size = 4096;
        assert_eq!(inode.field_problems(&with).collect::<Vec<_>>(), []);
        assert_eq!(
            inode.field_problems(&plain).collect::<Vec<_>>(),
            [InodeProblem::GenerationWithoutFeature { generation: 0xbeef }]
        );
        inode.generation = 0;
        assert_eq!(inode.field_problems(&plain).collect::<Vec<_>>(), []);
    }

    #[test]
    fn a_slots_next_generation_differs_and_is_never_0() {
        assert_eq!(next_generation(0), 1);
        assert_eq!(next_generation(1), 2);
        assert_eq!(next_generation(0xfffe), 0xffff);
        assert_eq!(next_generation(0xffff), 1);
        let plain = Geometry::new(1024, 1024, 64).unwrap();
        let with = plain.with_generations(true);
        let freed = Inode {
            generation: 7,
            ..Inode::default()
        };
        assert!(freed.is_free());
        assert!(freed.is_clean_free(&with));
        assert!(!freed.is_clean_free(&plain));
        assert!(Inode::default().is_clean_free(&plain));
        let dirty = Inode {
            nlink: 1,
            ..freed.clone()
        };
        assert!(!dirty.is_clean_free(&with));
    }

    #[test]
    fn a_valid_inode_has_no_problems() {
        let geometry = Geometry::new(1024, 1024, 64).unwrap();
        let mut inode = sample();
        inode.atime.nsec = 0;
        inode.size = geometry.max_file_size();
        assert_eq!(inode.field_problems(&geometry).collect::<Vec<_>>(), []);
        let mut directory = Inode::new(FileType::Directory, 0o755, Timestamp::default());
        directory.size = 2048;
        assert_eq!(directory.field_problems(&geometry).collect::<Vec<_>>(), []);
    }

    #[test]
    fn reports_every_bad_field() {
        let geometry = Geometry::new(1024, 1024, 64).unwrap();
        let inode = Inode {
            mode: 0o160_777,
            flags: 4,
            atime: Timestamp {
                sec: 0,
                nsec: 1_000_000_000,
            },
            size: geometry.max_file_size() + 1,
            tail_offset: 1,
            ..Inode::default()
        };
        assert_eq!(
            inode.field_problems(&geometry).collect::<Vec<_>>(),
            [
                InodeProblem::UnknownFileType { mode: 0o160_777 },
                InodeProblem::BadFlags(4),
                InodeProblem::NsecOutOfRange {
                    field: "atime",
                    nsec: 1_000_000_000
                },
                InodeProblem::SizeTooLarge {
                    size: geometry.max_file_size() + 1,
                    maximum: geometry.max_file_size()
                },
                InodeProblem::ReservedNotZero,
            ]
        );
        for size in [0, 1000, 1025] {
            let directory = Inode {
                mode: S_IFDIR | 0o755,
                size,
                ..Inode::default()
            };
            assert_eq!(
                directory.field_problems(&geometry).collect::<Vec<_>>(),
                [InodeProblem::DirectorySize { size, unit: 1024 }]
            );
        }
    }

    #[test]
    fn a_reader_refuses_free_unlinked_and_overfull_inodes() {
        let geometry = Geometry::new(1024, 1024, 64).unwrap();
        assert_eq!(
            Inode::default().reader_problem(&geometry),
            Some(InodeProblem::Free)
        );
        let mut inode = sample();
        inode.atime.nsec = 0;
        inode.size = 0;
        inode.blocks = 0;
        assert_eq!(inode.reader_problem(&geometry), None);
        inode.nlink = 0;
        assert_eq!(
            inode.reader_problem(&geometry),
            Some(InodeProblem::TooFewLinks {
                nlink: 0,
                minimum: 1
            })
        );
        let mut directory = Inode::new(FileType::Directory, 0o755, Timestamp::default());
        directory.size = 1024;
        directory.nlink = 1;
        assert_eq!(
            directory
                .reader_problem(&geometry)
                .map(|problem| problem.rule()),
            Some("link count below 1 (2 for a directory)")
        );
        directory.nlink = 2;
        directory.blocks = geometry.data_block_count() + 1;
        assert!(matches!(
            directory.reader_problem(&geometry),
            Some(InodeProblem::BlocksTooLarge { .. })
        ));
    }

    #[test]
    fn every_type_round_trips_through_its_mode() {
        for file_type in [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::Fifo,
            FileType::Socket,
            FileType::CharDevice,
            FileType::BlockDevice,
        ] {
            let mode = file_type.mode_bits() | 0o644;
            assert_eq!(FileType::from_mode(mode), Some(file_type));
            assert_eq!(
                file_type.needs_special_files(),
                !matches!(file_type, FileType::Regular | FileType::Directory)
            );
        }
        for unknown in [0o000_644, 0o030_000, 0o160_000, 0o170_000] {
            assert_eq!(FileType::from_mode(unknown), None);
        }
    }

    #[test]
    fn device_numbers_use_the_kernels_new_encoding() {
        // `new_encode_dev(MKDEV(1, 3))` is 0x103; MKDEV(259, 0x12345) is
        // 0x12310345 (the low minor byte, the major, the high minor bits).
        assert_eq!(encode_dev(1, 3), 0x103);
        assert_eq!(encode_dev(259, 0x12345), 0x1231_0345);
        for (major, minor) in [(0, 0), (1, 3), (8, 17), (4095, 0xf_ffff), (259, 0x12345)] {
            assert_eq!(decode_dev(encode_dev(major, minor)), (major, minor));
        }
    }

    #[test]
    fn special_files_need_their_feature_and_no_blocks() {
        let plain = Geometry::new(1024, 1024, 64).unwrap();
        let special = plain.with_special_files(true);
        let mut fifo = Inode::new(FileType::Fifo, 0o644, Timestamp::default());
        fifo.nlink = 1;
        assert_eq!(fifo.reader_problem(&special), None);
        assert_eq!(
            fifo.reader_problem(&plain),
            Some(InodeProblem::SpecialWithoutFeature { mode: 0o010_644 })
        );
        fifo.direct[0] = 7;
        assert_eq!(
            fifo.reader_problem(&special),
            Some(InodeProblem::SpecialWithBlocks)
        );
        let mut device = Inode::new(FileType::BlockDevice, 0o600, Timestamp::default());
        device.nlink = 1;
        device.direct[0] = encode_dev(8, 1);
        assert_eq!(device.reader_problem(&special), None);
        assert_eq!(device.rdev(), encode_dev(8, 1));
        for damage in [
            |inode: &mut Inode| inode.size = 1,
            |inode: &mut Inode| inode.blocks = 1,
            |inode: &mut Inode| inode.direct[11] = 1,
            |inode: &mut Inode| inode.single_indirect = 1,
            |inode: &mut Inode| inode.double_indirect = 1,
        ] {
            let mut damaged = device.clone();
            damage(&mut damaged);
            assert_eq!(
                damaged.field_problems(&special).collect::<Vec<_>>(),
                [InodeProblem::SpecialWithBlocks]
            );
        }
        let mut link = Inode::new(FileType::Symlink, 0o777, Timestamp::default());
        link.nlink = 1;
        for (size, ok) in [(0, false), (1, true), (4095, true), (4096, false)] {
            link.size = size;
            assert_eq!(
                link.field_problems(&special).next(),
                (!ok).then_some(InodeProblem::SymlinkSize { size })
            );
        }
        assert_eq!(link.rdev(), 0);
    }

    #[test]
    fn pointers_by_name() {
        let mut inode = sample();
        assert_eq!(inode.pointer(InodePointer::Direct(2)), 3);
        assert_eq!(inode.pointer(InodePointer::SingleIndirect), 13);
        *inode.pointer_mut(InodePointer::DoubleIndirect) = 99;
        assert_eq!(inode.double_indirect, 99);
    }

    #[test]
    fn the_compressed_flag_needs_lz4_and_a_regular_file() {
        use super::super::features::Features;
        let plain = Geometry::new(4096, 1024, 64).unwrap();
        let lz4 = Geometry::with_features(4096, 1024, 64, Features::compressed(512)).unwrap();
        let mut file = Inode::new(FileType::Regular, 0o644, Timestamp::default());
        file.flags = FLAG_COMPRESSED;
        assert_eq!(file.field_problems(&lz4).count(), 0);
        assert_eq!(
            file.field_problems(&plain).collect::<Vec<_>>(),
            [InodeProblem::BadFlags(FLAG_COMPRESSED)]
        );
        file.flags = FLAG_COMPRESSED | 1;
        assert_eq!(
            file.field_problems(&lz4).collect::<Vec<_>>(),
            [InodeProblem::BadFlags(FLAG_COMPRESSED | 1)]
        );
        let mut directory = Inode::new(FileType::Directory, 0o755, Timestamp::default());
        directory.size = 4096;
        directory.flags = FLAG_COMPRESSED;
        assert_eq!(
            directory.field_problems(&lz4).collect::<Vec<_>>(),
            [InodeProblem::BadFlags(FLAG_COMPRESSED)]
        );
    }
}
