// SPDX-License-Identifier: GPL-2.0
//! Each kind of damage fsck must find, injected into a clean image, with
//! the exact findings it must produce: the damage itself and nothing that
//! is not a consequence of it.

mod support;

use support::*;
use toyfs_format::block_map::PointerSite;
use toyfs_format::block_walk::{BadPointer, PointerFault};
use toyfs_format::check::{check, EntryName, Finding};
use toyfs_format::constants::ROOT_INO;
use toyfs_format::dirent::{ChainError, DirBlockError, NameError};
use toyfs_format::features::Features;
use toyfs_format::geometry::GeometryError;
use toyfs_format::inode::{FileType, InodeProblem, S_IFREG};
use toyfs_format::superblock::SuperblockError;
use toyfs_format::{Filesystem, Inode, MemoryDevice};

const BLOCK_SIZE: u32 = 1024;

fn name(text: &str) -> EntryName {
    EntryName(text.as_bytes().to_vec())
}

/// What follows from one block pointer of `ino` no longer being followed:
/// the inode's `blocks` is one more than its map holds, and the block it
/// named is marked in use with no user.
fn pointer_lost(ino: u32, stored_blocks: u32, block: u32) -> (Finding, Finding) {
    (
        Finding::BlockCount {
            ino,
            stored: stored_blocks,
            actual: stored_blocks - 1,
        },
        Finding::BlockMarkedButUnused { block },
    )
}

fn fatal(device: &MemoryDevice) -> Finding {
    let report = check(device).unwrap();
    assert_eq!(report.summary, None, "a fatal finding stops the check");
    assert_eq!(report.findings.len(), 1);
    assert!(report.findings[0].is_fatal());
    report.findings[0].clone()
}

#[test]
fn superblock_damage_stops_the_check() {
    let (clean, _) = populated(BLOCK_SIZE);

    let mut device = clean.clone();
    device.bytes_mut()[0] = b'X';
    assert!(matches!(
        fatal(&device),
        Finding::Superblock(SuperblockError::BadMagic(_))
    ));

    let mut device = clean.clone();
    device.bytes_mut()[13] ^= 0x01;
    assert!(matches!(
        fatal(&device),
        Finding::Superblock(SuperblockError::BadChecksum { .. })
    ));

    let mut device = clean.clone();
    edit_superblock(&mut device, |bytes| {
        bytes[8..12].copy_from_slice(&3000u32.to_le_bytes())
    });
    assert_eq!(
        fatal(&device),
        Finding::Superblock(SuperblockError::Geometry(
            GeometryError::BlockSizeNotPowerOfTwo(3000)
        ))
    );

    let mut device = clean.clone();
    edit_superblock(&mut device, |bytes| bytes[28] = 7);
    assert_eq!(
        fatal(&device),
        Finding::Superblock(SuperblockError::BadState(7))
    );

    let short = MemoryDevice::from_bytes(clean.bytes()[..2047 * 1024].to_vec());
    assert_eq!(
        fatal(&short),
        Finding::ImageTruncated {
            device_bytes: 2047 * 1024,
            filesystem_bytes: 2048 * 1024
        }
    );

    let tiny = MemoryDevice::from_bytes(clean.bytes()[..100].to_vec());
    assert_eq!(fatal(&tiny), Finding::NoSuperblock { device_bytes: 100 });
}

#[test]
fn a_used_block_marked_free() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.small, 0);
    set_bitmap_bit(&mut device, block, false);
    assert_eq!(
        findings(&device),
        [
            Finding::BlockInUseButFree {
                block,
                ino: files.small
            },
            // The superblock still counts the block as used.
            Finding::FreeBlockCount {
                stored: read_free_blocks(&device),
                actual: read_free_blocks(&device) + 1
            },
        ]
    );
}

fn read_free_blocks(device: &MemoryDevice) -> u32 {
    u32::from_le_bytes(device.bytes()[20..24].try_into().unwrap())
}

#[test]
fn a_leaked_block_marked_used() {
    let (mut device, _) = populated(BLOCK_SIZE);
    set_bitmap_bit(&mut device, 2000, true);
    adjust_free_blocks(&mut device, -1);
    assert_eq!(
        findings(&device),
        [Finding::BlockMarkedButUnused { block: 2000 }]
    );
}

#[test]
fn metadata_and_padding_bits_must_be_set() {
    let (mut device, _) = populated(BLOCK_SIZE);
    set_bitmap_bit(&mut device, 5, false);
    adjust_free_blocks(&mut device, 1);
    assert_eq!(findings(&device), [Finding::MetadataBlockFree { block: 5 }]);

    // 2048 blocks fill a 1 KiB bitmap block exactly: use a filesystem with padding.
    let mut device = empty(BLOCK_SIZE, 1000, 16);
    set_bitmap_bit(&mut device, 1003, false);
    assert_eq!(
        findings(&device),
        [Finding::BitmapPaddingClear { bit: 1003 }]
    );
}

#[test]
fn free_counts_must_match() {
    let (mut device, _) = populated(BLOCK_SIZE);
    let stored = read_free_blocks(&device);
    adjust_free_blocks(&mut device, -3);
    assert_eq!(
        findings(&device),
        [Finding::FreeBlockCount {
            stored: stored - 3,
            actual: stored
        }]
    );

    let (mut device, _) = populated(BLOCK_SIZE);
    edit_superblock(&mut device, |bytes| {
        bytes[24..28].copy_from_slice(&10u32.to_le_bytes())
    });
    assert_eq!(
        findings(&device),
        [Finding::FreeInodeCount {
            stored: 10,
            actual: 64 - 6
        }]
    );
}

#[test]
fn pointers_out_of_range_or_into_metadata() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.small, 0);
    edit_inode(&mut device, files.small, |inode| inode.direct[0] = 2048);
    let lost = pointer_lost(files.small, 1, block);
    assert_eq!(
        findings(&device),
        [
            Finding::BadPointer(PointerFault {
                ino: files.small,
                site: PointerSite::Direct(0),
                block: 2048,
                why: BadPointer::OutOfRange
            }),
            lost.0,
            lost.1,
        ]
    );

    let (mut device, files) = populated(BLOCK_SIZE);
    let single = read_inode(&device, files.sparse).single_indirect;
    edit_inode(&mut device, files.sparse, |inode| inode.single_indirect = 9);
    let report = findings(&device);
    assert_eq!(
        report[0],
        Finding::BadPointer(PointerFault {
            ino: files.sparse,
            site: PointerSite::SingleIndirect,
            block: 9,
            why: BadPointer::IntoMetadata
        })
    );
    // The real single-indirect block and the data block under it are now leaked.
    assert!(report.contains(&Finding::BlockMarkedButUnused { block: single }));
}

#[test]
fn a_bad_pointer_inside_an_indirect_block() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let single = read_inode(&device, files.sparse).single_indirect;
    let data = data_block(&device, files.sparse, 20);
    // Entry 8 of the single-indirect block holds file block 20.
    let entry = block_offset(&device, single) + 8 * 4;
    device.bytes_mut()[entry..entry + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let lost = pointer_lost(files.sparse, 7, data);
    assert_eq!(
        findings(&device),
        [
            Finding::BadPointer(PointerFault {
                ino: files.sparse,
                site: PointerSite::IndirectEntry {
                    indirect_block: single,
                    index: 8
                },
                block: u32::MAX,
                why: BadPointer::OutOfRange
            }),
            lost.0,
            lost.1,
        ]
    );
}

#[test]
fn a_block_used_by_two_files() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let shared = data_block(&device, files.small, 0);
    let own = data_block(&device, files.nested, 0);
    edit_inode(&mut device, files.nested, |inode| inode.direct[0] = shared);
    let lost = pointer_lost(files.nested, 1, own);
    assert_eq!(
        findings(&device),
        [
            Finding::DoubleReference {
                block: shared,
                first_ino: files.small,
                ino: files.nested,
                site: PointerSite::Direct(0)
            },
            lost.0,
            lost.1,
        ]
    );
}

#[test]
fn a_block_used_twice_by_one_file() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.small, 0);
    edit_inode(&mut device, files.small, |inode| {
        inode.direct[1] = block;
        inode.size = 2 * u64::from(BLOCK_SIZE);
    });
    assert_eq!(
        findings(&device),
        [Finding::DoubleReference {
            block,
            first_ino: files.small,
            ino: files.small,
            site: PointerSite::Direct(1)
        }]
    );
}

#[test]
fn loops_in_indirect_blocks() {
    // The double-indirect block naming itself as one of its single-indirect blocks.
    let (mut device, files) = populated(BLOCK_SIZE);
    let double = read_inode(&device, files.sparse).double_indirect;
    let entry = block_offset(&device, double) + 4;
    device.bytes_mut()[entry..entry + 4].copy_from_slice(&double.to_le_bytes());
    assert_eq!(
        findings(&device),
        [Finding::BadPointer(PointerFault {
            ino: files.sparse,
            site: PointerSite::IndirectEntry {
                indirect_block: double,
                index: 1
            },
            block: double,
            why: BadPointer::Loop
        })]
    );

    // The single-indirect block under it naming the double-indirect block.
    let (mut device, files) = populated(BLOCK_SIZE);
    let double = read_inode(&device, files.sparse).double_indirect;
    let single = u32::from_le_bytes(
        device.bytes()[block_offset(&device, double)..][..4]
            .try_into()
            .unwrap(),
    );
    let entry = block_offset(&device, single) + 4 * 100;
    device.bytes_mut()[entry..entry + 4].copy_from_slice(&double.to_le_bytes());
    assert_eq!(
        findings(&device),
        [Finding::BadPointer(PointerFault {
            ino: files.sparse,
            site: PointerSite::IndirectEntry {
                indirect_block: single,
                index: 100
            },
            block: double,
            why: BadPointer::Loop
        })]
    );
}

#[test]
fn blocks_past_the_end_of_the_file() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let double = read_inode(&device, files.sparse).double_indirect;
    let single = read_inode(&device, files.sparse).single_indirect;
    let data = data_block(&device, files.sparse, 20);
    // Truncated to 20 blocks without freeing: file block 20, the double-
    // indirect subtree (reported once, at its top) are past EOF; the
    // single-indirect block still covers block 12..20.
    edit_inode(&mut device, files.sparse, |inode| {
        inode.size = 20 * u64::from(BLOCK_SIZE)
    });
    let size = 20 * u64::from(BLOCK_SIZE);
    assert_eq!(
        findings(&device),
        [
            Finding::BlockPastEof {
                ino: files.sparse,
                site: PointerSite::IndirectEntry {
                    indirect_block: single,
                    index: 8
                },
                block: data,
                file_block: 20,
                size
            },
            Finding::BlockPastEof {
                ino: files.sparse,
                site: PointerSite::DoubleIndirect,
                block: double,
                file_block: 12 + 256,
                size
            },
        ]
    );
}

#[test]
fn blocks_preallocated_past_the_end_of_the_file() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.small, 0);
    // "small" cut to 0 bytes without freeing: its block, which holds its
    // old bytes, is past the end.
    edit_inode(&mut device, files.small, |inode| inode.size = 0);
    let past_eof = Finding::BlockPastEof {
        ino: files.small,
        site: PointerSite::Direct(0),
        block,
        file_block: 0,
        size: 0,
    };
    assert_eq!(findings(&device), std::slice::from_ref(&past_eof));
    // With PREALLOC a block past the end is allowed, but its bytes must
    // be zero: a later extension of the file would expose them.
    edit_superblock(&mut device, |bytes| bytes[60] |= 0x10);
    assert_eq!(
        findings(&device),
        [Finding::TailNotZero {
            ino: files.small,
            block,
            offset: 0
        }]
    );
    let offset = block_offset(&device, block);
    device.bytes_mut()[offset..offset + BLOCK_SIZE as usize].fill(0);
    assert_eq!(findings(&device), []);
    // A directory keeps no block past its end, PREALLOC or not.
    edit_inode(&mut device, files.sub, |inode| {
        inode.size = 0;
    });
    assert!(findings(&device).iter().any(|finding| matches!(
        finding,
        Finding::BlockPastEof { ino, .. } if *ino == files.sub
    )));
}

#[test]
fn a_whole_last_block_is_preallocated_with_fragments() {
    // 1 KiB blocks of four 256-byte fragments: a file of 1024 bytes in a
    // whole block, cut to 100 bytes without its run cut to one fragment,
    // its bytes past 100 zero (as a file grown into a preallocated block
    // ends).
    let mut fs = Filesystem::open(
        empty_with(BLOCK_SIZE, 2048, 64, Features::fragments(256)),
        NOW,
    )
    .unwrap();
    let ino = fs.create(ROOT_INO, b"grown", 0o644).unwrap();
    let mut data = vec![0u8; BLOCK_SIZE as usize];
    data[..100].fill(0x5a);
    fs.write(ino, 0, &data).unwrap();
    let mut device = fs.close().unwrap();
    let block = data_block(&device, ino, 0);
    edit_inode(&mut device, ino, |inode| inode.size = 100);
    assert_eq!(
        findings(&device),
        [Finding::TailNotFewest {
            ino,
            file_block: 0,
            count: 4,
            fewest: 1
        }]
    );
    edit_superblock(&mut device, |bytes| bytes[60] |= 0x10);
    assert_eq!(findings(&device), []);
    // Still zero past the end.
    let offset = block_offset(&device, block) + 700;
    device.bytes_mut()[offset] = 1;
    assert_eq!(
        findings(&device),
        [Finding::TailNotZero {
            ino,
            block,
            offset: 700
        }]
    );
}

#[test]
fn blocks_preallocated_through_the_triple_indirect_block() {
    // PREALLOC and LARGE_FILES together: a file of 100 bytes whose block
    // past its end is the triple-indirect level's first (a KEEP_SIZE
    // preallocation that far), on 512-byte blocks.
    let mut fs = Filesystem::open(empty(512, 64, 16), NOW).unwrap();
    let ino = fs.create(ROOT_INO, b"far", 0o644).unwrap();
    let first = fs.geometry().double_reach_blocks();
    fs.write(ino, first * 512, &[0u8; 512]).unwrap();
    assert!(fs.geometry().has_large_files());
    let mut device = fs.close().unwrap();
    let top = read_inode(&device, ino).triple_indirect;
    let block = data_block(&device, ino, first);
    assert_ne!(top, 0);
    edit_inode(&mut device, ino, |inode| inode.size = 100);
    // Without PREALLOC the triple-indirect subtree is past the end
    // (reported once, at its top).
    assert_eq!(
        findings(&device),
        [Finding::BlockPastEof {
            ino,
            site: PointerSite::TripleIndirect,
            block: top,
            file_block: first,
            size: 100
        }]
    );
    // PREALLOC is 0x10, beside LARGE_FILES's 0x8: the blocks are allowed.
    edit_superblock(&mut device, |bytes| bytes[60] |= 0x10);
    assert_eq!(findings(&device), []);
    // Still zero.
    let offset = block_offset(&device, block) + 7;
    device.bytes_mut()[offset] = 1;
    assert_eq!(
        findings(&device),
        [Finding::TailNotZero {
            ino,
            block,
            offset: first * 512 + 7
        }]
    );
    device.bytes_mut()[offset] = 0;
    // PREALLOC does not stand for LARGE_FILES: a triple-indirect block
    // still needs it.
    edit_superblock(&mut device, |bytes| bytes[60] &= !0x8);
    assert_eq!(
        findings(&device),
        [Finding::InodeField {
            ino,
            problem: InodeProblem::TripleWithoutFeature
        }]
    );
}

#[test]
fn sizes_beyond_the_block_map() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let maximum = geometry(&device).max_file_size();
    edit_inode(&mut device, files.small, |inode| inode.size = maximum + 1);
    assert_eq!(
        findings(&device),
        [Finding::InodeField {
            ino: files.small,
            problem: InodeProblem::SizeTooLarge {
                size: maximum + 1,
                maximum
            }
        }]
    );
}

#[test]
fn block_count_must_match_the_map() {
    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.sparse, |inode| inode.blocks = 3);
    assert_eq!(
        findings(&device),
        [Finding::BlockCount {
            ino: files.sparse,
            stored: 3,
            actual: 7
        }]
    );
}

#[test]
fn bad_inode_fields() {
    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.small, |inode| {
        inode.mtime.nsec = 1_000_000_000;
        inode.flags = 1;
        inode.tail_offset = 1 << 20;
    });
    let problems = [
        InodeProblem::BadFlags(1),
        InodeProblem::NsecOutOfRange {
            field: "mtime",
            nsec: 1_000_000_000,
        },
        InodeProblem::ReservedNotZero,
    ];
    let expected: Vec<Finding> = problems
        .into_iter()
        .map(|problem| Finding::InodeField {
            ino: files.small,
            problem,
        })
        .collect();
    assert_eq!(findings(&device), expected);

    // A type toyfs does not store, and its entry no longer matches.
    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.small, |inode| inode.mode = 0o160_777);
    assert_eq!(
        findings(&device),
        [
            Finding::InodeField {
                ino: files.small,
                problem: InodeProblem::UnknownFileType { mode: 0o160_777 }
            },
            Finding::FileTypeMismatch {
                dir: ROOT_INO,
                name: name("small"),
                ino: files.small,
                entry_type: 1,
                inode_type: None
            },
        ]
    );

    // A symlink type in an image that never had the SPECIAL_FILES
    // feature set: refused, as a toyfs before the feature refuses it.
    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.small, |inode| inode.mode = 0o120_777);
    assert_eq!(
        findings(&device),
        [
            Finding::InodeField {
                ino: files.small,
                problem: InodeProblem::SpecialWithoutFeature { mode: 0o120_777 }
            },
            Finding::FileTypeMismatch {
                dir: ROOT_INO,
                name: name("small"),
                ino: files.small,
                entry_type: 1,
                inode_type: Some(FileType::Symlink)
            },
        ]
    );
}

#[test]
fn a_free_inode_with_leftovers() {
    let (mut device, _) = populated(BLOCK_SIZE);
    let offset = geometry(&device).inode_offset(40).unwrap() as usize;
    device.bytes_mut()[offset + 64] = 1;
    assert_eq!(findings(&device), [Finding::FreeInodeNotZeroed { ino: 40 }]);
}

#[test]
fn generations_need_the_feature() {
    // A free inode keeps its generation (bytes 14..16) with GENERATIONS
    // only; an inode in use has one with it only.
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = geometry(&device).inode_offset(40).unwrap() as usize;
    device.bytes_mut()[offset + 14] = 9;
    edit_inode(&mut device, files.small, |inode| inode.generation = 3);
    assert_eq!(
        findings(&device),
        [
            Finding::InodeField {
                ino: files.small,
                problem: InodeProblem::GenerationWithoutFeature { generation: 3 }
            },
            Finding::FreeInodeNotZeroed { ino: 40 },
        ]
    );
    // GENERATIONS is 0x40.
    edit_superblock(&mut device, |bytes| bytes[60] |= 0x40);
    assert!(geometry(&device).has_generations());
    assert_eq!(findings(&device), []);
    // Anything else in a free inode is still damage.
    device.bytes_mut()[offset + 12] = 4;
    assert_eq!(findings(&device), [Finding::FreeInodeNotZeroed { ino: 40 }]);
}

#[test]
fn directory_holes_and_sizes() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.dir, 0);
    edit_inode(&mut device, files.dir, |inode| {
        inode.direct[0] = 0;
        inode.blocks = 0;
    });
    // Its entries are gone: "sub" is unreachable, "nested" keeps only its
    // root link, and "dir" has lost the ".." of "sub".
    assert_eq!(
        findings(&device),
        [
            Finding::DirectoryHole {
                ino: files.dir,
                file_block: 0
            },
            Finding::LinkCount {
                ino: files.dir,
                stored: 3,
                counted: 2
            },
            Finding::LinkCount {
                ino: files.nested,
                stored: 2,
                counted: 1
            },
            Finding::Unreachable {
                ino: files.sub,
                references: 0
            },
            Finding::BlockMarkedButUnused { block },
        ]
    );

    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.dir, |inode| inode.size = 1000);
    assert_eq!(
        findings(&device),
        [Finding::InodeField {
            ino: files.dir,
            problem: InodeProblem::DirectorySize {
                size: 1000,
                unit: BLOCK_SIZE
            }
        }]
    );
}

#[test]
fn a_broken_entry_chain() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, files.dir, b"nested");
    device.bytes_mut()[offset + 4..offset + 6].copy_from_slice(&2u16.to_le_bytes());
    let report = findings(&device);
    assert_eq!(
        report[0],
        Finding::BrokenDirectoryBlock {
            dir: files.dir,
            file_block: 0,
            error: DirBlockError {
                offset: offset - block_offset(&device, data_block(&device, files.dir, 0)),
                rec_len: 2,
                kind: ChainError::RecLenUnaligned
            }
        }
    );
}

#[test]
fn entries_naming_free_or_missing_inodes() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"small");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&50u32.to_le_bytes());
    assert_eq!(
        findings(&device),
        [
            Finding::EntryNamesFreeInode {
                dir: ROOT_INO,
                name: name("small"),
                ino: 50
            },
            Finding::Unreachable {
                ino: files.small,
                references: 0
            },
        ]
    );

    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"small");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&65u32.to_le_bytes());
    assert_eq!(
        findings(&device),
        [
            Finding::EntryOutOfRange {
                dir: ROOT_INO,
                name: name("small"),
                ino: 65
            },
            Finding::Unreachable {
                ino: files.small,
                references: 0
            },
        ]
    );
}

/// The populated image with inode 30 in use, a regular file of `nlink`
/// links and no block that no entry names (the free count agrees).
fn with_unnamed_inode(nlink: u16) -> MemoryDevice {
    let (mut device, _) = populated(BLOCK_SIZE);
    let mut inode = Inode {
        mode: S_IFREG | 0o644,
        nlink,
        ..Inode::default()
    };
    inode.ctime.sec = 1;
    let offset = geometry(&device).inode_offset(30).unwrap();
    toyfs_format::BlockDevice::write_at(&mut device, offset, &inode.encode()).unwrap();
    edit_superblock(&mut device, |bytes| {
        let free = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) - 1;
        bytes[24..28].copy_from_slice(&free.to_le_bytes());
    });
    device
}

#[test]
fn an_unnamed_inode_with_a_link_is_unreachable() {
    let device = with_unnamed_inode(1);
    assert_eq!(
        findings(&device),
        [Finding::Unreachable {
            ino: 30,
            references: 0
        }]
    );
}

/// What a crash leaves of a file (or directory) unlinked while open, or
/// of an `O_TMPFILE` file never linked: in use, no link, no entry.  An orphan
/// and nothing else (its blocks are its own, counted in use); with a
/// link still counted it is damage, an unreachable inode.
#[test]
fn an_unlinked_open_file_at_a_crash_is_an_orphan() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"small");
    device.bytes_mut()[offset..offset + 4].fill(0);
    edit_inode(&mut device, files.small, |inode| inode.nlink = 0);
    assert_eq!(findings(&device), [Finding::Orphan { ino: files.small }]);

    // The same with its link count not written yet: unreachable.
    edit_inode(&mut device, files.small, |inode| inode.nlink = 1);
    assert_eq!(
        findings(&device),
        [Finding::Unreachable {
            ino: files.small,
            references: 0
        }]
    );

    // A directory removed while open: its "." and ".." stay, its
    // parent lost the link of its "..".
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, files.dir, b"sub");
    device.bytes_mut()[offset..offset + 4].fill(0);
    edit_inode(&mut device, files.sub, |inode| inode.nlink = 0);
    edit_inode(&mut device, files.dir, |inode| inode.nlink = 2);
    assert_eq!(findings(&device), [Finding::Orphan { ino: files.sub }]);

    // A new inode with no link and no block (an O_TMPFILE file).
    assert_eq!(
        findings(&with_unnamed_inode(0)),
        [Finding::Orphan { ino: 30 }]
    );
}

#[test]
fn link_counts() {
    let (mut device, files) = populated(BLOCK_SIZE);
    edit_inode(&mut device, files.nested, |inode| inode.nlink = 1);
    edit_inode(&mut device, files.dir, |inode| inode.nlink = 2);
    edit_inode(&mut device, ROOT_INO, |inode| inode.nlink = 4);
    assert_eq!(
        findings(&device),
        [
            Finding::LinkCount {
                ino: ROOT_INO,
                stored: 4,
                counted: 3
            },
            Finding::LinkCount {
                ino: files.dir,
                stored: 2,
                counted: 3
            },
            Finding::LinkCount {
                ino: files.nested,
                stored: 1,
                counted: 2
            },
        ]
    );
}

#[test]
fn entry_types_names_and_duplicates() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"dir");
    device.bytes_mut()[offset + 7] = 1;
    assert_eq!(
        findings(&device),
        [Finding::FileTypeMismatch {
            dir: ROOT_INO,
            name: name("dir"),
            ino: files.dir,
            entry_type: 1,
            inode_type: Some(FileType::Directory)
        }]
    );

    // "hardlink" renamed to "small": same length, so the chain is intact.
    let (mut device, _) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"hardlink");
    device.bytes_mut()[offset + 6] = 5;
    device.bytes_mut()[offset + 8..offset + 13].copy_from_slice(b"small");
    assert_eq!(
        findings(&device),
        [Finding::DuplicateName {
            dir: ROOT_INO,
            name: name("small")
        }]
    );

    let (mut device, _) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"small");
    device.bytes_mut()[offset + 9] = b'/';
    assert_eq!(
        findings(&device),
        [Finding::BadEntryName {
            dir: ROOT_INO,
            name: name("s/all"),
            error: NameError::ForbiddenByte(b'/')
        }]
    );
}

#[test]
fn dot_and_dotdot() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, files.sub, b".");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&files.dir.to_le_bytes());
    assert_eq!(
        findings(&device),
        [Finding::DotEntry {
            dir: files.sub,
            which: ".",
            found_name: Some(name(".")),
            found_ino: files.dir,
            expected_ino: files.sub
        }]
    );

    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, files.sub, b"..");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&ROOT_INO.to_le_bytes());
    assert_eq!(
        findings(&device),
        [Finding::DotEntry {
            dir: files.sub,
            which: "..",
            found_name: Some(name("..")),
            found_ino: ROOT_INO,
            expected_ino: files.dir
        }]
    );
}

#[test]
fn directory_graph_damage() {
    // "hardlink" pointed at "sub": a second parent for a directory.
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"hardlink");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&files.sub.to_le_bytes());
    device.bytes_mut()[offset + 7] = 2;
    // The root's entry is found first, so "sub"'s ".." now looks wrong too,
    // and "nested" lost the "hardlink" name.
    assert_eq!(
        findings(&device),
        [
            Finding::DirectoryLinkedTwice {
                ino: files.sub,
                first_parent: ROOT_INO,
                other_parent: files.dir
            },
            Finding::DotEntry {
                dir: files.sub,
                which: "..",
                found_name: Some(name("..")),
                found_ino: files.dir,
                expected_ino: ROOT_INO
            },
            Finding::LinkCount {
                ino: ROOT_INO,
                stored: 3,
                counted: 4
            },
            Finding::LinkCount {
                ino: files.nested,
                stored: 2,
                counted: 1
            },
        ]
    );

    // "hardlink" pointed at the root.
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, ROOT_INO, b"hardlink");
    device.bytes_mut()[offset..offset + 4].copy_from_slice(&ROOT_INO.to_le_bytes());
    device.bytes_mut()[offset + 7] = 2;
    assert_eq!(
        findings(&device),
        [
            Finding::RootLinked {
                dir: ROOT_INO,
                name: name("hardlink")
            },
            Finding::LinkCount {
                ino: files.nested,
                stored: 2,
                counted: 1
            },
        ]
    );

    // The root turned into a file, then freed.
    let (mut device, _) = populated(BLOCK_SIZE);
    edit_inode(&mut device, ROOT_INO, |inode| inode.mode = S_IFREG | 0o644);
    assert!(findings(&device).contains(&Finding::RootNotDirectory {
        mode: S_IFREG | 0o644
    }));
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = geometry(&device).inode_offset(ROOT_INO).unwrap() as usize;
    device.bytes_mut()[offset..offset + 128].fill(0);
    let mut expected = vec![Finding::RootFree];
    // Without the root nothing is reachable; only entries of "dir" still count.
    for (ino, references) in [
        (files.small, 0),
        (files.sparse, 0),
        (files.dir, 0),
        (files.nested, 1),
        (files.sub, 1),
    ] {
        expected.push(Finding::Unreachable { ino, references });
    }
    expected.push(Finding::BlockMarkedButUnused {
        block: geometry(&device).first_data_block(),
    });
    expected.push(Finding::FreeInodeCount {
        stored: 58,
        actual: 59,
    });
    assert_eq!(findings(&device), expected);
}

#[test]
fn stale_bytes_past_the_end_of_the_file() {
    let (mut device, files) = populated(BLOCK_SIZE);
    let block = data_block(&device, files.small, 0);
    // "small" is 100 bytes; a byte at 700 is what a truncate that forgot to
    // zero the tail would leave, and a later extension would expose.
    let offset = block_offset(&device, block) + 700;
    device.bytes_mut()[offset] = 0xaa;
    assert_eq!(
        findings(&device),
        [Finding::TailNotZero {
            ino: files.small,
            block,
            offset: 700
        }]
    );
}

#[test]
fn an_entry_in_the_place_of_dot_is_still_checked() {
    // The "." of "sub" renamed "x": a missing ".", and an ordinary entry
    // "x" naming "sub" from inside itself.
    let (mut device, files) = populated(BLOCK_SIZE);
    let offset = entry_offset(&device, files.sub, b".");
    device.bytes_mut()[offset + 8] = b'x';
    assert_eq!(
        findings(&device),
        [
            Finding::DotEntry {
                dir: files.sub,
                which: ".",
                found_name: Some(name("x")),
                found_ino: files.sub,
                expected_ino: files.sub
            },
            Finding::DirectoryLinkedTwice {
                ino: files.sub,
                first_parent: files.dir,
                other_parent: files.sub
            },
            Finding::LinkCount {
                ino: files.sub,
                stored: 2,
                counted: 3
            },
        ]
    );
}
