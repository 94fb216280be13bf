// SPDX-License-Identifier: GPL-2.0
//! Packed tails (PACKED_TAILS): the writer packs the last blocks of files
//! into shared tail blocks, best fit and longest first, leaves the others
//! alone, reads them back, and gives a file its tail back in fragments
//! of its own before it changes; the tail block goes with its last tail.
//! fsck finds nothing after every step.

use toyfs_format::check::{check, check_with, Finding};
use toyfs_format::compressed::{CompressedError, HEADER_SIZE};
use toyfs_format::constants::ROOT_INO;
use toyfs_format::features::Features;
use toyfs_format::tail_block::{TailError, TAIL_COMPRESSED, TAIL_HEADER_SIZE};
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

/// An image whose packed tails may be compressed (PACKED_LZ4).
fn lz4_image() -> Filesystem<MemoryDevice> {
    let features = Features {
        packed_lz4: true,
        ..packed_features()
    };
    Filesystem::open(empty_with(4096, 256, 64, features), NOW).unwrap()
}

/// Makes compressible files of `sizes` (text), compressed or not,
/// returns their inodes and contents.
fn text_files(fs: &mut Filesystem<MemoryDevice>, sizes: &[(usize, bool)]) -> Vec<(u32, Vec<u8>)> {
    sizes
        .iter()
        .enumerate()
        .map(|(index, &(size, compressed))| {
            let ino = fs
                .create(ROOT_INO, format!("t{index}").as_bytes(), 0o644)
                .unwrap();
            fs.set_compressed(ino, compressed).unwrap();
            let mut data = format!("{index} toyfs packs compressed tails. ").repeat(size / 20 + 1);
            data.truncate(size);
            fs.write(ino, 0, data.as_bytes()).unwrap();
            (ino, data.into_bytes())
        })
        .collect()
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
            compressed: 0,
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

#[test]
fn compressed_tails_pack_compressed_read_back_and_unpack() {
    let mut fs = lz4_image();
    // Text with the compressed flag: a small tail, a tail after a
    // compressed block, one of a block less a byte (stored compressed in
    // fragments before, packed compressed now); text without the flag,
    // and noise with it (does not compress), packed plain.
    let mut all = text_files(
        &mut fs,
        &[(700, true), (4096 + 3000, true), (4095, true), (900, false)],
    );
    let noisy = fs.create(ROOT_INO, b"noise", 0o644).unwrap();
    let noise_bytes = noise(3, 1500);
    fs.write(noisy, 0, &noise_bytes).unwrap();
    all.push((noisy, noise_bytes));
    let inos: Vec<u32> = all.iter().map(|(ino, _)| *ino).collect();
    let done = fs.pack_tails(&inos).unwrap();
    let offsets: Vec<u32> = inos
        .iter()
        .map(|&ino| fs.read_inode(ino).unwrap().tail_offset)
        .collect();
    assert_eq!(
        (done.tails, done.compressed, done.blocks),
        (5, 3, 1),
        "{offsets:x?}"
    );
    let offsets: Vec<u32> = inos
        .iter()
        .map(|&ino| fs.read_inode(ino).unwrap().tail_offset)
        .collect();
    for (index, offset) in offsets.iter().enumerate() {
        assert_eq!(offset & TAIL_COMPRESSED != 0, index < 3, "{offsets:x?}");
    }
    reads_back(&fs, &all);
    assert_clean(&mut fs, "packed compressed");
    let usage = check(fs.device()).unwrap().summary.unwrap().usage;
    assert_eq!((usage.packed_tails, usage.tail_blocks), (5, 1));
    // An append unpacks the compressed tail: its bytes, decompressed, in
    // a run of its own, then written compressed or plain as any block.
    fs.write(inos[0], 700, b" and more").unwrap();
    all[0].1.extend_from_slice(b" and more");
    assert_eq!(fs.read_inode(inos[0]).unwrap().tail_offset, 0);
    // A truncation into the compressed tail after a whole block.
    fs.truncate(inos[1], 4096 + 1000).unwrap();
    all[1].1.truncate(4096 + 1000);
    assert_eq!(fs.read_inode(inos[1]).unwrap().tail_offset, 0);
    reads_back(&fs, &all);
    assert_clean(&mut fs, "after unpacking");
}

#[test]
fn without_packed_lz4_tails_pack_plain_and_compressed_ones_stay() {
    let mut fs = image();
    let all = text_files(&mut fs, &[(700, true), (900, false)]);
    let inos: Vec<u32> = all.iter().map(|(ino, _)| *ino).collect();
    let done = fs.pack_tails(&inos).unwrap();
    // The 700 bytes of text compressed into a fragment: left alone.
    assert_eq!((done.tails, done.compressed), (1, 0));
    assert_eq!(
        fs.read_inode(inos[1]).unwrap().tail_offset,
        TAIL_HEADER_SIZE
    );
    reads_back(&fs, &all);
    assert_clean(&mut fs, "plain packing");
}

#[test]
fn fsck_names_each_broken_rule_of_a_compressed_tail() {
    let mut fs = lz4_image();
    let all = text_files(&mut fs, &[(2000, true)]);
    let ino = all[0].0;
    fs.pack_tails(&[ino]).unwrap();
    let mut device = fs.close().unwrap();
    let inode = support::read_inode(&device, ino);
    assert_ne!(inode.tail_offset & TAIL_COMPRESSED, 0);
    let offset = (inode.tail_offset & !TAIL_COMPRESSED) as usize;
    let block = support::data_block(&device, ino, 0);
    let at = support::block_offset(&device, block) + offset;
    let u16_at = |device: &MemoryDevice, at: usize| {
        u16::from_le_bytes([device.bytes()[at], device.bytes()[at + 1]])
    };
    // The header's length is not the file's.
    assert_eq!(u16_at(&device, at + 2), 2000);
    device.bytes_mut()[at + 2..at + 4].copy_from_slice(&1999u16.to_le_bytes());
    let findings = check(&device).unwrap().findings;
    assert!(
        matches!(
            findings[..],
            [Finding::BadPackedTail {
                error: TailError::Length {
                    length: 1999,
                    expected: 2000
                },
                ..
            }]
        ),
        "{findings:?}"
    );
    device.bytes_mut()[at + 2..at + 4].copy_from_slice(&2000u16.to_le_bytes());
    assert_eq!(check_with(&device, true).unwrap().findings, []);
    // Its LZ4 data damaged: found when fsck decompresses (-f).
    let compressed_len = usize::from(u16_at(&device, at));
    device.bytes_mut()[at + HEADER_SIZE..at + HEADER_SIZE + compressed_len].fill(0xff);
    assert_eq!(check(&device).unwrap().findings, []);
    let findings = check_with(&device, true).unwrap().findings;
    assert!(
        matches!(
            findings[..],
            [Finding::BadPackedTail {
                error: TailError::Compressed(CompressedError::Corrupt),
                ..
            }]
        ),
        "{findings:?}"
    );
    // Its compressed length past the block.
    device.bytes_mut()[at..at + 2].copy_from_slice(&4095u16.to_le_bytes());
    let findings = check(&device).unwrap().findings;
    assert!(
        matches!(
            findings[..],
            [Finding::BadPackedTail {
                error: TailError::Compressed(CompressedError::PastRun { .. }),
                ..
            }]
        ),
        "{findings:?}"
    );
    // A compressed tail on an image without PACKED_LZ4.
    support::edit_superblock(&mut device, |sb| {
        let bits = u32::from_le_bytes(sb[60..64].try_into().unwrap());
        sb[60..64].copy_from_slice(&(bits & !0x80).to_le_bytes());
    });
    let findings = check(&device).unwrap().findings;
    assert!(
        findings
            .iter()
            .any(|finding| matches!(finding, Finding::InodeField { .. })),
        "{findings:?}"
    );
}
