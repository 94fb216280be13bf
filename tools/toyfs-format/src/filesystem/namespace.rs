// SPDX-License-Identifier: GPL-2.0
//! Names: directory lookups and entries, files, hard links, directories.

use super::Filesystem;
use crate::device::BlockDevice;
use crate::dirent::{
    dirent_type, empty_dir_block, insert_entry, new_dir_block, parse_dir_block, validate_name,
};
use crate::error::FsError;
use crate::inode::{FileType, Inode};

impl<D: BlockDevice> Filesystem<D> {
    /// The inode named `name` in directory `dir`.
    pub fn lookup(&self, dir: u32, name: &[u8]) -> Result<Option<u32>, FsError> {
        let inode = self.read_directory(dir)?;
        for file_block in 0..inode.blocks_within_size(self.geometry().block_size()) {
            let Some(block) = self.map_block(dir, &inode, file_block)? else {
                continue;
            };
            let entries = parse_dir_block(&self.read_block(block)?)
                .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
            if let Some(entry) = entries
                .iter()
                .find(|entry| entry.ino != 0 && entry.name == name)
            {
                return Ok(Some(entry.ino));
            }
        }
        Ok(None)
    }

    /// Adds `name` -> `child` to directory `dir`, growing it by a block when full.
    fn add_entry(
        &mut self,
        dir: u32,
        name: &[u8],
        child: u32,
        file_type: FileType,
    ) -> Result<(), FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = self.read_directory(dir)?;
        let block_size = self.geometry().block_size();
        let type_byte = dirent_type(file_type);
        for file_block in 0..inode.blocks_within_size(block_size) {
            let Some(block) = self.map_block(dir, &inode, file_block)? else {
                continue;
            };
            let mut bytes = self.read_block(block)?;
            let added = insert_entry(&mut bytes, child, type_byte, name)
                .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
            if added {
                self.write_block(block, &bytes)?;
                inode.mtime = self.now;
                inode.ctime = self.now;
                return self.write_inode(dir, &inode);
            }
        }
        let mut bytes = empty_dir_block(block_size);
        insert_entry(&mut bytes, child, type_byte, name)
            .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
        let old_size = inode.size;
        self.write_inode(dir, &inode)?;
        self.write(dir, old_size, &bytes)
    }

    /// Refuses a name before anything is allocated for it, so a refusal
    /// leaves nothing behind.  (Running out of space half-way can still
    /// leave an unreferenced inode or block, which fsck reports.)
    fn check_new_name(&self, dir: u32, name: &[u8]) -> Result<(), FsError> {
        validate_name(name).map_err(FsError::InvalidName)?;
        if self.lookup(dir, name)?.is_some() {
            return Err(FsError::NameExists);
        }
        Ok(())
    }

    /// Creates an empty regular file `name` in `dir`.
    pub fn create(&mut self, dir: u32, name: &[u8], permissions: u16) -> Result<u32, FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = Inode::new(FileType::Regular, permissions, self.now);
        inode.nlink = 1;
        let ino = self.allocate_inode(&inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Regular) {
            self.release_inode(ino)?;
            return Err(error);
        }
        Ok(ino)
    }

    /// Adds another name for regular file `ino` in `dir` (a hard link).
    pub fn link(&mut self, dir: u32, name: &[u8], ino: u32) -> Result<(), FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = self.read_in_use_inode(ino)?;
        if inode.file_type() != Some(FileType::Regular) {
            // Hard links to directories would break the tree fsck checks.
            return Err(FsError::NotARegularFile(ino));
        }
        inode.nlink = inode
            .nlink
            .checked_add(1)
            .ok_or(FsError::TooManyLinks(ino))?;
        inode.ctime = self.now;
        self.add_entry(dir, name, ino, FileType::Regular)?;
        self.write_inode(ino, &inode)
    }

    /// Creates directory `name` in `dir`, with "." and "..".
    pub fn mkdir(&mut self, dir: u32, name: &[u8], permissions: u16) -> Result<u32, FsError> {
        self.check_new_name(dir, name)?;
        let mut parent = self.read_directory(dir)?;
        parent.nlink = parent
            .nlink
            .checked_add(1)
            .ok_or(FsError::TooManyLinks(dir))?;
        let mut inode = Inode::new(FileType::Directory, permissions, self.now);
        inode.nlink = 2;
        let ino = self.allocate_inode(&inode)?;
        let block = match self.allocate_block() {
            Ok(block) => block,
            Err(error) => {
                self.release_inode(ino)?;
                return Err(error);
            }
        };
        self.write_block(
            block,
            &new_dir_block(self.geometry().block_size(), ino, dir),
        )?;
        inode.direct[0] = block;
        inode.blocks = 1;
        inode.size = u64::from(self.geometry().block_size());
        self.write_inode(ino, &inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Directory) {
            self.release_block(block);
            self.release_inode(ino)?;
            return Err(error);
        }
        // Re-read: add_entry may have grown the parent.
        let mut grown = self.read_inode(dir)?;
        grown.nlink = parent.nlink;
        self.write_inode(dir, &grown)?;
        Ok(ino)
    }
}
