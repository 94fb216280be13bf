// SPDX-License-Identifier: GPL-2.0
//! Pass 1: every inode's fields and block map; which inode owns each block.

use std::collections::{HashMap, HashSet};
use std::io;

use super::blocks::{check_preallocated, check_stored_blocks, StoredBlock};
use super::finding::Finding;
use crate::address::Extent;
use crate::block_map::PointerSite;
use crate::block_walk::{walk_block_map, BlockRole, PointerFault};
use crate::constants::{INODE_SIZE, ROOT_INO};
use crate::device::BlockDevice;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode, InodeProblem, MAX_SYMLINK_LEN};
use crate::lz4;
use crate::tail_block::{parse_header, stored_tail, StoredTail, TailError, TailPlace};

/// What pass 1 learnt about one inode.
pub(super) struct InodeRecord {
    /// The decoded inode.
    pub inode: Inode,
    /// Mode is not 0.
    pub in_use: bool,
    /// For a directory: `(file_block, block)` of every usable data block, in file order.
    pub dir_blocks: Vec<(u64, Extent)>,
}

/// Pass 1's results.
pub(super) struct InodeTable {
    /// The inodes in use, by number, in order: only those, so that fsck
    /// of a large image with few files needs little memory (a record of
    /// every inode of a 4 GiB image of 1 KiB blocks was a million).
    records: Vec<(u32, InodeRecord)>,
    /// Inodes in the table.
    count: u32,
    /// Free inodes.
    pub free: u32,
    /// What [`InodeTable::get`] gives for a free inode.
    free_record: InodeRecord,
    /// Owner inode of every block some block map uses.
    pub owners: HashMap<u32, u32>,
    /// What the owned fragments hold.
    pub usage: Usage,
    /// The packed tails of each tail block: `(ino, tail_offset, L)`.
    pub tails: HashMap<u32, Vec<(u32, u32, u32)>>,
}

/// Fragments (blocks without fragments) in use by kind, for the space a
/// tree takes (fsck.toyfs -v): each owned fragment is counted once, under
/// the first inode that names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Data runs of regular files, plain or compressed.
    pub file_data: u32,
    /// Of `file_data`, the compressed runs.
    pub compressed: u32,
    /// Data runs of directories.
    pub directories: u32,
    /// Indirect blocks of files and directories.
    pub indirect: u32,
    /// Bytes of the regular files (their sizes).
    pub file_bytes: u64,
    /// Of `file_data`, the whole tail blocks (PACKED_TAILS).
    pub tail_blocks: u32,
    /// Files whose last block is packed in a tail block.
    pub packed_tails: u32,
}

impl InodeTable {
    /// The record of inode `ino`, if it is in range (a free inode's is
    /// all zeros and not in use).
    pub fn get(&self, ino: u32) -> Option<&InodeRecord> {
        if ino == 0 || ino > self.count {
            return None;
        }
        Some(
            match self
                .records
                .binary_search_by_key(&ino, |&(number, _)| number)
            {
                Ok(at) => &self.records[at].1,
                Err(_) => &self.free_record,
            },
        )
    }

    /// The inodes in use and their records, in inode order.
    pub fn in_use(&self) -> impl Iterator<Item = (u32, &InodeRecord)> {
        self.records.iter().map(|(ino, record)| (*ino, record))
    }
}

/// Inodes read from the table at a time (1 MiB).
const TABLE_CHUNK: usize = 8192;

/// Reads the inode table and walks every in-use inode's block map.
pub(super) fn check_inodes<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    decompress: bool,
    findings: &mut Vec<Finding>,
) -> io::Result<InodeTable> {
    let count = geometry.inode_count();
    let mut table = InodeTable {
        records: Vec::new(),
        count,
        free: 0,
        free_record: InodeRecord {
            inode: Inode::default(),
            in_use: false,
            dir_blocks: Vec::new(),
        },
        owners: HashMap::new(),
        usage: Usage::default(),
        tails: HashMap::new(),
    };
    let table_start = geometry.block_offset(geometry.inode_table_start());
    let mut chunk = vec![0u8; TABLE_CHUNK * INODE_SIZE];
    let mut first = 0usize;
    while first < count as usize {
        let inodes = TABLE_CHUNK.min(count as usize - first);
        let bytes = &mut chunk[..inodes * INODE_SIZE];
        device.read_at(table_start + (first * INODE_SIZE) as u64, bytes)?;
        for (index, bytes) in bytes.chunks_exact(INODE_SIZE).enumerate() {
            // CAST: below `inode_count`, a `u32`.
            let ino = (first + index) as u32 + 1;
            if bytes.iter().all(|&byte| byte == 0) {
                table.free += 1;
                continue;
            }
            let mut raw = [0u8; INODE_SIZE];
            raw.copy_from_slice(bytes);
            let inode = Inode::decode(&raw);
            if inode.is_free() {
                // With GENERATIONS a freed inode keeps its generation.
                if !inode.is_clean_free(geometry) {
                    findings.push(Finding::FreeInodeNotZeroed { ino });
                }
                table.free += 1;
                continue;
            }
            let mut record = InodeRecord {
                inode,
                in_use: true,
                dir_blocks: Vec::new(),
            };
            check_inode(
                device,
                geometry,
                decompress,
                ino,
                &mut record,
                &mut table,
                findings,
            )?;
            table.records.push((ino, record));
        }
        first += inodes;
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
    check_tail_blocks(device, geometry, decompress, &mut table, findings)?;
    Ok(table)
}

/// Every tail block the packed tails name: no other pointer names any of
/// its fragments (they are then owned, by its first tail's inode, for the
/// bitmap check), its header is sound and counts its tails, each tail is
/// sound (a compressed one: its header, its length, smaller than plain,
/// and with `decompress` its data), and no two tails overlap.  Its
/// fragments count as file data.
fn check_tail_blocks<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    decompress: bool,
    table: &mut InodeTable,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let mut blocks: Vec<_> = table.tails.drain().collect();
    blocks.sort_unstable_by_key(|&(block, _)| block);
    for (block, mut tails) in blocks {
        tails.sort_unstable_by_key(|&(ino, offset, _)| (TailPlace::of(offset).offset, ino));
        let extent = geometry.whole_block(block);
        let first_ino = tails[0].0;
        let owner = extent
            .fragments()
            .find_map(|fragment| table.owners.get(&fragment).copied());
        if let Some(owner) = owner {
            findings.push(Finding::TailBlockOwnedTwice {
                block,
                owner,
                ino: first_ino,
            });
            continue;
        }
        for fragment in extent.fragments() {
            table.owners.insert(fragment, first_ino);
        }
        table.usage.file_data += extent.count;
        table.usage.tail_blocks += 1;
        // CAST: inodes, a `u32`.
        table.usage.packed_tails += tails.len() as u32;
        let mut bytes = vec![0u8; geometry.block_bytes()];
        device.read_at(geometry.block_offset(block), &mut bytes)?;
        match parse_header(&bytes, geometry) {
            Err(error) => findings.push(Finding::BadTailBlock { block, error }),
            // CAST: inodes, a `u32`.
            Ok(stored) if stored != tails.len() as u32 => findings.push(Finding::TailCount {
                block,
                stored,
                actual: tails.len() as u32,
            }),
            Ok(_) => {}
        }
        // Each tail's offset and the bytes it takes; one its block cannot
        // give back takes none.
        let tails: Vec<_> = tails
            .into_iter()
            .map(|(ino, tail_offset, len)| {
                let place = TailPlace::of(tail_offset);
                let stored = stored_tail(&bytes, geometry, place, len).and_then(|stored| {
                    if let (true, StoredTail::Compressed(header, data)) = (decompress, stored) {
                        lz4::decompress(data, usize::from(header.length))
                            .map_err(TailError::Compressed)?;
                    }
                    Ok(stored.stored_len())
                });
                let taken = stored.unwrap_or_else(|error| {
                    findings.push(Finding::BadPackedTail { block, ino, error });
                    0
                });
                (ino, place.offset, taken)
            })
            .collect();
        for pair in tails.windows(2) {
            let ((lower, offset, len), (ino, next, _)) = (pair[0], pair[1]);
            if offset + len > next {
                findings.push(Finding::TailsOverlap {
                    block,
                    first_ino: lower,
                    ino,
                });
            }
        }
    }
    Ok(())
}

fn check_inode<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    decompress: bool,
    ino: u32,
    record: &mut InodeRecord,
    table: &mut InodeTable,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let InodeTable {
        owners,
        usage,
        tails,
        ..
    } = table;
    let inode = &record.inode;
    let problems = inode.problems(geometry);
    // A packed tail whose offset breaks no rule: its last block is in a
    // tail block, checked once every inode is known.
    let packed_tail = (inode.tail_offset != 0
        && !problems.iter().any(|problem| {
            matches!(
                problem,
                InodeProblem::BadTailOffset { .. } | InodeProblem::ReservedNotZero
            )
        }))
    .then(|| geometry.block_of(inode.size));
    let mut tail_found = false;
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
    if inode.file_type().is_some_and(FileType::is_special) {
        // No block map: a device's `direct[0]` is its number.  A size,
        // blocks or another pointer were reported above
        // (`SpecialWithBlocks`); blocks such a pointer names are left
        // to the bitmap check, which finds them in use and unowned.
        return Ok(());
    }
    if inode.file_type() == Some(FileType::Regular) {
        usage.file_bytes += inode.size;
    }
    let blocks_within_size = inode.blocks_within_size(geometry.block_size());
    let mut counted = 0u32;
    // Indirect blocks already reported past EOF: their entries are too, silently.
    let mut past_eof_indirect = HashSet::new();
    let mut dir_blocks = Vec::new();
    // Data blocks below the size, to check how each is stored.
    let mut stored = Vec::new();
    // Blocks preallocated past the end (PREALLOC), to check they are zero.
    let mut preallocated = Vec::new();
    let may_preallocate = geometry.has_prealloc() && inode.file_type() == Some(FileType::Regular);
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
        if let (Some(last), BlockRole::Data { file_block }) = (packed_tail, pointer.role) {
            if file_block == last {
                tail_found = true;
                if pointer.extent.is_whole_block(geometry) && !pointer.extent.compressed {
                    // CAST: below a block.
                    let len = geometry.offset_in_block(inode.size) as u32;
                    tails
                        .entry(pointer.extent.block(geometry))
                        .or_default()
                        .push((ino, inode.tail_offset, len));
                } else {
                    findings.push(Finding::TailNotInBlock { ino });
                }
                return true;
            }
        }
        let mut first_conflict = None;
        for fragment in pointer.extent.fragments() {
            match owners.get(&fragment) {
                Some(&first_ino) => {
                    first_conflict.get_or_insert((fragment, first_ino));
                }
                None => {
                    owners.insert(fragment, ino);
                }
            }
        }
        if let Some((fragment, first_ino)) = first_conflict {
            findings.push(if geometry.has_fragments() {
                Finding::FragmentOwnedTwice {
                    fragment,
                    first_ino,
                    ino,
                    site: pointer.site,
                }
            } else {
                Finding::DoubleReference {
                    block: fragment,
                    first_ino,
                    ino,
                    site: pointer.site,
                }
            });
            return false;
        }
        counted += pointer.extent.count;
        let count = pointer.extent.count;
        match pointer.role {
            BlockRole::Indirect { .. } => usage.indirect += count,
            BlockRole::Data { .. } if is_directory => usage.directories += count,
            BlockRole::Data { .. } => {
                usage.file_data += count;
                if pointer.extent.compressed {
                    usage.compressed += count;
                }
            }
        }
        let file_block = pointer.role.first_file_block();
        if file_block >= blocks_within_size && may_preallocate {
            // With PREALLOC a regular file keeps blocks past its end:
            // whole plain blocks (of zeros, checked below) and the
            // indirect blocks that hold them.
            match pointer.role {
                BlockRole::Indirect { .. } => {}
                BlockRole::Data { file_block }
                    if !pointer.extent.compressed && pointer.extent.is_whole_block(geometry) =>
                {
                    preallocated.push(StoredBlock {
                        file_block,
                        extent: pointer.extent,
                    });
                }
                BlockRole::Data { .. } => findings.push(Finding::BlockPastEof {
                    ino,
                    site: pointer.site,
                    block: pointer.block,
                    file_block,
                    size: inode.size,
                }),
            }
        } else if file_block >= blocks_within_size {
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
                past_eof_indirect.insert(pointer.extent.block(geometry));
            }
        } else if let BlockRole::Data { file_block } = pointer.role {
            if is_directory {
                dir_blocks.push((file_block, pointer.extent));
            }
            stored.push(StoredBlock {
                file_block,
                extent: pointer.extent,
            });
        }
        true
    })?;
    if packed_tail.is_some() && !tail_found {
        findings.push(Finding::TailNotInBlock { ino });
    }
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
    if size_is_valid {
        check_stored_blocks(
            device,
            geometry,
            ino,
            inode.size,
            &stored,
            decompress,
            may_preallocate,
            findings,
        )?;
        check_preallocated(device, geometry, ino, &preallocated, findings)?;
    }
    let is_symlink = inode.file_type() == Some(FileType::Symlink);
    if is_symlink && (1..=MAX_SYMLINK_LEN).contains(&inode.size) {
        check_symlink_target(device, geometry, ino, inode.size, &stored, findings)?;
    }
    record.dir_blocks = dir_blocks;
    Ok(())
}

/// The target of a symbolic link of `size` bytes (1..=4095) whose data
/// blocks below the size are `stored`: every byte must be stored (a hole
/// reads as NUL) and none may be NUL, as the kernel's `page_get_link`
/// would cut the target at the first one.  A compressed block (which a
/// symbolic link never has: its flags are 0) is left to the other checks.
fn check_symlink_target<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    ino: u32,
    size: u64,
    stored: &[StoredBlock],
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let block_size = u64::from(geometry.block_size());
    let mut target = vec![0u8; size as usize];
    for block in stored {
        let start = block.file_block * block_size;
        if block.extent.compressed || start >= size {
            continue;
        }
        let len = (size - start)
            .min(block.extent.byte_len(geometry) as u64)
            .min(block_size) as usize;
        let start = start as usize;
        device.read_at(
            block.extent.byte_offset(geometry),
            &mut target[start..start + len],
        )?;
    }
    if let Some(offset) = target.iter().position(|&byte| byte == 0) {
        findings.push(Finding::SymlinkTargetNul {
            ino,
            offset: offset as u64,
        });
    }
    Ok(())
}
