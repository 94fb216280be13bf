// SPDX-License-Identifier: GPL-2.0
//! The optional features of an image: fragments, LZ4 compression and
//! special files (symbolic links, FIFOs, sockets and device nodes).
//!
//! They are *incompatible* features in ext2's sense: a reader that does
//! not know one must refuse the image, because it would misread block
//! pointers (fragments) or file data (compression).  The superblock keeps
//! them in bytes that version 1 without features requires to be zero, so
//! a toyfs that predates them refuses such an image as well ("nonzero
//! reserved bytes"), and an image without features is byte for byte what
//! it always was.
//!
//! SPECIAL_FILES differs from the other two in when it is set: not by
//! mkfs, but by whoever first stores an inode of one of the types it
//! adds (the kernel's `symlink` or `mknod`, `mkfs.toyfs -d` copying one),
//! before that inode is written.  An image that never held one keeps its
//! superblock as it was, and a toyfs that predates the types still mounts
//! it; one that did hold one is refused by that toyfs, which would take
//! the inode for damage (a device's number in `direct[0]` for a block
//! pointer).  The bit is never cleared.
//!
//! LARGE_FILES is set the same way, as ext2's LARGE_FILE: by whoever
//! first stores an inode whose size is past the double-indirect level's
//! reach ([`super::geometry::Geometry::double_reach_size`]) or which
//! names a triple-indirect block, before that inode is written.  A toyfs
//! that predates the triple-indirect level would take such an inode for
//! damage (a size too large, nonzero reserved bytes); images whose files
//! never grew that large stay mountable by it.
//!
//! PREALLOC is set the same way, by the first `fallocate(FALLOC_FL_KEEP_SIZE)`
//! that allocates blocks past the end of a file, before any block pointer
//! names such a block: without it a block at or past the end of a file is
//! damage (fsck's `BlockPastEof`), and a toyfs or fsck.toyfs that
//! predates it refuses the image rather than report (or, an older kernel,
//! silently keep) those blocks.  It is never cleared either.
//!
//! PACKED_TAILS is set by mkfs (`mkfs.toyfs -p`), never by the kernel,
//! which reads packed tails and moves a file's tail out of its tail block
//! before the file changes, but never packs one.
//!
//! PACKED_LZ4 too (`mkfs.toyfs -c lz4 -p`): a packed tail may then be
//! stored LZ4-compressed in its tail block (`super::tail_block`).  A toyfs
//! that knows PACKED_TAILS but predates it refuses the image rather than
//! take such a tail's offset for damage.
//!
//! GENERATIONS is set as SPECIAL_FILES is, by the kernel before the first
//! inode it allocates is written: with it, bytes 14..16 of an inode (the
//! high half of the `flags` word, zero before) hold the inode's
//! *generation*, a 16-bit number the kernel gives each inode it
//! allocates, different from the one the slot's previous inode had, which
//! file handles (`name_to_handle_at`, NFS) carry so that a handle of a
//! deleted file is told from the file that reused its inode number
//! (`ESTALE`).  A toyfs that predates it would take the bytes for bad
//! flags.  Inodes made by mkfs have generation 0.  Never cleared.

use super::geometry::GeometryError;
use super::inode::FLAG_COMPRESSED;

/// `feature_incompat` bit: block pointers name a run of fragments.
pub const FEATURE_FRAGMENTS: u32 = 0x1;
/// `feature_incompat` bit: file blocks may be stored LZ4-compressed.
pub const FEATURE_LZ4: u32 = 0x2;
/// `feature_incompat` bit: inodes may be symbolic links, FIFOs, sockets,
/// character or block devices, besides regular files and directories.
pub const FEATURE_SPECIAL_FILES: u32 = 0x4;
/// `feature_incompat` bit: an inode may be larger than the double-indirect
/// level reaches, and name a triple-indirect block.
pub const FEATURE_LARGE_FILES: u32 = 0x8;
/// `feature_incompat` bit: a regular file's last block may be a *packed
/// tail*, its bytes at a byte offset of a tail block shared with other
/// files' tails (`super::tail_block`).
pub const FEATURE_PACKED_TAILS: u32 = 0x20;
/// `feature_incompat` bit: a packed tail may be stored LZ4-compressed in
/// its tail block (`super::tail_block::TAIL_COMPRESSED`); needs
/// PACKED_TAILS and LZ4.
pub const FEATURE_PACKED_LZ4: u32 = 0x80;
/// `feature_incompat` bit: a regular file may have blocks past its end,
/// preallocated (`fallocate` with `FALLOC_FL_KEEP_SIZE`), whole plain
/// blocks of zeros, and its last block may be a whole block.
pub const FEATURE_PREALLOC: u32 = 0x10;
/// `feature_incompat` bit: bytes 14..16 of an inode hold its generation
/// (`super::inode::Inode::generation`), zero without it.
pub const FEATURE_GENERATIONS: u32 = 0x40;
/// Every `feature_incompat` bit this format defines.
pub const KNOWN_FEATURES: u32 = FEATURE_FRAGMENTS
    | FEATURE_LZ4
    | FEATURE_SPECIAL_FILES
    | FEATURE_LARGE_FILES
    | FEATURE_PREALLOC
    | FEATURE_PACKED_TAILS
    | FEATURE_PACKED_LZ4
    | FEATURE_GENERATIONS;

/// `log2(B / F)` of the smallest fragment, `B / 8`.
pub const MAX_FRAGMENT_SHIFT: u32 = 3;

/// The features of an image and their parameters, as stored in the
/// superblock.  Validated by [`Features::validate`] when a
/// [`super::geometry::Geometry`] is made from them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `F` with the FRAGMENTS feature; `None` without it (`F = B`).
    pub fragment_size: Option<u32>,
    /// The LZ4 feature: file blocks may be compressed.
    pub lz4: bool,
    /// Inode flags a new regular file gets: [`FLAG_COMPRESSED`] or 0.
    pub default_flags: u32,
    /// The SPECIAL_FILES feature: inodes of the types
    /// [`super::inode::FileType::needs_special_files`] says.
    pub special_files: bool,
    /// The LARGE_FILES feature: inodes past the double-indirect level's
    /// reach, with a triple-indirect block.
    pub large_files: bool,
    /// The PREALLOC feature: blocks past the end of a regular file.
    pub prealloc: bool,
    /// The PACKED_TAILS feature: files' last blocks may be packed tails.
    pub packed_tails: bool,
    /// The PACKED_LZ4 feature: packed tails may be LZ4-compressed.
    pub packed_lz4: bool,
    /// The GENERATIONS feature: inodes carry a generation number.
    pub generations: bool,
}

impl Features {
    /// No optional feature: the format as it was before features.
    pub const NONE: Self = Self {
        fragment_size: None,
        lz4: false,
        default_flags: 0,
        special_files: false,
        large_files: false,
        prealloc: false,
        packed_tails: false,
        packed_lz4: false,
        generations: false,
    };

    /// Fragments of `fragment_size` bytes, nothing else.
    pub fn fragments(fragment_size: u32) -> Self {
        Self {
            fragment_size: Some(fragment_size),
            ..Self::NONE
        }
    }

    /// Fragments of `fragment_size` bytes and LZ4 compression, on by
    /// default for new regular files.
    pub fn compressed(fragment_size: u32) -> Self {
        Self {
            fragment_size: Some(fragment_size),
            lz4: true,
            default_flags: FLAG_COMPRESSED,
            ..Self::NONE
        }
    }

    /// The `feature_incompat` word.
    pub fn incompat(&self) -> u32 {
        let mut bits = 0;
        if self.fragment_size.is_some() {
            bits |= FEATURE_FRAGMENTS;
        }
        if self.lz4 {
            bits |= FEATURE_LZ4;
        }
        if self.special_files {
            bits |= FEATURE_SPECIAL_FILES;
        }
        if self.large_files {
            bits |= FEATURE_LARGE_FILES;
        }
        if self.prealloc {
            bits |= FEATURE_PREALLOC;
        }
        if self.packed_tails {
            bits |= FEATURE_PACKED_TAILS;
        }
        if self.packed_lz4 {
            bits |= FEATURE_PACKED_LZ4;
        }
        if self.generations {
            bits |= FEATURE_GENERATIONS;
        }
        bits
    }

    /// Whether block pointers name fragments.
    #[inline]
    pub fn has_fragments(&self) -> bool {
        self.fragment_size.is_some()
    }

    /// `log2(block_size / F)`; 0 without fragments.  Meaningful once
    /// [`Features::validate`] accepted `block_size`.
    pub fn fragment_shift(&self, block_size: u32) -> u32 {
        match self.fragment_size {
            Some(size) if size != 0 && size <= block_size => {
                block_size.trailing_zeros() - size.trailing_zeros()
            }
            _ => 0,
        }
    }

    /// Checks the parameters against a (valid) block size.
    pub fn validate(&self, block_size: u32) -> Result<(), GeometryError> {
        if let Some(fragment_size) = self.fragment_size {
            if !fragment_size.is_power_of_two()
                || fragment_size > block_size
                || fragment_size < block_size >> MAX_FRAGMENT_SHIFT
            {
                return Err(GeometryError::BadFragmentSize {
                    fragment_size,
                    block_size,
                });
            }
        }
        if self.lz4 && self.fragment_shift(block_size) == 0 {
            return Err(GeometryError::CompressionNeedsFragments);
        }
        if self.packed_tails && self.fragment_shift(block_size) == 0 {
            return Err(GeometryError::PackedTailsNeedFragments);
        }
        if self.packed_lz4 && !(self.packed_tails && self.lz4) {
            return Err(GeometryError::PackedLz4NeedsBoth);
        }
        let allowed = if self.lz4 { FLAG_COMPRESSED } else { 0 };
        if self.default_flags & !allowed != 0 {
            return Err(GeometryError::BadDefaultFlags(self.default_flags));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incompat_bits() {
        assert_eq!(Features::NONE.incompat(), 0);
        assert_eq!(Features::fragments(512).incompat(), FEATURE_FRAGMENTS);
        assert_eq!(
            Features::compressed(512).incompat(),
            FEATURE_FRAGMENTS | FEATURE_LZ4
        );
        let special = Features {
            special_files: true,
            ..Features::NONE
        };
        assert_eq!(special.incompat(), FEATURE_SPECIAL_FILES);
        assert_eq!(special.validate(512), Ok(()));
        let large = Features {
            large_files: true,
            ..Features::NONE
        };
        assert_eq!(large.incompat(), FEATURE_LARGE_FILES);
        let prealloc = Features {
            prealloc: true,
            ..Features::NONE
        };
        assert_eq!(prealloc.incompat(), FEATURE_PREALLOC);
        assert_eq!(prealloc.validate(512), Ok(()));
        assert_eq!(FEATURE_PREALLOC, 0x10);
        let packed = Features {
            packed_tails: true,
            ..Features::fragments(512)
        };
        assert_eq!(packed.incompat(), FEATURE_FRAGMENTS | FEATURE_PACKED_TAILS);
        assert_eq!(packed.validate(4096), Ok(()));
        assert_eq!(FEATURE_PACKED_TAILS, 0x20);
        let packed_lz4 = Features {
            packed_tails: true,
            packed_lz4: true,
            ..Features::compressed(512)
        };
        assert_eq!(
            packed_lz4.incompat(),
            FEATURE_FRAGMENTS | FEATURE_LZ4 | FEATURE_PACKED_TAILS | FEATURE_PACKED_LZ4
        );
        assert_eq!(packed_lz4.validate(4096), Ok(()));
        assert_eq!(FEATURE_PACKED_LZ4, 0x80);
        let generations = Features {
            generations: true,
            ..Features::NONE
        };
        assert_eq!(generations.incompat(), FEATURE_GENERATIONS);
        assert_eq!(generations.validate(512), Ok(()));
        assert_eq!(FEATURE_GENERATIONS, 0x40);
        assert_eq!(KNOWN_FEATURES, 0xff);
    }

    #[test]
    fn fragment_sizes_from_an_eighth_to_a_whole_block() {
        for (size, shift) in [(512, 3), (1024, 2), (2048, 1), (4096, 0)] {
            let features = Features::fragments(size);
            assert_eq!(features.validate(4096), Ok(()));
            assert_eq!(features.fragment_shift(4096), shift);
        }
        for bad in [0, 256, 768, 8192] {
            assert_eq!(
                Features::fragments(bad).validate(4096),
                Err(GeometryError::BadFragmentSize {
                    fragment_size: bad,
                    block_size: 4096
                })
            );
        }
        assert_eq!(Features::fragments(64).validate(512), Ok(()));
    }

    #[test]
    fn compression_needs_fragments_smaller_than_a_block() {
        assert_eq!(Features::compressed(2048).validate(4096), Ok(()));
        assert_eq!(
            Features::compressed(4096).validate(4096),
            Err(GeometryError::CompressionNeedsFragments)
        );
        let lz4_alone = Features {
            lz4: true,
            ..Features::NONE
        };
        assert_eq!(
            lz4_alone.validate(4096),
            Err(GeometryError::CompressionNeedsFragments)
        );
        let flags_without_lz4 = Features {
            default_flags: FLAG_COMPRESSED,
            ..Features::fragments(512)
        };
        assert_eq!(
            flags_without_lz4.validate(4096),
            Err(GeometryError::BadDefaultFlags(FLAG_COMPRESSED))
        );
    }

    #[test]
    fn packed_tails_need_fragments_smaller_than_a_block() {
        for features in [Features::NONE, Features::fragments(4096)] {
            let packed = Features {
                packed_tails: true,
                ..features
            };
            assert_eq!(
                packed.validate(4096),
                Err(GeometryError::PackedTailsNeedFragments)
            );
        }
    }

    #[test]
    fn compressed_packed_tails_need_packed_tails_and_lz4() {
        for features in [
            Features {
                packed_lz4: true,
                ..Features::compressed(512)
            },
            Features {
                packed_tails: true,
                packed_lz4: true,
                ..Features::fragments(512)
            },
        ] {
            assert_eq!(
                features.validate(4096),
                Err(GeometryError::PackedLz4NeedsBoth)
            );
        }
    }
}
