// SPDX-License-Identifier: GPL-2.0
//! Directory blocks: chains of variable-size entries, as in ext2.
//!
//! ```text
//! offset size field
//!      0    4 ino        0 = unused entry
//!      4    2 rec_len    bytes to the next entry: a multiple of 4,
//!                        at least 8 + name_len, never past the block's end
//!      6    1 name_len   1..=255 (0 allowed only when ino is 0)
//!      7    1 file_type  1 regular, 2 directory (0 when ino is 0)
//!      8    n name       name_len bytes, no '/' and no NUL; then padding
//! ```
//!
//! The entries of a block chain from offset 0 and the last one ends exactly
//! at the end of the block.  The first block of a directory starts with "."
//! (the directory itself) and ".." (its parent; the root's parent is itself).

use std::fmt;

use crate::constants::MAX_NAME_LEN;
use crate::inode::FileType;
use crate::le::{get_u16, get_u32, put_u16, put_u32};

/// Bytes of the fixed part of an entry.
pub const DIRENT_HEADER_SIZE: usize = 8;
/// `file_type` of an unused entry.
pub const DIRENT_TYPE_UNUSED: u8 = 0;
/// `file_type` of a regular file.
pub const DIRENT_TYPE_REGULAR: u8 = 1;
/// `file_type` of a directory.
pub const DIRENT_TYPE_DIRECTORY: u8 = 2;

/// The `file_type` byte for `file_type`.
pub fn dirent_type(file_type: FileType) -> u8 {
    match file_type {
        FileType::Regular => DIRENT_TYPE_REGULAR,
        FileType::Directory => DIRENT_TYPE_DIRECTORY,
    }
}

/// Smallest `rec_len` for a name of `name_len` bytes.
pub fn entry_size(name_len: usize) -> usize {
    (DIRENT_HEADER_SIZE + name_len).next_multiple_of(4)
}

/// One entry as found in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Byte offset of the entry in its block.
    pub offset: usize,
    /// Inode named; 0 for an unused entry.
    pub ino: u32,
    /// Bytes to the next entry.
    pub rec_len: u16,
    /// The raw `file_type` byte.
    pub file_type: u8,
    /// The name bytes.
    pub name: Vec<u8>,
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

impl fmt::Display for DirBlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ChainError::RecLenUnaligned => "is not a multiple of 4",
            ChainError::RecLenTooSmall => "is too small for the entry's header and name",
            ChainError::PastBlockEnd => "runs past the end of the block",
        };
        write!(
            f,
            "entry at offset {} with rec_len {} {what}",
            self.offset, self.rec_len
        )
    }
}

/// Splits a block into its entries, unused ones included.
pub fn parse_dir_block(block: &[u8]) -> Result<Vec<DirEntry>, DirBlockError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < block.len() {
        if block.len() - offset < DIRENT_HEADER_SIZE {
            return Err(DirBlockError {
                offset,
                rec_len: 0,
                kind: ChainError::PastBlockEnd,
            });
        }
        let rec_len = get_u16(block, offset + 4);
        let name_len = usize::from(block[offset + 6]);
        let error = |kind| DirBlockError {
            offset,
            rec_len,
            kind,
        };
        let length = usize::from(rec_len);
        if length % 4 != 0 {
            return Err(error(ChainError::RecLenUnaligned));
        }
        if length < entry_size(name_len) {
            return Err(error(ChainError::RecLenTooSmall));
        }
        if offset + length > block.len() {
            return Err(error(ChainError::PastBlockEnd));
        }
        let name_start = offset + DIRENT_HEADER_SIZE;
        entries.push(DirEntry {
            offset,
            ino: get_u32(block, offset),
            rec_len,
            file_type: block[offset + 7],
            name: block[name_start..name_start + name_len].to_vec(),
        });
        offset += length;
    }
    Ok(entries)
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

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "name is empty"),
            Self::TooLong(len) => write!(f, "name is {len} bytes, longer than {MAX_NAME_LEN}"),
            Self::ForbiddenByte(byte) => write!(f, "name contains the byte {byte:#04x}"),
            Self::Dot => write!(f, "\".\" and \"..\" are reserved names"),
        }
    }
}

/// Checks a name for an ordinary entry (not "." or "..").
pub fn validate_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if let Some(&byte) = name.iter().find(|&&byte| byte == b'/' || byte == 0) {
        return Err(NameError::ForbiddenByte(byte));
    }
    if name == b"." || name == b".." {
        return Err(NameError::Dot);
    }
    Ok(())
}

/// Writes one entry header and name at `offset`.  The caller has checked
/// that `rec_len` bytes fit there.
fn write_entry(
    block: &mut [u8],
    offset: usize,
    ino: u32,
    rec_len: usize,
    file_type: u8,
    name: &[u8],
) {
    put_u32(block, offset, ino);
    put_u16(block, offset + 4, rec_len as u16);
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = file_type;
    let name_start = offset + DIRENT_HEADER_SIZE;
    block[name_start..name_start + name.len()].copy_from_slice(name);
}

/// A directory block holding one unused entry spanning it.
pub fn empty_dir_block(block_size: u32) -> Vec<u8> {
    let mut block = vec![0u8; block_size as usize];
    write_entry(
        &mut block,
        0,
        0,
        block_size as usize,
        DIRENT_TYPE_UNUSED,
        b"",
    );
    block
}

/// The first block of a new directory: "." and "..", the latter spanning
/// the rest of the block.
pub fn new_dir_block(block_size: u32, ino: u32, parent_ino: u32) -> Vec<u8> {
    let mut block = vec![0u8; block_size as usize];
    let dot_len = entry_size(1);
    write_entry(&mut block, 0, ino, dot_len, DIRENT_TYPE_DIRECTORY, b".");
    let rest = block.len() - dot_len;
    write_entry(
        &mut block,
        dot_len,
        parent_ino,
        rest,
        DIRENT_TYPE_DIRECTORY,
        b"..",
    );
    block
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
    for entry in parse_dir_block(block)? {
        let rec_len = usize::from(entry.rec_len);
        if entry.ino == 0 && rec_len >= needed {
            write_entry(block, entry.offset, ino, rec_len, file_type, name);
            return Ok(true);
        }
        let used = entry_size(entry.name.len());
        if entry.ino != 0 && rec_len - used >= needed {
            put_u16(block, entry.offset + 4, used as u16);
            write_entry(
                block,
                entry.offset + used,
                ino,
                rec_len - used,
                file_type,
                name,
            );
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_directory_block_bytes() {
        let block = new_dir_block(512, 7, 1);
        assert_eq!(&block[0..12], &[7, 0, 0, 0, 12, 0, 1, 2, b'.', 0, 0, 0]);
        assert_eq!(&block[12..22], &[1, 0, 0, 0, 244, 1, 2, 2, b'.', b'.']);
        let entries = parse_dir_block(&block).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].rec_len, 500);
    }

    #[test]
    fn insert_splits_slack_then_fills_until_full() {
        let mut block = new_dir_block(512, 2, 1);
        let name = [b'x'; 100];
        // 500 bytes after "."; ".." keeps 12, each 100-byte name takes 108.
        let mut added = 0;
        while insert_entry(&mut block, 10 + added, DIRENT_TYPE_REGULAR, &name).unwrap() {
            added += 1;
        }
        assert_eq!(added, 4);
        let entries = parse_dir_block(&block).unwrap();
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[5].ino, 13);
        assert_eq!(usize::from(entries[5].rec_len), 512 - 12 - 12 - 3 * 108);
        let mut empty = empty_dir_block(512);
        assert!(insert_entry(&mut empty, 5, DIRENT_TYPE_DIRECTORY, b"sub").unwrap());
        let entries = parse_dir_block(&empty).unwrap();
        assert_eq!(
            (entries[0].ino, entries[0].rec_len, &entries[0].name[..]),
            (5, 512, &b"sub"[..])
        );
    }

    #[test]
    fn broken_chains_are_located() {
        let mut block = new_dir_block(512, 2, 1);
        put_u16(&mut block, 4, 10);
        assert_eq!(
            parse_dir_block(&block),
            Err(DirBlockError {
                offset: 0,
                rec_len: 10,
                kind: ChainError::RecLenUnaligned
            })
        );
        put_u16(&mut block, 4, 8);
        assert_eq!(
            parse_dir_block(&block).unwrap_err().kind,
            ChainError::RecLenTooSmall
        );
        let mut block = new_dir_block(512, 2, 1);
        put_u16(&mut block, 16, 504);
        assert_eq!(
            parse_dir_block(&block),
            Err(DirBlockError {
                offset: 12,
                rec_len: 504,
                kind: ChainError::PastBlockEnd
            })
        );
        // A zero rec_len would loop forever if it were accepted.
        let mut block = new_dir_block(512, 2, 1);
        put_u16(&mut block, 16, 0);
        block[18] = 0;
        assert_eq!(
            parse_dir_block(&block).unwrap_err().kind,
            ChainError::RecLenTooSmall
        );
    }

    #[test]
    fn names() {
        assert_eq!(validate_name(b"a"), Ok(()));
        assert_eq!(validate_name(&[b'n'; 255]), Ok(()));
        assert_eq!(validate_name(b""), Err(NameError::Empty));
        assert_eq!(validate_name(&[b'n'; 256]), Err(NameError::TooLong(256)));
        assert_eq!(validate_name(b"a/b"), Err(NameError::ForbiddenByte(b'/')));
        assert_eq!(validate_name(b"a\0"), Err(NameError::ForbiddenByte(0)));
        assert_eq!(validate_name(b".."), Err(NameError::Dot));
        assert_eq!(validate_name(b"..."), Ok(()));
        assert_eq!(entry_size(0), 8);
        assert_eq!(entry_size(1), 12);
        assert_eq!(entry_size(4), 12);
        assert_eq!(entry_size(5), 16);
    }
}
