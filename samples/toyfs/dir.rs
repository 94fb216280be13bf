// SPDX-License-Identifier: GPL-2.0

//! Directories: finding, adding, changing and removing entries, and
//! listing them (ext2's dir.c).  Directory blocks are metadata, in the
//! buffer cache, the last one a tail in part of a disk block with the
//! FRAGMENTS feature; entries are checked as they are walked.  The VFS holds
//! the directory's lock around every change.

use crate::{
    format::{
        address::ExtentError,
        dirent::{
            dir_entries, insert_entry, remove_entry, set_entry_target, write_entry, DirEntryRef,
        },
    },
    inode::BlockMap,
    meta::corrupt,
    vfs::{Buffer, DirEmitter, Inode},
};
use core::ops::Range;
use kernel::prelude::*;

/// A directory entry found by name.
pub(crate) struct FoundEntry {
    block: DirBlock,
    offset: usize,
    previous: Option<usize>,
    /// The inode it names.
    pub(crate) ino: u32,
}

/// The entries of `data`, a block of directory `dir`, with the rules of
/// the chain and of the names of used entries checked.
fn entries<'a>(dir: &'a Inode, data: &'a [u8]) -> impl Iterator<Item = Result<DirEntryRef<'a>>> {
    dir_entries(data).map(move |entry| {
        let entry = entry.map_err(|error| corrupt(dir.sb(), dir.ino(), error.rule()))?;
        if let Some(problem) = entry.name_problem() {
            return Err(corrupt(dir.sb(), dir.ino(), problem.rule()));
        }
        Ok(entry)
    })
}

/// Where directory block `n` is: the bytes `bytes` of disk block
/// `block`, all of it but for the last block of a directory with the
/// FRAGMENTS feature, which may be a tail: the directory's bytes in it,
/// at the start of its run.
struct DirBlock {
    block: u32,
    bytes: Range<usize>,
}

impl DirBlock {
    /// Reads the disk block.
    fn read(&self, dir: &Inode) -> Result<Buffer> {
        Buffer::read(dir.sb(), self.block)
    }
}

/// Directory block `n` of `dir`; directories have no holes, no
/// compressed blocks, and their runs hold their bytes.
fn dir_block(dir: &Inode, n: u64) -> Result<DirBlock> {
    let (sb, ino) = (dir.sb(), dir.ino());
    let geometry = sb.info().geometry;
    let Some(extent) = BlockMap::lock(dir)?.lookup_extent(n)? else {
        return Err(corrupt(sb, ino, "hole in a directory"));
    };
    if extent.compressed {
        return Err(corrupt(sb, ino, ExtentError::CompressedDirectory.rule()));
    }
    // CAST: at most a block.
    let length = geometry.file_block_length(dir.size(), n) as usize;
    if extent.byte_len(&geometry) < length {
        return Err(corrupt(sb, ino, "directory block shorter than its size"));
    }
    let start = extent.offset_in_block(&geometry);
    Ok(DirBlock {
        block: extent.block(&geometry),
        bytes: start..start + length,
    })
}

/// The directory's bytes of `data`, a disk block read for `place`.
fn dir_bytes<'a>(data: &'a [u8], place: &DirBlock) -> Result<&'a [u8]> {
    data.get(place.bytes.clone()).ok_or(EINVAL)
}

/// `dir_bytes`, to change.
fn dir_bytes_mut<'a>(data: &'a mut [u8], place: &DirBlock) -> Result<&'a mut [u8]> {
    data.get_mut(place.bytes.clone()).ok_or(EINVAL)
}

/// Checks that `ino`, named by an entry of `dir`, is an inode number.
fn check_entry_ino(dir: &Inode, ino: u32) -> Result<u32> {
    if ino > dir.sb().info().geometry.inode_count() {
        return Err(corrupt(
            dir.sb(),
            dir.ino(),
            "entry names an inode out of range",
        ));
    }
    Ok(ino)
}

/// Whether directory `dir` holds no entry but "." and "..".
pub(crate) fn is_empty_dir(dir: &Inode) -> Result<bool> {
    let geometry = dir.sb().info().geometry;
    for n in 0..geometry.blocks_for(dir.size()) {
        let place = dir_block(dir, n)?;
        let buffer = place.read(dir)?;
        let data = buffer.lock();
        for entry in entries(dir, dir_bytes(data.data(), &place)?) {
            let entry = entry?;
            if entry.ino != 0 && entry.name != b"." && entry.name != b".." {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The entry named `name` in `dir`.
pub(crate) fn find_entry(dir: &Inode, name: &[u8]) -> Result<Option<FoundEntry>> {
    let geometry = dir.sb().info().geometry;
    for n in 0..geometry.blocks_for(dir.size()) {
        let place = dir_block(dir, n)?;
        let buffer = place.read(dir)?;
        let data = buffer.lock();
        let mut previous = None;
        for entry in entries(dir, dir_bytes(data.data(), &place)?) {
            let entry = entry?;
            if entry.ino != 0 && entry.name == name {
                return Ok(Some(FoundEntry {
                    block: place,
                    offset: entry.offset,
                    previous,
                    ino: check_entry_ino(dir, entry.ino)?,
                }));
            }
            previous = Some(entry.offset);
        }
    }
    Ok(None)
}

/// The entry `name` of `dir`, which the dentry cache says names inode
/// `ino`.
pub(crate) fn entry_of(dir: &Inode, name: &[u8], ino: u32) -> Result<FoundEntry> {
    let found = find_entry(dir, name)?.ok_or(ENOENT)?;
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
pub(crate) fn remove(dir: &Inode, name: &[u8], ino: u32) -> Result {
    let found = entry_of(dir, name, ino)?;
    let buffer = found.block.read(dir)?;
    remove_entry(
        dir_bytes_mut(buffer.lock().data_mut(), &found.block)?,
        found.offset,
        found.previous,
    );
    buffer.mark_dirty();
    Ok(())
}

/// Points the existing entry `name` of `dir` at `ino`.
pub(crate) fn retarget(dir: &Inode, name: &[u8], ino: u32, file_type: u8) -> Result {
    let found = find_entry(dir, name)?.ok_or(ENOENT)?;
    let buffer = found.block.read(dir)?;
    set_entry_target(
        dir_bytes_mut(buffer.lock().data_mut(), &found.block)?,
        found.offset,
        ino,
        file_type,
    );
    buffer.mark_dirty();
    Ok(())
}

/// Adds the entry `name` -> `ino` to `dir`, in free room of a block or in
/// a new block (`ENOSPC` when there is none).
pub(crate) fn add(dir: &Inode, name: &[u8], ino: u32, file_type: u8) -> Result {
    let sb = dir.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    let mut blocks = geometry.blocks_for(dir.size());
    for n in 0..blocks {
        let place = dir_block(dir, n)?;
        let buffer = place.read(dir)?;
        let mut data = buffer.lock();
        // The walk checks the names too before the block is changed.
        for entry in entries(dir, dir_bytes(data.data(), &place)?) {
            entry?;
        }
        let added = insert_entry(
            dir_bytes_mut(data.data_mut(), &place)?,
            ino,
            file_type,
            name,
        )
        .map_err(|error| corrupt(sb, dir.ino(), error.rule()))?;
        drop(data);
        if added {
            buffer.mark_dirty();
            return Ok(());
        }
    }
    // CAST: below a block.
    let partial = geometry.offset_in_block(dir.size()) as usize;
    if partial != 0 {
        // The last block is a tail (FRAGMENTS): only the last block may
        // be partial, so it becomes a whole block first, its chain ending
        // in an unused entry over the new room, which may take the new
        // entry.
        let n = blocks - 1;
        let place = dir_block(dir, n)?;
        let mut copy = KVec::with_capacity(block_size, GFP_KERNEL)?;
        copy.extend_from_slice(
            dir_bytes(place.read(dir)?.lock().data(), &place)?,
            GFP_KERNEL,
        )?;
        let block = {
            let mut map = BlockMap::lock(dir)?;
            map.set_run(n, geometry.fragments_per_block())?;
            map.lookup(n)?
        };
        // Written whole from the buffer cache, never read.
        let buffer = Buffer::zeroed(sb, block)?;
        let added = {
            let mut data = buffer.lock();
            let data = data.data_mut();
            data.get_mut(..partial)
                .ok_or(EINVAL)?
                .copy_from_slice(&copy);
            write_entry(data, partial, 0, block_size - partial, 0, b"");
            insert_entry(data, ino, file_type, name)
                .map_err(|error| corrupt(sb, dir.ino(), error.rule()))?
        };
        buffer.mark_dirty();
        blocks = n + 1;
        dir.set_size(blocks * u64::from(geometry.block_size()));
        if added {
            return Ok(());
        }
    }
    let block = {
        let mut map = BlockMap::lock(dir)?;
        let size = (blocks + 1) * u64::from(geometry.block_size());
        map.allocate(blocks..blocks + 1, size, |_| ())?;
        map.lookup(blocks)?
    };
    // A new block: written whole from the buffer cache, never read.
    let buffer = Buffer::zeroed(sb, block)?;
    write_entry(
        buffer.lock().data_mut(),
        0,
        ino,
        geometry.block_bytes(),
        file_type,
        name,
    );
    buffer.mark_dirty();
    dir.set_size((blocks + 1) * u64::from(geometry.block_size()));
    Ok(())
}

/// `iterate_shared`: the entries of `dir` from the emitter's position (a
/// byte offset in the directory).
pub(crate) fn readdir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    let geometry = dir.sb().info().geometry;
    let block_size = u64::from(geometry.block_size());
    while emitter.pos() < dir.size() {
        let n = geometry.block_of(emitter.pos());
        let within = geometry.offset_in_block(emitter.pos()) as usize;
        let place = dir_block(dir, n)?;
        let buffer = place.read(dir)?;
        // Emitting copies to user memory, which may fault into a toyfs
        // file: the block is copied out of the buffer lock first.
        // Entries change only under the directory's lock, which readdir
        // holds shared.
        let mut copy = KVec::with_capacity(geometry.block_bytes(), GFP_KERNEL)?;
        copy.extend_from_slice(dir_bytes(buffer.lock().data(), &place)?, GFP_KERNEL)?;
        for entry in entries(dir, &copy) {
            let entry = entry?;
            if entry.offset < within {
                continue;
            }
            let ino = check_entry_ino(dir, entry.ino)?;
            if ino != 0 && !emitter.emit(entry.name, ino, entry.file_type) {
                return Ok(());
            }
            emitter.set_pos(n * block_size + (entry.offset + usize::from(entry.rec_len)) as u64);
        }
        emitter.set_pos((n + 1) * block_size);
    }
    Ok(())
}
