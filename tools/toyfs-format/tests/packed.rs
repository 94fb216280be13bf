// SPDX-License-Identifier: GPL-2.0
//! Packed tails (PACKED_TAILS): the writer packs the last blocks of files
//! into shared tail blocks, best fit and longest first, leaves the others
//! alone, reads them back, and gives a file its tail back in fragments
//! of its own before it changes; the tail block goes with its last tail.
//! fsck finds nothing after every step.

use toyfs_format::check::{check, check_with, Finding};
use toyfs_format::constants::ROOT_INO;
use toyfs_format::features::Features;
use toyfs_format::tail_block::TAIL_HEADER_SIZE;
use toyfs_format::{Filesystem, FsError, MemoryDevice, PackedTails};

mod support;

use support::{empty_with, noise, NOW};

fn packed_features() -> Features {
    Features {
        packed_tails: true,
        ..Features::compressed(512)
    }
}

fn image() -> Filesystem<MemoryDevice> {
    Filesystem::open(empty_with(4096, 256, 64, packed_features()), NOW).unwrap()
}

fn assert_clean(fs: &mut Filesystem<MemoryDevice>, what: &str) {
    fs.flush().unwrap();
    let report = check_with(fs.device(), true).unwrap();
    assert_eq!(report.findings, [], "{what}");
}

/// Makes files of `sizes` (random bytes, so none compresses), returns
/// their inodes and contents.
fn files(fs: &mut Filesystem<MemoryDevice>, sizes: &[usize]) -> Vec<(u32, Vec<u8>)> {
    sizes
        .iter()
        .enumerate()
        .map(|(index, &size)| {
            let ino = fs
                .create(ROOT_INO, format!("f{index}").as_bytes(), 0o644)
                .unwrap();
            fs.set_compressed(ino, false).unwrap();
            let data = noise(index as u32 + 7, size);
            fs.write(ino, 0, &data).unwrap();
            (ino, data)
        })
        .collect()
}

fn reads_back(fs: &Filesystem<MemoryDevice>, files: &[(u32, Vec<u8>)]) {
    for (ino, data) in files {
        assert_eq!(
            &fs.read(*ino, 0, data.len() + 10).unwrap(),
            data,
            "inode {ino}"
        );
    }
}

#[test]
fn tails_pack_best_fit_longest_first_and_read_back() {
    let mut fs = image();
    // Tails of 3000, 2000, 1000, 900 and 100 bytes; a file of whole
    // blocks, one whose tail would not fit past the header, and an
    // empty one are left alone.
    let all = files(
        &mut fs,
        &[3000, 4096 + 2000, 1000, 2 * 4096 + 900, 100, 8192, 4095, 0],
    );
    let free_before = fs.superblock().free_blocks;
    let inos: Vec<u32> = all.iter().map(|(ino, _)| *ino).collect();
    let done = fs.pack_tails(&inos).unwrap();
    // 3000 + 1000 (4000 of 4088) in one block, 2000 + 900 + 100 in another.
    assert_eq!(
        done,
        PackedTails {
            tails: 5,
            blocks: 2,
            fragments_before: 6 + 4 + 2 + 2 + 1,
        }
    );
    assert_eq!(fs.superblock().free_blocks, free_before + 15 - 16);
    let offsets: Vec<u32> = inos
        .iter()
        .map(|&ino| fs.read_inode(ino).unwrap().tail_offset)
        .collect();
    assert_eq!(offsets[0], TAIL_HEADER_SIZE);
    assert_eq!(offsets[2], TAIL_HEADER_SIZE + 3000);
    assert_eq!(offsets[1], TAIL_HEADER_SIZE);
    assert_eq!(offsets[3], TAIL_HEADER_SIZE + 2000);
    assert_eq!(offsets[4], TAIL_HEADER_SIZE + 2900);
    assert_eq!(&offsets[5..], [0, 0, 0]);
    // A packed tail's fragments are the tail block's, counted once.
    assert_eq!(fs.read_inode(inos[0]).unwrap().blocks, 0);
    assert_eq!(fs.read_inode(inos[1]).unwrap().blocks, 8);
    reads_back(&fs, &all);
    assert_clean(&mut fs, "packed");
    let report = check(fs.device()).unwrap();
    let usage = report.summary.unwrap().usage;
    assert_eq!((usage.packed_tails, usage.tail_blocks), (5, 2));
}

#[test]
fn a_change_gives_the_tail_back_and_the_last_one_frees_its_block() {
    let mut fs = image();
    let mut all = files(&mut fs, &[3000, 1000, 4096 + 500]);
    let inos: Vec<u32> = all.iter().map(|(ino, _)| *ino).collect();
    fs.pack_tails(&inos).unwrap();
    let free_packed = fs.superblock().free_blocks;
    // An append: the tail gets 2 fragments of its own, then grows.
    fs.write(inos[1], 1000, b"more").unwrap();
    all[1].1.extend_from_slice(b"more");
    assert_eq!(fs.read_inode(inos[1]).unwrap().tail_offset, 0);
    assert_eq!(fs.read_inode(inos[1]).unwrap().blocks, 2);
    reads_back(&fs, &all);
    assert_clean(&mut fs, "after an append");
    // A truncation into the tail, the only one of its tail block.
    let before = fs.superblock().free_blocks;
    fs.truncate(inos[2], 4096 + 100).unwrap();
    assert_eq!(fs.superblock().free_blocks, before - 1 + 8);
    all[2].1.truncate(4096 + 100);
    reads_back(&fs, &all);
    assert_clean(&mut fs, "after a truncation");
    // The last tail leaves: the tail block is free again.
    let before = fs.superblock().free_blocks;
    fs.truncate(inos[0], 0).unwrap();
    all[0].1.clear();
    assert_eq!(fs.superblock().free_blocks, before + 8);
    // In all: 2 fragments for the append, 1 for the truncated tail, whose
    // tail block (the 500 bytes did not fit beside 3000 and 1000) was
    // freed with it, and the other tail block.
    assert_eq!(free_packed - 2 - 1 + 8 + 8, fs.superblock().free_blocks);
    reads_back(&fs, &all);
    assert_clean(&mut fs, "after the last tail left");
}

#[test]
fn compressed_hole_and_unpacked_tails_stay_as_they_are() {
    let mut fs = image();
    let compressed = fs.create(ROOT_INO, b"text", 0o644).unwrap();
    fs.write(compressed, 0, &b"toyfs ".repeat(300)).unwrap();
    let holey = fs.create(ROOT_INO, b"holey", 0o644).unwrap();
    fs.truncate(holey, 4096 + 50).unwrap();
    let before = fs.read_inode(compressed).unwrap();
    let done = fs.pack_tails(&[compressed, holey, ROOT_INO]).unwrap();
    assert_eq!(done, PackedTails::default());
    assert_eq!(fs.read_inode(compressed).unwrap(), before);
    assert_clean(&mut fs, "nothing packed");
}

#[test]
fn packing_needs_the_feature() {
    let device = empty_with(4096, 256, 64, Features::fragments(512));
    let mut fs = Filesystem::open(device, NOW).unwrap();
    assert!(matches!(fs.pack_tails(&[]), Err(FsError::NoPackedTails)));
}

#[test]
fn fsck_names_each_broken_rule_of_a_tail_block() {
    let mut fs = image();
    let all = files(&mut fs, &[3000, 1000]);
    let inos: Vec<u32> = all.iter().map(|(ino, _)| *ino).collect();
    fs.pack_tails(&inos).unwrap();
    fs.flush().unwrap();
    // The tails overlap.
    let mut inode = fs.read_inode(inos[1]).unwrap();
    inode.tail_offset = TAIL_HEADER_SIZE + 2999;
    fs.write_inode(inos[1], &inode).unwrap();
    let findings = check(fs.device()).unwrap().findings;
    assert!(
        matches!(findings[..], [Finding::TailsOverlap { first_ino, ino, .. }] if first_ino == inos[0] && ino == inos[1]),
        "{findings:?}"
    );
    // Past its block.
    inode.tail_offset = 4096 - 999;
    fs.write_inode(inos[1], &inode).unwrap();
    let findings = check(fs.device()).unwrap().findings;
    assert!(
        findings
            .iter()
            .any(|finding| matches!(finding, Finding::InodeField { .. })),
        "{findings:?}"
    );
}
