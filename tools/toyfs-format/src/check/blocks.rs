// SPDX-License-Identifier: GPL-2.0
//! Pass 1, for each regular file: how every data block below the size is
//! stored.  A plain block before the last is a whole block; the last is in
//! the fewest fragments its bytes need, zero past the end of the file; a
//! compressed block has a sound header, the file's length for that block,
//! the fewest fragments for its data and fewer than plain, zero padding,
//! and (when asked, `fsck.toyfs -f`) data that decompresses to its length.
//! With PREALLOC the last may be a whole block too, and the blocks
//! preallocated past the end are whole plain blocks of zeros.

use std::io;

use super::finding::Finding;
use crate::address::Extent;
use crate::compressed::CompressedHeader;
use crate::device::BlockDevice;
use crate::geometry::Geometry;
use crate::lz4;

/// A data block of a regular file, below its size.
pub(super) struct StoredBlock {
    /// Which block of the file.
    pub file_block: u64,
    /// Where it is stored.
    pub extent: Extent,
}

/// Checks every block of `stored`, of file `ino` of `size` bytes;
/// `may_preallocate`: a regular file on an image with PREALLOC, whose
/// last block may be whole.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_stored_blocks<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    ino: u32,
    size: u64,
    stored: &[StoredBlock],
    decompress: bool,
    may_preallocate: bool,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let last = geometry.blocks_for(size).saturating_sub(1);
    for block in stored {
        let (file_block, extent) = (block.file_block, block.extent);
        let length = geometry.file_block_length(size, file_block);
        let plain = geometry.fragments_for(length);
        if extent.compressed {
            check_compressed(device, geometry, ino, block, length, decompress, findings)?;
        } else if file_block < last && !extent.is_whole_block(geometry) {
            findings.push(Finding::PartialBlockBeforeEnd {
                ino,
                file_block,
                count: extent.count,
            });
        } else if file_block == last {
            // With PREALLOC a file that grew into a preallocated block
            // ends in it, whole.
            let preallocated = may_preallocate && extent.is_whole_block(geometry);
            if extent.count != plain && !preallocated {
                findings.push(Finding::TailNotFewest {
                    ino,
                    file_block,
                    count: extent.count,
                    fewest: plain,
                });
            }
            let mut run = vec![0u8; extent.byte_len(geometry)];
            device.read_at(extent.byte_offset(geometry), &mut run)?;
            let tail = (length as usize).min(run.len());
            if let Some(position) = run[tail..].iter().position(|&byte| byte != 0) {
                findings.push(Finding::TailNotZero {
                    ino,
                    block: extent.block(geometry),
                    offset: size + position as u64,
                });
            }
        }
    }
    Ok(())
}

/// Checks the blocks `preallocated` past the end of file `ino` (whole
/// plain blocks, with PREALLOC): every byte zero, as a later extension of
/// the file exposes them.
pub(super) fn check_preallocated<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    ino: u32,
    preallocated: &[StoredBlock],
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let block_size = u64::from(geometry.block_size());
    let mut run = vec![0u8; block_size as usize];
    for block in preallocated {
        device.read_at(block.extent.byte_offset(geometry), &mut run)?;
        if let Some(position) = run.iter().position(|&byte| byte != 0) {
            findings.push(Finding::TailNotZero {
                ino,
                block: block.extent.block(geometry),
                offset: block.file_block * block_size + position as u64,
            });
        }
    }
    Ok(())
}

fn check_compressed<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    ino: u32,
    block: &StoredBlock,
    length: u32,
    decompress: bool,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let (file_block, extent) = (block.file_block, block.extent);
    let mut run = vec![0u8; extent.byte_len(geometry)];
    device.read_at(extent.byte_offset(geometry), &mut run)?;
    let (header, data) = match CompressedHeader::parse(&run, geometry) {
        Ok(parsed) => parsed,
        Err(error) => {
            findings.push(Finding::BadCompressedBlock {
                ino,
                file_block,
                error,
            });
            return Ok(());
        }
    };
    if u32::from(header.length) != length {
        findings.push(Finding::CompressedLength {
            ino,
            file_block,
            length: header.length,
            expected: length,
        });
    }
    let fewest = geometry.fragments_for(header.stored_len());
    let plain = geometry.fragments_for(length);
    if extent.count != fewest || extent.count >= plain {
        findings.push(Finding::CompressedNotFewest {
            ino,
            file_block,
            count: extent.count,
            fewest,
            plain,
        });
    }
    if run[header.stored_len() as usize..]
        .iter()
        .any(|&byte| byte != 0)
    {
        findings.push(Finding::CompressedPaddingNotZero { ino, file_block });
    }
    if decompress {
        if let Err(error) = lz4::decompress(data, usize::from(header.length)) {
            findings.push(Finding::BadCompressedBlock {
                ino,
                file_block,
                error,
            });
        }
    }
    Ok(())
}
