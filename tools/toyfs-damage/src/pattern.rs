// SPDX-License-Identifier: GPL-2.0
//! The bytes of the source image's files: every 16-byte record names the
//! file's inode and its own place, so bytes read from a file tell whose
//! they are.
//!
//! Record `r` (file bytes `16 * r .. 16 * r + 16`) of inode `ino` is
//! `"<PAT"`, `ino` (u32 LE), `r` (u32 LE), `"PAT>"`.

/// Bytes of one record.
pub const RECORD: usize = 16;

/// `len` bytes of inode `ino`'s pattern from file offset `offset`.
pub fn pattern(ino: u32, offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64)
        .map(|pos| record(ino, pos / RECORD as u64)[(pos % RECORD as u64) as usize])
        .collect()
}

fn record(ino: u32, index: u64) -> [u8; RECORD] {
    let mut bytes = [0u8; RECORD];
    bytes[..4].copy_from_slice(b"<PAT");
    bytes[4..8].copy_from_slice(&ino.to_le_bytes());
    // CAST: the index is only a label; files are far below 2^32 records.
    bytes[8..12].copy_from_slice(&(index as u32).to_le_bytes());
    bytes[12..].copy_from_slice(b"PAT>");
    bytes
}

/// The inodes whose records appear in `bytes`, read from file offset
/// `offset` (records are found at their 16-byte file alignment).
pub fn owners(bytes: &[u8], offset: u64) -> Vec<u32> {
    let skip = (RECORD as u64 - offset % RECORD as u64) % RECORD as u64;
    let mut found: Vec<u32> = bytes
        .get(skip as usize..)
        .unwrap_or_default()
        .chunks_exact(RECORD)
        .filter(|chunk| &chunk[..4] == b"<PAT" && &chunk[12..] == b"PAT>")
        .map(|chunk| u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_their_inode_at_any_offset() {
        let bytes = pattern(7, 5, 100);
        assert_eq!(bytes.len(), 100);
        assert_eq!(owners(&bytes, 5), [7]);
        assert_eq!(pattern(7, 0, 100)[5..], pattern(7, 5, 95)[..]);
        let mut mixed = pattern(3, 0, 32);
        mixed.extend(pattern(9, 32, 32));
        assert_eq!(owners(&mixed, 0), [3, 9]);
        assert_eq!(owners(&[0u8; 64], 0), Vec::<u32>::new());
    }
}
