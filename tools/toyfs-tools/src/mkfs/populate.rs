// SPDX-License-Identifier: GPL-2.0
//! `mkfs.toyfs -d DIR`: copies a directory tree into the new filesystem,
//! as `mke2fs -d` does: regular files (blocks of zeros left as holes) and
//! directories with their permission bits, owner, group and times; hard
//! links stay hard links; DIR's own attributes go to the root directory.
//! Symbolic links (their targets), FIFOs, sockets and devices (their
//! numbers) are copied too, which sets the image's SPECIAL_FILES feature;
//! a device whose number does not fit toyfs's encoding (a 12-bit major,
//! a 20-bit minor, the kernel's `new_encode_dev`) is skipped, with the
//! reason.  With PACKED_TAILS (`-p`) the regular files' last blocks are
//! then packed into shared tail blocks (`Filesystem::pack_tails`).

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use std::os::unix::fs::FileTypeExt;
use toyfs_format::constants::ROOT_INO;
use toyfs_format::inode::encode_dev;
use toyfs_format::{BlockDevice, FileType, Filesystem, FsError, PackedTails, Timestamp};

use super::MkfsError;

/// What a copy did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Populated {
    /// Regular files copied (hard links counted once).
    pub files: u32,
    /// Directories created, the root not included.
    pub directories: u32,
    /// Bytes of regular files copied.
    pub bytes: u64,
    /// Symbolic links, FIFOs, sockets and devices copied (hard links
    /// counted once).
    pub special: u32,
    /// Entries not copied, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Tails packed (`-p`).
    pub packed: PackedTails,
}

/// Inodes a copy of the tree at `source` needs, the root included: one
/// per directory and per distinct file of any other type.
pub fn count_inodes(source: &Path) -> Result<u32, MkfsError> {
    let mut seen = HashMap::new();
    let mut count = 1u32;
    walk(source, &mut |_, metadata| {
        if metadata.is_dir() || note_link(&mut seen, metadata, 0) {
            count = count.saturating_add(1);
        }
    })?;
    Ok(count)
}

/// Whether `metadata` is a file not met before; remembers it as `ino`.
fn note_link(seen: &mut HashMap<(u64, u64), u32>, metadata: &Metadata, ino: u32) -> bool {
    seen.insert((metadata.dev(), metadata.ino()), ino).is_none()
}

/// Calls `visit` for every entry below `dir`, in name order, a directory
/// before its entries.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &Metadata)) -> Result<(), MkfsError> {
    for path in sorted_entries(dir)? {
        let metadata = symlink_metadata(&path)?;
        visit(&path, &metadata);
        if metadata.is_dir() {
            walk(&path, visit)?;
        }
    }
    Ok(())
}

fn source_error(path: &Path) -> impl FnOnce(std::io::Error) -> MkfsError + '_ {
    move |error| MkfsError::Source {
        path: path.to_owned(),
        error,
    }
}

fn symlink_metadata(path: &Path) -> Result<Metadata, MkfsError> {
    fs::symlink_metadata(path).map_err(source_error(path))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, MkfsError> {
    let mut paths = fs::read_dir(dir)
        .map_err(source_error(dir))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(source_error(dir))?;
    paths.sort();
    Ok(paths)
}

/// Copies the tree at `source` into `fs`, below the root directory.
pub fn populate<D: BlockDevice>(
    fs: &mut Filesystem<D>,
    source: &Path,
) -> Result<Populated, MkfsError> {
    let root = symlink_metadata(source)?;
    if !root.is_dir() {
        return Err(MkfsError::Source {
            path: source.to_owned(),
            error: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let mut copy = Copy {
        fs,
        populated: Populated::default(),
        links: HashMap::new(),
        files: Vec::new(),
    };
    copy.directory(source, ROOT_INO)?;
    copy.attributes(source, ROOT_INO, &root)?;
    if copy.fs.geometry().has_packed_tails() {
        copy.populated.packed =
            copy.fs
                .pack_tails(&copy.files)
                .map_err(|error| MkfsError::Populate {
                    path: source.to_owned(),
                    error,
                })?;
    }
    Ok(copy.populated)
}

struct Copy<'a, D> {
    fs: &'a mut Filesystem<D>,
    populated: Populated,
    /// Source (device, inode) to toyfs inode, for hard links.
    links: HashMap<(u64, u64), u32>,
    /// The regular files copied, for `Filesystem::pack_tails`.
    files: Vec<u32>,
}

impl<D: BlockDevice> Copy<'_, D> {
    fn directory(&mut self, dir: &Path, ino: u32) -> Result<(), MkfsError> {
        for path in sorted_entries(dir)? {
            let metadata = symlink_metadata(&path)?;
            let name = path.file_name().map_or(&[][..], |name| name.as_bytes());
            let failed = |error| MkfsError::Populate {
                path: path.clone(),
                error,
            };
            let permissions = (metadata.mode() & 0o7777) as u16;
            if metadata.is_dir() {
                let child = self.fs.mkdir(ino, name, permissions).map_err(failed)?;
                self.populated.directories += 1;
                self.directory(&path, child)?;
                self.attributes(&path, child, &metadata)?;
                continue;
            }
            let key = (metadata.dev(), metadata.ino());
            if let Some(&linked) = self.links.get(&key) {
                self.fs.link(ino, name, linked).map_err(failed)?;
                continue;
            }
            let kind = metadata.file_type();
            let child = if kind.is_file() {
                let child = self.fs.create(ino, name, permissions).map_err(failed)?;
                self.contents(&path, child)?;
                self.populated.files += 1;
                self.files.push(child);
                child
            } else if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(source_error(&path))?;
                let child = self
                    .fs
                    .symlink(ino, name, target.as_os_str().as_bytes())
                    .map_err(failed)?;
                self.populated.special += 1;
                child
            } else {
                let file_type = if kind.is_fifo() {
                    FileType::Fifo
                } else if kind.is_socket() {
                    FileType::Socket
                } else if kind.is_char_device() {
                    FileType::CharDevice
                } else {
                    FileType::BlockDevice
                };
                let rdev = if file_type.is_device() {
                    match device_number(metadata.rdev()) {
                        Ok(rdev) => rdev,
                        Err(why) => {
                            self.populated.skipped.push((path, why));
                            continue;
                        }
                    }
                } else {
                    0
                };
                let child = self
                    .fs
                    .mknod(ino, name, file_type, permissions, rdev)
                    .map_err(failed)?;
                self.populated.special += 1;
                child
            };
            self.links.insert(key, child);
            self.attributes(&path, child, &metadata)?;
        }
        Ok(())
    }

    /// Copies a file's bytes; blocks of zeros stay holes.
    fn contents(&mut self, path: &Path, ino: u32) -> Result<(), MkfsError> {
        let mut data = Vec::new();
        File::open(path)
            .and_then(|mut file| file.read_to_end(&mut data))
            .map_err(source_error(path))?;
        let failed = |error| MkfsError::Populate {
            path: path.to_owned(),
            error,
        };
        let block_size = self.fs.geometry().block_bytes();
        // Runs of blocks with data, each written in one call.
        let mut run_start = None;
        for (index, chunk) in data.chunks(block_size).enumerate() {
            let offset = index * block_size;
            match (chunk.iter().all(|&byte| byte == 0), run_start) {
                (false, None) => run_start = Some(offset),
                (true, Some(start)) => {
                    self.fs
                        .write(ino, start as u64, &data[start..offset])
                        .map_err(failed)?;
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(start) = run_start {
            self.fs
                .write(ino, start as u64, &data[start..])
                .map_err(failed)?;
        }
        if self.fs.read_inode(ino).map_err(failed)?.size < data.len() as u64 {
            self.fs.truncate(ino, data.len() as u64).map_err(failed)?;
        }
        self.populated.bytes += data.len() as u64;
        Ok(())
    }

    fn attributes(&mut self, path: &Path, ino: u32, metadata: &Metadata) -> Result<(), MkfsError> {
        let failed = |error: FsError| MkfsError::Populate {
            path: path.to_owned(),
            error,
        };
        let mut inode = self.fs.read_inode(ino).map_err(failed)?;
        inode.mode = (inode.mode & !0o7777) | (metadata.mode() & 0o7777) as u16;
        inode.uid = metadata.uid();
        inode.gid = metadata.gid();
        let time = |sec: i64, nsec: i64| Timestamp {
            sec,
            nsec: nsec as u32,
        };
        inode.atime = time(metadata.atime(), metadata.atime_nsec());
        inode.mtime = time(metadata.mtime(), metadata.mtime_nsec());
        inode.ctime = time(metadata.ctime(), metadata.ctime_nsec());
        self.fs.write_inode(ino, &inode).map_err(failed)
    }
}

/// A device number of the C library's `dev_t` (`st_rdev`) in toyfs's
/// encoding, or why it does not fit: toyfs keeps a 12-bit major and a
/// 20-bit minor, as the kernel's `new_encode_dev`.
fn device_number(rdev: u64) -> Result<u32, String> {
    // glibc's `gnu_dev_major` and `gnu_dev_minor`.
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    if major > 0xfff || minor > 0xf_ffff {
        return Err(format!(
            "device number {major}:{minor} does not fit toyfs's 12-bit major and 20-bit minor"
        ));
    }
    // CAST: both checked above.
    Ok(encode_dev(major as u32, minor as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_from_the_c_library() {
        // makedev(8, 1), makedev(4095, 0xfffff), makedev(4096, 0).
        assert_eq!(device_number(0x801), Ok(encode_dev(8, 1)));
        assert_eq!(device_number(0xffff_ffff), Ok(encode_dev(0xfff, 0xf_ffff)));
        assert!(device_number(0x1000_0000_0000).is_err());
    }
}
