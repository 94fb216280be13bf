// SPDX-License-Identifier: GPL-2.0
//! File blocks to what stores them: looking pointers up, finding or making
//! the place of a pointer (indirect blocks included), and counting what an
//! allocation will need before it starts.

use std::collections::HashSet;

use super::Filesystem;
use crate::address::Extent;
use crate::block_map::{slot_of, MapSlot, PointerSite};

/// The inode pointer's site, the entries to follow below it and how many
/// levels of indirect blocks they cross, for a slot under an indirect
/// block; `Err(index)` for `direct[index]`.
fn indirect_path(slot: MapSlot) -> Result<(PointerSite, [u32; 3], usize), usize> {
    let site = match slot {
        MapSlot::Direct(index) => return Err(index),
        MapSlot::Single(_) => PointerSite::SingleIndirect,
        MapSlot::Double { .. } => PointerSite::DoubleIndirect,
        MapSlot::Triple { .. } => PointerSite::TripleIndirect,
    };
    let (entries, levels) = slot.indirect_entries();
    Ok((site, entries, levels))
}
use crate::block_walk::{judge_whole_block, BadPointer, PointerFault};
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::inode::{FileType, Inode};
use crate::le::{get_u32, put_u32};

/// Where the pointer to one file block is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PointerPlace {
    /// `direct[index]` of the inode.
    Direct(usize),
    /// Entry `index` of indirect block `indirect_block`.
    Entry {
        /// The indirect block.
        indirect_block: u32,
        /// The entry.
        index: u32,
    },
}

impl PointerPlace {
    fn site(self) -> PointerSite {
        match self {
            Self::Direct(index) => PointerSite::Direct(index),
            Self::Entry {
                indirect_block,
                index,
            } => PointerSite::IndirectEntry {
                indirect_block,
                index,
            },
        }
    }
}

impl<D: BlockDevice> Filesystem<D> {
    fn fault(&self, ino: u32, site: PointerSite, pointer: u32, why: BadPointer) -> FsError {
        FsError::BadPointer(PointerFault {
            ino,
            site,
            block: pointer,
            why,
        })
    }

    /// The indirect block a pointer names, checked; 0 for a hole.
    pub(super) fn checked_indirect(
        &self,
        ino: u32,
        site: PointerSite,
        pointer: u32,
    ) -> Result<u32, FsError> {
        judge_whole_block(self.geometry(), pointer)
            .map_err(|why| self.fault(ino, site, pointer, why))
    }

    /// The run a data pointer of `inode` names, checked (a directory's
    /// is never compressed).
    pub(super) fn checked_data(
        &self,
        ino: u32,
        inode: &Inode,
        site: PointerSite,
        pointer: u32,
    ) -> Result<Option<Extent>, FsError> {
        let Some(extent) = self.geometry().decode_pointer(pointer) else {
            return Ok(None);
        };
        self.geometry()
            .judge_extent(&extent)
            .map_err(|why| self.fault(ino, site, pointer, why.into()))?;
        if extent.compressed && inode.file_type() == Some(FileType::Directory) {
            return Err(self.fault(ino, site, pointer, BadPointer::CompressedDirectory));
        }
        Ok(Some(extent))
    }

    fn indirect_entry_raw(&self, indirect_block: u32, index: u32) -> Result<u32, FsError> {
        let bytes = self.read_block(indirect_block)?;
        Ok(get_u32(&bytes, 4 * index as usize))
    }

    /// Entry `index` of `indirect_block`, itself an indirect block.
    fn indirect_child(&self, ino: u32, indirect_block: u32, index: u32) -> Result<u32, FsError> {
        let site = PointerSite::IndirectEntry {
            indirect_block,
            index,
        };
        let raw = self.indirect_entry_raw(indirect_block, index)?;
        self.checked_indirect(ino, site, raw)
    }

    /// Where the pointer of `file_block` is, if the indirect blocks on its
    /// path exist; `None` if one of them is a hole or the block is past
    /// the largest file.
    pub(super) fn find_place(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<PointerPlace>, FsError> {
        let Some(slot) = slot_of(file_block, self.geometry().pointers_per_block()) else {
            return Ok(None);
        };
        let (site, entries, levels) = match indirect_path(slot) {
            Ok(path) => path,
            Err(index) => return Ok(Some(PointerPlace::Direct(index))),
        };
        let mut block = self.checked_indirect(ino, site, inode.pointer(slot.inode_pointer()))?;
        for &entry in &entries[..levels - 1] {
            if block == 0 {
                return Ok(None);
            }
            block = self.indirect_child(ino, block, entry)?;
        }
        Ok((block != 0).then_some(PointerPlace::Entry {
            indirect_block: block,
            index: entries[levels - 1],
        }))
    }

    /// The pointer stored at `place`.
    pub(super) fn pointer_at(&self, inode: &Inode, place: PointerPlace) -> Result<u32, FsError> {
        match place {
            PointerPlace::Direct(index) => Ok(inode.direct[index]),
            PointerPlace::Entry {
                indirect_block,
                index,
            } => self.indirect_entry_raw(indirect_block, index),
        }
    }

    /// Stores `pointer` at `place` (in `inode` or its indirect block).
    pub(super) fn set_pointer(
        &mut self,
        inode: &mut Inode,
        place: PointerPlace,
        pointer: u32,
    ) -> Result<(), FsError> {
        match place {
            PointerPlace::Direct(index) => inode.direct[index] = pointer,
            PointerPlace::Entry {
                indirect_block,
                index,
            } => {
                let mut bytes = self.read_block(indirect_block)?;
                put_u32(&mut bytes, 4 * index as usize, pointer);
                self.write_block(indirect_block, &bytes)?;
            }
        }
        Ok(())
    }

    /// The checked run holding `file_block`, if it is not a hole.
    pub fn map_extent(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<Extent>, FsError> {
        let Some(place) = self.find_place(ino, inode, file_block)? else {
            return Ok(None);
        };
        let pointer = self.pointer_at(inode, place)?;
        self.checked_data(ino, inode, place.site(), pointer)
    }

    /// The block holding `file_block` (its fragments, with fragments), if
    /// it is not a hole.
    pub fn map_block(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<u32>, FsError> {
        Ok(self
            .map_extent(ino, inode, file_block)?
            .map(|extent| extent.block(self.geometry())))
    }

    /// An indirect block for the pointer `field`, allocated (zeroed) if
    /// it is a hole.
    fn ensure_indirect(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        site: PointerSite,
        field: u32,
    ) -> Result<(u32, Option<u32>), FsError> {
        match self.checked_indirect(ino, site, field)? {
            0 => {
                let block = self.allocate_whole_block()?;
                inode.blocks = inode
                    .blocks
                    .saturating_add(self.geometry().fragments_per_block());
                let pointer = self
                    .geometry()
                    .encode_pointer(self.geometry().whole_block(block));
                Ok((block, Some(pointer)))
            }
            block => Ok((block, None)),
        }
    }

    /// Where the pointer of `file_block` is, allocating the indirect
    /// blocks on its path.
    pub(super) fn make_place(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        file_block: u64,
    ) -> Result<PointerPlace, FsError> {
        let slot = slot_of(file_block, self.geometry().pointers_per_block()).ok_or(
            FsError::FileTooLarge {
                end: (file_block + 1) * u64::from(self.geometry().block_size()),
                maximum: self.geometry().max_file_size(),
            },
        )?;
        let (site, entries, levels) = match indirect_path(slot) {
            Ok(path) => path,
            Err(index) => return Ok(PointerPlace::Direct(index)),
        };
        let root = slot.inode_pointer();
        let (mut block, new) = self.ensure_indirect(ino, inode, site, inode.pointer(root))?;
        if let Some(pointer) = new {
            *inode.pointer_mut(root) = pointer;
        }
        for &entry in &entries[..levels - 1] {
            let place = PointerPlace::Entry {
                indirect_block: block,
                index: entry,
            };
            let raw = self.pointer_at(inode, place)?;
            let (child, new) = self.ensure_indirect(ino, inode, place.site(), raw)?;
            if let Some(pointer) = new {
                self.set_pointer(inode, place, pointer)?;
            }
            block = child;
        }
        Ok(PointerPlace::Entry {
            indirect_block: block,
            index: entries[levels - 1],
        })
    }

    /// The fragments storing file blocks `first..=last` may need at most:
    /// a whole block for each that is not stored as a whole block yet,
    /// and the indirect blocks to be allocated on the way.
    pub(super) fn fragments_needed(
        &self,
        ino: u32,
        inode: &Inode,
        first: u64,
        last: u64,
    ) -> Result<u64, FsError> {
        let geometry = *self.geometry();
        let mut new_indirect = HashSet::new();
        let mut needed = 0;
        for file_block in first..=last {
            if let Some(extent) = self.map_extent(ino, inode, file_block)? {
                if extent.is_whole_block(&geometry) {
                    continue;
                }
            }
            needed += 1;
            let Some(slot) = slot_of(file_block, geometry.pointers_per_block()) else {
                continue;
            };
            let Ok((site, entries, levels)) = indirect_path(slot) else {
                continue;
            };
            // An indirect block to be made is known by its level's
            // entries from the inode's pointer.
            let root = slot.inode_pointer();
            let mut block = self.checked_indirect(ino, site, inode.pointer(root))?;
            for level in 0..levels {
                if block == 0 {
                    new_indirect.insert((root, level, entries[..level].to_vec()));
                } else if level + 1 < levels {
                    block = self.indirect_child(ino, block, entries[level])?;
                }
            }
        }
        Ok((needed + new_indirect.len() as u64) * u64::from(geometry.fragments_per_block()))
    }
}
