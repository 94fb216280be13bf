// SPDX-License-Identifier: GPL-2.0
//! Pass 1: every inode's fields and block map; which inode owns each block.

use std::collections::{HashMap, HashSet};
use std::io;

use super::finding::Finding;
use crate::block_map::PointerSite;
use crate::block_walk::{walk_block_map, BlockRole, PointerFault};
use crate::constants::{INODE_SIZE, ROOT_INO};
use crate::device::BlockDevice;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode, InodeProblem};

/// What pass 1 learnt about one inode.
pub(super) struct InodeRecord {
    /// The decoded inode.
    pub inode: Inode,
    /// Mode is not 0.
    pub in_use: bool,
    /// For a directory: `(file_block, block)` of every usable data block, in file order.
    pub dir_blocks: Vec<(u64, u32)>,
}

/// Pass 1's results.
pub(super) struct InodeTable {
    /// Index `ino - 1`.
    pub records: Vec<InodeRecord>,
    /// Owner inode of every block some block map uses.
    pub owners: HashMap<u32, u32>,
}

impl InodeTable {
    /// The record of inode `ino`, if it is in range.
    pub fn get(&self, ino: u32) -> Option<&InodeRecord> {
        self.records.get(usize::try_from(ino).ok()?.checked_sub(1)?)
    }
}

/// Reads the inode table and walks every in-use inode's block map.
pub(super) fn check_inodes<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    findings: &mut Vec<Finding>,
) -> io::Result<InodeTable> {
    let mut table_bytes = vec![0u8; geometry.inode_count() as usize * INODE_SIZE];
    device.read_at(
        geometry.block_offset(geometry.inode_table_start()),
        &mut table_bytes,
    )?;
    let mut table = InodeTable {
        records: Vec::with_capacity(geometry.inode_count() as usize),
        owners: HashMap::new(),
    };
    for (index, bytes) in table_bytes.chunks_exact(INODE_SIZE).enumerate() {
        let ino = index as u32 + 1;
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(bytes);
        let inode = Inode::decode(&raw);
        let in_use = !inode.is_free();
        let mut record = InodeRecord {
            inode,
            in_use,
            dir_blocks: Vec::new(),
        };
        if !in_use {
            if raw.iter().any(|&byte| byte != 0) {
                findings.push(Finding::FreeInodeNotZeroed { ino });
            }
        } else {
            check_inode(
                device,
                geometry,
                ino,
                &mut record,
                &mut table.owners,
                findings,
            )?;
        }
        table.records.push(record);
    }
    match table.get(ROOT_INO) {
        Some(root) if !root.in_use => findings.push(Finding::RootFree),
        Some(root) if root.inode.file_type() != Some(FileType::Directory) => {
            findings.push(Finding::RootNotDirectory {
                mode: root.inode.mode,
            })
        }
        _ => {}
    }
    Ok(table)
}

fn check_inode<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    ino: u32,
    record: &mut InodeRecord,
    owners: &mut HashMap<u32, u32>,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let inode = &record.inode;
    let problems = inode.problems(geometry);
    let size_is_valid = !problems.iter().any(|problem| {
        matches!(
            problem,
            InodeProblem::SizeTooLarge { .. } | InodeProblem::DirectorySize { .. }
        )
    });
    findings.extend(
        problems
            .into_iter()
            .map(|problem| Finding::InodeField { ino, problem }),
    );

    let is_directory = inode.file_type() == Some(FileType::Directory);
    let blocks_within_size = inode.blocks_within_size(geometry.block_size());
    let mut counted = 0u32;
    // Indirect blocks already reported past EOF: their entries are too, silently.
    let mut past_eof_indirect = HashSet::new();
    let mut dir_blocks = Vec::new();
    // The block holding the last byte, whose tail past EOF must be zero.
    let mut eof_block = None;
    walk_block_map(device, geometry, inode, |pointer| {
        if let Err(why) = pointer.verdict {
            findings.push(Finding::BadPointer(PointerFault {
                ino,
                site: pointer.site,
                block: pointer.block,
                why,
            }));
            return false;
        }
        if let Some(&first_ino) = owners.get(&pointer.block) {
            findings.push(Finding::DoubleReference {
                block: pointer.block,
                first_ino,
                ino,
                site: pointer.site,
            });
            return false;
        }
        owners.insert(pointer.block, ino);
        counted += 1;
        let file_block = pointer.role.first_file_block();
        if file_block >= blocks_within_size {
            let parent_reported = matches!(
                pointer.site,
                PointerSite::IndirectEntry { indirect_block, .. } if past_eof_indirect.contains(&indirect_block)
            );
            if !parent_reported {
                findings.push(Finding::BlockPastEof {
                    ino,
                    site: pointer.site,
                    block: pointer.block,
                    file_block,
                    size: inode.size,
                });
            }
            if matches!(pointer.role, BlockRole::Indirect { .. }) {
                past_eof_indirect.insert(pointer.block);
            }
        } else if let BlockRole::Data { file_block } = pointer.role {
            if is_directory {
                dir_blocks.push((file_block, pointer.block));
            }
            if file_block + 1 == blocks_within_size {
                eof_block = Some(pointer.block);
            }
        }
        true
    })?;
    if counted != inode.blocks {
        findings.push(Finding::BlockCount {
            ino,
            stored: inode.blocks,
            actual: counted,
        });
    }
    if is_directory && size_is_valid {
        let mut present = dir_blocks
            .iter()
            .map(|&(file_block, _)| file_block)
            .peekable();
        for file_block in 0..blocks_within_size {
            if present.next_if_eq(&file_block).is_none() {
                findings.push(Finding::DirectoryHole { ino, file_block });
            }
        }
    }
    let tail_start = (inode.size % u64::from(geometry.block_size())) as usize;
    if let (Some(block), Some(FileType::Regular), true, true) =
        (eof_block, inode.file_type(), size_is_valid, tail_start != 0)
    {
        let mut bytes = vec![0u8; geometry.block_size() as usize];
        device.read_at(geometry.block_offset(block), &mut bytes)?;
        if let Some(position) = bytes[tail_start..].iter().position(|&byte| byte != 0) {
            findings.push(Finding::TailNotZero {
                ino,
                block,
                offset: inode.size + position as u64,
            });
        }
    }
    record.dir_blocks = dir_blocks;
    Ok(())
}
