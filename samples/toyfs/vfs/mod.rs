// SPDX-License-Identifier: GPL-2.0

//! Small safe wrappers over the kernel objects toyfs works with: the
//! superblock, inodes, buffer heads, folios, directory contexts, log
//! ratelimits and the CRC-32C of the superblock.
//!
//! Every `unsafe` block of the filesystem logic's types is here; the
//! operation tables and their `extern "C"` trampolines are in `ops/`,
//! above both this and the logic.  Nothing here imports the logic but the
//! type of `s_fs_info` (info.rs).

mod buffer;
mod dir_emitter;
mod folio;
mod inode;
mod ratelimit;
mod super_block;

pub(crate) use buffer::Buffer;
pub(crate) use dir_emitter::DirEmitter;
pub(crate) use folio::{truncate_setsize, LockedFolio};
pub(crate) use inode::{Inode, InodeOps, InodeRef};
pub(crate) use ratelimit::{init_mount_log, toyfs_err, RateLimit, MOUNT_LOG};
pub(crate) use super_block::{Iget, SuperBlock};

use crate::sys;
use kernel::bindings;

/// Bytes of a base page.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// CRC-32C of `bytes` as the superblock's checksum defines it (initial
/// value all ones, result inverted), by the kernel's `crc32c()`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    // SAFETY: `bytes` is valid for reads of its length.
    !unsafe { sys::crc32c(!0, bytes.as_ptr().cast(), bytes.len()) }
}
