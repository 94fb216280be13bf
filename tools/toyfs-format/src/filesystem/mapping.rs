// SPDX-License-Identifier: GPL-2.0
//! File blocks to what stores them: looking pointers up, finding or making
//! the place of a pointer (indirect blocks included), and counting what an
//! allocation will need before it starts.

use std::collections::HashSet;

use super::Filesystem;
use crate::address::Extent;
use crate::block_map::{slot_of, MapSlot, PointerSite};
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
        let single =
            |this: &Self, pointer| this.checked_indirect(ino, PointerSite::SingleIndirect, pointer);
        Ok(match slot {
            MapSlot::Direct(index) => Some(PointerPlace::Direct(index)),
            MapSlot::Single(index) => match single(self, inode.single_indirect)? {
                0 => None,
                indirect_block => Some(PointerPlace::Entry {
                    indirect_block,
                    index,
                }),
            },
            MapSlot::Double { outer, inner } => {
                let double =
                    self.checked_indirect(ino, PointerSite::DoubleIndirect, inode.double_indirect)?;
                match double {
                    0 => None,
                    double => match self.indirect_child(ino, double, outer)? {
                        0 => None,
                        indirect_block => Some(PointerPlace::Entry {
                            indirect_block,
                            index: inner,
                        }),
                    },
                }
            }
        })
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
        match slot {
            MapSlot::Direct(index) => Ok(PointerPlace::Direct(index)),
            MapSlot::Single(index) => {
                let (single, new) = self.ensure_indirect(
                    ino,
                    inode,
                    PointerSite::SingleIndirect,
                    inode.single_indirect,
                )?;
                if let Some(pointer) = new {
                    inode.single_indirect = pointer;
                }
                Ok(PointerPlace::Entry {
                    indirect_block: single,
                    index,
                })
            }
            MapSlot::Double { outer, inner } => {
                let (double, new) = self.ensure_indirect(
                    ino,
                    inode,
                    PointerSite::DoubleIndirect,
                    inode.double_indirect,
                )?;
                if let Some(pointer) = new {
                    inode.double_indirect = pointer;
                }
                let entry = PointerPlace::Entry {
                    indirect_block: double,
                    index: outer,
                };
                let raw = self.pointer_at(inode, entry)?;
                let (single, new) = self.ensure_indirect(ino, inode, entry.site(), raw)?;
                if let Some(pointer) = new {
                    self.set_pointer(inode, entry, pointer)?;
                }
                Ok(PointerPlace::Entry {
                    indirect_block: single,
                    index: inner,
                })
            }
        }
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
        #[derive(PartialEq, Eq, Hash)]
        enum NewIndirect {
            Single,
            Double,
            DoubleEntry(u32),
        }
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
            match slot_of(file_block, geometry.pointers_per_block()) {
                Some(MapSlot::Single(_)) if inode.single_indirect == 0 => {
                    new_indirect.insert(NewIndirect::Single);
                }
                Some(MapSlot::Double { outer, .. }) => {
                    let double = self.checked_indirect(
                        ino,
                        PointerSite::DoubleIndirect,
                        inode.double_indirect,
                    )?;
                    if double == 0 {
                        new_indirect.insert(NewIndirect::Double);
                    }
                    if double == 0 || self.indirect_child(ino, double, outer)? == 0 {
                        new_indirect.insert(NewIndirect::DoubleEntry(outer));
                    }
                }
                _ => {}
            }
        }
        Ok((needed + new_indirect.len() as u64) * u64::from(geometry.fragments_per_block()))
    }
}
