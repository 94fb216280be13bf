// SPDX-License-Identifier: GPL-2.0
//! Directory blocks: chains of variable-size entries, as in ext2.
//!
//! ```text
//! offset size field
//!      0    4 ino        0 = unused entry
//!      4    2 rec_len    bytes to the next entry: a multiple of 4,
//!                        at least 8 + name_len, never past the block's end
//!      6    1 name_len   1..=255 (0 allowed only when ino is 0)
//!      7    1 file_type  1 regular, 2 directory, 3 character device,
//!                        4 block device, 5 FIFO, 6 socket, 7 symbolic
//!                        link (ext2's values; 0 when ino is 0)
//!      8    n name       name_len bytes, no '/' and no NUL; then padding
//! ```
//!
//! The entries of a block chain from offset 0 and the last one ends exactly
//! at the end of the block.  The first block of a directory starts with "."
//! (the directory itself) and ".." (its parent; the root's parent is itself).

use super::constants::MAX_NAME_LEN;
use super::inode::FileType;
use super::le::{get_u16, get_u32, put_u16, put_u32};

/// Bytes of the fixed part of an entry.
pub const DIRENT_HEADER_SIZE: usize = 8;
/// `file_type` of an unused entry.
pub const DIRENT_TYPE_UNUSED: u8 = 0;
/// `file_type` of a regular file.
pub const DIRENT_TYPE_REGULAR: u8 = 1;
/// `file_type` of a directory.
pub const DIRENT_TYPE_DIRECTORY: u8 = 2;
/// `file_type` of a character device.
pub const DIRENT_TYPE_CHARDEV: u8 = 3;
/// `file_type` of a block device.
pub const DIRENT_TYPE_BLOCKDEV: u8 = 4;
/// `file_type` of a FIFO.
pub const DIRENT_TYPE_FIFO: u8 = 5;
/// `file_type` of a socket.
pub const DIRENT_TYPE_SOCKET: u8 = 6;
/// `file_type` of a symbolic link.
pub const DIRENT_TYPE_SYMLINK: u8 = 7;

/// The `file_type` byte for `file_type`.
pub fn dirent_type(file_type: FileType) -> u8 {
    match file_type {
        FileType::Regular => DIRENT_TYPE_REGULAR,
        FileType::Directory => DIRENT_TYPE_DIRECTORY,
        FileType::CharDevice => DIRENT_TYPE_CHARDEV,
        FileType::BlockDevice => DIRENT_TYPE_BLOCKDEV,
        FileType::Fifo => DIRENT_TYPE_FIFO,
        FileType::Socket => DIRENT_TYPE_SOCKET,
        FileType::Symlink => DIRENT_TYPE_SYMLINK,
    }
}

/// Smallest `rec_len` for a name of `name_len` bytes.
#[inline]
pub fn entry_size(name_len: usize) -> usize {
    (DIRENT_HEADER_SIZE + name_len).next_multiple_of(4)
}

/// One entry as found in a block, borrowing its name from the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    /// Byte offset of the entry in its block.
    pub offset: usize,
    /// Inode named; 0 for an unused entry.
    pub ino: u32,
    /// Bytes to the next entry.
    pub rec_len: u16,
    /// The raw `file_type` byte.
    pub file_type: u8,
    /// The name bytes.
    pub name: &'a [u8],
}

impl DirEntryRef<'_> {
    /// What is wrong with the name of a used entry that a reader follows:
    /// empty, or holding `/` or NUL ("." and ".." are fine here; their
    /// place is fsck's business).
    pub fn name_problem(&self) -> Option<NameError> {
        if self.ino == 0 {
            return None;
        }
        name_bytes_problem(self.name)
    }
}

/// Why a directory block's entry chain is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// `rec_len` is not a multiple of 4.
    RecLenUnaligned,
    /// `rec_len` is below 8 + `name_len`.
    RecLenTooSmall,
    /// The entry runs past the end of the block.
    PastBlockEnd,
}

/// A broken chain at `offset` of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirBlockError {
    /// Offset of the entry.
    pub offset: usize,
    /// Its `rec_len`.
    pub rec_len: u16,
    /// What is wrong.
    pub kind: ChainError,
}

impl DirBlockError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self.kind {
            ChainError::RecLenUnaligned => "rec_len not a multiple of 4",
            ChainError::RecLenTooSmall => "rec_len too small for the name",
            ChainError::PastBlockEnd => "directory entry past the end of the block",
        }
    }
}

/// The entries of a directory block, unused ones included, checked as
/// they are walked; an `Err` locates the broken link and ends the walk.
pub struct DirEntries<'a> {
    block: &'a [u8],
    offset: usize,
    broken: bool,
}

/// Walks the entries of `block` from offset 0.
#[inline]
pub fn dir_entries(block: &[u8]) -> DirEntries<'_> {
    DirEntries {
        block,
        offset: 0,
        broken: false,
    }
}

/// The `rec_len` and `name_len` of the entry at `offset` of `block`
/// (below its length), checked against the rules of the chain in their
/// order: a header that fits, `rec_len` a multiple of 4, room for the
/// name, the block's end not passed.  Every walk of a block's entries
/// ([`DirEntries`], [`find_name`]) reads them through this, inlined
/// (at the kernel's `opt-level=s` a plain `#[inline]` left it a call per
/// entry).
#[inline(always)]
fn chain_link(block: &[u8], offset: usize) -> Result<(u16, usize), DirBlockError> {
    if block.len() - offset < DIRENT_HEADER_SIZE {
        return Err(DirBlockError {
            offset,
            rec_len: 0,
            kind: ChainError::PastBlockEnd,
        });
    }
    let rec_len = get_u16(block, offset + 4);
    let name_len = usize::from(block[offset + 6]);
    let length = usize::from(rec_len);
    let kind = if length % 4 != 0 {
        ChainError::RecLenUnaligned
    } else if length < entry_size(name_len) {
        ChainError::RecLenTooSmall
    } else if length > block.len() - offset {
        ChainError::PastBlockEnd
    } else {
        return Ok((rec_len, name_len));
    };
    Err(DirBlockError {
        offset,
        rec_len,
        kind,
    })
}

impl<'a> DirEntries<'a> {
    /// Decodes the entry at `offset`.
    #[inline]
    fn entry_at(&self, offset: usize) -> Result<DirEntryRef<'a>, DirBlockError> {
        let block = self.block;
        let (rec_len, name_len) = chain_link(block, offset)?;
        let name_start = offset + DIRENT_HEADER_SIZE;
        Ok(DirEntryRef {
            offset,
            ino: get_u32(block, offset),
            rec_len,
            file_type: block[offset + 7],
            name: &block[name_start..name_start + name_len],
        })
    }
}

impl<'a> Iterator for DirEntries<'a> {
    type Item = Result<DirEntryRef<'a>, DirBlockError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.broken || self.offset >= self.block.len() {
            return None;
        }
        let entry = self.entry_at(self.offset);
        match entry {
            Ok(found) => self.offset += usize::from(found.rec_len),
            Err(_) => self.broken = true,
        }
        Some(entry)
    }
}

/// Whether `a` and `b` hold the same bytes: a loop that stops at the
/// first difference, inlined into [`find_name`] (the slices' `==` is two
/// calls, to `<[u8]>::eq` and `memcmp`, and an iterator's `zip` stayed
/// calls at the kernel's `opt-level=s`, for names of a few bytes that
/// mostly differ early).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A used entry found by name ([`find_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedEntry {
    /// Byte offset of the entry in its block.
    pub offset: usize,
    /// Offset of the entry before it in the block; `None` for the first.
    pub previous: Option<usize>,
    /// The inode it names.
    pub ino: u32,
}

/// The used entry named `name` in `block`, walked as [`dir_entries`]
/// walks it ([`chain_link`]) up to the entry found (the first broken
/// link ends the search with the error `dir_entries` gives for it), in
/// one loop that reads of each entry its `rec_len` and `name_len` and
/// compares a name only when its length is the one looked for: the walk
/// of a lookup, which reads every entry of a directory when the name is
/// not in it.
#[inline]
pub fn find_name(block: &[u8], name: &[u8]) -> Result<Option<NamedEntry>, DirBlockError> {
    let mut offset = 0;
    let mut previous = None;
    while offset < block.len() {
        let (rec_len, name_len) = chain_link(block, offset)?;
        if name_len == name.len() {
            let ino = get_u32(block, offset);
            let start = offset + DIRENT_HEADER_SIZE;
            if ino != 0 && same_bytes(&block[start..start + name_len], name) {
                return Ok(Some(NamedEntry {
                    offset,
                    previous,
                    ino,
                }));
            }
        }
        previous = Some(offset);
        offset += usize::from(rec_len);
    }
    Ok(None)
}

/// Why a name cannot be a directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Zero bytes.
    Empty,
    /// More than 255 bytes.
    TooLong(usize),
    /// Contains `/` or NUL.
    ForbiddenByte(u8),
    /// "." or "..", which only the first two entries of a directory may be.
    Dot,
}

impl NameError {
    /// The rule broken, in a few words, for a log message.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Empty => "empty name",
            Self::TooLong(_) => "name longer than 255 bytes",
            Self::ForbiddenByte(_) => "name contains '/' or NUL",
            Self::Dot => "\".\" or \"..\" as an ordinary entry",
        }
    }
}

/// The bytes rules of every name: not empty, no `/`, no NUL.
fn name_bytes_problem(name: &[u8]) -> Option<NameError> {
    if name.is_empty() {
        return Some(NameError::Empty);
    }
    name.iter()
        .find(|&&byte| byte == b'/' || byte == 0)
        .map(|&byte| NameError::ForbiddenByte(byte))
}

/// Checks a name for an ordinary entry (not "." or "..").
pub fn validate_name(name: &[u8]) -> Result<(), NameError> {
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if let Some(problem) = name_bytes_problem(name) {
        return Err(problem);
    }
    if name == b"." || name == b".." {
        return Err(NameError::Dot);
    }
    Ok(())
}

/// Writes one entry header and name at `offset`.  The caller has checked
/// that `rec_len` bytes fit there and that the name is at most 255 bytes.
pub fn write_entry(
    block: &mut [u8],
    offset: usize,
    ino: u32,
    rec_len: usize,
    file_type: u8,
    name: &[u8],
) {
    put_u32(block, offset, ino);
    set_rec_len(block, offset, rec_len);
    // CAST: names are at most 255 bytes (the caller's check).
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = file_type;
    let name_start = offset + DIRENT_HEADER_SIZE;
    block[name_start..name_start + name.len()].copy_from_slice(name);
}

/// Sets the `rec_len` of the entry at `offset`.
pub fn set_rec_len(block: &mut [u8], offset: usize, rec_len: usize) {
    // CAST: rec_len is at most a block, 4096.
    put_u16(block, offset + 4, rec_len as u16);
}

/// Points the entry at `offset` at inode `ino` of type `file_type`.
pub fn set_entry_target(block: &mut [u8], offset: usize, ino: u32, file_type: u8) {
    put_u32(block, offset, ino);
    block[offset + 7] = file_type;
}

/// Removes the entry at `offset`: merged into the entry at `previous` in
/// the same block, or, as the first entry of its block, made unused.
pub fn remove_entry(block: &mut [u8], offset: usize, previous: Option<usize>) {
    match previous {
        Some(previous) => {
            let rec_len =
                usize::from(get_u16(block, previous + 4)) + usize::from(get_u16(block, offset + 4));
            set_rec_len(block, previous, rec_len);
        }
        None => put_u32(block, offset, 0),
    }
}

/// Makes `block` one unused entry spanning it.
pub fn init_empty_dir_block(block: &mut [u8]) {
    let len = block.len();
    write_entry(block, 0, 0, len, DIRENT_TYPE_UNUSED, b"");
}

/// Makes `block` the first block of directory `ino` whose parent is
/// `parent_ino`: "." and "..", the latter spanning the rest of the block.
pub fn init_dir_block(block: &mut [u8], ino: u32, parent_ino: u32) {
    let dot_len = entry_size(1);
    write_entry(block, 0, ino, dot_len, DIRENT_TYPE_DIRECTORY, b".");
    let rest = block.len() - dot_len;
    write_entry(
        block,
        dot_len,
        parent_ino,
        rest,
        DIRENT_TYPE_DIRECTORY,
        b"..",
    );
}

/// Adds an entry to a well-formed block if there is room: in an unused
/// entry, or in the slack after a used one.  Returns whether it was added.
pub fn insert_entry(
    block: &mut [u8],
    ino: u32,
    file_type: u8,
    name: &[u8],
) -> Result<bool, DirBlockError> {
    let needed = entry_size(name.len());
    // Where the entry goes: the entry to shorten (its offset and used
    // length) if any, the offset and the room.
    let mut slot = None;
    for entry in dir_entries(block) {
        let entry = entry?;
        let rec_len = usize::from(entry.rec_len);
        if entry.ino == 0 && rec_len >= needed {
            slot = Some((None, entry.offset, rec_len));
            break;
        }
        let used = entry_size(entry.name.len());
        if entry.ino != 0 && rec_len - used >= needed {
            slot = Some((Some(entry.offset), entry.offset + used, rec_len - used));
            break;
        }
    }
    let Some((shortened, offset, room)) = slot else {
        return Ok(false);
    };
    if let Some(shortened) = shortened {
        set_rec_len(block, shortened, offset - shortened);
    }
    write_entry(block, offset, ino, room, file_type, name);
    Ok(true)
}
