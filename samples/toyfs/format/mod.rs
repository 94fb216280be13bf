// SPDX-License-Identifier: GPL-2.0
//! The toyfs on-disk format (Documentation/toyfs.rst), version 1 with its
//! optional features (fragments, LZ4), defined once for the kernel module
//! and the userspace tools.
//!
//! Pure `core` code, no allocation and no kernel or `std` objects: layout
//! constants, little-endian field codecs, the features and geometry, the
//! superblock, inodes, block pointers and the block map, compressed blocks
//! and directory entries, with the validation rules
//! a reader applies.  The kernel module includes it as `mod format`, and
//! tools/toyfs-format through `#[path]`, where `cargo test` tests it and
//! `std` extras (messages, owned entries, the checker) are added.

pub mod address;
pub mod bitmap;
pub mod block_map;
pub mod compressed;
pub mod constants;
pub mod dirent;
pub mod features;
pub mod geometry;
pub mod inode;
pub mod le;
pub mod superblock;
pub mod tail_block;
