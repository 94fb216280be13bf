// SPDX-License-Identifier: GPL-2.0
//! Directory blocks (defined in samples/toyfs/format/dirent.rs): owned
//! entries, new blocks, and messages.

use std::fmt;

pub use crate::disk::dirent::*;

use crate::constants::MAX_NAME_LEN;

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

/// Splits a block into its entries, unused ones included.
pub fn parse_dir_block(block: &[u8]) -> Result<Vec<DirEntry>, DirBlockError> {
    dir_entries(block)
        .map(|entry| {
            entry.map(|entry| DirEntry {
                offset: entry.offset,
                ino: entry.ino,
                rec_len: entry.rec_len,
                file_type: entry.file_type,
                name: entry.name.to_vec(),
            })
        })
        .collect()
}

/// A directory block holding one unused entry spanning it.
pub fn empty_dir_block(block_size: u32) -> Vec<u8> {
    let mut block = vec![0u8; block_size as usize];
    init_empty_dir_block(&mut block);
    block
}

/// The first block of a new directory: "." and "..", the latter spanning
/// the rest of the block.
pub fn new_dir_block(block_size: u32, ino: u32, parent_ino: u32) -> Vec<u8> {
    let mut block = vec![0u8; block_size as usize];
    init_dir_block(&mut block, ino, parent_ino);
    block
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::le::put_u16;

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

    #[test]
    fn readers_walk_unused_entries_and_check_names() {
        let mut block = new_dir_block(512, 2, 1);
        assert!(insert_entry(&mut block, 7, DIRENT_TYPE_REGULAR, b"a").unwrap());
        assert!(insert_entry(&mut block, 8, DIRENT_TYPE_REGULAR, b"bb").unwrap());
        let offsets: Vec<_> = dir_entries(&block).map(|e| e.unwrap().offset).collect();
        assert_eq!(offsets, [0, 12, 24, 36]);
        // Removing "a" merges it into "..", removing the first makes it unused.
        remove_entry(&mut block, 24, Some(12));
        let entries = parse_dir_block(&block).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!((entries[1].offset, entries[1].rec_len), (12, 24));
        remove_entry(&mut block, 0, None);
        assert_eq!(parse_dir_block(&block).unwrap()[0].ino, 0);
        set_entry_target(&mut block, 36, 9, DIRENT_TYPE_DIRECTORY);
        let last = parse_dir_block(&block).unwrap()[2].clone();
        assert_eq!(
            (last.ino, last.file_type, &last.name[..]),
            (9, 2, &b"bb"[..])
        );
        block[36 + 8] = b'/';
        let bad = dir_entries(&block).nth(2).unwrap().unwrap();
        assert_eq!(bad.name_problem(), Some(NameError::ForbiddenByte(b'/')));
        let unused = dir_entries(&block).next().unwrap().unwrap();
        assert_eq!(unused.name_problem(), None);
    }

    /// What a lookup's walk of `dir_entries` finds for `name`: the first
    /// used entry of that name, or the first broken link.
    fn walk_for(block: &[u8], name: &[u8]) -> Result<Option<NamedEntry>, DirBlockError> {
        let mut previous = None;
        for entry in dir_entries(block) {
            let entry = entry?;
            if entry.ino != 0 && entry.name == name {
                return Ok(Some(NamedEntry {
                    offset: entry.offset,
                    previous,
                    ino: entry.ino,
                }));
            }
            previous = Some(entry.offset);
        }
        Ok(None)
    }

    #[test]
    fn find_name_answers_as_the_walk_on_any_bytes() {
        let mut block = new_dir_block(1024, 2, 1);
        for i in 0..24u32 {
            let name = format!("name{i}");
            assert!(
                insert_entry(&mut block, 10 + i, DIRENT_TYPE_REGULAR, name.as_bytes()).unwrap()
            );
        }
        // A removed entry (merged into the one before) and a first entry
        // made unused.
        let offsets: Vec<_> = dir_entries(&block).map(|e| e.unwrap().offset).collect();
        remove_entry(&mut block, offsets[9], Some(offsets[8]));
        let mut unused_first = block.clone();
        remove_entry(&mut unused_first, 0, None);
        let names: [&[u8]; 8] = [
            b".", b"..", b"name0", b"name23", b"name7", b"name6", b"nope", b"name1x",
        ];
        assert_eq!(find_name(&block, b"name7").unwrap(), None);
        assert_eq!(find_name(&block, b"nope").unwrap(), None);
        let found = find_name(&block, b"name8").unwrap().unwrap();
        assert_eq!(
            (found.offset, found.previous, found.ino),
            (offsets[10], Some(offsets[8]), 18)
        );
        assert_eq!(find_name(&unused_first, b".").unwrap(), None);
        // Every byte of the entries' part of the block set to values that
        // break or shift the chain: the same answer, error or entry.
        let used = offsets[offsets.len() - 1] + 16;
        for base in [&block, &unused_first] {
            for at in 0..used {
                for value in [0u8, 1, 3, 5, 12, 0x40, 0xff] {
                    let mut damaged = base.clone();
                    damaged[at] = value;
                    for name in names {
                        assert_eq!(
                            find_name(&damaged, name),
                            walk_for(&damaged, name),
                            "byte {at} = {value}, name {name:?}"
                        );
                    }
                }
            }
        }
        // A small block packed to its end, damaged in two bytes at once:
        // enough to break two rules of one entry together (a `rec_len`
        // both too small for a longer name and past the end), which the
        // two walks must name in the same order.
        let mut small = new_dir_block(64, 2, 1);
        assert!(insert_entry(&mut small, 3, DIRENT_TYPE_REGULAR, b"abc").unwrap());
        assert!(insert_entry(&mut small, 4, DIRENT_TYPE_REGULAR, b"defgh").unwrap());
        let values = [0u8, 3, 8, 12, 16, 32, 36, 200, 255];
        for at in 0..small.len() {
            for other in at + 1..small.len() {
                for value in values {
                    for second in values {
                        let mut damaged = small.clone();
                        damaged[at] = value;
                        damaged[other] = second;
                        for name in [&b"abc"[..], b"defgh", b"..", b"zz"] {
                            assert_eq!(
                                find_name(&damaged, name),
                                walk_for(&damaged, name),
                                "bytes {at} = {value}, {other} = {second}, name {name:?}"
                            );
                        }
                    }
                }
            }
        }
        // A block too short for a header after the last entry.
        let mut short = vec![0u8; 14];
        put_u16(&mut short, 4, 12);
        short[6] = 1;
        assert_eq!(find_name(&short, b"x"), walk_for(&short, b"x"));
        assert!(find_name(&short, b"x").is_err());
    }
}
