// SPDX-License-Identifier: GPL-2.0
//! Packed tails (the PACKED_TAILS feature, `crate::tail_block`): the last
//! blocks of many files at byte offsets of shared tail blocks.
//!
//! [`Filesystem::pack_tails`] packs them, as `mkfs.toyfs -p -d` does once
//! every file is copied; a file whose tail is packed gets it back in
//! fragments of its own ([`Filesystem::unpack_tail`]) before a write or
//! truncation changes it, as the kernel does before the file is opened
//! for writing or truncated.

use std::collections::BTreeSet;

use super::Filesystem;
use crate::address::Extent;
use crate::compressed::{CompressedHeader, HEADER_SIZE};
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::inode::{FileType, Inode, FLAG_COMPRESSED};
use crate::lz4;
use crate::tail_block::{
    parse_header, put_header, stored_tail, StoredTail, TailBlockError, TailPlace, TAIL_HEADER_SIZE,
};

/// What [`Filesystem::pack_tails`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackedTails {
    /// Files whose last block is now a packed tail.
    pub tails: u32,
    /// Tail blocks holding them.
    pub blocks: u32,
    /// Fragments their runs held before.
    pub fragments_before: u32,
    /// Of `tails`, those packed LZ4-compressed (PACKED_LZ4).
    pub compressed: u32,
}

/// A tail to pack: the bytes it takes in its tail block, the file, those
/// bytes (the file's, or a compressed block of them), whether they are
/// compressed, and the run they leave.
struct Tail {
    len: u32,
    ino: u32,
    bytes: Vec<u8>,
    compressed: bool,
    run: Extent,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Packs the last blocks of the regular files `inos` into tail blocks:
    /// each file whose last block is partial, stored plain in fragments
    /// (not a hole, not compressed) and at most `B - 8` bytes long.
    /// With PACKED_LZ4, compressed last blocks too, and the last block of
    /// a file with the compressed flag goes compressed (header and LZ4
    /// data) whenever that takes fewer bytes than plain, and then fits if
    /// its compressed form is at most `B - 8` bytes.
    /// Longest first, each into the tail block with the least room that
    /// holds it (best fit decreasing), a new one when none does; the runs
    /// they leave are freed first.
    pub fn pack_tails(&mut self, inos: &[u32]) -> Result<PackedTails, FsError> {
        let geometry = *self.geometry();
        if !geometry.has_packed_tails() {
            return Err(FsError::NoPackedTails);
        }
        let room = geometry.block_size() - TAIL_HEADER_SIZE;
        let mut tails = Vec::new();
        for &ino in inos {
            let inode = self.read_in_use_inode(ino)?;
            // CAST: below a block.
            let len = geometry.offset_in_block(inode.size) as u32;
            if inode.file_type() != Some(FileType::Regular) || inode.tail_offset != 0 || len == 0 {
                continue;
            }
            let last = geometry.block_of(inode.size);
            let Some(run) = self.map_extent(ino, &inode, last)? else {
                continue;
            };
            if run.compressed && !geometry.has_packed_lz4() {
                continue;
            }
            let mut bytes = self.load_block(ino, &inode, last)?;
            bytes.truncate(len as usize);
            let compress = geometry.has_packed_lz4() && inode.flags & FLAG_COMPRESSED != 0;
            let (bytes, compressed) = match compress.then(|| lz4::compress(&bytes)) {
                Some(data) if HEADER_SIZE + data.len() < bytes.len() => {
                    let mut stored = vec![0u8; HEADER_SIZE + data.len()];
                    CompressedHeader {
                        // CAST: fewer bytes than a block.
                        compressed_len: data.len() as u16,
                        // CAST: below a block.
                        length: len as u16,
                    }
                    .write(&mut stored);
                    stored[HEADER_SIZE..].copy_from_slice(&data);
                    (stored, true)
                }
                _ => (bytes, false),
            };
            // CAST: at most a block.
            let len = bytes.len() as u32;
            if len > room {
                continue;
            }
            tails.push(Tail {
                len,
                ino,
                bytes,
                compressed,
                run,
            });
        }
        tails.sort_by(|a, b| b.len.cmp(&a.len).then(a.ino.cmp(&b.ino)));
        // Each tail block's room left and its index, ordered by room.
        let mut rooms = BTreeSet::new();
        // Each tail block's tails: (index in `tails`, offset).
        let mut blocks: Vec<Vec<(usize, u32)>> = Vec::new();
        for (index, tail) in tails.iter().enumerate() {
            let found = rooms.range((tail.len, 0)..).next().copied();
            let (left, block) = found.unwrap_or_else(|| {
                blocks.push(Vec::new());
                (room, blocks.len() - 1)
            });
            rooms.remove(&(left, block));
            let offset = TAIL_HEADER_SIZE + (room - left);
            blocks[block].push((index, offset));
            rooms.insert((left - tail.len, block));
        }
        let mut done = PackedTails::default();
        for tail in &tails {
            self.release(tail.run);
            done.fragments_before += tail.run.count;
        }
        for members in &blocks {
            let block = self.allocate_whole_block()?;
            let mut bytes = vec![0u8; geometry.block_bytes()];
            // CAST: at most a block's bytes.
            put_header(&mut bytes, members.len() as u32);
            for &(index, offset) in members {
                let tail = &tails[index];
                let start = offset as usize;
                bytes[start..start + tail.bytes.len()].copy_from_slice(&tail.bytes);
            }
            self.write_block(block, &bytes)?;
            for &(index, offset) in members {
                let tail = &tails[index];
                let mut inode = self.read_in_use_inode(tail.ino)?;
                let last = geometry.block_of(inode.size);
                let place =
                    self.find_place(tail.ino, &inode, last)?
                        .ok_or(FsError::BadTailBlock {
                            ino: tail.ino,
                            rule: "last block has no pointer",
                        })?;
                let pointer = geometry.encode_pointer(geometry.whole_block(block));
                self.set_pointer(&mut inode, place, pointer)?;
                inode.tail_offset = TailPlace {
                    offset,
                    compressed: tail.compressed,
                }
                .encode();
                inode.blocks = inode.blocks.saturating_sub(tail.run.count);
                self.write_inode(tail.ino, &inode)?;
                done.tails += 1;
                done.compressed += u32::from(tail.compressed);
            }
            done.blocks += 1;
        }
        Ok(done)
    }

    /// The tail block of `inode` (`ino`), whose tail is packed: its block
    /// number and its bytes, the header checked.
    fn tail_block_of(&self, ino: u32, inode: &Inode) -> Result<(u32, Vec<u8>, u32), FsError> {
        let geometry = *self.geometry();
        let bad = |rule| FsError::BadTailBlock { ino, rule };
        let extent = self
            .map_extent(ino, inode, geometry.block_of(inode.size))?
            .ok_or(bad("last block is a hole"))?;
        if !extent.is_whole_block(&geometry) || extent.compressed {
            return Err(bad("pointer does not name a whole plain block"));
        }
        let block = extent.block(&geometry);
        let bytes = self.read_block(block)?;
        let tails =
            parse_header(&bytes, &geometry).map_err(|error: TailBlockError| bad(error.rule()))?;
        Ok((block, bytes, tails))
    }

    /// The bytes of the packed tail of `inode` (`ino`), `size % B` of
    /// them: as stored, or decompressed.
    pub(super) fn packed_tail_bytes(&self, ino: u32, inode: &Inode) -> Result<Vec<u8>, FsError> {
        let geometry = *self.geometry();
        let (_, bytes, _) = self.tail_block_of(ino, inode)?;
        // CAST: below a block.
        let len = geometry.offset_in_block(inode.size) as u32;
        let place = TailPlace::of(inode.tail_offset);
        match stored_tail(&bytes, &geometry, place, len) {
            Ok(StoredTail::Plain(bytes)) => Ok(bytes.to_vec()),
            Ok(StoredTail::Compressed(header, data)) => {
                lz4::decompress(data, usize::from(header.length)).map_err(|error| {
                    FsError::BadCompressedBlock {
                        ino,
                        file_block: geometry.block_of(inode.size),
                        error,
                    }
                })
            }
            Err(error) => Err(FsError::BadTailBlock {
                ino,
                rule: error.rule(),
            }),
        }
    }

    /// Gives the packed tail of `inode` (`ino`), if it has one, a run of
    /// the fewest fragments of its own, and takes it out of its tail
    /// block: the block's count of tails drops by one, and the block is
    /// freed when none is left.  Writes the inode.
    pub fn unpack_tail(&mut self, ino: u32, inode: &mut Inode) -> Result<(), FsError> {
        if inode.tail_offset == 0 {
            return Ok(());
        }
        let geometry = *self.geometry();
        let tail = self.packed_tail_bytes(ino, inode)?;
        let (block, mut bytes, tails) = self.tail_block_of(ino, inode)?;
        // CAST: below a block.
        let run = self.allocate_run(geometry.fragments_for(tail.len() as u32))?;
        let mut data = vec![0u8; run.byte_len(&geometry)];
        data[..tail.len()].copy_from_slice(&tail);
        self.write_run(&run, &data)?;
        let last = geometry.block_of(inode.size);
        let place = self
            .find_place(ino, inode, last)?
            .ok_or(FsError::BadTailBlock {
                ino,
                rule: "last block has no pointer",
            })?;
        self.set_pointer(inode, place, geometry.encode_pointer(run))?;
        inode.tail_offset = 0;
        inode.blocks = inode.blocks.saturating_add(run.count);
        self.write_inode(ino, inode)?;
        if tails == 1 {
            self.release_block(block);
        } else {
            put_header(&mut bytes, tails - 1);
            self.write_block(block, &bytes)?;
        }
        Ok(())
    }
}
