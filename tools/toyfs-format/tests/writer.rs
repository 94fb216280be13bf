// SPDX-License-Identifier: GPL-2.0
//! The library's writer and reader against the checker: what it writes is
//! clean and reads back, holes read as zeros, and refusals change nothing.

mod support;

use support::{empty, findings, populated, sparse_writes, NOW};
use toyfs_format::check::check;
use toyfs_format::constants::ROOT_INO;
use toyfs_format::dirent::NameError;
use toyfs_format::{FileType, Filesystem, FsError, MemoryDevice};

const BLOCK_SIZES: [u32; 4] = [512, 1024, 2048, 4096];

#[test]
fn empty_filesystems_are_clean_at_every_block_size() {
    for block_size in BLOCK_SIZES {
        for (block_count, inode_count) in [(4, 1), (64, 16), (5000, 1000)] {
            let device = empty(block_size, block_count, inode_count);
            let report = check(&device).unwrap();
            assert_eq!(
                report.findings,
                [],
                "{block_size} {block_count} {inode_count}"
            );
            let summary = report.summary.unwrap();
            assert_eq!((summary.inodes_in_use, summary.directories), (1, 1));
        }
    }
}

#[test]
fn populated_filesystems_are_clean_and_read_back_at_every_block_size() {
    for block_size in BLOCK_SIZES {
        let (device, files) = populated(block_size);
        let fs = Filesystem::open(device, NOW).unwrap();
        assert_eq!(fs.read(files.small, 0, 1000).unwrap(), [0x5a; 100]);
        let writes = sparse_writes(block_size);
        let (last_offset, last_data) = writes.last().unwrap();
        let size = last_offset + last_data.len() as u64;
        let sparse = fs.read(files.sparse, 0, usize::MAX).unwrap();
        assert_eq!(sparse.len() as u64, size);
        let mut expected = vec![0u8; size as usize];
        for (offset, data) in &writes {
            expected[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
        }
        assert!(
            sparse == expected,
            "sparse file differs at block size {block_size}"
        );
        // 4 data blocks, the single-indirect block, the double-indirect
        // block and one single-indirect block under it.
        assert_eq!(fs.read_inode(files.sparse).unwrap().blocks, 7);
        assert_eq!(
            fs.lookup(ROOT_INO, b"hardlink").unwrap(),
            Some(files.nested)
        );
        assert_eq!(fs.lookup(files.dir, b"sub").unwrap(), Some(files.sub));
        assert_eq!(fs.lookup(files.dir, b"missing").unwrap(), None);
        let root = fs.read_inode(ROOT_INO).unwrap();
        assert_eq!(root.nlink, 3, "root: ., .. and dir/..");
        assert_eq!(fs.read_inode(files.nested).unwrap().nlink, 2);
        assert_eq!(
            fs.read_inode(files.sub).unwrap().file_type(),
            Some(FileType::Directory)
        );
    }
}

#[test]
fn reads_stop_at_the_size_and_start_anywhere() {
    let (device, files) = populated(1024);
    let fs = Filesystem::open(device, NOW).unwrap();
    assert_eq!(fs.read(files.small, 98, 10).unwrap(), [0x5a; 2]);
    assert_eq!(fs.read(files.small, 100, 10).unwrap(), []);
    assert_eq!(fs.read(files.small, 5000, 10).unwrap(), []);
    assert_eq!(fs.read(files.sparse, 0, 12).unwrap(), b"\0\0\0direct\0\0\0");
}

#[test]
fn directories_grow_by_whole_blocks() {
    let device = empty(512, 256, 64);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let names: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("file-with-a-long-name-{i:03}").into_bytes())
        .collect();
    for name in &names {
        fs.create(ROOT_INO, name, 0o644).unwrap();
    }
    let root = fs.read_inode(ROOT_INO).unwrap();
    assert!(
        root.size > 512 && root.size % 512 == 0,
        "size {}",
        root.size
    );
    for name in &names {
        assert!(fs.lookup(ROOT_INO, name).unwrap().is_some());
    }
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn running_out_of_blocks_refuses_the_write_and_stays_clean() {
    // Superblock, bitmap, 2 inode-table blocks (8 inodes), the root's block: 27 free.
    let device = empty(512, 32, 8);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let file = fs.create(ROOT_INO, b"big", 0o644).unwrap();
    let free = fs.superblock().free_blocks;
    assert_eq!(free, 27);
    // 26 data blocks: 12 direct and 14 behind a new single-indirect block: 27 blocks.
    fs.write(file, 0, &vec![1u8; 26 * 512]).unwrap();
    assert_eq!(fs.superblock().free_blocks, 0);
    let before = fs.read_inode(file).unwrap();
    assert!(matches!(
        fs.write(file, 26 * 512, b"x"),
        Err(FsError::NoSpace)
    ));
    assert!(matches!(
        fs.mkdir(ROOT_INO, b"d", 0o755),
        Err(FsError::NoSpace)
    ));
    assert_eq!(fs.read_inode(file).unwrap(), before);
    // Overwriting allocated blocks needs no space.
    fs.write(file, 100, b"overwrite").unwrap();
    let device = fs.close().unwrap();
    assert_eq!(findings(&device), []);
}

#[test]
fn a_write_needing_more_than_is_free_changes_nothing() {
    let device = empty(512, 32, 8);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let file = fs.create(ROOT_INO, b"big", 0o644).unwrap();
    // 27 free; 27 data blocks need a single-indirect block too: 28.
    assert!(matches!(
        fs.write(file, 0, &vec![1u8; 27 * 512]),
        Err(FsError::NoSpace)
    ));
    assert_eq!(fs.superblock().free_blocks, 27);
    assert_eq!(fs.read_inode(file).unwrap().blocks, 0);
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn running_out_of_inodes() {
    let device = empty(1024, 64, 3);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    fs.create(ROOT_INO, b"a", 0o644).unwrap();
    fs.create(ROOT_INO, b"b", 0o644).unwrap();
    assert!(matches!(
        fs.create(ROOT_INO, b"c", 0o644),
        Err(FsError::NoFreeInodes)
    ));
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn refusals_of_names_and_targets_leave_the_image_clean() {
    let (device, files) = populated(1024);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    assert!(matches!(
        fs.create(ROOT_INO, b"small", 0o644),
        Err(FsError::NameExists)
    ));
    assert!(matches!(
        fs.create(ROOT_INO, b"a/b", 0o644),
        Err(FsError::InvalidName(NameError::ForbiddenByte(b'/')))
    ));
    assert!(matches!(
        fs.mkdir(ROOT_INO, b"..", 0o755),
        Err(FsError::InvalidName(NameError::Dot))
    ));
    assert!(matches!(
        fs.create(files.small, b"x", 0o644),
        Err(FsError::NotADirectory(_))
    ));
    assert!(matches!(
        fs.link(ROOT_INO, b"dirlink", files.dir),
        Err(FsError::NotARegularFile(_))
    ));
    assert!(matches!(
        fs.read_inode(65),
        Err(FsError::InodeOutOfRange(65))
    ));
    assert!(matches!(fs.read(60, 0, 1), Err(FsError::InodeFree(60))));
    let max = fs.geometry().largest_file_size();
    assert!(matches!(
        fs.write(files.small, max, b"x"),
        Err(FsError::FileTooLarge { end, maximum }) if end == max + 1 && maximum == max
    ));
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn writes_up_to_the_largest_file_size() {
    let device = empty(512, 64, 16);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let file = fs.create(ROOT_INO, b"huge", 0o644).unwrap();
    // Up to the double-indirect level's reach: no LARGE_FILES.
    let double = fs.geometry().double_reach_size();
    fs.write(file, double - 3, b"end").unwrap();
    assert!(!fs.geometry().has_large_files());
    // Past it, through the triple-indirect level: LARGE_FILES is set.
    let max = fs.geometry().largest_file_size();
    assert_eq!(max, (12 + 128 + 128 * 128 + 128 * 128 * 128) * 512);
    let blocks = fs.read_inode(file).unwrap().blocks;
    fs.write(file, max - 3, b"end").unwrap();
    assert!(fs.geometry().has_large_files());
    assert_eq!(fs.read(file, max - 4, 10).unwrap(), b"\0end");
    assert_eq!(fs.read(file, double - 4, 4).unwrap(), b"\0end");
    let inode = fs.read_inode(file).unwrap();
    assert_eq!(inode.size, max);
    assert_ne!(inode.triple_indirect, 0);
    // A data block and three indirect blocks more.
    assert_eq!(inode.blocks, blocks + 4);
    let device = fs.close().unwrap();
    assert_eq!(findings(&device), []);
    // Truncating below the triple level frees its blocks.
    let mut fs = Filesystem::open(device, NOW).unwrap();
    assert!(fs.geometry().has_large_files());
    fs.truncate(file, double).unwrap();
    let inode = fs.read_inode(file).unwrap();
    assert_eq!((inode.triple_indirect, inode.blocks), (0, blocks));
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn opening_refuses_a_truncated_device_and_a_bad_superblock() {
    let device = empty(1024, 64, 16);
    let short = MemoryDevice::from_bytes(device.bytes()[..63 * 1024].to_vec());
    assert!(matches!(
        Filesystem::open(short, NOW),
        Err(FsError::DeviceTooSmall {
            device_bytes: 64512,
            filesystem_bytes: 65536
        })
    ));
    let mut bad = device.clone();
    bad.bytes_mut()[0] = b'X';
    assert!(matches!(
        Filesystem::open(bad, NOW),
        Err(FsError::Superblock(_))
    ));
}

#[test]
fn truncate_down_into_a_block_then_extend_exposes_only_zeros() {
    for block_size in BLOCK_SIZES {
        let bs = u64::from(block_size);
        let device = empty(block_size, 4096, 16);
        let mut fs = Filesystem::open(device, NOW).unwrap();
        let file = fs.create(ROOT_INO, b"f", 0o644).unwrap();
        let free_before = fs.superblock().free_blocks;
        // Into the double-indirect range: 12 + P + 5 data blocks.
        let length = (12 + bs / 4 + 5) * bs;
        fs.write(file, 0, &vec![0xaa; length as usize]).unwrap();
        let new_size = 7 * bs + 13;
        fs.truncate(file, new_size).unwrap();
        let inode = fs.read_inode(file).unwrap();
        assert_eq!((inode.size, inode.blocks), (new_size, 8));
        assert_eq!((inode.single_indirect, inode.double_indirect), (0, 0));
        assert_eq!(fs.superblock().free_blocks, free_before - 8);
        assert_eq!(
            fs.read(file, 0, usize::MAX).unwrap(),
            vec![0xaa; new_size as usize]
        );
        // The classic stale-data bug: growing again must not bring 0xaa back.
        fs.write(file, 10 * bs, b"x").unwrap();
        let grown = fs
            .read(file, new_size, (10 * bs - new_size) as usize)
            .unwrap();
        assert_eq!(grown.len() as u64, 10 * bs - new_size);
        let stale = grown.iter().position(|&byte| byte != 0);
        assert_eq!(stale, None, "block size {block_size}");
        fs.truncate(file, 20 * bs).unwrap();
        assert!(fs
            .read(file, 10 * bs + 1, usize::MAX)
            .unwrap()
            .iter()
            .all(|&byte| byte == 0));
        let device = fs.close().unwrap();
        assert_eq!(findings(&device), [], "block size {block_size}");
    }
}

#[test]
fn truncate_keeps_indirect_blocks_that_still_cover_data() {
    let device = empty(1024, 2048, 16);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let file = fs.create(ROOT_INO, b"f", 0o644).unwrap();
    // Blocks 0, 20, 300 and 568: direct, single and double indirect (in
    // the double-indirect block's first two single-indirect blocks).
    for file_block in [0u64, 20, 300, 568] {
        fs.write(file, file_block * 1024, b"data").unwrap();
    }
    assert_eq!(fs.read_inode(file).unwrap().blocks, 8);
    // Cut inside the double-indirect range before the range of the
    // single-indirect block holding 568 (524..780): that block and its data
    // go, the double-indirect block stays for 300.
    fs.truncate(file, 500 * 1024).unwrap();
    let inode = fs.read_inode(file).unwrap();
    assert_eq!(inode.blocks, 6);
    assert_ne!(inode.double_indirect, 0);
    fs.truncate(file, 21 * 1024 - 1).unwrap();
    let inode = fs.read_inode(file).unwrap();
    assert_eq!((inode.blocks, inode.double_indirect), (3, 0));
    assert_eq!(fs.read(file, 20 * 1024, 10).unwrap(), b"data\0\0\0\0\0\0");
    let device = fs.close().unwrap();
    assert_eq!(findings(&device), []);
}

#[test]
fn truncate_frees_indirect_blocks_left_without_a_pointer() {
    let device = empty(1024, 2048, 16);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let file = fs.create(ROOT_INO, b"f", 0o644).unwrap();
    // Blocks 0, 200 (single indirect) and 600 (double indirect, in the
    // single-indirect block of 524..780).
    for file_block in [0u64, 200, 600] {
        fs.write(file, file_block * 1024, b"data").unwrap();
    }
    assert_eq!(fs.read_inode(file).unwrap().blocks, 6);
    // Cut inside the range of the single-indirect block holding 600,
    // before 600: that block is left without a pointer, and so is the
    // double-indirect block above it; both go.
    fs.truncate(file, 530 * 1024).unwrap();
    let inode = fs.read_inode(file).unwrap();
    assert_eq!((inode.blocks, inode.double_indirect), (3, 0));
    // Cut inside the single-indirect range, before 200: the
    // single-indirect block goes too.
    fs.truncate(file, 100 * 1024).unwrap();
    let inode = fs.read_inode(file).unwrap();
    assert_eq!((inode.blocks, inode.single_indirect), (1, 0));
    assert_eq!(fs.read(file, 0, 6).unwrap(), b"data\0\0");
    let device = fs.close().unwrap();
    assert_eq!(findings(&device), []);
}

#[test]
fn truncate_to_zero_frees_everything() {
    let (device, files) = populated(2048);
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let free_before = fs.superblock().free_blocks;
    fs.truncate(files.sparse, 0).unwrap();
    let inode = fs.read_inode(files.sparse).unwrap();
    assert_eq!(inode.blocks, 0);
    assert_eq!(inode.direct, [0; 12]);
    assert_eq!(fs.superblock().free_blocks, free_before + 7);
    assert!(matches!(
        fs.truncate(files.dir, 0),
        Err(FsError::NotARegularFile(_))
    ));
    assert!(matches!(
        fs.truncate(files.small, u64::MAX),
        Err(FsError::FileTooLarge { .. })
    ));
    assert_eq!(findings(&fs.close().unwrap()), []);
}

#[test]
fn a_zero_free_count_is_trusted_over_the_bitmap() {
    let (mut device, _) = populated(1024);
    support::edit_superblock(&mut device, |bytes| bytes[20..24].fill(0));
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let free_inodes = fs.superblock().free_inodes;
    assert!(matches!(
        fs.mkdir(ROOT_INO, b"d", 0o755),
        Err(FsError::NoSpace)
    ));
    assert!(matches!(fs.write(2, 5000, b"x"), Err(FsError::NoSpace)));
    // The inode mkdir took was given back.
    assert_eq!(fs.superblock().free_inodes, free_inodes);
    assert_eq!(fs.lookup(ROOT_INO, b"d").unwrap(), None);
}
