// SPDX-License-Identifier: GPL-2.0
//! The toyfs on-disk format (Documentation/toyfs.rst), version 1.
//!
//! Layout structures with explicit little-endian encoding and the
//! validation rules a reader must apply (samples/toyfs/format, shared with
//! the kernel module), a small writer ([`Filesystem`], [`format`])
//! and the consistency checker behind fsck.toyfs ([`check`]).

/// The format itself, shared with the kernel module: pure `core` code.
#[path = "../../../samples/toyfs/format/mod.rs"]
mod disk;

pub use disk::address;
pub mod bitmap;
pub mod block_map;
pub mod block_walk;
pub mod check;
pub use disk::compressed;
pub use disk::constants;
pub mod crc32c;
pub mod device;
pub mod dirent;
pub mod error;
pub use disk::features;
pub mod filesystem;
pub mod format;
pub mod geometry;
pub mod inode;
pub use disk::le;
pub mod lz4;
pub mod superblock;
pub use disk::tail_block;

pub use device::{BlockDevice, FileDevice, MemoryDevice};
pub use error::FsError;
pub use filesystem::{Filesystem, PackedTails};
pub use format::{format, RootAttributes};
pub use geometry::{Geometry, GeometryError};
pub use inode::{FileType, Inode, Timestamp};
pub use superblock::{FsState, Superblock};
