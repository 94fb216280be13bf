// SPDX-License-Identifier: GPL-2.0
//! Visits every nonzero pointer of an inode's block map, indirect blocks
//! included, judging each before anything is read through it.
//!
//! The depth is fixed (direct, single, double, triple), so a walk always ends; a
//! pointer back to an indirect block above it on the path is still reported
//! as a loop, and never followed.

use std::{fmt, io};

use crate::address::{Extent, ExtentError};
use crate::block_map::{
    double_indirect_first_block, single_indirect_first_block, triple_indirect_first_block,
    PointerSite,
};
use crate::device::BlockDevice;
use crate::geometry::Geometry;
use crate::inode::{FileType, Inode};
use crate::le::get_u32;

/// What the block named by a pointer is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRole {
    /// File data: bytes `file_block * block_size ..` of the file.
    Data {
        /// Index of the block in the file.
        file_block: u64,
    },
    /// An indirect block: `level` 1 holds data pointers, 2 holds pointers
    /// to level-1 blocks.
    Indirect {
        /// 1 or 2.
        level: u8,
        /// First file block it covers.
        first_file_block: u64,
    },
}

impl BlockRole {
    /// First file block whose bytes depend on this block.
    pub fn first_file_block(&self) -> u64 {
        match *self {
            Self::Data { file_block } => file_block,
            Self::Indirect {
                first_file_block, ..
            } => first_file_block,
        }
    }
}

/// Why a nonzero pointer may not be followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadPointer {
    /// At or past `block_count`.
    OutOfRange,
    /// Below `first_data_block`: superblock, bitmap or inode table.
    IntoMetadata,
    /// Names an indirect block on its own path.
    Loop,
    /// A fragment run that crosses a block boundary.
    CrossesBlock,
    /// The compressed bit on an image without the LZ4 feature.
    CompressedWithoutFeature,
    /// An indirect block that is not a whole plain block.
    NotWholeBlock,
    /// A directory block with the compressed bit.
    CompressedDirectory,
}

impl From<ExtentError> for BadPointer {
    fn from(error: ExtentError) -> Self {
        match error {
            ExtentError::OutOfRange => Self::OutOfRange,
            ExtentError::IntoMetadata => Self::IntoMetadata,
            ExtentError::CrossesBlock => Self::CrossesBlock,
            ExtentError::CompressedWithoutFeature => Self::CompressedWithoutFeature,
            ExtentError::NotWholeBlock => Self::NotWholeBlock,
            ExtentError::CompressedDirectory => Self::CompressedDirectory,
        }
    }
}

impl fmt::Display for BadPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfRange => "past the end of the filesystem",
            Self::IntoMetadata => "points into the superblock, bitmap or inode table",
            Self::Loop => "points back to an indirect block above it (loop)",
            Self::CrossesBlock => "names a run of fragments that crosses a block boundary",
            Self::CompressedWithoutFeature => {
                "names a compressed block, but the image has no LZ4 feature"
            }
            Self::NotWholeBlock => "names an indirect block that is not a whole plain block",
            Self::CompressedDirectory => "names a compressed directory block",
        })
    }
}

/// A bad pointer, located: what fsck reports and what the reader refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointerFault {
    /// The inode whose map holds it.
    pub ino: u32,
    /// Where the pointer is.
    pub site: PointerSite,
    /// Its value (a block number without fragments).
    pub block: u32,
    /// What is wrong.
    pub why: BadPointer,
}

impl fmt::Display for PointerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "inode {} {} = {}: {}",
            self.ino, self.site, self.block, self.why
        )
    }
}

/// One nonzero pointer met by the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// Where the pointer is stored.
    pub site: PointerSite,
    /// Its value (a block number without fragments).
    pub block: u32,
    /// The run it names.
    pub extent: Extent,
    /// What that block is for.
    pub role: BlockRole,
    /// `Ok` when the pointer may be followed.
    pub verdict: Result<(), BadPointer>,
}

/// Judges a nonzero pointer against the layout, whatever it names.
pub fn judge_pointer(geometry: &Geometry, pointer: u32) -> Result<(), BadPointer> {
    match geometry.decode_pointer(pointer) {
        Some(extent) => Ok(geometry.judge_extent(&extent)?),
        None => Ok(()),
    }
}

/// Judges a nonzero pointer to a block that must be whole and plain: an
/// indirect block, or a directory's block.  Returns the block.
pub fn judge_whole_block(geometry: &Geometry, pointer: u32) -> Result<u32, BadPointer> {
    Ok(geometry.judge_whole_block_pointer(pointer)?.unwrap_or(0))
}

/// Calls `visit` for every nonzero pointer of `inode`, in file order, with
/// each indirect block before its entries.  Entries of an indirect block are
/// visited only when the pointer to it was judged `Ok` and `visit` returned
/// true for it.
pub fn walk_block_map<D, F>(
    device: &D,
    geometry: &Geometry,
    inode: &Inode,
    mut visit: F,
) -> io::Result<()>
where
    D: BlockDevice + ?Sized,
    F: FnMut(&Pointer) -> bool,
{
    let mut walker = Walker {
        device,
        geometry,
        directory: inode.file_type() == Some(FileType::Directory),
        path: Vec::with_capacity(2),
        visit: &mut visit,
    };
    for (index, &block) in inode.direct.iter().enumerate() {
        walker.pointer(
            PointerSite::Direct(index),
            block,
            BlockRole::Data {
                file_block: index as u64,
            },
        )?;
    }
    walker.pointer(
        PointerSite::SingleIndirect,
        inode.single_indirect,
        BlockRole::Indirect {
            level: 1,
            first_file_block: single_indirect_first_block(),
        },
    )?;
    walker.pointer(
        PointerSite::DoubleIndirect,
        inode.double_indirect,
        BlockRole::Indirect {
            level: 2,
            first_file_block: double_indirect_first_block(geometry.pointers_per_block()),
        },
    )?;
    walker.pointer(
        PointerSite::TripleIndirect,
        inode.triple_indirect,
        BlockRole::Indirect {
            level: 3,
            first_file_block: triple_indirect_first_block(geometry.pointers_per_block()),
        },
    )?;
    Ok(())
}

struct Walker<'a, D: ?Sized, F> {
    device: &'a D,
    geometry: &'a Geometry,
    /// Whether the blocks are a directory's, which are never compressed.
    directory: bool,
    /// Indirect blocks from the inode down to the one being read.
    path: Vec<u32>,
    visit: &'a mut F,
}

impl<D: BlockDevice + ?Sized, F: FnMut(&Pointer) -> bool> Walker<'_, D, F> {
    fn pointer(&mut self, site: PointerSite, raw: u32, role: BlockRole) -> io::Result<()> {
        let Some(extent) = self.geometry.decode_pointer(raw) else {
            return Ok(());
        };
        let indirect = matches!(role, BlockRole::Indirect { .. });
        let verdict = self
            .geometry
            .judge_extent(&extent)
            .map_err(BadPointer::from)
            .and_then(|()| {
                if indirect && !extent.is_whole_block(self.geometry) {
                    Err(BadPointer::NotWholeBlock)
                } else if self.directory && extent.compressed {
                    Err(BadPointer::CompressedDirectory)
                } else if self.path.contains(&extent.block(self.geometry)) {
                    Err(BadPointer::Loop)
                } else {
                    Ok(())
                }
            });
        let pointer = Pointer {
            site,
            block: raw,
            extent,
            role,
            verdict,
        };
        let descend = (self.visit)(&pointer);
        if let (
            Ok(()),
            true,
            BlockRole::Indirect {
                level,
                first_file_block,
            },
        ) = (verdict, descend, role)
        {
            self.entries(extent.block(self.geometry), level, first_file_block)?;
        }
        Ok(())
    }

    fn entries(&mut self, indirect_block: u32, level: u8, first_file_block: u64) -> io::Result<()> {
        let mut bytes = vec![0u8; self.geometry.block_size() as usize];
        self.device
            .read_at(self.geometry.block_offset(indirect_block), &mut bytes)?;
        let per_block = u64::from(self.geometry.pointers_per_block());
        // Blocks covered by one entry: 1 for a single-indirect block, P
        // for a double, P^2 for a triple.
        let span = per_block.pow(u32::from(level) - 1);
        self.path.push(indirect_block);
        for index in 0..self.geometry.pointers_per_block() {
            let block = get_u32(&bytes, 4 * index as usize);
            let first = first_file_block + u64::from(index) * span;
            let role = if level == 1 {
                BlockRole::Data { file_block: first }
            } else {
                BlockRole::Indirect {
                    level: level - 1,
                    first_file_block: first,
                }
            };
            let site = PointerSite::IndirectEntry {
                indirect_block,
                index,
            };
            self.pointer(site, block, role)?;
        }
        self.path.pop();
        Ok(())
    }
}
