// SPDX-License-Identifier: GPL-2.0

//! Inodes on disk and their block maps: reading, writing and freeing
//! inodes, finding, allocating and freeing the blocks of a file (ext2's
//! inode.c).

use crate::{
    format::{
        block_map::{inode_pointers, slot_of},
        inode::Inode as DiskInode,
        le::{get_u32, put_u32},
    },
    meta::{corrupt, Meta},
    vfs::{Buffer, Inode, SuperBlock, PAGE_SIZE},
};
use kernel::prelude::*;

impl Meta<'_> {
    /// The block holding file block `n` of inode `ino`, 0 for a hole.
    pub(crate) fn lookup(&self, ino: u32, n: u64) -> Result<u32> {
        let Some(slot) = slot_of(n, self.geometry.pointers_per_block()) else {
            return Ok(0);
        };
        let inode = self.inode_slot(ino)?.get();
        let mut pointer = self.check_pointer(ino, inode.pointer(slot.inode_pointer()))?;
        let (entries, depth) = slot.indirect_entries();
        let mut above = [0u32; 2];
        for (level, &entry) in entries[..depth].iter().enumerate() {
            if pointer == 0 {
                return Ok(0);
            }
            above[level] = pointer;
            let indirect = Buffer::read(self.sb, pointer)?;
            pointer = self.check_entry(
                ino,
                get_u32(indirect.data(), 4 * entry as usize),
                &above[..=level],
            )?;
        }
        Ok(pointer)
    }

    /// Blocks (data and indirect) that mapping file blocks `range` of
    /// inode `ino` would allocate; an indirect block missing for several
    /// of them is counted once.
    pub(crate) fn missing_blocks(&self, ino: u32, range: core::ops::Range<u64>) -> Result<u32> {
        // A missing indirect block: (its pointer in the inode, its level,
        // the outer entry leading to it).
        // No allocation under the metadata lock (reclaim may evict a toyfs
        // inode, which takes it): a range is at most one page, 8 blocks,
        // and each block adds at most 2 indirect blocks.
        let mut counted = [(None, 0usize, 0u32); 2 * PAGE_SIZE / 512];
        let mut counted_len = 0;
        if range.end.saturating_sub(range.start) > (PAGE_SIZE / 512) as u64 {
            return Err(EINVAL);
        }
        let mut missing = 0;
        let inode = self.inode_slot(ino)?.get();
        for n in range {
            let slot = slot_of(n, self.geometry.pointers_per_block()).ok_or(EFBIG)?;
            let root = slot.inode_pointer();
            let (entries, depth) = slot.indirect_entries();
            let mut pointer = self.check_pointer(ino, inode.pointer(root))?;
            let mut level = 0;
            let mut above = [0u32; 2];
            while level < depth && pointer != 0 {
                above[level] = pointer;
                let indirect = Buffer::read(self.sb, pointer)?;
                let entry = get_u32(indirect.data(), 4 * entries[level] as usize);
                pointer = self.check_entry(ino, entry, &above[..=level])?;
                level += 1;
            }
            if pointer != 0 {
                continue;
            }
            // Levels `level..depth` lack their indirect block, then data.
            for missing_level in level..depth {
                let outer = if missing_level == 0 { 0 } else { entries[0] };
                let key = (Some(root), missing_level, outer);
                if !counted[..counted_len].contains(&key) {
                    counted[counted_len] = key;
                    counted_len += 1;
                    missing += 1;
                }
            }
            missing += 1;
        }
        Ok(missing)
    }

    /// The block of file block `n` of `inode`, allocated (with the
    /// indirect blocks on its path) if it is a hole; true if the data
    /// block is new.  The caller has reserved the blocks.
    pub(crate) fn map(&mut self, inode: &Inode, n: u64) -> Result<(u32, bool)> {
        let ino = inode.ino();
        let slot = slot_of(n, self.geometry.pointers_per_block()).ok_or(EFBIG)?;
        let mut table = self.inode_slot(ino)?;
        let mut disk = table.get();
        let mut allocated = 0;
        let mut result = (|| -> Result<(u32, bool)> {
            let root = slot.inode_pointer();
            let mut pointer = self.check_pointer(ino, disk.pointer(root))?;
            let mut new = false;
            if pointer == 0 {
                pointer = self.alloc_block()?;
                *disk.pointer_mut(root) = pointer;
                allocated += 1;
                new = true;
            }
            let (entries, depth) = slot.indirect_entries();
            let mut above = [0u32; 2];
            for (level, &entry) in entries[..depth].iter().enumerate() {
                let at = 4 * entry as usize;
                above[level] = pointer;
                let mut indirect = Buffer::read(self.sb, pointer)?;
                let next = self.check_entry(ino, get_u32(indirect.data(), at), &above[..=level])?;
                if next == 0 {
                    pointer = self.alloc_block()?;
                    put_u32(indirect.data_mut(), at, pointer);
                    indirect.mark_dirty();
                    allocated += 1;
                    new = true;
                } else {
                    pointer = next;
                    new = false;
                }
            }
            Ok((pointer, new))
        })();
        // Whatever was allocated is in the map: count it, also on error.
        if allocated > 0 {
            disk.blocks = disk.blocks.saturating_add(allocated);
            table.set(&disk);
            inode.set_blocks(disk.blocks, self.geometry.block_size());
        }
        if let Ok((_, new)) = &mut result {
            // Only the data block's own freshness matters to the caller.
            *new = *new && allocated > 0;
        }
        result
    }

    /// Allocates the holes among file blocks `range` of `inode`, all or
    /// none (`ENOSPC`); returns a bit per block of the range that is new.
    pub(crate) fn map_range(&mut self, inode: &Inode, range: core::ops::Range<u64>) -> Result<u32> {
        let needed = self.missing_blocks(inode.ino(), range.clone())?;
        self.reserve(needed)?;
        let mut new = 0;
        for (k, n) in range.enumerate() {
            if self.map(inode, n)?.1 {
                new |= 1 << k;
            }
        }
        Ok(new)
    }

    /// Frees what pointer `block` (data at `depth` 0, else an indirect
    /// block of `depth` levels covering file blocks from `first`) holds
    /// at or past file block `eof`; true if `block` itself was freed.
    /// `above` are the indirect blocks on the path to `block`.
    #[expect(clippy::too_many_arguments)]
    fn prune(
        &mut self,
        ino: u32,
        block: u32,
        above: &[u32],
        depth: u32,
        first: u64,
        eof: u64,
        freed: &mut u32,
    ) -> Result<bool> {
        if block == 0 {
            return Ok(false);
        }
        self.check_entry(ino, block, above)?;
        if depth > 0 {
            // The path to the children: `above`, then `block` (depth is at
            // most 2, so `above` holds at most one block here).
            let mut path = [0u32; 2];
            let levels = above.len().min(1);
            path[..levels].copy_from_slice(&above[..levels]);
            path[levels] = block;
            let path = &path[..=levels];
            let p = u64::from(self.geometry.pointers_per_block());
            let span = if depth == 2 { p } else { 1 };
            let mut indirect = Buffer::read(self.sb, block)?;
            for entry in 0..p as usize {
                let child_first = first + entry as u64 * span;
                if child_first + span <= eof {
                    continue;
                }
                let child = get_u32(indirect.data(), 4 * entry);
                if self.prune(ino, child, path, depth - 1, child_first, eof, freed)? {
                    put_u32(indirect.data_mut(), 4 * entry, 0);
                    indirect.mark_dirty();
                }
            }
        }
        if first >= eof {
            self.free_block(ino, block)?;
            *freed += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Frees every block of `inode` at or past the end of a file of
    /// `size` bytes (`Filesystem::truncate` of tools/toyfs-format), and
    /// with `zero_tail` zeroes the on-disk bytes of the new last block
    /// past `size`.
    pub(crate) fn truncate_blocks(&mut self, inode: &Inode, size: u64, zero_tail: bool) -> Result {
        let ino = inode.ino();
        let eof = self.geometry.blocks_for(size);
        let mut table = self.inode_slot(ino)?;
        let mut disk = table.get();
        let mut freed = 0;
        let mut result = Ok(());
        for (root, depth, first) in inode_pointers(self.geometry.pointers_per_block()) {
            let block = disk.pointer(root);
            match self.prune(ino, block, &[], depth, first, eof, &mut freed) {
                Ok(true) => *disk.pointer_mut(root) = 0,
                Ok(false) => {}
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        if freed > 0 {
            disk.blocks = disk.blocks.saturating_sub(freed);
            table.set(&disk);
            inode.set_blocks(disk.blocks, self.geometry.block_size());
        }
        drop(table);
        result?;
        let tail = self.geometry.offset_in_block(size) as usize;
        if zero_tail && tail != 0 {
            let block = self.lookup(ino, self.geometry.block_of(size))?;
            if block != 0 {
                let mut last = Buffer::read(self.sb, block)?;
                last.data_mut()[tail..].fill(0);
                last.mark_dirty();
            }
        }
        Ok(())
    }
}

/// Reads and validates inode `ino`.
pub(crate) fn read_inode(sb: &SuperBlock, ino: u32) -> Result<DiskInode> {
    let meta = Meta::lock(sb);
    let inode = meta.inode_slot(ino)?.get();
    if let Some(problem) = inode.reader_problem(&meta.geometry) {
        return Err(corrupt(sb, ino, problem.rule()));
    }
    Ok(inode)
}

/// `write_inode`: the VFS attributes into the inode table.
pub(crate) fn write_inode(inode: &Inode, sync: bool) -> Result {
    let meta = Meta::lock(inode.sb());
    let mut slot = meta.inode_slot(inode.ino())?;
    let mut disk = slot.get();
    inode.store_attrs(&mut disk);
    slot.set(&disk);
    if sync {
        slot.sync()?;
    }
    Ok(())
}

/// Frees an evicted inode without links: its blocks, then the inode
/// itself (128 zero bytes).
pub(crate) fn delete_inode(inode: &Inode) -> Result {
    let mut meta = Meta::lock(inode.sb());
    meta.truncate_blocks(inode, 0, false)?;
    meta.release_inode(inode.ino())
}
