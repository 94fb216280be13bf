// SPDX-License-Identifier: GPL-2.0
//! Pass 2: directory entries, "." and "..", link counts and reachability.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;

use super::finding::{EntryName, Finding};
use super::inodes::InodeTable;
use crate::address::Extent;
use crate::constants::ROOT_INO;
use crate::device::BlockDevice;
use crate::dirent::{dirent_type, parse_dir_block, validate_name, DirEntry};
use crate::geometry::Geometry;
use crate::inode::FileType;

/// References found in all directories.
#[derive(Default)]
struct Links {
    /// Entries (other than "." and "..") naming each inode.
    references: HashMap<u32, u32>,
    /// Directories holding an entry for each directory, in order found.
    parents: HashMap<u32, Vec<u32>>,
    /// Inodes named by each directory's entries (other than "." and "..").
    named: HashMap<u32, Vec<u32>>,
    /// Subdirectories of each directory.
    subdirectories: HashMap<u32, u32>,
    /// What each directory's ".." names.
    dotdot: HashMap<u32, u32>,
}

pub(super) fn check_directories<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    table: &InodeTable,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let mut links = Links::default();
    for (dir, record) in table.in_use() {
        if record.inode.file_type() == Some(FileType::Directory) {
            check_directory(
                device,
                geometry,
                table,
                dir,
                &record.dir_blocks,
                &mut links,
                findings,
            )?;
        }
    }
    check_tree(table, &links, findings);
    Ok(())
}

fn check_directory<D: BlockDevice + ?Sized>(
    device: &D,
    geometry: &Geometry,
    table: &InodeTable,
    dir: u32,
    dir_blocks: &[(u64, Extent)],
    links: &mut Links,
    findings: &mut Vec<Finding>,
) -> io::Result<()> {
    let mut names = HashSet::new();
    let size = table.get(dir).map_or(0, |record| record.inode.size);
    for &(file_block, extent) in dir_blocks {
        // The last block may be shorter: only its fragments are the
        // directory's (a size that is not whole fragments is reported in
        // pass 1; its fragments are read whole).
        let mut bytes = vec![0u8; extent.byte_len(geometry)];
        device.read_at(extent.byte_offset(geometry), &mut bytes)?;
        let length = geometry.file_block_length(size, file_block);
        bytes.truncate(length.next_multiple_of(geometry.fragment_size()) as usize);
        let entries = match parse_dir_block(&bytes) {
            Ok(entries) => entries,
            Err(error) => {
                findings.push(Finding::BrokenDirectoryBlock {
                    dir,
                    file_block,
                    error,
                });
                continue;
            }
        };
        if file_block == 0 {
            check_dot(dir, entries.first(), findings);
        }
        for (index, entry) in entries.iter().enumerate() {
            // The first two places of a directory belong to "." and "..".  An
            // entry there that is not named so is reported (by check_dot, or
            // in check_tree for ".."), then checked as an ordinary entry: it
            // may be the only name of some file.
            match (file_block, index, &entry.name[..]) {
                (0, 0, b".") => continue,
                (0, 1, b"..") => {
                    links.dotdot.insert(dir, entry.ino);
                    continue;
                }
                _ if entry.ino == 0 => continue,
                _ => check_entry(table, dir, entry, &mut names, links, findings),
            }
        }
    }
    Ok(())
}

/// Checks that `entry`, the first of the directory, is "." naming `dir`.
fn check_dot(dir: u32, entry: Option<&DirEntry>, findings: &mut Vec<Finding>) {
    let is_right = entry.is_some_and(|entry| {
        entry.name == b"."
            && entry.ino == dir
            && entry.file_type == dirent_type(FileType::Directory)
    });
    if !is_right {
        findings.push(dot_finding(dir, ".", entry, dir));
    }
}

fn dot_finding(
    dir: u32,
    which: &'static str,
    entry: Option<&DirEntry>,
    expected_ino: u32,
) -> Finding {
    Finding::DotEntry {
        dir,
        which,
        found_name: entry.map(|entry| EntryName(entry.name.clone())),
        found_ino: entry.map_or(0, |entry| entry.ino),
        expected_ino,
    }
}

fn check_entry(
    table: &InodeTable,
    dir: u32,
    entry: &DirEntry,
    names: &mut HashSet<Vec<u8>>,
    links: &mut Links,
    findings: &mut Vec<Finding>,
) {
    let name = || EntryName(entry.name.clone());
    if let Err(error) = validate_name(&entry.name) {
        findings.push(Finding::BadEntryName {
            dir,
            name: name(),
            error,
        });
    }
    if !names.insert(entry.name.clone()) {
        findings.push(Finding::DuplicateName { dir, name: name() });
    }
    let ino = entry.ino;
    let Some(child) = table.get(ino) else {
        findings.push(Finding::EntryOutOfRange {
            dir,
            name: name(),
            ino,
        });
        return;
    };
    if !child.in_use {
        findings.push(Finding::EntryNamesFreeInode {
            dir,
            name: name(),
            ino,
        });
        return;
    }
    let inode_type = child.inode.file_type();
    if inode_type.map(dirent_type) != Some(entry.file_type) {
        findings.push(Finding::FileTypeMismatch {
            dir,
            name: name(),
            ino,
            entry_type: entry.file_type,
            inode_type,
        });
    }
    if ino == ROOT_INO {
        findings.push(Finding::RootLinked { dir, name: name() });
        return;
    }
    *links.references.entry(ino).or_default() += 1;
    links.named.entry(dir).or_default().push(ino);
    if inode_type == Some(FileType::Directory) {
        links.parents.entry(ino).or_default().push(dir);
        *links.subdirectories.entry(dir).or_default() += 1;
    }
}

/// ".." of every directory, one parent per directory, reachability from
/// the root and link counts.
fn check_tree(table: &InodeTable, links: &Links, findings: &mut Vec<Finding>) {
    let is_directory = |ino: u32| {
        table.get(ino).is_some_and(|record| {
            record.in_use && record.inode.file_type() == Some(FileType::Directory)
        })
    };
    for (dir, record) in table.in_use() {
        if !is_directory(dir)
            || record.dir_blocks.first().map(|&(file_block, _)| file_block) != Some(0)
        {
            continue;
        }
        let parents = links.parents.get(&dir).map_or(&[][..], Vec::as_slice);
        for &other_parent in parents.iter().skip(1) {
            findings.push(Finding::DirectoryLinkedTwice {
                ino: dir,
                first_parent: parents[0],
                other_parent,
            });
        }
        let expected_parent = if dir == ROOT_INO {
            Some(ROOT_INO)
        } else {
            parents.first().copied()
        };
        match (links.dotdot.get(&dir), expected_parent) {
            (None, expected) => findings.push(Finding::DotEntry {
                dir,
                which: "..",
                found_name: None,
                found_ino: 0,
                expected_ino: expected.unwrap_or(0),
            }),
            (Some(&found), Some(expected)) if found != expected => {
                findings.push(Finding::DotEntry {
                    dir,
                    which: "..",
                    found_name: Some(EntryName(b"..".to_vec())),
                    found_ino: found,
                    expected_ino: expected,
                })
            }
            // No parent: reported as unreachable below.
            _ => {}
        }
    }

    let reachable = reachable_from_root(table, links);
    for (ino, record) in table.in_use() {
        let references = links.references.get(&ino).copied().unwrap_or(0);
        if !reachable.contains(&ino) {
            findings.push(if references == 0 && record.inode.nlink == 0 {
                Finding::Orphan { ino }
            } else {
                Finding::Unreachable { ino, references }
            });
            continue;
        }
        let counted = if is_directory(ino) {
            2 + links.subdirectories.get(&ino).copied().unwrap_or(0)
        } else {
            references
        };
        if u32::from(record.inode.nlink) != counted {
            findings.push(Finding::LinkCount {
                ino,
                stored: record.inode.nlink,
                counted,
            });
        }
    }
}

/// Every inode a path of entries from the root reaches, the root included.
fn reachable_from_root(table: &InodeTable, links: &Links) -> HashSet<u32> {
    let mut reachable = HashSet::new();
    let root_is_directory = table
        .get(ROOT_INO)
        .is_some_and(|root| root.in_use && root.inode.file_type() == Some(FileType::Directory));
    if !root_is_directory {
        return reachable;
    }
    let mut queue = VecDeque::from([ROOT_INO]);
    reachable.insert(ROOT_INO);
    while let Some(dir) = queue.pop_front() {
        for &child in links.named.get(&dir).into_iter().flatten() {
            if reachable.insert(child) {
                queue.push_back(child);
            }
        }
    }
    reachable
}
