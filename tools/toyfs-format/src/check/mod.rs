// SPDX-License-Identifier: GPL-2.0
//! The consistency check behind fsck.toyfs.  Read-only.
//!
//! Passes, each in its own file: the inode table and every block map
//! ([`inodes`]), directory entries, link counts and reachability
//! ([`directories`]), and the bitmap and free counts against what the first
//! two found ([`accounting`]).

mod accounting;
mod blocks;
mod directories;
pub mod finding;
mod inodes;

use std::io;

use crate::constants::SUPERBLOCK_SIZE;
use crate::device::BlockDevice;
use crate::inode::FileType;
use crate::superblock::{FsState, Superblock};
pub use finding::{EntryName, Finding};
pub use inodes::Usage;

/// Totals of a checked filesystem, for the summary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Clean or dirty, as the superblock says.
    pub state: FsState,
    /// Inodes in the table.
    pub inode_count: u32,
    /// Inodes in use.
    pub inodes_in_use: u32,
    /// In-use regular files.
    pub regular_files: u32,
    /// In-use directories.
    pub directories: u32,
    /// In-use symbolic links.
    pub symlinks: u32,
    /// In-use character devices.
    pub char_devices: u32,
    /// In-use block devices.
    pub block_devices: u32,
    /// In-use FIFOs.
    pub fifos: u32,
    /// In-use sockets.
    pub sockets: u32,
    /// Whether the allocation unit is the fragment (the counts below are
    /// of fragments then).
    pub fragments: bool,
    /// Blocks (fragments) in the filesystem.
    pub block_count: u32,
    /// Blocks (fragments) marked in use in the bitmap.
    pub blocks_in_use: u32,
    /// Blocks (fragments) of the superblock, the bitmap and the inode table.
    pub metadata: u32,
    /// What the blocks (fragments) the inodes name hold.
    pub usage: Usage,
}

impl Summary {
    /// The inodes in use by type, each count with the words fsck.toyfs
    /// prints after it.
    pub fn by_type(&self) -> [(u32, &'static str); 7] {
        [
            (self.regular_files, "files"),
            (self.directories, "directories"),
            (self.symlinks, "symbolic links"),
            (self.char_devices, "character devices"),
            (self.block_devices, "block devices"),
            (self.fifos, "FIFOs"),
            (self.sockets, "sockets"),
        ]
    }
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Every inconsistency, in the order found.
    pub findings: Vec<Finding>,
    /// Totals; `None` when the superblock could not be used.
    pub summary: Option<Summary>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks the filesystem on `device`.  An `Err` is an I/O failure, not damage.
pub fn check<D: BlockDevice + ?Sized>(device: &D) -> io::Result<Report> {
    check_with(device, false)
}

/// [`check`], and with `decompress` every compressed block is also
/// decompressed (what `fsck.toyfs -f` asks for).
pub fn check_with<D: BlockDevice + ?Sized>(device: &D, decompress: bool) -> io::Result<Report> {
    let fatal = |finding| {
        Ok(Report {
            findings: vec![finding],
            summary: None,
        })
    };
    let device_bytes = device.size()?;
    if device_bytes < SUPERBLOCK_SIZE as u64 {
        return fatal(Finding::NoSuperblock { device_bytes });
    }
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    device.read_at(0, &mut bytes)?;
    let superblock = match Superblock::decode(&bytes) {
        Ok(superblock) => superblock,
        Err(error) => return fatal(Finding::Superblock(error)),
    };
    let geometry = superblock.geometry;
    if device_bytes < geometry.byte_size() {
        return fatal(Finding::ImageTruncated {
            device_bytes,
            filesystem_bytes: geometry.byte_size(),
        });
    }

    let mut findings = Vec::new();
    let table = inodes::check_inodes(device, &geometry, decompress, &mut findings)?;
    directories::check_directories(device, &geometry, &table, &mut findings)?;
    let bitmap = accounting::check_accounting(device, &superblock, &table, &mut findings)?;

    let in_use = || table.in_use().map(|(_, record)| record);
    let count_type = |file_type| {
        in_use()
            .filter(|record| record.inode.file_type() == Some(file_type))
            .count() as u32
    };
    let summary = Summary {
        state: superblock.state,
        inode_count: geometry.inode_count(),
        inodes_in_use: in_use().count() as u32,
        regular_files: count_type(FileType::Regular),
        directories: count_type(FileType::Directory),
        symlinks: count_type(FileType::Symlink),
        char_devices: count_type(FileType::CharDevice),
        block_devices: count_type(FileType::BlockDevice),
        fifos: count_type(FileType::Fifo),
        sockets: count_type(FileType::Socket),
        fragments: geometry.has_fragments(),
        block_count: geometry.fragment_count(),
        blocks_in_use: geometry.fragment_count() - bitmap.count_free(),
        metadata: geometry.first_data_fragment(),
        usage: table.usage,
    };
    Ok(Report {
        findings,
        summary: Some(summary),
    })
}
