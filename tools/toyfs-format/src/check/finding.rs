// SPDX-License-Identifier: GPL-2.0
//! Everything fsck can find wrong, each with what it needs to be located.

use std::fmt;

use crate::block_map::PointerSite;
use crate::block_walk::PointerFault;
use crate::compressed::CompressedError;
use crate::dirent::{DirBlockError, NameError};
use crate::inode::{FileType, InodeProblem};
use crate::superblock::SuperblockError;

/// A name as stored, for messages: UTF-8 where it is, escapes elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryName(pub Vec<u8>);

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// One inconsistency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The device is too short to hold a superblock.
    NoSuperblock {
        /// Bytes of the device.
        device_bytes: u64,
    },
    /// The superblock is invalid; nothing else can be checked.
    Superblock(SuperblockError),
    /// The device is shorter than the filesystem; nothing else is checked.
    ImageTruncated {
        /// Bytes of the device.
        device_bytes: u64,
        /// Bytes the superblock says the filesystem has.
        filesystem_bytes: u64,
    },
    /// A superblock, bitmap or inode-table block is marked free.
    MetadataBlockFree {
        /// The block.
        block: u32,
    },
    /// A bitmap bit past the last block is 0.
    BitmapPaddingClear {
        /// The bit.
        bit: u64,
    },
    /// A block an inode uses is marked free.
    BlockInUseButFree {
        /// The block.
        block: u32,
        /// The inode using it.
        ino: u32,
    },
    /// A block marked in use that no inode uses (leaked).
    BlockMarkedButUnused {
        /// The block.
        block: u32,
    },
    /// The superblock's free block count differs from the bitmap's.
    FreeBlockCount {
        /// In the superblock.
        stored: u32,
        /// Zero bits in the bitmap.
        actual: u32,
    },
    /// The superblock's free inode count differs from the inode table's.
    FreeInodeCount {
        /// In the superblock.
        stored: u32,
        /// Inodes with mode 0.
        actual: u32,
    },
    /// A free inode (mode 0) with other nonzero bytes (but for a
    /// generation kept with the GENERATIONS feature).
    FreeInodeNotZeroed {
        /// The inode.
        ino: u32,
    },
    /// The root inode is free.
    RootFree,
    /// The root inode is not a directory.
    RootNotDirectory {
        /// Its mode.
        mode: u16,
    },
    /// A bad field of an in-use inode.
    InodeField {
        /// The inode.
        ino: u32,
        /// The field and what is wrong with it.
        problem: InodeProblem,
    },
    /// A block pointer that is out of range, into metadata or a loop.
    BadPointer(PointerFault),
    /// A block used twice, by the same inode or by two.
    DoubleReference {
        /// The block.
        block: u32,
        /// The inode that used it first.
        first_ino: u32,
        /// The inode using it again.
        ino: u32,
        /// Where the second pointer is.
        site: PointerSite,
    },
    /// A block allocated at or past the end of the file: without the
    /// PREALLOC feature any, with it one that is not a regular file's
    /// whole plain data block (or an indirect block holding such).
    BlockPastEof {
        /// The inode.
        ino: u32,
        /// Where the pointer is.
        site: PointerSite,
        /// The block.
        block: u32,
        /// First file block it holds or covers.
        file_block: u64,
        /// The file size.
        size: u64,
    },
    /// A nonzero byte past EOF in a regular file's last block, or in a
    /// block preallocated past it (PREALLOC): what a later extension of
    /// the file would expose.
    TailNotZero {
        /// The inode.
        ino: u32,
        /// The last block.
        block: u32,
        /// File offset of the first nonzero byte past EOF.
        offset: u64,
    },
    /// A symbolic link's target holds a NUL byte (or a hole, which reads
    /// as one) below its size.
    SymlinkTargetNul {
        /// The symbolic link.
        ino: u32,
        /// The first such byte.
        offset: u64,
    },
    /// The inode's `blocks` differs from the blocks its map holds.
    BlockCount {
        /// The inode.
        ino: u32,
        /// In the inode.
        stored: u32,
        /// Data and indirect blocks found.
        actual: u32,
    },
    /// A directory block below the directory's size that is a hole.
    DirectoryHole {
        /// The directory.
        ino: u32,
        /// The missing file block.
        file_block: u64,
    },
    /// A directory block whose entries do not chain.
    BrokenDirectoryBlock {
        /// The directory.
        dir: u32,
        /// Its block index.
        file_block: u64,
        /// Where and how.
        error: DirBlockError,
    },
    /// "." or ".." missing, misnamed or naming the wrong inode.
    DotEntry {
        /// The directory.
        dir: u32,
        /// "." or "..".
        which: &'static str,
        /// The name in that position, if there is an entry.
        found_name: Option<EntryName>,
        /// The inode it names.
        found_ino: u32,
        /// The inode it must name.
        expected_ino: u32,
    },
    /// An entry whose name is not allowed.
    BadEntryName {
        /// The directory.
        dir: u32,
        /// The name.
        name: EntryName,
        /// Why.
        error: NameError,
    },
    /// Two entries of one directory with the same name.
    DuplicateName {
        /// The directory.
        dir: u32,
        /// The name.
        name: EntryName,
    },
    /// An entry naming an inode number outside `1..=inode_count`.
    EntryOutOfRange {
        /// The directory.
        dir: u32,
        /// The name.
        name: EntryName,
        /// The inode number.
        ino: u32,
    },
    /// An entry naming a free inode.
    EntryNamesFreeInode {
        /// The directory.
        dir: u32,
        /// The name.
        name: EntryName,
        /// The inode.
        ino: u32,
    },
    /// An entry whose `file_type` differs from the inode's type.
    FileTypeMismatch {
        /// The directory.
        dir: u32,
        /// The name.
        name: EntryName,
        /// The inode.
        ino: u32,
        /// The entry's `file_type` byte.
        entry_type: u8,
        /// The inode's type, if it has a valid one.
        inode_type: Option<FileType>,
    },
    /// A directory named by entries in more than one place.
    DirectoryLinkedTwice {
        /// The directory.
        ino: u32,
        /// The directory holding the first entry.
        first_parent: u32,
        /// The directory holding another.
        other_parent: u32,
    },
    /// An entry (other than "." and "..") naming the root.
    RootLinked {
        /// The directory holding it.
        dir: u32,
        /// The name.
        name: EntryName,
    },
    /// An in-use inode with no link that no entry names: what a crash
    /// leaves of a file unlinked while open, or of an `O_TMPFILE` file
    /// never linked (toyfs, as ext2, keeps no list of them).  Nothing a
    /// path reached is lost; its inode and blocks are not free until a
    /// repair frees them.
    Orphan {
        /// The inode.
        ino: u32,
    },
    /// An in-use inode that no path from the root reaches, other than an
    /// [`Finding::Orphan`]: one that still counts links, or is named only
    /// in directories cut off from the root (damage: names were lost).
    Unreachable {
        /// The inode.
        ino: u32,
        /// Entries naming it (all in unreachable directories, if any).
        references: u32,
    },
    /// nlink differs from the entries naming the inode.
    LinkCount {
        /// The inode.
        ino: u32,
        /// In the inode.
        stored: u16,
        /// Entries counted: names for a file; 2 + subdirectories for a directory.
        counted: u32,
    },
    /// A fragment named by two pointers (of two inodes, or one twice).
    FragmentOwnedTwice {
        /// The fragment.
        fragment: u32,
        /// The inode that named it first.
        first_ino: u32,
        /// The inode naming it again.
        ino: u32,
        /// Where the second pointer is.
        site: PointerSite,
    },
    /// A fragment in use by an inode but free in the bitmap.
    FragmentInUseButFree {
        /// The fragment.
        fragment: u32,
        /// The inode using it.
        ino: u32,
    },
    /// A fragment marked in use that no inode uses (lost).
    FragmentLost {
        /// The fragment.
        fragment: u32,
    },
    /// A plain block before a file's last that is not a whole block.
    PartialBlockBeforeEnd {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// Fragments of its run.
        count: u32,
    },
    /// A plain last block in more or fewer fragments than its bytes need.
    TailNotFewest {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// Fragments of its run.
        count: u32,
        /// Fragments its bytes below the size need.
        fewest: u32,
    },
    /// A compressed block whose header is wrong, or whose data does not
    /// decompress to its length.
    BadCompressedBlock {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// What is wrong.
        error: CompressedError,
    },
    /// A compressed block of another length than the file's bytes in it.
    CompressedLength {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// The header's `length`.
        length: u16,
        /// Bytes of the file in that block.
        expected: u32,
    },
    /// A compressed block in more fragments than its data needs, or in
    /// no fewer than the plain block would take.
    CompressedNotFewest {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
        /// Fragments of its run.
        count: u32,
        /// Fragments its compressed data needs.
        fewest: u32,
        /// Fragments the block takes plain.
        plain: u32,
    },
    /// Nonzero bytes after a compressed block's data in its run.
    CompressedPaddingNotZero {
        /// The file.
        ino: u32,
        /// The file block.
        file_block: u64,
    },
    /// A packed tail whose last pointer is a hole, or names no whole
    /// plain block.
    TailNotInBlock {
        /// The file.
        ino: u32,
    },
    /// A tail block also named as another file's block (or as its
    /// indirect block), in part or whole.
    TailBlockOwnedTwice {
        /// The tail block.
        block: u32,
        /// The inode whose pointer names it as a block of its own.
        owner: u32,
        /// An inode whose tail is packed in it.
        ino: u32,
    },
    /// A tail block whose header is not one.
    BadTailBlock {
        /// The tail block.
        block: u32,
        /// What is wrong.
        error: crate::tail_block::TailBlockError,
    },
    /// A tail block whose count of tails is not the number of inodes
    /// whose tail is packed in it.
    TailCount {
        /// The tail block.
        block: u32,
        /// The header's count.
        stored: u32,
        /// The inodes found.
        actual: u32,
    },
    /// Two packed tails that share bytes of their tail block.
    TailsOverlap {
        /// The tail block.
        block: u32,
        /// The tail lower in the block.
        first_ino: u32,
        /// The tail that starts inside it.
        ino: u32,
    },
    /// A packed tail its tail block cannot give back: a compressed one
    /// (PACKED_LZ4) whose header breaks a rule, whose `length` is not the
    /// file's, which is not smaller than plain, or (`fsck.toyfs -f`)
    /// whose data does not decompress to its length.
    BadPackedTail {
        /// The tail block.
        block: u32,
        /// The file.
        ino: u32,
        /// What is wrong.
        error: crate::tail_block::TailError,
    },
}

impl Finding {
    /// Whether checking had to stop at this finding.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::NoSuperblock { .. } | Self::Superblock(_) | Self::ImageTruncated { .. }
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuperblock { device_bytes } => write!(
                f,
                "the device holds only {device_bytes} bytes, too few for a superblock"
            ),
            Self::Superblock(error) => write!(f, "{error}"),
            Self::ImageTruncated {
                device_bytes,
                filesystem_bytes,
            } => write!(
                f,
                "the device holds {device_bytes} bytes but the superblock describes {filesystem_bytes}"
            ),
            Self::MetadataBlockFree { block } => {
                write!(f, "metadata block {block} is marked free in the bitmap")
            }
            Self::BitmapPaddingClear { bit } => write!(
                f,
                "bitmap bit {bit}, past the last block, is 0 (padding must be 1)"
            ),
            Self::BlockInUseButFree { block, ino } => {
                write!(f, "block {block} is used by inode {ino} but marked free")
            }
            Self::BlockMarkedButUnused { block } => {
                write!(f, "block {block} is marked in use but no inode uses it")
            }
            Self::FreeBlockCount { stored, actual } => write!(
                f,
                "superblock free_blocks is {stored}, the bitmap has {actual} free"
            ),
            Self::FreeInodeCount { stored, actual } => write!(
                f,
                "superblock free_inodes is {stored}, the inode table has {actual} free"
            ),
            Self::FreeInodeNotZeroed { ino } => {
                write!(
                    f,
                    "inode {ino} is free (mode 0) but not all zero (a generation aside)"
                )
            }
            Self::RootFree => write!(f, "root inode 1 is free"),
            Self::RootNotDirectory { mode } => {
                write!(f, "root inode 1 has mode {mode:#o}, not a directory")
            }
            Self::InodeField { ino, problem } => write!(f, "inode {ino}: {problem}"),
            Self::BadPointer(fault) => write!(f, "{fault}"),
            Self::DoubleReference {
                block,
                first_ino,
                ino,
                site,
            } => write!(
                f,
                "block {block} at inode {ino} {site} is already used by inode {first_ino}"
            ),
            Self::BlockPastEof {
                ino,
                site,
                block,
                file_block,
                size,
            } => write!(
                f,
                "inode {ino} {site} = {block} holds file block {file_block}, at or past the end of the file (size {size})"
            ),
            Self::TailNotZero { ino, block, offset } => write!(
                f,
                "inode {ino} block {block}: byte at file offset {offset}, past the end of the file, is not zero"
            ),
            Self::BlockCount {
                ino,
                stored,
                actual,
            } => write!(f, "inode {ino} says {stored} blocks, its map holds {actual}"),
            Self::SymlinkTargetNul { ino, offset } => write!(
                f,
                "symbolic link {ino} has a NUL byte (or a hole) at offset {offset} of its target"
            ),
            Self::DirectoryHole { ino, file_block } => {
                write!(f, "directory {ino} has a hole at block {file_block}")
            }
            Self::BrokenDirectoryBlock {
                dir,
                file_block,
                error,
            } => write!(f, "directory {dir} block {file_block}: {error}"),
            Self::DotEntry {
                dir,
                which,
                found_name: Some(name),
                found_ino,
                expected_ino,
            } => write!(
                f,
                "directory {dir}: the \"{which}\" position holds {name} -> {found_ino}, expected \"{which}\" -> {expected_ino}"
            ),
            Self::DotEntry {
                dir,
                which,
                found_name: None,
                expected_ino,
                ..
            } => write!(
                f,
                "directory {dir}: no \"{which}\" entry (expected -> {expected_ino})"
            ),
            Self::BadEntryName { dir, name, error } => {
                write!(f, "directory {dir}: entry {name}: {error}")
            }
            Self::DuplicateName { dir, name } => {
                write!(f, "directory {dir}: name {name} appears more than once")
            }
            Self::EntryOutOfRange { dir, name, ino } => write!(
                f,
                "directory {dir}: entry {name} names inode {ino}, out of range"
            ),
            Self::EntryNamesFreeInode { dir, name, ino } => {
                write!(f, "directory {dir}: entry {name} names free inode {ino}")
            }
            Self::FileTypeMismatch {
                dir,
                name,
                ino,
                entry_type,
                inode_type,
            } => write!(
                f,
                "directory {dir}: entry {name} has file_type {entry_type} but inode {ino} is {inode_type:?}"
            ),
            Self::DirectoryLinkedTwice {
                ino,
                first_parent,
                other_parent,
            } => write!(
                f,
                "directory {ino} is named in directory {first_parent} and again in directory {other_parent}"
            ),
            Self::RootLinked { dir, name } => {
                write!(f, "directory {dir}: entry {name} names the root directory")
            }
            Self::Orphan { ino } => write!(
                f,
                "inode {ino} is an orphan: in use with no link and named by no entry (a file unlinked while open, or an O_TMPFILE file, at a crash); its inode and blocks are not free"
            ),
            Self::Unreachable { ino, references } => write!(
                f,
                "inode {ino} is in use but not reachable from the root ({references} entries name it)"
            ),
            Self::LinkCount {
                ino,
                stored,
                counted,
            } => write!(f, "inode {ino} nlink is {stored}, counted {counted}"),
            Self::FragmentOwnedTwice {
                fragment,
                first_ino,
                ino,
                site,
            } => write!(
                f,
                "fragment {fragment} at inode {ino} {site} is already owned by inode {first_ino}"
            ),
            Self::FragmentInUseButFree { fragment, ino } => {
                write!(f, "fragment {fragment} is owned by inode {ino} but marked free")
            }
            Self::FragmentLost { fragment } => write!(
                f,
                "fragment {fragment} is marked in use but no inode owns it (lost)"
            ),
            Self::PartialBlockBeforeEnd {
                ino,
                file_block,
                count,
            } => write!(
                f,
                "inode {ino} file block {file_block} is stored plain in {count} fragments, but only the last block may be partial"
            ),
            Self::TailNotInBlock { ino } => write!(
                f,
                "inode {ino} has a packed tail, and its last pointer names no whole plain block"
            ),
            Self::TailBlockOwnedTwice { block, owner, ino } => write!(
                f,
                "tail block {block} of inode {ino}'s packed tail is also named by inode {owner}"
            ),
            Self::BadTailBlock { block, error } => write!(f, "tail block {block}: {}", error.rule()),
            Self::TailCount {
                block,
                stored,
                actual,
            } => write!(
                f,
                "tail block {block} says {stored} tails, {actual} inodes have their tail in it"
            ),
            Self::TailsOverlap {
                block,
                first_ino,
                ino,
            } => write!(
                f,
                "tail block {block}: the packed tails of inodes {first_ino} and {ino} overlap"
            ),
            Self::BadPackedTail { block, ino, error } => {
                write!(f, "tail block {block}: inode {ino}'s packed tail: {}", error.rule())?;
                match error {
                    crate::tail_block::TailError::Length { length, expected } => write!(
                        f,
                        " (length {length}, the file has {expected} bytes in its last block)"
                    ),
                    crate::tail_block::TailError::NotSmaller { stored, plain } => {
                        write!(f, " ({stored} bytes for {plain})")
                    }
                    _ => Ok(()),
                }
            }
            Self::TailNotFewest {
                ino,
                file_block,
                count,
                fewest,
            } => write!(
                f,
                "inode {ino} last block {file_block} is stored in {count} fragments, its bytes need {fewest}"
            ),
            Self::BadCompressedBlock {
                ino,
                file_block,
                error,
            } => {
                write!(f, "inode {ino} file block {file_block}: ")?;
                match error {
                    CompressedError::PastRun {
                        compressed_len,
                        run_len,
                    } => write!(
                        f,
                        "compressed length {compressed_len} does not fit its {run_len}-byte run"
                    ),
                    CompressedError::BadLength { length } => {
                        write!(f, "compressed block decompresses to {length} bytes")
                    }
                    other => f.write_str(other.rule()),
                }
            }
            Self::CompressedLength {
                ino,
                file_block,
                length,
                expected,
            } => write!(
                f,
                "inode {ino} file block {file_block}: compressed block of {length} bytes, the file has {expected} there"
            ),
            Self::CompressedNotFewest {
                ino,
                file_block,
                count,
                fewest,
                plain,
            } => write!(
                f,
                "inode {ino} file block {file_block}: compressed block in {count} fragments, needs {fewest} (plain: {plain})"
            ),
            Self::CompressedPaddingNotZero { ino, file_block } => write!(
                f,
                "inode {ino} file block {file_block}: bytes after the compressed data are not zero"
            ),
        }
    }
}
