// SPDX-License-Identifier: GPL-2.0
//! Pass 3: the bitmap and the superblock's free counts against what the
//! inode table really uses.

use std::io;

use super::finding::Finding;
use super::inodes::InodeTable;
use crate::bitmap::Bitmap;
use crate::constants::BITMAP_START;
use crate::device::BlockDevice;
use crate::superblock::Superblock;

/// Returns the bitmap as read, for the summary.
pub(super) fn check_accounting<D: BlockDevice + ?Sized>(
    device: &D,
    superblock: &Superblock,
    table: &InodeTable,
    findings: &mut Vec<Finding>,
) -> io::Result<Bitmap> {
    let geometry = &superblock.geometry;
    let mut bytes = vec![0u8; geometry.bitmap_blocks() as usize * geometry.block_size() as usize];
    device.read_at(geometry.block_offset(BITMAP_START), &mut bytes)?;
    let bitmap = Bitmap::from_bytes(bytes, geometry.fragment_count());

    for block in 0..geometry.first_data_block() {
        if geometry
            .whole_block(block)
            .fragments()
            .any(|fragment| !bitmap.is_set(fragment))
        {
            findings.push(Finding::MetadataBlockFree { block });
        }
    }
    let fragments = geometry.has_fragments();
    for unit in geometry.first_data_fragment()..geometry.fragment_count() {
        match (table.owners.get(&unit), bitmap.is_set(unit), fragments) {
            (Some(&ino), false, false) => {
                findings.push(Finding::BlockInUseButFree { block: unit, ino })
            }
            (None, true, false) => findings.push(Finding::BlockMarkedButUnused { block: unit }),
            (Some(&ino), false, true) => findings.push(Finding::FragmentInUseButFree {
                fragment: unit,
                ino,
            }),
            (None, true, true) => findings.push(Finding::FragmentLost { fragment: unit }),
            _ => {}
        }
    }
    if let Some(bit) = bitmap.first_clear_padding_bit() {
        findings.push(Finding::BitmapPaddingClear { bit });
    }

    let free_blocks = bitmap.count_free();
    if superblock.free_blocks != free_blocks {
        findings.push(Finding::FreeBlockCount {
            stored: superblock.free_blocks,
            actual: free_blocks,
        });
    }
    let free_inodes = table.free;
    if superblock.free_inodes != free_inodes {
        findings.push(Finding::FreeInodeCount {
            stored: superblock.free_inodes,
            actual: free_inodes,
        });
    }
    Ok(bitmap)
}
