// SPDX-License-Identifier: GPL-2.0
//! The seeded random byte-flipper: image `index` of seed `seed` is the
//! source image with 1 to 4 bytes of its metadata changed (8 to 39 in one
//! image of eight), the same on every run, so that a failure is
//! reproduced from the two numbers.
//!
//! Only metadata is damaged (superblock, bitmap, in-use inodes, directory
//! and indirect blocks, and the headers of compressed blocks): a flip in
//! file data is not corruption a reader can see.

use toyfs_format::block_walk::{walk_block_map, BlockRole};
use toyfs_format::compressed::HEADER_SIZE;
use toyfs_format::constants::{BITMAP_START, INODE_SIZE, SUPERBLOCK_SIZE};
use toyfs_format::inode::FileType;
use toyfs_format::{Inode, MemoryDevice};

use crate::error::Result;
use crate::image::{reseal_superblock, Image};

/// SplitMix64: small, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (> 0).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Byte ranges of the image that hold metadata, by kind.
struct Regions {
    inodes: Vec<usize>,
    /// Start and length: a directory's last block may be a few fragments.
    directory_blocks: Vec<(usize, usize)>,
    indirect_blocks: Vec<usize>,
    /// The headers of compressed blocks.
    compressed_headers: Vec<usize>,
    bitmap: usize,
    block_size: usize,
}

fn regions(image: &Image) -> Result<Regions> {
    let geometry = image.geometry;
    let mut regions = Regions {
        inodes: Vec::new(),
        directory_blocks: Vec::new(),
        indirect_blocks: Vec::new(),
        compressed_headers: Vec::new(),
        bitmap: geometry.block_offset(BITMAP_START) as usize,
        block_size: geometry.block_size() as usize,
    };
    for ino in 1..=geometry.inode_count() {
        let inode: Inode = image.inode(ino);
        if inode.is_free() {
            continue;
        }
        regions
            .inodes
            .push(geometry.inode_offset(ino).unwrap_or(0) as usize);
        let is_dir = inode.file_type() == Some(FileType::Directory);
        walk_block_map(&image.device, &geometry, &inode, |pointer| {
            let extent = pointer.extent;
            let offset = extent.byte_offset(&geometry) as usize;
            match pointer.role {
                BlockRole::Indirect { .. } => regions.indirect_blocks.push(offset),
                BlockRole::Data { .. } if is_dir => regions
                    .directory_blocks
                    .push((offset, extent.byte_len(&geometry))),
                BlockRole::Data { .. } if extent.compressed => {
                    regions.compressed_headers.push(offset)
                }
                BlockRole::Data { .. } => {}
            }
            pointer.verdict.is_ok()
        })?;
    }
    Ok(regions)
}

/// Damages a copy of `source` as image `index` of `seed`; returns it and
/// a line per changed byte.
pub fn flip(source: &MemoryDevice, seed: u64, index: u64) -> Result<(MemoryDevice, Vec<String>)> {
    let mut image = Image::new(source.clone())?;
    let regions = regions(&image)?;
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ index);
    // Mostly a few bytes, whose effects stay traceable; one image in
    // eight is wrecked (8 to 39 bytes), to reach combinations of damage.
    let flips = if rng.below(8) == 0 {
        8 + rng.below(32)
    } else {
        1 + rng.below(4)
    };
    let mut log = Vec::with_capacity(flips);
    let mut superblock_changed = false;
    for _ in 0..flips {
        let pick = |rng: &mut Rng, starts: &[usize], len: usize| {
            starts[rng.below(starts.len())] + rng.below(len)
        };
        // Weights: superblock 5, bitmap 15, inodes 40 (32 with compressed
        // blocks, their headers 8), directories 25, indirect blocks 15
        // (out of 100).
        let roll = rng.below(100);
        let (kind, at) = match roll {
            0..5 => ("superblock", rng.below(SUPERBLOCK_SIZE)),
            5..20 => ("bitmap", regions.bitmap + rng.below(regions.block_size)),
            52..60 if !regions.compressed_headers.is_empty() => (
                "compressed block header",
                pick(&mut rng, &regions.compressed_headers, HEADER_SIZE),
            ),
            20..60 => ("inode", pick(&mut rng, &regions.inodes, INODE_SIZE)),
            60..85 => {
                let (start, len) =
                    regions.directory_blocks[rng.below(regions.directory_blocks.len())];
                ("directory block", start + rng.below(len))
            }
            _ if regions.indirect_blocks.is_empty() => {
                ("inode", pick(&mut rng, &regions.inodes, INODE_SIZE))
            }
            _ => (
                "indirect block",
                pick(&mut rng, &regions.indirect_blocks, regions.block_size),
            ),
        };
        let bytes = image.device.bytes_mut();
        let old = bytes[at];
        // Half single-bit flips, half random bytes.
        let new = if rng.below(2) == 0 {
            old ^ (1 << rng.below(8))
        } else {
            rng.next() as u8
        };
        bytes[at] = new;
        superblock_changed |= kind == "superblock";
        log.push(format!(
            "byte {at} (block {}, {kind}): {old:#04x} -> {new:#04x}",
            at / regions.block_size
        ));
    }
    // Half of the superblock flips keep a valid checksum, so that the
    // fields behind it are tested too.
    if superblock_changed && rng.below(2) == 0 {
        reseal_superblock(&mut image.device.bytes_mut()[..SUPERBLOCK_SIZE]);
        log.push("superblock checksum resealed".into());
    }
    Ok((image.device, log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::make_source;

    #[test]
    fn images_are_reproducible_and_differ() {
        let source = make_source().unwrap();
        let (first, log) = flip(&source, 1, 7).unwrap();
        let (again, _) = flip(&source, 1, 7).unwrap();
        assert_eq!(first.bytes(), again.bytes());
        assert!(!log.is_empty());
        assert_ne!(first.bytes(), source.bytes());
        let (other, _) = flip(&source, 2, 7).unwrap();
        assert_ne!(first.bytes(), other.bytes());
    }

    #[test]
    fn damaged_fragment_images_are_checked_and_modelled_without_panics() {
        use crate::image::make_fragment_source;
        use crate::reference::Reference;
        use toyfs_format::check::check_with;
        let source = make_fragment_source().unwrap();
        let mut kinds = std::collections::HashSet::new();
        let mut clean = 0;
        for index in 0..300 {
            let (image, log) = flip(&source, 11, index).unwrap();
            for line in &log {
                if let Some(kind) = line.split(", ").nth(1) {
                    kinds.insert(kind.split(')').next().unwrap_or("").to_string());
                }
            }
            let report = check_with(&image, true).unwrap();
            if let Ok(reference) = Reference::new(image.bytes().to_vec()) {
                for ino in 1..=8 {
                    if let Some(inode) = reference.inode(ino) {
                        for page in 0..4 {
                            let _ = reference.page_view(&inode, page);
                        }
                    }
                }
            }
            clean += usize::from(report.is_clean());
        }
        assert!(kinds.contains("compressed block header"), "{kinds:?}");
        // Most flips break a rule; a time or permission byte breaks none.
        assert!(clean < 150, "{clean} of 300 damaged images are clean");
    }
}
