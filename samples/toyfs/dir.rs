// SPDX-License-Identifier: GPL-2.0

//! Directories: finding, adding, changing and removing entries, and
//! listing them (ext2's dir.c).  Entries are checked as they are walked.

use crate::{
    format::dirent::{
        dir_entries, insert_entry, remove_entry, set_entry_target, write_entry, DirEntryRef,
        DIRENT_TYPE_DIRECTORY,
    },
    meta::{corrupt, Meta},
    vfs::{Buffer, DirEmitter, Inode},
};
use kernel::prelude::*;

/// A directory entry found by name.
pub(crate) struct FoundEntry {
    block: u32,
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

impl Meta<'_> {
    /// Whether directory `dir` holds no entry but "." and "..".
    pub(crate) fn is_empty_dir(&self, dir: &Inode) -> Result<bool> {
        for n in 0..self.geometry.block_of(dir.size()) {
            let data = Buffer::read(self.sb, self.dir_block(dir, n)?)?;
            for entry in entries(dir, data.data()) {
                let entry = entry?;
                if entry.ino != 0 && entry.name != b"." && entry.name != b".." {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The entry `name` of `dir`, which the dentry cache says names
    /// inode `ino`.
    pub(crate) fn entry_of(&self, dir: &Inode, name: &[u8], ino: u32) -> Result<FoundEntry> {
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
    pub(crate) fn remove_entry(&self, dir: &Inode, name: &[u8], ino: u32) -> Result {
        let found = self.entry_of(dir, name, ino)?;
        let mut data = Buffer::read(self.sb, found.block)?;
        remove_entry(data.data_mut(), found.offset, found.previous);
        data.mark_dirty();
        Ok(())
    }

    /// Points the existing entry `name` of `dir` at `ino`.
    pub(crate) fn retarget_entry(
        &self,
        dir: &Inode,
        name: &[u8],
        ino: u32,
        file_type: u8,
    ) -> Result {
        let found = self.find_entry(dir, name)?.ok_or(ENOENT)?;
        let mut data = Buffer::read(self.sb, found.block)?;
        set_entry_target(data.data_mut(), found.offset, ino, file_type);
        data.mark_dirty();
        Ok(())
    }

    /// The block of directory block `n`; directories have no holes.
    pub(crate) fn dir_block(&self, dir: &Inode, n: u64) -> Result<u32> {
        match self.lookup(dir.ino(), n)? {
            0 => Err(corrupt(dir.sb(), dir.ino(), "hole in a directory")),
            block => Ok(block),
        }
    }

    /// The entry named `name` in `dir`.
    pub(crate) fn find_entry(&self, dir: &Inode, name: &[u8]) -> Result<Option<FoundEntry>> {
        for n in 0..self.geometry.block_of(dir.size()) {
            let block = self.dir_block(dir, n)?;
            let data = Buffer::read(self.sb, block)?;
            let mut previous = None;
            for entry in entries(dir, data.data()) {
                let entry = entry?;
                if entry.ino != 0 && entry.name == name {
                    if entry.ino > self.geometry.inode_count() {
                        return Err(corrupt(
                            dir.sb(),
                            dir.ino(),
                            "entry names an inode out of range",
                        ));
                    }
                    return Ok(Some(FoundEntry {
                        block,
                        offset: entry.offset,
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
    pub(crate) fn add_entry(
        &mut self,
        dir: &Inode,
        name: &[u8],
        ino: u32,
        file_type: u8,
    ) -> Result {
        let block_size = u64::from(self.geometry.block_size());
        let blocks = self.geometry.block_of(dir.size());
        for n in 0..blocks {
            let block = self.dir_block(dir, n)?;
            let mut data = Buffer::read(self.sb, block)?;
            // The walk checks the names too before a block is changed.
            for entry in entries(dir, data.data()) {
                entry?;
            }
            let added = insert_entry(data.data_mut(), ino, file_type, name)
                .map_err(|error| corrupt(dir.sb(), dir.ino(), error.rule()))?;
            if added {
                data.mark_dirty();
                return Ok(());
            }
        }
        let (block, _) = {
            self.reserve(self.missing_blocks(dir.ino(), blocks..blocks + 1)?)?;
            self.map(dir, blocks)?
        };
        let mut data = Buffer::read(self.sb, block)?;
        let block_bytes = self.geometry.block_bytes();
        write_entry(data.data_mut(), 0, ino, block_bytes, file_type, name);
        data.mark_dirty();
        dir.set_size((blocks + 1) * block_size);
        Ok(())
    }
}

/// `iterate_shared`: the entries of `dir` from the emitter's position (a
/// byte offset in the directory).
pub(crate) fn readdir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    let geometry = dir.sb().info().geometry;
    let block_size = u64::from(geometry.block_size());
    while emitter.pos() < dir.size() {
        let n = geometry.block_of(emitter.pos());
        let within = geometry.offset_in_block(emitter.pos()) as usize;
        // Only the map lookup under the lock: emitting copies to user
        // memory, which may fault into a toyfs file.  Entries change only
        // under the directory's lock, which readdir holds shared.
        let block = Meta::lock(dir.sb()).dir_block(dir, n)?;
        let data = Buffer::read(dir.sb(), block)?;
        for entry in entries(dir, data.data()) {
            let entry = entry?;
            if entry.offset < within {
                continue;
            }
            if entry.ino > geometry.inode_count() {
                return Err(corrupt(
                    dir.sb(),
                    dir.ino(),
                    "entry names an inode out of range",
                ));
            }
            if entry.ino != 0
                && !emitter.emit(
                    entry.name,
                    entry.ino,
                    entry.file_type == DIRENT_TYPE_DIRECTORY,
                )
            {
                return Ok(());
            }
            emitter.set_pos(n * block_size + (entry.offset + usize::from(entry.rec_len)) as u64);
        }
        emitter.set_pos((n + 1) * block_size);
    }
    Ok(())
}
