// SPDX-License-Identifier: GPL-2.0
//! File blocks to disk blocks: looking them up, allocating holes, and
//! counting what an allocation will need before it starts.

use std::collections::HashSet;

use super::Filesystem;
use crate::block_map::{slot_of, MapSlot, PointerSite};
use crate::device::BlockDevice;
use crate::error::FsError;
use crate::inode::Inode;
use crate::le::{get_u32, put_u32};

impl<D: BlockDevice> Filesystem<D> {
    fn indirect_entry(&self, ino: u32, indirect_block: u32, index: u32) -> Result<u32, FsError> {
        let bytes = self.read_block(indirect_block)?;
        let block = get_u32(&bytes, 4 * index as usize);
        let site = PointerSite::IndirectEntry {
            indirect_block,
            index,
        };
        self.checked_pointer(ino, site, block)
    }

    /// The block holding `file_block` of inode `ino`, or `None` for a hole.
    pub fn map_block(
        &self,
        ino: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<u32>, FsError> {
        let Some(slot) = slot_of(file_block, self.geometry().pointers_per_block()) else {
            return Ok(None);
        };
        let block = match slot {
            MapSlot::Direct(index) => {
                self.checked_pointer(ino, PointerSite::Direct(index), inode.direct[index])?
            }
            MapSlot::Single(index) => {
                match self.checked_pointer(
                    ino,
                    PointerSite::SingleIndirect,
                    inode.single_indirect,
                )? {
                    0 => 0,
                    single => self.indirect_entry(ino, single, index)?,
                }
            }
            MapSlot::Double { outer, inner } => {
                match self.checked_pointer(
                    ino,
                    PointerSite::DoubleIndirect,
                    inode.double_indirect,
                )? {
                    0 => 0,
                    double => match self.indirect_entry(ino, double, outer)? {
                        0 => 0,
                        single => self.indirect_entry(ino, single, inner)?,
                    },
                }
            }
        };
        Ok((block != 0).then_some(block))
    }

    /// Returns the pointer in entry `index` of `indirect_block`, allocating
    /// a block for it when it is a hole.
    fn ensure_indirect_entry(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        indirect_block: u32,
        index: u32,
    ) -> Result<u32, FsError> {
        match self.indirect_entry(ino, indirect_block, index)? {
            0 => {
                let block = self.allocate_block()?;
                inode.blocks = inode.blocks.saturating_add(1);
                let mut bytes = self.read_block(indirect_block)?;
                put_u32(&mut bytes, 4 * index as usize, block);
                self.write_block(indirect_block, &bytes)?;
                Ok(block)
            }
            block => Ok(block),
        }
    }

    /// Returns the pointer in `field`, allocating a block when it is a hole.
    fn ensure_inode_pointer(
        &mut self,
        ino: u32,
        blocks: &mut u32,
        site: PointerSite,
        field: &mut u32,
    ) -> Result<u32, FsError> {
        if self.checked_pointer(ino, site, *field)? == 0 {
            *field = self.allocate_block()?;
            *blocks = blocks.saturating_add(1);
        }
        Ok(*field)
    }

    /// The block holding `file_block`, allocated (with any indirect blocks
    /// on its path) if it was a hole.  `inode` is updated, not written.
    pub(super) fn ensure_block(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        file_block: u64,
    ) -> Result<u32, FsError> {
        let slot = slot_of(file_block, self.geometry().pointers_per_block()).ok_or(
            FsError::FileTooLarge {
                end: (file_block + 1) * u64::from(self.geometry().block_size()),
                maximum: self.geometry().max_file_size(),
            },
        )?;
        let mut blocks = inode.blocks;
        let block = match slot {
            MapSlot::Direct(index) => self.ensure_inode_pointer(
                ino,
                &mut blocks,
                PointerSite::Direct(index),
                &mut inode.direct[index],
            )?,
            MapSlot::Single(index) => {
                let single = self.ensure_inode_pointer(
                    ino,
                    &mut blocks,
                    PointerSite::SingleIndirect,
                    &mut inode.single_indirect,
                )?;
                inode.blocks = blocks;
                return self.ensure_indirect_entry(ino, inode, single, index);
            }
            MapSlot::Double { outer, inner } => {
                let double = self.ensure_inode_pointer(
                    ino,
                    &mut blocks,
                    PointerSite::DoubleIndirect,
                    &mut inode.double_indirect,
                )?;
                inode.blocks = blocks;
                let single = self.ensure_indirect_entry(ino, inode, double, outer)?;
                return self.ensure_indirect_entry(ino, inode, single, inner);
            }
        };
        inode.blocks = blocks;
        Ok(block)
    }

    /// Blocks a write over file blocks `first..=last` allocates: each hole's
    /// data block and each missing indirect block on the way to it.
    pub(super) fn blocks_needed(
        &self,
        ino: u32,
        inode: &Inode,
        first: u64,
        last: u64,
    ) -> Result<u64, FsError> {
        /// An indirect block the write would create.
        #[derive(PartialEq, Eq, Hash)]
        enum NewIndirect {
            Single,
            Double,
            DoubleEntry(u32),
        }
        let mut new_indirect = HashSet::new();
        let mut needed = 0;
        for file_block in first..=last {
            if self.map_block(ino, inode, file_block)?.is_some() {
                continue;
            }
            needed += 1;
            match slot_of(file_block, self.geometry().pointers_per_block()) {
                Some(MapSlot::Single(_)) if inode.single_indirect == 0 => {
                    new_indirect.insert(NewIndirect::Single);
                }
                Some(MapSlot::Double { outer, .. }) => {
                    let double = inode.double_indirect;
                    if double == 0 {
                        new_indirect.insert(NewIndirect::Double);
                    }
                    if double == 0 || self.indirect_entry(ino, double, outer)? == 0 {
                        new_indirect.insert(NewIndirect::DoubleEntry(outer));
                    }
                }
                _ => {}
            }
        }
        Ok(needed + new_indirect.len() as u64)
    }
}
