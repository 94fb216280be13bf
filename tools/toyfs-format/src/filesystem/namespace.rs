// SPDX-License-Identifier: GPL-2.0
//! Names: directory lookups and entries, files, hard links, directories.

use super::Filesystem;
use crate::address::Extent;
use crate::device::BlockDevice;
use crate::dirent::{
    dirent_type, entry_size, init_empty_dir_block, insert_entry, new_dir_block, parse_dir_block,
    validate_name,
};
use crate::error::FsError;
use crate::inode::{FileType, Inode, MAX_SYMLINK_LEN};

impl<D: BlockDevice> Filesystem<D> {
    /// The inode named `name` in directory `dir`.
    pub fn lookup(&self, dir: u32, name: &[u8]) -> Result<Option<u32>, FsError> {
        let inode = self.read_directory(dir)?;
        for file_block in 0..inode.blocks_within_size(self.geometry().block_size()) {
            let Some((_, bytes)) = self.dir_block(dir, &inode, file_block)? else {
                continue;
            };
            let entries = parse_dir_block(&bytes)
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
            let Some((extent, mut bytes)) = self.dir_block(dir, &inode, file_block)? else {
                continue;
            };
            let added = insert_entry(&mut bytes, child, type_byte, name)
                .map_err(|error| FsError::BrokenDirectory { ino: dir, error })?;
            if added {
                bytes.resize(extent.byte_len(self.geometry()), 0);
                self.write_run(&extent, &bytes)?;
                inode.mtime = self.now;
                inode.ctime = self.now;
                return self.write_inode(dir, &inode);
            }
        }
        let bytes = self.directory_growth(inode.size, child, type_byte, name)?;
        let old_size = inode.size;
        self.write_inode(dir, &inode)?;
        self.write(dir, old_size, &bytes)
    }

    /// Block `file_block` of directory `dir`: its run and the directory's
    /// bytes in it (fewer than a block for a last block in fragments).
    fn dir_block(
        &self,
        dir: u32,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<(Extent, Vec<u8>)>, FsError> {
        let Some(extent) = self.map_extent(dir, inode, file_block)? else {
            return Ok(None);
        };
        let mut bytes = self.read_run(&extent)?;
        bytes.truncate(self.geometry().file_block_length(inode.size, file_block) as usize);
        Ok(Some((extent, bytes)))
    }

    /// The bytes to append to a full directory of `size` bytes for a new
    /// entry, as UFS grows a directory: the fewest fragments that hold the
    /// entry, after an unused entry filling the last block to a whole
    /// block when the entry does not fit in it (only the last block may be
    /// partial).  A whole block without fragments.
    fn directory_growth(
        &self,
        size: u64,
        child: u32,
        type_byte: u8,
        name: &[u8],
    ) -> Result<Vec<u8>, FsError> {
        let geometry = self.geometry();
        let block_size = geometry.block_bytes();
        let fragment = geometry.fragment_size() as usize;
        let needed = entry_size(name.len()).next_multiple_of(fragment);
        let tail = geometry.offset_in_block(size) as usize;
        let filler = if tail != 0 && tail + needed > block_size {
            block_size - tail
        } else {
            0
        };
        let mut bytes = vec![0u8; filler + needed];
        if filler != 0 {
            init_empty_dir_block(&mut bytes[..filler]);
        }
        init_empty_dir_block(&mut bytes[filler..]);
        insert_entry(&mut bytes[filler..], child, type_byte, name)
            .map_err(|error| FsError::BrokenDirectory { ino: child, error })?;
        Ok(bytes)
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
        inode.flags = self.geometry().default_file_flags();
        let ino = self.allocate_inode(&inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Regular) {
            self.release_inode(ino)?;
            return Err(error);
        }
        Ok(ino)
    }

    /// Adds another name for `ino`, anything but a directory, in `dir`
    /// (a hard link).
    pub fn link(&mut self, dir: u32, name: &[u8], ino: u32) -> Result<(), FsError> {
        self.check_new_name(dir, name)?;
        let mut inode = self.read_in_use_inode(ino)?;
        let file_type = match inode.file_type() {
            // Hard links to directories would break the tree fsck checks.
            Some(FileType::Directory) | None => return Err(FsError::NotARegularFile(ino)),
            Some(file_type) => file_type,
        };
        inode.nlink = inode
            .nlink
            .checked_add(1)
            .ok_or(FsError::TooManyLinks(ino))?;
        inode.ctime = self.now;
        self.add_entry(dir, name, ino, file_type)?;
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
        // One fragment ("." and ".."), as UFS makes a directory.
        let extent = match self.allocate_run(1) {
            Ok(extent) => extent,
            Err(error) => {
                self.release_inode(ino)?;
                return Err(error);
            }
        };
        let fragment_size = self.geometry().fragment_size();
        self.write_run(&extent, &new_dir_block(fragment_size, ino, dir))?;
        inode.direct[0] = self.geometry().encode_pointer(extent);
        inode.blocks = 1;
        inode.size = u64::from(fragment_size);
        self.write_inode(ino, &inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Directory) {
            self.release(extent);
            self.release_inode(ino)?;
            return Err(error);
        }
        // Re-read: add_entry may have grown the parent.
        let mut grown = self.read_inode(dir)?;
        grown.nlink = parent.nlink;
        self.write_inode(dir, &grown)?;
        Ok(ino)
    }

    /// Sets the SPECIAL_FILES feature, written with the superblock at the
    /// next flush: before the image is used, as mkfs uses it.
    fn enable_special_files(&mut self) {
        self.superblock.geometry = self.superblock.geometry.with_special_files(true);
    }

    /// Creates symbolic link `name` in `dir` to `target` (1 to 4095 bytes,
    /// no NUL), its target stored as file data; sets the SPECIAL_FILES
    /// feature.
    pub fn symlink(&mut self, dir: u32, name: &[u8], target: &[u8]) -> Result<u32, FsError> {
        if target.is_empty() || target.len() as u64 > MAX_SYMLINK_LEN || target.contains(&0) {
            return Err(FsError::BadSymlinkTarget { len: target.len() });
        }
        self.check_new_name(dir, name)?;
        self.enable_special_files();
        let mut inode = Inode::new(FileType::Symlink, 0o777, self.now);
        inode.nlink = 1;
        let ino = self.allocate_inode(&inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, FileType::Symlink) {
            self.release_inode(ino)?;
            return Err(error);
        }
        self.write(ino, 0, target)?;
        Ok(ino)
    }

    /// Creates FIFO, socket or device `name` in `dir`; a device gets the
    /// number `rdev` (`encode_dev`), others 0.  Sets the SPECIAL_FILES
    /// feature.
    pub fn mknod(
        &mut self,
        dir: u32,
        name: &[u8],
        file_type: FileType,
        permissions: u16,
        rdev: u32,
    ) -> Result<u32, FsError> {
        if !file_type.is_special() {
            return Err(FsError::NotASpecialType);
        }
        self.check_new_name(dir, name)?;
        self.enable_special_files();
        let mut inode = Inode::new(file_type, permissions, self.now);
        inode.nlink = 1;
        if file_type.is_device() {
            inode.direct[0] = rdev;
        }
        let ino = self.allocate_inode(&inode)?;
        if let Err(error) = self.add_entry(dir, name, ino, file_type) {
            self.release_inode(ino)?;
            return Err(error);
        }
        Ok(ino)
    }
}
