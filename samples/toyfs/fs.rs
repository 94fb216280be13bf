// SPDX-License-Identifier: GPL-2.0

//! The filesystem logic of toyfs, in safe Rust over the wrappers of
//! `vfs.rs`: allocation, block maps, directories, and the page-cache work,
//! every partial-page part of which is a vm_mvc call (the table at the end
//! of Documentation/toyfs.rst says which one for which case).
//!
//! One mutex per filesystem (`SbInfo::counts`) serialises every change of
//! metadata: bitmap, inode table, indirect and directory blocks.  It is
//! held only around buffer-head work, never across a vm_mvc call by
//! `(sid, pno)`, a copy to or from user memory, or an allocation that could
//! enter reclaim, so that page faults and writeback may take it under the
//! folio lock.

use crate::{
    format::{
        self, get_u16, get_u32, put_u16, put_u32, DirEntries, Geometry, InodeAttrs, InodePointer,
        Superblock, DIRECT_POINTERS, DIRENT_DIRECTORY, DIRENT_REGULAR, INODE_SIZE, MAX_NAME_LEN,
        STATE_CLEAN, STATE_DIRTY,
    },
    vfs::{
        toyfs_err, truncate_setsize, Buffer, DirEmitter, Inode, InodeRef, LockedFolio, LogLimit,
        SuperBlock, PAGE_SIZE,
    },
    vm_mvc_client::{KernelBuffer, Op},
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Mutex, MutexGuard},
};

/// The free counts, kept exact in memory while mounted.
pub(crate) struct Counts {
    free_blocks: u32,
    free_inodes: u32,
    /// The bitmap block and byte of the last block allocation, where the
    /// next search starts: a growing file then finds its next block at
    /// once instead of rescanning the full start of the bitmap.
    alloc_hint: (u32, usize),
}

/// The in-memory state of a mounted filesystem (`s_fs_info`).
#[pin_data]
pub(crate) struct SbInfo {
    /// The layout, fixed at mkfs time.
    pub(crate) geometry: Geometry,
    /// The metadata lock and the free counts it protects.
    #[pin]
    counts: Mutex<Counts>,
    /// The ratelimit of the corruption messages about this filesystem.
    errors: LogLimit,
}

impl SbInfo {
    /// The state for a superblock read from the disk.
    pub(crate) fn new(disk: Superblock) -> impl PinInit<Self, Error> {
        try_pin_init!(SbInfo {
            geometry: disk.geometry,
            counts <- new_mutex!(Counts {
                free_blocks: disk.free_blocks,
                free_inodes: disk.free_inodes,
                alloc_hint: (0, 0),
            }),
            errors: LogLimit::new(),
        }? Error)
    }
}

/// What `statfs` reports.
pub(crate) struct Stat {
    pub(crate) block_size: u32,
    pub(crate) blocks: u32,
    pub(crate) free_blocks: u32,
    pub(crate) inodes: u32,
    pub(crate) free_inodes: u32,
}

/// Logs (ratelimited per filesystem) a broken rule of the format met in
/// inode `ino` of `sb`, 0 for none, and returns `EUCLEAN`
/// (`EFSCORRUPTED`).
fn corrupt(sb: &SuperBlock, ino: u32, rule: &str) -> Error {
    if sb.info().errors.allow() {
        kernel::pr_err!("{}: corrupted: inode {}: {}\n", sb.id(), ino, rule);
    }
    EUCLEAN
}

/// Validates the superblock read at mount and the device size.
pub(crate) fn parse_mount_superblock(block0: &[u8], device_bytes: u64) -> Result<Superblock> {
    let disk = format::parse_superblock(block0).map_err(|rule| {
        toyfs_err!("not a valid toyfs superblock: {}\n", rule);
        EINVAL
    })?;
    let geometry = disk.geometry;
    let needed = u64::from(geometry.block_count) * u64::from(geometry.block_size);
    if device_bytes < needed {
        toyfs_err!(
            "device of {} bytes is smaller than the filesystem ({} bytes)\n",
            device_bytes,
            needed
        );
        return Err(EINVAL);
    }
    if disk.state == STATE_DIRTY {
        kernel::pr_notice!("not cleanly unmounted: recounting the free blocks and inodes\n");
    }
    Ok(disk)
}

/// The metadata lock held, with what the locked operations need.
struct Meta<'a> {
    sb: &'a SuperBlock,
    geometry: Geometry,
    counts: MutexGuard<'a, Counts>,
}

impl<'a> Meta<'a> {
    /// Takes the metadata lock of `sb`.
    fn lock(sb: &'a SuperBlock) -> Self {
        let info = sb.info();
        Self {
            sb,
            geometry: info.geometry,
            counts: info.counts.lock(),
        }
    }

    /// The inode-table buffer holding inode `ino` and its offset there.
    fn inode_buffer(&self, ino: u32) -> Result<(Buffer, usize)> {
        if ino == 0 || ino > self.geometry.inode_count {
            return Err(corrupt(self.sb, ino, "inode number out of range"));
        }
        let (block, offset) = self.geometry.inode_location(ino);
        Ok((Buffer::read(self.sb, block)?, offset))
    }

    /// Checks a pointer read from inode `ino` or its indirect blocks
    /// before it is followed: 0 (a hole), or a data block that the bitmap
    /// marks in use.  A pointer into free space would expose what a
    /// deleted file left there; one into metadata, the inode table.
    fn check_pointer(&self, ino: u32, block: u32) -> Result<u32> {
        if block == 0 {
            return Ok(0);
        }
        if !self.geometry.is_data_block(block) {
            return Err(corrupt(
                self.sb,
                ino,
                "block pointer outside the data blocks",
            ));
        }
        if !self.is_marked_used(block)? {
            return Err(corrupt(self.sb, ino, "block pointer names a free block"));
        }
        Ok(block)
    }

    /// `check_pointer` for an entry of an indirect block, which must not
    /// name one of the indirect blocks `above` it on its path (a loop
    /// would read pointers as data, or free an indirect block twice).
    fn check_entry(&self, ino: u32, block: u32, above: &[u32]) -> Result<u32> {
        if block != 0 && above.contains(&block) {
            return Err(corrupt(
                self.sb,
                ino,
                "indirect block names itself or an indirect block above it",
            ));
        }
        self.check_pointer(ino, block)
    }

    /// The bitmap block and bit of data block `block`.
    fn bitmap_bit(&self, block: u32) -> Result<(Buffer, usize)> {
        let shift = self.geometry.bitmap_shift();
        let bitmap = Buffer::read(self.sb, 1 + (block >> shift))?;
        Ok((bitmap, (block & ((1 << shift) - 1)) as usize))
    }

    /// Whether the bitmap marks data block `block` in use.
    fn is_marked_used(&self, block: u32) -> Result<bool> {
        let (bitmap, bit) = self.bitmap_bit(block)?;
        Ok(bitmap.data()[bit / 8] & (1 << (bit % 8)) != 0)
    }

    /// The block holding file block `n` of inode `ino`, 0 for a hole.
    fn lookup(&self, ino: u32, n: u64) -> Result<u32> {
        let Some(path) = format::map_path(&self.geometry, n) else {
            return Ok(0);
        };
        let (table, offset) = self.inode_buffer(ino)?;
        let mut pointer =
            self.check_pointer(ino, get_u32(table.data(), offset + path.root.offset()))?;
        drop(table);
        let mut above = [0u32; 2];
        for (level, &entry) in path.entries[..path.depth].iter().enumerate() {
            if pointer == 0 {
                return Ok(0);
            }
            above[level] = pointer;
            let indirect = Buffer::read(self.sb, pointer)?;
            pointer =
                self.check_entry(ino, get_u32(indirect.data(), 4 * entry), &above[..=level])?;
        }
        Ok(pointer)
    }

    /// Blocks (data and indirect) that mapping file blocks `range` of
    /// inode `ino` would allocate; an indirect block missing for several
    /// of them is counted once.
    fn missing_blocks(&self, ino: u32, range: core::ops::Range<u64>) -> Result<u32> {
        // A missing indirect block: (its pointer in the inode, its level,
        // the outer entry leading to it).
        // No allocation under the metadata lock (reclaim may evict a toyfs
        // inode, which takes it): a range is at most one page, 8 blocks,
        // and each block adds at most 2 indirect blocks.
        let mut counted = [(0usize, 0usize, 0usize); 2 * PAGE_SIZE / 512];
        let mut counted_len = 0;
        if range.end.saturating_sub(range.start) > (PAGE_SIZE / 512) as u64 {
            return Err(EINVAL);
        }
        let mut missing = 0;
        let (table, offset) = self.inode_buffer(ino)?;
        for n in range {
            let path = format::map_path(&self.geometry, n).ok_or(EFBIG)?;
            let mut pointer =
                self.check_pointer(ino, get_u32(table.data(), offset + path.root.offset()))?;
            let mut level = 0;
            let mut above = [0u32; 2];
            while level < path.depth && pointer != 0 {
                above[level] = pointer;
                let indirect = Buffer::read(self.sb, pointer)?;
                let entry = get_u32(indirect.data(), 4 * path.entries[level]);
                pointer = self.check_entry(ino, entry, &above[..=level])?;
                level += 1;
            }
            if pointer != 0 {
                continue;
            }
            // Levels `level..depth` lack their indirect block, then data.
            for missing_level in level..path.depth {
                let outer = if missing_level == 0 {
                    0
                } else {
                    path.entries[0]
                };
                let key = (path.root.offset(), missing_level, outer);
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

    /// Fails with `ENOSPC` unless `needed` blocks are free.
    fn reserve(&self, needed: u32) -> Result {
        if needed > self.counts.free_blocks {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Allocates a data block, zeroed on disk ("a writer zeroes what it
    /// allocates"), and marks it in use.
    fn alloc_block(&mut self) -> Result<u32> {
        if self.counts.free_blocks == 0 {
            return Err(ENOSPC);
        }
        let bits_per_block = 8 * self.geometry.block_size;
        let bitmap_blocks = self.geometry.bitmap_blocks;
        let (hint_index, hint_byte) = self.counts.alloc_hint;
        // The hint's bitmap block from the hint's byte, the others in turn,
        // then the hint's block again from its start.
        for step in 0..=bitmap_blocks {
            let mut index = hint_index + step;
            if index >= bitmap_blocks {
                index -= bitmap_blocks;
            }
            let start = if step == 0 { hint_byte } else { 0 };
            let mut bitmap = Buffer::read(self.sb, 1 + index)?;
            let from_start = bitmap.data().get(start..).unwrap_or_default();
            let Some(found) = from_start.iter().position(|&byte| byte != 0xff) else {
                continue;
            };
            let byte = start + found;
            let bit = (!bitmap.data()[byte]).trailing_zeros();
            // CAST: a byte offset in a block of at most 4096 bytes.
            let block = index * bits_per_block + 8 * byte as u32 + bit;
            if !self.geometry.is_data_block(block) {
                return Err(corrupt(
                    self.sb,
                    0,
                    "bitmap: a metadata or padding bit is clear",
                ));
            }
            let mut data = Buffer::read(self.sb, block)?;
            data.data_mut().fill(0);
            data.mark_dirty();
            bitmap.data_mut()[byte] |= 1 << bit;
            bitmap.mark_dirty();
            self.counts.free_blocks -= 1;
            self.counts.alloc_hint = (index, byte);
            return Ok(block);
        }
        toyfs_err!("free block count says free, bitmap says full\n");
        Err(ENOSPC)
    }

    /// Marks data block `block` free.
    fn free_block(&mut self, ino: u32, block: u32) -> Result {
        self.check_pointer(ino, block)?;
        let (mut bitmap, bit) = self.bitmap_bit(block)?;
        let byte = &mut bitmap.data_mut()[bit / 8];
        if *byte & (1 << (bit % 8)) == 0 {
            return Err(corrupt(self.sb, ino, "block freed twice"));
        }
        *byte &= !(1 << (bit % 8));
        bitmap.mark_dirty();
        self.counts.free_blocks += 1;
        Ok(())
    }

    /// The block of file block `n` of `inode`, allocated (with the
    /// indirect blocks on its path) if it is a hole; true if the data
    /// block is new.  The caller has reserved the blocks.
    fn map(&mut self, inode: &Inode, n: u64) -> Result<(u32, bool)> {
        let ino = inode.ino();
        let path = format::map_path(&self.geometry, n).ok_or(EFBIG)?;
        let (mut table, offset) = self.inode_buffer(ino)?;
        let mut allocated = 0;
        let mut result = (|| -> Result<(u32, bool)> {
            let at = offset + path.root.offset();
            let mut pointer = self.check_pointer(ino, get_u32(table.data(), at))?;
            let mut new = false;
            if pointer == 0 {
                pointer = self.alloc_block()?;
                put_u32(table.data_mut(), at, pointer);
                allocated += 1;
                new = true;
            }
            let mut above = [0u32; 2];
            for (level, &entry) in path.entries[..path.depth].iter().enumerate() {
                above[level] = pointer;
                let mut indirect = Buffer::read(self.sb, pointer)?;
                let next =
                    self.check_entry(ino, get_u32(indirect.data(), 4 * entry), &above[..=level])?;
                if next == 0 {
                    pointer = self.alloc_block()?;
                    put_u32(indirect.data_mut(), 4 * entry, pointer);
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
            let blocks = format::inode_blocks(&table.data()[offset..]).saturating_add(allocated);
            format::set_inode_blocks(&mut table.data_mut()[offset..], blocks);
            table.mark_dirty();
            inode.set_blocks(blocks, self.geometry.block_size);
        }
        if let Ok((_, new)) = &mut result {
            // Only the data block's own freshness matters to the caller.
            *new = *new && allocated > 0;
        }
        result
    }

    /// Allocates the holes among file blocks `range` of `inode`, all or
    /// none (`ENOSPC`); returns a bit per block of the range that is new.
    fn map_range(&mut self, inode: &Inode, range: core::ops::Range<u64>) -> Result<u32> {
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
            let p = self.geometry.pointers_per_block();
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
    fn truncate_blocks(&mut self, inode: &Inode, size: u64, zero_tail: bool) -> Result {
        let ino = inode.ino();
        let eof = self.geometry.blocks_for(size);
        let p = self.geometry.pointers_per_block();
        let (mut table, offset) = self.inode_buffer(ino)?;
        let mut freed = 0;
        let mut result = Ok(());
        let roots = Iterator::chain(
            (0..DIRECT_POINTERS).map(|n| (InodePointer::Direct(n), 0, n as u64)),
            [
                (InodePointer::SingleIndirect, 1, DIRECT_POINTERS as u64),
                (InodePointer::DoubleIndirect, 2, DIRECT_POINTERS as u64 + p),
            ],
        );
        for (root, depth, first) in roots {
            let at = offset + root.offset();
            let block = get_u32(table.data(), at);
            match self.prune(ino, block, &[], depth, first, eof, &mut freed) {
                Ok(true) => put_u32(table.data_mut(), at, 0),
                Ok(false) => {}
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        if freed > 0 {
            let blocks = format::inode_blocks(&table.data()[offset..]).saturating_sub(freed);
            format::set_inode_blocks(&mut table.data_mut()[offset..], blocks);
            table.mark_dirty();
            inode.set_blocks(blocks, self.geometry.block_size);
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

    /// Writes the superblock with the free counts and `state`.
    fn write_superblock(&self, state: u32, sync: bool) -> Result {
        let mut block0 = Buffer::read(self.sb, 0)?;
        format::update_superblock(
            block0.data_mut(),
            self.counts.free_blocks,
            self.counts.free_inodes,
            state,
        );
        block0.mark_dirty();
        if sync {
            block0.sync()?;
        }
        Ok(())
    }

    /// Recounts the free blocks and inodes from the bitmap and the inode
    /// table (the counts of a dirty superblock may be stale).
    fn recount(&mut self) -> Result {
        let geometry = self.geometry;
        let shift = geometry.bitmap_shift();
        let mut free_blocks = 0;
        let mut block = geometry.first_data_block;
        while block < geometry.block_count {
            let bitmap = Buffer::read(self.sb, 1 + (block >> shift))?;
            let end = geometry.block_count.min(((block >> shift) + 1) << shift);
            for b in block..end {
                let bit = (b & ((1 << shift) - 1)) as usize;
                if bitmap.data()[bit / 8] & (1 << (bit % 8)) == 0 {
                    free_blocks += 1;
                }
            }
            block = end;
        }
        let mut free_inodes = 0;
        let per_block = geometry.block_bytes() / INODE_SIZE;
        for index in 0..geometry.inode_table_blocks {
            let table = Buffer::read(self.sb, geometry.inode_table_start + index)?;
            for slot in 0..per_block {
                let ino = index as usize * per_block + slot + 1;
                if ino <= geometry.inode_count as usize
                    && get_u16(table.data(), slot * INODE_SIZE) == 0
                {
                    free_inodes += 1;
                }
            }
        }
        self.counts.free_blocks = free_blocks;
        self.counts.free_inodes = free_inodes;
        Ok(())
    }

    /// A free inode number, or `ENOSPC`.
    fn find_free_inode(&self) -> Result<u32> {
        let geometry = self.geometry;
        let per_block = geometry.block_bytes() / INODE_SIZE;
        for index in 0..geometry.inode_table_blocks {
            let table = Buffer::read(self.sb, geometry.inode_table_start + index)?;
            for slot in 0..per_block {
                // CAST: inode numbers fit `u32` (the table has inode_count).
                let ino = (index as usize * per_block + slot + 1) as u32;
                if ino > geometry.inode_count {
                    break;
                }
                if ino != format::ROOT_INO && get_u16(table.data(), slot * INODE_SIZE) == 0 {
                    return Ok(ino);
                }
            }
        }
        Err(ENOSPC)
    }

    /// Takes free inode `ino` for a new file of `mode` with `nlink` links;
    /// a directory gets `dir_block`, already filled, as its one block.
    fn claim_inode(&mut self, ino: u32, mode: u16, nlink: u16, dir_block: Option<u32>) -> Result {
        let (mut table, offset) = self.inode_buffer(ino)?;
        let raw = &mut table.data_mut()[offset..offset + INODE_SIZE];
        raw.fill(0);
        put_u16(raw, 0, mode);
        put_u16(raw, 2, nlink);
        if let Some(block) = dir_block {
            format::set_inode_size(raw, u64::from(self.geometry.block_size));
            put_u32(raw, InodePointer::Direct(0).offset(), block);
            format::set_inode_blocks(raw, 1);
        }
        table.mark_dirty();
        self.counts.free_inodes = self.counts.free_inodes.saturating_sub(1);
        Ok(())
    }

    /// Gives inode `ino` back: its 128 bytes become zero (free).
    fn release_inode(&mut self, ino: u32) -> Result {
        let (mut table, offset) = self.inode_buffer(ino)?;
        table.data_mut()[offset..offset + INODE_SIZE].fill(0);
        table.mark_dirty();
        self.counts.free_inodes += 1;
        Ok(())
    }

    /// Whether directory `dir` holds no entry but "." and "..".
    fn is_empty_dir(&self, dir: &Inode) -> Result<bool> {
        for n in 0..self.geometry.block_of(dir.size()) {
            let data = Buffer::read(self.sb, self.dir_block(dir, n)?)?;
            for entry in DirEntries::new(data.data()) {
                let entry = entry.map_err(|rule| corrupt(dir.sb(), dir.ino(), rule))?;
                if entry.ino != 0 && entry.name != b"." && entry.name != b".." {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The entry `name` of `dir`, which the dentry cache says names
    /// inode `ino`.
    fn entry_of(&self, dir: &Inode, name: &[u8], ino: u32) -> Result<FoundEntry> {
        let found = self.find_entry(dir, name)?.ok_or(ENOENT)?;
        if found.ino != ino {
            return Err(corrupt(
                dir.sb(),
                dir.ino(),
                "entry names another inode than its dentry",
            ));
        }
        Ok(found)
    }

    /// Removes the entry `name` of inode `ino` from `dir`.
    fn remove_entry(&self, dir: &Inode, name: &[u8], ino: u32) -> Result {
        let found = self.entry_of(dir, name, ino)?;
        let mut data = Buffer::read(self.sb, found.block)?;
        let bytes = data.data_mut();
        match found.previous {
            // Merged into the previous entry of the block.
            Some(previous) => {
                let rec_len = usize::from(get_u16(bytes, previous + 4)) + found.rec_len;
                format::set_rec_len(bytes, previous, rec_len);
            }
            None => format::clear_entry_ino(bytes, found.offset),
        }
        data.mark_dirty();
        Ok(())
    }

    /// Points the existing entry `name` of `dir` at `ino`.
    fn retarget_entry(&self, dir: &Inode, name: &[u8], ino: u32, file_type: u8) -> Result {
        let found = self.find_entry(dir, name)?.ok_or(ENOENT)?;
        let mut data = Buffer::read(self.sb, found.block)?;
        put_u32(data.data_mut(), found.offset, ino);
        data.data_mut()[found.offset + 7] = file_type;
        data.mark_dirty();
        Ok(())
    }

    /// The block of directory block `n`; directories have no holes.
    fn dir_block(&self, dir: &Inode, n: u64) -> Result<u32> {
        match self.lookup(dir.ino(), n)? {
            0 => Err(corrupt(dir.sb(), dir.ino(), "hole in a directory")),
            block => Ok(block),
        }
    }

    /// The entry named `name` in `dir`.
    fn find_entry(&self, dir: &Inode, name: &[u8]) -> Result<Option<FoundEntry>> {
        for n in 0..self.geometry.block_of(dir.size()) {
            let block = self.dir_block(dir, n)?;
            let data = Buffer::read(self.sb, block)?;
            let mut previous = None;
            for entry in DirEntries::new(data.data()) {
                let entry = entry.map_err(|rule| corrupt(dir.sb(), dir.ino(), rule))?;
                if entry.ino != 0 && entry.name == name {
                    if entry.ino > self.geometry.inode_count {
                        return Err(corrupt(
                            dir.sb(),
                            dir.ino(),
                            "entry names an inode out of range",
                        ));
                    }
                    return Ok(Some(FoundEntry {
                        block,
                        offset: entry.offset,
                        rec_len: entry.rec_len,
                        previous,
                        ino: entry.ino,
                    }));
                }
                previous = Some(entry.offset);
            }
        }
        Ok(None)
    }

    /// Adds the entry `name` -> `ino` to `dir`, in free room of a block
    /// or in a new block (`ENOSPC` when there is none).
    fn add_entry(&mut self, dir: &Inode, name: &[u8], ino: u32, file_type: u8) -> Result {
        let needed = format::entry_size(name.len());
        let block_size = u64::from(self.geometry.block_size);
        let blocks = self.geometry.block_of(dir.size());
        for n in 0..blocks {
            let block = self.dir_block(dir, n)?;
            let mut data = Buffer::read(self.sb, block)?;
            // Where the entry goes: (offset of an entry to shorten, its new
            // rec_len) or an unused entry to reuse, and the room.
            let mut slot = None;
            for entry in DirEntries::new(data.data()) {
                let entry = entry.map_err(|rule| corrupt(dir.sb(), dir.ino(), rule))?;
                if entry.ino == 0 && entry.rec_len >= needed {
                    slot = Some((None, entry.offset, entry.rec_len));
                    break;
                }
                let used = format::entry_size(entry.name.len());
                if entry.ino != 0 && entry.rec_len - used >= needed {
                    slot = Some((Some(used), entry.offset + used, entry.rec_len - used));
                    break;
                }
            }
            if let Some((shortened, offset, rec_len)) = slot {
                let bytes = data.data_mut();
                if let Some(used) = shortened {
                    format::set_rec_len(bytes, offset - used, used);
                }
                format::write_entry(bytes, offset, ino, rec_len, file_type, name);
                data.mark_dirty();
                return Ok(());
            }
        }
        let (block, _) = {
            self.reserve(self.missing_blocks(dir.ino(), blocks..blocks + 1)?)?;
            self.map(dir, blocks)?
        };
        let mut data = Buffer::read(self.sb, block)?;
        format::write_entry(
            data.data_mut(),
            0,
            ino,
            self.geometry.block_bytes(),
            file_type,
            name,
        );
        data.mark_dirty();
        dir.set_size((blocks + 1) * block_size);
        Ok(())
    }
}

/// A directory entry found by name.
struct FoundEntry {
    block: u32,
    offset: usize,
    rec_len: usize,
    previous: Option<usize>,
    ino: u32,
}

/// Mounts: a read-write mount recomputes the free counts and writes the
/// dirty state before changing anything else.
pub(crate) fn mount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    start_writing(sb)
}

/// Recomputes the free counts (the superblock's may be stale) and writes
/// the dirty state: the filesystem is about to change.
fn start_writing(sb: &SuperBlock) -> Result {
    let mut meta = Meta::lock(sb);
    meta.recount()?;
    meta.write_superblock(STATE_DIRTY, true)
}

/// `mount -o remount`: going read-only writes the clean state (the VFS
/// caller has synced everything), going read-write starts as a mount
/// does.
pub(crate) fn remount(sb: &SuperBlock, read_only: bool) -> Result {
    match (sb.is_read_only(), read_only) {
        (false, true) => unmount(sb),
        (true, false) => start_writing(sb),
        _ => Ok(()),
    }
}

/// Unmounts: writes the exact counts and the clean state.
pub(crate) fn unmount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    Meta::lock(sb).write_superblock(STATE_CLEAN, true)
}

/// `sync_fs`: the counts reach the disk; the state stays dirty while
/// mounted read-write.
pub(crate) fn sync_fs(sb: &SuperBlock, wait: bool) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    Meta::lock(sb).write_superblock(STATE_DIRTY, wait)
}

/// `statfs`.
pub(crate) fn statfs(sb: &SuperBlock) -> Stat {
    let meta = Meta::lock(sb);
    Stat {
        block_size: meta.geometry.block_size,
        blocks: meta.geometry.block_count,
        free_blocks: meta.counts.free_blocks,
        inodes: meta.geometry.inode_count,
        free_inodes: meta.counts.free_inodes,
    }
}

/// Reads and validates inode `ino`.
pub(crate) fn read_inode(sb: &SuperBlock, ino: u32) -> Result<InodeAttrs> {
    let meta = Meta::lock(sb);
    let (table, offset) = meta.inode_buffer(ino)?;
    let raw = &table.data()[offset..offset + INODE_SIZE];
    if get_u16(raw, 0) == 0 {
        return Err(corrupt(sb, ino, "a directory entry names a free inode"));
    }
    format::parse_inode(raw, &meta.geometry).map_err(|rule| corrupt(sb, ino, rule))
}

/// `write_inode`: the VFS attributes into the inode table.
pub(crate) fn write_inode(inode: &Inode, sync: bool) -> Result {
    let attrs = inode.attrs();
    let meta = Meta::lock(inode.sb());
    let (mut table, offset) = meta.inode_buffer(inode.ino())?;
    format::encode_inode_attrs(&mut table.data_mut()[offset..offset + INODE_SIZE], &attrs);
    table.mark_dirty();
    if sync {
        table.sync()?;
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

/// `lookup`: the inode named `name` in `dir`, if any.
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<InodeRef>> {
    let ino = match Meta::lock(dir.sb()).find_entry(dir, name)? {
        Some(found) => found.ino,
        None => return Ok(None),
    };
    dir.sb().iget(ino).map(Some)
}

/// Creates the inode of a new entry `name` in `dir`: under the metadata
/// lock, `fill` gets a free inode number, adds the entry and claims the
/// inode, and returns the block it gave a new directory; `EEXIST` if the
/// name is taken.  If the VFS inode cannot be had then (`iget`: no memory,
/// or the inode table unreadable), the entry, inode and block go back, so
/// that a failed create or mkdir changes nothing.
fn new_inode(
    dir: &Inode,
    name: &[u8],
    fill: impl FnOnce(&mut Meta<'_>, u32) -> Result<Option<u32>>,
) -> Result<InodeRef> {
    if name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let sb = dir.sb();
    let (ino, dir_block) = {
        let mut meta = Meta::lock(sb);
        if meta.find_entry(dir, name)?.is_some() {
            return Err(EEXIST);
        }
        let ino = meta.find_free_inode()?;
        (ino, fill(&mut meta, ino)?)
    };
    let inode = match sb.iget(ino) {
        Ok(inode) => inode,
        Err(err) => {
            // The blocks involved were all just written and are in the
            // buffer cache: taking the changes back needs no allocation.
            let mut meta = Meta::lock(sb);
            meta.remove_entry(dir, name, ino)?;
            if let Some(block) = dir_block {
                meta.free_block(ino, block)?;
            }
            meta.release_inode(ino)?;
            return Err(err);
        }
    };
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    inode.init_times_now();
    Ok(inode)
}

/// `create`: a new regular file `name` in `dir` with `mode`.
pub(crate) fn create(dir: &Inode, name: &[u8], mode: u16) -> Result<InodeRef> {
    new_inode(dir, name, |meta, ino| {
        // The entry first: it is what may fail for want of a block, and
        // then the inode is still free.
        meta.add_entry(dir, name, ino, DIRENT_REGULAR)?;
        meta.claim_inode(ino, mode, 1, None)?;
        Ok(None)
    })
}

/// `mkdir`: a new directory `name` in `dir` with `mode`, holding "." and
/// "..".
pub(crate) fn mkdir(dir: &Inode, name: &[u8], mode: u16) -> Result<InodeRef> {
    if dir.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    let inode = new_inode(dir, name, |meta, ino| {
        let block = meta.alloc_block()?;
        let mut data = match Buffer::read(meta.sb, block) {
            Ok(data) => data,
            Err(err) => {
                meta.free_block(ino, block)?;
                return Err(err);
            }
        };
        let block_bytes = meta.geometry.block_bytes();
        format::write_entry(data.data_mut(), 0, ino, 12, DIRENT_DIRECTORY, b".");
        format::write_entry(
            data.data_mut(),
            12,
            dir.ino(),
            block_bytes - 12,
            DIRENT_DIRECTORY,
            b"..",
        );
        data.mark_dirty();
        if let Err(err) = meta.add_entry(dir, name, ino, DIRENT_DIRECTORY) {
            // No room for the entry: the new block goes back.
            meta.free_block(ino, block)?;
            return Err(err);
        }
        meta.claim_inode(ino, mode, 2, Some(block))?;
        Ok(Some(block))
    })?;
    // The new directory's ".." names `dir`.
    dir.inc_link();
    dir.mark_dirty();
    Ok(inode)
}

/// `unlink`: removes the entry `name` of `victim` from `dir`.
pub(crate) fn unlink(dir: &Inode, name: &[u8], victim: &Inode) -> Result {
    check_has_link(victim)?;
    Meta::lock(dir.sb()).remove_entry(dir, name, victim.ino())?;
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.touch_ctime();
    victim.drop_link();
    victim.mark_dirty();
    Ok(())
}

/// Fails with `EUCLEAN` if `inode` has no link left to drop: two entries
/// named an inode whose count said one (a damaged link count that only
/// fsck can see), and the first unlink dropped it.
fn check_has_link(inode: &Inode) -> Result {
    if inode.nlink() == 0 {
        return Err(corrupt(
            inode.sb(),
            inode.ino(),
            "entry names an inode without links",
        ));
    }
    Ok(())
}

/// Drops the link that a removed subdirectory's ".." gave `dir`, never
/// below the 2 of an empty directory, as ext4's `ext4_dec_count` does: a
/// damaged count must not let an in-use directory reach 0 links.
fn drop_subdir_link(dir: &Inode) {
    if dir.nlink() > 2 {
        dir.drop_link();
    }
}

/// `rmdir`: removes the empty directory `victim`, named `name` in `dir`.
pub(crate) fn rmdir(dir: &Inode, name: &[u8], victim: &Inode) -> Result {
    {
        let meta = Meta::lock(dir.sb());
        if !meta.is_empty_dir(victim)? {
            return Err(ENOTEMPTY);
        }
        meta.remove_entry(dir, name, victim.ino())?;
    }
    drop_subdir_link(dir);
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.clear_links();
    victim.touch_ctime();
    victim.mark_dirty();
    Ok(())
}

/// `rename` (no flags): `moved`, named `old_name` in `old_dir`, becomes
/// `new_name` in `new_dir`, replacing `target` if that name exists.
pub(crate) fn rename(
    old_dir: &Inode,
    old_name: &[u8],
    moved: &Inode,
    new_dir: &Inode,
    new_name: &[u8],
    target: Option<&Inode>,
) -> Result {
    if new_name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let is_dir = moved.is_dir();
    let changes_parent = is_dir && old_dir.ino() != new_dir.ino();
    if changes_parent && target.is_none() && new_dir.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    let file_type = if is_dir {
        DIRENT_DIRECTORY
    } else {
        DIRENT_REGULAR
    };
    if let Some(target) = target {
        check_has_link(target)?;
    }
    {
        let mut meta = Meta::lock(old_dir.sb());
        // What a damaged directory can fail is found before the first
        // change, so that the rename then fails having done nothing.
        meta.entry_of(old_dir, old_name, moved.ino())?;
        if changes_parent && meta.find_entry(moved, b"..")?.is_none() {
            return Err(corrupt(moved.sb(), moved.ino(), "directory without \"..\""));
        }
        match target {
            Some(target) => {
                if target.is_dir() && !meta.is_empty_dir(target)? {
                    return Err(ENOTEMPTY);
                }
                meta.retarget_entry(new_dir, new_name, moved.ino(), file_type)?;
            }
            // The new entry first: it is what may fail for want of a
            // block, and then nothing has changed.
            None => meta.add_entry(new_dir, new_name, moved.ino(), file_type)?,
        }
        meta.remove_entry(old_dir, old_name, moved.ino())?;
        if changes_parent {
            meta.retarget_entry(moved, b"..", new_dir.ino(), DIRENT_DIRECTORY)?;
        }
    }
    if let Some(target) = target {
        if target.is_dir() {
            target.clear_links();
            // Its ".." named `new_dir`.
            drop_subdir_link(new_dir);
        } else {
            target.drop_link();
        }
        target.touch_ctime();
        target.mark_dirty();
    }
    if changes_parent {
        drop_subdir_link(old_dir);
        new_dir.inc_link();
    }
    moved.touch_ctime();
    moved.mark_dirty();
    for dir in [old_dir, new_dir] {
        dir.touch_mtime_ctime();
        dir.mark_dirty();
    }
    Ok(())
}

/// `iterate_shared`: the entries of `dir` from the emitter's position (a
/// byte offset in the directory).
pub(crate) fn readdir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    let geometry = dir.sb().info().geometry;
    let block_size = u64::from(geometry.block_size);
    while emitter.pos() < dir.size() {
        let n = geometry.block_of(emitter.pos());
        let within = geometry.offset_in_block(emitter.pos()) as usize;
        // Only the map lookup under the lock: emitting copies to user
        // memory, which may fault into a toyfs file.  Entries change only
        // under the directory's lock, which readdir holds shared.
        let block = Meta::lock(dir.sb()).dir_block(dir, n)?;
        let data = Buffer::read(dir.sb(), block)?;
        for entry in DirEntries::new(data.data()) {
            let entry = entry.map_err(|rule| corrupt(dir.sb(), dir.ino(), rule))?;
            if entry.offset < within {
                continue;
            }
            if entry.ino > geometry.inode_count {
                return Err(corrupt(
                    dir.sb(),
                    dir.ino(),
                    "entry names an inode out of range",
                ));
            }
            if entry.ino != 0
                && !emitter.emit(entry.name, entry.ino, entry.file_type == DIRENT_DIRECTORY)
            {
                return Ok(());
            }
            emitter.set_pos(n * block_size + (entry.offset + entry.rec_len) as u64);
        }
        emitter.set_pos((n + 1) * block_size);
    }
    Ok(())
}

/// Runs vm_mvc command `op` on page bytes `from % PAGE_SIZE` to the end
/// of the page holding byte `from`, by `(sid, pno)`; a page that is not
/// cached (`ENOENT`) has nothing to change.
fn mvc_page_tail(inode: &Inode, from: u64, op: Op<'_>) -> Result {
    let offset = (from % PAGE_SIZE as u64) as usize;
    if offset == 0 {
        return Ok(());
    }
    // CAST: page numbers of toyfs files fit `usize`.
    match inode.sid().mvc(
        (from / PAGE_SIZE as u64) as usize,
        offset,
        PAGE_SIZE - offset,
        op,
    ) {
        // Not cached, or not uptodate (a failed read): `read_folio` zeroes
        // past the end of the file when it fills the page.
        Err(err) if err == ENOENT || err == ENODATA => Ok(()),
        result => result,
    }
}

/// Before a write at `pos` past the end of the file: the bytes of the old
/// end-of-file page past the old size (which an mmap store may have
/// changed) become zeros, and the page is write-protected, since its
/// blocks past the old size become holes inside the file.
pub(crate) fn prepare_extend(inode: &Inode, pos: u64) -> Result {
    let size = inode.size();
    if pos <= size {
        return Ok(());
    }
    mvc_page_tail(inode, size, Op::ProtZero)
}

/// `setattr` of the size.
pub(crate) fn set_size(inode: &Inode, size: u64) -> Result {
    let old = inode.size();
    if size < old {
        // The new end-of-file page past the new size: vm_mvc ZERO.
        mvc_page_tail(inode, size, Op::Zero)?;
        truncate_setsize(inode, size);
        Meta::lock(inode.sb()).truncate_blocks(inode, size, true)?;
    } else {
        truncate_setsize(inode, size);
        // The old end-of-file page past the old size: zeros, and
        // write-protected for the holes it now has inside the file.
        mvc_page_tail(inode, old, Op::ProtZero)?;
    }
    inode.touch_mtime_ctime();
    Ok(())
}

/// A block of a folio that starts inside the file.
struct FolioBlock {
    /// Offset of the block in the page.
    offset: usize,
    /// File block number.
    n: u64,
    /// Bytes of the block inside the file.
    valid: usize,
}

/// The blocks of `folio` that start inside a file of `size` bytes.
fn blocks_inside(
    folio: &LockedFolio<'_>,
    geometry: &Geometry,
    size: u64,
) -> impl Iterator<Item = FolioBlock> {
    let block_size = geometry.block_bytes();
    let start = folio.pos();
    let geometry = *geometry;
    (0..PAGE_SIZE)
        .step_by(block_size)
        .map(move |offset| (offset, start + offset as u64))
        .take_while(move |&(_, pos)| pos < size)
        .map(move |(offset, pos)| FolioBlock {
            offset,
            n: geometry.block_of(pos),
            valid: (size - pos).min(block_size as u64) as usize,
        })
}

/// Fills a locked folio from the disk: data blocks with vm_mvc WRITE from
/// their buffer heads, holes inside the file with PROTZERO, and everything
/// past the end of the file with ZERO.
pub(crate) fn fill_folio(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    // End of the bytes filled so far.
    let mut filled = 0;
    for block in blocks_inside(folio, &geometry, inode.size()) {
        let number = Meta::lock(sb).lookup(inode.ino(), block.n)?;
        if number == 0 {
            folio.mvc(block.offset, block_size, Op::ProtZero)?;
            filled = block.offset + block_size;
            continue;
        }
        let mut data = Buffer::read(sb, number)?;
        let buffer = KernelBuffer::attach(data.data_mut())?;
        folio.mvc(
            block.offset,
            block.valid,
            Op::Write {
                from: &buffer,
                at: 0,
            },
        )?;
        filled = block.offset + block.valid;
    }
    if filled < PAGE_SIZE {
        folio.mvc(filled, PAGE_SIZE - filled, Op::Zero)?;
    }
    Ok(())
}

/// The file blocks of the folio's bytes `from..to`.
fn blocks_of(
    folio: &LockedFolio<'_>,
    geometry: &Geometry,
    from: usize,
    to: usize,
) -> core::ops::Range<u64> {
    let first = geometry.block_of(folio.pos());
    first + geometry.block_of(from as u64)..first + geometry.blocks_for(to as u64)
}

/// `write_begin` for `len` bytes at `pos`: allocates the holes the write
/// covers (all or none), reads the folio if the write does not cover all
/// of it, and zeroes what the write leaves of each new block.
pub(crate) fn prepare_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    len: usize,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let from = (pos - folio.pos()) as usize;
    let to = from + len;
    if len == 0 {
        return Ok(());
    }
    let new = Meta::lock(inode.sb()).map_range(inode, blocks_of(folio, &geometry, from, to));
    let new = match new {
        Ok(new) => new,
        Err(err) => {
            trim_failed_write(inode, u64::MAX);
            return Err(err);
        }
    };
    let result = zero_new_blocks(inode, folio, new, from, to);
    if result.is_err() {
        trim_failed_write(inode, u64::MAX);
    }
    result
}

/// The rest of `prepare_write` once the blocks are mapped: reads the folio
/// unless the write covers all of it, then zeroes the bytes of each new
/// block (bit `k` of `new`) that the write does not cover.
fn zero_new_blocks(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    new: u32,
    from: usize,
    to: usize,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let block_size = geometry.block_bytes();
    if !folio.is_uptodate() && (from != 0 || to != PAGE_SIZE) {
        fill_folio(inode, folio)?;
        folio.mark_uptodate();
    }
    let first_block = geometry.block_of(from as u64) as usize;
    for k in 0..geometry.blocks_for(to as u64) as usize - first_block {
        if new & (1 << k) == 0 {
            continue;
        }
        let block_start = (first_block + k) * block_size;
        let block_end = block_start + block_size;
        if from > block_start {
            folio.mvc(block_start, from - block_start, Op::Zero)?;
        }
        if to < block_end {
            folio.mvc(to, block_end - to, Op::Zero)?;
        }
    }
    Ok(())
}

/// `write_end`: `copied` of `len` bytes at `pos` reached the folio.
/// Returns the bytes accepted: none if a folio that is not uptodate got a
/// short copy (the rest of it was never read).
pub(crate) fn finish_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    len: usize,
    copied: usize,
) -> usize {
    if !folio.is_uptodate() {
        if copied < len {
            return 0;
        }
        folio.mark_uptodate();
    }
    if copied == 0 {
        return 0;
    }
    folio.mark_dirty();
    let end = pos + copied as u64;
    if end > inode.size() {
        inode.set_size(end);
        inode.mark_dirty();
    }
    copied
}

/// After a write that meant to reach `end`: frees the blocks that
/// `write_begin` allocated past the end of the file if the write fell
/// short of them, as the format forbids blocks past the end.
pub(crate) fn trim_failed_write(inode: &Inode, end: u64) {
    let size = inode.size();
    if end <= size {
        return;
    }
    if let Err(err) = Meta::lock(inode.sb()).truncate_blocks(inode, size, false) {
        toyfs_err!(
            "inode {}: freeing after a short write: {:?}\n",
            inode.ino(),
            err
        );
    }
}

/// `page_mkwrite`: gives every hole of the page inside the file a block,
/// all or none (`ENOSPC`), before the page becomes writable.  The bytes of
/// those blocks are zeros already: `read_folio` PROTZERO'd them.
pub(crate) fn page_mkwrite(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let size = inode.size();
    if folio.pos() >= size {
        return Err(EFAULT);
    }
    let geometry = inode.sb().info().geometry;
    let inside = ((size - folio.pos()).min(PAGE_SIZE as u64)) as usize;
    Meta::lock(inode.sb()).map_range(inode, blocks_of(folio, &geometry, 0, inside))?;
    Ok(())
}

/// Whether writeback has anything of the folio to write.
pub(crate) fn is_inside_eof(inode: &Inode, folio: &LockedFolio<'_>) -> bool {
    folio.pos() < inode.size()
}

/// Writeback of a locked folio: each block's bytes inside the file are
/// copied to its buffer head with vm_mvc READ, the rest of the last block
/// is written as zeros.  A hole whose bytes are all zero stays a hole; one
/// that is not gets a block first.
pub(crate) fn write_folio(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    for FolioBlock { offset, n, valid } in blocks_inside(folio, &geometry, inode.size()) {
        let mut block = Meta::lock(sb).lookup(inode.ino(), n)?;
        if block == 0 {
            // Only a hole needs the scratch copy (to see whether it is
            // still all zeroes); most folios have none.
            let mut scratch = KVec::from_elem(0u8, geometry.block_bytes(), GFP_KERNEL)?;
            let buffer = KernelBuffer::attach(&mut scratch)?;
            folio.mvc(offset, valid, Op::Read { to: &buffer, at: 0 })?;
            drop(buffer);
            if scratch[..valid].iter().all(|&byte| byte == 0) {
                continue;
            }
            let mut meta = Meta::lock(sb);
            meta.map_range(inode, n..n + 1)?;
            block = meta.lookup(inode.ino(), n)?;
        }
        let mut data = Buffer::read(sb, block)?;
        {
            let buffer = KernelBuffer::attach(data.data_mut())?;
            folio.mvc(offset, valid, Op::Read { to: &buffer, at: 0 })?;
        }
        data.data_mut()[valid..].fill(0);
        data.mark_dirty();
    }
    Ok(())
}
